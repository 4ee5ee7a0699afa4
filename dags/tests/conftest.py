"""Test setup: a throwaway AIRFLOW_HOME with a SQLite metadata DB, the DAG folder importable,
and no MIGRATION_* / AZURE_* variable leaking in from the machine."""
from __future__ import annotations

import copy
import json
import os
import sys
import tempfile
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
DAGS_DIR = TESTS_DIR.parent
PLANS_DIR = TESTS_DIR / "plans"
FIXTURES_DIR = TESTS_DIR / "fixtures"

for name in list(os.environ):
    if name.startswith(("MIGRATION_", "AZURE_", "AIRFLOW__")):
        del os.environ[name]
_airflow_home = tempfile.mkdtemp(prefix="airflow-home-")
os.environ.update(
    {
        "AIRFLOW_HOME": _airflow_home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:///%s/airflow.db" % _airflow_home,
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
)
sys.path.insert(0, str(DAGS_DIR))


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """The metadata DB, created once; only tests that run DAGs need it."""
    from airflow.utils import db

    db.resetdb()


def load_plan_document(name: str = "three_databases.json") -> dict:
    return json.loads((PLANS_DIR / name).read_text())


@pytest.fixture
def example_document() -> dict:
    return load_plan_document()


def database_entry(name: str, source_database: str, depends_on=(), mode: str = "online", target: str = "mi-prod") -> dict:
    return {
        "name": name,
        "source": {"server": "sql01", "database": source_database},
        "target": {"server": target},
        "mode": mode,
        "dependsOn": list(depends_on),
    }


def plan_with_databases(databases: list, base: dict = None) -> dict:
    """The example plan's servers with another set of databases."""
    document = copy.deepcopy(base or load_plan_document())
    document["databases"] = databases
    return document


def renamed_targets_document(mode: str = "offline") -> dict:
    """Each target kind, each database renamed on its target (`mode` for the SqlMi and SqlVm ones);
    `Archive` is a source database and, on the SQL VM, the copy of another one."""
    document = plan_with_databases(
        [
            {"name": "to_mi", "source": {"server": "sql01", "database": "Sales"},
             "target": {"server": "mi-prod", "database": "SalesArchive"}, "mode": mode,
             "validation": {"rowCounts": True, "checksums": True}},
            {"name": "to_db", "source": {"server": "sql01", "database": "Hr"},
             "target": {"server": "db-prod", "database": "HrArchive"},
             "validation": {"rowCounts": True, "checksums": True}},
            {"name": "to_vm", "source": {"server": "sql01", "database": "Crm"},
             "target": {"server": "vm-prod", "database": "Archive"}, "mode": mode, "dependsOn": ["to_mi"],
             "validation": {"rowCounts": True, "checksums": True}},
            {"name": "archive", "source": {"server": "sql01", "database": "Archive"},
             "target": {"server": "mi-prod", "database": "Archive"}, "mode": "offline"},
        ]
    )
    document["targetServers"] += [
        {"name": "db-prod", "kind": "SqlDb", "resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/sqlprod"},
        {"name": "vm-prod", "kind": "SqlVm", "resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.SqlVirtualMachine/sqlVirtualMachines/vm1"},
    ]
    return document


@pytest.fixture
def rehearsal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Rehearsal mode with its simulated world under tmp_path; returns that directory."""
    monkeypatch.setenv("MIGRATION_DRY_RUN", "1")
    monkeypatch.setenv("MIGRATION_SIMULATION_DIR", str(tmp_path / "world"))
    return tmp_path / "world"
