"""A run whose events cannot reach Log Analytics must not begin: every alert (a failure, a rollback that failed, a
source frozen too long, a stalled run) reads those events, and a failed upload is otherwise only a warning in the
task log. So preflight's `Started` event must arrive before anything is started or frozen: a refusal no retry
changes fails preflight saying what to fix, a transient one is waited out. Once the run began, an event never fails
it.

The real `azure-monitor-ingestion` client talks HTTP to a loopback stand-in of the Logs Ingestion API
(`POST /dataCollectionRules/{rule}/streams/{stream}`, gzip JSON rows, 204 when stored, Azure's error envelope
otherwise); the rest is the rehearsal world, task by task (`task_driver`).
"""
from __future__ import annotations

import gzip
import json
import logging
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.airflow_compat import AIRFLOW_3, utc_now
from migration_orchestration_lib.events import ROLE_ASSIGNMENT_SPREAD, LoggingEventWriter, LogsIngestionEventWriter, build_event_row
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal import seed_world
from migration_orchestration_lib.settings import EventSettings
import task_driver
from task_driver import RunDriver
from world_view import WorldView

pytestmark = [pytest.mark.airflow210, pytest.mark.airflow26]

RULE_ID = "dcr-00000000000000000000000000000001"
STREAM = "Custom-MigrationEvents_CL"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
SHUTDOWN_POLL_SECONDS = 0.05  # how often serve_forever looks for shutdown(): 0.5 s by default, waited at every teardown

# Answers of the Logs Ingestion API (error envelope {"error": {"code", "message"}}).
REFUSALS = {
    401: ("InvalidToken", "The provided token is invalid or has expired."),
    403: ("OperationFailed", "The authentication token provided does not have access to ingest data for the data "
                             "collection rule with immutable Id '%s'." % RULE_ID),
    404: ("NotFound", "Data collection rule with immutable Id '%s' not found." % RULE_ID),
    400: ("InvalidStream", "Stream '%s' is not declared in the data collection rule." % STREAM),
}
UNAVAILABLE = {429: ("TooManyRequests", "Too many requests."), 503: ("ServiceUnavailable", "The service is unavailable.")}


class LogsIngestionApi:
    """Answers each upload with the next status of `answers` (204 once they run out; a (status, seconds) pair: with
    Retry-After) and keeps the rows it stored."""

    def __init__(self, answers=()):
        self.answers = list(answers)
        self.stored = []
        self.requests = 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                rows = json.loads(gzip.decompress(body) if self.headers.get("Content-Encoding") == "gzip" else body)
                assert self.path.startswith("/dataCollectionRules/%s/streams/%s?" % (RULE_ID, STREAM)), self.path
                api.requests += 1
                status = api.answers.pop(0) if api.answers else 204
                status, retry_after = status if isinstance(status, tuple) else (status, None)
                if status == 204:
                    api.stored.extend(rows)
                    self.send_response(204)
                    self.end_headers()
                    return
                code, message = {**REFUSALS, **UNAVAILABLE}[status]
                payload = json.dumps({"error": {"code": code, "message": message}}).encode()
                self.send_response(status)
                if retry_after is not None:
                    self.send_header("Retry-After", str(retry_after))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), daemon=True).start()
        self.endpoint = "http://127.0.0.1:%d" % self.server.server_address[1]

    def writer(self) -> LogsIngestionEventWriter:
        """The DAG's writer on the real client, one request a call (no retries of its own, no sign-in over plain HTTP)."""
        from azure.core.pipeline.policies import SansIOHTTPPolicy
        from azure.monitor.ingestion import LogsIngestionClient

        settings = EventSettings(self.endpoint, RULE_ID, STREAM, client_id=CLIENT_ID)
        return LogsIngestionEventWriter(
            settings,
            lambda: LogsIngestionClient(endpoint=self.endpoint, credential=object(), authentication_policy=SansIOHTTPPolicy(), retry_total=0),
        )

    def dag_writer(self, endpoint=None, authentication_policy=None) -> LogsIngestionEventWriter:
        """The DAG's writer as the DAG connects it (its retries and timeouts), but signing nothing in (plain HTTP), or
        with `authentication_policy`."""
        from azure.core.pipeline.policies import SansIOHTTPPolicy

        settings = EventSettings(endpoint or self.endpoint, RULE_ID, STREAM, client_id=CLIENT_ID)
        return LogsIngestionEventWriter.connect(settings, object, authentication_policy=authentication_policy or SansIOHTTPPolicy())


@pytest.fixture
def ingestion(monkeypatch):
    """The Logs Ingestion API every event of the test goes to (set `answers` before the run)."""
    api = LogsIngestionApi()
    writer = api.writer()
    monkeypatch.setattr("migration_orchestration_lib.services.event_writer_from_environment", lambda environ: writer)
    yield api
    api.server.shutdown()


def setup(directory):
    """An offline migration to a managed instance: its source is frozen before the final backup."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="offline")]))
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    world = WorldView(directory, plan.database("db"), plan)
    seed_world(world.world, plan)
    return plan, dag, world


@pytest.fixture
def preflight_clock(monkeypatch):
    """The tasks' clock, `minutes_per_poke` later after every poke of `db.preflight` (its waits, without waiting)."""
    clock = type("Clock", (), {"shift": timedelta(0), "minutes_per_poke": 4})()
    monkeypatch.setattr("migration_orchestration_lib.operators.utc_now", lambda: utc_now() + clock.shift)

    def observe(task_id):
        if task_id == "db.preflight":
            clock.shift += timedelta(minutes=clock.minutes_per_poke)

    clock.observe = observe
    return clock


REFUSAL_NAMES = {
    403: ["Monitoring Metrics Publisher", "client id " + CLIENT_ID, RULE_ID, STREAM, "HTTP 403"],
    401: ["Monitoring Metrics Publisher", "client id " + CLIENT_ID, RULE_ID, "HTTP 401"],
    404: ["MIGRATION_EVENTS_RULE_ID", "immutable id", RULE_ID, STREAM, "HTTP 404"],
    400: ["events contract's columns", RULE_ID, STREAM, "HTTP 400", "InvalidStream"],
}


def assert_refused_before_anything(driver, world, status):
    assert driver.tries["db.preflight"] == 1  # no retry can fix it: it fails in its first try
    assert world.operations() == [] and world.source_writable()  # nothing started or frozen
    message = driver.errors["db.preflight"]
    for name in REFUSAL_NAMES[status] + ["clear this preflight or trigger the DAG again"]:
        assert name in message, message
    assert "Traceback" not in message and "\n" not in message


@pytest.mark.parametrize("status", [pytest.param(404, id="no-such-rule"), pytest.param(400, id="stream-refused")])
def test_preflight_refuses_at_once_to_begin_a_run_whose_events_the_rule_refuses(rehearsal_world, ingestion, status):
    """Before, every upload failed with a warning in the task log and the run went on: sources frozen, migrations
    started, and no alert could fire, not even for a rollback that failed. No wait fixes a wrong rule or stream."""
    plan, dag, world = setup(rehearsal_world)
    ingestion.answers = [status] * 50
    pokes = []
    driver = RunDriver(dag, observe=pokes.append)

    states = driver.run_database("db")

    assert states["db.preflight"] == "failed", driver.errors
    assert pokes.count("db.preflight") == 1
    assert_refused_before_anything(driver, world, status)


@pytest.mark.parametrize("status", [pytest.param(403, id="no-role"), pytest.param(401, id="token-refused")])
def test_preflight_refuses_a_run_whose_identity_the_rule_still_refuses_once_a_role_assignment_had_time_to_apply(
    rehearsal_world, ingestion, preflight_clock, status
):
    """A role assignment the apply just made may take minutes to apply: preflight waits for it, then says what to fix."""
    plan, dag, world = setup(rehearsal_world)
    ingestion.answers = [status] * 50
    driver = RunDriver(dag, observe=preflight_clock.observe)

    states = driver.run_database("db")

    assert states["db.preflight"] == "failed", driver.errors
    failed_at = preflight_clock.shift - timedelta(minutes=preflight_clock.minutes_per_poke)  # the clock of its last poke
    assert ROLE_ASSIGNMENT_SPREAD <= failed_at < ROLE_ASSIGNMENT_SPREAD + timedelta(minutes=preflight_clock.minutes_per_poke), failed_at
    assert_refused_before_anything(driver, world, status)


@pytest.mark.parametrize("status", [403, 401])
def test_preflight_waits_for_a_role_assignment_still_applying_and_the_run_goes_on(rehearsal_world, ingestion, preflight_clock, caplog, status):
    """Before, the first run right after `terraform apply` failed for good while the stack's role assignment applied,
    and a person had to clear it."""
    plan, dag, world = setup(rehearsal_world)
    ingestion.answers = [status] * 6  # per poke the proof and its wait's Running event: pokes at 0, 4 and 8 minutes wait
    driver = RunDriver(dag, observe=preflight_clock.observe)

    with caplog.at_level(logging.INFO, logger="migration_orchestration_lib.operators"):
        driver.run_database("db")

    assert driver.outcome("db") == "migrated", driver.errors
    assert [(row["Phase"], row["Status"]) for row in ingestion.stored][:2] == [("preflight", "Started"), ("preflight", "Succeeded")]
    waits = [record.getMessage() for record in caplog.records if "db preflight: waiting" in record.getMessage()]
    assert len(waits) == 3, waits
    for wait in waits:
        assert "Azure unavailable, poking again" in wait and "Monitoring Metrics Publisher" in wait and "HTTP %d" % status in wait, wait


@pytest.mark.parametrize("status", [429, 503])
def test_preflight_waits_out_an_ingestion_api_briefly_unavailable_and_the_run_goes_on(rehearsal_world, ingestion, status):
    plan, dag, world = setup(rehearsal_world)
    ingestion.answers = [status] * 3  # the first proof, the Running event of its wait, the second proof
    pokes = []
    driver = RunDriver(dag, observe=pokes.append)

    driver.run_database("db")

    assert pokes.count("db.preflight") >= 3, pokes
    assert driver.outcome("db") == "migrated", driver.errors
    preflight = [(row["Status"], row["Message"]) for row in ingestion.stored if row["Phase"] == "preflight"]
    assert [status for status, _ in preflight][-2:] == ["Started", "Succeeded"], preflight
    assert all("Azure unavailable, poking again" in message for status, message in preflight if status == "Running")


def test_once_its_events_were_proven_the_run_never_fails_on_one(rehearsal_world, ingestion):
    """The role removed mid-run: its events stop (the stalled alert's case), the migration does not."""
    plan, dag, world = setup(rehearsal_world)
    ingestion.answers = [204] + [403] * 500
    driver = RunDriver(dag)

    driver.run_database("db")

    assert driver.outcome("db") == "migrated", driver.errors
    assert [(row["Phase"], row["Status"]) for row in ingestion.stored] == [("preflight", "Started")]


def test_a_rollbacks_failed_event_the_ingestion_api_did_not_take_is_written_by_run_outcome(rehearsal_world, ingestion, monkeypatch):
    """The rollback fails for good while the Logs Ingestion API answers 503: its `Failed`, the rollback-failed alert's
    only sign, is not stored (a warning in the task log). `run_outcome`, the API back, writes it. Was: the writer
    swallowed the failed upload, so the rollback marked its `Failed` written and run_outcome wrote none: no alert."""
    driver = a_rollback_failed_while_ingestion_was_down(rehearsal_world, ingestion, monkeypatch)
    ingestion.answers = []

    driver.run_outcome()

    assert len(rollbacks_failed(ingestion)) == 1 and "run_outcome found it failed with no event" in rollbacks_failed(ingestion)[0]


def test_an_event_run_outcome_could_not_write_is_written_by_its_retry(rehearsal_world, ingestion, monkeypatch):
    """The API still down when run_outcome writes that `Failed`: run_outcome fails so that Airflow retries it (not
    AirflowFailException), and its retry, the API back, writes it. Was: run_outcome (retries 0) failed for good, its
    event only a warning in its log: the rollback-failed alert never fired."""
    driver = a_rollback_failed_while_ingestion_was_down(rehearsal_world, ingestion, monkeypatch)
    ingestion.answers = [503]  # run_outcome's first try (this writer sends each row once)

    assert driver.run_outcome() == "failed" and driver.tries["run_outcome"] == 2, driver.errors
    assert len(rollbacks_failed(ingestion)) == 1, rollbacks_failed(ingestion)
    assert driver.errors["run_outcome"].startswith("migration run failed: 1 of 1 database(s) not migrated")


def test_where_the_api_stays_down_through_run_outcomes_retries_its_failure_names_the_event_and_says_to_clear_it(
        rehearsal_world, ingestion, monkeypatch):
    driver = a_rollback_failed_while_ingestion_was_down(rehearsal_world, ingestion, monkeypatch)
    ingestion.answers = [503] * 100
    assert driver.run_outcome() == "failed" and driver.tries["run_outcome"] == 2
    message = driver.errors["run_outcome"]
    assert message.startswith("EventsNotWritten: migration run failed: 1 of 1 database(s) not migrated"), message
    for said in ["1 event(s) of this report did not reach Log Analytics", "db rollback / Failed",
                 "clear run_outcome when the Logs Ingestion API takes events again"]:
        assert said in message, message


def a_rollback_failed_while_ingestion_was_down(rehearsal_world, ingestion, monkeypatch) -> RunDriver:
    """A run of `db` whose migration failed and whose rollback then failed for good while the Logs Ingestion API
    answered 503: its `Failed` not stored; run_outcome not run yet."""
    from migration_orchestration_lib import rollback
    from migration_orchestration_lib.step_context import StepFailure

    def stops_for_a_person(ctx):
        raise StepFailure("a person must decide")

    monkeypatch.setattr(rollback, "roll_back", stops_for_a_person)
    monkeypatch.setenv("MIGRATION_SIMULATE_FAILURE", "db")
    plan, dag, world = setup(rehearsal_world)

    def ingestion_down_once_the_migration_failed(task_id):
        if task_id != "run_outcome" and not ingestion.answers and any(row["Status"] == "Failed" for row in ingestion.stored):
            ingestion.answers = [503] * 100

    driver = RunDriver(dag, observe=ingestion_down_once_the_migration_failed)
    assert driver.run_database("db")["db.rollback"] == "failed", driver.errors
    assert rollbacks_failed(ingestion) == []
    return driver


def rollbacks_failed(ingestion) -> list:
    return [row["Message"] for row in ingestion.stored if (row["Phase"], row["Status"]) == ("rollback", "Failed")]


def test_where_events_go_to_the_task_log_there_is_nothing_to_prove():
    """Rehearsals and hosts without an ingestion rule: preflight writes no extra event."""
    writer = LoggingEventWriter()
    writer.prove({"Phase": "preflight", "Status": "Started"})
    assert writer.rows == []


# --- how long an event may hold its task -------------------------------------------------------------------------


def event_row(status="Running"):
    return build_event_row(run_id="run-1", plan_name="p", database="db", phase="wait_for_migration", status=status,
                           duration_seconds=60.0, message="waiting", target_kind="SqlMi", migration_operation_id=None)


def seconds_taken(call, at_most=30.0):
    """How long `call()` took, failing the test where it takes longer than `at_most` (it goes on in a daemon thread)."""
    began = time.monotonic()
    done = threading.Event()
    threading.Thread(target=lambda: (call(), done.set()), daemon=True).start()
    assert done.wait(at_most), "still waiting after %s s" % at_most
    return time.monotonic() - began


def test_an_event_write_waits_on_a_retry_after_no_longer_than_the_cap(monkeypatch):
    """A 429 or 503 asking to come back in a day (Retry-After: 86400): azure-core slept all of it, the task a day, past
    its execution_timeout, without the event. Each wait now lasts at most RETRY_AFTER_CAP, and the event arrives."""
    monkeypatch.setattr("migration_orchestration_lib.azure_waits.RETRY_AFTER_CAP", timedelta(seconds=0.5))
    api = LogsIngestionApi([(429, 86400), (503, 86400)])
    try:
        assert seconds_taken(lambda: api.dag_writer().write(event_row())) < 10
        assert api.requests == 3 and [row["Status"] for row in api.stored] == ["Running"]
    finally:
        api.server.shutdown()


def test_an_event_write_ends_within_the_time_its_task_has_left(caplog):
    """However long and often the API asks to wait, a write ends within its budget (what its task has left before its
    execution_timeout) with a warning naming the API and what it asked; the task goes on. A wait the budget has no room
    for is not begun (before, it slept out the budget, then gave up all the same)."""
    api = LogsIngestionApi([(429, 86400)] * 50)
    try:
        with caplog.at_level(logging.WARNING, logger="migration_orchestration_lib.events"):
            taken = seconds_taken(lambda: api.dag_writer().write(event_row(), timedelta(seconds=2)))
        assert taken < 2, taken
        assert api.stored == [] and "Could not write migration event db/wait_for_migration" in caplog.text
        assert "the Logs Ingestion API: POST 127.0.0.1/dataCollectionRules/" in caplog.text, caplog.text
        assert "answered HTTP 429 asking to come back in 86400 s (Retry-After)" in caplog.text, caplog.text
    finally:
        api.server.shutdown()


def test_a_step_writes_its_events_within_the_attempts_execution_timeout(monkeypatch):
    """The budget of a step's event is what its poke has left of its execution_timeout."""
    from migration_orchestration_lib import operators

    budgets = []

    class Writer:
        def write(self, row, budget=None):
            budgets.append(budget)

    monkeypatch.setattr("migration_orchestration_lib.services.event_writer_from_environment", lambda environ: Writer())
    event = dict(run_id="run-1", plan_name="p", database="db", phase="validate", status="Running", duration_seconds=1.0,
                 message="m", target_kind="SqlMi", migration_operation_id=None)
    operators.write_event(False, operators.utc_now() + timedelta(minutes=20), **event)
    [budget] = budgets
    assert timedelta(minutes=19) < budget <= timedelta(minutes=20)
    operators.write_event(False, operators.utc_now() - timedelta(minutes=1), **dict(event, status="Failed"))
    assert budgets[-1] == operators.LAST_EVENT_BUDGET, "an attempt stopped by its timeout still writes its Failed"


# --- what waiting cannot fix: no such endpoint host, no token for the identity ---------------------------------------

UNKNOWN_HOST = "dce-typo.westeurope-1.ingest.monitor.azure.com"


@pytest.fixture
def dns(monkeypatch):
    """DNS as the test says: `UNKNOWN_HOST` does not exist (NXDOMAIN), `flaky` hosts fail to resolve (EAI_AGAIN) for
    their first `answers_missed` lookups, then resolve to the loopback API."""
    real = socket.getaddrinfo
    state = type("Dns", (), {"answers_missed": 0, "lookups": 0})()

    def getaddrinfo(host, port, *args, **kwargs):
        if host == UNKNOWN_HOST:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if host == "flaky.invalid":
            state.lookups += 1
            if state.lookups <= state.answers_missed:
                raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return state


def test_preflight_fails_at_once_where_dns_knows_no_host_of_the_events_endpoint(rehearsal_world, ingestion, dns, preflight_clock, monkeypatch):
    """A mistyped MIGRATION_EVENTS_ENDPOINT: DNS answers NXDOMAIN, which no wait changes. Before, preflight waited it
    out like an outage until its timeout, and said only that Azure was unavailable."""
    plan, dag, world = setup(rehearsal_world)
    writer = ingestion.dag_writer("https://%s" % UNKNOWN_HOST)
    monkeypatch.setattr("migration_orchestration_lib.services.event_writer_from_environment", lambda environ: writer)
    pokes = []
    driver = RunDriver(dag, observe=lambda task_id: (pokes.append(task_id), preflight_clock.observe(task_id)))

    states = driver.run_database("db")

    assert states["db.preflight"] == "failed" and pokes.count("db.preflight") == 1, (pokes, driver.errors)
    assert driver.tries["db.preflight"] == 1 and world.operations() == [] and world.source_writable()
    message = driver.errors["db.preflight"]
    for name in ["DNS knows no host " + UNKNOWN_HOST, "MIGRATION_EVENTS_ENDPOINT", "clear this preflight or trigger the DAG again"]:
        assert name in message, message
    assert "Traceback" not in message and "\n" not in message


def test_preflight_waits_out_a_resolver_that_does_not_answer(rehearsal_world, ingestion, dns, monkeypatch):
    """EAI_AGAIN (the resolver did not answer) is an outage: waited out, and the run goes on."""
    plan, dag, world = setup(rehearsal_world)
    port = ingestion.endpoint.rsplit(":", 1)[1]
    writer = ingestion.dag_writer("http://flaky.invalid:%s" % port)
    monkeypatch.setattr("migration_orchestration_lib.services.event_writer_from_environment", lambda environ: writer)
    dns.answers_missed = 8  # the first proof (its client retries too), then one poke later
    pokes = []
    driver = RunDriver(dag, observe=pokes.append)

    driver.run_database("db")

    assert pokes.count("db.preflight") >= 2 and driver.outcome("db") == "migrated", (pokes, driver.errors)


NO_TOKEN = (
    "DefaultAzureCredential failed to retrieve a token from the included credentials.\nAttempted credentials:\n"
    "\tEnvironmentCredential: EnvironmentCredential authentication unavailable.\n"
    "\tWorkloadIdentityCredential: AADSTS700213: No matching federated identity record found for presented assertion "
    "subject 'system:serviceaccount:airflow:airflow-worker'.\n"
    "To mitigate this issue, please refer to the troubleshooting guidelines here at https://aka.ms/azsdk/python/identity/defaultazurecredential/troubleshoot."
)


class NoTokenForTheIdentity:
    """What azure-identity's DefaultAzureCredential raises where every credential failed (its message as it words it):
    an authentication policy that asks it for a token before every request (plain HTTP: azure-core's own refuses to
    sign in over it)."""

    def __new__(cls):
        from azure.core.exceptions import ClientAuthenticationError
        from azure.core.pipeline.policies import SansIOHTTPPolicy

        class AsksForAToken(SansIOHTTPPolicy):
            def on_request(self, request):
                raise ClientAuthenticationError(message=NO_TOKEN)

        return AsksForAToken()


def test_preflight_waits_for_an_identity_that_gets_no_token_as_long_as_a_federated_credential_may_spread_then_fails(
    rehearsal_world, ingestion, preflight_clock, monkeypatch
):
    """No federated credential for the service account, a wrong client id: the identity gets no token at all. Before,
    it failed as an unknown error (retried, then failed, its message a multi-line traceback-like text); a credential
    the apply just made may take a moment to apply, so it waits like a role assignment, then fails naming the
    identity and the endpoint."""
    plan, dag, world = setup(rehearsal_world)
    writer = ingestion.dag_writer(authentication_policy=NoTokenForTheIdentity())
    monkeypatch.setattr("migration_orchestration_lib.services.event_writer_from_environment", lambda environ: writer)
    driver = RunDriver(dag, observe=preflight_clock.observe)

    states = driver.run_database("db")

    assert states["db.preflight"] == "failed", driver.errors
    failed_at = preflight_clock.shift - timedelta(minutes=preflight_clock.minutes_per_poke)
    assert ROLE_ASSIGNMENT_SPREAD <= failed_at < ROLE_ASSIGNMENT_SPREAD + timedelta(minutes=preflight_clock.minutes_per_poke), failed_at
    assert driver.tries["db.preflight"] == 1 and world.operations() == [] and world.source_writable()
    message = driver.errors["db.preflight"]
    for name in ["client id " + CLIENT_ID, ingestion.endpoint, "AADSTS700213", "federated credential", "clear this preflight"]:
        assert name in message, message
    assert "\n" not in message and "To mitigate" not in message


# --- one Started per try ------------------------------------------------------------------------------------------------


def test_preflight_writes_its_started_event_once_per_try_however_often_it_pokes(rehearsal_world, ingestion):
    """ARM throttles preflight's reads after its Started event arrived: it pokes again, from its first check. Before,
    each poke wrote Started again, each with the time since the first poke, which the workbook's minutes add up."""
    assert_one_started_event_while_preflight_pokes_again(rehearsal_world, ingestion)


@pytest.mark.skipif(not AIRFLOW_3, reason="Airflow 2 restores the try's start at every poke (its first poke throughout)")
def test_preflight_writes_its_started_event_once_per_try_as_airflow_3_reads_the_first_poke(
    rehearsal_world, ingestion, monkeypatch
):
    """Airflow 3's `get_first_reschedule_date` is None before the try's first reschedule (its first poke takes the
    time it began) and then the start Airflow recorded with that reschedule: the time it rescheduled
    (execution API `ti_update_state`: `actual_start_date = timezone.utcnow()`), not the first poke's. Before, the try
    was told by its first poke, which so reads differently on its first and second pokes: Started twice."""

    def as_airflow_3(task_instance, context):
        if not context.get("task_reschedule_count"):
            return None
        return task_instance.__dict__.setdefault("first_reschedule_recorded", datetime.now(timezone.utc))

    monkeypatch.setattr(task_driver._TaskInstance, "get_first_reschedule_date", as_airflow_3)
    assert_one_started_event_while_preflight_pokes_again(rehearsal_world, ingestion)


def assert_one_started_event_while_preflight_pokes_again(rehearsal_world, ingestion):
    plan, dag, world = setup(rehearsal_world)
    world.world.add_fault("listMigrations", "throttle", count=4, retry_after_seconds=0)
    pokes = []
    driver = RunDriver(dag, observe=pokes.append)

    driver.run_database("db")

    assert pokes.count("db.preflight") >= 2 and driver.outcome("db") == "migrated", (pokes, driver.errors)
    preflight = [row["Status"] for row in ingestion.stored if row["Phase"] == "preflight"]
    assert preflight.count("Started") == 1 and preflight[-1] == "Succeeded", preflight


def test_a_new_try_of_preflight_proves_its_events_again(rehearsal_world, ingestion):
    """A retried or cleared preflight is a new try: its Started event is proven again."""
    plan, dag, world = setup(rehearsal_world)
    driver = RunDriver(dag)
    driver.run_database("db")
    driver.clear_database("db")

    preflight = [row["Status"] for row in ingestion.stored if row["Phase"] == "preflight"]
    assert preflight.count("Started") == 2, preflight
