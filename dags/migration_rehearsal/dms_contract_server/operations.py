"""ARM asynchronous operations: `Azure-AsyncOperation` status and `Location` result monitors.

An accepted PUT, POST or DELETE answers with both headers and `Retry-After`. Its operation reports
`InProgress` on the first status poll and settles on the next one, or as soon as the resource it
changes is read (time passes for DMS whether or not the client polls). Settling applies the
operation's effect, registered per action by the module that owns the resource; an `lroFailed`
fault (or the effect itself) makes it end `Failed` with an ARM error.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from migration_rehearsal.dms_contract_server.arm import ApiError, Request, Response, new_id
from migration_rehearsal.world import World

TERMINAL = ("Succeeded", "Failed", "Canceled")

# action -> effect(world, state, operation, failure) -> the error to report, or None when it succeeded
Effect = Callable[[World, Dict[str, Any], Dict[str, Any], Optional[Dict[str, str]]], Optional[Dict[str, str]]]
EFFECTS: Dict[str, Effect] = {}

MONITORS = {
    # provider: (status collection, result collection)
    "Microsoft.DataMigration": ("operationStatuses", "operationResults"),
    "Microsoft.Sql": ("managedDatabaseAzureAsyncOperation", "managedDatabaseOperationResults"),
}


def effect(action: str) -> Callable[[Effect], Effect]:
    def register(function: Effect) -> Effect:
        EFFECTS[action] = function
        return function

    return register


def start(
    world: World,
    state: Dict[str, Any],
    *,
    provider: str,
    action: str,
    subscription: str,
    location: str,
    api_version: str,
    failure: Optional[Dict[str, str]] = None,
    **subject: Any,
) -> Dict[str, Any]:
    """Record an accepted operation; `subject` names what it changes (migrationKey, ...)."""
    operation = {
        "id": new_id(),
        "provider": provider,
        "action": action,
        "subscription": subscription,
        "location": location,
        "apiVersion": api_version,
        "status": "InProgress",
        "pollsBeforeDone": 1,
        "failure": failure,
        "error": None,
        "startTime": world.now(),
        "endTime": None,
    }
    operation.update(subject)
    state["asyncOperations"][operation["id"]] = operation
    return operation


def accepted(request: Request, operation: Dict[str, Any], status: int, body: Any, retry_after_seconds: int) -> Response:
    status_path, result_path = _paths(operation)
    return Response(
        status,
        body,
        {
            "Azure-AsyncOperation": request.absolute(status_path),
            "Location": request.absolute(result_path),
            "Retry-After": str(retry_after_seconds),
        },
    )


def settle(world: World, state: Dict[str, Any], operation: Dict[str, Any]) -> None:
    if operation["status"] in TERMINAL:
        return
    error = EFFECTS[operation["action"]](world, state, operation, operation["failure"])
    operation["status"] = "Failed" if error else "Succeeded"
    operation["error"] = error
    operation["endTime"] = world.now()


def settle_pending(world: World, state: Dict[str, Any], **subject: Any) -> None:
    """Settle, in the order they started, the operations still running on a resource."""
    for operation in pending(state, **subject):
        settle(world, state, operation)


def pending(state: Dict[str, Any], **subject: Any) -> List[Dict[str, Any]]:
    return [
        operation
        for operation in state["asyncOperations"].values()
        if operation["status"] not in TERMINAL and all(operation.get(k) == v for k, v in subject.items())
    ]


def poll_status(world: World, state: Dict[str, Any], request: Request, provider: str, operation_id: str, retry_after_seconds: int) -> Response:
    operation = _find(state, provider, operation_id)
    _advance(world, state, operation)
    body = {"id": _paths(operation)[0].split("?")[0], "name": operation["id"], "status": operation["status"], "startTime": operation["startTime"]}
    if operation["endTime"]:
        body["endTime"] = operation["endTime"]
    if operation["error"]:
        body["error"] = operation["error"]
    headers = {} if operation["status"] in TERMINAL else {"Retry-After": str(retry_after_seconds)}
    return Response(200, body, headers)


def poll_result(
    world: World,
    state: Dict[str, Any],
    request: Request,
    provider: str,
    operation_id: str,
    retry_after_seconds: int,
    final_body: Callable[[Dict[str, Any]], Any],
) -> Response:
    """The `Location` monitor: 202 while running, then the final result (or the error)."""
    operation = _find(state, provider, operation_id)
    _advance(world, state, operation)
    if operation["status"] == "InProgress":
        return Response(202, None, {"Location": request.absolute(_paths(operation)[1]), "Retry-After": str(retry_after_seconds)})
    if operation["status"] == "Failed":
        error = operation["error"]
        raise ApiError(400, error["code"], error["message"])
    body = final_body(operation)
    return Response(204) if body is None else Response(200, body)


def _advance(world: World, state: Dict[str, Any], operation: Dict[str, Any]) -> None:
    if operation["status"] in TERMINAL:
        return
    if operation["pollsBeforeDone"] > 0:
        operation["pollsBeforeDone"] -= 1
        return
    settle(world, state, operation)


def _find(state: Dict[str, Any], provider: str, operation_id: str) -> Dict[str, Any]:
    operation = state["asyncOperations"].get(operation_id)
    if operation is None or operation["provider"] != provider:
        raise ApiError(404, "ResourceNotFound", "The operation '%s' was not found." % operation_id)
    return operation


def _paths(operation: Dict[str, Any]):
    status_collection, result_collection = MONITORS[operation["provider"]]
    prefix = "/subscriptions/%s/providers/%s/locations/%s/" % (operation["subscription"], operation["provider"], operation["location"])
    suffix = "/%s?api-version=%s" % (operation["id"], operation["apiVersion"])
    return prefix + status_collection + suffix, prefix + result_collection + suffix
