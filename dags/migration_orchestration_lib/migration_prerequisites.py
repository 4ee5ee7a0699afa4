"""What Azure Database Migration Service needs of the servers, checked by `preflight` before a
migration starts (Microsoft's prerequisites in the DMS tutorials, MicrosoftDocs/sql-docs
`data-migration/sql-server/{managed-instance,virtual-machines,database}/database-migration-service.md`):

- Logins. DMS connects to the source with the plan's source login. A restore (SqlMi, SqlVm) needs it
  in sysadmin or holding CONTROL SERVER; a copy (SqlDb) needs it in db_datareader of the source
  database (SELECT on it), and the target login in db_owner of the target database (CONTROL on
  it). HAS_PERMS_BY_NAME judges the session's own login, effective through roles and groups, so a
  side is judged only where the DAG's session runs as DMS's login: always with `sqlAccess: direct`
  (the same Airflow connection); through Data Factory where the linked service's connection string
  names the same login (never for SqlDb targets: the factory's managed identity logs in there).
- TDE (restores). Backups of a database with a database encryption key restore only where the
  certificate protecting it, with its private key, or its asymmetric key is in master: else the
  restore fails ("Cannot find server certificate with thumbprint"), an offline migration's after
  the freeze. A SQL VM shows its keys (`sys.certificates`, `sys.asymmetric_keys`). A managed
  instance does not: a certificate uploaded to it is not visible in `sys.certificates` (Microsoft,
  `azure-sql/managed-instance/tde-certificate-migrate.md`) and ARM's `tdeCertificates` is
  create-only, so there it is not judged. A SqlDb copy reads rows through queries, which TDE
  does not affect: nothing to check.
- Storage (SqlMi). A restore creates the database's files at their size on the source; the
  instance's reserved storage minus what all its database files use must hold them
  (`sys.server_resource_stats`, the source of the metrics reserved_storage_mb and storage_space_used_mb).
"""
from __future__ import annotations

from typing import Optional

from migration_orchestration_lib.sql_statements import LoginPermission, quote_name
from migration_orchestration_lib.step_context import StepContext, StepFailure


def check_logins(ctx: StepContext) -> None:
    database = ctx.database
    source_login = _dms_login(ctx, ctx.source_server.connection_id)
    if database.restores_backups:
        held = ctx.sql.source_server_permission(database, "CONTROL SERVER")
        if _judged(held, source_login) and not held.granted:
            raise StepFailure(
                "%s: DMS logs in to %s as %s, which is not in sysadmin and lacks CONTROL SERVER, as a restore "
                "migration requires: GRANT CONTROL SERVER TO %s (or add it to sysadmin), then run again"
                % (database.name, database.source_server, held.login_name, quote_name(held.login_name))
            )
        return
    on_source, on_target = ctx.sql.database_permissions(database, "SELECT", "CONTROL")
    if _judged(on_source, source_login) and not on_source.granted:
        raise StepFailure(
            "%s: DMS reads source database %s on %s as %s, which cannot read it (db_datareader, SELECT on the "
            "database): in %s, ALTER ROLE db_datareader ADD MEMBER <its user>, then run again"
            % (database.name, database.source_database, database.source_server, on_source.login_name, database.source_database)
        )
    if _judged(on_target, _dms_login(ctx, ctx.target_server.connection_id)) and not on_target.granted:
        raise StepFailure(
            "%s: DMS writes to target database %s on %s as %s, which is not its owner (db_owner, CONTROL on the "
            "database): in %s, ALTER ROLE db_owner ADD MEMBER <its user>, then run again"
            % (database.name, database.target_database, database.target_server, on_target.login_name, database.target_database)
        )


def check_encryption_key(ctx: StepContext) -> None:
    """SQL VM targets only (see the module's doc for managed instances and SqlDb)."""
    database = ctx.database
    if database.target_kind != "SqlVm":
        return
    thumbprint = ctx.sql.source_encryption_thumbprint(database)
    matching = None if thumbprint is None else ctx.sql.target_keys_matching(database, thumbprint)
    if matching is None or matching > 0:
        return
    raise StepFailure(
        "%s: source database %s is encrypted (TDE) by the key of thumbprint %s, which SQL Server on %s does not hold "
        "in master (no certificate of that thumbprint with its private key, no such asymmetric key): DMS could not "
        "restore its backups. Back up the certificate with its private key on %s (BACKUP CERTIFICATE ... WITH "
        "PRIVATE KEY) and create it in master on the VM (CREATE CERTIFICATE ... FROM FILE ... WITH PRIVATE KEY), "
        "then run again"
        % (database.name, database.source_database, thumbprint, database.target_server, database.source_server)
    )


def check_instance_storage(ctx: StepContext) -> None:
    database = ctx.database
    if database.target_kind != "SqlMi":
        return
    size_mb, storage = ctx.sql.restore_space(database)
    if size_mb is None or storage is None:  # an instance reports every 15 s; a new one may not have yet
        return
    reserved_mb, used_mb = storage
    if size_mb > reserved_mb - used_mb:
        raise StepFailure(
            "%s: managed instance %s has %d MB of its %d MB reserved storage free (%d MB used by its database files), "
            "and restoring %s needs %d MB (its data and log files on %s): increase the instance's storage "
            "(storageSizeInGB) or free space on it, then run again"
            % (database.name, database.target_server, max(reserved_mb - used_mb, 0), reserved_mb, used_mb,
               database.source_database, size_mb, database.source_server)
        )


def _dms_login(ctx: StepContext, connection_id: str) -> Optional[str]:
    """The login DMS is given (`migration_request`): the Airflow connection's."""
    return ctx.services.connections.get(connection_id).login


def _judged(held: LoginPermission, dms_login: Optional[str]) -> bool:
    return bool(dms_login) and held.login_name.lower() == str(dms_login).lower()
