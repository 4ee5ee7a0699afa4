"""Undo a failed database migration so the source stays authoritative. Idempotent.

Decided from DMS and SQL state, read again in this task:
1. a database this run never worked on (held back by a failed dependency) is left alone;
2. an active migration (copying, ready for cutover) is canceled, and awaited;
3. the target is removed only where `target_removal.decide` allows it, with DMS and the target's
   state read again right before (a live or pre-existing target is never removed);
4. a frozen source is made writable again, unless DMS completed the migration and validation
   passed (then `done` succeeded and no rollback runs).
"""
from __future__ import annotations

from typing import List

from migration_orchestration_lib import target_removal
from migration_orchestration_lib.database_sql import is_frozen
from migration_orchestration_lib.step_context import StepContext, StepResult
from migration_orchestration_lib.steps import standing


ROLLBACK_TASK = "rollback"


class NothingToRollBack(Exception):
    """This run never worked on the database: the rollback task skips itself."""


def roll_back(ctx: StepContext) -> StepResult:
    database, services = ctx.database, ctx.services
    if not ctx.preflight_ran():
        raise NothingToRollBack(
            "%s never started in this run (a database it depends on failed): nothing to roll back" % database.name
        )
    actions: List[str] = []
    now = standing(ctx)
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
    if source is not None and is_frozen(source):
        ctx.sql.unfreeze_source(database)
        actions.append("source database %s writable again" % database.source_database)
    return StepResult("; ".join(actions), status="RolledBack", return_value="rolled_back")
