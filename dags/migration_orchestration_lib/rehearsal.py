"""Rehearsal wiring (MIGRATION_DRY_RUN=1): the DAG's real code, pointed at the simulated world.

The world (`migration_rehearsal`, its own package, importing nothing from here) keeps servers,
databases, the backup share and DMS state in one directory, `MIGRATION_SIMULATION_DIR`, kept
between runs (`npm run rehearse -- --world DIR`). Here:
- the real DMS gateway talks HTTP to the DMS contract server serving that world (started in
  this process, or the one at `MIGRATION_REHEARSAL_DMS_URL`), with a static token;
- the real SQL access runs T-SQL on the fake SQL engine (the pymssql stand-in), or (sqlAccess
  dataFactory) through the fake Data Factory API;
- the world is seeded from the plan once: every source database with a few tables and the full
  backup an operator takes before an online migration, every SqlDb target with its schema, the
  migration service with its integration runtime Online. Nothing is seeded twice, so a world
  that a crashed run left behind is continued, not reset.
Rehearsal knobs: `MIGRATION_SIMULATE_FAILURE=<db,...>` (DMS ends the migration Failed),
`MIGRATION_SIMULATE_MISMATCH=<db,...>` (a row of the target differs once restored: validation
fails and rolls back that database only), `MIGRATION_SIMULATE_CRASH=<db>:<task>` (see
`crash_points`), and for cutover windows and approval `MIGRATION_SIMULATE_START`/`_UNTIL` and
`MIGRATION_SIMULATE_APPROVAL` (see `rehearsal_cutover`).
"""
from __future__ import annotations

import json
import os
import secrets
import tempfile
import threading
from typing import Any, Dict, List, Mapping

from migration_orchestration_lib import settings
from migration_orchestration_lib.connections import ConnectionSecret
from migration_orchestration_lib.resource_id import ResourceId
from migration_orchestration_lib.plan import DatabaseMigration, MigrationPlan

DMS_URL_VARIABLE = "MIGRATION_REHEARSAL_DMS_URL"
DATA_FACTORY_URL_VARIABLE = "MIGRATION_REHEARSAL_DATA_FACTORY_URL"
SERVICE_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rehearsal/providers"
    "/Microsoft.DataMigration/sqlMigrationServices/rehearsal"
)
FACTORY_ID = (  # the Data Factory fake's own (DataFactoryServer defaults)
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-migration/providers"
    "/Microsoft.DataFactory/factories/adf-migration"
)
KNOBS_FILE = "rehearsal-knobs.json"  # which simulated failures and mismatches were applied
COLUMNS = [{"name": "Id", "type": "int"}, {"name": "Name", "type": "nvarchar"}, {"name": "Amount", "type": "decimal"}]
TABLES = ("dbo.Customers", "dbo.Orders", "sales.OrderLines")

_servers: Dict[str, Any] = {}
_seeded: set = set()
_lock = threading.Lock()


def world_directory(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get(settings.SIMULATION_DIR_VARIABLE) or os.path.join(tempfile.gettempdir(), "migration-rehearsal")


def rehearsal_services(plan: MigrationPlan, environ: Mapping[str, str] = os.environ) -> Any:
    from migration_orchestration_lib.dms_gateway import DmsGateway
    from migration_orchestration_lib.dms_transport import StaticTokenCredential
    from migration_orchestration_lib.rehearsal_cutover import FileApprovals, SimulatedClock
    from migration_orchestration_lib.services import Services, operation_timing, records_for, sql_access_for
    from migration_rehearsal.sql_world import SqlEngine
    from migration_rehearsal.world import World

    directory = world_directory(environ)
    world = World(directory)
    seed_world(world, plan)
    apply_knobs(world, plan, environ)
    credential = StaticTokenCredential()
    factory = {}
    if plan.sql_access == "dataFactory":
        factory = {"data_factory_url": _server_url(directory, "data-factory", environ)}
    return Services(
        dms=DmsGateway.connect(
            ResourceId.parse(SERVICE_ID),
            credential,
            base_url=_server_url(directory, "dms", environ),
            timing=operation_timing(environ),
            retry_total=2,
            retry_backoff_factor=0.1,
        ),
        sql_access=sql_access_for(
            plan,
            RehearsalConnections(plan),
            lambda: credential,
            {**environ, "MIGRATION_DATA_FACTORY_ID": FACTORY_ID},
            driver=SqlEngine(world),
            **factory,
        ),
        connections=RehearsalConnections(plan),
        clock=SimulatedClock(directory, gated_ancestors(plan), environ, cutover_minutes(plan), plan.max_concurrent_cutovers),
        approvals=FileApprovals(directory),
        records=records_for(environ),
        simulated_approvals=settings.simulated_approvals(plan, environ),
    )


def gated_ancestors(plan: MigrationPlan) -> Dict[str, List[str]]:
    """Every gated database -> the gated databases it depends on, directly or not (the simulated
    clock waits for those on their way to their gate)."""
    def ancestors(name: str, seen: set) -> set:
        for dependency in plan.database(name).depends_on:
            if dependency not in seen:
                seen.add(dependency)
                ancestors(dependency, seen)
        return seen

    gated = {d.name for d in plan.databases if plan.is_gated(d)}
    return {name: sorted(ancestors(name, set()) & gated) for name in sorted(gated)}


def cutover_minutes(plan: MigrationPlan) -> Dict[str, int]:
    """Every gated database -> its `cutover.expectedMinutes`: the simulated time its cutover takes. The plan's own
    figure, the one the gate fits into a window; the DMS contract server models a cutover in steps, not time."""
    return {d.name: d.cutover.expected_minutes for d in plan.databases if plan.is_gated(d)}


REHEARSAL_LOGIN = "rehearsal"
# The simulated servers only check that a login has a password; no real credential reaches a rehearsal.
REHEARSAL_PASSWORD = secrets.token_hex(8)


class RehearsalConnections:
    """Logins for the world's servers: the host is the world server's name, secrets are dummies."""

    def __init__(self, plan: MigrationPlan):
        self._hosts = {s.connection_id: s.host for s in plan.source_servers}
        self._hosts.update({t.connection_id: t.resource_id.name for t in plan.target_servers})

    def get(self, connection_id: str) -> ConnectionSecret:
        return ConnectionSecret(
            connection_id=connection_id,
            host=self._hosts.get(connection_id, connection_id),
            port=1433,
            login=REHEARSAL_LOGIN,
            password=REHEARSAL_PASSWORD,
        )


def seed_world(world: Any, plan: MigrationPlan) -> None:
    """What exists before the first run: sources with data and a full backup, SqlDb targets with
    their schema, the migration service. Idempotent: what exists already is left as it is."""
    key = (world.directory, plan.name)
    if key in _seeded:
        return
    with world.transaction():
        for server in plan.source_servers:
            world.add_server(world_server_name(server.host), "SqlServer")
        for target in plan.target_servers:
            world.add_server(target.resource_id.name, target.kind)
        if not _has_service(world):
            world.add_migration_service(SERVICE_ID)
        if plan.sql_access == "dataFactory":
            _seed_connection_strings(world, plan)
        for database in plan.databases:
            _seed_database(world, plan, database)
    _seeded.add(key)


def _seed_database(world: Any, plan: MigrationPlan, database: DatabaseMigration) -> None:
    source = plan.source_of(database)
    server = world_server_name(source.host)
    if world.database(server, database.source_database) is None:
        world.put_database(server, database.source_database, tables=_tables(database.source_database, with_rows=True))
    if database.restores_backups and not world.backups(server, database.source_database):
        share = source.backup_file_share.path.rstrip("\\/")
        world.take_backup(server, database.source_database, "FULL", "%s\\%s_full.bak" % (share, database.source_database))
    target_server = plan.target_of(database).resource_id.name
    if not database.restores_backups and world.database(target_server, database.target_database) is None:
        world.put_database(target_server, database.target_database, tables=_tables(database.source_database, with_rows=False))


def _seed_connection_strings(world: Any, plan: MigrationPlan) -> None:
    """The Key Vault secrets Data Factory's self-hosted linked service reads (sources, SQL VMs)."""
    from migration_rehearsal.data_factory_server import put_secret

    hosts = {s.connection_string_secret_name: s.host for s in plan.source_servers}
    hosts.update({"%s-connection-string" % t.name: t.resource_id.name for t in plan.target_servers if t.kind == "SqlVm"})
    for secret, host in hosts.items():
        parts = ["Server=tcp:%s,1433" % host, "Initial Catalog=master", "User ID=" + REHEARSAL_LOGIN]
        parts.append("Password=" + REHEARSAL_PASSWORD)
        put_secret(world, secret, ";".join(parts))


def apply_knobs(world: Any, plan: MigrationPlan, environ: Mapping[str, str]) -> None:
    """Simulated failures (a DMS fault, once per database) and mismatches (one target row
    changed once the target holds its data), each applied once per world."""
    failures = settings.simulated_failures(plan.database_names, environ)
    mismatches = settings.simulated_mismatches(plan.database_names, environ)
    if not failures and not mismatches:
        return
    path = os.path.join(world.directory, KNOBS_FILE)
    with world.transaction():
        applied = _read_json(path)
        for name in sorted(failures - set(applied.get("failures", []))):
            database = plan.database(name)
            world.add_fault("migrate", "migrationFailed", database=database.target_database, message="simulated failure of %s" % name)
            applied.setdefault("failures", []).append(name)
        for name in sorted(mismatches - set(applied.get("mismatches", []))):
            if _make_target_differ(world, plan, plan.database(name)):
                applied.setdefault("mismatches", []).append(name)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(applied, handle)


def _make_target_differ(world: Any, plan: MigrationPlan, database: DatabaseMigration) -> bool:
    server = plan.target_of(database).resource_id.name
    target = world.database(server, database.target_database)
    if target is None or target["state"] != "ONLINE" or not target["restoredFrom"] and database.restores_backups:
        return False
    table = sorted(target["tables"])[0]
    rows = target["tables"][table]["rows"]
    if not rows:
        return False
    world.set_table(server, database.target_database, table, target["tables"][table]["columns"], rows[:-1])
    return True


def _tables(source_database: str, with_rows: bool) -> Dict[str, Any]:
    tables = {}
    for index, table in enumerate(TABLES):
        count = 3 + (sum(map(ord, source_database)) + index) % 5
        rows: List[List[Any]] = [[i, "%s-%s-%d" % (source_database, table, i), "%d.50" % (i * 7)] for i in range(1, count + 1)]
        tables[table] = {"columns": COLUMNS, "rows": rows if with_rows else []}
    return tables


def world_server_name(host: str) -> str:
    """The world's name of a source server: its host without instance, port or domain (the report reads it too)."""
    return host.split("\\")[0].split(",")[0].split(".")[0]


def _has_service(world: Any) -> bool:
    with world.transaction() as state:
        return SERVICE_ID.lower() in state["migrationServices"]


def _server_url(directory: str, kind: str, environ: Mapping[str, str]) -> str:
    variable = DMS_URL_VARIABLE if kind == "dms" else DATA_FACTORY_URL_VARIABLE
    if environ.get(variable):
        return environ[variable]
    with _lock:
        key = "%s:%s" % (kind, directory)
        if key not in _servers:
            _servers[key] = _start_server(kind, directory)
        return _servers[key].base_url


def _start_server(kind: str, directory: str) -> Any:
    from migration_rehearsal.world import World

    if kind == "dms":
        from migration_rehearsal.dms_contract_server.server import start_in_thread

        return start_in_thread(directory, retry_after_seconds=0)  # the client's polling interval rules
    from migration_rehearsal.data_factory_server import DataFactoryServer

    server = DataFactoryServer(World(directory))
    server.start()
    return server


def _read_json(path: str) -> Dict[str, Any]:
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}


def stop_servers() -> None:
    """Stop the servers this process started (tests: one world per test)."""
    with _lock:
        for server in _servers.values():
            server.stop()
        _servers.clear()
        _seeded.clear()
