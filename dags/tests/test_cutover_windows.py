"""Window arithmetic across time zones and both DST changes (expected instants worked out by hand
from each zone's rules, not from the module)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from migration_orchestration_lib.cutover_windows import (
    Window,
    WindowError,
    fitting_at,
    iso_utc,
    next_fit,
    open_at,
    openings_around,
    parse_iso_utc,
    window_from_plan,
)

pytestmark = [pytest.mark.airflow26]  # Python 3.8: backports.zoneinfo


def utc(*parts):
    return datetime(*parts, tzinfo=timezone.utc)


def weekly(zone, days, start, minutes):
    return Window(time_zone=zone, days=tuple(days), start=start, duration_minutes=minutes)



BERLIN_SATURDAY_NIGHT = weekly("Europe/Berlin", ["Sat", "Sun"], "22:00", 360)


def test_a_weekly_window_spanning_midnight_in_winter_berlin():
    # Sat 2026-12-05 22:00 CET (+01:00) = 21:00Z; 360 minutes later, Sunday 03:00Z
    t = utc(2026, 12, 6, 1, 0)
    [current] = open_at([BERLIN_SATURDAY_NIGHT], t)
    assert (current.opens, current.closes) == (utc(2026, 12, 5, 21, 0), utc(2026, 12, 6, 3, 0))
    assert current.key == "2026-12-05T21:00:00Z"
    assert fitting_at([BERLIN_SATURDAY_NIGHT], t, 30) == current
    assert fitting_at([BERLIN_SATURDAY_NIGHT], utc(2026, 12, 6, 2, 31), 30) is None, "03:01Z would end after the close"
    assert fitting_at([BERLIN_SATURDAY_NIGHT], utc(2026, 12, 6, 2, 30), 30) == current, "ending exactly at the close fits"


def test_a_weekly_window_spanning_the_week_end_is_open_on_monday():
    window = weekly("Asia/Tokyo", ["Sun"], "23:00", 180)  # no DST: +09:00 all year
    t = utc(2026, 12, 6, 15, 30)  # Mon 2026-12-07 00:30 JST
    [current] = open_at([window], t)
    assert (current.opens, current.closes) == (utc(2026, 12, 6, 14, 0), utc(2026, 12, 6, 17, 0))
    # after it: the next Sunday 23:00 JST
    start, opening = next_fit([window], utc(2026, 12, 6, 17, 0), 30)
    assert start == opening.opens == utc(2026, 12, 13, 14, 0)


def test_berlin_spring_forward_a_start_in_the_gap_opens_at_the_shifted_time_and_lasts_elapsed_minutes():
    # 2026-03-29: 02:00 CET -> 03:00 CEST. 02:30 does not exist: fold=0 takes the offset before
    # (+01:00): 01:30Z = 03:30 CEST. 60 elapsed minutes: 02:30Z = 04:30 CEST.
    window = weekly("Europe/Berlin", ["Sun"], "02:30", 60)
    [current] = open_at([window], utc(2026, 3, 29, 2, 0))
    assert (current.opens, current.closes) == (utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 2, 30))
    # the same window a week before and after, in CET and CEST
    start, _ = next_fit([window], utc(2026, 3, 22, 0, 0), 30)
    assert start == utc(2026, 3, 22, 1, 30)
    start, _ = next_fit([window], utc(2026, 3, 29, 3, 0), 30)
    assert start == utc(2026, 4, 5, 0, 30)


def test_berlin_fall_back_an_ambiguous_start_opens_at_its_first_occurrence_and_ends_at_another_wall_time():
    # 2026-10-25: 03:00 CEST -> 02:00 CET. 02:30 happens twice; the first is CEST (+02:00) = 00:30Z.
    # 120 elapsed minutes end at 02:30Z = 03:30 CET (not 04:30 wall time).
    window = weekly("Europe/Berlin", ["Sun"], "02:30", 120)
    [current] = open_at([window], utc(2026, 10, 25, 1, 0))
    assert (current.opens, current.closes) == (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 30))
    assert current.closes.astimezone(window.zone()).strftime("%H:%M %Z") == "03:30 CET"


def test_new_york_both_changes():
    window = weekly("America/New_York", ["Sun"], "01:00", 180)
    # 2026-03-08 02:00 EST -> 03:00 EDT: opens 01:00 EST = 06:00Z, ends 09:00Z = 05:00 EDT
    [spring] = open_at([window], utc(2026, 3, 8, 7, 0))
    assert (spring.opens, spring.closes) == (utc(2026, 3, 8, 6, 0), utc(2026, 3, 8, 9, 0))
    assert spring.closes.astimezone(window.zone()).strftime("%H:%M") == "05:00"
    # 2026-11-01 02:00 EDT -> 01:00 EST: opens 01:00 EDT = 05:00Z, ends 08:00Z = 03:00 EST
    [autumn] = open_at([window], utc(2026, 11, 1, 6, 0))
    assert (autumn.opens, autumn.closes) == (utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 8, 0))
    # an ambiguous start: 01:30 happens at 05:30Z (EDT) and 06:30Z (EST); the first counts
    ambiguous = weekly("America/New_York", ["Sun"], "01:30", 60)
    [first] = open_at([ambiguous], utc(2026, 11, 1, 5, 45))
    assert first.opens == utc(2026, 11, 1, 5, 30)
    assert open_at([ambiguous], utc(2026, 11, 1, 6, 45)) == [], "the second 01:30 opens nothing"


def test_lord_howe_half_hour_dst():
    # Australia/Lord_Howe: +10:30 standard, +11:00 summer (a 30-minute change).
    # 2026-04-05 02:00 LHDT -> 01:30 LHST: 01:45 happens twice; the first is +11:00 = 14:45Z on the 4th.
    autumn = weekly("Australia/Lord_Howe", ["Sun"], "01:45", 60)
    [first] = open_at([autumn], utc(2026, 4, 4, 15, 0))
    assert (first.opens, first.closes) == (utc(2026, 4, 4, 14, 45), utc(2026, 4, 4, 15, 45))
    # 2026-10-04 02:00 LHST -> 02:30 LHDT: 02:15 does not exist; the offset before (+10:30) gives
    # 15:45Z on the 3rd = 02:45 LHDT.
    spring = weekly("Australia/Lord_Howe", ["Sun"], "02:15", 60)
    start, opening = next_fit([spring], utc(2026, 10, 3, 0, 0), 30)
    assert start == opening.opens == utc(2026, 10, 3, 15, 45)
    assert opening.opens.astimezone(spring.zone()).strftime("%H:%M") == "02:45"


def test_a_date_window_in_new_york():
    window = window_from_plan({"timeZone": "America/New_York", "from": "2026-12-24T20:00", "to": "2026-12-25T02:00"})
    start, opening = next_fit([window], utc(2026, 12, 20), 30)
    assert (start, opening.closes) == (utc(2026, 12, 25, 1, 0), utc(2026, 12, 25, 7, 0))
    assert fitting_at([window], utc(2026, 12, 25, 6, 30), 30) == opening
    assert fitting_at([window], utc(2026, 12, 25, 6, 31), 30) is None
    assert next_fit([window], utc(2026, 12, 25, 6, 31), 30) is None, "a past date window never fits again"


def test_the_earliest_fit_of_several_windows_and_a_window_too_short_for_the_cutover():
    windows = [BERLIN_SATURDAY_NIGHT, window_from_plan({"timeZone": "America/New_York", "from": "2026-12-24T20:00", "to": "2026-12-24T20:20"})]
    start, opening = next_fit(windows, utc(2026, 12, 24, 0, 0), 30)
    assert opening.window == BERLIN_SATURDAY_NIGHT and start == utc(2026, 12, 26, 21, 0), "20 minutes cannot hold 30"
    start, opening = next_fit(windows, utc(2026, 12, 24, 0, 0), 15)
    assert start == utc(2026, 12, 25, 1, 0)


def test_a_cutover_already_inside_a_window_fits_now():
    t = utc(2026, 12, 5, 23, 17)
    start, opening = next_fit([BERLIN_SATURDAY_NIGHT], t, 30)
    assert start == t and opening.key == "2026-12-05T21:00:00Z"


def test_bad_windows_are_clear_errors():
    with pytest.raises(WindowError, match="unknown time zone 'Mars/Olympus'"):
        open_at([weekly("Mars/Olympus", ["Sat"], "22:00", 60)], utc(2026, 1, 1))
    with pytest.raises(WindowError, match="HH:MM"):
        open_at([weekly("UTC", ["Sat"], "22h", 60)], utc(2026, 1, 1))


def test_iso_utc_round_trip_on_every_python():
    assert parse_iso_utc("2026-12-05T21:00:00Z") == utc(2026, 12, 5, 21)
    assert parse_iso_utc("2026-12-05T22:00:00+01:00") == utc(2026, 12, 5, 21)
    assert iso_utc(parse_iso_utc("2026-12-05T21:00:00")) == "2026-12-05T21:00:00Z"
