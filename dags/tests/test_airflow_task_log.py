"""No secret reaches the log file Airflow's own task runner writes for a failed task.

A task of the DAG (the real `MigrationTask`) reads its source login from an Airflow connection, as in
production, and fails the way a driver refusing the login fails: the driver's error quotes its
connection string and the request it sent (base64, as a server echoing a request body does), and
the step raises its own `StepFailure` while handling it. Airflow logs the failure with its traceback,
the whole exception chain included, through its own handler into the task's log file: on Airflow 3
the supervisor writes it (the task runs in a forked process, as under any executor), on 2.x
`airflow tasks run --raw` (what a worker runs). The secret must be in none of its forms there.
Airflow masks by itself the password of a connection it hands out (2.10 also its URL-quoted form),
not the base64 echo: that needs the DAG to give every form it remembers to Airflow's masker."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import DAGS_DIR, database_entry, plan_with_databases
from migration_orchestration_lib.airflow_compat import AIRFLOW_3, timezone
from test_no_secrets_leak import Canaries, leaks

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.airflow210, pytest.mark.airflow26, pytest.mark.airflow31]

DAG_ID = "secrets_in_the_task_log"
TASK_ID = "preflight"

# The DAG file a worker parses: one MigrationTask whose step meets a driver quoting the secret.
REFUSED_LOGIN_DAG = textwrap.dedent(
    '''
    import base64, json, sys
    sys.path.insert(0, %(dags)r)
    from migration_orchestration_lib.airflow_compat import DAG, timezone
    from migration_orchestration_lib.connections import AirflowConnections
    from migration_orchestration_lib.operators import MigrationTask
    from migration_orchestration_lib.plan import parse_plan
    from migration_orchestration_lib.settings import Timing
    from migration_orchestration_lib.step_context import StepFailure

    PLAN = parse_plan(json.loads(%(plan)r))


    class DriverError(Exception):
        pass


    def refused_login(ctx):
        """A driver refusing the login quotes its connection string and the request it sent."""
        login = AirflowConnections().get(PLAN.source_of(ctx.database).connection_id)
        request = base64.b64encode(("user=%%s;password=%%s" %% (login.login, login.password)).encode()).decode()
        try:
            raise DriverError("Login failed. Server=%%s;Password=%%s; request %%s" %% (login.host, login.password, request))
        except DriverError:
            raise StepFailure("the source server refused the login of the DAG")


    with DAG(%(dag_id)r, schedule=None, start_date=timezone.datetime(2024, 1, 1)) as dag:
        MigrationTask(task_id=%(task_id)r, plan=PLAN, database_name="db", phase="preflight", step=refused_login,
                      timing=Timing.for_environment({}), retries=0)
    '''
)


@pytest.fixture
def source_login(monkeypatch):
    """The plan's source login as an Airflow connection (an environment variable: a secrets backend)."""
    found = Canaries()
    document = plan_with_databases([database_entry("db", "Sales")])
    connection_id = document["sourceServers"][0]["connectionId"]
    secret = found.of(connection_id)
    monkeypatch.setenv("AIRFLOW_CONN_%s" % connection_id.upper(), json.dumps(
        {"conn_type": "mssql", "host": "sql01.corp.contoso.com", "login": "migration", "password": secret}))
    return SimpleNamespace(canaries=found, document=document)


def write_dag_file(directory: Path, document: dict) -> Path:
    directory.mkdir()
    path = directory / "refused_login_dag.py"
    path.write_text(REFUSED_LOGIN_DAG % {"dags": str(DAGS_DIR), "plan": json.dumps(document), "dag_id": DAG_ID, "task_id": TASK_ID})
    return path


def load_dag(path: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("refused_login_dag", str(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def run_task_with_its_log_file(dag, dag_file: Path, log_path: Path) -> str:
    """Run the task as a worker does, its log written by Airflow to `log_path`; its final state."""
    if AIRFLOW_3:
        return _supervised(dag, dag_file, log_path)
    return _tasks_run_raw(dag, dag_file, log_path)


def _supervised(dag, dag_file: Path, log_path: Path) -> str:
    """Airflow 3: the supervisor (`supervise_task`, what every executor calls) forks the task process
    and writes the log file; the Execution API is the in-process one of `dag.test()`."""
    from airflow.models.dagrun import DagRun
    from airflow.sdk.execution_time import supervisor
    from airflow.utils.session import create_session

    from conftest import register_for_dag_test

    register_for_dag_test(dag)
    ran = []
    supervise = getattr(supervisor, "supervise_task", None) or supervisor.supervise  # 3.1: `supervise`

    def through_the_supervisor(ti, task, client=None):
        ran.append(task.task_id)
        supervise(
            ti=ti, bundle_info=SimpleNamespace(name="dags-folder", version=None), dag_rel_path=dag_file.name, token="",
            client=supervisor.InProcessTestSupervisor._api_client(task.dag), log_path=str(log_path),
        )
        with create_session() as session:
            state = session.query(DagRun).filter(DagRun.dag_id == DAG_ID).one().get_task_instance(TASK_ID, session=session).state
        return SimpleNamespace(ti=SimpleNamespace(state=state, task=task), msg=None, state=state, error=None)

    original = supervisor.run_task_in_process
    supervisor.run_task_in_process = through_the_supervisor
    try:
        dag_run = dag.test(logical_date=timezone.datetime(2025, 1, 1))
    finally:
        supervisor.run_task_in_process = original
    assert ran == [TASK_ID], "the task never ran through the supervisor"
    return str(dag_run.get_task_instance(TASK_ID).state)


def _tasks_run_raw(dag, dag_file: Path, log_path: Path) -> str:
    """Airflow 2: `airflow tasks run --raw`, the process a worker starts for the task, writes its log
    file through Airflow's task handler (FileTaskHandler) under the Airflow home's logs."""
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunType

    when = timezone.datetime(2025, 1, 1)
    dag_run = dag.create_dagrun(run_id="manual__secrets", run_type=DagRunType.MANUAL, execution_date=when, state=DagRunState.RUNNING,
                                data_interval=(when, when), external_trigger=True)
    worker = subprocess.run([sys.executable, "-m", "airflow", "tasks", "run", DAG_ID, TASK_ID, dag_run.run_id, "--raw", "--subdir", str(dag_file)],
                            capture_output=True, text=True, timeout=300)
    written = sorted((Path(os.environ["AIRFLOW_HOME"]) / "logs" / ("dag_id=%s" % DAG_ID)).glob("**/*.log"))
    assert written, (worker.returncode, worker.stderr[-3000:])
    log_path.write_text("".join(path.read_text() for path in written))
    return str(dag_run.get_task_instance(TASK_ID).state)


def test_a_failed_task_s_log_file_holds_no_secret_of_its_failure(source_login, tmp_path, monkeypatch):
    from airflow import settings

    monkeypatch.setenv("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")  # the task's own lines and its events too
    monkeypatch.setattr(settings, "DAGS_FOLDER", str(tmp_path / "dags"))  # Airflow 3.1 runs only a DAG of its bundle
    dag_file = write_dag_file(tmp_path / "dags", source_login.document)
    dag = load_dag(dag_file)
    log_path = tmp_path / "task.log"

    state = run_task_with_its_log_file(dag, dag_file, log_path)

    text = log_path.read_text()
    assert state == "failed", (state, text[-3000:])
    assert "the source server refused the login of the DAG" in text, text[-3000:]  # the failure is there
    assert "migration event" in text, text[-3000:]  # and its event row (events go to the task log without an ingestion rule)
    assert not leaks(source_login.canaries, {"the task's log file": text}), leaks(source_login.canaries, {"the task's log file": text})
