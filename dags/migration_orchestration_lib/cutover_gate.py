"""Whether a database may start its cutover now: one pure decision, shared by both approval channels.

`decide_cutover(...)` is given the database's cutover settings, the time, its approval record (or
None), how many other cutovers are in progress in the world (or how to count them: counted only
where the count decides, a window fitting now and the approval given or not needed), and since when
this wait runs; it says one of:
- `wait` until a time (or the next poke), with why: no window fits (`WaitingForWindow`, or
  `WindowMissed` when one passed while this database waited), this window was rejected
  (`Rejected`), or `cutover.maxConcurrent` cutovers are in progress (`WaitingForWindow`);
- `ask` for approval of the opening that fits now, before `closes_at` (its last fitting start);
- `go`: the cutover may start; `closes_at` is the window's close (None without windows).
It never says "fail" or "roll back": a rejection or a missed window waits for the next window. Once no window
can start the cutover any more, `await_cutover` fails before asking it (`cutover_steps.every_window_passed`).
The `await_cutover` step (channel airflowVariable) and the HITL operator (channel hitl,
`cutover_hitl`) both call it on every poke, deciding afresh from the record and the world.

The approval record (the durable truth on both channels) is the Airflow Variable
`migration_cutover_approval__<database>` = `{"window": <opening, ISO UTC>, "decision":
"approve"|"reject", "by": <approver's id>}`; it counts only for the window open now and when `by` is
one of the approvers' ids (case-insensitive). Without windows, `window` is `"any"`. Messages name an
approver as `name (id)` where the plan gives a name.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Optional, Sequence, Tuple, Union

from migration_orchestration_lib import operator_commands
from migration_orchestration_lib.cutover_windows import Opening, Window, fitting_at, iso_utc, next_fit, openings_around

APPROVAL_VARIABLE_PREFIX = "migration_cutover_approval__"
ANY_TIME = "any"  # the `window` of an approval record when the database has no windows
WAIT, ASK, GO = "wait", "ask", "go"
DECISIONS = ("approve", "reject")


@dataclass(frozen=True)
class Approver:
    """Who may approve: `id` is the Airflow user name matched and assigned (with Entra ID sign-in, the
    object id); `name`, where the plan gives one, is only shown to people."""

    id: str
    name: str = ""

    def __str__(self) -> str:
        return "%s (%s)" % (self.name, self.id) if self.name else self.id


@dataclass(frozen=True)
class ApprovalSettings:
    required: bool = False
    approvers: Tuple[Approver, ...] = ()
    channel: str = "airflowVariable"  # hitl | airflowVariable


@dataclass(frozen=True)
class CutoverSettings:
    """A database's resolved `cutover` from the rendered plan (plan defaults merged in)."""

    windows: Tuple[Window, ...] = ()
    expected_minutes: int = 30
    approval: ApprovalSettings = ApprovalSettings()


@dataclass(frozen=True)
class ApprovalRecord:
    window: str
    decision: str
    by: str

    def to_json(self) -> str:
        return json.dumps({"window": self.window, "decision": self.decision, "by": self.by})


@dataclass(frozen=True)
class GateDecision:
    action: str  # wait | ask | go
    status: str  # the await_cutover event's status
    message: str
    until: Optional[datetime] = None  # wait: when the decision can change by time alone (None: next poke); ask: closes_at
    opening: Optional[Opening] = None  # the window asked about or gone in
    closes_at: Optional[datetime] = None  # ask: approval needed before it; go: the window's close

    @property
    def window_key(self) -> str:
        return self.opening.key if self.opening else ANY_TIME


def approval_variable(database_name: str) -> str:
    return APPROVAL_VARIABLE_PREFIX + database_name


def approval_command(database_name: str, window_key: str, approver: str) -> str:
    """The one command an operator runs to approve (channel airflowVariable)."""
    record = {"window": window_key, "decision": "approve", "by": approver}
    # Compact JSON, quoted for a POSIX shell (an approver's name may hold spaces or quotes).
    return operator_commands.variables_set(approval_variable(database_name), json.dumps(record, separators=(",", ":")))


def _has_record(raw: Any) -> bool:
    """Anything stored: a Variable never set or emptied holds no record."""
    return raw is not None and raw != ""


def parse_record(raw: Any) -> Tuple[Optional[ApprovalRecord], Optional[str]]:
    """A stored record, or (None, why it is ignored). `raw`: the Variable's text or a mapping."""
    if not _has_record(raw):
        return None, None
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
        record = ApprovalRecord(window=str(value["window"]), decision=str(value["decision"]).lower(), by=str(value["by"]))
    except (ValueError, TypeError, KeyError) as error:
        return None, "the approval record is not {\"window\", \"decision\", \"by\"} JSON (%s)" % error
    if record.decision not in DECISIONS:
        return None, "the approval record's decision %r is neither approve nor reject" % record.decision
    return record, None


def decide_cutover(
    database_name: str,
    cutover: CutoverSettings,
    now: datetime,
    record: Any = None,
    in_progress: Union[int, Callable[[], int]] = 0,
    max_concurrent: Optional[int] = None,
    waiting_since: Optional[datetime] = None,
) -> GateDecision:
    """The gate (see the module's docstring). `record`: the stored approval record (raw text,
    mapping or ApprovalRecord); `in_progress`: other databases' cutovers in progress now, or a
    function counting them, called only under `max_concurrent` once window and approval let it go
    (the count reads DMS's list: no read while it cannot change the answer)."""
    windows, expected = cutover.windows, cutover.expected_minutes
    opening: Optional[Opening] = None
    if windows:
        opening = fitting_at(windows, now, expected)
        if opening is None:
            return _no_window_fits(database_name, cutover, now, record, waiting_since, max_concurrent)
    key = opening.key if opening else ANY_TIME
    where = opening.describe() if opening else "any time (no window)"
    if cutover.approval.required:
        decision, ignored = _decision_for(record, key, cutover.approval.approvers)
        if decision is not None and decision.decision == "reject":
            passes = opening.last_start(expected) + timedelta(seconds=1) if opening else None
            after = next_fit(windows, passes, expected) if passes else None
            clear = operator_commands.variables_set(approval_variable(database_name))  # an empty record: asked again
            if after:
                then = _next_words(after)
            elif passes is None:  # no windows: only a new record decides
                then = "no window to wait for (the plan gives none): clear the rejection to ask the approvers again, %s" % clear
            else:
                then = ("no later window of the plan fits: clear the rejection before %s (%s; the approvers are asked again), "
                        "or add a window to the plan; after that await_cutover fails" % (iso_utc(passes), clear))
            return GateDecision(
                WAIT,
                "Rejected",
                "cutover of %s in window %s rejected by %s: it keeps replicating; %s"
                % (database_name, where, _who(decision, cutover.approval.approvers), then),
                # the last window: the decision changes once it passes (await_cutover fails then)
                until=after[0] if after else passes,
                opening=opening,
            )
        if decision is None:
            closes = opening.last_start(expected) if opening else None
            return GateDecision(
                ASK,
                "AwaitingApproval",
                "%s is ready for cutover in window %s and awaits approval by one of %s%s. Approve in the Airflow UI "
                "(Required actions, channel hitl), or: %s (Data Factory, Fabric: Admin > Variables)%s"
                % (
                    database_name,
                    where,
                    listed(cutover.approval.approvers),
                    " before %s" % iso_utc(closes) if closes else "",
                    approval_command(database_name, key, cutover.approval.approvers[0].id if cutover.approval.approvers else "<approver>"),
                    "; %s" % (ignored or _no_record(database_name)),
                ),
                until=closes,
                opening=opening,
                closes_at=closes,
            )
    if max_concurrent is not None:
        count = in_progress() if callable(in_progress) else in_progress
        if count >= max_concurrent:
            return GateDecision(
                WAIT,
                "WaitingForWindow",
                "%d cutover(s) in progress (cutover.maxConcurrent %d): %s waits in window %s"
                % (count, max_concurrent, database_name, where),
                opening=opening,
            )
    approved = cutover.approval.required
    approvers = cutover.approval.approvers
    return GateDecision(
        GO,
        "Approved" if approved else "Succeeded",
        "%s may cut over in window %s%s"
        % (database_name, where, " (approved by %s)" % _who(_decision_for(record, key, approvers)[0], approvers) if approved else ""),
        opening=opening,
        closes_at=opening.closes if opening else None,
    )


def _no_window_fits(
    database_name: str, cutover: CutoverSettings, now: datetime, record: Any, waiting_since: Optional[datetime], max_concurrent: Optional[int]
) -> GateDecision:
    after = next_fit(cutover.windows, now, cutover.expected_minutes)
    missed = _missed_since(cutover, now, waiting_since)
    rejected = missed is not None and cutover.approval.required and _rejects(record, missed.key, cutover.approval.approvers)
    if missed is not None and not rejected:
        return GateDecision(
            WAIT,
            "WindowMissed",
            "%s: it keeps replicating; %s" % (_passed_while_waiting(database_name, cutover, missed, record, max_concurrent), _next_words(after)),
            until=after[0] if after else None,
            opening=missed,
        )
    return GateDecision(
        WAIT,
        "WaitingForWindow",
        "%s is ready for cutover and keeps replicating; %s" % (database_name, _next_words(after)),
        until=after[0] if after else None,
        opening=after[1] if after else None,
    )


def window_missed(
    database_name: str, cutover: CutoverSettings, now: datetime, record: Any, waiting_since: Optional[datetime], max_concurrent: Optional[int]
) -> Optional[str]:
    """The latest window whose last fitting start passed while the database waited, and why, as its WindowMissed
    event says it (a rejection too: its Rejected event said so); None where none passed meanwhile."""
    missed = _missed_since(cutover, now, waiting_since)
    return _passed_while_waiting(database_name, cutover, missed, record, max_concurrent) if missed is not None else None


def _passed_while_waiting(database_name: str, cutover: CutoverSettings, missed: Opening, record: Any, max_concurrent: Optional[int]) -> str:
    decision = _decision_for(record, missed.key, cutover.approval.approvers)[0] if cutover.approval.required else None
    if cutover.approval.required and decision is None:
        # no record at all: name the key read (a record ignored, say for another window, the AwaitingApproval events said why)
        why = "no approval came in time" + ("" if _has_record(record) else ": %s" % _no_record(database_name))
    elif decision is not None and decision.decision == "reject":
        why = "rejected by %s" % _who(decision, cutover.approval.approvers)
    else:
        # What holds a fitting, approved cutover: the plan's maxConcurrent, an approval given only after the window's
        # last fitting start (the record bears no time), or the gate not asked in time (Airflow down, the task retrying).
        causes = ["other cutovers held it (cutover.maxConcurrent)"] if max_concurrent is not None else []
        causes += ["approved too late"] if decision is not None else []
        why = ", or ".join(causes + ["await_cutover did not run while it could start"])
    return "window %s passed while %s waited (%s)" % (missed.describe(), database_name, why)


def _missed_since(cutover: CutoverSettings, now: datetime, waiting_since: Optional[datetime]) -> Optional[Opening]:
    """The latest opening whose last fitting start passed while this database waited."""
    if waiting_since is None:
        return None
    passed = [
        o
        for w in cutover.windows
        for o in openings_around(w, now)
        if waiting_since <= o.last_start(cutover.expected_minutes) < now and o.opens <= o.last_start(cutover.expected_minutes)
    ]
    return max(passed, key=lambda o: o.last_start(cutover.expected_minutes), default=None)


def _no_record(database_name: str) -> str:
    """What the gate read where no approval record is: the one key it reads (a Variable set under a misspelt key, say
    `migration_cutover_approval_<database>` or another database name, is never read, and nothing else would tell)."""
    return "the Airflow Variable %s holds no approval record; one set under any other key is never read" % approval_variable(database_name)


def _next_words(after: Optional[Tuple[datetime, Opening]]) -> str:
    if after is None:
        return "no window of the plan fits any more: add one to the plan (or clear the rejection)"
    return "next window %s, cutover from %s" % (after[1].describe(), iso_utc(after[0]))


def listed(approvers: Sequence[Approver]) -> str:
    """The approvers as people read them: `name (id)`, or the id where the plan gives no name."""
    return ", ".join(map(str, approvers))


def _approver(by: str, approvers: Sequence[Approver]) -> Optional[Approver]:
    """The approver whose id is `by` (case-insensitive): a record's `by` is an id, never a display name."""
    return next((approver for approver in approvers if approver.id.lower() == by.lower()), None)


def _who(decision: ApprovalRecord, approvers: Sequence[Approver]) -> str:
    """Who decided, as the record writes them, after the plan's display name for them where it gives one."""
    approver = _approver(decision.by, approvers)
    return "%s (%s)" % (approver.name, decision.by) if approver and approver.name else decision.by


def _decision_for(record: Any, key: str, approvers: Sequence[Approver]) -> Tuple[Optional[ApprovalRecord], Optional[str]]:
    """The record if it counts for window `key`, else (None, why it was ignored)."""
    parsed, problem = (record, None) if isinstance(record, ApprovalRecord) else parse_record(record)
    if parsed is None:
        return None, problem
    if parsed.window != key:
        return None, "the approval record for window %s is ignored: the window open now is %s" % (parsed.window, key)
    if _approver(parsed.by, approvers) is None:
        return None, "the approval record by %s is ignored: not one of the approvers (%s)" % (parsed.by, listed(approvers))
    return parsed, None


def _rejects(record: Any, key: str, approvers: Sequence[Approver]) -> bool:
    decision, _ = _decision_for(record, key, approvers)
    return decision is not None and decision.decision == "reject"
