"""The cutover gate: wait / ask / go from settings, time, the approval record and the world."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from migration_orchestration_lib.cutover_gate import (
    ASK,
    GO,
    WAIT,
    ApprovalSettings,
    Approver,
    CutoverSettings,
    approval_command,
    decide_cutover,
    parse_record,
    window_missed,
)
from migration_orchestration_lib.cutover_windows import Window, window_from_plan

pytestmark = [pytest.mark.airflow26]

SATURDAY_NIGHT = Window(time_zone="Europe/Berlin", days=("Sat",), start="22:00", duration_minutes=360)
CHRISTMAS_EVE = window_from_plan({"timeZone": "America/New_York", "from": "2026-12-24T20:00", "to": "2026-12-25T02:00"})
APPROVERS = (Approver("alice@contoso.com"),)
WITH_APPROVAL = CutoverSettings(windows=(SATURDAY_NIGHT,), approval=ApprovalSettings(True, APPROVERS, "airflowVariable"))
SAT_OPENING = "2026-12-05T21:00:00Z"  # Sat 2026-12-05 22:00 CET


def utc(*parts):
    return datetime(*parts, tzinfo=timezone.utc)


def record(decision, window=SAT_OPENING, by="Alice@Contoso.com"):
    return '{"window": "%s", "decision": "%s", "by": "%s"}' % (window, decision, by)


def test_outside_every_window_it_waits_until_the_next_opening():
    decision = decide_cutover("db", WITH_APPROVAL, utc(2026, 12, 3, 12))
    assert (decision.action, decision.status, decision.until) == (WAIT, "WaitingForWindow", utc(2026, 12, 5, 21))
    assert "next window Sat 22:00" in decision.message


def test_in_a_window_without_a_record_it_asks_until_the_last_fitting_start_and_prints_the_command():
    decision = decide_cutover("db", WITH_APPROVAL, utc(2026, 12, 5, 22))
    assert (decision.action, decision.status, decision.window_key) == (ASK, "AwaitingApproval", SAT_OPENING)
    assert decision.closes_at == utc(2026, 12, 6, 2, 30), "03:00Z close minus 30 expected minutes"
    assert approval_command("db", SAT_OPENING, "alice@contoso.com") in decision.message
    assert "airflow variables set migration_cutover_approval__db" in decision.message


@pytest.mark.parametrize("stored", [None, ""], ids=["neverSet", "cleared"])
def test_without_a_record_the_ask_and_the_missed_window_name_the_one_key_read(stored):
    """An approver who set the Variable under a misspelt key (`migration_cutover_approval_db`, another database's name)
    saw the same AwaitingApproval, then "no approval came in time", nothing naming the key the gate reads. Was: neither
    said that no record was there, nor under which key."""
    asked = decide_cutover("db", WITH_APPROVAL, utc(2026, 12, 5, 22), stored)
    no_record = "the Airflow Variable migration_cutover_approval__db holds no approval record; one set under any other key is never read"
    assert asked.action == ASK and no_record in asked.message
    missed = decide_cutover("db", WITH_APPROVAL, utc(2026, 12, 6, 2, 31), stored, waiting_since=utc(2026, 12, 5, 20))
    assert missed.status == "WindowMissed" and "(no approval came in time: %s" % no_record in missed.message
    ignored = decide_cutover("db", WITH_APPROVAL, utc(2026, 12, 5, 22), record("approve", by="mallory@contoso.com"))
    assert "holds no approval record" not in ignored.message, "a record there is said ignored, not absent"


def test_an_approval_for_the_open_window_by_an_approver_goes_case_insensitively():
    decision = decide_cutover("db", WITH_APPROVAL, utc(2026, 12, 5, 22), record("approve"))
    assert (decision.action, decision.status, decision.closes_at) == (GO, "Approved", utc(2026, 12, 6, 3))
    assert "approved by Alice@Contoso.com" in decision.message


@pytest.mark.parametrize(
    "stored, why",
    [
        (record("approve", window="2026-11-28T21:00:00Z"), "for window 2026-11-28T21:00:00Z is ignored"),
        (record("approve", by="mallory@contoso.com"), "not one of the approvers"),
        ("yes please", "not {\"window\", \"decision\", \"by\"} JSON"),
        (record("maybe"), "neither approve nor reject"),
    ],
)
def test_a_record_for_another_window_or_by_someone_else_is_ignored_and_the_message_says_why(stored, why):
    decision = decide_cutover("db", WITH_APPROVAL, utc(2026, 12, 5, 22), stored)
    assert decision.action == ASK and why in decision.message


def test_a_rejection_waits_for_the_next_window_never_fails():
    decision = decide_cutover("db", WITH_APPROVAL, utc(2026, 12, 5, 22), record("reject"))
    assert (decision.action, decision.status, decision.until) == (WAIT, "Rejected", utc(2026, 12, 12, 21))
    assert "keeps replicating" in decision.message
    # the next Saturday the old rejection no longer counts: ask again
    assert decide_cutover("db", WITH_APPROVAL, utc(2026, 12, 12, 22), record("reject")).action == ASK


def test_a_window_that_passed_while_waiting_is_reported_missed_but_a_rejected_one_is_not():
    since = utc(2026, 12, 5, 20)
    missed = decide_cutover("db", WITH_APPROVAL, utc(2026, 12, 6, 2, 31), None, waiting_since=since)
    assert (missed.action, missed.status, missed.until) == (WAIT, "WindowMissed", utc(2026, 12, 12, 21))
    assert "no approval came in time" in missed.message
    rejected = decide_cutover("db", WITH_APPROVAL, utc(2026, 12, 6, 2, 31), record("reject"), waiting_since=since)
    assert rejected.status == "WaitingForWindow"
    first_poke = decide_cutover("db", WITH_APPROVAL, utc(2026, 12, 6, 4), None, waiting_since=utc(2026, 12, 6, 3, 30))
    assert first_poke.status == "WaitingForWindow", "a window before this wait began was not missed by it"


@pytest.mark.parametrize(
    "max_concurrent, approved, why",
    [
        (None, False, "(await_cutover did not run while it could start)"),
        (2, False, "(other cutovers held it (cutover.maxConcurrent), or await_cutover did not run while it could start)"),
        (None, True, "(approved too late, or await_cutover did not run while it could start)"),
        (2, True, "(other cutovers held it (cutover.maxConcurrent), or approved too late, or await_cutover did not run while it could start)"),
    ],
    ids=["noLimit", "maxConcurrent", "approvedNoLimit", "approvedMaxConcurrent"],
)
def test_a_missed_window_names_maxconcurrent_only_where_the_plan_sets_it_and_a_late_approval_only_where_one_is_on_record(max_concurrent, approved, why):
    """approved: the window's approval is on record, written after its last fitting start (02:15 for 45 minutes; the
    AwaitingApproval event said "before" then), the record bearing no time. Was: "(await_cutover did not run while it
    could start)" alone, sending a person after an Airflow outage that never was."""
    approval = ApprovalSettings(True, APPROVERS, "airflowVariable") if approved else ApprovalSettings()
    missed = decide_cutover(
        "db", CutoverSettings(windows=(SATURDAY_NIGHT,), expected_minutes=45, approval=approval), utc(2026, 12, 6, 2, 31),
        record("approve") if approved else None, waiting_since=utc(2026, 12, 5, 20), max_concurrent=max_concurrent
    )
    assert missed.status == "WindowMissed"
    assert why in missed.message, missed.message


def test_max_concurrent_holds_a_fitting_window_until_a_place_is_free():
    settings = CutoverSettings(windows=(SATURDAY_NIGHT,))
    held = decide_cutover("db", settings, utc(2026, 12, 5, 22), in_progress=2, max_concurrent=2)
    assert (held.action, held.status, held.until) == (WAIT, "WaitingForWindow", None)
    assert "2 cutover(s) in progress (cutover.maxConcurrent 2)" in held.message
    free = decide_cutover("db", settings, utc(2026, 12, 5, 22), in_progress=1, max_concurrent=2)
    assert (free.action, free.status) == (GO, "Succeeded")


@pytest.mark.parametrize(
    "now, stored, status",
    [
        (utc(2026, 12, 3, 12), record("approve"), "WaitingForWindow"),  # no window fits
        (utc(2026, 12, 6, 2, 31), None, "WindowMissed"),
        (utc(2026, 12, 5, 22), None, "AwaitingApproval"),
        (utc(2026, 12, 5, 22), record("reject"), "Rejected"),
    ],
)
def test_the_cutovers_in_progress_are_counted_only_where_the_count_decides(now, stored, status):
    """Counting them reads DMS's list (`cutover_steps.cutovers_in_progress`): not while a window or an approval holds
    the database anyway, whatever the count; the decision and its words are those of a count of 0."""
    def not_to_be_counted():
        raise AssertionError("counted the cutovers in progress for a decision they cannot change")

    since = utc(2026, 12, 5, 12)
    counted = decide_cutover("db", WITH_APPROVAL, now, stored, not_to_be_counted, 1, since)
    assert counted == decide_cutover("db", WITH_APPROVAL, now, stored, 0, 1, since) and counted.status == status
    assert decide_cutover("db", WITH_APPROVAL, utc(2026, 12, 5, 22), record("approve"), lambda: 1, 1).message.startswith(
        "1 cutover(s) in progress (cutover.maxConcurrent 1): db waits in window"
    )


def test_without_windows_approval_names_any_time_and_a_rejection_waits_for_a_new_record():
    settings = CutoverSettings(approval=ApprovalSettings(True, APPROVERS, "airflowVariable"))
    asked = decide_cutover("db", settings, utc(2026, 12, 1))
    assert (asked.action, asked.window_key, asked.closes_at) == (ASK, "any", None)
    go = decide_cutover("db", settings, utc(2026, 12, 1), record("approve", window="any"))
    assert (go.action, go.closes_at) == (GO, None)
    rejected = decide_cutover("db", settings, utc(2026, 12, 1), record("reject", window="any"))
    assert (rejected.action, rejected.status, rejected.until) == (WAIT, "Rejected", None)
    # was: "no window of the plan fits any more: add one to the plan (or clear the rejection)", for a plan
    # without windows, and no command
    assert rejected.message.endswith("it keeps replicating; no window to wait for (the plan gives none): clear the "
                                     "rejection to ask the approvers again, airflow variables set migration_cutover_approval__db ''")
    assert decide_cutover("db", settings, utc(2026, 12, 1), "").action == ASK


def test_of_two_windows_the_date_window_comes_first_at_christmas():
    settings = CutoverSettings(windows=(SATURDAY_NIGHT, CHRISTMAS_EVE))
    decision = decide_cutover("db", settings, utc(2026, 12, 21))
    assert decision.until == utc(2026, 12, 25, 1) and decision.opening.window == CHRISTMAS_EVE
    assert decide_cutover("db", settings, utc(2026, 12, 25, 2)).action == GO


def test_when_no_window_will_ever_fit_it_says_so():
    decision = decide_cutover("db", CutoverSettings(windows=(CHRISTMAS_EVE,)), utc(2027, 1, 1))
    assert decision.action == WAIT and decision.until is None and "no window of the plan fits any more" in decision.message


def test_an_approver_with_a_display_name_is_named_name_id_and_matched_by_id():
    """An approver of the plan with a display name (Entra ID sign-in names users by object id): every message
    names them `Alice Example (5e1f...)`; the record's `by` and the command's stay the id, matched without case."""
    alice = Approver("5e1f0c2a-7b3d-4c5e-9f6a-1b2c3d4e5f60", "Alice Example")
    named = CutoverSettings(windows=(SATURDAY_NIGHT,), approval=ApprovalSettings(True, (alice, Approver("bob@contoso.com")), "hitl"))
    now = utc(2026, 12, 5, 22)
    by_id = record("approve", by=alice.id.upper())
    asked = decide_cutover("db", named, now)
    assert "awaits approval by one of Alice Example (5e1f0c2a-7b3d-4c5e-9f6a-1b2c3d4e5f60), bob@contoso.com before" in asked.message
    assert approval_command("db", SAT_OPENING, alice.id) in asked.message, "the command writes the id"
    assert decide_cutover("db", named, now, by_id).message.endswith("(approved by Alice Example (5E1F0C2A-7B3D-4C5E-9F6A-1B2C3D4E5F60))")
    rejected = decide_cutover("db", named, now, record("reject", by=alice.id))
    assert "rejected by Alice Example (5e1f0c2a-7b3d-4c5e-9f6a-1b2c3d4e5f60): it keeps replicating" in rejected.message
    passed = window_missed("db", named, utc(2026, 12, 6, 4), record("reject", by=alice.id), utc(2026, 12, 5, 20), None)
    assert passed.endswith("(rejected by Alice Example (5e1f0c2a-7b3d-4c5e-9f6a-1b2c3d4e5f60))")
    # A display name is no id: a record by it is someone else's.
    by_name = decide_cutover("db", named, now, record("approve", by="Alice Example"))
    assert by_name.action == ASK and ("the approval record by Alice Example is ignored: not one of the approvers "
                                      "(Alice Example (5e1f0c2a-7b3d-4c5e-9f6a-1b2c3d4e5f60), bob@contoso.com)") in by_name.message


def test_parse_record():
    assert parse_record(None) == (None, None)
    parsed, problem = parse_record({"window": SAT_OPENING, "decision": "APPROVE", "by": "bob"})
    assert problem is None and parsed.decision == "approve"


def test_the_rendered_plan_carries_each_database_cutover_and_which_databases_are_gated():
    from conftest import database_entry, plan_with_databases
    from migration_orchestration_lib.plan import PlanError, parse_plan

    cutover = {
        "windows": [{"timeZone": "Europe/Berlin", "days": ["Sat"], "start": "22:00", "durationMinutes": 360}],
        "expectedMinutes": 45,
        "approval": {"required": True, "approvers": [{"id": "alice@contoso.com", "name": "Alice Example"}, "bob"], "channel": "airflowVariable"},
    }
    document = plan_with_databases(
        [
            database_entry("gated", "Sales", cutover=cutover),
            database_entry("copy", "Hr", target="db-prod", allowSourceWritesDuringCopy=True),
            database_entry("plain", "Crm"),
        ]
    )
    plan = parse_plan(document)
    assert plan.database("gated").cutover.windows == (SATURDAY_NIGHT,)
    assert plan.database("gated").cutover.expected_minutes == 45
    assert plan.database("gated").cutover.approval.approvers == (Approver("alice@contoso.com", "Alice Example"), Approver("bob"))
    assert [plan.is_gated(d) for d in plan.databases] == [True, False, False]
    document["cutover"] = {"maxConcurrent": 1}
    plan = parse_plan(document)
    assert [plan.is_gated(d) for d in plan.databases] == [True, False, True], "maxConcurrent gates what freezes its source"
    document["databases"][0]["cutover"]["approval"]["approvers"][0].pop("id")
    with pytest.raises(PlanError, match=r"databases\[0\]\.cutover\.approval\.approvers\[0\]: "):
        parse_plan(document)
    document["databases"][0]["cutover"]["approval"]["approvers"] = ["alice@contoso.com"]
    document["databases"][0]["cutover"]["windows"][0].pop("start")
    with pytest.raises(PlanError, match=r"databases\[0\]\.cutover\.windows\[0\]"):
        parse_plan(document)


def test_an_approval_counts_only_for_its_opening_never_for_an_overlapping_or_adjacent_one():
    """Saturday 22:00-24:00 approved; Saturday 23:00-01:00 (UTC) overlaps it. Before 23:00 the approval
    goes; from 23:00 the gate asks for the opening closing last, so the approval for the first, though
    that one still fits, no longer lets the cutover go (held meanwhile by maxConcurrent, it must be
    approved again). Adjacent windows alike: the approval never carries over."""
    early = Window(time_zone="UTC", days=("Sat",), start="22:00", duration_minutes=120)
    late = Window(time_zone="UTC", days=("Sat",), start="23:00", duration_minutes=120)
    settings = CutoverSettings(windows=(early, late), approval=ApprovalSettings(True, APPROVERS, "airflowVariable"))
    approved = record("approve", window="2026-12-05T22:00:00Z")
    assert decide_cutover("db", settings, utc(2026, 12, 5, 22, 20), approved).action == GO
    overlapped = decide_cutover("db", settings, utc(2026, 12, 5, 23, 5), approved)
    assert (overlapped.action, overlapped.window_key) == (ASK, "2026-12-05T23:00:00Z")
    assert "for window 2026-12-05T22:00:00Z is ignored" in overlapped.message
    adjacent = CutoverSettings(windows=(Window(time_zone="UTC", days=("Sat",), start="22:00", duration_minutes=60),
                                        Window(time_zone="UTC", days=("Sat",), start="23:00", duration_minutes=60)),
                               approval=ApprovalSettings(True, APPROVERS, "airflowVariable"))
    assert decide_cutover("db", adjacent, utc(2026, 12, 5, 23, 5), approved).action == ASK


def test_a_rejection_in_the_last_window_waits_only_until_that_window_stops_fitting():
    """Was: `until` None (no later window), so the rehearsal clock jumped to its horizon and a real run poked on
    for good. Now the decision changes once the window stops fitting (await_cutover then fails: no window left)."""
    settings = CutoverSettings(windows=(CHRISTMAS_EVE,), approval=ApprovalSettings(True, APPROVERS, "airflowVariable"))
    decision = decide_cutover("db", settings, utc(2026, 12, 25, 2), record("reject", window="2026-12-25T01:00:00Z"))
    assert (decision.action, decision.status) == (WAIT, "Rejected")
    assert decision.until == utc(2026, 12, 25, 6, 30, 1), "07:00Z close minus 30 expected minutes, then one second"
    assert "no later window of the plan fits: clear the rejection before 2026-12-25T06:30:01Z" in decision.message
    # the command that clears it, as every other record's message prints one (was: none printed)
    assert "(airflow variables set migration_cutover_approval__db ''; the approvers are asked again)" in decision.message
    cleared = decide_cutover("db", settings, utc(2026, 12, 25, 2), "")  # what that command leaves: an empty Variable
    assert (cleared.action, cleared.status) == (ASK, "AwaitingApproval")
    assert "await_cutover fails" in decision.message
