"""Test setup: a throwaway AIRFLOW_HOME with a SQLite metadata DB, the DAG folder importable,
and no MIGRATION_* / AZURE_* variable leaking in from the machine."""
from __future__ import annotations

import atexit
import contextlib
import copy
import functools
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

TESTS_DIR = Path(__file__).resolve().parent
DAGS_DIR = TESTS_DIR.parent
PLANS_DIR = TESTS_DIR / "plans"
FIXTURES_DIR = TESTS_DIR / "fixtures"

for name in list(os.environ):
    if name.startswith(("MIGRATION_", "AZURE_", "AIRFLOW__")):
        del os.environ[name]


def _memory_backed(directory: str) -> bool:
    """Whether `directory` is a tmpfs mount point (Linux's /dev/shm), per /proc/mounts."""
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            return any(line.split()[1:3] == [directory, "tmpfs"] for line in mounts if len(line.split()) > 2)
    except OSError:
        return False


# The tests' throwaway files (this AIRFLOW_HOME and its SQLite metadata database, every tmp_path: the simulated
# worlds, their records and locks) in memory where the machine has a tmpfs and no TMPDIR was chosen: each world
# transaction replaces its file and each metadata commit syncs the database, which on a shared disk waited on it (a
# file of driver tests took 35 s instead of 43-53 s wall, the same CPU). Nothing a test checks depends on the disk.
def _room_in(directory: str) -> int:
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize


# A container's /dev/shm is 64 MB unless given more (Docker's default): the four environments' worlds and metadata
# databases would fill it, so it takes them only with room to spare.
TMPFS_ROOM_NEEDED = 2 * 1024 ** 3


def takes_throwaway_files(directory: str = "/dev/shm") -> bool:
    """Whether the tests' throwaway files go to `directory`: a writable tmpfs with TMPFS_ROOM_NEEDED free."""
    return _memory_backed(directory) and os.access(directory, os.W_OK) and _room_in(directory) >= TMPFS_ROOM_NEEDED


if "TMPDIR" not in os.environ and takes_throwaway_files():
    os.environ["TMPDIR"] = "/dev/shm"  # pytest's tmp_path and the processes the tests start take it too
    tempfile.tempdir = None
# A process a test starts (a worker killed with os._exit, which skips atexit) makes its home inside the home of the
# process that started it, which removes it with its own: it used to be left in /dev/shm, hundreds a run.
ENCLOSING_HOME = "DAG_TESTS_ENCLOSING_AIRFLOW_HOME"  # not MIGRATION_*, which the lines above remove
_enclosing = os.environ.get(ENCLOSING_HOME)
_airflow_home = tempfile.mkdtemp(prefix="airflow-home-", dir=_enclosing if _enclosing and os.path.isdir(_enclosing) else None)
atexit.register(shutil.rmtree, _airflow_home, ignore_errors=True)  # this process's own home, memory where tmpfs
os.environ[ENCLOSING_HOME] = _airflow_home
os.environ.update(
    {
        "AIRFLOW_HOME": _airflow_home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:///%s/airflow.db" % _airflow_home,
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        # Tests register DAGs of several plans under one id seconds apart (register_for_dag_test).
        "AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "0",
        # One key for this process and the `airflow` commands it starts, as a deployment shares one.
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
    }
)
sys.path.insert(0, str(DAGS_DIR))
sys.path.insert(0, str(TESTS_DIR))
PLAN_SCHEMA = DAGS_DIR.parent / "schema" / "migration-plan.schema.json"


def write_bundle(directory: Path, document: dict) -> Path:
    """A plan as the bundle ships it: `migration_plan.json` with `migration_plan.schema.json` beside."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "migration_plan.schema.json").write_text(PLAN_SCHEMA.read_text())
    plan_file = directory / "migration_plan.json"
    plan_file.write_text(json.dumps(document))
    return plan_file


def event_row(**changes) -> dict:
    """A migration event row as the DAG's writer builds it; `changes` override `build_event_row` arguments."""
    from datetime import datetime, timezone

    from migration_orchestration_lib.events import build_event_row

    values = dict(
        run_id="manual__2025-01-01",
        plan_name="contoso-sql",
        database="database_1",
        phase="start_migration",
        status="Started",
        duration_seconds=3,
        message="starting",
        target_kind="SqlMi",
        migration_operation_id=None,
        now=datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc),
    )
    values.update(changes)
    return build_event_row(**values)


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """The metadata DB, created once; only tests that run DAGs need it."""
    from airflow.utils import db

    db.resetdb()


def register_for_dag_test(dag) -> None:
    """Airflow 3's `dag.test()` runs only a DAG its bundle holds: register one that lives in no file
    as the DAG processor would. Airflow 2 runs the object itself."""
    from migration_orchestration_lib.airflow_compat import AIRFLOW_3

    if not AIRFLOW_3:
        return
    _build_the_in_process_execution_api_once()
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    try:
        from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder="/nonexistent", collect_dags=False)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)


def _build_the_in_process_execution_api_once() -> None:
    """The in-process Execution API `dag.test()` runs tasks through (a Cadwyn FastAPI app), built once per process
    and for the one API version its Task SDK client speaks. Airflow 3.1's `dag.test()` builds it again for every task
    it runs, 3.3's once per process (`functools.lru_cache` on `in_process_api_server`): do as 3.3 does. Either builds
    it with every version of the API (`versions.bundle`: nine on 3.3), about 3 s of CPU per process (each pytest
    worker, each `dag.test()` of a process of its own), of which the versions the client never asks for are ~85%.
    Deployed Airflow never runs tasks through this API; its API server serves every version."""
    from airflow.sdk.execution_time import supervisor

    if getattr(supervisor.in_process_api_server, "for_the_task_sdks_version", False):
        return
    build = getattr(supervisor.in_process_api_server, "__wrapped__", supervisor.in_process_api_server)

    @functools.lru_cache(maxsize=1)
    def in_process_api_server():
        api = build()
        with only_the_task_sdks_api_version():
            api.app  # the app keeps the router and the versions it is built with
        return api

    in_process_api_server.for_the_task_sdks_version = True
    supervisor.in_process_api_server = in_process_api_server


@contextlib.contextmanager
def only_the_task_sdks_api_version():
    """While on, `create_task_execution_api_app()` builds the Execution API with the newest version alone, the one
    the Task SDK installed beside it sends (`airflow-api-version: API_VERSION`), and without the routes that exist
    only in older versions: Cadwyn migrates neither a request nor a response of the newest version (only those of
    older ones), so that version's routes, schemas and handling are the full app's (test_task_sdk_only checks the
    OpenAPI document). Where the client speaks another version, or Cadwyn hides its route marker, nothing changes."""
    from airflow.api_fastapi.execution_api import routes, versions
    from airflow.sdk.api.datamodels._generated import API_VERSION
    from cadwyn import Version, VersionBundle
    from fastapi.routing import APIRoute

    try:
        from cadwyn.route_generation import _DELETED_ROUTE_TAG  # @router.only_exists_in_older_versions
    except ImportError:
        _DELETED_ROUTE_TAG = None
    bundle, router = versions.bundle, routes.execution_api_router
    if _DELETED_ROUTE_TAG is None or bundle.versions[0].value != API_VERSION:
        yield
        return
    newest = copy.copy(router)
    newest.routes = [r for r in router.routes if not (isinstance(r, APIRoute) and _DELETED_ROUTE_TAG in r.tags)]
    # Airflow's version changes with side effects stay bound to its bundle and read the request's version from that
    # bundle's variable (3.4's `require_auth` asks one): the app built here must set that variable, not a new one.
    newest_only = VersionBundle(bundle.head_version, Version(API_VERSION), api_version_var=bundle.api_version_var)
    versions.bundle, routes.execution_api_router = newest_only, newest
    try:
        yield
    finally:
        versions.bundle, routes.execution_api_router = bundle, router


def dag_test(dag, logical_date):
    """`dag.test()` at `logical_date`. Airflow 3.1's registers the DAG's file only while the DAG has no
    version yet, so a DAG built from another plan under the same id is registered first."""
    from migration_orchestration_lib.airflow_compat import AIRFLOW_3, AIRFLOW_VERSION
    from orm_blocked import blocked_in_tasks

    if not AIRFLOW_3:
        return dag.test(execution_date=logical_date)
    _build_the_in_process_execution_api_once()
    if AIRFLOW_VERSION < (3, 2):
        register_for_dag_test(dag)
    with blocked_in_tasks(), the_dag_folder_parsed_as_deployed():  # tasks without the metadata database, as on a worker
        return dag.test(logical_date=logical_date)


LIBRARY_DIR = DAGS_DIR / "migration_orchestration_lib"


def the_dag_file_not_its_library(file_path: str, zip_file=None) -> bool:
    """`[core] might_contain_dag_callable` in `dag.test()`: a file of the DAG's library holds no DAG, as the deployed
    `.airflowignore` (deployed.airflowignore) tells the DAG processor; any other file as Airflow's own heuristic says."""
    from airflow.utils.file import might_contain_dag_via_default_heuristic

    if zip_file is None and LIBRARY_DIR in Path(file_path).resolve().parents:
        return False
    return might_contain_dag_via_default_heuristic(file_path=file_path, zip_file=zip_file)


@contextlib.contextmanager
def the_dag_folder_parsed_as_deployed():
    """Airflow 3.3's `dag.test()` parses the whole DAG folder again at every call (to sync sibling DAGs,
    apache/airflow#64884): here that folder is the repository's dags/, whose `.airflowignore` leaves out only the tests
    (tests/test_dag_structure.py parses the library as DAG files, as Fabric's DAG processor, given no ignore file, does),
    so each call compiled and ran the library's 32 modules afresh, none of which holds a DAG (0.1-0.2 s of CPU a call).
    While on, Airflow's documented `[core] might_contain_dag_callable` skips them, as deployed.airflowignore does."""
    name = "AIRFLOW__CORE__MIGHT_CONTAIN_DAG_CALLABLE"
    before = os.environ.get(name)
    os.environ[name] = "%s.%s" % (__name__, the_dag_file_not_its_library.__name__)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


ENVIRONMENT_COLUMNS = ("hosts", "airflow", "python", "venv", "requirements", "runtime", "marker", "db_command")


def environments():
    """The rows of dags/airflow-environments.txt: the DAG's test environments, one per Airflow."""
    lines = (DAGS_DIR / "airflow-environments.txt").read_text().splitlines()
    rows = [line.split(None, len(ENVIRONMENT_COLUMNS) - 1) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return [dict(zip(ENVIRONMENT_COLUMNS, row)) for row in rows]


def load_plan_document(name: str = "three_databases.json") -> dict:
    return json.loads((PLANS_DIR / name).read_text())


@pytest.fixture
def example_document() -> dict:
    return load_plan_document()


KIND_OF_SERVER = {"mi-prod": "SqlMi", "db-prod": "SqlDb", "vm-prod": "SqlVm"}
EXTRA_TARGET_SERVERS = [
    {"name": "db-prod", "kind": "SqlDb", "connectionId": "mssql_target_db_prod",
     "resourceId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Sql/servers/sqlprod"},
    {"name": "vm-prod", "kind": "SqlVm", "connectionId": "mssql_target_vm_prod",
     "resourceId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.SqlVirtualMachine/sqlVirtualMachines/vm1"},
]


def database_entry(name: str, source_database: str, depends_on=(), mode: str = None, target: str = "mi-prod",
                   target_database: str = None, checksums: bool = False, **fields) -> dict:
    """A database as the renderer writes it: every field present."""
    kind = KIND_OF_SERVER[target]
    entry = {
        "name": name,
        "source": {"server": "sql01", "database": source_database},
        "target": {"server": target, "database": target_database or source_database, "kind": kind},
        "mode": mode or ("offline" if kind == "SqlDb" else "online"),
        "dependsOn": list(depends_on),
        "validation": {"rowCounts": True, "checksums": checksums},
        "timeoutMinutes": 720,
        "sourceFreeze": "readOnly",
        "allowSourceWritesDuringCopy": False,
    }
    entry.update(fields)
    return entry


def plan_with_databases(databases: list, base: dict = None) -> dict:
    """The example plan's servers, all three target kinds, with another set of databases."""
    document = copy.deepcopy(base or load_plan_document())
    document["databases"] = databases
    document["targetServers"] += [s for s in EXTRA_TARGET_SERVERS if s["name"] not in {t["name"] for t in document["targetServers"]}]
    return document


def renamed_targets_document(mode: str = "offline") -> dict:
    """Each target kind, each database renamed on its target (`mode` for the SqlMi and SqlVm ones);
    `Archive` is a source database and, on the SQL VM, the copy of another one."""
    return plan_with_databases(
        [
            database_entry("to_mi", "Sales", mode=mode, target_database="SalesArchive", checksums=True),
            database_entry("to_db", "Hr", target="db-prod", target_database="HrArchive", checksums=True),
            database_entry("to_vm", "Crm", mode=mode, target="vm-prod", target_database="Archive", depends_on=["to_mi"], checksums=True),
            database_entry("archive", "Archive", mode="offline"),
        ]
    )


@pytest.fixture
def rehearsal_world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Rehearsal mode on a world of its own under tmp_path; the servers this test started stop afterwards."""
    from migration_orchestration_lib import rehearsal

    monkeypatch.setenv("MIGRATION_DRY_RUN", "1")
    monkeypatch.setenv("MIGRATION_SIMULATION_DIR", str(tmp_path / "world"))
    yield tmp_path / "world"
    rehearsal.stop_servers()
