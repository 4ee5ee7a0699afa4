"""A seeded rehearsal world and a DMS contract server on it, shared by the gateway and server tests.

The world: migration service `service1` (runtime Online), source server sql01 with database Sales
(two tables), a managed instance mi1, a logical server sqldb1 holding an empty Sales (its schema,
as DMS requires for SqlDb), and a SQL VM vm1; backups go to SHARE.
"""
from __future__ import annotations

import copy
import json
from typing import Any, Dict, Iterator, Optional

import pytest

from conftest import FIXTURES_DIR
from migration_rehearsal.dms_contract_server import ContractServer, start_in_thread
from migration_rehearsal.world import World

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
RESOURCE_GROUP = "testrg"
SERVICE_ID = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.DataMigration/sqlMigrationServices/service1" % (SUBSCRIPTION, RESOURCE_GROUP)
SOURCE_SERVER = "sql01"
SOURCE_DATABASE = "Sales"
SHARE = r"\\fileserver01\sqlbackups\sql01"
KINDS = ("SqlMi", "SqlDb", "SqlVm")
ONLINE_KINDS = ("SqlMi", "SqlVm")
TARGET_SERVERS = {
    "SqlMi": ("mi1", "Microsoft.Sql/managedInstances"),
    "SqlDb": ("sqldb1", "Microsoft.Sql/servers"),
    "SqlVm": ("vm1", "Microsoft.SqlVirtualMachine/sqlVirtualMachines"),
}
COLUMNS = [{"name": "Id", "type": "int"}, {"name": "Name", "type": "nvarchar(100)"}]
SOURCE_TABLES = {
    "dbo.Customers": {"columns": COLUMNS, "rows": [[1, "Ada"], [2, "Grace"]]},
    "sales.Orders": {"columns": COLUMNS, "rows": [[10, "first"]]},
}


def recorded(name: str) -> Dict[str, Any]:
    return json.loads((FIXTURES_DIR / name).read_text())


def seed(world: World) -> World:
    world.add_migration_service(SERVICE_ID, location="northeurope")
    world.add_server(SOURCE_SERVER)
    world.put_database(SOURCE_SERVER, SOURCE_DATABASE, tables=SOURCE_TABLES)
    for kind, (server, _) in TARGET_SERVERS.items():
        world.add_server(server, kind)
    empty = {name: {"columns": table["columns"], "rows": []} for name, table in SOURCE_TABLES.items()}
    world.put_database(TARGET_SERVERS["SqlDb"][0], SOURCE_DATABASE, tables=empty)
    return world


def scope(kind: str) -> str:
    server, provider = TARGET_SERVERS[kind]
    return "/subscriptions/%s/resourceGroups/%s/providers/%s/%s" % (SUBSCRIPTION, RESOURCE_GROUP, provider, server)


def migration_path(kind: str, database: str = SOURCE_DATABASE) -> str:
    return "%s/providers/Microsoft.DataMigration/databaseMigrations/%s" % (scope(kind), database)


def create_body(kind: str, offline: bool = False, last_backup_name: Optional[str] = None, source_database: str = SOURCE_DATABASE) -> Dict[str, Any]:
    """The recorded MAX request of the kind, addressed to this world (the recorded scope names
    another instance than the recorded URL does)."""
    body = copy.deepcopy(recorded("%sCreateOrUpdateDatabaseMigrationMAX.json" % kind)["parameters"]["parameters"])
    properties = body["properties"]
    properties.update(scope=scope(kind), migrationService=SERVICE_ID, sourceDatabaseName=source_database)
    properties["sourceSqlConnection"]["dataSource"] = "%s.contoso.local" % SOURCE_SERVER
    if kind == "SqlDb":
        properties["tableList"] = ["[dbo].[Customers]", "[sales].[Orders]"]
        properties["targetSqlConnection"]["dataSource"] = "%s.database.windows.net" % TARGET_SERVERS["SqlDb"][0]
    else:
        properties["backupConfiguration"]["sourceLocation"]["fileShare"]["path"] = SHARE
        properties["offlineConfiguration"] = {"offline": offline}
        if last_backup_name:
            properties["offlineConfiguration"]["lastBackupName"] = last_backup_name
    return body


def back_up(world: World, backup_type: str, file_name: str, database: str = SOURCE_DATABASE) -> Dict[str, Any]:
    return world.take_backup(SOURCE_SERVER, database, backup_type, SHARE + "\\" + file_name)


def write(world: World, table: str = "dbo.Customers", row: Optional[list] = None) -> None:
    rows = world.database(SOURCE_SERVER, SOURCE_DATABASE)["tables"][table]["rows"]
    world.set_table(SOURCE_SERVER, SOURCE_DATABASE, table, COLUMNS, rows + [row or [len(rows) + 100, "new"]])


@pytest.fixture
def server(tmp_path) -> Iterator[ContractServer]:
    """A contract server on a freshly seeded world; accepted operations send Retry-After: 0."""
    running = start_in_thread(str(tmp_path / "world"), retry_after_seconds=0)
    seed(running.world)
    try:
        yield running
    finally:
        running.stop()
