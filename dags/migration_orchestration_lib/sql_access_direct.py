"""SQL access over a direct TDS connection from the Airflow worker (pymssql), for hosts with reach.

`submit` runs the batch at once on a new connection to the endpoint (one connection per
operation, closed afterwards; autocommit, because ALTER DATABASE and BACKUP refuse to run inside a
transaction) and keeps the outcome by key for this process, so `result` answers without a second
run and submitting the same key again in this process runs nothing. A new process (a reschedule,
a retry, a crashed worker's successor) runs the batch again: the statements are idempotent
(`sql_statements`), so a second `BACKUP LOG` to the same file finds the first in msdb.

Logins come from Airflow connections (host, port, login, password); the password goes to the
driver only, never into a message.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Union

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


class DirectSqlAccess:
    """`SqlAccess` through pymssql (or any DB-API module with pymssql's `connect` arguments)."""

    def __init__(
        self,
        connections: Any,
        connection_id_of: Callable[[SqlEndpoint], str],
        driver: Any = None,
        login_timeout_seconds: int = LOGIN_TIMEOUT_SECONDS,
    ):
        """`connections.get(id)` gives an Airflow connection's host, port, login and password;
        `connection_id_of` names the connection of an endpoint (see `connection_ids_from_plan`)."""
        self._connections = connections
        self._connection_id_of = connection_id_of
        self._driver = driver
        self._login_timeout_seconds = login_timeout_seconds
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

    def _run(self, operation: SqlOperation) -> Union[SqlResult, SqlOperationFailed]:
        driver = self._driver or _pymssql()
        endpoint = operation.endpoint
        connection_id = self._connection_id_of(endpoint)
        secret = self._connections.get(connection_id)
        where = "%s (%s, connection %s, database %s)" % (endpoint.server_name, endpoint.role, connection_id, endpoint.database)
        try:
            connection = driver.connect(
                server=secret.host,
                port=str(secret.port or DEFAULT_PORT),
                user=secret.login,
                password=secret.password,
                database=endpoint.database,
                autocommit=True,
                login_timeout=self._login_timeout_seconds,
                timeout=operation.timeout_seconds,
            )
        except driver.Error as problem:
            return SqlOperationFailed("cannot connect to %s: %s" % (where, _message(problem)))
        try:
            cursor = connection.cursor()
            cursor.execute(operation.sql)
            return SqlResult(rows=_last_result_set(cursor))
        except driver.Error as problem:
            return SqlOperationFailed("%s failed on %s: %s" % (operation.key, where, _message(problem)))
        finally:
            connection.close()


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


def _message(problem: Exception) -> str:
    text = problem.args[1] if len(problem.args) > 1 else (problem.args[0] if problem.args else problem)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text).strip()


def _pymssql() -> Any:
    import pymssql

    return pymssql
