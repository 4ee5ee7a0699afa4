"""The DMS gateway against Microsoft's recorded 2025-06-30 responses, through a fake SDK client.

The fake returns real azure-mgmt-datamigration models deserialized from the recordings and checks
every call against the real SDK method's signature, so a wrong argument name fails here.
"""
from __future__ import annotations

import inspect
import json
import logging

import pytest

pytest.importorskip("azure.mgmt.datamigration", reason="the DMS SDK needs Python >= 3.9 (not in the Airflow 2.6.3 check)")

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.datamigration import models as dms_models
from azure.mgmt.datamigration import operations as dms_operations

from conftest import FIXTURES_DIR, load_plan_document
from migration_orchestration_lib.connections import ConnectionSecret
from migration_orchestration_lib.dms_gateway import (
    CutoverNotSupportedError,
    DmsGateway,
    MigrationConflictError,
    MigrationTarget,
)
from migration_orchestration_lib.migration_request import build_migration_request
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.settings import MigrationServiceRef

SERVICE_ID = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/testrg/providers/Microsoft.DataMigration/sqlMigrationServices/service1"
OPERATION_ID = "858ba109-5ab7-4fa1-8aea-bea487cacdcd"

KINDS = {
    "SqlMi": (dms_operations.DatabaseMigrationsSqlMiOperations, dms_models.DatabaseMigrationSqlMi, "managed_instance_name", "managedInstance1"),
    "SqlDb": (dms_operations.DatabaseMigrationsSqlDbOperations, dms_models.DatabaseMigrationSqlDb, "sql_db_instance_name", "sqldbinstance"),
    "SqlVm": (dms_operations.DatabaseMigrationsSqlVmOperations, dms_models.DatabaseMigrationSqlVm, "sql_virtual_machine_name", "testvm"),
}


def recorded(name: str) -> dict:
    return json.loads((FIXTURES_DIR / name).read_text())


def recorded_body(name: str, status: str = "200") -> dict:
    return recorded(name)["responses"][status]["body"]


class RecordedPoller:
    def __init__(self, value=None):
        self.value = value

    def result(self, timeout=None):
        return self.value


class FakeOperations:
    """One operation group; `current` is the body GET returns (None: 404), `created` what create returns."""

    def __init__(self, real_class, model, current=None, created=None):
        self.real_class, self.model = real_class, model
        self.current, self.created = current, created
        self.calls = []

    def _record(self, name, kwargs):
        signature = inspect.signature(getattr(self.real_class, name))
        explicit = {p.name for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD}
        assert set(kwargs) <= explicit, "unknown argument(s) %s for %s" % (set(kwargs) - explicit, name)
        signature.bind(None, **kwargs)  # every required argument given
        self.calls.append((name, kwargs))

    def get(self, **kwargs):
        self._record("get", kwargs)
        if self.current is None:
            raise ResourceNotFoundError("The resource was not found")
        return self.model.deserialize(self.current)

    def begin_create_or_update(self, **kwargs):
        self._record("begin_create_or_update", kwargs)
        return RecordedPoller(self.model.deserialize(self.created))

    def begin_cutover(self, **kwargs):
        self._record("begin_cutover", kwargs)
        return RecordedPoller()

    def begin_cancel(self, **kwargs):
        self._record("begin_cancel", kwargs)
        return RecordedPoller()

    def names(self):
        return [name for name, _ in self.calls]


class FakeServices:
    def __init__(self, body):
        self.body = body

    def get(self, **kwargs):
        signature = inspect.signature(dms_operations.SqlMigrationServicesOperations.get)
        signature.bind(None, **kwargs)
        return dms_models.SqlMigrationService.deserialize(self.body)


class FakeClient:
    def __init__(self, kind, current=None, created=None, service=None):
        real_class, model, _, _ = KINDS[kind]
        self.operations = FakeOperations(real_class, model, current, created)
        group = {"SqlMi": "database_migrations_sql_mi", "SqlDb": "database_migrations_sql_db", "SqlVm": "database_migrations_sql_vm"}[kind]
        setattr(self, group, self.operations)
        self.sql_migration_services = FakeServices(service or recorded_body("GetSqlMigrationService.json"))


def gateway_for(client):
    return DmsGateway(lambda subscription: client, MigrationServiceRef.parse(SERVICE_ID))


def target(kind: str) -> MigrationTarget:
    _, _, _, server = KINDS[kind]
    return MigrationTarget(kind, "00000000-1111-2222-3333-444444444444", "testrg", server, "db1", "/subscriptions/x")


def never_called():
    raise AssertionError("the request (and its secrets) must not be built when adopting")


def in_progress(body: dict, **changes) -> dict:
    body = json.loads(json.dumps(body))
    body["properties"].update(changes)
    return body


def test_status_is_read_with_status_details_for_the_operation():
    client = FakeClient("SqlMi", current=recorded_body("SqlMiGetDatabaseMigrationExpanded.json"))
    status = gateway_for(client).status(target("SqlMi"), OPERATION_ID)

    name, arguments = client.operations.calls[0]
    assert name == "get"
    assert arguments == {
        "resource_group_name": "testrg",
        "managed_instance_name": "managedInstance1",
        "target_db_name": "db1",
        "migration_operation_id": OPERATION_ID,
        "expand": "MigrationStatusDetails",
    }
    assert (status.migration_status, status.provisioning_state) == ("InProgress", "Succeeded")
    assert status.migration_state == "WaitForFullBackupUploadOperation"
    assert status.is_full_backup_restored is False
    assert status.migration_operation_id == OPERATION_ID
    assert status.is_in_flight and not status.is_terminal_failure and not status.is_succeeded


def test_sqldb_status_reports_success():
    client = FakeClient("SqlDb", current=recorded_body("SqlDbGetDatabaseMigrationExpanded.json"))
    status = gateway_for(client).status(target("SqlDb"), OPERATION_ID)
    assert status.is_succeeded and not status.is_in_flight
    assert client.operations.calls[0][1]["sql_db_instance_name"] == "sqldbinstance"


@pytest.mark.parametrize("kind, recording", [("SqlMi", "SqlMiGetDatabaseMigration.json"), ("SqlVm", "SqlVmGetDatabaseMigration.json")])
def test_start_adopts_the_migration_already_in_flight(kind, recording):
    client = FakeClient(kind, current=recorded_body(recording))
    result = gateway_for(client).start(target(kind), "SourceName", never_called)

    assert result.adopted is True
    assert result.migration_operation_id == OPERATION_ID
    assert client.operations.names() == ["get"]


def test_start_refuses_a_target_busy_with_another_source_database():
    client = FakeClient("SqlMi", current=recorded_body("SqlMiGetDatabaseMigration.json"))
    with pytest.raises(MigrationConflictError, match="from source database 'sourcename', not 'Sales'"):
        gateway_for(client).start(target("SqlMi"), "Sales", never_called)
    assert client.operations.names() == ["get"]


@pytest.mark.parametrize(
    "kind, recording",
    [
        ("SqlMi", "SqlMiCreateOrUpdateDatabaseMigrationMAX.json"),
        ("SqlDb", "SqlDbCreateOrUpdateDatabaseMigrationMAX.json"),
        ("SqlVm", "SqlVmCreateOrUpdateDatabaseMigrationMAX.json"),
    ],
)
def test_start_creates_a_migration_when_none_exists(kind, recording):
    request = recorded(recording)["parameters"]["parameters"]
    client = FakeClient(kind, current=None, created=recorded_body(recording, "201"))
    result = gateway_for(client).start(target(kind), "aaa", lambda: request)

    assert (result.adopted, result.migration_operation_id) == (False, OPERATION_ID)
    assert client.operations.names() == ["get", "begin_create_or_update"]
    _, arguments = client.operations.calls[1]
    assert arguments["parameters"] == request
    assert arguments["target_db_name"] == "db1"


@pytest.mark.parametrize("finished", ["Failed", "Canceled", "Succeeded"])
def test_start_creates_a_new_migration_after_a_finished_one(finished):
    recording = "SqlMiCreateOrUpdateDatabaseMigrationMAX.json"
    current = in_progress(recorded_body("SqlMiGetDatabaseMigration.json"), migrationStatus=finished)
    client = FakeClient("SqlMi", current=current, created=recorded_body(recording))
    result = gateway_for(client).start(target("SqlMi"), "sourcename", lambda: recorded(recording)["parameters"]["parameters"])
    assert result.adopted is False
    assert client.operations.names() == ["get", "begin_create_or_update"]


def test_start_never_logs_the_request_secrets(caplog):
    recording = "SqlMiCreateOrUpdateDatabaseMigrationMAX.json"
    request = recorded(recording)["parameters"]["parameters"]
    request["properties"]["sourceSqlConnection"]["password"] = "S3cr3t-Pa55"
    client = FakeClient("SqlMi", created=recorded_body(recording))
    with caplog.at_level(logging.DEBUG):
        gateway_for(client).start(target("SqlMi"), "aaa", lambda: request)
    assert "Started migration" in caplog.text
    assert "S3cr3t-Pa55" not in caplog.text


@pytest.mark.parametrize("kind", ["SqlMi", "SqlVm"])
def test_cutover_posts_the_operation_id_for_online_targets(kind):
    client = FakeClient(kind)
    gateway_for(client).cutover(target(kind), "4124fe90-d1b6-4b50-b4d9-46d02381f59a")
    name, arguments = client.operations.calls[0]
    assert name == "begin_cutover"
    assert arguments["parameters"] == recorded("SqlMiCutoverDatabaseMigration.json")["parameters"]["parameters"]


def test_sqldb_rejects_cutover_without_calling_azure():
    client = FakeClient("SqlDb")
    with pytest.raises(CutoverNotSupportedError, match="offline only"):
        gateway_for(client).cutover(target("SqlDb"), OPERATION_ID)
    assert client.operations.calls == []


@pytest.mark.parametrize("kind", ["SqlMi", "SqlDb", "SqlVm"])
def test_cancel_posts_the_operation_id(kind):
    client = FakeClient(kind)
    gateway_for(client).cancel(target(kind), "9a90bb84-e70f-46f7-b0ae-1aef5b3b9f07")
    name, arguments = client.operations.calls[0]
    assert name == "begin_cancel"
    assert arguments["parameters"] == recorded("SqlDbCancelDatabaseMigration.json")["parameters"]["parameters"]


def test_current_migration_is_none_when_the_target_never_had_one():
    assert gateway_for(FakeClient("SqlDb")).current_migration(target("SqlDb")) is None


def test_integration_runtime_state_comes_from_the_migration_service():
    assert gateway_for(FakeClient("SqlMi")).integration_runtime_state() == "NeedRegistration"


class Secrets:
    def get(self, connection_id):
        return ConnectionSecret(connection_id, "%s.example" % connection_id, 1433, "user-" + connection_id, "pw-" + connection_id)


def key_paths(value, prefix=""):
    if not isinstance(value, dict):
        return {prefix}
    paths = set()
    for key, child in value.items():
        paths |= key_paths(child, prefix + "." + key if prefix else key)
    return paths


def sql_db_document():
    document = load_plan_document()
    document["targetServers"].append(
        {"name": "db-prod", "kind": "SqlDb", "connectionId": "mssql_target_db_prod",
         "resourceId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Sql/servers/sqlprod"}
    )
    document["databases"][0]["target"] = {"server": "db-prod", "database": "Sales", "kind": "SqlDb"}
    document["databases"][0]["mode"] = "offline"
    return document


@pytest.mark.parametrize(
    "document, kind, recording, not_sent",
    [
        (load_plan_document(), "SqlMi", "SqlMiCreateOrUpdateDatabaseMigrationMAX.json", {"properties.offlineConfiguration.lastBackupName"}),
        (sql_db_document(), "SqlDb", "SqlDbCreateOrUpdateDatabaseMigrationMAX.json", {"properties.tableList"}),
    ],
)
def test_request_has_the_recorded_shape_and_the_sdk_accepts_it(document, kind, recording, not_sent):
    from azure.mgmt.datamigration._utils.serialization import Serializer  # the SDK's own body serializer

    plan = parse_plan(document)
    request = build_migration_request(plan, plan.databases[0], SERVICE_ID, Secrets())
    recorded_request = recorded(recording)["parameters"]["parameters"]

    assert key_paths(recorded_request) - key_paths(request) == not_sent
    assert key_paths(request) <= key_paths(recorded_request)
    properties = request["properties"]
    assert (properties["kind"], properties["migrationService"], properties["sourceDatabaseName"]) == (kind, SERVICE_ID, "Sales")
    assert properties["sourceSqlConnection"]["password"] == "pw-mssql_source_sql01"

    serializer = Serializer({k: v for k, v in vars(dms_models).items() if isinstance(v, type)})
    model_name = {"SqlMi": "DatabaseMigrationSqlMi", "SqlDb": "DatabaseMigrationSqlDb"}[kind]
    wire = serializer.body(request, model_name)
    assert wire["properties"]["sourceSqlConnection"]["userName"] == "user-mssql_source_sql01"


def test_online_managed_instance_request_carries_the_backup_locations():
    plan = parse_plan(load_plan_document())
    request = build_migration_request(plan, plan.database("database_1"), SERVICE_ID, Secrets())
    backup = request["properties"]["backupConfiguration"]
    assert backup["sourceLocation"]["fileShare"] == {
        "path": "\\\\fileserver01\\sqlbackups\\sql01",
        "username": "user-smb_fileserver01",
        "password": "pw-smb_fileserver01",
    }
    assert backup["targetLocation"]["accountKey"] == "pw-backup_storage_key"
    assert request["properties"]["offlineConfiguration"] == {"offline": False}
    offline = build_migration_request(plan, plan.database("database_3"), SERVICE_ID, Secrets())
    assert offline["properties"]["offlineConfiguration"] == {"offline": True}
