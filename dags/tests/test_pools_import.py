"""The pools file the Kubernetes host mounts into the chart's database-migration job, imported by
Airflow 3.3's own `airflow pools import` (what that job runs after `airflow db migrate`).

The file is lib/'s output (plans/three_databases.pools.json, written by plans/render.mjs and kept
current by run-tests.sh); what Airflow stored is read back with `airflow pools export`. Runs with
the Kubernetes host's Airflow only (no marker): the other hosts create pools their own way.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import PLANS_DIR, load_plan_document
from migration_orchestration_lib.pools import pool_by_task, pool_slots

POOLS_FILE = PLANS_DIR / "three_databases.pools.json"


def airflow_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "airflow", *args], capture_output=True, text=True, env=dict(os.environ), timeout=300)


def exported_pools(tmp_path: Path) -> dict:
    exported = tmp_path / "exported.json"
    result = airflow_cli("pools", "export", str(exported))
    assert result.returncode == 0, result.stderr
    return json.loads(exported.read_text())


def test_airflow_imports_the_hosts_pools_file_with_the_plans_slots(airflow_db, tmp_path):
    result = airflow_cli("pools", "import", str(POOLS_FILE))
    assert result.returncode == 0, result.stderr

    stored = exported_pools(tmp_path)
    expected = pool_slots(load_plan_document()["concurrency"])
    assert {name: stored[name]["slots"] for name in expected} == expected
    assert set(pool_by_task().values()) <= set(stored), "a task's pool would not exist: the scheduler would never queue it"
    assert all(stored[name]["include_deferred"] is False for name in expected)


def test_a_malformed_pools_file_fails_the_import_and_so_the_job(airflow_db, tmp_path):
    planted = json.loads(POOLS_FILE.read_text())
    name = next(iter(planted))
    planted[name]["slots"] = "four"
    bad = tmp_path / "pools.json"
    bad.write_text(json.dumps(planted))

    result = airflow_cli("pools", "import", str(bad))
    assert result.returncode != 0
    assert exported_pools(tmp_path).get(name, {}).get("slots") != "four"

