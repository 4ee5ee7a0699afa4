"""A small simulated estate for the SQL access tests, and the two `SqlAccess` implementations on it.

Servers: sql01 (SQL Server source, database Sales with a full backup, so log backups chain),
mi-prod (SqlMi target), db-prod (SqlDb target), vm-prod (SqlVm target). Each implementation
reaches them its own way: direct through the fake pymssql (`sql_world.SqlEngine`) with Airflow
connections, Data Factory through the real azure-mgmt-datafactory client talking HTTP to the fake
pipeline-run API, with the connection strings in the fake Key Vault.
"""
from __future__ import annotations

import time
from typing import Any, Dict, Optional

from migration_orchestration_lib.connections import ConnectionSecret
from migration_orchestration_lib.resource_id import ResourceId
from migration_orchestration_lib.sql_access import SqlEndpoint, SqlOperation, SqlResult
from migration_orchestration_lib.sql_access_data_factory import (
    DataFactorySqlAccess,
    SqlRoute,
    data_factory_client,
)
from migration_orchestration_lib.sql_access_direct import DirectSqlAccess
from migration_rehearsal.data_factory_server import DataFactoryServer, put_secret
from migration_rehearsal.sql_world import SqlEngine
from migration_rehearsal.world import World

SHARE = "\\\\fileserver01\\sqlbackups\\sql01"
HOSTS = {"sql01": "sql01.corp.contoso.com", "mi-prod": "mi-prod.0a1b2c3d4e5f.database.windows.net",
         "db-prod": "db-prod.database.windows.net", "vm-prod": "vm-prod.corp.contoso.com"}
KINDS = {"sql01": "SqlServer", "mi-prod": "SqlMi", "db-prod": "SqlDb", "vm-prod": "SqlVm"}
CONNECTION_IDS = {("source", "sql01"): "mssql_source_sql01", ("target", "mi-prod"): "mssql_target_mi_prod",
                  ("target", "db-prod"): "mssql_target_db_prod", ("target", "vm-prod"): "mssql_target_vm_prod"}
TABLES = {
    "dbo.Customers": {
        "columns": [{"name": "Id", "type": "int"}, {"name": "Name", "type": "nvarchar"}, {"name": "Shape", "type": "geography"},
                    {"name": "Version", "type": "rowversion"}],
        "rows": [[1, "Ada", "POINT(1 2)", "0x0001"], [2, None, None, "0x0002"]],
    },
    "dbo.Orders": {"columns": [{"name": "Id", "type": "int"}, {"name": "Total", "type": "float"}], "rows": [[1, 12.5], [2, 0.1]]},
    "sales.Order Lines": {"columns": [{"name": "Id", "type": "int"}, {"name": "Note", "type": "nvarchar"}], "rows": [[1, "it's"]]},
}


def estate(directory: str) -> World:
    world = World(directory)
    for name, kind in KINDS.items():
        world.add_server(name, kind)
    world.put_database("sql01", "Sales", tables=TABLES)
    world.take_backup("sql01", "Sales", "FULL", SHARE + "\\Sales_full.bak")
    return world


def source(database: str = "master") -> SqlEndpoint:
    return SqlEndpoint("source", "sql01", database)


def target(server: str, database: str = "master") -> SqlEndpoint:
    return SqlEndpoint("target", server, database)


def query(key: str, endpoint: SqlEndpoint, sql: str) -> SqlOperation:
    return SqlOperation(key=key, endpoint=endpoint, sql=sql, returns_rows=True)


def statement(key: str, endpoint: SqlEndpoint, sql: str) -> SqlOperation:
    return SqlOperation(key=key, endpoint=endpoint, sql=sql, returns_rows=False)


class Connections:
    """Airflow connections by id: hosts of the estate, a login each."""

    def get(self, connection_id: str) -> ConnectionSecret:
        server = next(s for (_, s), c in CONNECTION_IDS.items() if c == connection_id)
        return ConnectionSecret(connection_id, HOSTS[server], 1433, "migrator", "s3cret-%s" % server)


class DirectImplementation:
    name = "direct"

    def __init__(self, world: World):
        self.world = world
        self.engine = SqlEngine(world)

    def access(self) -> DirectSqlAccess:
        return DirectSqlAccess(Connections(), lambda e: CONNECTION_IDS[(e.role, e.server_name)], driver=self.engine)

    def operations_started(self) -> int:
        return len(self.engine.connections)

    def crash_midway(self, access: Any, operation: SqlOperation) -> None:
        """The batch ran on the server; the worker died before it recorded the outcome."""
        access.submit(operation)

    def close(self) -> None:
        pass


class DataFactoryImplementation:
    name = "dataFactory"

    def __init__(self, world: World):
        self.world = world
        for server in ("sql01", "vm-prod"):
            put_secret(world, "%s-connection-string" % server,
                       "Server=tcp:%s,1433;Initial Catalog=master;User ID=migrator;Password=s3cret" % HOSTS[server])
        self.server = DataFactoryServer(world)
        self.server.start()

    def access(self) -> DataFactorySqlAccess:
        from migration_orchestration_lib.dms_transport import StaticTokenCredential

        client = data_factory_client(self.server.subscription_id, StaticTokenCredential(), self.server.base_url,
                                     retry_backoff_factor=0.01)
        return DataFactorySqlAccess(client, ResourceId.parse(self.server.factory_id), route_of)

    def operations_started(self) -> int:
        return sum(1 for _, operation in self.server.requests if operation == "createRun")

    def crash_midway(self, access: Any, operation: SqlOperation) -> None:
        """The run was started and seen in progress; then the worker died."""
        handle = access.submit(operation)
        assert access.result(handle) is None

    def close(self) -> None:
        self.server.stop()


def route_of(endpoint: SqlEndpoint) -> SqlRoute:
    kind = KINDS[endpoint.server_name]
    if kind in ("SqlServer", "SqlVm"):
        return SqlRoute("selfHosted", {"connectionStringSecretName": "%s-connection-string" % endpoint.server_name})
    route = "managedInstance" if kind == "SqlMi" else "sqlDatabase"
    return SqlRoute(route, {"serverName": HOSTS[endpoint.server_name], "databaseName": endpoint.database})


def finish(access: Any, operation: SqlOperation, polls: int = 10, handle: Any = None) -> SqlResult:
    """Submit (unless a handle is given) and poll until the result is there."""
    handle = handle or access.submit(operation)
    for _ in range(polls):
        result = access.result(handle)
        if result is not None:
            return result
        time.sleep(0.01)
    raise AssertionError("operation %s did not finish in %d polls" % (operation.key, polls))


def first_row(result: SqlResult) -> Optional[Dict[str, Any]]:
    return dict(result.rows[0]) if result.rows else None
