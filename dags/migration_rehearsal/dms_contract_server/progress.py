"""How a running migration moves on, one step each time it is read: DMS as the world drives it.

SqlMi / SqlVm (restores from the backup file share; only backups of the source server and
database under `backupConfiguration.sourceLocation.fileShare.path` count):
- no full backup yet: `WaitForFullBackupUploadOperation`, the target database is absent;
- a step finishes restoring the file in progress (the target gets that backup's tables) and starts
  the next one: first the newest full backup (the target database appears RESTORING; one taken
  without CHECKSUM fails the migration, as DMS does; so does a backup of a TDE-encrypted database
  where the target has no key of its thumbprint, as SQL Server's restore does: message 33111), then the
  log backups whose LSN range continues the restored one (firstLsn <= restored <= lastLsn; one ending at it
  holds nothing new, a read-only database's, and is restored as a no-op), in LSN
  order; log backups that end before it are ignored; one that starts after it blocks the restore
  (`restoreBlockingReason`) until the missing backup appears;
- online: after cutover (`Completing`) it restores the files that were in the share when cutover
  was requested, then (a step later) recovers the database: ONLINE, `Succeeded`;
- offline with `offlineConfiguration.lastBackupName`: recovers right after restoring that file;
  without it, as soon as nothing in the share is left to restore.
SqlDb (copies rows, from the live source): the tables of `tableList` (all the source's tables
without it) are copied one after the other into the existing target database, which must have
them; a table takes two steps (started, then copied with the rows the source has then); the
last one makes the migration `Succeeded`.
A `migrationFailed` fault (operation "migrate") ends the migration `Failed` at its next step.
"""
from __future__ import annotations

import copy
import re
from typing import Any, Dict, List, Optional, Tuple

from migration_rehearsal.world import MIGRATION_FAULT_KIND, World, table_key_parts

RUNNING = ("InProgress", "Completing")


def tick(world: World, migration: Dict[str, Any]) -> None:
    """One step of time for the migration (the latest one of its target database)."""
    if migration["provisioningState"] != "Succeeded" or migration["migrationStatus"] not in RUNNING:
        return
    fault = world.take_fault("migrate", migration["targetDbName"], kinds=(MIGRATION_FAULT_KIND,))
    if fault is not None:
        fail(world, migration, fault.get("code", "MigrationFailed"), fault.get("message", "Simulated migration failure"))
    elif migration["kind"] == "SqlDb":
        _copy_step(world, migration)
    else:
        _restore_step(world, migration)


def fail(world: World, migration: Dict[str, Any], code: str, message: str) -> None:
    migration["migrationStatus"] = "Failed"
    migration["migrationState"] = "Failed"
    migration["migrationFailureError"] = {"code": code, "message": message}
    migration["endedOn"] = world.now()


def share_backups(world: World, migration: Dict[str, Any]) -> List[Dict[str, Any]]:
    share = _normalised(migration["fileSharePath"]).rstrip("\\") + "\\"
    return [
        backup
        for backup in world.backups(migration["sourceServer"], migration["sourceDatabaseName"])
        if _normalised(backup["path"]).startswith(share)
    ]


def next_backup(migration: Dict[str, Any], backups: List[Dict[str, Any]]) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    """The next file to restore, or why the restore is blocked."""
    restore = migration["restore"]
    if restore["full"] is None:
        fulls = [b for b in backups if b["type"] == "FULL"]
        return (max(fulls, key=lambda b: b["sequence"]) if fulls else None), None
    for log in pending_logs(migration, backups):
        if log["firstLsn"] > restore["restoredLsn"]:
            return None, (
                "Log backup %s starts at LSN %s, after the last restored LSN %s: a log backup is missing from the share"
                % (log["fileName"], log["firstLsn"], restore["restoredLsn"])
            )
        return log, None
    return None, None


def pending_logs(migration: Dict[str, Any], backups: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Log backups not restored yet that end after what is restored (or after the chosen full)."""
    restore = migration["restore"]
    full = next((b for b in backups if b["fileName"] == restore["full"]), None)
    restored_lsn = restore["restoredLsn"] if restore["restoredLsn"] is not None else (full["lastLsn"] if full else 0)
    logs = [
        b
        for b in backups
        if b["type"] == "LOG" and b["fileName"] not in restore["restored"]
        and b["lastLsn"] >= restored_lsn  # one ending at it holds nothing new: a read-only database's, restored as a no-op
    ]
    return sorted(logs, key=lambda b: (b["firstLsn"], b["sequence"]))


def _restore_step(world: World, migration: Dict[str, Any]) -> None:
    restore = migration["restore"]
    if restore["full"] is not None and world.database(migration["targetServer"], migration["targetDbName"]) is None:
        fail(world, migration, "RestoreFailed", "The target database %s was removed while DMS restored it" % migration["targetDbName"])
        return
    backups = share_backups(world, migration)
    if restore["current"] is not None:
        restored = next(b for b in backups if b["fileName"] == restore["current"])
        world.update_database(migration["targetServer"], migration["targetDbName"], tables=restored["tables"])
        restore["restored"].append(restored["fileName"])
        restore["restoredLsn"] = restored["lastLsn"]
        restore["current"] = None
        last_backup = migration.get("lastBackupName")
        if migration["offline"] and last_backup and _same_file(restored["fileName"], last_backup):
            _recover(world, migration)
            return
    following, blocking = next_backup(migration, backups)
    restore["blockingReason"] = blocking
    if migration["migrationStatus"] == "Completing":
        if following is not None and following["sequence"] <= migration["cutoverSequence"]:
            _start_restoring(world, migration, following)
        elif migration.get("completingSteps", 0) == 0:
            migration["completingSteps"] = 1  # recovery takes a step too: Completing is seen once
        else:
            _recover(world, migration)
    elif following is not None:
        _start_restoring(world, migration, following)
    elif migration["offline"] and not migration.get("lastBackupName") and restore["restored"] and blocking is None:
        _recover(world, migration)


def _start_restoring(world: World, migration: Dict[str, Any], backup: Dict[str, Any]) -> None:
    restore = migration["restore"]
    if backup["type"] == "FULL" and not backup.get("checksum", True):
        fail(world, migration, "MigrationRestoreFailed",
             "Full backup %s is missing checksum. Provide full backup with checksum." % backup["fileName"])
        return
    thumbprint = backup.get("encryptorThumbprint")
    if thumbprint and not any(_opens(key, thumbprint) for key in world.server_keys(migration["targetServer"])):
        fail(world, migration, "MigrationRestoreFailed",
             "Cannot find server certificate with thumbprint '%s'. RESTORE DATABASE is terminating abnormally." % thumbprint)
        return
    if backup["type"] == "FULL":
        restore["full"] = backup["fileName"]
        world.put_database(
            migration["targetServer"],
            migration["targetDbName"],
            state="RESTORING",
            created_by="dms:" + migration["migrationOperationId"],
            restored_from=_origin(migration),
        )
        source = world.database(migration["sourceServer"], migration["sourceDatabaseName"]) or {}
        # A restore creates the files at their size on the source, encrypted with the same key, and
        # keeps the source's collation (not the target server's).
        changes = {"encryptorThumbprint": thumbprint}
        changes.update({field: source[field] for field in ("sizeMb", "logSizeMb") if field in source})
        if source:
            collation = world.collation(migration["sourceServer"], migration["sourceDatabaseName"])
            if collation != world.collation(migration["targetServer"]):
                changes["collation"] = collation
        world.update_database(migration["targetServer"], migration["targetDbName"], **changes)
    restore["current"] = backup["fileName"]
    migration["migrationState"] = "Restoring"


def _opens(key: Dict[str, Any], thumbprint: str) -> bool:
    """A certificate with its private key, an asymmetric key, or a certificate uploaded to a managed instance."""
    return key["thumbprint"].lower() == thumbprint.lower() and (key["kind"] != "certificate" or key["privateKey"])


def _recover(world: World, migration: Dict[str, Any]) -> None:
    origin = _origin(migration)
    origin["backupFile"] = migration["restore"]["restored"][-1]
    world.update_database(migration["targetServer"], migration["targetDbName"], state="ONLINE", restoredFrom=origin)
    _succeed(world, migration)


def _copy_step(world: World, migration: Dict[str, Any]) -> None:
    copy_state = migration["copy"]
    source = world.database(migration["sourceServer"], migration["sourceDatabaseName"])
    target = world.database(migration["targetServer"], migration["targetDbName"])
    if source is None or target is None:
        fail(world, migration, "SqlDataCopyFailed", "The %s database is no longer there" % ("source" if source is None else "target"))
        return
    if copy_state["tables"] is None:
        copy_state["tables"] = migration.get("tableList") or sorted(source["tables"])
    copying = [t for t, p in copy_state["progress"].items() if p["status"] == "InProgress"]
    if copying:  # a table takes two steps: started, then copied
        table = copying[0]
        tables = target["tables"]
        name = _world_key(table, tables)
        tables[name] = copy.deepcopy(source["tables"][_world_key(table, source["tables"])])
        world.update_database(migration["targetServer"], migration["targetDbName"], tables=tables)
        copy_state["progress"][table].update(status="Succeeded", rows=len(tables[name]["rows"]))
    else:
        remaining = [t for t in copy_state["tables"] if t not in copy_state["progress"]]
        if remaining:
            table = remaining[0]
            name = _world_key(table, source["tables"])
            if name not in source["tables"] or _world_key(table, target["tables"]) not in target["tables"]:
                side = "source" if name not in source["tables"] else "target"
                copy_state["errors"].append("Table %s does not exist in the %s database" % (table, side))
                fail(world, migration, "SqlDataCopyFailed", copy_state["errors"][-1])
                return
            copy_state["progress"][table] = {"tableName": name, "status": "InProgress", "rows": 0, "copyStart": world.now()}
    if len(copy_state["progress"]) == len(copy_state["tables"]) and all(p["status"] == "Succeeded" for p in copy_state["progress"].values()):
        world.update_database(migration["targetServer"], migration["targetDbName"], restoredFrom=_origin(migration))
        _succeed(world, migration)


def _succeed(world: World, migration: Dict[str, Any]) -> None:
    migration["migrationStatus"] = "Succeeded"
    migration["migrationState"] = "Completed"
    migration["endedOn"] = world.now()


def _origin(migration: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "server": migration["sourceServer"],
        "database": migration["sourceDatabaseName"],
        "migrationOperationId": migration["migrationOperationId"],
    }


def _world_key(table: str, tables: Dict[str, Any]) -> str:
    """The key in `tables` of the table `table` names (`[dbo].[Orders]` in a tableList, or a world key):
    the key of the same schema and table (`world.table_key_parts`), else `table` itself."""
    wanted = table_key_parts(table)
    return next((key for key in tables if table_key_parts(key) == wanted), table)


def _normalised(path: str) -> str:
    return path.replace("/", "\\").lower()


def _same_file(left: str, right: str) -> bool:
    return re.split(r"[\\/]", left)[-1].lower() == re.split(r"[\\/]", right)[-1].lower()
