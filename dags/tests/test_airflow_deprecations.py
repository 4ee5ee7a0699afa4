"""The DAG's own code calls no Airflow API its Airflow deprecates, so the next Airflow release breaks nothing.

A DeprecationWarning (Airflow's RemovedInAirflow4Warning and AirflowProviderDeprecationWarning are
ones), PendingDeprecationWarning or FutureWarning (Airflow 3's DeprecatedImportWarning for a moved
name is one) attributed to a line of the package or of the DAG file is an error here; warnings Airflow
raises about its own code are not ours to fix. Airflow 3.1 moved `BaseHook` to the Task SDK
(`airflow.sdk.BaseHook`, task-sdk 1.1; ruff AIR321): on 3.3 importing it from `airflow.hooks.base`
goes through a deprecation shim that warns in the log of every task reading a connection.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from contextlib import contextmanager

import pytest

from conftest import DAGS_DIR, load_plan_document, write_bundle
from migration_orchestration_lib.dag_factory import DAG_ID

pytestmark = [pytest.mark.airflow210, pytest.mark.airflow26, pytest.mark.airflow31]

DEPRECATIONS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
# The package's modules, and the DAG file under the module name the DAG processor gives it
# (`unusual_prefix_<hash>_migration_orchestration`).
OUR_CODE = r"(.*_)?migration_orchestration"


@contextmanager
def deprecations_in_our_code_are_errors():
    with warnings.catch_warnings():
        for category in DEPRECATIONS:
            warnings.filterwarnings("error", category=category, module=OUR_CODE)
        yield


def test_a_task_reads_its_connection_through_no_deprecated_airflow_api(monkeypatch):
    from migration_orchestration_lib.connections import AirflowConnections

    monkeypatch.setenv("AIRFLOW_CONN_SOURCE_SQL01", json.dumps(
        {"conn_type": "mssql", "host": "sql01.corp.contoso.com", "port": 1433, "login": "migration", "password": "s3cret-value"}))
    with deprecations_in_our_code_are_errors():
        secret = AirflowConnections().get("source_sql01")
    assert (secret.connection_id, secret.host, secret.port, secret.login, secret.password) == (
        "source_sql01", "sql01.corp.contoso.com", 1433, "migration", "s3cret-value")


# The DAG folder as the DAG processor parses it, in a fresh interpreter: every module the DAG file
# imports is imported here for the first time, under the error filters.
PARSE = textwrap.dedent(
    """
    import sys, warnings
    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.filterwarnings("error", category=category, module=%(our_code)r)
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3.2+
    except ImportError:
        from airflow.models.dagbag import DagBag
    bag = DagBag(dag_folder=%(dags)r)
    print(repr(bag.import_errors) if bag.import_errors else "no import error: %%s" %% sorted(bag.dag_ids))
    """
)


def test_parsing_the_dag_folder_raises_no_deprecation_in_our_code(tmp_path):
    plan_path = write_bundle(tmp_path, load_plan_document())
    environment = dict(os.environ, MIGRATION_PLAN_PATH=str(plan_path))
    parsed = subprocess.run(
        [sys.executable, "-c", PARSE % {"our_code": OUR_CODE, "dags": str(DAGS_DIR)}],
        env=environment, capture_output=True, text=True, timeout=300,
    )
    assert parsed.returncode == 0, parsed.stderr[-3000:]
    assert parsed.stdout.strip().splitlines()[-1] == "no import error: %s" % [DAG_ID], (
        parsed.stdout[-3000:] + parsed.stderr[-3000:]
    )
