"""Rehearsal mode (MIGRATION_DRY_RUN=1): stand-ins for DMS, SQL Server and ARM that walk real DMS states.

Only the outside world is simulated: the real gateway, steps, validation and rollback run against
it. The world's state lives in small JSON files under a directory keyed by the DAG run id
(MIGRATION_SIMULATION_DIR, default `<tmp>/migration-rehearsal`), so it survives sensor
reschedules, retries and cleared-and-rerun tasks of the same run, and a new run starts afresh.
On a multi-node Airflow, point MIGRATION_SIMULATION_DIR at storage all workers share.

Each status poll of a migration advances it one step:
  online:  InProgress (full backup restoring, 2 log backups pending) -> 1 pending -> caught up
           (pendingLogBackupsCount 0, lastRestoredFilename == currentRestoringFilename);
           after the cutover's tail-log backup it is restored on the next poll; after cutover:
           Completing -> Succeeded
  offline: InProgress -> Succeeded
A database named in MIGRATION_SIMULATE_FAILURE turns Failed on its second poll.

Tables: every source database holds the same user tables, with row counts (and checksums) derived
from its server's connection id, its name and the table. A target database holds what DMS copied
into it: when its migration succeeds, the target records the source database it is a copy of
(`copiedFrom`) and answers with that source's rows, whatever the target database is called (a
plan may rename it: `target.database`). A target without a finished copy is missing (SqlMi, SqlVm:
restoring or absent) or empty (SqlDb: created, with its schema, before the migration).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import uuid
from typing import Any, Callable, Dict, List, Mapping, Optional

from migration_orchestration_lib import settings
from migration_orchestration_lib.connections import ConnectionSecret
from migration_orchestration_lib.dms_gateway import DmsGateway, OPERATIONS_BY_KIND
from migration_orchestration_lib.plan import DatabaseMigration, MigrationPlan
from migration_orchestration_lib.sql_server import DatabaseState, TableFingerprint

FAILURE_POLL = 2
REHEARSAL_TABLES = ("dbo.Customers", "dbo.Orders", "sales.OrderLines")


class SimulatedHttpError(Exception):
    """Carries `status_code` like azure.core's HttpResponseError."""

    def __init__(self, status_code: int, message: str):
        super().__init__(message)
        self.status_code = status_code


def rehearsal_services(plan: MigrationPlan, run_id: str, environ: Mapping[str, str] = os.environ) -> Any:
    from migration_orchestration_lib.services import Services
    from migration_orchestration_lib.target_databases import TargetDatabases

    failures = settings.simulated_failures(plan.database_names, environ)
    world = RehearsalWorld.for_run(run_id, environ)
    service_id = (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rehearsal/providers"
        "/Microsoft.DataMigration/sqlMigrationServices/rehearsal"
    )
    client = SimulatedDataMigrationClient(world, plan, failures)
    sql = SimulatedSqlServer(world, plan)
    return Services(
        dms=DmsGateway(lambda _subscription: client, settings.MigrationServiceRef.parse(service_id)),
        sql=sql,
        target_databases=TargetDatabases(sql, lambda _subscription: SimulatedSqlManagementClient(world)),
        connections=RehearsalConnections(),
    )


class RehearsalWorld:
    """Key/value JSON state of the simulated world, one file per key, written atomically."""

    def __init__(self, directory: str):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)

    @staticmethod
    def for_run(run_id: str, environ: Mapping[str, str] = os.environ) -> "RehearsalWorld":
        base = environ.get(settings.SIMULATION_DIR_VARIABLE) or os.path.join(
            tempfile.gettempdir(), "migration-rehearsal"
        )
        return RehearsalWorld(os.path.join(base, _safe_name(run_id)))

    def load(self, key: str) -> Dict[str, Any]:
        try:
            with open(self._path(key), "r", encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return {}

    def save(self, key: str, state: Dict[str, Any]) -> None:
        handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(state, stream, sort_keys=True)
        os.replace(temporary, self._path(key))

    def update(self, key: str, change: Callable[[Dict[str, Any]], Any]) -> Any:
        state = self.load(key)
        result = change(state)
        self.save(key, state)
        return result

    def _path(self, key: str) -> str:
        return os.path.join(self.directory, _safe_name(key) + ".json")


def target_key(server_name: str, database_name: str) -> str:
    return "target-%s-%s" % (server_name.lower(), database_name.lower())


def source_key(connection_id: str, database_name: str) -> str:
    return "source-%s-%s" % (connection_id, database_name.lower())


class SimulatedDataMigrationClient:
    """Quacks like azure.mgmt.datamigration.DataMigrationManagementClient for what the gateway uses."""

    def __init__(self, world: RehearsalWorld, plan: MigrationPlan, failures: frozenset):
        self.sql_migration_services = _SimulatedMigrationServices()
        for kind, (group, server_argument) in OPERATIONS_BY_KIND.items():
            setattr(self, group, _SimulatedDatabaseMigrations(world, plan, failures, kind, server_argument))


class _SimulatedMigrationServices:
    def get(self, resource_group_name: str, sql_migration_service_name: str) -> Dict[str, Any]:
        return {"properties": {"provisioningState": "Succeeded", "integrationRuntimeState": "Online"}}


class _Done:
    """A finished long-running operation, like azure.core's LROPoller after completion."""

    def __init__(self, value: Any = None):
        self._value = value

    def result(self, timeout: Optional[float] = None) -> Any:
        return self._value


class _SimulatedDatabaseMigrations:
    def __init__(self, world: RehearsalWorld, plan: MigrationPlan, failures: frozenset, kind: str, server_argument: str):
        self._world = world
        self._plan = plan
        self._failures = failures
        self._kind = kind
        self._server_argument = server_argument

    def get(self, resource_group_name: str, target_db_name: str, migration_operation_id: Optional[str] = None,
            expand: Optional[str] = None, **server: str) -> Dict[str, Any]:
        key = target_key(server[self._server_argument], target_db_name)

        def read(state: Dict[str, Any]) -> Dict[str, Any]:
            migration = _find_migration(state, migration_operation_id)
            if migration is None:
                raise SimulatedHttpError(404, "no database migration for %s" % target_db_name)
            if migration_operation_id is not None:
                _advance(migration, state)
            return _resource(migration, target_db_name, with_details=expand is not None)

        return self._world.update(key, read)

    def begin_create_or_update(self, resource_group_name: str, target_db_name: str, parameters: Dict[str, Any],
                               **server: str) -> _Done:
        _check_create_request(parameters, self._kind)
        database = self._plan_database(server[self._server_argument], target_db_name)
        source_connection_id = self._plan.source_of(database).connection_id
        properties = parameters["properties"]
        key = target_key(server[self._server_argument], target_db_name)

        def create(state: Dict[str, Any]) -> Dict[str, Any]:
            migrations = state.setdefault("migrations", [])
            operation_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "%s/%s/%d" % (self._world.directory, key, len(migrations))))
            migration = {
                "migrationOperationId": operation_id,
                "kind": self._kind,
                "scope": properties["scope"],
                "sourceDatabaseName": properties["sourceDatabaseName"],
                "sourceConnectionId": source_connection_id,
                "offline": (properties.get("offlineConfiguration") or {}).get("offline", self._kind == "SqlDb"),
                "migrationStatus": "InProgress",
                "provisioningState": "Succeeded",
                "polls": 0,
                "failAtPoll": FAILURE_POLL if database.name in self._failures else None,
                "database": database.name,
            }
            migrations.append(migration)
            if self._kind != "SqlDb":
                state["targetDatabase"] = "RESTORING"
            return _resource(migration, target_db_name, with_details=False)

        return _Done(self._world.update(key, create))

    def begin_cutover(self, resource_group_name: str, target_db_name: str, parameters: Dict[str, Any],
                      **server: str) -> _Done:
        def cutover(state: Dict[str, Any]) -> None:
            migration = _find_migration(state, parameters["migrationOperationId"])
            if migration is None or migration["migrationStatus"] != "InProgress":
                raise SimulatedHttpError(400, "migration is not in progress: cannot cut over")
            migration["cutoverRequested"] = True

        self._world.update(target_key(server[self._server_argument], target_db_name), cutover)
        return _Done()

    def begin_cancel(self, resource_group_name: str, target_db_name: str, parameters: Dict[str, Any],
                     **server: str) -> _Done:
        def cancel(state: Dict[str, Any]) -> None:
            migration = _find_migration(state, parameters["migrationOperationId"])
            if migration is None:
                raise SimulatedHttpError(404, "no such migration operation")
            if migration["migrationStatus"] not in ("Succeeded", "Failed", "Canceled"):
                migration["migrationStatus"] = "Canceled"

        self._world.update(target_key(server[self._server_argument], target_db_name), cancel)
        return _Done()

    def _plan_database(self, server_name: str, target_db_name: str) -> DatabaseMigration:
        for database in self._plan.databases:
            target = self._plan.target_of(database)
            if target.resource_id.name == server_name and database.target_database == target_db_name:
                return database
        raise SimulatedHttpError(400, "no plan database migrates into %s/%s" % (server_name, target_db_name))


def _find_migration(state: Dict[str, Any], operation_id: Optional[str]) -> Optional[Dict[str, Any]]:
    migrations = state.get("migrations") or []
    if operation_id is None:
        return migrations[-1] if migrations else None
    return next((m for m in migrations if m["migrationOperationId"] == operation_id), None)


def _advance(migration: Dict[str, Any], state: Dict[str, Any]) -> None:
    if migration["migrationStatus"] in ("Succeeded", "Failed", "Canceled"):
        return
    migration["polls"] += 1
    polls = migration["polls"]
    if migration.get("failAtPoll") and polls >= migration["failAtPoll"]:
        migration["migrationStatus"] = "Failed"
        migration["error"] = "Simulated failure of %s (MIGRATION_SIMULATE_FAILURE)" % migration["database"]
        return
    if migration["offline"]:
        if polls >= 2:
            _complete(migration, state)
        return
    if migration.get("cutoverRequested"):
        if migration["migrationStatus"] == "Completing":
            _complete(migration, state)
        else:
            migration["migrationStatus"] = "Completing"
        return
    migration["pendingLogBackups"] = max(0, 3 - polls)
    if migration.get("finalBackup"):
        migration["lastRestored"] = migration["currentRestoring"] = migration["finalBackup"]
    elif polls == 1:
        migration["lastRestored"], migration["currentRestoring"] = None, "full.bak"
    elif polls == 2:
        migration["lastRestored"], migration["currentRestoring"] = "log_0001.trn", "log_0002.trn"
    else:
        migration["lastRestored"] = migration["currentRestoring"] = "log_0002.trn"


def _complete(migration: Dict[str, Any], state: Dict[str, Any]) -> None:
    migration["migrationStatus"] = "Succeeded"
    migration["pendingLogBackups"] = 0
    if migration["kind"] != "SqlDb":
        state["targetDatabase"] = "ONLINE"
    state["copiedFrom"] = {"connectionId": migration["sourceConnectionId"], "database": migration["sourceDatabaseName"]}


def _remove_target_database(state: Dict[str, Any]) -> None:
    state.pop("targetDatabase", None)
    state.pop("copiedFrom", None)


def _resource(migration: Dict[str, Any], target_db_name: str, with_details: bool) -> Dict[str, Any]:
    properties: Dict[str, Any] = {
        "kind": migration["kind"],
        "scope": migration["scope"],
        "provisioningState": migration["provisioningState"],
        "migrationStatus": migration["migrationStatus"],
        "sourceDatabaseName": migration["sourceDatabaseName"],
        "migrationOperationId": migration["migrationOperationId"],
    }
    if migration.get("error"):
        properties["migrationFailureError"] = {"code": "RehearsalFailure", "message": migration["error"]}
    if with_details and migration["kind"] != "SqlDb":
        properties["migrationStatusDetails"] = {
            "migrationState": migration["migrationStatus"],
            "isFullBackupRestored": migration["polls"] > 1,
            "pendingLogBackupsCount": migration.get("pendingLogBackups"),
            "lastRestoredFilename": migration.get("lastRestored"),
            "currentRestoringFilename": migration.get("currentRestoring"),
        }
    return {"name": target_db_name, "type": "Microsoft.DataMigration/databaseMigrations", "properties": properties}


def _check_create_request(parameters: Dict[str, Any], kind: str) -> None:
    """What ARM would reject with 400: the rehearsal checks the request the real code builds."""
    properties = parameters.get("properties") or {}
    required = ["kind", "scope", "migrationService", "sourceDatabaseName", "sourceSqlConnection"]
    required += ["targetSqlConnection"] if kind == "SqlDb" else ["backupConfiguration", "offlineConfiguration"]
    missing = [name for name in required if not properties.get(name) and properties.get(name) is not False]
    if missing or properties.get("kind") != kind:
        raise SimulatedHttpError(400, "invalid %s migration request: missing %s" % (kind, ", ".join(missing) or "kind"))


class SimulatedSqlServer:
    """Stands in for `SqlServer`: source databases are ONLINE in FULL recovery; targets follow DMS."""

    def __init__(self, world: RehearsalWorld, plan: MigrationPlan):
        self._world = world
        self._plan = plan
        self._source_connections = {s.connection_id for s in plan.source_servers}
        self._targets = {t.connection_id: t for t in plan.target_servers}

    def database_state(self, connection_id: str, database: str) -> Optional[DatabaseState]:
        if connection_id in self._source_connections:
            state = self._world.load(source_key(connection_id, database))
            return DatabaseState("ONLINE", "FULL", bool(state.get("readOnly")))
        target = self._target_state(connection_id, database)
        if target is None:
            return None
        return DatabaseState(target, "FULL", False)

    def set_read_only(self, connection_id: str, database: str, read_only: bool) -> None:
        self._world.update(source_key(connection_id, database), lambda state: state.update(readOnly=read_only))

    def backup_log(self, connection_id: str, database: str, file_path: str) -> None:
        """The tail-log backup lands on the share; DMS restores it on its next poll."""
        file_name = file_path.replace("\\", "/").rsplit("/", 1)[-1]
        for plan_database in self._plan.databases:
            source = self._plan.source_of(plan_database)
            if source.connection_id == connection_id and plan_database.source_database == database:
                target = self._plan.target_of(plan_database)
                key = target_key(target.resource_id.name, plan_database.target_database)

                def register(state: Dict[str, Any]) -> None:
                    migration = _find_migration(state, None)
                    if migration is not None and migration["migrationStatus"] == "InProgress":
                        migration["finalBackup"] = file_name

                self._world.update(key, register)

    def drop_database(self, connection_id: str, database: str) -> None:
        target = self._targets[connection_id]
        self._world.update(target_key(target.resource_id.name, database), _remove_target_database)

    def user_tables(self, connection_id: str, database: str) -> List[str]:
        return list(REHEARSAL_TABLES)

    def table_fingerprint(self, connection_id: str, database: str, table: str, with_checksum: bool) -> Optional[TableFingerprint]:
        if connection_id in self._source_connections:
            return source_table_fingerprint(connection_id, database, table, with_checksum)
        if self._target_state(connection_id, database) != "ONLINE":
            return None
        target = self._targets[connection_id]
        copied_from = self._world.load(target_key(target.resource_id.name, database)).get("copiedFrom")
        if copied_from is None:  # a SqlDb target before its copy: the deployed schema, no rows
            return TableFingerprint(row_count=0, checksum=None)
        return source_table_fingerprint(copied_from["connectionId"], copied_from["database"], table, with_checksum)

    def _target_state(self, connection_id: str, database: str) -> Optional[str]:
        target = self._targets[connection_id]
        if target.kind == "SqlDb":
            return "ONLINE"  # SqlDb targets are created, with their schema, before the migration
        return self._world.load(target_key(target.resource_id.name, database)).get("targetDatabase")


def source_table_fingerprint(connection_id: str, database: str, table: str, with_checksum: bool) -> TableFingerprint:
    """The rows of a simulated source table (database names are case-insensitive, as in SQL Server)."""
    name = "%s/%s/%s" % (connection_id, database.lower(), table)
    digest = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
    return TableFingerprint(row_count=digest % 100000, checksum=digest if with_checksum else None)


class SimulatedSqlManagementClient:
    """Quacks like azure.mgmt.sql.SqlManagementClient for `managed_databases.begin_delete`."""

    def __init__(self, world: RehearsalWorld):
        self.managed_databases = self
        self._world = world

    def begin_delete(self, resource_group_name: str, managed_instance_name: str, database_name: str) -> _Done:
        key = target_key(managed_instance_name, database_name)
        if "targetDatabase" not in self._world.load(key):
            raise SimulatedHttpError(404, "managed database %s not found" % database_name)
        self._world.update(key, _remove_target_database)
        return _Done()


class RehearsalConnections:
    """No Key Vault in a rehearsal: every connection has placeholder credentials."""

    def get(self, connection_id: str) -> ConnectionSecret:
        return ConnectionSecret(connection_id, "rehearsal.invalid", 1433, "rehearsal", "not-a-secret")


def _safe_name(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", value)


def world_snapshot(world: RehearsalWorld) -> Dict[str, Dict[str, Any]]:
    """Every key's state (for tests and for inspecting a rehearsal)."""
    snapshot = {}
    for name in sorted(os.listdir(world.directory)):
        if name.endswith(".json"):
            snapshot[name[: -len(".json")]] = world.load(name[: -len(".json")])
    return snapshot

