"""What a later run does when Airflow lost what the DAG keeps in it: its metadata database recreated
or restored from an older backup, `migration_*` Variables deleted in a clean-up, or the DAG moved to
another Airflow mid-migration (none of the old one's Variables). The world (DMS, SQL Server) still
holds the migration; the run must not guess from a missing record: no source made writable beside
a target in use.
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
from task_driver import RunDriver, WorkerCrashed
from world_view import WorldView

pytestmark = pytest.mark.airflow210

LOST = {
    "handoff": (HANDOFF_VARIABLE_PREFIX,),  # e.g. a restore from a backup taken before `done`
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
@pytest.mark.parametrize("what", ["handoff"])
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

