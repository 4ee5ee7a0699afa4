"""The SQL access contract, held by both implementations: direct (pymssql) and Data Factory runs.

Each test runs once per implementation on the same simulated estate (`sql_access_setup`): the
direct one through the fake pymssql, the Data Factory one through the real azure-mgmt-datafactory
client against the fake pipeline-run API, whose pipelines run the SQL in the same fake engine.
"""
from __future__ import annotations

import pytest

from migration_orchestration_lib import sql_statements
from migration_orchestration_lib.sql_access import SqlOperationFailed
from migration_orchestration_lib.table_names import TableName
from migration_orchestration_lib.validation import compare_fingerprints
from migration_rehearsal.world import table_key_parts
from sql_access_setup import (
    SHARE,
    TABLES,
    DataFactoryImplementation,
    DirectImplementation,
    estate,
    finish,
    first_row,
    query,
    source,
    statement,
    target,
)

pytestmark = [pytest.mark.airflow210, pytest.mark.airflow26]


def pairs(tables):
    """The (schema, table) pairs the world's `tables` keys name, sorted."""
    return sorted(table_key_parts(key) for key in tables)

TAIL = SHARE + "\\Sales_tail_1.trn"


def _implementations():
    yield pytest.param(DirectImplementation, id="direct")
    yield pytest.param(DataFactoryImplementation, id="dataFactory", marks=pytest.mark.skipif(
        not _installed("azure.mgmt.datafactory"), reason="azure-mgmt-datafactory is not installed here"))


def _installed(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


@pytest.fixture(params=list(_implementations()))
def implementation(request, tmp_path):
    chosen = request.param(estate(str(tmp_path / "world")))
    yield chosen
    chosen.close()


def state_of(access, database: str, key: str):
    return sql_statements.parse_database_state(finish(access, query(key, source(), sql_statements.database_state(database))).rows)


def test_database_state_of_an_existing_and_a_missing_database(implementation):
    access = implementation.access()
    sales = state_of(access, "Sales", "state-sales")
    assert (sales.state, sales.recovery_model, sales.is_read_only, sales.user_access) == ("ONLINE", "FULL", False, "MULTI_USER")
    assert sales.is_writable
    assert state_of(access, "Payroll", "state-payroll") is None


def test_target_state_tells_a_missing_database_from_one_hidden_from_the_login(implementation):
    """A target's state from master always comes back as one row, so that a database master shows no row of reads
    absent only where the login may see every row (VIEW ANY DATABASE, public's on SQL Server by default); revoked
    from public and not held otherwise, the same database existing reads hidden (`DatabaseRead.hidden`), naming the
    login. Was: no row either way, and the DAG took a database its login cannot see for absent."""
    access, world = implementation.access(), implementation.world
    world.put_database("vm-prod", "Sales")

    def read(database, key):
        return sql_statements.parse_database_read(
            finish(access, query(key, target("vm-prod"), sql_statements.target_state(database))).rows)

    found = read("Sales", "target-sales")
    assert (found.state.name, found.state.state, found.hidden) == ("Sales", "ONLINE", False)
    assert (read("Payroll", "target-payroll").state, read("Payroll", "target-payroll-again").hidden) == (None, False)
    world.revoke_view_any_database_from_public("vm-prod")
    world.set_login("vm-prod", "migrator", ["CONNECT SQL"], {"master": []})
    hidden = read("Sales", "target-sales-hidden")
    assert (hidden.state, hidden.hidden, hidden.login) == (None, True, "migrator")
    world.set_login("vm-prod", "migrator", ["CONNECT SQL"], {"master": ["CREATE DATABASE"]})
    assert read("Sales", "target-sales-creator").state.name == "Sales"
    assert (read("Payroll", "target-payroll-creator").hidden) is False


def test_a_source_hidden_from_the_login_reads_no_row_and_the_login_says_it_may_not_see_every_database(implementation):
    """A source server whose public lost VIEW ANY DATABASE: the source's state batch (run from master) reads no row of
    an existing database to a login holding rights in it alone, and `login_visibility`, asked only then
    (`DatabaseSql.source_state`), says the login may not see every row and who it is, so the DAG calls the source
    hidden, not absent. With VIEW ANY DATABASE, a missing database reads absent."""
    access, world = implementation.access(), implementation.world

    def visibility(key):
        return sql_statements.parse_database_read(finish(access, query(key, source(), sql_statements.login_visibility())).rows)

    assert visibility("visibility-default").sees_every_database
    world.revoke_view_any_database_from_public("sql01")
    world.set_login("sql01", "migrator", [], {"Sales": ["CONTROL"]})
    hidden_state = finish(access, query("source-hidden", source(), sql_statements.source_state("Sales"))).rows
    assert sql_statements.parse_database_state(hidden_state) is None
    hidden = visibility("visibility-hidden")
    assert (hidden.state, hidden.hidden, hidden.login) == (None, True, "migrator")
    world.set_login("sql01", "migrator", ["VIEW ANY DATABASE"], {"Sales": ["CONTROL"]})
    assert state_of(access, "Sales", "state-sales-granted").name == "Sales"
    assert not visibility("visibility-granted").hidden


@pytest.mark.parametrize("mode, frozen", [("readOnly", {"readOnly": True}), ("singleUser", {"readOnly": True, "userAccess": "SINGLE_USER"})])
def test_freeze_then_unfreeze(implementation, mode, frozen):
    access = implementation.access()
    after_freeze = sql_statements.parse_database_state(
        finish(access, statement("freeze", source(), sql_statements.freeze("Sales", mode))).rows)
    assert not after_freeze.is_writable
    database = implementation.world.database("sql01", "Sales")
    assert {field: database[field] for field in frozen} == frozen
    # freezing again changes nothing and still answers the state
    again = sql_statements.parse_database_state(
        finish(access, statement("freeze-again", source(), sql_statements.freeze("Sales", mode))).rows)
    assert again == after_freeze
    after_unfreeze = sql_statements.parse_database_state(
        finish(access, statement("unfreeze", source(), sql_statements.unfreeze("Sales"))).rows)
    assert after_unfreeze.is_writable
    assert implementation.world.database("sql01", "Sales")["readOnly"] is False


@pytest.mark.parametrize("before", [(True, "MULTI_USER"), (False, "SINGLE_USER"), (False, "RESTRICTED_USER"), (True, "RESTRICTED_USER")])
def test_unfreeze_restores_the_access_the_source_had_before_the_freeze(implementation, before):
    """A source the team restricted before the migration (an archive READ_ONLY, say) goes back to
    exactly that, not to READ_WRITE and MULTI_USER."""
    access = implementation.access()
    implementation.world.update_database("sql01", "Sales", readOnly=before[0], userAccess=before[1])
    finish(access, statement("freeze", source(), sql_statements.freeze("Sales", "singleUser")))
    restored = sql_statements.parse_database_state(
        finish(access, statement("unfreeze", source(), sql_statements.unfreeze("Sales", *before))).rows)
    assert (restored.is_read_only, restored.user_access) == before
    database = implementation.world.database("sql01", "Sales")
    assert (database["readOnly"], database["userAccess"]) == before


def test_submitting_a_backup_twice_takes_one_backup(implementation):
    access = implementation.access()
    backup = statement("tail-log", source(), sql_statements.backup_log("Sales", TAIL))
    first = access.submit(backup)
    assert access.submit(backup) == first
    identity = sql_statements.parse_backups(finish(access, backup, handle=first).rows)[0]
    assert (identity.backup_type, identity.file_name, identity.database) == ("L", "Sales_tail_1.trn", "Sales")
    # a new worker (fresh access), and even a new key for the same file: still that one backup
    again = sql_statements.parse_backups(finish(implementation.access(), backup).rows)[0]
    other_key = sql_statements.parse_backups(
        finish(implementation.access(), statement("tail-log-rerun", source(), sql_statements.backup_log("Sales", TAIL))).rows)[0]
    assert again == identity == other_key
    log_backups = [b for b in implementation.world.backups("sql01", "Sales") if b["type"] == "LOG"]
    assert [b["fileName"] for b in log_backups] == ["Sales_tail_1.trn"]


def _final_backup_in_the_share(world):
    [backup] = [b for b in world.backups("sql01", "Sales") if b["fileName"] == "Sales_tail_1.trn"]
    return {field: backup[field] for field in ("sequence", "firstLsn", "lastLsn", "createdAt")}


def test_a_backup_msdb_no_longer_records_is_never_overwritten(implementation):
    """msdb's history purged after the final backup was taken (a nightly sp_delete_backuphistory) and the backup run
    again (as the DAG runs it, a Lookup through Data Factory, there under a key it does not adopt: a run after the 30
    days, or an activity retried after the batch ran): the batch finds the file by
    its media label, takes no backup over it and says so. Before: BACKUP ... WITH INIT over the file DMS may have read."""
    world = implementation.world
    taken = sql_statements.parse_backup_log(finish(implementation.access(), query(
        "final-backup", source(), sql_statements.backup_log("Sales", TAIL))).rows)
    before = _final_backup_in_the_share(world)
    world.update_database("sql01", "Sales", readOnly=False)  # written meanwhile: a backup over it would hold a later range
    world.set_table("sql01", "Sales", "dbo.Orders", ["id"], [[1]])
    assert world.purge_backup_history("sql01", "Sales") >= 2  # the full and the final backup

    with pytest.raises(sql_statements.BackupFileNotRecorded) as refused:
        sql_statements.parse_backup_log(finish(implementation.access(), query(
            "final-backup-again", source(), sql_statements.backup_log("Sales", TAIL))).rows)
    assert refused.value.written and refused.value.written[:19] == before["createdAt"][:19]
    assert _final_backup_in_the_share(world) == before, "the file DMS may have read was overwritten"
    assert taken and taken[0].file_name == "Sales_tail_1.trn"


def test_a_login_that_may_not_read_the_file_is_refused_by_the_final_backups_own_retention(implementation):
    """A login without CREATE DATABASE (db_backupoperator, as docs/sql-logins.md allows) may not read a media label:
    the batch cannot see the file, and BACKUP's own check refuses to overwrite a final backup that has not expired
    (RETAINDAYS), SQL Server's error 4030. The file stays as it is."""
    world = implementation.world
    finish(implementation.access(), query("final-backup", source(), sql_statements.backup_log("Sales", TAIL)))
    before = _final_backup_in_the_share(world)
    world.purge_backup_history("sql01", "Sales")
    world.set_login("sql01", "migrator", ["VIEW SERVER STATE"], {"Sales": ["ALTER", "BACKUP LOG", "VIEW DEFINITION"]})

    with pytest.raises(SqlOperationFailed) as refused:
        finish(implementation.access(), query("final-backup-again", source(), sql_statements.backup_log("Sales", TAIL)))
    assert "cannot be overwritten" in str(refused.value) and "4030" in str(refused.value), refused.value
    assert _final_backup_in_the_share(world) == before


def test_a_worker_that_dies_mid_operation_is_followed_by_one_that_finishes_it_once(implementation):
    backup = statement("cutover-backup", source(), sql_statements.backup_log("Sales", TAIL))
    implementation.crash_midway(implementation.access(), backup)
    started = implementation.operations_started()
    successor = implementation.access()
    identity = sql_statements.parse_backups(finish(successor, backup).rows)[0]
    assert identity.file_name == "Sales_tail_1.trn"
    assert len([b for b in implementation.world.backups("sql01", "Sales") if b["type"] == "LOG"]) == 1
    if implementation.name == "dataFactory":
        assert implementation.operations_started() == started  # the run in flight was adopted, not started again


def test_preflights_source_facts_come_in_one_operation_each_part_read_as_it_would_be_alone(implementation):
    """State, freeze marker, identity and log-backup base: one batch, one pipeline run through Data Factory; a
    part that cannot be read (the marker hidden from the login, no log chain, no guid of a database not ONLINE)
    leaves the others read, and a missing database reads as nothing."""
    access, world = implementation.access(), implementation.world

    def facts(key, database="Sales"):
        before = implementation.operations_started()
        found = sql_statements.parse_source_facts(finish(access, query(key, source(), sql_statements.source_facts(database))).rows)
        assert implementation.operations_started() == before + 1
        return found

    sales = facts("facts")
    assert sales.state.state == "ONLINE" and sales.state.freeze_marker_known and sales.state.freeze_marker is None
    assert sales.identity.server_name == "sql01" and sales.identity.database_guid and sales.log_backup_base is not None
    world.set_login("sql01", "migrator", ["VIEW SERVER STATE"], {"sales": ["ALTER"]})  # no VIEW DEFINITION: marker hidden
    world.update_database("sql01", "Sales", recoveryModel="SIMPLE")
    hidden = facts("facts-hidden")
    assert not hidden.state.freeze_marker_known and hidden.state.recovery_model == "SIMPLE"
    assert hidden.identity == sales.identity and hidden.log_backup_base is None
    world.update_database("sql01", "Sales", state="RESTORING")
    restoring = facts("facts-restoring")
    assert restoring.state.state == "RESTORING" and restoring.identity is None
    assert facts("facts-missing", "Payroll") == sql_statements.SourceFacts(None, None, None)


def test_a_new_migrations_prerequisites_come_in_one_operation_each_part_read_as_it_would_be_alone(implementation):
    """The source's part of a new migration's prerequisite checks: one batch, one pipeline run through Data
    Factory. A part the login may not see (the files without VIEW ANY DEFINITION, the encryption key without
    VIEW SERVER STATE) reads as NULL and is not judged; a part that fails (msdb's history refused, a database
    another connection holds in SINGLE_USER) leaves its error, raised where that part is judged, and the
    others read."""
    access, world = implementation.access(), implementation.world
    world.update_database("sql01", "Sales", encryptorThumbprint="0xAB12")
    world.take_backup("sql01", "Sales", "FULL", SHARE + "\\Sales_full_2.bak", checksum=False)

    def prerequisites(key, target_kind, database="Sales"):
        before = implementation.operations_started()
        sql = sql_statements.source_prerequisites(database, target_kind, full_backups=True)
        found = sql_statements.parse_source_prerequisites(finish(access, query(key, source(), sql)).rows)
        assert implementation.operations_started() == before + 1
        return found

    vm = prerequisites("vm", "SqlVm")
    assert vm.login == sql_statements.LoginPermission("migrator", True) and not vm.unread
    assert vm.read("full_backups") == ((SHARE + "\\Sales_full_2.bak", False), (SHARE + "\\Sales_full.bak", True))
    assert vm.file_sizes is not None and vm.encryption_thumbprint == "0xAB12" and vm.product_major_version == 16
    assert vm.table_count == len(TABLES)
    copy = prerequisites("copy", "SqlDb")
    assert copy.read("login").granted and copy.read("tables") == tuple(pairs(TABLES)) and copy.full_backups == ()

    world.set_login("sql01", "migrator", [], {"msdb": ["CONNECT"], "sales": ["SELECT"]})  # DENY SELECT in msdb
    hidden = prerequisites("vm-hidden", "SqlVm")
    assert hidden.login == sql_statements.LoginPermission("migrator", False)
    assert hidden.file_sizes is None and hidden.encryption_thumbprint is None and hidden.product_major_version == 16
    with pytest.raises(SqlOperationFailed, match="full backups could not be read: The SELECT permission was denied on the object 'backupset'"):
        hidden.read("full_backups")
    assert prerequisites("copy-hidden", "SqlDb").read("tables") == tuple(pairs(TABLES))

    world.update_database("sql01", "Sales", userAccess="SINGLE_USER", singleUserHolder="an application")
    held = prerequisites("copy-held", "SqlDb")
    for part in ("login", "tables"):
        with pytest.raises(SqlOperationFailed, match="can only have one user at a time"):
            held.read(part)
    assert prerequisites("vm-held", "SqlVm").table_count is None  # not read, so not judged
    assert prerequisites("vm-missing", "SqlVm", "Payroll").file_sizes is None


def test_the_last_backup_names_the_file_dms_must_restore_last(implementation):
    access = implementation.access()
    finish(access, statement("tail", source(), sql_statements.backup_log("Sales", TAIL)))
    last = sql_statements.parse_backups(finish(access, query("last", source(), sql_statements.last_backup("Sales"))).rows)
    assert [backup.file_name for backup in last] == ["Sales_tail_1.trn"]


def test_a_failed_statement_reports_sql_servers_message(implementation):
    access = implementation.access()
    with pytest.raises(SqlOperationFailed, match="Payroll"):
        finish(access, statement("freeze-missing", source(), "ALTER DATABASE [Payroll] SET READ_ONLY WITH ROLLBACK IMMEDIATE;"))
    implementation.world.add_fault("sqlExecute", "error", message="Login failed for user 'migrator'.")
    with pytest.raises(SqlOperationFailed, match="Login failed for user 'migrator'"):
        finish(access, query("state-denied", source(), sql_statements.database_state("Sales")))


def test_fingerprints_of_every_table_in_one_operation_per_side(implementation):
    access = implementation.access()
    before = implementation.operations_started()
    rows = finish(access, query("fingerprints", source(), sql_statements.table_fingerprints("Sales"))).rows
    assert implementation.operations_started() == before + 1
    fingerprints = sql_statements.parse_fingerprints(rows)
    assert [f.table for f in fingerprints] == pairs(TABLES)
    assert [f.row_count for f in fingerprints] == [len(TABLES[name]["rows"]) for name in sorted(TABLES)]
    assert all(f.checksum is not None and f.error is None for f in fingerprints)


@pytest.mark.parametrize("database_permissions, table_permissions", [
    ({"Sales": []}, {}),  # a user in Sales holding nothing: sys.tables shows it no table
    ({"Sales": ["CONNECT"]}, {"dbo.Orders": ["SELECT"]}),  # SELECT on one table: sys.tables shows that one
], ids=["sees-none", "sees-one"])
def test_fingerprints_of_every_table_refuse_a_login_that_may_not_see_every_table(implementation, database_permissions,
                                                                                 table_permissions):
    """sys.tables shows a login only the tables it holds a permission on (metadata visibility). Before: the batch
    fingerprinted what the login saw (no table, or one), and a comparison of that passed ("0 table(s) match")."""
    implementation.world.set_login("sql01", "migrator", ["VIEW SERVER STATE"], database_permissions,
                                   {"Sales": table_permissions})
    with pytest.raises(SqlOperationFailed) as refused:
        finish(implementation.access(), query("fingerprints-unseen", source(), sql_statements.table_fingerprints("Sales")))
    message = str(refused.value)
    assert "the DAG's login may not see every table of database [Sales]" in message, message
    assert "ALTER ROLE db_datareader ADD MEMBER" in message and "GRANT SELECT, VIEW DEFINITION TO" in message, message
    assert "validation.tables" in message


@pytest.mark.parametrize("database_permissions, server_permissions", [
    (["SELECT"], []),  # db_datareader: SELECT on the database
    (["CONTROL"], []),  # db_owner: CONTROL on the database
    (["VIEW DEFINITION"], []),  # sees every table (its SELECT decides what it can read)
    ([], ["VIEW ANY DEFINITION"]),
    ([], ["CONTROL SERVER"]),  # sysadmin
], ids=["db_datareader", "db_owner", "view-definition", "view-any-definition", "control-server"])
def test_fingerprints_of_every_table_are_read_by_a_login_that_sees_every_table(implementation, database_permissions,
                                                                                server_permissions):
    implementation.world.set_login("sql01", "migrator", server_permissions, {"Sales": database_permissions})
    rows = finish(implementation.access(), query("fingerprints-seen", source(), sql_statements.table_fingerprints("Sales"))).rows
    assert [f.table for f in sql_statements.parse_fingerprints(rows)] == pairs(TABLES)


@pytest.mark.parametrize("database_permissions, roles, denial, named", [
    # db_datareader denied SELECT on one table: sys.tables no longer shows it (object ids: sorted tables from 1000)
    (["SELECT"], [], {"permission": "SELECT", "on": "dbo.Orders", "to": "migrator"},
     "DENY SELECT ON OBJECT::(object_id 1001, hidden from it) TO [migrator]"),
    # VIEW DEFINITION on the database, denied it on a schema through a role it is a member of
    (["VIEW DEFINITION"], ["auditors"], {"permission": "VIEW DEFINITION", "on": "sales", "to": "auditors"},
     "DENY VIEW DEFINITION ON SCHEMA::[sales] TO [auditors]"),
    # CONTROL on the database (db_owner), denied CONTROL on a table to public
    (["CONTROL"], [], {"permission": "CONTROL", "on": "dbo.Customers", "to": "public"},
     "DENY CONTROL ON OBJECT::(object_id 1000, hidden from it) TO [public]"),
], ids=["select-on-table", "view-definition-on-schema-through-role", "control-on-table-to-public"])
def test_fingerprints_of_every_table_refuse_a_login_denied_on_a_table_or_schema(implementation, database_permissions, roles,
                                                                              denial, named):
    """A DENY on a table or schema takes precedence over the SELECT or VIEW DEFINITION the login holds on the database and
    hides the table from sys.tables. Before: the batch fingerprinted the tables left, and a copy lacking the hidden one
    passed. The login reads its own DENYs (and its roles', public's) in sys.database_permissions."""
    implementation.world.set_login("sql01", "migrator", ["VIEW SERVER STATE"], {"Sales": database_permissions},
                                   database_roles={"Sales": roles}, denials={"Sales": [denial]})
    with pytest.raises(SqlOperationFailed) as refused:
        finish(implementation.access(), query("fingerprints-denied", source(), sql_statements.table_fingerprints("Sales")))
    message = str(refused.value)
    assert "the DAG's login may not see every table of database [Sales]: %s hides tables from it" % named in message, message
    assert "REVOKE that DENY in [Sales]" in message and "validation.tables" in message, message


@pytest.mark.parametrize("database_permissions, roles, denial", [
    (["SELECT"], [], None),  # no DENY at all
    # to a role it is not a member of (VIEW DEFINITION shows it that role's DENYs too)
    (["SELECT", "VIEW DEFINITION"], [], {"permission": "SELECT", "on": "dbo.Orders", "to": "reporting"}),
    (["SELECT"], ["loaders"], {"permission": "INSERT", "on": "dbo", "to": "loaders"}),  # a DENY that hides nothing
], ids=["no-deny", "deny-to-another-role", "deny-insert"])
def test_fingerprints_of_every_table_are_read_by_a_login_no_deny_hides_a_table_from(implementation, database_permissions,
                                                                                   roles, denial):
    implementation.world.set_login("sql01", "migrator", [], {"Sales": database_permissions}, database_roles={"Sales": roles},
                                   denials={"Sales": [denial] if denial else []})
    rows = finish(implementation.access(), query("fingerprints-not-denied", source(), sql_statements.table_fingerprints("Sales"))).rows
    assert [f.table for f in sql_statements.parse_fingerprints(rows)] == pairs(TABLES)


def test_listed_tables_a_login_may_not_see_are_missing_not_refused(implementation):
    """With the plan's validation.tables the batch names each table: one the login may not see reads missing (and
    fails the comparison), one it may see is fingerprinted; no login is refused for the tables it was not asked for."""
    implementation.world.set_login("sql01", "migrator", [], {"Sales": ["CONNECT"]}, {"Sales": {"dbo.Orders": ["SELECT"]}})
    sql = sql_statements.table_fingerprints("Sales", tables=[("dbo", "Orders"), ("dbo", "Customers")])
    found = {str(f.table): f for f in sql_statements.parse_fingerprints(finish(implementation.access(), query("listed", source(), sql)).rows)}
    assert found["dbo.Orders"].row_count == 2 and found["dbo.Orders"].error is None
    assert found["dbo.Customers"].error == "table does not exist"


@pytest.mark.parametrize("server", ["mi-prod", "db-prod", "vm-prod"])
def test_a_planted_difference_on_the_target_is_found(implementation, server):
    world = implementation.world
    copy = dict(TABLES)
    world.put_database(server, "Sales", tables=copy)
    access = implementation.access()
    connects_to = sql_statements.connect_database({"db-prod": "SqlDb"}.get(server), "Sales")
    exclude_rowversion = server == "db-prod"

    def fingerprints(key, endpoint):
        sql = sql_statements.table_fingerprints("Sales", exclude_rowversion=exclude_rowversion, connected_database=endpoint.database)
        return sql_statements.parse_fingerprints(finish(access, query(key, endpoint, sql)).rows)

    source_side = fingerprints("source", source())
    assert compare_fingerprints(source_side, fingerprints("target", target(server, connects_to)), True, True).passed
    changed = [list(row) for row in TABLES["dbo.Orders"]["rows"]]
    changed[1][1] = 0.2
    world.set_table(server, "Sales", "dbo.Orders", TABLES["dbo.Orders"]["columns"], changed)
    report = compare_fingerprints(source_side, fingerprints("target-after", target(server, connects_to)), True, True)
    assert report.mismatches == ["dbo.Orders: checksums differ"]


def test_a_locked_table_is_reported_and_the_others_still_fingerprinted(implementation):
    with implementation.world.transaction() as state:
        state["servers"]["sql01"]["databases"]["sales"]["tables"]["dbo.Orders"]["locked"] = True
    access = implementation.access()
    sql = sql_statements.table_fingerprints("Sales", tables=[("dbo", "Orders"), ("dbo", "Customers"), ("dbo", "Missing")], lock_timeout_seconds=5)
    found = {str(f.table): f for f in sql_statements.parse_fingerprints(finish(access, query("locked", source(), sql)).rows)}
    assert found["dbo.Orders"].error == "Lock request time out period exceeded."
    assert found["dbo.Customers"].row_count == 2 and found["dbo.Customers"].error is None
    assert found["dbo.Missing"].error == "table does not exist"


@pytest.mark.parametrize("collation", ["Latin1_General_CI_AS", "Latin1_General_CS_AS"])
def test_fingerprints_of_a_database_whose_collation_is_not_the_servers(implementation, collation):
    """A legacy database keeps its own collation (sql01's is SQL_Latin1_General_CP1_CI_AS): the batch's
    #requested (tempdb's collation, the server's) meets the database's catalog and table variable,
    which SQL Server compares only under an explicit collation (else error 468, every table or some).
    Under the database's collation: a case-sensitive one tells dbo.Orders from dbo.ORDERS."""
    tables = dict(TABLES, **{"dbo.ORDERS": {"columns": [{"name": "Id", "type": "int"}], "rows": [[1]]}})
    if "_CI_" in collation:
        del tables["dbo.ORDERS"]  # a case-insensitive database cannot hold both
    implementation.world.put_database("sql01", "Legacy", tables=tables, collation=collation)
    access = implementation.access()

    def fingerprints(key, chosen=None):
        sql = sql_statements.table_fingerprints("Legacy", tables=chosen)
        return {str(f.table): f for f in sql_statements.parse_fingerprints(finish(access, query(key, source(), sql)).rows)}

    assert sorted(fingerprints("every")) == sorted(str(TableName(*pair)) for pair in pairs(tables))
    found = fingerprints("chosen", [("dbo", "ORDERS"), ("dbo", "Missing")])
    if "_CI_" in collation:
        assert sorted(found) == ["dbo.Missing", "dbo.Orders"] and found["dbo.Orders"].row_count == 2
    else:
        assert sorted(found) == ["dbo.Missing", "dbo.ORDERS"] and found["dbo.ORDERS"].row_count == 1
    assert found["dbo.Missing"].error == "table does not exist"


ONE_COLUMN = [{"name": "Id", "type": "int"}]
ALIKE = {  # world keys: a part holding a dot or a bracket in brackets (`table_key_parts`)
    "[a.b].[c]": {"columns": ONE_COLUMN, "rows": [[1]]},
    "[a].[b.c]": {"columns": ONE_COLUMN, "rows": [[1], [2]]},
    "dbo.[x]]y]": {"columns": ONE_COLUMN, "rows": [[1], [2], [3]]},
    "dbo.my table": {"columns": ONE_COLUMN, "rows": [[1], [2], [3], [4]]},
}


@pytest.mark.parametrize("server", ["mi-prod", "db-prod"])
def test_tables_whose_dotted_names_are_alike_are_fingerprinted_and_compared_apart(implementation, server):
    """Table c of schema a.b and table b.c of schema a were both "a.b.c" as dotted text: each was compared
    with the other's fingerprint. The batches take and return (schema, table) pairs, so a target holding
    their rows swapped fails, each table named unambiguously."""
    world = implementation.world
    world.put_database("sql01", "Odd", tables=ALIKE)
    world.put_database(server, "Odd", tables=dict(ALIKE, **{"[a.b].[c]": ALIKE["[a].[b.c]"], "[a].[b.c]": ALIKE["[a.b].[c]"]}))
    access = implementation.access()
    connects_to = sql_statements.connect_database({"db-prod": "SqlDb"}.get(server), "Odd")

    def fingerprints(key, endpoint, chosen=None):
        sql = sql_statements.table_fingerprints("Odd", tables=chosen, connected_database=endpoint.database)
        return sql_statements.parse_fingerprints(finish(access, query(key, endpoint, sql)).rows)

    source_side = fingerprints("every", source())
    assert {f.table: f.row_count for f in source_side} == {("a.b", "c"): 1, ("a", "b.c"): 2, ("dbo", "x]y"): 3, ("dbo", "my table"): 4}
    chosen = fingerprints("chosen", source(), [("a.b", "c"), ("dbo", "x]y"), ("a.b", "c.d")])
    assert {f.table: f.row_count for f in chosen} == {("a.b", "c"): 1, ("dbo", "x]y"): 3, ("a.b", "c.d"): None}
    report = compare_fingerprints(source_side, fingerprints("target", target(server, connects_to)), True, True)
    assert report.mismatches == ["a.[b.c]: 2 rows on source, 1 on target", "[a.b].c: 1 rows on source, 2 on target"]


def test_requested_names_and_database_names_compare_padded_as_in_sql_server(implementation):
    """SQL Server pads the shorter name with spaces: a table asked for as `Orders ` in schema `dbo  ` is
    dbo.Orders (reported as the catalog names it), one asked for as ` Orders` is not; `Sales  ` is Sales."""
    access = implementation.access()
    sql = sql_statements.table_fingerprints("Sales", tables=[("dbo  ", "Orders "), ("dbo", " Orders")])
    found = {f.table: f for f in sql_statements.parse_fingerprints(finish(access, query("padded", source(), sql)).rows)}
    assert sorted(found) == [("dbo", " Orders"), ("dbo", "Orders")]
    assert found[("dbo", "Orders")].row_count == 2 and found[("dbo", " Orders")].error == "table does not exist"
    assert state_of(access, "Sales  ", "state-padded").name == "Sales"


def test_a_copys_prerequisites_read_the_tables_of_both_sides_as_pairs(implementation):
    world = implementation.world
    world.put_database("sql01", "Odd", tables=ALIKE)
    world.put_database("db-prod", "Odd", tables=ALIKE)
    access = implementation.access()
    prerequisites = sql_statements.parse_source_prerequisites(
        finish(access, query("copy", source(), sql_statements.source_prerequisites("Odd", "SqlDb", full_backups=False))).rows)
    on_target = sql_statements.parse_user_tables(
        finish(access, query("target-tables", target("db-prod", "Odd"), sql_statements.user_tables("Odd", "Odd"))).rows)
    assert list(prerequisites.read("tables")) == on_target == [("a", "b.c"), ("a.b", "c"), ("dbo", "my table"), ("dbo", "x]y")]


def test_dropping_a_sqlvm_target_database(implementation):
    implementation.world.put_database("vm-prod", "Sales", state="RESTORING")
    access = implementation.access()
    remaining = finish(access, statement("drop", target("vm-prod"), sql_statements.drop_database("Sales")))
    assert first_row(remaining) == {"remaining": 0}
    assert implementation.world.database("vm-prod", "Sales") is None


@pytest.mark.parametrize("state", ["ONLINE", "OFFLINE"])
def test_the_drop_batch_never_drops_an_online_sqlvm_target(implementation, state):
    """Was: dropped whatever its state (the rollback's checks read it before, through Data Factory minutes before);
    then anything but ONLINE, so one a person took OFFLINE since (its DROP removes it too). Now only RESTORING."""
    implementation.world.put_database("vm-prod", "Sales", state=state)
    access = implementation.access()
    remaining = finish(access, statement("drop", target("vm-prod"), sql_statements.drop_database("Sales")))
    assert first_row(remaining) == {"remaining": 1}
    assert implementation.world.database("vm-prod", "Sales")["state"] == state
