"""Where a database's migration stands, decided from DMS state alone (never from Airflow's history).

Every task of every run starts from here, so a run that follows a crashed one continues where
the world is, not where the crashed run's task states say it was:

    not_started -> copying -> ready_for_cutover -> completing -> succeeded   (online)
    not_started -> copying -> succeeded                                        (offline)
    any active stage -> failed | canceled

`completing` (cutover requested) and `succeeded` are live or going live: nothing may roll them
back by deletion (see `target_removal`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple

from migration_orchestration_lib.migration_status import (
    CANCELED,
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
    another source database or source server (a person's, through this plan's service): not ours to touch."""


@dataclass(frozen=True)
class Standing:
    stage: str
    migration: Optional[MigrationStatus]  # the latest DMS migration into the target, when it is ours

    @property
    def operation_id(self) -> Optional[str]:
        return self.migration.migration_operation_id if self.migration else None

    @property
    def is_live(self) -> bool:
        return self.stage in LIVE

    @property
    def is_active(self) -> bool:
        return self.stage in ACTIVE

    @property
    def has_ended(self) -> bool:
        return self.stage in ENDED

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
    `migration_service_id` and `source_server`: the plan's own service and the database's source server;
    a migration not ours (`foreign_because`) in flight raises `ForeignMigrationError`, an ended one is
    not_started. Either left out is not compared (the count of other databases' cutovers, which only
    holds back)."""
    if migration is None:
        return Standing(NOT_STARTED, None)
    foreign = foreign_because(migration, database.source_database, migration_service_id, source_server)
    if foreign is not None:
        if migration.is_in_flight:
            raise ForeignMigrationError(
                "target database %s is being migrated %s (DMS migration %s, %s: %s, or started by hand)"
                % (database.target_database, foreign[0], migration.migration_operation_id, migration.migration_status, foreign[1])
            )
        return Standing(NOT_STARTED, None)  # an ended migration that was not ours
    stage = migration.stage  # creating, copying, ready_for_cutover, completing, succeeded, failed, canceling, canceled
    if stage == "creating":
        stage = COPYING
    elif stage == "canceling":
        stage = CANCELED
    return Standing(stage, migration)


def foreign_because(
    migration: MigrationStatus,
    source_database: str,
    migration_service_id: Optional[str] = None,
    source_server: Optional[SourceServer] = None,
) -> Optional[Tuple[str, str]]:
    """Why DMS's migration into the target is not this plan's: (what DMS says, whose it may be), or None.
    Ours: run by the plan's migration service, from the plan's source database on the plan's source
    server. A field DMS does not return (`migrationService`, `sourceServerName`) is not compared:
    then the others decide, as before; one it returns and that differs is never ours."""
    if migration_service_id is not None and migration.runs_on_another_service(migration_service_id):
        return ("by migration service %s, not by this plan's %s" % (migration.migration_service, migration_service_id),
                "another plan's deployment")
    if (migration.source_database_name or "").lower() != source_database.lower():
        return "from source database %r, not %r" % (migration.source_database_name, source_database), "another plan's database"
    other_server = source_server and migration.other_source_server(source_server.host, source_server.port)
    if other_server:
        return ("from source server %r, not this plan's %s (%s)" % (other_server, source_server.name, source_server.data_source),
                "a database of the same name on another server")
    return None


def standing(ctx: Any) -> Standing:
    """Where a step's migration stands now (one DMS read); remembered on the context for the event.
    A foreign migration in flight fails the step (`step_context.ForeignMigration`)."""
    from migration_orchestration_lib.step_context import ForeignMigration

    try:
        dms = ctx.services.dms
        current = standing_of(ctx.database, dms.current_migration(ctx.target), dms.migration_service_id, ctx.source_server)
    except ForeignMigrationError as error:
        raise ForeignMigration(str(error)) from error
    ctx.operation_id = current.operation_id or ctx.operation_id
    return current
