"""Undo a failed database migration so the source stays authoritative. Idempotent.

Decided from DMS and SQL state, read again in this task:
1. a database this run never worked on (held back by a failed dependency) is left alone;
2. an active migration (copying, ready for cutover) is canceled, and awaited;
3. the target is removed only where `target_removal.decide` allows it, with DMS and the target's
   state read again right before (a live or pre-existing target is never removed);
4. the DAG's own freeze of the source is undone, back to the access recorded before it
   (`source_freeze`: writable, or the restriction the team had chosen, which stays), unless DMS completed the migration and validation
   passed (then `done` succeeded and no rollback runs), or a run declared this migration migrated
   (`handoffs`), or this run validated it (only `done` failed, and an attempt of it whose worker
   lost its heartbeat may still be declaring it), or it had completed with its source frozen before
   this run began (that record may be lost): applications may write to that target by now, and a
   writable source beside it would split them. The rollback then fails, source frozen, for a person
   to decide; so it does where the record of the source's access before the freeze is lost
   (`source_freeze.unknown_freeze`).
A database whose cutover window closed before its cutover was requested (a step raised
`WindowMissed`) goes back to replicating instead: the active migration is not canceled, nothing is
removed, the DAG's freeze is undone; the next run waits for the next window. So does an
active migration whose preflight failed in this run (a runtime briefly offline, say): this run did
nothing to it, and canceling would throw away days of replication.
"""
from __future__ import annotations

from typing import List

from migration_orchestration_lib import cutover_steps, source_freeze, target_removal
from migration_orchestration_lib import migration_stage as stages
from migration_orchestration_lib.handoffs import declared_migrated, handoff_key
from migration_orchestration_lib.migration_stage import Standing
from migration_orchestration_lib.step_context import AWAIT_CUTOVER_TASK, SOURCE_FROZEN_KEY, STAGE_KEY, WINDOW_MISSED_KEY, StepContext, StepFailure, StepResult
from migration_orchestration_lib.steps import standing


ROLLBACK_TASK = "rollback"
# The steps that may end a database's run as "back to replicating" (see cutover_steps).
WINDOW_CHECKED_TASKS = (AWAIT_CUTOVER_TASK, "start_migration", "freeze_source", "final_backup", "cutover")


class NothingToRollBack(Exception):
    """This run never worked on the database: the rollback task skips itself."""


def roll_back(ctx: StepContext) -> StepResult:
    database, services = ctx.database, ctx.services
    if not ctx.preflight_ran():
        cutover_steps.release(ctx, consume_approval=False)
        raise NothingToRollBack(
            "%s never started in this run (a database it depends on failed): nothing to roll back" % database.name
        )
    actions: List[str] = []
    now = standing(ctx)
    missed = _window_missed(ctx)
    if missed and not now.is_live and not now.has_ended:
        return _back_to_replicating(ctx, now, "window missed (%s)" % missed, "a new run waits for the next window")
    if now.is_active and not ctx.preflight_passed():
        return _back_to_replicating(
            ctx, now, "preflight failed: this run changed nothing", "run again once preflight passes", status="RolledBack", outcome="rolled_back"
        )
    if now.is_active:
        services.dms.cancel(ctx.target, now.operation_id)
        actions.append("canceled migration %s" % now.operation_id)
        now = standing(ctx)
    decision = target_removal.decide(database, now.migration, ctx.sql.target_state(database, "target-state-after-cancel"))
    if decision.remove:
        actions.append(target_removal.remove(ctx, database))
    else:
        actions.append(decision.reason)
    source = ctx.sql.source_state(database)
    marker = _check_marker(ctx, source, actions)
    if source_freeze.frozen_by_dag(ctx, database, source) and now.is_live:
        why = _maybe_in_use(ctx, now)
        if why:
            cutover_steps.release(ctx)
            raise StepFailure(
                "%s; source database %s kept frozen: %s, so applications may write to the target by now and a "
                "writable source would split them. A person must decide: make the source writable yourself only if "
                "nothing uses the target" % ("; ".join(actions), database.source_database, why)
            )
    _undo_freeze(ctx, now, source, marker, actions)
    cutover_steps.release(ctx)
    return StepResult("; ".join(actions), status="RolledBack", return_value="rolled_back")


def _maybe_in_use(ctx: StepContext, now: Standing) -> str:
    """Why a completed migration's target may be in use (empty: it is not). A run may hand the writes back
    to the source only where it saw DMS complete the migration, or froze the source itself: a migration
    completed, its source frozen, before this run began may have been declared migrated by a run whose
    record (`handoffs`) Airflow lost."""
    if declared_migrated(ctx, now.operation_id):
        return "an earlier run declared migration %s migrated" % now.operation_id
    if ctx.validated():  # only `done` failed: an attempt of it whose worker lost its heartbeat may still declare it
        return "this run validated migration %s and its done task may still declare it migrated; run again to declare it" % now.operation_id
    found = ctx.preflight_facts()
    if found and (found.get(STAGE_KEY) != stages.SUCCEEDED or not found.get(SOURCE_FROZEN_KEY)):
        return ""
    return (
        "migration %s had already completed when this run began, its source frozen (DMS %s), and whether a run declared "
        "it migrated is known only from the Airflow Variable %s, which is missing (never written, or lost with "
        "Airflow's metadata)" % (now.operation_id, now.migration.migration_status, handoff_key(now.operation_id))
    )


def _check_marker(ctx: StepContext, source, actions: List[str]) -> source_freeze.MarkerFinding:
    """The source's freeze marker against the record (`source_freeze.check_marker`), before the record
    is read: a lost record comes back from this plan's marker; a disagreement stops for a person."""
    marker = source_freeze.check_marker(ctx, ctx.database, source)
    if marker.disagreement:
        cutover_steps.release(ctx)
        raise StepFailure("; ".join(actions + [marker.disagreement]))
    actions.extend(filter(None, [marker.restored]))
    return marker


def _undo_freeze(ctx: StepContext, now: Standing, source, marker: source_freeze.MarkerFinding, actions: List[str]) -> None:
    """The DAG's own freeze undone (`source_freeze`); with its record lost, nothing is guessed: a person decides.
    A source carrying another plan's freeze marker is never unfrozen: where this plan's record says it
    froze it too, or cannot tell, a person decides; otherwise it is left as it is."""
    other_plan = marker.other_plan
    unknown = source_freeze.unknown_freeze(ctx, ctx.database, source, now)
    if other_plan and (unknown or source_freeze.frozen_by_dag(ctx, ctx.database, source)):
        cutover_steps.release(ctx)
        raise StepFailure("; ".join(actions + ["source database %s kept as it is" % ctx.database.source_database, other_plan]))
    if other_plan:
        actions.append("source database %s left as it is: %s" % (ctx.database.source_database, other_plan))
        return
    if unknown:
        cutover_steps.release(ctx)
        raise StepFailure("; ".join(actions + [unknown]))
    actions.extend(filter(None, [source_freeze.unfreeze(ctx, ctx.database, source)]))


def _window_missed(ctx: StepContext) -> str:
    for task in WINDOW_CHECKED_TASKS:
        missed = ctx.task_instance.xcom_pull(task_ids=ctx.task_id(task), key=WINDOW_MISSED_KEY)
        if missed:
            return missed
    return ""


def _back_to_replicating(
    ctx: StepContext, now: Standing, why: str, next_step: str, status: str = "WindowMissed", outcome: str = "waiting"
) -> StepResult:
    database = ctx.database
    actions = [why]
    source = ctx.sql.source_state(database)
    _undo_freeze(ctx, now, source, _check_marker(ctx, source, actions), actions)
    if now.is_active:
        actions.append("migration %s keeps replicating and its target is kept (never deleted)" % now.operation_id)
    actions.append(next_step)
    cutover_steps.release(ctx)
    return StepResult("; ".join(actions), status=status, return_value=outcome)

