"""Direct SQL's Entra ID token login (a connection's extra `{"authentication": "azure_identity"}`): the real python-tds
(and pyOpenSSL) against `tds_login_server`, a TDS endpoint that parses the client's LOGIN7, checks the token its FEDAUTH
feature extension carries, and answers one batch with a result set; the same endpoint logs the real pymssql in with a
SQL login, so the two drivers' rows are compared value for value and type for type. Then the connection's extra."""
from __future__ import annotations

import datetime
import decimal
import logging
import os
import socket

import pytest

from migration_orchestration_lib.connections import AZURE_IDENTITY, AirflowConnections, ConnectionSecret
from migration_orchestration_lib.settings import ConfigurationError
from migration_orchestration_lib.sql_access import SqlEndpoint, SqlOperation, SqlOperationFailed
from migration_orchestration_lib.sql_access_direct import PYMSSQL_SESSION_OPTIONS, TOKEN_SCOPE, DirectSqlAccess, FreeTdsTls
from tds_login_server import TdsLoginServer
from test_sql_access_tls import certificate, freetds_environment  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.airflow31]  # python-tds 1.17.1 and pyOpenSSL 26.4.0 on the oldest Airflow 3 too
TARGET = SqlEndpoint("target", "sqlmi01", "Sales")
CONNECTION_ID = "mssql_target_sqlmi01"
# JWT-shaped canaries: what the fake credential issues (the redaction knows a JWT's shape, and the token is remembered)
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.eyJjYW5hcnkiOiJlbnRyYS10b2tlbi1jYW5hcnkifQ.VG9rZW4tY2FuYXJ5LTdjMmU"
EXPIRED_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.eyJjYW5hcnkiOiJleHBpcmVkLWNhbmFyeSJ9.RXhwaXJlZC1jYW5hcnktOWQx"
PASSWORD = "Token-test-canary-51b2"
QUERY = "SELECT id, pages, name, code, amount, taken_at, checksum, missing FROM #facts;"
# The column types the DAG's batches return: ints, bigints, nvarchar, varchar, decimals, datetimes, varbinary, NULL
COLUMNS = [("id", "int"), ("pages", "bigint"), ("name", "nvarchar"), ("code", "varchar"), ("amount", "decimal"),
           ("taken_at", "datetime"), ("checksum", "varbinary"), ("missing", "int")]
ROWS = [[7, 2 ** 40, "Ünïcödé ✓ name", "LSN 0000002a:00000100:0001", decimal.Decimal("1234.56"),
         datetime.datetime(2026, 12, 6, 16, 5, 30, 500000), bytes([0, 1, 0xFE, 0xFF]), None],
        [-1, None, None, None, decimal.Decimal("-0.01"), None, None, None]]
EXPECTED = [dict(zip([name for name, _ in COLUMNS], row)) for row in ROWS]


class FakeCredential:
    """The DAG's credential as azure-identity's: `get_token(*scopes)` gives an object whose `token` is the token."""

    class Token:
        def __init__(self, token: str):
            self.token, self.expires_on = token, 2 ** 31

    def __init__(self, token: str):
        self.token = token
        self.scopes = []

    def get_token(self, *scopes, **keywords):
        self.scopes.append(scopes)
        return self.Token(self.token)


class OneConnection:
    def __init__(self, secret: ConnectionSecret):
        self.secret = secret

    def get(self, connection_id: str) -> ConnectionSecret:
        assert connection_id == CONNECTION_ID
        return self.secret


def token_access(host: str, port: int, tls: FreeTdsTls, credential: FakeCredential) -> DirectSqlAccess:
    secret = ConnectionSecret(CONNECTION_ID, host, port, None, None, authentication=AZURE_IDENTITY)
    return DirectSqlAccess(OneConnection(secret), lambda endpoint: CONNECTION_ID, login_timeout_seconds=5, tls=tls,
                           credential_factory=lambda: credential)


def run(access: DirectSqlAccess):
    return access.submit(SqlOperation("facts", TARGET, QUERY, returns_rows=True, timeout_seconds=10))


def failure(access: DirectSqlAccess) -> str:
    handle = run(access)
    with pytest.raises(SqlOperationFailed) as failed:
        access.result(handle)
    return str(failed.value)


def rows_or_refused_certificate(access: DirectSqlAccess, host: str, accepted: bool, then: str = "") -> None:
    """The operation's rows where the certificate is for `host`, else its refusal (`then`: what the message says next)."""
    handle = run(access)
    if accepted:
        assert access.result(handle).rows == EXPECTED
    else:
        with pytest.raises(SqlOperationFailed, match="Certificate does not match host name '%s'%s" % (host, then)):
            access.result(handle)


def test_a_token_login_sends_the_credential_s_token_for_azure_sql_and_returns_rows_as_the_dag_reads_them(
        tmp_path, freetds_environment, caplog):
    served = certificate(tmp_path, "localhost")
    server = TdsLoginServer(*served, accepted_tokens=[TOKEN], query=QUERY, columns=COLUMNS, rows=ROWS)
    credential = FakeCredential(TOKEN)
    access = token_access("localhost", server.port, FreeTdsTls(os.environ, ca_bundles=(served[0],)), credential)
    with caplog.at_level(logging.DEBUG):
        rows = access.result(run(access)).rows
    server.wait()
    assert server.problem is None, server.problem
    assert credential.scopes == [(TOKEN_SCOPE,)] and TOKEN_SCOPE == "https://database.windows.net/.default"
    login = server.logins[0]
    assert login["fedauth"] == {"library": 0x01, "echo": True, "token": TOKEN, "rest": 0}  # SECURITYTOKEN, no nonce
    assert (login["user"], login["password"], login["database"]) == ("", "", "Sales")
    assert server.batches == [PYMSSQL_SESSION_OPTIONS, QUERY]  # the session pymssql's has, then the operation's batch
    assert server.other_requests == []  # autocommit: no BEGIN TRAN (a transaction manager request) before a batch
    assert rows == EXPECTED
    assert [[type(value) for value in row.values()] for row in rows] == [[type(value) for value in row] for row in ROWS]
    assert TOKEN not in caplog.text


def test_the_token_login_s_rows_are_the_password_login_s_type_for_type(tmp_path, freetds_environment):
    """pymssql (FreeTDS) with a SQL login and python-tds with a token read the same result set alike."""
    served = certificate(tmp_path, "localhost")
    server = TdsLoginServer(*served, accepted_tokens=[TOKEN], sql_logins={"migrator": PASSWORD}, query=QUERY,
                            columns=COLUMNS, rows=ROWS, connections=2)
    tls = FreeTdsTls(os.environ, ca_bundles=(served[0],))
    by_token = token_access("localhost", server.port, tls, FakeCredential(TOKEN))
    by_password = DirectSqlAccess(
        OneConnection(ConnectionSecret(CONNECTION_ID, "localhost", server.port, "migrator", PASSWORD)),
        lambda endpoint: CONNECTION_ID, login_timeout_seconds=5, tls=tls)
    token_rows = by_token.result(run(by_token)).rows
    password_rows = by_password.result(run(by_password)).rows
    server.wait()
    assert server.logins[1]["user"] == "migrator" and server.logins[1]["fedauth"] is None
    # pymssql 2.4.6's own first batch is the session options the token login sets too
    assert server.batches == [PYMSSQL_SESSION_OPTIONS, QUERY, PYMSSQL_SESSION_OPTIONS, "use [Sales]", QUERY]
    assert password_rows == token_rows == EXPECTED
    assert [[type(value) for value in row.values()] for row in token_rows] == \
        [[type(value) for value in row.values()] for row in password_rows]


def test_a_refused_token_fails_naming_the_connection_and_never_the_token(tmp_path, freetds_environment, caplog):
    served = certificate(tmp_path, "localhost")
    server = TdsLoginServer(*served, accepted_tokens=[TOKEN], query=QUERY, columns=COLUMNS, rows=ROWS)
    access = token_access("localhost", server.port, FreeTdsTls(os.environ, ca_bundles=(served[0],)),
                          FakeCredential(EXPIRED_TOKEN))
    with caplog.at_level(logging.DEBUG):
        message = failure(access)
    server.wait()
    assert server.logins[0]["fedauth"]["token"] == EXPIRED_TOKEN and server.batches == []
    assert message == ("cannot connect to sqlmi01 (target, connection mssql_target_sqlmi01, database Sales): SQL Server "
                       "message 18456, severity 14, state 1, line 1:\nLogin failed for user '<token-identified "
                       "principal>'.")
    assert EXPIRED_TOKEN not in caplog.text and EXPIRED_TOKEN.split(".")[2] not in message


@pytest.mark.parametrize("name, trusted_bundle", [("localhost", False), ("sql01.corp.contoso.com", True)],
                         ids=["no-bundle-signs-it", "another-host-s-certificate"])
def test_a_token_login_sends_its_token_only_to_a_certificate_a_trusted_ca_signed_for_the_host(
        tmp_path, freetds_environment, caplog, name, trusted_bundle):
    served = certificate(tmp_path, name)
    other_ca, _ = certificate(tmp_path, "other-ca.example")
    server = TdsLoginServer(*served, accepted_tokens=[TOKEN], query=QUERY, columns=COLUMNS, rows=ROWS)
    access = token_access("localhost", server.port,
                          FreeTdsTls(os.environ, ca_bundles=(served[0] if trusted_bundle else other_ca,)),
                          FakeCredential(TOKEN))
    with caplog.at_level(logging.DEBUG):
        message = failure(access)
    server.wait()
    assert server.logins == [] and server.batches == []  # no LOGIN7, so no token, reached the server
    assert message.startswith("cannot connect to sqlmi01 (target, connection mssql_target_sqlmi01, database Sales): ")
    assert message.endswith("the connection logs in with an Entra ID token, always encrypted and the server's "
                            "certificate checked: one no CA of the worker's bundle (SSL_CERT_FILE, else the system's) "
                            "signed, or not for this host name, fails so (see dags/README.md, \"TLS of SQL "
                            "connections\")")
    assert TOKEN not in message and TOKEN not in caplog.text


@pytest.mark.parametrize("dns_names, accepted", [(["sql-gateway.example", "localhost"], True),
                                                 (["sql-gateway.example", "*.localhost"], False),
                                                 (["sql-gateway.example"], False)],
                         ids=["in-its-alt-names", "wildcard-of-another-level", "not-in-its-alt-names"])
def test_a_token_login_takes_the_host_name_from_the_certificate_s_alt_names(tmp_path, freetds_environment, dns_names,
                                                                          accepted):
    """python-tds 1.17.1's own check read them with X509.get_extension, gone from pyOpenSSL 26.2.0: an AttributeError
    for any certificate whose common name is not the host, as Azure SQL's (`*.database.windows.net`)."""
    served = certificate(tmp_path, "*.sql-gateway.example", dns_names)  # a wildcard common name, as Azure SQL's
    server = TdsLoginServer(*served, accepted_tokens=[TOKEN], query=QUERY, columns=COLUMNS, rows=ROWS)
    access = token_access("localhost", server.port, FreeTdsTls(os.environ, ca_bundles=(served[0],)),
                          FakeCredential(TOKEN))
    rows_or_refused_certificate(access, "localhost", accepted, "; the connection logs in with an Entra ID token")
    server.wait()
    assert len(server.logins) == (1 if accepted else 0)


@pytest.mark.parametrize("host, common_name, dns_names, ip_addresses, accepted", [
    ("127.0.0.1", "localhost", ["localhost"], ["127.0.0.1"], True),
    ("127.0.0.1", "127.0.0.1", ["*.0.0.1", "127.0.0.1"], [], False),
    ("127.0.0.1", "127.0.0.1", [], ["127.0.0.2"], False),
    ("localhost", "localhost", [], ["127.0.0.1"], True),
    ("localhost", "localhost", ["sql-gateway.example"], ["127.0.0.1"], False),
], ids=["ip-in-its-ip-alt-names", "ip-as-dns-names-and-common-name", "another-ip", "common-name-without-dns-names",
        "common-name-beside-dns-names"])
def test_a_token_login_to_an_ip_address_takes_it_from_the_certificate_s_ip_alt_names_alone(
        tmp_path, freetds_environment, host, common_name, dns_names, ip_addresses, accepted):
    """RFC 2818 3.1: a server named by its IP address is the certificate's iPAddress subjectAltName, never a DNS name
    (`*.0.0.1` matched 127.0.0.1 before, and the token went out) nor the common name. A host name is the common name
    only where the certificate has no DNS name (RFC 6125 6.4.4), IP addresses or not (refused before)."""
    served = certificate(tmp_path, common_name, dns_names, ip_addresses)
    server = TdsLoginServer(*served, accepted_tokens=[TOKEN], query=QUERY, columns=COLUMNS, rows=ROWS)
    access = token_access(host, server.port, FreeTdsTls(os.environ, ca_bundles=(served[0],)), FakeCredential(TOKEN))
    rows_or_refused_certificate(access, host, accepted)
    server.wait()
    assert len(server.logins) == (1 if accepted else 0)  # no LOGIN7, so no token, to a certificate not for the host


@pytest.mark.parametrize("routed_host, accepted", [("localhost", True), ("127.0.0.1", False)],
                         ids=["certificate-for-the-routed-host", "certificate-for-another-name"])
def test_a_token_login_redirected_by_the_gateway_checks_the_routed_server_s_certificate_before_its_token(
        tmp_path, freetds_environment, routed_host, accepted):
    """Azure SQL's gateway may answer a login with ENVCHANGE Routing (MS-TDS 2.2.7.9, type 20): python-tds logs in
    anew at the server it names, TLS checked against that name before the LOGIN7 with the token goes there."""
    served = certificate(tmp_path, "localhost")  # DNS name localhost: not the routed 127.0.0.1's
    routed = TdsLoginServer(*served, accepted_tokens=[TOKEN], query=QUERY, columns=COLUMNS, rows=ROWS)
    gateway = TdsLoginServer(*served, accepted_tokens=[TOKEN], route=(routed_host, routed.port))
    access = token_access("localhost", gateway.port, FreeTdsTls(os.environ, ca_bundles=(served[0],)),
                          FakeCredential(TOKEN))
    rows_or_refused_certificate(access, routed_host, accepted)
    gateway.wait()
    routed.wait()
    assert len(gateway.logins) == 1 and gateway.logins[0]["fedauth"]["token"] == TOKEN
    assert routed.handshake_done and len(routed.logins) == (1 if accepted else 0)
    assert routed.batches == ([PYMSSQL_SESSION_OPTIONS, QUERY] if accepted else [])


@pytest.mark.parametrize("encryption", [0x00, 0x02], ids=["ENCRYPT_OFF", "ENCRYPT_NOT_SUP"])
def test_a_token_login_to_a_server_offering_no_encryption_for_the_whole_connection_sends_no_login(
        tmp_path, freetds_environment, encryption):
    """PRELOGIN's answer (MS-TDS 2.2.6.5): ENCRYPT_OFF would encrypt the login alone, ENCRYPT_NOT_SUP nothing;
    python-tds, asking ENCRYPT_ON, refuses both before any LOGIN7 (`tds_session.parse_prelogin`)."""
    from tds_tls_server import TdsTlsServer

    served = certificate(tmp_path, "localhost")
    server = TdsTlsServer(*served, encryption=encryption)
    message = failure(token_access("localhost", server.port, FreeTdsTls(os.environ, ca_bundles=(served[0],)),
                                   FakeCredential(TOKEN)))
    server.wait()
    assert not server.login_received and not server.login_in_clear and not server.handshake_done
    assert message.startswith("cannot connect to sqlmi01 (target, connection mssql_target_sqlmi01, database Sales): ")
    assert TOKEN not in message


@pytest.mark.parametrize("port_in_host", [False, True], ids=["host", "host:port"])
def test_a_token_login_to_an_internationalized_host_name_checks_its_a_labels(tmp_path, freetds_environment, monkeypatch,
                                                                              port_in_host):
    """A host name in U-labels (`bücher.localhost`) is the certificate's A-labels (`xn--bcher-kva.localhost`, RFC 6125
    6.4.2); before, python-tds's ASCII encoding of it failed the operation with a UnicodeEncodeError after connecting."""
    served = certificate(tmp_path, "xn--bcher-kva.localhost")
    server = TdsLoginServer(*served, accepted_tokens=[TOKEN], query=QUERY, columns=COLUMNS, rows=ROWS)
    connect = socket.create_connection

    def resolving(address, *arguments, **keywords):  # DNS as a resolver answers either spelling of the name
        host = "127.0.0.1" if address[0] in ("bücher.localhost", "xn--bcher-kva.localhost") else address[0]
        return connect((host, address[1]), *arguments, **keywords)

    monkeypatch.setattr(socket, "create_connection", resolving)
    host, port = ("bücher.localhost:%d" % server.port, 1) if port_in_host else ("bücher.localhost", server.port)
    access = token_access(host, port, FreeTdsTls(os.environ, ca_bundles=(served[0],)), FakeCredential(TOKEN))
    assert access.result(run(access)).rows == EXPECTED
    server.wait()
    assert len(server.logins) == 1


def test_a_token_login_to_a_closed_port_fails_as_a_connection_failure(freetds_environment, tmp_path):
    served = certificate(tmp_path, "localhost")
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    message = failure(token_access("127.0.0.1", port, FreeTdsTls(os.environ, ca_bundles=(served[0],)),
                                   FakeCredential(TOKEN)))
    assert message.startswith("cannot connect to sqlmi01 (target, connection mssql_target_sqlmi01, database Sales): ")
    assert TOKEN not in message


class _Connection:
    def __init__(self, extra, login=None, password=None):
        self.host, self.port, self.login, self.password, self.extra_dejson = "sqlmi01", 1433, login, password, extra


@pytest.mark.parametrize("connection, refusal", [
    (_Connection({"authentication": "azure_identity"}, password=PASSWORD),
     "Airflow connection mssql_target_sqlmi01: extra.authentication azure_identity logs in with the DAG's Entra ID "
     "token, not a SQL login: remove the connection's password"),
    (_Connection({"authentication": "azure_identity"}, login="migrator", password=PASSWORD),
     "Airflow connection mssql_target_sqlmi01: extra.authentication azure_identity logs in with the DAG's Entra ID "
     "token, not a SQL login: remove the connection's login and password"),
    (_Connection({"authentication": "ActiveDirectoryMsi"}),
     "Airflow connection mssql_target_sqlmi01: extra.authentication must be 'azure_identity' (an Entra ID token of "
     "the DAG's identity) or absent (the connection's login and password), got 'ActiveDirectoryMsi'"),
    (_Connection({"authentication": "azure_identity", "trust_server_certificate": True}),
     "Airflow connection mssql_target_sqlmi01: extra.authentication azure_identity always checks the server's "
     "certificate (python-tds has no unchecked TLS): remove extra.trust_server_certificate, and add the server's CA "
     "to the workers' bundle (SSL_CERT_FILE) if it is not a public one"),
], ids=["password", "login-and-password", "unknown-value", "trusted-certificate"])
def test_a_token_connection_with_a_password_or_an_unknown_authentication_is_refused_naming_it(
        monkeypatch, connection, refusal):
    monkeypatch.setattr("migration_orchestration_lib.airflow_compat.get_connection", lambda connection_id: connection)
    with pytest.raises(ConfigurationError) as refused:
        AirflowConnections().get(CONNECTION_ID)
    assert str(refused.value) == refusal
    assert PASSWORD not in str(refused.value)


@pytest.mark.parametrize("extra, authentication", [({}, None), ({"authentication": "azure_identity"}, AZURE_IDENTITY)])
def test_the_connection_s_extra_says_how_direct_sql_logs_in(monkeypatch, extra, authentication):
    monkeypatch.setattr("migration_orchestration_lib.airflow_compat.get_connection",
                        lambda connection_id: _Connection(extra, login=None if extra else "migrator",
                                                          password=None if extra else PASSWORD))
    assert AirflowConnections().get(CONNECTION_ID).authentication == authentication


def test_an_opaque_token_is_taken_out_of_any_text_once_a_login_used_it(tmp_path, freetds_environment, caplog):
    """Not only a JWT's shape: the token a login used is remembered, as a password is, for `redact` and every log."""
    from migration_orchestration_lib.connections import redact, redacting_logger

    opaque = "opaque-token-canary-3f9d41c7"
    served = certificate(tmp_path, "localhost")
    server = TdsLoginServer(*served, accepted_tokens=[opaque], query=QUERY, columns=COLUMNS, rows=ROWS)
    access = token_access("localhost", server.port, FreeTdsTls(os.environ, ca_bundles=(served[0],)),
                          FakeCredential(opaque))
    assert access.result(run(access)).rows == EXPECTED
    server.wait()
    assert redact("the server said: bad token %s" % opaque) == "the server said: bad token ***"
    with caplog.at_level(logging.INFO):
        redacting_logger("migration_orchestration_lib.sql_access_direct").info("echoed %s", opaque)
    assert opaque not in caplog.text and "echoed ***" in caplog.text


@pytest.mark.parametrize("target, token_connection, data_source", [
    ("db-prod", "mssql_target_db_prod", "sqlprod.database.windows.net"),
    ("mi-prod", "mssql_source_sql01", "sql01.corp.contoso.com"),
], ids=["sqldb-target", "source"])
def test_dms_refuses_a_connection_that_logs_in_with_the_token(target, token_connection, data_source):
    """DMS's SqlConnectionInformation takes a login and password: a source's or a SqlDb target's connection cannot be
    a token connection (a SqlMi or SqlVm target's may: DMS restores there without a SQL login)."""
    from conftest import database_entry, plan_with_databases
    from migration_orchestration_lib.migration_request import build_migration_request
    from migration_orchestration_lib.plan import parse_plan

    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", target=target)]))

    class Connections:
        def get(self, connection_id):
            if connection_id == token_connection:
                return ConnectionSecret(connection_id, data_source, 1433, None, None, authentication=AZURE_IDENTITY)
            return ConnectionSecret(connection_id, "host", 1433, "svc", PASSWORD)

    with pytest.raises(ConfigurationError, match=r"^Airflow connection %s: extra.authentication azure_identity logs "
                                                 r"direct SQL in with the DAG's Entra ID token, but DMS connects to "
                                                 % token_connection):
        build_migration_request(plan, plan.database("db"), "/subscriptions/x/dms", Connections())


def test_a_sqlmi_target_s_token_connection_is_no_part_of_dms_s_request():
    from conftest import database_entry, plan_with_databases
    from migration_orchestration_lib.migration_request import build_migration_request
    from migration_orchestration_lib.plan import parse_plan

    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", target="mi-prod")]))
    target_connection = plan.target_of(plan.database("db")).connection_id

    class Connections:
        def get(self, connection_id):
            if connection_id == target_connection:
                return ConnectionSecret(connection_id, "mi", 1433, None, None, authentication=AZURE_IDENTITY)
            return ConnectionSecret(connection_id, "host", 1433, "svc", PASSWORD)

    request = build_migration_request(plan, plan.database("db"), "/subscriptions/x/dms", Connections())
    assert "targetSqlConnection" not in request["properties"]


def test_a_token_the_identity_cannot_get_fails_the_operation_naming_the_connection(tmp_path, freetds_environment):
    from azure.core.exceptions import ClientAuthenticationError

    class Refusing:
        def get_token(self, *scopes, **keywords):
            raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token from the included "
                                            "credentials.")

    served = certificate(tmp_path, "localhost")
    secret = ConnectionSecret(CONNECTION_ID, "localhost", 1, None, None, authentication=AZURE_IDENTITY)
    access = DirectSqlAccess(OneConnection(secret), lambda endpoint: CONNECTION_ID, login_timeout_seconds=5,
                             tls=FreeTdsTls(os.environ, ca_bundles=(served[0],)), credential_factory=Refusing)
    assert failure(access) == (
        "cannot connect to sqlmi01 (target, connection mssql_target_sqlmi01, database Sales): the DAG's identity got "
        "no Entra ID token for connection mssql_target_sqlmi01: DefaultAzureCredential failed to retrieve a token from "
        "the included credentials.")


@pytest.mark.parametrize("token_role", ["target", "source"])
def test_preflight_refuses_a_token_connection_dms_logs_in_with_before_a_sqldb_copy_freezes_its_source(
        rehearsal_world, monkeypatch, token_role):
    """start_migration freezes a SqlDb copy's source, then builds DMS's request, which refuses a token connection: a
    refusal there left the source frozen with no migration. Preflight refuses it, before anything is frozen."""
    import dataclasses

    from conftest import database_entry, plan_with_databases
    from migration_orchestration_lib import rehearsal, steps
    from migration_orchestration_lib.dag_factory import build_dag
    from migration_orchestration_lib.plan import parse_plan
    from task_driver import RunDriver
    from world_view import WorldView

    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", target="db-prod")]))
    database = plan.database("db")
    server = plan.target_of(database) if token_role == "target" else plan.source_of(database)
    rehearsal_get = rehearsal.RehearsalConnections.get

    def get(connections, connection_id):
        secret = rehearsal_get(connections, connection_id)
        return dataclasses.replace(secret, authentication=AZURE_IDENTITY) if connection_id == server.connection_id \
            else secret

    monkeypatch.setattr(rehearsal.RehearsalConnections, "get", get)
    # direct SQL logs the token connection in as the simulated servers take it (python-tds has no rehearsal stand-in)
    monkeypatch.setattr(DirectSqlAccess, "_token_login", DirectSqlAccess._password_login)
    frozen, freeze = [], steps._freeze
    monkeypatch.setattr(steps, "_freeze", lambda ctx: frozen.append(ctx.database.name) or freeze(ctx))
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    world = WorldView(rehearsal_world, database, plan)
    rehearsal.seed_world(world.world, plan)

    driver = RunDriver(dag)
    states = driver.run_database("db")
    assert states["db.preflight"] == "failed", (states, driver.errors)
    assert frozen == [] and world.operations() == [] and world.source_writable()
    assert ("Airflow connection %s: extra.authentication azure_identity logs direct SQL in with the DAG's Entra ID "
            "token, but DMS connects to" % server.connection_id) in driver.errors["db.preflight"]


OUTCOME = [("outcome", "nvarchar")]
# A batch's statements' outcomes in turn, as tds_login_server answers them: what the DAG's batches meet
BATCHES = {
    # a BACKUP refused: its cause, then "terminating abnormally" (SQL Server's errors 3201 and 3013)
    "BACKUP LOG [Sales] TO DISK = N'x.trn';": [
        ("message", 3201, 1, 16, "Cannot open backup device 'x.trn'. Operating system error 5(Access is denied.)."),
        ("message", 3013, 1, 16, "BACKUP LOG is terminating abnormally.")],
    # a RAISERROR after a statement's rows, and before the batch's last SELECT (the DAG's refusals)
    "SELECT 1; RAISERROR(N'raised after rows', 16, 1);": [
        ("rows", OUTCOME, [["first"]]), ("message", 50000, 1, 16, "raised after rows")],
    "RAISERROR(N'raised before rows', 16, 1); SELECT N'after';": [
        ("message", 50000, 1, 16, "raised before rows"), ("rows", OUTCOME, [["after"]])],
    # PRINT's message (severity 0) is no error; the last of several result sets is the batch's
    "PRINT N'a print'; SELECT N'after print';": [("message", 0, 1, 0, "a print"), ("rows", OUTCOME, [["after print"]])],
    "SELECT N'one'; SELECT N'two';": [("rows", OUTCOME, [["one"]]), ("rows", OUTCOME, [["two"]])],
    # SQL Server's 8153 with ANSI_WARNINGS on: severity 10 in sys.messages, sent as INFO of class 0 (dags/README.md)
    "SELECT SUM(x) FROM (VALUES (1), (NULL)) AS t(x); SELECT N'summed';": [
        ("message", 8153, 1, 0, "Warning: Null value is eliminated by an aggregate or other SET operation."),
        ("rows", OUTCOME, [["summed"]])],
    # severity 11, the lowest of an error (ERROR 2.2.7.10)
    "RAISERROR(N'raised at 11', 11, 1); SELECT N'after';": [
        ("message", 50000, 1, 11, "raised at 11"), ("rows", OUTCOME, [["after"]])],
}


@pytest.mark.parametrize("batch, outcome", [
    ("BACKUP LOG [Sales] TO DISK = N'x.trn';",
     "Cannot open backup device 'x.trn'. Operating system error 5(Access is denied.)."),
    ("SELECT 1; RAISERROR(N'raised after rows', 16, 1);", "raised after rows"),
    ("RAISERROR(N'raised before rows', 16, 1); SELECT N'after';", "raised before rows"),
    ("PRINT N'a print'; SELECT N'after print';", [{"outcome": "after print"}]),
    ("SELECT N'one'; SELECT N'two';", [{"outcome": "two"}]),
    ("SELECT SUM(x) FROM (VALUES (1), (NULL)) AS t(x); SELECT N'summed';", [{"outcome": "summed"}]),
    ("RAISERROR(N'raised at 11', 11, 1); SELECT N'after';", "raised at 11"),
], ids=["backup-refused", "error-after-rows", "error-before-rows", "print", "result-sets", "information",
        "error-severity-11"])
def test_a_token_login_s_batch_fails_or_answers_as_the_password_login_s(tmp_path, freetds_environment, batch, outcome):
    """Each driver on the same endpoint: an error anywhere in the batch fails it, naming the server's first error (a
    BACKUP's cause, not only its "terminating abnormally"), and the batch's last result set is its rows."""
    served = certificate(tmp_path, "localhost")
    server = TdsLoginServer(*served, accepted_tokens=[TOKEN], sql_logins={"migrator": PASSWORD}, connections=2,
                            replies={batch: BATCHES[batch]})
    tls = FreeTdsTls(os.environ, ca_bundles=(served[0],))
    by_token = token_access("localhost", server.port, tls, FakeCredential(TOKEN))
    by_password = DirectSqlAccess(
        OneConnection(ConnectionSecret(CONNECTION_ID, "localhost", server.port, "migrator", PASSWORD)),
        lambda endpoint: CONNECTION_ID, login_timeout_seconds=5, tls=tls)
    outcomes = []
    for access in (by_token, by_password):
        handle = access.submit(SqlOperation("batch", TARGET, batch, returns_rows=True, timeout_seconds=10))
        try:
            outcomes.append(access.result(handle).rows)
        except SqlOperationFailed as failed:
            outcomes.append(str(failed))
    server.wait()
    assert server.problem is None, server.problem
    token_outcome, password_outcome = outcomes
    if isinstance(outcome, list):
        assert token_outcome == password_outcome == outcome
        return
    failed_on = "batch failed on sqlmi01 (target, connection mssql_target_sqlmi01, database Sales): "
    assert password_outcome.startswith(failed_on + outcome)  # pymssql's text: the first error's
    assert token_outcome.startswith(failed_on + "SQL Server message ") and outcome in token_outcome
    if batch.startswith("BACKUP"):
        assert token_outcome == failed_on + (
            "SQL Server message 3201, severity 16, state 1, line 1:\nCannot open backup device 'x.trn'. Operating system "
            "error 5(Access is denied.).\nSQL Server message 3013, severity 16, state 1, line 1:\nBACKUP LOG is "
            "terminating abnormally.")


def test_a_token_login_s_batch_past_its_timeout_fails_and_is_cancelled(tmp_path, freetds_environment):
    """The operation's `timeout` bounds each wait for the server, as pymssql's: the batch fails, and python-tds cancels
    it (ATTENTION, MS-TDS 2.2.1.7) before the connection closes."""
    import time

    from tds_login_server import ATTENTION, SILENCE

    batch = "WAITFOR DELAY '01:00:00';"
    served = certificate(tmp_path, "localhost")
    server = TdsLoginServer(*served, accepted_tokens=[TOKEN], replies={batch: SILENCE})
    access = token_access("localhost", server.port, FreeTdsTls(os.environ, ca_bundles=(served[0],)),
                          FakeCredential(TOKEN))
    started = time.monotonic()
    handle = access.submit(SqlOperation("wait", TARGET, batch, returns_rows=False, timeout_seconds=1))
    with pytest.raises(SqlOperationFailed) as failed:
        access.result(handle)
    took = time.monotonic() - started
    server.wait()
    assert str(failed.value) == ("wait failed on sqlmi01 (target, connection mssql_target_sqlmi01, database Sales): "
                                 "timed out")
    assert 1 <= took < 15 and server.batches == [PYMSSQL_SESSION_OPTIONS, batch] and server.other_requests == [ATTENTION]


@pytest.mark.parametrize("answer", [b"", b"\x05\x10\x00ServerName;SQL01;InstanceName;OTHER;tcp;1433;;",
                                    b"\x05\x10\x00ServerName;SQL01;InstanceName;INST;tcp;not-a-port;;",
                                    b"\x05\x10\x00ServerName;SQL01;tcp"],
                         ids=["empty", "another-instance", "no-port-number", "malformed"])
def test_a_named_instance_s_failed_sql_browser_lookup_is_a_connection_failure(tmp_path, freetds_environment, monkeypatch,
                                                                              answer):
    """python-tds asks the SQL Browser (UDP 1434) for a named instance's port; a bad answer raised a bare RuntimeError,
    KeyError or ValueError out of the operation instead of failing it as a connection failure."""
    browser = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    browser.bind(("127.0.0.1", 0))
    sendto = socket.socket.sendto

    def to_the_browser(self, data, *arguments):  # the SQL Browser's port, 1434, is this test's own
        address = arguments[-1]
        if address[1] == 1434:
            address = browser.getsockname()
        return sendto(self, data, *arguments[:-1], address)

    monkeypatch.setattr(socket.socket, "sendto", to_the_browser)

    def answer_once():
        request, client = browser.recvfrom(16)
        assert request == b"\x03"  # CLNT_UCAST_EX (MC-SQLR 2.2.4)
        browser.sendto(answer, client)

    import threading

    answering = threading.Thread(target=answer_once, daemon=True)
    answering.start()
    served = certificate(tmp_path, "localhost")
    try:
        message = failure(token_access("localhost\\INST", 1433, FreeTdsTls(os.environ, ca_bundles=(served[0],)),
                                       FakeCredential(TOKEN)))
    finally:
        answering.join(5)
        browser.close()
    assert message.startswith("cannot connect to sqlmi01 (target, connection mssql_target_sqlmi01, database Sales): ")
    assert "INST" in message and TOKEN not in message


def test_a_token_connection_s_host_may_give_its_port_after_a_colon_as_pymssql_reads_it(tmp_path, freetds_environment):
    """pymssql adds the connection's port only to a host without a colon (`_mssql.MSSQLConnection`), and FreeTDS reads
    `host:port`; python-tds resolved `localhost:<port>` as a host name and failed."""
    served = certificate(tmp_path, "localhost")
    server = TdsLoginServer(*served, accepted_tokens=[TOKEN], query=QUERY, columns=COLUMNS, rows=ROWS)
    access = token_access("localhost:%d" % server.port, 1, FreeTdsTls(os.environ, ca_bundles=(served[0],)),
                          FakeCredential(TOKEN))
    assert access.result(run(access)).rows == EXPECTED
    server.wait()
    assert len(server.logins) == 1


@pytest.mark.parametrize("authentication", [None, AZURE_IDENTITY], ids=["password", "token"])
def test_a_host_giving_its_port_after_a_comma_is_refused_naming_the_connection(tmp_path, freetds_environment,
                                                                               authentication):
    """ADO.NET's `host,port`: FreeTDS resolved it as a name (DB-Lib 20009) and python-tds too; refused on both paths
    alike, before any login."""
    served = certificate(tmp_path, "localhost")
    login, password = (None, None) if authentication else ("migrator", PASSWORD)
    secret = ConnectionSecret(CONNECTION_ID, "localhost,1", 1433, login, password, authentication=authentication)
    access = DirectSqlAccess(OneConnection(secret), lambda endpoint: CONNECTION_ID, login_timeout_seconds=5,
                             tls=FreeTdsTls(os.environ, ca_bundles=(served[0],)),
                             credential_factory=lambda: FakeCredential(TOKEN))
    with pytest.raises(ConfigurationError) as refused:
        run(access)
    assert str(refused.value) == (
        "Airflow connection mssql_target_sqlmi01: its host 'localhost,1' gives a port after a comma, a form neither "
        "pymssql (FreeTDS) nor python-tds reads: set the connection's port, or write the host as host:port")
