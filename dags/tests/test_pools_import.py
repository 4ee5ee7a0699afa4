"""The pools file the Kubernetes host mounts into the chart's database-migration job, imported by
Airflow 3.3's own `airflow pools import` (what that job runs after `airflow db migrate`); and the
external host's output airflow_pools_import, which a person imports the same way into an Airflow of
any version the DAG runs on (3.1 or later, 2.10.5, 2.6.3).

Both files are lib/'s output (plans/three_databases.pools.json and plans/external_host.pools_import.json,
written by plans/render.mjs and kept current by run-tests.sh); what Airflow stored is read back with
`airflow pools export`. The Kubernetes file's tests run with that host's Airflow only (no marker).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PLANS_DIR, load_plan_document
from migration_orchestration_lib.pools import pool_by_task, pool_slots

POOLS_FILE = PLANS_DIR / "three_databases.pools.json"
EXTERNAL_POOLS_OUTPUT = PLANS_DIR / "external_host.pools_import.json"


def airflow_cli(*args: str) -> subprocess.CompletedProcess:
    """`airflow <args>` as `python -m airflow` runs it (`airflow.__main__.main`, the `airflow` command's entry point:
    its argument parser, the command's function), in this process: a new process per call cost seconds of importing
    Airflow again. The exit code is the interpreter's for how `main` ended: 0 when it returned or exited with 0 or
    None, 1 when it exited with a message or raised (the command's SystemExit, an uncaught error), else its code."""
    import contextlib
    import io
    import traceback

    from airflow.__main__ import main

    stdout, stderr = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["airflow", *args]
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                main()
                code = 0
            except SystemExit as ended:
                code = ended.code if isinstance(ended.code, int) else (0 if ended.code is None else 1)
                if not isinstance(ended.code, int) and ended.code is not None:
                    print(ended.code, file=sys.stderr)
            except Exception:
                traceback.print_exc()
                code = 1
    finally:
        sys.argv = argv
    return subprocess.CompletedProcess(["airflow", *args], code, stdout.getvalue(), stderr.getvalue())


def exported_pools(tmp_path: Path) -> dict:
    exported = tmp_path / "exported.json"
    result = airflow_cli("pools", "export", str(exported))
    assert result.returncode == 0, result.stderr
    return json.loads(exported.read_text())


def imported_plan_pools(pools_file: Path, tmp_path: Path) -> dict:
    """Imports `pools_file` and checks that Airflow then holds every pool of the plan with its slots."""
    result = airflow_cli("pools", "import", str(pools_file))
    assert result.returncode == 0, result.stderr

    stored = exported_pools(tmp_path)
    expected = pool_slots(load_plan_document()["concurrency"])
    assert {name: stored[name]["slots"] for name in expected} == expected
    assert set(pool_by_task().values()) <= set(stored), "a task's pool would not exist: the scheduler would never queue it"
    return {name: stored[name] for name in expected}


def test_airflow_imports_the_hosts_pools_file_with_the_plans_slots(airflow_db, tmp_path):
    assert all(pool["include_deferred"] is False for pool in imported_plan_pools(POOLS_FILE, tmp_path).values())


def test_a_malformed_pools_file_fails_the_import_and_so_the_job(airflow_db, tmp_path):
    planted = json.loads(POOLS_FILE.read_text())
    name = next(iter(planted))
    planted[name]["slots"] = "four"
    bad = tmp_path / "pools.json"
    bad.write_text(json.dumps(planted))

    result = airflow_cli("pools", "import", str(bad))
    assert result.returncode != 0
    assert exported_pools(tmp_path).get(name, {}).get("slots") != "four"



@pytest.mark.airflow31
@pytest.mark.airflow210
@pytest.mark.airflow26
def test_airflow_imports_the_external_hosts_pools_output_on_every_version_the_dag_runs_on(airflow_db, tmp_path):
    # The output airflow_pools lists the pools; `airflow pools import` of that list fails on every version
    # ('list' object has no attribute 'items'), and 2.6.3 takes a pool only with exactly slots and description.
    listed = [{"name": name, **pool} for name, pool in json.loads(EXTERNAL_POOLS_OUTPUT.read_text()).items()]
    as_listed = tmp_path / "listed.json"
    as_listed.write_text(json.dumps(listed))
    assert airflow_cli("pools", "import", str(as_listed)).returncode != 0

    imported_plan_pools(EXTERNAL_POOLS_OUTPUT, tmp_path)
