"""Undo a failed database migration so the source stays authoritative. Idempotent.

1. cancel the DMS migration this run started (or adopted) if it is still active;
2. remove the target database it was restoring, unless the target is live (validated);
3. set the source READ_WRITE again if the cutover froze it.
Nothing is touched for a database whose migration never started in this run (for example one
held back because a database it depends on failed), and a target the DAG did not create is
never removed.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

from migration_orchestration_lib.migration_status import MigrationStatus
from migration_orchestration_lib.step_context import START_TASK, StepContext, StepResult

RAN_STATES = ("success", "failed", "up_for_retry")
WORK_TASKS = ("preflight", "start_migration", "wait_for_migration", "cutover", "wait_for_completion", "validate", "done")


class NothingToRollBack(Exception):
    """The database never started in this run: the rollback task skips itself."""


def roll_back(ctx: StepContext) -> StepResult:
    if not any(ctx.task_state(task) in RAN_STATES for task in WORK_TASKS):
        raise NothingToRollBack(
            "%s never started in this run (a database it depends on failed): nothing to roll back" % ctx.database.name
        )
    if ctx.task_state("validate") == "success":
        return StepResult("target %s is live (validated): left untouched" % ctx.database.target_database)

    actions: List[str] = []
    if ctx.task_state(START_TASK) in RAN_STATES:
        operation_id, status = _this_runs_migration(ctx)
        if operation_id is not None:
            if status is not None and status.is_in_flight:
                ctx.services.dms.cancel(ctx.target, operation_id)
                actions.append("canceled migration %s" % operation_id)
            actions.append(ctx.services.target_databases.remove_partial(ctx.plan, ctx.database))
    actions.extend(_unfreeze_source(ctx))
    return StepResult("; ".join(actions) or "nothing to undo", status="RolledBack")


def _this_runs_migration(ctx: StepContext) -> Tuple[Optional[str], Optional[MigrationStatus]]:
    operation_id = ctx.migration_operation_id()
    if operation_id:
        return operation_id, ctx.services.dms.status(ctx.target, operation_id)
    # start_migration may have created the migration and died before recording its id: only a
    # migration still in flight from this source can be that one (a finished one may be live).
    current = ctx.services.dms.current_migration(ctx.target)
    if (
        current is not None
        and current.is_in_flight
        and (current.source_database_name or "").lower() == ctx.database.source_database.lower()
    ):
        return current.migration_operation_id, current
    return None, None


def _unfreeze_source(ctx: StepContext) -> List[str]:
    if ctx.preflight_facts().get("source_read_only", True):
        return []  # unknown, or read-only before the migration: not ours to change
    source = ctx.plan.source_of(ctx.database)
    state = ctx.services.sql.database_state(source.connection_id, ctx.database.source_database)
    if state is None or not state.is_read_only:
        return []
    ctx.services.sql.set_read_only(source.connection_id, ctx.database.source_database, False)
    return ["source database %s set READ_WRITE again" % ctx.database.source_database]
