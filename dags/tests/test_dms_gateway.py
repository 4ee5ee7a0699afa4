"""The DMS gateway on both transports (the azure-mgmt-datamigration SDK, and ARM REST through
azure-mgmt-core) against the DMS contract server over HTTP, for every target kind and fault kind.

On Python 3.8 (Airflow 2.6.3) only the REST transport runs: the SDK needs Python >= 3.9.
"""
from __future__ import annotations

import logging
import time

import pytest

from conftest import load_plan_document, renamed_targets_document
from dms_world_support import (
    KINDS,
    ONLINE_KINDS,
    RESOURCE_GROUP,
    SERVICE_ID,
    SHARE,
    SOURCE_DATABASE,
    SUBSCRIPTION,
    TARGET_SERVERS,
    back_up,
    create_body,
    recorded,
    scope,
    server,  # noqa: F401 (fixture)
    write,
)
from migration_orchestration_lib.connections import ConnectionSecret
from migration_orchestration_lib.dms_gateway import (
    CutoverNotSupportedError,
    DmsGateway,
    DmsOperationFailed,
    DmsOperationTimeout,
    DmsUnavailable,
    MigrationAbsenceUnproven,
    MigrationConflictError,
    MigrationTarget,
    OperationTiming,
)
from migration_orchestration_lib.dms_transport import (
    StaticTokenCredential,
    choose_transport,
    connect_transport,
    loopback_bearer_token_policy,
    sdk_available,
)
from migration_orchestration_lib.migration_request import build_migration_request
from migration_orchestration_lib.migration_status import COMPLETING, COPYING, READY_FOR_CUTOVER, SUCCEEDED
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.resource_id import ResourceId

# On Python 3.8 (airflow26) the tests marked below run: with that run's others they reach every line and branch of
# the DAG's code all of this file's tests reach there (dags/README.md, "Python 3.8").

TRANSPORTS = [
    pytest.param("sdk", marks=pytest.mark.skipif(not sdk_available(), reason="azure-mgmt-datamigration needs Python >= 3.9")),
    "rest",
]
FAST = OperationTiming(timeout_seconds=10, polling_interval_seconds=0.02)


@pytest.fixture(params=TRANSPORTS)
def transport(request):
    return request.param


def connect(server, transport, timing=FAST, **options):
    options.setdefault("read_timeout", 5)
    return DmsGateway.connect(
        ResourceId.parse(SERVICE_ID), StaticTokenCredential(), transport=transport, base_url=server.base_url, timing=timing, **options
    )


@pytest.fixture
def gateway(server, transport):
    return connect(server, transport)


def target(kind: str, database: str = SOURCE_DATABASE) -> MigrationTarget:
    return MigrationTarget(kind, SUBSCRIPTION, RESOURCE_GROUP, TARGET_SERVERS[kind][0], database, scope(kind))


def start(gateway, kind, **options):
    return gateway.start(target(kind), SOURCE_DATABASE, lambda: create_body(kind), **options)


def poll(gateway, kind, operation_id, stage, polls=8):
    for _ in range(polls):
        status = gateway.status(target(kind), operation_id)
        if status.stage == stage:
            return status
    raise AssertionError("%s never reached %s: %s" % (kind, stage, status.describe()))


def ready_for_cutover(server, gateway, kind):
    back_up(server.world, "FULL", "Sales_full.bak")
    operation_id = start(gateway, kind).migration_operation_id
    write(server.world)
    back_up(server.world, "LOG", "Sales_tail.trn")
    poll(gateway, kind, operation_id, READY_FOR_CUTOVER)
    return operation_id


def never_called():
    raise AssertionError("the request (and its secrets) must not be built when adopting")


# -- choosing and connecting a transport --------------------------------------------------------


@pytest.mark.airflow26
def test_the_transport_is_the_sdk_when_importable_and_rest_otherwise():
    assert choose_transport(None) == ("sdk" if sdk_available() else "rest")
    assert choose_transport("rest") == "rest"
    with pytest.raises(ValueError, match="MIGRATION_DMS_TRANSPORT must be one of sdk, rest, got 'soap'"):
        choose_transport("soap")


@pytest.mark.airflow26
@pytest.mark.skipif(sdk_available(), reason="only where the SDK cannot install")
def test_asking_for_the_sdk_where_it_cannot_install_says_so():
    with pytest.raises(ValueError, match="needs Python >= 3.9"):
        choose_transport("sdk")


@pytest.mark.airflow26
@pytest.mark.parametrize("url", ["http://dms.example.com", "http://10.0.0.5:8080"])
def test_a_token_never_travels_over_plain_http_beyond_loopback(url):
    with pytest.raises(ValueError, match="refusing to send an Azure token over plain HTTP"):
        connect_transport(StaticTokenCredential(), SUBSCRIPTION, transport="rest", base_url=url)


@pytest.mark.airflow26
def test_the_loopback_policy_refuses_a_polling_url_that_leaves_the_machine():
    from azure.core.exceptions import ServiceRequestError
    from azure.core.pipeline import PipelineContext, PipelineRequest
    from azure.core.rest import HttpRequest

    policy = loopback_bearer_token_policy(StaticTokenCredential("t0ken"))
    local = PipelineRequest(HttpRequest("GET", "http://127.0.0.1:1/x"), PipelineContext(None))
    policy.on_request(local)
    assert local.http_request.headers["Authorization"] == "Bearer t0ken"
    remote = PipelineRequest(HttpRequest("GET", "http://attacker.example/x"), PipelineContext(None))
    with pytest.raises(ServiceRequestError):
        policy.on_request(remote)
    assert "Authorization" not in remote.http_request.headers


def test_integration_runtime_state_comes_from_the_migration_service(server, gateway):
    assert gateway.integration_runtime_state() == "Online"
    server.world.set_integration_runtime_state(SERVICE_ID, "NeedRegistration")
    assert gateway.integration_runtime_state() == "NeedRegistration"


def test_the_migrations_of_the_service_come_in_one_call_with_their_scope_and_target_database(server, gateway):
    assert gateway.migrations_on_service() == []
    operation_ids = {kind: start(gateway, kind).migration_operation_id for kind in KINDS}
    calls_before = len(server.received("listMigrations"))

    listed = gateway.migrations_on_service()

    assert len(server.received("listMigrations")) == calls_before + 1
    assert sorted((scope.strip("/").lower(), database, status.migration_operation_id) for scope, database, status in listed) == sorted(
        (scope(kind).strip("/").lower(), SOURCE_DATABASE, operation_ids[kind]) for kind in KINDS
    )
    assert all(status.is_in_flight for _, _, status in listed)


def test_a_list_is_reused_only_until_an_operation_begins(server, gateway):
    """Admission reuses the list a 404's proof read in its poke (`reuse`); a create (as any operation) begun through
    the gateway since makes that list stale: it is read again, showing the new migration."""
    assert gateway.current_migration(target("SqlMi")) is None  # 404, proven by a list
    calls = len(server.received("listMigrations"))
    assert gateway.migrations_on_service(reuse=True) == [] and len(server.received("listMigrations")) == calls

    started = start(gateway, "SqlMi")

    calls = len(server.received("listMigrations"))
    [(_, _, listed)] = gateway.migrations_on_service(reuse=True)
    assert listed.migration_operation_id == started.migration_operation_id
    assert len(server.received("listMigrations")) == calls + 1


# -- migrations, per target kind ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ONLINE_KINDS)
def test_an_online_migration_runs_from_start_through_cutover(server, gateway, kind):
    assert gateway.current_migration(target(kind)) is None
    operation_id = ready_for_cutover(server, gateway, kind)
    ready = gateway.status(target(kind), operation_id)
    assert ready.is_backup_restored("Sales_tail.trn") and ready.is_backup_restored(SHARE + "\\Sales_full.bak")
    if kind == "SqlMi":
        assert gateway.managed_database(target(kind)).status == "Restoring"

    after = gateway.cutover(target(kind), operation_id)

    assert after.stage in (COMPLETING, SUCCEEDED) and after.cutover_requested
    poll(gateway, kind, operation_id, SUCCEEDED)
    assert server.world.database(TARGET_SERVERS[kind][0], SOURCE_DATABASE)["state"] == "ONLINE"
    if kind == "SqlMi":
        assert gateway.managed_database(target(kind)).status == "Online"


@pytest.mark.airflow26
def test_a_sqldb_migration_copies_and_succeeds_without_cutover(server, gateway):
    result = start(gateway, "SqlDb")
    assert result.adopted is False and result.status.kind == "SqlDb"
    poll(gateway, "SqlDb", result.migration_operation_id, SUCCEEDED)
    with pytest.raises(CutoverNotSupportedError, match="offline only"):
        gateway.cutover(target("SqlDb"), result.migration_operation_id)
    assert server.received("cutover") == []


@pytest.mark.parametrize("kind", KINDS)
def test_start_adopts_the_migration_in_flight_without_building_the_request(server, gateway, kind):
    first = start(gateway, kind)
    again = gateway.start(target(kind), SOURCE_DATABASE.lower(), never_called)
    assert (again.adopted, again.migration_operation_id) == (True, first.migration_operation_id)
    assert len(server.received("create")) == 1


@pytest.mark.airflow26
def test_start_refuses_a_target_busy_with_another_source_database(server, gateway):
    start(gateway, "SqlMi")
    with pytest.raises(MigrationConflictError, match="from source database 'Sales', not 'Hr'"):
        gateway.start(target("SqlMi"), "Hr", never_called)


@pytest.mark.airflow26
@pytest.mark.parametrize("kind", KINDS)
def test_two_starts_at_once_make_one_migration(server, gateway, transport, monkeypatch, kind):
    """Two attempts of start_migration (a retry beside an attempt whose worker lost its heartbeat)
    both find no migration and both create: the later create meets the first (409
    OperationInProgress) and continues with it."""
    other_attempt, first = connect(server, transport), []
    transport_of_this_attempt = gateway._transport(SUBSCRIPTION)
    create = transport_of_this_attempt.begin_create

    def the_other_attempt_creates_first(*args):
        first.append(other_attempt.start(target(kind), SOURCE_DATABASE, lambda: create_body(kind)))
        return create(*args)

    monkeypatch.setattr(transport_of_this_attempt, "begin_create", the_other_attempt_creates_first)
    second = start(gateway, kind)
    assert len(server.received("create")) == 2
    assert second.migration_operation_id == first[0].migration_operation_id
    assert gateway.current_migration(target(kind)).migration_operation_id == second.migration_operation_id


def test_start_refuses_a_target_busy_with_a_migration_of_another_service(server, gateway, transport):
    """Another plan's deployment (its own migration service) migrating a `Sales` into the same target."""
    other_service = SERVICE_ID.rsplit("/", 1)[0] + "/service2"
    server.world.add_migration_service(other_service, location="northeurope")
    other = DmsGateway.connect(ResourceId.parse(other_service), StaticTokenCredential(), transport=transport, base_url=server.base_url, timing=FAST)
    body = create_body("SqlMi")
    body["properties"]["migrationService"] = other_service
    other.start(target("SqlMi"), SOURCE_DATABASE, lambda: body)
    with pytest.raises(MigrationConflictError, match="by migration service %s, not by this plan.s %s" % (other_service, SERVICE_ID)):
        gateway.start(target("SqlMi"), SOURCE_DATABASE, never_called)


@pytest.mark.airflow26
@pytest.mark.parametrize("by", ["another-service", "another-source"])
def test_start_creates_no_copy_over_another_copy_into_a_sqldb_target_that_completed(server, gateway, transport, by):
    """A SqlDb target holds another's completed copy (another plan's service, or another source database), which its
    owner may have handed to applications: the steps refuse it ("Data safety"), and so does the create itself, right
    before it is sent (the copy may have completed since the step read DMS). Before, it created a copy over it."""
    if by == "another-service":
        other_service = SERVICE_ID.rsplit("/", 1)[0] + "/service2"
        server.world.add_migration_service(other_service, location="northeurope")
        owner = DmsGateway.connect(ResourceId.parse(other_service), StaticTokenCredential(), transport=transport, base_url=server.base_url, timing=FAST)
        body, source = create_body("SqlDb"), SOURCE_DATABASE
        body["properties"]["migrationService"] = other_service
        why = "by migration service %s, not by this plan.s %s" % (other_service, SERVICE_ID)
    else:
        owner, body, source = gateway, create_body("SqlDb"), "Hr"
        server.world.put_database("sql01", "Hr", tables=server.world.database("sql01", SOURCE_DATABASE)["tables"])
        body["properties"]["sourceDatabaseName"] = "Hr"
        why = "from source database 'Hr', not 'Sales'"
    completed = owner.start(target("SqlDb"), source, lambda: body).migration_operation_id
    for _ in range(40):
        if owner.status(target("SqlDb"), completed).stage == SUCCEEDED:
            break
    assert owner.status(target("SqlDb"), completed).stage == SUCCEEDED

    with pytest.raises(MigrationConflictError, match=why):
        gateway.start(target("SqlDb"), SOURCE_DATABASE, lambda: create_body("SqlDb"))
    assert len(server.received("create")) == 1, "a copy was created over the completed one"
    assert gateway.current_migration(target("SqlDb")).migration_operation_id == completed


@pytest.mark.airflow26
def test_start_adopts_a_same_named_database_whichever_source_server_dms_names(server, gateway):
    """Adoption does not judge the source server DMS names (`sourceServerName`: maybe the plan's host
    under another name): the migration is doubtful, and the rollback decides what it may undo."""
    server.world.add_server("sql02")
    server.world.put_database("sql02", SOURCE_DATABASE, tables={})
    server.world.take_backup("sql02", SOURCE_DATABASE, "FULL", SHARE + "\\sql02_full.bak")
    body = create_body("SqlMi")
    body["properties"]["sourceSqlConnection"]["dataSource"] = "tcp:sql02.contoso.local,1433"
    theirs = gateway.start(target("SqlMi"), SOURCE_DATABASE, lambda: body)
    again = gateway.start(target("SqlMi"), SOURCE_DATABASE, never_called)
    assert (again.adopted, again.migration_operation_id) == (True, theirs.migration_operation_id)
    assert gateway.current_migration(target("SqlMi")).source_server_name == "sql02"


def answer_404_for_the_migration(server, count=1):
    """ARM answers the target's migration GET 404 (ResourceNotFound) for the next `count` reads, though DMS has it
    (eventual consistency after a create, a routing glitch); `listMigrations` still lists it."""
    server.world.add_fault("get", "error", count=count, database=SOURCE_DATABASE, status=404, code="ResourceNotFound",
                           message="The Resource was not found.")


@pytest.mark.parametrize("kind", KINDS)
def test_a_404_contradicted_by_the_services_list_is_no_proof_that_there_is_no_migration(server, gateway, kind):
    """Before, one 404 read as "there never was a migration into this target" (None), whatever DMS runs there."""
    first = start(gateway, kind)
    answer_404_for_the_migration(server)
    with pytest.raises(MigrationAbsenceUnproven, match="ARM answers 404 .* for the migration into Sales on %s %s, yet listMigrations of "
                       "migration service %s lists migration %s \\(" % (kind, TARGET_SERVERS[kind][0], SERVICE_ID, first.migration_operation_id)) as unproven:
        gateway.current_migration(target(kind))
    assert unproven.value.retryable
    assert gateway.current_migration(target(kind)).migration_operation_id == first.migration_operation_id


@pytest.mark.parametrize("kind", KINDS)
def test_start_creates_nothing_where_a_404_is_contradicted_by_the_services_list(server, gateway, kind):
    """Before, the 404 made start send a create (PUT) over the migration DMS runs; what DMS does with one is not
    documented (the contract server refuses it 409 OperationInProgress)."""
    start(gateway, kind)
    answer_404_for_the_migration(server)
    with pytest.raises(MigrationAbsenceUnproven):
        gateway.start(target(kind), SOURCE_DATABASE, never_called)
    assert len(server.received("create")) == 1, "a create was sent over the migration DMS runs"


@pytest.mark.airflow26
@pytest.mark.parametrize("kind", KINDS)
def test_a_cancel_whose_read_after_answers_a_contradicted_404_is_not_failed_for_good(server, gateway, kind):
    """The migration read by its operation id after a cancel (or a cutover) answers 404 while the service lists it.
    Before: `DmsOperationFailed` "DMS has no migration", which no poke retries (the rollback failed for a person)."""
    first = start(gateway, kind)
    answer_404_for_the_migration(server)
    with pytest.raises(MigrationAbsenceUnproven) as unproven:
        gateway.cancel(target(kind), first.migration_operation_id)
    assert unproven.value.retryable
    assert gateway.status(target(kind), first.migration_operation_id).migration_status == "Canceled"


def test_a_404_whose_list_is_throttled_is_waited_out_never_read_as_none(server, transport):
    """ARM throttles the list that would prove the 404 (429 past the pipeline's retries): an outage (`DmsUnavailable`,
    retryable: the step pokes again), never "no migration there"."""
    gateway = connect(server, transport, retry_total=0)
    start(gateway, "SqlMi")
    answer_404_for_the_migration(server)
    server.world.add_fault("listMigrations", "throttle", retry_after_seconds=0)
    with pytest.raises(DmsUnavailable, match="could not list the migrations of the migration service: ARM answered 429") as throttled:
        gateway.current_migration(target("SqlMi"))
    assert throttled.value.retryable and not server.world.faults()


def test_a_404_with_no_migration_listed_into_the_target_is_none(server, gateway):
    """The same 404, the service's list showing migrations into other targets only (another kind, another database)."""
    start(gateway, "SqlDb")
    server.world.add_fault("get", "error", database="Other", status=404, code="ResourceNotFound")
    assert gateway.current_migration(target("SqlMi")) is None
    assert gateway.current_migration(target("SqlDb", "Other")) is None


def test_a_create_checks_its_404_against_the_list_its_step_read_since_no_operation_began(server, gateway):
    """A step reads the target (404, proven by the service's list), then starts the migration: the create reads the
    target again, and its 404 is checked against that list (`current_migration`, `reuse_list`). Was: a second
    `listMigrations` call, every page, milliseconds after the first, per database started."""
    start(gateway, "SqlDb")
    assert gateway.current_migration(target("SqlMi")) is None
    lists, gets = len(server.received("listMigrations")), len(server.received("get"))

    started = start(gateway, "SqlMi")

    assert not started.adopted and started.migration_operation_id
    assert len(server.received("listMigrations")) == lists, "listed again for the create"
    assert len(server.received("get")) > gets, "the target is read again right before the create"


@pytest.mark.airflow26
def test_a_create_after_an_operation_lists_afresh(server, gateway):
    """No list read before an operation (a create, a cancel) proves a later 404: what it began is in no such list."""
    gateway.migrations_on_service()
    started = start(gateway, "SqlDb")
    gateway.cancel(target("SqlDb"), started.migration_operation_id)
    lists = len(server.received("listMigrations"))
    answer_404_for_the_migration(server)
    with pytest.raises(MigrationAbsenceUnproven):
        start(gateway, "SqlDb")
    assert len(server.received("listMigrations")) == lists + 1


def test_a_paged_list_is_read_to_its_last_page_each_page_once_a_throttled_one_after_its_retry_after(server, transport):
    """`listMigrations` pages (`nextLink`); ARM throttles a page (429, Retry-After 1): the pipeline asks for that page
    again after the time asked for, and no page twice otherwise."""
    gateway = connect(server, transport)
    server.world.set_list_page_size(SERVICE_ID, 1)
    for kind in ("SqlDb", "SqlMi"):
        start(gateway, kind)
    lists = len(server.received("listMigrations"))
    server.world.add_fault("listMigrations", "throttle", retry_after_seconds=1)
    began = time.monotonic()

    listed = gateway.migrations_on_service()

    assert time.monotonic() - began >= 1
    assert sorted(name for _, name, _ in listed) == [SOURCE_DATABASE, SOURCE_DATABASE] and len({s for s, _, _ in listed}) == 2
    pages = [(e["status"], "skiptoken=1" in e["query"]) for e in server.received("listMigrations")[lists:]]
    assert pages == [(429, False), (200, False), (200, True)], pages


@pytest.mark.airflow26
def test_a_listed_migration_without_its_optional_scope_is_placed_by_its_id():
    """`scope` is optional in the 2025-06-30 specification (`DatabaseMigrationBaseProperties` requires only `kind`);
    a migration listed without it is still one into its target (its id names it), for admission and proof alike."""

    class ListWithoutScope:
        def list_migrations(self, resource_group, name):
            return [{"id": scope("SqlMi") + "/providers/Microsoft.DataMigration/databaseMigrations/Sales", "name": "Sales",
                     "properties": {"kind": "SqlMi", "migrationStatus": "InProgress", "migrationOperationId": "op-1"}}]

        def get_migration(self, target, migration_operation_id=None):
            return None

    gateway = DmsGateway(lambda subscription: ListWithoutScope(), ResourceId.parse(SERVICE_ID))
    [(listed_scope, name, status)] = gateway.migrations_on_service()
    assert (listed_scope, name, status.migration_operation_id) == (scope("SqlMi"), "Sales", "op-1")
    with pytest.raises(MigrationAbsenceUnproven, match="lists migration op-1 \\(InProgress\\)"):
        gateway.current_migration(target("SqlMi"))


def still_canceling(server, gateway, kind, operation_id):
    server.world.add_fault("cancel", "stillCanceling", count=50, database=SOURCE_DATABASE)
    assert gateway.cancel(target(kind), operation_id).migration_status == "Canceling"


def copying_after_a_failed_arm_operation(server, gateway, kind, operation_id):
    with server.world.transaction() as state:
        for record in state["databaseMigrations"].values():
            record["operations"][-1]["provisioningState"] = "Failed"
    status = gateway.current_migration(target(kind))
    assert (status.migration_status, status.provisioning_state, status.is_in_flight) == ("InProgress", "Failed", False)


@pytest.mark.airflow26
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("still_works, state", [(still_canceling, "it is being canceled"),
                                                (copying_after_a_failed_arm_operation, "it still copies though its last ARM operation failed")],
                         ids=["canceling", "copying-after-a-failed-arm-operation"])
def test_start_neither_adopts_nor_creates_over_a_migration_dms_still_works_on(server, gateway, kind, still_works, state):
    """DMS still cancels the target's migration, or still copies it though its last ARM operation failed: DMS may still
    restore into the target. Before: only a migration in flight was looked at, so start sent a new PUT (create) over it
    (what DMS does with it is not documented; the contract server refuses it 409 OperationInProgress, which the DAG
    took for Azure busy and poked again until the deadline)."""
    first = start(gateway, kind)
    still_works(server, gateway, kind, first.migration_operation_id)
    with pytest.raises(MigrationConflictError, match="DMS still works on migration %s .*: %s, so it is not adopted, and no migration is created"
                       % (first.migration_operation_id, state)):
        gateway.start(target(kind), SOURCE_DATABASE, never_called)
    assert len(server.received("create")) == 1, "a create was sent over the migration DMS still works on"


@pytest.mark.parametrize("kind", KINDS)
def test_start_after_a_canceled_migration_creates_a_new_one(server, gateway, kind):
    first = start(gateway, kind)
    canceled = gateway.cancel(target(kind), first.migration_operation_id)
    assert canceled.migration_status == "Canceled"
    second = start(gateway, kind)
    assert second.adopted is False and second.migration_operation_id != first.migration_operation_id


def test_start_never_logs_the_request_secrets(server, gateway, caplog):
    body = create_body("SqlMi")
    body["properties"]["sourceSqlConnection"]["password"] = "S3cr3t-Pa55"
    with caplog.at_level(logging.DEBUG):
        gateway.start(target("SqlMi"), SOURCE_DATABASE, lambda: body)
    assert "Started migration" in caplog.text
    assert "S3cr3t-Pa55" not in caplog.text


@pytest.mark.parametrize("kind", ONLINE_KINDS)
def test_an_offline_migration_finishes_at_the_last_backup_it_was_told(server, gateway, kind):
    back_up(server.world, "FULL", "Sales_full.bak")
    result = gateway.start(target(kind), SOURCE_DATABASE, lambda: create_body(kind, offline=True), last_backup_name="Sales_final.trn")
    assert (result.status.offline, result.status.last_backup_name) == (True, "Sales_final.trn")
    for _ in range(4):
        assert gateway.status(target(kind), result.migration_operation_id).stage == COPYING  # never ready: offline
    write(server.world)
    back_up(server.world, "LOG", "Sales_final.trn")
    done = poll(gateway, kind, result.migration_operation_id, SUCCEEDED)
    assert done.is_backup_restored("Sales_final.trn")


@pytest.mark.airflow26
@pytest.mark.parametrize("kind, offline", [("SqlMi", False), ("SqlDb", True)])
def test_last_backup_name_is_refused_where_dms_has_no_use_for_it(server, gateway, kind, offline):
    with pytest.raises(ValueError, match="lastBackupName is for offline SqlMi and SqlVm migrations"):
        gateway.start(target(kind), SOURCE_DATABASE, lambda: create_body(kind, offline=offline), last_backup_name="x.trn")
    assert server.received("create") == []


@pytest.mark.airflow26
@pytest.mark.parametrize("kind", KINDS)
def test_cancel_of_a_finished_migration_returns_its_status(server, gateway, kind):
    back_up(server.world, "FULL", "Sales_full.bak")
    result = gateway.start(target(kind), SOURCE_DATABASE, lambda: create_body(kind, offline=True))
    poll(gateway, kind, result.migration_operation_id, SUCCEEDED)
    assert gateway.cancel(target(kind), result.migration_operation_id).migration_status == "Succeeded"


# Answers that Azure's specifications document as "wait until the operation in progress is done": retried by a later
# poke, never a failure for good. sqlmigration.json (2025-06-30, every databaseMigrations operation's error list):
# 400 DeleteMigrationNotAllowedDeleteInProgress (a person deleting the migration resource: the DAG never does),
# 409 SubscriptionOperationInProgress; ManagedDatabases.json
# (Microsoft.Sql 2023-08-01, ManagedDatabases_Delete): 409 ConflictingServerOperation, 400 ManagedInstanceUpdateSloInProgress.
BUSY_ANSWERS = [
    ("cancel", 400, "DeleteMigrationNotAllowedDeleteInProgress"),
    ("cancel", 409, "SubscriptionOperationInProgress"),
    ("deleteManagedDatabase", 409, "ConflictingServerOperation"),
    ("deleteManagedDatabase", 400, "ManagedInstanceUpdateSloInProgress"),
]


@pytest.mark.parametrize("operation, status, code", BUSY_ANSWERS)
def test_a_refusal_azure_documents_as_busy_with_another_operation_is_retryable(server, gateway, operation, status, code):
    result = start(gateway, "SqlMi")
    server.world.put_database("mi1", SOURCE_DATABASE, state="RESTORING")
    server.world.add_fault(operation, "error", status=status, code=code, message="another operation is in progress")
    call = {
        "cancel": lambda: gateway.cancel(target("SqlMi"), result.migration_operation_id),
        "deleteManagedDatabase": lambda: gateway.delete_target_database(target("SqlMi")),
    }[operation]
    with pytest.raises(DmsOperationFailed) as busy:
        call()
    assert busy.value.code == code and busy.value.retryable
    assert [e["status"] for e in server.received(operation)] == [status]  # not retried at once: a later poke does


def test_a_managed_database_arm_reports_without_a_status_reads_present():
    """`properties.status` is read-only and optional in ManagedDatabases.json: a database ARM returns without one is
    there, its status unknown (was: None, as for one absent, so the rollback took it for gone or not Online)."""

    class NoStatus:
        def get_migration(self, target, migration_operation_id=None):
            return None

        def get_managed_database(self, target):
            return {"id": "x", "name": "Sales", "properties": {"collation": "SQL_Latin1_General_CP1_CI_AS"}}

    gateway = DmsGateway(lambda subscription: NoStatus(), ResourceId.parse(SERVICE_ID))
    database = gateway.managed_database(target("SqlMi"))
    assert database is not None and database.status is None


@pytest.mark.airflow26
def test_delete_target_database_removes_a_managed_instance_database(server, gateway):
    back_up(server.world, "FULL", "Sales_full.bak")
    result = start(gateway, "SqlMi")
    poll(gateway, "SqlMi", result.migration_operation_id, READY_FOR_CUTOVER)
    assert gateway.delete_target_database(target("SqlMi")) is True
    assert server.world.database("mi1", SOURCE_DATABASE) is None
    assert gateway.managed_database(target("SqlMi")) is None
    assert gateway.delete_target_database(target("SqlMi")) is False


@pytest.mark.airflow26
@pytest.mark.parametrize("kind", ["SqlDb", "SqlVm"])
def test_only_managed_instance_databases_are_deleted_through_arm(server, gateway, kind):
    with pytest.raises(ValueError, match="only SqlMi databases are ARM resources"):
        gateway.delete_target_database(target(kind))
    assert server.received("deleteManagedDatabase") == []


# -- every fault kind, for every target kind ------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_throttling_is_retried_after_the_time_dms_asks_for(server, gateway, kind):
    result = start(gateway, kind)
    server.world.add_fault("get", "throttle", retry_after_seconds=1)
    began = time.monotonic()
    assert gateway.status(target(kind), result.migration_operation_id).migration_operation_id == result.migration_operation_id
    assert time.monotonic() - began >= 1
    assert [e["status"] for e in server.received("get")][-2:] == [429, 200]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried_by_the_pipeline(server, gateway, kind, status):
    server.world.add_fault("create", "error", status=status)
    result = start(gateway, kind)  # PUT retried
    action = "cutover" if kind in ONLINE_KINDS else "cancel"
    server.world.add_fault(action, "error", status=status)
    if kind in ONLINE_KINDS:
        back_up(server.world, "FULL", "Sales_full.bak")
        poll(gateway, kind, result.migration_operation_id, READY_FOR_CUTOVER)
        assert gateway.cutover(target(kind), result.migration_operation_id).cutover_requested  # POST retried on 5xx
    else:
        assert gateway.cancel(target(kind), result.migration_operation_id).migration_status == "Canceled"
    assert [e["status"] for e in server.received("create")] == [status, 201]
    assert [e["status"] for e in server.received(action)] == [status, 202]


@pytest.mark.parametrize("kind", KINDS)
def test_a_connection_reset_on_a_read_is_retried(server, gateway, kind):
    result = start(gateway, kind)
    server.world.add_fault("get", "reset")
    assert gateway.status(target(kind), result.migration_operation_id).migration_operation_id == result.migration_operation_id
    assert [e["fault"] for e in server.received("get")][-2:] == ["reset", None]


@pytest.mark.airflow26
@pytest.mark.parametrize("kind", KINDS)
def test_a_connection_reset_on_a_post_is_a_retryable_error_and_the_retry_works(server, gateway, kind):
    if kind in ONLINE_KINDS:
        operation_id = ready_for_cutover(server, gateway, kind)
        action, call = "cutover", lambda: gateway.cutover(target(kind), operation_id)
    else:
        operation_id = start(gateway, kind).migration_operation_id
        action, call = "cancel", lambda: gateway.cancel(target(kind), operation_id)
    server.world.add_fault(action, "reset")
    with pytest.raises(DmsUnavailable) as unavailable:  # POST is not retried by the pipeline
        call()
    assert unavailable.value.retryable
    assert call().migration_status in ("Completing", "Succeeded", "Canceled")


@pytest.mark.parametrize("kind", KINDS)
def test_a_slow_answer_is_awaited(server, gateway, kind):
    result = start(gateway, kind)
    server.world.add_fault("get", "slow", delay_seconds=0.3)
    began = time.monotonic()
    gateway.status(target(kind), result.migration_operation_id)
    assert time.monotonic() - began >= 0.3


def test_an_answer_slower_than_the_read_timeout_is_asked_again(server, transport):
    gateway = connect(server, transport, read_timeout=0.5)
    server.world.add_fault("getService", "slow", delay_seconds=1.5)
    assert gateway.integration_runtime_state() == "Online"
    assert [e["fault"] for e in server.received("getService")] == ["slow", None]


@pytest.mark.parametrize("kind", KINDS)
def test_a_create_whose_operation_fails_raises_and_leaves_a_failed_migration(server, gateway, kind):
    server.world.add_fault("create", "lroFailed", code="InternalServerError", message="provisioning broke")
    with pytest.raises(DmsOperationFailed, match="create the migration of Sales.*ended Failed: InternalServerError: provisioning broke") as failed:
        start(gateway, kind)
    assert failed.value.code == "InternalServerError"
    assert gateway.current_migration(target(kind)).is_terminal_failure


@pytest.mark.parametrize("kind", KINDS)
def test_a_create_dms_cannot_validate_raises_with_its_reason(server, gateway, kind):
    with pytest.raises(DmsOperationFailed, match="TestConnectionFailed.*Missing") as failed:
        gateway.start(target(kind), "Missing", lambda: create_body(kind, source_database="Missing"))
    assert failed.value.code == "TestConnectionFailed"


@pytest.mark.parametrize("kind", ONLINE_KINDS)
def test_a_cutover_whose_operation_fails_raises_from_cutover(server, gateway, kind):
    operation_id = ready_for_cutover(server, gateway, kind)
    server.world.add_fault("cutover", "lroFailed", message="the tail of the log is damaged")
    with pytest.raises(DmsOperationFailed, match="CutoverFailedOrCancelled.*the tail of the log is damaged") as failed:
        gateway.cutover(target(kind), operation_id)
    assert failed.value.code == "CutoverFailedOrCancelled"
    assert gateway.status(target(kind), operation_id).migration_status == "InProgress"  # not cut over


@pytest.mark.parametrize("kind", ONLINE_KINDS)
def test_a_cutover_dms_refuses_raises(server, gateway, kind):
    operation_id = start(gateway, kind).migration_operation_id  # no full backup restored yet
    with pytest.raises(DmsOperationFailed) as refused:
        gateway.cutover(target(kind), operation_id)
    assert refused.value.code == "MigrationNotReadyForCutoverError"


@pytest.mark.parametrize("kind", KINDS)
def test_a_cancel_whose_operation_fails_raises(server, gateway, kind):
    operation_id = start(gateway, kind).migration_operation_id
    server.world.add_fault("cancel", "lroFailed")
    with pytest.raises(DmsOperationFailed, match="cancel migration"):
        gateway.cancel(target(kind), operation_id)
    assert gateway.status(target(kind), operation_id).is_in_flight


@pytest.mark.airflow26
def test_a_managed_database_delete_whose_operation_fails_raises(server, gateway):
    server.world.put_database("mi1", SOURCE_DATABASE, state="RESTORING")
    server.world.add_fault("deleteManagedDatabase", "lroFailed")
    with pytest.raises(DmsOperationFailed, match="delete database Sales"):
        gateway.delete_target_database(target("SqlMi"))
    assert server.world.database("mi1", SOURCE_DATABASE) is not None


@pytest.mark.airflow26
@pytest.mark.parametrize("kind", KINDS)
def test_an_operation_past_its_deadline_times_out_and_a_retry_adopts_it(server, transport, kind):
    server.retry_after_seconds = 2  # DMS asks to be polled later than the deadline
    impatient = connect(server, transport, timing=OperationTiming(timeout_seconds=0.3, polling_interval_seconds=0.02))
    with pytest.raises(DmsOperationTimeout, match="within 0.3 s") as late:
        start(impatient, kind)
    assert late.value.retryable
    server.retry_after_seconds = 0
    assert start(connect(server, transport), kind).adopted is True


def test_an_operation_given_up_on_is_polled_no_more(server, transport):
    """azure-core polls a long-running operation in a thread of its own: given up on at the deadline, it polled on
    (each wait up to a minute) for an attempt that had moved on, until the operation ended or the process did."""
    server.retry_after_seconds = 1
    impatient = connect(server, transport, timing=OperationTiming(timeout_seconds=0.3, polling_interval_seconds=0.02))
    with pytest.raises(DmsOperationTimeout):
        start(impatient, "SqlMi")
    given_up = len(server.received())
    time.sleep(2.5)  # past two more polls of the operation, a second apart
    assert server.received()[given_up:] == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_migration_failing_in_dms_is_reported_by_status(server, gateway, kind):
    result = start(gateway, kind)
    server.world.add_fault("migrate", "migrationFailed", code="RestoreFailed", message="disk full")
    status = gateway.status(target(kind), result.migration_operation_id)
    assert status.is_terminal_failure and status.error_message == "disk full"


# -- the request the plan builds, through the gateway into DMS -----------------------------------


class Secrets:
    def get(self, connection_id):
        return ConnectionSecret(connection_id, "%s.example" % connection_id, 1433, "user-" + connection_id, "pw-" + connection_id)


def seed_migration(world, plan, database) -> MigrationTarget:
    """The database's source with a row and its target server: a SqlDb target with the table's schema, else a full
    backup in the share."""
    migration_target = MigrationTarget.of(plan, database)
    world.add_server(migration_target.server_name, migration_target.kind)
    source = plan.source_of(database)
    world.add_server(source.name) if world.server(source.name) is None else None
    world.put_database(source.name, database.source_database, tables={"dbo.T": {"columns": [{"name": "Id", "type": "int"}], "rows": [[1]]}})
    if migration_target.kind == "SqlDb":
        world.put_database(migration_target.server_name, database.target_database, tables={"dbo.T": {"columns": [{"name": "Id", "type": "int"}], "rows": []}})
    else:
        world.take_backup(source.name, database.source_database, "FULL", source.backup_file_share.path + "\\full.bak")
    return migration_target


@pytest.mark.parametrize("name", ["to_mi", "to_db", "to_vm"])
def test_the_request_the_plan_builds_migrates_each_target_kind(server, gateway, name):
    plan = parse_plan(renamed_targets_document())
    database = plan.database(name)
    migration_target = seed_migration(server.world, plan, database)
    world = server.world
    secrets = Secrets()

    result = gateway.start(migration_target, database.source_database, lambda: build_migration_request(plan, database, SERVICE_ID, secrets))
    for _ in range(6):
        status = gateway.status(migration_target, result.migration_operation_id)
    assert status.stage == SUCCEEDED, status.describe()
    copied = world.database(migration_target.server_name, database.target_database)
    assert copied["state"] == "ONLINE" and copied["tables"]["dbo.T"]["rows"] == [[1]]
    assert copied["restoredFrom"]["database"] == database.source_database


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
def test_request_has_the_recorded_shape(document, kind, recording, not_sent):
    plan = parse_plan(document)
    request = build_migration_request(plan, plan.databases[0], SERVICE_ID, Secrets())
    recorded_request = recorded(recording)["parameters"]["parameters"]

    assert key_paths(recorded_request) - key_paths(request) == not_sent
    assert key_paths(request) <= key_paths(recorded_request)
    properties = request["properties"]
    assert (properties["kind"], properties["migrationService"], properties["sourceDatabaseName"]) == (kind, SERVICE_ID, "Sales")
    assert properties["sourceSqlConnection"]["password"] == "pw-mssql_source_sql01"
    if sdk_available():  # the SDK's own body serializer accepts it
        from azure.mgmt.datamigration import models as dms_models
        from azure.mgmt.datamigration._utils.serialization import Serializer

        serializer = Serializer({k: v for k, v in vars(dms_models).items() if isinstance(v, type)})
        wire = serializer.body(request, {"SqlMi": "DatabaseMigrationSqlMi", "SqlDb": "DatabaseMigrationSqlDb"}[kind])
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


@pytest.mark.airflow26
@pytest.mark.parametrize("environ, expected", [({"MIGRATION_DMS_TRANSPORT": "rest"}, "rest"), ({}, None)])
def test_the_deployed_dag_connects_dms_with_the_transport_the_environment_asks_for(monkeypatch, environ, expected):
    from migration_orchestration_lib import services

    asked = []
    monkeypatch.setattr(services.DmsGateway, "connect", staticmethod(lambda *args, **kwargs: asked.append(kwargs.get("transport"))))
    monkeypatch.setattr(services, "_credential", lambda: object())
    monkeypatch.setattr(services, "sql_access_for", lambda *args, **kwargs: None)
    monkeypatch.setattr("migration_orchestration_lib.connections.AirflowConnections", lambda: None)
    services.services_for(parse_plan(load_plan_document()), {"MIGRATION_DMS_RESOURCE_ID": SERVICE_ID, **environ})
    assert asked == [expected]


@pytest.mark.airflow26
def test_run_outcome_connects_dms_alone_building_no_sql_access(monkeypatch):
    """run_outcome looks in DMS for databases removed from the plan: a SQL access it cannot build (a Data
    Factory id missing, say) must not make that look fail."""
    from migration_orchestration_lib import services

    monkeypatch.setattr(services.DmsGateway, "connect", staticmethod(lambda *args, **kwargs: "gateway"))
    monkeypatch.setattr(services, "_credential", lambda: object())
    monkeypatch.setattr(services, "sql_access_for", lambda *args, **kwargs: pytest.fail("no SQL access for run_outcome"))
    assert services.dms_for(parse_plan(load_plan_document()), {"MIGRATION_DMS_RESOURCE_ID": SERVICE_ID}) == "gateway"


class TrustingSecrets(Secrets):
    """Logins whose Airflow connections in `trusted` say `"trust_server_certificate": true`."""

    def __init__(self, *trusted):
        self.trusted = set(trusted)

    def get(self, connection_id):
        login = super().get(connection_id)
        return ConnectionSecret(login.connection_id, login.host, login.port, login.login, login.password,
                                trust_server_certificate=connection_id in self.trusted)


@pytest.mark.parametrize("document, name", [(load_plan_document(), "database_1"), (sql_db_document(), "database_1")])
def test_dms_checks_certificates_unless_the_connection_trusts_them(document, name, caplog):
    """Before, every request said trustServerCertificate true, source and SqlDb target alike: any certificate trusted."""
    plan = parse_plan(document)
    database = plan.database(name)
    source_id, target = plan.source_of(database).connection_id, plan.target_of(database)
    connections = ["sourceSqlConnection"] + (["targetSqlConnection"] if target.kind == "SqlDb" else [])

    checked = build_migration_request(plan, database, SERVICE_ID, Secrets())["properties"]
    assert [(checked[c]["encryptConnection"], checked[c]["trustServerCertificate"]) for c in connections] == [(True, False)] * len(connections)
    assert "trusts" not in caplog.text

    with caplog.at_level(logging.WARNING, logger="migration_orchestration_lib.migration_request"):
        trusted = build_migration_request(plan, database, SERVICE_ID, TrustingSecrets(source_id))["properties"]
    assert trusted["sourceSqlConnection"]["trustServerCertificate"] is True
    assert "Connection %s trusts %s's TLS certificate (extra trust_server_certificate)" % (
        source_id, plan.source_of(database).data_source) in caplog.text
    if target.kind == "SqlDb":
        assert trusted["targetSqlConnection"]["trustServerCertificate"] is False
        both = build_migration_request(plan, database, SERVICE_ID, TrustingSecrets(source_id, target.connection_id))["properties"]
        assert both["targetSqlConnection"]["trustServerCertificate"] is True
        assert "Connection %s trusts" % target.connection_id in caplog.text


@pytest.mark.parametrize("name", ["to_mi", "to_db"])
def test_a_self_signed_source_is_refused_until_its_connection_trusts_it(server, gateway, name):
    plan = parse_plan(renamed_targets_document())
    database = plan.database(name)
    migration_target = seed_migration(server.world, plan, database)
    source = plan.source_of(database)
    server.world.set_self_signed_certificate(source.name)

    with pytest.raises(DmsOperationFailed, match="certificate chain was issued by an authority that is not trusted") as refused:
        gateway.start(migration_target, database.source_database, lambda: build_migration_request(plan, database, SERVICE_ID, Secrets()))
    assert refused.value.code == "TestConnectionFailed"

    trusting = TrustingSecrets(source.connection_id)
    result = gateway.start(migration_target, database.source_database, lambda: build_migration_request(plan, database, SERVICE_ID, trusting))
    for _ in range(6):
        status = gateway.status(migration_target, result.migration_operation_id)
    assert status.stage == SUCCEEDED, status.describe()
