"""`Microsoft.DataMigration/databaseMigrations` (SqlMi, SqlDb, SqlVm) and `sqlMigrationServices`.

Each target database keeps the list of its migration operations (`migrationOperationId`), the
latest last: GET without `migrationOperationId` reads the latest, as the specification says.
Reading a migration settles its pending asynchronous operations and moves it one step on
(`progress.tick`). What a request may do, and the ARM errors it gets otherwise, follow the error
list of the specification (`CutoverNotAllowedMigrationCompleteError`, `MigrationNotReadyForCutoverError`,
`MigrationCancelFailed`, `DeleteMigrationNotAllowedMigrationInProgress`, `IntegrationRuntimeIsNotOnline`,
`OperationIdNotFound`, 409 `OperationInProgress`, ...).
"""
from __future__ import annotations

import uuid
from typing import Any, Dict, Optional

from migration_rehearsal.dms_contract_server import operations, progress, resources
from migration_rehearsal.dms_contract_server.arm import DATA_MIGRATION_API_VERSION, ApiError, Request, Response
from migration_rehearsal.world import LRO_FAULT_KIND, STILL_CANCELING_FAULT_KIND, UNLISTED_FAULT_KIND, World

KIND_BY_PROVIDER = {
    "microsoft.sql/managedinstances": "SqlMi",
    "microsoft.sql/servers": "SqlDb",
    "microsoft.sqlvirtualmachine/sqlvirtualmachines": "SqlVm",
}
IN_FLIGHT = ("Creating", "InProgress", "Completing", "Canceling")
DEFAULT_LOCATION = "westeurope"
EXPAND_DETAILS = "migrationstatusdetails"
PROVIDER = "Microsoft.DataMigration"


def get_service(world: World, request: Request) -> Response:
    request.api_version(DATA_MIGRATION_API_VERSION)
    with world.reading() as state:
        service = state["migrationServices"].get(request.path.lower())
        if service is None:
            raise ApiError(404, "ResourceNotFound", "The Resource '%s' was not found." % request.path)
        return Response(200, resources.service_body(service))


def list_migrations(world: World, request: Request) -> Response:
    """Every page but the last carries `nextLink` (`$skiptoken`: where the next page begins) where the service has a
    page size (`World.set_list_page_size`): ARM pages `listMigrations` (`DatabaseMigrationListResult` carries `nextLink`,
    which azure-mgmt-datamigration's `list_migrations` pager follows)."""
    api_version = request.api_version(DATA_MIGRATION_API_VERSION)
    service_id = request.path[: -len("/listMigrations")]
    with world.transaction() as state:
        service = state["migrationServices"].get(service_id.lower())
        if service is None:
            raise ApiError(404, "ResourceNotFound", "The Resource '%s' was not found." % service_id)
        latest = [record["operations"][-1] for record in state["databaseMigrations"].values()
                  if record["operations"][-1]["migrationService"].lower() == service_id.lower()]
        first = int(request.query.get("$skiptoken") or 0)
        size = service.get("listPageSize") or max(len(latest), 1)
        value = [
            resources.resource(world, migration, expand=True)
            for migration in latest[first:first + size]
            if world.take_fault("listMigrations", migration["targetDbName"], kinds=(UNLISTED_FAULT_KIND,)) is None
        ]
        page: Dict[str, Any] = {"value": value}
        if first + size < len(latest):
            page["nextLink"] = request.absolute("%s?api-version=%s&$skiptoken=%d" % (request.path, api_version, first + size))
        return Response(200, page)


def put_migration(world: World, request: Request, retry_after_seconds: int) -> Response:
    api_version = request.api_version(DATA_MIGRATION_API_VERSION)
    properties = _properties(request)
    kind = _kind(request)
    with world.transaction() as state:
        service = _checked_service(state, properties, request)
        record = state["databaseMigrations"].get(_key(request))
        if record is not None and record["operations"][-1]["migrationStatus"] in IN_FLIGHT:
            raise ApiError(409, "OperationInProgress", "Operation in progress on resource already.")
        migration = _new_migration(request, kind, properties, service)
        created = record is None
        if created:
            record = state["databaseMigrations"][_key(request)] = {"resourceId": _resource_id(request), "operations": []}
        record["operations"].append(migration)
        operation = operations.start(
            world,
            state,
            provider=PROVIDER,
            action="create",
            subscription=request.params["subscription"],
            location=service["location"],
            api_version=api_version,
            failure=_lro_failure(world, "create", request),
            migrationKey=_key(request),
            migrationOperationId=migration["migrationOperationId"],
        )
        return operations.accepted(request, operation, 201 if created else 200, resources.resource(world, migration, False), retry_after_seconds)


def get_migration(world: World, request: Request) -> Response:
    request.api_version(DATA_MIGRATION_API_VERSION)
    with world.reading() as state:
        read = _read_alone(world, state, request)
    if read is not None:
        return read
    with world.transaction() as state:
        record = _settled_record(world, state, request, advance=True)
        operation_id = request.query.get("migrationOperationId")
        migration = _operation(record, operation_id) if operation_id else record["operations"][-1]
        expand = request.query.get("$expand", "").lower() == EXPAND_DETAILS
        return Response(200, resources.resource(world, migration, expand))


def _read_alone(world: World, state: Dict[str, Any], request: Request) -> Optional[Response]:
    """GET's answer where reading the migration changes nothing (a migration that ended, or waits for a person): no
    operation pending on its target database, its latest migration neither moving on (`progress.tick`) nor still
    Canceling (`_cancel_step`); else None, for a transaction to settle and move it."""
    key = _key(request)
    record = state["databaseMigrations"].get(key)
    if record is None or operations.pending(state, migrationKey=key):
        return None
    latest = record["operations"][-1]
    if latest["provisioningState"] == "Succeeded" and latest["migrationStatus"] in progress.RUNNING:
        return None
    if latest["migrationStatus"] == "Canceling" and latest.get("stillCanceling"):
        return None
    operation_id = request.query.get("migrationOperationId")
    migration = _operation(record, operation_id) if operation_id else latest
    return Response(200, resources.resource(world, migration, request.query.get("$expand", "").lower() == EXPAND_DETAILS))


def post_cutover(world: World, request: Request, retry_after_seconds: int) -> Response:
    api_version = request.api_version(DATA_MIGRATION_API_VERSION)
    with world.transaction() as state:
        migration = _posted_operation(world, state, request)
        status = migration["migrationStatus"]
        database = migration["targetDbName"]
        if status == "Succeeded":
            raise ApiError(400, "CutoverNotAllowedMigrationCompleteError", "Cutover is not allowed as migration for database '%s' is already complete" % database)
        if status != "Completing" and (
            status != "InProgress" or migration["offline"] or migration["restore"]["full"] not in migration["restore"]["restored"]
        ):
            raise ApiError(400, "MigrationNotReadyForCutoverError", "Database '%s' is not ready for Cutover operation" % database)
        operation = _start(world, state, request, "cutover", migration, api_version)
        return operations.accepted(request, operation, 202, None, retry_after_seconds)


def post_cancel(world: World, request: Request, retry_after_seconds: int) -> Response:
    api_version = request.api_version(DATA_MIGRATION_API_VERSION)
    with world.transaction() as state:
        migration = _posted_operation(world, state, request)
        status = migration["migrationStatus"]
        if status not in ("Creating", "InProgress"):
            if status in ("Completing", "Canceling"):
                raise ApiError(
                    400,
                    "MigrationNotReadyForCancelError",
                    "Migration cannot be canceled as it is not in a cancelable state. Target server:'%s', Target database: '%s'."
                    % (migration["targetServer"], migration["targetDbName"]),
                )
            raise ApiError(
                400,
                "MigrationCancelFailed",
                "Cancel could not be performed on operation '%s' for database '%s'. This can happen if the migration with "
                "MigrationId '%s' is already completed or canceled. Please check the migration for details."
                % (migration["migrationOperationId"], migration["targetDbName"], migration["migrationOperationId"]),
            )
        migration["statusBeforeCancel"] = status
        migration["migrationStatus"] = "Canceling"
        operation = _start(world, state, request, "cancel", migration, api_version)
        return operations.accepted(request, operation, 202, None, retry_after_seconds)


def delete_migration(world: World, request: Request, retry_after_seconds: int) -> Response:
    api_version = request.api_version(DATA_MIGRATION_API_VERSION)
    with world.transaction() as state:
        record = state["databaseMigrations"].get(_key(request))
        if record is None:
            return Response(204)
        operations.settle_pending(world, state, migrationKey=_key(request))
        latest = record["operations"][-1]
        blocked = {
            "Completing": "DeleteMigrationNotAllowedCutoverInProgress",
            "Canceling": "DeleteMigrationNotAllowedCancelInProgress",
        }.get(latest["migrationStatus"])
        if blocked:
            raise ApiError(400, blocked, "Database migration to the target resource '%s' is busy: wait until it is done" % _resource_id(request))
        if latest["migrationStatus"] in IN_FLIGHT and not request.flag("force"):
            raise ApiError(
                400,
                "DeleteMigrationNotAllowedMigrationInProgress",
                "Database migration to the target resource '%s' is currently in progress. To delete the migration, please wait "
                "until the migration has completed or cancel the migration manually, and then retry deleting the migration. "
                "Alternatively, use the force delete option to cancel ongoing operations and delete" % _resource_id(request),
            )
        operation = _start(world, state, request, "delete", latest, api_version)
        return operations.accepted(request, operation, 202, None, retry_after_seconds)


@operations.effect("create")
def _provisioned(world: World, state: Dict[str, Any], operation: Dict[str, Any], failure: Optional[Dict[str, str]]) -> Optional[Dict[str, str]]:
    migration = _migration_of(state, operation)
    error = failure or _provisioning_error(world, migration)
    if error:
        migration.update(provisioningState="Failed", provisioningError=error["message"])
        progress.fail(world, migration, error["code"], error["message"])
        return error
    migration.update(provisioningState="Succeeded", migrationStatus="InProgress", startedOn=world.now())
    migration["migrationState"] = "MonitorMigration" if migration["kind"] == "SqlDb" else "WaitForFullBackupUploadOperation"
    return None


@operations.effect("cutover")
def _cut_over(world: World, state: Dict[str, Any], operation: Dict[str, Any], failure: Optional[Dict[str, str]]) -> Optional[Dict[str, str]]:
    migration = _migration_of(state, operation)
    if migration["migrationStatus"] == "Completing":
        return failure
    if failure or migration["migrationStatus"] != "InProgress":
        details = (failure or {}).get("message") or "the migration is %s" % migration["migrationStatus"]
        return {
            "code": "CutoverFailedOrCancelled",
            "message": "Cutover failed or cancelled for database '%s'. Error details: '%s'" % (migration["targetDbName"], details),
        }
    migration["migrationStatus"] = "Completing"
    migration["migrationState"] = "Completing"
    migration["cutoverSequence"] = state["sequence"]
    return None


@operations.effect("cancel")
def _canceled(world: World, state: Dict[str, Any], operation: Dict[str, Any], failure: Optional[Dict[str, str]]) -> Optional[Dict[str, str]]:
    migration = _migration_of(state, operation)
    if failure:
        migration["migrationStatus"] = migration.pop("statusBeforeCancel")
        return {"code": "CancelMigrationFailed", "message": failure["message"]}
    if world.has_fault("cancel", migration["targetDbName"], kinds=(STILL_CANCELING_FAULT_KIND,)):
        migration["stillCanceling"] = True  # the operation ended; the migration stays Canceling (`_cancel_step`)
        return None
    _end_canceled(world, migration)
    return None


def _cancel_step(world: World, migration: Dict[str, Any]) -> None:
    """A read of a migration whose cancel operation ended while it stays Canceling (a `stillCanceling` fault): the
    PowerShell examples read `Canceling` right after Stop-AzDataMigrationTo* returned. Each read spends one use of
    the fault; the read after the last finds it Canceled."""
    if migration["migrationStatus"] != "Canceling" or not migration.get("stillCanceling"):
        return
    if world.take_fault("cancel", migration["targetDbName"], kinds=(STILL_CANCELING_FAULT_KIND,)) is None:
        migration.pop("stillCanceling")
        _end_canceled(world, migration)


def _end_canceled(world: World, migration: Dict[str, Any]) -> None:
    migration.update(migrationStatus="Canceled", migrationState="Canceled", endedOn=world.now())


@operations.effect("delete")
def _deleted(world: World, state: Dict[str, Any], operation: Dict[str, Any], failure: Optional[Dict[str, str]]) -> Optional[Dict[str, str]]:
    if failure:
        return failure
    state["databaseMigrations"].pop(operation["migrationKey"], None)
    return None


def _new_migration(request: Request, kind: str, properties: Dict[str, Any], service: Dict[str, Any]) -> Dict[str, Any]:
    source = properties.get("sourceSqlConnection") or {}
    offline = properties.get("offlineConfiguration") or {}
    migration = {
        "migrationOperationId": str(uuid.uuid4()),
        "kind": kind,
        "scope": properties["scope"],
        "resourceId": _resource_id(request),
        "targetServer": request.params["server"],
        "targetDbName": request.params["database"],
        "migrationService": service["id"],
        "sourceDatabaseName": properties["sourceDatabaseName"],
        "dataSource": source["dataSource"],
        "sourceTrustServerCertificate": source.get("trustServerCertificate") is True,
        "targetTrustServerCertificate": (properties.get("targetSqlConnection") or {}).get("trustServerCertificate") is True,
        "sourceServer": None,
        # Read-only "Name of the source sql server": here the request's dataSource until the migration is
        # validated, then the server's own name, whatever alias the dataSource used: the worse case for a
        # plan reaching its source by an alias (the spec's examples answer "sourceserver" to dataSource
        # "aaa"; Azure PowerShell's recorded SqlDb sessions, 2022-03-30-preview, answer the dataSource itself,
        # source_server_names; SqlMi and SqlVm are recorded with none).
        "sourceServerName": source["dataSource"],
        "offline": True if kind == "SqlDb" else bool(offline.get("offline", False)),
        "lastBackupName": offline.get("lastBackupName"),
        "tableList": properties.get("tableList"),
        "targetDatabaseCollation": properties.get("targetDatabaseCollation"),
        "provisioningState": "Provisioning",
        "migrationStatus": "Creating",
        "migrationState": None,
        "restore": {"full": None, "current": None, "restored": [], "restoredLsn": None, "blockingReason": None},
        "copy": {"tables": None, "progress": {}, "errors": []},
    }
    if kind != "SqlDb":
        migration["fileSharePath"] = properties["backupConfiguration"]["sourceLocation"]["fileShare"]["path"]
    return migration


def _provisioning_error(world: World, migration: Dict[str, Any]) -> Optional[Dict[str, str]]:
    """What DMS finds when it validates a new migration against the world."""
    source = world.server(migration["dataSource"])
    if source is None or world.database(source["name"], migration["sourceDatabaseName"]) is None:
        return {
            "code": "TestConnectionFailed",
            "message": "Failed to test connections using provided Integration Runtime. Error details: 'Cannot open database "
            "\"%s\" on %s'" % (migration["sourceDatabaseName"], migration["dataSource"]),
        }
    if world.has_self_signed_certificate(source["name"]) and not migration.get("sourceTrustServerCertificate"):
        return _certificate_refused(migration["dataSource"])
    migration["sourceServer"] = migration["sourceServerName"] = source["name"]
    target_server = world.server(migration["targetServer"])
    if target_server is None or target_server["kind"] != migration["kind"]:
        return {"code": "ResourceNotFound", "message": "Target %s %s was not found" % (migration["kind"], migration["targetServer"])}
    if (migration["kind"] == "SqlDb" and world.has_self_signed_certificate(target_server["name"])
            and not migration.get("targetTrustServerCertificate")):
        return _certificate_refused(migration["targetServer"])
    existing = world.database(migration["targetServer"], migration["targetDbName"])
    if migration["kind"] == "SqlDb" and existing is None:
        return {"code": "TestConnectionFailed", "message": "Target database '%s' does not exist" % migration["targetDbName"]}
    if migration["kind"] != "SqlDb" and existing is not None:
        return {
            "code": "GenericUser",
            "message": "Database '%s' already exists on %s: DMS restores into a new database only"
            % (migration["targetDbName"], migration["targetServer"]),
        }
    return None


def _certificate_refused(server: str) -> Dict[str, str]:
    """A server whose certificate no CA signed, met with `trustServerCertificate` false: SqlClient's words. Whether real
    DMS refuses it so, in the create's validation, or only in the first status read, is unverified (the specification
    lists `TestConnectionFailed` among the create's errors)."""
    return {
        "code": "TestConnectionFailed",
        "message": "Failed to test connections using provided Integration Runtime. Error details: 'A connection was "
        "successfully established with the server, but then an error occurred during the login process. (provider: SSL "
        "Provider, error: 0 - The certificate chain was issued by an authority that is not trusted.) Server: %s'" % server,
    }


def _properties(request: Request) -> Dict[str, Any]:
    body = request.body
    if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
        raise ApiError(400, "EmptyRequiredRequestBody", "The request body must not be empty.")
    properties = body["properties"]
    kind = _kind(request)
    if properties.get("kind") != kind:
        _invalid("kind", "%r (a %s target takes kind %s)" % (properties.get("kind"), request.params["provider"], kind))
    if _scope_key(properties.get("scope") or "") != _scope_key(request.params["scope"]):
        _invalid("scope", "%r: it must be the target %s" % (properties.get("scope"), request.params["scope"]))
    for name in ("sourceDatabaseName", "migrationService"):
        if not properties.get(name):
            _invalid(name, "missing")
    if not (properties.get("sourceSqlConnection") or {}).get("dataSource"):
        _invalid("sourceSqlConnection.dataSource", "missing")
    if kind == "SqlDb":
        if not (properties.get("targetSqlConnection") or {}).get("dataSource"):
            _invalid("targetSqlConnection.dataSource", "missing")
    else:
        backup = properties.get("backupConfiguration") or {}
        location = backup.get("sourceLocation") or {}
        if location.get("azureBlob"):
            _invalid("backupConfiguration.sourceLocation.azureBlob", "the contract server models file-share backups only")
        if not (location.get("fileShare") or {}).get("path"):
            _invalid("backupConfiguration.sourceLocation.fileShare.path", "missing")
        # The runtime uploads file-share backups to this account with its key: TargetLocation has
        # no managed identity (only sourceLocation.azureBlob has authType/identity).
        for name in ("storageAccountResourceId", "accountKey"):
            if not (backup.get("targetLocation") or {}).get(name):
                _invalid("backupConfiguration.targetLocation.%s" % name, "missing: file-share backups are uploaded to that account with its key")
    return properties


def _checked_service(state: Dict[str, Any], properties: Dict[str, Any], request: Request) -> Dict[str, Any]:
    service = state["migrationServices"].get(properties["migrationService"].lower())
    if service is None:
        _invalid("migrationService", "%s was not found" % properties["migrationService"])
    if service["integrationRuntimeState"] != "Online":
        raise ApiError(
            400,
            "IntegrationRuntimeIsNotOnline",
            "Integration Runtime '%s' is not online for resource group '%s' subscription '%s'"
            % (service["name"], request.params["resourceGroup"], request.params["subscription"]),
        )
    return service


def _settled_record(world: World, state: Dict[str, Any], request: Request, advance: bool = False) -> Dict[str, Any]:
    """The target database's migrations after their pending operations settled; `advance` (a
    read) also moves the latest one a step on."""
    key = _key(request)
    if key in state["databaseMigrations"]:
        operations.settle_pending(world, state, migrationKey=key)
    record = state["databaseMigrations"].get(key)
    if record is None:
        raise ApiError(404, "ResourceNotFound", "The Resource '%s' was not found." % _resource_id(request))
    if advance:
        _cancel_step(world, record["operations"][-1])
        progress.tick(world, record["operations"][-1])
    return record


def _start(world: World, state: Dict[str, Any], request: Request, action: str, migration: Dict[str, Any], api_version: str) -> Dict[str, Any]:
    service = state["migrationServices"].get(migration["migrationService"].lower()) or {}
    return operations.start(
        world,
        state,
        provider=PROVIDER,
        action=action,
        subscription=request.params["subscription"],
        location=service.get("location", DEFAULT_LOCATION),
        api_version=api_version,
        failure=_lro_failure(world, action, request),
        migrationKey=_key(request),
        migrationOperationId=migration["migrationOperationId"],
    )


def _lro_failure(world: World, action: str, request: Request) -> Optional[Dict[str, str]]:
    fault = world.take_fault(action, request.params["database"], kinds=(LRO_FAULT_KIND,))
    if fault is None:
        return None
    return {"code": fault.get("code", "InternalServerError"), "message": fault.get("message", "Simulated %s failure" % action)}


def _operation(record: Dict[str, Any], operation_id: str) -> Dict[str, Any]:
    for migration in record["operations"]:
        if migration["migrationOperationId"].lower() == operation_id.lower():
            return migration
    raise ApiError(400, "OperationIdNotFound", "Operation ID '%s' not found." % operation_id)


def _posted_operation(world: World, state: Dict[str, Any], request: Request) -> Dict[str, Any]:
    """The migration operation a cutover or cancel body names (`MigrationOperationInput`)."""
    return _operation(_settled_record(world, state, request), _operation_id_input(request))


def _operation_id_input(request: Request) -> str:
    body = request.body if isinstance(request.body, dict) else {}
    operation_id = body.get("migrationOperationId")
    if not operation_id:
        _invalid("migrationOperationId", "missing")
    return operation_id


def _migration_of(state: Dict[str, Any], operation: Dict[str, Any]) -> Dict[str, Any]:
    record = state["databaseMigrations"][operation["migrationKey"]]
    return next(m for m in record["operations"] if m["migrationOperationId"] == operation["migrationOperationId"])


def _kind(request: Request) -> str:
    return KIND_BY_PROVIDER[request.params["provider"].lower()]


def _key(request: Request) -> str:
    return "%s/%s" % (_scope_key(request.params["scope"]), request.params["database"].lower())


def _scope_key(scope: str) -> str:
    return "/" + scope.strip("/").lower()


def _resource_id(request: Request) -> str:
    return "%s/providers/Microsoft.DataMigration/databaseMigrations/%s" % (request.params["scope"], request.params["database"])


def _invalid(parameter: str, problem: str) -> None:
    raise ApiError(400, "InvalidParameterValue", "An invalid value was provided for parameter '%s': %s." % (parameter, problem))
