"""A DB-API module standing in for `pymssql`, backed by the rehearsal world (`world.World`).

It interprets T-SQL the way SQL Server would (parsed by `tsql`, a subset of the grammar) against
the world's databases, backup share and backup history, and refuses what it does not understand
(`ProgrammingError` naming the construct), so drift between the DAG's statements and what this
fake knows shows up as a failure, not a silent pass.

What it knows:
- catalog views: `sys.databases` (server-level; the world's databases plus master, msdb, tempdb,
  model; on Azure SQL Database master and, in a user database, only that one, in master every one, but to a login
  listed in the world without VIEW ANY DATABASE, ALTER or CREATE ANY DATABASE, CONTROL SERVER or CREATE DATABASE in
  master only master: the server roles give those there, SQL Server's public role VIEW ANY DATABASE, unless the
  world revoked it (`publicLacksViewAnyDatabase`: such a login then sees master, tempdb and its current database),
  and besides those the databases it owns (a database's `owner`);
  `group_database_id` where the database is in an `availabilityGroup`, a column SQL Server 2012 on: naming it
  earlier is error 207, compiling the batch), `sys.database_mirroring` (`mirroring_role_desc`, `mirroring_guid`: a
  database's `mirroringRole`; other databases than master and tempdb only to a login with VIEW ANY DATABASE or ALTER
  ANY DATABASE), `sys.database_recovery_status` (`last_log_backup_lsn`; `database_guid`, the database's own,
  the same whichever host name reached its server), `sys.tables` and `sys.schemas` (of the current database: the schema and table of each of its
  `tables` keys, `world.table_key_parts`; only the tables the session's login may see, as metadata visibility
  has it: every table to a sysadmin, to a login with VIEW ANY DEFINITION, or with VIEW DEFINITION or a permission
  implying one on each table (SELECT, CONTROL, ...) on the database; else those it holds a permission on, the
  login's `objectPermissions`; a DENY in its `denials` takes precedence), `sys.database_permissions` (the DENY
  rows of the login's `denials` on tables and schemas, to principals it sees) and `sys.database_principals`
  (public, dbo, the login's user, named as the login, and the roles named by its `databaseRoles` and
  `denials`: the roles it is a member of, every one with VIEW DEFINITION), msdb's `dbo.backupset` and
  `dbo.backupmediafamily` (the world's backup share of this server is its backup history, but for the backups
  whose history was purged, `World.purge_backup_history`, whose files stay in the share; refused,
  message 229, to a login given permissions in msdb without SELECT),
  `sys.dm_database_encryption_keys` (a database's `encryptorThumbprint`, varbinary), master's
  `sys.certificates` and `sys.asymmetric_keys` (the server's `keys`; a certificate uploaded to a
  managed instance through ARM is not shown, as Microsoft documents), `sys.master_files` (a data
  file and a log file per database, together its `sizeMb`, in 8-KB pages, where the world put
  them: its server's default data and log paths when it was created; rows shown only to a login with
  CREATE ANY DATABASE, ALTER ANY DATABASE or VIEW ANY DEFINITION, as SQL Server does), on a managed instance `sys.server_resource_stats` (one row: its reserved
  storage, and the size of all its databases, or the world's frozen report), on SQL Server
  `sys.dm_os_volume_stats(database_id, file_id)` (CROSS APPLY: the volume holding that file, its
  free space net of the world's database files) and, from SQL Server 2017 (major version 14) on,
  `sys.dm_os_enumerate_fixed_drives` (the volumes of a drive letter; earlier: "Invalid object
  name", message 208), `sys.dm_db_log_stats(database_id)` (CROSS APPLY; `log_end_lsn`: the world's `lsn`, in the
  log's hex form; from SQL Server 2016, major version 13: earlier "Invalid object name", message 208); the dynamic management views refuse a login without VIEW SERVER STATE
  (message 300), and master's keys are visible only to one with VIEW ANY DEFINITION (metadata
  visibility: the world's keys have no owner or grants), as SQL Server does;
- functions of the session's login: `SUSER_SNAME()`, `HAS_PERMS_BY_NAME` (server and database
  permissions, from the server's `logins`; VIEW ANY DEFINITION implies VIEW DEFINITION on every database), `HAS_DBACCESS` (0 for a SINGLE_USER database another connection holds, as SQL Server documents),
  `DATABASE_PRINCIPAL_ID()` (dbo, 1, for a sysadmin), `IS_ROLEMEMBER(role)`, `OBJECT_NAME(id)` (NULL for a table it
  may not see), `SCHEMA_NAME(id)`, `QUOTENAME(name)`, `DB_NAME()`, `ERROR_MESSAGE()` and `ERROR_NUMBER()` (in a CATCH block: the error it handles, its number the one its message ends with; NULL elsewhere); `SERVERPROPERTY` of
  `EngineEdition`, `ProductMajorVersion`, `ServerName`, and on SQL Server `InstanceDefaultDataPath` and
  `InstanceDefaultLogPath` (the world's default paths); `@@SERVERNAME`. The server's name (`ServerName`,
  `@@SERVERNAME`) is its own (`name` in the world: the machine, or machine\\instance), never the host a
  connection named: a DNS alias, a listener or an IP address of it (the server's `aliases`) reaches the
  same server, its same databases;
- `SELECT DISTINCT`, and constants beside an aggregate;
- `ALTER DATABASE ... SET READ_ONLY|READ_WRITE|SINGLE_USER|MULTI_USER|RESTRICTED_USER` (each change a log
  record in the database where SQL Server logs one: `world.logged_option_changes`; READ_ONLY, SINGLE_USER and
  RESTRICTED_USER refused, 1468, on a database in an availability group or a mirroring session), `sp_addextendedproperty` and
  `sp_dropextendedproperty` (a write: a log record), `BACKUP LOG|DATABASE ... TO DISK` (writes a backup into the world's share), `DROP DATABASE`
  (refused for a database in use, 3702: a SINGLE_USER one's holder's or the connection's own; for a system one, 3708),
  all refused inside a transaction as SQL Server does (messages 226 and 3021): connect with
  autocommit;
- session temporary tables (`INSERT ... VALUES` and `INSERT ... SELECT`), `EXEC [db].sys.sp_executesql`
  (runs in that database), `IF`, `RAISERROR`, `BEGIN TRY ... BEGIN CATCH` (an execution error, a
  `DatabaseError` here, runs the CATCH block; what the fake does not understand is never caught),
  a bare `THROW` in a CATCH block (re-raised: outside another TRY it ends the batch);
- database names as the server's collation compares them (case-sensitively on a server installed with a
  case-sensitive collation: there `[sales]` is not Sales); a database that cannot be entered says why: a restore
  (927), offline (942), held by another connection (924), absent (911; 4060 at login);
- Azure SQL Database's lack of cross-database names: a batch with a three-part name of another database (msdb's
  tables, `[other].sys.sp_executesql`) fails to compile (40515), on a SqlDb server;
- statement-level errors as SQL Server has them: an error of RAISERROR, ALTER DATABASE, an
  extended-property procedure, BACKUP or DROP DATABASE outside TRY ends that statement only, the
  rest of the batch runs and the client gets the error at the end (`STATEMENT_LEVEL_ERRORS`); other
  errors end the batch;
- table variables (`DECLARE @name TABLE (...)`, `INSERT INTO @name`, `FROM @name`), of the batch;
- collations, as SQL Server's collation precedence has them: the server has one (the world's
  `collation`, default SQL_Latin1_General_CP1_CI_AS), and so do master, tempdb and so temporary
  tables' text columns; a database has its own where the world gives it one (else the server's),
  and so do its catalog's names (`sys.tables`, `sys.schemas`, `sys.extended_properties`) and the
  table variables declared while it is current (in its `sp_executesql`); the server-level views have
  the server's. Each comparison (=, <>, <, >, IN, a JOIN's ON) is bound before its statement runs:
  an explicit `COLLATE` on either side decides (`DATABASE_DEFAULT`: the current database's), else a
  text column's collation, else the current database's (literals, variables); two text columns of
  collations that differ, neither side explicit, are refused with error 468 ("Cannot resolve the
  collation conflict ..."), whatever the rows, as SQL Server refuses the statement; so are two
  explicit ones that differ. The collation decides letter case: case-sensitive where it is binary or
  `_CS_` (`Latin1_General_BIN2`, `Latin1_General_CS_AS`), else case-insensitive (accents, widths and
  sort orders are not modelled: text orders case-insensitively whatever the collation, and
  CONVERT or a function's result counts as a literal). Text compares padded, as SQL Server pads
  the shorter side with spaces whatever the collation ('abc' = 'abc  '), and so do the names of
  databases and logins (`world.sql_name_key`: `[Sales ]` is Sales, `N'master '` a system database);
- database-level extended properties (a database's `extendedProperties`): `sys.extended_properties`
  (class 0 rows, visible to a login with VIEW DEFINITION on the database, as metadata visibility
  has it), `[db.]sys.sp_addextendedproperty` and `[db.]sys.sp_dropextendedproperty` with `@name` (and
  `@value`) only, needing ALTER on the database and refused on a read-only one (message 3906) as
  SQL Server does; a SINGLE_USER database another connection holds (its `singleUserHolder`) cannot
  be entered (message 924), so neither read nor changed;
- one stored procedure-like batch recognised by its ingredients: the per-table fingerprint loop
  (user tables, COUNT_BIG(*), SHA2_256 over each row's JSON including NULLs, computed columns left
  out, rowversion left out on request, CLR and float columns hashed by their bytes, one TRY per
  table, a cursor over a table variable of the chosen tables). Its statements before the cursor's
  DECLARE (choosing the tables into that table variable, reporting missing ones) run as T-SQL, in
  the database; the cursor's loop is simulated. Its checksums are this fake's own (equal rows give
  equal checksums), not SQL Server's. A column with `"masked": true` (dynamic data masking) reads as its
  default() mask (text xxxx, numbers 0, NULL as NULL) to a login without UNMASK on the database (CONTROL implies
  it); where the loop asks HAS_PERMS_BY_NAME for UNMASK, reads sys.masked_columns and raises its @masked_columns,
  such a table gets that error instead of a checksum.
- `sys.sequences` (SQL Server 2012 on): the database's `sequences` (current_value, increment, and from SQL Server
  2017 last_used_value: naming it before is error 207, as compiling the batch is, whatever branch), to a login
  with VIEW DEFINITION on the database or a permission implying one on each sequence (metadata visibility).
  Likewise a fingerprint loop naming sys.columns.graph_type in its own text (not in a string it builds) before 2017.

Test hooks in the world's raw state: a table with `"locked": true` times out on its lock; one with `"external"`
is an external table (PolyBase, elastic query: sys.tables shows it with type ET), its rows what its external data
source returns, and `"external": "unreachable"` fails its reads as a data source this server cannot reach; a column
with `"graph": "internal"` is a graph table's internal column (graph_id_..., from_id_...: no query may read it); a database
with `"refusesAlter": [<option>, ...]` refuses ALTER DATABASE ... SET of those options (5061); a server
with `"productMajorVersion"` reports that version (default 16; SqlMi and SqlDb report 12 as Azure
does). A varbinary value (a thumbprint) is `bytes`: CONVERT to varchar with style 1 gives `0x` and
upper-case hex; without a style it is refused (SQL Server would return the raw bytes as characters).
Faults (`World.add_fault`): operation `sqlConnect` (kinds error, reset) fails the next
connection, `sqlExecute` (kind error) the next batch, with the fault's message.

The module-level `connect` uses the world in `$MIGRATION_WORLD_DIR`; `SqlEngine(world)` is the same
module face bound to a given world (pass it where code expects the pymssql module).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from migration_rehearsal.tsql import NotUnderstood, Select, parse_batch, parse_until_cursor, tokenize
from migration_rehearsal.world import (
    DEFAULT_DATABASE_SIZE_MB, World, WorldError, _same_path, database_guid, log_size_mb, sql_name_key, table_key_parts)

WORLD_VARIABLE = "MIGRATION_WORLD_DIR"
SYSTEM_DATABASES = ("master", "tempdb", "model", "msdb")
ENGINE_EDITIONS = {"SqlServer": 3, "SqlVm": 3, "SqlMi": 8, "SqlDb": 5}
AZURE_PRODUCT_MAJOR_VERSION = 12  # what Azure SQL Database and Managed Instance report
DEFAULT_PRODUCT_MAJOR_VERSION = 16
BACKUP_OPTIONS = frozenset({"CHECKSUM", "INIT", "NOINIT", "COMPRESSION", "FORMAT"})
BACKUP_VALUED_OPTIONS = frozenset({"RETAINDAYS"})
# RESTORE LABELONLY's result set, its columns in order (SQL Server 2008 on: Microsoft's "RESTORE LABELONLY").
MEDIA_LABEL_COLUMNS = ("MediaName", "MediaSetId", "FamilyCount", "FamilySequenceNumber", "MediaFamilyId", "MediaSequenceNumber",
                       "MediaLabelPresent", "MediaDescription", "SoftwareName", "SoftwareVendorId", "MediaDate", "Mirror_Count",
                       "IsCompressed")
ACCESS_OPTIONS = {"SINGLE_USER", "MULTI_USER", "RESTRICTED_USER"}
# What ALTER DATABASE refuses on an availability database or a mirrored one (error 1468). SINGLE_USER is seen refused
# so; READ_ONLY too is taken as refused (unverified in Microsoft's docs: an availability database must be read-write,
# "Read-only databases cannot be added to an availability group"); the others are not modelled as refused.
REFUSED_IN_PARTNERSHIPS = frozenset({"READ_ONLY", "SINGLE_USER", "RESTRICTED_USER"})
ROWVERSION_TYPES = frozenset({"rowversion", "timestamp"})
EXTERNAL_SOURCE_UNREACHABLE = ('Cannot execute the query "Remote Query" against OLE DB provider "MSOLEDBSQL" for '
                               'linked server "(null)". (7320)')
PAGES_PER_MB = 128  # sys.master_files.size counts 8-KB pages
BYTES_PER_MB = 1024 * 1024
SYSTEM_DATABASES_MB = 64  # what master, msdb, model and tempdb take on a managed instance here
SQL_SERVER_KINDS = ("SqlServer", "SqlVm")  # where files live on the server's own volumes
FIXED_DRIVES_SINCE_MAJOR_VERSION = 14  # sys.dm_os_enumerate_fixed_drives came with SQL Server 2017
LOG_STATS_SINCE_MAJOR_VERSION = 13  # sys.dm_db_log_stats came with SQL Server 2016 SP2
DEFAULT_PATHS_SINCE_MAJOR_VERSION = 11  # SERVERPROPERTY('InstanceDefaultDataPath'): SQL Server 2012
# A database permission a server permission implies (the permission hierarchy; CONTROL SERVER implies all).
DATABASE_PERMISSIONS_FROM_SERVER = {"VIEW DEFINITION": "VIEW ANY DEFINITION", "CREATE DATABASE": "CREATE ANY DATABASE"}
# A database permission another database permission implies (GRANT Database Permissions' table; CONTROL implies all).
DATABASE_PERMISSIONS_IMPLIED_BY = {"ALTER ANY SCHEMA": "ALTER"}
# Database permissions that show every sequence: each implies one on every sequence (ALTER ANY SCHEMA: ALTER on every
# schema, so on its sequences; a sequence has no SELECT).
SEQUENCE_VISIBLE_THROUGH = frozenset({"VIEW DEFINITION", "ALTER", "ALTER ANY SCHEMA", "UPDATE", "REFERENCES", "CONTROL"})
# Database permissions that show every table of the database (VIEW DEFINITION, or one implying a permission on each).
TABLE_VISIBLE_THROUGH = frozenset({"VIEW DEFINITION", "SELECT", "INSERT", "UPDATE", "DELETE", "REFERENCES", "ALTER", "CONTROL"})
UNREPORTED_PATH = "C:\\MSSQL\\DATA\\"  # where the files are when the world reports no default path

apilevel = "2.0"
threadsafety = 1
paramstyle = "pyformat"


class Error(Exception):
    pass


class InterfaceError(Error):
    pass


class DatabaseError(Error):
    pass


class OperationalError(DatabaseError):
    pass


class ProgrammingError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


def connect(**arguments: Any) -> "Connection":
    directory = os.environ.get(WORLD_VARIABLE)
    if not directory:
        raise InterfaceError("sql_world.connect needs $%s (the rehearsal world's directory)" % WORLD_VARIABLE)
    return SqlEngine(World(directory)).connect(**arguments)


class SqlEngine:
    """The DB-API module face over one world."""

    Error = Error
    InterfaceError = InterfaceError
    DatabaseError = DatabaseError
    OperationalError = OperationalError
    ProgrammingError = ProgrammingError
    NotSupportedError = NotSupportedError
    apilevel = apilevel
    paramstyle = paramstyle

    def __init__(self, world: World):
        self.world = world
        self.connections: List[Dict[str, Any]] = []  # what each connect() asked for, password left out

    def connect(
        self,
        server: Optional[str] = None,
        user: Optional[str] = None,
        password: Optional[str] = None,
        database: str = "master",
        timeout: int = 0,
        login_timeout: int = 60,
        port: Any = "1433",
        autocommit: bool = False,
        **_other: Any,
    ) -> "Connection":
        self.connections.append(
            {"server": server, "port": str(port), "user": user, "database": database, "autocommit": autocommit,
             "timeout": timeout, "login_timeout": login_timeout}
        )
        fault = self.world.take_fault("sqlConnect", database, kinds=("error", "reset"))
        if fault is not None:
            raise OperationalError(fault.get("message") or "Unable to connect: Adaptive Server is unavailable or does not exist (%s)" % server)
        found = self.world.server(server or "")
        if found is None:
            raise OperationalError("Unable to connect: Adaptive Server is unavailable or does not exist (%s)" % server)
        if not user or not password:
            raise OperationalError("Login failed: SQL authentication needs a user and a password")
        session = _Session(self.world, found["name"], found["kind"], database, autocommit, user)
        session.require_open(database)
        return Connection(session)


class Connection:
    def __init__(self, session: "_Session"):
        self._session = session
        self.closed = False

    def cursor(self) -> "Cursor":
        if self.closed:
            raise InterfaceError("connection is closed")
        return Cursor(self._session)

    def autocommit(self, status: bool) -> None:
        self._session.autocommit = bool(status)

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class Cursor:
    def __init__(self, session: "_Session"):
        self._session = session
        self._results: List[Tuple[List[str], List[tuple]]] = []
        self._current = 0

    @property
    def description(self) -> Optional[List[tuple]]:
        if self._current >= len(self._results):
            return None
        return [(name, None, None, None, None, None, None) for name in self._results[self._current][0]]

    def execute(self, operation: str, params: Any = None) -> None:
        if params is not None:
            raise NotSupportedError("sql_world: the DAG's statements carry no driver parameters")
        try:
            with self._session.world.transaction(keep_on_error=True):  # the batch reads and writes the world once
                fault = self._session.world.take_fault("sqlExecute", self._session.database, kinds=("error",))
                if fault is not None:
                    raise DatabaseError(fault.get("message") or "simulated SQL Server error")
                self._results = self._session.run(operation)
        except NotUnderstood as problem:
            raise ProgrammingError("sql_world does not understand this T-SQL: %s" % problem) from None
        self._current = 0

    def fetchall(self) -> List[tuple]:
        if self._current >= len(self._results):
            raise ProgrammingError("no result set")
        rows = self._results[self._current][1]
        self._results[self._current] = (self._results[self._current][0], [])
        return list(rows)

    def fetchone(self) -> Optional[tuple]:
        rows = self.fetchall()
        return rows[0] if rows else None

    def nextset(self) -> Optional[bool]:
        if self._current + 1 >= len(self._results):
            self._current = len(self._results)
            return None
        self._current += 1
        return True

    def close(self) -> None:
        pass


# Statements whose errors end only themselves in SQL Server (statement-terminating): RAISERROR
# (severity 11-19), ALTER DATABASE (5011, 5052, 5061, 5070, ...), the extended-property
# procedures (which raise theirs with RAISERROR), BACKUP (3013 "BACKUP ... is terminating
# abnormally", severity 16, after its cause: 3201, 4214, ...) and DROP DATABASE (3701, 3702 "in
# use", severity 16); SET XACT_ABORT does not change that for RAISERROR. The fake stops the batch
# at the others' errors.
STATEMENT_LEVEL_ERRORS = frozenset({"raiserror", "alter_database", "exec_procedure", "backup", "drop_database"})


class _Return(Exception):
    """RETURN: leave the batch."""


class _Session:
    """One connection: its server, current database, settings and temporary tables."""

    def __init__(self, world: World, server: str, kind: str, database: str, autocommit: bool, login: str):
        self.world = world
        self.server = server
        self.kind = kind
        self.database = database
        self.autocommit = autocommit
        self.login = login
        self.lock_timeout_ms = -1
        self.temp_tables: Dict[str, Dict[str, Any]] = {}
        self._depth = 0  # batches running: 1 in a batch, more in its sp_executesql
        self._in_try = 0  # TRY blocks being run: an error there goes to the CATCH block
        self._caught: List[DatabaseError] = []  # the errors CATCH blocks are handling (THROW's)
        self._errors: List[DatabaseError] = []  # the batch's statement-level errors so far

    # -- batches ------------------------------------------------------------------------------

    def run(self, sql: str, database: Optional[str] = None, variables: Optional[Dict[str, Any]] = None) -> List[Tuple[List[str], List[tuple]]]:
        """One batch (or, nested, the dynamic SQL of `sp_executesql`). A statement-level error
        (`STATEMENT_LEVEL_ERRORS`) outside TRY does not stop the batch, as in SQL Server: the rest
        runs, and the batch's first such error reaches the client at its end."""
        results: List[Tuple[List[str], List[tuple]]] = []
        context = _Context(self, database or self.database, variables or {})
        outermost = self._depth == 0
        if outermost:
            self._errors = []
        self._depth += 1
        try:
            statements = parse_batch(sql)
            if self.kind == "SqlDb":  # compiling the batch: no statement runs
                _refuse_other_databases(statements, context.database)
            if not self.has_2017_catalog() and _reads_sequence_column(statements, "last_used_value"):
                raise DatabaseError("Invalid column name 'last_used_value'. (207)")  # compiling the batch: no statement runs
            if not self.has_2012_catalog() and _reads_sequence_column(statements, "group_database_id", ("sys", "databases")):
                raise DatabaseError("Invalid column name 'group_database_id'. (207)")
            for statement in statements:
                self._statement(statement, context, results)
        except _Return:
            pass
        except WorldError as problem:
            raise DatabaseError(str(problem)) from None
        finally:
            self._depth -= 1
        if outermost and self._errors:
            raise self._errors[0]
        return results

    def _statement(self, statement: tuple, context: "_Context", results: list) -> None:
        if statement[0] not in STATEMENT_LEVEL_ERRORS or self._in_try:
            self._execute(statement, context, results)
            return
        try:
            self._execute(statement, context, results)
        except DatabaseError as problem:  # ends this statement only: the batch goes on
            self._errors.append(problem)

    def _execute(self, statement: tuple, context: "_Context", results: list) -> None:
        kind = statement[0]
        if kind == "set_nocount":
            return
        if kind == "set_lock_timeout":
            self.lock_timeout_ms = statement[1]
        elif kind == "if":
            _, condition, then, otherwise = statement
            for inner in then if _truth(context.evaluate(condition, {})) else otherwise:
                self._statement(inner, context, results)
        elif kind == "block":
            for inner in statement[1]:
                self._statement(inner, context, results)
        elif kind == "try":
            self._in_try += 1
            try:
                for inner in statement[1]:
                    self._statement(inner, context, results)
            except (DatabaseError, WorldError) as problem:  # execution errors; NotUnderstood and RETURN go on up
                self._in_try -= 1
                self._caught.append(problem if isinstance(problem, DatabaseError) else DatabaseError(str(problem)))
                try:
                    for inner in statement[2]:
                        self._statement(inner, context, results)
                finally:
                    self._caught.pop()
            else:
                self._in_try -= 1
        elif kind == "throw":  # re-raises the error being handled; outside TRY it ends the batch
            if not self._caught:
                raise NotUnderstood("THROW outside a CATCH block")
            raise self._caught[-1]
        elif kind == "raiserror":
            _, message, severity, _state, arguments = statement
            if severity > 10:
                raise DatabaseError(_raiserror_text(str(context.evaluate(message, {})), [context.evaluate(argument, {}) for argument in arguments]))
        elif kind == "return":
            raise _Return()
        elif kind == "alter_database":
            self._alter_database(*statement[1:])
        elif kind == "backup":
            self._backup(context, *statement[1:])
        elif kind == "drop_database":
            self._drop_database(*statement[1:])
        elif kind == "create_temp":  # in tempdb: its text columns take the server's collation
            _, name, columns = statement
            self.temp_tables[name.lower()] = _new_table(columns, self.collation())
        elif kind == "declare":  # scalar variables, NULL unless given a value
            for name, _type, value in statement[1]:
                context.variables[name] = context.evaluate(value, {})
        elif kind == "declare_table":  # a table variable: the current database's collation
            _, name, columns = statement
            context.table_variables[name] = _new_table(columns, self.collation(context.database))
        elif kind == "insert_values":
            _, name, columns, rows = statement
            table = context.table(name)
            for values in rows:
                _insert(table, columns, [context.evaluate(value, {}) for value in values])
        elif kind == "insert_exec":  # the EXEC's last result set, its columns matched by number as SQL Server does
            _, name, columns, procedure = statement
            table = context.table(name)
            produced: list = []
            self._execute(procedure, context, produced)
            for names, rows in produced[-1:]:
                if len(names) != len(columns):
                    raise DatabaseError("Column name or number of supplied values does not match table definition. (213)")
                for values in rows:
                    _insert(table, columns, values)
        elif kind == "restore_labelonly":
            results.append(self._media_label(str(context.evaluate(statement[1], {}))))
        elif kind == "insert_select":
            _, name, columns, query = statement
            table = context.table(name)
            for values in context.select(query, {})[1]:
                _insert(table, columns, values)
        elif kind == "exec_sql":
            self._exec_sql(context, results, *statement[1:])
        elif kind == "exec_procedure":
            arguments = {name: context.evaluate(value, {}) for name, value in statement[2].items()}
            if statement[3] is not None:  # EXEC [db].sys.sp_...: runs in db, entered as a batch enters it
                self.require_open(statement[3], on_login=False)
                found = self.named_database(statement[3])
                context = _Context(self, found["name"] if found else statement[3], {})
            self._extended_property(context, statement[1], arguments)
        elif kind == "select":
            results.append(context.select(statement[1], {}))
        else:
            raise NotUnderstood("statement %s" % kind)

    # -- statements with side effects ---------------------------------------------------------

    def _alter_database(self, name: str, option: str, termination: Optional[str]) -> None:
        if not self.autocommit:
            raise OperationalError("ALTER DATABASE statement not allowed within multi-statement transaction. (226)")
        if termination not in (None, "ROLLBACK IMMEDIATE"):
            raise NotUnderstood("ALTER DATABASE ... WITH %s" % termination)
        database = self.named_database(name)
        if database is None:
            raise DatabaseError(
                "User does not have permission to alter database '%s', the database does not exist, or the "
                "database is not in a state that allows access checks. (5011)" % name
            )
        if database["state"] != "ONLINE":
            raise DatabaseError("ALTER DATABASE is not permitted while a database is in the %s state. (5052)" % database["state"].title())
        if option in (database.get("refusesAlter") or ()):  # test hook: another connection's lock
            raise DatabaseError("ALTER DATABASE failed because a lock could not be placed on database '%s'. Try again later. (5061)" % name)
        if option in REFUSED_IN_PARTNERSHIPS and (database.get("availabilityGroup") or database.get("mirroringRole")):
            raise DatabaseError(
                "The operation cannot be performed on database \"%s\" because it is involved in a database mirroring "
                "session or an availability group. Some operations are not allowed on a database that is participating "
                "in a database mirroring session or in an availability group. (1468)" % name)
        if option in ("READ_ONLY", "READ_WRITE"):
            self.world.update_database(self.server, name, readOnly=option == "READ_ONLY")
        elif option in ACCESS_OPTIONS:  # WITH ROLLBACK IMMEDIATE closes a single user's connection
            self.world.update_database(self.server, name, userAccess=option, singleUserHolder=None)
        else:
            raise NotUnderstood("ALTER DATABASE ... SET %s" % option)

    def _backup(self, context: "_Context", kind: str, name: str, path: Any, options: List[str], valued: Dict[str, Any]) -> None:
        if not self.autocommit:
            raise OperationalError("Cannot perform a backup or restore operation within a transaction. (3021)")
        unknown = sorted((set(options) - BACKUP_OPTIONS) | (set(valued) - BACKUP_VALUED_OPTIONS))
        if unknown:
            raise NotUnderstood("BACKUP ... WITH %s" % ", ".join(unknown))
        if self.named_database(name) is None:
            raise DatabaseError("Database '%s' does not exist. Make sure that the name is entered correctly. (911)" % name)
        retain = valued.get("RETAINDAYS")
        try:
            self.world.take_backup(self.server, name, "LOG" if kind == "LOG" else "FULL", str(context.evaluate(path, {})),
                                   checksum="CHECKSUM" in options, init=bool({"INIT", "FORMAT"} & set(options)),
                                   skip="FORMAT" in options,
                                   retain_days=None if retain is None else int(context.evaluate(retain, {})))
        except WorldError as problem:
            raise DatabaseError("BACKUP %s is terminating abnormally: %s (3013)" % (kind, problem)) from None

    def _media_label(self, path: str) -> Tuple[List[str], List[tuple]]:
        """RESTORE LABELONLY FROM DISK = path: the media label of the backup in the share's file (the file is there
        whether or not msdb still records its backup), one row. It needs CREATE DATABASE permission (SQL Server 2008
        on); no file is error 3201 (Operating system error 2). A CATCH block sees SQL Server's last error, 3013."""
        if not self.has_permission("master", "DATABASE", "CREATE DATABASE"):
            raise DatabaseError("CREATE DATABASE permission denied in database 'master'. RESTORE LABELONLY is terminating abnormally. (3013)")
        found = [b for b in self.world.backups(self.server) if _same_path(b["path"], path)]
        if not found:
            raise DatabaseError("Cannot open backup device '%s'. Operating system error 2(The system cannot find the file "
                                "specified.). RESTORE LABELONLY is terminating abnormally. (3013)" % path)
        backup = found[-1]
        media = str(uuid.uuid5(uuid.NAMESPACE_URL, "%s/%s/%d" % (self.world.directory, backup["path"], backup["sequence"]))).upper()
        written = datetime.strptime(backup["createdAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
        return list(MEDIA_LABEL_COLUMNS), [(None, media, 1, 1, media, 1, 0, None, "Microsoft SQL Server", 4608, written, 1, False)]

    def _drop_database(self, name: str, if_exists: bool) -> None:
        if not self.autocommit:
            raise OperationalError("DROP DATABASE statement cannot be used inside a user transaction. (574)")
        if _is_system_database(name):
            raise DatabaseError("Cannot drop the database '%s' because it is a system database. (3708)" % name)
        found = self.named_database(name)
        if found is None:
            if not if_exists:
                raise DatabaseError("Cannot drop the database '%s', because it does not exist or you do not have permission. (3701)" % name)
            return
        if found.get("singleUserHolder") or sql_name_key(self.database) == sql_name_key(found["name"]):  # another connection's, or this one's
            raise DatabaseError("Cannot drop database \"%s\" because it is currently in use. (3702)" % found["name"])
        self.world.drop_database(self.server, found["name"])

    def _exec_sql(self, context: "_Context", results: list, database: Optional[str], statement: Any,
                  declaration: Any, arguments: Dict[str, Any]) -> None:
        target = database or context.database
        self.require_open(target, on_login=False)
        text = str(context.evaluate(statement, {}))
        values = {name: context.evaluate(value, {}) for name, value in arguments.items()}
        if _is_fingerprint_loop(text):
            declared = str(context.evaluate(declaration, {})) if declaration is not None else ""
            missing = [p for p in ("@all_tables", "@with_checksum", "@exclude_rowversion") if p not in declared.lower() or p not in values]
            if missing:
                raise NotUnderstood("the fingerprint loop without its parameter(s) %s" % ", ".join(missing))
            if not self.has_2017_catalog() and any(token.kind in ("word", "ident") and token.value.lower() == "graph_type"
                                                   for token in tokenize(text)):  # its own text, not a string it builds
                raise DatabaseError("Invalid column name 'graph_type'. (207)")
            # What precedes the cursor (the tables to fingerprint, the rows of missing ones) runs as
            # T-SQL in `target`; the cursor's loop over its table variable is simulated.
            inner = _Context(self, target, values)
            for inner_statement in parse_until_cursor(text):
                self._statement(inner_statement, inner, results)
            cursor_table = re.search(_CURSOR_TABLE, re.sub(r"\s+", " ", text.lower())).group(1)
            if cursor_table not in inner.table_variables:
                raise NotUnderstood("a fingerprint loop whose cursor reads %s, which it does not fill first" % cursor_table)
            chosen = [(row["schema_name"], row["table_name"]) for row in inner.table_variables[cursor_table]["rows"]]
            normalised = re.sub(r"\s+", " ", text.lower())
            self._fingerprint_tables(target, values, chosen, refuses_masks=bool(re.search(_REFUSES_MASKS, normalised)),
                                     skips_internal_graph_columns=bool(re.search(_SKIPS_INTERNAL_GRAPH_COLUMNS, normalised)),
                                     case_folded_order=bool(re.search(_ORDERS_COLUMNS_CASE_FOLDED, normalised)))
            return
        results.extend(self.run(text, target, values))

    def require_open(self, database: str, on_login: bool = True) -> None:
        """The database may be entered: at login (`on_login`: the connection's database) or by a batch (`EXEC
        [db].sys.sp_executesql`), each with SQL Server's message where it does not exist (4060, 911)."""
        if _is_system_database(database):
            return
        found = self.named_database(database)
        if found is None and not on_login:
            raise DatabaseError("Database '%s' does not exist. Make sure that the name is entered correctly. (911)" % database)
        if found is None:
            raise OperationalError("Cannot open database \"%s\" requested by the login. The login failed. (4060)" % database)
        if found["state"] == "OFFLINE":  # message 942, severity 14
            raise DatabaseError("Database '%s' cannot be opened because it is offline. (942)" % database)
        if found["state"] != "ONLINE":
            raise DatabaseError("Database '%s' cannot be opened. It is in the middle of a restore. (927)" % database)
        if found["userAccess"] == "SINGLE_USER" and found.get("singleUserHolder"):
            raise DatabaseError("Database '%s' is already open and can only have one user at a time. (924)" % found["name"])

    def named_database(self, name: str) -> Optional[Dict[str, Any]]:
        """The database a statement names: database names compare in the server's collation (master's), so on a
        server with a case-sensitive one `[sales]` is not Sales (the world keeps names case-insensitively)."""
        found = self.world.database(self.server, name)
        if found is not None and _is_case_sensitive(self.collation()) and found["name"].rstrip(" ") != name.rstrip(" "):
            return None
        return found

    def _extended_property(self, context: "_Context", procedure: str, arguments: Dict[str, Any]) -> None:
        """sp_addextendedproperty / sp_dropextendedproperty on the current database itself."""
        allowed = {"@name", "@value"} if procedure == "sp_addextendedproperty" else {"@name"}
        if set(arguments) - allowed or "@name" not in arguments:
            raise NotUnderstood("%s with %s (only the database's own properties, by @name)" % (procedure, ", ".join(sorted(arguments))))
        database = context.database
        if _is_system_database(database):
            raise NotUnderstood("%s in %s" % (procedure, database))
        found = self.world.database(self.server, database)
        if not self.has_permission(database, "DATABASE", "ALTER"):
            raise DatabaseError("Cannot find the object '%s', because it does not exist or you do not have permission. (15151)" % database)
        if found["readOnly"]:
            raise DatabaseError("Failed to update database \"%s\" because the database is read-only. (3906)" % found["name"])
        properties = dict(found.get("extendedProperties") or {})
        name = str(arguments["@name"])
        if procedure == "sp_addextendedproperty":
            if name in properties:
                raise DatabaseError("Property cannot be added. Property '%s' already exists for '%s'. (15233)" % (name, found["name"]))
            properties[name] = arguments.get("@value")
        elif name not in properties:
            raise DatabaseError("Property cannot be updated or deleted. Property '%s' does not exist for '%s'. (15217)" % (name, found["name"]))
        else:
            del properties[name]
        self.world.update_database(self.server, database, extendedProperties=properties)

    def collation(self, database: Optional[str] = None) -> str:
        """The server's collation (tempdb's, master's), or a database's (`world.World.collation`)."""
        return self.world.collation(self.server, database)

    def error_message(self) -> Optional[str]:
        return str(self._caught[-1]) if self._caught else None

    def error_number(self) -> Optional[int]:
        """The number this fake's messages end with, `(924)`; NULL outside a CATCH block."""
        number = re.search(r"\((\d+)\)\s*$", self.error_message() or "")
        return int(number.group(1)) if number else None

    def _temp_table(self, name: str) -> Dict[str, Any]:
        table = self.temp_tables.get(name.lower())
        if table is None:
            raise DatabaseError("Invalid object name '%s'. (208)" % name)
        return table

    # -- the fingerprint loop -------------------------------------------------------------------

    def _fingerprint_tables(self, database: str, values: Dict[str, Any], chosen: List[Tuple[str, str]], refuses_masks: bool,
                            skips_internal_graph_columns: bool, case_folded_order: bool) -> None:
        """The cursor's loop: a row in #fingerprints for each (schema, table) the batch chose (names as
        its catalog has them). A login without UNMASK reads masked columns as their masks; `refuses_masks`:
        the loop raises its @masked_columns for such a table instead, where it hashes rows. A graph table's internal
        columns cannot be read (13908) unless the loop leaves them out (`skips_internal_graph_columns`). Columns are
        hashed in binary name order, or (`case_folded_order`) by their upper-cased names first."""
        output = self._temp_table("#fingerprints")
        tables = {table_key_parts(key): content for key, content in self.world.database(self.server, database)["tables"].items()}
        unmasked = bool(self.has_permission(database, "DATABASE", "UNMASK"))
        for schema, table in sorted(set(chosen)):
            content = tables[(schema, table)]
            if content.get("locked") and self.lock_timeout_ms >= 0:
                output["rows"].append(_fingerprint_row(schema, table, error="Lock request time out period exceeded.", elapsed_ms=self.lock_timeout_ms))
                continue
            if content.get("external") == "unreachable":
                output["rows"].append(_fingerprint_row(schema, table, error=EXTERNAL_SOURCE_UNREACHABLE, elapsed_ms=0))
                continue
            internal = [column["name"] for column in content["columns"] if column.get("graph") == "internal"]
            if internal and not skips_internal_graph_columns and _truth(values["@with_checksum"]):
                output["rows"].append(_fingerprint_row(schema, table, error="Cannot access internal graph column '%s'. (13908)" % internal[0],
                                                       elapsed_ms=0))
                continue
            masked = [] if unmasked else sorted(column["name"] for column in content["columns"] if column.get("masked"))
            if masked and refuses_masks and _truth(values["@with_checksum"]):
                names = ", ".join("[%s]" % name.replace("]", "]]") for name in masked)  # QUOTENAME's
                output["rows"].append(_fingerprint_row(schema, table, error=_raiserror_text(str(values["@masked_columns"]), [names]), elapsed_ms=0))
                continue
            checksum = None
            if _truth(values["@with_checksum"]):
                checksum = str(_table_checksum(_as_read(content, masked), exclude_rowversion=_truth(values["@exclude_rowversion"]),
                                               case_folded_order=case_folded_order))
            output["rows"].append(_fingerprint_row(schema, table, row_count=len(content["rows"]), checksum=checksum, elapsed_ms=0))

    # -- catalog views ----------------------------------------------------------------------------

    def relation(self, name: Tuple[str, ...], database: str) -> List[Dict[str, Any]]:
        parts = tuple(part.lower() for part in name)
        if parts in (("sys", "databases"), ("master", "sys", "databases")):
            return self._server_databases(database) if self.kind != "SqlDb" else self._logical_server_databases(database)
        if parts == ("sys", "database_recovery_status"):
            return self._recovery_status()
        if parts in (("sys", "database_mirroring"), ("master", "sys", "database_mirroring")):
            return self._mirroring()
        if parts in (("msdb", "dbo", "backupset"), ("msdb", "dbo", "backupmediafamily")):
            self._require_msdb_select(parts[-1])
            return self._backup_history(media=parts[-1] == "backupmediafamily")
        if parts in (("sys", "tables"), ("sys", "schemas")):
            return self._tables(database, schemas=parts[-1] == "schemas")
        if parts == ("sys", "masked_columns"):
            return self._masked_columns(database)
        if parts == ("sys", "sequences"):
            return self._sequences(database)
        if parts == ("sys", "database_principals"):
            return [{"principal_id": number, "name": name} for name, number in self._principals(database, visible=True).items()]
        if parts == ("sys", "database_permissions"):
            return self._denials(database)
        if parts == ("sys", "extended_properties"):
            return self._extended_properties(database)
        if parts == ("sys", "dm_database_encryption_keys"):
            self._require_server_state()
            return self._encryption_keys()
        if parts in (("sys", "certificates"), ("master", "sys", "certificates"), ("sys", "asymmetric_keys"), ("master", "sys", "asymmetric_keys")):
            in_master = len(parts) == 3 or database.lower() == "master"
            visible = in_master and self.has_permission(None, None, "VIEW ANY DEFINITION")
            return self._server_keys(certificates=parts[-1] == "certificates") if visible else []
        if parts == ("sys", "master_files"):
            return self._master_files() if self._sees_every_file() else []
        if parts == ("sys", "dm_os_enumerate_fixed_drives"):
            self._require_server_state()
            return self._fixed_drives()
        if parts == ("sys", "server_resource_stats"):
            rows = self._server_resource_stats()
            self._require_server_state()
            return rows
        if len(parts) == 1 and parts[0].startswith("#"):
            return [dict(row) for row in self._temp_table(parts[0])["rows"]]
        raise NotUnderstood("the table or view %s" % ".".join(name))

    def _databases(self) -> List[Dict[str, Any]]:
        rows = [
            {"name": name, "database_id": index + 1, "state_desc": "ONLINE", "recovery_model_desc": "SIMPLE",
             "is_read_only": False, "user_access_desc": "MULTI_USER", "group_database_id": None}
            for index, name in enumerate(SYSTEM_DATABASES)
        ]
        for index, database in enumerate(self.world.databases(self.server, tables=False)):
            group = database.get("availabilityGroup")
            rows.append(
                {"name": database["name"], "database_id": index + 5, "state_desc": database["state"],
                 "recovery_model_desc": database["recoveryModel"], "is_read_only": database["readOnly"],
                 "user_access_desc": database["userAccess"],
                 "group_database_id": None if not group else str(uuid.uuid5(uuid.NAMESPACE_URL, "ag:%s/%s" % (group, database["name"]))).upper()}
            )
        return rows

    def _server_databases(self, database: str) -> List[Dict[str, Any]]:
        """sys.databases on SQL Server and a managed instance: every database, but to a login that may not see every row
        (`_sees_every_database`: its public role's VIEW ANY DATABASE revoked) only master, tempdb and the current one."""
        if self._sees_every_database():
            return self._databases()
        shown = {"master", "tempdb", sql_name_key(database)} | self._owned_databases()
        return [row for row in self._databases() if sql_name_key(row["name"]) in shown]

    def _logical_server_databases(self, database: str) -> List[Dict[str, Any]]:
        """sys.databases on Azure SQL Database: in master, master and every database of the logical server; in a user
        database, master and that database only (Microsoft, sys.databases: "In Azure SQL Database, this view is
        available in the master database and in user databases... in a user database it returns a row for master
        and the current database"). msdb, model and tempdb are not listed there. A database other than master and the
        current one only to a login that may see every row (`_sees_every_database`)."""
        current = sql_name_key(database)
        sees_all = self._sees_every_database()
        owned = self._owned_databases() if current == "master" else set()
        return [row for row in self._databases()
                if sql_name_key(row["name"]) in ({"master", current} | owned) or (
                    not _is_system_database(row["name"]) and current == "master" and sees_all)]

    def _owned_databases(self) -> Set[str]:
        """The databases (keys) whose `owner` in the world is the session's login: "If the caller of sys.databases isn't
        the owner of the database..." (Microsoft, sys.databases, Permissions), so their rows show it whatever it holds."""
        login = sql_name_key(self.login or "")
        return {sql_name_key(d["name"]) for d in self.world.databases(self.server, tables=False)
                if d.get("owner") is not None and sql_name_key(d["owner"]) == login}

    def _sees_every_database(self) -> bool:
        """Microsoft, sys.databases, Permissions: "If the caller of sys.databases isn't the owner of the database and
        the database isn't master or tempdb, the minimum permissions required to see the corresponding row are ALTER
        ANY DATABASE or the VIEW ANY DATABASE server-level permission, or CREATE DATABASE permission in the master
        database. The database to which the caller is connected can always be viewed". On SqlDb a login gets
        server-level permissions through the ##MS_ server roles alone (##MS_DefinitionReader##: VIEW ANY DATABASE;
        ##MS_DatabaseManager##: CREATE and ALTER ANY DATABASE; "Azure SQL Database server roles"), so a login listed
        here with none of them, a user of master or db_owner of the target, sees only master and its connection's
        database. SQL Server grants VIEW ANY DATABASE to public by default: there every login sees every row, unless
        the world revoked it from public (`publicLacksViewAnyDatabase`). A login sees the rows of the databases it owns
        besides (`_owned_databases`: a database's `owner`; absent, the server's admin, a login not listed, which sees
        every row)."""
        held = self.world.login(self.server, self.login)
        if held is None or self.world.public_views_any_database(self.server):
            return True
        return bool({"CONTROL SERVER", "VIEW ANY DATABASE", "ALTER ANY DATABASE", "CREATE ANY DATABASE"}
                    & set(held["serverPermissions"])) or "CREATE DATABASE" in held["databasePermissions"].get("master", [])

    def _mirroring(self) -> List[Dict[str, Any]]:
        """sys.database_mirroring: a row per database, its mirroring_ columns NULL where it is not mirrored or not
        ONLINE (a mirror, RESTORING, included); a database other than master and tempdb shown only to a login with VIEW ANY DATABASE or ALTER ANY
        DATABASE (Microsoft's page of the view; database owners and CREATE DATABASE are not modelled)."""
        sees_all = self.has_permission(None, None, "VIEW ANY DATABASE") or self.has_permission(None, None, "ALTER ANY DATABASE")
        rows = []
        for row, database in [(row, self.world.database(self.server, row["name"])) for row in self._databases()]:
            if not sees_all and row["name"] not in ("master", "tempdb"):
                continue
            role = (database or {}).get("mirroringRole") if row["state_desc"] == "ONLINE" else None
            rows.append({"database_id": row["database_id"], "mirroring_role_desc": role,
                         "mirroring_guid": None if role is None else str(uuid.uuid5(uuid.NAMESPACE_URL, "mirroring:%s" % row["name"])).upper()})
        return rows

    def _extended_properties(self, database: str) -> List[Dict[str, Any]]:
        """The database's own properties (class 0), for a login that may see its metadata."""
        if _is_system_database(database) or not self.has_permission(database, "DATABASE", "VIEW DEFINITION"):
            return []
        properties = self.world.database(self.server, database).get("extendedProperties") or {}
        return [{"class": 0, "class_desc": "DATABASE", "major_id": 0, "minor_id": 0, "name": name, "value": value}
                for name, value in sorted(properties.items())]

    def _recovery_status(self) -> List[Dict[str, Any]]:
        """`last_log_backup_lsn`: where the next log backup starts; NULL when no log backup can be
        taken (SIMPLE recovery, or no full backup since the log chain began or broke). `database_guid`:
        the database's own (`world.database_guid`); NULL where it is not ONLINE (Microsoft: "Database is
        offline, or the database will not start")."""
        rows = [{"database_id": index + 1, "last_log_backup_lsn": None,
                 "database_guid": database_guid(self.server, {"name": name})} for index, name in enumerate(SYSTEM_DATABASES)]
        for index, database in enumerate(self.world.databases(self.server, tables=False)):
            chained = database["recoveryModel"] != "SIMPLE" and database["logBackupLsn"] is not None
            rows.append({"database_id": index + 5, "last_log_backup_lsn": database["logBackupLsn"] if chained else None,
                         "database_guid": database_guid(self.server, database) if database["state"] == "ONLINE" else None})
        return rows

    def _backup_history(self, media: bool) -> List[Dict[str, Any]]:
        rows = []
        for backup in self.world.backups(self.server):
            if backup.get("historyPurged"):  # msdb forgot it (`World.purge_backup_history`); its file is still there
                continue
            if media:
                rows.append({"media_set_id": backup["sequence"], "physical_device_name": backup["path"], "family_sequence_number": 1})
            else:
                rows.append(
                    {"backup_set_id": backup["sequence"], "media_set_id": backup["sequence"],
                     "backup_set_uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, "%s/%s/%d" % (self.world.directory, backup["path"], backup["sequence"]))).upper(),
                     "database_name": backup["database"], "type": "L" if backup["type"] == "LOG" else "D",
                     "database_guid": backup.get("databaseGuid") or database_guid(self.server, {"name": backup["database"]}),
                     "first_lsn": backup["firstLsn"], "last_lsn": backup["lastLsn"], "is_copy_only": False,
                     "has_backup_checksums": backup.get("checksum", True),
                     "backup_finish_date": datetime.strptime(backup["createdAt"], "%Y-%m-%dT%H:%M:%S.%fZ")}
                )
        return rows

    def _encryption_keys(self) -> List[Dict[str, Any]]:
        """A database with a database encryption key (TDE); encryption_state 3: encrypted."""
        return [
            {"database_id": self.database_id(d["name"]), "encryptor_thumbprint": _binary(d["encryptorThumbprint"]),
             "encryption_state": 3}
            for d in self.world.databases(self.server, tables=False) if d.get("encryptorThumbprint")
        ]

    def _server_keys(self, certificates: bool) -> List[Dict[str, Any]]:
        rows = []
        for key in self.world.server_keys(self.server):
            if certificates and key["kind"] == "certificate":
                rows.append({"thumbprint": _binary(key["thumbprint"]), "pvt_key_encryption_type": "MK" if key["privateKey"] else "NA"})
            elif not certificates and key["kind"] == "asymmetricKey":
                rows.append({"thumbprint": _binary(key["thumbprint"])})
        return rows

    def table_function(self, name: Tuple[str, ...], arguments: List[Any]) -> List[Dict[str, Any]]:
        """A table-valued function's rows (CROSS APPLY)."""
        parts = tuple(part.lower() for part in name)
        if parts == ("sys", "dm_os_volume_stats") and len(arguments) == 2:
            self._require_server_state()
            return self._volume_stats(*arguments)
        if parts == ("sys", "dm_db_log_stats") and len(arguments) == 1:
            return self._log_stats(arguments[0])
        raise NotUnderstood("the table-valued function %s" % ".".join(name))

    def _log_stats(self, database_id: Any) -> List[Dict[str, Any]]:
        """sys.dm_db_log_stats: from SQL Server 2016 (major version 13; its SP2 is not modelled) and on a managed
        instance; VIEW SERVER STATE. `log_end_lsn` is the world's `lsn` (the end of the database's log), in the
        log's hex form VLF:block:slot for the numeric msdb form VLF * 10^15 + block * 10^5 + slot."""
        if self.kind in SQL_SERVER_KINDS and int(self.server_property("ProductMajorVersion") or 0) < LOG_STATS_SINCE_MAJOR_VERSION:
            raise DatabaseError("Invalid object name 'sys.dm_db_log_stats'. (208)")
        self._require_server_state()
        for database in self.world.databases(self.server, tables=False):
            if self.database_id(database["name"]) == database_id:
                lsn = int(database["lsn"])
                text = "%08X:%08X:%04X" % (lsn // 10 ** 15, lsn // 10 ** 5 % 10 ** 10, lsn % 10 ** 5)
                return [{"database_id": database_id, "recovery_model": database["recoveryModel"], "log_end_lsn": text}]
        return []

    def _master_files(self) -> List[Dict[str, Any]]:
        """A data file (file_id 1) and a log file (file_id 2) per database, in the default paths."""
        defaults = self.world.default_paths(self.server) if self.kind in SQL_SERVER_KINDS else {"data": "", "log": ""}
        rows = []
        for d in self.world.databases(self.server, tables=False):
            paths = {kind: d.get(kind + "Path", defaults[kind]) for kind in ("data", "log")}
            paths = {kind: UNREPORTED_PATH if path is None else path for kind, path in paths.items()}
            log_mb = log_size_mb(d)
            data_mb = d.get("sizeMb", DEFAULT_DATABASE_SIZE_MB) - log_mb
            database_id = self.database_id(d["name"])
            rows.append({"database_id": database_id, "file_id": 1, "type": 0, "size": data_mb * PAGES_PER_MB,
                         "physical_name": "%s%s.mdf" % (paths["data"], d["name"])})
            rows.append({"database_id": database_id, "file_id": 2, "type": 1, "size": log_mb * PAGES_PER_MB,
                         "physical_name": "%s%s_log.ldf" % (paths["log"], d["name"])})
        return rows

    def _volume_stats(self, database_id: Any, file_id: Any) -> List[Dict[str, Any]]:
        """The volume holding that file, as sys.dm_os_volume_stats reports it (SQL Server only)."""
        if self.kind not in SQL_SERVER_KINDS:
            raise NotUnderstood("sys.dm_os_volume_stats on a %s" % self.kind)
        files = [f for f in self._master_files() if f["database_id"] == database_id and f["file_id"] == file_id]
        if not files:
            return []
        volume = self._volume_of(files[0]["physical_name"])
        return [{"database_id": database_id, "file_id": file_id, "volume_mount_point": volume["root"],
                 "total_bytes": volume["sizeMb"] * BYTES_PER_MB, "available_bytes": self._available_mb(volume) * BYTES_PER_MB}]

    def _fixed_drives(self) -> List[Dict[str, Any]]:
        """The volumes mounted to a drive letter (C:\\), from SQL Server 2017 on."""
        if self.kind not in SQL_SERVER_KINDS:
            raise NotUnderstood("sys.dm_os_enumerate_fixed_drives on a %s" % self.kind)
        if int(self.server_property("ProductMajorVersion")) < FIXED_DRIVES_SINCE_MAJOR_VERSION:
            raise DatabaseError("Invalid object name 'sys.dm_os_enumerate_fixed_drives'. (208)")
        return [
            {"fixed_drive_path": volume["root"], "drive_type": 3, "drive_type_desc": "DRIVE_FIXED",
             "free_space_in_bytes": self._available_mb(volume) * BYTES_PER_MB}
            for volume in self.world.volumes(self.server) if re.match(r"^[A-Za-z]:\\$", volume["root"])
        ]

    def _volume_of(self, path: str) -> Dict[str, Any]:
        holding = [v for v in self.world.volumes(self.server) if path.lower().startswith(v["root"].lower())]
        if not holding:
            raise DatabaseError("the world has no volume holding %s: give the server one (World.set_volume)" % path)
        return max(holding, key=lambda v: len(v["root"]))

    def _available_mb(self, volume: Dict[str, Any]) -> int:
        on_it = sum(f["size"] for f in self._master_files() if self._volume_of(f["physical_name"])["root"] == volume["root"])
        return volume["sizeMb"] - volume.get("otherFilesMb", 0) - on_it // PAGES_PER_MB

    def _server_resource_stats(self) -> List[Dict[str, Any]]:
        if self.kind != "SqlMi":
            raise DatabaseError("Invalid object name 'sys.server_resource_stats'. (208)")
        used = self.world.reported_storage_used_mb(self.server)
        if used is None:
            used = sum(d.get("sizeMb", DEFAULT_DATABASE_SIZE_MB) for d in self.world.databases(self.server, tables=False)) + SYSTEM_DATABASES_MB
        return [{"start_time": datetime.now(), "reserved_storage_mb": self.world.reserved_storage_mb(self.server),
                 "storage_space_used_mb": float(used)}]

    def _sees_every_file(self) -> bool:
        """sys.master_files shows a row only to a login with CREATE DATABASE, ALTER ANY DATABASE or VIEW
        ANY DEFINITION (CREATE ANY DATABASE holds CREATE DATABASE in master)."""
        return any(self.has_permission(None, None, permission) for permission in ("CREATE ANY DATABASE", "ALTER ANY DATABASE", "VIEW ANY DEFINITION"))

    def _require_msdb_select(self, table: str) -> None:
        """A login given permissions in msdb without SELECT there (a DENY SELECT) may not read its tables
        (message 229); the world lets any other login read them."""
        held = self.world.login(self.server, self.login)
        if held is None or "CONTROL SERVER" in held["serverPermissions"] or "msdb" not in held["databasePermissions"]:
            return
        if not {"SELECT", "CONTROL"} & set(held["databasePermissions"]["msdb"]):
            raise DatabaseError("The SELECT permission was denied on the object '%s', database 'msdb', schema 'dbo'. (229)" % table)

    def _require_server_state(self) -> None:
        """Server-scoped dynamic management views need VIEW SERVER STATE (SQL Server's messages 300, 297)."""
        if not self.has_permission(None, None, "VIEW SERVER STATE"):
            raise DatabaseError(
                "VIEW SERVER STATE permission was denied on object 'server', database 'master'. (300) "
                "The user does not have permission to perform this action. (297)"
            )

    def has_permission(self, securable: Optional[str], securable_class: Optional[str], permission: str) -> Optional[int]:
        """HAS_PERMS_BY_NAME for the server (NULL, NULL) and a database (name, 'DATABASE')."""
        held = self.world.login(self.server, self.login)
        if held is None or "CONTROL SERVER" in held["serverPermissions"]:
            return 1
        wanted = permission.upper()
        if securable is None and securable_class is None:  # public's VIEW ANY DATABASE counts (`public_views_any_database`)
            return int(wanted in held["serverPermissions"]
                       or (wanted == "VIEW ANY DATABASE" and self.world.public_views_any_database(self.server)))
        if (securable_class or "").upper() == "DATABASE" and securable is not None:
            granted = held["databasePermissions"].get(sql_name_key(securable), [])
            implied = DATABASE_PERMISSIONS_FROM_SERVER.get(wanted)
            return int(wanted in granted or "CONTROL" in granted or implied in held["serverPermissions"]
                       or DATABASE_PERMISSIONS_IMPLIED_BY.get(wanted) in granted)
        raise NotUnderstood("HAS_PERMS_BY_NAME on a securable of class %s" % securable_class)

    def has_database_access(self, database: str) -> Optional[int]:
        """Microsoft: "HAS_DBACCESS returns 0 if the database is in single-user mode and the database is in use by
        another user" (a SINGLE_USER database another connection holds, its `singleUserHolder`)."""
        if self.database_id(database) is None:
            return None
        found = self.named_database(database)
        if found is not None and found["userAccess"] == "SINGLE_USER" and found.get("singleUserHolder"):
            return 0
        held = self.world.login(self.server, self.login)
        if held is None or "CONTROL SERVER" in held["serverPermissions"] or _is_system_database(database):
            return 1
        return int(sql_name_key(database) in held["databasePermissions"])

    def _tables(self, database: str, schemas: bool) -> List[Dict[str, Any]]:
        """The database's tables the login may see (metadata visibility), and their schemas."""
        if _is_system_database(database):
            return []
        object_ids, schema_ids = self._object_ids(database)
        contents = self.world.database(self.server, database)["tables"]
        names = sorted((table_key_parts(key), key) for key in contents if self._sees_table(database, key))
        if schemas:
            return [{"schema_id": schema_ids[schema], "name": schema} for schema in sorted({schema for (schema, _), _ in names})]
        return [
            {"object_id": object_ids[(schema, table)], "name": table, "schema_id": schema_ids[schema], "is_ms_shipped": False,
             "type": "ET" if contents[key].get("external") else "U"}
            for (schema, table), key in names
        ]

    def _masked_columns(self, database: str) -> List[Dict[str, Any]]:
        """sys.masked_columns: the columns with `"masked": true` of the tables the login may see (from SQL Server 2016,
        major version 13, on; earlier: "Invalid object name", message 208; Azure SQL has it whatever version it reports)."""
        if self.kind in SQL_SERVER_KINDS and int(self.server_property("ProductMajorVersion")) < 13:
            raise DatabaseError("Invalid object name 'sys.masked_columns'. (208)")
        if _is_system_database(database):
            return []
        object_ids, _ = self._object_ids(database)
        tables = self.world.database(self.server, database)["tables"]
        return [{"object_id": object_ids[table_key_parts(key)], "name": column["name"], "is_masked": 1}
                for key in sorted(tables) if self._sees_table(database, key)
                for column in tables[key]["columns"] if column.get("masked")]

    def _sequences(self, database: str) -> List[Dict[str, Any]]:
        """sys.sequences (SQL Server 2012 on): the database's `sequences`, shown (metadata visibility) to a login
        holding VIEW DEFINITION on the database or a database permission implying one on each
        (`SEQUENCE_VISIBLE_THROUGH`), to a sysadmin; a login holding only SELECT there sees none."""
        if self.kind in SQL_SERVER_KINDS and int(self.server_property("ProductMajorVersion") or 0) < 11:
            raise DatabaseError("Invalid object name 'sys.sequences'. (208)")
        if _is_system_database(database):
            return []
        held = self.world.login(self.server, self.login)
        granted = set() if held is None else set(held["databasePermissions"].get(sql_name_key(database), []))
        if held is not None and not self.has_permission(database, "DATABASE", "VIEW DEFINITION") and not (
                granted & SEQUENCE_VISIBLE_THROUGH):
            return []
        _, schema_ids = self._object_ids(database)
        sequences = self.world.database(self.server, database).get("sequences") or {}
        rows = [{"schema_id": schema_ids[table_key_parts(key)[0]], "name": table_key_parts(key)[1],
                 "current_value": found["currentValue"], "increment": found["increment"],
                 "last_used_value": found.get("lastUsedValue", found["currentValue"])}
                for key, found in sorted(sequences.items())]
        if not self.has_2017_catalog():
            for row in rows:
                del row["last_used_value"]
        return rows

    def has_2012_catalog(self) -> bool:
        """sys.databases.group_database_id came with SQL Server 2012 (major version 11), as did availability groups."""
        return self.kind not in SQL_SERVER_KINDS or int(self.server_property("ProductMajorVersion") or 0) >= 11

    def has_2017_catalog(self) -> bool:
        """sys.sequences.last_used_value and sys.columns.graph_type came with SQL Server 2017 (major version 14);
        Azure SQL has them."""
        return self.kind not in SQL_SERVER_KINDS or int(self.server_property("ProductMajorVersion") or 0) >= 14

    def _object_ids(self, database: str) -> Tuple[Dict[Tuple[str, str], int], Dict[str, int]]:
        """The object_id of each table and the schema_id of each schema (of its tables and sequences) of the
        database, whoever asks."""
        if _is_system_database(database):
            return {}, {}
        found = self.world.database(self.server, database)
        names = sorted(table_key_parts(key) for key in found["tables"])
        sequences = found.get("sequences") or {}
        schemas = sorted({schema for schema, _ in names} | {table_key_parts(key)[0] for key in sequences})
        return ({name: index + 1000 for index, name in enumerate(names)},
                {schema: index + 1 for index, schema in enumerate(schemas)})

    def _principals(self, database: str, visible: bool) -> Dict[str, int]:
        """Database principals (name: principal_id): public (0), dbo (1), the login's user (named as the login)
        and the roles its `databaseRoles` and `denials` name. `visible`: those sys.database_principals shows
        it ("Any user can see their own user name, the system users, and the fixed database roles ... To see
        user-defined roles, requires ALTER ANY ROLE, or membership in the role"; all with VIEW DEFINITION)."""
        held = self.world.login(self.server, self.login) or {}
        key = sql_name_key(database)
        roles = held.get("databaseRoles", {}).get(key, [])
        named = {denial["to"] for denial in held.get("denials", {}).get(key, [])}
        own = {"public": 0, "dbo": 1}
        if held:
            own[self.login] = 5
        others = sorted(name for name in set(roles) | named if sql_name_key(name) not in {sql_name_key(n) for n in own})
        every = {**own, **{name: 100 + index for index, name in enumerate(others)}}
        if not visible or self.has_permission(database, "DATABASE", "VIEW DEFINITION"):
            return every
        members = {sql_name_key(role) for role in roles}
        return {name: number for name, number in every.items() if name in own or sql_name_key(name) in members}

    def is_role_member(self, database: str, role: str) -> Optional[int]:
        """IS_ROLEMEMBER(role) of the current user: NULL for a role it cannot see (or none of that name)."""
        held = self.world.login(self.server, self.login)
        if sql_name_key(role) == "public":
            return 1
        if held is None:  # dbo: a member of db_owner only, in this fake
            return int(sql_name_key(role) == "db_owner")
        visible = {sql_name_key(name) for name in self._principals(database, visible=True)} - {"dbo", sql_name_key(self.login)}
        if sql_name_key(role) not in visible:
            return None
        return int(sql_name_key(role) in {sql_name_key(r) for r in held.get("databaseRoles", {}).get(sql_name_key(database), [])})

    def database_principal_id(self, database: str) -> int:
        """DATABASE_PRINCIPAL_ID(): dbo (1) for a sysadmin (a login not listed), else the login's user."""
        return 1 if self.world.login(self.server, self.login) is None else 5

    def _denials(self, database: str) -> List[Dict[str, Any]]:
        """sys.database_permissions: the DENY rows (`denials`) on tables (class 1) and schemas (class 3) the login
        may see, those to principals it sees ("Any user can see their own permissions ... To see user-defined
        roles, requires ALTER ANY ROLE, or membership in the role (such as public)")."""
        held = self.world.login(self.server, self.login) or {}
        principals = {sql_name_key(name): number for name, number in self._principals(database, visible=True).items()}
        object_ids, schema_ids = self._object_ids(database)
        rows = []
        for denial in held.get("denials", {}).get(sql_name_key(database), []):
            grantee = principals.get(sql_name_key(denial["to"]))
            if grantee is None:
                continue
            if "." in denial["on"]:
                major, kind = object_ids.get(table_key_parts(denial["on"])), 1
            else:
                major, kind = schema_ids.get(denial["on"]), 3
            if major is not None:
                rows.append({"class": kind, "class_desc": "OBJECT_OR_COLUMN" if kind == 1 else "SCHEMA", "major_id": major,
                             "minor_id": 0, "grantee_principal_id": grantee, "permission_name": denial["permission"].upper(),
                             "state": "D", "state_desc": "DENY"})
        return rows

    def _denied_on_table(self, database: str, key: str) -> set:
        """The permissions DENYed on the table or its schema to the login's user, public or a role of it."""
        held = self.world.login(self.server, self.login) or {}
        mine = {"public", sql_name_key(self.login)} | {sql_name_key(r) for r in held.get("databaseRoles", {}).get(sql_name_key(database), [])}
        schema = table_key_parts(key)[0]
        return {denial["permission"].upper() for denial in held.get("denials", {}).get(sql_name_key(database), [])
                if sql_name_key(denial["to"]) in mine
                and (denial["on"] == schema if "." not in denial["on"] else table_key_parts(denial["on"]) == table_key_parts(key))}

    def object_name(self, database: str, object_id: Any) -> Optional[str]:
        """OBJECT_NAME(id): NULL for an object the login may not see (metadata visibility)."""
        object_ids, _ = self._object_ids(database)
        for (schema, table), number in object_ids.items():
            if number == object_id:
                keys = self.world.database(self.server, database)["tables"]
                key = next(k for k in keys if table_key_parts(k) == (schema, table))
                return table if self._sees_table(database, key) else None
        return None

    def schema_name(self, database: str, schema_id: Any) -> Optional[str]:
        """SCHEMA_NAME(id): sys.schemas is visible to public ("Metadata Visibility Configuration")."""
        _, schema_ids = self._object_ids(database)
        return next((name for name, number in schema_ids.items() if number == schema_id), None)

    def _sees_table(self, database: str, key: str) -> bool:
        """Metadata visibility ("Metadata Visibility Configuration"): a table is shown to a login that holds a
        permission on it, or VIEW DEFINITION on its database (VIEW ANY DEFINITION on the server), or a database
        permission implying one on every table (SELECT, INSERT, UPDATE, DELETE, REFERENCES, ALTER, CONTROL); a
        sysadmin sees every table. A DENY (`denials`) on the table or its schema to the login's user, public or a
        role of it takes precedence ("Precedence of DENY"): of VIEW DEFINITION or CONTROL it hides the table, of
        another permission it takes away what that permission showed."""
        held = self.world.login(self.server, self.login)
        if held is None:
            return True
        denied = self._denied_on_table(database, key)
        if denied & {"CONTROL", "VIEW DEFINITION"}:
            return False
        granted = set(held["databasePermissions"].get(sql_name_key(database), [])) & TABLE_VISIBLE_THROUGH
        if {"CONTROL SERVER", "VIEW ANY DEFINITION"} & set(held["serverPermissions"]):
            granted.add("VIEW DEFINITION")
        on_tables = held.get("objectPermissions", {}).get(sql_name_key(database), {})
        for table, permissions in on_tables.items():
            if table_key_parts(table) == table_key_parts(key):
                granted |= set(permissions)
        return bool(granted - denied)

    def server_property(self, name: str) -> Any:
        if name == "ServerName":
            return self.server
        if name == "EngineEdition":
            return ENGINE_EDITIONS[self.kind]
        if name == "ProductMajorVersion":
            default = AZURE_PRODUCT_MAJOR_VERSION if self.kind in ("SqlMi", "SqlDb") else DEFAULT_PRODUCT_MAJOR_VERSION
            with self.world.transaction() as state:
                server = state["servers"].get(self.server.lower(), {})
                return str(server.get("productMajorVersion", default))
        if name in ("InstanceDefaultDataPath", "InstanceDefaultLogPath") and self.kind in SQL_SERVER_KINDS:
            if int(self.server_property("ProductMajorVersion")) < DEFAULT_PATHS_SINCE_MAJOR_VERSION:
                return None
            return self.world.default_paths(self.server)["data" if name == "InstanceDefaultDataPath" else "log"]
        raise NotUnderstood("SERVERPROPERTY('%s') on a %s" % (name, self.kind))

    def database_id(self, name: str) -> Optional[int]:
        found = self._database_row(name)
        return None if found is None else found["database_id"]

    def database_name(self, name: str) -> str:
        """DB_NAME(): the database's own name, however the connection or the batch spelled it."""
        found = self._database_row(name)
        return name if found is None else found["name"]

    def _database_row(self, name: str) -> Optional[Dict[str, Any]]:
        # Names compare in the server's collation (case-sensitive where it is), trailing spaces aside.
        return next((row for row in self._databases() if _compare("=", row["name"], str(name), self.collation())), None)


class _Context:
    """Evaluates expressions and SELECTs in one database of a session."""

    def __init__(self, session: _Session, database: str, variables: Dict[str, Any]):
        self.session = session
        self.database = database
        self.variables = variables
        self.table_variables: Dict[str, Dict[str, Any]] = {}
        self._bound: set = set()  # the SELECTs whose comparisons have their collation (ids)
        self._collations: Dict[int, str] = {}  # a comparison's (id of its node) collation

    def table(self, name: str) -> Dict[str, Any]:
        """A #temporary table of the session or a @table variable of this batch."""
        if not name.startswith("@"):
            return self.session._temp_table(name)
        table = self.table_variables.get(name.lower())
        if table is None:
            raise DatabaseError('Must declare the table variable "%s". (1087)' % name)
        return table

    def select(self, query: Select, outer: Dict[str, Dict[str, Any]]) -> Tuple[List[str], List[tuple]]:
        if id(query) not in self._bound:  # a statement's SELECT: its subqueries are bound with it
            self._bind_select(query, [])
        rows = self._rows(query, outer)
        if any(_has_aggregate(expression) for expression, _ in query.items):
            values = tuple(self._aggregate(expression, rows) for expression, _ in query.items)
            return _column_names(query), [values]
        if query.order:
            for expression, descending in reversed(query.order):
                rows.sort(key=lambda row: _sort_key(self.evaluate(expression, row)), reverse=descending)
        values = [tuple(self.evaluate(expression, row) for expression, _ in query.items) for row in rows]
        if query.distinct:
            values = list(dict.fromkeys(values))
        if query.top is not None:
            values = values[:query.top]
        return _column_names(query), values

    def _rows(self, query: Select, outer: Dict[str, Dict[str, Any]]) -> List[Dict[str, Dict[str, Any]]]:
        rows: List[Dict[str, Dict[str, Any]]] = [dict(outer)]
        for name, alias, condition, arguments in query.sources:
            label = (alias or name[-1]).lower()
            records = None
            if arguments is None:
                records = [dict(r) for r in self.table(name[0])["rows"]] if name[0].startswith("@") else self.session.relation(name, self.database)
            joined = []
            for row in rows:
                if arguments is not None:  # CROSS APPLY: the function of this row
                    records = self.session.table_function(name, [self.evaluate(argument, row) for argument in arguments])
                for record in records:
                    candidate = dict(row)
                    candidate[label] = {key.lower(): value for key, value in record.items()}
                    if condition is None or _truth(self.evaluate(condition, candidate)):
                        joined.append(candidate)
            rows = joined
        if query.where is not None:
            rows = [row for row in rows if _truth(self.evaluate(query.where, row))]
        return rows

    def _aggregate(self, expression: Any, rows: List[Dict[str, Dict[str, Any]]]) -> Any:
        if expression[0] == "lit":  # a constant beside an aggregate
            return expression[1]
        if expression[0] != "call":
            raise NotUnderstood("a column next to an aggregate without GROUP BY")
        name, arguments = expression[1], expression[2]
        if name in ("COUNT", "COUNT_BIG") and arguments == [("star",)]:
            return len(rows)
        if name == "SUM" and len(arguments) == 1:
            values = [v for v in (self.evaluate(arguments[0], row) for row in rows) if v is not None]
            return sum(values) if values else None
        if name in ("MAX", "MIN") and len(arguments) == 1:
            values = [v for v in (self.evaluate(arguments[0], row) for row in rows) if v is not None]
            return (max if name == "MAX" else min)(values) if values else None
        raise NotUnderstood("aggregate %s" % name)

    def evaluate(self, expression: Any, row: Dict[str, Dict[str, Any]]) -> Any:
        kind = expression[0]
        if kind == "lit":
            return expression[1]
        if kind == "col":
            return self._column(expression[1], row)
        if kind == "var":
            if expression[1] == "@@servername":  # the server's own name, as SERVERPROPERTY('ServerName') here
                return self.session.server
            if expression[1] not in self.variables:
                raise NotUnderstood("the variable %s is not declared" % expression[1])
            return self.variables[expression[1]]
        if kind == "neg":
            return -self.evaluate(expression[1], row)
        if kind == "case":
            for condition, value in expression[1]:
                if _truth(self.evaluate(condition, row)):
                    return self.evaluate(value, row)
            return self.evaluate(expression[2], row)
        if kind == "and":
            return _truth(self.evaluate(expression[1], row)) and _truth(self.evaluate(expression[2], row))
        if kind == "or":
            return _truth(self.evaluate(expression[1], row)) or _truth(self.evaluate(expression[2], row))
        if kind == "not":
            return not _truth(self.evaluate(expression[1], row))
        if kind == "cmp":
            collation = self._comparison_collation(expression)
            return _compare(expression[1], self.evaluate(expression[2], row), self.evaluate(expression[3], row), collation)
        if kind == "in":
            collation = self._comparison_collation(expression)
            value = self.evaluate(expression[1], row)
            members = expression[2]
            if isinstance(members, Select):
                candidates = [values[0] for values in self.select(members, row)[1]]
            else:
                candidates = [self.evaluate(member, row) for member in members]
            found = value is not None and any(_compare("=", value, candidate, collation) for candidate in candidates)
            return found != expression[3]
        if kind == "isnull":
            return (self.evaluate(expression[1], row) is None) != expression[2]
        if kind == "exists":
            return bool(self.select(expression[1], row)[1])
        if kind == "subquery":
            rows = self.select(expression[1], row)[1]
            return rows[0][0] if rows else None
        if kind == "convert":
            return _convert(expression[1], self.evaluate(expression[2], row), expression[3])
        if kind == "call":
            return self._call(expression[1], [self.evaluate(argument, row) for argument in expression[2]])
        if kind == "collate":
            value = self.evaluate(expression[1], row)
            return _Collated(value, self._collation_named(expression[2])) if isinstance(value, str) else value
        if kind == "arith":
            left, right = self.evaluate(expression[2], row), self.evaluate(expression[3], row)
            if left is None or right is None:
                return None
            return left + right if expression[1] == "+" else left - right
        raise NotUnderstood("expression %s" % kind)

    # -- collations (SQL Server's collation precedence) --------------------------------------------
    # Bound before a statement's SELECT runs, as SQL Server binds a statement before running it: each
    # comparison (=, <>, <, >, IN, a JOIN's ON) gets its collation from its operands' labels: explicit
    # (`COLLATE name`; DATABASE_DEFAULT is the current database's), implicit (a text column: its
    # table's collation: a #temporary table's is tempdb's, the server's; a @table variable's the
    # database current where it was declared; a catalog view's of a database, sys.tables, sys.schemas,
    # sys.extended_properties, that database's; the server-level ones the server's) or coercible-
    # default (a literal, a variable, anything else: the current database's). Explicit wins; two
    # implicit (or two explicit) collations that differ are a conflict: error 468, whatever the rows.

    def _comparison_collation(self, expression: Any) -> str:
        if id(expression) not in self._collations:  # a comparison outside any SELECT (IF @x = ...)
            self._bind_expression(expression, [])
        return self._collations[id(expression)]

    def _collation_named(self, name: str) -> str:
        return self.session.collation(self.database) if name.upper() == "DATABASE_DEFAULT" else name

    def _source_label(self, name: Tuple[str, ...], arguments: Any) -> Tuple[str, frozenset]:
        """(collation, text columns) of a FROM source."""
        parts = tuple(part.lower() for part in name)
        if arguments is None and parts[0][:1] in ("#", "@"):
            table = self.table(parts[0])
            return table["collation"], table["text_columns"]
        if arguments is None and parts in _DATABASE_CATALOG_VIEWS:
            return self.session.collation(self.database), _CATALOG_TEXT_COLUMNS
        return self.session.collation(), _CATALOG_TEXT_COLUMNS

    def _select_scope(self, query: Select) -> Dict[str, Tuple[str, frozenset]]:
        return {(alias or name[-1]).lower(): self._source_label(name, arguments) for name, alias, _, arguments in query.sources}

    def _bind_select(self, query: Select, scopes: List[Dict[str, Tuple[str, frozenset]]]) -> None:
        self._bound.add(id(query))
        inner = scopes + [self._select_scope(query)]
        expressions = [condition for _, _, condition, _ in query.sources if condition is not None]
        expressions += [argument for _, _, _, arguments in query.sources for argument in arguments or ()]
        expressions += [expression for expression, _ in query.items] + [expression for expression, _ in query.order]
        if query.where is not None:
            expressions.append(query.where)
        for expression in expressions:
            self._bind_expression(expression, inner)

    def _bind_expression(self, expression: Any, scopes: List[Dict[str, Tuple[str, frozenset]]]) -> None:
        kind = expression[0]
        if kind == "cmp":
            labels = [self._label(expression[2], scopes), self._label(expression[3], scopes)]
            self._collations[id(expression)] = self._settle(labels, expression[1])
            children: List[Any] = [expression[2], expression[3]]
        elif kind == "in":
            members = expression[2]
            member_labels = [self._label(("subquery", members), scopes)] if isinstance(members, Select) else [self._label(m, scopes) for m in members]
            self._collations[id(expression)] = self._settle([self._label(expression[1], scopes)] + member_labels, "=")
            children = [expression[1]] + ([] if isinstance(members, Select) else list(members))
            if isinstance(members, Select):
                self._bind_select(members, scopes)
        elif kind in ("and", "or"):
            children = [expression[1], expression[2]]
        elif kind in ("not", "neg", "isnull", "collate"):
            children = [expression[1]]
        elif kind in ("exists", "subquery"):
            self._bind_select(expression[1], scopes)
            children = []
        elif kind == "convert":
            children = [expression[2]]
        elif kind == "call":
            children = list(expression[2])
        elif kind == "arith":
            children = [expression[2], expression[3]]
        else:  # lit, col, var, star
            children = []
        for child in children:
            self._bind_expression(child, scopes)

    def _label(self, expression: Any, scopes: List[Dict[str, Tuple[str, frozenset]]]) -> Optional[Tuple[str, str]]:
        """("explicit" | "implicit", collation) of an operand; None: coercible-default (or not text)."""
        kind = expression[0]
        if kind == "collate":
            return ("explicit", self._collation_named(expression[2]))
        if kind == "col":
            parts = [part.lower() for part in expression[1]]
            if len(parts) >= 2:
                for scope in reversed(scopes):  # the innermost query's sources first
                    if parts[-2] in scope:
                        collation, text_columns = scope[parts[-2]]
                        return ("implicit", collation) if parts[-1] in text_columns else None
                return None
            found = {collation for collation, text_columns in (scopes[-1].values() if scopes else ()) if parts[0] in text_columns}
            return ("implicit", found.pop()) if len(found) == 1 else None
        if kind == "subquery":  # a scalar subquery: its first column's
            query = expression[1]
            return self._label(query.items[0][0], scopes + [self._select_scope(query)]) if query.items else None
        return None

    def _settle(self, labels: List[Optional[Tuple[str, str]]], op: str) -> str:
        """The collation a comparison uses; error 468 where SQL Server cannot resolve one."""
        for strength in ("explicit", "implicit"):
            found = [collation for label in labels if label is not None and label[0] == strength for collation in [label[1]]]
            if found:
                differing = [c for c in found if c.lower() != found[0].lower()]
                if differing:
                    raise DatabaseError('Cannot resolve the collation conflict between "%s" and "%s" in the %s operation. (468)'
                                        % (found[0], differing[0], _OPERATION_NAMES[op]))
                return found[0]
        return self.session.collation(self.database)

    def _column(self, parts: Tuple[str, ...], row: Dict[str, Dict[str, Any]]) -> Any:
        lowered = [part.lower() for part in parts]
        if len(lowered) == 2 and lowered[0] in row:
            record = row[lowered[0]]
            if lowered[1] in record:
                return record[lowered[1]]
        elif len(lowered) == 1:
            for record in reversed(list(row.values())):  # the innermost query's tables first
                if lowered[0] in record:
                    return record[lowered[0]]
        raise NotUnderstood("the column %s" % ".".join(parts))

    def _call(self, name: str, arguments: List[Any]) -> Any:
        if name == "ISNULL" and len(arguments) == 2:
            return arguments[1] if arguments[0] is None else arguments[0]
        if name == "SERVERPROPERTY" and len(arguments) == 1:
            return self.session.server_property(str(arguments[0]))
        if name == "DB_ID" and len(arguments) == 1:
            return self.session.database_id(str(arguments[0]))
        if name == "DB_NAME" and not arguments:
            return self.session.database_name(self.database)
        if name == "SUSER_SNAME" and not arguments:
            return self.session.login
        if name == "HAS_PERMS_BY_NAME" and len(arguments) == 3:
            return self.session.has_permission(*arguments)
        if name == "HAS_DBACCESS" and len(arguments) == 1:
            return self.session.has_database_access(str(arguments[0]))
        if name == "DATABASE_PRINCIPAL_ID" and not arguments:
            return self.session.database_principal_id(self.database)
        if name == "IS_ROLEMEMBER" and len(arguments) == 1:
            return self.session.is_role_member(self.database, str(arguments[0]))
        if name == "OBJECT_NAME" and len(arguments) == 1:
            return self.session.object_name(self.database, arguments[0])
        if name == "SCHEMA_NAME" and len(arguments) == 1:
            return self.session.schema_name(self.database, arguments[0])
        if name == "QUOTENAME" and len(arguments) == 1:
            return None if arguments[0] is None else "[" + str(arguments[0]).replace("]", "]]") + "]"
        if name == "ERROR_MESSAGE" and not arguments:  # the error a CATCH block handles; NULL outside one
            return self.session.error_message()
        if name == "ERROR_NUMBER" and not arguments:
            return self.session.error_number()
        raise NotUnderstood("the function %s" % name)


# --- helpers ---------------------------------------------------------------------------------

# The cursor of the fingerprint loop reads the table variable of the tables chosen before it.
_CURSOR_TABLE = r"\bcursor\b[^;]*?\bfor select\b[^;]*?\bfrom (@[a-z_][a-z0-9_$]*)"


_FINGERPRINT_INGREDIENTS = (
    ("user tables", r"from sys\.tables .*is_ms_shipped = 0"),
    ("the plan's table list", r"#requested"),
    ("exact counts", r"count_big\(\*\)"),
    ("a SHA2_256 hash of each row", r"hashbytes\('+sha2_256'+"),
    ("each row as JSON with its NULLs", r"for json path, without_array_wrapper, include_null_values"),
    ("computed columns left out", r"is_computed = 0"),
    ("rowversion left out on request", r"@exclude_rowversion = 1 and c\.system_type_id = 189"),
    ("CLR types hashed by their bytes", r"system_type_id = 240 then n?'+convert\(varbinary\(max\)"),
    ("float and real hashed by their bytes", r"system_type_id in \(59, 62\) then n?'+convert\(varbinary\(8\)"),
    ("one TRY per table", r"begin try.*begin catch.*error_message\(\)"),
    ("results in #fingerprints", r"insert into #fingerprints"),
    ("a cursor over a table variable of the chosen tables", _CURSOR_TABLE),
)

# A fingerprint loop that refuses a table with masked columns to a login without UNMASK (optional: without it, SQL
# Server hashes the masks such a login reads).
_REFUSES_MASKS = r"has_perms_by_name\(db_name\(\), n'+database'+, n'+unmask'+\).*sys\.masked_columns.*raiserror\(@masked_columns"

# A fingerprint loop that leaves out a graph table's internal columns (sys.columns.graph_type 1, 3, 4, 6, 7: graph_id_,
# from_obj_id_, from_id_, to_obj_id_, to_id_), which no query may read; their $node_id, $edge_id, $from_id, $to_id
# pseudo-columns show the same ids.
_SKIPS_INTERNAL_GRAPH_COLUMNS = r"isnull\(c\.graph_type, 0\) not in \(1, 3, 4, 6, 7\)"

# A fingerprint loop that orders each table's columns by their upper-cased names first (a copy's schema deployed with
# column names in another letter case hashes its columns in the same order).
_ORDERS_COLUMNS_CASE_FOLDED = r"order by upper\(c\.name collate latin1_general_bin2\), c\.name collate latin1_general_bin2"

TEXT_TYPES = frozenset({"char", "varchar", "nchar", "nvarchar", "text", "ntext", "sysname"})
# The text columns of the catalog views this fake shows (their other columns are numbers, dates, ...).
_CATALOG_TEXT_COLUMNS = frozenset({
    "name", "state_desc", "recovery_model_desc", "user_access_desc", "class_desc", "physical_name", "database_name",
    "volume_mount_point", "fixed_drive_path", "drive_type_desc", "pvt_key_encryption_type", "permission_name", "state",
})
# Catalog views of the current database (the others here are the server's: master's, msdb's, DMVs).
_DATABASE_CATALOG_VIEWS = frozenset({("sys", "tables"), ("sys", "schemas"), ("sys", "extended_properties"), ("sys", "masked_columns"),
                                     ("sys", "sequences"),
                                     ("sys", "database_principals"), ("sys", "database_permissions")})
_OPERATION_NAMES = {"=": "equal to", "<>": "not equal to", "<": "less than", ">": "greater than",
                    "<=": "less than or equal to", ">=": "greater than or equal to"}


def _new_table(columns: List[Tuple[str, str]], collation: str) -> Dict[str, Any]:
    """A #temporary table or @table variable: its columns, its text columns' collation, no rows."""
    return {"columns": [name.lower() for name, _ in columns], "rows": [], "collation": collation,
            "text_columns": frozenset(name.lower() for name, type_name in columns if type_name.split("(")[0] in TEXT_TYPES)}


def _insert(table: Dict[str, Any], columns: List[str], values: Any) -> None:
    """A row: the columns named get the values (plain, as stored), the others NULL."""
    row = dict.fromkeys(table["columns"])
    row.update({column.lower(): str(value) if isinstance(value, _Collated) else value for column, value in zip(columns, values)})
    table["rows"].append(row)


def _reads_sequence_column(node: Any, column: str, view: Tuple[str, ...] = ("sys", "sequences")) -> bool:
    """Whether a query anywhere in `node` (a batch's statements, whatever branch) reads `view` and names `column`."""
    if isinstance(node, Select) and any(tuple(part.lower() for part in source[0])[-2:] == view
                                        for source in node.sources) and _names_column(node, column):
        return True
    if isinstance(node, Select):
        node = [node.items, node.where, node.order, [source[2:] for source in node.sources]]
    return isinstance(node, (tuple, list)) and any(_reads_sequence_column(part, column, view) for part in node)


def _refuse_other_databases(node: Any, current: str) -> None:
    """Azure SQL Database allows no three-part name of another database (msdb's tables, `[other].sys.sp_executesql`):
    the batch fails to compile with error 40515 (a name of the current database, or of tempdb, is allowed)."""
    named: Optional[Tuple[str, ...]] = None
    if isinstance(node, Select):
        for source in node.sources:
            if len(source[0]) >= 3 and sql_name_key(source[0][-3]) not in (sql_name_key(current), "tempdb"):
                named = source[0]
                break
        node = [node.items, node.where, node.order, [source[2:] for source in node.sources]]
    elif isinstance(node, tuple) and node[:1] == ("exec_sql",) and node[1] is not None and sql_name_key(node[1]) != sql_name_key(current):
        named = (node[1], "sys", "sp_executesql")
    if named is not None:
        raise DatabaseError("Reference to database and/or server name in '%s' is not supported in this version of SQL Server. (40515)"
                            % ".".join(named))
    if isinstance(node, (tuple, list)):
        for part in node:
            _refuse_other_databases(part, current)


def _names_column(node: Any, column: str) -> bool:
    """Whether an expression, a query or a list of them names `column` (of any table)."""
    if isinstance(node, Select):
        return _names_column([node.items, node.where, node.order, [source[2:] for source in node.sources]], column)
    if isinstance(node, tuple) and node[:1] == ("col",):
        return node[1][-1].lower() == column
    return isinstance(node, (tuple, list)) and any(_names_column(part, column) for part in node)


def _is_fingerprint_loop(text: str) -> bool:
    normalised = re.sub(r"\s+", " ", text.lower())
    if "cursor" not in normalised or "#fingerprints" not in normalised:
        return False
    missing = [what for what, pattern in _FINGERPRINT_INGREDIENTS if not re.search(pattern, normalised)]
    if missing:
        raise NotUnderstood("a per-table fingerprint loop without %s" % "; ".join(missing))
    return True


def _fingerprint_row(schema: str, table: str, row_count: Optional[int] = None, checksum: Optional[str] = None,
                     error: Optional[str] = None, elapsed_ms: Optional[int] = None) -> Dict[str, Any]:
    return {"schema_name": schema, "table_name": table, "row_count": row_count, "checksum": checksum,
            "error": error, "elapsed_ms": elapsed_ms}


def _as_read(content: Dict[str, Any], masked: List[str]) -> Dict[str, Any]:
    """The table as a login without UNMASK reads it: each of its `masked` columns as its default() mask (text
    xxxx, numbers 0; NULL stays NULL), whatever was stored."""
    indexes = [index for index, column in enumerate(content["columns"]) if column["name"] in masked]
    if not indexes:
        return content

    def mask(value: Any) -> Any:
        return None if value is None else 0 if isinstance(value, (int, float)) else "xxxx"

    rows = [[mask(value) if index in indexes else value for index, value in enumerate(row)] for row in content["rows"]]
    return dict(content, rows=rows)


def _table_checksum(content: Dict[str, Any], exclude_rowversion: bool, case_folded_order: bool) -> int:
    """Sum over rows of the first 8 bytes (signed) of SHA-256 over the row's values in column-name order (binary, or
    upper-cased names first where `case_folded_order`)."""
    columns = content["columns"]

    def order(item: Tuple[int, Dict[str, Any]]) -> Tuple[str, str]:
        name = item[1]["name"]
        return (name.upper() if case_folded_order else "", name)

    kept = [
        index for index, column in sorted(enumerate(columns), key=order)
        if not column.get("computed") and column.get("graph") != "internal"
        and not (exclude_rowversion and column.get("type", "").lower() in ROWVERSION_TYPES)
    ]
    total = 0
    for row in content["rows"]:
        canonical = json.dumps([row[index] for index in kept], sort_keys=True, separators=(",", ":"))
        total += int.from_bytes(hashlib.sha256(canonical.encode("utf-8")).digest()[:8], "big", signed=True)
    return total


def _raiserror_text(message: str, arguments: List[Any]) -> str:
    """What RAISERROR prints: %% one %, %s the next argument."""
    values = iter(arguments)
    return re.sub(r"%%|%s", lambda m: "%" if m.group() == "%%" else _printed(next(values, None)), message)


def _printed(value: Any) -> str:
    """A RAISERROR argument as its %s prints it (a missing or NULL one: "(null)")."""
    return "(null)" if value is None else str(value)


def _binary(thumbprint: str) -> bytes:
    """A thumbprint as the world keeps it (0x and hex) as SQL Server returns varbinary."""
    return bytes.fromhex(thumbprint[2:])


def _has_aggregate(expression: Any) -> bool:
    return expression[0] == "call" and expression[1] in ("COUNT", "COUNT_BIG", "MAX", "MIN", "SUM")


def _column_names(query: Select) -> List[str]:
    names = []
    for expression, alias in query.items:
        if alias is not None:
            names.append(alias)
        elif expression[0] == "col":
            names.append(expression[1][-1])
        else:
            names.append("")
    return names


def _truth(value: Any) -> bool:
    return bool(value) and value is not None


class _Collated(str):
    """Text with an explicit collation (`COLLATE name`): binary (_BIN, _BIN2) and case-sensitive
    (_CS_) ones compare letter case; a comparison takes the explicit collation of either side."""

    def __new__(cls, value: str, collation: str) -> "_Collated":
        text = super().__new__(cls, value)
        text.case_sensitive = _is_case_sensitive(collation)
        return text


def _is_case_sensitive(collation: str) -> bool:
    upper = collation.upper()
    return upper.endswith("_BIN") or upper.endswith("_BIN2") or "_CS_" in upper + "_"


def _is_system_database(name: str) -> bool:
    return sql_name_key(name) in SYSTEM_DATABASES


def _case_sensitive(*values: Any) -> bool:
    return any(getattr(value, "case_sensitive", False) for value in values)


def _comparable(value: Any, case_sensitive: bool = False) -> Any:
    return value.casefold() if isinstance(value, str) and not case_sensitive else value


def _compare(op: str, left: Any, right: Any, collation: Optional[str] = None) -> bool:
    """`collation`: the comparison's (case-sensitive where _CS_, _BIN, _BIN2); None: that of a
    side with an explicit one, else case-insensitive."""
    if left is None or right is None:
        return False
    sensitive = _case_sensitive(left, right) if collation is None else _is_case_sensitive(collation)
    if isinstance(left, bool) or isinstance(right, bool):
        left, right = int(left) if isinstance(left, bool) else left, int(right) if isinstance(right, bool) else right
    if isinstance(left, str) != isinstance(right, str):
        left, right = str(left), str(right)
    left, right = _comparable(left, sensitive), _comparable(right, sensitive)
    if isinstance(left, str) and isinstance(right, str):
        # SQL Server pads the shorter text with spaces: 'abc' = 'abc  ', whatever the collation.
        width = max(len(left), len(right))
        left, right = str(left).ljust(width), str(right).ljust(width)
    operations: Dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b, "<>": lambda a, b: a != b, "<": lambda a, b: a < b,
        ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
    }
    return operations[op](left, right)


def _convert(type_name: str, value: Any, style: Optional[int]) -> Any:
    if value is None:
        return None
    base = type_name.split("(")[0]
    if base in ("int", "bigint", "smallint", "tinyint", "bit"):
        return int(value)
    if base in ("varchar", "nvarchar", "char", "nchar", "sysname"):
        if isinstance(value, bytes):
            if style != 1:
                raise NotUnderstood("CONVERT of varbinary to characters without style 1 (the 0x hex form)")
            return "0x" + value.hex().upper()
        if isinstance(value, datetime):
            if style != 126:
                raise NotUnderstood("CONVERT of a datetime with style %r" % style)
            return value.isoformat(timespec="milliseconds")
        return str(value)
    raise NotUnderstood("CONVERT to %s" % type_name)


def _sort_key(value: Any) -> Tuple[int, Any]:
    if value is None:
        return (0, 0)
    return (1, _comparable(value))


def rows_as_dicts(cursor: Any) -> List[Dict[str, Any]]:
    """The current result set as dictionaries (for tests)."""
    names = [column[0] for column in cursor.description or ()]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


__all__ = [
    "Connection", "Cursor", "DatabaseError", "Error", "InterfaceError", "NotSupportedError",
    "OperationalError", "ProgrammingError", "SqlEngine", "WORLD_VARIABLE", "connect", "rows_as_dicts",
]
