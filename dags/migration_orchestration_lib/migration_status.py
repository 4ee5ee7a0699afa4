"""A DMS database migration's status, parsed from the REST shape (`properties.migrationStatus` ...).

Field names follow the 2025-06-30 specification (`DatabaseMigrationProperties`,
`MigrationStatusDetails`, `SqlBackupSetInfo`); `migrationStatus` is a free string there, its
values are those Azure Data Studio's sql-migration extension mirrors from the service.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Optional, Tuple

from migration_orchestration_lib.connections import redact
from migration_orchestration_lib.resource_id import comparable_id
from migration_orchestration_lib.source_server_names import names_same_server

IN_FLIGHT_STATUSES = frozenset(
    {
        "Creating",
        "InProgress",
        "ReadyForCutover",
        "Completing",
        "Retriable",
        "Restoring",
        "UploadingFullBackup",
        "UploadingLogBackup",
    }
)
FAILED_STATUSES = frozenset({"Failed", "Canceled"})
# Neither failed nor running: DMS is still stopping it (`MigrationStatus.is_canceling`).
CANCELING_STATUS = "Canceling"
SUCCEEDED_STATUS = "Succeeded"
PROVISIONING_STATES = ("Provisioning", "Creating", "Updating")
COPYING_STATUSES = IN_FLIGHT_STATUSES - {"Creating", "Completing"}

# Where a migration stands, in plan terms (`MigrationStatus.stage`; `migration_stage` adds not_started).
NOT_STARTED = "not_started"
CREATING = "creating"
COPYING = "copying"
READY_FOR_CUTOVER = "ready_for_cutover"
COMPLETING = "completing"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELING = "canceling"
CANCELED = "canceled"


@dataclass(frozen=True)
class MigrationStatus:
    migration_operation_id: Optional[str]
    migration_status: Optional[str]
    provisioning_state: Optional[str]
    source_database_name: Optional[str]
    migration_state: Optional[str] = None
    pending_log_backups_count: Optional[int] = None
    last_restored_filename: Optional[str] = None
    current_restoring_filename: Optional[str] = None
    is_full_backup_restored: Optional[bool] = None
    error_message: Optional[str] = None
    kind: Optional[str] = None
    offline: Optional[bool] = None
    last_backup_name: Optional[str] = None
    restored_backup_files: Tuple[str, ...] = ()
    restore_blocking_reason: Optional[str] = None
    migration_service: Optional[str] = None  # the ARM id of the sqlMigrationServices that runs it
    source_server_name: Optional[str] = None  # `sourceServerName` (read-only): the source server as DMS names it
    source_data_source: Optional[str] = None  # `sourceSqlConnection.dataSource`, where DMS returns it
    # `startedOn`, `endedOn` as DMS returns them (read-only date-times of DatabaseMigrationBaseProperties; `ended_at`)
    started_on: Optional[str] = None
    ended_on: Optional[str] = None

    @staticmethod
    def from_resource(resource: Mapping[str, Any]) -> "MigrationStatus":
        """Parse a `databaseMigrations` resource body as the REST API returns it."""
        properties = resource.get("properties") or {}
        details = properties.get("migrationStatusDetails") or {}
        offline = properties.get("offlineConfiguration") or {}
        return MigrationStatus(
            migration_operation_id=properties.get("migrationOperationId"),
            migration_status=properties.get("migrationStatus"),
            provisioning_state=properties.get("provisioningState"),
            source_database_name=properties.get("sourceDatabaseName"),
            migration_state=details.get("migrationState"),
            pending_log_backups_count=details.get("pendingLogBackupsCount"),
            last_restored_filename=details.get("lastRestoredFilename"),
            current_restoring_filename=details.get("currentRestoringFilename"),
            is_full_backup_restored=details.get("isFullBackupRestored"),
            error_message=_error_message(properties, details),
            kind=properties.get("kind"),
            offline=offline.get("offline"),
            last_backup_name=offline.get("lastBackupName"),
            restored_backup_files=_restored_files(details),
            restore_blocking_reason=details.get("restoreBlockingReason"),
            migration_service=properties.get("migrationService"),
            source_server_name=properties.get("sourceServerName"),
            source_data_source=(properties.get("sourceSqlConnection") or {}).get("dataSource"),
            started_on=_as_text(properties.get("startedOn")),
            ended_on=_as_text(properties.get("endedOn")),
        )

    @property
    def ended_at(self) -> Optional[datetime]:
        """When DMS says the migration ended (`endedOn`, UTC), where that is a time: None where DMS gives none, or
        one that is no time (unreadable; before 1970, as the recorded examples' "0001-01-01T08:00:00Z", .NET's
        DateTime.MinValue for a time never set; or before its own `startedOn`)."""
        ended = dms_time(self.ended_on)
        if ended is None or ended < _NO_TIME_BEFORE:
            return None
        started = dms_time(self.started_on)
        if started is not None and started >= _NO_TIME_BEFORE and ended < started:
            return None
        return ended

    @property
    def is_in_flight(self) -> bool:
        """Running in DMS: a re-run adopts it instead of starting another."""
        if self.is_terminal_failure:
            return False
        if self.migration_status in IN_FLIGHT_STATUSES:
            return True
        return self.migration_status is None and self.provisioning_state in PROVISIONING_STATES

    def runs_on_another_service(self, migration_service_id: str) -> bool:
        """Started by another migration service (another plan's deployment, or by hand): DMS keeps one
        migration resource per target database, whichever service runs it (every recorded GET example,
        e.g. SqlMiGetDatabaseMigrationExpanded.json, carries `migrationService`). Unknown counts as ours."""
        return bool(self.migration_service) and comparable_id(self.migration_service) != comparable_id(migration_service_id)

    def other_source_server(self, host: str, port: int) -> Optional[str]:
        """The name DMS gives the migration's source server where it names another server than the
        plan's `host` and `port` (`source_server_names`), else None. Every GET example of 2025-06-30
        carries `sourceServerName`; none returns `sourceSqlConnection` (it holds the password), and the
        listMigrations example carries neither: where DMS names no server, None, as before (the
        source database's name and the migration service tell ours apart)."""
        for name in (self.source_server_name, self.source_data_source):
            if name and not names_same_server(name, host, port):
                return name
        return None

    @property
    def is_canceling(self) -> bool:
        """DMS was asked to cancel it and has not finished: neither ended nor running. Its cancel operation
        may have ended already: the PowerShell examples read it `Canceling` right after Stop-AzDataMigrationTo*
        returned (Azure/azure-powershell, src/DataMigration/DataMigration/help/Stop-AzDataMigrationToSqlManagedInstance.md),
        and Azure Data Studio offers neither delete, retry nor cancel then (microsoft/azuredatastudio,
        extensions/sql-migration/src/constants/helper.ts: `canDeleteMigration`, `canRetryMigration`,
        `canCancelMigration` leave Canceling out). DMS may still be restoring into the target."""
        return self.migration_status == CANCELING_STATUS

    @property
    def still_copies(self) -> bool:
        """DMS reports it copying (InProgress, Restoring, ...) whatever ARM's `provisioningState` says of the
        resource's last operation: `stage` reads it failed where that is Failed (waiting steps fail fast), yet
        nothing says DMS stopped restoring into the target. A rollback cancels it, as an active one."""
        return self.migration_status in COPYING_STATUSES

    @property
    def create_canceled(self) -> bool:
        """Its create was canceled before DMS started it: `provisioningState` Canceled (a terminal state of the SDK's
        ProvisioningState enum: Provisioning, Updating, Succeeded, Failed, Canceled) while DMS reports no status or
        `Creating`. The 2025-06-30 specification (DatabaseMigrationBaseProperties.provisioningState): "ProvisioningState
        as Succeeded implies that validations have been performed and migration has started", which a canceled create
        never reached: nothing runs, nothing was restored, and it never will be. Ended, as a canceled migration."""
        return self.provisioning_state == "Canceled" and self.migration_status in (None, "Creating")

    @property
    def still_runs_in_dms(self) -> bool:
        """DMS still works on it, so it still takes DMS's and the target's capacity and may still restore into the
        target: in flight, copying whatever ARM's last operation says (`still_copies`), or still canceling."""
        return self.is_in_flight or self.still_copies or self.is_canceling

    @property
    def is_succeeded(self) -> bool:
        return self.migration_status == SUCCEEDED_STATUS

    @property
    def is_terminal_failure(self) -> bool:
        """Nothing will change by waiting: the DAG fails fast instead of timing out (a create canceled too). A resource whose last
        ARM operation failed (`provisioningState`) while DMS completes or completed the cutover, or is still
        canceling the migration, is not one."""
        return self.migration_status in FAILED_STATUSES or self.create_canceled or (
            self.provisioning_state == "Failed" and not self.cutover_requested and not self.is_canceling)

    @property
    def cutover_requested(self) -> bool:
        """DMS is completing or has completed the migration: the target is, or is about to be, live."""
        return self.migration_status in ("Completing", SUCCEEDED_STATUS)

    @property
    def is_caught_up(self) -> bool:
        """Microsoft's readiness rule for an online cutover (Azure-Samples/data-migration-sql,
        Helpers.bat): no log backup waiting, and the file being restored is the last restored."""
        return (
            self.migration_status in ("InProgress", "ReadyForCutover")
            and self.pending_log_backups_count == 0
            and bool(self.last_restored_filename)
            and self.last_restored_filename == self.current_restoring_filename
        )

    def is_backup_restoring(self, backup_file: str) -> bool:
        """DMS is restoring the backup file (a name or a path) now."""
        return bool(self.current_restoring_filename) and _base_name(self.current_restoring_filename) == _base_name(backup_file)

    def is_backup_restored(self, backup_file: str) -> bool:
        """The backup file (a name or a path) has been restored, whatever was restored after it."""
        wanted = _base_name(backup_file)
        return any(_base_name(name) == wanted for name in self.restored_backup_files + (self.last_restored_filename or "",) if name)

    @property
    def stage(self) -> str:
        """Where the migration stands: creating, copying, ready_for_cutover (online, caught up),
        completing, succeeded, failed, canceling or canceled (`migration_stage` adds not_started)."""
        status = self.migration_status
        # First: a target live or going live, or a migration DMS is still canceling (it may still restore into
        # the target), whatever ARM says of the resource's last operation. Taken for failed, its rollback would
        # hand the source back to writers beside it (and, canceling, before DMS reports it Canceled).
        if status == SUCCEEDED_STATUS:
            return SUCCEEDED
        if status == "Completing":
            return COMPLETING
        if status == CANCELING_STATUS:
            return CANCELING
        if self.provisioning_state == "Failed" or status == "Failed":
            return FAILED
        if status == "Canceled" or self.create_canceled:
            return CANCELED
        if status in COPYING_STATUSES:
            return READY_FOR_CUTOVER if not self.offline and self.is_caught_up else COPYING
        return CREATING

    def describe(self) -> str:
        parts = ["migrationStatus=%s" % self.migration_status, "provisioningState=%s" % self.provisioning_state]
        if self.migration_state:
            parts.append("migrationState=%s" % self.migration_state)
        if self.pending_log_backups_count is not None:
            parts.append("pendingLogBackupsCount=%s" % self.pending_log_backups_count)
        if self.last_restored_filename:
            parts.append("lastRestoredFilename=%s" % self.last_restored_filename)
        if self.restore_blocking_reason:
            parts.append("restoreBlockingReason=%s" % redact(self.restore_blocking_reason)[:200])
        if self.error_message:
            parts.append("error=%s" % self.error_message)
        return ", ".join(parts)



# An ISO 8601 date-time (`format: date-time` in the specification): fraction digits any number (.NET writes up to
# seven, Python's fromisoformat before 3.11 takes three or six), an offset or none (UTC).
_DMS_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?")
_NO_TIME_BEFORE = datetime(1970, 1, 1, tzinfo=timezone.utc)


def dms_time(value: Any) -> Optional[datetime]:
    """A date-time as DMS returns it (`startedOn`, `endedOn`) as an aware UTC datetime; a naive one is UTC. None for
    none, or for what is no time (never an exception: a reader falls back to its own clock)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    match = _DMS_TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    offset = timedelta(0)
    if zone and zone not in ("Z", "z"):
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0)) * (-1 if zone[0] == "-" else 1)
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
                         int((fraction or "0")[:6].ljust(6, "0")), tzinfo=timezone(offset))
        return local.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # no such day or hour, an offset of a day or more, a year out of range in UTC
        return None


def _as_text(value: Any) -> Optional[str]:
    """A date-time property as text (an SDK model may hold a datetime)."""
    if value is None or isinstance(value, str):
        return value
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _restored_files(details: Mapping[str, Any]) -> Tuple[str, ...]:
    names = []
    for backup_set in details.get("activeBackupSets") or []:
        for backup_file in backup_set.get("listOfBackupFiles") or []:
            if backup_set.get("isBackupRestored") or backup_file.get("status") == "Restored":
                names.append(backup_file.get("fileName"))
    return tuple(name for name in names if name)


def _base_name(path: str) -> str:
    return re.split(r"[\\/]", path or "")[-1].lower()


def _error_message(properties: Mapping[str, Any], details: Mapping[str, Any]) -> Optional[str]:
    failure = properties.get("migrationFailureError") or {}
    for message in (
        failure.get("message"),
        properties.get("provisioningError"),
        details.get("completeRestoreErrorMessage"),
        details.get("restoreBlockingReason"),
        "; ".join(e for e in details.get("sqlDataCopyErrors") or [] if e),
    ):
        if message:
            return redact(str(message))[:500]  # redacted before it is cut: a secret cut in two would not be known
    return None
