"""Which migration of a database a run declared migrated (`done`): the handoff to applications.

From then on applications may move to the target, so no later run may make the source writable
again (two writable copies) or judge the target by comparing it with the frozen source (it holds
their writes by now). The record is the Airflow Variable `migration_migrated__<plan>__<database>`,
holding the DMS migration's operation id; a rehearsal keeps it in its world directory
(`rehearsal_cutover.FileRecords`). `services.records` keeps it (`cutover_services.AirflowVariableRecords`),
beside the cutover admissions.
"""
from __future__ import annotations

from typing import Optional

HANDOFF_VARIABLE_PREFIX = "migration_migrated__"


def handoff_key(plan_name: str, database_name: str) -> str:
    return "%s%s__%s" % (HANDOFF_VARIABLE_PREFIX, plan_name, database_name)


def declared_migrated(ctx, operation_id: Optional[str]) -> bool:
    """Whether a run declared this very migration migrated."""
    return operation_id is not None and ctx.services.records.get(handoff_key(ctx.plan.name, ctx.database.name)) == operation_id


def declare_migrated(ctx, operation_id: str) -> None:
    ctx.services.records.put(handoff_key(ctx.plan.name, ctx.database.name), operation_id)
