"""The T-SQL builders: safe quoting, refusals, and the parts of each statement that carry its meaning."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from migration_orchestration_lib import sql_statements as s
from migration_orchestration_lib.sql_access import SqlOperationFailed
from migration_orchestration_lib.table_names import TableName

pytestmark = pytest.mark.airflow26


@pytest.mark.parametrize("raw, quoted", [("Sales", "[Sales]"), ("odd]name", "[odd]]name]"), ("a[b", "[a[b]")])
def test_identifiers_are_quoted_like_quotename(raw, quoted):
    assert s.quote_name(raw) == quoted


@pytest.mark.parametrize("bad", ["", "x" * 129, "a\x00b", None, "\U0001F600" * 65, "x" * 127 + "\U0001F600"])
def test_identifiers_quotename_would_null_are_refused(bad):
    with pytest.raises(s.StatementError):
        s.quote_name(bad)


@pytest.mark.parametrize("longest", ["x" * 128, "\U0001F600" * 64, "x" * 126 + "\U0001F600"])
def test_identifier_length_counts_utf16_code_units_as_sysname_does(longest):
    """sysname is nvarchar(128): a character beyond the BMP takes two UTF-16 code units (a surrogate pair),
    so 65 emoji (65 Python characters) are 130 units, which QUOTENAME turns into NULL."""
    assert s.quote_name(longest) == "[%s]" % longest


def test_literals_are_unicode_with_quotes_doubled():
    assert s.quote_literal("O'Brien") == "N'O''Brien'"
    with pytest.raises(s.StatementError):
        s.quote_literal("a\x00")


def test_fingerprints_take_tables_as_pairs_never_as_dotted_text():
    """`a.b.c` would be table c of schema a.b or table b.c of schema a: the batch takes (schema, table) pairs
    and writes each part as one literal, dots, brackets and spaces as they are."""
    sql = s.table_fingerprints("Sales", tables=[("a.b", "c"), ("a", "b.c"), ("dbo", "x]y "), ("sales", "O'Brien")])
    assert "VALUES (N'a.b', N'c'), (N'a', N'b.c'), (N'dbo', N'x]y '), (N'sales', N'O''Brien');" in sql
    for bad in ("dbo.Orders", ("dbo",), ("dbo", "")):
        with pytest.raises(s.StatementError):
            s.table_fingerprints("Sales", tables=[bad])
    with pytest.raises(s.StatementError, match="UTF-16 code units"):
        s.table_fingerprints("Sales", tables=[("dbo", "\U0001F600" * 65)])


def test_sql_database_targets_connect_to_the_database_everything_else_to_master():
    assert [s.connect_database(kind, "Sales") for kind in (None, "SqlMi", "SqlVm", "SqlDb")] == ["master"] * 3 + ["Sales"]


def test_freeze_is_guarded_and_reports_the_state():
    read_only = s.freeze("Sales", "readOnly")
    assert "IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'Sales' AND is_read_only = 0)" in read_only
    assert "ALTER DATABASE [Sales] SET READ_ONLY WITH ROLLBACK IMMEDIATE;" in read_only
    single_user = s.freeze("Sales", "singleUser")
    # SINGLE_USER alone lets whoever takes the one connection write: READ_ONLY comes first.
    assert single_user.index("SET READ_ONLY WITH ROLLBACK IMMEDIATE") < single_user.index("SET SINGLE_USER WITH ROLLBACK IMMEDIATE")
    assert read_only.rstrip().endswith(s.database_state("Sales"))
    with pytest.raises(s.StatementError, match="readOnly, singleUser"):
        s.freeze("Sales", "offline")


def test_the_freeze_marker_is_written_before_read_only_and_removed_after_read_write():
    """A read-only database refuses metadata changes (error 3906): the marker goes in right before
    SET READ_ONLY, only where the freeze makes the database read-only, and comes out right after
    SET READ_WRITE, before a restriction goes back on."""
    ours = '{"plan":"contoso-sql","readOnly":false,"userAccess":"MULTI_USER"}'
    frozen = s.freeze("Sales", "singleUser", ours)
    guard = frozen.index("WHERE name = N'Sales' AND is_read_only = 0)")
    assert guard < frozen.index("sp_addextendedproperty") < frozen.index("SET READ_ONLY WITH ROLLBACK IMMEDIATE")
    assert frozen.index("SET READ_ONLY WITH ROLLBACK IMMEDIATE") < frozen.index("SET SINGLE_USER WITH ROLLBACK IMMEDIATE")
    assert "AND is_read_only = 1 AND user_access_desc <> N'SINGLE_USER'" in frozen, "SINGLE_USER only once read-only"
    # another marker there (or one that disagrees): the same batch changes nothing
    # compared in a binary collation: the database's is usually case-insensitive
    assert frozen.index("IF NOT EXISTS (SELECT 1 FROM #freeze_marker WHERE marker COLLATE Latin1_General_BIN2 <> N'%s')" % ours) < guard
    assert "@value = N''%s''" % ours in frozen, "a literal inside the dynamic batch's literal"
    assert "extendedproperty" not in s.freeze("Sales", "readOnly"), "no record of the access before: no marker"
    writable = s.unfreeze("Sales", marker=ours)
    assert writable.index("SET MULTI_USER") < writable.index("SET READ_WRITE") < writable.index("sp_dropextendedproperty")
    restricted = s.unfreeze("Sales", user_access="RESTRICTED_USER", marker=ours)
    assert restricted.index("SET READ_WRITE") < restricted.index("sp_dropextendedproperty") < restricted.index("SET RESTRICTED_USER")
    assert "CONVERT(nvarchar(4000), value) COLLATE Latin1_General_BIN2 = N''%s''" % ours in restricted, "only its own marker"
    assert "extendedproperty" not in s.unfreeze("Sales", read_only=True, marker=ours), "read-only before: never had one"


def test_a_target_state_asks_whether_the_login_sees_every_row_except_on_azure_sql_database():
    """One result set of one row (a Lookup returns the first); HAS_PERMS_BY_NAME of the server, which Azure SQL
    Database does not take ("the securable_class argument must be set to one of ... DATABASE, OBJECT, ROLE, SCHEMA,
    or USER"), only on SQL Server and a managed instance; a SqlDb target's visibility reads unknown."""
    restore, copy = s.target_state("O'Brien", "SqlMi"), s.target_state("O'Brien", "SqlDb")
    assert restore.count("SELECT ") == 6 and restore.count(";") == 1 and "WHERE name = N'O''Brien'" in restore
    assert "HAS_PERMS_BY_NAME(NULL, NULL, N'VIEW ANY DATABASE')" in restore and "HAS_PERMS_BY_NAME(NULL" not in copy
    none = {"database_name": None, "state_desc": None, "recovery_model_desc": None, "is_read_only": None,
            "user_access_desc": None, "login_name": "migrator"}
    assert s.parse_database_read([dict(none, sees_every_database=1)]) == s.DatabaseRead(None, True, "migrator")
    assert s.parse_database_read([dict(none, sees_every_database=0)]).hidden
    assert s.parse_database_read([dict(none, sees_every_database=None)]).hidden
    found = dict(none, database_name="O'Brien", state_desc="ONLINE", recovery_model_desc="FULL", is_read_only=0,
                 user_access_desc="MULTI_USER", sees_every_database=0)  # its owner, say: a row seen is a row
    assert s.parse_database_read([found]).state.state == "ONLINE" and not s.parse_database_read([found]).hidden


def test_a_sources_visibility_is_the_target_states_question_alone():
    """Asked of a source server where the source read no row (`DatabaseSql.source_state`): one row of the same two
    columns `target_state` ends with (one permission check, not a copy), which `parse_database_read` reads as no
    state, hidden unless the login may see every row."""
    visibility, restore = s.login_visibility(), s.target_state("Sales", "SqlMi")
    assert visibility.count("SELECT ") == 1 and visibility.count(";") == 1 and "sys.databases" not in visibility
    assert restore.endswith(visibility[len("SELECT "):])
    assert s.parse_database_read([{"sees_every_database": 0, "login_name": "migrator"}]) == s.DatabaseRead(None, False, "migrator")
    assert not s.parse_database_read([{"sees_every_database": 1, "login_name": "migrator"}]).hidden


def test_the_freeze_marker_is_read_guarded_in_one_result_set_and_never_fails_the_state_read():
    text = s.source_state("Sales")
    order = ["BEGIN TRY", "state_desc = N'ONLINE'", "HAS_DBACCESS(N'Sales') = 1", "EXEC [Sales].sys.sp_executesql",
             "END TRY", "BEGIN CATCH", "END CATCH"]
    assert [text.index(part) for part in order] == sorted(text.index(part) for part in order)
    assert "WHERE class = 0 AND name = N''migration_freeze''" in text
    assert text.rstrip().endswith(s.database_state("Sales", with_freeze_marker=True))
    assert text.count("SELECT name AS database_name") == 1, "one result set: a Data Factory Lookup returns one"
    odd = s.source_state("O'Brien]")
    assert "EXEC [O'Brien]]].sys.sp_executesql" in odd and "HAS_DBACCESS(N'O''Brien]')" in odd
    row = {"database_name": "Sales", "state_desc": "ONLINE", "recovery_model_desc": "FULL", "is_read_only": 1,
           "user_access_desc": "MULTI_USER"}
    assert not s.parse_database_state([row]).freeze_marker_known
    assert not s.parse_database_state([dict(row, freeze_marker_readable=None, freeze_marker=None)]).freeze_marker_known
    read = s.parse_database_state([dict(row, freeze_marker_readable=1, freeze_marker=None)])
    assert read.freeze_marker_known and read.freeze_marker is None


def test_preflights_source_facts_are_the_source_state_row_with_the_identity_and_the_log_backup_base():
    name = "O'Brien]"
    text = s.source_facts(name)
    marker_read, state_row = s.source_state(name).rsplit("\n", 1)
    assert text.startswith(marker_read + "\n"), "the freeze marker read, guarded as source_state's"
    assert text.count("SELECT name AS database_name") == 1, "one result set: a Data Factory Lookup returns one"
    row = text.rsplit("\n", 1)[1]
    assert row.startswith(state_row.split(" FROM sys.databases")[0] + ", ") and row.endswith(" FROM sys.databases WHERE name = N'O''Brien]';")
    assert "ISNULL(@@SERVERNAME, CONVERT(nvarchar(128), SERVERPROPERTY('ServerName'))) AS server_name" in row
    for column, as_type in (("database_guid", "nvarchar(36)"), ("last_log_backup_lsn", "varchar(40)")):
        assert ("(SELECT CONVERT(%s, r.%s) FROM sys.database_recovery_status AS r WHERE r.database_id = DB_ID(N'O''Brien]')) AS %s"
                % (as_type, column, column)) in row, "one value each: hidden or missing, NULL (never an error)"
    state = {"database_name": name, "state_desc": "ONLINE", "recovery_model_desc": "FULL", "is_read_only": 0,
             "user_access_desc": "MULTI_USER", "freeze_marker_readable": 1, "freeze_marker": None}
    facts = s.parse_source_facts([dict(state, server_name="SQL01\\SALES", database_guid="5514c4af-3828-4d9c-ae64-1f2e8f12a555 ",
                                       last_log_backup_lsn=42000000012300001)])
    assert facts == s.SourceFacts(s.parse_database_state([state]), s.SourceIdentity("SQL01\\SALES", "5514C4AF-3828-4D9C-AE64-1F2E8F12A555"),
                                  "42000000012300001")
    unseen = s.parse_source_facts([dict(state, server_name="SQL01", database_guid=None, last_log_backup_lsn=None)])
    assert unseen.state == facts.state and unseen.identity is None and unseen.log_backup_base is None
    assert s.parse_source_facts([]) == s.SourceFacts(None, None, None)


def test_a_new_migrations_prerequisites_are_one_result_set_with_the_parts_that_can_fail_each_in_a_try():
    """One fact per row in #prerequisites (a Data Factory Lookup returns one result set); the parts that can
    fail (msdb's history, the reads inside the database) each in a TRY whose CATCH leaves the part unread."""
    vm = s.source_prerequisites("O'Brien]", "SqlVm", full_backups=True)
    assert vm.count("SELECT fact, ordinal, name, detail, amount FROM #prerequisites") == 1 and vm.rstrip().endswith(
        "ORDER BY fact, ordinal DESC, name, detail;")
    assert "HAS_PERMS_BY_NAME(NULL, NULL, N'CONTROL SERVER')" in vm and "WHERE b.database_name = N'O''Brien]' AND b.type = 'D'" in vm
    assert vm.index("BEGIN TRY") < vm.index("msdb.dbo.backupset") < vm.index("BEGIN CATCH") < vm.index("N'full_backups', ERROR_MESSAGE()")
    assert "IF HAS_PERMS_BY_NAME(NULL, NULL, N'VIEW SERVER STATE') = 1" in vm, "the key's view refuses a login without it"
    assert "SERVERPROPERTY('ProductMajorVersion')" in vm and vm.count("sys.master_files") == 2
    mi = s.source_prerequisites("Sales", "SqlMi", full_backups=False)
    assert "msdb" not in mi and "dm_database_encryption_keys" not in mi and "ProductMajorVersion" not in mi
    assert "N'masked_columns', ERROR_MESSAGE()" in mi and "N''unmask''" in mi  # validation's login reads masks or not
    copy = s.source_prerequisites("O'Brien]", "SqlDb", full_backups=True)
    assert copy.count("EXEC [O'Brien]]].sys.sp_executesql") == 5 and "HAS_DBACCESS(N'O''Brien]') = 1" in copy
    assert "N'login', ERROR_MESSAGE()" in copy and "N'tables', ERROR_MESSAGE()" in copy and "N'masked_columns', ERROR_MESSAGE()" in copy
    assert "N'sequences', ERROR_MESSAGE()" in copy and "sys.sequences" not in mi
    assert "msdb" not in copy and "CONTROL SERVER" not in copy and "HAS_PERMS_BY_NAME(DB_NAME(), N''DATABASE'', N''SELECT'')" in copy
    with pytest.raises(s.StatementError, match="SqlMi, SqlVm or SqlDb"):
        s.source_prerequisites("Sales", "Sql", full_backups=True)


def prerequisite(fact, ordinal=None, name=None, detail=None, amount=None):
    return {"fact": fact, "ordinal": ordinal, "name": name, "detail": detail, "amount": amount}


def test_a_new_migrations_prerequisites_parse_each_part_as_read_alone():
    read = s.parse_source_prerequisites([
        prerequisite("data_pages", amount=129), prerequisite("encryptor_thumbprint", name="0xAB"),
        prerequisite("full_backup", 3, "\\\\files\\old.bak", amount=1), prerequisite("full_backup", 9, "\\\\files\\new.bak", amount=0),
        prerequisite("log_pages", amount=128), prerequisite("login", name="dms", amount=1), prerequisite("product_major_version", amount=15),
    ])
    assert read == s.SourcePrerequisites(
        login=s.LoginPermission("dms", True), full_backups=(("\\\\files\\new.bak", False), ("\\\\files\\old.bak", True)),
        file_sizes=s.FileSizes(data_mb=2, log_mb=1), encryption_thumbprint="0xAB", product_major_version=15)
    unseen = s.parse_source_prerequisites([
        prerequisite("data_pages"), prerequisite("log_pages"), prerequisite("encryptor_thumbprint"), prerequisite("login", name="dms"),
        prerequisite("unread", name="full_backups", detail="The SELECT permission was denied (229)"),
    ])
    assert unseen.file_sizes is None and unseen.encryption_thumbprint is None and unseen.login == s.LoginPermission("dms", False)
    with pytest.raises(SqlOperationFailed, match=r"the source's full backups could not be read: The SELECT permission was denied \(229\)"):
        unseen.read("full_backups")
    copy = s.parse_source_prerequisites([prerequisite("table", name="dbo", detail="A"), prerequisite("table", name="sales", detail="B"),
                                         prerequisite("unread", name="login", detail="in use")])
    assert copy.read("tables") == (("dbo", "A"), ("sales", "B")) and copy.login is None and copy.unread == {"login": "in use"}
    masked = s.parse_source_prerequisites([prerequisite("masked_columns", amount=2), prerequisite("unmask", amount=0)])
    assert (masked.masked_columns, masked.unmask, masked.read_as_masks) == (2, False, 2)
    assert s.parse_source_prerequisites([prerequisite("masked_columns", amount=2), prerequisite("unmask", amount=1)]).read_as_masks == 0
    sequences = s.parse_source_prerequisites([prerequisite("sequence", -1, "dbo", "Countdown", -50)]).sequences
    assert sequences == (s.SequenceValue(TableName("dbo", "Countdown"), -50, -1),)
    by_use = s.parse_source_prerequisites([prerequisite("sequence_used", 1, "dbo", "A", 7),
                                           prerequisite("sequence_unused", 1, "dbo", "B", 1)]).sequences
    assert [(str(value.sequence), value.used) for value in by_use] == [("dbo.A", True), ("dbo.B", False)]
    before_2016 = s.parse_source_prerequisites([prerequisite("unread", name="masked_columns", detail="Invalid object name (208)")])
    assert before_2016.read_as_masks == 0


def test_the_tables_holding_masked_columns_are_read_bounded_a_row_a_column_and_told_apart_by_table():
    """Preflight judges masks only in the tables validation compares, matching them in Python: nothing of the plan's
    list goes into the batch (an OR of 5,000 names hung the fake and risks SQL Server's error 8623). At most
    MASKED_COLUMNS_READ + 1 rows (a Lookup keeps 5,000): more say the list is cut off, no table told apart."""
    bound = s.MASKED_COLUMNS_READ + 1
    prerequisites = s.source_prerequisites("Sales", "SqlMi", full_backups=False)
    assert ("SELECT TOP (%d) N''masked_column'', NULL, s.name, t.name, NULL FROM sys.masked_columns AS m JOIN sys.tables AS t "
            "ON t.object_id = m.object_id" % bound) in prerequisites
    assert prerequisites.index("BEGIN TRY") < prerequisites.index("masked_column''") < prerequisites.index(
        "N'masked_columns', ERROR_MESSAGE()"), "before SQL Server 2016 the view is missing: unread, not judged"
    assert ("EXEC sys.sp_executesql N'SELECT TOP (%d) s.name AS schema_name, t.name AS table_name FROM sys.masked_columns"
            % bound) in s.masked_tables("Sales", "Sales")
    read = s.parse_source_prerequisites([prerequisite("masked_column", name="dbo", detail="A"), prerequisite("masked_column", name="dbo", detail="A"),
                                         prerequisite("masked_column", name="sales", detail="B"), prerequisite("masked_columns", amount=3)])
    assert read.masked_tables == (s.MaskedTable(TableName("dbo", "A"), 2), s.MaskedTable(TableName("sales", "B"), 1))
    assert s.parse_source_prerequisites([prerequisite("masked_columns", amount=0)]).masked_tables == ()
    cut = [prerequisite("masked_column", name="dbo", detail="T%d" % n) for n in range(bound)]
    assert s.parse_source_prerequisites(cut + [prerequisite("masked_columns", amount=900)]).masked_tables is None
    assert s.parse_masked_tables([{"schema_name": "dbo", "table_name": "T"}] * bound) is None
    assert s.parse_source_prerequisites([prerequisite("unread", name="masked_columns", detail="(208)")]).masked_tables is None


def test_unfreeze_goes_back_to_the_access_recorded_before_the_freeze():
    writable = s.unfreeze("Sales")
    assert "SET MULTI_USER WITH ROLLBACK IMMEDIATE" in writable and "SET READ_WRITE WITH ROLLBACK IMMEDIATE" in writable
    archive = s.unfreeze("Sales", read_only=True, user_access="MULTI_USER")
    assert "READ_WRITE" not in archive and "SET MULTI_USER WITH ROLLBACK IMMEDIATE" in archive
    restricted = s.unfreeze("Sales", read_only=False, user_access="RESTRICTED_USER")
    assert "user_access_desc <> N'RESTRICTED_USER'" in restricted
    # READ_WRITE while MULTI_USER comes back after it; a restriction goes back on last
    assert writable.index("SET MULTI_USER") < writable.index("SET READ_WRITE")
    assert restricted.index("SET READ_WRITE") < restricted.index("SET RESTRICTED_USER")
    assert archive.rstrip().endswith(s.database_state("Sales"))
    with pytest.raises(s.StatementError, match="MULTI_USER, SINGLE_USER, RESTRICTED_USER"):
        s.unfreeze("Sales", user_access="OFFLINE")


def test_backup_log_looks_in_msdb_before_backing_up():
    sql = s.backup_log("Sales", "\\\\share\\Sales_tail.trn")
    lines = sql.split("\n")
    guard = lines[2]
    assert guard.startswith("IF NOT EXISTS (SELECT 1 FROM msdb.dbo.backupset AS b JOIN msdb.dbo.backupmediafamily AS m")
    assert "b.type = 'L' AND m.physical_device_name = N'\\\\share\\Sales_tail.trn'" in guard
    [backup] = [line for line in lines if "BACKUP LOG" in line]
    # never over a backup already in the file: RETAINDAYS makes SQL Server's own NOSKIP check refuse an INIT over it
    assert backup.strip() == "BACKUP LOG [Sales] TO DISK = N'\\\\share\\Sales_tail.trn' WITH CHECKSUM, INIT, RETAINDAYS = 3650;"
    assert "SKIP" not in sql and "FORMAT" not in sql
    # where msdb records none, the file's media label is read first (a login with CREATE DATABASE), in a TRY
    assert "IF HAS_PERMS_BY_NAME(N'master', N'DATABASE', N'CREATE DATABASE') = 1" in sql
    assert "EXEC sys.sp_executesql N'RESTORE LABELONLY FROM DISK = @path'" in sql and "BEGIN TRY" in sql
    assert sql.index("RESTORE LABELONLY") < sql.index("BACKUP LOG")
    identity = lines[-1]
    assert identity.strip().startswith("SELECT TOP (1)") and "COPY_ONLY" not in sql


def test_backup_logs_answer_is_the_identity_or_the_file_msdb_does_not_record():
    identity = {"backup_set_uuid": "U", "database_name": "Sales", "backup_type": "L", "physical_device_name": "\\\\s\\f.trn",
                "first_lsn": "1", "last_lsn": "2", "finished": "2026-12-06T03:00:00"}
    assert s.parse_backup_log([identity])[0].file_name == "f.trn"
    assert s.parse_backup_log([]) == []
    with pytest.raises(s.BackupFileNotRecorded) as found:
        s.parse_backup_log([{"unrecorded_file_written": "2026-12-06T03:00:00.123"}])
    assert found.value.written == "2026-12-06T03:00:00.123"


def test_fingerprints_are_one_batch_with_the_plans_tables():
    tables = [("dbo", "T%04d" % n) for n in range(1001)]
    sql = s.table_fingerprints("Sales", tables=tables, lock_timeout_seconds=30)
    assert sql.count("INSERT INTO #requested") == 2  # a VALUES list holds at most 1,000 rows
    assert "SET LOCK_TIMEOUT 30000;" in sql and "@all_tables = 0" in sql
    assert "EXEC [Sales].sys.sp_executesql" in sql
    every = s.table_fingerprints("Sales", with_checksum=False, connected_database="Sales")
    assert "@all_tables = 1, @with_checksum = 0" in every and "EXEC sys.sp_executesql" in every


def test_fingerprint_rows_that_arrived_incomplete_are_refused():
    row = {"schema_name": "dbo", "table_name": "T", "row_count": 1, "checksum": "5", "error": None, "elapsed_ms": 2, "table_count": 2}
    assert s.parse_fingerprints([row, dict(row, table_name="U")])[1].table == ("dbo", "U")
    with pytest.raises(s.IncompleteResult, match="2 rows but 1 arrived"):
        s.parse_fingerprints([row])


def test_lock_timeouts_must_be_positive_whole_seconds():
    with pytest.raises(s.StatementError):
        s.table_fingerprints("Sales", lock_timeout_seconds=0)


def test_states_and_backups_parse_from_either_implementations_rows():
    state = s.parse_database_state([{"database_name": "Sales", "state_desc": "ONLINE", "recovery_model_desc": "FULL",
                                     "is_read_only": "true", "user_access_desc": "SINGLE_USER"}])
    assert state.is_read_only and not state.is_writable
    backup = s.parse_backups([{"backup_set_uuid": "U", "database_name": "Sales", "backup_type": "L",
                               "physical_device_name": "\\\\share\\dir/Sales_tail.trn", "first_lsn": "1", "last_lsn": "2",
                               "finished": "2026-01-01T00:00:00"}])[0]
    assert backup.file_name == "Sales_tail.trn"


def test_a_fingerprint_batch_may_run_until_the_deadline_at_least_a_minute():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    assert s.fingerprint_timeout_seconds(now + timedelta(hours=11, seconds=30), now) == 11 * 3600 + 30
    assert s.fingerprint_timeout_seconds(now + timedelta(seconds=5), now) == 60
    assert s.fingerprint_timeout_seconds(now - timedelta(hours=1), now) == 60


def test_a_backup_file_is_in_the_share_whatever_its_slashes_and_case():
    share = r"\\fs01\Backups\sql01"
    assert s.in_folder(r"\\FS01\backups\SQL01\Sales_full.bak", share)
    assert s.in_folder("//fs01/Backups/sql01/Sales_full.bak", share + "\\")
    assert not s.in_folder(r"\\fs01\Backups\sql01-old\Sales_full.bak", share)
    assert not s.in_folder(r"D:\local\Sales_full.bak", share)


@pytest.mark.parametrize("bad", ["5E1F", "0x", "0xZZ", "0x1'; DROP DATABASE x; --", None])
def test_a_thumbprint_is_refused_unless_hex(bad):
    with pytest.raises(s.StatementError, match="thumbprint"):
        s.server_keys_matching(bad)


def test_permissions_are_named_from_a_known_list_and_checked_inside_the_database():
    with pytest.raises(s.StatementError, match="database permission"):
        s.database_permission("Sales", "SELECT; --")
    from_master = s.database_permission("O'Brien]", "SELECT")
    assert "HAS_DBACCESS(N'O''Brien]')" in from_master and "EXEC [O'Brien]]].sys.sp_executesql" in from_master
    assert "HAS_DBACCESS" not in s.database_permission("Sales", "CONTROL", connected_database="Sales")


MB = 1024 * 1024


def fact(kind, name=None, amount=None):
    return {"fact": kind, "name": name, "amount": amount}


def test_sizes_and_storage_parse_from_either_implementations_rows():
    sizes = s.parse_database_file_sizes([{"database_name": "Sales", "data_pages": 129, "log_pages": 128},
                                         {"database_name": "Hr", "data_pages": None, "log_pages": None}])
    assert sizes == {"sales": s.FileSizes(data_mb=2, log_mb=1)}  # rounded up: a restore needs every page; Hr's files unseen
    room = s.parse_restore_room([
        fact("database", "Sales", 5), fact("sees_every_database", amount=1), fact("reserved_mb", amount=32768),
        fact("reported_used_mb", amount=1024), fact("files_pages", amount=2048 * 128),
    ])
    assert room == s.RestoreRoom(present=frozenset({"sales"}), reserved_mb=32768, used_mb=2048)  # the report lags the files
    assert s.parse_restore_room([fact("sees_every_database", amount=0), fact("reserved_mb", amount=32768)]).present is None
    assert s.parse_restore_room([fact("sees_every_database", amount=1)]) == s.RestoreRoom(present=frozenset())
    assert s.parse_restore_room([fact("controls_server", "adf-x", 0)]).login == s.LoginPermission("adf-x", False)
    assert s.parse_login_permission([{"login_name": "dms", "has_permission": None}]) == s.LoginPermission("dms", False)


def test_a_sql_servers_paths_are_on_the_volume_of_the_longest_root_they_begin_with():
    room = s.parse_restore_room([
        fact("sees_every_database", amount=1), fact("data_path", "f:\\Mount\\Data\\"), fact("log_path", "G:\\log\\"),
        fact("volume", "F:\\", 100 * MB), fact("volume", "F:\\mount\\", 50 * MB), fact("volume", "F:\\mount\\", 40 * MB + 5),
        fact("volume", None, 10 * MB), fact("volume", "/var/opt/mssql/", 10 * MB),  # Linux: no mount point, or not a Windows path
    ])
    assert room.volumes == (s.Volume("F:\\", 100), s.Volume("F:\\mount\\", 40))  # seen twice: the lesser free space
    assert room.volume_of(room.data_path) == s.Volume("F:\\mount\\", 40)
    assert room.volume_of(room.log_path) is None and room.volume_of(None) is None


def test_a_restore_room_batch_reads_which_databases_are_there_before_the_room_they_take():
    for kind in ("SqlMi", "SqlVm"):
        batch = s.restore_room(kind, ["Sales", "O'Brien"])
        assert batch.index("FROM sys.databases WHERE name IN (N'Sales', N'O''Brien')") < batch.index("VIEW SERVER STATE")
    volume_reads = s.restore_room("SqlVm", ["Sales"]).split("BEGIN TRY")
    assert "sys.dm_os_volume_stats" in volume_reads[1].split("END TRY")[0]  # an error there leaves the volumes unjudged
    assert "sys.dm_os_enumerate_fixed_drives" in volume_reads[2].split("END TRY")[0]  # compiled apart
    with pytest.raises(s.StatementError):
        s.restore_room("SqlDb", ["Sales"])
    assert s.parse_restore_room([fact("controls_server", "adf-x", 0)]).login == s.LoginPermission("adf-x", False)
    assert s.parse_login_permission([{"login_name": "dms", "has_permission": None}]) == s.LoginPermission("dms", False)


@pytest.mark.parametrize("text, number", [
    ("0000002A:000000D0:0003", 42 * 10 ** 15 + 208 * 10 ** 5 + 3), ("42000000020800003", 42000000020800003),
    ("00000000:00000000:0007", 7), (None, None), ("", None), ("x:y:z", None), ("1:2", None)])
def test_lsns_read_in_either_form_as_msdb_numbers(text, number):
    """sys.dm_db_log_stats writes VLF:block:slot in hex; msdb's numeric(25,0) is VLF * 10^15 + block * 10^5 + slot."""
    assert s.numeric_lsn(text) == number


def test_log_after_a_backup_counts_only_records_past_its_last_lsn():
    """last_lsn is the next record after the backup: a log end or a later backup at it holds nothing new."""
    assert s.LogAfterBackup(final_last_lsn=100, backed_up_to=100, log_end_lsn=100).written_after is None
    assert s.LogAfterBackup(final_last_lsn=None, backed_up_to=500, log_end_lsn=500).written_after is None
    assert "LSN 103 (sys.dm_db_log_stats)" in s.LogAfterBackup(100, 100, 103).written_after
    assert s.LogAfterBackup(100, 104, None).written_after == "a later log backup reaches LSN 104"
    batch = s.log_after_backup("O'Brien", [r"\\fs\b\x.trn", "y.trn"])
    assert "BEGIN TRY\n    EXEC sys.sp_executesql N'INSERT INTO #log_end" in batch, "a name older servers refuse to compile"
    assert "sys.dm_db_log_stats(d.database_id) AS s WHERE d.name = N''O''''Brien'';'" in batch
    assert r"m.physical_device_name IN (N'\\fs\b\x.trn', N'y.trn') ORDER BY b.last_lsn DESC" in batch
    with pytest.raises(s.StatementError):
        s.log_after_backup("Sales", [])
