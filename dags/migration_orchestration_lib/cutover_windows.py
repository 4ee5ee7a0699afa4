"""Cutover windows: when a database may be cut over, as instants in UTC.

A weekly window opens at the local wall-clock `start` on each listed day and lasts
`durationMinutes` of elapsed time (so across a DST change it ends at another wall time); a date
window runs from one local wall time to another. A wall time that does not exist (spring-forward
gap) or exists twice (fall-back) is resolved as zoneinfo does with fold=0: 02:30 in Berlin's gap
opens at 03:30 CEST (the offset before the change), an ambiguous 02:30 at its first occurrence.
The TypeScript validation (lib/plan/cutover-schema.ts) uses the same rules.

A window *fits* a cutover at `t` when it is open at `t` and `t + expectedMinutes` is not after
its close.

Time zones come from the standard `zoneinfo` (Python 3.9+) and, on Python 3.8 (Data Factory's
Airflow 2.6.3), from its backport `backports.zoneinfo` with `tzdata`, pinned in
requirements-data-factory.txt: the same fold semantics and current tz data on every host.
Pendulum (which every Airflow ships) was not used: pendulum 2.1.2 on Airflow 2.6.3 carries
pytzdata 2020.1 (older than, e.g., Mexico dropping DST in 2022) and resolves an ambiguous time
to its second occurrence, pendulum 3 to the first.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Iterable, List, Optional, Sequence, Tuple

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # novermin (tests/test_oldest_python.py): 3.8 takes the backport
except ImportError:  # Python 3.8
    from backports.zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # type: ignore[no-redef]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
LONGEST_WEEKLY_MINUTES = 7 * 24 * 60
# Weekly openings are looked for this far around an instant: the longest window lasts a week.
_WEEKLY_REACH = timedelta(days=8)


class WindowError(ValueError):
    """A window the DAG cannot read (the plan's validation should have refused it)."""


@dataclass(frozen=True)
class Window:
    """One window of the rendered plan: weekly (days, start, duration_minutes) or dated (starts, ends)."""

    time_zone: str
    days: Tuple[str, ...] = ()
    start: Optional[str] = None  # HH:MM, local
    duration_minutes: Optional[int] = None
    starts: Optional[str] = None  # the plan's `from`: YYYY-MM-DDTHH:MM, local
    ends: Optional[str] = None  # the plan's `to`

    @property
    def is_weekly(self) -> bool:
        return self.starts is None

    def describe(self) -> str:
        if self.is_weekly:
            return "%s %s for %d min (%s)" % ("/".join(self.days), self.start, self.duration_minutes or 0, self.time_zone)
        return "%s to %s (%s)" % (self.starts, self.ends, self.time_zone)

    def zone(self) -> tzinfo:
        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise WindowError("unknown time zone %r" % self.time_zone) from error


def window_from_plan(item: dict) -> Window:
    """A window as the rendered plan writes it (`from`/`to` are Python keywords: renamed)."""
    return Window(
        time_zone=item["timeZone"],
        days=tuple(item.get("days", ())),
        start=item.get("start"),
        duration_minutes=item.get("durationMinutes"),
        starts=item.get("from"),
        ends=item.get("to"),
    )


@dataclass(frozen=True)
class Opening:
    """One occurrence of a window: open from `opens` (inclusive) to `closes` (exclusive), UTC."""

    window: Window
    opens: datetime
    closes: datetime

    @property
    def key(self) -> str:
        """The window's name in approval records: its opening, ISO 8601 UTC."""
        return iso_utc(self.opens)

    def is_open(self, t: datetime) -> bool:
        return self.opens <= t < self.closes

    def last_start(self, expected_minutes: int) -> datetime:
        """The latest instant a cutover of `expected_minutes` may start and still end inside."""
        return self.closes - timedelta(minutes=expected_minutes)

    def fits(self, t: datetime, expected_minutes: int) -> bool:
        return self.opens <= t <= self.last_start(expected_minutes)

    def describe(self) -> str:
        return "%s (%s to %s UTC)" % (self.window.describe(), iso_utc(self.opens), iso_utc(self.closes))


def iso_utc(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso_utc(text: str) -> datetime:
    """An ISO 8601 instant (`Z` or an offset); naive means UTC. Python 3.8's fromisoformat lacks `Z`."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def local_to_utc(wall: datetime, zone: tzinfo) -> datetime:
    """A local wall time as an instant, with zoneinfo's fold=0 for gaps and repeated hours."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)


def _wall_time(text: str) -> time:
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except (AttributeError, ValueError) as error:
        raise WindowError("start must be HH:MM, got %r" % (text,)) from error


def _wall_datetime(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M")
    except (TypeError, ValueError) as error:
        raise WindowError("from/to must be YYYY-MM-DDTHH:MM, got %r" % (text,)) from error


def openings_around(window: Window, t: datetime) -> List[Opening]:
    """Every opening of `window` that may be open at `t` or open within a week after it (a date
    window: its only opening)."""
    zone = window.zone()
    if not window.is_weekly:
        return [Opening(window, local_to_utc(_wall_datetime(window.starts or ""), zone), local_to_utc(_wall_datetime(window.ends or ""), zone))]
    days = {WEEKDAYS.index(day) for day in window.days}
    start = _wall_time(window.start or "")
    duration = timedelta(minutes=window.duration_minutes or 0)
    local_day = t.astimezone(zone).date()
    openings = []
    for offset in range(-_WEEKLY_REACH.days, _WEEKLY_REACH.days + 1):
        day: date = local_day + timedelta(days=offset)
        if day.weekday() in days:
            opens = local_to_utc(datetime.combine(day, start), zone)
            openings.append(Opening(window, opens, opens + duration))
    return openings


def all_openings_around(windows: Iterable[Window], t: datetime) -> List[Opening]:
    return sorted((o for w in windows for o in openings_around(w, t)), key=lambda o: (o.opens, o.closes))


def open_at(windows: Sequence[Window], t: datetime) -> List[Opening]:
    """The openings open at `t`, the one closing last first."""
    return sorted((o for o in all_openings_around(windows, t) if o.is_open(t)), key=lambda o: o.closes, reverse=True)


def fitting_at(windows: Sequence[Window], t: datetime, expected_minutes: int) -> Optional[Opening]:
    """The opening that fits a cutover starting at `t` (the one closing last), or None."""
    return next((o for o in open_at(windows, t) if o.fits(t, expected_minutes)), None)


def next_fit(windows: Sequence[Window], t: datetime, expected_minutes: int) -> Optional[Tuple[datetime, Opening]]:
    """The first instant at or after `t` when a window fits, and that opening; None if none ever does
    (only date windows, all past or too short)."""
    candidates = [
        (max(t, o.opens), o) for o in all_openings_around(windows, t) if o.last_start(expected_minutes) >= max(t, o.opens)
    ]
    return min(candidates, key=lambda c: (c[0], -c[1].closes.timestamp()), default=None)
