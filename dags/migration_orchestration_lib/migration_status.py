"""A DMS database migration's status, parsed from the REST shape (`properties.migrationStatus` ...)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

# migrationStatus values from the 2025-06-30 API and Azure Data Studio's sql-migration extension.
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
FAILED_STATUSES = frozenset({"Failed", "Canceled", "Canceling"})
SUCCEEDED_STATUS = "Succeeded"


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

    @staticmethod
    def from_resource(resource: Mapping[str, Any]) -> "MigrationStatus":
        """Parse a `databaseMigrations` resource body as the REST API returns it."""
        properties = resource.get("properties") or {}
        details = properties.get("migrationStatusDetails") or {}
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
        )

    @property
    def is_in_flight(self) -> bool:
        """Running in DMS: a re-run adopts it instead of starting another."""
        if self.is_terminal_failure:
            return False
        if self.migration_status in IN_FLIGHT_STATUSES:
            return True
        return self.migration_status is None and self.provisioning_state in ("Creating", "Updating")

    @property
    def is_succeeded(self) -> bool:
        return self.migration_status == SUCCEEDED_STATUS

    @property
    def is_terminal_failure(self) -> bool:
        """Nothing will change by waiting: the DAG fails fast instead of timing out."""
        return self.migration_status in FAILED_STATUSES or self.provisioning_state == "Failed"

    def describe(self) -> str:
        parts = ["migrationStatus=%s" % self.migration_status, "provisioningState=%s" % self.provisioning_state]
        if self.migration_state:
            parts.append("migrationState=%s" % self.migration_state)
        if self.pending_log_backups_count is not None:
            parts.append("pendingLogBackupsCount=%s" % self.pending_log_backups_count)
        if self.error_message:
            parts.append("error=%s" % self.error_message)
        return ", ".join(parts)


def _error_message(properties: Mapping[str, Any], details: Mapping[str, Any]) -> Optional[str]:
    failure = properties.get("migrationFailureError") or {}
    for message in (
        failure.get("message"),
        properties.get("provisioningError"),
        details.get("completeRestoreErrorMessage"),
        details.get("restoreBlockingReason"),
    ):
        if message:
            return str(message)[:500]
    return None
