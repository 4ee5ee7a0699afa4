"""The cutover gate in the DAG: `await_cutover`, the window checks of the freezing steps, admission.

`await_cutover` (gated databases only, right before the first task that freezes the source) asks
`cutover_gate.decide_cutover` on every poke, from the clock, the approval record and the cutovers
in progress in the world (DMS's list read only where the window fits and the approval is given), and
waits (`CutoverWait`: its event says WaitingForWindow, AwaitingApproval, Rejected or WindowMissed)
until it may go; it never fails on a rejection or a missed window, but fails (`StepFailure`, naming
the windows and `expectedMinutes`) as soon as no window of the plan can start the cutover any more
(date windows all past, or what is left of them too short),
unless the database's own cutover is in progress or live: the rollback then leaves an active migration
replicating (`rollback`). Its return value carries the window's close for the steps after it:
- online: freeze_source does not freeze once the window no longer fits, and a freeze seen landed
  pokes after its admission (Data Factory) that no longer fits is undone the same way (a SqlDb
  copy's too, before the copy starts); final_backup and cutover stop once the window closed before
  the cutover was requested. Both raise `WindowMissed`: the
  rollback task then goes back to replicating (source writable, migration and target kept);
- offline and SqlDb: an overrun is reported (`WindowMissed` on the step that ends the copy), not
  aborted: stopping an offline copy after the freeze would spend the downtime for nothing.
`cutover.maxConcurrent` counts cutovers in progress from the world (DMS `completing`, or a source
frozen while DMS still works on its migration: `MigrationStatus.still_runs_in_dms`), never from Airflow's history; the freezing step
counts again in the admission pool (one slot), so two databases never take the same place. One rule for
time: a wait for the gate (a window, an approval, a place), before anything is frozen, never fails at a
deadline (whose rollback would cancel the replication); the deadline bounds the work after the gate.
`await_cutover` has none; the tasks after it get its end + `timeoutMinutes`, which counts as a window's
close for the freeze: a freezing step freezes only while the window and the deadline both leave the cutover
its `expectedMinutes`, a place free or not, and every wait of it before the freeze (for a place, a read
through Data Factory, Azure unavailable, DMS capacity: `check_room_before_freeze`) goes on only while they
still would; otherwise it raises `WindowMissed` (nothing frozen: back to replicating, waiting for the gate in
a later run). Once its freeze is submitted its waits are the freeze's own (`check_freeze_landed_in_time`). Through
Data Factory a freeze finishes pokes later, after the slot was given back, so an admission is also
recorded (`services.records`) and counted until the source is seen frozen or the database's
`expectedMinutes` pass. A cutover resumed after a crash goes on only in the window its approval was
for; `release` ends a cutover's admission and consumes its approval.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Optional

from migration_orchestration_lib import migration_stage as stages
from migration_orchestration_lib import source_freeze
from migration_orchestration_lib.airflow_compat import utc_now
from migration_orchestration_lib.capacity import migrations_by_database
from migration_orchestration_lib.cutover_gate import ANY_TIME, GO, ApprovalRecord, decide_cutover, parse_record, window_missed
from migration_orchestration_lib.cutover_windows import Opening, iso_utc, next_fit, open_at, openings_around, parse_iso_utc
from migration_orchestration_lib.migration_stage import ForeignMigrationError, Standing, standing, standing_of
from migration_orchestration_lib.migration_status import MigrationStatus
from migration_orchestration_lib.step_context import (
    CLOSES_KEY,
    DEADLINE_KEY,
    NO_WINDOW_LEFT_KEY,
    CutoverWait,
    SourceHidden,
    StepContext,
    StepFailure,
    StepPending,
    StepResult,
    StillWaiting,
    WINDOW_KEY,
    WindowMissed,
    delete_scratch_record,
)


def refuse_when_every_window_passed(ctx: StepContext, now: Standing, source: Any) -> None:
    """Preflight: a database whose cutover windows have all passed (each a date range in which a cutover of its
    `expectedMinutes` can no longer start) fails at once, naming them, instead of replicating for days towards an
    `await_cutover` no window ever lets go. Not one already live, nor one whose source the DAG froze: that run
    must still be able to finish, or roll back. `source`: the source's state, read in this poke."""
    if now.is_live:
        return
    passed = every_window_passed(ctx.database, ctx.services.clock.now())
    if passed is None or source_freeze.frozen_by_dag(ctx, ctx.database, source):
        return
    raise StepFailure("%s. Nothing is started or frozen: add a window to the plan (cutover.windows) and deploy it, then run again" % passed)


def every_window_passed(database: Any, at: datetime) -> Optional[str]:
    """Where `database` has cutover windows and none can start a cutover of its `expectedMinutes` at or after `at`
    any more (date windows all past, or what is left of them too short): says so, naming them; else None. Weekly
    windows always come again."""
    windows, expected = database.cutover.windows, database.cutover.expected_minutes
    if not windows or next_fit(windows, at, expected) is not None:
        return None
    return "every cutover window of %s is in the past at %s (none leaves a cutover of expectedMinutes %d any more): %s" % (
        database.name, iso_utc(at), expected, "; ".join(window.describe() for window in windows))


def await_cutover(ctx: StepContext) -> StepResult:
    database, services, plan = ctx.database, ctx.services, ctx.plan
    clock = services.clock
    now_standing = standing(ctx)
    if now_standing.is_canceling_or_ended:
        raise StepFailure("DMS migration of %s %s" % (database.name, now_standing.describe_stop()))
    if database.restores_backups and now_standing.stage == stages.NOT_STARTED:
        raise StepFailure("DMS has no migration of %s into %s" % (database.source_database, database.target_database))
    now = clock.now()
    if _own_cutover_in_progress(ctx, now_standing):
        opening = _latest_opening(ctx, now)
        if database.cutover.approval.required and not now_standing.is_live:
            _check_resumed_in_approved_window(ctx, opening)
        # Frozen before any window opened: no window covers it, so it counts as closed now.
        closes = opening.closes if opening else (now if database.cutover.windows else None)
        if not now_standing.is_live:  # live: its cutover is over, an earlier run's (the rehearsal timed it then)
            clock.hold(database.name, None, closes)
        return StepResult(
            "the cutover of %s is already in progress (%s): continuing" % (database.name, now_standing.describe()),
            return_value=_going(ctx, closes, opening.key if opening else None),
        )
    passed = every_window_passed(database, now)
    if passed is not None:  # waiting would wait for good: fail now, this run froze nothing (the rollback cancels nothing)
        # Why the last window passed, as the earlier events said: the Failed event is the one alerted on.
        record = services.approvals.get(database.name) if database.cutover.approval.required else None
        missed = window_missed(
            database.name, database.cutover, now, record, clock.waiting_since(database.name, ctx.first_poke or now), plan.max_concurrent_cutovers
        )
        passed += "; %s" % missed if missed else ""
        clock.release(database.name)
        ctx.push_for_this_run(NO_WINDOW_LEFT_KEY, passed)
        # Not "nothing is frozen": an earlier run's freeze for a SqlDb copy DMS never took may hold the source.
        raise StepFailure(
            "%s: no window can start its cutover, so await_cutover stops waiting and fails. It froze nothing; the "
            "rollback cancels and removes nothing (a migration replicating keeps replicating, its target kept) and makes "
            "the source writable again only where an earlier run's freeze by the DAG still holds it: add a window to the "
            "plan (cutover.windows) and deploy it, then run again" % passed
        )
    horizon = clock.horizon()
    if horizon is not None and now >= horizon:
        clock.release(database.name)
        raise StillWaiting(
            "%s still waiting for the next window at the rehearsal's horizon %s (MIGRATION_SIMULATE_UNTIL): "
            "it keeps replicating" % (database.name, iso_utc(horizon))
        )
    record = services.approvals.get(database.name) if database.cutover.approval.required else None
    decision = decide_cutover(
        database.name,
        database.cutover,
        now,
        record,
        lambda: cutovers_in_progress(ctx, now),
        plan.max_concurrent_cutovers,
        clock.waiting_since(database.name, ctx.first_poke or now),
    )
    if decision.action == GO:
        clock.hold(database.name, decision.window_key, decision.closes_at)
        return StepResult(decision.message, status=decision.status, return_value=_going(ctx, decision.closes_at, decision.window_key))
    until = decision.until
    answer = services.simulated_approvals.get(database.name)
    if decision.status == "AwaitingApproval" and answer:  # rehearsal: the simulated approver answers at once
        approver = database.cutover.approval.approvers[0].id
        services.approvals.put(database.name, ApprovalRecord(window=decision.window_key, decision=answer, by=approver))
        until = now
    raise CutoverWait(decision.status, decision.message, until, clock.wait(database.name, until))


def _going(ctx: StepContext, closes: Optional[datetime], window: Optional[str] = None) -> dict:
    # The steps after the gate get a deadline of their own: the wait may have lasted days.
    return {
        CLOSES_KEY: iso_utc(closes) if closes else None,
        WINDOW_KEY: window,
        DEADLINE_KEY: (utc_now() + timedelta(minutes=ctx.database.timeout_minutes)).isoformat(),
    }


def _latest_opening(ctx: StepContext, now: datetime) -> Optional[Opening]:
    """The window open now, else the last one that opened (a cutover resumed after a crash is
    checked against, and names its final backup after, the window it began in)."""
    windows = ctx.database.cutover.windows
    if not windows:
        return None
    current = open_at(windows, now)
    if current:
        return current[0]
    opened = [o for w in windows for o in openings_around(w, now) if o.opens <= now]
    return max(opened, key=lambda o: o.opens) if opened else None


def _check_resumed_in_approved_window(ctx: StepContext, opening: Optional[Opening]) -> None:
    """A frozen source from a crashed run goes on only in the window its approval was for; in a later
    one nobody approved the downtime, so it goes back to replicating (rollback unfreezes it)."""
    record, _ = parse_record(ctx.services.approvals.get(ctx.database.name))
    window = opening.key if opening else ANY_TIME
    if record is None or record.decision != "approve" or record.window != window:
        approved = "window %s" % record.window if record is not None and record.decision == "approve" else "no approval on record"
        raise WindowMissed(
            "the cutover of %s began on an approval (%s) that is not for the window open now (%s): the source is made "
            "writable again, migration %s keeps replicating and waits for an approval"
            % (ctx.database.name, approved, window, ctx.operation_id)
        )


def _own_cutover_in_progress(ctx: StepContext, now: Standing) -> bool:
    database = ctx.database
    if now.is_live:
        return True
    if not database.restores_backups:
        return now.is_active  # a SqlDb copy is its cutover
    return now.is_active and _frozen(ctx, database, "own-source")


def _frozen(ctx: StepContext, database, purpose: str, hidden_is_frozen: bool = False) -> bool:
    """Frozen by the DAG (`source_freeze`): a source restricted by design is no cutover in progress. A source hidden
    from the DAG's login (`SourceHidden`) fails its own database's step; another database's, whose migration DMS
    works on, counts as frozen (`hidden_is_frozen`): never more cutovers at once than `cutover.maxConcurrent`."""
    try:
        return source_freeze.frozen_by_dag(ctx, database, ctx.sql.source_state(database, purpose))
    except SourceHidden:
        if hidden_is_frozen:
            return True
        raise


def cutovers_in_progress(ctx: StepContext, now: datetime) -> int:
    """Other databases of the plan whose cutover is in progress in the world: DMS completing, or a
    source frozen while DMS still works on its migration (a SqlDb copy that froze its source, too)."""
    statuses = migrations_by_database(ctx.plan, ctx.services.dms.migrations_on_service())
    count = 0
    for other in ctx.plan.databases:
        if other.name == ctx.database.name:
            continue
        stage = _stage_in_flight(other, statuses.get(other.name))
        if stage == stages.COMPLETING or (
            stage is not None and other.freezes_source and _frozen(ctx, other, ctx.afresh("in-progress:%s" % other.name), hidden_is_frozen=True)
        ):
            count += 1
        elif _admitted_lately(ctx, other, now):
            count += 1  # admitted, its freeze not seen yet (or its migration an earlier, ended one)
    return count


def _stage_in_flight(database, status) -> Optional[str]:
    """Where the database's migration DMS still works on stands (`MigrationStatus.still_runs_in_dms`: in flight, still
    canceling, or still copying though its last ARM operation failed; the rollback of either cancels or waits for
    Canceled, the source as it was meanwhile); None where there is none, or where DMS's migration into its target is
    not this plan's (another source database's: no cutover of this plan)."""
    if status is None or not status.still_runs_in_dms:
        return None
    try:
        return standing_of(database, status).stage
    except ForeignMigrationError:
        return None


def _admission_key(ctx: StepContext, database) -> str:
    return "migration_cutover_admitted__%s__%s" % (ctx.plan.name, database.name)


def _admitted_lately(ctx: StepContext, database, now: datetime) -> bool:
    admitted = ctx.services.records.get(_admission_key(ctx, database))
    if not admitted:
        return False
    return now - parse_iso_utc(admitted) < timedelta(minutes=database.cutover.expected_minutes)


def release(ctx: StepContext, consume_approval: bool = True) -> None:
    """A gated database's cutover ended (migrated, back to replicating, rolled back): the simulated
    clock moves on, its admission ends, and its approval is consumed (a later attempt asks again;
    `consume_approval=False` where the cutover never began, so an approval given ahead stays)."""
    database = ctx.database
    if not ctx.plan.is_gated(database):
        return
    ctx.services.clock.release(database.name)
    if ctx.plan.max_concurrent_cutovers is not None:
        delete_scratch_record(lambda: ctx.services.records, _admission_key(ctx, database), "the cutover's admission")
    if consume_approval and database.cutover.approval.required:
        ctx.services.approvals.clear(database.name)


def admit_freeze(ctx: StepContext) -> None:
    """Right before a gated database freezes (in the admission pool): the window and the deadline still leave the
    cutover its `expectedMinutes`, and `cutover.maxConcurrent` still has a place (or, waiting for one, one would
    still come in time: `_check_deadline`). A rehearsal's clock moves on to when the place came (`SimulatedClock.placed`:
    cutovers its gate let go at one time take their places one after the other), and the window is checked then."""
    database, plan = ctx.database, ctx.plan
    if not plan.is_gated(database):
        return
    if not ctx.cutover_gate_passed():  # marked success by hand: no window, approval or place was checked
        raise WindowMissed(
            "await_cutover did not let the cutover of %s go in this run (marked success by hand?): %s not frozen, it "
            "keeps replicating and a new run waits for a window%s. Never mark await_cutover success: clear it"
            % (database.name, database.source_database, " and an approval" if database.cutover.approval.required else "")
        )
    _check_window_fits(ctx)
    now = ctx.services.clock.now()
    if plan.max_concurrent_cutovers is not None:
        in_progress = cutovers_in_progress(ctx, now)
        if in_progress >= plan.max_concurrent_cutovers:
            held = "%d cutover(s) in progress (cutover.maxConcurrent %d)" % (in_progress, plan.max_concurrent_cutovers)
            _check_deadline(ctx, held)
            raise StepPending(held)
        if ctx.services.clock.placed(database.name):  # a rehearsal's clock moved on to the time its place came
            now = ctx.services.clock.now()
            _check_window_fits(ctx)
    _check_deadline(ctx)
    if plan.max_concurrent_cutovers is not None:
        # Before the freeze is submitted: others count this cutover from now on, frozen or not yet.
        ctx.services.records.put(_admission_key(ctx, database), iso_utc(now))
        ctx.services.clock.placed(database.name, admitted=True)


def check_room_before_freeze(ctx: StepContext, waiting: str) -> None:
    """A gated freezing step waits (`waiting`: for a place, a read, Azure, DMS capacity) before anything is
    frozen (`StepContext.freeze_not_begun`): the wait ends with `WindowMissed` once the cutover no longer fits the
    window or the deadline, as a freeze at that moment would not; it never fails at the deadline (whose rollback
    would cancel the replication)."""
    if ctx.plan.is_gated(ctx.database):
        _check_window_fits(ctx, waiting)
        _check_deadline(ctx, waiting)


def _check_window_fits(ctx: StepContext, waiting: Optional[str] = None) -> None:
    database = ctx.database
    now = ctx.services.clock.now()
    closes = ctx.window_closes()
    if closes is not None and now + timedelta(minutes=database.cutover.expected_minutes) > closes:
        raise WindowMissed(
            "%sthe window closes at %s, too soon for a %d-minute cutover from %s: %s not frozen, it keeps replicating "
            "and waits for the next window" % (_while_waiting(ctx, waiting), iso_utc(closes), database.cutover.expected_minutes,
                                               iso_utc(now), database.source_database)
        )


def _check_deadline(ctx: StepContext, waiting: Optional[str] = None) -> None:
    """The deadline (await_cutover's end + `timeoutMinutes`) counts as a window's close for the freeze: none that
    would leave the cutover less than its `expectedMinutes` before it (every wait after the freeze would fail at the
    deadline, and its rollback cancel the replication), a place free or not, nor a wait for one past that moment.
    `WindowMissed`: back to replicating, nothing frozen."""
    database = ctx.database
    deadline = ctx.deadline()
    now = utc_now()  # the deadline is real time (the windows: the clock's)
    expected = database.cutover.expected_minutes
    if deadline is None or now + timedelta(minutes=expected) <= deadline:
        return
    then = "timeoutMinutes (%d) after await_cutover let it go" % database.timeout_minutes
    if now >= deadline:
        why = "the deadline %s (%s) passed before the freeze (now %s)" % (iso_utc(deadline), then, iso_utc(now))
    else:
        why = "the deadline %s (%s) is too soon for a %d-minute cutover from %s" % (iso_utc(deadline), then, expected, iso_utc(now))
    if database.timeout_minutes < expected:
        why += " (timeoutMinutes is shorter than cutover.expectedMinutes (%d): no cutover fits; raise timeoutMinutes)" % expected
    gate = [word for word, gates in (("a window", database.cutover.windows), ("an approval", database.cutover.approval.required),
                                     ("a place", ctx.plan.max_concurrent_cutovers is not None)) if gates]
    raise WindowMissed("%s%s: %s not frozen, it keeps replicating and a new run waits for %s again" % (
        _while_waiting(ctx, waiting), why, database.source_database, " and ".join(gate)))


def _while_waiting(ctx: StepContext, waiting: Optional[str]) -> str:
    return "%s while %s waited to freeze its source: " % (waiting, ctx.database.name) if waiting else ""


def check_freeze_landed_in_time(ctx: StepContext) -> None:
    """A gated freeze found landed on a later poke than its admission (through Data Factory it runs across
    pokes; a queued pipeline or a scheduler down for hours lands it late), or by a later try: the window
    must still fit the cutover, as at the admission. An online restore or a SqlDb copy not started yet goes
    back to replicating (`WindowMissed`: the rollback makes the source writable again). An offline restore
    overruns a window that is still open (reported at its end, `overrun`), but is not finished after it
    closed: the rollback cancels it, then unfreezes (DMS would finish it by itself beside a writable
    source). A cutover already requested goes on."""
    database = ctx.database
    closes = ctx.window_closes()
    if closes is None or not ctx.plan.is_gated(database):
        return
    now = ctx.services.clock.now()
    offline_restore = database.restores_backups and not database.is_online
    if (now < closes) if offline_restore else (now + timedelta(minutes=database.cutover.expected_minutes) <= closes):
        return
    if database.restores_backups and standing(ctx).is_live:
        return
    if offline_restore:
        raise WindowMissed(
            "the freeze of %s landed at %s, after the window closed at %s: the offline migration is not finished "
            "outside its window; it is canceled, then the source made writable again, and a new run waits for the "
            "next window" % (database.source_database, iso_utc(now), iso_utc(closes))
        )
    raise WindowMissed(
        "the freeze of %s landed at %s, too late for a %d-minute cutover in the window closing at %s: the source is "
        "made writable again, the migration keeps replicating and waits for the next window"
        % (database.source_database, iso_utc(now), database.cutover.expected_minutes, iso_utc(closes))
    )


def check_window_open(ctx: StepContext, now_standing: Standing) -> None:
    """Online, source frozen, cutover not requested yet: past the window's close, go back to replicating."""
    closes = ctx.window_closes()
    if closes is None or not ctx.database.is_online or now_standing.is_live:
        return
    now = ctx.services.clock.now()
    if now >= closes:
        raise WindowMissed(
            "the window closed at %s (now %s) before the cutover was requested: the source is made writable again, "
            "migration %s keeps replicating and waits for the next window" % (iso_utc(closes), iso_utc(now), now_standing.operation_id)
        )


def overrun(ctx: StepContext, migration: Optional[MigrationStatus]) -> Optional[str]:
    """Offline, SqlDb (and an online cutover already requested): by how much the copy overran its window, once DMS
    reports `migration` Succeeded. Measured from when DMS ended it (`endedOn`, `MigrationStatus.ended_at`), not from
    when this poke noticed: a long poke interval, a scheduler down for an hour, or a run triggered again after a crash
    before `done` notices a copy that ended inside the window after the close. Where DMS gives no end time (none, or
    none readable), or one later than this clock (clocks apart), from this poke's time, and the message says "noticed"."""
    closes = ctx.window_closes()
    if closes is None:
        return None
    now = ctx.services.clock.now()
    ended = migration.ended_at if migration is not None else None
    if ended is not None and ended <= now:
        at, how = ended, "DMS ended it at %s" % iso_utc(ended)
    else:
        at, how = now, "noticed at %s (DMS gave no end time to measure it by)" % iso_utc(now)
    if at <= closes:
        return None
    return "the cutover overran its window (closed %s) by %d min: %s; reported, not aborted" % (
        iso_utc(closes),
        round((at - closes).total_seconds() / 60),
        how,
    )
