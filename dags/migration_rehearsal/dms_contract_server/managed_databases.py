"""`Microsoft.Sql/managedInstances/{mi}/databases/{db}`: the GET and DELETE a rollback uses.

Shapes from Azure/azure-rest-api-specs `specification/sql/resource-manager/Microsoft.Sql/stable/
2023-08-01/examples/ManagedDatabaseGet.json` and `ManagedDatabaseDelete.json` (200, 202, 204).
DELETE is asynchronous: the database disappears from the world when its operation settles. Azure
deletes a database whatever its state, RESTORING or ONLINE, and so does this server: deciding
what may be deleted is the caller's job.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from migration_rehearsal.dms_contract_server import operations
from migration_rehearsal.dms_contract_server.arm import SQL_API_VERSIONS, ApiError, Request, Response
from migration_rehearsal.world import LRO_FAULT_KIND, World

PROVIDER = "Microsoft.Sql"
STATUS_BY_STATE = {"ONLINE": "Online", "RESTORING": "Restoring", "OFFLINE": "Offline"}
LOCATION = "westeurope"


def get_managed_database(world: World, request: Request) -> Response:
    request.api_version(*SQL_API_VERSIONS)
    with world.transaction() as state:
        operations.settle_pending(world, state, **_subject(request))
        database = _database(world, request)
        if database is None:
            raise ApiError(404, "ResourceNotFound", "The requested resource of type 'Microsoft.Sql/managedInstances/databases' with name '%s' was not found." % request.params["database"])
        return Response(200, _body(request, database))


def delete_managed_database(world: World, request: Request, retry_after_seconds: int) -> Response:
    api_version = request.api_version(*SQL_API_VERSIONS)
    with world.transaction() as state:
        operations.settle_pending(world, state, **_subject(request))
        if _database(world, request) is None:
            return Response(204)
        fault = world.take_fault("deleteManagedDatabase", request.params["database"], kinds=(LRO_FAULT_KIND,))
        failure = None if fault is None else {"code": fault.get("code", "InternalServerError"), "message": fault.get("message", "Simulated delete failure")}
        operation = operations.start(
            world,
            state,
            provider=PROVIDER,
            action="deleteManagedDatabase",
            subscription=request.params["subscription"],
            location=LOCATION,
            api_version=api_version,
            failure=failure,
            **_subject(request),
        )
        return operations.accepted(request, operation, 202, None, retry_after_seconds)


@operations.effect("deleteManagedDatabase")
def _deleted(world: World, state: Dict[str, Any], operation: Dict[str, Any], failure: Optional[Dict[str, str]]) -> Optional[Dict[str, str]]:
    if failure:
        return failure
    world.drop_database(operation["managedInstance"], operation["managedDatabase"])
    return None


def _database(world: World, request: Request) -> Optional[Dict[str, Any]]:
    server = world.server(request.params["server"])
    if server is None or server["kind"] != "SqlMi":
        raise ApiError(404, "ParentResourceNotFound", "Can not perform requested operation on nested resource. Parent resource '%s' not found." % request.params["server"])
    return world.database(server["name"], request.params["database"])


def _subject(request: Request) -> Dict[str, str]:
    return {"managedInstance": request.params["server"].lower(), "managedDatabase": request.params["database"].lower()}


def _body(request: Request, database: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "id": request.path,
        "name": database["name"],
        "type": "Microsoft.Sql/managedInstances/databases",
        "location": LOCATION,
        "properties": {
            "collation": "SQL_Latin1_General_CP1_CI_AS",
            "status": STATUS_BY_STATE[database["state"]],
            "defaultSecondaryLocation": "northeurope",
        },
    }
