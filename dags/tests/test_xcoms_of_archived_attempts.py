"""What the rollback reads of a task whose try failed into a retry that a person then marked failed.

Airflow 3.4 keeps a task's XComs per attempt: once a try fails into a retry (`TaskInstance.handle_failure` ->
`prepare_db_for_next_try`) or the task is cleared, the task's XComs read empty, the earlier try's archived with its
attempt; 3.3 keeps them on the task until it runs again. A person who marks the retry failed before it starts leaves
them empty for good, and the rollback (`one_failed`) runs on that. Here a try of preflight fails after it claimed the
source; its XComs are deleted to stand for 3.4's archive. Was: the rollback read no `started`, took the database for
one this run never worked on and skipped ("never started in this run"), the run reported it "not started (a
dependency failed or waits)", no rollback event. Run task by task (`task_driver`) on
the rehearsal world.
"""
from __future__ import annotations

import json
import os

import pytest

from migration_orchestration_lib import source_claims, source_freeze
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE
from task_driver import RunDriver, _DagRun, _TaskInstance
from test_freezes_of_earlier_tries import events, events_file  # noqa: F401 (a fixture: the rehearsal's events file)
from test_overtaken_freezes import setup  # one database `db` (Sales), seeded world; access direct or dataFactory

# Airflow 2 reads preflight's state through `dag_run`, Airflow 3 through the Task SDK (`task_state_in_run`)
pytestmark = [pytest.mark.airflow26, pytest.mark.airflow210, pytest.mark.airflow31]


def claims(directory):
    with open(os.path.join(str(directory), RECORDS_FILE)) as file:
        return [key for key in json.load(file) if key.startswith(source_claims.CLAIM_PREFIX)]


def preflight_try_1_fails_into_a_retry(rehearsal_world, monkeypatch):
    """Try 1 of preflight claims the source, then fails with an error Airflow retries."""
    dag, world = setup(rehearsal_world, "direct", mode="online")
    run = RunDriver(dag, world.observe)
    preflight = dag.get_task("db.preflight")
    assert preflight.retries >= 1, "a failure of try 1 is retried"

    def unreachable(*args, **kwargs):
        raise RuntimeError("the metadata database did not answer")

    context = {"ti": _TaskInstance(run.xcom, preflight.task_id, 1, preflight.retries, run), "dag_run": _DagRun(run),
               "run_id": run.run_id, "task_reschedule_count": 0}
    run.states[preflight.task_id] = "running"
    with monkeypatch.context() as patched, pytest.raises(RuntimeError):
        patched.setattr(source_freeze, "drop_undoing_mark", unreachable)  # right after the claim
        preflight.execute(context)
    assert run.xcom.get((preflight.task_id, "started")), "3.3 keeps it on the task"
    assert claims(rehearsal_world), "try 1 claimed the source"
    return dag, world, run, preflight


def test_a_preflight_whose_retry_a_person_marked_failed_is_rolled_back_though_its_xcoms_were_archived(rehearsal_world, events_file, monkeypatch):
    dag, world, run, preflight = preflight_try_1_fails_into_a_retry(rehearsal_world, monkeypatch)
    for key in [k for k in run.xcom if k[0] == preflight.task_id]:
        del run.xcom[key]  # Airflow 3.4: archived with try 1's attempt
    run.states[preflight.task_id] = "failed"  # a person marks the retry failed before it starts

    assert run._run_task(dag.get_task("db.rollback")) == "success", run.errors
    assert run.outcome("db") == "rolled_back", "was: not_started (skipped: never started in this run)"
    assert events(events_file, "rollback") == ["RolledBack"], "was: no rollback event"
    # The claim's key is in preflight's XCom, archived too: the claim stays this entry's (its next run takes it again);
    # it refuses only another entry naming the same database, never hands the source to one wrongly
    assert claims(rehearsal_world)
    assert world.source_writable()
    assert run.run_outcome() == "failed"
    assert "rolled back: db" in run.errors["run_outcome"], run.errors["run_outcome"]


def test_the_same_on_an_airflow_that_keeps_the_xcoms(rehearsal_world, events_file, monkeypatch):
    dag, world, run, preflight = preflight_try_1_fails_into_a_retry(rehearsal_world, monkeypatch)
    run.states[preflight.task_id] = "failed"

    assert run._run_task(dag.get_task("db.rollback")) == "success", run.errors
    assert run.outcome("db") == "rolled_back"
    assert events(events_file, "rollback") == ["RolledBack"]
    assert not claims(rehearsal_world)


@pytest.mark.parametrize("earlier_run", [False, True], ids=["first-run", "after-an-earlier-run"])
def test_a_preflight_marked_failed_before_it_ran_in_this_run_still_leaves_the_database_alone(rehearsal_world, events_file, earlier_run):
    """No `started`, and the record of the current run names no run or another: this run never worked on it."""
    dag, world = setup(rehearsal_world, "direct", mode="online")
    if earlier_run:
        RunDriver(dag, world.observe).run_database("db")
    run = RunDriver(dag, world.observe)
    run.states["db.preflight"] = "failed"

    assert run._run_task(dag.get_task("db.rollback")) == "skipped", run.errors
    assert run.outcome("db") == "not_started"
    assert events(events_file, "rollback") == []
