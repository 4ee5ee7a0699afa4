"""SQL access over a direct TDS connection from the Airflow worker (pymssql), for hosts with reach.

`submit` runs the batch at once on a new connection to the endpoint (one connection per
operation, closed afterwards; autocommit, because ALTER DATABASE and BACKUP refuse to run inside a
transaction) and keeps the outcome by key for this process, so `result` answers without a second
run and submitting the same key again in this process runs nothing. A new process (a reschedule,
a retry, a crashed worker's successor) runs the batch again: the statements are idempotent
(`sql_statements`), so a second `BACKUP LOG` to the same file finds the first in msdb.

Logins come from Airflow connections (host, port, login, password); the password goes to the
driver only, never into a message. A connection whose extra says `"authentication": "azure_identity"` logs in with an
Entra ID token of the DAG's identity instead (no login nor password; a target with Microsoft Entra-only
authentication), through python-tds (`TokenLoginDriver`): FreeTDS has no access-token login. Above the driver both are
one path: the same login wait, autocommit, timeouts, result sets and error messages.

Every connection is encrypted and the server's certificate checked (`FreeTdsTls`): FreeTDS's encryption `require`
(encrypted connections only; its default, `request`, sends the login in clear to a server that offers no TLS), as
pymssql's `encryption` argument and in a freetds.conf whose `ca file` makes FreeTDS verify the certificate's chain and
host name (FreeTDS checks neither without one: `src/tds/tls.c`, `tds_ssl_init`). A connection whose extra says
`"trust_server_certificate": true` is encrypted without that check, with a warning. A token login is always
encrypted and checked: python-tds's TLS (pyOpenSSL) against the same CA bundle, chain and host name
(`connections.authentication_of` refuses the token with `trust_server_certificate`).
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from typing import Any, Callable, Dict, List, Mapping, MutableMapping, Optional, Set, Tuple, Union

from migration_orchestration_lib.connections import (
    AZURE_IDENTITY,
    TRUSTED_CERTIFICATE_WARNING,
    redact,
    redacting_logger,
    remember_secret,
)
from migration_orchestration_lib.daemon_work import DaemonWork
from migration_orchestration_lib.settings import ConfigurationError

from migration_orchestration_lib.sql_access import (
    SqlEndpoint,
    SqlOperation,
    SqlOperationFailed,
    SqlOperationHandle,
    SqlResult,
)

LOGIN_TIMEOUT_SECONDS = 30
DEFAULT_PORT = 1433
REFERENCE = "direct"
ENCRYPTION = "require"
# How long a login may go unanswered before the step goes on without it: pymssql 2.4.6 gives up on a server that accepts
# the connection and never answers after about three times its login timeout; 2.3.1 (FreeTDS 1.4.22) never did (still
# blocked after 200 s with a login timeout of 5 s), inside C, where Airflow's execution_timeout cannot stop the task.
LOGIN_WAITS = 3
LOGIN_WAIT_MARGIN_SECONDS = 10
# Where FreeTDS reads its configuration, in this order (the FreeTDS user guide, "The freetds.conf file"): a user's own
# file is left as it is, its TLS settings then theirs.
FREETDS_CONFIG_VARIABLES = ("FREETDSCONF", "FREETDS")
# The CA bundle the certificate must chain to: SSL_CERT_FILE, else the system's. Not FreeTDS's `ca file = system`: the
# pymssql wheels' OpenSSL looks in its build's OPENSSLDIR (/etc/pki/tls), absent on Debian's Airflow images.
CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem")

# DB-Lib's "TDS server connection failed": what pymssql raises when FreeTDS refuses the server's certificate too
CONNECTION_FAILED = 20002
TLS_HINT = ("; the connection is encrypted and the server's certificate checked: one no CA of the worker's bundle "
            "signed (self-signed), or not for this host name, fails so: trust it with the extra "
            "{\"trust_server_certificate\": true} of connection %s (see dags/README.md, \"TLS of SQL connections\")")
TOKEN_TLS_HINT = ("; the connection logs in with an Entra ID token, always encrypted and the server's certificate "
                  "checked: one no CA of the worker's bundle (SSL_CERT_FILE, else the system's) signed, or not for this "
                  "host name, fails so (see dags/README.md, \"TLS of SQL connections\")")
# The scope of an Entra ID token for Azure SQL (Microsoft's passwordless Python example asks DefaultAzureCredential for
# it: MicrosoftDocs/sql-docs azure-sql/database/azure-sql-passwordless-migration-python.md)
TOKEN_SCOPE = "https://database.windows.net/.default"
log = redacting_logger(__name__)
_WRITTEN: Set[str] = set()  # the freetds.conf files this process wrote (FREETDSCONF naming one is not a user's)


class FreeTdsTls:
    """The freetds.conf of this process's connections: `[global]` verifies every server's certificate against the CA
    bundle (chain and host name); a section per server whose connection trusts its certificate leaves `ca file`
    empty there. FreeTDS reads the file named by FREETDSCONF at each connect, the `[global]` section for every server
    and the section named as pymssql names the server (`host:port`, or `host\\instance`)."""

    def __init__(self, environ: MutableMapping[str, str] = os.environ, ca_bundles: Tuple[str, ...] = CA_BUNDLES):
        self._environ = environ
        self._ca_bundles = ca_bundles
        self._lock = threading.Lock()
        self._path: Optional[str] = None
        self._trusted: Set[Tuple[str, str]] = set()
        self._warned: Set[str] = set()

    def prepare(self, connection_id: str, host: str, port: str, trust_server_certificate: bool) -> None:
        """Before connecting to `host`: the configuration that checks its certificate, or trusts it."""
        own = next((variable for variable in FREETDS_CONFIG_VARIABLES
                    if self._environ.get(variable) and self._environ.get(variable) not in _WRITTEN), None)
        if own is not None:
            self._warn_once("own:" + connection_id, "Connection %s: certificate checking is as $%s (%s) sets it (its "
                            "`ca file`), not the DAG's", connection_id, own, self._environ[own])
            return
        if trust_server_certificate:
            self._warn_once("trust:" + connection_id, TRUSTED_CERTIFICATE_WARNING, connection_id, host)
        with self._lock:
            trusted = self._trusted | ({(host, port)} if trust_server_certificate else set())
            if self._path is not None and trusted == self._trusted:
                return
            self._write(self._config(trusted))
            self._trusted = trusted

    def _config(self, trusted: Set[Tuple[str, str]]) -> str:
        # `encryption` here too: pymssql 2.3.1's `encryption` argument does not reach FreeTDS 1.4 (its login went in
        # clear to a server offering no TLS; tests/test_sql_access_tls.py), the file's does
        lines = ["[global]", "\tencryption = %s" % ENCRYPTION, "\tca file = %s" % self._ca_bundle(),
                 "\tcheck certificate hostname = yes"]
        for host, port in sorted(trusted):
            # the section FreeTDS looks for first: the server as pymssql hands it over (`port` added but to a host that
            # names an instance or a port)
            server = host if ("\\" in host or ":" in host) else "%s:%s" % (host, port)
            name, _, instance = host.partition("\\")
            name, _, own_port = name.partition(":")
            lines += ["[%s]" % server, "\thost = %s" % name,
                      "\tinstance = %s" % instance if instance else "\tport = %s" % (own_port or port), "\tca file ="]
        return "\n".join(lines) + "\n"

    def ca_bundle(self) -> str:
        """The CA bundle server certificates are checked against: SSL_CERT_FILE, the system's, else certifi's."""
        return self._ca_bundle()

    def _ca_bundle(self) -> str:
        for path in (self._environ.get("SSL_CERT_FILE"),) + self._ca_bundles:
            if path and os.path.isfile(path):
                return path
        try:
            import certifi

            return certifi.where()
        except ImportError:
            raise SqlOperationFailed(
                "no CA bundle to check SQL Server certificates against: set SSL_CERT_FILE, or install the system's "
                "(%s)" % ", ".join(self._ca_bundles)) from None

    def _write(self, text: str) -> None:
        if self._path is None:  # a directory of this user's alone (a file others could write would set the checks)
            directory = tempfile.mkdtemp(prefix="migration-freetds-")
            atexit.register(shutil.rmtree, directory, True)  # one per task process: not left behind by each
            self._path = os.path.join(directory, "freetds.conf")
        staged = self._path + ".new"
        with open(staged, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(staged, self._path)  # a connect reading it meanwhile reads the old file or the new one
        _WRITTEN.add(self._path)
        self._environ["FREETDSCONF"] = self._path

    def _warn_once(self, key: str, message: str, *arguments: Any) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *arguments)


class DirectSqlAccess:
    """`SqlAccess` through pymssql (or any DB-API module with pymssql's `connect` arguments)."""

    def __init__(
        self,
        connections: Any,
        connection_id_of: Callable[[SqlEndpoint], str],
        driver: Any = None,
        login_timeout_seconds: int = LOGIN_TIMEOUT_SECONDS,
        tls: Optional[FreeTdsTls] = None,
        credential_factory: Optional[Callable[[], Any]] = None,
        token_driver: Any = None,
    ):
        """`connections.get(id)` gives an Airflow connection's host, port, login and password;
        `connection_id_of` names the connection of an endpoint (see `connection_ids_from_plan`).
        `credential_factory()` is the DAG's Azure credential (`get_token`), for connections that log in with a token;
        `token_driver` their driver (`TokenLoginDriver`'s `connect`, `Error` and `refused_certificate`)."""
        self._connections = connections
        self._connection_id_of = connection_id_of
        self._driver = driver
        self._credential_factory = credential_factory
        self._token_driver = token_driver
        self._login_timeout_seconds = login_timeout_seconds
        # FreeTDS's configuration for pymssql; a stand-in driver (the rehearsal's) reads none
        self._tls = tls or (_process_tls() if driver is None else None)
        self._outcomes: Dict[str, Union[SqlResult, SqlOperationFailed]] = {}

    def submit(self, operation: SqlOperation) -> SqlOperationHandle:
        if operation.key not in self._outcomes:
            self._outcomes[operation.key] = self._run(operation)
        return SqlOperationHandle(key=operation.key, reference=REFERENCE)

    def submitted(self, operation: SqlOperation) -> bool:
        return operation.key in self._outcomes

    def result(self, handle: SqlOperationHandle) -> Optional[SqlResult]:
        outcome = self._outcomes.get(handle.key)
        if outcome is None:
            raise LookupError(
                "operation %s was not submitted in this process: submit it again (the statements are idempotent)" % handle.key
            )
        if isinstance(outcome, SqlOperationFailed):
            raise outcome
        return outcome

    def _login_wait_seconds(self) -> float:
        return LOGIN_WAITS * self._login_timeout_seconds + LOGIN_WAIT_MARGIN_SECONDS

    def _connect(self, connect: Callable[[], Any]) -> Any:
        """`connect()`'s connection, in a thread of its own waited for `_login_wait_seconds`; None where it had not
        answered by then: a connection it makes later is closed unused, so no batch runs after the step went on."""
        lock = threading.Lock()
        state = {"given_up": False}

        def connect_unless_given_up() -> Any:
            connection = connect()
            with lock:
                if not state["given_up"]:
                    return connection
            connection.close()
            return None

        work = DaemonWork(connect_unless_given_up, "sql-login")
        try:
            answered = work.wait(self._login_wait_seconds())
        finally:
            with lock:
                answered = work.wait(0)  # (an answer that came as the wait ended is taken)
                state["given_up"] = not answered
        return work.result() if answered else None

    def _run(self, operation: SqlOperation) -> Union[SqlResult, SqlOperationFailed]:
        endpoint = operation.endpoint
        connection_id = self._connection_id_of(endpoint)
        secret = self._connections.get(connection_id)
        where = "%s (%s, connection %s, database %s)" % (endpoint.server_name, endpoint.role, connection_id, endpoint.database)
        port = str(secret.port or DEFAULT_PORT)
        if "," in (secret.host or ""):  # ADO.NET's `host,port`: FreeTDS resolved it as a name (20009), python-tds too
            raise ConfigurationError(
                "Airflow connection %s: its host %r gives a port after a comma, a form neither pymssql (FreeTDS) nor "
                "python-tds reads: set the connection's port, or write the host as host:port" % (connection_id, secret.host))
        try:
            driver, connect, refused_certificate, hint = (
                self._token_login(secret, port, endpoint.database, operation.timeout_seconds)
                if secret.authentication == AZURE_IDENTITY
                else self._password_login(secret, port, endpoint.database, operation.timeout_seconds))
        except SqlOperationFailed as problem:
            return SqlOperationFailed("cannot connect to %s: %s" % (where, problem))
        try:
            connection = self._connect(connect)
            if connection is None:
                return SqlOperationFailed(
                    "cannot connect to %s: no answer to the login within %d s (login timeout %d s); nothing was run"
                    % (where, self._login_wait_seconds(), self._login_timeout_seconds))
        except driver.Error as problem:
            hint = hint if refused_certificate(problem) else ""
            return SqlOperationFailed("cannot connect to %s: %s%s" % (where, _message(problem), hint))
        cursor = None
        try:
            cursor = connection.cursor()
            cursor.execute(operation.sql)
            return SqlResult(rows=_last_result_set(cursor))
        except driver.Error as problem:
            return SqlOperationFailed("%s failed on %s: %s" % (operation.key, where, _message(problem, cursor)))
        finally:
            connection.close()

    def _password_login(self, secret: Any, port: str, database: str, timeout_seconds: int) -> tuple:
        """pymssql's (the driver given) login with the connection's login and password: (driver, connect(), whether an
        error is a refused certificate, the hint then)."""
        driver = self._driver or _pymssql()
        if self._tls is not None:
            self._tls.prepare(secret.connection_id, secret.host or "", port, secret.trust_server_certificate)
        return driver, lambda: driver.connect(
            server=secret.host,
            port=port,
            user=secret.login,
            password=secret.password,
            database=database,
            autocommit=True,
            login_timeout=self._login_timeout_seconds,
            timeout=timeout_seconds,
            encryption=ENCRYPTION,
        ), lambda problem: _arguments(problem)[:1] == (CONNECTION_FAILED,), TLS_HINT % secret.connection_id

    def _token_login(self, secret: Any, port: str, database: str, timeout_seconds: int) -> tuple:
        """python-tds's login with an Entra ID token of the DAG's identity, TLS checked against the CA bundle."""
        if self._token_driver is None:
            self._token_driver = TokenLoginDriver()  # once: it imports python-tds and puts the host check in it
        driver = self._token_driver
        if self._credential_factory is None:
            raise SqlOperationFailed("connection %s logs in with an Entra ID token, and this DAG has no Azure credential "
                                     "for it" % secret.connection_id)
        cafile = (self._tls or FreeTdsTls()).ca_bundle()
        # Asked here, as the DAG's other Azure calls ask theirs (bounded: `services._default_credential`; NoTimeToWait
        # goes up as theirs), not in the login's thread: the login wait is the server's
        from azure.core.exceptions import ClientAuthenticationError

        try:
            token = self._credential_factory().get_token(TOKEN_SCOPE).token
        except ClientAuthenticationError as problem:
            raise SqlOperationFailed("the DAG's identity got no Entra ID token for connection %s: %s"
                                     % (secret.connection_id, redact(_message(problem)))) from None
        remember_secret(token)  # taken out of any text from now on (a JWT is anyway)
        host, port = _host_and_port(secret.host or "", port)
        host = _a_labels(secret.connection_id, host)  # of the name alone: IDNA refuses a `:port`
        return driver, lambda: driver.connect(
            server=host,
            port=port,
            token=token,
            database=database,
            autocommit=True,
            login_timeout=self._login_timeout_seconds,
            timeout=timeout_seconds,
            cafile=cafile,
        ), driver.refused_certificate, TOKEN_TLS_HINT


def _host_and_port(host: str, port: str) -> Tuple[str, str]:
    """A host written `host:port` as pymssql reads it (its `_mssql` adds the connection's port only to a server without
    a colon, and FreeTDS takes the port after it): that port, not the connection's. python-tds resolved `host:port` as a
    name. An IPv6 address (several colons) and a named instance (`host\\instance`) are left as they are."""
    name, colon, own_port = host.partition(":")
    if colon and own_port.isdigit() and "\\" not in host and ":" not in own_port:
        return name, own_port
    return host, port


def _a_labels(connection_id: str, host: str) -> str:
    """`host` with its non-ASCII labels as A-labels (IDNA 2008 with UTS #46's mapping, the `idna` package requests
    brings: `straße` is `xn--strae-oqa`, not IDNA 2003's `strasse`): python-tds sends the name as ASCII (TLS's server
    name) and checks the certificate against it, whose DNS names hold A-labels (RFC 6125 6.4.2 compares them so);
    before, a U-label host failed the operation with a UnicodeEncodeError after the connection was open."""
    if host.isascii():
        return host
    import idna

    name, backslash, instance = host.partition("\\")
    try:
        return idna.encode(name, uts46=True).decode("ascii") + backslash + instance
    except UnicodeError as problem:  # idna.IDNAError is one
        raise SqlOperationFailed("connection %s: its host %r is no DNS name IDNA encodes (%s)"
                                 % (connection_id, host, problem)) from None


# What pymssql 2.4.6 runs on each new connection (the batch tests/tds_login_server.py receives from it), so a token
# login's session is the same: python-tds's login asks for ODBC's defaults (ANSI_DEFAULTS on, IMPLICIT_TRANSACTIONS
# off), which leave ARITHABORT off.
PYMSSQL_SESSION_OPTIONS = ("SET ARITHABORT ON;SET CONCAT_NULL_YIELDS_NULL ON;SET ANSI_NULLS ON;SET ANSI_NULL_DFLT_ON ON;"
                           "SET ANSI_PADDING ON;SET ANSI_WARNINGS ON;SET ANSI_NULL_DFLT_ON ON;"
                           "SET CURSOR_CLOSE_ON_COMMIT ON;SET QUOTED_IDENTIFIER ON;SET TEXTSIZE 2147483647;")


def certificate_names_host(cert: Any, name: bytes) -> bool:
    """Whether the server's certificate `cert` (pyOpenSSL's X509) is for the host `name` (python-tds's arguments). An IP
    address: one of its subjectAltName IP addresses, never a DNS name nor the common name (RFC 2818 3.1). A host name:
    one of its subjectAltName DNS names, or its common name where it has none (RFC 6125 6.4.4), equal to it or a
    wildcard for its left-most label alone (RFC 6125 6.4.3, as Python's ssl matched names); letter case aside."""
    import ipaddress

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    host = name.decode("ascii").lower()
    parsed = cert.to_cryptography()
    try:
        alt_names = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        alt_names = None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        return alt_names is not None and address in alt_names.get_values_for_type(x509.IPAddress)
    host = host.rstrip(".")
    patterns = alt_names.get_values_for_type(x509.DNSName) if alt_names is not None else []
    if not patterns:
        patterns = [str(attribute.value) for attribute in parsed.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    for pattern in (str(pattern).lower().rstrip(".") for pattern in patterns):
        if pattern == host:
            return True
        first, _, rest = host.partition(".")
        if pattern.startswith("*.") and "*" not in pattern[2:] and first and rest == pattern[2:] and "." in rest:
            return True
    return False


class SqlBrowserFailed(Exception):
    """A named instance's port the SQL Browser did not give (python-tds's lookup failed)."""


class TokenLoginDriver:
    """python-tds (pytds) for a login with an Entra ID token: TDS's FEDAUTH feature extension carrying it (MS-TDS
    2.2.6.4, FeatureId 0x02, bFedAuthLibrary SECURITYTOKEN), over TLS for the whole connection (PRELOGIN ENCRYPT_ON;
    python-tds refuses a server offering none) whose certificate must chain to `cafile` and name the host. Its errors:
    python-tds's (a SQL Server error's `number` and `text`), a socket's, pyOpenSSL's (a refused chain)."""

    def __init__(self) -> None:
        import OpenSSL.SSL
        import pytds
        import pytds.tls
        # python-tds 1.17.1 checks the host name with pyOpenSSL's X509.get_extension, which pyOpenSSL 26.2.0 removed
        # (denisenkom/pytds#199): every certificate whose CN is not the host (Azure SQL's: a wildcard CN) failed with an
        # AttributeError. Its module function is this check instead, the one it calls after the handshake, before LOGIN7.
        pytds.tls.validate_host = certificate_names_host
        self._pytds = pytds
        self.Error = (pytds.Error, OSError, OpenSSL.SSL.Error, SqlBrowserFailed)
        self._tls_errors = (OpenSSL.SSL.Error,)

    def connect(self, server: Optional[str], port: str, token: str, database: str, autocommit: bool,
                login_timeout: int, timeout: int, cafile: str) -> Any:
        host = server or ""
        try:
            connection = self._pytds.connect(
                dsn=host,
                port=None if "\\" in host else int(port),  # a named instance's port is the SQL Browser's answer
                database=database,
                autocommit=autocommit,
                login_timeout=login_timeout,
                timeout=timeout,
                cafile=cafile,
                validate_host=True,
                access_token_callable=lambda: token,
                disable_connect_retry=True,  # one login within the login timeout, as pymssql's
                appname="migration-orchestration",
            )
        except (RuntimeError, ValueError, LookupError) as problem:
            if "\\" not in host:
                raise
            # python-tds 1.17.1's SQL Browser lookup (`instance_browser_client.resolve_instance_port`) raises a bare
            # RuntimeError on an empty or malformed answer, and its parsing a KeyError, ValueError or
            # UnicodeDecodeError: a connection failure like any other (an unanswered lookup is a socket timeout already)
            raise SqlBrowserFailed("the SQL Browser (UDP 1434) of %s gave no port of instance %s: %s: %s" % (
                host.partition("\\")[0], host.partition("\\")[2], type(problem).__name__, problem)) from None
        try:
            cursor = connection.cursor()
            cursor.execute(PYMSSQL_SESSION_OPTIONS)  # the session pymssql's connections have
            while cursor.nextset():
                pass
        except BaseException:
            connection.close()
            raise
        return connection

    def refused_certificate(self, problem: Exception) -> bool:
        return isinstance(problem, self._tls_errors) or (
            isinstance(problem, self._pytds.Error) and str(problem).startswith("Certificate does not match host name"))


_PROCESS_TLS: List[FreeTdsTls] = []


def _process_tls() -> FreeTdsTls:
    """One per process: FREETDSCONF is the process's."""
    if not _PROCESS_TLS:
        _PROCESS_TLS.append(FreeTdsTls())
    return _PROCESS_TLS[0]


def _last_result_set(cursor: Any) -> List[Mapping[str, Any]]:
    """The rows of the batch's last result set (statements end with a SELECT of their outcome)."""
    rows: List[Mapping[str, Any]] = []
    while True:
        if cursor.description:
            names = [column[0] for column in cursor.description]
            rows = [dict(zip(names, values)) for values in cursor.fetchall()]
        if not cursor.nextset():
            return rows


def connection_ids_from_plan(plan: Any) -> Callable[[SqlEndpoint], str]:
    """Endpoint to Airflow connection id: `sourceServers[].connectionId` / `targetServers[].connectionId`."""
    ids = {("source", s.name): s.connection_id for s in plan.source_servers}
    ids.update({("target", t.name): t.connection_id for t in plan.target_servers})

    def connection_id_of(endpoint: SqlEndpoint) -> str:
        try:
            return ids[(endpoint.role, endpoint.server_name)]
        except KeyError:
            raise KeyError("no %s server named %s in the plan" % (endpoint.role, endpoint.server_name)) from None

    return connection_id_of


def _arguments(problem: Exception) -> tuple:
    """The error's (number, text), or its text: pymssql's own errors hold the pair as their one argument."""
    arguments = problem.args
    return arguments[0] if len(arguments) == 1 and isinstance(arguments[0], tuple) else arguments


def _message(problem: Exception, cursor: Any = None) -> str:
    if hasattr(problem, "msg_no") and isinstance(getattr(problem, "text", None), str):
        # python-tds's SQL Server error: "SQL Server message <number>, severity <s>, state <t>, line <l>:\n<text>", of
        # the batch's last error alone; its errors before it (a BACKUP's cause before its "BACKUP LOG is terminating
        # abnormally", which pymssql's text keeps) are the cursor's messages (DB-API's, python-tds's errors too)
        errors = [error for _, error in (getattr(cursor, "messages", None) or []) if getattr(error, "severity", 0) > 10]
        return "\n".join(str(error.message if error.number else error.text).strip() for error in errors or [problem])
    arguments = _arguments(problem)
    text = arguments[1] if len(arguments) > 1 else (arguments[0] if arguments else problem)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text).strip()


def _pymssql() -> Any:
    import pymssql

    # pymssql raises on a server message of severity 6 and above (`_mssql.min_error_severity`); SQL Server's own
    # information (5060 of WITH ROLLBACK IMMEDIATE, 4035 and 3014 of BACKUP LOG, 8153) is severity 10 in sys.messages,
    # which "for compatibility reasons, the Database Engine converts ... to severity 0 before returning the error
    # information to the calling application" (MicrosoftDocs/sql-docs, "Database engine error severities"): none of it
    # reaches that threshold (tests/test_sql_access_tls.py sends them so).
    return pymssql

