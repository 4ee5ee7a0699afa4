"""The current steps' synchronous SQL calls (the `SqlServer` shim) against the fake pymssql."""
from __future__ import annotations

import pytest

from migration_orchestration_lib.sql_server import SqlServer
from migration_rehearsal.sql_world import SqlEngine
from sql_access_setup import SHARE, Connections, estate

pytestmark = pytest.mark.airflow26


@pytest.fixture
def world(tmp_path):
    return estate(str(tmp_path / "world"))


@pytest.fixture
def engine(world):
    return SqlEngine(world)


@pytest.fixture
def sql(engine):
    return SqlServer(Connections(), driver=engine)


def test_each_call_opens_one_autocommit_connection_with_the_airflow_login(sql, engine):
    sql.database_state("mssql_source_sql01", "Sales")
    assert engine.connections == [
        {"server": "sql01.corp.contoso.com", "port": "1433", "user": "migrator", "database": "master", "autocommit": True,
         "timeout": 3600, "login_timeout": 30}
    ]


def test_state_read_only_and_back(sql, world):
    assert sql.database_state("mssql_source_sql01", "Sales").is_read_only is False
    sql.set_read_only("mssql_source_sql01", "Sales", True)
    assert world.database("sql01", "Sales")["readOnly"] is True
    sql.set_read_only("mssql_source_sql01", "Sales", False)
    state = sql.database_state("mssql_source_sql01", "Sales")
    assert (state.state, state.recovery_model, state.is_read_only) == ("ONLINE", "FULL", False)
    assert sql.database_state("mssql_source_sql01", "Payroll") is None


def test_a_repeated_backup_log_takes_one_backup(sql, world):
    for _ in range(2):
        sql.backup_log("mssql_source_sql01", "Sales", SHARE + "\\Sales_cutover.trn")
    assert [b["fileName"] for b in world.backups("sql01", "Sales") if b["type"] == "LOG"] == ["Sales_cutover.trn"]


def test_tables_and_fingerprints(sql):
    assert sql.user_tables("mssql_source_sql01", "Sales") == ["dbo.Customers", "dbo.Orders", "sales.Order Lines"]
    orders = sql.table_fingerprint("mssql_source_sql01", "Sales", "dbo.Orders", with_checksum=True)
    assert orders.row_count == 2 and orders.checksum is not None
    assert sql.table_fingerprint("mssql_source_sql01", "Sales", "dbo.Gone", with_checksum=False) is None
    assert [f.table for f in sql.table_fingerprints("mssql_source_sql01", "Sales", None, True)] == [
        "dbo.Customers", "dbo.Orders", "sales.Order Lines"]


def test_names_and_paths_cannot_inject_sql(sql, world):
    world.put_database("vm-prod", "Sales")
    sql.drop_database("mssql_target_vm_prod", "Sales]; DROP DATABASE Sales; --")  # no such database: nothing dropped
    assert world.database("vm-prod", "Sales") is not None
    sql.set_read_only("mssql_source_sql01", "Sales]; ALTER DATABASE Sales SET READ_ONLY; --", True)
    assert world.database("sql01", "Sales")["readOnly"] is False
    assert sql.database_state("mssql_source_sql01", "Sales'; DROP DATABASE Sales; --") is None
    odd_file = SHARE + "\\x'; BACKUP LOG [Sales] TO DISK = N'y.trn'; --"
    sql.backup_log("mssql_source_sql01", "Sales", odd_file)
    assert [b["path"] for b in world.backups("sql01", "Sales") if b["type"] == "LOG"] == [odd_file]


def test_a_sqlvm_target_database_is_dropped(sql, world):
    world.put_database("vm-prod", "Sales", state="RESTORING")
    sql.drop_database("mssql_target_vm_prod", "Sales")
    assert world.database("vm-prod", "Sales") is None
