"""The body of `databaseMigrations` create-or-update for each target kind (REST shape, 2025-06-30).

DMS's SQL connections (`SqlConnectionInformation`: the source, which its self-hosted runtime reaches, and a SqlDb
target) are encrypted, and the server's certificate checked unless the connection's extra says
`"trust_server_certificate": true`, as on every other path (dags/README.md, "TLS of SQL connections"). DMS logs in
with the connection's login and password: a connection whose extra logs direct SQL in with an Entra ID token is refused
here.
"""
from __future__ import annotations

from typing import Any, Dict, List

from migration_orchestration_lib.connections import (
    AUTHENTICATION,
    TRUSTED_CERTIFICATE_WARNING,
    ConnectionSecret,
    redacting_logger,
)
from migration_orchestration_lib.plan import DatabaseMigration, MigrationPlan
from migration_orchestration_lib.settings import ConfigurationError

log = redacting_logger(__name__)
# What SqlClient says of a server certificate it refuses: one no trusted CA signed ("(provider: SSL Provider, error: 0 -
# The certificate chain was issued by an authority that is not trusted.)", "... issued by an untrusted certificate
# authority", "The remote certificate was rejected ..."), or one for another host ("The target principal name is
# incorrect"). Not "certificate" alone: a restore's missing TDE certificate is no TLS matter.
CERTIFICATE_REFUSALS = ("ssl provider", "certificate chain", "untrusted certificate authority", "remote certificate",
                        "target principal name is incorrect", "trustservercertificate")


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
        "sourceSqlConnection": _sql_connection(source_login, source.data_source, source.authentication),
    }
    if target.kind == "SqlDb":
        target_login: ConnectionSecret = connections.get(target.connection_id)
        properties["targetSqlConnection"] = _sql_connection(target_login, target_login.host, "SqlAuthentication")
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


def refuse_token_logins(plan: MigrationPlan, database: DatabaseMigration, connections: Any) -> None:
    """Raises ConfigurationError where a connection DMS logs in with (the source's; a SqlDb target's) logs direct SQL
    in with the DAG's Entra ID token: `preflight` asks, before anything is started or frozen (`start_migration`
    freezes a SqlDb copy's source before it builds the request)."""
    source = plan.source_of(database)
    _refuse_token_login(connections.get(source.connection_id), source.data_source, source.authentication)
    target = plan.target_of(database)
    if target.kind == "SqlDb":
        login = connections.get(target.connection_id)
        _refuse_token_login(login, login.host, "SqlAuthentication")


def _refuse_token_login(login: ConnectionSecret, data_source: Any, authentication: str) -> None:
    if login.authentication is not None:
        # DMS logs in with the connection's login and password; the token is the DAG's, for direct SQL alone
        raise ConfigurationError(
            "Airflow connection %s: extra.%s %s logs direct SQL in with the DAG's Entra ID token, but DMS connects to %s "
            "with the connection's login and password (%s): a token connection serves SqlMi and SqlVm targets only; "
            "give this one a login and password and no extra.%s" % (login.connection_id, AUTHENTICATION,
                                                                    login.authentication, data_source, authentication,
                                                                    AUTHENTICATION))


def _sql_connection(login: ConnectionSecret, data_source: Any, authentication: str) -> Dict[str, Any]:
    _refuse_token_login(login, data_source, authentication)
    if login.trust_server_certificate:
        log.warning(TRUSTED_CERTIFICATE_WARNING, login.connection_id, data_source)
    return {
        "dataSource": data_source,
        "authentication": authentication,
        "userName": login.login,
        "password": login.password,
        "encryptConnection": True,
        "trustServerCertificate": login.trust_server_certificate,
    }


def certificate_hint(plan: MigrationPlan, database: DatabaseMigration, failure: str) -> str:
    """For a DMS failure that reads as a refused server certificate, what to do: the connections DMS was given."""
    if not any(refusal in (failure or "").lower() for refusal in CERTIFICATE_REFUSALS):
        return ""
    connection_ids: List[str] = [plan.source_of(database).connection_id]
    target = plan.target_of(database)
    if target.kind == "SqlDb":
        connection_ids.append(target.connection_id)
    return ("; DMS checks the certificate of each SQL Server it connects to unless the Airflow connection's extra says "
            "{\"trust_server_certificate\": true}: one no CA trusted by DMS's runtime signed (self-signed), or not for "
            "the host the connection names, fails so: install one a CA signed for that host, or trust it with that "
            "extra of connection %s (see dags/README.md, \"TLS of SQL connections\")" % " or ".join(connection_ids))
