"""Whose access restriction a source carries: only the DAG's own freeze is undone.

A team may keep a source `READ_ONLY` (an archive), `SINGLE_USER` or `RESTRICTED_USER` by design.
So before it first freezes a source the DAG records the access it found: `preflight` does (it
reads the source anyway; not for a migration already cut over), and the freezing steps
(`freeze_source`, `start_migration` before a SqlDb copy) where no record is there yet. The
`services.records` key is
`migration_source_before_freeze__<source server>__<source database>` =
`{"readOnly": bool, "userAccess": "MULTI_USER" | "SINGLE_USER" | "RESTRICTED_USER"}` (an Airflow
Variable; a rehearsal's world file). A record already there is kept: a crashed run's re-run finds
what was there before the first freeze (only an unfreeze clears it, to an empty value: the DAG's freeze
is not in force). The source is frozen by the DAG while it differs from that
record; unfreezing (rollback, back to replicating) puts back exactly the recorded access, then
clears the record. Without a record the DAG never froze the source: whatever restriction it has is
left as it is (a read-only archive stays read-only). A migrated source stays frozen, its record kept.

A record missing altogether (no Variable, not even a cleared one) while the source is read-only and DMS
holds a migration of it may be one Airflow lost (its metadata database recreated or restored, the
Variable deleted, the DAG moved to another Airflow) while the DAG's freeze was in force: taking that
restriction for the team's would keep the source frozen for good. The DAG does not guess
(`unknown_freeze`): preflight and rollback stop, the source left as it is, naming the record to write.
"""
from __future__ import annotations

import json
import shlex
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


def unknown_freeze(ctx: Any, database: Any, state: Any, now: Any) -> Optional[str]:
    """Why the DAG cannot tell whether its own freeze holds the source (None: it can). `now`: where the
    migration stands (`migration_stage.Standing`). Every freeze sets READ_ONLY, so another restriction is
    not the DAG's; nor is one on a source DMS holds no migration of (preflight records before freezing)."""
    key = record_key(database)
    if state is None or not state.is_read_only or now.migration is None or ctx.services.records.get(key) is not None:
        return None

    def command(access: Access) -> str:
        value = json.dumps({"readOnly": access[0], "userAccess": access[1]}, sort_keys=True, separators=(",", ":"))
        return "airflow variables set %s %s" % (key, shlex.quote(value))

    return (
        "source database %s on %s is %s and DMS holds migration %s of it, but Airflow has no record of its access "
        "before the DAG's freeze (the Variable %s is missing: Airflow's metadata database recreated or restored, the "
        "Variable deleted, or the DAG moved to another Airflow), so the DAG cannot tell whether it froze the source "
        "and leaves it as it is. A person must decide: if the source was writable before the migration, %s; if it is "
        "read-only by design (an archive), %s; then run again"
        % (database.source_database, database.source_server, describe(access_of(state)), now.operation_id, key,
           command((False, "MULTI_USER")), command(access_of(state)))
    )


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
