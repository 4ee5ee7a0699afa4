"""Where a database's migration stands, decided from DMS state alone (never from Airflow's history).

Every task of every run starts from here, so a run that follows a crashed one continues where
the world is, not where the crashed run's task states say it was:

    not_started -> copying -> ready_for_cutover -> completing -> succeeded   (online)
    not_started -> copying -> succeeded                                        (offline)
    any active stage -> failed | canceling -> canceled

`completing` (cutover requested) and `succeeded` are live or going live: nothing may roll them
back by deletion (see `target_removal`). `canceling` is neither active nor ended: DMS is still
stopping the migration (it may still restore into the target), so nothing starts, and the rollback
waits for `canceled` before it removes the target or hands the source back.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple

from migration_orchestration_lib.migration_status import (
    CANCELED,
    CANCELING,
    COMPLETING,
    COPYING,
    FAILED,
    NOT_STARTED,
    READY_FOR_CUTOVER,
    SUCCEEDED,
    MigrationStatus,
)
from migration_orchestration_lib.plan import DatabaseMigration, SourceServer

ACTIVE = (COPYING, READY_FOR_CUTOVER)
LIVE = (COMPLETING, SUCCEEDED)
ENDED = (FAILED, CANCELED)


class ForeignMigrationError(RuntimeError):
    """The target database is being migrated by another migration service (another plan's), or from
    another source database (a person's, through this plan's service): not ours to touch."""


@dataclass(frozen=True)
class Standing:
    stage: str
    migration: Optional[MigrationStatus]  # the latest DMS migration into the target, when it is ours
    # The source server DMS names for it where that is not the plan's source host (`source_server_names`):
    # ours by service and source database, yet maybe another server's same-named database. Doubtful:
    # forward steps go on with it; rollback cancels it or removes its target only where this run created it.
    unmatched_source_server: Optional[str] = None
    # Not_started for this plan, yet DMS's latest migration into the target is another's (`foreign_because`: what DMS
    # says) that it reports Succeeded: a completed copy or restore, perhaps handed to applications by whoever ran it.
    # A SqlDb copy never writes over it (`steps._refuse_copying_over_a_completed_migration`).
    foreign_completed: Optional[Tuple[MigrationStatus, str]] = None

    @property
    def operation_id(self) -> Optional[str]:
        return self.migration.migration_operation_id if self.migration else None

    @property
    def latest_operation_id(self) -> Optional[str]:
        """DMS's latest migration into the target: this plan's, or another's it reports Succeeded (`foreign_completed`:
        one a run of this Airflow declared migrated before the plan's migration service was replaced reads so)."""
        return self.operation_id or (self.foreign_completed[0].migration_operation_id if self.foreign_completed else None)

    @property
    def is_live(self) -> bool:
        return self.stage in LIVE

    @property
    def is_active(self) -> bool:
        return self.stage in ACTIVE

    @property
    def runs_in_dms(self) -> bool:
        """What a rollback cancels: an active migration, or one `stage` reads failed (its last ARM operation
        failed) that DMS still reports copying (`MigrationStatus.still_copies`)."""
        return self.is_active or (self.stage == FAILED and self.migration is not None and self.migration.still_copies)

    @property
    def has_ended(self) -> bool:
        return self.stage in ENDED

    @property
    def is_canceling(self) -> bool:
        return self.stage == CANCELING

    @property
    def is_canceling_or_ended(self) -> bool:
        """No forward step can go on with it: it ended, or DMS is canceling it."""
        return self.has_ended or self.is_canceling

    def describe_stop(self) -> str:
        """How it stopped, for a step that cannot go on with it (`is_canceling_or_ended`). One whose last ARM operation
        failed while DMS still copies it (`runs_in_dms`) has not: it may still restore into the target."""
        if self.is_canceling:
            how = "is being canceled"
        elif self.runs_in_dms:
            how = "still copies though its last ARM operation failed (the rollback cancels it)"
        else:
            how = "ended"
        return "%s: %s" % (how, self.describe())

    @property
    def is_doubtful(self) -> bool:
        return bool(self.unmatched_source_server)

    def describe(self) -> str:
        if self.migration is None:
            return self.stage
        return "%s (migration %s: %s)" % (self.stage, self.operation_id, self.migration.describe())


def standing_of(
    database: DatabaseMigration,
    migration: Optional[MigrationStatus],
    migration_service_id: Optional[str] = None,
    source_server: Optional[SourceServer] = None,
) -> Standing:
    """Classify the latest DMS migration into the database's target (None: there never was one).
    `migration_service_id`: the plan's own service; a migration not ours (`foreign_because`) in flight
    raises `ForeignMigrationError`, and so does one DMS still works on (`MigrationStatus.still_runs_in_dms`: still
    canceling, or still copying though its last ARM operation failed); an ended one is not_started. `source_server`: the database's source
    server; where DMS names another (`Standing.unmatched_source_server`) the migration is ours, but
    doubtful. Either left out is not compared (the count of other databases' cutovers, which only
    holds back)."""
    if migration is None:
        return Standing(NOT_STARTED, None)
    foreign = foreign_because(migration, database.source_database, migration_service_id)
    if foreign is not None:
        if migration.still_runs_in_dms:  # canceling, or copying after a failed ARM operation: it may still restore there
            raise ForeignMigrationError(
                "target database %s is being migrated %s (DMS migration %s, %s: %s, or started by hand)"
                % (database.target_database, foreign[0], migration.migration_operation_id, migration.migration_status, foreign[1])
            )
        return Standing(NOT_STARTED, None,  # an ended migration that was not ours
                        foreign_completed=(migration, foreign[0]) if migration.is_succeeded else None)
    stage = migration.stage  # creating, copying, ready_for_cutover, completing, succeeded, failed, canceling, canceled
    if stage == "creating":
        stage = COPYING
    # Not foreign: Azure PowerShell's recorded SqlDb sessions show DMS echoing the request's dataSource
    # in sourceServerName (`source_server_names`), but no recording covers the other kinds or versions,
    # and a plan's host may be an IP address, an alias or a listener.
    unmatched = migration.other_source_server(source_server.host, source_server.port) if source_server else None
    return Standing(stage, migration, unmatched)


def foreign_because(
    migration: MigrationStatus, source_database: str, migration_service_id: Optional[str] = None
) -> Optional[Tuple[str, str]]:
    """Why DMS's migration into the target is not this plan's: (what DMS says, whose it may be), or None.
    Ours: run by the plan's migration service (where DMS returns `migrationService`), from the plan's
    source database. The source server DMS names does not decide (`Standing.unmatched_source_server`)."""
    if migration_service_id is not None and migration.runs_on_another_service(migration_service_id):
        return ("by migration service %s, not by this plan's %s" % (migration.migration_service, migration_service_id),
                "another plan's deployment")
    if (migration.source_database_name or "").lower() != source_database.lower():
        return "from source database %r, not %r" % (migration.source_database_name, source_database), "another plan's database"
    return None


def standing(ctx: Any) -> Standing:
    """Where a step's migration stands now (one DMS read; with the service's list where it answers 404:
    `DmsGateway.current_migration`); remembered on the context for the event.
    A foreign migration in flight fails the step (`step_context.ForeignMigration`); a doubtful one does not; so does
    none in DMS where this run recorded one (`_check_not_forgotten`)."""
    from migration_orchestration_lib.step_context import ForeignMigration

    try:
        dms = ctx.services.dms
        migration = dms.current_migration(ctx.target)
        _check_not_forgotten(ctx, migration, dms)
        _check_not_of_an_earlier_source(ctx, migration, dms.migration_service_id)
        current = standing_of(ctx.database, migration, dms.migration_service_id, ctx.source_server)
    except ForeignMigrationError as error:
        raise ForeignMigration(str(error)) from error
    ctx.operation_id = current.operation_id or ctx.operation_id
    return current


def _check_not_forgotten(ctx: Any, migration: Optional[MigrationStatus], dms: Any) -> None:
    """Fail for a person where DMS shows no migration into the target (ARM's 404 and `listMigrations` agree:
    `DmsGateway.current_migration`) while this run recorded one (`StepContext.remembered_migration`) that the service
    lists into no other target either (one it does: the entry's target was edited since, `capacity.migration_into_an_unnamed_target`),
    in the very list that proved the 404: a second, fresher one could list it into this target, and the 404 would stand.
    Right after a create the list may lag like the GET: read as "there never was one", the rollback would leave that
    migration running and hand its frozen source back, reporting it rolled back, and a step would start a new one over it."""
    from migration_orchestration_lib.step_context import StepFailure

    remembered = ctx.remembered_migration() if migration is None else None
    if remembered is None or any((status.migration_operation_id or "").lower() == remembered[0].lower()
                                 for _, _, status in dms.migrations_on_service(reuse=True)):  # the 404's proof read it
        return
    database, target, migration_service_id = ctx.database, ctx.target, dms.migration_service_id
    raise StepFailure(
        "DMS shows no migration into %s (ARM answers 404 for %s/providers/Microsoft.DataMigration/databaseMigrations/%s "
        "and listMigrations of migration service %s lists none into it, nor that migration into another target), yet "
        "this run recorded migration %s there (%s): "
        "ARM's answers may lag right after a create, so nothing is started, canceled, removed or handed back on them "
        "and source database %s's access is left as it is. A person checks in the Azure portal whether DMS still runs "
        "migration %s into %s (the migration service's migrations; the target server's activity log: was the migration "
        "resource deleted, or the server deleted and created again?): once DMS shows it, run this task again; if it is "
        "gone for good and nothing restores or copies into %s any more, trigger a new DAG run (this run keeps its "
        "record of %s): its steps go on from where DMS and SQL Server stand"
        % (target.describe(), target.scope, target.database_name, migration_service_id, remembered[0], remembered[1],
           database.source_database, remembered[0], database.target_database, database.target_database, remembered[0])
    )


def _check_not_of_an_earlier_source(ctx: Any, migration: Optional[MigrationStatus], migration_service_id: Optional[str]) -> None:
    """Fail for a person where the target's migration (in flight or ended) is of another source database of the
    plan's source server that the DAG holds a record of the access before a freeze of (`source_freeze`: a
    migration of it under way, its source perhaps frozen by the DAG): the entry's `source.database` was
    changed while its migration was under way. Taken for a foreign migration, it was left as it is and the
    message said to let it end or cancel it, which left the old source frozen with nobody told."""
    from migration_orchestration_lib import source_freeze
    from migration_orchestration_lib.step_context import StepFailure

    database, server = ctx.database, ctx.source_server
    if migration is None or not migration.source_database_name:
        return
    if migration.source_database_name.lower() == database.source_database.lower():
        return
    if migration_service_id is not None and migration.runs_on_another_service(migration_service_id):
        return
    if migration.other_source_server(server.host, server.port):
        return
    earlier = _SourceOf(database.source_server, migration.source_database_name)
    key = source_freeze.record_key(earlier)
    recorded = ctx.services.records.get(key)
    if not recorded:
        return
    raise StepFailure(
        "target database %s on %s holds DMS migration %s (%s) of source database %s on %s, not of %s as the plan's "
        "entry %s now says, and the DAG holds a record of %s's access before its freeze (the Airflow Variable %s = %s): "
        "a migration the DAG had under way, from before the entry's source.database was changed (or of an entry "
        "since removed), and source database %s may still be frozen by the DAG. Nothing is started, canceled, "
        "removed, frozen or unfrozen. A person must act: put the entry's source.database back to %s and run again "
        "(each step carries on from where DMS and SQL Server stand, or its rollback undoes it); %s"
        % (database.target_database, database.target_server, migration.migration_operation_id, migration.migration_status,
           migration.source_database_name, database.source_server, database.source_database, database.name,
           migration.source_database_name, key, recorded, migration.source_database_name, migration.source_database_name,
           _or_undo_it_yourself(migration, database.source_database, key, _declared_into_its_target(ctx, migration)))
    )


def _declared_into_its_target(ctx: Any, migration: MigrationStatus) -> Optional[str]:
    """The migration a run declared migrated into the target (this one, or one before it: the handoff by target), or
    None; whatever DMS reports of it since (it may read Failed, or a later migration failed over the live database)."""
    from migration_orchestration_lib.handoffs import declared_into_target, declared_migrated

    if declared_migrated(ctx, migration.migration_operation_id):
        return migration.migration_operation_id
    return declared_into_target(ctx)


def _or_undo_it_yourself(migration: MigrationStatus, new_source: str, key: str, declared: Optional[str]) -> str:
    """The other way a person may take; none where DMS completed the migration or is completing it (its cutover asked
    for), or a run declared a migration into its target migrated (`declared`, whatever DMS reports since): its target
    is live or going live, and a writable source beside it would split the writes."""
    from migration_orchestration_lib import source_freeze
    from migration_orchestration_lib.operator_commands import variables_set

    source = migration.source_database_name
    if migration.cutover_requested or declared:
        return ("%s, so never cancel migration %s or drop its target, "
                "and keep source database %s frozen until whoever owns that target says nothing uses it (a writable "
                "source beside it would split their writes). To migrate %s, name another target database for it"
                % ("a run declared migration %s into that target migrated: applications may write to it" % declared
                   if declared else "DMS completed that migration, or is completing it (its cutover asked for): its "
                   "target is live or goes live, and a run may have handed it to applications",
                   migration.migration_operation_id, source, new_source))
    return ("or undo it yourself: %sgive %s back the access recorded before the freeze, drop its freeze marker "
            "(EXEC %s.sys.sp_dropextendedproperty @name = N'%s', on the writable database) and clear the record "
            "(%s); then run again" % (_undo_the_migration(migration), source, source_freeze.quote_name(source),
                                      source_freeze.FREEZE_MARKER, variables_set(key)))


def _undo_the_migration(migration: MigrationStatus) -> str:
    """What a person does first of all to undo a migration DMS still works on (`still_runs_in_dms`), else nothing."""
    if migration.is_canceling:
        return ("wait until DMS reports migration %s Canceled, drop the target database it leaves RESTORING (only if "
                "nothing uses it), " % migration.migration_operation_id)
    if migration.still_runs_in_dms:
        return ("cancel DMS migration %s, drop the target database it leaves RESTORING (only if nothing uses it), "
                % migration.migration_operation_id)
    return ""


@dataclass(frozen=True)
class _SourceOf:
    source_server: str
    source_database: str
