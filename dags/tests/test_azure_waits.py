"""Every wait of an Azure call is bounded by its task (`azure_waits`): at most a minute each, and none past what the
task's attempt has left before its execution_timeout. Before, azure-core slept any `Retry-After` in full in the DMS
and Data Factory clients and in the identity's token requests: an API asking to come back in an hour held the task an
hour, past its execution_timeout, with no event. The fakes stand in for Azure over HTTP (the DMS contract server, the
Data Factory fake, a token endpoint), task by task (`task_driver`) on the rehearsal world.
"""
from __future__ import annotations

import datetime
import functools
import ipaddress
import signal
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib import dms_transport
from migration_orchestration_lib.airflow_compat import AirflowRescheduleException
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from task_driver import RunDriver
from test_rehearsal import events  # noqa: F401 (the fixture)
from world_view import WorldView

# The REST transport, and azure-core 1.33 with azure-identity 1.19, on Python 3.8 (the Data Factory host).
pytestmark = pytest.mark.airflow26

AN_HOUR = 3600
EXECUTION_TIMEOUT = timedelta(seconds=8)
ASKED_AN_HOUR = "answered HTTP 429 asking to come back in 3600 s (Retry-After)"


@contextmanager
def at_most(seconds):
    """Fails the test where its block runs longer than `seconds` (the task runs on this thread: SIGALRM reaches it)."""
    def too_long(signum, frame):
        raise AssertionError("still waiting after %d s" % seconds)

    previous = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def poke_throttled(directory, plan, operations, count=100):
    """One poke of `db.preflight`, its execution_timeout EXECUTION_TIMEOUT, the next `count` requests of each of
    `operations` answered 429 with `Retry-After: 3600`: (seconds it took, what it returned or raised, the world)."""
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    dag.get_task("db.preflight").execution_timeout = EXECUTION_TIMEOUT
    world = WorldView(directory, plan.database("db"), plan)
    for operation in operations:
        world.world.add_fault(operation, "throttle", count=count, retry_after_seconds=AN_HOUR)
    began = time.monotonic()
    with at_most(60):
        try:
            outcome = RunDriver(dag).poke("db.preflight")
        except AirflowRescheduleException as rescheduled:
            outcome = rescheduled
    return time.monotonic() - began, outcome, world


@pytest.mark.parametrize("transport", ["sdk", "rest"])
def test_a_step_arm_throttles_for_an_hour_ends_its_poke_within_its_execution_timeout_and_says_so(
        rehearsal_world, monkeypatch, events, transport):
    """ARM answers 429 asking to come back in an hour: the poke ends well within its execution_timeout, waiting it out
    like any outage (a `Running` event naming ARM, the request and the hour; the next poke later)."""
    if transport == "rest":
        monkeypatch.setattr(dms_transport, "sdk_available", lambda: False)
    elif not dms_transport.sdk_available():
        pytest.skip("azure-mgmt-datamigration needs Python 3.9+")
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online")]))

    taken, outcome, _ = poke_throttled(rehearsal_world, plan, ["getService", "get", "listMigrations"])

    assert isinstance(outcome, AirflowRescheduleException), outcome
    assert taken < EXECUTION_TIMEOUT.total_seconds(), taken
    [running] = [row["Message"] for row in events if row["Status"] == "Running"]
    assert running.startswith("waiting: Azure unavailable, poking again: DmsUnavailable: could not "), running
    assert "Azure Resource Manager (DMS): GET 127.0.0.1/subscriptions/" in running and ASKED_AN_HOUR in running, running


def test_a_retry_after_past_the_cap_is_waited_for_the_cap_and_the_step_goes_on(rehearsal_world, monkeypatch, events):
    """Each wait lasts at most RETRY_AFTER_CAP (a minute; half a second here), however long the API asks for."""
    monkeypatch.setattr("migration_orchestration_lib.azure_waits.RETRY_AFTER_CAP", timedelta(seconds=0.5))
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online")]))

    taken, outcome, world = poke_throttled(rehearsal_world, plan, ["get"], count=2)

    assert not isinstance(outcome, Exception) and not world.world.faults(), outcome
    assert 1 <= taken < EXECUTION_TIMEOUT.total_seconds(), taken
    assert [row["Status"] for row in events if row["Phase"] == "preflight"] == ["Succeeded"]


def test_a_sql_step_data_factory_throttles_for_an_hour_ends_its_poke_within_its_execution_timeout(rehearsal_world, events):
    """Through Data Factory (its own client): the same bound, the same wait for a later poke."""
    from test_crash_matrix import plan_of

    operations = ["createRun", "getPipelineRun", "queryPipelineRuns", "queryActivityRuns"]
    taken, outcome, _ = poke_throttled(rehearsal_world, plan_of("offline_sqlmi_data_factory"), operations)

    assert isinstance(outcome, AirflowRescheduleException), outcome
    assert taken < EXECUTION_TIMEOUT.total_seconds(), taken
    [running] = [row["Message"] for row in events if row["Status"] == "Running"]
    assert "NoTimeToWait: Data Factory: POST 127.0.0.1/subscriptions/" in running and ASKED_AN_HOUR in running, running


class ThrottlingTokenEndpoint(BaseHTTPRequestHandler):
    """A token endpoint asking to come back in an hour: a managed identity's (GET; IMDS, as
    AZURE_POD_IDENTITY_AUTHORITY_HOST names it) or Microsoft Entra ID's (POST `{authority}/{tenant}/oauth2/v2.0/token`)."""

    def do_GET(self):
        self.send_response(429)
        self.send_header("Retry-After", str(AN_HOUR))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.do_GET()

    def log_message(self, *args):
        pass


def identity_environment(monkeypatch, **variables):
    """The host's identity as `variables` describe it, and no other (DefaultAzureCredential looks for each in turn)."""
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_SECRET",
                 "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME", "IDENTITY_ENDPOINT", "MSI_ENDPOINT",
                 "AZURE_POD_IDENTITY_AUTHORITY_HOST", "AZURE_AUTHORITY_HOST"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def test_a_token_request_throttled_for_an_hour_ends_within_the_tasks_bound(monkeypatch):
    """azure-identity's managed identity credential retries a 429 after its Retry-After (ImdsRetryPolicy): the DAG's
    credential waits no longer than its other calls, and says which endpoint asked for what (azure-identity alone
    reports it as "no response from the IMDS endpoint"): a later poke waits it out, as for ARM."""
    from migration_orchestration_lib.azure_waits import NoTimeToWait, calls_end_by
    from migration_orchestration_lib.operators import is_transient_azure_error
    from migration_orchestration_lib.services import _default_credential

    server = ThreadingHTTPServer(("127.0.0.1", 0), ThrottlingTokenEndpoint)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()  # shutdown() waits a poll: 0.5 s by default
    identity_environment(monkeypatch, AZURE_POD_IDENTITY_AUTHORITY_HOST="http://127.0.0.1:%d" % server.server_address[1])
    try:
        began = time.monotonic()
        with at_most(60), calls_end_by(3), pytest.raises(NoTimeToWait) as refused:
            _default_credential().get_token(dms_transport.ARM_SCOPE)
        assert time.monotonic() - began < 3
    finally:
        server.shutdown()
    said = str(refused.value)
    assert "the token request of the DAG's identity: GET 127.0.0.1/metadata/identity/oauth2/token" in said, said
    assert ASKED_AN_HOUR in said and is_transient_azure_error(refused.value), said


@contextmanager
def black_holed_endpoint():
    """A base URL whose connections are never accepted (a listener whose backlog is full): a connect waits its timeout
    out, as to an IMDS black-holed on a host."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    waiting = []
    try:
        for _ in range(16):  # Linux queues up to backlog + 1 before it drops new connections' SYNs
            client = socket.socket()
            client.settimeout(0.2)
            waiting.append(client)
            try:
                client.connect(listener.getsockname())
            except socket.timeout:
                break
        else:
            raise AssertionError("the listener's backlog never filled")
        yield "http://127.0.0.1:%d" % listener.getsockname()[1]
    finally:
        for opened in waiting + [listener]:
            opened.close()


def test_a_token_request_to_a_silent_imds_waits_to_connect_no_longer_than_azure_identity_would(monkeypatch):
    """azure-identity gives IMDS token requests 2 s to connect (after its 1 s probe), but only to a transport it builds
    itself: through the DAG's they had its other calls' 30 s, and an IMDS black-holed after the probe held a poke 30 s
    a try (5 retries). Now 2 s a try, and its retries' waits end with the task's calls."""
    from migration_orchestration_lib.azure_waits import NoTimeToWait, calls_end_by
    from migration_orchestration_lib.services import _default_credential

    with black_holed_endpoint() as imds:
        identity_environment(monkeypatch, AZURE_POD_IDENTITY_AUTHORITY_HOST=imds)
        began = time.monotonic()
        with at_most(20), calls_end_by(5), pytest.raises(NoTimeToWait) as refused:
            _default_credential().get_token(dms_transport.ARM_SCOPE)
        taken = time.monotonic() - began
    said = str(refused.value)
    assert "GET 127.0.0.1/metadata/identity/oauth2/token failed (ServiceRequest" in said, said
    assert "(connect timeout=2)" in said, said
    assert 2 <= taken < 5, taken  # two tries of 2 s, the wait before a third not begun


def test_the_imds_connection_timeout_is_azure_identitys():
    from azure.identity._credentials.imds import PIPELINE_SETTINGS

    from migration_orchestration_lib.azure_waits import IMDS_CONNECTION_TIMEOUT

    assert IMDS_CONNECTION_TIMEOUT == PIPELINE_SETTINGS["connection_timeout"]


@contextmanager
def served_over_tls(handler, directory):
    """`handler` served over HTTPS at 127.0.0.1 (MSAL takes only an https authority), its self-signed certificate the
    one requests trusts (REQUESTS_CA_BUNDLE, set by the caller): (base URL, certificate file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_file, key_file = directory / "endpoint.pem", directory / "endpoint-key.pem"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(str(certificate_file), str(key_file))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()  # shutdown() waits a poll: 0.5 s by default
    try:
        yield "https://127.0.0.1:%d" % server.server_address[1], str(certificate_file)
    finally:
        server.shutdown()
        server.server_close()


def test_a_workload_identity_token_request_throttled_for_an_hour_ends_within_the_tasks_bound(monkeypatch, tmp_path):
    """Workload identity (AKS): azure-identity's WorkloadIdentityCredential has MSAL post the pod's federated token to
    Entra ID through the DAG's transport, whose RetryPolicy would sleep a 429's `Retry-After` in full: the same bound
    as for IMDS, and the same report."""
    import azure.identity

    from migration_orchestration_lib.azure_waits import NoTimeToWait, calls_end_by
    from migration_orchestration_lib.operators import is_transient_azure_error
    from migration_orchestration_lib.services import _default_credential

    federated_token = tmp_path / "azure-identity-token"
    federated_token.write_text("header.payload.signature")
    # MSAL asks login.microsoftonline.com to vouch for an authority host it does not know (AKS's is one it knows).
    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", functools.partial(
        azure.identity.DefaultAzureCredential, disable_instance_discovery=True))
    with served_over_tls(ThrottlingTokenEndpoint, tmp_path) as (authority, certificate):
        identity_environment(
            monkeypatch, AZURE_AUTHORITY_HOST=authority, AZURE_TENANT_ID="tenant", REQUESTS_CA_BUNDLE=certificate,
            AZURE_CLIENT_ID="00000000-0000-0000-0000-000000000001", AZURE_FEDERATED_TOKEN_FILE=str(federated_token))
        began = time.monotonic()
        with at_most(60), calls_end_by(3), pytest.raises(NoTimeToWait) as refused:
            _default_credential().get_token(dms_transport.ARM_SCOPE)
        assert time.monotonic() - began < 3
    said = str(refused.value)
    assert "the token request of the DAG's identity: POST 127.0.0.1/tenant/oauth2/v2.0/token " in said, said
    assert ASKED_AN_HOUR in said and is_transient_azure_error(refused.value), said
