"""Task code on Airflow 3 reaches Airflow through the Task SDK alone, as on a real worker: `dag.test()`
(conftest.dag_test and every direct call in these tests) runs tasks under `orm_blocked.blocked_in_tasks`, the
worker's `block_orm_access()` for the task's thread. These prove the harness refuses what a worker refuses and
lets through what a worker allows, and that what it makes cheaper (the in-process Execution API of one version, the DAG
folder parsed without the library) is Airflow's own for what the tasks use."""
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


def test_dag_test_runs_tasks_through_the_execution_api_of_the_task_sdks_version_as_airflow_serves_it():
    """The in-process Execution API `dag.test()` runs tasks through (conftest: once per process, with the one version
    its Task SDK client sends) serves that version as Airflow's own app of every version does: the same OpenAPI
    document (routes, parameters, request and response schemas); no older version. Was: every version, built in
    ~3 s of CPU by each process that ran a task."""
    import httpx
    from airflow.api_fastapi.execution_api.app import create_task_execution_api_app
    from airflow.sdk.api.datamodels._generated import API_VERSION
    from airflow.sdk.execution_time import supervisor
    from starlette.testclient import TestClient

    from conftest import _build_the_in_process_execution_api_once

    every_version = create_task_execution_api_app()
    oldest = every_version.versions.versions[-1].value
    assert oldest != API_VERSION
    airflows = TestClient(every_version).get("/openapi.json", params={"version": API_VERSION})
    _build_the_in_process_execution_api_once()
    api = supervisor.in_process_api_server()
    assert supervisor.in_process_api_server() is api, "built once"
    client = httpx.Client(transport=api.transport, base_url="http://in-process.invalid./")
    served = client.get("/openapi.json", params={"version": API_VERSION})

    assert airflows.status_code == served.status_code == 200
    assert served.json() == airflows.json()
    assert api.app.versions.version_values == (API_VERSION,)
    assert client.get("/openapi.json", params={"version": oldest}).status_code == 404


def test_the_one_version_api_sets_the_version_airflows_own_version_changes_read():
    """Airflow's version changes with side effects (`VersionChangeWithSideEffects.is_applied`) read the request's version
    from the variable of the bundle they are bound to, Airflow's own: the one-version app must set that one. Was: a
    variable of its own, and on Airflow 3.4 (whose `require_auth` asks one) every write of a task failed with
    `LookupError: cadwyn_api_version`."""
    from airflow.api_fastapi.execution_api import versions

    from conftest import only_the_task_sdks_api_version

    airflows = versions.bundle
    with only_the_task_sdks_api_version():
        one_version = versions.bundle
    assert one_version is not airflows and one_version.api_version_var is airflows.api_version_var


def test_dag_test_parses_the_dag_folder_as_deployed_the_dag_file_not_its_library():
    """Airflow 3.3's `dag.test()` parses the DAG folder again at every call: through conftest the DAG file, not the
    library's modules (none holds a DAG), which deployed.airflowignore keeps from the DAG processor. Was: each call
    compiled and ran all of them afresh."""
    import sys

    from airflow.utils.file import get_unique_dag_module_name

    from conftest import DAGS_DIR, dag_test
    from migration_orchestration_lib.airflow_compat import AIRFLOW_VERSION

    library = [get_unique_dag_module_name(str(path)) for path in sorted((DAGS_DIR / "migration_orchestration_lib").glob("*.py"))]
    dag_file = get_unique_dag_module_name(str(DAGS_DIR / "migration_orchestration.py"))
    for name in library + [dag_file]:
        sys.modules.pop(name, None)  # as parsed before by another test of this process
    with DAG("parsed_as_deployed", schedule=None, start_date=timezone.datetime(2026, 1, 1)) as dag:
        ReadsThroughTheTaskSdk(task_id="sdk")
    register_for_dag_test(dag)

    assert str(_task_state(dag_test(dag, timezone.datetime(2026, 1, 3)), "sdk")) in ("success", "TaskInstanceState.SUCCESS")
    assert len(library) > 20
    assert [name for name in library if name in sys.modules] == []
    if AIRFLOW_VERSION >= (3, 3):
        assert dag_file in sys.modules, "the folder parsed again"
