"""Issue 14's done-when, through real Airflow (`dag.test()`) and the rehearsal report: a plan with
two windows and one rejected approval; nothing cut over outside a window, the rejected database
still replicating and waiting, the approved ones migrated, and the events and alerts an operator
would see. The plan is the three-database example with rendered cutover fields: a weekly Berlin
window, a New York date range, approval everywhere, one cutover at a time and a dependency
(examples/cutover-windows.yaml is rehearsed by hand: README, Rehearsal)."""
from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from conftest import DAGS_DIR, database_entry, load_plan_document, plan_with_databases
from event_replays import assert_event_replay
from migration_orchestration_lib.cutover_windows import iso_utc, parse_iso_utc

pytestmark = pytest.mark.usefixtures("airflow_db")

SATURDAY_NIGHT = {"timeZone": "Europe/Berlin", "days": ["Sat"], "start": "22:00", "durationMinutes": 360}
TUESDAY_NEW_YORK = {"timeZone": "America/New_York", "from": "2026-12-08T20:00", "to": "2026-12-09T02:00"}
APPROVAL = {"required": True, "approvers": ["alice@contoso.com"], "channel": "airflowVariable"}
# Entra ID sign-in names an approver by object id; the plan's display name goes beside it where a person reads.
NAMED_APPROVER = {"id": "5e1f0c2a-7b3d-4c5e-9f6a-1b2c3d4e5f60", "name": "Alice Example"}


def two_window_plan():
    document = copy.deepcopy(load_plan_document())
    for database in document["databases"]:
        database["cutover"] = {"windows": [SATURDAY_NIGHT], "expectedMinutes": 30, "approval": APPROVAL}
    reporting = document["databases"][2]  # offline, after database_1 only; its own window: Tuesday night in New York
    reporting["dependsOn"] = ["database_1"]
    reporting["cutover"]["windows"] = [TUESDAY_NEW_YORK]
    document["cutover"] = {"maxConcurrent": 1}
    return document


@pytest.mark.airflow210
def test_two_windows_and_a_rejection_nothing_cut_over_outside_a_window(rehearsal_world, monkeypatch, tmp_path):
    from test_rehearsal import run

    events_file = tmp_path / "events.jsonl"
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(events_file))
    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-03T12:00:00Z")  # Thursday
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "database_1:approve,database_2:reject,database_3:approve")
    document, since = two_window_plan(), time.time()
    document["databases"][1]["cutover"]["approval"] = dict(APPROVAL, approvers=[NAMED_APPROVER])
    state, tasks = run(document)

    assert state == "success", tasks  # waiting is not a failure
    assert tasks["database_2.await_cutover"] == "skipped" and tasks["database_2.freeze_source"] == "skipped"
    report, written = report_of(document, state, tasks, rehearsal_world, tmp_path)
    assert report.returncode == 1, "not every database migrated: " + report.stdout + report.stderr
    assert "\nRun: success\nMigrated: 2 of 3 databases\n" in report.stdout, report.stdout
    assert "but not every database migrated: the rehearsal exits 1" in report.stdout
    databases = written["databases"]
    assert {n: d["outcome"] for n, d in databases.items()} == {"database_1": "migrated", "database_2": "waiting", "database_3": "migrated"}
    assert databases["database_2"] == {"outcome": "waiting", "target": "restoring", "source": "writable", "migration": "InProgress"}
    cutovers = written["cutovers"]
    assert sorted(cutovers) == ["database_1", "database_3"]
    assert [c["verdict"] for entries in cutovers.values() for c in entries] == ["inside", "inside"]
    assert cutovers["database_1"][0]["window"] == "2026-12-05T21:00:00Z"
    assert cutovers["database_3"][0]["window"] == "2026-12-09T01:00:00Z"
    assert "Cutovers (simulated time, UTC)" in report.stdout and "OUTSIDE" not in report.stdout
    alerts = report.stdout.split("Alerts an operator would get")[1].split("\n\n")[0].splitlines()[1:]
    raised = {(line.split()[0].rsplit("-cutover-", 1)[-1], line.split()[1], line.split()[2]) for line in alerts}
    assert ("postponed", "database_2", "Rejected") in raised
    assert {("awaiting-approval", name, "AwaitingApproval") for name in ("database_1", "database_2", "database_3")} <= raised
    assert not [line for line in alerts if "migration-failed" in line]
    # database_2's approver, by object id with a display name: named by both where people read, the id where matched
    named = "Alice Example (5e1f0c2a-7b3d-4c5e-9f6a-1b2c3d4e5f60)"
    assert [line for line in alerts if "awaits approval by one of %s before" % named in line and "database_2" in line], alerts
    assert [line for line in alerts if "rejected by %s: it keeps replicating" % named in line], alerts

    seen = [json.loads(line) for line in events_file.read_text().splitlines()]
    gate = [(e["Database"], e["Status"]) for e in seen if e["Phase"] == "await_cutover"]
    for status in ("WaitingForWindow", "AwaitingApproval", "Approved"):
        assert ("database_1", status) in gate and ("database_3", status) in gate
    assert ("database_2", "Rejected") in gate and ("database_2", "Approved") not in gate
    asked = next(e["Message"] for e in seen if e["Database"] == "database_2" and e["Status"] == "AwaitingApproval")
    assert "airflow variables set migration_cutover_approval__database_2" in asked
    assert '"by":"5e1f0c2a-7b3d-4c5e-9f6a-1b2c3d4e5f60"' in asked, "the command writes the id"
    assert not [e for e in seen if e["Status"] in ("Failed", "RolledBack")]
    # The offline final backup is named at the simulated time, as the rest of the rehearsal (it took the real clock's).
    [backup] = [e["Message"] for e in seen if e["Database"] == "database_3" and e["Phase"] == "final_backup" and e["Status"] == "Succeeded"]
    named_at = parse_iso_utc("%s-%s-%sT%s:%s:%sZ" % re.search(r"Reporting_final_(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z_", backup).groups())
    assert parse_iso_utc("2026-12-03T12:00:00Z") <= named_at <= parse_iso_utc(cutovers["database_3"][0]["window"]), backup
    assert abs(named_at.timestamp() - time.time()) > 3600, "named at the real clock: %s" % backup
    assert_event_replay("two-windows-one-rejection-in-airflow", seen, document, since)


SATURDAY_LATE = {"timeZone": "UTC", "days": ["Sat"], "start": "23:00"}
NO_APPROVAL = {"required": False, "approvers": [], "channel": "airflowVariable"}


def report_of(document, state, tasks, world, tmp_path):
    """scripts/rehearsal_report.py run on a rehearsal's files: the process, and the summary it wrote."""
    (tmp_path / "plan.json").write_text(json.dumps(document))
    (tmp_path / "result.json").write_text(json.dumps({"run_id": "r", "state": state, "tasks": tasks}))
    report = subprocess.run(
        [sys.executable, str(DAGS_DIR.parent / "scripts" / "rehearsal_report.py"), "--events", str(tmp_path / "events.jsonl"),
         "--result", str(tmp_path / "result.json"), "--plan", str(tmp_path / "plan.json"), "--world", str(world),
         "--summary", str(tmp_path / "summary.json")],
        capture_output=True, text=True, timeout=120,
    )
    return report, json.loads((tmp_path / "summary.json").read_text())


@pytest.mark.parametrize("duration, times", [
    # 90 minutes: the three 30-minute cutovers, one after the other, fit Saturday's window.
    (90, {"first": ("2026-12-05T23:00:00Z", "2026-12-05T23:30:00Z"), "second": ("2026-12-05T23:30:00Z", "2026-12-06T00:00:00Z"),
          "third": ("2026-12-06T00:00:00Z", "2026-12-06T00:30:00Z")}),
    # 75 minutes: the third can no longer start at 00:00 (its window's last fitting start was 23:45): it waits a week.
    (75, {"first": ("2026-12-05T23:00:00Z", "2026-12-05T23:30:00Z"), "second": ("2026-12-05T23:30:00Z", "2026-12-06T00:00:00Z"),
          "third": ("2026-12-12T23:00:00Z", "2026-12-12T23:30:00Z")}),
])
def test_dependent_cutovers_take_their_expected_minutes_so_a_window_too_short_for_them_shows(
        rehearsal_world, monkeypatch, tmp_path, duration, times):
    """Each cutover takes its `expectedMinutes` of simulated time, so a chain of dependent cutovers is timed one after
    the other, and the rehearsal shows whether they fit one window. Was: a cutover took no simulated time, all three
    began and ended at 23:00:00, whatever the window's length."""
    from test_rehearsal import run

    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-03T12:00:00Z")  # Thursday
    monkeypatch.setenv("MIGRATION_SIMULATE_UNTIL", "2026-12-14T00:00:00Z")  # two Saturdays
    cutover = {"windows": [dict(SATURDAY_LATE, durationMinutes=duration)], "expectedMinutes": 30, "approval": NO_APPROVAL}
    document = plan_with_databases([
        database_entry("first", "Sales", cutover=cutover),
        database_entry("second", "Crm", depends_on=["first"], cutover=cutover),
        database_entry("third", "Hr", depends_on=["second"], cutover=cutover),
    ])
    state, tasks = run(document)

    assert state == "success", tasks
    report, summary = report_of(document, state, tasks, rehearsal_world, tmp_path)
    assert report.returncode == 0, report.stdout + report.stderr
    assert {name: entry["outcome"] for name, entry in summary["databases"].items()} == dict.fromkeys(times, "migrated")
    assert {name: [(c["began"], c["ended"]) for c in entries] for name, entries in summary["cutovers"].items()} == {
        name: [moments] for name, moments in times.items()}, report.stdout
    assert [c["verdict"] for entries in summary["cutovers"].values() for c in entries] == ["inside"] * 3
    seen = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    waited = [e["Message"] for e in seen if (e["Database"], e["Status"]) == ("third", "WaitingForWindow")]
    assert bool(waited) == (duration == 75), waited


@pytest.mark.parametrize("gates, max_concurrent, second_begins", [
    ({"a": [], "b": []}, None, "2026-12-05T23:00:00Z"),  # independent: b, due at 23:00, begins alongside a
    ({"a": [], "b": []}, 2, "2026-12-05T23:00:00Z"),  # a place for it
    ({"a": [], "b": []}, 1, "2026-12-05T23:45:00Z"),  # no place until a ends
    ({"a": [], "b": ["a"]}, None, "2026-12-05T23:45:00Z"),  # b depends on a: on its way to its gate after a ended
])
def test_a_gate_due_when_a_cutover_began_begins_alongside_it_in_simulated_time(tmp_path, gates, max_concurrent, second_begins):
    """The clock moves through an ended cutover's minutes only as far as nothing could have begun meanwhile. Under
    dag.test() a gate due at 23:00 may poke only after another database's whole cutover ran (real time): it still
    begins at 23:00, places permitting (a first take of timed cutovers began it at 23:45, as if one at a time)."""
    from migration_orchestration_lib.rehearsal_cutover import CLOCK_FILE, SimulatedClock

    clock = SimulatedClock(str(tmp_path), gates, {"MIGRATION_DRY_RUN": "1", "MIGRATION_SIMULATE_START": "2026-12-03T12:00:00Z"},
                           {"a": 45, "b": 45}, max_concurrent)
    opens = parse_iso_utc("2026-12-05T23:00:00Z")
    clock.wait("a", opens)
    if not gates["b"]:
        clock.wait("b", opens)  # b waits at its gate for the same window
    assert clock.now() == opens
    clock.hold("a", "w", None)
    clock.release("a")
    clock.hold("b", "w", None)  # b's poke, after a's whole cutover in real time
    clock.release("b")
    cutovers = json.loads((tmp_path / CLOCK_FILE).read_text())["cutovers"]
    assert cutovers["a"][0]["began"] == "2026-12-05T23:00:00Z" and cutovers["a"][0]["ended"] == "2026-12-05T23:45:00Z"
    assert cutovers["b"][0]["began"] == second_begins, cutovers
    ended = parse_iso_utc(second_begins) + timedelta(minutes=45)
    assert clock.now() == ended and cutovers["b"][0]["ended"] == iso_utc(ended)
