"""A freeze that a rollback overtook never holds the source (`source_freeze`, "Two attempts of one task").

Airflow fails a task whose worker lost its heartbeat and runs the rollback while that attempt may still
run (a worker paused, then resumed). Before, an attempt of a freezing step (`freeze_source`;
`start_migration` before a SqlDb copy) that read the record after the rollback cleared it recorded the
source's access again and froze it; one whose freeze landed after the rollback's read of the source
left it frozen too: a source no migration holds, closed to writes, until a person noticed. Now the
rollback marks the record before its last read of the source, and the attempt stands down (and
undoes its own freeze) once it sees the mark or the cleared record. On the rehearsal world, through
both SQL accesses.
"""
from __future__ import annotations

import json
import os

import pytest

from conftest import database_entry, load_plan_document, plan_with_databases
from migration_orchestration_lib import source_freeze, steps
from migration_orchestration_lib.airflow_compat import AirflowFailException
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.database_sql import DatabaseSql
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal import seed_world
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE
from migration_orchestration_lib.step_context import StepContext
from task_driver import RunDriver, WorkerCrashed, _TaskInstance
from world_view import WorldView

KEY = source_freeze.RECORD_PREFIX + "sql01__Sales"
ACCESSES = ["direct", "dataFactory"]
# A path: the plan entry, the freezing task, and the task after which the attempt is overtaken.
PATHS = {
    "online_sqlmi": (dict(mode="online"), "freeze_source", "start_migration"),
    "sqldb": (dict(target="db-prod"), "start_migration", "preflight"),
}


class Paused(BaseException):  # no handler of the task catches it
    """The attempt's worker stopped here for a while."""


def setup(directory, access, **entry):
    document = plan_with_databases([database_entry("db", "Sales", **entry)])
    if access == "dataFactory":
        document["airflow"] = load_plan_document("fabric_host.json")["airflow"]
    plan = parse_plan(document)
    world = WorldView(directory, plan.database("db"), plan)
    seed_world(world.world, plan)
    return build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world


def record(directory):
    with open(os.path.join(str(directory), RECORDS_FILE)) as file:
        return json.load(file).get(KEY)


def run_until(dag, world, task):
    run = RunDriver(dag, world.observe)
    with pytest.raises(WorkerCrashed):
        run.run_database("db", crash_after=task)
    return run


def the_late_attempt(run, dag, task):
    """The attempt Airflow failed, still running: its pokes, with the run's XComs (its try is the last)."""
    task = dag.get_task("db." + task)
    context = {"ti": _TaskInstance(run.xcom, task.task_id, task.retries + 1, task.retries), "run_id": run.run_id,
               "task_reschedule_count": 0}
    try:
        run._poke_until_done(task, context)
    except AirflowFailException as error:
        return "failed", str(error)
    return "success", ""


def roll_back(run, dag):
    assert run._run_task(dag.get_task("db.rollback")) == "success", run.errors
    assert run.outcome("db") == "rolled_back"


def the_rollback_runs_after_the_attempts_dms_read(monkeypatch, run, dag, task):
    """The attempt read DMS (the migration in flight), then the whole rollback ran: it reads a cleared record."""
    read_dms = steps.standing

    def standing(ctx):
        now = read_dms(ctx)
        if ctx.task_instance._task_id == "db." + task and not run.states.get("db.rollback"):
            run.states["db.rollback"] = "success"
            roll_back(run, dag)
        return now

    monkeypatch.setattr(steps, "standing", standing)


def the_rollback_runs_before_the_attempts_freeze_batch(monkeypatch, run, dag, task):
    """The attempt read the record before the rollback ran; its freeze batch lands after the rollback."""
    freeze = DatabaseSql.freeze_source

    def freeze_source(sql, database, *markers):
        if not run.states.get("db.rollback"):
            run.states["db.rollback"] = "success"
            roll_back(run, dag)
        return freeze(sql, database, *markers)

    monkeypatch.setattr(DatabaseSql, "freeze_source", freeze_source)


MOMENTS = {  # when the rollback overtakes the attempt, and what the attempt says
    "after its DMS read": (the_rollback_runs_after_the_attempts_dms_read, "stands down"),
    "before its freeze batch lands": (the_rollback_runs_before_the_attempts_freeze_batch, "freeze undone"),
}


@pytest.mark.parametrize("access", ACCESSES)
@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("moment", sorted(MOMENTS))
def test_an_attempt_the_rollback_overtook_leaves_the_source_as_the_rollback_left_it(rehearsal_world, monkeypatch, access, path, moment):
    """Was: it recorded the access again and froze (after a DMS read), or its freeze landed (after the
    record read): a source no migration holds, closed to writes."""
    entry, freezing_task, overtaken_after = PATHS[path]
    overtake, said = MOMENTS[moment]
    dag, world = setup(rehearsal_world, access, **entry)
    run = run_until(dag, world, overtaken_after)
    overtake(monkeypatch, run, dag, freezing_task)

    state, error = the_late_attempt(run, dag, freezing_task)

    assert run.states.get("db.rollback") == "success", "the rollback ran meanwhile"
    assert state == "failed" and "stands down" in error and said in error, error
    assert world.source_writable(), "was: left frozen"
    assert not world.source().get("extendedProperties"), "no freeze marker"
    assert record(rehearsal_world) == ""


@pytest.mark.parametrize("access", ACCESSES)
def test_a_freeze_landing_between_the_rollbacks_read_and_its_unfreeze_is_undone_by_the_rollback(rehearsal_world, monkeypatch, access):
    """The rollback read the source writable; the attempt froze it and saw nothing yet (its success is
    refused by Airflow); the rollback, marking the record first, reads the source again and unfreezes it."""
    dag, world = setup(rehearsal_world, access, mode="online")
    run = run_until(dag, world, "start_migration")
    read_dms = steps.standing
    before_the_cancel = []

    def the_attempt_reads_dms(ctx):  # before the rollback's cancel; then the worker pauses
        before_the_cancel.append(read_dms(ctx))
        raise Paused()

    monkeypatch.setattr(steps, "standing", the_attempt_reads_dms)
    with pytest.raises(Paused):
        the_late_attempt(run, dag, "freeze_source")
    monkeypatch.setattr(steps, "standing", lambda ctx: before_the_cancel[0])
    unfreeze = source_freeze.unfreeze
    attempts = []

    def the_attempt_freezes_meanwhile(ctx, database, state):
        if not attempts:
            with monkeypatch.context() as paused:  # it paused in `standing`, past the check that the rollback began
                paused.setattr(StepContext, "rollback_began", lambda self: False)
                attempts.append(the_late_attempt(run, dag, "freeze_source"))
            assert world.source()["readOnly"]
        return unfreeze(ctx, database, state)

    monkeypatch.setattr(source_freeze, "unfreeze", the_attempt_freezes_meanwhile)
    roll_back(run, dag)

    assert attempts == [("success", "")]
    assert world.source_writable(), "was: left frozen (the rollback's read had found it writable)"
    assert not world.source().get("extendedProperties")
    assert record(rehearsal_world) == ""


def test_a_rollback_interrupted_while_undoing_leaves_a_mark_the_next_run_drops(rehearsal_world, monkeypatch):
    """The mark is the rollback's own: the run after a rollback whose worker died mid-undo freezes as usual."""
    dag, world = setup(rehearsal_world, "direct", mode="online")
    run = run_until(dag, world, "start_migration")
    read_source = DatabaseSql.source_state

    def the_worker_dies_before_the_last_read(sql, database, purpose="source-state"):
        if purpose == "before-unfreeze":
            raise WorkerCrashed("rollback")
        return read_source(sql, database, purpose)

    monkeypatch.setattr(DatabaseSql, "source_state", the_worker_dies_before_the_last_read)
    with pytest.raises(WorkerCrashed):
        run._run_task(dag.get_task("db.rollback"))
    assert json.loads(record(rehearsal_world)).get("undoing") is True
    monkeypatch.setattr(DatabaseSql, "source_state", read_source)

    later = RunDriver(dag, world.observe)
    states = later.run_database("db")
    assert states["db.freeze_source"] == "success" and states["db.done"] == "success", later.errors
    assert json.loads(record(rehearsal_world)) == {"readOnly": False, "userAccess": "MULTI_USER"}
