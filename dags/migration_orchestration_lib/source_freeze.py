"""Whose access restriction a source carries: only the DAG's own freeze is undone.

A team may keep a source `READ_ONLY` (an archive), `SINGLE_USER` or `RESTRICTED_USER` by design.
So before it first freezes a source the DAG records the access it found: `preflight` does (it
reads the source anyway; not for a migration already cut over), and the freezing steps
(`freeze_source`, `start_migration` before a SqlDb copy) where no record is there yet. The
`services.records` key is
`migration_source_before_freeze__<source server>__<source database>` =
`{"readOnly": bool, "userAccess": "MULTI_USER" | "SINGLE_USER" | "RESTRICTED_USER"}` (and `"undoing": true`
while a rollback undoes the freeze, below) (an Airflow
Variable; a rehearsal's world file). A record already there is kept: a crashed run's re-run finds
what was there before the first freeze (only an unfreeze clears it, to an empty value: the DAG's freeze
is not in force). The source is frozen by the DAG while it differs from that
record; unfreezing (rollback, back to replicating) puts back exactly the recorded access, then
clears the record. Without a record the DAG never froze the source: whatever restriction it has is
left as it is (a read-only archive stays read-only). A migrated source stays frozen, its record kept.

A freeze that lands after the rollback decided to undo it (an attempt of a freezing step that Airflow
failed, its worker having lost its heartbeat, while the attempt still runs) is undone too. The
rollback marks the record `"undoing": true` before its last read of the source, and clears it only
after; a freezing step stands down where the record is so marked, or cleared since this run's
`preflight` recorded it (`overtaken_by_rollback`): before it freezes it refuses, and after its freeze
landed it reads the record again and undoes its own freeze. Either the rollback's read sees that
freeze, or the attempt sees the mark (`test_overtaken_freezes.py`).

The freeze marker keeps the same fact on the source database itself, where Airflow cannot lose it:
the database-level extended property `migration_freeze` = `{"plan": <plan name, MIGRATION_PLAN_NAME>,
"readOnly": ..., "target": "<targetServers entry>/<target database>", "targetServerId": <that server's ARM id>,
"userAccess": ...}` (`marker_value`; versions before wrote it without `targetServerId`, and such a marker still counts).
A marker is this plan's where it names this plan and the database's target: the target database on the server of
the ARM id it names, whatever the entry's name (renamed since, its resourceId kept), or, in a marker without the
ARM id, the entry's name and target database as the plan says them. One with the entry's target database under
another entry name (renamed since) and no ARM id, or with the entry's name and target database on another server
(its resourceId edited since), counts so only where this Airflow's handoff record by target (`handoffs.target_key`)
says a run declared a migration into the database the marker means migrated (its source stays frozen for good,
whoever's the marker). Nothing else proves such a marker this plan's: a copy of the plan in another Airflow could
have written it (its entry of the same name on its own server), and DMS's migration into the target says nothing of
who froze the source. Such a marker is refused as another target's, the advice to put the entry back as it was,
never to make the source writable.
The freeze batch writes it right before its SET READ_ONLY (a read-only database refuses metadata changes, error 3906), so a source read-only
before the freeze never gets one and the record stays its only one; the unfreeze batch drops it
right after SET READ_WRITE (the marker found there where it is this plan's: `marker_to_drop`). A freeze batch that
finds this plan's marker as a version before `targetServerId` wrote it freezes under it (`earlier_freeze_markers`: a
freeze such a version left half done is finished); in another text (the entry renamed since) it changes nothing: that
freeze is in force already (`freeze_source` fails where the source is writable all the same). Every source state comes with it (`sql_statements.source_state`;
unknown, never an error, where it cannot be read). The record stays primary (`check_marker`):
- missing altogether, with this plan's marker: the DAG's freeze is in force (only its unfreeze
  removes the marker), so the record is restored from the marker, logged and said in the step's
  event, and the run goes on;
- another plan's marker, or one of this plan's name to another target: this plan neither freezes (preflight
  and the freeze batch itself refuse) nor unfreezes the source (rollback leaves it, or stops for a person
  where its own record says it froze it too);
- this plan's marker and the record disagree (a cleared or other record: Airflow's metadata restored
  from an older backup): a person decides, the source kept as it is; no writes are lost by waiting.

A record missing altogether (no Variable, not even a cleared one) while the source is read-only and DMS
holds a migration of it, and no marker of this plan says why, may be one Airflow lost (its metadata
database recreated or restored, the Variable deleted, the DAG moved to another Airflow) while a freeze
without a marker (by a version before it, or the marker dropped by hand) was in force, or be the
team's design: taking that restriction for the team's could keep the source frozen for good. The DAG does not
guess (`unknown_freeze`): preflight and rollback stop, the source left as it is, naming the record to write.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from migration_orchestration_lib import copy_freeze, operator_commands
from migration_orchestration_lib.connections import redacting_logger
from migration_orchestration_lib.handoffs import target_key
from migration_orchestration_lib.resource_id import comparable_id
from migration_orchestration_lib.sql_statements import FREEZE_MARKER, USER_ACCESS_MODES, quote_name
from migration_orchestration_lib.step_context import ACCESS_BEFORE_FREEZE_KEY

RECORD_PREFIX = "migration_source_before_freeze__"
TARGET_SERVER_ID = "targetServerId"  # the freeze marker's target server ARM id (none in markers of versions before it)
UNDOING = "undoing"  # in the record while a rollback undoes the DAG's freeze

Access = Tuple[bool, str]  # (readOnly, userAccess)
WRITABLE: Access = (False, "MULTI_USER")

log = redacting_logger(__name__)


def record_key(database: Any) -> str:
    return "%s%s__%s" % (RECORD_PREFIX, database.source_server, database.source_database)


def access_of(state: Any) -> Access:
    return bool(state.is_read_only), str(state.user_access)


def before_freeze(ctx: Any, database: Any) -> Optional[Access]:
    """The source's access before the DAG's first freeze; None: the DAG has not frozen it."""
    record = _record(ctx, database)
    return None if record is None else _access_in(record)


def _record(ctx: Any, database: Any) -> Optional[Dict[str, Any]]:
    value = ctx.services.records.get(record_key(database))
    return json.loads(value) if value else None


def _access_in(record: Dict[str, Any]) -> Access:
    return bool(record["readOnly"]), str(record["userAccess"])


def overtaken_by_rollback(ctx: Any, database: Any) -> Optional[Access]:
    """The access a rollback is putting back, or put back, since this run's preflight recorded it (None:
    no rollback has begun undoing the DAG's freeze). A freezing step that finds one stands down."""
    value = ctx.services.records.get(record_key(database))
    if value:
        record = json.loads(value)
        return _access_in(record) if record.get(UNDOING) else None
    recorded = ctx.preflight_facts().get(ACCESS_BEFORE_FREEZE_KEY)
    if value == "" and recorded:  # only an unfreeze clears the record, and only a rollback unfreezes
        return bool(recorded[0]), str(recorded[1])
    return None


def remember_before_freeze(ctx: Any, database: Any, state: Any = None) -> None:
    """Record the source's access (`state`, else read now) unless a record is there already (a crashed
    run's, or this run's preflight's), or a rollback has begun undoing the freeze since this run's
    preflight (`overtaken_by_rollback`: the freezing step stands down)."""
    if overtaken_by_rollback(ctx, database) is not None or before_freeze(ctx, database) is not None:
        return
    state = state or ctx.sql.source_state(database, "before-freeze")
    if state is None:
        return  # nothing to freeze: the freeze itself reports it
    ctx.services.records.put(record_key(database), _record_value(access_of(state)))


def drop_undoing_mark(ctx: Any, database: Any) -> None:
    """At a run's preflight: a rollback that marked the record and died before it cleared it is over."""
    record = _record(ctx, database)
    if record is not None and record.get(UNDOING):
        ctx.services.records.put(record_key(database), _record_value(_access_in(record)))


def _record_value(access: Access, undoing: bool = False) -> str:
    record: Dict[str, Any] = {"readOnly": access[0], "userAccess": access[1]}
    if undoing:
        record[UNDOING] = True
    return json.dumps(record, sort_keys=True)


def _set_record_command(key: str, access: Access) -> str:
    """The command a person runs to write the record by hand."""
    value = json.dumps({"readOnly": access[0], "userAccess": access[1]}, sort_keys=True, separators=(",", ":"))
    return operator_commands.variables_set(key, value)


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
    return (
        "source database %s on %s is %s and DMS holds migration %s of it, but Airflow has no record of its access "
        "before the DAG's freeze (the Variable %s is missing: Airflow's metadata database recreated or restored, the "
        "Variable deleted, or the DAG moved to another Airflow), so the DAG cannot tell whether it froze the source "
        "and leaves it as it is. A person must decide: if the source was writable before the migration, %s; if it is "
        "read-only by design (an archive), %s; then run again"
        % (database.source_database, database.source_server, describe(access_of(state)), now.operation_id, key,
           _set_record_command(key, WRITABLE), _set_record_command(key, access_of(state)))
    )


def describe(access: Access) -> str:
    return "%s, %s" % ("READ_ONLY" if access[0] else "READ_WRITE", access[1])


def unfreeze(ctx: Any, database: Any, state: Any) -> Optional[str]:
    """Undo the DAG's own freeze, back to the recorded access, and clear the record. Returns what was
    done (None: the source is as the DAG found it and nothing is recorded). The record is marked
    undoing before the source is read again, so a freeze landing after that read is its attempt's to undo."""
    before = before_freeze(ctx, database)
    if state is None:
        return None
    if before is None:
        if access_of(state) == WRITABLE:
            return None
        return "source database %s left %s: not frozen by the DAG (no record of a freeze)" % (
            database.source_database, describe(access_of(state)))
    ctx.services.records.put(record_key(database), _record_value(before, undoing=True))
    copy_freeze.drop(ctx, database)  # this freeze ends: a later one records its own log end
    state = ctx.sql.source_state(database, "before-unfreeze") or state
    done = None
    marker = marker_to_drop(ctx, database, state, before)
    if access_of(state) != before or (state.freeze_marker_known and state.freeze_marker == marker):  # a marker left behind too
        ctx.sql.unfreeze_source(database, *before, marker=marker)
    if access_of(state) != before:
        done = "source database %s %s" % (database.source_database, "writable again" if before == WRITABLE
                                          else "back to %s as before the freeze" % describe(before))
    elif before != WRITABLE:
        done = "source database %s left %s as before the migration" % (database.source_database, describe(before))
    ctx.services.records.put(record_key(database), "")
    return done


# --- the freeze marker on the source database itself ----------------------------------------------


def marker_value(ctx: Any, database: Any, access: Access) -> str:
    """The freeze marker's value: this plan (`MIGRATION_PLAN_NAME`, the plan's name), the database's
    target (`marker_target`, and its server's ARM id, `targetServerId`) and the access before the freeze;
    one text for one plan, target and access, so SQL compares it whole. The target tells apart two
    deployments of a plan of one name (a copy of the plan in another Airflow) that name one source: the
    plan's name alone would let one restore its lost record from the other's freeze and unfreeze the
    source under it. The ARM id keeps the marker this plan's when its `targetServers` entry is renamed."""
    return _marker_text(ctx, database, access, _target_server_id(ctx, database))


def _marker_text(ctx: Any, database: Any, access: Access, server_id: Optional[str]) -> str:
    value: Dict[str, Any] = {"plan": ctx.plan.name, "readOnly": access[0], "target": marker_target(database), "userAccess": access[1]}
    if server_id is not None:
        value[TARGET_SERVER_ID] = server_id
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def marker_target(database: Any) -> str:
    return "%s/%s" % (database.target_server, database.target_database)


def _target_server_id(ctx: Any, database: Any) -> str:
    return ctx.plan.target_of(database).resource_id.value


def marker_to_drop(ctx: Any, database: Any, state: Any, access: Access) -> str:
    """The marker an unfreeze back to `access` drops: the one on the source where it is this plan's for that access
    (written under a `targetServers` entry's name since renamed, or before `targetServerId`: the unfreeze batch
    drops only that exact text), else the one this plan's freeze writes."""
    if state is not None and state.freeze_marker_known and state.freeze_marker:
        plan, target, server_id, found = _parse_marker(state.freeze_marker)
        if plan == ctx.plan.name and found == access and _names_this_target(ctx, database, target, server_id):
            return state.freeze_marker
    return marker_value(ctx, database, access)


def freeze_marker(ctx: Any, database: Any) -> Optional[str]:
    """The marker the DAG's freeze writes (None: no record of the access before it, no marker)."""
    before = before_freeze(ctx, database)
    return None if before is None else marker_value(ctx, database, before)


def earlier_freeze_markers(ctx: Any, database: Any) -> Tuple[str, ...]:
    """The text versions before `targetServerId` wrote for the marker `freeze_marker` writes (this plan's still): the
    freeze batch freezes under it too, so a freeze such a version left half done (its marker written, its
    SET READ_ONLY refused) is finished after the upgrade, not refused on every try until a rollback."""
    before = before_freeze(ctx, database)
    return () if before is None else (_marker_text(ctx, database, before, None),)


@dataclass(frozen=True)
class MarkerFinding:
    """What the source's freeze marker says against Airflow's record (all None: no marker, an
    unreadable one, or one that agrees)."""

    other_plan: Optional[str] = None  # another plan's marker: this plan neither freezes nor unfreezes
    disagreement: Optional[str] = None  # this plan's marker and the record differ: a person decides
    restored: Optional[str] = None  # the record was missing and this plan's marker gave it back

    @property
    def refusal(self) -> Optional[str]:
        return self.other_plan or self.disagreement


def check_marker(ctx: Any, database: Any, state: Any) -> MarkerFinding:
    """Read the marker in `state` (`DatabaseSql.source_state`, or a freeze's answer). A record missing
    altogether while this plan's marker is there is restored from the marker (the DAG's freeze is in
    force: only the unfreeze removes the marker)."""
    if state is None or not state.freeze_marker_known or state.freeze_marker is None:  # an empty one is a marker too
        return MarkerFinding()
    plan, target, server_id, access = _parse_marker(state.freeze_marker)
    where = "source database %s on %s" % (database.source_database, database.source_server)
    if plan is None:
        return MarkerFinding(other_plan=(
            "%s carries a freeze marker this DAG did not write (its database-level extended property %s = %r, not "
            "the exact text a plan's freeze writes): the DAG cannot tell who froze it, or is migrating it, so this "
            "plan (%s) neither freezes nor unfreezes it. A person finds out who wrote it. Where it froze the source for a "
            "migration that went live, the source stays frozen for good (applications may write to that migration's "
            "target): remove it from this plan. Otherwise, once nothing migrates the source, a person drops the marker "
            "(EXEC %s.sys.sp_dropextendedproperty @name = N'%s'; a read-only source refuses it until made writable), "
            "then runs again"
            % (where, FREEZE_MARKER, state.freeze_marker, ctx.plan.name, quote_name(database.source_database), FREEZE_MARKER)))
    if plan != ctx.plan.name:
        return MarkerFinding(other_plan=(
            "%s carries the freeze marker of migration plan %s to target %s (its database-level extended property "
            "%s = %s): that plan froze it, or is migrating it, and this plan (%s, to target %s) neither freezes nor "
            "unfreezes it, so that the two never split writes. Two plans must not name the same source database. Where "
            "plan %s declared it migrated, the source stays frozen for good (applications may write to that plan's "
            "target): remove it from this plan; only once plan %s rolled its migration back, a person makes it "
            "writable and drops the marker (EXEC %s.sys.sp_dropextendedproperty @name = N'%s'), then runs again"
            % (where, plan, target, FREEZE_MARKER, state.freeze_marker, ctx.plan.name, marker_target(database),
               plan, plan, quote_name(database.source_database), FREEZE_MARKER)))
    if not _names_this_target(ctx, database, target, server_id):
        return MarkerFinding(other_plan=_marker_of_another_target(ctx, database, where, state.freeze_marker, target, server_id))
    key = record_key(database)
    value = ctx.services.records.get(key)
    if value is None:
        ctx.services.records.put(key, _record_value(access))
        note = ("the Airflow Variable %s was missing; restored from this plan's freeze marker on %s: %s before the "
                "DAG's freeze" % (key, where, describe(access)))
        log.warning("%s", note)
        return MarkerFinding(restored=note)
    recorded = before_freeze(ctx, database)
    if recorded != access:
        says = "%s before the freeze" % describe(recorded) if recorded else "the DAG's freeze is not in force (cleared)"
        return MarkerFinding(disagreement=(
            "%s is %s and carries this plan's freeze marker (%s: %s before the DAG's freeze, the marker is removed "
            "only when the DAG unfreezes it), but the Airflow Variable %s says %s: one of them is stale (Airflow's "
            "metadata database restored from an older backup?). The DAG keeps the source as it is rather than guess "
            "and lose writes. A person must decide: if the marker is right, %s; if the "
            "Variable is, drop the marker (EXEC %s.sys.sp_dropextendedproperty @name = N'%s', on the writable "
            "database); then run again"
            % (where, describe(access_of(state)), FREEZE_MARKER, describe(access), key, says, _set_record_command(key, access),
               quote_name(database.source_database), FREEZE_MARKER)))
    return MarkerFinding()


def _names_this_target(ctx: Any, database: Any, target: str, server_id: Optional[str]) -> bool:
    """Whether a marker of this plan's name was written for this database's target: the target database on the server
    of this ARM id (`targetServerId`, whatever the entry's name), or, in a marker without it (written before it), the
    entry's name and target database. Else, for a marker without it naming the target database under another entry
    name (renamed since), or one naming the entry's name and target database on another server (its resourceId
    edited since), where this Airflow's handoff record by target into the database the marker means
    (`handoffs.target_key`) says a run of this Airflow declared it migrated, so its source stays frozen for good,
    whoever's the marker. A copy of the plan in another Airflow (its entry of the same name maybe on another server)
    has neither; another entry's target is not this one's, whatever was declared there; the DMS migration in flight
    into the target would not say who froze the source."""
    named = target == marker_target(database)
    if not named and target.partition("/")[2] != database.target_database:
        return False
    server = _target_server_id(ctx, database)
    if server_id is None:
        return named or bool(ctx.services.records.get(target_key(server, database.target_database)))
    if comparable_id(server_id) == comparable_id(server):
        return True
    return named and bool(ctx.services.records.get(target_key(server_id, database.target_database)))


def _marker_of_another_target(ctx: Any, database: Any, where: str, text: str, target: str, server_id: Optional[str]) -> str:
    """Why a marker of this plan's name for another target is refused, and what a person does: never make the source
    writable, which that marker's migration may have handed to applications already."""
    entry = target.partition("/")[0]
    ours = marker_target(database)
    if server_id is None:
        why, later = ("written before the DAG named the target server's ARM id in it, so a renamed entry cannot be told "
                      "from a copy's", "; rename the entry once the database is migrated")
    else:
        why, later, ours = "on server %s" % server_id, "", "%s on server %s" % (ours, _target_server_id(ctx, database))
    return (
        "%s carries the freeze marker of this plan's name (%s) to another target, %s (its database-level extended "
        "property %s = %s, %s), not this entry's %s: it was frozen for a migration to that target, by this plan before "
        "its targetServers entry %s or the database's target (databases[].target) changed, or by a copy of the plan in "
        "another Airflow. This plan neither freezes nor unfreezes it, so that the two never split writes, and no person "
        "may make it writable either: that migration may have gone live, and applications may write to its target. If "
        "this plan's targetServers entry %s was renamed or edited, or the database's target changed, since the freeze, "
        "put it back as it was and run again: the run carries on with that migration (or its rollback undoes it)%s. "
        "Otherwise another deployment migrates the source: two plans must not name the same source database, so remove "
        "it from this plan"
        % (where, ctx.plan.name, target, FREEZE_MARKER, text, why, ours, entry, entry, later))


def _parse_marker(text: str) -> Tuple[Optional[str], Optional[str], Optional[str], Access]:
    """(plan, target, target server's ARM id, access before the freeze); the ARM id None in a marker written before
    it; a value the DAG did not write gives plan None (not this plan): only the exact text `marker_value` writes, or
    wrote without `targetServerId`, is one, since the freeze batch compares the text whole (a marker of this plan's
    content in another spelling would make the batch skip its freeze while this check let it pass), and a "false"
    or an unknown access must not be taken for an access."""
    try:
        value = json.loads(text)
        plan, target, read_only, user_access = value["plan"], value["target"], value["readOnly"], value["userAccess"]
        server_id = value.get(TARGET_SERVER_ID)
    except (ValueError, KeyError, TypeError):
        return None, None, None, WRITABLE
    if not (isinstance(plan, str) and plan and isinstance(target, str) and isinstance(read_only, bool)
            and user_access in USER_ACCESS_MODES and len(value) == (4 if server_id is None else 5)
            and (server_id is None or (isinstance(server_id, str) and server_id))
            and json.dumps(value, sort_keys=True, separators=(",", ":")) == text):
        return None, None, None, WRITABLE
    return plan, target, server_id, (read_only, user_access)
