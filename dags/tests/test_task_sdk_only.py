"""Task code on Airflow 3 reaches Airflow through the Task SDK alone, as on a real worker: `dag.test()`
(conftest.dag_test and every direct call in these tests) runs tasks under `orm_blocked.blocked_in_tasks`, the
worker's `block_orm_access()` for the task's thread. These prove the harness refuses what a worker refuses and
lets through what a worker allows."""
from __future__ import annotations

import pytest

from conftest import register_for_dag_test
from migration_orchestration_lib.airflow_compat import AIRFLOW_3, DAG, BaseOperator, timezone
from migration_orchestration_lib.cutover_services import AirflowVariableRecords
from orm_blocked import blocked_in_tasks

pytestmark = [
    pytest.mark.usefixtures("airflow_db"),
    pytest.mark.airflow31,
    pytest.mark.skipif(not AIRFLOW_3, reason="Airflow 2 tasks have the metadata database"),
]

SEEN = {}


class QueriesTheMetadataDatabase(BaseOperator):
    """What a task must not do on Airflow 3: an ORM query (as `DagRun.get_task_instance` or `Variable.set` of
    `airflow.models` would)."""

    def execute(self, context):
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session

        try:
            with create_session() as session:
                SEEN["runs"] = session.query(DagRun).count()
        except RuntimeError as error:
            SEEN["error"] = str(error)
            raise


class ReadsThroughTheTaskSdk(BaseOperator):
    """What a task may do: XCom, task states of its run and Variables, all through the API server."""

    def execute(self, context):
        from migration_orchestration_lib.airflow_compat import task_states_of_run

        store = AirflowVariableRecords()
        store.put("task_sdk_only_probe", "kept")
        SEEN["variable"] = store.get("task_sdk_only_probe")
        store.delete("task_sdk_only_probe")
        SEEN["states"] = task_states_of_run(context)
        return "pushed"


def _run_blocked(dag):
    register_for_dag_test(dag)
    with blocked_in_tasks():
        return dag.test(logical_date=timezone.datetime(2026, 1, 2))


def _task_state(dag_run, task_id):
    return next(ti.state for ti in dag_run.get_task_instances() if ti.task_id == task_id)


def test_a_task_querying_the_metadata_database_fails_as_on_a_worker():
    SEEN.clear()
    with DAG("orm_query_in_a_task", schedule=None, start_date=timezone.datetime(2026, 1, 1)) as dag:
        QueriesTheMetadataDatabase(task_id="query")

    dag_run = _run_blocked(dag)

    assert "runs" not in SEEN
    assert SEEN.get("error") == "Direct database access via the ORM is not allowed in Airflow 3.0"
    assert str(_task_state(dag_run, "query")) in ("failed", "TaskInstanceState.FAILED")


def test_a_task_using_the_task_sdk_runs_under_the_block():
    SEEN.clear()
    with DAG("task_sdk_in_a_task", schedule=None, start_date=timezone.datetime(2026, 1, 1)) as dag:
        ReadsThroughTheTaskSdk(task_id="sdk")

    dag_run = _run_blocked(dag)

    assert str(_task_state(dag_run, "sdk")) in ("success", "TaskInstanceState.SUCCESS"), SEEN
    assert SEEN["variable"] == "kept"
    assert SEEN["states"].get("sdk") == "running"


def test_the_block_ends_with_the_task_and_spares_the_tests_own_reads():
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with blocked_in_tasks():
        with create_session() as session:  # the test's thread, no task running: dag.test()'s own scheduling reads so
            session.query(DagRun).count()
    with create_session() as session:
        session.query(DagRun).count()
