"""A DAG run deleted and triggered again under its run id (the REST API's `dag_run_id`, or the same logical date)
numbers its tries from 1 again, so its SQL operations' keys (run, database, task, try, purpose) are the deleted
run's again. Through Data Factory an operation adopts the pipeline run of its key: only one begun since its try
first poked is its own (`SqlOperation.not_before`). Was: the new run took the deleted run's pipeline runs for its
own, its freeze among them, and reported the source frozen while the deleted run's rollback had made it writable.
Run task by task (`task_driver`) on the rehearsal world.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone

from migration_orchestration_lib.airflow_compat import AirflowRescheduleException
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE
from migration_orchestration_lib.step_context import FIRST_POKE_PREFIX
from migration_rehearsal.data_factory_server import RUNS
from task_driver import RunDriver, WorkerCrashed
from test_overtaken_freezes import setup  # one database `db` (Sales), seeded world; access direct or dataFactory

import pytest


def an_hour_earlier(world):
    """The deleted run's pipeline runs began and ended an hour ago."""
    moment = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with world.world.transaction() as state:
        for run in state.get(RUNS, {}).values():
            run.update(runStart=moment, runEnd=moment, lastUpdated=moment)


def freezes(world, run_id):
    key = "%s:db:freeze_source:1:freeze" % run_id
    return [r for r in world.world.snapshot().get(RUNS, {}).values() if r["parameters"]["operationKey"] == key]


def test_a_run_triggered_again_under_a_deleted_runs_id_freezes_the_source_itself(rehearsal_world):
    dag, world = setup(rehearsal_world, "dataFactory", mode="online")
    world.world.add_fault("cutover", "error", status=400, count=20, code="BadRequest", message="cutover refused")
    deleted = RunDriver(dag, world.observe)
    states = deleted.run_database("db")
    assert states["db.cutover"] == "failed" and states["db.rollback"] == "success", deleted.errors
    assert world.source_writable() and len(freezes(world, deleted.run_id)) == 1
    an_hour_earlier(world)

    again = RunDriver(dag, world.observe)
    again.run_id = deleted.run_id  # the deleted run's id; its XComs went with it
    with pytest.raises(WorkerCrashed):
        again.run_database("db", crash_after="freeze_source")

    assert not world.source_writable(), "was: the deleted run's freeze taken for this run's, the source left writable"
    assert len(freezes(world, deleted.run_id)) == 2


def first_pokes_an_hour_earlier(directory):
    """The records of first pokes the deleted run left (a try that never ended in its code) were written an hour ago."""
    path = os.path.join(str(directory), RECORDS_FILE)
    with open(path) as file:
        records = json.load(file)
    for key, value in records.items():
        if key.startswith(FIRST_POKE_PREFIX) and value:
            recorded = json.loads(value)
            recorded["firstPoke"] = (datetime.fromisoformat(recorded["firstPoke"]) - timedelta(hours=1)).isoformat()
            records[key] = json.dumps(recorded)
    with open(path, "w") as file:
        json.dump(records, file)


def test_a_deleted_runs_record_of_a_first_poke_is_not_the_new_runs(rehearsal_world):
    """The deleted run's freeze_source was marked failed while it waited for its freeze: its try never ended in its
    code, so its record of its first poke stayed, marked with the same run id and try number as the new run's."""
    dag, world = setup(rehearsal_world, "dataFactory", mode="online")
    deleted = RunDriver(dag, world.observe)
    with pytest.raises(WorkerCrashed):
        deleted.run_database("db", crash_after="wait_for_migration")
    with pytest.raises(AirflowRescheduleException):
        deleted.poke("db.freeze_source")  # submits the freeze; then a person marks the task failed
    deleted.states["db.freeze_source"] = "failed"
    assert deleted._run_task(dag.get_task("db.rollback")) == "success", deleted.errors
    assert world.source_writable() and len(freezes(world, deleted.run_id)) == 1
    an_hour_earlier(world)
    first_pokes_an_hour_earlier(rehearsal_world)

    again = RunDriver(dag, world.observe)
    again.run_id = deleted.run_id
    with pytest.raises(WorkerCrashed):
        again.run_database("db", crash_after="freeze_source")

    assert not world.source_writable(), "was: the deleted try's first poke taken for this one's, and its freeze with it"
    assert len(freezes(world, deleted.run_id)) == 2
