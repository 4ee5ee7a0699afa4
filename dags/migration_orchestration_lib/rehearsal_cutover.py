"""Rehearsal time and records: a simulated clock, and the approval and handoff records kept in the world directory.

The clock starts at `MIGRATION_SIMULATE_START` (default: the real time the world's clock was
created) and jumps instead of waiting: when no cutover runs and no gated database is still on its way to its
gate (one whose gated dependencies have finished), a waiting gate moves it to the earliest time
one of the waiting databases can change its decision (a window opening, a window's last fitting start); the simulated approver answers at
once (the next poke reads the record at the same simulated time); an approval nobody answers holds the clock at its
window's last fitting start for `ANSWER_GRACE` of real time (a record written by hand meanwhile still answers; the gates
poke once every `ANSWER_POKE` meanwhile, not at once), then
the clock moves one second on, as real time would: the window is missed. So a weekend of windows rehearses in about a minute, and no cutover is ever overtaken by a
jump. A cutover takes its database's `cutover.expectedMinutes` of simulated time: the clock stands still while cutovers
run, and once none runs moves on to their ends (`_settle`), so a dependent's gate decides then, while a gate due at the
time a cutover began may still begin alongside it (places permitting); one its gate let go that then waited in
`freeze_source` for its place begins when the place came (`placed`). A `start_migration` waiting for capacity only time
frees counts as waiting (`wait` with no time of its own, `for_capacity`: the stall guard counts its pokes apart from the
gates') until admitted (`goes_on`). Past `MIGRATION_SIMULATE_UNTIL`
(default start + 8 days) a waiting gate ends (skipped, "still waiting for the next window"), and so does such a wait for
capacity (`operators.MigrationTask._wait_for_capacity`). A kept world keeps its clock: a new run continues it.

Approval records are a JSON file standing in for the Airflow Variables; the simulated approver
(`MIGRATION_SIMULATE_APPROVAL=<db>:approve|reject`) writes one when its database awaits approval.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
from datetime import datetime, timedelta
from typing import Any, Dict, FrozenSet, Iterator, Mapping, Optional, Sequence

from migration_orchestration_lib import settings
from migration_orchestration_lib.airflow_compat import utc_now
from migration_orchestration_lib.cutover_gate import ApprovalRecord
from migration_orchestration_lib.cutover_windows import iso_utc, parse_iso_utc

CLOCK_FILE = "cutover-clock.json"
APPROVALS_FILE = "cutover-approvals.json"
RECORDS_FILE = "records.json"  # handoffs, cutover admissions, sources' access before a freeze
# Pokes of a waiting gate without the clock moving before it jumps anyway (a cutover a crashed run
# left marked in progress, and no run continues, would otherwise hold every other one forever). A `start_migration`
# waiting for a place only time frees (`SimulatedClock.wait`'s `for_capacity`) counts its own pokes apart, against the
# same bound: never toward the gates' (it pokes as often as they do, so each waiting for capacity brought the jump
# nearer, over a cutover still running or a gated database still on its way), yet it still ends such a hold where no
# gate waits.
MAX_STALLED_POKES = 200
# Real time an approval nobody answers holds the clock at its window's last fitting start, where a record
# written by hand (the world's cutover-approvals.json) still answers; then the clock moves one second on,
# as real time would: the window is missed.
ANSWER_GRACE = timedelta(minutes=1)
# Real time between two pokes of a waiting gate meanwhile, from the second on (the first reads a simulated answer
# at once): only a person's answer can come, and every poke writes an event.
ANSWER_POKE = timedelta(seconds=1)


@contextlib.contextmanager
def _locked_json(directory: str, name: str, read_only: bool = False) -> Iterator[Dict[str, Any]]:
    """The file's JSON object, locked; rewritten when the block changed it. `read_only`: a block that only reads (a
    record read, the clock asked the time at every poke), under a shared lock, neither serialised again nor written."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    with open(path + ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH if read_only else fcntl.LOCK_EX)
        try:
            try:
                with open(path, "r", encoding="utf-8") as handle:
                    text = handle.read()
            except FileNotFoundError:
                text = None
            state = {} if text is None else json.loads(text)
            yield state
            if read_only:
                return
            # Rewrite only what changed, and compactly, so that the encoder runs in C (as world.json's does).
            changed = json.dumps(state, sort_keys=True)
            if changed != text:
                with open(path + ".tmp", "w", encoding="utf-8") as handle:
                    handle.write(changed)
                os.replace(path + ".tmp", path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class SimulatedClock:
    def __init__(self, directory: str, gates: Mapping[str, Sequence[str]], environ: Mapping[str, str],
                 minutes: Optional[Mapping[str, int]] = None, max_concurrent: Optional[int] = None):
        """`gates`: every gated database -> the gated databases it depends on (transitively); `minutes`: each gated
        database's `cutover.expectedMinutes`, the simulated time its cutover takes (none: it takes none);
        `max_concurrent`: the plan's `cutover.maxConcurrent`, places for cutovers at one simulated time."""
        self.directory = directory
        self.minutes = dict(minutes or {})
        self.max_concurrent = max_concurrent
        start, until = settings.simulated_period(environ)
        with self._state() as state:
            if "now" not in state:
                begin = start or utc_now()
                state.update(
                    now=iso_utc(begin),
                    horizon=iso_utc(until or begin + settings.DEFAULT_SIMULATED_DAYS),
                    waiting={},
                    since={},
                    busy=[],
                    finished=[],
                    stalled=0,
                )
            state["gates"] = {name: sorted(ancestors) for name, ancestors in gates.items()}
            if until:  # a new horizon for a continued world
                state["horizon"] = iso_utc(until)

    def _state(self, read_only: bool = False) -> Any:
        return _locked_json(self.directory, CLOCK_FILE, read_only)

    def now(self) -> datetime:
        with self._state(read_only=True) as state:
            return parse_iso_utc(state["now"])

    def horizon(self) -> Optional[datetime]:
        with self._state(read_only=True) as state:
            return parse_iso_utc(state["horizon"])

    def waiting_since(self, database: str, first_poke: datetime) -> datetime:
        with self._state() as state:
            state["finished"] = [d for d in state["finished"] if d != database]  # a new run of it
            return parse_iso_utc(state["since"].setdefault(database, state["now"]))

    def wait(self, database: str, until: Optional[datetime], for_capacity: bool = False) -> timedelta:
        """The real time to wait before the next poke: `ANSWER_POKE` while the clock holds for an answer, else none.
        `for_capacity`: not a gate, a `start_migration` waiting for a place only time frees (`until` None): its pokes
        count toward `MAX_STALLED_POKES` apart from the gates', each such database its own."""
        with self._state() as state:
            state["waiting"][database] = iso_utc(until) if until else None
            self._settle(state)
            now, horizon = parse_iso_utc(state["now"]), parse_iso_utc(state["horizon"])
            finished = set(state["finished"])
            on_the_way = [  # a gated database still on its way to its gate, nothing gated holding it
                d for d, ancestors in state["gates"].items()
                if d not in finished and d not in state["waiting"] and d not in state["busy"] and set(ancestors) <= finished
            ]
            held = state["busy"] or on_the_way
            for_places = state.pop("stalled_for_capacity", None) or {}  # each one waiting for capacity: its own pokes
            if not held:
                state["stalled"], for_places = 0, {}
            elif for_capacity:
                for_places[database] = for_places.get(database, 0) + 1
            else:
                state["stalled"] += 1
            if for_places:
                state["stalled_for_capacity"] = for_places
            stalled = for_places.get(database, 0) if for_capacity else state["stalled"]
            if held and stalled < MAX_STALLED_POKES:
                return timedelta(0)
            times = [parse_iso_utc(t) for t in state["waiting"].values() if t]
            if any(t <= now for t in times):  # a decision is due now: an approver just answered, or none has yet
                due = state.get("due") or {}
                if due.get("at") != state["now"]:
                    state["due"] = due = {"at": state["now"], "since": utc_now().isoformat(), "pokes": 0}
                due["pokes"] = due.get("pokes", 0) + 1
                if utc_now() - parse_iso_utc(due["since"]) < ANSWER_GRACE:
                    return ANSWER_POKE if due["pokes"] > 1 else timedelta(0)  # poke again first
                state["now"] = iso_utc(now + timedelta(seconds=1))  # unanswered: real time would move on
            else:
                state["now"] = iso_utc(max(now, min(min(times, default=horizon), horizon)))
            state["stalled"] = 0
            state.pop("stalled_for_capacity", None)
            return timedelta(0)

    def waiting(self) -> FrozenSet[str]:
        """The databases waiting (`wait`): at their gates, or for capacity only time frees."""
        with self._state() as state:
            return frozenset(state["waiting"])

    def goes_on(self, database: str) -> None:
        """A database that waited for capacity (`wait`, no time of its own) was admitted: it is on its way to its gate
        again, and the clock does not jump past it."""
        with self._state() as state:
            state["waiting"].pop(database, None)

    def hold(self, database: str, window: Optional[str] = None, closes: Optional[datetime] = None) -> None:
        with self._state() as state:
            state["waiting"].pop(database, None)
            state["since"].pop(database, None)
            state["busy"] = sorted(set(state["busy"]) | {database})
            # the rehearsal report compares each cutover's time with its window
            state.setdefault("cutovers", {}).setdefault(database, []).append(
                {"began": state["now"], "window": window, "closes": iso_utc(closes) if closes else None}
            )

    def placed(self, database: str, admitted: bool = False) -> bool:
        """The database's cutover, let go by its gate (`hold`), found a place free in `cutover.maxConcurrent` (before its
        freeze): it begins at the first time in simulated time a place was free, not at its gate, since cutovers let go
        at one time by their gates may take their places one after the other (the clock stood still meanwhile). The
        places are taken by the cutovers admitted before, each from its begin to its end (its `expectedMinutes` on, where
        it has not ended yet). The clock moves on to that time, so the window and the deadline are checked then; whether
        it moved. `admitted`: it took the place (the checks passed): later ones count it. Again (a later try), it stays
        where it is."""
        if self.max_concurrent is None:
            return False
        with self._state() as state:
            entries = state.get("cutovers", {}).get(database) or []
            if database not in state["busy"] or not entries or "ended" in entries[-1]:
                return False
            mine, now = entries[-1], parse_iso_utc(state["now"])
            taken = [  # (begin, end) of every other cutover admitted before
                (parse_iso_utc(c["began"]), parse_iso_utc(c["ended"]) if c.get("ended")
                 else parse_iso_utc(c["began"]) + timedelta(minutes=self.minutes.get(name, 0)))
                for name, cutovers in state["cutovers"].items() if name != database for c in cutovers if c.get("placed")
            ]
            at = parse_iso_utc(mine["began"])
            while True:
                occupied = [end for begin, end in taken if begin <= at < end]
                if len(occupied) < self.max_concurrent:
                    break
                at = min(occupied)
            mine["began"] = iso_utc(at)
            if admitted:
                mine["placed"] = True
            if at <= now:
                return False
            state["now"] = iso_utc(at)
            return True

    def release(self, database: str) -> None:
        """The database's cutover ended: it took its `expectedMinutes` of simulated time from its begin (the clock
        stood still meanwhile). The clock moves on to the end of the latest cutover once none runs any more (cutovers
        in parallel end together, none overtaken by another's end), so a dependent's gate asks at that time."""
        with self._state() as state:
            began = state.get("cutovers", {}).get(database) or [{}]
            if database in state["busy"] and "ended" not in began[-1] and "began" in began[-1]:
                taken = timedelta(minutes=self.minutes.get(database, 0))
                ended = max(parse_iso_utc(state["now"]), parse_iso_utc(began[-1]["began"]) + taken)
                began[-1]["ended"] = iso_utc(ended)
            state["waiting"].pop(database, None)
            state["since"].pop(database, None)
            state["busy"] = [d for d in state["busy"] if d != database]
            state["finished"] = sorted(set(state["finished"]) | {database})
            self._settle(state)

    def _settle(self, state: Dict[str, Any]) -> None:
        """Once no cutover runs, the clock moves on through the simulated ends of the cutovers that ended (`release`),
        but only as far as nothing could have begun meanwhile: not while a gate is due at this time (its poke came
        later in real time than a cutover that ran alongside it in simulated time) and a place is free for it
        (`max_concurrent`, counting the cutovers not yet over in simulated time), nor while a gated database depending on
        none of them is on its way to its gate; and not past a waiting gate's own time (it may go then), else to the
        first place freed. A dependent of a cutover on its way decides after its end."""
        if state["busy"]:
            return
        now = parse_iso_utc(state["now"])
        running = sorted(  # cutovers over in the world, not yet in simulated time
            (parse_iso_utc(c["ended"]), name) for name, entries in state.get("cutovers", {}).items()
            for c in entries if c.get("ended") and parse_iso_utc(c["ended"]) > now
        )
        if not running:
            return
        finished, ending = set(state["finished"]), {name for _, name in running}
        times = [parse_iso_utc(t) for t in state["waiting"].values() if t]
        due = any(t <= now for t in times) or any(  # an independent gated database on its way goes at this time
            d not in finished and d not in state["waiting"] and set(ancestors) <= finished and not set(ancestors) & ending
            for d, ancestors in state["gates"].items()
        )
        full = self.max_concurrent is not None and len(running) >= self.max_concurrent
        if due and not full:
            return
        later = min([t for t in times if t > now] + [running[-1][0]])
        state["now"] = iso_utc(running[0][0] if due else later)


class FileRecords:
    """Records of a rehearsal world by key, in one file (the Airflow Variables' stand-in)."""

    def __init__(self, directory: str, file_name: str):
        self.directory = directory
        self.file_name = file_name

    def get(self, key: str) -> Optional[str]:
        with _locked_json(self.directory, self.file_name, read_only=True) as records:
            return records.get(key)

    def put(self, key: str, value: str) -> None:
        with _locked_json(self.directory, self.file_name) as records:
            records[key] = value

    def delete(self, key: str) -> None:
        with _locked_json(self.directory, self.file_name) as records:
            records.pop(key, None)


class FileApprovals(FileRecords):
    """The approval records of a rehearsal world."""

    def __init__(self, directory: str):
        super().__init__(directory, APPROVALS_FILE)

    def put(self, key: str, value: ApprovalRecord) -> None:  # type: ignore[override]
        super().put(key, value.to_json())

    def clear(self, key: str) -> None:
        self.delete(key)
