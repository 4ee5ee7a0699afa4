"""A source whose access the team restricted before the first run (`READ_ONLY`: an archive;
`SINGLE_USER` or `RESTRICTED_USER`) keeps that restriction whatever path unfreezes it: rollback
after a failure in any phase, a window missed (back to replicating), a rejected approval, a run
whose preflight failed, a crash and a re-run; through both SQL accesses. Only the DAG's own freeze is
undone, back to exactly what was there before it (`source_freeze`). `task_driver` on the rehearsal
world, whose fake SQL Server starts with the source restricted."""
from __future__ import annotations

import pytest

from conftest import database_entry, load_plan_document, plan_with_databases
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal import SERVICE_ID, seed_world
from task_driver import RunDriver, WorkerCrashed
from world_view import WorldView

WINDOW = {"timeZone": "Europe/Berlin", "days": ["Sat"], "start": "22:00", "durationMinutes": 360}
APPROVAL = {"required": True, "approvers": ["alice@contoso.com"], "channel": "airflowVariable"}
PATHS = {
    "online_sqlmi": dict(mode="online", target="mi-prod"),
    "offline_sqlmi": dict(mode="offline", target="mi-prod"),
    "sqldb": dict(target="db-prod"),
    "online_sqlvm": dict(mode="online", target="vm-prod"),
    "offline_sqlmi_data_factory": dict(mode="offline", target="mi-prod"),
    "sqldb_data_factory": dict(target="db-prod"),
    "online_sqlmi_gated": dict(mode="online", target="mi-prod", cutover={"windows": [WINDOW], "expectedMinutes": 30, "approval": APPROVAL}),
}
# (readOnly, userAccess) a team may choose for a source before its migration
READ_ONLY = (True, "MULTI_USER")
RESTRICTIONS = [READ_ONLY, (False, "SINGLE_USER"), (False, "RESTRICTED_USER"), (True, "RESTRICTED_USER")]


def restriction_id(value):
    return "%s-%s" % ("READ_ONLY" if value[0] else "READ_WRITE", value[1])


@pytest.fixture(autouse=True)
def simulated_time(monkeypatch):
    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-03T12:00:00Z")  # before the Saturday window
    monkeypatch.setenv("MIGRATION_SIMULATE_UNTIL", "2026-12-10T00:00:00Z")


def restricted_world(directory, path, restriction, freeze="readOnly"):
    document = plan_with_databases([database_entry("db", "Sales", checksums=True, sourceFreeze=freeze, **PATHS[path])])
    if path.endswith("data_factory"):
        document["airflow"] = load_plan_document("fabric_host.json")["airflow"]
    plan = parse_plan(document)
    world = WorldView(directory, plan.database("db"), plan)
    seed_world(world.world, plan)
    read_only, user_access = restriction
    world.world.update_database("sql01", "Sales", readOnly=read_only, userAccess=user_access)
    return build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world


def access_of(world):
    source = world.source()
    return source["readOnly"], source["userAccess"]


@pytest.mark.parametrize("restriction", RESTRICTIONS, ids=restriction_id)
@pytest.mark.parametrize("path", ["online_sqlmi", "offline_sqlmi_data_factory"])
def test_a_first_run_whose_preflight_fails_leaves_a_restricted_source_as_it_was(rehearsal_world, path, restriction):
    dag, world = restricted_world(rehearsal_world, path, restriction)
    world.world.set_integration_runtime_state(SERVICE_ID, "Offline")
    driver = RunDriver(dag, world.observe)
    states = driver.run_database("db")

    assert states["db.preflight"] == "failed" and states["db.rollback"] == "success", driver.errors
    assert access_of(world) == restriction, driver.xcom


@pytest.mark.parametrize("restriction", RESTRICTIONS, ids=restriction_id)
@pytest.mark.parametrize("path", ["online_sqlmi", "offline_sqlmi", "sqldb", "online_sqlvm", "offline_sqlmi_data_factory", "sqldb_data_factory"])
def test_a_rollback_after_a_failed_validation_restores_the_source_as_it_was(rehearsal_world, monkeypatch, path, restriction):
    """Validation fails after the DAG froze the source (singleUser: it set both): rollback undoes its
    own freeze only, back to the restriction the team had chosen."""
    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")
    dag, world = restricted_world(rehearsal_world, path, restriction, freeze="singleUser")
    driver = RunDriver(dag, world.observe)
    states = driver.run_database("db")

    assert states["db.validate"] == "failed" and driver.outcome("db") == "rolled_back", driver.errors
    assert access_of(world) == restriction


@pytest.mark.parametrize("path", ["online_sqlmi", "offline_sqlmi", "sqldb", "offline_sqlmi_data_factory", "sqldb_data_factory"])
def test_a_rollback_after_a_failed_migration_leaves_a_read_only_source_read_only(rehearsal_world, monkeypatch, path):
    monkeypatch.setenv("MIGRATION_SIMULATE_FAILURE", "db")
    dag, world = restricted_world(rehearsal_world, path, READ_ONLY)
    driver = RunDriver(dag, world.observe)
    driver.run_database("db")

    assert driver.outcome("db") == "rolled_back", driver.errors
    assert access_of(world) == READ_ONLY
    again = RunDriver(dag, world.observe)  # the cause is gone: the archive migrates, still read-only
    again.run_database("db")
    assert again.outcome("db") == "migrated", again.errors
    assert access_of(world) == READ_ONLY


# After wait_for_migration DMS completed before the re-run began: its rollback keeps the freeze and asks a
# person (test_lost_records.py: whether a run declared it migrated is a record Airflow may have lost).
@pytest.mark.parametrize("crash_after", ["freeze_source", "final_backup"])
def test_a_crash_then_a_failing_rerun_restores_what_was_there_before_the_freeze(rehearsal_world, monkeypatch, crash_after):
    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")
    restriction = (False, "RESTRICTED_USER")
    dag, world = restricted_world(rehearsal_world, "offline_sqlmi", restriction, freeze="singleUser")
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after=crash_after)
    assert access_of(world) == (True, "SINGLE_USER"), "frozen by the DAG"
    second = RunDriver(dag, world.observe)
    second.run_database("db")

    assert second.outcome("db") == "rolled_back", second.errors
    assert access_of(world) == restriction


def test_an_offline_migration_of_a_read_only_archive_needs_no_freeze_and_leaves_it_read_only(rehearsal_world):
    dag, world = restricted_world(rehearsal_world, "offline_sqlmi", READ_ONLY)
    driver = RunDriver(dag, world.observe)
    driver.run_database("db")

    assert driver.outcome("db") == "migrated", driver.errors
    assert access_of(world) == READ_ONLY


@pytest.mark.parametrize("answer", ["approve", "reject"])
def test_a_gated_cutover_of_a_read_only_source_is_not_taken_as_already_in_progress(rehearsal_world, monkeypatch, answer):
    """The gate must wait for the window and the approver; a read-only source is not a cutover the
    DAG began. Rejected: it keeps replicating, source still read-only."""
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:" + answer)
    dag, world = restricted_world(rehearsal_world, "online_sqlmi_gated", READ_ONLY)
    driver = RunDriver(dag, world.observe)
    states = driver.run_database("db")

    assert "WindowMissed" not in str(driver.errors), driver.errors
    if answer == "approve":
        assert driver.outcome("db") == "migrated", driver.errors
    else:
        assert states["db.await_cutover"] == "skipped", driver.errors
        assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"]
    assert access_of(world) == READ_ONLY


def test_a_missed_window_goes_back_to_replicating_leaving_a_single_user_source_single_user(rehearsal_world, monkeypatch):
    import json

    from migration_orchestration_lib.rehearsal_cutover import CLOCK_FILE

    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
    restriction = (False, "SINGLE_USER")
    dag, world = restricted_world(rehearsal_world, "online_sqlmi_gated", restriction)

    def close_the_window_after_the_freeze(task_id):
        world.observe(task_id)
        if task_id == "db.freeze_source":
            state = json.loads((rehearsal_world / CLOCK_FILE).read_text())
            state["now"] = "2026-12-06T03:00:00Z"
            (rehearsal_world / CLOCK_FILE).write_text(json.dumps(state))

    driver = RunDriver(dag, close_the_window_after_the_freeze)
    driver.run_database("db")

    assert driver.outcome("db") == "waiting", driver.errors
    assert access_of(world) == restriction
