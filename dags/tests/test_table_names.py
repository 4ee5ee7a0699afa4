"""Tables as (schema, table) pairs: the plan's `schema.table` read once into one, shown unambiguously."""
from __future__ import annotations

import copy
import json

import pytest

from conftest import load_plan_document
from migration_orchestration_lib.plan import PlanError, load_schema, parse_plan
from migration_orchestration_lib.table_names import TableName, TableNameError, folded, parse_table_name

pytestmark = pytest.mark.airflow26


@pytest.mark.parametrize("text, pair", [
    ("dbo.Orders", ("dbo", "Orders")),
    ("[a.b].c", ("a.b", "c")),
    ("a.[b.c]", ("a", "b.c")),
    ("[dbo].[my table]", ("dbo", "my table")),
    ("dbo.[x]]y]", ("dbo", "x]y")),
    ("dbo.[Orders  ]", ("dbo", "Orders  ")),
    ("#tmp.@v$1", ("#tmp", "@v$1")),
    ("ventes.Commandes_été", ("ventes", "Commandes_été")),
])
def test_a_table_name_is_read_into_its_schema_and_table(text, pair):
    assert parse_table_name(text) == pair


@pytest.mark.parametrize("text", [
    "Orders", "a.b.c", "dbo.", ".Orders", "dbo.my table", "dbo.1st", "[a.b.c", "[a]].b", "[].x", "dbo.[x]y]", "dbo..x", 42, None,
])
def test_what_is_not_schema_table_is_refused_saying_how_to_write_it(text):
    with pytest.raises(TableNameError, match=r"must be schema\.table, each part a regular identifier .* or in brackets with \] doubled"):
        parse_table_name(text)


@pytest.mark.parametrize("pair, shown", [
    (("dbo", "Orders"), "dbo.Orders"),
    (("a.b", "c"), "[a.b].c"),
    (("a", "b.c"), "a.[b.c]"),
    (("dbo", "my table"), "dbo.[my table]"),
    (("dbo", "x]y"), "dbo.[x]]y]"),
    (("dbo", "Orders "), "dbo.[Orders ]"),
    (("dbo", "1st"), "dbo.[1st]"),
    (("dbo", "注文"), "dbo.注文"),
    (("dbo", "x[y"), "dbo.[x[y]"),
])
def test_a_table_is_shown_with_brackets_only_where_a_part_is_not_a_regular_identifier(pair, shown):
    name = TableName(*pair)
    assert str(name) == shown and "%s: missing" % (name,) == shown + ": missing"
    assert parse_table_name(shown) == pair


def test_names_fold_as_sql_server_compares_them_trailing_spaces_and_case_aside():
    assert folded(("DBO", "Orders  ")) == folded(("dbo", "orders")) == ("dbo", "orders")
    assert folded(("dbo", " Orders")) != folded(("dbo", "Orders"))


def test_the_plans_tables_are_read_once_into_pairs():
    document = load_plan_document()
    document["databases"][0]["validation"]["tables"] = ["dbo.Orders", "sales.Order_Lines"]
    tables = parse_plan(document).databases[0].validation.tables
    assert tables == (("dbo", "Orders"), ("sales", "Order_Lines")) and all(isinstance(t, TableName) for t in tables)


def test_a_table_name_the_dag_cannot_read_is_a_plan_error_naming_its_field(tmp_path):
    """The shipped schema refuses such names; a schema that lets one through (edited, or of another version)
    still never reaches a batch: the DAG names the field, as for any other plan problem."""
    schema = copy.deepcopy(load_schema())
    _drop_patterns(schema)
    path = tmp_path / "migration_plan.schema.json"
    path.write_text(json.dumps(schema), encoding="utf-8")
    document = load_plan_document()
    document["databases"][1]["validation"]["tables"] = ["dbo.Orders", "a.b.c", "Orders"]
    with pytest.raises(PlanError) as raised:
        parse_plan(document, source="plan.json", schema_path=str(path))
    assert [problem.split(":")[0] for problem in raised.value.problems] == [
        "databases[1].validation.tables[1]", "databases[1].validation.tables[2]"]
    assert "must be schema.table" in raised.value.problems[0] and "'a.b.c'" in raised.value.problems[0]


def _drop_patterns(node):
    if isinstance(node, dict):
        node.pop("pattern", None)
        for value in node.values():
            _drop_patterns(value)
    elif isinstance(node, list):
        for value in node:
            _drop_patterns(value)
