"""The few T-SQL statements the DAG runs on source and target servers (pymssql, imported lazily)."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Tuple

LOGIN_TIMEOUT_SECONDS = 30
QUERY_TIMEOUT_SECONDS = 3600


@dataclass(frozen=True)
class DatabaseState:
    state: str  # ONLINE, RESTORING, ...
    recovery_model: str  # FULL, SIMPLE, BULK_LOGGED
    is_read_only: bool


@dataclass(frozen=True)
class TableFingerprint:
    row_count: int
    checksum: Optional[int]


def quote_name(identifier: str) -> str:
    """T-SQL QUOTENAME for identifiers the plan supplies."""
    return "[%s]" % identifier.replace("]", "]]")


def quote_table(schema_and_table: str) -> str:
    schema, table = schema_and_table.split(".", 1)
    return "%s.%s" % (quote_name(schema), quote_name(table))


class SqlServer:
    """`connections.get(id)` gives host, port, login and password of an Airflow connection."""

    def __init__(self, connections: Any):
        self._connections = connections

    def database_state(self, connection_id: str, database: str) -> Optional[DatabaseState]:
        rows = self._query(
            connection_id,
            "master",
            "SELECT state_desc, recovery_model_desc, is_read_only FROM sys.databases WHERE name = %s",
            (database,),
        )
        if not rows:
            return None
        state, recovery_model, is_read_only = rows[0]
        return DatabaseState(state=state, recovery_model=recovery_model, is_read_only=bool(is_read_only))

    def set_read_only(self, connection_id: str, database: str, read_only: bool) -> None:
        self._execute(
            connection_id,
            "master",
            "ALTER DATABASE %s SET %s WITH ROLLBACK IMMEDIATE"
            % (quote_name(database), "READ_ONLY" if read_only else "READ_WRITE"),
        )

    def backup_log(self, connection_id: str, database: str, file_path: str) -> None:
        self._execute(
            connection_id,
            "master",
            "BACKUP LOG %s TO DISK = %%s WITH CHECKSUM, INIT" % quote_name(database),
            (file_path,),
        )

    def drop_database(self, connection_id: str, database: str) -> None:
        self._execute(connection_id, "master", "DROP DATABASE IF EXISTS %s" % quote_name(database))

    def user_tables(self, connection_id: str, database: str) -> List[str]:
        rows = self._query(
            connection_id,
            database,
            "SELECT s.name, t.name FROM sys.tables t JOIN sys.schemas s ON s.schema_id = t.schema_id "
            "WHERE t.is_ms_shipped = 0 ORDER BY s.name, t.name",
        )
        return ["%s.%s" % (schema, table) for schema, table in rows]

    def table_fingerprint(
        self, connection_id: str, database: str, table: str, with_checksum: bool
    ) -> Optional[TableFingerprint]:
        """Row count (and checksum) of a table, or None when the table does not exist."""
        exists = self._query(connection_id, database, "SELECT OBJECT_ID(%s, 'U')", (quote_table(table),))
        if not exists or exists[0][0] is None:
            return None
        checksum_sql = ", CHECKSUM_AGG(BINARY_CHECKSUM(*))" if with_checksum else ""
        rows = self._query(
            connection_id, database, "SELECT COUNT_BIG(*)%s FROM %s" % (checksum_sql, quote_table(table))
        )
        row = rows[0]
        return TableFingerprint(row_count=int(row[0]), checksum=row[1] if with_checksum else None)

    def _query(self, connection_id: str, database: str, sql: str, params: Tuple = ()) -> List[Tuple]:
        with self._cursor(connection_id, database) as cursor:
            cursor.execute(sql, params or None)
            return list(cursor.fetchall())

    def _execute(self, connection_id: str, database: str, sql: str, params: Tuple = ()) -> None:
        with self._cursor(connection_id, database) as cursor:
            cursor.execute(sql, params or None)

    @contextlib.contextmanager
    def _cursor(self, connection_id: str, database: str) -> Iterator[Any]:
        import pymssql

        secret = self._connections.get(connection_id)
        # ALTER DATABASE and BACKUP cannot run inside a transaction: autocommit.
        connection = pymssql.connect(
            server=secret.host,
            port=str(secret.port or 1433),
            user=secret.login,
            password=secret.password,
            database=database,
            autocommit=True,
            login_timeout=LOGIN_TIMEOUT_SECONDS,
            timeout=QUERY_TIMEOUT_SECONDS,
        )
        try:
            cursor = connection.cursor()
            yield cursor
        finally:
            connection.close()
