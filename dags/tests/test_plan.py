"""The DAG reads rendered plans only, checked against the shipped JSON Schema."""
from __future__ import annotations

import json

import pytest

from conftest import load_plan_document
from migration_orchestration_lib.plan import PlanError, load_plan, parse_plan

pytestmark = pytest.mark.airflow26  # cheap: proves it on Python 3.8 too


def test_rendered_example_plan_loads_with_its_values(example_document):
    plan = parse_plan(example_document)

    assert plan.name == "contoso-sql"
    assert plan.sql_access == "direct"
    assert (plan.concurrency.max_migrations_per_service, plan.concurrency.max_sql_steps_per_runtime) == (10, 4)
    assert plan.database_names == ("database_1", "database_2", "database_3")
    third = plan.database("database_3")
    assert third.depends_on == ("database_1", "database_2")
    assert (third.mode, third.validation.checksums, third.timeout_minutes) == ("offline", True, 720)
    assert (third.source_freeze, third.allow_source_writes_during_copy) == ("singleUser", False)
    target = plan.target_of(third)
    assert (target.kind, target.resource_id.resource_group, target.resource_id.name) == ("SqlMi", "rg-data-prod", "mi-contoso-prod")
    assert plan.source_of(third).backup_file_share.path == "\\\\fileserver01\\sqlbackups\\sql01"


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda d: d["databases"][1].update(mode="sideways"), "databases[1].mode: 'sideways' is not one of ['online', 'offline']"),
        (lambda d: d["databases"][0].update(timeoutMinutes=0), "databases[0].timeoutMinutes: 0 is less than the minimum of"),
        (lambda d: d["databases"][0].update(sourceFreeze="offline"), "databases[0].sourceFreeze: 'offline' is not one of"),
        (lambda d: d["concurrency"].update(maxSqlStepsPerRuntime="4"), "concurrency.maxSqlStepsPerRuntime: '4' is not of type 'integer'"),
        (lambda d: d["databases"][2].update(extra=1), "databases[2]: Additional properties are not allowed ('extra' was unexpected)"),
        (lambda d: d.pop("targetServers"), "(plan): 'targetServers' is a required property"),
    ],
)
def test_a_plan_the_schema_rejects_is_an_error_naming_the_field(example_document, change, expected):
    change(example_document)
    with pytest.raises(PlanError) as error:
        parse_plan(example_document, source="plan.json")
    assert expected in str(error.value)
    assert "invalid migration plan plan.json" in str(error.value)


def test_every_problem_is_listed_not_just_the_first(example_document):
    example_document["databases"][0]["timeoutMinutes"] = -1
    example_document["databases"][1]["mode"] = "sideways"
    with pytest.raises(PlanError) as error:
        parse_plan(example_document)
    assert [p.split(":")[0] for p in error.value.problems] == ["databases[0].timeoutMinutes", "databases[1].mode"]


def test_a_plan_with_the_retired_airflow_section_is_refused_by_the_schema(example_document):
    # The TypeScript loader explains the retired fields; a hand-made upload still meets the schema.
    example_document["airflow"] = {"version": "2.6.3", "computeSize": "Small", "extraNodes": 0,
                                   "servicePrincipal": {"clientId": "11111111-2222-3333-4444-555555555555", "objectId": "66666666-7777-8888-9999-000000000000"}}
    with pytest.raises(PlanError, match="airflow: Additional properties are not allowed"):
        parse_plan(example_document)


def test_a_plan_that_was_not_rendered_says_so(example_document):
    del example_document["databases"][0]["sourceFreeze"]  # valid input, but the renderer fills it
    with pytest.raises(PlanError, match="'sourceFreeze' is missing: the DAG reads plans rendered by renderMigrationPlan"):
        parse_plan(example_document)


def test_the_schema_beside_the_plan_file_is_the_one_used(tmp_path, example_document):
    plan_file = tmp_path / "migration_plan.json"
    plan_file.write_text(json.dumps(example_document))
    assert load_plan(str(plan_file)).name == "contoso-sql"
    (tmp_path / "migration_plan.schema.json").write_text(json.dumps({"type": "object", "required": ["shippedWithTheBundle"]}))
    with pytest.raises(PlanError, match="'shippedWithTheBundle' is a required property"):
        load_plan(str(plan_file))


def test_unreadable_plan_file_is_a_clear_error(tmp_path):
    with pytest.raises(PlanError, match="cannot read the plan file"):
        load_plan(str(tmp_path / "missing.json"))


def test_yaml_or_malformed_json_is_a_clear_error(tmp_path):
    for name, text in (("migration_plan.json", '{"name": "x", "databases": ['), ("plan.yaml", "name: x\n")):
        broken = tmp_path / name
        broken.write_text(text)
        with pytest.raises(PlanError, match=r"%s:\n  - the plan file is not valid JSON" % name):
            load_plan(str(broken))


def test_plan_that_is_not_an_object_is_rejected():
    with pytest.raises(PlanError, match=r"\(plan\): \['databases'\] is not of type 'object'"):
        parse_plan(["databases"])


def test_parsing_a_large_plan_stays_cheap():
    """The scheduler parses the DAG file often: the schema check must stay linear and quick."""
    import time

    document = load_plan_document()
    template = document["databases"][0]
    document["databases"] = [dict(template, name="db_%d" % i, source={"server": "sql01", "database": "Db%d" % i}) for i in range(1000)]
    started = time.process_time()  # CPU time: on a busy machine the clock also counts waiting for a core
    plan = parse_plan(document)
    assert len(plan.databases) == 1000
    assert time.process_time() - started < 5


@pytest.mark.parametrize("name", ["Sales ", " Sales", "Sales\u00a0", "\u3000Sales", "\ufeffSales", " ", "\u2003"])
def test_the_schema_refuses_a_database_name_with_whitespace_at_either_end(example_document, name):
    # SQL Server ignores trailing spaces ("Sales " is Sales); the shipped schema reads in Python's re as in JavaScript.
    example_document["databases"][0]["target"]["database"] = name
    with pytest.raises(PlanError) as error:
        parse_plan(example_document)
    assert "databases[0].target.database: %r does not match" % name in str(error.value)


@pytest.mark.parametrize("name", ["Sales Archive", "S", "Ventes\u00a0Europe", "x" * 128])
def test_the_schema_takes_database_names_with_inner_spaces(example_document, name):
    example_document["databases"][0]["target"]["database"] = name
    assert parse_plan(example_document).database("database_1").target_database == name
