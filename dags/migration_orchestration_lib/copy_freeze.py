"""Writes on a SqlDb copy's frozen source after the copy's freeze: recorded, then looked for before declaring.

Without `allowSourceWritesDuringCopy` the DAG freezes a SqlDb copy's source in `start_migration`, before DMS's
create, and keeps it frozen until `done`. A person who makes it writable meanwhile, writes and freezes it again
leaves a read-only source whose row counts may match the target (an update), and a copy has no final backup whose
end the restores' check reads (`steps._check_nothing_logged_after`). So once the freeze landed, before DMS's create,
`start_migration` records the source's log end (`sql_statements.log_end`: `sys.dm_db_log_stats`, as that check
reads it): the Airflow Variable `migration_copy_log_end__<source server>__<source database>` =
`{"logEnd": <LSN, msdb's numeric form, or null: unread>, "migration": <operation id, or null before the create>}`.
A try finding one with no migration keeps it (an earlier try of this freeze recorded it, before any create: a
later one could miss writes made after a create whose answer was lost); `bind` names the migration created or
adopted after it. `validate` and `done` read the log end again (`check_nothing_logged_after`): past the record,
the source took log records after the freeze (a read-only database takes none: its reads, and a freeze submitted
again, log nothing), and the copy is refused, never declared. A copy without a record bound to it (a worker lost
after the create and the record lost with Airflow's metadata, the Variable deleted, a copy started by a version
before this record, or adopted though another's) is refused too: writes after its freeze cannot be ruled out.
Where the log end is unread (SQL Server before 2016 SP2, VIEW SERVER STATE missing), as the restores' check does
there, the step says it did not check and goes on. The unfreeze (`source_freeze.unfreeze`) deletes the record
before it makes the source writable: a later freeze records its own.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Optional

from migration_orchestration_lib.sql_statements import LOG_END_UNREAD
from migration_orchestration_lib.step_context import StepFailure, delete_scratch_record

RECORD_PREFIX = "migration_copy_log_end__"
PURPOSE = "copy-log-end"  # the read's key (`DatabaseSql.log_end`)


def record_key(database: Any) -> str:
    return "%s%s__%s" % (RECORD_PREFIX, database.source_server, database.source_database)


def _record(ctx: Any) -> Optional[Dict[str, Any]]:
    value = ctx.services.records.get(record_key(ctx.database))
    return json.loads(value) if value else None


def _put(ctx: Any, log_end: Optional[int], operation_id: Optional[str]) -> None:
    ctx.services.records.put(record_key(ctx.database), json.dumps({"logEnd": log_end, "migration": operation_id}, sort_keys=True))


def record_log_end(ctx: Any) -> None:
    """In `start_migration`, once its freeze for the copy landed, before DMS's create: the source's log end, unless
    a record not yet bound to a migration is there (an earlier try of this freeze's, taken before any create)."""
    found = _record(ctx)
    if found is not None and found.get("migration") is None:
        return
    _put(ctx, ctx.sql.log_end(ctx.database, PURPOSE), None)


def read_begun(ctx: Any) -> bool:
    """Whether this try submitted `record_log_end`'s read (through Data Factory: an earlier poke, the freeze seen
    landed then, its start event written)."""
    return ctx.sql.log_end_submitted(ctx.database, PURPOSE)


def bind(ctx: Any, operation_id: Optional[str]) -> None:
    """The copy `operation_id`, created (or adopted) after the record was taken: named in it, once."""
    found = _record(ctx)
    if operation_id and found is not None and found.get("migration") is None:
        _put(ctx, found.get("logEnd"), operation_id)


def drop(ctx: Any, database: Any) -> None:
    """Before the DAG's unfreeze of a copy's source: its freeze ends, and so does the record of its log end."""
    if not database.restores_backups:
        delete_scratch_record(lambda: ctx.services.records, record_key(database), "the log end at a copy's freeze")


def check_nothing_logged_after(ctx: Any, operation_id: str, then: str) -> str:
    """`validate`'s and `done`'s: refuse copy `operation_id` where its source's log ends past the record taken at
    its freeze, or where no record is bound to it; `then`: what follows the refusal. Returns a note for the step's
    result where the log's end is unread, else "". Not for a restore, nor a copy the plan lets write (no freeze),
    unless a record says the DAG froze it for that copy (`allowSourceWritesDuringCopy` turned on since)."""
    database = ctx.database
    if database.restores_backups:
        return ""
    found = _record(ctx)
    bound = found is not None and found.get("migration") == operation_id
    if not bound and not database.freezes_source:
        return ""
    key, where = record_key(database), "source database %s on %s" % (database.source_database, database.source_server)
    if not bound:
        raise StepFailure(
            "%s is frozen for copy %s, but Airflow holds no record of its log end when the DAG froze it for that copy "
            "(the Variable %s %s: a worker lost and the record lost with Airflow's metadata, the Variable deleted, or "
            "the copy started by a version before this record, or not by this DAG), so writes made on it after the "
            "freeze, which a row count would not see (an update), cannot be ruled out; %s"
            % (where, operation_id, key, "is missing" if found is None else "names migration %s" % found.get("migration"), then))
    recorded = found.get("logEnd")
    if recorded is None:
        return "; the source's log after the copy's freeze not checked: its log end was unread at the freeze (%s)" % LOG_END_UNREAD
    log_end = ctx.sql.log_end(database, PURPOSE)
    if log_end is None:
        return "; the source's log after the copy's freeze not checked: the source's log end is unread (%s)" % LOG_END_UNREAD
    if log_end > recorded:
        raise StepFailure(
            "source database %s was written after the DAG froze it for the copy: its transaction log ended at LSN %d "
            "once the freeze landed, before DMS's create (the Variable %s), and ends at LSN %d now (sys.dm_db_log_stats). "
            "Made writable after the freeze and frozen again, it may hold writes the target lacks, which a row count "
            "would not see (an update); %s" % (database.source_database, recorded, key, log_end, then))
    return ""
