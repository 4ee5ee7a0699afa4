"""Summarises a rehearsal: migration events, task states, the run's outcome and where each
database stands in the simulated world.

    python scripts/rehearsal_report.py --events E.jsonl --result R.json --plan P.json --world DIR [--summary S.json]

`--summary` writes, per database: outcome (migrated | waiting: replicating, waiting for the next
cutover window | waiting_for_capacity: not started, no place in DMS (`concurrency`) when the rehearsal's horizon came |
rolled_back | not_started | failed | interrupted: cut short on its way where the worker was killed,
no failure of its own), target (absent | restoring | online), source
(writable | read_only) and migration (the latest DMS status: InProgress is still replicating),
read from the world itself; and each cutover's simulated time against its window (`cutovers`:
inside, or OUTSIDE). Waiting databases do not fail the Airflow run; the report counts each outcome.
Exits 0 only when the run succeeded and every database migrated; 1 otherwise (the run failed, the
worker was killed: no result file, or a database did not migrate: waiting, say, after rejections).
"""
from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dags"))

from migration_orchestration_lib.events import alert_of  # noqa: E402
from migration_orchestration_lib.plan import MigrationPlan, load_plan  # noqa: E402
from migration_orchestration_lib.rehearsal import world_server_name  # noqa: E402
from migration_orchestration_lib.step_context import CAPACITY_AT_HORIZON, START_MIGRATION_TASK, WAITING_FOR_CAPACITY  # noqa: E402

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Every outcome `outcome` gives; the databases table and the outcome counts are as wide as the longest.
OUTCOMES = ("migrated", "waiting", WAITING_FOR_CAPACITY, "rolled_back", "not_started", "failed", "interrupted")
OUTCOME_WIDTH = max(len(kind) for kind in OUTCOMES)

def alerts_raised(events: List[Dict[str, Any]], plan_name: str) -> List[Tuple[str, str, str, str]]:
    """The events contract's alert of each event (its status's, or its phase's), once per alert, database and message."""
    raised: Dict[Tuple[str, str, str], Tuple[str, str, str, str]] = {}
    for event in events:
        alert = alert_of(event["Phase"], event["Status"])
        if alert:
            key = (alert, event["Database"], event["Message"])
            raised.setdefault(key, ("alert-%s-%s" % (plan_name, alert), event["Database"], event["Status"], event["Message"]))
    return list(raised.values())


def read_events(path: str) -> List[Dict[str, Any]]:
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def outcome(events: List[Dict[str, Any]], database: str, killed: bool = False) -> str:
    """From the database's last events of this run: what a reader of the workbook would conclude. `killed`: the
    worker died (no result): a database cut short on its way, with no Failed event of its own, was interrupted, not
    failed (a run again on the same world continues it)."""
    mine = [(e["Phase"], e["Status"]) for e in events if e["Database"] == database]
    if ("done", "Succeeded") in mine:
        return "migrated"
    if ("rollback", "WindowMissed") in mine:
        return "waiting"  # back to replicating after its window closed
    if ("rollback", "RolledBack") in mine:
        return "rolled_back"
    if mine and mine[-1][0] == "await_cutover" and mine[-1][1] in WAITING_STATUSES:
        return "waiting"
    if not killed and capacity_at_horizon(events, database):
        return WAITING_FOR_CAPACITY
    if killed and mine and "Failed" not in [status for _, status in mine]:
        return "interrupted"
    return "not_started" if not mine else "failed"


def capacity_at_horizon(events: List[Dict[str, Any]], database: str) -> str:
    """Where the database's last event says it still waited for capacity when the rehearsal ended (start_migration
    ended at the horizon: `MigrationTask._wait_for_capacity`), what it waited for ("waiting for capacity on source
    server sql01 when the rehearsal ended"); else empty."""
    mine = [e for e in events if e["Database"] == database]
    if not mine or (mine[-1]["Phase"], mine[-1]["Status"]) != (START_MIGRATION_TASK, "Running"):
        return ""
    said, found, _ = mine[-1]["Message"].partition(" " + CAPACITY_AT_HORIZON)
    return said + found if found else ""


def outcome_lines(summary: Dict[str, Dict[str, Any]]) -> List[str]:
    """How many databases migrated, and which did not, by outcome: the Airflow run's state alone does not say
    (a database waiting for its window, or rejected, does not fail the run)."""
    by_outcome: Dict[str, List[str]] = {}
    for name, entry in summary.items():
        by_outcome.setdefault(entry["outcome"], []).append(name)
    migrated = len(by_outcome.get("migrated", []))
    lines = ["Migrated: %d of %d databases" % (migrated, len(summary))]
    for kind in ("migrated",) + tuple(sorted(set(by_outcome) - {"migrated"})):
        if kind in by_outcome:
            lines.append(f"  {kind:<{OUTCOME_WIDTH}} {len(by_outcome[kind]):>3}  {', '.join(by_outcome[kind])}{OUTCOME_NOTES.get(kind, '')}")
    return lines


OUTCOME_NOTES = {
    "waiting": " (still replicating, the cutover still to come: rejected, its window missed, or no window, approval or"
               " place before the rehearsal's horizon, MIGRATION_SIMULATE_UNTIL)",
    "not_started": " (never started in this run)",
    WAITING_FOR_CAPACITY: " (not started: no place in DMS, concurrency, before the rehearsal's horizon,"
                          " MIGRATION_SIMULATE_UNTIL; the migrations holding it still run)",
    "interrupted": " (cut short where the worker was killed, no failure of its own: run again with the same --world to"
                   " continue)",
}


WAITING_STATUSES = ("WaitingForWindow", "AwaitingApproval", "Rejected", "WindowMissed")


def cutover_times(world_dir: str, windows_of: Dict[str, List[Dict[str, Any]]]) -> Dict[str, List[Dict[str, Any]]]:
    """Each cutover's simulated begin and end (the simulated clock's record), judged against the
    plan's windows by `in_a_window`, not by the window the DAG's gate says it went in."""
    from migration_orchestration_lib.rehearsal_cutover import CLOCK_FILE

    path = os.path.join(world_dir, CLOCK_FILE)
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        recorded = json.load(handle).get("cutovers", {})
    for name, cutovers in recorded.items():
        for cutover in cutovers:
            windows = windows_of.get(name, [])
            inside = in_a_window(cutover["began"], windows) and (
                not cutover.get("ended") or in_a_window(cutover["ended"], windows, end=True))
            cutover["verdict"] = "inside" if inside else "OUTSIDE"
    return recorded


def in_a_window(instant: str, windows: List[Dict[str, Any]], end: bool = False) -> bool:
    """Whether `instant` (ISO UTC) falls in one of the plan's windows (none: any time), worked out
    here in each window's own wall time, apart from the DAG's window arithmetic it checks. Local times
    resolve as zoneinfo does (fold=0); a window lasts its minutes of elapsed time. `end`: a cutover's end,
    inside up to its window's close itself (a cutover may end as its window closes)."""
    try:
        from zoneinfo import ZoneInfo
    except ImportError:  # Python 3.8 (Data Factory's Airflow 2.6.3): the pinned backport
        from backports.zoneinfo import ZoneInfo  # type: ignore[no-redef]

    moment = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    for window in windows:
        zone = ZoneInfo(window["timeZone"])
        if "from" in window:
            opens, closes = (datetime.fromisoformat(window[key]).replace(tzinfo=zone) for key in ("from", "to"))
            if (opens <= moment <= closes) if end else (opens <= moment < closes):
                return True
            continue
        hour, minute = (int(part) for part in window["start"].split(":"))
        local_day = moment.astimezone(zone).date()
        for days_back in range(8):  # a window lasts at most a week
            day = local_day - timedelta(days=days_back)
            if WEEKDAYS[day.weekday()] not in window["days"]:
                continue
            opens = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(timezone.utc)
            closes = opens + timedelta(minutes=window["durationMinutes"])
            if (opens <= moment <= closes) if end else (opens <= moment < closes):
                return True
    return not windows


def world_states(world_dir: str, plan: MigrationPlan) -> Dict[str, Dict[str, str]]:
    from migration_rehearsal.world import World, WorldError

    world = World(world_dir)

    def find(server: str, name: str) -> Any:
        try:
            return world.database(server, name)
        except WorldError:  # a world no task has seeded yet (the run stopped before its first task)
            return None

    migrations = world.snapshot()["databaseMigrations"]
    states = {}
    for database in plan.databases:
        target_key = "/" + database.target_database.lower()
        operations = [op for key, record in migrations.items() if key.endswith(target_key) for op in record["operations"]]
        target = find(plan.target_of(database).resource_id.name, database.target_database)
        source = find(world_server_name(plan.source_of(database).host), database.source_database)
        states[database.name] = {
            "target": "absent" if target is None else target["state"].lower(),
            "source": "absent" if source is None else (
                "writable" if not source["readOnly"] and source["userAccess"] == "MULTI_USER" else "read_only"
            ),
            "migration": operations[-1].get("migrationStatus", "-") if operations else "none",
        }
    return states


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", required=True)
    parser.add_argument("--result", required=True)
    parser.add_argument("--plan", required=True)
    parser.add_argument("--world", required=True)
    parser.add_argument("--summary")
    args = parser.parse_args(argv)

    events = read_events(args.events)
    result = json.load(open(args.result, encoding="utf-8")) if os.path.exists(args.result) else None
    plan = load_plan(args.plan)

    print("\nEvents (a poke that repeats its database's previous event word for word is counted, not printed)")
    previous: Dict[str, Any] = {}
    repeats = 0
    for event in events:
        row = (event["Phase"], event["Status"], event["Message"])
        if previous.get(event["Database"]) == row:
            repeats += 1
            continue
        previous[event["Database"]] = row
        print(f"  {event['Database']:<24} {event['Phase']:<20} {event['Status']:<10} {event['Message']}")
    if repeats:
        print(f"  ({repeats} repeated poke events not printed)")
    print("\nTasks")
    for task, state in sorted((result or {}).get("tasks", {}).items()):
        print(f"  {task:<48} {state}")
    summary = {}
    for name, state in world_states(args.world, plan).items():
        summary[name] = {"outcome": outcome(events, name, killed=result is None), **state}
    print("\nDatabases")
    for name, entry in summary.items():
        note = {"waiting": " (replicating: waiting for the next window)",
                WAITING_FOR_CAPACITY: " (%s)" % capacity_at_horizon(events, name)}.get(entry["outcome"], "")
        print(f"  {name:<24} {entry['outcome']:<{OUTCOME_WIDTH}} target {entry['target']:<10} source {entry['source']:<10} DMS {entry['migration']}{note}")
    notifications = alerts_raised(events, plan.name)
    if notifications:
        print("\nAlerts an operator would get (README, Monitoring; once per alert, database and message)")
        for alert, database, status, message in notifications:
            print(f"  {alert:<40} {database:<24} {status:<16} {message}")
    with open(args.plan, encoding="utf-8") as handle:
        windows_of = {d["name"]: d.get("cutover", {}).get("windows", []) for d in json.load(handle)["databases"]}
    cutovers = cutover_times(args.world, windows_of)
    if cutovers:
        print("\nCutovers (simulated time, UTC)")
        for name, entries in sorted(cutovers.items()):
            for c in entries:
                print(f"  {name:<24} began {c['began']} ended {c.get('ended') or '-':<20} window {c['window'] or '-'} "
                      f"closes {c['closes'] or '-'}: {c['verdict']}")
    run_state = result["state"] if result else "killed (no result: the worker died)"
    print(f"\nRun: {run_state}")
    for line in outcome_lines(summary):
        print(line)
    all_migrated = all(entry["outcome"] == "migrated" for entry in summary.values())
    if result and result["state"] == "success" and not all_migrated:
        print("The run succeeded in Airflow, but %s: the rehearsal exits 1" % (
            "nothing migrated" if not any(e["outcome"] == "migrated" for e in summary.values()) else "not every database migrated"))
    if args.summary:
        # The user's path: its folder is made like --world's; one that cannot be written is one line, not a traceback.
        text = json.dumps({"run": run_state, "databases": summary, "cutovers": cutovers}, indent=2, sort_keys=True)
        # Written beside it, then renamed over it: a write cut short (a full disk) leaves an earlier summary as it was.
        # A link is followed (renaming over it would replace the link, not the file), and a file replaced keeps its permissions.
        target = os.path.realpath(args.summary)
        partial = f"{target}.{os.getpid()}.partial"
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            try:
                with open(partial, "w", encoding="utf-8") as handle:
                    handle.write(text)
                if os.path.exists(target):
                    os.chmod(partial, stat.S_IMODE(os.stat(target).st_mode))
                os.replace(partial, target)
            finally:
                if os.path.exists(partial):
                    os.remove(partial)
        except OSError as error:
            print(f"--summary {args.summary}: cannot write it ({error.strerror or error})", file=sys.stderr)
            return 2
    return 0 if result and result["state"] == "success" and all_migrated else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
