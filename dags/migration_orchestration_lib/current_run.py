"""Which DAG run may act on a database: the last one whose preflight began for it.

Airflow lets a person clear any task of an old, finished run: it runs again (after the current run:
max_active_runs is 1) with that run's other XComs still in place, its preflight's among them, so
"this run's preflight passed" holds there. Its rollback would then cancel a migration a later run left
replicating, its start_migration start one nobody follows (freezing a SqlDb copy's source first).
No task may read other DAG runs (Airflow 3's Task SDK gives tasks no metadata database), so preflight,
as its first act, records its run id in `services.records`: the Airflow Variable
`migration_current_run__<plan>__<database>` (a rehearsal's world file). The steps that change DMS or the
source (start_migration, freeze_source, final_backup, cutover), `done` (it declares the migration) and the
rollback change nothing in any other run. No record (lost with Airflow's metadata, or none written yet by a version before this
one) blocks nothing. Clearing a whole old run from preflight makes it the current run again.
"""
from __future__ import annotations

from migration_orchestration_lib.step_context import PREFLIGHT_TASK, StepContext, StepFailure

CURRENT_RUN_PREFIX = "migration_current_run__"


def current_run_key(plan_name: str, database_name: str) -> str:
    return "%s%s__%s" % (CURRENT_RUN_PREFIX, plan_name, database_name)


def record_current_run(ctx: StepContext) -> None:
    ctx.services.records.put(current_run_key(ctx.plan.name, ctx.database.name), ctx.run_id)


def check_current_run(ctx: StepContext, nothing_done: str) -> None:
    """Fail, having done nothing (`nothing_done` says what), where another run's preflight ran for the database since."""
    key = current_run_key(ctx.plan.name, ctx.database.name)
    current = ctx.services.records.get(key)
    if not current or current == ctx.run_id:
        return
    name = ctx.database.name
    raise StepFailure(
        "run %s is not the current run of %s: run %s ran its preflight since (the Airflow Variable %s), so what this "
        "run found (its XComs) is stale, and a task cleared in it would act on what later runs left (a migration one "
        "left replicating, the source's access): %s. To go on, trigger a new DAG run, or clear this whole run from "
        "%s (with its downstream tasks): its preflight then makes it the current run again"
        % (ctx.run_id, name, current, key, nothing_done, ctx.task_id(PREFLIGHT_TASK))
    )
