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


def test_the_report_prints_a_poke_that_repeats_its_databases_previous_event_once(tmp_path):
    def row(database, status, message):
        return json.dumps({"Database": database, "Phase": "await_cutover", "Status": status, "Message": message})

    events = tmp_path / "events.jsonl"
    events.write_text("\n".join([
        row("database_1", "WaitingForWindow", "next window Sat 22:00"),
        row("database_2", "WaitingForWindow", "next window Sat 22:00"),
        row("database_1", "WaitingForWindow", "next window Sat 22:00"),
        row("database_1", "WaitingForWindow", "next window Sat 22:00"),
        row("database_1", "AwaitingApproval", "awaits approval"),
        row("database_1", "WaitingForWindow", "next window Sat 22:00"),
    ]) + "\n")
    done = run_script(
        "rehearsal_report.py",
        "--events", str(events),
        "--result", str(tmp_path / "no-result.json"),
        "--plan", str(PLANS_DIR / "fabric_host.json"),
        "--world", str(tmp_path / "empty-world"),
    )
    printed = [line for line in done.stdout.splitlines() if "await_cutover" in line]
    assert [line.split()[0] + " " + line.split()[2] for line in printed] == [
        "database_1 WaitingForWindow", "database_2 WaitingForWindow", "database_1 AwaitingApproval", "database_1 WaitingForWindow",
    ]
    assert "(2 repeated poke events not printed)" in done.stdout
