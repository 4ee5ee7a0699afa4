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
from typing import Any, Optional

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
from migration_orchestration_lib.plan import DatabaseMigration

ACTIVE = (COPYING, READY_FOR_CUTOVER)
LIVE = (COMPLETING, SUCCEEDED)
ENDED = (FAILED, CANCELED)


class ForeignMigrationError(RuntimeError):
    """The target database is being migrated from another source database, or by another migration
    service (another plan's): not ours to touch."""


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
    database: DatabaseMigration, migration: Optional[MigrationStatus], migration_service_id: Optional[str] = None
) -> Standing:
    """Classify the latest DMS migration into the database's target (None: there never was one).
    `migration_service_id`: the plan's own service; a migration another service runs is not ours."""
    if migration is None:
        return Standing(NOT_STARTED, None)
    if migration_service_id is not None and migration.runs_on_another_service(migration_service_id):
        if migration.is_in_flight:
            raise ForeignMigrationError(
                "target database %s is being migrated by migration service %s, not by this plan's %s (DMS migration %s, "
                "%s: another plan's deployment, or started by hand)"
                % (database.target_database, migration.migration_service, migration_service_id,
                   migration.migration_operation_id, migration.migration_status)
            )
        return Standing(NOT_STARTED, None)  # an ended migration of another service: not ours
    if (migration.source_database_name or "").lower() != database.source_database.lower():
        if migration.is_in_flight:
            raise ForeignMigrationError(
                "target database %s is being migrated from source database %r, not %r (DMS migration %s, %s: another "
                "plan's database, or started by hand)"
                % (database.target_database, migration.source_database_name, database.source_database,
                   migration.migration_operation_id, migration.migration_status)
            )
        return Standing(NOT_STARTED, None)  # an ended migration of another source: not ours
    stage = migration.stage  # creating, copying, ready_for_cutover, completing, succeeded, failed, canceling, canceled
    if stage == "creating":
        stage = COPYING
    elif stage == "canceling":
        stage = CANCELED
    return Standing(stage, migration)


def standing(ctx: Any) -> Standing:
    """Where a step's migration stands now (one DMS read); remembered on the context for the event.
    A foreign migration in flight fails the step (`step_context.ForeignMigration`)."""
    from migration_orchestration_lib.step_context import ForeignMigration

    try:
        dms = ctx.services.dms
        current = standing_of(ctx.database, dms.current_migration(ctx.target), dms.migration_service_id)
    except ForeignMigrationError as error:
        raise ForeignMigration(str(error)) from error
    ctx.operation_id = current.operation_id or ctx.operation_id
    return current
