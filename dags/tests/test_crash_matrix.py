"""Nothing lost: crash the worker after every task of every path, run again on the same world.

Each case runs the real tasks of one database (`task_driver`: the operators' `execute`, the real
gateway over HTTP to the DMS contract server, the real SQL access on the fake SQL engine, directly
or through the fake Data Factory API), stops
right after the chosen task's side effects (the worker died before Airflow recorded success),
then starts a new run (new run id, no XCom) on the same world. Whatever the crash point:
- the database ends migrated (target ONLINE and validated), or cleanly rolled back (target
  absent, or kept when it went live; source writable);
- DMS never holds two migrations of the database;
- no target that was ONLINE is ever deleted;
- the source is read-only only if the database migrated.
Full Airflow runs of the same scenarios (`dag.test()`, MIGRATION_SIMULATE_CRASH killing the
process) are in test_rehearsal.py; this level proves the property at a fraction of their cost.
"""
from __future__ import annotations

import json
import time

import pytest

from conftest import database_entry, load_plan_document, plan_with_databases
from event_replays import assert_event_replay
from migration_orchestration_lib import steps
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from task_driver import RunDriver, WorkerCrashed
from world_view import WorldView

PATHS = {
    "online_sqlmi": database_entry("db", "Sales", mode="online", target="mi-prod", checksums=True),
    "offline_sqlmi": database_entry("db", "Sales", mode="offline", target="mi-prod", checksums=True),
    "sqldb": database_entry("db", "Sales", target="db-prod", checksums=True),
    "online_sqlvm": database_entry("db", "Sales", mode="online", target="vm-prod", checksums=True),
    # the same through Data Factory pipeline runs, as on the Fabric host (sqlAccess dataFactory):
    # SQL results arrive a few pokes later, and every poke adopts the pipeline run of its key
    "offline_sqlmi_data_factory": database_entry("db", "Sales", mode="offline", target="mi-prod", checksums=True),
    "sqldb_data_factory": database_entry("db", "Sales", target="db-prod", checksums=True),
    # gated (issue 14): a Saturday-night window and an approval; the simulated approver says yes
    "online_sqlmi_gated": database_entry("db", "Sales", mode="online", target="mi-prod", checksums=True, cutover={
        "windows": [{"timeZone": "Europe/Berlin", "days": ["Sat"], "start": "22:00", "durationMinutes": 360}],
        "expectedMinutes": 30,
        "approval": {"required": True, "approvers": ["alice@contoso.com"], "channel": "airflowVariable"},
    }),
    "sqldb_gated": database_entry("db", "Sales", target="db-prod", checksums=True, cutover={
        "windows": [{"timeZone": "America/New_York", "from": "2026-12-05T20:00", "to": "2026-12-06T02:00"}],
        "expectedMinutes": 30,
        "approval": {"required": False, "approvers": [], "channel": "airflowVariable"},
    }),
}
DATA_FACTORY_PATHS = ("offline_sqlmi_data_factory", "sqldb_data_factory")
# The task driver gives every Airflow the same task-instance stand-in: what another Airflow adds is
# its hosts' packages on their paths. Also on Airflow 2.10.5 (Fabric's runtime): the Data Factory
# paths, Fabric's; on Airflow 2.6.3 (Python 3.8, azure-mgmt-datafactory 9.2.0): the Data Factory host's.
ON_AIRFLOW_210 = DATA_FACTORY_PATHS
ON_AIRFLOW_26 = ("offline_sqlmi_data_factory",)


def document_of(path):
    document = plan_with_databases([PATHS[path]])
    if path in DATA_FACTORY_PATHS:
        document["airflow"] = load_plan_document("fabric_host.json")["airflow"]
    return document


def plan_of(path):
    return parse_plan(document_of(path))


def case(path, *values):
    """A parameter set of `path`, marked to run on Airflow 2.10.5 and 2.6.3 too where that path does."""
    marks = [mark for mark, paths in ((pytest.mark.airflow210, ON_AIRFLOW_210), (pytest.mark.airflow26, ON_AIRFLOW_26)) if path in paths]
    return pytest.param(path, *values, id="-".join((path,) + values), marks=marks)


CRASH_POINTS = [
    case(path, task) for path in PATHS for task in steps.describe_chain(plan_of(path).database("db"), plan_of(path).is_gated(plan_of(path).database("db")))
]


@pytest.fixture(autouse=True)
def simulated_cutover_time(request, monkeypatch):
    """Gated paths: the simulated clock starts before their window; the approver says yes."""
    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-03T12:00:00Z")
    path = getattr(request.node, "callspec", None) and request.node.callspec.params.get("path")
    if path and PATHS[path].get("cutover", {}).get("approval", {}).get("required"):
        monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")


def runs(path, directory, crash_after=None):
    plan = plan_of(path)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    world = WorldView(directory, plan.database("db"), plan)
    first = RunDriver(dag, world.observe)
    if crash_after:
        with pytest.raises(WorkerCrashed):
            first.run_database("db", crash_after=crash_after)
    else:
        first.run_database("db")
    return first, RunDriver(dag, world.observe), world


def assert_migrated(driver, world):
    assert driver.outcome("db") == "migrated", driver.errors
    assert world.target()["state"] == "ONLINE"
    assert not world.source_writable(), "a migrated source stays frozen"
    assert len(world.operations()) == 1, "one DMS migration for the database"
    assert not world.online_target_deleted


# The cases whose events are golden files (event_replays.py), replayed through the deployed alerts.
REPLAYED = {("online_sqlmi_gated", "cutover"): "worker-killed-mid-cutover-then-next-run"}


@pytest.mark.parametrize("path, task", CRASH_POINTS)
def test_a_crash_after_any_task_is_continued_by_the_next_run(rehearsal_world, path, task, monkeypatch, tmp_path):
    replay = REPLAYED.get((path, task))
    if replay:
        monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    since = time.time()
    _, second, world = runs(path, rehearsal_world, crash_after=task)
    second.run_database("db")
    assert_migrated(second, world)
    if replay:
        rows = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
        assert_event_replay(replay, rows, document_of(path), since)


@pytest.mark.parametrize("path", [case(path) for path in sorted(PATHS)])
def test_a_failed_validation_rolls_back_and_a_crash_during_rollback_is_finished_by_the_next_run(rehearsal_world, monkeypatch, path):
    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")
    _, second, world = runs(path, rehearsal_world, crash_after="rollback")
    states = second.run_database("db")

    # the crashed rollback had made the source writable again: the completed migration is neither frozen
    # again (restores: freeze_source) nor compared with a source that may have taken writes since (SqlDb:
    # validate), nor declared (`steps._check_source_still`)
    refused = "freeze_source" if world.database.restores_backups else "validate"
    assert states["db." + refused] == "failed", second.errors
    assert "made writable again after the migration completed" in second.errors["db." + refused]
    assert second.outcome("db") == "rolled_back", second.errors
    assert world.source_writable()
    # DMS completed the copy: the target went live, so rollback keeps it (never deletes it)
    assert world.target()["state"] == "ONLINE"
    assert len(world.operations()) == 1
    assert not world.online_target_deleted


@pytest.mark.parametrize("path", [case(path) for path in ("online_sqlmi", "offline_sqlmi", "online_sqlvm", "offline_sqlmi_data_factory")])
def test_a_failed_migration_is_rolled_back_removing_its_restoring_target(rehearsal_world, monkeypatch, path):
    monkeypatch.setenv("MIGRATION_SIMULATE_FAILURE", "db")
    first, second, world = runs(path, rehearsal_world)

    assert first.outcome("db") == "rolled_back", first.errors
    assert world.target() is None and world.source_writable()
    assert [op["migrationStatus"] for op in world.operations()] == ["Failed"]
    # the cause is gone (the fault fired once): a new run starts afresh, one migration at a time
    second.run_database("db")
    assert second.outcome("db") == "migrated", second.errors
    assert [op["migrationStatus"] for op in world.operations()] == ["Failed", "Succeeded"]
    assert world.most_migrations_in_flight == 1


@pytest.mark.parametrize("path", [case(path) for path in ("sqldb", "sqldb_data_factory")])
def test_a_failed_copy_is_rolled_back_keeping_the_target_that_existed_and_the_next_run_copies_again(rehearsal_world, monkeypatch, path):
    monkeypatch.setenv("MIGRATION_SIMULATE_FAILURE", "db")
    first, second, world = runs(path, rehearsal_world)

    assert first.outcome("db") == "rolled_back", first.errors
    assert world.source_writable(), "the copy froze the source; rollback makes it writable again"
    assert world.target()["state"] == "ONLINE", "a SqlDb target existed before the migration: never removed"
    second.run_database("db")
    assert second.outcome("db") == "migrated", second.errors
    assert [op["migrationStatus"] for op in world.operations()] == ["Failed", "Succeeded"]


NEW_YORK_SATURDAY = {"timeZone": "America/New_York", "from": "2026-12-05T20:00", "to": "2026-12-06T02:00"}  # 01:00-07:00Z
NEW_YORK_NEXT_SATURDAY = dict(NEW_YORK_SATURDAY, **{"from": "2026-12-12T20:00", "to": "2026-12-13T02:00"})


def date_window_plan(path, *windows):
    entry = dict(PATHS[path], cutover={"windows": list(windows), "expectedMinutes": 30,
                                       "approval": {"required": False, "approvers": [], "channel": "airflowVariable"}})
    return parse_plan(plan_with_databases([entry]))


@pytest.mark.parametrize("path", ["online_sqlmi", "offline_sqlmi", "sqldb"])
def test_a_database_no_window_can_cut_over_any_more_keeps_replicating_through_crashes_and_migrates_once_a_window_is_added(
        rehearsal_world, monkeypatch, path):
    """await_cutover fails for want of a window (the plan's only window closes while the migration gets ready) and the
    rollback leaves the migration replicating. Its worker dies right after the rollback's side effects; the rollback
    cleared (or retried) in that run reads await_cutover's failure again, and a new run, whose preflight refuses the
    windows all past, leaves the same migration replicating too: never canceled, nothing removed, the source writable.
    A window added to the plan then lets a run cut over that same migration (a SqlDb copy: one copy, started then)."""
    from world_view import set_rehearsal_clock

    monkeypatch.setenv("MIGRATION_SIMULATE_UNTIL", "2026-12-20T00:00:00Z")  # after the window added
    plan = date_window_plan(path, NEW_YORK_SATURDAY)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    world = WorldView(rehearsal_world, plan.database("db"), plan)

    def late(task_id):  # the migration got ready after what is left of the window was too short for the cutover
        world.observe(task_id)
        if task_id == "db.preflight":
            set_rehearsal_clock(rehearsal_world, "2026-12-06T06:45:00Z")

    def replicating():
        return [op["migrationStatus"] for op in world.operations()] == (["InProgress"] if world.database.restores_backups else [])

    first = RunDriver(dag, late)
    with pytest.raises(WorkerCrashed):
        first.run_database("db", crash_after="rollback")
    assert first.states["db.await_cutover"] == "failed", first.errors
    assert "every cutover window of db is in the past" in first.errors["db.await_cutover"]
    assert replicating() and world.source_writable()
    assert first.clear_task("db", "rollback") == "success", first.errors
    assert first.outcome("db") == "rolled_back" and replicating() and world.source_writable()

    second = RunDriver(dag, world.observe)
    states = second.run_database("db")
    assert states["db.preflight"] == "failed" and "every cutover window of db is in the past" in second.errors["db.preflight"]
    assert second.outcome("db") == "rolled_back" and replicating() and world.source_writable()
    target = world.target()
    assert target is not None if path == "sqldb" else target["state"] == "RESTORING", "the target is kept"

    added = date_window_plan(path, NEW_YORK_SATURDAY, NEW_YORK_NEXT_SATURDAY)
    third = RunDriver(build_dag(added, {"MIGRATION_DRY_RUN": "1"}), world.observe)
    third.run_database("db")
    assert_migrated(third, world)
