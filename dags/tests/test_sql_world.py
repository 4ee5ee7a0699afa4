"""The fake SQL engine refuses what it does not understand and what SQL Server refuses."""
from __future__ import annotations

import copy
import os

import pytest

from migration_orchestration_lib import sql_statements
from migration_rehearsal import sql_world
from migration_rehearsal.sql_world import SqlEngine, rows_as_dicts
from migration_rehearsal.world import WorldError, table_key_parts
from migration_orchestration_lib.validation import compare_fingerprints
from sql_access_setup import TABLES, estate

pytestmark = pytest.mark.airflow26


@pytest.fixture
def world(tmp_path):
    return estate(str(tmp_path / "world"))


def cursor_on(world, database="master", autocommit=True, server="sql01"):
    return SqlEngine(world).connect(server=server, user="u", password="p", database=database, autocommit=autocommit).cursor()


@pytest.mark.parametrize(
    "sql, construct",
    [
        ("UPDATE dbo.Orders SET Total = 0;", "statement starting with 'UPDATE'"),
        ("ALTER DATABASE [Sales] SET OFFLINE;", "SET OFFLINE"),
        ("ALTER DATABASE [Sales] SET READ_ONLY WITH NO_WAIT;", "expected a name"),
        ("BACKUP LOG [Sales] TO DISK = N'x.trn' WITH COPY_ONLY;", "COPY_ONLY"),
        ("SELECT name FROM sys.dm_exec_sessions;", "sys.dm_exec_sessions"),
        ("SELECT secret_column FROM sys.databases;", "the column secret_column"),
        ("SELECT CAST(1 AS int);", "CAST"),
        ("SELECT ORIGINAL_LOGIN();", "the function ORIGINAL_LOGIN"),
        ("EXEC sp_who;", "EXEC sp_who"),
        ("SELECT u.total_page_count FROM sys.master_files AS f CROSS APPLY sys.dm_db_file_space_usage(f.database_id) AS u;",
         "the table-valued function sys.dm_db_file_space_usage"),
    ],
)
def test_unknown_t_sql_is_refused_by_name(world, sql, construct):
    with pytest.raises(sql_world.ProgrammingError, match="does not understand") as refused:
        cursor_on(world).execute(sql)
    assert construct in str(refused.value)


def test_a_fingerprint_loop_missing_an_ingredient_is_refused(world):
    batch = sql_statements.table_fingerprints("Sales").replace(", INCLUDE_NULL_VALUES", "")
    with pytest.raises(sql_world.ProgrammingError, match="each row as JSON with its NULLs"):
        cursor_on(world).execute(batch)
    rowversion_kept = sql_statements.table_fingerprints("Sales").replace("c.system_type_id = 189", "c.system_type_id = 999")
    with pytest.raises(sql_world.ProgrammingError, match="rowversion left out on request"):
        cursor_on(world).execute(rowversion_kept)


def test_driver_parameters_are_refused(world):
    with pytest.raises(sql_world.NotSupportedError):
        cursor_on(world).execute("SELECT name FROM sys.databases WHERE name = %s", ("Sales",))


@pytest.mark.parametrize(
    "sql, message",
    [
        (sql_statements.freeze("Sales", "readOnly"), "not allowed within multi-statement transaction"),
        (sql_statements.backup_log("Sales", "x.trn"), "within a transaction"),
        (sql_statements.drop_database("Restoring"), "inside a user transaction"),  # the batch drops no ONLINE one
    ],
)
def test_changes_are_refused_inside_a_transaction(world, sql, message):
    world.put_database("sql01", "Restoring", state="RESTORING")
    with pytest.raises(sql_world.OperationalError, match=message):
        cursor_on(world, autocommit=False).execute(sql)


def test_sql_servers_own_refusals(world):
    with pytest.raises(sql_world.DatabaseError, match="SIMPLE recovery model"):
        world.put_database("sql01", "Scratch", recovery_model="SIMPLE")
        world.take_backup("sql01", "Scratch", "FULL", "scratch.bak")
        cursor_on(world).execute(sql_statements.backup_log("Scratch", "scratch.trn"))
    world.put_database("sql01", "Restoring", state="RESTORING")
    with pytest.raises(sql_world.DatabaseError, match="Restoring state"):
        cursor_on(world).execute("ALTER DATABASE [Restoring] SET READ_ONLY WITH ROLLBACK IMMEDIATE;")
    with pytest.raises(sql_world.DatabaseError, match="middle of a restore"):
        cursor_on(world).execute(sql_statements.user_tables("Restoring"))
    world.put_database("sql01", "Offline", state="OFFLINE")  # message 942, not a restore's 927
    with pytest.raises(sql_world.DatabaseError, match=r"Database 'Offline' cannot be opened because it is offline\. \(942\)"):
        cursor_on(world).execute(sql_statements.user_tables("Offline"))
    with pytest.raises(sql_world.OperationalError, match="Cannot open database"):
        cursor_on(world, database="Payroll")


def test_checksums_are_refused_on_sql_server_before_2016(world):
    with world.transaction() as state:
        state["servers"]["sql01"]["productMajorVersion"] = 12
    with pytest.raises(sql_world.DatabaseError, match="need SQL Server 2016 or later"):
        cursor_on(world).execute(sql_statements.table_fingerprints("Sales"))
    cursor = cursor_on(world)
    cursor.execute(sql_statements.table_fingerprints("Sales", with_checksum=False))
    assert [row["checksum"] for row in rows_as_dicts(cursor)] == [None, None, None]


def test_equal_rows_give_equal_checksums_and_rowversion_only_counts_when_kept(world):
    tables = world.database("sql01", "Sales")["tables"]
    customers = tables["dbo.Customers"]
    renumbered = [row[:3] + ["0x0999"] for row in customers["rows"]]
    world.put_database("db-prod", "Sales", tables=dict(tables, **{"dbo.Customers": dict(customers, rows=renumbered)}))

    def checksum(server, database, exclude):
        cursor = cursor_on(world, server=server, database=database)
        cursor.execute(sql_statements.table_fingerprints("Sales", tables=[("dbo", "Customers")], exclude_rowversion=exclude,
                                                         connected_database=database))
        return rows_as_dicts(cursor)[0]["checksum"]

    assert checksum("sql01", "master", True) == checksum("db-prod", "Sales", True)
    assert checksum("sql01", "master", False) != checksum("db-prod", "Sales", False)


@pytest.mark.parametrize("unmask", [[], ["UNMASK"], ["CONTROL"]], ids=["SELECT only", "UNMASK", "db_owner"])
def test_a_login_that_reads_masked_columns_as_their_masks_never_passes_a_difference_in_them(world, unmask):
    """dbo.Customers.Name is masked (dynamic data masking), and the target lacks the source's last change to it. Was: a
    login without UNMASK read both sides' names as xxxx, the checksums matched and validation passed. Now the batch
    refuses that table to such a login, naming the column and the GRANT; with UNMASK (or CONTROL) it compares."""
    tables = copy.deepcopy(TABLES)
    customers = tables["dbo.Customers"]
    customers["columns"][1]["masked"] = True
    world.put_database("sql01", "Shop", tables=tables)
    customers["rows"][0][1] = "Adam"
    world.put_database("db-prod", "Shop", tables=tables)
    for server in ("sql01", "db-prod"):
        world.set_login(server, "u", [], {"Shop": ["SELECT"] + unmask})

    def fingerprints(server, connected):
        cursor = cursor_on(world, server=server, database=connected)
        cursor.execute(sql_statements.table_fingerprints("Shop", connected_database=connected, login="the login u"))
        return sql_statements.parse_fingerprints(rows_as_dicts(cursor))

    report = compare_fingerprints(fingerprints("sql01", "master"), fingerprints("db-prod", "Shop"), row_counts=True, checksums=True)

    assert not report.passed
    [mismatch] = report.mismatches
    if unmask:
        assert mismatch == "dbo.Customers: checksums differ"
    else:
        assert mismatch.startswith("dbo.Customers: unreadable on source (validation refused: the login u lacks UNMASK in "
                                   "database [Shop], so it reads this table's masked column(s) [Name] (dynamic data masking)")
        assert "GRANT UNMASK TO [<its user>] in [Shop]" in mismatch


def test_external_tables_hold_no_data_of_the_database_and_are_not_compared_unless_listed(world):
    """dbo.Rates is an external table (PolyBase: its rows live in another system): a restore brings its definition,
    not data, and the managed instance cannot reach its data source. Was: every user table of sys.tables, external
    ones too, so the target read failed ("unreadable on target") and a complete restore was rolled back. Now the
    batch compares the database's own tables (type U), and an external table only where validation.tables lists it."""
    tables = copy.deepcopy(TABLES)
    tables["dbo.Rates"] = {"columns": [{"name": "Currency", "type": "nchar"}], "rows": [["EUR"]], "external": True}
    world.put_database("sql01", "Shop", tables=tables)
    tables["dbo.Rates"]["external"] = "unreachable"
    world.put_database("mi-prod", "Shop", tables=tables)

    def fingerprints(server, chosen=None):
        cursor = cursor_on(world, server=server)
        cursor.execute(sql_statements.table_fingerprints("Shop", tables=chosen))
        return sql_statements.parse_fingerprints(rows_as_dicts(cursor))

    source, target = fingerprints("sql01"), fingerprints("mi-prod")
    assert [str(fingerprint.table) for fingerprint in source] == ["dbo.Customers", "dbo.Orders", "sales.[Order Lines]"]
    assert compare_fingerprints(source, target, row_counts=True, checksums=True).passed
    listed = [("dbo", "Rates")]
    report = compare_fingerprints(fingerprints("sql01", listed), fingerprints("mi-prod", listed), row_counts=True, checksums=True)
    assert report.mismatches == ["dbo.Rates: unreadable on target (%s)" % sql_world.EXTERNAL_SOURCE_UNREACHABLE]


def test_graph_tables_are_compared_through_their_pseudo_columns_not_their_internal_ones(world):
    """A node and an edge table (SQL Graph) carry internal columns (graph_id_..., from_obj_id_..., from_id_..., ...:
    sys.columns.graph_type 1, 3, 4, 6, 7) that no query may read (13908). Was: the batch named every column, so each
    graph table read "unreadable on source" and a complete restore was rolled back. Now those are left out and the
    $node_id, $edge_id, $from_id and $to_id pseudo-columns (the same ids, as JSON) are compared: an edge that points
    at another node on the target still differs."""
    def node(number):
        return '{"type":"node","schema":"dbo","table":"Person","id":%d}' % number

    tables = {
        "dbo.Person": {"columns": [{"name": "graph_id_9A", "type": "bigint", "graph": "internal"},
                                   {"name": "$node_id_9B", "type": "nvarchar"}, {"name": "Name", "type": "nvarchar"}],
                       "rows": [[0, node(0), "Ada"], [1, node(1), "Bob"]]},
        "dbo.Knows": {"columns": [{"name": "graph_id_7A", "type": "bigint", "graph": "internal"},
                                  {"name": "$edge_id_7B", "type": "nvarchar"},
                                  {"name": "from_obj_id_7C", "type": "int", "graph": "internal"},
                                  {"name": "from_id_7D", "type": "bigint", "graph": "internal"},
                                  {"name": "$from_id_7E", "type": "nvarchar"},
                                  {"name": "to_obj_id_7F", "type": "int", "graph": "internal"},
                                  {"name": "to_id_7G", "type": "bigint", "graph": "internal"},
                                  {"name": "$to_id_7H", "type": "nvarchar"}],
                      "rows": [[0, '{"type":"edge","schema":"dbo","table":"Knows","id":0}', 5, 0, node(0), 5, 1, node(1)]]},
    }
    world.put_database("sql01", "Graph", tables=tables)
    world.put_database("mi-prod", "Graph", tables=tables)
    tables = copy.deepcopy(tables)
    tables["dbo.Knows"]["rows"][0][6:] = [0, node(0)]
    world.put_database("vm-prod", "Graph", tables=tables)

    def fingerprints(server):
        cursor = cursor_on(world, server=server)
        cursor.execute(sql_statements.table_fingerprints("Graph"))
        return sql_statements.parse_fingerprints(rows_as_dicts(cursor))

    assert compare_fingerprints(fingerprints("sql01"), fingerprints("mi-prod"), row_counts=True, checksums=True).passed
    report = compare_fingerprints(fingerprints("sql01"), fingerprints("vm-prod"), row_counts=True, checksums=True)
    assert report.mismatches == ["dbo.Knows: checksums differ"]


def test_a_fingerprint_loop_naming_graph_type_outside_its_dynamic_sql_fails_before_sql_server_2017(world):
    """sys.columns.graph_type came with SQL Server 2017: the loop names it only in the column list it builds as dynamic
    SQL there. Named in the loop's own text, a 2016 server refuses to compile the whole batch (207), whatever branch."""
    with world.transaction() as state:
        state["servers"]["sql01"]["productMajorVersion"] = 13
    cursor = cursor_on(world)
    cursor.execute(sql_statements.table_fingerprints("Sales"))
    assert all(fingerprint.error is None for fingerprint in sql_statements.parse_fingerprints(rows_as_dicts(cursor)))
    static = sql_statements.table_fingerprints("Sales").replace(
        "OPEN table_cursor;", "IF 1 = 0 SELECT c.graph_type FROM sys.columns AS c;\nOPEN table_cursor;")
    with pytest.raises(sql_world.DatabaseError, match=r"Invalid column name 'graph_type'. \(207\)"):
        cursor.execute(static)


def test_a_copys_columns_named_in_another_letter_case_are_hashed_in_the_same_order(world):
    """A SqlDb copy's schema deployed with column names in another letter case (as a table's name may be: validation
    pairs tables so). Was: columns were hashed in binary name order (upper case before lower), so the source's
    [Batch, Id, amount] and the target's [Amount, Batch, ID] hashed their values in different orders, the checksums
    differed and a complete copy was rolled back. Now upper-cased names order them first; a changed value still
    differs."""
    def table(names, amount):
        return {"dbo.Orders": {"columns": [{"name": name, "type": "int"} for name in names], "rows": [[1, amount, 7]]}}

    world.put_database("sql01", "Shop", tables=table(["Id", "amount", "Batch"], 250))
    world.put_database("db-prod", "Shop", tables=table(["ID", "Amount", "Batch"], 250))
    world.put_database("db-prod", "Changed", tables=table(["ID", "Amount", "Batch"], 251))

    def fingerprints(server, database, connected="master"):
        cursor = cursor_on(world, server=server, database=connected)
        cursor.execute(sql_statements.table_fingerprints(database, exclude_rowversion=True, connected_database=connected))
        return sql_statements.parse_fingerprints(rows_as_dicts(cursor))

    source = fingerprints("sql01", "Shop")
    assert compare_fingerprints(source, fingerprints("db-prod", "Shop", "Shop"), row_counts=True, checksums=True).passed
    report = compare_fingerprints(source, fingerprints("db-prod", "Changed", "Changed"), row_counts=True, checksums=True)
    assert report.mismatches == ["dbo.Orders: checksums differ"]


def test_sequences_are_read_where_the_login_may_see_them_from_sql_server_2012_on(world):
    """sys.sequences shows a login the sequences it holds a permission on, all with VIEW DEFINITION on the database
    (metadata visibility); SELECT on the database is none on a sequence. Before SQL Server 2012 there are none: the
    batch reads nothing rather than fail on the missing view."""
    world.update_database("sql01", "Sales", sequences={"dbo.OrderNumbers": {"currentValue": 100, "increment": 1},
                                                       "billing.Countdown": {"currentValue": -5, "increment": -1}})

    def sequences(server="sql01", connected="master"):
        cursor = cursor_on(world, server=server, database=connected)
        cursor.execute(sql_statements.sequence_values("Sales", connected))
        return sql_statements.parse_sequence_values(rows_as_dicts(cursor))

    assert [(str(s.sequence), s.current_value, s.increment) for s in sequences()] == [
        ("billing.Countdown", -5, -1), ("dbo.OrderNumbers", 100, 1)]
    world.set_login("sql01", "u", [], {"Sales": ["SELECT"]})
    assert sequences() == []
    world.set_login("sql01", "u", [], {"Sales": ["SELECT", "VIEW DEFINITION"]})
    assert len(sequences()) == 2
    with world.transaction() as state:
        state["servers"]["sql01"]["productMajorVersion"] = 10
    assert sequences() == []
    world.put_database("db-prod", "Sales", tables=TABLES)
    world.update_database("db-prod", "Sales", sequences={"dbo.OrderNumbers": {"currentValue": 1, "increment": 1}})
    assert [s.current_value for s in sequences("db-prod", "Sales")] == [1]  # a SqlDb target, connected to the database


def test_alter_any_schema_shows_every_sequence_and_passes_the_visibility_check(world):
    """ALTER ANY SCHEMA on the database implies ALTER on every schema, which implies ALTER on each sequence in it
    (GRANT Schema Permissions' table), and a permission on a sequence makes it visible; ALTER on the database implies
    ALTER ANY SCHEMA (GRANT Database Permissions' table). Was: the batch that must see every sequence refused such a
    login (its list lacked ALTER ANY SCHEMA), and the fake showed it none."""
    world.update_database("sql01", "Sales", sequences={"dbo.OrderNumbers": {"currentValue": 100, "increment": 1}})
    cursor = cursor_on(world)
    world.set_login("sql01", "u", [], {"Sales": ["SELECT", "ALTER ANY SCHEMA"]})
    cursor.execute(sql_statements.sequence_values("Sales", must_see_every="u"))
    assert [str(s.sequence) for s in sql_statements.parse_sequence_values(rows_as_dicts(cursor))] == ["dbo.OrderNumbers"]
    world.set_login("sql01", "u", [], {"Sales": ["ALTER"]})
    cursor.execute("EXEC [Sales].sys.sp_executesql N'SELECT HAS_PERMS_BY_NAME(DB_NAME(), N''DATABASE'', N''ALTER ANY SCHEMA'') AS held;';")
    assert rows_as_dicts(cursor) == [{"held": 1}]
    world.set_login("sql01", "u", [], {"Sales": ["SELECT"]})
    with pytest.raises(Exception, match="may not see every sequence"):
        cursor.execute(sql_statements.sequence_values("Sales", must_see_every="u"))


@pytest.mark.parametrize("version, used", [(13, (None, None)), (14, (False, True))])
def test_sequences_tell_whether_they_handed_out_a_value_from_sql_server_2017_on(world, version, used):
    """last_used_value (NULL: never used) came with SQL Server 2017: both batches read it there and compile before
    it, where naming it is error 207 even in a batch that reads no row (as SQL Server compiles the batch)."""
    world.update_database("sql01", "Sales", sequences={
        "dbo.Fresh": {"currentValue": 1, "increment": 1, "lastUsedValue": None},
        "dbo.Used": {"currentValue": 9, "increment": 1}})
    with world.transaction() as state:
        state["servers"]["sql01"]["productMajorVersion"] = version
    cursor = cursor_on(world)
    cursor.execute(sql_statements.sequence_values("Sales"))
    assert tuple(value.used for value in sql_statements.parse_sequence_values(rows_as_dicts(cursor))) == used
    cursor.execute(sql_statements.source_prerequisites("Sales", "SqlDb", full_backups=False))
    prerequisites = sql_statements.parse_source_prerequisites(rows_as_dicts(cursor))
    assert "sequences" not in prerequisites.unread
    assert tuple(value.used for value in sorted(prerequisites.sequences, key=lambda value: value.sequence)) == used
    world.update_database("sql01", "Sales", sequences={})
    if version < 14:
        with pytest.raises(sql_world.DatabaseError, match=r"Invalid column name 'last_used_value'. \(207\)"):
            cursor.execute("SELECT q.name FROM sys.sequences AS q WHERE q.last_used_value IS NULL;")
        # The whole batch fails to compile, before any statement runs: an IF around the name does not help.
        with pytest.raises(sql_world.DatabaseError, match=r"Invalid column name 'last_used_value'. \(207\)"):
            cursor.execute("IF 1 = 0 SELECT q.name FROM sys.sequences AS q WHERE q.last_used_value IS NULL;\nSELECT 1 AS x;")


@pytest.mark.parametrize("partnership", [{"availabilityGroup": "ag-sales"}, {"mirroringRole": "PRINCIPAL"}], ids=["ag", "mirroring"])
def test_a_database_in_an_availability_group_or_a_mirroring_session_refuses_the_freeze_and_says_so(world, partnership):
    """As SQL Server: ALTER DATABASE ... SET READ_ONLY or SINGLE_USER fails with error 1468 there, and `source_facts`
    tells which (before: the fake froze it, so a freeze SQL Server refuses passed every rehearsal)."""
    world.update_database("sql01", "Sales", **partnership)
    cursor = cursor_on(world)
    cursor.execute(sql_statements.source_facts("Sales"))
    facts = sql_statements.parse_source_facts(rows_as_dicts(cursor))
    assert (facts.in_availability_group, facts.mirroring_role) == (
        ("availabilityGroup" in partnership), partnership.get("mirroringRole"))
    for mode in sql_statements.FREEZE_MODES:
        with pytest.raises(sql_world.DatabaseError, match=r"\(1468\)"):
            cursor.execute(sql_statements.freeze("Sales", mode))
        assert world.database("sql01", "Sales")["readOnly"] is False


def test_a_database_outside_any_partnership_reads_so_and_availability_groups_are_not_named_before_2012(world):
    cursor = cursor_on(world)
    cursor.execute(sql_statements.source_facts("Sales"))
    facts = sql_statements.parse_source_facts(rows_as_dicts(cursor))
    assert (facts.in_availability_group, facts.mirroring_role) == (False, None)
    with world.transaction() as state:
        state["servers"]["sql01"]["productMajorVersion"] = 10
    with pytest.raises(sql_world.DatabaseError, match=r"Invalid column name 'group_database_id'. \(207\)"):
        cursor.execute("SELECT d.group_database_id FROM sys.databases AS d;")
    cursor.execute(sql_statements.source_facts("Sales"))
    assert sql_statements.parse_source_facts(rows_as_dicts(cursor)).state.state == "ONLINE"


def test_module_connect_uses_the_world_directory(world, monkeypatch):
    monkeypatch.setenv(sql_world.WORLD_VARIABLE, world.directory)
    cursor = sql_world.connect(server="sql01", user="u", password="p", autocommit=True).cursor()
    cursor.execute(sql_statements.database_state("Sales"))
    assert rows_as_dicts(cursor)[0]["state_desc"] == "ONLINE"
    monkeypatch.delenv(sql_world.WORLD_VARIABLE)
    with pytest.raises(sql_world.InterfaceError, match=sql_world.WORLD_VARIABLE):
        sql_world.connect(server="sql01")
    assert os.path.isdir(world.directory)


def test_a_connection_fault_and_unknown_servers(world):
    world.add_fault("sqlConnect", "error", message="A network-related error occurred")
    with pytest.raises(sql_world.OperationalError, match="network-related"):
        cursor_on(world)
    with pytest.raises(sql_world.OperationalError, match="unavailable or does not exist"):
        cursor_on(world, server="sql99.corp")


def test_a_log_chain_begins_with_a_full_backup_and_breaks_in_simple_recovery(world):
    """`sys.database_recovery_status.last_log_backup_lsn` is NULL while no log backup can be taken:
    FULL recovery without a full backup yet, or since the database was in SIMPLE (error 4214)."""

    def base():
        cursor = cursor_on(world)
        cursor.execute(sql_statements.source_facts("Chain"))
        return sql_statements.parse_source_facts(rows_as_dicts(cursor)).log_backup_base

    world.put_database("sql01", "Chain")
    assert base() is None
    with pytest.raises(sql_world.DatabaseError, match="no full backup"):
        cursor_on(world).execute(sql_statements.backup_log("Chain", "chain_0.trn"))
    world.take_backup("sql01", "Chain", "FULL", "chain.bak")
    assert base() is not None
    world.update_database("sql01", "Chain", recoveryModel="SIMPLE")
    assert base() is None
    world.update_database("sql01", "Chain", recoveryModel="FULL")
    assert base() is None
    with pytest.raises(sql_world.DatabaseError, match="no full backup"):
        cursor_on(world).execute(sql_statements.backup_log("Chain", "chain_1.trn"))
    world.take_backup("sql01", "Chain", "FULL", "chain_again.bak")
    assert base() is not None
    cursor_on(world).execute(sql_statements.backup_log("Chain", "chain_2.trn"))


THUMBPRINT = "0x00112233445566778899AABBCCDDEEFF00112233"


def one_row(world, sql, database="master", server="sql01", user="u"):
    cursor = SqlEngine(world).connect(server=server, user=user, password="p", database=database, autocommit=True).cursor()
    cursor.execute(sql)
    return rows_as_dicts(cursor)[0]


def test_a_tde_database_shows_its_key_thumbprint_and_a_server_shows_the_keys_that_open_it(world):
    """varbinary comes back as bytes (the Data Factory fake refuses them in a Lookup): only the
    CONVERT style 1 text form leaves the engine. A certificate uploaded to a managed instance opens
    restores but is not in sys.certificates (Microsoft's tde-certificate-migrate)."""
    world.update_database("sql01", "Sales", encryptorThumbprint=THUMBPRINT)
    with pytest.raises(sql_world.ProgrammingError, match="without style 1"):
        cursor_on(world).execute("SELECT CONVERT(varchar(66), encryptor_thumbprint) AS t FROM sys.dm_database_encryption_keys;")
    assert prerequisites(world, "Sales", "SqlVm").encryption_thumbprint == THUMBPRINT
    world.put_database("sql01", "Plain")
    assert [row for row in rows(world, sql_statements.source_prerequisites("Plain", "SqlVm", False))
            if row["fact"] == sql_statements.ENCRYPTOR_FACT] == []

    def matching(server):
        return sql_statements.parse_server_keys_matching([one_row(world, sql_statements.server_keys_matching(THUMBPRINT.lower()), server=server)])

    world.add_server_key("vm-prod", THUMBPRINT, private_key=False)
    assert matching("vm-prod") == 0  # a certificate without its private key opens nothing
    world.add_server_key("vm-prod", THUMBPRINT, kind="asymmetricKey")
    assert matching("vm-prod") == 1
    world.add_server_key("mi-prod", THUMBPRINT, kind="uploaded")
    assert matching("mi-prod") == 0


def test_permissions_of_the_sessions_login(world):
    """A login the world does not list is a sysadmin; a listed one holds what is listed."""
    def held(sql, **where):
        return sql_statements.parse_login_permission([one_row(world, sql, **where)])

    def control_server(user):
        return prerequisites(world, "Sales", "SqlMi", user=user).login

    def reads_sales(user):
        return prerequisites(world, "Sales", "SqlDb", user=user).login

    assert control_server("Admin") == sql_statements.LoginPermission("Admin", True)
    assert reads_sales("Admin").granted
    world.set_login("sql01", "reader", [], {"Sales": ["SELECT"]})
    assert control_server("reader") == sql_statements.LoginPermission("reader", False)
    assert reads_sales("reader") == sql_statements.LoginPermission("reader", True)
    world.set_login("sql01", "stranger", [])  # no user in Sales: HAS_DBACCESS is 0
    assert reads_sales("stranger") == sql_statements.LoginPermission("stranger", False)
    world.set_login("db-prod", "loader", [], {"Sales": ["INSERT"]})
    world.put_database("db-prod", "Sales")
    owns_target = sql_statements.database_permission("Sales", "CONTROL", connected_database="Sales")
    assert not held(owns_target, server="db-prod", database="Sales", user="loader").granted


def rows(world, sql, server="sql01", user="u"):
    cursor = SqlEngine(world).connect(server=server, user=user, password="p", database="master", autocommit=True).cursor()
    cursor.execute(sql)
    return rows_as_dicts(cursor)


def prerequisites(world, database, target_kind, full_backups=True, user="u"):
    return sql_statements.parse_source_prerequisites(rows(world, sql_statements.source_prerequisites(database, target_kind, full_backups), user=user))


def test_a_managed_instance_reports_its_storage_and_a_database_its_files(world):
    world.update_database("sql01", "Sales", sizeMb=1000, logSizeMb=300)
    sizes = sql_statements.parse_database_file_sizes(rows(world, sql_statements.database_file_sizes(["Sales", "Missing"])))
    assert sizes == {"sales": sql_statements.FileSizes(data_mb=700, log_mb=300)}
    world.put_database("mi-prod", "Other")
    world.update_database("mi-prod", "Other", sizeMb=500)
    room = sql_statements.parse_restore_room(rows(world, sql_statements.restore_room("SqlMi", ["Other", "Sales"]), server="mi-prod"))
    assert room.present == {"other"} and room.reserved_mb == 32768 and room.used_mb >= 500
    with pytest.raises(sql_world.DatabaseError, match="Invalid object name 'sys.server_resource_stats'"):
        cursor_on(world).execute(sql_statements.restore_room("SqlMi", ["Sales"]))


def test_a_sql_vm_reports_its_default_paths_and_the_free_space_of_their_volumes(world):
    world.set_volume("vm-prod", "G:\\", 4000)
    room = sql_statements.parse_restore_room(rows(world, sql_statements.restore_room("SqlVm", ["Sales"]), server="vm-prod"))
    assert room.present == frozenset() and (room.data_path, room.log_path) == ("F:\\data\\", "G:\\log\\")
    assert room.volume_of(room.log_path) == sql_statements.Volume("G:\\", 4000)
    with world.transaction() as state:  # SQL Server 2016: a volume shows only through a database file on it
        state["servers"]["vm-prod"]["productMajorVersion"] = 13
    world.set_default_paths("vm-prod", "F:\\data\\", "H:\\log\\")
    world.set_volume("vm-prod", "H:\\", 9000)
    world.put_database("vm-prod", "Hr")  # its log file on H:\
    world.update_database("vm-prod", "Hr", sizeMb=1000, logSizeMb=100)
    room = sql_statements.parse_restore_room(rows(world, sql_statements.restore_room("SqlVm", ["Sales", "Hr"]), server="vm-prod"))
    assert room.present == {"hr"} and room.volume_of(room.data_path) is not None and room.volume_of(room.log_path).free_mb == 8900
    world.set_default_paths("vm-prod", "F:\\data\\", "I:\\log\\")  # a volume no file is on (Hr's stay where they were)
    world.set_volume("vm-prod", "I:\\", 9000)
    room = sql_statements.parse_restore_room(rows(world, sql_statements.restore_room("SqlVm", ["Sales"]), server="vm-prod"))
    assert room.volume_of(room.log_path) is None


def test_a_database_has_a_data_and_a_log_file_in_its_servers_default_paths(world):
    world.update_database("sql01", "Sales", sizeMb=1000, logSizeMb=200)
    cursor = cursor_on(world)
    cursor.execute("SELECT f.file_id, f.type, f.size, f.physical_name FROM sys.master_files AS f WHERE f.database_id = DB_ID(N'Sales') "
                   "ORDER BY f.file_id;")
    assert rows_as_dicts(cursor) == [
        {"file_id": 1, "type": 0, "size": 800 * 128, "physical_name": "F:\\data\\Sales.mdf"},
        {"file_id": 2, "type": 1, "size": 200 * 128, "physical_name": "G:\\log\\Sales_log.ldf"},
    ]
    cursor.execute("SELECT CONVERT(nvarchar(512), SERVERPROPERTY('InstanceDefaultDataPath')) AS data_path, "
                   "CONVERT(nvarchar(512), SERVERPROPERTY('InstanceDefaultLogPath')) AS log_path;")
    assert rows_as_dicts(cursor) == [{"data_path": "F:\\data\\", "log_path": "G:\\log\\"}]


VOLUMES = ("SELECT DISTINCT v.volume_mount_point, v.available_bytes FROM sys.master_files AS f "
           "CROSS APPLY sys.dm_os_volume_stats(f.database_id, f.file_id) AS v ORDER BY v.volume_mount_point;")
FIXED_DRIVES = "SELECT fixed_drive_path, free_space_in_bytes FROM sys.dm_os_enumerate_fixed_drives ORDER BY fixed_drive_path;"


def test_a_sql_server_reports_the_volumes_of_its_files_and_from_2017_its_drive_letters(world):
    """sys.dm_os_volume_stats sees a volume through a database file on it; the drive letters, files or
    not, only sys.dm_os_enumerate_fixed_drives (SQL Server 2017 on). Free space is net of the files."""
    world.set_volume("vm-prod", "F:\\", 10000, other_files_mb=1000)
    world.set_volume("vm-prod", "G:\\", 4000)
    world.set_volume("vm-prod", "H:\\", 5000)
    world.put_database("vm-prod", "Hr")
    world.update_database("vm-prod", "Hr", sizeMb=2000, logSizeMb=500)
    mb = 1024 * 1024
    cursor = cursor_on(world, server="vm-prod")
    cursor.execute(VOLUMES)
    assert rows_as_dicts(cursor) == [{"volume_mount_point": "F:\\", "available_bytes": 7500 * mb},
                                     {"volume_mount_point": "G:\\", "available_bytes": 3500 * mb}]
    cursor.execute(FIXED_DRIVES)
    assert [row["fixed_drive_path"] for row in rows_as_dicts(cursor)] == ["C:\\", "F:\\", "G:\\", "H:\\"]
    with world.transaction() as state:
        state["servers"]["vm-prod"]["productMajorVersion"] = 13
    with pytest.raises(sql_world.DatabaseError, match="Invalid object name 'sys.dm_os_enumerate_fixed_drives'"):
        cursor_on(world, server="vm-prod").execute(FIXED_DRIVES)
    cursor.execute("BEGIN TRY\n    EXEC sys.sp_executesql N'SELECT fixed_drive_path FROM sys.dm_os_enumerate_fixed_drives;';\n"
                   "END TRY\nBEGIN CATCH\nEND CATCH;\nSELECT 1 AS caught;")
    assert rows_as_dicts(cursor) == [{"caught": 1}], "an error of dynamic SQL goes to the CATCH of the batch that runs it"
    world.set_login("vm-prod", "dbcreator", ["CREATE ANY DATABASE"])
    with pytest.raises(sql_world.DatabaseError, match="VIEW SERVER STATE permission was denied"):
        one_row(world, VOLUMES, server="vm-prod", user="dbcreator")


def test_a_managed_instances_storage_report_may_lag_its_files(world):
    world.put_database("mi-prod", "Other")
    with world.transaction() as state:
        state["servers"]["mi-prod"]["reportedStorageUsedMb"] = 100
    assert one_row(world, "SELECT TOP (1) storage_space_used_mb FROM sys.server_resource_stats ORDER BY start_time DESC;",
                   server="mi-prod")["storage_space_used_mb"] == 100
    files = one_row(world, "SELECT N'files' AS what, SUM(CONVERT(bigint, f.size)) AS pages FROM sys.master_files AS f "
                           "WHERE f.database_id <> 2;", server="mi-prod")
    assert files == {"what": "files", "pages": 16 * 128}


def test_what_a_login_may_not_see_the_statements_leave_unjudged(world):
    """Server-scoped views refuse a login without VIEW SERVER STATE (message 300), and master's keys
    are visible only with VIEW ANY DEFINITION (metadata visibility), as in SQL Server; the statements
    answer NULL there, not an error or a count of what the login happens to see."""
    world.update_database("sql01", "Sales", encryptorThumbprint=THUMBPRINT)
    world.add_server_key("vm-prod", THUMBPRINT)
    for server in ("sql01", "mi-prod", "vm-prod"):
        world.set_login(server, "dbcreator", ["CREATE ANY DATABASE"])
    with pytest.raises(sql_world.DatabaseError, match="VIEW SERVER STATE permission was denied"):
        one_row(world, "SELECT database_id FROM sys.dm_database_encryption_keys;", user="dbcreator")
    assert one_row(world, "SELECT COUNT(*) AS n FROM sys.certificates;", server="vm-prod", user="dbcreator")["n"] == 0

    thumbprint = prerequisites(world, "Sales", "SqlVm", user="dbcreator").encryption_thumbprint
    keys = one_row(world, sql_statements.server_keys_matching(THUMBPRINT), server="vm-prod", user="dbcreator")
    storage = rows(world, sql_statements.restore_room("SqlMi", ["Sales"]), server="mi-prod", user="dbcreator")
    volumes = rows(world, sql_statements.restore_room("SqlVm", ["Sales"]), server="vm-prod", user="dbcreator")
    assert thumbprint is None
    assert sql_statements.parse_server_keys_matching([keys]) is None
    assert sql_statements.parse_restore_room(storage).reserved_mb is None
    assert sql_statements.parse_restore_room(volumes).volumes == ()


def test_file_sizes_and_backup_history_are_shown_as_sql_server_shows_them_and_a_catch_block_reads_its_error(world):
    """sys.master_files rows need CREATE DATABASE, ALTER ANY DATABASE or VIEW ANY DEFINITION (without, a
    database's pages read NULL); msdb refuses its history to a login denied SELECT there (message 229); in a
    CATCH block ERROR_MESSAGE() is the error it handles, NULL outside one."""
    sizes = sql_statements.database_file_sizes(["Sales"])
    world.set_login("sql01", "viewer", ["VIEW ANY DEFINITION"])
    world.set_login("sql01", "reader", ["VIEW SERVER STATE"], {"Sales": ["SELECT"], "msdb": ["CONNECT"]})
    assert rows(world, sizes, user="viewer")[0]["data_pages"] is not None
    assert rows(world, sizes, user="reader") == [{"database_name": "Sales", "data_pages": None, "log_pages": None}]
    history = "SELECT COUNT(*) AS n FROM msdb.dbo.backupset;"
    assert one_row(world, history, user="viewer")["n"] == 1
    with pytest.raises(sql_world.DatabaseError, match=r"The SELECT permission was denied on the object 'backupset', database 'msdb'.*\(229\)"):
        one_row(world, history, user="reader")
    caught = ("CREATE TABLE #e (message nvarchar(4000) NULL);\nBEGIN TRY\n    SELECT COUNT(*) AS n FROM msdb.dbo.backupset;\nEND TRY\n"
              "BEGIN CATCH\n    INSERT INTO #e (message) VALUES (ERROR_MESSAGE());\nEND CATCH;\n"
              "INSERT INTO #e (message) VALUES (ERROR_MESSAGE());\nSELECT message FROM #e;")
    assert [row["message"] for row in rows(world, caught, user="reader")] == [
        "The SELECT permission was denied on the object 'backupset', database 'msdb', schema 'dbo'. (229)", None]


def test_a_statement_level_error_does_not_stop_the_batch_as_in_sql_server(world):
    """RAISERROR, ALTER DATABASE and the extended-property procedures end only their statement: the
    rest of the batch runs and the client gets the error at its end (no XACT_ABORT changes that for
    RAISERROR). A TRY block sends the error to its CATCH instead, and THROW there ends the batch."""
    world.update_database("sql01", "Sales", extendedProperties={"migration_freeze": "theirs"})
    add = ("EXEC [Sales].sys.sp_executesql N'EXEC sys.sp_addextendedproperty @name = N''migration_freeze'', "
           "@value = N''ours'';';")
    with pytest.raises(sql_world.DatabaseError, match="15233"):
        cursor_on(world).execute("%s\nALTER DATABASE [Sales] SET READ_ONLY WITH ROLLBACK IMMEDIATE;" % add)
    assert world.database("sql01", "Sales")["readOnly"], "the ALTER after the failed procedure ran"
    world.update_database("sql01", "Sales", readOnly=False)

    with pytest.raises(sql_world.DatabaseError, match="15233"):
        cursor_on(world).execute("BEGIN TRY\n    %s\n    ALTER DATABASE [Sales] SET READ_ONLY WITH ROLLBACK IMMEDIATE;\n"
                                 "END TRY\nBEGIN CATCH\n    THROW;\nEND CATCH;\nALTER DATABASE [Sales] SET SINGLE_USER;" % add)
    assert (world.database("sql01", "Sales")["readOnly"], world.database("sql01", "Sales")["userAccess"]) == (False, "MULTI_USER"), \
        "TRY skips what follows the error, THROW ends the batch"

    cursor = cursor_on(world)
    cursor.execute("BEGIN TRY\n    RAISERROR(N'caught', 16, 1);\nEND TRY\nBEGIN CATCH\nEND CATCH;\nSELECT 1 AS one;")
    assert cursor.fetchall() == [(1,)], "a CATCH that does not re-throw swallows the error"


def test_a_database_qualified_extended_property_procedure_runs_in_that_database(world):
    """`EXEC [Sales].sys.sp_dropextendedproperty` from master, as the DAG's messages print for a person: the system
    procedure appears in every database's sys schema (Microsoft, "Executing Stored Procedures") and runs there. A
    read-only database refuses it (3906) and a missing one is not entered (911), as a batch entering it would be."""
    world.update_database("sql01", "Sales", extendedProperties={"migration_freeze": "ours"}, readOnly=True)
    drop = "EXEC [Sales].sys.sp_dropextendedproperty @name = N'migration_freeze'"
    with pytest.raises(sql_world.DatabaseError, match="3906"):
        cursor_on(world).execute(drop)
    world.update_database("sql01", "Sales", readOnly=False)
    cursor_on(world).execute(drop)
    assert not world.database("sql01", "Sales").get("extendedProperties")
    with pytest.raises(sql_world.DatabaseError, match="911"):
        cursor_on(world).execute("EXEC [Missing].sys.sp_dropextendedproperty @name = N'migration_freeze'")


def test_a_failed_backup_or_drop_ends_only_its_statement_as_in_sql_server(world):
    """BACKUP (3013 after its cause) and DROP DATABASE (3701, 3702) are statement-terminating errors
    of severity 16: the batch's next statements run, and the client gets the error at its end."""
    world.put_database("sql01", "Chain")
    with pytest.raises(sql_world.DatabaseError, match="3013"):
        cursor_on(world).execute("BACKUP LOG [Chain] TO DISK = N'chain.trn' WITH CHECKSUM;\n"
                                 "ALTER DATABASE [Chain] SET READ_ONLY;")
    assert world.database("sql01", "Chain")["readOnly"], "the statement after the failed BACKUP ran"
    with pytest.raises(sql_world.DatabaseError, match="3701"):
        cursor_on(world).execute("DROP DATABASE [Missing];\nALTER DATABASE [Chain] SET READ_WRITE;")
    assert not world.database("sql01", "Chain")["readOnly"], "the statement after the failed DROP ran"


def test_a_backup_file_is_overwritten_by_init_once_expired_and_its_label_read_whatever_msdb_still_records(world):
    """BACKUP ... WITH INIT over a file in the share replaces its backup (SQL Server overwrites the backup sets on the
    media) unless that one has not expired (RETAINDAYS: error 4030, "cannot be overwritten"); FORMAT implies SKIP and
    replaces it all the same. RESTORE LABELONLY reads the file's media label, its 13 columns, into INSERT ... EXEC,
    after msdb forgot the backup (`purge_backup_history`, as sp_delete_backuphistory); to a login without CREATE
    DATABASE, or where no file is, it fails, a CATCH block seeing 3013 as SQL Server's last error."""
    world.put_database("sql01", "Chain")
    world.take_backup("sql01", "Chain", "FULL", "chain.bak")
    cursor_on(world).execute("BACKUP LOG [Chain] TO DISK = N'chain.trn' WITH CHECKSUM, INIT;")
    first = world.backups("sql01", "Chain")[-1]
    cursor_on(world).execute("BACKUP LOG [Chain] TO DISK = N'chain.trn' WITH CHECKSUM, INIT, RETAINDAYS = 30;")
    [kept] = [b for b in world.backups("sql01", "Chain") if b["fileName"] == "chain.trn"]
    assert kept["sequence"] > first["sequence"] and kept["expiresAt"] > kept["createdAt"], "replaced: the first had no expiry"
    with pytest.raises(sql_world.DatabaseError, match="cannot be overwritten. [(]4030[)]"):
        cursor_on(world).execute("BACKUP LOG [Chain] TO DISK = N'chain.trn' WITH INIT;")
    with pytest.raises(sql_world.DatabaseError, match="already exists"):  # NOINIT appends: not modelled
        cursor_on(world).execute("BACKUP LOG [Chain] TO DISK = N'chain.trn';")
    assert [b["sequence"] for b in world.backups("sql01", "Chain") if b["fileName"] == "chain.trn"] == [kept["sequence"]]

    label = ("CREATE TABLE #label (MediaName nvarchar(128), MediaSetId uniqueidentifier, FamilyCount int, "
             "FamilySequenceNumber int, MediaFamilyId uniqueidentifier, MediaSequenceNumber int, MediaLabelPresent tinyint, "
             "MediaDescription nvarchar(255), SoftwareName nvarchar(128), SoftwareVendorId int, MediaDate datetime, "
             "Mirror_Count int, IsCompressed bit);\n"
             "BEGIN TRY\n"
             "    INSERT INTO #label (MediaName, MediaSetId, FamilyCount, FamilySequenceNumber, MediaFamilyId, "
             "MediaSequenceNumber, MediaLabelPresent, MediaDescription, SoftwareName, SoftwareVendorId, MediaDate, "
             "Mirror_Count, IsCompressed) EXEC sys.sp_executesql N'RESTORE LABELONLY FROM DISK = @path', "
             "N'@path nvarchar(4000)', @path = N'%s';\n"
             "    SELECT CONVERT(varchar(33), MediaDate, 126) AS written, NULL AS error FROM #label;\n"
             "END TRY\n"
             "BEGIN CATCH\n"
             "    SELECT NULL AS written, ERROR_NUMBER() AS error;\n"
             "END CATCH;")
    assert world.purge_backup_history("sql01", "Chain") == 2
    cursor = cursor_on(world)
    cursor.execute("SELECT COUNT(*) AS recorded FROM msdb.dbo.backupset WHERE database_name = N'Chain';")
    assert cursor.fetchall() == [(0,)]
    cursor = cursor_on(world)
    cursor.execute(label % "chain.trn")
    [(written, error)] = cursor.fetchall()
    assert error is None and written[:19] == kept["createdAt"][:19]
    cursor = cursor_on(world)
    cursor.execute(label % "absent.trn")
    assert cursor.fetchall() == [(None, 3013)]
    world.set_login("sql01", "u", [], {"Chain": ["BACKUP LOG"]})  # db_backupoperator: no CREATE DATABASE
    cursor = cursor_on(world)
    cursor.execute(label % "chain.trn")
    assert cursor.fetchall() == [(None, 3013)]

    world.set_login("sql01", "u", ["CONTROL SERVER"], {})
    cursor_on(world).execute("BACKUP LOG [Chain] TO DISK = N'chain.trn' WITH FORMAT;")
    assert [b["sequence"] for b in world.backups("sql01", "Chain") if b["fileName"] == "chain.trn"] != [kept["sequence"]]


def test_a_batch_reads_and_writes_the_world_once(world, monkeypatch):
    """A batch is one world transaction: a rehearsal's cost per statement does not grow with the
    number of world lookups the statement needs (the world is one JSON file, read whole)."""
    reads, writes = [], []
    read, write = world._read, world._write
    monkeypatch.setattr(world, "_read", lambda: reads.append(1) or read())
    monkeypatch.setattr(world, "_write", lambda text: writes.append(1) or write(text))
    cursor = cursor_on(world)
    world.put_database("sql01", "Hr")
    reads.clear(), writes.clear()
    cursor.execute("ALTER DATABASE [Sales] SET READ_ONLY;\nALTER DATABASE [Hr] SET READ_ONLY;\n"
                   "SELECT d.name, f.physical_name FROM sys.databases AS d JOIN sys.master_files AS f ON f.database_id = d.database_id;")
    assert (len(reads), len(writes)) == (1, 1)
    assert sorted(name for name, _ in cursor.fetchall()) == ["Hr", "Hr", "Sales", "Sales"], "a data and a log file each"
    assert world.database("sql01", "Hr")["readOnly"] and world.database("sql01", "Sales")["readOnly"]


def test_text_compares_case_insensitively_unless_a_binary_collation_is_named(world):
    cursor = cursor_on(world)
    cursor.execute("SELECT (SELECT 1 WHERE N'Sales' = N'SALES') AS default_ci, "
                   "(SELECT 1 WHERE N'Sales' COLLATE Latin1_General_BIN2 = N'SALES') AS bin2, "
                   "(SELECT 1 WHERE N'Sales' = N'SALES' COLLATE Latin1_General_CS_AS) AS cs, "
                   "(SELECT 1 WHERE N'Sales' COLLATE Latin1_General_BIN2 = N'Sales') AS bin2_equal, "
                   "(SELECT 1 WHERE N'Sales' COLLATE Latin1_General_BIN2 <> N'SALES') AS bin2_differs;")
    assert rows_as_dicts(cursor) == [{"default_ci": 1, "bin2": None, "cs": None, "bin2_equal": 1, "bin2_differs": 1}]


def test_text_compares_padded_with_spaces_as_sql_server_does_whatever_the_collation(world):
    """SQL Server pads the shorter text with spaces before comparing ('abc' = 'abc  '), binary collations
    too; leading spaces count. Database names compare so: [Sales  ] is Sales, N'master ' a system database."""
    cursor = cursor_on(world)
    cursor.execute("SELECT (SELECT 1 WHERE N'Sales' = N'Sales  ') AS padded, "
                   "(SELECT 1 WHERE N'Sales  ' COLLATE Latin1_General_BIN2 = N'Sales') AS bin2_padded, "
                   "(SELECT 1 WHERE N'Sales' = N' Sales') AS leading, "
                   "(SELECT 1 WHERE N'Sales' <> N'SALES ') AS differs, "
                   "(SELECT 1 WHERE N'a' < N'a ') AS shorter_first, "
                   "(SELECT name FROM sys.databases WHERE name = N'sales ') AS found, "
                   "DB_ID(N'Sales  ') AS database_id, HAS_DBACCESS(N'master ') AS system;")
    assert rows_as_dicts(cursor) == [{"padded": 1, "bin2_padded": 1, "leading": None, "differs": None, "shorter_first": None,
                                      "found": "Sales", "database_id": 5, "system": 1}]
    cursor.execute("EXEC [Sales  ].sys.sp_executesql N'SELECT DB_NAME() AS current_database;';")
    assert rows_as_dicts(cursor) == [{"current_database": "Sales"}]
    assert world.database("sql01", "SALES ")["name"] == "Sales" and world.database("sql01", " Sales") is None


def test_a_table_key_names_its_schema_and_table_a_part_with_a_dot_in_brackets(world):
    """`[a.b].[c]` is table c of schema a.b and `[a].[b.c]` table b.c of schema a: sys.tables and sys.schemas
    show them so; a key that names no one (schema, table) is refused."""
    one = {"columns": [{"name": "Id", "type": "int"}], "rows": [[1]]}
    world.put_database("sql01", "Odd", tables={"[a.b].[c]": one, "[a].[b.c]": one, "dbo.[x]]y]": one, "dbo.my table": one})
    cursor = cursor_on(world)
    cursor.execute("EXEC [Odd].sys.sp_executesql N'SELECT s.name AS schema_name, t.name AS table_name "
                   "FROM sys.tables AS t JOIN sys.schemas AS s ON s.schema_id = t.schema_id ORDER BY s.name, t.name;';")
    assert [(row["schema_name"], row["table_name"]) for row in rows_as_dicts(cursor)] == [
        ("a", "b.c"), ("a.b", "c"), ("dbo", "my table"), ("dbo", "x]y")]
    assert table_key_parts("sales.Order Lines") == ("sales", "Order Lines") and table_key_parts("[a]].b].c") == ("a].b", "c")
    for bad in ("a.b.c", "Orders", "[a.b.c", "dbo.", "[a].[b]x"):
        with pytest.raises(WorldError, match=r"a table key is schema\.table"):
            world.set_table("sql01", "Odd", bad, one["columns"], one["rows"])
        with pytest.raises(WorldError, match="database Odd: a table key"):
            world.update_database("sql01", "Odd", tables={bad: one})


def test_a_database_with_its_own_collation_meets_temporary_tables_as_sql_server_does(world):
    """Temporary tables take tempdb's collation (the server's), a table variable the current
    database's, the catalog's names their database's: comparing text of two implicit collations
    that differ is error 468, whatever the rows; an explicit COLLATE on either side settles it."""
    world.put_database("sql01", "Legacy", tables={"dbo.Orders": {"columns": [{"name": "Id", "type": "int"}], "rows": [[1]]}},
                       collation="Latin1_General_CS_AS")
    cursor = cursor_on(world)
    setup = "CREATE TABLE #wanted (name sysname NOT NULL, n int NULL); INSERT INTO #wanted (name, n) VALUES (N'ORDERS', 5);\n"

    def inside(sql):
        return setup + "EXEC [Legacy].sys.sp_executesql N'%s';" % sql.replace("'", "''")

    for conflicting in ("SELECT t.name FROM sys.tables AS t JOIN #wanted AS w ON w.name = t.name;",
                        "SELECT 1 AS found WHERE EXISTS (SELECT 1 FROM #wanted AS w WHERE w.name IN (SELECT name FROM sys.tables));",
                        "DECLARE @v TABLE (name sysname NOT NULL); SELECT 1 AS found FROM @v AS v JOIN #wanted AS w ON v.name <> w.name;"):
        with pytest.raises(sql_world.DatabaseError, match=r'^Cannot resolve the collation conflict between "\w+" and "\w+" '
                                                          r'in the (not )?equal to operation\. \(468\)$') as refused:
            cursor.execute(inside(conflicting))
        assert {"SQL_Latin1_General_CP1_CI_AS", "Latin1_General_CS_AS"} <= set(str(refused.value).split('"'))
    cursor.execute(inside("SELECT t.name AS cs, (SELECT t.name FROM sys.tables AS t JOIN #wanted AS w "
                          "ON w.name COLLATE Latin1_General_CI_AS = t.name) AS ci, "
                          "(SELECT w.n FROM #wanted AS w WHERE w.n = t.object_id - 995) AS numbers "
                          "FROM sys.tables AS t JOIN #wanted AS w ON w.name COLLATE DATABASE_DEFAULT = t.name;"))
    assert rows_as_dicts(cursor) == [], "DATABASE_DEFAULT in Legacy: case-sensitive, ORDERS is not Orders"
    cursor.execute(inside("DECLARE @v TABLE (name sysname NOT NULL); INSERT INTO @v (name) SELECT name FROM sys.tables; "
                          "SELECT v.name, (SELECT 1 WHERE N'orders' = v.name) AS literal_cs, "
                          "(SELECT 1 FROM #wanted AS w WHERE w.name = v.name COLLATE Latin1_General_CI_AS) AS explicit_ci "
                          "FROM @v AS v JOIN sys.tables AS t ON t.name = v.name;"))
    assert rows_as_dicts(cursor) == [{"name": "Orders", "literal_cs": None, "explicit_ci": 1}]
    cursor.execute(setup + "SELECT (SELECT COUNT(*) FROM #wanted AS w WHERE w.name = N'orders') AS ci, "
                           "(SELECT COUNT(*) FROM sys.databases AS d JOIN #wanted AS w ON d.name = w.name) AS joined;")
    assert rows_as_dicts(cursor) == [{"ci": 1, "joined": 0}], "in master, the server's collation on both sides"


def _log_after(world, path):
    cursor = cursor_on(world)
    cursor.execute(sql_statements.log_after_backup("Sales", [path]))
    return sql_statements.parse_log_after_backup(rows_as_dicts(cursor))


def test_log_after_a_backup_reads_msdb_the_recovery_status_and_the_log_end(world):
    """The final backup's last_lsn (the next record after it), where the newest log backup ends, and the log's end
    (sys.dm_db_log_stats, hex VLF:block:slot) in msdb's numeric form; a write after the backup passes its last_lsn."""
    world.take_backup("sql01", "Sales", "FULL", "full.bak")
    final = world.take_backup("sql01", "Sales", "LOG", "final.trn")
    found = _log_after(world, "final.trn")
    assert (found.final_last_lsn, found.backed_up_to, found.log_end_lsn) == (final["lastLsn"],) * 3
    assert found.written_after is None
    tables = world.database("sql01", "Sales")["tables"]
    world.set_table("sql01", "Sales", "dbo.Customers", tables["dbo.Customers"]["columns"], [])
    found = _log_after(world, "final.trn")
    assert found.log_end_lsn == final["lastLsn"] + 1 and "sys.dm_db_log_stats" in found.written_after
    assert _log_after(world, "other.trn").final_last_lsn is None


def test_log_backups_of_a_read_only_database_show_no_log_after_the_final_backup(world):
    """BACKUP LOG of a read-only database writes no log record: a routine log backup after the final one (another
    file) holds nothing, so neither msdb, the recovery status nor the log's end passes the final backup's last_lsn."""
    cursor = cursor_on(world)
    cursor.execute("BACKUP DATABASE [Sales] TO DISK = N'full.bak' WITH CHECKSUM;")
    cursor.execute("ALTER DATABASE [Sales] SET READ_ONLY WITH ROLLBACK IMMEDIATE;")
    cursor.execute("BACKUP LOG [Sales] TO DISK = N'final.trn' WITH CHECKSUM;")
    cursor.execute("BACKUP LOG [Sales] TO DISK = N'\\\\team\\Sales_job.trn' WITH CHECKSUM;")
    found = _log_after(world, "final.trn")
    assert found.final_last_lsn == found.backed_up_to == found.log_end_lsn
    assert found.written_after is None


def test_the_freeze_is_logged_before_the_final_backup_and_a_thaw_after_it(world):
    """SET READ_ONLY writes a log record while the database is still writable (the freeze marker before it, a write,
    too), so a log backup taken after the freeze holds them; SET READ_WRITE writes one once writable, so an unfreeze
    after the final backup shows as log after it, written or not. SINGLE_USER of the read-only database logs nothing."""
    cursor = cursor_on(world)
    cursor.execute("BACKUP DATABASE [Sales] TO DISK = N'full.bak' WITH CHECKSUM;")
    before = world.database("sql01", "Sales")["lsn"]
    cursor.execute(sql_statements.freeze("Sales", "singleUser", marker="ours"))
    frozen = world.database("sql01", "Sales")
    assert frozen["readOnly"] and frozen["userAccess"] == "SINGLE_USER"
    assert frozen["lsn"] == before + 2, "the marker's write and SET READ_ONLY; nothing for SINGLE_USER of a read-only database"
    cursor.execute("BACKUP LOG [Sales] TO DISK = N'final.trn' WITH CHECKSUM;")
    assert _log_after(world, "final.trn").written_after is None, "the final backup holds the freeze"
    cursor.execute(sql_statements.unfreeze("Sales", marker="ours"))
    thawed = world.database("sql01", "Sales")
    assert not thawed["readOnly"] and thawed["userAccess"] == "MULTI_USER" and not thawed.get("extendedProperties")
    assert thawed["lsn"] == frozen["lsn"] + 2, "SET READ_WRITE and the marker's drop; MULTI_USER while read-only: none"
    assert "sys.dm_db_log_stats" in _log_after(world, "final.trn").written_after
    cursor.execute("ALTER DATABASE [Sales] SET RESTRICTED_USER WITH ROLLBACK IMMEDIATE;")
    assert world.database("sql01", "Sales")["lsn"] == thawed["lsn"] + 1, "a writable database's user access change"


def test_the_log_end_a_copys_freeze_records_is_the_databases_and_unread_where_sys_dm_db_log_stats_is_missing(world):
    """`log_end` (a SqlDb copy's record at its freeze): the log's end in msdb's numeric form, past it after a write;
    NULL where the function is an invalid object name (before SQL Server 2016, 208), caught."""
    def log_end():
        cursor = cursor_on(world)
        cursor.execute(sql_statements.log_end("Sales"))
        return sql_statements.parse_log_end(rows_as_dicts(cursor))

    before = log_end()
    assert before == world.database("sql01", "Sales")["lsn"]
    tables = world.database("sql01", "Sales")["tables"]
    world.set_table("sql01", "Sales", "dbo.Customers", tables["dbo.Customers"]["columns"], [])
    assert log_end() == before + 1, "a write"
    with world.transaction() as state:
        state["servers"]["sql01"]["productMajorVersion"] = 12
    assert log_end() is None


def test_log_after_a_backup_leaves_the_log_end_unread_where_sys_dm_db_log_stats_is_missing_or_refused(world):
    """Before SQL Server 2016 the function is an invalid object name (208), without VIEW SERVER STATE refused (300):
    caught, the log's end NULL; a later log backup still shows the write."""
    world.take_backup("sql01", "Sales", "FULL", "full.bak")
    final = world.take_backup("sql01", "Sales", "LOG", "final.trn")
    with world.transaction() as state:
        state["servers"]["sql01"]["productMajorVersion"] = 12
    assert _log_after(world, "final.trn").log_end_lsn is None
    tables = world.database("sql01", "Sales")["tables"]
    world.set_table("sql01", "Sales", "dbo.Customers", tables["dbo.Customers"]["columns"], [])
    assert _log_after(world, "final.trn").written_after is None, "unseen without the log's end or a later backup"
    world.take_backup("sql01", "Sales", "LOG", "later.trn")
    assert _log_after(world, "final.trn").written_after == "a later log backup reaches LSN %d" % (final["lastLsn"] + 2)
    with world.transaction() as state:
        state["servers"]["sql01"]["productMajorVersion"] = 16
    world.set_login("sql01", "u", [], {"sales": ["ALTER"]})
    assert _log_after(world, "final.trn").log_end_lsn is None


def test_an_azure_sql_database_refuses_names_of_other_databases_and_lists_only_itself_and_master(world):
    """Azure SQL Database has no cross-database names: a batch naming another database's objects (msdb's backup
    history, `[master].sys.sp_executesql`) fails to compile with error 40515, which no TRY of the same batch catches;
    and a user database's sys.databases shows master and itself only (Microsoft, "sys.databases"; "Azure SQL Database
    T-SQL differences": three-part names of another database are not supported). Was: the fake ran both as SQL Server
    does, so a SqlDb statement the DAG built with three-part names would pass here and fail in Azure."""
    world.put_database("db-prod", "Sales", tables=TABLES)
    world.put_database("db-prod", "Payroll")
    for sql in ("SELECT database_name FROM msdb.dbo.backupset;",
                "BEGIN TRY\n    EXEC [master].sys.sp_executesql N'SELECT 1 AS one;';\nEND TRY\nBEGIN CATCH\nEND CATCH;",
                "SELECT name FROM master.sys.databases;"):
        with pytest.raises(sql_world.DatabaseError, match=r"not supported in this version of SQL Server\. \(40515\)"):
            cursor_on(world, server="db-prod", database="Sales").execute(sql)
    cursor = cursor_on(world, server="db-prod", database="Sales")
    cursor.execute("EXEC [Sales].sys.sp_executesql N'SELECT name FROM sys.databases ORDER BY name;';")
    assert [row["name"] for row in rows_as_dicts(cursor)] == ["master", "Sales"]
    cursor = cursor_on(world, server="db-prod", database="master")
    cursor.execute("SELECT name FROM sys.databases ORDER BY name;")
    assert [row["name"] for row in rows_as_dicts(cursor)] == ["master", "Payroll", "Sales"]
    cursor = cursor_on(world, server="sql01", database="master")  # SQL Server: any database, by three-part name
    cursor.execute("SELECT COUNT(*) AS backups FROM msdb.dbo.backupset;")
    assert rows_as_dicts(cursor) == [{"backups": 1}]


def test_an_azure_sql_database_shows_master_other_databases_only_to_a_login_that_may_see_every_row(world):
    """Microsoft, sys.databases, Permissions: a caller that is not the owner sees a database's row (not master's or
    tempdb's) only with ALTER ANY DATABASE, VIEW ANY DATABASE or CREATE DATABASE in master, and always the one it is
    connected to; on Azure SQL Database those come from the ##MS_ server roles (##MS_DefinitionReader##: VIEW ANY
    DATABASE). Was: every login saw every row in master, so the DAG's read of a SqlDb target's state from master
    passed here for a login that is only db_owner of the target, which Azure shows no row."""
    world.put_database("db-prod", "Sales", tables=TABLES)
    world.put_database("db-prod", "Payroll")

    def names(database="master"):
        cursor = cursor_on(world, server="db-prod", database=database)
        cursor.execute("SELECT name FROM sys.databases ORDER BY name;")
        return [row["name"] for row in rows_as_dicts(cursor)]

    world.set_login("db-prod", "u", [], {"Sales": ["CONTROL"], "master": []})  # db_owner of Sales, a user of master
    assert names() == ["master"]
    assert names("Sales") == ["master", "Sales"]  # the connection's own database, always
    for server_permissions, master in ((["VIEW ANY DATABASE", "VIEW ANY DEFINITION"], []), (["ALTER ANY DATABASE"], []),
                                       (["CREATE ANY DATABASE"], []), ([], ["CREATE DATABASE"])):
        world.set_login("db-prod", "u", server_permissions, {"Sales": ["CONTROL"], "master": master})
        assert names() == ["master", "Payroll", "Sales"], server_permissions or master
    world.set_login("sql01", "u", [], {"Sales": ["SELECT"]})  # SQL Server: public holds VIEW ANY DATABASE
    cursor = cursor_on(world)
    cursor.execute("SELECT name FROM sys.databases WHERE name = N'Sales';")
    assert rows_as_dicts(cursor) == [{"name": "Sales"}]


def test_a_sql_server_whose_public_lacks_view_any_database_shows_a_login_without_it_only_its_own_rows(world):
    """A hardened SQL Server or managed instance revokes VIEW ANY DATABASE from public: a login holding it no other way
    (nor ALTER or CREATE ANY DATABASE, nor CREATE DATABASE in master) sees in sys.databases master, tempdb and the
    database it is in only (Microsoft, sys.databases, Permissions), and HAS_PERMS_BY_NAME says it lacks the permission.
    Was: every login saw every row on SQL Server, so a target hidden from the DAG's login could not be rehearsed."""
    def names(database="master"):
        cursor = cursor_on(world, database=database)
        cursor.execute("SELECT name FROM sys.databases ORDER BY name;")
        return [row["name"] for row in rows_as_dicts(cursor)]

    def view_any_database():
        cursor = cursor_on(world)
        cursor.execute("SELECT HAS_PERMS_BY_NAME(NULL, NULL, N'VIEW ANY DATABASE') AS granted;")
        return rows_as_dicts(cursor)[0]["granted"]

    world.set_login("sql01", "u", [], {"Sales": ["SELECT"], "master": []})
    assert "Sales" in names() and view_any_database() == 1  # public's grant, SQL Server's default
    world.revoke_view_any_database_from_public("sql01")
    assert names() == ["master", "tempdb"] and view_any_database() == 0
    assert names("Sales") == ["master", "Sales", "tempdb"]
    for server_permissions, master in ((["VIEW ANY DATABASE"], []), (["ALTER ANY DATABASE"], []), ([], ["CREATE DATABASE"])):
        world.set_login("sql01", "u", server_permissions, {"Sales": ["SELECT"], "master": master})
        assert "Sales" in names(), server_permissions or master


def test_a_login_sees_the_rows_of_the_databases_it_owns_whatever_public_lacks(world):
    """Microsoft, sys.databases, Permissions: "If the caller of sys.databases isn't the owner of the database..." the
    permissions above are needed: its owner sees its row without them, and no other database's. Was: owners were not
    modelled, so a source login owning the source database on a hardened server read it hidden here."""
    def names(server="sql01"):
        cursor = cursor_on(world, server=server)
        cursor.execute("SELECT name FROM sys.databases ORDER BY name;")
        return [row["name"] for row in rows_as_dicts(cursor)]

    world.put_database("sql01", "Payroll")
    world.revoke_view_any_database_from_public("sql01")
    world.set_login("sql01", "u", [], {"Sales": ["CONTROL"], "master": []})
    assert names() == ["master", "tempdb"]
    world.update_database("sql01", "Sales", owner="U")  # compared as logins are: letter case aside
    assert names() == ["master", "Sales", "tempdb"]
    world.put_database("db-prod", "Sales", tables=TABLES)
    world.put_database("db-prod", "Payroll")
    world.update_database("db-prod", "Payroll", owner="u")
    world.set_login("db-prod", "u", [], {"master": []})
    assert names("db-prod") == ["master", "Payroll"]


def test_database_names_compare_in_the_servers_collation_case_sensitively_where_it_is(world):
    """A server installed with a case-sensitive collation compares database names case-sensitively (they are
    compared in master's collation): there `[sales]` is not Sales, so ALTER DATABASE refuses it (5011), BACKUP and a
    batch entering it find no such database (911), DB_ID is NULL, and sys.databases shows no row for N'sales'. Was: the
    fake found Sales under any letter case, so a statement naming the database in another case passed here."""
    world.set_server_collation("sql01", "Latin1_General_CS_AS")
    statements = {
        "ALTER DATABASE [sales] SET READ_ONLY WITH ROLLBACK IMMEDIATE;": r"alter database 'sales'.*\(5011\)",
        "BACKUP LOG [sales] TO DISK = N'sales.trn' WITH CHECKSUM, INIT;": r"Database 'sales' does not exist.*\(911\)",
        "EXEC [sales].sys.sp_executesql N'SELECT 1 AS one;';": r"Database 'sales' does not exist.*\(911\)",
        "DROP DATABASE [sales];": r"\(3701\)",
    }
    for sql, message in statements.items():
        with pytest.raises(sql_world.DatabaseError, match=message):
            cursor_on(world).execute(sql)
    assert world.database("sql01", "Sales")["readOnly"] is False and world.database("sql01", "Sales") is not None
    cursor = cursor_on(world)
    cursor.execute("SELECT DB_ID(N'sales') AS lower_id, DB_ID(N'Sales') AS own_id, "
                   "(SELECT name FROM sys.databases WHERE name = N'sales') AS found;")
    assert rows_as_dicts(cursor) == [{"lower_id": None, "own_id": 5, "found": None}]
    world.set_server_collation("sql01", "SQL_Latin1_General_CP1_CI_AS")  # the default: any letter case
    cursor_on(world).execute("ALTER DATABASE [sales] SET READ_ONLY WITH ROLLBACK IMMEDIATE;")
    assert world.database("sql01", "Sales")["readOnly"] is True


def test_a_database_in_use_or_a_system_database_is_not_dropped(world):
    """DROP DATABASE refuses a database another connection holds (a SINGLE_USER one's holder) or the connection's own
    current one (3702 "... because it is currently in use"), and a system database (3708). Was: the fake dropped any
    database, and answered master with "does not exist" (3701)."""
    world.put_database("sql01", "Held")
    world.update_database("sql01", "Held", userAccess="SINGLE_USER", singleUserHolder="an application")
    with pytest.raises(sql_world.DatabaseError, match=r'Cannot drop database "Held" because it is currently in use\. \(3702\)'):
        cursor_on(world).execute("DROP DATABASE [Held];")
    with pytest.raises(sql_world.DatabaseError, match=r"\(3702\)"):
        cursor_on(world, database="Sales").execute("DROP DATABASE [Sales];")
    with pytest.raises(sql_world.DatabaseError, match=r"Cannot drop the database 'master' because it is a system database\. \(3708\)"):
        cursor_on(world).execute("DROP DATABASE [master];")
    assert world.database("sql01", "Held") is not None and world.database("sql01", "Sales") is not None
    world.update_database("sql01", "Held", singleUserHolder=None)
    cursor_on(world).execute("DROP DATABASE [Held];")
    assert world.database("sql01", "Held") is None
