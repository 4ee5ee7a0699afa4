"""Direct SQL's TLS and login: every connection encrypted, the server's certificate checked (chain and host name) unless
the connection's extra trusts it, and a login that never answers given up on in bounded time. The real pymssql (and its FreeTDS) against `tds_tls_server`, a TDS endpoint that runs
the TLS handshake and records whether the client went on to send its login; then the configuration with a stand-in
driver."""
from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import socket

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from migration_orchestration_lib.connections import AirflowConnections, ConnectionSecret
from migration_orchestration_lib.settings import ConfigurationError
from migration_orchestration_lib.sql_access import SqlEndpoint, SqlOperation, SqlOperationFailed
from migration_orchestration_lib.sql_access_direct import ENCRYPTION, DirectSqlAccess, FreeTdsTls
from tds_tls_server import ENCRYPT_NOT_SUP, TdsTlsServer

pytestmark = [pytest.mark.airflow26]  # pymssql 2.3.1 (FreeTDS 1.4) on Python 3.8 too
SOURCE = SqlEndpoint("source", "sql01", "master")
PASSWORD = "Tls-canary-0f3a"


def certificate(directory, name: str, dns_names=None, ip_addresses=()):
    """A self-signed certificate for `name` (its own CA; its subjectAltName `dns_names`, else `name`, and
    `ip_addresses`) and its key, as files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    built = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
             .not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.SubjectAlternativeName(
                 [x509.DNSName(dns) for dns in ([name] if dns_names is None else dns_names)]
                 + [x509.IPAddress(ipaddress.ip_address(address)) for address in ip_addresses]), critical=False)
             .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
             .sign(key, hashes.SHA256()))
    file_name = name.replace("*", "wildcard")
    certificate_file, key_file = directory / ("%s.pem" % file_name), directory / ("%s.key" % file_name)
    certificate_file.write_bytes(built.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(certificate_file), str(key_file)


class OneConnection:
    def __init__(self, host: str, port: int, trust_server_certificate: bool = False):
        self.secret = ConnectionSecret("mssql_source_sql01", host, port, "migrator", PASSWORD,
                                       trust_server_certificate=trust_server_certificate)

    def get(self, connection_id: str) -> ConnectionSecret:
        return self.secret


@pytest.fixture
def freetds_environment(monkeypatch):
    """No FreeTDS configuration nor CA bundle of the machine's; FREETDSCONF as it was after the test."""
    for variable in ("FREETDSCONF", "FREETDS", "SSL_CERT_FILE"):
        monkeypatch.setenv(variable, "unset")  # recorded, so the teardown restores it (or its absence)
        monkeypatch.delenv(variable)


def connect_through_the_driver(server_host: str, port: int, tls, trust: bool = False) -> str:
    access = DirectSqlAccess(OneConnection(server_host, port, trust), lambda endpoint: "mssql_source_sql01",
                             login_timeout_seconds=5, tls=tls)
    handle = access.submit(SqlOperation("tls-probe", SOURCE, "SELECT 1 AS one", returns_rows=True, timeout_seconds=5))
    with pytest.raises(SqlOperationFailed) as failed:  # the endpoint never answers a login
        access.result(handle)
    assert PASSWORD not in str(failed.value)  # whatever FreeTDS said
    return str(failed.value)


@pytest.mark.parametrize("trusted_bundle", [False, True], ids=["no-bundle-signs-it", "bundle-signs-it"])
def test_direct_sql_sends_its_login_only_to_a_certificate_a_trusted_ca_signed(tmp_path, freetds_environment,
                                                                                trusted_bundle):
    served = certificate(tmp_path, "localhost")
    other_ca, _ = certificate(tmp_path, "other-ca.example")
    server = TdsTlsServer(*served)
    message = connect_through_the_driver("localhost", server.port,
                                         FreeTdsTls(os.environ, ca_bundles=(served[0] if trusted_bundle else other_ca,)))
    server.wait()
    # before: FreeTDS's defaults, no certificate checked: the login went to whoever answered
    assert server.login_received is trusted_bundle, server.problem
    if not trusted_bundle:
        assert message.endswith("trust it with the extra {\"trust_server_certificate\": true} of connection "
                                "mssql_source_sql01 (see dags/README.md, \"TLS of SQL connections\")")


def test_direct_sql_refuses_a_certificate_for_another_host(tmp_path, freetds_environment):
    served = certificate(tmp_path, "sql01.corp.contoso.com")
    server = TdsTlsServer(*served)
    connect_through_the_driver("localhost", server.port, FreeTdsTls(os.environ, ca_bundles=(served[0],)))
    server.wait()
    assert server.handshake_done and not server.login_received


def test_direct_sql_trusts_a_certificate_only_where_the_connection_says_so_and_warns(tmp_path, freetds_environment, caplog):
    served = certificate(tmp_path, "localhost")
    other_ca, _ = certificate(tmp_path, "other-ca.example")
    tls = FreeTdsTls(os.environ, ca_bundles=(other_ca,))
    trusting = TdsTlsServer(*served)
    with caplog.at_level(logging.WARNING):
        connect_through_the_driver("localhost", trusting.port, tls, trust=True)
    trusting.wait()
    assert trusting.login_received, trusting.problem
    assert "mssql_source_sql01 trusts localhost's TLS certificate" in caplog.text
    checking = TdsTlsServer(*served)  # another server (port) of the same process is still checked
    connect_through_the_driver("localhost", checking.port, tls)
    checking.wait()
    assert not checking.login_received


def test_direct_sql_never_logs_in_to_a_server_that_offers_no_encryption(tmp_path, freetds_environment):
    served = certificate(tmp_path, "localhost")
    server = TdsTlsServer(*served, encryption=ENCRYPT_NOT_SUP)
    connect_through_the_driver("localhost", server.port, FreeTdsTls(os.environ, ca_bundles=(served[0],)))
    server.wait()
    # before: pymssql's default ("request") sent the login in clear; so does pymssql 2.3.1 given encryption="require"
    assert not server.login_in_clear


def test_a_driver_error_reads_as_freetds_s_text_not_as_a_tuple_of_bytes(tmp_path, freetds_environment):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # nobody listens there once it is closed
    message = connect_through_the_driver("127.0.0.1", port, FreeTdsTls(os.environ))
    # before: "... database master): (20009, b'DB-Lib error message 20009, severity 9:\\nUnable to connect ..."
    assert "database master): DB-Lib error message 20009, severity 9:\nUnable to connect" in message
    assert "b'" not in message


class RecordingDriver:
    class Error(Exception):
        pass

    def __init__(self):
        self.calls = []

    def connect(self, **arguments):
        self.calls.append(dict(arguments, freetds_conf=os.environ.get("FREETDSCONF")))
        raise self.Error(20002, b"TDS server connection failed")


def test_every_connection_asks_for_encryption_and_names_a_configuration_that_checks_certificates(tmp_path, monkeypatch):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("(a CA bundle)")
    environ = {}
    driver = RecordingDriver()
    access = DirectSqlAccess(OneConnection("sql01.corp.contoso.com", 1433), lambda endpoint: "mssql_source_sql01",
                             driver=driver, tls=FreeTdsTls(environ, ca_bundles=(str(bundle),)))
    access.submit(SqlOperation("probe", SOURCE, "SELECT 1", returns_rows=True))
    assert driver.calls[0]["encryption"] == ENCRYPTION == "require"
    # in a directory no other user may write to (a file others could replace would set the checks)
    assert os.stat(os.path.dirname(environ["FREETDSCONF"])).st_mode & 0o777 == 0o700
    with open(environ["FREETDSCONF"], encoding="utf-8") as config:
        assert config.read() == ("[global]\n\tencryption = require\n\tca file = %s\n\tcheck certificate hostname = yes\n"
                                 % bundle)


@pytest.mark.parametrize("host, port, section", [
    ("sql01.corp.contoso.com", 1433, "[sql01.corp.contoso.com:1433]\n\thost = sql01.corp.contoso.com\n\tport = 1433\n"),
    ("sql01\\SALES", 1433, "[sql01\\SALES]\n\thost = sql01\n\tinstance = SALES\n"),
])
def test_a_trusted_server_s_section_is_named_as_pymssql_names_the_server(tmp_path, host, port, section):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("(a CA bundle)")
    environ = {}
    FreeTdsTls(environ, ca_bundles=(str(bundle),)).prepare("mssql_source_sql01", host, str(port), True)
    with open(environ["FREETDSCONF"], encoding="utf-8") as config:
        assert config.read().endswith(section + "\tca file =\n")


def test_a_freetds_configuration_of_the_user_s_own_is_left_as_it_is_with_a_warning(caplog):
    environ = {"FREETDSCONF": "/etc/company/freetds.conf"}
    with caplog.at_level(logging.WARNING):
        FreeTdsTls(environ).prepare("mssql_source_sql01", "sql01", "1433", False)
    assert environ == {"FREETDSCONF": "/etc/company/freetds.conf"}
    assert "certificate checking is as $FREETDSCONF (/etc/company/freetds.conf) sets it" in caplog.text


def test_no_ca_bundle_fails_the_connection_naming_what_to_set(tmp_path):
    driver = RecordingDriver()
    access = DirectSqlAccess(OneConnection("sql01", 1433), lambda endpoint: "mssql_source_sql01", driver=driver,
                             tls=FreeTdsTls({}, ca_bundles=(str(tmp_path / "missing.pem"),)))
    import builtins

    real_import = builtins.__import__

    def without_certifi(name, *arguments, **keywords):
        if name == "certifi":
            raise ImportError(name)
        return real_import(name, *arguments, **keywords)

    builtins.__import__ = without_certifi
    try:
        handle = access.submit(SqlOperation("probe", SOURCE, "SELECT 1", returns_rows=True))
    finally:
        builtins.__import__ = real_import
    with pytest.raises(SqlOperationFailed, match="no CA bundle to check SQL Server certificates against: set SSL_CERT_FILE"):
        access.result(handle)
    assert driver.calls == []


@pytest.mark.parametrize("extra, trusted", [({}, False), ({"trust_server_certificate": True}, True),
                                            ({"trust_server_certificate": "false"}, False),
                                            ({"trust_server_certificate": "True"}, True)])
def test_the_connection_s_extra_says_whether_to_trust_the_certificate(monkeypatch, extra, trusted):
    monkeypatch.setattr("migration_orchestration_lib.airflow_compat.get_connection", lambda connection_id: _Connection(extra))
    assert AirflowConnections().get("mssql_source_sql01").trust_server_certificate is trusted


def test_a_trust_setting_neither_true_nor_false_is_refused_naming_the_connection_and_field(monkeypatch):
    monkeypatch.setattr("migration_orchestration_lib.airflow_compat.get_connection",
                        lambda connection_id: _Connection({"trust_server_certificate": "sometimes"}))
    with pytest.raises(ConfigurationError, match=r"^Airflow connection mssql_source_sql01: "
                                                  r"extra.trust_server_certificate must be true or false, got 'sometimes'$"):
        AirflowConnections().get("mssql_source_sql01")


class _Connection:
    def __init__(self, extra):
        self.host, self.port, self.login, self.password, self.extra_dejson = "sql01", 1433, "migrator", None, extra


class SilentLogin:
    """A driver whose login does not answer until `answer` is set (then succeeds): a server that accepts the
    connection and says nothing, seen from a driver that ignores its own login timeout."""

    class Error(Exception):
        pass

    def __init__(self):
        import threading

        self.answer = threading.Event()
        self.executed, self.closed = [], []

    def connect(self, **arguments):
        self.answer.wait(30)
        driver = self

        class Connection:
            def cursor(self):
                class Cursor:
                    description = None

                    def execute(self, sql):
                        driver.executed.append(sql)

                    def nextset(self):
                        return False
                return Cursor()

            def close(self):
                driver.closed.append(True)
        return Connection()


def failure_of_a_login_that_never_answers(access, operation, within_seconds: float) -> str:
    """The message of `operation`'s failure, submitted in a thread of the test's (before, submit waited as long as the
    login did), which must end within `within_seconds`."""
    import time

    from migration_orchestration_lib.daemon_work import DaemonWork

    began = time.monotonic()
    submitting = DaemonWork(lambda: access.submit(operation), "test-submit")
    assert submitting.wait(within_seconds + 5), "submit still waits for a login that never answers"
    assert time.monotonic() - began < within_seconds
    with pytest.raises(SqlOperationFailed) as failed:
        access.result(submitting.result())
    return str(failed.value)


def test_a_login_that_never_answers_fails_the_operation_in_bounded_time_and_runs_nothing_later(monkeypatch):
    import time

    from migration_orchestration_lib import sql_access_direct

    monkeypatch.setattr(sql_access_direct, "LOGIN_WAIT_MARGIN_SECONDS", 0)
    driver = SilentLogin()
    access = DirectSqlAccess(OneConnection("sql01", 1433), lambda endpoint: "mssql_source_sql01", driver=driver,
                             login_timeout_seconds=1, tls=FreeTdsTls({"FREETDSCONF": "/dev/null"}))
    message = failure_of_a_login_that_never_answers(
        access, SqlOperation("freeze", SOURCE, "ALTER DATABASE ...", returns_rows=False), within_seconds=6)
    assert message == ("cannot connect to sql01 (source, connection mssql_source_sql01, database master): no answer to "
                       "the login within 3 s (login timeout 1 s); nothing was run")
    driver.answer.set()  # the login answers after all, too late
    for _ in range(100):
        if driver.closed:
            break
        time.sleep(0.05)
    assert driver.closed == [True] and driver.executed == []


def test_a_real_driver_s_login_to_a_server_that_never_answers_ends_in_bounded_time(monkeypatch):
    import threading

    from migration_orchestration_lib import sql_access_direct

    monkeypatch.setattr(sql_access_direct, "LOGIN_WAIT_MARGIN_SECONDS", 2)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    try:
        access = DirectSqlAccess(OneConnection("127.0.0.1", listener.getsockname()[1]), lambda endpoint: "mssql_source_sql01",
                                 login_timeout_seconds=1, tls=FreeTdsTls({"FREETDSCONF": "/dev/null"}))
        # before: pymssql 2.3.1 was still in its login after 200 s (2.4.6 gives up after about 3 login timeouts)
        message = failure_of_a_login_that_never_answers(
            access, SqlOperation("probe", SOURCE, "SELECT 1", returns_rows=True), within_seconds=10)
        assert message.startswith("cannot connect to sql01")
    finally:
        listener.close()


# SQL Server's information: severity 10 in sys.messages (MicrosoftDocs/sql-docs, "Database engine events and errors"
# 3000-3999, 4000-4999, 5000-5999, 8000-8999), sent as INFO of class 0: "For compatibility reasons, the Database Engine
# converts severity 10 to severity 0 before returning the error information to the calling application" ("Database
# engine error severities"): the freeze's ALTER DATABASE ... WITH ROLLBACK IMMEDIATE with a transaction open (5060),
# every BACKUP LOG's (4035, 3014), an aggregate over a NULL with ANSI_WARNINGS on, as pymssql's session sets it (8153)
BATCH = "SET NOCOUNT ON; <statement>; SELECT N'done' AS state;"
STATE = [("state", "nvarchar")]


@pytest.mark.parametrize("messages", [
    [(5060, "Nonqualified transactions are being rolled back. Estimated rollback completion: 0%."),
     (5060, "Nonqualified transactions are being rolled back. Estimated rollback completion: 100%.")],
    [(4035, "Processed 2 pages for database 'Sales', file 'Sales_log' on file 1."),
     (3014, "BACKUP LOG successfully processed 2 pages in 0.005 seconds (3.125 MB/sec).")],
    [(8153, "Warning: Null value is eliminated by an aggregate or other SET operation.")],
], ids=["freeze-5060", "backup-log-4035-3014", "aggregate-8153"])
def test_sql_server_s_information_is_not_a_failed_batch(tmp_path, freetds_environment, messages):
    """pymssql raises on a message of severity 6 and above (`_mssql.min_error_severity`) and cancels the batch; SQL
    Server's information comes as class 0, so a freeze or a BACKUP LOG goes on past its own messages (a pin: were
    they sent at their catalogue severity, 10, pymssql 2.4.6 and 2.3.1 would fail the batch)."""
    from tds_login_server import TdsLoginServer

    served = certificate(tmp_path, "localhost")
    server = TdsLoginServer(*served, sql_logins={"migrator": PASSWORD}, replies={BATCH: [
        ("message", number, 1, 0, text) for number, text in messages] + [("rows", STATE, [["done"]])]})
    access = DirectSqlAccess(OneConnection("localhost", server.port), lambda endpoint: "mssql_source_sql01",
                             login_timeout_seconds=5,
                             tls=FreeTdsTls(os.environ, ca_bundles=(served[0],)))
    handle = access.submit(SqlOperation("batch", SqlEndpoint("source", "sql01", "Sales"), BATCH, returns_rows=True,
                                        timeout_seconds=10))
    assert access.result(handle).rows == [{"state": "done"}]
    server.wait()
    assert server.problem is None and server.other_requests == []  # no ATTENTION: the batch ran to its end
