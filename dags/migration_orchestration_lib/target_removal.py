"""What rollback may delete: the one rule, and the removal it allows.

A target database is removed only if this migration created it and it never went live:

- SqlDb targets are never removed: DMS copies into a database (and schema) that existed before
  the migration; the DAG did not create it.
- Nothing is removed unless DMS holds a migration of this database's source into it (otherwise
  this migration did not create it: preflight refuses to start over an existing target).
- Nothing is removed where a run declared a migration into it migrated (`handoffs.declared_into_target`),
  whatever DMS reports since (that migration read Failed, or a later one failed over the live database)
  and whatever its state (a live database taken OFFLINE is still the one applications write to).
- Nothing is removed once cutover was requested or the migration completed (`Completing`,
  `Succeeded`): the database is live or going live.
- Nothing is removed while the target is ONLINE (open for writes: it went live), nor in any `sys.databases`
  state but RESTORING, what a restore WITH NORECOVERY that never went live is left in (OFFLINE: a person took
  it offline; RECOVERING, RECOVERY_PENDING, SUSPECT, EMERGENCY: it was being brought online, or repaired).
- Nothing is removed while the migration is still active, copying (whatever ARM's `provisioningState` says
  of its last operation) or `Canceling` (DMS may still restore into the target then): rollback cancels it first, waits until DMS reports it `Canceled`, then reads DMS
  state again right before deciding (`decide` is called with fresh state).

- Nothing is removed where the migration's create was canceled before DMS started it (`provisioningState`
  Canceled, no status or `Creating`: `MigrationStatus.create_canceled`): it restored nothing.
- Nothing is removed once that migration's target was seen gone after it ended (`note_gone`: the
  rollback removed it, or found or a preflight found it absent, DMS reporting the migration Failed or
  Canceled): DMS keeps its last migration into a target database after it ended, and creates nothing
  after, so a database of that name there now was put there since by someone else (a person's own
  restore, a standby), and existed before the next migration. The Airflow Variable
  `migration_target_gone__<operation id>` = `<target server>/<target database>` keeps that fact.

What remains: a SqlMi or SqlVm database left RESTORING by a migration of our source that ended
Failed or Canceled. SqlMi databases are deleted through ARM (the managed-database delete, awaited),
only while ARM reports them Restoring right before; SqlVm databases with `DROP DATABASE` on the VM,
in a batch that drops the database only while it is RESTORING.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from migration_orchestration_lib.migration_status import MigrationStatus
from migration_orchestration_lib.sql_statements import HIDDEN_SQLDB_TARGET, DatabaseRead, hidden_database
from migration_orchestration_lib.plan import DatabaseMigration
from migration_orchestration_lib.step_context import StepFailure

ONLINE = "ONLINE"
RESTORING = "RESTORING"
# An allowlist, not a denylist of ONLINE: `sys.databases.state_desc` has ONLINE, RESTORING, RECOVERING,
# RECOVERY_PENDING, SUSPECT, EMERGENCY, OFFLINE, COPYING, OFFLINE_SECONDARY, and only RESTORING is what a
# restore that never went live leaves.
REMOVABLE_STATES = (RESTORING,)
# ARM's ManagedDatabaseStatus (an extensible enum: Online, Offline, Shutdown, Creating, Inaccessible, Restoring,
# Updating, Stopping, Stopped, Starting, DbMoving, DbCopying in 2023-08-01) of a DMS restore that never went live.
DELETABLE_ARM_STATUSES = ("Restoring",)
# A rollback that undid the rest but kept a target our ended migration left, not RESTORING (`RemovalDecision.
# left_for_a_person`): its event status and its outcome, so that neither reads as a clean rollback.
KEPT_TARGET_STATUS = "RolledBackTargetKept"
KEPT_TARGET_OUTCOME = "rolled_back_target_kept"
GONE_RECORD_PREFIX = "migration_target_gone__"
ENDED_STATUSES = ("Failed", "Canceled")  # not Canceling: DMS may still be restoring then


@dataclass(frozen=True)
class RemovalDecision:
    remove: bool
    reason: str
    # Kept though it is what our ended migration left (not RESTORING any more): a leftover that the next run's
    # preflight refuses until a person drops it, so the rollback says so in its status (`KEPT_TARGET_STATUS`).
    left_for_a_person: bool = False


def hidden(database: DatabaseMigration, read: DatabaseRead) -> str:
    """Why a restore's target database read absent is unknown instead (`DatabaseRead.hidden`), and the grant that
    lets the DAG's login see it; empty where the read is what it says (a SqlDb target's absence says it already)."""
    if not database.restores_backups or not read.hidden:
        return ""
    return hidden_database("target", database.target_database, database.target_server, read.login, "ONLINE, in use")


def decide(database: DatabaseMigration, migration: Optional[MigrationStatus], target_state: Optional[Any],
           gone_after_it_ended: bool = False, declared_into: Optional[str] = None) -> RemovalDecision:
    """`migration`: the latest DMS migration into the target (read just now) where it is this plan's
    (`migration_stage.standing_of`: None where another service or source database runs it; a doubtful
    one, whose source server DMS names otherwise, the rollback removes only where this run created it);
    `target_state`: the target database's `sys.databases` state (None when absent), read just now;
    `gone_after_it_ended`: that migration's target was seen gone after it ended (`noted_gone`); `declared_into`: the
    migration a run declared migrated into the target (`handoffs.declared_into_target`; None: none)."""
    name = database.target_database
    if database.target_kind == "SqlDb":
        if target_state is None:  # dropped by a person since: "kept" would send them to a next run preflight refuses
            return RemovalDecision(False, (
                "SqlDb target %s, which existed before the migration, has no row in master's sys.databases on %s: absent "
                "(dropped since), or hidden from the login (%s). Nothing to remove; if it was dropped, deploy it again "
                "with the source's schema before the next run (preflight refuses a SqlDb target that does not exist)"
                % (name, database.target_server, HIDDEN_SQLDB_TARGET)))
        return RemovalDecision(False, "SqlDb target %s existed before the migration: kept (its data may be partial)" % name)
    if target_state is None:
        return RemovalDecision(False, "target %s is absent: nothing to remove" % name)
    if declared_into:
        return RemovalDecision(False, "target %s (%s): a run declared migration %s into it migrated, so applications may "
                                      "write to it: kept" % (name, target_state.state, declared_into))
    if migration is None or (migration.source_database_name or "").lower() != database.source_database.lower():
        return RemovalDecision(False, "target %s was not created by a migration of %s: kept" % (name, database.source_database))
    if gone_after_it_ended:
        return RemovalDecision(False, (
            "target %s (%s) was not created by migration %s, which ended %s and whose target was gone after it ended (the "
            "Airflow Variable %s): put there since by someone else, kept" % (
                name, target_state.state, migration.migration_operation_id, migration.migration_status,
                gone_key(migration.migration_operation_id))))
    if migration.migration_status in ("Completing", "Succeeded"):
        return RemovalDecision(False, "target %s is live (DMS migration %s): kept" % (name, migration.migration_status))
    if target_state.state == ONLINE:
        if not _ended_and_restored(migration):
            return RemovalDecision(False, "target %s is ONLINE (open for writes): kept" % name)
        return RemovalDecision(False, (
            "target %s is ONLINE (open for writes): kept. Drop it yourself only once you know it is what migration %s (%s) "
            "left and nothing wrote to it" % (name, migration.migration_operation_id, migration.migration_status)),
            left_for_a_person=True)
    if migration.is_canceling:
        return RemovalDecision(False, "migration into %s is still Canceling (DMS may still restore into it): kept until DMS "
                                      "reports it Canceled" % name)
    if not migration.is_terminal_failure or migration.still_copies:  # copying, whatever ARM's last operation says
        return RemovalDecision(False, "migration into %s is still %s: kept until it is canceled" % (name, migration.migration_status))
    if migration.create_canceled:
        return RemovalDecision(False, "target %s (%s) was not created by migration %s, whose create was canceled before DMS "
                                      "started it (provisioningState Canceled): kept" % (name, target_state.state, migration.migration_operation_id))
    if target_state.state not in REMOVABLE_STATES:
        return RemovalDecision(False, (
            "target %s is %s, not RESTORING as a restore that never went live is left: kept (a person may have taken it "
            "offline, or brought it online, since). Drop it yourself only once you know it is what migration %s (%s) "
            "left and nothing wrote to it" % (name, target_state.state, migration.migration_operation_id, migration.migration_status)),
            left_for_a_person=True)
    return RemovalDecision(
        True,
        "target %s (%s) was created by migration %s, which ended %s and never went live"
        % (name, target_state.state, migration.migration_operation_id, migration.migration_status),
    )


def _ended_and_restored(migration: MigrationStatus) -> bool:
    """Whether `migration` ended for good after DMS began restoring (what preflight then names a leftover)."""
    return (migration.is_terminal_failure and not migration.still_copies and not migration.is_canceling
            and not migration.create_canceled)


def gone_key(operation_id: Optional[str]) -> str:
    return GONE_RECORD_PREFIX + (operation_id or "")


def noted_gone(ctx: Any, migration: Optional[MigrationStatus]) -> bool:
    """Whether `migration`'s target was seen gone after it ended (`note_gone`)."""
    return bool(migration is not None and migration.migration_operation_id and ctx.services.records.get(gone_key(migration.migration_operation_id)))


def note_gone(ctx: Any, migration: Optional[MigrationStatus]) -> None:
    """Record that `migration`, ended Failed or Canceled (DMS creates nothing after), has no target database any
    more (removed, or read absent after it ended): a database of that name found later is not its own."""
    database = ctx.database
    if (not database.restores_backups or migration is None or not migration.migration_operation_id
            or migration.migration_status not in ENDED_STATUSES or noted_gone(ctx, migration)):
        return
    ctx.services.records.put(gone_key(migration.migration_operation_id), "%s/%s" % (database.target_server, database.target_database))


def arm_status_keeping(ctx: Any, database: DatabaseMigration) -> Optional[str]:
    """What ARM reads of a managed instance target that `remove` would keep though SQL read it RESTORING (its status,
    "no status"), read as `remove` reads it; None: another kind of target, one absent, or one still Restoring."""
    if database.target_kind != "SqlMi":
        return None
    return _status_keeping(ctx.services.dms.managed_database(ctx.target))


def _status_keeping(managed: Any) -> Optional[str]:
    """The ARM status of a present managed database that is not deleted (None: absent, or Restoring)."""
    if managed is None or managed.status in DELETABLE_ARM_STATUSES:
        return None
    return "no status" if managed.status is None else managed.status


def remove(ctx: Any, database: DatabaseMigration) -> str:
    """Remove a target database `decide` allowed; idempotent (an absent database is fine)."""
    if database.target_kind == "SqlVm":
        # The batch's own answer, not only its error: a DROP that did not happen must not read as done.
        if ctx.sql.drop_target(database):
            raise StepFailure(
                "target database %s on SQL VM %s is still there after DROP DATABASE (which drops it only while it is "
                "RESTORING: it may have gone live or been taken offline since it was read): kept"
                % (database.target_database, database.target_server))
        return "dropped target database %s on SQL VM %s" % (database.target_database, database.target_server)
    # ARM deletes a managed database whatever its state, and `decide` read it through SQL (through Data Factory,
    # minutes ago): its ARM status, read right before, keeps one that is no longer (or not known to be) Restoring.
    managed = ctx.services.dms.managed_database(ctx.target)
    if managed is None:
        return "target database %s was already absent" % database.target_database
    kept_as = _status_keeping(managed)
    if kept_as:
        raise StepFailure(
            "managed database %s on %s reads %s in ARM right before its delete (%s): kept. Only a database still "
            "Restoring, the DMS restore that never went live, is deleted; delete it yourself (az sql midb delete) only "
            "once you know it is that restore and holds nothing written since, then clear this rollback task" % (
                database.target_database, database.target_server, kept_as,
                "it may have gone live since it was read" if managed.status == "Online"
                else "it may have been taken offline, or be changing, since it was read"))
    if ctx.services.dms.delete_target_database(ctx.target):  # ARM delete, awaited
        return "deleted managed database %s on %s" % (database.target_database, database.target_server)
    return "target database %s was already absent" % database.target_database
