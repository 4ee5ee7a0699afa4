"""The paths the contract server answers (case-insensitive, as ARM matches them) and their handlers.

Each route has the operation name that faults address (see `World.add_fault`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple
from urllib.parse import unquote

from migration_rehearsal.dms_contract_server import managed_databases, migrations, operations, resources
from migration_rehearsal.dms_contract_server.arm import Request, Response
from migration_rehearsal.world import World

SUBSCRIPTION = r"/subscriptions/(?P<subscription>[^/]+)"
RESOURCE_GROUP = SUBSCRIPTION + r"/resourceGroups/(?P<resourceGroup>[^/]+)"
SERVICE = RESOURCE_GROUP + r"/providers/Microsoft\.DataMigration/sqlMigrationServices/(?P<service>[^/]+)"
TARGET_PROVIDERS = r"Microsoft\.Sql/managedInstances|Microsoft\.Sql/servers|Microsoft\.SqlVirtualMachine/sqlVirtualMachines"
ONLINE_TARGET_PROVIDERS = r"Microsoft\.Sql/managedInstances|Microsoft\.SqlVirtualMachine/sqlVirtualMachines"
MIGRATION = r"(?P<scope>%s/providers/(?P<provider>%%s)/(?P<server>[^/]+))/providers/Microsoft\.DataMigration/databaseMigrations/(?P<database>[^/]+)" % RESOURCE_GROUP
MANAGED_DATABASE = RESOURCE_GROUP + r"/providers/Microsoft\.Sql/managedInstances/(?P<server>[^/]+)/databases/(?P<database>[^/]+)"
MONITOR = SUBSCRIPTION + r"/providers/%s/locations/(?P<location>[^/]+)/%s/(?P<operation>[^/]+)"

Handler = Callable[[World, Request, int], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: "re.Pattern[str]"
    operation: str
    handler: Handler


def _route(method: str, pattern: str, operation: str, handler: Handler) -> Route:
    return Route(method, re.compile("^%s$" % pattern, re.IGNORECASE), operation, handler)


def _ignoring_retry_after(handler: Callable[[World, Request], Response]) -> Handler:
    return lambda world, request, _retry_after: handler(world, request)


def _status_monitor(provider: str) -> Handler:
    def handle(world: World, request: Request, retry_after: int) -> Response:
        with world.transaction() as state:
            return operations.poll_status(world, state, request, provider, request.params["operation"], retry_after)

    return handle


def _result_monitor(provider: str) -> Handler:
    def handle(world: World, request: Request, retry_after: int) -> Response:
        with world.transaction() as state:
            return operations.poll_result(
                world, state, request, provider, request.params["operation"], retry_after, lambda operation: _final_body(world, state, operation)
            )

    return handle


def _final_body(world: World, state: Dict[str, Any], operation: Dict[str, Any]) -> Any:
    """What a `Location` monitor returns once done: the created migration, nothing otherwise."""
    if operation["action"] != "create":
        return None
    record = state["databaseMigrations"].get(operation["migrationKey"])
    migration = next((m for m in (record or {}).get("operations", []) if m["migrationOperationId"] == operation["migrationOperationId"]), None)
    return None if migration is None else resources.resource(world, migration, expand=False)


ROUTES = (
    _route("GET", SERVICE, "getService", _ignoring_retry_after(migrations.get_service)),
    _route("GET", SERVICE + "/listMigrations", "listMigrations", _ignoring_retry_after(migrations.list_migrations)),
    _route("GET", MIGRATION % TARGET_PROVIDERS, "get", _ignoring_retry_after(migrations.get_migration)),
    _route("PUT", MIGRATION % TARGET_PROVIDERS, "create", migrations.put_migration),
    _route("DELETE", MIGRATION % TARGET_PROVIDERS, "delete", migrations.delete_migration),
    _route("POST", MIGRATION % ONLINE_TARGET_PROVIDERS + "/cutover", "cutover", migrations.post_cutover),
    _route("POST", MIGRATION % TARGET_PROVIDERS + "/cancel", "cancel", migrations.post_cancel),
    _route("GET", MONITOR % (r"Microsoft\.DataMigration", "operationStatuses"), "operationStatus", _status_monitor(migrations.PROVIDER)),
    _route("GET", MONITOR % (r"Microsoft\.DataMigration", "operationResults"), "operationResult", _result_monitor(migrations.PROVIDER)),
    _route("GET", MANAGED_DATABASE, "getManagedDatabase", _ignoring_retry_after(managed_databases.get_managed_database)),
    _route("DELETE", MANAGED_DATABASE, "deleteManagedDatabase", managed_databases.delete_managed_database),
    _route("GET", MONITOR % (r"Microsoft\.Sql", "managedDatabaseAzureAsyncOperation"), "operationStatus", _status_monitor(managed_databases.PROVIDER)),
    _route("GET", MONITOR % (r"Microsoft\.Sql", "managedDatabaseOperationResults"), "operationResult", _result_monitor(managed_databases.PROVIDER)),
)


def match(method: str, path: str) -> Tuple[Optional[Route], Dict[str, str]]:
    for route in ROUTES:
        found = route.pattern.match(path)
        if found and route.method == method:
            return route, {k: unquote(v) for k, v in found.groupdict().items() if v is not None}  # ARM decodes the path
    return None, {}
