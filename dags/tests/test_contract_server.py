"""The DMS contract server over raw HTTP: its answers against Microsoft's recorded examples and the
2025-06-30 specification, and how migrations move as the world moves.

The specification is read through azure-mgmt-datamigration 10.1.0's models, generated from it:
a body survives their deserialize/serialize round trip with every key only if every name is in
the specification and every value has its type. That part needs the SDK (Python >= 3.9).
"""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from typing import Any, Dict, Optional, Set

import pytest
import requests

from dms_world_support import (
    KINDS,
    ONLINE_KINDS,
    SERVICE_ID,
    SOURCE_DATABASE,
    SOURCE_SERVER,
    SUBSCRIPTION,
    TARGET_SERVERS,
    back_up,
    create_body,
    migration_path,
    recorded,
    scope,
    seed,
    server,  # noqa: F401 (fixture)
    write,
)
from migration_rehearsal.world import World


API = {"api-version": "2025-06-30"}
AUTH = {"Authorization": "Bearer test-token"}
EXPAND = dict(API, **{"$expand": "MigrationStatusDetails"})
# The values sqlmigration.json (2025-06-30) documents for a backup file's status (SqlBackupFileInfo).
BACKUP_FILE_STATUSES = {"Initial", "Uploading", "Uploaded", "Restoring", "Restored", "Skipped"}
MONITOR = re.compile(r"^http://[^/]+/subscriptions/%s/providers/Microsoft\.DataMigration/locations/northeurope/operation(Statuses|Results)/[0-9a-f-]{36}\?api-version=2025-06-30$" % SUBSCRIPTION)


def call(server, method: str, path: str, body: Any = None, params: Optional[Dict[str, str]] = None, headers=AUTH) -> requests.Response:
    return requests.request(method, server.base_url + path, json=body, params=API if params is None else params, headers=headers, timeout=10)


def create(server, kind: str, **options: Any) -> Dict[str, Any]:
    response = call(server, "PUT", migration_path(kind), create_body(kind, **options))
    assert response.status_code == 201, response.text
    return response.json()


def settle(server, response: requests.Response) -> Dict[str, Any]:
    """Poll an accepted operation's Azure-AsyncOperation monitor until it ends."""
    for _ in range(5):
        status = requests.get(response.headers["Azure-AsyncOperation"], headers=AUTH, timeout=10).json()
        if status["status"] != "InProgress":
            return status
    raise AssertionError("the operation never ended: %s" % status)


def get(server, kind: str, **params: str) -> Dict[str, Any]:
    response = call(server, "GET", migration_path(kind), params=dict(EXPAND, **params))
    assert response.status_code == 200, response.text
    return response.json()["properties"]


def started(server, kind: str, **options: Any) -> str:
    """A created and provisioned migration's operation id."""
    response = call(server, "PUT", migration_path(kind), create_body(kind, **options))
    assert settle(server, response)["status"] == "Succeeded"
    return response.json()["properties"]["migrationOperationId"]


def details(server, kind: str) -> Dict[str, Any]:
    return get(server, kind)["migrationStatusDetails"]


def key_paths(value: Any, prefix: str = "") -> Set[str]:
    if isinstance(value, dict):
        return set().union(*[key_paths(child, "%s.%s" % (prefix, key) if prefix else key) for key, child in value.items()]) or {prefix}
    if isinstance(value, list) and value:
        return set().union(*[key_paths(item, prefix + "[]") for item in value])
    return {prefix}


def spec_round_trip(model_name: str, body: Dict[str, Any]) -> Dict[str, Any]:
    models = pytest.importorskip("azure.mgmt.datamigration.models", reason="the spec's models come with the SDK (Python >= 3.9)")
    return getattr(models, model_name).deserialize(body).serialize(keep_readonly=True)


# -- shapes: the recorded examples and the specification ---------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_create_answers_the_recorded_shape_with_an_async_operation(server, kind):
    response = call(server, "PUT", migration_path(kind), create_body(kind))

    assert response.status_code == 201
    assert MONITOR.match(response.headers["Azure-AsyncOperation"])
    assert MONITOR.match(response.headers["Location"])
    assert response.headers["Retry-After"] == "0"
    body = response.json()
    recorded_body = recorded("%sCreateOrUpdateDatabaseMigrationMAX.json" % kind)["responses"]["201"]["body"]
    # recorded while InProgress yet with endedOn; here endedOn comes when the migration ends
    assert key_paths(recorded_body) - key_paths(body) == {"properties.endedOn", "properties.startedOn", "properties.offlineConfiguration.lastBackupName"} - (
        {"properties.offlineConfiguration.lastBackupName"} if kind == "SqlDb" else set()
    )
    assert (body["properties"]["provisioningState"], body["properties"]["migrationStatus"]) == ("Provisioning", "Creating")
    assert body["id"] == migration_path(kind) and body["type"] == "Microsoft.DataMigration/databaseMigrations"
    assert "password" not in response.text and "accountKey" not in response.text


@pytest.mark.parametrize(
    "kind, recording",
    [
        ("SqlMi", "SqlMiGetDatabaseMigrationExpanded.json"),
        ("SqlDb", "SqlDbGetDatabaseMigrationExpanded.json"),
        ("SqlVm", "SqlVmGetDatabaseMigration.json"),
    ],
)
def test_get_answers_the_recorded_shape(server, kind, recording):
    started(server, kind)
    expand = "Expanded" in recording
    body = call(server, "GET", migration_path(kind), params=EXPAND if expand else API).json()
    recorded_body = recorded(recording)["responses"]["200"]["body"]
    missing = key_paths(recorded_body) - key_paths(body)
    # recorded: endedOn while running, and sqlDataCopyErrors [""] (here [] without errors)
    assert missing <= {"properties.endedOn", "properties.migrationStatusDetails.sqlDataCopyErrors[]"}, missing
    if not expand:
        assert "migrationStatusDetails" not in body["properties"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_body_is_in_the_specification(server, kind):
    model = {"SqlMi": "DatabaseMigrationSqlMi", "SqlDb": "DatabaseMigrationSqlDb", "SqlVm": "DatabaseMigrationSqlVm"}[kind]
    back_up(server.world, "FULL", "Sales_full.bak")
    created = create(server, kind)
    operation_id = created["properties"]["migrationOperationId"]
    back_up(server.world, "LOG", "Sales_1.trn")
    bodies = [created]
    for _ in range(4):
        bodies.append(call(server, "GET", migration_path(kind), params=EXPAND).json())
    if kind in ONLINE_KINDS:
        settle(server, call(server, "POST", migration_path(kind) + "/cutover", {"migrationOperationId": operation_id}))
        bodies += [call(server, "GET", migration_path(kind), params=EXPAND).json() for _ in range(2)]
    assert bodies[-1]["properties"]["migrationStatus"] == "Succeeded"
    for body in bodies:
        assert key_paths(spec_round_trip(model, body)) == key_paths(body)
    listed = call(server, "GET", SERVICE_ID + "/listMigrations").json()
    assert key_paths(spec_round_trip("DatabaseMigrationListResult", listed)) == key_paths(listed)


def rehearsal_clock(server, now: str) -> None:
    """The world's directory gets a rehearsal's simulated clock, written as the DAG's rehearsal writes it, at `now`."""
    from migration_orchestration_lib.rehearsal_cutover import CLOCK_FILE, SimulatedClock

    SimulatedClock(server.world.directory, {}, {})
    path = "%s/%s" % (server.world.directory, CLOCK_FILE)
    with open(path) as handle:
        state = json.load(handle)
    with open(path, "w") as handle:
        json.dump(dict(state, now=now), handle)


@pytest.mark.parametrize("kind", KINDS)
def test_a_migration_starts_and_ends_at_the_rehearsal_clock_s_time(server, kind):
    """In a rehearsal the DAG's clock is simulated (it jumps to the next window, tests move it): DMS stamps `startedOn`
    and `endedOn` (date-times, read-only: DatabaseMigrationBaseProperties) by that clock, so that an overrun measured
    from `endedOn` is the rehearsal's; before, they were the real time, days away from the simulated one."""
    rehearsal_clock(server, "2026-12-05T21:00:00Z")
    back_up(server.world, "FULL", "Sales_full.bak")
    operation_id = started(server, kind)
    back_up(server.world, "LOG", "Sales_1.trn")
    rehearsal_clock(server, "2026-12-05T21:40:00Z")
    bodies = [call(server, "GET", migration_path(kind), params=EXPAND).json() for _ in range(4)]
    if kind in ONLINE_KINDS:
        settle(server, call(server, "POST", migration_path(kind) + "/cutover", {"migrationOperationId": operation_id}))
        bodies += [call(server, "GET", migration_path(kind), params=EXPAND).json() for _ in range(2)]
    running, ended = bodies[0]["properties"], bodies[-1]["properties"]

    assert ended["migrationStatus"] == "Succeeded"
    assert (running["startedOn"], "endedOn" in running) == ("2026-12-05T21:00:00.000000Z", False)
    assert (ended["startedOn"], ended["endedOn"]) == ("2026-12-05T21:00:00.000000Z", "2026-12-05T21:40:00.000000Z")
    [listed] = call(server, "GET", SERVICE_ID + "/listMigrations").json()["value"]
    assert listed["properties"]["endedOn"] == "2026-12-05T21:40:00.000000Z"
    if kind == "SqlDb":
        assert {p["copyStart"] for p in ended["migrationStatusDetails"]["listOfCopyProgressDetails"]} == {"2026-12-05T21:40:00.000000Z"}
    model = {"SqlMi": "DatabaseMigrationSqlMi", "SqlDb": "DatabaseMigrationSqlDb", "SqlVm": "DatabaseMigrationSqlVm"}[kind]
    assert spec_round_trip(model, bodies[-1])["properties"]["endedOn"] == "2026-12-05T21:40:00.000Z"  # a date-time to the spec


def test_a_canceled_or_failed_migration_ends_at_the_rehearsal_clock_s_time(server):
    rehearsal_clock(server, "2026-12-05T21:00:00Z")
    operation_id = started(server, "SqlMi")
    rehearsal_clock(server, "2026-12-05T21:50:00Z")
    settle(server, call(server, "POST", migration_path("SqlMi") + "/cancel", {"migrationOperationId": operation_id}))
    canceled = get(server, "SqlMi")
    assert (canceled["migrationStatus"], canceled["endedOn"]) == ("Canceled", "2026-12-05T21:50:00.000000Z")

    started(server, "SqlVm")
    rehearsal_clock(server, "2026-12-05T22:10:00Z")
    server.world.add_fault("migrate", "migrationFailed", database=SOURCE_DATABASE, code="RestoreFailed", message="disk full")
    failed = get(server, "SqlVm")
    assert (failed["migrationStatus"], failed["endedOn"]) == ("Failed", "2026-12-05T22:10:00.000000Z")


def test_a_backup_and_a_long_running_operation_are_stamped_by_the_rehearsal_clock(server):
    """The share's backups (`createdAt`: msdb's `backup_finish_date`) and ARM's long-running operations (`startTime`,
    `endTime` of the Azure-AsyncOperation status) keep the world's time too, not the real one days away from it."""
    rehearsal_clock(server, "2026-12-05T21:00:00Z")
    back_up(server.world, "FULL", "Sales_full.bak")
    response = call(server, "PUT", migration_path("SqlMi"), create_body("SqlMi"))
    rehearsal_clock(server, "2026-12-05T21:05:00Z")
    status = settle(server, response)

    [backup] = server.world.backups(SOURCE_SERVER, SOURCE_DATABASE)
    assert backup["createdAt"] == "2026-12-05T21:00:00.000000Z"
    assert (status["status"], status["startTime"], status["endTime"]) == (
        "Succeeded", "2026-12-05T21:00:00.000000Z", "2026-12-05T21:05:00.000000Z")


def test_without_a_rehearsal_clock_a_migration_starts_at_the_real_time(server):
    before = datetime.now(timezone.utc)
    started(server, "SqlMi")
    assert before <= datetime.fromisoformat(get(server, "SqlMi")["startedOn"].replace("Z", "+00:00")) <= datetime.now(timezone.utc)


def test_the_migration_service_has_the_recorded_shape(server):
    body = call(server, "GET", SERVICE_ID).json()
    recorded_body = recorded("GetSqlMigrationService.json")["responses"]["200"]["body"]
    assert key_paths(dict(body, tags=None)) == key_paths(dict(recorded_body, tags=None))
    assert body["properties"]["integrationRuntimeState"] == "Online"
    assert key_paths(spec_round_trip("SqlMigrationService", body)) == key_paths(body)


def test_list_migrations_has_the_recorded_shape(server):
    started(server, "SqlMi")
    body = call(server, "GET", SERVICE_ID + "/listMigrations").json()
    item = recorded("ListMigrationsBySqlMigrationService.json")["responses"]["200"]["body"]["value"][0]
    assert key_paths(item) - key_paths(body["value"][0]) == {"properties.endedOn", "properties.startedOn"} - key_paths(body["value"][0])
    assert [m["name"] for m in body["value"]] == [SOURCE_DATABASE]


@pytest.mark.parametrize("kind, action, recording", [("SqlMi", "cutover", "SqlMiCutoverDatabaseMigration.json"), ("SqlDb", "cancel", "SqlDbCancelDatabaseMigration.json")])
def test_cutover_and_cancel_take_the_recorded_body_and_answer_202_with_a_monitor(server, kind, action, recording):
    back_up(server.world, "FULL", "Sales_full.bak")
    operation_id = started(server, kind)
    if kind in ONLINE_KINDS:
        get(server, kind), get(server, kind)  # the full backup restored
    body = recorded(recording)["parameters"]["parameters"]
    assert set(body) == {"migrationOperationId"}

    response = call(server, "POST", migration_path(kind) + "/" + action, {"migrationOperationId": operation_id})

    assert response.status_code == 202 and response.content == b""
    recorded_monitor = recorded(recording)["responses"]["202"]["headers"]["azure-asyncoperation"]
    assert response.headers["Azure-AsyncOperation"].split("/subscriptions/")[1].split("/operationStatuses/")[0] == (
        recorded_monitor.split("/subscriptions/")[1].split("/operationStatuses/")[0].replace("japaneast", "northeurope")
    )
    assert settle(server, response)["status"] == "Succeeded"
    assert requests.get(response.headers["Location"], headers=AUTH, timeout=10).status_code == 204


def test_managed_databases_answer_the_recorded_shape(server):
    back_up(server.world, "FULL", "Sales_full.bak")
    started(server, "SqlMi")
    get(server, "SqlMi")
    path = "/subscriptions/%s/resourceGroups/testrg/providers/Microsoft.Sql/managedInstances/mi1/databases/Sales" % SUBSCRIPTION
    sql_api = {"api-version": "2023-08-01"}
    body = call(server, "GET", path, params=sql_api).json()
    example = {
        "id": "/subscriptions/x/resourceGroups/testrg/providers/Microsoft.Sql/managedInstances/testcl/databases/testdb1",
        "location": "southeastasia",
        "name": "testdb1",
        "properties": {"collation": "SQL_Latin1_General_CP1_CI_AS", "creationDate": "2017-08-04T15:00:17.73Z", "defaultSecondaryLocation": "North Europe", "status": "Online"},
        "type": "Microsoft.Sql/managedInstances/databases",
    }  # ManagedDatabaseGet.json, Microsoft.Sql 2023-08-01
    assert key_paths(example) - key_paths(body) == {"properties.creationDate"}
    assert body["properties"]["status"] == "Restoring"

    deleted = call(server, "DELETE", path, params=sql_api)
    assert deleted.status_code == 202 and "managedDatabaseAzureAsyncOperation" in deleted.headers["Azure-AsyncOperation"]
    assert settle(server, deleted)["status"] == "Succeeded"
    assert call(server, "GET", path, params=sql_api).status_code == 404
    assert call(server, "DELETE", path, params=sql_api).status_code == 204
    assert server.world.database("mi1", "Sales") is None


# -- ARM behaviour: authentication, versions, errors, faults -------------------------------------


def test_requests_need_a_bearer_token_and_the_api_version(server):
    assert call(server, "GET", SERVICE_ID, headers={}).status_code == 401
    wrong = call(server, "GET", SERVICE_ID, params={"api-version": "2022-03-30-preview"})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, "InvalidApiVersionParameter")
    assert call(server, "GET", SERVICE_ID + "x").json()["error"]["code"] == "ResourceNotFound"
    assert call(server, "POST", migration_path("SqlDb") + "/cutover", {"migrationOperationId": "x"}).status_code == 404


@pytest.mark.parametrize(
    "change, code",
    [
        (lambda p: p.update(kind="SqlVm"), "InvalidParameterValue"),
        (lambda p: p.update(scope=scope("SqlVm")), "InvalidParameterValue"),
        (lambda p: p.pop("sourceSqlConnection"), "InvalidParameterValue"),
        (lambda p: p["backupConfiguration"]["sourceLocation"].pop("fileShare"), "InvalidParameterValue"),
        (lambda p: p["backupConfiguration"].pop("targetLocation"), "InvalidParameterValue"),
        (lambda p: p["backupConfiguration"]["targetLocation"].pop("storageAccountResourceId"), "InvalidParameterValue"),
        (lambda p: p["backupConfiguration"]["targetLocation"].update(accountKey=""), "InvalidParameterValue"),
        (lambda p: p.update(migrationService=SERVICE_ID + "2"), "InvalidParameterValue"),
    ],
)
def test_a_malformed_create_is_refused_with_400(server, change, code):
    body = create_body("SqlMi")
    change(body["properties"])
    response = call(server, "PUT", migration_path("SqlMi"), body)
    assert (response.status_code, response.json()["error"]["code"]) == (400, code)
    assert call(server, "GET", migration_path("SqlMi")).status_code == 404


@pytest.mark.parametrize("kind", ["SqlMi", "SqlVm"])
def test_a_file_share_migration_needs_the_storage_account_key(server, kind):
    """DMS's runtime uploads file-share backups with the account key: `targetLocation` has only
    `storageAccountResourceId` and `accountKey` (2025-06-30 and 2025-09-01-preview); the managed
    identity of `authType`/`identity` exists only for backups already in Blob (`sourceLocation.azureBlob`)."""
    body = create_body(kind)
    target_location = body["properties"]["backupConfiguration"]["targetLocation"]
    target_location.pop("accountKey")
    target_location.update(authType="ManagedIdentity", identity={"type": "SystemAssigned"})

    response = call(server, "PUT", migration_path(kind), body)

    assert (response.status_code, response.json()["error"]["code"]) == (400, "InvalidParameterValue")
    assert "backupConfiguration.targetLocation.accountKey" in response.json()["error"]["message"]
    assert call(server, "GET", migration_path(kind)).status_code == 404


def test_a_create_needs_an_online_integration_runtime(server):
    server.world.set_integration_runtime_state(SERVICE_ID, "NeedRegistration")
    response = call(server, "PUT", migration_path("SqlMi"), create_body("SqlMi"))
    assert (response.status_code, response.json()["error"]["code"]) == (400, "IntegrationRuntimeIsNotOnline")


def test_a_second_create_while_one_runs_is_a_conflict_and_after_it_ended_a_new_operation(server):
    first = started(server, "SqlMi")
    conflict = call(server, "PUT", migration_path("SqlMi"), create_body("SqlMi"))
    assert (conflict.status_code, conflict.json()["error"]["code"]) == (409, "OperationInProgress")

    settle(server, call(server, "POST", migration_path("SqlMi") + "/cancel", {"migrationOperationId": first}))
    again = call(server, "PUT", migration_path("SqlMi"), create_body("SqlMi"))
    assert again.status_code == 200
    second = again.json()["properties"]["migrationOperationId"]
    assert second != first
    assert get(server, "SqlMi")["migrationOperationId"] == second
    assert get(server, "SqlMi", migrationOperationId=first)["migrationStatus"] == "Canceled"
    unknown = call(server, "GET", migration_path("SqlMi"), params=dict(API, migrationOperationId="00000000-0000-0000-0000-000000000000"))
    assert unknown.json()["error"]["code"] == "OperationIdNotFound"


def test_provisioning_fails_when_dms_cannot_reach_the_source_database(server):
    response = call(server, "PUT", migration_path("SqlMi"), create_body("SqlMi", source_database="Missing"))
    status = settle(server, response)
    assert (status["status"], status["error"]["code"]) == ("Failed", "TestConnectionFailed")
    properties = get(server, "SqlMi")
    assert (properties["provisioningState"], properties["migrationStatus"]) == ("Failed", "Failed")
    assert "Missing" in properties["provisioningError"]


def test_a_restore_target_must_not_exist_yet(server):
    server.world.put_database("mi1", SOURCE_DATABASE)
    status = settle(server, call(server, "PUT", migration_path("SqlMi"), create_body("SqlMi")))
    assert status["status"] == "Failed" and "already exists" in status["error"]["message"]


def test_throttling_answers_429_with_retry_after(server):
    server.world.add_fault("getService", "throttle", retry_after_seconds=7)
    throttled = call(server, "GET", SERVICE_ID)
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "7")
    assert call(server, "GET", SERVICE_ID).status_code == 200


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_injected_for_one_request(server, status):
    server.world.add_fault("get", "error", status=status, database=SOURCE_DATABASE)
    started(server, "SqlMi")
    failing = call(server, "GET", migration_path("SqlMi"))
    assert failing.status_code == status and failing.json()["error"]["code"] in ("InternalServerError", "ServiceUnavailable")
    assert call(server, "GET", migration_path("SqlMi")).status_code == 200


def test_a_reset_closes_the_connection_without_an_answer(server):
    server.world.add_fault("getService", "reset")
    with pytest.raises(requests.ConnectionError):
        call(server, "GET", SERVICE_ID)
    assert call(server, "GET", SERVICE_ID).status_code == 200
    assert [e["fault"] for e in server.received("getService")] == ["reset", None]


def test_a_slow_answer_comes_late(server):
    server.world.add_fault("getService", "slow", delay_seconds=0.4)
    began = time.monotonic()
    assert call(server, "GET", SERVICE_ID).status_code == 200
    assert time.monotonic() - began >= 0.4


def test_a_client_that_gave_up_on_a_slow_answer_prints_no_server_traceback(server, capfd):
    server.world.add_fault("getService", "slow", delay_seconds=0.4)
    with pytest.raises(requests.Timeout):
        requests.get(server.base_url + SERVICE_ID, params=API, headers=AUTH, timeout=0.1)
    time.sleep(0.6)  # the answer is written to the closed socket
    assert call(server, "GET", SERVICE_ID).status_code == 200
    assert "Traceback" not in capfd.readouterr().err


# -- how migrations move ---------------------------------------------------------------------


def test_an_online_restore_waits_for_the_full_backup_then_follows_the_log_chain(server):
    world = server.world
    operation_id = started(server, "SqlMi")
    waiting = details(server, "SqlMi")
    assert (waiting["migrationState"], waiting["isFullBackupRestored"]) == ("WaitForFullBackupUploadOperation", False)
    assert world.database("mi1", SOURCE_DATABASE) is None

    back_up(world, "FULL", "Sales_full.bak")
    restoring = details(server, "SqlMi")
    assert restoring["currentRestoringFilename"] == "Sales_full.bak" and "lastRestoredFilename" not in restoring
    assert world.database("mi1", SOURCE_DATABASE)["state"] == "RESTORING"
    assert world.database("mi1", SOURCE_DATABASE)["createdBy"] == "dms:" + operation_id
    refused = call(server, "POST", migration_path("SqlMi") + "/cutover", {"migrationOperationId": operation_id})
    assert refused.json()["error"]["code"] == "MigrationNotReadyForCutoverError"

    caught_up = details(server, "SqlMi")
    assert caught_up["isFullBackupRestored"] is True
    assert caught_up["lastRestoredFilename"] == caught_up["currentRestoringFilename"] == "Sales_full.bak"
    assert caught_up["pendingLogBackupsCount"] == 0

    write(world)
    back_up(world, "LOG", "Sales_1.trn")
    write(world)
    back_up(world, "LOG", "Sales_2.trn")
    pending = details(server, "SqlMi")
    assert pending["pendingLogBackupsCount"] == 2
    # SqlBackupFileInfo.status: "Status of the file. (Initial, Uploading, Uploaded, Restoring, Restored or Skipped)"
    assert {f["status"] for s in pending["activeBackupSets"] for f in s["listOfBackupFiles"]} <= BACKUP_FILE_STATUSES
    for _ in range(3):
        get(server, "SqlMi")
    done = details(server, "SqlMi")
    assert (done["lastRestoredFilename"], done["pendingLogBackupsCount"]) == ("Sales_2.trn", 0)
    assert [s["listOfBackupFiles"][0]["status"] for s in done["activeBackupSets"]] == ["Restored"] * 3
    assert world.database("mi1", SOURCE_DATABASE)["tables"] == world.database(SOURCE_SERVER, SOURCE_DATABASE)["tables"]


def test_a_missing_log_backup_blocks_the_restore_until_it_appears(server):
    world = server.world
    back_up(world, "FULL", "Sales_full.bak")
    started(server, "SqlVm")
    get(server, "SqlVm")
    first = back_up(world, "LOG", "Sales_1.trn")
    back_up(world, "LOG", "Sales_2.trn")
    # the first log backup was taken elsewhere: not in the share
    with world.transaction() as state:
        state["backups"][SOURCE_SERVER] = [b for b in state["backups"][SOURCE_SERVER] if b["fileName"] != "Sales_1.trn"]
    blocked = details(server, "SqlVm")
    assert "Sales_2.trn starts at LSN" in blocked["restoreBlockingReason"]
    assert blocked["lastRestoredFilename"] == "Sales_full.bak"

    with world.transaction() as state:
        state["backups"][SOURCE_SERVER].insert(1, first)
    for _ in range(4):
        get(server, "SqlVm")
    unblocked = details(server, "SqlVm")
    assert unblocked["lastRestoredFilename"] == "Sales_2.trn" and "restoreBlockingReason" not in unblocked


@pytest.mark.parametrize("kind", ONLINE_KINDS)
def test_cutover_completes_with_what_the_share_held_then_brings_the_target_online(server, kind):
    world = server.world
    back_up(world, "FULL", "Sales_full.bak")
    operation_id = started(server, kind)
    write(world)
    back_up(world, "LOG", "Sales_tail.trn")
    for _ in range(3):
        caught_up = details(server, kind)
    assert caught_up["lastRestoredFilename"] == caught_up["currentRestoringFilename"] == "Sales_tail.trn"
    accepted = call(server, "POST", migration_path(kind) + "/cutover", {"migrationOperationId": operation_id})
    assert settle(server, accepted)["status"] == "Succeeded"
    write(world)
    back_up(world, "LOG", "Sales_after_cutover.trn")  # too late: not restored

    statuses = [get(server, kind)["migrationStatus"] for _ in range(4)]
    assert statuses[0] == "Completing" and statuses[-1] == "Succeeded"
    target = world.database(TARGET_SERVERS[kind][0], SOURCE_DATABASE)
    assert target["state"] == "ONLINE"
    assert target["restoredFrom"] == {"server": SOURCE_SERVER, "database": SOURCE_DATABASE, "migrationOperationId": operation_id, "backupFile": "Sales_tail.trn"}
    assert len(target["tables"]["dbo.Customers"]["rows"]) == 3  # the write after the tail-log backup is not there
    again = call(server, "POST", migration_path(kind) + "/cutover", {"migrationOperationId": operation_id})
    assert again.json()["error"]["code"] == "CutoverNotAllowedMigrationCompleteError"


def test_an_offline_restore_finishes_at_the_named_last_backup(server):
    world = server.world
    back_up(world, "FULL", "Sales_full.bak")
    started(server, "SqlMi", offline=True, last_backup_name="Sales_final.trn")
    back_up(world, "LOG", "Sales_1.trn")
    for _ in range(5):
        assert get(server, "SqlMi")["migrationStatus"] == "InProgress"  # everything there is restored, not the named one
    write(world)
    back_up(world, "LOG", "Sales_final.trn")
    statuses = [get(server, "SqlMi")["migrationStatus"] for _ in range(2)]
    assert statuses == ["InProgress", "Succeeded"]
    target = world.database("mi1", SOURCE_DATABASE)
    assert target["state"] == "ONLINE" and target["restoredFrom"]["backupFile"] == "Sales_final.trn"
    assert target["tables"] == world.database(SOURCE_SERVER, SOURCE_DATABASE)["tables"]
    assert get(server, "SqlMi")["offlineConfiguration"] == {"offline": True, "lastBackupName": "Sales_final.trn"}


def test_a_get_of_a_migration_that_ended_only_reads_the_world_and_answers_as_the_get_that_ended_it(server, monkeypatch):
    """A GET of a running migration moves it a step, in a transaction; once it ended a GET changes nothing, so it only
    reads the world (not serialised again: the rehearsal's reads of ended migrations are many) and answers the same."""
    world = server.world
    back_up(world, "FULL", "Sales_full.bak")
    started(server, "SqlMi", offline=True, last_backup_name="Sales_final.trn")
    back_up(world, "LOG", "Sales_final.trn")
    for _ in range(10):
        answer = get(server, "SqlMi")
        if answer["migrationStatus"] != "InProgress":
            break
    assert answer["migrationStatus"] == "Succeeded", answer
    saved = []
    monkeypatch.setattr(World, "_save", lambda self, state, text: saved.append(text))
    assert get(server, "SqlMi") == answer and saved == []


def test_a_restored_database_keeps_its_sources_collation(server):
    world = server.world
    world.update_database(SOURCE_SERVER, SOURCE_DATABASE, collation="Latin1_General_CS_AS")
    back_up(world, "FULL", "Sales_full.bak")
    started(server, "SqlMi", offline=True, last_backup_name="Sales_full.bak")
    statuses = [get(server, "SqlMi")["migrationStatus"] for _ in range(3)]
    assert statuses[-1] == "Succeeded"
    assert (world.collation("mi1"), world.collation("mi1", SOURCE_DATABASE)) == ("SQL_Latin1_General_CP1_CI_AS", "Latin1_General_CS_AS")


def test_an_offline_restore_without_a_last_backup_finishes_with_what_the_share_holds(server):
    world = server.world
    back_up(world, "FULL", "Sales_full.bak")
    started(server, "SqlVm", offline=True)
    statuses = [get(server, "SqlVm")["migrationStatus"] for _ in range(3)]
    assert statuses[-1] == "Succeeded"
    write(world)  # written after: lost, as the issue describes for offline migrations without a final backup
    assert len(world.database("vm1", SOURCE_DATABASE)["tables"]["dbo.Customers"]["rows"]) == 2


def test_sqldb_copies_table_by_table_from_the_live_source(server):
    world = server.world
    operation_id = started(server, "SqlDb")

    def tables():
        properties = get(server, "SqlDb")
        return properties["migrationStatus"], [(t["tableName"], t["status"]) for t in properties["migrationStatusDetails"]["listOfCopyProgressDetails"]]

    assert tables() == ("InProgress", [("dbo.Customers", "InProgress"), ("sales.Orders", "InProgress")])
    assert tables() == ("InProgress", [("dbo.Customers", "Succeeded"), ("sales.Orders", "InProgress")])
    assert tables()[0] == "InProgress"  # sales.Orders started
    write(world, "sales.Orders")  # not frozen: the copy sees it
    assert tables() == ("Succeeded", [("dbo.Customers", "Succeeded"), ("sales.Orders", "Succeeded")])
    target = world.database("sqldb1", SOURCE_DATABASE)
    assert target["tables"] == world.database(SOURCE_SERVER, SOURCE_DATABASE)["tables"]
    assert target["restoredFrom"] == {"server": SOURCE_SERVER, "database": SOURCE_DATABASE, "migrationOperationId": operation_id}


def test_sqldb_fails_when_the_target_lacks_a_table(server):
    server.world.update_database("sqldb1", SOURCE_DATABASE, tables={})
    started(server, "SqlDb")
    properties = get(server, "SqlDb")
    assert properties["migrationStatus"] == "Failed"
    assert "does not exist in the target" in properties["migrationStatusDetails"]["sqlDataCopyErrors"][0]


def test_cancel_ends_canceled_and_a_finished_migration_cannot_be_canceled(server):
    operation_id = started(server, "SqlMi")
    accepted = call(server, "POST", migration_path("SqlMi") + "/cancel", {"migrationOperationId": operation_id})
    assert get(server, "SqlMi")["migrationStatus"] == "Canceled"
    assert settle(server, accepted)["status"] == "Succeeded"
    refused = call(server, "POST", migration_path("SqlMi") + "/cancel", {"migrationOperationId": operation_id})
    assert refused.json()["error"]["code"] == "MigrationCancelFailed"


def test_a_still_canceling_fault_ends_the_cancel_operation_while_the_migration_stays_canceling(server):
    """As Stop-AzDataMigrationToSqlManagedInstance's example shows: its cancel returned, the migration reads Canceling.
    Each read spends one use; meanwhile DMS refuses to delete it or to start another, then it reads Canceled."""
    operation_id = started(server, "SqlMi")
    server.world.add_fault("cancel", "stillCanceling", count=2, database=SOURCE_DATABASE)
    accepted = call(server, "POST", migration_path("SqlMi") + "/cancel", {"migrationOperationId": operation_id})

    assert settle(server, accepted)["status"] == "Succeeded"
    assert get(server, "SqlMi")["migrationStatus"] == "Canceling"
    assert call(server, "DELETE", migration_path("SqlMi")).json()["error"]["code"] == "DeleteMigrationNotAllowedCancelInProgress"
    assert call(server, "PUT", migration_path("SqlMi"), create_body("SqlMi")).json()["error"]["code"] == "OperationInProgress"
    assert get(server, "SqlMi")["migrationStatus"] == "Canceling"
    assert get(server, "SqlMi")["migrationStatus"] == "Canceled"
    assert server.world.faults() == []


def test_delete_refuses_a_running_migration_unless_forced(server):
    started(server, "SqlVm")
    refused = call(server, "DELETE", migration_path("SqlVm"))
    assert refused.json()["error"]["code"] == "DeleteMigrationNotAllowedMigrationInProgress"
    forced = call(server, "DELETE", migration_path("SqlVm"), params=dict(API, force="true"))
    assert forced.status_code == 202
    assert settle(server, forced)["status"] == "Succeeded"
    assert call(server, "GET", migration_path("SqlVm")).status_code == 404
    assert call(server, "DELETE", migration_path("SqlVm")).status_code == 204


@pytest.mark.parametrize("action, after", [("create", "Failed"), ("cutover", "InProgress"), ("cancel", "InProgress"), ("delete", "InProgress")])
def test_an_injected_lro_failure_ends_the_operation_failed_and_changes_nothing_else(server, action, after):
    back_up(server.world, "FULL", "Sales_full.bak")
    operation_id = None
    if action != "create":
        operation_id = started(server, "SqlMi")
        get(server, "SqlMi"), get(server, "SqlMi")  # the full backup restored: cutover allowed
    server.world.add_fault(action, "lroFailed", code="InternalServerError", message="boom")
    method, suffix, body, params = {
        "create": ("PUT", "", create_body("SqlMi"), API),
        "cutover": ("POST", "/cutover", {"migrationOperationId": operation_id}, API),
        "cancel": ("POST", "/cancel", {"migrationOperationId": operation_id}, API),
        "delete": ("DELETE", "", None, dict(API, force="true")),
    }[action]

    status = settle(server, call(server, method, migration_path("SqlMi") + suffix, body, params=params))

    assert status["status"] == "Failed" and "boom" in status["error"]["message"]
    assert get(server, "SqlMi")["migrationStatus"] == after


def test_a_migration_failure_fault_fails_the_migration_at_its_next_step(server):
    started(server, "SqlVm")
    server.world.add_fault("migrate", "migrationFailed", database=SOURCE_DATABASE, code="RestoreFailed", message="disk full")
    properties = get(server, "SqlVm")
    assert properties["migrationStatus"] == "Failed"
    assert properties["migrationFailureError"] == {"code": "RestoreFailed", "message": "disk full"}


def test_deleting_the_database_dms_restores_fails_the_migration(server):
    back_up(server.world, "FULL", "Sales_full.bak")
    started(server, "SqlMi")
    get(server, "SqlMi")
    server.world.drop_database("mi1", SOURCE_DATABASE)
    assert get(server, "SqlMi")["migrationStatus"] == "Failed"


def test_standalone_server_serves_a_world_directory_shared_with_this_process(tmp_path):
    world = seed(World(str(tmp_path / "world")))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "migration_rehearsal.dms_contract_server", "--world", world.directory, "--port", str(port)],
        stdout=subprocess.PIPE,
        cwd=str(__import__("conftest").DAGS_DIR),
    )
    try:
        base_url = process.stdout.readline().decode().strip()
        assert base_url == "http://127.0.0.1:%d" % port
        response = requests.get(base_url + SERVICE_ID, params=API, headers=AUTH, timeout=10)
        assert response.json()["properties"]["integrationRuntimeState"] == "Online"
        world.set_integration_runtime_state(SERVICE_ID, "Offline")  # this process changes the world...
        response = requests.get(base_url + SERVICE_ID, params=API, headers=AUTH, timeout=10)
        assert response.json()["properties"]["integrationRuntimeState"] == "Offline"  # ...the server sees it
    finally:
        process.terminate()
        process.wait(10)
