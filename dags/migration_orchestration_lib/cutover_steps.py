"""The cutover gate in the DAG: `await_cutover`, the window checks of the freezing steps, admission.

`await_cutover` (gated databases only, right before the first task that freezes the source) asks
`cutover_gate.decide_cutover` on every poke, from the clock, the approval record and the cutovers
in progress in the world, and waits (`CutoverWait`: its event says WaitingForWindow,
AwaitingApproval, Rejected or WindowMissed) until it may go; it never fails on a rejection or a
missed window. Its return value carries the window's close for the steps after it:
- online: freeze_source does not freeze once the window no longer fits; final_backup and cutover
  stop once the window closed before the cutover was requested. Both raise `WindowMissed`: the
  rollback task then goes back to replicating (source writable, migration and target kept);
- offline and SqlDb: an overrun is reported (`WindowMissed` on the step that ends the copy), not
  aborted: stopping an offline copy after the freeze would spend the downtime for nothing.
`cutover.maxConcurrent` counts cutovers in progress from the world (DMS `completing`, or a source
frozen while its migration has not succeeded), never from Airflow's history; the freezing step
counts again in the admission pool (one slot), so two databases never take the same place.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from migration_orchestration_lib import migration_stage as stages
from migration_orchestration_lib.airflow_compat import utc_now
from migration_orchestration_lib.capacity import migrations_by_database
from migration_orchestration_lib.cutover_gate import GO, ApprovalRecord, decide_cutover
from migration_orchestration_lib.cutover_windows import Opening, iso_utc, open_at, openings_around
from migration_orchestration_lib.database_sql import is_frozen
from migration_orchestration_lib.migration_stage import Standing, standing, standing_of
from migration_orchestration_lib.step_context import (
    CLOSES_KEY,
    DEADLINE_KEY,
    CutoverWait,
    StepContext,
    StepFailure,
    StepPending,
    StepResult,
    StillWaiting,
    WINDOW_KEY,
    WindowMissed,
)


def await_cutover(ctx: StepContext) -> StepResult:
    database, services, plan = ctx.database, ctx.services, ctx.plan
    clock = services.clock
    now_standing = standing(ctx)
    if now_standing.has_ended:
        raise StepFailure("DMS migration of %s ended: %s" % (database.name, now_standing.describe()))
    if database.restores_backups and now_standing.stage == stages.NOT_STARTED:
        raise StepFailure("DMS has no migration of %s into %s" % (database.source_database, database.target_database))
    now = clock.now()
    if _own_cutover_in_progress(ctx, now_standing):
        opening = _latest_opening(ctx, now)
        # Frozen before any window opened: no window covers it, so it counts as closed now.
        closes = opening.closes if opening else (now if database.cutover.windows else None)
        clock.hold(database.name, None, closes)
        return StepResult(
            "the cutover of %s is already in progress (%s): continuing" % (database.name, now_standing.describe()),
            return_value=_going(ctx, closes, opening.key if opening else None),
        )
    horizon = clock.horizon()
    if horizon is not None and now >= horizon:
        clock.release(database.name)
        raise StillWaiting(
            "%s still waiting for the next window at the rehearsal's horizon %s (MIGRATION_SIMULATE_UNTIL): "
            "it keeps replicating" % (database.name, iso_utc(horizon))
        )
    record = services.approvals.get(database.name) if database.cutover.approval.required else None
    in_progress = cutovers_in_progress(ctx, now) if plan.max_concurrent_cutovers is not None else 0
    decision = decide_cutover(
        database.name,
        database.cutover,
        now,
        record,
        in_progress,
        plan.max_concurrent_cutovers,
        clock.waiting_since(database.name, ctx.first_poke or now),
    )
    if decision.action == GO:
        clock.hold(database.name, decision.window_key, decision.closes_at)
        return StepResult(decision.message, status=decision.status, return_value=_going(ctx, decision.closes_at, decision.window_key))
    until = decision.until
    answer = services.simulated_approvals.get(database.name)
    if decision.status == "AwaitingApproval" and answer:  # rehearsal: the simulated approver answers at once
        approver = database.cutover.approval.approvers[0]
        services.approvals.put(database.name, ApprovalRecord(window=decision.window_key, decision=answer, by=approver))
        until = now
    clock.wait(database.name, until)
    raise CutoverWait(decision.status, decision.message, until)


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


def _own_cutover_in_progress(ctx: StepContext, now: Standing) -> bool:
    database = ctx.database
    if now.is_live:
        return True
    if not database.restores_backups:
        return now.is_active  # a SqlDb copy is its cutover
    return now.is_active and _frozen(ctx, database, "own-source")


def _frozen(ctx: StepContext, database, purpose: str) -> bool:
    source = ctx.sql.source_state(database, purpose)
    return source is not None and is_frozen(source)


def cutovers_in_progress(ctx: StepContext, now: datetime) -> int:
    """Other databases of the plan whose cutover is in progress in the world: DMS completing, or a
    source frozen while its migration has not succeeded (a SqlDb copy that froze its source)."""
    statuses = migrations_by_database(ctx.plan, ctx.services.dms.migrations_on_service())
    # SQL reads through Data Factory are adopted by key: a key per poke interval reads afresh.
    bucket = int(utc_now().timestamp() // max(ctx.timing.max_poke_wait.total_seconds(), 2.0))
    count = 0
    for other in ctx.plan.databases:
        status = statuses.get(other.name)
        if other.name == ctx.database.name or status is None or not status.is_in_flight:
            continue
        stage = standing_of(other, status).stage
        if stage == stages.COMPLETING or (other.freezes_source and _frozen(ctx, other, "in-progress:%s:%d" % (other.name, bucket))):
            count += 1
    return count


def admit_freeze(ctx: StepContext) -> None:
    """Right before a gated database freezes (in the admission pool): the window still fits and
    `cutover.maxConcurrent` still has a place."""
    database, plan = ctx.database, ctx.plan
    if not plan.is_gated(database):
        return
    now = ctx.services.clock.now()
    closes = ctx.window_closes()
    if closes is not None and now + timedelta(minutes=database.cutover.expected_minutes) > closes:
        raise WindowMissed(
            "the window closes at %s, too soon for a %d-minute cutover from %s: %s not frozen, it keeps replicating "
            "and waits for the next window" % (iso_utc(closes), database.cutover.expected_minutes, iso_utc(now), database.source_database)
        )
    if plan.max_concurrent_cutovers is not None:
        in_progress = cutovers_in_progress(ctx, now)
        if in_progress >= plan.max_concurrent_cutovers:
            raise StepPending("%d cutover(s) in progress (cutover.maxConcurrent %d)" % (in_progress, plan.max_concurrent_cutovers))


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


def overrun(ctx: StepContext) -> Optional[str]:
    """Offline, SqlDb (and an online cutover already requested): by how much the copy overran its window."""
    closes = ctx.window_closes()
    now = ctx.services.clock.now() if closes is not None else None
    if closes is None or now is None or now <= closes:
        return None
    return "the cutover overran its window (closed %s) by %d min: reported, not aborted" % (
        iso_utc(closes),
        round((now - closes).total_seconds() / 60),
    )
