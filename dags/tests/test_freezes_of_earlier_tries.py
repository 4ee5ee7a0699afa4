"""A freeze an earlier try of a freezing step submitted through Data Factory is awaited by the rollback.

Through Data Factory a freezing step (`freeze_source`; `start_migration` before a SqlDb copy) submits its
freeze as a pipeline run that goes on after the task stops, and the rollback awaits the freezes listed in
that task's XCom `freeze_submitted` before it reads the source (`rollback._await_freezes_in_flight`). The
freeze's keys carry the try number, and Airflow clears a task's XComs when a new try starts. Was: try 1
submitted its freeze and its worker was lost with the run still going; try 2 failed before it froze (or a
person marked it failed), its XCom named no freeze of try 1 (or only its own), the rollback read the source
writable, and try 1's freeze landed after it: the source frozen with nothing to undo it, no event saying so.
Run task by task (`task_driver`) on the rehearsal world.
"""
from __future__ import annotations

import json

import pytest

from migration_orchestration_lib.airflow_compat import AirflowRescheduleException
from migration_rehearsal.data_factory_server import RUNS, DataFactoryServer
from task_driver import RunDriver, WorkerCrashed, _TaskInstance
from test_overtaken_freezes import setup  # one database `db` (Sales), seeded world; access direct or dataFactory

# The freezing task, the task after which the run's worker stops, the plan entry.
FREEZING = [("freeze_source", "wait_for_migration", dict(mode="online")), ("start_migration", "preflight", dict(target="db-prod"))]
FREEZING_IDS = ["freeze_source", "start_migration-SqlDb"]


@pytest.fixture
def events_file(rehearsal_world, monkeypatch, tmp_path):
    path = tmp_path / "events.jsonl"
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(path))
    return path


def events(path, phase):
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [row["Status"] for row in rows if row["Phase"] == phase]


def freeze_runs(world, run, task, try_number):
    """The statuses of the Data Factory runs of that try's freeze."""
    key = "%s:db:%s:%d:freeze" % (run.run_id, task, try_number)
    return [r["status"] for r in world.world.snapshot().get(RUNS, {}).values() if r["parameters"]["operationKey"] == key]


def try_1_submits_its_freeze_and_its_worker_is_lost(rehearsal_world, task, before, entry):
    """The run up to the freezing step; its try 1 pokes until its freeze is submitted, then is lost with it running."""
    dag, world = setup(rehearsal_world, "dataFactory", **entry)
    run = RunDriver(dag, world.observe)
    with pytest.raises(WorkerCrashed):
        run.run_database("db", crash_after=before)
    freezing = dag.get_task("db." + task)
    context = {"ti": _TaskInstance(run.xcom, freezing.task_id, 1, freezing.retries), "run_id": run.run_id, "task_reschedule_count": 0}
    while not freeze_runs(world, run, task, 1):
        with pytest.raises(AirflowRescheduleException):
            freezing.execute(context)
    assert freeze_runs(world, run, task, 1) in (["Queued"], ["InProgress"]), "still running when try 2 starts"
    return dag, world, run, freezing


def assert_rolled_back_and_writable(world, run, events_file, task):
    after_the_rollback = freeze_runs(world, run, task, 1)
    DataFactoryServer(world.world).advance_all()  # time passes: every pipeline run in flight ends
    assert world.source_writable(), "was: frozen by try 1's freeze, landed after the rollback"
    assert not world.source().get("extendedProperties"), "no freeze marker left"
    assert after_the_rollback == ["Succeeded"], "the rollback awaited try 1's freeze"
    assert run.outcome("db") == "rolled_back", run.errors
    assert events(events_file, "rollback")[-1] == "RolledBack"
    rolled_back = [json.loads(line)["Message"] for line in events_file.read_text().splitlines()][-1]
    # Was: the rollback removed the RESTORING target on one poke and, on the next, took the read it adopted from before
    # the removal for a database "put there since by someone else, kept"
    assert "put there since by someone else" not in rolled_back, rolled_back
    # Was: it named only what its last poke did ("target Sales is absent: nothing to remove; source database Sales writable
    # again"), not the cancel nor the removal of its earlier pokes
    done = rolled_back.split("; ")
    canceled = ["canceled migration %s" % op["migrationOperationId"] for op in world.operations()]  # none before a SqlDb copy
    assert [action for action in done if action.startswith("canceled migration ")] == canceled, rolled_back
    assert task == "start_migration" or "deleted managed database Sales on mi-prod" in done, rolled_back
    assert done[-1] == "source database Sales writable again", rolled_back
    assert world.target() is None or task == "start_migration", "the RESTORING target removed (a SqlDb one is kept)"


@pytest.mark.parametrize("task, before, entry", FREEZING, ids=FREEZING_IDS)
def test_a_freeze_of_a_lost_try_is_undone_when_the_next_try_fails_before_freezing(rehearsal_world, events_file, task, before, entry):
    """Try 2's first DMS read is refused (403: a role assignment gone, say; no retry fixes it): it fails before
    it reaches its freeze, and it was the last try."""
    dag, world, run, freezing = try_1_submits_its_freeze_and_its_worker_is_lost(rehearsal_world, task, before, entry)
    world.world.add_fault("get", "error", status=403, code="AuthorizationFailed", message="no role")

    assert run._run_task(freezing, first_try=2) == "failed"
    assert "AuthorizationFailed" in run.errors[freezing.task_id], run.errors
    assert not freeze_runs(world, run, task, 2), "try 2 never froze"
    assert run._run_task(dag.get_task("db.rollback")) == "success", run.errors
    assert_rolled_back_and_writable(world, run, events_file, task)


@pytest.mark.parametrize("task, before, entry", FREEZING, ids=FREEZING_IDS)
def test_a_freeze_of_a_lost_try_is_undone_when_a_person_marks_the_next_try_failed(rehearsal_world, events_file, task, before, entry):
    """Try 2 submits a freeze of its own and waits for it; a person marks it failed: both freezes are awaited."""
    dag, world, run, freezing = try_1_submits_its_freeze_and_its_worker_is_lost(rehearsal_world, task, before, entry)
    context = {"ti": _TaskInstance(run.xcom, freezing.task_id, 2, freezing.retries), "run_id": run.run_id, "task_reschedule_count": 0}
    for key in [k for k in run.xcom if k[0] == freezing.task_id]:
        del run.xcom[key]  # Airflow clears the task's XComs when a try starts
    while not freeze_runs(world, run, task, 2):
        with pytest.raises(AirflowRescheduleException):
            freezing.execute(context)

    assert run._run_task(dag.get_task("db.rollback")) == "success", run.errors
    assert freeze_runs(world, run, task, 2) == ["Succeeded"]
    assert_rolled_back_and_writable(world, run, events_file, task)


@pytest.mark.parametrize("task, before, entry", FREEZING, ids=FREEZING_IDS)
def test_the_next_try_freezes_and_the_run_migrates_as_usual(rehearsal_world, events_file, task, before, entry):
    dag, world, run, freezing = try_1_submits_its_freeze_and_its_worker_is_lost(rehearsal_world, task, before, entry)

    assert run._run_task(freezing, first_try=2) == "success", run.errors
    chain = run.chain("db")
    for later in chain[chain.index(freezing) + 1:]:
        assert run._run_task(later) == "success", run.errors
    assert run.outcome("db") == "migrated", run.errors
    DataFactoryServer(world.world).advance_all()
    assert world.source()["readOnly"], "migrated: the source stays frozen"


def test_the_one_freeze_a_run_from_before_the_list_named_is_awaited(rehearsal_world, events_file):
    """A run begun on a DAG before this change: the freezing task's XCom holds one key prefix, a string."""
    task, before, entry = FREEZING[0]
    dag, world, run, freezing = try_1_submits_its_freeze_and_its_worker_is_lost(rehearsal_world, task, before, entry)
    run.xcom[(freezing.task_id, "freeze_submitted")] = "%s:db:%s:1" % (run.run_id, task)

    assert run._run_task(dag.get_task("db.rollback")) == "success", run.errors
    assert_rolled_back_and_writable(world, run, events_file, task)


@pytest.mark.parametrize("task, before, entry", FREEZING, ids=FREEZING_IDS)
def test_a_freeze_of_a_lost_try_is_awaited_though_the_task_s_xcom_no_longer_lists_it(rehearsal_world, events_file, task, before, entry):
    """Airflow 3.4 keeps XComs per attempt: try 1 failing into a retry (its worker lost) archives its XComs with it, and
    a person marks the retry failed before it starts: the task's XCom reads empty, try 1's freeze still queued. The
    rollback finds it among the Data Factory runs of this run still in flight."""
    dag, world, run, freezing = try_1_submits_its_freeze_and_its_worker_is_lost(rehearsal_world, task, before, entry)
    for key in [k for k in run.xcom if k[0] == freezing.task_id]:
        del run.xcom[key]

    assert run._run_task(dag.get_task("db.rollback")) == "success", run.errors
    assert_rolled_back_and_writable(world, run, events_file, task)
