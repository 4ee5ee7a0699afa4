"""The rehearsal's own scripts (scripts/rehearsal_run.py, scripts/rehearsal_report.py): a user's
mistake in a MIGRATION_SIMULATE_* setting is one clear line, never a traceback."""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import traceback
from types import SimpleNamespace

import pytest

from conftest import DAGS_DIR, PLANS_DIR

SCRIPTS_DIR = DAGS_DIR.parent / "scripts"


def run_script(name, *args, **environment):
    env = {**os.environ, "MIGRATION_DRY_RUN": "1", **environment}
    return subprocess.run(
        [sys.executable, str(SCRIPTS_DIR / name), *args], env=env, capture_output=True, text=True, timeout=300
    )


def run_report(*args):
    """rehearsal_report.py's `main(argv)` in this process, as its `__main__` calls it: its exit code, stdout and stderr
    (`returncode`, `stdout`, `stderr`, as `run_script` gives them), an exception it lets out as the traceback Python
    would print, argparse's exit as its code. Each report run as a process of its own imported Airflow again, about
    1.3 s of CPU; the script as a process of its own is run by
    test_a_summary_write_cut_short_by_a_full_disk_leaves_the_earlier_summary_as_it_was and test_cutover_rehearsal.py."""
    if str(SCRIPTS_DIR) not in sys.path:
        sys.path.insert(0, str(SCRIPTS_DIR))
    from rehearsal_report import main

    stdout, stderr, code = io.StringIO(), io.StringIO(), None
    before = os.environ.get("MIGRATION_DRY_RUN")
    os.environ["MIGRATION_DRY_RUN"] = "1"
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main(list(args))
            except SystemExit as exited:  # argparse's refusal of its arguments
                code = exited.code
            except Exception:
                traceback.print_exc()
                code = 1
    finally:
        if before is None:
            os.environ.pop("MIGRATION_DRY_RUN", None)
        else:
            os.environ["MIGRATION_DRY_RUN"] = before
    return SimpleNamespace(returncode=code, stdout=stdout.getvalue(), stderr=stderr.getvalue())


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


def report_of_no_run(tmp_path, summary):
    """The report of a run that never reached a task (no events, no result), with its summary written to `summary`."""
    return run_report(
        "--events", str(tmp_path / "no-events.jsonl"),
        "--result", str(tmp_path / "no-result.json"),
        "--plan", str(PLANS_DIR / "fabric_host.json"),
        "--world", str(tmp_path / "empty-world"),
        "--summary", str(summary),
    )


def test_the_report_of_a_run_that_never_reached_a_task_says_where_each_database_stands(tmp_path):
    summary = tmp_path / "summary.json"
    done = report_of_no_run(tmp_path, summary)
    assert "Traceback" not in done.stderr
    assert done.returncode == 1  # the run did not succeed
    databases = json.loads(summary.read_text())["databases"]
    assert databases and all(
        state == {"outcome": "not_started", "target": "absent", "source": "absent", "migration": "none"} for state in databases.values()
    )


def test_the_summary_goes_into_a_folder_that_does_not_exist_yet_and_an_unwritable_one_is_one_line(tmp_path):
    summary = tmp_path / "out" / "rehearsals" / "summary.json"
    done = report_of_no_run(tmp_path, summary)
    assert "Traceback" not in done.stderr
    assert done.returncode == 1  # the run did not succeed; the summary is written all the same
    assert json.loads(summary.read_text())["run"].startswith("killed")

    (tmp_path / "a-file").write_text("")
    done = report_of_no_run(tmp_path, tmp_path / "a-file" / "summary.json")
    assert "Traceback" not in done.stderr
    assert done.returncode == 2
    assert any(line.startswith(f"--summary {tmp_path / 'a-file' / 'summary.json'}: cannot write it (") for line in done.stderr.splitlines())


def test_a_summary_given_as_a_link_is_written_where_the_link_points_and_keeps_its_permissions(tmp_path):
    """Was: the new summary renamed over the link itself, leaving the file it names as it was, and a group-writable one lost group write."""
    kept = tmp_path / "kept" / "summary.json"
    kept.parent.mkdir()
    kept.write_text('{"run": "earlier"}')
    kept.chmod(0o664)
    link = tmp_path / "summary.json"
    link.symlink_to(kept)
    report_of_no_run(tmp_path, link)
    assert link.is_symlink()
    assert json.loads(kept.read_text())["run"].startswith("killed")
    assert kept.stat().st_mode & 0o7777 == 0o664
    assert sorted(path.name for path in kept.parent.iterdir()) == ["summary.json"]


def test_a_summary_write_cut_short_by_a_full_disk_leaves_the_earlier_summary_as_it_was(tmp_path):
    """Was: the summary opened for writing (emptied) first, so a full disk left it cut short."""
    summary = tmp_path / "summary.json"
    summary.write_text('{"run": "success"}')
    # The report run with every write of a summary file failing half way, as on a full disk.
    full_disk = (
        "import builtins, errno, runpy, sys\n"
        "real_open = builtins.open\n"
        "class HalfWritten:\n"
        "    def __init__(self, handle): self.handle = handle\n"
        "    def __enter__(self): return self\n"
        "    def __exit__(self, *exc): self.handle.close()\n"
        "    def write(self, text):\n"
        "        self.handle.write(text[: len(text) // 2])\n"
        "        raise OSError(errno.ENOSPC, 'No space left on device')\n"
        "def failing_open(file, mode='r', *args, **kwargs):\n"
        "    handle = real_open(file, mode, *args, **kwargs)\n"
        "    return HalfWritten(handle) if 'summary.json' in str(file) and 'w' in mode else handle\n"
        "builtins.open = failing_open\n"
        "sys.argv = sys.argv[1:]\n"
        "runpy.run_path(sys.argv[0], run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", full_disk, str(SCRIPTS_DIR / "rehearsal_report.py"),
         "--events", str(tmp_path / "no-events.jsonl"), "--result", str(tmp_path / "no-result.json"),
         "--plan", str(PLANS_DIR / "fabric_host.json"), "--world", str(tmp_path / "empty-world"), "--summary", str(summary)],
        env={**os.environ, "MIGRATION_DRY_RUN": "1"}, capture_output=True, text=True, timeout=300,
    )
    assert "Traceback" not in done.stderr
    assert done.returncode == 2
    assert f"--summary {summary}: cannot write it (No space left on device)" in done.stderr.splitlines()
    assert summary.read_text() == '{"run": "success"}'
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith("summary")) == ["summary.json"]


def report_of_await_cutover_events(tmp_path, rows):
    """The report of a run that wrote these (database, status, message) await_cutover events."""
    events = tmp_path / "events.jsonl"
    events.write_text("".join(
        json.dumps({"Database": database, "Phase": "await_cutover", "Status": status, "Message": message}) + "\n"
        for database, status, message in rows
    ))
    return run_report(
        "--events", str(events),
        "--result", str(tmp_path / "no-result.json"),
        "--plan", str(PLANS_DIR / "fabric_host.json"),
        "--world", str(tmp_path / "empty-world"),
    ).stdout


def test_the_report_prints_a_poke_that_repeats_its_databases_previous_event_once(tmp_path):
    waiting = "next window Sat 22:00"
    report = report_of_await_cutover_events(tmp_path, [
        ("database_1", "WaitingForWindow", waiting),
        ("database_2", "WaitingForWindow", waiting),
        ("database_1", "WaitingForWindow", waiting),
        ("database_1", "WaitingForWindow", waiting),
        ("database_1", "AwaitingApproval", "awaits approval"),
        ("database_1", "WaitingForWindow", waiting),
    ])
    printed = [line for line in report.splitlines() if "await_cutover" in line]
    assert [line.split()[0] + " " + line.split()[2] for line in printed] == [
        "database_1 WaitingForWindow", "database_2 WaitingForWindow", "database_1 AwaitingApproval", "database_1 WaitingForWindow",
    ]
    assert "(2 repeated poke events not printed)" in report


def test_the_report_names_the_alert_each_status_raises_once_per_database_and_message(tmp_path):
    report = report_of_await_cutover_events(tmp_path, [
        ("database_2", "AwaitingApproval", "awaits approval in window 1"),
        ("database_2", "AwaitingApproval", "awaits approval in window 1"),
        ("database_2", "Rejected", "rejected by alice"),
        ("database_1", "WaitingForWindow", "next window Sat 22:00"),
    ])
    alerts = report.split("Alerts an operator would get")[1].split("\n\n")[0].splitlines()[1:]
    plan_name = json.loads((PLANS_DIR / "fabric_host.json").read_text())["name"]
    assert [line.split()[:3] for line in alerts] == [
        ["alert-%s-cutover-awaiting-approval" % plan_name, "database_2", "AwaitingApproval"],
        ["alert-%s-cutover-postponed" % plan_name, "database_2", "Rejected"],
    ]


@pytest.mark.airflow26  # the report also runs on Python 3.8 (backports.zoneinfo)
def test_the_reports_window_check_works_in_each_windows_wall_time_apart_from_the_dags_arithmetic():
    sys.path.insert(0, str(SCRIPTS_DIR))
    from rehearsal_report import in_a_window

    saturday_night = [{"timeZone": "Europe/Berlin", "days": ["Sat"], "start": "22:00", "durationMinutes": 360}]
    assert [in_a_window(t, saturday_night) for t in (
        "2026-12-05T20:59:00Z", "2026-12-05T21:00:00Z", "2026-12-06T02:59:00Z", "2026-12-06T03:00:00Z",
    )] == [False, True, True, False]
    # 02:30 does not exist on 2026-03-29 in Berlin: the window opens at 03:30 CEST (01:30Z) and lasts 60 elapsed minutes
    spring_gap = [{"timeZone": "Europe/Berlin", "days": ["Sun"], "start": "02:30", "durationMinutes": 60}]
    assert [in_a_window(t, spring_gap) for t in ("2026-03-29T01:29:00Z", "2026-03-29T01:30:00Z", "2026-03-29T02:30:00Z")] == [False, True, False]
    new_york_night = [{"timeZone": "America/New_York", "from": "2026-12-08T20:00", "to": "2026-12-09T02:00"}]
    assert [in_a_window(t, new_york_night) for t in ("2026-12-09T00:59:00Z", "2026-12-09T01:00:00Z", "2026-12-09T07:00:00Z")] == [False, True, False]
    assert in_a_window("2026-12-01T12:00:00Z", []), "no window: any time"
    # A cutover's end: inside up to the close itself (the gate lets a cutover start as late as close - expectedMinutes)
    assert [in_a_window(t, saturday_night, end=True) for t in (
        "2026-12-05T20:59:59Z", "2026-12-06T03:00:00Z", "2026-12-06T03:00:01Z")] == [False, True, False]
    assert [in_a_window(t, new_york_night, end=True) for t in ("2026-12-09T00:59:59Z", "2026-12-09T07:00:00Z")] == [False, True]


def report_of_events(tmp_path, rows, run_state):
    """The report of a run of tests/plans/three_databases.json that wrote these (database, phase, status) events and
    ended in `run_state` (None: the worker was killed, no result file); its summary."""
    events, result, summary = tmp_path / "events.jsonl", tmp_path / "result.json", tmp_path / "summary.json"
    events.write_text("".join(
        json.dumps({"Database": database, "Phase": phase, "Status": status, "Message": "%s %s" % (phase, status)}) + "\n"
        for database, phase, status in rows
    ))
    if run_state is not None:
        result.write_text(json.dumps({"run_id": "r", "state": run_state, "tasks": {}}))
    done = run_report("--events", str(events), "--result", str(result), "--plan", str(PLANS_DIR / "three_databases.json"),
                      "--world", str(tmp_path / "empty-world"), "--summary", str(summary))
    assert "Traceback" not in done.stderr, done.stderr
    return done, {name: entry["outcome"] for name, entry in json.loads(summary.read_text())["databases"].items()}


def test_a_run_that_succeeded_with_nothing_migrated_says_so_and_exits_1(tmp_path):
    """Rejected in every window up to MIGRATION_SIMULATE_UNTIL: Airflow's run succeeds (waiting is no failure there),
    but nothing migrated. Was: `Run: success`, exit 0, and nothing else to tell it from a migration."""
    rejected = [(name, "await_cutover", "Rejected") for name in ("database_1", "database_2", "database_3")]
    done, outcomes = report_of_events(tmp_path, rejected, "success")
    assert outcomes == dict.fromkeys(("database_1", "database_2", "database_3"), "waiting")
    assert done.returncode == 1
    tail = done.stdout.split("\nRun: success\n")[1].splitlines()
    assert tail[0] == "Migrated: 0 of 3 databases"
    assert tail[1].split()[:3] == ["waiting", "3", "database_1,"] and "MIGRATION_SIMULATE_UNTIL" in tail[1]
    assert "The run succeeded in Airflow, but nothing migrated: the rehearsal exits 1" in tail

    migrated = [(name, "done", "Succeeded") for name in ("database_1", "database_3")]
    done, _ = report_of_events(tmp_path, migrated + rejected[1:2], "success")
    assert done.returncode == 1
    assert "Migrated: 2 of 3 databases" in done.stdout and "but not every database migrated" in done.stdout

    done, _ = report_of_events(tmp_path, migrated + [("database_2", "done", "Succeeded")], "success")
    assert done.returncode == 0
    assert "Migrated: 3 of 3 databases" in done.stdout and "The run succeeded in Airflow, but" not in done.stdout


def test_a_database_cut_short_by_a_killed_worker_is_interrupted_not_failed(tmp_path):
    """MIGRATION_SIMULATE_CRASH: the worker dies mid-cutover, no result. Was: `failed` for the database cut short, as if
    its migration had failed; it is `interrupted` (a run again on the same world continues it). One with a Failed event
    of its own is failed; in a run that ended (a result), the outcomes are as before."""
    cut_short = [("database_1", phase, "Succeeded") for phase in ("preflight", "start_migration", "freeze_source", "final_backup", "cutover")]
    failed = [("database_2", "preflight", "Succeeded"), ("database_2", "start_migration", "Failed")]
    done, outcomes = report_of_events(tmp_path, cut_short + failed, None)
    assert outcomes == {"database_1": "interrupted", "database_2": "failed", "database_3": "not_started"}
    assert done.returncode == 1
    [row] = [line for line in done.stdout.splitlines() if line.startswith("  database_1 ") and "target" in line]
    assert row.split()[1] == "interrupted", row
    assert [line for line in done.stdout.splitlines() if line.split()[:2] == ["interrupted", "1"]][0].endswith(
        "database_1 (cut short where the worker was killed, no failure of its own: run again with the same --world to continue)")

    done, outcomes = report_of_events(tmp_path, cut_short + failed, "failed")
    assert outcomes == {"database_1": "failed", "database_2": "failed", "database_3": "not_started"}


@pytest.mark.airflow26  # the report also runs on Python 3.8 (Data Factory rehearsals)
def test_the_databases_table_and_the_outcome_counts_keep_their_columns_for_the_longest_outcome(tmp_path):
    """`waiting_for_capacity` (20 characters) beside shorter outcomes: each row's `target` column, and each count, begins
    where every other row's does. Was: the outcome column 12 wide, so a row of waiting_for_capacity pushed its target,
    source and DMS columns (and its count) 8 characters right of the others'."""
    capacity = ("waiting for capacity on source server sql01 when the rehearsal ended at its horizon 2026-12-07T00:00:00Z "
                "(MIGRATION_SIMULATE_UNTIL): 1 migration(s) running or canceling in DMS from source server sql01 "
                "(concurrency.maxMigrationsPerSourceServer 1), held by database_1")
    rows = [("database_1", "await_cutover", "Rejected", "rejected"), ("database_2", "start_migration", "Running", capacity),
            ("database_3", "rollback", "RolledBack", "rolled back")]
    (tmp_path / "events.jsonl").write_text("".join(
        json.dumps({"Database": database, "Phase": phase, "Status": status, "Message": message}) + "\n"
        for database, phase, status, message in rows))
    (tmp_path / "result.json").write_text(json.dumps({"run_id": "r", "state": "success", "tasks": {}}))
    done = run_report("--events", str(tmp_path / "events.jsonl"), "--result", str(tmp_path / "result.json"),
                      "--plan", str(PLANS_DIR / "three_databases.json"), "--world", str(tmp_path / "empty-world"))
    assert "Traceback" not in done.stderr, done.stderr
    table = [line for line in done.stdout.splitlines() if line.startswith("  database_") and " target " in line]
    assert [line.split()[1] for line in table] == ["waiting", "waiting_for_capacity", "rolled_back"], table
    assert len({line.index(" target ") for line in table}) == 1, "\n".join(table)
    counts = done.stdout.split("\nMigrated: 0 of 3 databases\n")[1].splitlines()[:3]
    assert sorted(line.split()[0] for line in counts) == ["rolled_back", "waiting", "waiting_for_capacity"], counts
    assert len({line.index(" 1  database_") for line in counts}) == 1, "\n".join(counts)
