"""Whose access restriction a source carries: only the DAG's own freeze is undone.

A team may keep a source `READ_ONLY` (an archive), `SINGLE_USER` or `RESTRICTED_USER` by design.
So before it first freezes a source the DAG records the access it found: `preflight` does (it
reads the source anyway; not for a migration already cut over), and the freezing steps
(`freeze_source`, `start_migration` before a SqlDb copy) where no record is there yet. The
`services.records` key is
`migration_source_before_freeze__<source server>__<source database>` =
`{"readOnly": bool, "userAccess": "MULTI_USER" | "SINGLE_USER" | "RESTRICTED_USER"}` (an Airflow
Variable; a rehearsal's world file). A record already there is kept: a crashed run's re-run finds
what was there before the first freeze (only an unfreeze clears it, so a missing record means the
DAG's freeze is not in force). The source is frozen by the DAG while it differs from that
record; unfreezing (rollback, back to replicating) puts back exactly the recorded access, then
clears the record. Without a record the DAG never froze the source: whatever restriction it has is
left as it is (a read-only archive stays read-only). A migrated source stays frozen, its record kept.
"""
from __future__ import annotations

import json
from typing import Any, Optional, Tuple

RECORD_PREFIX = "migration_source_before_freeze__"

Access = Tuple[bool, str]  # (readOnly, userAccess)


def record_key(database: Any) -> str:
    return "%s%s__%s" % (RECORD_PREFIX, database.source_server, database.source_database)


def access_of(state: Any) -> Access:
    return bool(state.is_read_only), str(state.user_access)


def before_freeze(ctx: Any, database: Any) -> Optional[Access]:
    """The source's access before the DAG's first freeze; None: the DAG has not frozen it."""
    value = ctx.services.records.get(record_key(database))
    if not value:
        return None
    record = json.loads(value)
    return bool(record["readOnly"]), str(record["userAccess"])


def remember_before_freeze(ctx: Any, database: Any, state: Any = None) -> None:
    """Record the source's access (`state`, else read now) unless a record is there already (a crashed
    run's, or this run's preflight's)."""
    if before_freeze(ctx, database) is not None:
        return
    state = state or ctx.sql.source_state(database, "before-freeze")
    if state is None:
        return  # nothing to freeze: the freeze itself reports it
    read_only, user_access = access_of(state)
    ctx.services.records.put(record_key(database), json.dumps({"readOnly": read_only, "userAccess": user_access}, sort_keys=True))


def frozen_by_dag(ctx: Any, database: Any, state: Any) -> bool:
    """The DAG's freeze is in force: the source's access differs from what it recorded before it."""
    before = before_freeze(ctx, database)
    return state is not None and before is not None and access_of(state) != before


def describe(access: Access) -> str:
    return "%s, %s" % ("READ_ONLY" if access[0] else "READ_WRITE", access[1])


def unfreeze(ctx: Any, database: Any, state: Any) -> Optional[str]:
    """Undo the DAG's own freeze, back to the recorded access, and clear the record. Returns what was
    done (None: the source is as the DAG found it and nothing is recorded)."""
    before = before_freeze(ctx, database)
    if state is None:
        return None
    if before is None:
        if access_of(state) == (False, "MULTI_USER"):
            return None
        return "source database %s left %s: not frozen by the DAG (no record of a freeze)" % (
            database.source_database, describe(access_of(state)))
    done = None
    if access_of(state) != before:
        ctx.sql.unfreeze_source(database, *before)
        done = "source database %s %s" % (database.source_database, "writable again" if before == (False, "MULTI_USER")
                                          else "back to %s as before the freeze" % describe(before))
    elif before != (False, "MULTI_USER"):
        done = "source database %s left %s as before the migration" % (database.source_database, describe(before))
    ctx.services.records.put(record_key(database), "")
    return done
