"""What a later run does when Airflow lost what the DAG keeps in it: its metadata database recreated
or restored from an older backup, `migration_*` Variables deleted in a clean-up, or the DAG moved to
another Airflow mid-migration (none of the old one's Variables). The world (DMS, SQL Server) still
holds the migration; the run must not guess from a missing record: no source made writable beside
a target in use, no source the DAG froze taken as frozen by design (left frozen without a word).
`task_driver` on the rehearsal world, whose records file stands in for the Variables."""
from __future__ import annotations

import json
import os

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.handoffs import HANDOFF_VARIABLE_PREFIX
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal import SERVICE_ID, seed_world
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE
from migration_orchestration_lib.source_freeze import RECORD_PREFIX
from task_driver import RunDriver, WorkerCrashed
from world_view import WorldView

LOST = {
    "handoff": (HANDOFF_VARIABLE_PREFIX,),  # e.g. a restore from a backup taken before `done`
    "source access": (RECORD_PREFIX,),
    "every record": ("",),  # the DAG moved to another Airflow, or its metadata database recreated
}


def lose(directory, what):
    path = os.path.join(str(directory), RECORDS_FILE)
    with open(path) as file:
        records = json.load(file)
    kept = {key: value for key, value in records.items() if not key.startswith(LOST[what])}
    assert kept != records, "nothing of %s was recorded" % what
    with open(path, "w") as file:
        json.dump(kept, file)


def setup(directory, **entry):
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", checksums=True, **entry)]))
    world = WorldView(directory, plan.database("db"), plan)
    seed_world(world.world, plan)
    return build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world


def write_to_target(world):
    """An application moved to the target and wrote a row."""
    table = sorted(world.target()["tables"])[0]
    written = world.target()["tables"][table]
    world.world.set_table(world.target_server, "Sales", table, written["columns"], written["rows"] + [list(written["rows"][0])])


@pytest.mark.parametrize("later_run", ["compares the target again", "fails its preflight"])
@pytest.mark.parametrize("what", ["handoff", "every record"])
def test_a_lost_handoff_never_makes_the_source_of_a_target_in_use_writable(rehearsal_world, what, later_run):
    dag, world = setup(rehearsal_world, mode="online")
    first = RunDriver(dag, world.observe)
    first.run_database("db")
    assert first.outcome("db") == "migrated", first.errors
    write_to_target(world)
    lose(rehearsal_world, what)
    if later_run == "fails its preflight":
        world.world.set_integration_runtime_state(SERVICE_ID, "Offline")
    second = RunDriver(dag, world.observe)  # e.g. a run retrying another database of the plan
    states = second.run_database("db")

    assert not world.source_writable(), "a writable source beside a target in use would split the writes"
    assert world.target()["state"] == "ONLINE"
    assert states["db.rollback"] == "failed", "a person must decide: %s" % second.errors
    assert "person must decide" in second.errors["db.rollback"], second.errors


def test_a_migration_completed_before_the_run_began_keeps_its_source_frozen_when_its_validation_fails(rehearsal_world, monkeypatch):
    """The first run died between the cutover and `done`. DMS says the target is live, but only a
    record (which may be lost) says whether a run declared it migrated: the DAG does not guess."""
    dag, world = setup(rehearsal_world, mode="online")
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after="wait_for_completion")
    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")
    second = RunDriver(dag, world.observe)
    states = second.run_database("db")

    assert states["db.validate"] == "failed" and states["db.rollback"] == "failed", second.errors
    assert "had already completed when this run began, its source frozen" in second.errors["db.rollback"]
    assert not world.source_writable() and world.target()["state"] == "ONLINE"


FROZEN = {  # a path, and the task after which the DAG's freeze is in force and the copy not finished
    "online_sqlmi": (dict(mode="online"), "freeze_source"),
    "offline_sqlmi": (dict(mode="offline"), "freeze_source"),
    "sqldb": (dict(target="db-prod"), "start_migration"),
}


@pytest.mark.parametrize("what", ["source access", "every record"])
@pytest.mark.parametrize("path", sorted(FROZEN))
def test_a_source_frozen_by_the_dag_whose_record_was_lost_is_not_taken_as_frozen_by_design(rehearsal_world, monkeypatch, path, what):
    """Recording the frozen access as the one before the freeze would keep the source frozen for good
    (a rollback would put it back "as before the migration"). Without the freeze marker on the source
    (a freeze by a version before it, or the marker dropped by hand; with it, `test_freeze_marker.py`)
    the run stops for a person, the migration kept; once the person records the access before the
    freeze, the next run goes on."""
    entry, frozen_after = FROZEN[path]
    dag, world = setup(rehearsal_world, **entry)
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after=frozen_after)
    assert not world.source_writable()
    assert world.source()["extendedProperties"], "the freeze left its marker"
    world.world.update_database("sql01", "Sales", extendedProperties={})
    lose(rehearsal_world, what)
    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")  # the run that goes on rolls back
    second = RunDriver(dag, world.observe)
    states = second.run_database("db")

    assert states["db.preflight"] == "failed", second.errors
    assert RECORD_PREFIX + "sql01__Sales" in second.errors["db.preflight"], second.errors
    assert states["db.rollback"] == "failed", "not left frozen without a word: %s" % second.errors
    assert not world.source_writable(), "no guess either way"
    assert [op["migrationStatus"] for op in world.operations()] in (["InProgress"], ["Succeeded"]), "kept, not canceled"

    with open(os.path.join(str(rehearsal_world), RECORDS_FILE)) as file:
        records = json.load(file)
    records[RECORD_PREFIX + "sql01__Sales"] = json.dumps({"readOnly": False, "userAccess": "MULTI_USER"})  # what the message says
    with open(os.path.join(str(rehearsal_world), RECORDS_FILE), "w") as file:
        json.dump(records, file)
    third = RunDriver(dag, world.observe)
    third.run_database("db")
    assert third.outcome("db") == "rolled_back", third.errors
    assert world.source_writable(), "the DAG's own freeze undone"


def test_an_archive_whose_records_were_lost_asks_once_and_then_migrates_read_only(rehearsal_world, monkeypatch):
    """The cost of not guessing: a read-only archive the DAG already worked on looks like a source
    it froze once its records are gone. Recorded as read-only, it migrates and stays so."""
    monkeypatch.setenv("MIGRATION_SIMULATE_FAILURE", "db")
    dag, world = setup(rehearsal_world, mode="offline")
    world.world.update_database("sql01", "Sales", readOnly=True, userAccess="MULTI_USER")
    first = RunDriver(dag, world.observe)
    first.run_database("db")
    assert first.outcome("db") == "rolled_back", first.errors
    os.remove(os.path.join(str(rehearsal_world), RECORDS_FILE))  # the DAG moved to another Airflow

    second = RunDriver(dag, world.observe)
    states = second.run_database("db")
    assert states["db.preflight"] == "failed" and "read-only by design" in second.errors["db.preflight"], second.errors
    with open(os.path.join(str(rehearsal_world), RECORDS_FILE), "w") as file:
        json.dump({RECORD_PREFIX + "sql01__Sales": json.dumps({"readOnly": True, "userAccess": "MULTI_USER"})}, file)
    third = RunDriver(dag, world.observe)
    third.run_database("db")
    assert third.outcome("db") == "migrated", third.errors
    assert world.source()["readOnly"]
