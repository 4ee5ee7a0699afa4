"""The forward steps of one database's migration. Each is idempotent: a retry or re-run is safe."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from migration_orchestration_lib.dms_gateway import MigrationConflictError
from migration_orchestration_lib.migration_request import build_migration_request
from migration_orchestration_lib.migration_status import MigrationStatus
from migration_orchestration_lib.readiness import has_restored_backup, is_ready_for_cutover
from migration_orchestration_lib.step_context import StepContext, StepFailure, StepResult
from migration_orchestration_lib.validation import compare_source_and_target

INTEGRATION_RUNTIME_ONLINE = "Online"
READY_FOR_CUTOVER = "ready_for_cutover"
SUCCEEDED = "succeeded"


def preflight(ctx: StepContext) -> StepResult:
    """Refuse to start what cannot work, before anything changes."""
    services, database = ctx.services, ctx.database
    source = ctx.plan.source_of(database)
    target = ctx.plan.target_of(database)

    runtime_state = services.dms.integration_runtime_state()
    if runtime_state != INTEGRATION_RUNTIME_ONLINE:
        raise StepFailure(
            "the DMS self-hosted integration runtime is %s, not Online: register or start it first" % runtime_state
        )
    source_state = services.sql.database_state(source.connection_id, database.source_database)
    if source_state is None:
        raise StepFailure("source database %s not found on %s" % (database.source_database, source.name))
    if source_state.state != "ONLINE":
        raise StepFailure("source database %s is %s, not ONLINE" % (database.source_database, source_state.state))
    if database.is_online and source_state.recovery_model != "FULL":
        raise StepFailure(
            "online migration of %s needs the FULL recovery model (log backups), it is %s"
            % (database.source_database, source_state.recovery_model)
        )

    existing = services.dms.current_migration(ctx.target)
    adopting = (
        existing is not None
        and existing.is_in_flight
        and (existing.source_database_name or "").lower() == database.source_database.lower()
    )
    target_state = services.sql.database_state(target.connection_id, database.target_database)
    if target.kind == "SqlDb":
        if target_state is None:
            raise StepFailure(
                "SqlDb target database %s must exist, with its schema, before the migration" % database.target_database
            )
    elif target_state is not None and not adopting:
        raise StepFailure(
            "target database %s already exists on %s (%s): refusing to overwrite it"
            % (database.target_database, target.name, target_state.state)
        )
    message = "source %s ONLINE (%s), target %s %s" % (
        database.source_database,
        source_state.recovery_model,
        database.target_database,
        "migration in flight, will adopt" if adopting else "ready",
    )
    return StepResult(message, return_value={"source_read_only": source_state.is_read_only})


def start_migration(ctx: StepContext) -> StepResult:
    services = ctx.services
    try:
        result = services.dms.start(
            ctx.target,
            ctx.database.source_database,
            lambda: build_migration_request(ctx.plan, ctx.database, services.dms.migration_service_id, services.connections),
        )
    except MigrationConflictError as error:
        raise StepFailure(str(error)) from error
    verb = "adopted migration already in flight" if result.adopted else "started migration"
    return StepResult(
        "%s %s (%s)" % (verb, result.migration_operation_id, result.status.describe()),
        return_value=result.migration_operation_id,
    )


def poll_migration(ctx: StepContext) -> MigrationStatus:
    """One sensor poke: the status, after failing fast on a terminal DMS failure."""
    status = ctx.services.dms.status(ctx.target, ctx.require_migration_operation_id())
    if status.is_terminal_failure:
        raise StepFailure("DMS migration of %s ended: %s" % (ctx.database.name, status.describe()))
    return status


def goal_met(status: MigrationStatus, goal: str) -> bool:
    if goal == READY_FOR_CUTOVER:
        return is_ready_for_cutover(status)
    return status.is_succeeded


def cutover(ctx: StepContext) -> StepResult:
    """Freeze the source, ship its tail-log backup, wait until DMS restored it, then cut over.

    Freezing first means no transaction is lost: the tail-log backup holds the last change.
    Rollback sets the source READ_WRITE again if the migration fails after this.
    """
    services, database = ctx.services, ctx.database
    operation_id = ctx.require_migration_operation_id()
    status = services.dms.status(ctx.target, operation_id)
    if status.migration_status in ("Completing", "Succeeded"):
        return StepResult("cutover already requested (%s)" % status.describe())
    if status.is_terminal_failure:
        raise StepFailure("DMS migration of %s ended: %s" % (database.name, status.describe()))

    source = ctx.plan.source_of(database)
    share = source.backup_file_share
    if share is None:
        raise StepFailure("source server %s has no backupFileShare for the tail-log backup" % source.name)
    services.sql.set_read_only(source.connection_id, database.source_database, True)
    backup_name = "%s_cutover_%s_%s.trn" % (
        database.source_database,
        ctx.airflow_context.get("ts_nodash", "run"),
        ctx.task_instance.try_number,
    )
    services.sql.backup_log(
        source.connection_id, database.source_database, share.path.rstrip("\\/") + "\\" + backup_name
    )

    deadline = time.monotonic() + ctx.timing.final_backup_restore_timeout.total_seconds()
    while True:
        status = services.dms.status(ctx.target, operation_id)
        if status.is_terminal_failure:
            raise StepFailure("DMS migration of %s ended: %s" % (database.name, status.describe()))
        if has_restored_backup(status, backup_name):
            break
        if time.monotonic() > deadline:
            raise StepFailure(
                "tail-log backup %s was not restored within %s (%s)"
                % (backup_name, ctx.timing.final_backup_restore_timeout, status.describe())
            )
        time.sleep(ctx.timing.cutover_poll_seconds)
    services.dms.cutover(ctx.target, operation_id)
    return StepResult("source frozen, tail-log backup %s restored, cutover requested" % backup_name)


def validate(ctx: StepContext) -> StepResult:
    report = compare_source_and_target(ctx.services.sql, ctx.plan, ctx.database)
    if not report.passed:
        raise StepFailure("validation of %s failed: %s" % (ctx.database.name, report.summary()))
    return StepResult("validation passed: %s" % report.summary())


def done(ctx: StepContext) -> StepResult:
    return StepResult("%s migrated and validated" % ctx.database.name)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def elapsed_seconds(started: object) -> float:
    if not isinstance(started, datetime):
        return 0.0
    if started.tzinfo is None:
        started = started.replace(tzinfo=timezone.utc)
    return max(0.0, (utc_now() - started) / timedelta(seconds=1))
