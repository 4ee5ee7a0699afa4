"""The rehearsal's own scripts (scripts/rehearsal_run.py, scripts/rehearsal_report.py): a user's
mistake in a MIGRATION_SIMULATE_* setting is one clear line, never a traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import DAGS_DIR, PLANS_DIR

SCRIPTS_DIR = DAGS_DIR.parent / "scripts"


def run_script(name, *args, **environment):
    env = {**os.environ, "MIGRATION_DRY_RUN": "1", **environment}
    return subprocess.run(
        [sys.executable, str(SCRIPTS_DIR / name), *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_a_crash_setting_naming_no_database_of_the_plan_is_refused_in_one_line(tmp_path):
    done = run_script(
        "rehearsal_run.py",
        str(tmp_path / "result.json"),
        MIGRATION_PLAN_PATH=str(PLANS_DIR / "fabric_host.json"),
        MIGRATION_SIMULATE_CRASH="database_1:final_backup",
    )
    assert done.returncode == 2
    assert "rehearsal refused: MIGRATION_SIMULATE_CRASH must be <database>:<task> with a database of the plan" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "result.json").exists()


def test_the_report_of_a_run_that_never_reached_a_task_says_where_each_database_stands(tmp_path):
    summary = tmp_path / "summary.json"
    done = run_script(
        "rehearsal_report.py",
        "--events", str(tmp_path / "no-events.jsonl"),
        "--result", str(tmp_path / "no-result.json"),
        "--plan", str(PLANS_DIR / "fabric_host.json"),
        "--world", str(tmp_path / "empty-world"),
        "--summary", str(summary),
    )
    assert "Traceback" not in done.stderr
    assert done.returncode == 1  # the run did not succeed
    databases = json.loads(summary.read_text())["databases"]
    assert databases and all(
        state == {"outcome": "not_started", "target": "absent", "source": "absent", "migration": "none"} for state in databases.values()
    )
