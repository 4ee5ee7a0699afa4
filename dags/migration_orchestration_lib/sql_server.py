"""The synchronous SQL calls of the current steps, kept until they move to `SqlAccess`.

A thin shim: every call builds its T-SQL with `sql_statements` and runs it through
`DirectSqlAccess` (one connection per call, autocommit), so the steps already run the idempotent
statements (guarded ALTER DATABASE, BACKUP LOG that checks msdb first, one fingerprint batch per
side). New code should use `SqlAccess` (submit/result) instead.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Sequence

from migration_orchestration_lib import sql_statements
from migration_orchestration_lib.sql_access import SOURCE, SqlEndpoint, SqlOperation
from migration_orchestration_lib.sql_access_direct import DirectSqlAccess


@dataclass(frozen=True)
class DatabaseState:
    state: str  # ONLINE, RESTORING, ...
    recovery_model: str  # FULL, SIMPLE, BULK_LOGGED
    is_read_only: bool


@dataclass(frozen=True)
class TableFingerprint:
    row_count: int
    checksum: Optional[str]



class SqlServer:
    """`connections.get(id)` gives host, port, login and password of an Airflow connection."""

    def __init__(self, connections: Any, driver: Any = None):
        self._connections = connections
        self._driver = driver

    def database_state(self, connection_id: str, database: str) -> Optional[DatabaseState]:
        state = sql_statements.parse_database_state(self._run(connection_id, "master", sql_statements.database_state(database)))
        if state is None:
            return None
        return DatabaseState(state=state.state, recovery_model=state.recovery_model, is_read_only=state.is_read_only)

    def set_read_only(self, connection_id: str, database: str, read_only: bool) -> None:
        sql = sql_statements.freeze(database, "readOnly") if read_only else sql_statements.unfreeze(database)
        self._run(connection_id, "master", sql)

    def backup_log(self, connection_id: str, database: str, file_path: str) -> None:
        self._run(connection_id, "master", sql_statements.backup_log(database, file_path))

    def drop_database(self, connection_id: str, database: str) -> None:
        self._run(connection_id, "master", sql_statements.drop_database(database))

    def user_tables(self, connection_id: str, database: str) -> List[str]:
        rows = self._run(connection_id, database, sql_statements.user_tables(database, connected_database=database))
        return sql_statements.parse_user_tables(rows)

    def table_fingerprint(self, connection_id: str, database: str, table: str, with_checksum: bool) -> Optional[TableFingerprint]:
        """Row count (and checksum) of a table, or None when the table does not exist."""
        found = self.table_fingerprints(connection_id, database, [table], with_checksum)[0]
        if found.error == "table does not exist":
            return None
        if found.error:
            raise sql_statements.StatementError("%s on %s: %s" % (table, database, found.error))
        return TableFingerprint(row_count=found.row_count, checksum=found.checksum)

    def table_fingerprints(self, connection_id: str, database: str, tables: Optional[Sequence[str]], with_checksum: bool,
                           exclude_rowversion: bool = False) -> List[sql_statements.TableFingerprint]:
        """Every table (or the given ones) of a database in one batch on one connection."""
        sql = sql_statements.table_fingerprints(
            database, tables=tables, with_checksum=with_checksum, exclude_rowversion=exclude_rowversion,
            connected_database=database)
        return sql_statements.parse_fingerprints(self._run(connection_id, database, sql))

    def _run(self, connection_id: str, database: str, sql: str) -> List[Mapping[str, Any]]:
        access = DirectSqlAccess(self._connections, lambda _endpoint: connection_id, driver=self._driver)
        operation = SqlOperation(
            key=uuid.uuid4().hex, endpoint=SqlEndpoint(SOURCE, connection_id, database), sql=sql, returns_rows=True
        )
        return list(access.result(access.submit(operation)).rows)
