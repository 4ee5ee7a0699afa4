"""The T-SQL the DAG sends, through a stand-in pymssql module (no SQL Server here)."""
from __future__ import annotations

import sys
import types

import pytest

from migration_orchestration_lib.connections import ConnectionSecret
from migration_orchestration_lib.sql_server import SqlServer


class FakeCursor:
    def __init__(self, log, rows):
        self.log, self.rows = log, rows

    def execute(self, sql, params=None):
        self.log.append((sql, params))

    def fetchall(self):
        return self.rows.pop(0) if self.rows else []


class FakeConnection:
    def __init__(self, log, rows, arguments):
        self.log, self.rows, self.arguments = log, rows, arguments
        self.closed = False

    def cursor(self):
        return FakeCursor(self.log, self.rows)

    def close(self):
        self.closed = True


@pytest.fixture
def pymssql(monkeypatch):
    module = types.SimpleNamespace(statements=[], rows=[], connections=[])

    def connect(**arguments):
        connection = FakeConnection(module.statements, module.rows, arguments)
        module.connections.append(connection)
        return connection

    module.connect = connect
    monkeypatch.setitem(sys.modules, "pymssql", module)
    return module


class Connections:
    def get(self, connection_id):
        return ConnectionSecret(connection_id, "sql01.corp", 14330, "migrator", "hunter2")


def test_freeze_and_tail_log_backup_run_in_autocommit(pymssql):
    sql = SqlServer(Connections())
    sql.set_read_only("src", "Sales", True)
    sql.backup_log("src", "Sales", "\\\\share\\sql01\\Sales_cutover.trn")
    sql.set_read_only("src", "Sales", False)

    assert pymssql.statements == [
        ("ALTER DATABASE [Sales] SET READ_ONLY WITH ROLLBACK IMMEDIATE", None),
        ("BACKUP LOG [Sales] TO DISK = %s WITH CHECKSUM, INIT", ("\\\\share\\sql01\\Sales_cutover.trn",)),
        ("ALTER DATABASE [Sales] SET READ_WRITE WITH ROLLBACK IMMEDIATE", None),
    ]
    first = pymssql.connections[0]
    assert first.arguments["autocommit"] is True
    assert (first.arguments["server"], first.arguments["port"], first.arguments["database"]) == ("sql01.corp", "14330", "master")
    assert all(connection.closed for connection in pymssql.connections)


def test_database_state_reads_sys_databases(pymssql):
    pymssql.rows.append([("ONLINE", "FULL", 0)])
    state = SqlServer(Connections()).database_state("src", "Sales")
    assert (state.state, state.recovery_model, state.is_read_only) == ("ONLINE", "FULL", False)
    assert pymssql.statements[0][1] == ("Sales",)


def test_absent_database_has_no_state(pymssql):
    assert SqlServer(Connections()).database_state("tgt", "Sales") is None


def test_fingerprint_counts_rows_and_checksums_a_quoted_table(pymssql):
    pymssql.rows.extend([[(12345,)], [(42, -99)]])
    fingerprint = SqlServer(Connections()).table_fingerprint("src", "Sales", "dbo.Order Lines", with_checksum=True)
    assert (fingerprint.row_count, fingerprint.checksum) == (42, -99)
    assert pymssql.statements[1][0] == "SELECT COUNT_BIG(*), CHECKSUM_AGG(BINARY_CHECKSUM(*)) FROM [dbo].[Order Lines]"
    assert pymssql.connections[0].arguments["database"] == "Sales"


def test_fingerprint_of_a_missing_table_is_none(pymssql):
    pymssql.rows.append([(None,)])
    assert SqlServer(Connections()).table_fingerprint("tgt", "Sales", "dbo.Gone", with_checksum=False) is None


def test_target_database_is_dropped_by_quoted_name(pymssql):
    SqlServer(Connections()).drop_database("tgt", "Sales]; DROP DATABASE master; --")
    assert pymssql.statements == [("DROP DATABASE IF EXISTS [Sales]]; DROP DATABASE master; --]", None)]
