"""A task a person clears in an old, finished DAG run (`task_driver` on the rehearsal world).

Airflow lets a person clear any task of any run: it runs again (after the current run: max_active_runs is 1)
with the old run's other XComs still in place, its preflight's among them, so the checks that a step acts only
after this run's preflight passed pass there. Was: an old run's rollback, cleared after a later run left a
migration replicating (a missed cutover window, a failed preflight), canceled that replication and removed its
target (days of replication lost); an old run's start_migration cleared alone started a migration nobody follows
(for a SqlDb copy freezing its source first); an old freeze_source froze the source under a later run's
replication, nobody to unfreeze it. Now preflight records its run as the database's current run
(`current_run`), and the acting steps and the rollback of any other run change nothing and say what to do.
"""
from __future__ import annotations

import json
import os

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal import SERVICE_ID, seed_world
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE, FileRecords
from task_driver import RunDriver, WorkerCrashed
from world_view import WorldView, set_rehearsal_clock

# Driver logic on direct SQL, the same on every Airflow: Airflow 3.3 only (`test_freezes_of_earlier_tries` runs the Data Factory path on 2.10.5).
SATURDAY_NIGHT = {"timeZone": "Europe/Berlin", "days": ["Sat"], "start": "22:00", "durationMinutes": 360}
GATED = {"windows": [SATURDAY_NIGHT], "expectedMinutes": 30,
         "approval": {"required": True, "approvers": ["alice@contoso.com"], "channel": "airflowVariable"}}
WHAT_TO_DO = ("trigger a new DAG run", "clear this whole run from db.preflight")


def setup(directory, **entry):
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", **entry)]))
    world = WorldView(directory, plan.database("db"), plan)
    seed_world(world.world, plan)
    return build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world


def statuses(world):
    return [operation["migrationStatus"] for operation in world.operations()]


def access(world):
    source = world.source()
    return source["readOnly"], source["userAccess"], source.get("extendedProperties")


def rolled_back_by_dms(dag, world, after="start_migration"):
    """Run 1: DMS ends its migration Failed right after `after`; its rollback undoes the run."""
    run = RunDriver(dag, world.fault_after("db." + after, "migrate", "migrationFailed", database="Sales", message="restore failed"))
    run.run_database("db")
    assert run.outcome("db") == "rolled_back" and world.source_writable(), run.errors
    assert statuses(world) == ["Failed"], statuses(world)
    return run


def left_replicating_by_a_failed_preflight(dag, world):
    """A later run starts a migration, and its worker dies while it replicates; the run after it fails its
    preflight (the runtime briefly offline): its rollback leaves the migration replicating."""
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after="wait_for_migration")
    world.world.set_integration_runtime_state(SERVICE_ID, "Offline")
    later = RunDriver(dag, world.observe)
    states = later.run_database("db")
    assert states["db.preflight"] == "failed" and later.outcome("db") == "rolled_back", later.errors
    world.world.set_integration_runtime_state(SERVICE_ID, "Online")
    return later


def left_replicating_by_a_stopped_run(dag, world):
    """A later run starts a migration, and its worker dies while it replicates (a person then marks the run
    failed): the record of the source's access its preflight wrote is still there."""
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after="wait_for_migration")


LEFT_REPLICATING = {"failed its preflight": left_replicating_by_a_failed_preflight, "was stopped": left_replicating_by_a_stopped_run}


def left_replicating_after_a_missed_window(dag, world, directory):
    """A later run waits for Saturday night, is approved and freezes the source; the window closes during its
    final backup: its rollback goes back to replicating."""

    def window_closes_after_the_freeze(task_id):
        world.observe(task_id)
        if task_id == "db.freeze_source":
            set_rehearsal_clock(directory, "2026-12-06T03:00:00Z")

    later = RunDriver(dag, window_closes_after_the_freeze)
    later.run_database("db")
    assert later.outcome("db") == "waiting", later.errors
    return later


def assert_refused(run, task, world, before):
    """The task failed, changed nothing in DMS, the target or the source, and said what to do."""
    assert world_now(world) == before, "DMS, the target or the source changed"
    assert run.states["db." + task] == "failed", (run.states, run.errors)
    error = run.errors["db." + task]
    assert "not the current run of db" in error and all(step in error for step in WHAT_TO_DO), error


def world_now(world):
    return statuses(world), world.target() and world.target()["state"], access(world)


@pytest.mark.parametrize("later_run", ["missed its window", "failed its preflight"])
def test_an_old_runs_rollback_leaves_the_replication_a_later_run_left_alone(rehearsal_world, monkeypatch, later_run):
    """Run 1's migration failed in DMS and was rolled back; a later run left a new migration replicating.
    A person clears run 1's rollback (to see it again, or by mistake): was, it found run 1's preflight passed
    and no missed window of run 1, canceled the replication and removed its target."""
    if later_run == "missed its window":
        monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-03T12:00:00Z")
        monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
        dag, world = setup(rehearsal_world, mode="online", cutover=GATED)
    else:
        dag, world = setup(rehearsal_world, mode="online")
    first = rolled_back_by_dms(dag, world)
    if later_run == "missed its window":
        left_replicating_after_a_missed_window(dag, world, rehearsal_world)
    else:
        left_replicating_by_a_failed_preflight(dag, world)
    before = world_now(world)
    assert before[:2] == (["Failed", "InProgress"], "RESTORING") and world.source_writable()

    first.clear_task("db", "rollback")

    assert_refused(first, "rollback", world, before)


# Run 1's task (its own upstream tasks passed in run 1, so Airflow runs it when cleared alone; done only when
# forced: its upstream failed there) -> what it did on the later run's replication before.
ACTING_TASKS = {
    "start_migration": "adopted the later run's migration and succeeded: nobody follows it in run 1",
    "freeze_source": "froze the source under the later run's replication where that run's record of the source's "
                     "access was still there (it was stopped): nobody unfreezes it; else stood down, saying a rollback overtook it",
    "final_backup": "refused a writable source (safe), without saying what to do",
    "cutover": "refused: its final backup not restored (safe), without saying what to do",
    "done": "refused: nothing succeeded (safe), without saying what to do",
    "rollback": "canceled the later run's replication and removed its target",
}


@pytest.mark.parametrize("later_run", sorted(LEFT_REPLICATING))
@pytest.mark.parametrize("task", sorted(ACTING_TASKS))
def test_an_acting_step_cleared_alone_in_an_old_run_changes_nothing(rehearsal_world, task, later_run):
    """Run 1's migration failed in DMS after its cutover was requested (every step up to cutover passed) and was
    rolled back; a later run left a new migration replicating. A person clears one task of run 1."""
    dag, world = setup(rehearsal_world, mode="online")
    first = rolled_back_by_dms(dag, world, after="cutover")
    assert first.states["db.cutover"] == "success", first.states
    LEFT_REPLICATING[later_run](dag, world)
    before = world_now(world)

    first.clear_task("db", task)

    assert_refused(first, task, world, before)


@pytest.mark.parametrize("later_run", ["failed its preflight", "was stopped after its preflight"])
@pytest.mark.parametrize("target", ["db-prod", "mi-prod"], ids=["SqlDb", "SqlMi"])
def test_a_start_migration_cleared_alone_in_an_old_run_starts_and_freezes_nothing(rehearsal_world, target, later_run):
    """Run 1's migration failed in DMS and was rolled back; run 2 started nothing: its preflight failed (the
    runtime briefly offline), or its worker died right after its preflight (a person marked the run failed). A
    person clears run 1's start_migration alone: was, it started a migration nobody follows (no wait, no
    rollback of run 1 runs again) and, before a SqlDb copy where run 2's preflight recorded the source's access,
    froze the source: only the stalled-run and frozen-too-long alerts told."""
    dag, world = setup(rehearsal_world, target=target)
    first = rolled_back_by_dms(dag, world)
    if later_run == "failed its preflight":
        world.world.set_integration_runtime_state(SERVICE_ID, "Offline")
        assert RunDriver(dag, world.observe).run_database("db")["db.preflight"] == "failed"
        world.world.set_integration_runtime_state(SERVICE_ID, "Online")
    else:
        with pytest.raises(WorkerCrashed):
            RunDriver(dag, world.observe).run_database("db", crash_after="preflight")
    before = world_now(world)
    assert before[0] == ["Failed"] and world.source_writable()

    first.clear_task("db", "start_migration")

    assert_refused(first, "start_migration", world, before)


def test_an_old_run_cleared_from_preflight_is_the_current_run_again_and_migrates(rehearsal_world):
    """Clearing the whole of run 1 from preflight (with its downstream tasks) re-registers it: it adopts the
    replication the later run left and migrates it; the later run's tasks, cleared now, change nothing."""
    dag, world = setup(rehearsal_world, mode="online")
    first = rolled_back_by_dms(dag, world)
    later = left_replicating_by_a_failed_preflight(dag, world)

    first.clear_database("db")

    assert first.outcome("db") == "migrated", first.errors
    assert statuses(world) == ["Failed", "Succeeded"], "the later run's migration, cut over: no second one"
    assert world.target()["state"] == "ONLINE" and not world.source_writable(), "migrated: the source stays frozen"
    before = world_now(world)
    later.clear_task("db", "rollback")
    assert_refused(later, "rollback", world, before)


def test_a_run_whose_record_is_missing_goes_on(rehearsal_world):
    """No record of the current run (lost with Airflow's metadata, or a run of a version before it) blocks
    nothing: the run's steps go on as before."""
    from migration_orchestration_lib.current_run import current_run_key

    dag, world = setup(rehearsal_world, mode="online")
    key = current_run_key(plan_with_databases([])["name"], "db")
    records = FileRecords(str(rehearsal_world), RECORDS_FILE)

    def lose_it_after_preflight(task_id):
        world.observe(task_id)
        if task_id == "db.preflight":
            path = os.path.join(str(rehearsal_world), RECORDS_FILE)
            with open(path) as file:
                kept = {k: v for k, v in json.load(file).items() if k != key}
            with open(path, "w") as file:
                json.dump(kept, file)

    run = RunDriver(dag, lose_it_after_preflight)
    run.run_database("db")

    assert run.outcome("db") == "migrated", run.errors
    assert records.get(key) is None


@pytest.mark.parametrize("target, task", [("db-prod", "start_migration")] + [
    ("mi-prod", task) for task in ("start_migration", "freeze_source", "final_backup", "cutover")])
def test_a_step_cleared_alone_in_the_latest_run_after_its_rollback_changes_nothing(rehearsal_world, target, task):
    """The latest run's migration failed in DMS and was rolled back; nothing ran since, so it is still the current
    run. A person clears one step alone: was, start_migration started a migration nobody follows (for a SqlDb copy
    it froze the source first), with no wait and no rollback left to run in that run."""
    dag, world = setup(rehearsal_world, target=target, mode="online" if target == "mi-prod" else None)
    run = rolled_back_by_dms(dag, world)
    before = world_now(world)

    assert run.clear_task("db", task) == "failed"

    assert world_now(world) == before, "DMS, the target or the source changed"
    error = run.errors["db." + task]
    # a freezing step that would freeze stands down first: the record of the access before the freeze is gone
    assert ("rollback began undoing it" in error and "db.preflight with its downstream tasks" in error) or "stands down" in error, error


def test_the_latest_run_cleared_from_preflight_after_its_rollback_migrates(rehearsal_world):
    """Cleared from preflight with its downstream tasks, the run looks again (a new preflight) and migrates, though the
    rollback's XCom of its first attempt stays until the rollback runs again (Airflow clears a task's XComs when it runs)."""
    dag, world = setup(rehearsal_world, target="mi-prod", mode="online")
    run = rolled_back_by_dms(dag, world)

    run.clear_database("db")

    assert run.outcome("db") == "migrated", run.errors
    assert statuses(world) == ["Failed", "Succeeded"]
