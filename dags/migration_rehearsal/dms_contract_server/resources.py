"""The REST bodies of migrations and migration services, as GET returns them.

Field names and types follow the 2025-06-30 specification (`DatabaseMigrationProperties*`,
`MigrationStatusDetails`, `SqlDbMigrationStatusDetails`, `SqlBackupSetInfo`, `SqlMigrationService`);
secrets in a create request (passwords, account keys) are never echoed, as in the recorded examples.
"""
from __future__ import annotations

import re
import uuid
from typing import Any, Dict, List

from migration_rehearsal.dms_contract_server import progress
from migration_rehearsal.world import World


def resource(world: World, migration: Dict[str, Any], expand: bool) -> Dict[str, Any]:
    """The REST body of one migration operation, as GET returns it (secrets never echoed)."""
    properties: Dict[str, Any] = {
        "kind": migration["kind"],
        "scope": migration["scope"],
        "migrationService": migration["migrationService"],
        "provisioningState": migration["provisioningState"],
        "migrationStatus": migration["migrationStatus"],
        "sourceServerName": migration["sourceServerName"],
        "sourceDatabaseName": migration["sourceDatabaseName"],
        "migrationOperationId": migration["migrationOperationId"],
    }
    for name in ("startedOn", "endedOn", "migrationFailureError", "provisioningError", "targetDatabaseCollation"):
        if migration.get(name):
            properties[name] = migration[name]
    offline = {"offline": migration["offline"]}
    if migration["kind"] == "SqlDb":
        if migration.get("tableList"):
            properties["tableList"] = migration["tableList"]
    else:
        properties["backupConfiguration"] = {"sourceLocation": {"fileStorageType": "FileShare"}}
        if migration.get("lastBackupName"):
            offline["lastBackupName"] = migration["lastBackupName"]
    properties["offlineConfiguration"] = offline
    if expand:
        properties["migrationStatusDetails"] = (_copy_details if migration["kind"] == "SqlDb" else _restore_details)(world, migration)
    return {
        "properties": properties,
        "id": migration["resourceId"],
        "name": migration["targetDbName"],
        "type": "Microsoft.DataMigration/databaseMigrations",
    }


def _restore_details(world: World, migration: Dict[str, Any]) -> Dict[str, Any]:
    restore = migration["restore"]
    backups = {b["fileName"]: b for b in progress.share_backups(world, migration)} if migration["sourceServer"] else {}
    pending = progress.pending_logs(migration, list(backups.values())) if restore["full"] else []

    def status_of(name: str) -> str:
        if name in restore["restored"]:
            return "Restored"
        return "Restoring" if name == restore["current"] else "Uploaded"  # a documented SqlBackupFileInfo status

    chain: List[str] = ([restore["full"]] if restore["full"] else []) + [n for n in restore["restored"] if n != restore["full"]]
    chain += [n for n in [restore["current"]] + [b["fileName"] for b in pending] if n and n not in chain]
    details: Dict[str, Any] = {
        "migrationState": migration["migrationState"],
        "activeBackupSets": [_backup_set(backups[name], status_of(name)) for name in chain if name in backups],
        "invalidFiles": [],
        "blobContainerName": migration["migrationOperationId"],
        "isFullBackupRestored": bool(restore["full"]) and restore["full"] in restore["restored"],
        "fileUploadBlockingErrors": [],
        "pendingLogBackupsCount": len([b for b in pending if b["fileName"] != restore["current"]]) + (
            1 if restore["current"] and restore["current"] != restore["full"] else 0
        ),
    }
    if restore["full"] in backups:
        details["fullBackupSetInfo"] = _backup_set(backups[restore["full"]], status_of(restore["full"]))
    if restore["restored"]:
        last = restore["restored"][-1]
        details["lastRestoredFilename"] = last
        if last in backups:
            details["lastRestoredBackupSetInfo"] = _backup_set(backups[last], "Restored")
    # Microsoft's readiness rule compares these two: equal once nothing is being restored.
    current = restore["current"] or details.get("lastRestoredFilename")
    if current:
        details["currentRestoringFilename"] = current
    if restore.get("blockingReason"):
        details["restoreBlockingReason"] = restore["blockingReason"]
    if migration["migrationStatus"] == "Failed" and migration.get("migrationFailureError"):
        details["completeRestoreErrorMessage"] = migration["migrationFailureError"]["message"]
    return details


def _copy_details(world: World, migration: Dict[str, Any]) -> Dict[str, Any]:
    copy_state = migration["copy"]
    tables = copy_state["tables"] or migration.get("tableList") or []
    listed = []
    for table in tables:
        done = copy_state["progress"].get(table)
        rows = done["rows"] if done else 0
        status = done["status"] if done else ("Failed" if migration["migrationStatus"] == "Failed" else "InProgress")
        listed.append(
            {
                "tableName": done["tableName"] if done else re.sub(r"[\[\]]", "", table),
                "status": status,
                "parallelCopyType": "None",
                "usedParallelCopies": 1,
                "dataRead": rows * 100,
                "dataWritten": rows * 100,
                "rowsRead": rows,
                "rowsCopied": rows,
                "copyStart": done["copyStart"] if done else migration.get("startedOn") or world.now(),
                "copyThroughput": 100.0 if rows else 0.0,
                "copyDuration": 1 if rows else 0,
            }
        )
    return {"migrationState": migration["migrationState"], "sqlDataCopyErrors": list(copy_state["errors"]), "listOfCopyProgressDetails": listed}


def _backup_set(backup: Dict[str, Any], status: str) -> Dict[str, Any]:
    size = 8192 * (1 + sum(len(t["rows"]) for t in backup["tables"].values()))
    return {
        "backupSetId": str(uuid.uuid5(uuid.NAMESPACE_URL, "%s#%s" % (backup["path"], backup["sequence"]))),
        "firstLSN": str(backup["firstLsn"]),
        "lastLSN": str(backup["lastLsn"]),
        "backupType": "Database" if backup["type"] == "FULL" else "Transaction Log",
        "listOfBackupFiles": [
            {
                "fileName": backup["fileName"],
                "status": status,
                "totalSize": size,
                "dataRead": size,
                "dataWritten": size if status == "Restored" else 0,
                "copyThroughput": 1024.0,
                "copyDuration": 1,
                "familySequenceNumber": 1,
            }
        ],
        "backupStartDate": backup["createdAt"],
        "backupFinishDate": backup["createdAt"],
        "isBackupRestored": status == "Restored",
        "hasBackupChecksums": True,
        "familyCount": 1,
        "ignoreReasons": [],
    }


def service_body(service: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "properties": {"provisioningState": service["provisioningState"], "integrationRuntimeState": service["integrationRuntimeState"]},
        "location": service["location"],
        "tags": {},
        "id": service["id"],
        "name": service["name"],
        "type": "Microsoft.DataMigration/sqlMigrationServices",
    }
