"""When an online migration may be cut over.

Microsoft's multi-database DMS script (Azure-Samples/data-migration-sql, Helpers.bat) and Azure
Data Studio treat a migration as ready when it is InProgress, no log backup is waiting to be
restored, and the file being restored is the last one restored (nothing half-applied).
"""
from __future__ import annotations

from typing import Optional

from migration_orchestration_lib.migration_status import MigrationStatus


def is_ready_for_cutover(status: MigrationStatus) -> bool:
    return (
        status.migration_status == "InProgress"
        and status.pending_log_backups_count == 0
        and bool(status.last_restored_filename)
        and status.last_restored_filename == status.current_restoring_filename
    )


def has_restored_backup(status: MigrationStatus, backup_file_name: str) -> bool:
    """The cutover's tail-log backup has been restored, and nothing else is waiting."""
    return is_ready_for_cutover(status) and _base_name(status.last_restored_filename) == _base_name(
        backup_file_name
    )


def _base_name(path: Optional[str]) -> str:
    return (path or "").replace("\\", "/").rsplit("/", 1)[-1].lower()
