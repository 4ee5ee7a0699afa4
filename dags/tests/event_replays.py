"""Golden event files: what the real DAG writes for a handful of incidents, recorded by the tests that already run
them, normalized and committed in tests/event-replays/, where __tests__/kql/event-replays-kql.test.ts replays each one
through every deployed log alert's query (which alerts fire for which incident).

`assert_event_replay(name, rows, document, since)` at the end of such a test compares the run's events with the fixture
and fails with the difference and the one command that records it again (UPDATE_EVENT_REPLAYS=1). Compared: each
(run, database)'s sequence of phase, status, message, target kind, operation and plan, an event repeated in a row (a
heartbeat, a poke) counted once: how often a wait pokes depends on the machine's speed, and the order in which
Airflow interleaves the databases of a run on the moment. Not compared: times and durations, which the fixture keeps
(relative to the first event) for the replay's evaluation times.

Normalized: run ids become `<kind>__run-N`, each UUID (an operation id, in a message too) `op-N` or `id-N` and an
8-hex-digit prefix of one the same, another 8-hex-digit token (a hash in a file name) `hex-N`, a time of the real
clock during the recording (ISO 8601, or a file name's 20261207T023732Z) `<wall-clock>`, and the period a read made
again in later pokes ends its operation key with (`StepContext.afresh`: the real clock's seconds over a period)
`<period>`; numbered by run, then database, then time, so recording the same run again writes the same file but for
its times."""
from __future__ import annotations

import difflib
import json
import os
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import pytest

REPLAYS_DIR = Path(__file__).resolve().parent / "event-replays"
UPDATE_VARIABLE = "UPDATE_EVENT_REPLAYS"
FIXTURE_FORMAT = 1
COMPARED = ("PlanName", "Database", "Phase", "Status", "Message", "TargetKind", "MigrationOperationId")

_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_HEX8 = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{8}(?![0-9A-Za-z])")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
_COMPACT = re.compile(r"(?<![0-9])(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")  # a final backup's file name
_AFRESH = re.compile(r"(?<=[a-z]):\d{6,}(?![0-9])")  # an operation key's purpose, then `StepContext.afresh`'s period


def _parse_time(text: str) -> Optional[float]:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


class _Names:
    """Stable placeholders, numbered in order of appearance."""

    def __init__(self) -> None:
        self.runs: Dict[str, str] = {}
        self.ids: Dict[str, str] = {}
        self.hexes: Dict[str, str] = {}

    def run(self, run_id: str) -> str:
        if run_id not in self.runs:
            kind = run_id.split("__", 1)[0] if "__" in run_id else "run"
            self.runs[run_id] = "%s__run-%d" % (kind, len(self.runs) + 1)
        return self.runs[run_id]

    def uuid(self, value: str, operation: bool = False) -> str:
        key = value.lower()
        if key not in self.ids:
            count = sum(1 for name in self.ids.values() if name.startswith("op-" if operation else "id-"))
            self.ids[key] = "%s-%d" % ("op" if operation else "id", count + 1)
        return self.ids[key]

    def hex8(self, value: str) -> str:
        """An 8-hex-digit token that is no UUID's prefix (a hash in a file name): `hex-N`."""
        return self.hexes.setdefault(value, "hex-%d" % (len(self.hexes) + 1))


def normalized(rows: Iterable[Dict[str, Any]], wall_clock: Optional[tuple] = None) -> List[Dict[str, Any]]:
    """The rows as the fixture keeps them (see the module's docstring); `wall_clock`: (first, last) POSIX seconds of
    the recording, a time in a message inside it (give or take a minute) is the real clock's."""
    rows = list(rows)
    if not rows:
        return []
    names = _Names()
    for row in rows:  # runs follow one another: numbered as they come
        names.run(row["RunId"])
    # Databases of one run interleave as the scheduler picks them, differently each time: the other placeholders are
    # numbered in the order of run, database, then time.
    order = sorted(range(len(rows)), key=lambda i: (names.runs[rows[i]["RunId"]], rows[i]["Database"], i))
    for index in order:  # operation ids first, so they are op-N wherever a message names them first
        if rows[index].get("MigrationOperationId"):
            names.uuid(rows[index]["MigrationOperationId"], operation=True)
    first = min(_parse_time(row["TimeGenerated"]) for row in rows)
    low, high = (wall_clock[0] - 60, wall_clock[1] + 60) if wall_clock else (None, None)

    def message(text: str) -> str:
        for run_id in sorted(names.runs, key=len, reverse=True):
            text = text.replace(run_id, names.runs[run_id])
        text = _UUID.sub(lambda m: names.uuid(m.group(0)), text)
        text = _AFRESH.sub(":<period>", text)  # first: a period of 8 digits is a hex token too
        prefixes = {key[:8]: name for key, name in names.ids.items()}
        text = _HEX8.sub(lambda m: prefixes.get(m.group(0)) or names.hex8(m.group(0)), text)
        if low is not None:
            def real(m, text=None):
                at = _parse_time(text or m.group(0))
                return "<wall-clock>" if at is not None and low <= at <= high else m.group(0)
            text = _ISO.sub(real, text)
            text = _COMPACT.sub(lambda m: real(m, "%s-%s-%sT%s:%s:%sZ" % m.groups()), text)
        return text

    messages = {index: message(rows[index]["Message"]) for index in order}
    out = []
    for index, row in enumerate(rows):
        out.append({
            "At": round(_parse_time(row["TimeGenerated"]) - first, 3),
            "RunId": names.runs[row["RunId"]],
            "PlanName": row["PlanName"],
            "Database": row["Database"],
            "Phase": row["Phase"],
            "Status": row["Status"],
            "DurationSeconds": round(float(row["DurationSeconds"]), 1),
            "Message": messages[index],
            "TargetKind": row["TargetKind"],
            "MigrationOperationId": names.uuid(row["MigrationOperationId"], operation=True) if row["MigrationOperationId"] else "",
        })
    return out


def compared(rows: List[Dict[str, Any]]) -> List[str]:
    """What must match, one line each: per (run, database), in the order of runs then databases' names, its events
    without a repetition in a row of the same one."""
    sequences: Dict[tuple, List[tuple]] = {}
    for row in rows:
        entry = tuple(row[column] for column in COMPARED)
        sequence = sequences.setdefault((row["RunId"], row["Database"]), [])
        if not sequence or sequence[-1] != entry:
            sequence.append(entry)
    runs = list(dict.fromkeys(row["RunId"] for row in rows))
    return [json.dumps([run] + list(entry)) for (run, database), sequence in sorted(sequences.items(), key=lambda item: (
        runs.index(item[0][0]), item[0][1])) for entry in sequence]


def read_fixture(name: str) -> Dict[str, Any]:
    lines = (REPLAYS_DIR / ("%s.jsonl" % name)).read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    return {"header": header, "events": [json.loads(line) for line in lines[1:] if line.strip()]}


def fixture_text(header: Dict[str, Any], events: List[Dict[str, Any]]) -> str:
    return "".join(json.dumps(item, sort_keys=True) + "\n" for item in [header] + events)


def rerecord_command(node_id: str) -> str:
    return "(cd dags && %s=1 ../.venv/bin/python -m pytest -q -p no:cacheprovider '%s')" % (UPDATE_VARIABLE, node_id)


def current_node_id() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" (", 1)[0]


def assert_event_replay(name: str, rows: Iterable[Dict[str, Any]], document: Dict[str, Any], recorded_since: float) -> None:
    """The run's `rows` (the events the DAG wrote, in order) against tests/event-replays/<name>.jsonl; `document`: the
    plan the run ran (the replay deploys its alerts from it); `recorded_since`: time.time() before the run began."""
    rows = list(rows)
    assert rows, "the run wrote no event"
    events = normalized(rows, (recorded_since, time.time()))
    node_id = current_node_id()
    header = {"format": FIXTURE_FORMAT, "scenario": name, "recordedBy": node_id.split("/")[-1], "plan": document}
    path = REPLAYS_DIR / ("%s.jsonl" % name)
    if os.environ.get(UPDATE_VARIABLE) == "1":
        REPLAYS_DIR.mkdir(exist_ok=True)
        path.write_text(fixture_text(header, events), encoding="utf-8")
        return
    command = rerecord_command(node_id)
    if not path.exists():
        pytest.fail("no event replay %s; record it: %s" % (path.name, command))
    fixture = read_fixture(name)
    assert fixture["header"]["plan"] == document, "the plan of %s differs from the run's; record it again: %s" % (path.name, command)
    expected, actual = compared(fixture["events"]), compared(events)
    if expected != actual:
        diff = "\n".join(difflib.unified_diff(expected, actual, "%s (committed)" % path.name, "this run", lineterm="", n=2))
        pytest.fail(
            "the DAG's events differ from %s (replayed through the deployed alerts by __tests__/kql/event-replays-kql.test.ts):"
            "\n%s\nIf the change is meant, record it again and run that jest test: %s" % (path.name, diff, command))
