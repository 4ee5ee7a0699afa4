"""An Azure API that is briefly unavailable (throttled, 5xx, connections reset) while a migration
replicates for days is waited out, not treated as the migration's failure.

Before, a transient error left the step as an exception: Airflow retried it (`retries`, 2 on a real
host, 2 minutes apart), then failed it, and `rollback` (one_failed) canceled the replication. With
azure-core's defaults (3 status retries, 0.8 s exponential backoff) that is an ARM or Data Factory
outage of about five minutes. Now the poke that meets it waits like any other (`Running`), within
the database's deadline, and the next poke carries on.

Run task by task (`task_driver`) on the rehearsal world: the real gateway over HTTP against the DMS
contract server, whose faults stand in for Azure's.
"""
from __future__ import annotations

import pytest
from azure.core.exceptions import ServiceResponseError

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib.dms_gateway import DmsError
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from task_driver import RunDriver
from world_view import WorldView

pytestmark = [pytest.mark.airflow210, pytest.mark.airflow26]

# The rehearsal's gateway sends each request 3 times (retry_total=2) and its tasks have retries=1:
# 2 tries x 3 requests used to fail the task, and the rollback right after found ARM back and
# canceled the replication.
OUTAGE_REQUESTS = 6


def run_with_outage(directory, plan, after_task, operation, kind, count=OUTAGE_REQUESTS, **fault):
    """One run of the database `db`; right after `after_task` pokes for the first time, the next
    `count` requests of `operation` fail with `kind` (`after_task` None: from the run's first request on). Asserts the
    outage was waited out."""
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    world = WorldView(directory, plan.database("db"), plan)
    if after_task is None:
        world.world.add_fault(operation, kind, count=count, **fault)
        world.injected = True
    driver = RunDriver(dag, world.observe if after_task is None else world.fault_after(after_task, operation, kind, count=count, **fault))
    driver.run_database("db")

    assert world.injected, "the outage was never injected"
    assert driver.outcome("db") == "migrated", driver.errors
    assert driver.states["db.rollback"] == "skipped"
    [migration] = world.operations()  # never canceled and started again
    assert migration["migrationStatus"] == "Succeeded"


@pytest.mark.parametrize(
    "kind, fault",
    [
        pytest.param("error", {"status": 503}, id="503"),
        pytest.param("error", {"status": 500}, id="500"),
        pytest.param("reset", {}, id="connection-reset"),
        # the migration's GET answers 404 while listMigrations lists it: before, "DMS has no migration", rolled back
        pytest.param("error", {"status": 404, "code": "ResourceNotFound"}, id="404-contradicted-by-the-list"),
    ],
)
def test_an_arm_outage_while_the_migration_replicates_is_waited_out_not_rolled_back(rehearsal_world, kind, fault):
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online")]))
    # wait_for_migration meets it
    run_with_outage(rehearsal_world, plan, "db.start_migration", "get", kind, **fault)


@pytest.mark.parametrize("meets_it", ["preflight", "start_migration", "await_cutover"])
def test_a_throttled_list_of_the_services_migrations_is_waited_out_wherever_a_step_reads_it(rehearsal_world, meets_it):
    """ARM throttles `listMigrations` (429 with Retry-After, past the pipeline's retries, both tries) where a step
    lists: the 404's proof (preflight, start_migration, whose admission counts on that list) and await_cutover's count
    of the cutovers in progress (`cutover.maxConcurrent`). Each poke that meets it waits (`DmsUnavailable`), never
    reads it as "no migration"; the run migrates."""
    from migration_rehearsal.world import World

    document = plan_with_databases([database_entry("db", "Sales", mode="online")])
    document["cutover"] = {"maxConcurrent": 1}
    plan = parse_plan(document)
    after = {"preflight": None, "start_migration": "db.preflight", "await_cutover": "db.wait_for_migration"}[meets_it]
    run_with_outage(rehearsal_world, plan, after, "listMigrations", "throttle", retry_after_seconds=0.01)
    assert not World(str(rehearsal_world)).faults(), "every throttled answer was read"


def test_a_throttled_data_factory_while_a_sql_step_runs_is_waited_out(rehearsal_world):
    """Through Data Factory (Fabric, Data Factory hosts): its client raises azure-core's own
    HttpResponseError once its retries are spent; a 429 too long is waited out like ARM's."""
    from test_crash_matrix import plan_of

    # 4 requests per call (azure-core's 3 status retries) x 2 tries; freeze_source meets it
    run_with_outage(
        rehearsal_world, plan_of("offline_sqlmi_data_factory"), "db.start_migration", "getPipelineRun", "throttle",
        count=8, retry_after_seconds=0.01,
    )


def test_a_sql_step_whose_data_factory_pipeline_queue_is_full_waits_for_a_place(rehearsal_world, tmp_path, monkeypatch):
    """Data Factory refuses a run beyond the 100 queued on a pipeline with a concurrency (a large plan's preflights or
    freezes, waiting without a slot, outnumber them): the step that meets it waits (`Running`: the queue of the pipeline is full) and
    runs once a place frees. Before, the refusal failed the freeze and the rollback undid the migration."""
    import json

    from migration_rehearsal.data_factory_server import QUEUE_FULL
    from test_crash_matrix import plan_of

    from migration_orchestration_lib.step_context import StepContext

    events = tmp_path / "events.jsonl"
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(events))
    # The pokes within one period of reads made afresh, as in Azure (24 min against pokes a minute apart): a rehearsal's
    # period is 30 s (it was 2 s, which a loaded machine's pokes crossed), and a crossing submits start_migration's read
    # of the target again, which takes the injected refusals on the target's pipeline, not the source's.
    monkeypatch.setattr(StepContext, "afresh", lambda self, purpose: "%s:0" % purpose)
    run_with_outage(
        rehearsal_world, plan_of("offline_sqlmi_data_factory"), "db.start_migration", "createRun", "error",
        count=3, status=400, code="BadRequest", message=QUEUE_FULL,
    )
    waits = [row for row in map(json.loads, events.read_text().splitlines()) if "pipeline migration_sql_query_self_hosted is full" in row["Message"]]
    assert len(waits) == 3 and {row["Status"] for row in waits} == {"Running"}, waits


def test_an_arm_outage_while_waiting_days_for_the_cutover_window_is_waited_out(rehearsal_world, monkeypatch):
    """await_cutover has no deadline while it waits (a plan may wait days for Saturday night): an
    outage there must not meet preflight's deadline either."""
    from test_crash_matrix import plan_of

    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-03T12:00:00Z")
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
    run_with_outage(rehearsal_world, plan_of("online_sqlmi_gated"), "db.wait_for_migration", "get", "error", status=503)


def _connection_config(client):
    """The requests transport's timeouts of an azure-core client (generated, or ARMPipelineClient)."""
    pipeline_client = getattr(client, "_client", client)
    return pipeline_client._pipeline._transport.connection_config


def test_every_azure_client_gives_up_on_a_silent_connection_well_within_a_poke():
    """azure-core waits 300 s to connect and 300 s for an answer by default, and retries a read 3
    times: a black-holed connection to ARM held a poke past its execution_timeout (20 min), with no
    event for longer than the 15-minute heartbeat, and failed the try. Each client now gives up in
    time for the poke to wait it out."""
    from migration_orchestration_lib.dms_transport import StaticTokenCredential, connect_transport, sdk_available
    from migration_orchestration_lib.events import LogsIngestionEventWriter
    from migration_orchestration_lib.settings import EventSettings, Timing
    from migration_orchestration_lib.sql_access_data_factory import data_factory_client

    credential = StaticTokenCredential()
    clients = {
        "dms rest": connect_transport(credential, "sub", transport="rest")._client,
        "data factory": data_factory_client("sub", credential),
        "events": LogsIngestionEventWriter.connect(
            EventSettings("https://dce.example.ingest.monitor.azure.com", "dcr-1", "Custom-MigrationEvents_CL"), lambda: credential
        )._client_factory(),
    }
    if sdk_available():
        clients["dms sdk"] = connect_transport(credential, "sub", transport="sdk")._client
    budget = Timing.for_environment({}).max_poke_wait.total_seconds()
    attempts = 1 + 3  # azure-core's retry_read / retry_connect
    for name, client in clients.items():
        config = _connection_config(client)
        assert attempts * (config.timeout + config.read_timeout) <= budget, (name, config.timeout, config.read_timeout)


@pytest.mark.parametrize("token", ["c2tpcA%2B%2F%3D%3D", "plain-token"])
def test_the_rest_transport_reads_every_page_of_the_migrations_of_a_service(token):
    """`listMigrations` pages with `nextLink` (the admission count must see every migration on the
    service). Its skip token goes back exactly as ARM wrote it, and our api-version replaces its."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from migration_orchestration_lib.dms_transport import StaticTokenCredential, connect_transport

    asked = []

    class Arm(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            host = "http://127.0.0.1:%d" % self.server.server_address[1]
            base = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.DataMigration/sqlMigrationServices/dms/listMigrations"
            if "skiptoken" in self.path:
                page = {"value": [{"name": "b"}]}
            else:
                page = {"value": [{"name": "a"}], "nextLink": host + base + "?api-version=2022-03-30-preview&$skiptoken=" + token}
            body = json.dumps(page).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Arm)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()  # shutdown() waits a poll: 0.5 s by default
    try:
        rest = connect_transport(StaticTokenCredential(), "sub", transport="rest", base_url="http://127.0.0.1:%d" % server.server_address[1])
        assert [m["name"] for m in rest.list_migrations("rg", "dms")] == ["a", "b"]
    finally:
        server.shutdown()
    from urllib.parse import parse_qs, unquote, urlsplit

    sent = parse_qs(urlsplit(asked[1]).query)  # as ARM reads a query: "+" is a space
    assert sent["$skiptoken"] == [unquote(token)], asked
    assert sent["api-version"] == ["2025-06-30"], asked


@pytest.mark.parametrize(
    "error, waits",
    [
        pytest.param(DmsError("throttled", retryable=True), True, id="dms-throttled"),
        pytest.param(ServiceResponseError("connection reset"), True, id="connection-reset"),
        pytest.param(DmsError("refused"), False, id="dms-refused"),
    ],
)
def test_the_hitl_gate_waits_out_an_outage_and_fails_on_anything_else(monkeypatch, error, waits):
    """Channel hitl decides through `StepGate`, not MigrationTask.poke: the same errors are waited out there."""
    from types import SimpleNamespace

    from migration_orchestration_lib import cutover_steps
    from migration_orchestration_lib.airflow_compat import utc_now
    from migration_orchestration_lib.cutover_gate import WAIT
    from migration_orchestration_lib.cutover_hitl import StepGate
    from migration_orchestration_lib.settings import Timing

    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online")]))

    def await_cutover(ctx):
        raise error

    monkeypatch.setattr(cutover_steps, "await_cutover", await_cutover)
    gate = StepGate(plan, "db", Timing.for_environment({}))
    gate._services = SimpleNamespace()  # the step fails before it needs any
    reported = []
    monkeypatch.setattr(gate, "_report_failure", lambda ctx, failure, first: reported.append(failure), raising=False)
    context = {"ti": SimpleNamespace()}
    if waits:
        turn = gate.decide(context, utc_now())
        assert (turn.action, turn.status) == (WAIT, "Running")
        assert turn.message.startswith("Azure unavailable, poking again: ") and reported == []
    else:
        with pytest.raises(DmsError):
            gate.decide(context, utc_now())
        assert reported == [error]


def test_the_hitl_gates_azure_calls_wait_no_longer_than_its_execution_timeout_leaves(monkeypatch):
    """Channel hitl reads DMS through `StepGate`, not MigrationTask.execute: its waits end by its execution_timeout too
    (`azure_waits.calls_end_by`; before, only the minute's cap bounded each one)."""
    import time
    from types import SimpleNamespace

    from migration_orchestration_lib import azure_waits, cutover_steps
    from migration_orchestration_lib.airflow_compat import utc_now
    from migration_orchestration_lib.cutover_hitl import StepGate
    from migration_orchestration_lib.operators import REPORT_SHARE
    from migration_orchestration_lib.settings import Timing
    from migration_orchestration_lib.step_context import StepResult

    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online")]))
    timing = Timing.for_environment({})
    calls_end = []

    def await_cutover(ctx):
        calls_end.append(azure_waits._calls_end)
        return StepResult("go")

    monkeypatch.setattr(cutover_steps, "await_cutover", await_cutover)
    gate = StepGate(plan, "db", timing)
    gate._services = SimpleNamespace()
    gate.decide({"ti": SimpleNamespace()}, utc_now())

    [ends] = calls_end
    assert ends is not None, "no bound while the gate reads Azure"
    assert ends - time.monotonic() <= timing.step_timeout.total_seconds() * (1 - REPORT_SHARE)
    assert azure_waits._calls_end is None, "the bound ends with the gate's decision"


def test_a_data_factory_refusal_is_not_waited_out_it_fails_the_step_and_rolls_back(rehearsal_world):
    """Only throttling, timeouts and 5xx are an outage: a 403 from Data Factory (a role missing, say)
    fails the step after its retries, and its rollback runs, instead of holding the source frozen
    until the deadline while every poke meets the same refusal."""
    from test_crash_matrix import plan_of

    plan = plan_of("offline_sqlmi_data_factory")
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    refusal = world.fault_after(  # each try
        "db.start_migration", "getPipelineRun", "error", count=2, status=403, code="AuthorizationFailed", message="no role")
    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), refusal)
    states = driver.run_database("db")

    failed = [task for task, state in states.items() if state == "failed"]
    assert world.injected and failed and "AuthorizationFailed" in driver.errors[failed[0]], (states, driver.errors)
    assert states["db.rollback"] == "success" and driver.outcome("db") == "rolled_back", driver.errors
    assert world.source_writable()
