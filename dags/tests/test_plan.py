from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib.plan import PlanError, find_dependency_cycle, load_plan, parse_plan

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_rendered_example_plan_loads_with_its_values(example_document):
    plan = parse_plan(example_document)

    assert plan.name == "contoso-sql"
    assert plan.database_names == ("database_1", "database_2", "database_3")
    third = plan.database("database_3")
    assert third.depends_on == ("database_1", "database_2")
    assert (third.mode, third.validation.checksums, third.timeout_minutes) == ("offline", True, 720)
    target = plan.target_of(third)
    assert (target.kind, target.resource_id.resource_group, target.resource_id.name) == (
        "SqlMi",
        "rg-data-prod",
        "mi-contoso-prod",
    )
    assert plan.source_of(third).backup_file_share.path == "\\\\fileserver01\\sqlbackups\\sql01"


def test_input_schema_plan_gets_the_same_defaults_as_the_typescript_side():
    document = {
        "name": "defaults",
        "notifications": {"emails": ["a@example.com"]},
        "sourceServers": [{"name": "sql-01", "host": "sql01.corp"}],
        "targetServers": [
            {"name": "db-prod", "kind": "SqlDb", "resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/sqlprod"},
            {"name": "vm-prod", "kind": "SqlVm", "resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.SqlVirtualMachine/sqlVirtualMachines/vm1"},
        ],
        "databases": [{"name": "sales", "source": {"server": "sql-01", "database": "Sales"}, "target": {"server": "db-prod"}}],
    }
    plan = parse_plan(document)

    source = plan.source_servers[0]
    assert (source.port, source.authentication, source.connection_id) == (1433, "SqlAuthentication", "mssql_source_sql_01")
    assert [t.connection_id for t in plan.target_servers] == ["mssql_target_db_prod", "mssql_target_vm_prod"]
    sales = plan.database("sales")
    assert (sales.target_database, sales.target_kind, sales.mode) == ("Sales", "SqlDb", "offline")
    assert sales.depends_on == ()
    assert (sales.validation.row_counts, sales.validation.checksums, sales.validation.tables) == (True, False, None)
    assert (sales.timeout_minutes, plan.long_running_minutes) == (720, 60)


def test_online_is_the_default_mode_for_managed_instance_targets(example_document):
    for database in example_document["databases"]:
        del database["mode"]
    plan = parse_plan(example_document)
    assert [d.mode for d in plan.databases] == ["online", "online", "online"]


def test_yaml_example_plan_from_the_repository_loads():
    example = REPO_ROOT / "examples" / "three-databases.yaml"
    if not example.exists():
        pytest.skip("examples/three-databases.yaml is not in this checkout")
    plan = load_plan(str(example))
    assert plan.database("database_3").depends_on == ("database_1", "database_2")
    assert plan.database("database_1").target_database == "Sales"


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda d: d["databases"][2].update(dependsOn=["database_9"]), "databases[2].dependsOn: unknown database 'database_9'"),
        (lambda d: d["databases"][0].update(dependsOn=["database_1"]), "databases[0].dependsOn: 'database_1' depends on itself"),
        (lambda d: d["databases"][1].update(source={"server": "nope", "database": "X"}), "databases[1].source.server 'nope' is not in sourceServers"),
        (lambda d: d["databases"][1].pop("source"), "databases[1].source must be an object"),
        (lambda d: d["databases"][0].update(name="bad-name"), "databases[0].name 'bad-name' may only hold letters"),
        (lambda d: d["databases"][1].update(name="database_1"), "databases[1].name 'database_1' is used by another database"),
        (lambda d: d["databases"][0].update(timeoutMinutes=0), "databases[0].timeoutMinutes must be a positive integer"),
        (lambda d: d["databases"][0].update(validation={"tables": ["NoSchema"]}), "databases[0].validation.tables must be a list of schema.table"),
        (lambda d: d["databases"][0]["target"].update(kind="SqlDb"), "databases[0].target.kind 'SqlDb' does not match"),
        (lambda d: d["targetServers"][0].update(resourceId="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/x"), "targetServers[0].resourceId must be a microsoft.sql/managedinstances resource"),
        (lambda d: d["sourceServers"][0].pop("backupFileShare"), "source server 'sql01' needs backupFileShare"),
        (lambda d: d.pop("backupStorage"), "the plan needs backupStorage"),
        (lambda d: d.update(databases=[]), "databases must list at least one database"),
        (lambda d: d.pop("targetServers"), "targetServers is required"),
    ],
)
def test_broken_plans_are_rejected_naming_the_field(example_document, change, expected):
    change(example_document)
    with pytest.raises(PlanError) as error:
        parse_plan(example_document, source="plan.json")
    assert expected in str(error.value)
    assert "invalid migration plan plan.json" in str(error.value)


def test_sqldb_target_cannot_be_migrated_online(example_document):
    example_document["targetServers"].append(
        {"name": "db", "kind": "SqlDb", "resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/x"}
    )
    example_document["databases"][0]["target"] = {"server": "db"}
    with pytest.raises(PlanError, match=r"databases\[0\].mode online is not supported for SqlDb"):
        parse_plan(example_document)


def test_a_dependency_cycle_is_reported_with_its_path():
    document = plan_with_databases(
        [
            database_entry("a", "A", depends_on=["c"]),
            database_entry("b", "B", depends_on=["a"]),
            database_entry("c", "C", depends_on=["b"]),
            database_entry("d", "D"),
        ]
    )
    with pytest.raises(PlanError) as error:
        parse_plan(document)
    assert "dependency cycle a -> c -> b -> a" in str(error.value)


def test_every_problem_is_listed_not_just_the_first(example_document):
    example_document["databases"][0]["timeoutMinutes"] = -1
    example_document["databases"][1]["mode"] = "sideways"
    with pytest.raises(PlanError) as error:
        parse_plan(example_document)
    assert len(error.value.problems) == 2


def test_cycle_finder_accepts_a_diamond():
    assert find_dependency_cycle({"a": (), "b": ("a",), "c": ("a",), "d": ("b", "c")}) is None


def test_unreadable_plan_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(PlanError, match="cannot read the plan file"):
        load_plan(str(missing))


def test_malformed_plan_file_is_a_clear_error(tmp_path):
    broken = tmp_path / "migration_plan.json"
    broken.write_text('{"name": "x", "databases": [')
    with pytest.raises(PlanError, match=r"migration_plan.json:\n  - the plan file is not valid JSON"):
        load_plan(str(broken))


def test_plan_that_is_not_an_object_is_rejected(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(["databases"]))
    with pytest.raises(PlanError, match="the plan must be an object"):
        load_plan(str(path))
