"""Nothing lost when a try's worker is lost and the same run rolls back (`task_driver` on the rehearsal world).

A task's worker dies right after its side effects (a killed pod, no heartbeat) on its last try, so Airflow fails the
task for good and runs the database's rollback (`one_failed`) in the same run, with or without the return value the
lost try pushed. An application then writes to the source wherever the rollback left it writable, and a new run
migrates the database. Whatever task was lost:
- no target that was ONLINE is ever deleted;
- a migration a run declared migrated never has a writable source beside it;
- a migration a later run declares holds every write the source took after the rollback.
`test_crash_matrix.py` covers the same crash points with the next run alone, no rollback in between.
"""
from __future__ import annotations

import pytest

from migration_orchestration_lib import steps
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.handoffs import handoff_key
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE, FileRecords
from task_driver import RunDriver, WorkerCrashed
from test_crash_matrix import plan_of, simulated_cutover_time  # noqa: F401 (the paths' clock and approver)
from test_writes_handed_back import write_to_source
from world_view import WorldView

PATHS = ("online_sqlmi", "offline_sqlmi", "sqldb")
LOST_TRIES = [
    pytest.param(path, task, pushed, id="%s-%s-%s" % (path, task, "pushed" if pushed else "unpushed"))
    for path in PATHS
    for task in steps.describe_chain(plan_of(path).database("db"))
    for pushed in (True, False)
]


def declared(world, directory):
    records = FileRecords(str(directory), RECORDS_FILE)
    return [op["migrationOperationId"] for op in world.operations() if records.get(handoff_key(op["migrationOperationId"]))]


@pytest.mark.parametrize("path, task, pushed", LOST_TRIES)
def test_a_try_lost_after_its_side_effects_and_rolled_back_in_its_run_loses_no_write(rehearsal_world, path, task, pushed):
    plan = plan_of(path)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    run = RunDriver(dag, world.observe)
    with pytest.raises(WorkerCrashed):
        run.run_database("db", crash_after=task)
    if not pushed:
        run.xcom.pop(("db." + task, "return_value"), None)
    run.states["db." + task] = "failed"  # Airflow fails the lost try for good
    run._run_task(dag.get_task("db.rollback"))
    assert not (declared(world, rehearsal_world) and world.source_writable()), "a declared migration's source made writable"

    table = write_to_source(world, "written after the rollback") if world.source_writable() else None
    later = RunDriver(dag, world.observe)
    later.run_database("db")

    assert not world.online_target_deleted
    assert not (declared(world, rehearsal_world) and world.source_writable()), "a declared migration's source made writable"
    if later.outcome("db") == "migrated" and table is not None:
        assert world.target()["tables"][table]["rows"][0][1] == "written after the rollback", "a write was lost"
