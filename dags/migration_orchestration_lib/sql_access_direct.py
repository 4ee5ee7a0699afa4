"""SQL access over a direct TDS connection from the Airflow worker (pymssql), for hosts with reach.

`submit` runs the batch at once on a new connection to the endpoint (one connection per
operation, closed afterwards; autocommit, because ALTER DATABASE and BACKUP refuse to run inside a
transaction) and keeps the outcome by key for this process, so `result` answers without a second
run and submitting the same key again in this process runs nothing. A new process (a reschedule,
a retry, a crashed worker's successor) runs the batch again: the statements are idempotent
(`sql_statements`), so a second `BACKUP LOG` to the same file finds the first in msdb.

Logins come from Airflow connections (host, port, login, password); the password goes to the
driver only, never into a message.

Every connection is encrypted and the server's certificate checked (`FreeTdsTls`): FreeTDS's encryption `require`
(encrypted connections only; its default, `request`, sends the login in clear to a server that offers no TLS), as
pymssql's `encryption` argument and in a freetds.conf whose `ca file` makes FreeTDS verify the certificate's chain and
host name (FreeTDS checks neither without one: `src/tds/tls.c`, `tds_ssl_init`). A connection whose extra says
`"trust_server_certificate": true` is encrypted without that check, with a warning.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from typing import Any, Callable, Dict, List, Mapping, MutableMapping, Optional, Set, Tuple, Union

from migration_orchestration_lib.connections import TRUSTED_CERTIFICATE_WARNING, redacting_logger
from migration_orchestration_lib.daemon_work import DaemonWork

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
    ):
        """`connections.get(id)` gives an Airflow connection's host, port, login and password;
        `connection_id_of` names the connection of an endpoint (see `connection_ids_from_plan`)."""
        self._connections = connections
        self._connection_id_of = connection_id_of
        self._driver = driver
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
        driver = self._driver or _pymssql()
        endpoint = operation.endpoint
        connection_id = self._connection_id_of(endpoint)
        secret = self._connections.get(connection_id)
        where = "%s (%s, connection %s, database %s)" % (endpoint.server_name, endpoint.role, connection_id, endpoint.database)
        port = str(secret.port or DEFAULT_PORT)
        try:
            if self._tls is not None:
                self._tls.prepare(connection_id, secret.host or "", port, secret.trust_server_certificate)
        except SqlOperationFailed as problem:
            return SqlOperationFailed("cannot connect to %s: %s" % (where, problem))
        try:
            connection = self._connect(lambda: driver.connect(
                server=secret.host,
                port=port,
                user=secret.login,
                password=secret.password,
                database=endpoint.database,
                autocommit=True,
                login_timeout=self._login_timeout_seconds,
                timeout=operation.timeout_seconds,
                encryption=ENCRYPTION,
            ))
            if connection is None:
                return SqlOperationFailed(
                    "cannot connect to %s: no answer to the login within %d s (login timeout %d s); nothing was run"
                    % (where, self._login_wait_seconds(), self._login_timeout_seconds))
        except driver.Error as problem:
            hint = TLS_HINT % connection_id if _arguments(problem)[:1] == (CONNECTION_FAILED,) else ""
            return SqlOperationFailed("cannot connect to %s: %s%s" % (where, _message(problem), hint))
        try:
            cursor = connection.cursor()
            cursor.execute(operation.sql)
            return SqlResult(rows=_last_result_set(cursor))
        except driver.Error as problem:
            return SqlOperationFailed("%s failed on %s: %s" % (operation.key, where, _message(problem)))
        finally:
            connection.close()


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


def _message(problem: Exception) -> str:
    arguments = _arguments(problem)
    text = arguments[1] if len(arguments) > 1 else (arguments[0] if arguments else problem)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text).strip()


def _pymssql() -> Any:
    import pymssql

    return pymssql
