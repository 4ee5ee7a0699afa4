"""The body of `databaseMigrations` create-or-update for each target kind (REST shape, 2025-06-30)."""
from __future__ import annotations

from typing import Any, Dict

from migration_orchestration_lib.connections import ConnectionSecret
from migration_orchestration_lib.plan import DatabaseMigration, MigrationPlan

ENCRYPTED_CONNECTION = {"encryptConnection": True, "trustServerCertificate": True}


def build_migration_request(
    plan: MigrationPlan,
    database: DatabaseMigration,
    migration_service_id: str,
    connections: Any,
) -> Dict[str, Any]:
    """`connections.get(connection_id)` returns a `ConnectionSecret`; the result holds secrets."""
    source = plan.source_of(database)
    target = plan.target_of(database)
    source_login: ConnectionSecret = connections.get(source.connection_id)
    properties: Dict[str, Any] = {
        "kind": target.kind,
        "scope": target.resource_id.value,
        "migrationService": migration_service_id,
        "sourceDatabaseName": database.source_database,
        "sourceSqlConnection": dict(
            dataSource=source.data_source,
            authentication=source.authentication,
            userName=source_login.login,
            password=source_login.password,
            **ENCRYPTED_CONNECTION
        ),
    }
    if target.kind == "SqlDb":
        target_login: ConnectionSecret = connections.get(target.connection_id)
        properties["targetSqlConnection"] = dict(
            dataSource=target_login.host,
            authentication="SqlAuthentication",
            userName=target_login.login,
            password=target_login.password,
            **ENCRYPTED_CONNECTION
        )
        return {"properties": properties}

    share = source.backup_file_share
    storage = plan.backup_storage
    if share is None or storage is None:
        raise ValueError(
            "%s goes to %s: the plan needs the source's backupFileShare and backupStorage"
            % (database.name, target.kind)
        )
    share_login: ConnectionSecret = connections.get(share.connection_id)
    storage_key: ConnectionSecret = connections.get(storage.connection_id)
    properties["backupConfiguration"] = {
        "sourceLocation": {
            "fileShare": {"path": share.path, "username": share_login.login, "password": share_login.password}
        },
        "targetLocation": {
            "storageAccountResourceId": storage.storage_account_resource_id,
            "accountKey": storage_key.password,
        },
    }
    # Offline restores from a file share find the last backup themselves (lastBackupName is optional).
    properties["offlineConfiguration"] = {"offline": not database.is_online}
    return {"properties": properties}
