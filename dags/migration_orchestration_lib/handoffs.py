"""Which migration of a database a run declared migrated (`done`): the handoff to applications.

From then on applications may move to the target, so no later run may make the source writable
again (two writable copies) or judge the target by comparing it with the frozen source (it holds
their writes by now). The record is the Airflow Variable `migration_migrated__<operation id>`,
keyed by the DMS migration itself, holding `<plan>/<database>` (who declared it): renaming the plan
or the database's entry after deploy leaves the migration declared. Records that earlier versions
wrote (`migration_migrated__<plan>__<database>` = the operation id) still count. A rehearsal keeps
them in its world directory (`rehearsal_cutover.FileRecords`). `services.records` keeps them
(`cutover_services.AirflowVariableRecords`), beside the cutover admissions.

`done` also records the handoff by target database (`migration_target_migrated__<target server's ARM
name>__<target database>__<digest>` = the operation id, `target_handoff_key`: kept when the plan, its entry or its
`targetServers` entry is renamed), read where DMS no longer shows that migration (its resource deleted after it ended, or run
by a migration service replaced since): the record keyed by the migration cannot be found then, and a
SqlDb target, which existed before, is not refused as an existing database is. A handoff declared by a version
before that record has only the record keyed by the migration: `preflight` and the rollback, finding DMS still showing
that migration, write the record by target then (`record_declared_target`), so that it outlives DMS's memory of it.
It also tells a source's freeze marker written before the marker named the target server's ARM id, under a
`targetServers` entry's name since renamed, for this plan's (`source_freeze`).
"""
from __future__ import annotations

import hashlib
import re
from typing import Optional

from migration_orchestration_lib.resource_id import comparable_id

HANDOFF_VARIABLE_PREFIX = "migration_migrated__"
TARGET_HANDOFF_PREFIX = "migration_target_migrated__"
_UNSAFE = re.compile(r"[^a-z0-9.-]")
MAX_DATABASE_PART = 100  # Airflow keeps Variable keys up to 250 characters


def handoff_key(operation_id: str) -> str:
    return HANDOFF_VARIABLE_PREFIX + operation_id


def legacy_handoff_key(plan_name: str, database_name: str) -> str:
    """Where versions before the operation-id key recorded a handoff (value: the operation id)."""
    return "%s%s__%s" % (HANDOFF_VARIABLE_PREFIX, plan_name, database_name)


def target_handoff_key(target) -> str:
    """Where `done` records the handoff by its target database (`dms_gateway.MigrationTarget`; value: the operation id)."""
    return target_key(target.scope, target.database_name)


def target_key(server_id: str, database_name: str) -> str:
    """The key of the handoff into database `database_name` of the target server of ARM id `server_id`: the server's
    ARM name and the database's name in lower case (ARM names, and the plan's rules for two targets, ignore letter
    case), characters other than letters, digits, `.` and `-` written `_` (Airflow 3 reads a Variable at
    `variables/<key>` unescaped, and messages give the key in a shell command), the database's part cut at 100; then a
    digest of the server's ARM id and the database's name, which tells apart what that leaves alike: two SQL VMs of one
    name in two resource groups, `a b` and `a_b`. At most 27 + 64 + 2 + 100 + 2 + 16 = 211 characters."""
    server, database = comparable_id(server_id), database_name.lower()
    digest = hashlib.sha256(("%s\n%s" % (server, database)).encode("utf-8")).hexdigest()[:16]
    return "%s%s__%s__%s" % (TARGET_HANDOFF_PREFIX, _UNSAFE.sub("_", server.rsplit("/", 1)[-1]),
                             _UNSAFE.sub("_", database)[:MAX_DATABASE_PART], digest)


def declared_into_target(ctx) -> Optional[str]:
    """The operation id of a migration a run declared migrated into the database's target, or None."""
    return ctx.services.records.get(target_handoff_key(ctx.target)) or None


def declared_migrated(ctx, operation_id: Optional[str]) -> bool:
    """Whether a run declared this very migration migrated, under any plan or entry name."""
    if operation_id is None:
        return False
    records = ctx.services.records
    return bool(records.get(handoff_key(operation_id))) or records.get(legacy_handoff_key(ctx.plan.name, ctx.database.name)) == operation_id


def record_declared_target(ctx, operation_id: Optional[str]) -> None:
    """The handoff by target database of `operation_id`, the migration DMS shows into the target now, where a run declared
    it migrated (`declared_migrated`) before `done` recorded handoffs by target too: the value `done` writes. Never where
    the target has a record already: another migration's, or "" (a person cleared it to migrate into the target again)."""
    key = target_handoff_key(ctx.target)
    if declared_migrated(ctx, operation_id) and ctx.services.records.get(key) is None:
        ctx.services.records.put(key, operation_id)


def declare_migrated(ctx, operation_id: str) -> None:
    ctx.services.records.put(handoff_key(operation_id), "%s/%s" % (ctx.plan.name, ctx.database.name))
    ctx.services.records.put(target_handoff_key(ctx.target), operation_id)
