"""The T-SQL the DAG runs on source and target servers, built in one place, and what comes back.

Every statement is complete text without driver parameters, because the same text runs through
pymssql (direct) and as a Data Factory Lookup or Script activity: identifiers are quoted like
QUOTENAME (`quote_name`), literals are N'' strings with quotes doubled (`quote_literal`).

Where a statement runs: on SQL Server and SQL Managed Instance every statement works from the
server's `master` (catalog views, `msdb` by three-part name, database work through
`EXEC [db].sys.sp_executesql`), because Data Factory's self-hosted linked service connects with the
operator's stored connection string; an Azure SQL Database allows no cross-database names, so its
statements run connected to the database itself (`connect_database`).

Statements that change something are idempotent: they look before they act (`IF EXISTS ...`), and
`BACKUP LOG` first looks in msdb for a log backup of that database to that very file.

What validation proves (`table_fingerprints`), for the tables it compares: the plan's `validation.tables`, else
every user table of the source (not its external tables, sys.tables' type ET: their rows live in another system,
which a target may not reach), as far as the DAG's login may see them (sys.tables shows a login only the tables
it holds a permission on: metadata visibility), so without the list the batch refuses a login holding neither
VIEW DEFINITION nor SELECT on the database, rather than compare the tables it sees:
- SqlMi / SqlVm (DMS restores the source's backups): the target is a physical copy, so a match
  proves the restore reached the frozen source's last state: the last log backup was restored and
  no write happened after it. A mismatch means writes after the final backup (freeze failed) or a
  restore that stopped early. Page-level integrity is proved by `BACKUP ... WITH CHECKSUM` and the
  restore, not by this.
- SqlDb (DMS copies rows into a schema deployed beforehand): a match proves every table holds the
  same rows with the same values, compared column by column in name order through their JSON form (names
  upper-cased first, so a schema deployed with column names in another letter case hashes in the same order).
  `rowversion` columns are left out (the copy assigns new values); computed columns are left out
  (derived from the compared ones). A source left writable during the copy
  (`allowSourceWritesDuringCopy`) can differ legitimately. DMS copies rows only, so each side's
  sequences are read too (`sequence_values`): a target's behind the source's fails.
A login without UNMASK reads a masked column (dynamic data masking) as its mask, on either side alike, so where
checksums are compared the batch refuses a table with masked columns to such a login (naming them and the GRANT)
rather than compare masks: a SqlDb copy whose DMS read the source through such a login copied the masks too.
Every column type is covered: CLR types (geometry, geography, hierarchyid, CLR UDTs) are hashed by
their binary serialisation (FOR JSON refuses them: "Not supported. These types return an error") and
float/real by their IEEE bytes (no text formatting that could differ between engine versions); everything
else through FOR JSON, which renders money and uniqueidentifier as strings and binary types as BASE64
(MicrosoftDocs/sql-docs `docs/relational-databases/json/how-for-json-converts-sql-server-data-types-to-json-data-types-sql-server.md`;
sql_variant is not in its table). A graph table's internal columns
(sys.columns.graph_type 1, 3, 4, 6, 7: graph_id_, from_obj_id_, from_id_, to_obj_id_, to_id_), which no query
may read (error 13908), are left out and its $node_id, $edge_id, $from_id and $to_id pseudo-columns (the same ids,
as JSON) hashed instead (graph_type exists from SQL Server 2017 on, in Azure SQL). Checksums need SQL Server 2016
or later on both sides (FOR JSON; HASHBYTES beyond 8,000 bytes): older sources fail the batch with
a message saying so (row counts alone work everywhere).

Per-table time: `SET LOCK_TIMEOUT` bounds how long one table waits for locks (a blocked table is
reported with its error and the batch goes on); the scans themselves are bounded by the operation
timeout (`fingerprint_timeout_seconds`: until the database's deadline), because T-SQL cannot cancel one
statement of a batch on a timer. Each row reports its table's elapsed milliseconds.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

from migration_orchestration_lib.sql_access import SqlOperationFailed
from migration_orchestration_lib.table_names import TableName

MAX_IDENTIFIER_LENGTH = 128  # sysname, in UTF-16 code units; QUOTENAME returns NULL beyond it
FREEZE_MODES = ("readOnly", "singleUser")
ROWS_PER_VALUES_CLAUSE = 1000  # SQL Server's limit for a table value constructor
DEFAULT_LOCK_TIMEOUT_SECONDS = 60
MIN_FINGERPRINT_SECONDS = 60


class StatementError(ValueError):
    """A name or value cannot be put into T-SQL safely."""


def quote_name(identifier: str) -> str:
    """QUOTENAME: `[name]` with `]` doubled; refuses what QUOTENAME would turn into NULL."""
    _check_identifier(identifier)
    return "[%s]" % identifier.replace("]", "]]")


def _check_identifier(identifier: str) -> None:
    """A name that fits sysname (nvarchar(128): UTF-16 code units, so a character beyond the BMP counts two)."""
    if not isinstance(identifier, str) or not identifier:
        raise StatementError("an identifier must be a non-empty string, got %r" % (identifier,))
    if len(identifier.encode("utf-16-le")) // 2 > MAX_IDENTIFIER_LENGTH:
        raise StatementError("identifier longer than %d characters (UTF-16 code units, as sysname counts them): %r"
                             % (MAX_IDENTIFIER_LENGTH, identifier))
    if "\x00" in identifier:
        raise StatementError("identifier contains a NUL character: %r" % (identifier,))


def quote_literal(value: str) -> str:
    """An N'' Unicode literal with `'` doubled."""
    if not isinstance(value, str):
        raise StatementError("a literal must be a string, got %r" % (value,))
    if "\x00" in value:
        raise StatementError("literal contains a NUL character: %r" % (value,))
    return "N'%s'" % value.replace("'", "''")


def connect_database(target_kind: Optional[str], database: str) -> str:
    """The database an endpoint connects to: the database itself on SqlDb, `master` elsewhere."""
    return database if target_kind == "SqlDb" else "master"


# --- database state ---------------------------------------------------------------------------

# Why a SqlDb target may read absent from master though it exists (Microsoft, sys.databases, Permissions: a caller
# not the owner sees another database's row only with ALTER ANY DATABASE, VIEW ANY DATABASE or CREATE DATABASE in
# master; on Azure SQL Database server-level permissions come only from the ##MS_ server roles, VIEW ANY DATABASE
# from ##MS_DefinitionReader##: "Azure SQL Database server roles"). docs/sql-logins.md has the statements.
HIDDEN_SQLDB_TARGET = (
    "a login that neither owns it nor holds VIEW ANY DATABASE (or ALTER ANY DATABASE, or CREATE DATABASE in master) "
    "does not see its row there, db_owner of it or a plain user of master included: add the login the DAG reads the "
    "target with (the target connection's; with sqlAccess dataFactory the factory's managed identity) to "
    "##MS_DefinitionReader## in master (ALTER SERVER ROLE ##MS_DefinitionReader## ADD MEMBER [<login>]; it takes up "
    "to 5 minutes), see docs/sql-logins.md"
)
# The same on SQL Server and a managed instance: SQL Server grants VIEW ANY DATABASE to public by default, and a
# hardened server may revoke it ("Securing SQL Server"), so a target or source database there may read absent though
# it exists (`DatabaseRead.hidden`).
_HIDDEN_DATABASE = (
    "a login that neither owns it nor holds VIEW ANY DATABASE (or ALTER ANY DATABASE, or CREATE DATABASE in master) "
    "does not see its row there: SQL Server grants VIEW ANY DATABASE to public by default, and this server's public "
    "role, or the login, lacks it (revoked or denied). Grant it to the login the DAG reads the %s with (%s): "
    "GRANT VIEW ANY DATABASE TO [%s]; see docs/sql-logins.md"
)
_READS_WITH = {
    "target": "the target connection's; with sqlAccess dataFactory the factory's managed identity",
    "source": "the source connection's; with sqlAccess dataFactory the login of the source server's connection string "
              "in Key Vault, <server>-connection-string",
}


def hidden_database(side: str, database: str, server: str, login: Optional[str], unknown: str) -> str:
    """Why a `side` ("target" or "source") database master's sys.databases showed the DAG's login no row of is unknown,
    not absent (`DatabaseRead.hidden`), and the grant that lets that login see it; `unknown`: what cannot be read."""
    login = login or "<login>"
    return (
        "%s database %s on %s: master's sys.databases there shows login %s no row for it, and that login may not see "
        "every row, so whether it exists (%s) cannot be read: %s" % (
            side, database, server, login, unknown, _HIDDEN_DATABASE % (side, _READS_WITH[side], login))
    )


@dataclass(frozen=True)
class DatabaseState:
    name: str
    state: str  # sys.databases.state_desc: ONLINE, RESTORING, RECOVERING, OFFLINE, ...
    recovery_model: str  # FULL, SIMPLE, BULK_LOGGED
    is_read_only: bool
    user_access: str  # MULTI_USER, SINGLE_USER, RESTRICTED_USER
    # The freeze marker on the database (`source_state`): read (`freeze_marker_known`; a None marker
    # then means none), or not (not asked for, not ONLINE, held by another SINGLE_USER connection,
    # not visible to the login): unknown.
    freeze_marker_known: bool = False
    freeze_marker: Optional[str] = None

    @property
    def is_writable(self) -> bool:
        return self.state == "ONLINE" and not self.is_read_only and self.user_access == "MULTI_USER"


_FREEZE_MARKER_COLUMNS = (
    "(SELECT TOP (1) readable FROM #freeze_marker) AS freeze_marker_readable",
    "(SELECT TOP (1) marker FROM #freeze_marker) AS freeze_marker",
)


def database_state(database: str, with_freeze_marker: bool = False) -> str:
    """One row per database named `database` (none when it does not exist); `with_freeze_marker`:
    and what `_read_freeze_marker` found, earlier in the same batch."""
    return _database_state_row(database, _FREEZE_MARKER_COLUMNS if with_freeze_marker else ())


def _database_state_row(database: str, more_columns: Sequence[str]) -> str:
    """`database_state`'s row, with `more_columns` (each one value: a row stays one row, or none)."""
    return (
        "SELECT name AS database_name, state_desc, recovery_model_desc, "
        "CONVERT(int, is_read_only) AS is_read_only, user_access_desc%s "
        "FROM sys.databases WHERE name = %s;" % ("".join(", " + column for column in more_columns), quote_literal(database))
    )


@dataclass(frozen=True)
class DatabaseRead:
    """A database's `sys.databases` row read from master (`target_state`; a source's, `DatabaseSql.source_state`, asks
    `login_visibility` only where it read none): `state` None where master shows none, which is absence only where the
    login may see every row (`sees_every_database`); `login`: SUSER_SNAME()."""

    state: Optional[DatabaseState]
    sees_every_database: bool
    login: Optional[str] = None

    @property
    def hidden(self) -> bool:
        """No row, to a login that may not see one that exists: the database's state is unknown, not absent."""
        return self.state is None and not self.sees_every_database


# Microsoft, sys.databases, Permissions: a caller that does not own a database sees its row only with ALTER ANY
# DATABASE, VIEW ANY DATABASE or CREATE DATABASE in master (HAS_PERMS_BY_NAME counts CONTROL SERVER, roles and
# public's grant; CREATE ANY DATABASE implies CREATE DATABASE). Owning the database cannot be asked of a row not seen.
_SEES_EVERY_DATABASE = (
    "CASE WHEN ISNULL(HAS_PERMS_BY_NAME(NULL, NULL, N'VIEW ANY DATABASE'), 0) = 1 "
    "OR ISNULL(HAS_PERMS_BY_NAME(NULL, NULL, N'ALTER ANY DATABASE'), 0) = 1 "
    "OR ISNULL(HAS_PERMS_BY_NAME(N'master', N'DATABASE', N'CREATE DATABASE'), 0) = 1 THEN 1 ELSE 0 END"
)


def _visibility_columns(sees_every_database: str = _SEES_EVERY_DATABASE) -> str:
    return "%s AS sees_every_database, SUSER_SNAME() AS login_name" % sees_every_database


def target_state(database: str, target_kind: Optional[str] = None) -> str:
    """`database_state` of a target database (run from master), always one row: where master shows none, its columns
    NULL, so that whether the login may see every row (`sees_every_database`) and which login it is (`login_name`)
    come back too. A SELECT of scalar subqueries, no temporary table: SQL Server 2012 on, SqlMi and SqlDb's master, and
    a Lookup reads its one result set. Not asked of a SqlDb target (NULL: unknown), where HAS_PERMS_BY_NAME takes no
    server class ("In Azure SQL Database, the securable_class argument must be set to one of the following: DATABASE,
    OBJECT, ROLE, SCHEMA, or USER") and a missing target already names the cause (`HIDDEN_SQLDB_TARGET`)."""
    where = "FROM sys.databases WHERE name = %s" % quote_literal(database)
    columns = [("name", "database_name"), ("state_desc", "state_desc"), ("recovery_model_desc", "recovery_model_desc"),
               ("CONVERT(int, is_read_only)", "is_read_only"), ("user_access_desc", "user_access_desc")]
    return "SELECT %s, %s;" % (
        ", ".join("(SELECT %s %s) AS %s" % (value, where, name) for value, name in columns),
        _visibility_columns("CONVERT(int, NULL)" if target_kind == "SqlDb" else _SEES_EVERY_DATABASE))


def login_visibility() -> str:
    """One row: whether the session's login may see every row of sys.databases, and which login it is (`target_state`'s
    last columns; `parse_database_read` reads it with no state). Asked of a source server (always SQL Server) only where
    the source's database read no row (`DatabaseSql.source_state`), so a read that finds it costs nothing more; no
    temporary table: a Lookup reads its one result set."""
    return "SELECT %s;" % _visibility_columns()


_STATE_COLUMNS = ("database_name", "state_desc", "recovery_model_desc", "is_read_only", "user_access_desc")


def parse_database_read(rows: Sequence[Mapping[str, Any]]) -> DatabaseRead:
    found = [row for row in rows if all(row.get(column) is not None for column in _STATE_COLUMNS)]  # dropped meanwhile: none
    sees = bool(rows) and rows[0].get("sees_every_database") is not None and _as_bool(rows[0]["sees_every_database"])
    login = rows[0].get("login_name") if rows else None
    return DatabaseRead(parse_database_state(found), sees, None if login is None else str(login))


def parse_database_state(rows: Sequence[Mapping[str, Any]]) -> Optional[DatabaseState]:
    if not rows:
        return None
    row = rows[0]
    marker = row.get("freeze_marker")
    return DatabaseState(
        name=str(row["database_name"]),
        state=str(row["state_desc"]),
        recovery_model=str(row["recovery_model_desc"]),
        is_read_only=_as_bool(row["is_read_only"]),
        user_access=str(row["user_access_desc"]),
        freeze_marker_known=row.get("freeze_marker_readable") is not None and _as_bool(row["freeze_marker_readable"]),
        freeze_marker=None if marker is None else str(marker),
    )


# --- the freeze marker: the DAG's freeze recorded on the source database itself -----------------
# A database-level extended property (class 0 in sys.extended_properties), so it survives whatever
# Airflow loses. SQL Server refuses to change a read-only database's metadata (error 3906), so the
# freeze writes it just BEFORE its SET READ_ONLY and the unfreeze removes it just AFTER its
# SET READ_WRITE; a database read-only before the freeze gets none. Adding or dropping it needs
# ALTER on the database (what the freeze needs); reading it needs the property visible to the login
# (metadata visibility: VIEW DEFINITION on the database, which CONTROL and db_owner imply).

FREEZE_MARKER = "migration_freeze"
# The marker's text is compared in a binary collation: a database's (and tempdb's) collation is
# usually case-insensitive, and a marker differing from this plan's only in letter case is not this
# plan's (`source_freeze` compares it exactly).
MARKER_COLLATION = "Latin1_General_BIN2"


def source_state(database: str) -> str:
    """`database_state` with the freeze marker of `database` (run from master). The marker's read
    never fails the batch: not ONLINE, no access, held by another SINGLE_USER connection, or not
    visible to the login, it comes back unknown (`freeze_marker_known` false)."""
    return "SET NOCOUNT ON;\n%s\n%s" % (_read_freeze_marker(database), database_state(database, with_freeze_marker=True))


def held_by_another_connection(database: str) -> str:
    """One row: `held` 1 where entering `database` fails with error 924 (SINGLE_USER, and another connection holds its
    one connection), so a batch that reads its tables cannot; 0 where it may be entered, or is not ONLINE and
    SINGLE_USER, or entering it fails otherwise (a login without access: 916). Run from master. Not asked of
    HAS_DBACCESS, which "returns 0 if the database is in single-user mode and the database is in use by another
    user" (Microsoft) as for a login without access."""
    return (
        "SET NOCOUNT ON;\nCREATE TABLE #held (held int NOT NULL);\n"
        "BEGIN TRY\n"
        "    IF EXISTS (SELECT 1 FROM sys.databases WHERE name = %s AND state_desc = N'ONLINE' AND user_access_desc = N'SINGLE_USER')\n"
        "        %s N'SET NOCOUNT ON;';\n"
        "END TRY\n"
        "BEGIN CATCH\n"
        "    IF ERROR_NUMBER() = 924\n"
        "        INSERT INTO #held (held) VALUES (1);\n"
        "END CATCH;\n"
        "SELECT COUNT(*) AS held FROM #held;" % (quote_literal(database), _executesql(database, "master"))
    )


def parse_held(rows: Sequence[Mapping[str, Any]]) -> bool:
    return bool(rows) and _as_bool(rows[0]["held"])


def _read_freeze_marker(database: str) -> str:
    """Into #freeze_marker (readable, marker): one row when read (readable 1 only where the login
    sees the database's metadata), none when it could not be. A property of NULL value (a marker
    the DAG did not write: @value defaults to NULL) reads '', so it is never taken for no marker."""
    literal = quote_literal(database)
    inside = (
        "INSERT INTO #freeze_marker (readable, marker) SELECT HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', N'VIEW DEFINITION'), "
        "(SELECT ISNULL(CONVERT(nvarchar(4000), value), N'') FROM sys.extended_properties WHERE class = 0 AND name = %s);"
        % quote_literal(FREEZE_MARKER)
    )
    return (
        "CREATE TABLE #freeze_marker (readable int NULL, marker nvarchar(4000) NULL);\n"
        "BEGIN TRY\n"
        "    IF EXISTS (SELECT 1 FROM sys.databases WHERE name = %s AND state_desc = N'ONLINE') AND HAS_DBACCESS(%s) = 1\n"
        "        %s %s;\n"
        "END TRY\n"
        "BEGIN CATCH\n"
        "END CATCH;" % (literal, literal, _executesql(database, "master"), quote_literal(inside))
    )


def _freeze_marker_change(database: str, procedure: str, marker: str) -> str:
    """Inside `database`: add `marker` unless a marker is there, or drop the marker if it is `marker`."""
    name = quote_literal(FREEZE_MARKER)
    if procedure == "add":
        inside = (
            "IF NOT EXISTS (SELECT 1 FROM sys.extended_properties WHERE class = 0 AND name = %s)\n"
            "    EXEC sys.sp_addextendedproperty @name = %s, @value = %s;" % (name, name, quote_literal(marker))
        )
    else:
        inside = (
            "IF EXISTS (SELECT 1 FROM sys.extended_properties WHERE class = 0 AND name = %s "
            "AND CONVERT(nvarchar(4000), value) COLLATE %s = %s)\n"
            "    EXEC sys.sp_dropextendedproperty @name = %s;" % (name, MARKER_COLLATION, quote_literal(marker), name)
        )
    return "%s %s;" % (_executesql(database, "master"), quote_literal(inside))


@dataclass(frozen=True)
class SourceIdentity:
    """Which physical database a source is, whatever host name reached its server (`source_claims`)."""

    server_name: str  # the server's own name: MACHINE or MACHINE\INSTANCE (a cluster's virtual name)
    database_guid: str  # upper-case, as CONVERT(nvarchar(36), uniqueidentifier) writes it


def source_facts(database: str) -> str:
    """What `preflight` reads of its source, in one batch (through Data Factory one pipeline run):
    `source_state`'s row (no row when the database does not exist) with the source's identity, its
    log-backup base and whether it is in an availability group or a mirroring session
    (`parse_source_facts`). Each part reads as it would alone: the freeze marker never fails the batch,
    and a part the login may not see comes back NULL, not as an error."""
    return "SET NOCOUNT ON;\n%s\n%s\n%s" % (
        _read_freeze_marker(database), _read_availability_group(database),
        _database_state_row(database, _FREEZE_MARKER_COLUMNS + _identity_columns(database) + _partnership_columns(database)))


def _read_availability_group(database: str) -> str:
    """Into #availability_group (joined): 1 where the database belongs to an Always On availability group
    (`sys.databases.group_database_id` is set), else 0; no row before SQL Server 2012 (no such column, and no
    availability groups): named only in dynamic SQL behind the version check, so the batch compiles there."""
    inside = ("INSERT INTO #availability_group (joined) SELECT CASE WHEN d.group_database_id IS NULL THEN 0 ELSE 1 END "
              "FROM sys.databases AS d WHERE d.name = %s;" % quote_literal(database))
    return (
        "CREATE TABLE #availability_group (joined int NULL);\n"
        "IF ISNULL(CONVERT(int, SERVERPROPERTY('ProductMajorVersion')), 0) >= 11\n"
        "    %s %s;" % (_executesql("master", "master"), quote_literal(inside))
    )


def _partnership_columns(database: str) -> Tuple[str, ...]:
    """Whether the database is in an availability group (`_read_availability_group`), and its role in a database
    mirroring session (`sys.database_mirroring.mirroring_role_desc`, PRINCIPAL or MIRROR; NULL where it is not
    mirrored, or its row is hidden from the login: it needs VIEW ANY DATABASE, granted to public by default, ALTER
    ANY DATABASE or CREATE DATABASE, or owning the database)."""
    return (
        "(SELECT TOP (1) joined FROM #availability_group) AS availability_group",
        "(SELECT m.mirroring_role_desc FROM sys.database_mirroring AS m WHERE m.database_id = DB_ID(%s)) AS mirroring_role"
        % quote_literal(database),
    )


def _identity_columns(database: str) -> Tuple[str, ...]:
    """The server's own name, and the database's `database_guid` and `last_log_backup_lsn`
    (`sys.database_recovery_status`; NULL where its row is hidden from the login, as in a query of
    the view alone).

    The server's name: `@@SERVERNAME` is "the currently configured local server name" (changed only
    by sp_dropserver and sp_addserver, then a restart); `SERVERPROPERTY('ServerName')`, "the Windows
    server and instance name that together make up the unique server instance", stands in where it
    is NULL (a server dropped without one added). Either is the instance's own name: a DNS alias, an
    IP address, a short name or an FQDN, an Availability Group listener reaching it all read the same.

    `database_guid`: "Only one database should ever have this GUID, but duplicates can be created by
    copying and attaching databases. RESTORE always generates a new GUID when you restore a database
    that does not yet exist" (Microsoft's page of the view), so with the server's name it tells one
    database from a copy attached on another server; NULL where the database is not ONLINE.

    `last_log_backup_lsn`: where the next log backup of the database starts; NULL when no log backup
    can be taken, in SIMPLE recovery or in FULL without a full backup since the log chain began or
    broke (BACKUP LOG fails with error 4214).

    Seeing the view's row of a database one does not own needs VIEW ANY DATABASE (granted to public
    by default), ALTER ANY DATABASE or CREATE DATABASE."""
    recovery_status = (
        "(SELECT CONVERT(%s, r.%s) FROM sys.database_recovery_status AS r WHERE r.database_id = DB_ID(%s)) AS %s")
    literal = quote_literal(database)
    return (
        "ISNULL(@@SERVERNAME, CONVERT(nvarchar(128), SERVERPROPERTY('ServerName'))) AS server_name",
        recovery_status % ("nvarchar(36)", "database_guid", literal, "database_guid"),
        recovery_status % ("varchar(40)", "last_log_backup_lsn", literal, "last_log_backup_lsn"),
    )


def parse_source_identity(rows: Sequence[Mapping[str, Any]]) -> Optional[SourceIdentity]:
    """None where it cannot be told: no row, no server name or no guid."""
    if not rows or not rows[0].get("server_name") or not rows[0].get("database_guid"):
        return None
    return SourceIdentity(server_name=str(rows[0]["server_name"]).strip(), database_guid=str(rows[0]["database_guid"]).strip().upper())


def parse_log_backup_base(rows: Sequence[Mapping[str, Any]]) -> Optional[str]:
    if not rows or rows[0]["last_log_backup_lsn"] is None:
        return None
    return str(rows[0]["last_log_backup_lsn"])


@dataclass(frozen=True)
class SourceFacts:
    """What `source_facts` read."""

    state: Optional[DatabaseState]  # with the freeze marker; None: no database of that name
    identity: Optional[SourceIdentity]  # None where it cannot be told
    log_backup_base: Optional[str]  # None: no log backup of the source can be taken now
    # SQL Server refuses to freeze a database in an availability group or a mirroring session (`freeze`):
    in_availability_group: bool = False  # False also where it cannot be told (before SQL Server 2012)
    mirroring_role: Optional[str] = None  # PRINCIPAL, MIRROR; None: not mirrored, or hidden from the login


def parse_source_facts(rows: Sequence[Mapping[str, Any]]) -> SourceFacts:
    row = rows[0] if rows else {}
    joined, role = row.get("availability_group"), row.get("mirroring_role")
    return SourceFacts(parse_database_state(rows), parse_source_identity(rows), parse_log_backup_base(rows),
                       in_availability_group=joined is not None and _as_bool(joined),
                       mirroring_role=None if role is None else str(role))


def product_major_version() -> str:
    """The server's major version (16: SQL Server 2022); NULL before SQL Server 2012. Azure SQL
    Database and Managed Instance report 12 whatever their engine: compare SQL Server with SQL Server."""
    return "SELECT CONVERT(int, SERVERPROPERTY('ProductMajorVersion')) AS product_major_version;"


def parse_product_major_version(rows: Sequence[Mapping[str, Any]]) -> Optional[int]:
    if not rows or rows[0]["product_major_version"] is None:
        return None
    return int(rows[0]["product_major_version"])


# --- what DMS needs of the servers (`migration_prerequisites`) ----------------------------------

DATABASE_PERMISSIONS = ("SELECT", "CONTROL")
PAGES_PER_MB = 128  # sys.master_files.size counts 8-KB pages


@dataclass(frozen=True)
class LoginPermission:
    login_name: str  # SUSER_SNAME(): the login the session runs as
    granted: bool  # HAS_PERMS_BY_NAME, effective (roles, groups and higher permissions count)
    read_as_masks: Optional[int] = None  # the database's masked columns it reads as their masks (None: not read)


def database_permission(database: str, permission: str, connected_database: str = "master", masking: bool = False) -> str:
    """Whether this session's login holds a permission on `database` (evaluated inside it, where
    its user lives); a login without access to the database holds none. With `masking` (SQL Server
    2016 on, Azure SQL: sys.masked_columns) also how many columns it sees under dynamic data masking
    there, and whether it holds UNMASK (columns masked_columns, unmask)."""
    if permission not in DATABASE_PERMISSIONS:
        raise StatementError("database permission must be one of %s, got %r" % (", ".join(DATABASE_PERMISSIONS), permission))
    masks = (", (SELECT COUNT_BIG(*) FROM sys.masked_columns AS m WHERE m.is_masked = 1) AS masked_columns, "
             "%s AS unmask" % _database_permission_held("UNMASK")) if masking else ""
    inside = "SELECT SUSER_SNAME() AS login_name, %s AS has_permission%s;" % (_database_permission_held(permission), masks)
    if database == connected_database:
        return inside
    return (
        "SET NOCOUNT ON;\n"
        "IF HAS_DBACCESS(%s) = 1\n"
        "    %s %s;\n"
        "ELSE\n"
        "    SELECT SUSER_SNAME() AS login_name, 0 AS has_permission%s;"
        % (quote_literal(database), _executesql(database, connected_database), quote_literal(inside),
           ", NULL AS masked_columns, NULL AS unmask" if masking else "")
    )


def _database_permission_held(permission: str) -> str:
    return "HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', %s)" % quote_literal(permission)


def parse_login_permission(rows: Sequence[Mapping[str, Any]]) -> LoginPermission:
    row = rows[0]
    masked = row.get("masked_columns")
    return LoginPermission(
        login_name=str(row["login_name"]), granted=row["has_permission"] is not None and _as_bool(row["has_permission"]),
        read_as_masks=None if masked is None else 0 if _as_bool(row.get("unmask")) else int(masked))


def _if_permitted(server_permission: str, query: str, unknown: str) -> str:
    """`query` where the session's login holds `server_permission`, else `unknown` (a statement giving
    NULL): what the login may not see is not judged."""
    return "IF HAS_PERMS_BY_NAME(NULL, NULL, %s) = 1\n    %s\nELSE\n    %s" % (quote_literal(server_permission), query, unknown)


def server_keys_matching(thumbprint: str) -> str:
    """How many keys in master can open a database encryption key of that thumbprint: certificates
    holding their private key, and asymmetric keys (an EKM provider's). Run from master. NULL where
    the login does not see every key (metadata visibility: VIEW ANY DEFINITION)."""
    if not re.match(r"^0x[0-9A-Fa-f]{2,64}$", thumbprint or ""):
        raise StatementError("a thumbprint is 0x and hex digits, got %r" % (thumbprint,))
    literal = quote_literal(thumbprint)
    return _if_permitted("VIEW ANY DEFINITION", (
        "SELECT (SELECT COUNT(*) FROM sys.certificates WHERE CONVERT(varchar(66), thumbprint, 1) = %(t)s "
        "AND pvt_key_encryption_type <> 'NA') + (SELECT COUNT(*) FROM sys.asymmetric_keys "
        "WHERE CONVERT(varchar(66), thumbprint, 1) = %(t)s) AS matching_keys;" % {"t": literal}
    ), "SELECT NULL AS matching_keys;")


def parse_server_keys_matching(rows: Sequence[Mapping[str, Any]]) -> Optional[int]:
    """None: the login may not see them all."""
    if not rows:
        return 0
    return None if rows[0]["matching_keys"] is None else int(rows[0]["matching_keys"])


@dataclass(frozen=True)
class FileSizes:
    """A database's files (MB, each kind rounded up): a restore creates them at these sizes."""

    data_mb: int  # rows, FILESTREAM and full-text files: into the default data path
    log_mb: int  # into the default log path

    @property
    def total_mb(self) -> int:
        return self.data_mb + self.log_mb


def database_file_sizes(databases: Sequence[str]) -> str:
    """The data and log files (8-KB pages) of each of `databases` that exists, one row each. Rows of
    sys.master_files are shown only to a login with CREATE DATABASE, ALTER ANY DATABASE or VIEW ANY
    DEFINITION: without, a database's pages come back NULL. FILESTREAM containers count 0 there."""
    if not databases:
        raise StatementError("name at least one database")
    return "SELECT d.name AS database_name, %s AS data_pages, %s AS log_pages FROM sys.databases AS d WHERE d.name IN (%s);" % (
        _FILE_PAGES % "<>", _FILE_PAGES % "=", ", ".join(quote_literal(database) for database in databases))


# A database's data (type <> 1) or log (type = 1) files in pages, by `d.database_id`; NULL where not visible.
_FILE_PAGES = "(SELECT SUM(CONVERT(bigint, f.size)) FROM sys.master_files AS f WHERE f.database_id = d.database_id AND f.type %s 1)"


def parse_database_file_sizes(rows: Sequence[Mapping[str, Any]]) -> Dict[str, FileSizes]:
    """Lower-cased database name -> its files; a database missing, or whose files the login may not
    see, is left out."""
    return {
        str(row["database_name"]).lower(): FileSizes(_pages_as_mb(row["data_pages"]), _pages_as_mb(row["log_pages"]))
        for row in rows if row["data_pages"] is not None and row["log_pages"] is not None
    }


# What the prerequisite checks of a new migration read of its source (`source_prerequisites`): one row
# per fact, in one result set (a Data Factory Lookup returns one), as `restore_room`'s.
LOGIN_FACT = "login"  # name: the session's login; amount: whether it holds what DMS's login needs
FULL_BACKUP_FACT = "full_backup"  # ordinal: its backup_set_id; name: its file; amount: taken WITH CHECKSUM
DATA_PAGES, LOG_PAGES = "data_pages", "log_pages"  # amount: the database's files (NULL: not visible)
ENCRYPTOR_FACT = "encryptor_thumbprint"  # name: 0x hex (NULL: not visible); no row: no database encryption key
VERSION_FACT = "product_major_version"  # amount
TABLE_FACT = "table"  # name: its schema; detail: its name
TABLE_COUNT_FACT = "table_count"  # amount: the database's user tables (a restore's)
MASKED_FACT = "masked_columns"  # amount: the database's columns under dynamic data masking (that the login sees)
MASKED_COLUMN_FACT = "masked_column"  # name: its table's schema; detail: its table (`_MASKED_COLUMNS_SOURCE`)
UNMASK_FACT = "unmask"  # amount: whether the login holds UNMASK in the database (it reads masked columns unmasked)
SEQUENCE_FACT = "sequence"  # name: its schema; detail: its name; amount: current_value; ordinal: increment (a copy's)
# From SQL Server 2017 (and on Azure SQL) a sequence's fact tells whether it handed out a value (last_used_value).
SEQUENCE_USED_FACT, SEQUENCE_UNUSED_FACT = "sequence_used", "sequence_unused"
SEES_EVERY_SEQUENCE_FACT = "sees_every_sequence"  # amount 1: the login sees every sequence (`_SEES_EVERY_SEQUENCE`)
UNREAD_FACT = "unread"  # name: a part that failed (`PREREQUISITE_PARTS`); detail: its error
PREREQUISITE_PARTS = ("login", "full_backups", "tables", "table_count", "masked_columns", "sequences")  # the parts that can fail; the others give NULL
_PREREQUISITE_FACTS = "#prerequisites"
_PREREQUISITE_COLUMNS = "fact, ordinal, name, detail, amount"


def source_prerequisites(database: str, target_kind: str, full_backups: bool) -> str:
    """What the prerequisite checks of a new migration (`migration_prerequisites`) read of its source
    database, in one batch run from master (through Data Factory one pipeline run). Each part reads as
    it would alone: what the login may not see comes back NULL or left out, and a part that fails (msdb's
    history refused, the database refusing the login) leaves its error (`UNREAD_FACT`), the others read.

    A restore (SqlMi, SqlVm): whether the session's login holds CONTROL SERVER (sysadmin holds every
    permission); how many user tables the database has; with `full_backups`, the newest full backups in msdb's history (file, and whether taken
    WITH CHECKSUM: DMS restores no full backup without); the database's data and log files
    (`database_file_sizes`). A SQL VM's also: the thumbprint (0x hex) of the server certificate or
    asymmetric key protecting the database encryption key (TDE; the view needs VIEW SERVER STATE):
    backups taken while it has one restore only where that certificate, with its private key, or that
    asymmetric key is; and the server's major version (`product_major_version`).
    A copy (SqlDb): whether the login holds SELECT on the database (evaluated inside it, where its
    user lives; a login without access to it holds none), the database's user tables, and its sequences
    (those the login may see: VIEW DEFINITION on the database shows them all) with whether it sees them all
    (`_SEES_EVERY_SEQUENCE`).
    Either: how many of its columns are under dynamic data masking, and the tables holding them
    (`_MASKED_COLUMNS_SOURCE`), and whether the login holds UNMASK there (without, it reads them as their
    masks: DMS's copy, validation's checksums)."""
    if target_kind not in ("SqlMi", "SqlVm", "SqlDb"):
        raise StatementError("a target is SqlMi, SqlVm or SqlDb, not %r" % (target_kind,))
    literal, inside = quote_literal(database), _executesql(database, "master")
    facts = "INSERT INTO %s (%s) " % (_PREREQUISITE_FACTS, _PREREQUISITE_COLUMNS)
    lines = [
        "SET NOCOUNT ON;",
        "CREATE TABLE %s (fact varchar(32) NOT NULL, ordinal bigint NULL, name nvarchar(260) NULL, "
        "detail nvarchar(4000) NULL, amount bigint NULL);" % _PREREQUISITE_FACTS,
    ]
    if target_kind == "SqlDb":
        held = facts + "SELECT N'login', NULL, SUSER_SNAME(), NULL, %s;" % _database_permission_held("SELECT")
        # HAS_DBACCESS is 0 also for a SINGLE_USER database another connection holds: entered, that fails (924, unread).
        lines.append(_unless_failing("login", (
            "IF HAS_DBACCESS(%s) = 1 OR EXISTS (SELECT 1 FROM sys.databases WHERE name = %s AND user_access_desc = N'SINGLE_USER')\n"
            "        %s %s;\n    ELSE\n        %sVALUES (N'login', NULL, SUSER_SNAME(), NULL, 0);"
            % (literal, literal, inside, quote_literal(held), facts))))
        tables = facts + "SELECT N'table', NULL, s.name, t.name, NULL %s;" % _USER_TABLES_SOURCE
        lines.append(_unless_failing("tables", "%s %s;" % (inside, quote_literal(tables))))
        # Before SQL Server 2012 there is no sys.sequences (208: unread), nor sequences; one beyond bigint: unread.
        read = facts + ("SELECT %s, CONVERT(bigint, q.increment), SCHEMA_NAME(q.schema_id), q.name, "
                        "CONVERT(bigint, q.current_value) FROM sys.sequences AS q; ") + facts + (
            "SELECT N'%s', NULL, NULL, NULL, CASE WHEN %s THEN 1 ELSE 0 END;"
            % (SEES_EVERY_SEQUENCE_FACT, _SEES_EVERY_SEQUENCE)).replace("%", "%%")
        by_use = "CASE WHEN q.last_used_value IS NULL THEN N'%s' ELSE N'%s' END" % (
            SEQUENCE_UNUSED_FACT, SEQUENCE_USED_FACT)
        lines.append(_unless_failing("sequences", "IF %s\n        %s %s;\n    ELSE\n        %s %s;" % (
            _SQL_SERVER_2017_OR_AZURE, inside, quote_literal(read % by_use), inside,
            quote_literal(read % ("N'%s'" % SEQUENCE_FACT)))))
    else:
        lines.append(facts + "VALUES (N'login', NULL, SUSER_SNAME(), NULL, HAS_PERMS_BY_NAME(NULL, NULL, N'CONTROL SERVER'));")
        if full_backups:
            lines.append(_unless_failing("full_backups", (
                facts + "SELECT TOP (%d) N'full_backup', b.backup_set_id, m.physical_device_name, NULL, "
                "CONVERT(int, b.has_backup_checksums) %s WHERE b.database_name = %s AND b.type = 'D' ORDER BY b.backup_set_id DESC;"
                % (RECENT_FULL_BACKUPS, _BACKUP_SOURCE, literal))))
        counted = facts + "SELECT N'%s', NULL, NULL, NULL, COUNT_BIG(*) %s;" % (TABLE_COUNT_FACT, _USER_TABLES_SOURCE)
        lines.append(_unless_failing("table_count", "%s %s;" % (inside, quote_literal(counted))))
        for fact, kind in ((DATA_PAGES, "<>"), (LOG_PAGES, "=")):
            lines.append(facts + "SELECT %s, NULL, NULL, NULL, %s FROM sys.databases AS d WHERE d.name = %s;"
                         % (quote_literal(fact), _FILE_PAGES % kind, literal))
        if target_kind == "SqlVm":
            lines.append(_if_permitted("VIEW SERVER STATE", (
                facts + "SELECT N'encryptor_thumbprint', NULL, CONVERT(varchar(66), k.encryptor_thumbprint, 1), NULL, NULL "
                "FROM sys.dm_database_encryption_keys AS k WHERE k.database_id = DB_ID(%s);" % literal
            ), facts + "VALUES (N'encryptor_thumbprint', NULL, NULL, NULL, NULL);"))
            lines.append(facts + "VALUES (N'product_major_version', NULL, NULL, NULL, CONVERT(int, SERVERPROPERTY('ProductMajorVersion')));")
    # Before SQL Server 2016 there is no sys.masked_columns (208: unread, not judged), and no masking.
    masked = facts + (
        "SELECT N'%s', NULL, NULL, NULL, COUNT_BIG(*) FROM sys.masked_columns AS m WHERE m.is_masked = 1; "
        "%sSELECT TOP (%d) N'%s', NULL, s.name, t.name, NULL %s; "
        "%sVALUES (N'%s', NULL, NULL, NULL, ISNULL(HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', N'UNMASK'), 0));"
        % (MASKED_FACT, facts, MASKED_COLUMNS_READ + 1, MASKED_COLUMN_FACT, _MASKED_COLUMNS_SOURCE, facts, UNMASK_FACT))
    lines.append(_unless_failing("masked_columns", "%s %s;" % (inside, quote_literal(masked))))
    lines.append("SELECT %s FROM %s ORDER BY fact, ordinal DESC, name, detail;" % (_PREREQUISITE_COLUMNS, _PREREQUISITE_FACTS))
    return "\n".join(lines)


def _unless_failing(part: str, statement: str) -> str:
    """`statement` in a TRY: an error leaves `part` unread with its message, and the batch goes on."""
    return "BEGIN TRY\n    %s\nEND TRY\nBEGIN CATCH\n    INSERT INTO %s (%s) VALUES (N'unread', NULL, %s, ERROR_MESSAGE(), NULL);\nEND CATCH;" % (
        statement, _PREREQUISITE_FACTS, _PREREQUISITE_COLUMNS, quote_literal(part))


@dataclass(frozen=True)
class SourcePrerequisites:
    """What `source_prerequisites` read; a part not asked for is empty or None."""

    login: Optional[LoginPermission]
    full_backups: Tuple[Tuple[str, bool], ...] = ()  # (file, taken WITH CHECKSUM), newest first
    file_sizes: Optional[FileSizes] = None  # None: the database's files not visible to the login
    encryption_thumbprint: Optional[str] = None  # None: no database encryption key, or not visible
    product_major_version: Optional[int] = None
    tables: Tuple[TableName, ...] = ()
    table_count: Optional[int] = None  # a restore's user tables (None: not read)
    masked_columns: Optional[int] = None  # the database's columns under dynamic data masking (None: not read)
    masked_tables: Optional[Tuple[MaskedTable, ...]] = None  # the user tables holding them (None: not read, cut off)
    unmask: Optional[bool] = None  # whether the login holds UNMASK in the database (None: not read)
    sequences: Tuple[SequenceValue, ...] = ()  # a copy's
    sees_every_sequence: Optional[bool] = None  # a copy's: whether the login sees every sequence (None: not read)
    unread: Mapping[str, str] = field(default_factory=dict)  # part -> the error it met

    def read(self, part: str) -> Any:
        """The part, or, where it failed, its error raised as a read of it alone would have (`SqlOperationFailed`)."""
        if part in self.unread:
            raise SqlOperationFailed("the source's %s could not be read: %s" % (part.replace("_", " "), self.unread[part]))
        return getattr(self, part)

    @property
    def read_as_masks(self) -> int:
        """The masked columns the login reads as their masks (0 where that part is unread: before SQL Server 2016)."""
        if "masked_columns" in self.unread or self.unmask:
            return 0
        return self.masked_columns or 0


def parse_source_prerequisites(rows: Sequence[Mapping[str, Any]]) -> SourcePrerequisites:
    facts: Dict[str, List[Mapping[str, Any]]] = {}
    for row in rows:
        facts.setdefault(str(row["fact"]), []).append(row)

    def first(fact: str, column: str) -> Any:
        return facts[fact][0][column] if facts.get(fact) else None

    login = facts.get(LOGIN_FACT)
    pages = (first(DATA_PAGES, "amount"), first(LOG_PAGES, "amount"))
    version = first(VERSION_FACT, "amount")
    backups = sorted(facts.get(FULL_BACKUP_FACT, ()), key=lambda row: int(row["ordinal"]), reverse=True)
    return SourcePrerequisites(
        login=parse_login_permission([{"login_name": login[0]["name"], "has_permission": login[0]["amount"]}]) if login else None,
        full_backups=tuple((str(row["name"]), _as_bool(row["amount"])) for row in backups),
        file_sizes=None if None in pages else FileSizes(_pages_as_mb(pages[0]), _pages_as_mb(pages[1])),
        encryption_thumbprint=None if first(ENCRYPTOR_FACT, "name") is None else str(first(ENCRYPTOR_FACT, "name")),
        product_major_version=None if version is None else int(version),
        tables=tuple(TableName(str(row["name"]), str(row["detail"])) for row in facts.get(TABLE_FACT, ())),
        table_count=None if first(TABLE_COUNT_FACT, "amount") is None else int(first(TABLE_COUNT_FACT, "amount")),
        masked_columns=None if first(MASKED_FACT, "amount") is None else int(first(MASKED_FACT, "amount")),
        masked_tables=None if MASKED_FACT not in facts else parse_masked_tables(
            [{"schema_name": row["name"], "table_name": row["detail"]} for row in facts.get(MASKED_COLUMN_FACT, ())]),
        unmask=None if first(UNMASK_FACT, "amount") is None else _as_bool(first(UNMASK_FACT, "amount")),
        sequences=tuple(SequenceValue(TableName(str(row["name"]), str(row["detail"])), int(row["amount"]),
                                      int(row["ordinal"]), used)
                        for fact, used in ((SEQUENCE_FACT, None), (SEQUENCE_USED_FACT, True),
                                           (SEQUENCE_UNUSED_FACT, False))
                        for row in facts.get(fact, ())),
        sees_every_sequence=None if first(SEES_EVERY_SEQUENCE_FACT, "amount") is None
        else _as_bool(first(SEES_EVERY_SEQUENCE_FACT, "amount")),
        unread={str(row["name"]): str(row["detail"]) for row in facts.get(UNREAD_FACT, ())},
    )


# What a restore target has room for (`restore_room`): one row per fact, so that the databases
# present are read first, in the same batch as the room they take (a restore that begins between
# the two is counted twice, never missed).
DATABASE_FACT = "database"  # name: a database of the restores that exists on the target
SEES_EVERY_DATABASE = "sees_every_database"  # amount 1: the login sees every database (VIEW ANY DATABASE)
CONTROLS_SERVER = "controls_server"  # name: the session's login; amount 1: it holds CONTROL SERVER (sysadmin holds all)
RESERVED_MB, REPORTED_USED_MB, FILES_PAGES = "reserved_mb", "reported_used_mb", "files_pages"  # a managed instance's
DATA_PATH, LOG_PATH, VOLUME = "data_path", "log_path", "volume"  # a SQL Server's; volume: name its root, amount free bytes
BYTES_PER_MB = 1024 * 1024
_ROOM_FACTS = "#restore_room"


def restore_room(target_kind: str, databases: Sequence[str]) -> str:
    """What a SqlMi or SqlVm target has room for, and which of `databases` (the restores' target
    databases) it has already: their files are in that room's use. Facts a login may not read are
    left out (`RestoreRoom`). And whether the session's login holds CONTROL SERVER there: what gives it
    UNMASK in a database restored there that can be judged before the restore (validation's checksums).

    Managed instance: its latest storage report (`sys.server_resource_stats`: reserved storage and
    what all database files use; collected every 5 to 10 minutes) and its files now
    (`sys.master_files` without tempdb: General Purpose keeps tempdb on local SSD, not on the
    reserved storage, and left out the sum stays at most what the files use in either tier).
    SQL Server: its default data and log paths (`SERVERPROPERTY('InstanceDefaultDataPath')`, SQL
    Server 2012 and later in updates from late 2015) and the free space of its volumes: those that
    hold a database file (`sys.dm_os_volume_stats`, 2008 R2 SP1 and later) and, from SQL Server 2017
    CU1, every volume mounted to a drive letter (`sys.dm_os_enumerate_fixed_drives`, in a TRY: a
    name earlier versions refuse to compile)."""
    if target_kind not in ("SqlMi", "SqlVm"):
        raise StatementError("restores go to SqlMi or SqlVm targets, not %r" % (target_kind,))
    if not databases:
        raise StatementError("name at least one database")
    facts = "INSERT INTO %s (fact, name, amount) " % _ROOM_FACTS
    lines = [
        "SET NOCOUNT ON;",
        "CREATE TABLE %s (fact varchar(32) NOT NULL, name nvarchar(512) NULL, amount bigint NULL);" % _ROOM_FACTS,
        facts + "SELECT %s, name, database_id FROM sys.databases WHERE name IN (%s);"
        % (quote_literal(DATABASE_FACT), ", ".join(quote_literal(database) for database in databases)),
        facts + "VALUES (%s, NULL, HAS_PERMS_BY_NAME(NULL, NULL, N'VIEW ANY DATABASE'));" % quote_literal(SEES_EVERY_DATABASE),
        facts + "VALUES (%s, SUSER_SNAME(), HAS_PERMS_BY_NAME(NULL, NULL, N'CONTROL SERVER'));"
        % quote_literal(CONTROLS_SERVER),
        "IF HAS_PERMS_BY_NAME(NULL, NULL, N'VIEW SERVER STATE') = 1",
        "BEGIN",
    ]
    if target_kind == "SqlMi":
        report = "SELECT TOP (1) %s, NULL, %s FROM sys.server_resource_stats ORDER BY start_time DESC;"
        lines += [
            "    " + facts + report % (quote_literal(RESERVED_MB), "reserved_storage_mb"),
            "    " + facts + report % (quote_literal(REPORTED_USED_MB), "CONVERT(bigint, storage_space_used_mb)"),
            "    " + facts + "SELECT %s, NULL, SUM(CONVERT(bigint, f.size)) FROM sys.master_files AS f WHERE f.database_id <> 2;"
            % quote_literal(FILES_PAGES),
            "END;",
        ]
    else:
        fixed_drives = facts + "SELECT %s, fixed_drive_path, free_space_in_bytes FROM sys.dm_os_enumerate_fixed_drives;" % (
            quote_literal(VOLUME))
        lines += [
            "    BEGIN TRY",  # a file the function cannot read (its database offline, say) leaves its volumes unjudged
            "        " + facts + "SELECT DISTINCT %s, v.volume_mount_point, v.available_bytes FROM sys.master_files AS f "
            "CROSS APPLY sys.dm_os_volume_stats(f.database_id, f.file_id) AS v;" % quote_literal(VOLUME),
            "    END TRY",
            "    BEGIN CATCH",
            "    END CATCH;",
            "    BEGIN TRY",
            "        EXEC sys.sp_executesql %s;" % quote_literal(fixed_drives),
            "    END TRY",
            "    BEGIN CATCH",
            "    END CATCH;",
            "END;",
            facts + "VALUES (%s, CONVERT(nvarchar(512), SERVERPROPERTY('InstanceDefaultDataPath')), NULL), "
            "(%s, CONVERT(nvarchar(512), SERVERPROPERTY('InstanceDefaultLogPath')), NULL);" % (quote_literal(DATA_PATH), quote_literal(LOG_PATH)),
        ]
    lines.append("SELECT fact, name, amount FROM %s;" % _ROOM_FACTS)
    return "\n".join(lines)


@dataclass(frozen=True)
class Volume:
    root: str  # its mount point: C:\\, or a folder a volume is mounted to
    free_mb: int


@dataclass(frozen=True)
class RestoreRoom:
    """What `restore_room` read; None (or empty) where the login may not read it."""

    present: Optional[FrozenSet[str]]  # lower-cased names of the restores' databases there; None: not every database is visible
    reserved_mb: Optional[int] = None  # managed instance
    used_mb: Optional[int] = None  # managed instance: the larger of its report and its files now
    data_path: Optional[str] = None  # SQL Server
    log_path: Optional[str] = None
    volumes: Tuple[Volume, ...] = ()
    login: Optional[LoginPermission] = None  # whether the session's login holds CONTROL SERVER there

    def volume_of(self, path: Optional[str]) -> Optional[Volume]:
        """The volume holding `path`: the one of the longest root the path begins with (Windows
        compares paths without regard to case). None when no volume seen holds it. A folder mount
        point no database file is on yet is not seen: its parent volume is taken for it."""
        if not path:
            return None
        holding = [v for v in self.volumes if _normalised_path(path).startswith(_normalised_path(v.root))]
        return max(holding, key=lambda v: len(v.root)) if holding else None


def parse_restore_room(rows: Sequence[Mapping[str, Any]]) -> RestoreRoom:
    facts: Dict[str, List[Tuple[Any, Any]]] = {}
    for row in rows:
        facts.setdefault(str(row["fact"]), []).append((row["name"], row["amount"]))

    def amount(fact: str) -> Optional[int]:
        found = [value for _, value in facts.get(fact, ()) if value is not None]
        return int(found[0]) if found else None

    def name(fact: str) -> Optional[str]:
        found = [value for value, _ in facts.get(fact, ()) if value]
        return str(found[0]) if found else None

    sees_every_database = amount(SEES_EVERY_DATABASE) == 1
    reported, files_pages = amount(REPORTED_USED_MB), amount(FILES_PAGES)
    volumes: Dict[str, Volume] = {}  # a volume seen twice (its files, its drive letter): the lesser free space
    for root, free_bytes in facts.get(VOLUME, ()):
        if root and free_bytes is not None and re.match(r"^([A-Za-z]:\\|\\\\)", str(root)):  # Windows paths only: Linux reports no mount point
            seen = volumes.get(_normalised_path(str(root)))
            free_mb = int(free_bytes) // BYTES_PER_MB
            volumes[_normalised_path(str(root))] = Volume(str(root), free_mb if seen is None else min(seen.free_mb, free_mb))
    return RestoreRoom(
        present=frozenset(str(value).lower() for value, _ in facts.get(DATABASE_FACT, ())) if sees_every_database else None,
        reserved_mb=amount(RESERVED_MB),
        used_mb=None if reported is None else max(reported, _pages_as_mb(files_pages or 0)),
        data_path=name(DATA_PATH),
        log_path=name(LOG_PATH),
        volumes=tuple(volumes[root] for root in sorted(volumes)),
        login=parse_login_permission([{"login_name": name(CONTROLS_SERVER), "has_permission": amount(CONTROLS_SERVER)}])
        if name(CONTROLS_SERVER) else None,
    )


def _normalised_path(path: str) -> str:
    return path.replace("/", "\\").lower()


def _pages_as_mb(pages: Any) -> int:
    return -(-int(pages) // PAGES_PER_MB)  # rounded up: a restore needs every page


def freeze(database: str, mode: str, marker: Optional[str] = None, earlier_markers: Sequence[str] = ()) -> str:
    """Stop writes before the final backup (the plan's `sourceFreeze`): READ_ONLY (readers go on), or
    READ_ONLY and SINGLE_USER (every other connection closed too). SINGLE_USER alone would not stop
    writes: the one connection it allows may be an application's, not ours (we run from master).

    `marker` (the freeze marker's value, `FREEZE_MARKER`): written into the database in the same
    batch, just before its SET READ_ONLY (a read-only database refuses it); a marker already there
    that is not `marker` (another plan's, or one that disagrees) leaves the database as it is. The
    write runs in a TRY: SQL Server runs the rest of a batch after a failed statement (the
    procedure's errors are RAISERRORs, which XACT_ABORT does not stop), so without it a refused
    marker would still freeze; the CATCH re-throws, which ends the batch before the SET READ_ONLY,
    and the error reaches the DAG. The ALTER stays outside the TRY: a CATCH sees only an ALTER's last error (5069 "ALTER DATABASE
    statement failed"), and outside it its cause (5061, 5070, ...) reaches the DAG. For the same
    reason singleUser sets SINGLE_USER only where the database is read-only by then: after a
    refused SET READ_ONLY it would close every other connection and leave the source writable by
    whichever one connection comes first (an application's, which then keeps the unfreeze out: 5064).
    `earlier_markers`: the texts versions before wrote for the same freeze (`source_freeze.earlier_freeze_markers`);
    one of them found there, the batch freezes as under `marker`, and keeps it (writes none over it).
    Returns the database state afterwards, with the marker found before the freeze.
    SQL Server refuses both on a database in an availability group or a mirroring session (error 1468): `preflight`
    refuses such a source (`source_facts`).
    """
    if mode not in FREEZE_MODES:
        raise StatementError("freeze mode must be one of %s, got %r" % (", ".join(FREEZE_MODES), mode))
    literal, name = quote_literal(database), quote_name(database)
    read_only = "ALTER DATABASE %s SET READ_ONLY WITH ROLLBACK IMMEDIATE;" % name
    if marker is not None:  # SQL Server goes on after a failed statement: READ_ONLY only once the marker is written
        read_only = "BEGIN\n    BEGIN TRY\n        %s\n    END TRY\n    BEGIN CATCH\n        THROW;\n    END CATCH;\n    %s\nEND;" % (
            _freeze_marker_change(database, "add", marker), read_only)
    change = "IF EXISTS (SELECT 1 FROM sys.databases WHERE name = %s AND is_read_only = 0)\n    %s" % (literal, read_only)
    if mode == "singleUser":  # only once READ_ONLY holds: SQL Server runs it after a refused SET READ_ONLY too
        change += (
            "\nIF EXISTS (SELECT 1 FROM sys.databases WHERE name = %s AND is_read_only = 1 AND user_access_desc <> N'SINGLE_USER')\n"
            "    ALTER DATABASE %s SET SINGLE_USER WITH ROLLBACK IMMEDIATE;" % (literal, name)
        )
    if marker is None:
        return "SET NOCOUNT ON;\n%s\n%s" % (change, database_state(database))
    another = " AND ".join("marker COLLATE %s <> %s" % (MARKER_COLLATION, quote_literal(text)) for text in (marker, *earlier_markers))
    return "SET NOCOUNT ON;\n%s\nIF NOT EXISTS (SELECT 1 FROM #freeze_marker WHERE %s)\nBEGIN\n%s\nEND;\n%s" % (
        _read_freeze_marker(database), another, change, database_state(database, with_freeze_marker=True))


USER_ACCESS_MODES = ("MULTI_USER", "SINGLE_USER", "RESTRICTED_USER")


def unfreeze(database: str, read_only: bool = False, user_access: str = "MULTI_USER", marker: Optional[str] = None) -> str:
    """Undo the freeze: back to the access the database had before it (`user_access`, and
    READ_WRITE unless it was `read_only`); by default writable. `marker`: the freeze marker the
    freeze wrote, removed once the database is writable again, and MULTI_USER where that is the
    access to go back to (SQL Server runs the rest of the batch after a refused ALTER: the marker
    stays while any part of the freeze does); only that value: another plan's stays. Returns the
    state afterwards."""
    if user_access not in USER_ACCESS_MODES:
        raise StatementError("user access must be one of %s, got %r" % (", ".join(USER_ACCESS_MODES), user_access))
    literal, name = quote_literal(database), quote_name(database)
    access = (
        "IF EXISTS (SELECT 1 FROM sys.databases WHERE name = %s AND user_access_desc <> N'%s')\n"
        "    ALTER DATABASE %s SET %s WITH ROLLBACK IMMEDIATE;" % (literal, user_access, name, user_access)
    )
    writable = (
        "IF EXISTS (SELECT 1 FROM sys.databases WHERE name = %s AND is_read_only = 1)\n"
        "    ALTER DATABASE %s SET READ_WRITE WITH ROLLBACK IMMEDIATE;" % (literal, name)
    )
    changes = [] if read_only else [writable]
    if marker is not None and not read_only:  # after READ_WRITE, before a restriction goes back on
        # Only once the freeze is undone: SQL Server runs it after a refused ALTER too (MULTI_USER included).
        multi_user = " AND user_access_desc = N'MULTI_USER'" if user_access == "MULTI_USER" else ""
        changes.append(
            "IF EXISTS (SELECT 1 FROM sys.databases WHERE name = %s AND is_read_only = 0%s AND state_desc = N'ONLINE')\n    %s"
            % (literal, multi_user, _freeze_marker_change(database, "drop", marker)))
    return "SET NOCOUNT ON;\n%s\n%s" % ("\n".join(in_unfreeze_order(user_access, access, changes)), database_state(database))


def in_unfreeze_order(user_access: str, access: str, writable: List[str]) -> List[str]:
    """The order an unfreeze gives a database back its access: `access` (its user access) first where that is
    MULTI_USER (READ_WRITE then meets no single-user hold), a restriction last, after `writable` (READ_WRITE and what
    follows it). The rollback's batch and the statements a person is told to run both take it."""
    return [access] + writable if user_access == "MULTI_USER" else writable + [access]


def drop_database(database: str) -> str:
    """Remove a database (rollback of a SqlVm target, after its checks); returns how many remain (0).
    Only a RESTORING one, whatever the checks read before: the batch itself looks again (through Data
    Factory the rollback's read of the target may be minutes old, and a person may have recovered it or
    taken it OFFLINE since: a DROP of an OFFLINE database removes it too)."""
    literal = quote_literal(database)
    return (
        "SET NOCOUNT ON;\n"
        "IF EXISTS (SELECT 1 FROM sys.databases WHERE name = %s AND state_desc = N'RESTORING')\n"
        "    DROP DATABASE %s;\n"
        "SELECT COUNT(*) AS remaining FROM sys.databases WHERE name = %s;"
        % (literal, quote_name(database), literal)
    )


# --- backups ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupIdentity:
    backup_set_uuid: str
    database: str
    backup_type: str  # msdb backupset.type: D full, I differential, L log
    physical_device_name: str
    first_lsn: str
    last_lsn: str
    finished: str  # ISO 8601 without time zone (the server's local time, as msdb stores it)

    @property
    def file_name(self) -> str:
        """The file name DMS knows the backup by (`offlineConfiguration.lastBackupName`)."""
        return self.physical_device_name.replace("/", "\\").rsplit("\\", 1)[-1]


_BACKUP_COLUMNS = (
    "CONVERT(nvarchar(36), b.backup_set_uuid) AS backup_set_uuid, b.database_name, b.type AS backup_type, "
    "m.physical_device_name, CONVERT(varchar(40), b.first_lsn) AS first_lsn, "
    "CONVERT(varchar(40), b.last_lsn) AS last_lsn, CONVERT(varchar(33), b.backup_finish_date, 126) AS finished"
)
_BACKUP_SOURCE = (
    "FROM msdb.dbo.backupset AS b "
    "JOIN msdb.dbo.backupmediafamily AS m ON m.media_set_id = b.media_set_id"
)


# What `RESTORE LABELONLY` returns: one row, these 13 columns since SQL Server 2008 (IsCompressed its last; Microsoft's
# "RESTORE LABELONLY (Transact-SQL)"), which INSERT ... EXEC needs in number and order.
_MEDIA_LABEL = "#backup_file_label"
_MEDIA_LABEL_COLUMNS = (
    ("MediaName", "nvarchar(128)"), ("MediaSetId", "uniqueidentifier"), ("FamilyCount", "int"),
    ("FamilySequenceNumber", "int"), ("MediaFamilyId", "uniqueidentifier"), ("MediaSequenceNumber", "int"),
    ("MediaLabelPresent", "tinyint"), ("MediaDescription", "nvarchar(255)"), ("SoftwareName", "nvarchar(128)"),
    ("SoftwareVendorId", "int"), ("MediaDate", "datetime"), ("Mirror_Count", "int"), ("IsCompressed", "bit"),
)
# Days before SQL Server lets a BACKUP ... WITH INIT overwrite the final backup (its NOSKIP default checks "The
# existing backups on the media have not expired", Microsoft's "Overwriting Backup Sets"; only SKIP or FORMAT, which
# the DAG never gives, pass it). RESTORE ignores it: DMS reads the file as before.
FINAL_BACKUP_RETAIN_DAYS = 3650


def backup_log(database: str, file_path: str) -> str:
    """`BACKUP LOG` to `file_path`, unless msdb records a log backup of `database` to that file.

    Returns the identity of the log backup in that file, so a re-run after a crash finds the backup
    the first attempt took instead of taking a second one (which would break the chain DMS restores).

    Never over a backup already in the file, which DMS may have read or restored (online by its name, offline as its
    `lastBackupName`): a backup taken over it would hold a later log range under that name. Where msdb records none
    (its history purged since, by `sp_delete_backuphistory` or a history cleanup job; msdb restored; the database
    backed up on another replica), the batch first reads the file's media label (`RESTORE LABELONLY`, in a TRY: it
    fails where no file is, or none SQL Server can read) and, where it finds one, takes no backup and returns that
    label's `MediaDate` as `unrecorded_file_written` instead (`parse_backup_log` raises `BackupFileNotRecorded`). Since
    SQL Server 2008 that read needs CREATE DATABASE permission (in master, or CREATE ANY DATABASE; Microsoft's "RESTORE
    Statements for Restoring, Recovering, and Managing Backups"): a login without it reads nothing, and the backup's
    own `RETAINDAYS` is what then refuses a `BACKUP ... WITH INIT` over a final backup this version took (error 4030,
    "The medium on device ... expires on ... and cannot be overwritten"). The backup's result stays one result set,
    as a Data Factory Lookup reads it."""
    literal, path = quote_literal(database), quote_literal(file_path)
    taken = "b.database_name = %s AND b.type = 'L' AND m.physical_device_name = %s" % (literal, path)
    columns = ", ".join(name for name, _ in _MEDIA_LABEL_COLUMNS)
    return (
        "SET NOCOUNT ON;\n"
        "CREATE TABLE %(label)s (%(definitions)s);\n"
        "IF NOT EXISTS (SELECT 1 %(source)s WHERE %(taken)s)\n"
        "BEGIN\n"
        "    IF HAS_PERMS_BY_NAME(N'master', N'DATABASE', N'CREATE DATABASE') = 1\n"
        "    BEGIN\n"
        "        BEGIN TRY\n"
        "            INSERT INTO %(label)s (%(label_columns)s) EXEC sys.sp_executesql "
        "N'RESTORE LABELONLY FROM DISK = @path', N'@path nvarchar(4000)', @path = %(path)s;\n"
        "        END TRY\n"
        "        BEGIN CATCH\n"
        "        END CATCH;\n"
        "    END;\n"
        "    IF NOT EXISTS (SELECT 1 FROM %(label)s)\n"
        "        BACKUP LOG %(name)s TO DISK = %(path)s WITH CHECKSUM, INIT, RETAINDAYS = %(retain)d;\n"
        "END;\n"
        "IF EXISTS (SELECT 1 FROM %(label)s)\n"
        "    SELECT TOP (1) CONVERT(varchar(33), MediaDate, 126) AS unrecorded_file_written FROM %(label)s;\n"
        "ELSE\n"
        "    SELECT TOP (1) %(columns)s %(source)s WHERE %(taken)s ORDER BY b.backup_set_id DESC;"
        % {"source": _BACKUP_SOURCE, "taken": taken, "name": quote_name(database), "path": path,
           "columns": _BACKUP_COLUMNS, "label": _MEDIA_LABEL, "label_columns": columns,
           "definitions": ", ".join("%s %s NULL" % column for column in _MEDIA_LABEL_COLUMNS),
           "retain": FINAL_BACKUP_RETAIN_DAYS}
    )


class BackupFileNotRecorded(Exception):
    """`backup_log` found a backup in the file though msdb records no log backup of the database to it: none taken."""

    def __init__(self, written: Optional[str]):
        super().__init__("the file holds a backup (media label written %s) msdb records no log backup to" % (written or "at an unknown time"))
        self.written = written


def parse_backup_log(rows: Sequence[Mapping[str, Any]]) -> List[BackupIdentity]:
    """`backup_log`'s answer: the backup's identity, or `BackupFileNotRecorded` where it found the file unrecorded."""
    if rows and "unrecorded_file_written" in rows[0]:
        written = rows[0]["unrecorded_file_written"]
        raise BackupFileNotRecorded(None if written is None else str(written))
    return parse_backups(rows)


_LOG_END = "#log_end"


def log_after_backup(database: str, file_paths: Sequence[str]) -> str:
    """What `LogAfterBackup` reads: whether `database`'s transaction log holds records after the newest of the log
    backups msdb records to `file_paths` (the final backup DMS went or goes live on, and a later one it restored),
    from the source's own records.

    - msdb: that backup's `last_lsn` ("the next log record after the backup set"; the backup holds the
      records "up to but not including this LSN", Microsoft's "Log Sequence Numbers and Restore Planning")
      and the greatest `last_lsn` of any log backup of the same database, by the `database_guid` that backup
      has (msdb's backupset: "When the database is restored, a new value is assigned"): a later one reaching
      past it holds records written after it. msdb keeps the history of every database of that name (one
      dropped, or restored to an earlier point, whose LSNs ran further), which says nothing of this one;
    - `sys.database_recovery_status.last_log_backup_lsn`: where the next log backup starts (a later log
      backup msdb's history no longer holds moves it too);
    - `sys.dm_db_log_stats(database_id).log_end_lsn`: "the LSN of the last log record in the transaction
      log", in the log's own text form (hex `VLF:block:slot`). SQL Server 2016 SP2 and later, Azure SQL
      Managed Instance; it needs a server permission (VIEW SERVER STATE). In a TRY, through sp_executesql:
      where it is missing (error 208) or refused (300) the log's end stays NULL, unread."""
    if not file_paths:
        raise StatementError("name at least one backup file")
    literal, paths = quote_literal(database), ", ".join(quote_literal(path) for path in file_paths)
    return "\n".join(_read_log_end(literal) + [
        "SELECT (SELECT TOP (1) CONVERT(varchar(40), b.last_lsn) %s WHERE b.database_name = %s AND b.type = 'L' "
        "AND m.physical_device_name IN (%s) ORDER BY b.last_lsn DESC) AS final_last_lsn, "
        "(SELECT TOP (1) CONVERT(varchar(40), b.last_lsn) FROM msdb.dbo.backupset AS b WHERE b.database_name = %s "
        "AND b.type = 'L' AND b.database_guid = (SELECT TOP (1) f.database_guid FROM msdb.dbo.backupset AS f "
        "JOIN msdb.dbo.backupmediafamily AS fm ON fm.media_set_id = f.media_set_id WHERE f.database_name = %s "
        "AND f.type = 'L' AND fm.physical_device_name IN (%s) ORDER BY f.last_lsn DESC) "
        "ORDER BY b.last_lsn DESC) AS newest_log_backup_lsn, "
        "(SELECT CONVERT(varchar(40), r.last_log_backup_lsn) FROM sys.database_recovery_status AS r "
        "WHERE r.database_id = DB_ID(%s)) AS last_log_backup_lsn, "
        "(SELECT TOP (1) log_end_lsn FROM %s) AS log_end_lsn;"
        % (_BACKUP_SOURCE, literal, paths, literal, literal, paths, literal, _LOG_END),
    ])


def _read_log_end(literal: str) -> List[str]:
    """The statements that read `sys.dm_db_log_stats(...).log_end_lsn` of the database named by `literal` into
    `#log_end` (no row where the view is missing or refused: `log_after_backup`)."""
    stats = ("INSERT INTO %s (log_end_lsn) SELECT s.log_end_lsn FROM sys.databases AS d "
             "CROSS APPLY sys.dm_db_log_stats(d.database_id) AS s WHERE d.name = %s;" % (_LOG_END, literal))
    return [
        "SET NOCOUNT ON;",
        "CREATE TABLE %s (log_end_lsn nvarchar(24) NULL);" % _LOG_END,
        "BEGIN TRY",
        "    EXEC sys.sp_executesql %s;" % quote_literal(stats),
        "END TRY",
        "BEGIN CATCH",
        "END CATCH;",
    ]


# Why a log end reads NULL (`log_end`, `log_after_backup`), for the messages of the checks that read it.
LOG_END_UNREAD = ("sys.dm_db_log_stats: SQL Server 2016 SP2 or later, and VIEW SERVER STATE; and the source's row in "
                  "master's sys.databases, which a login that neither owns it nor holds VIEW ANY DATABASE does not see: "
                  "docs/sql-logins.md")


def log_end(database: str) -> str:
    """The last log record's LSN of `database` (`sys.dm_db_log_stats`, as `log_after_backup` reads it): one row,
    `log_end_lsn` NULL where the view is missing (SQL Server before 2016 SP2) or refused (VIEW SERVER STATE), or the
    login does not see the database's row. A SqlDb copy's check of writes after its freeze (`copy_freeze`)."""
    return "\n".join(_read_log_end(quote_literal(database)) + ["SELECT (SELECT TOP (1) log_end_lsn FROM %s) AS log_end_lsn;" % _LOG_END])


def parse_log_end(rows: Sequence[Mapping[str, Any]]) -> Optional[int]:
    """`log_end`'s answer, in msdb's numeric form (None: unread)."""
    return numeric_lsn(rows[0].get("log_end_lsn")) if rows else None


@dataclass(frozen=True)
class LogAfterBackup:
    """What `log_after_backup` read, LSNs in msdb's numeric form; None where not read or not found."""

    final_last_lsn: Optional[int]  # None: msdb records no log backup of the database to those files
    backed_up_to: Optional[int]  # where the newest log backup ends (msdb, or the database's recovery status)
    log_end_lsn: Optional[int]  # the last log record's (None: sys.dm_db_log_stats missing or refused)

    @property
    def written_after(self) -> Optional[str]:
        """What shows log records after the final backup (None: nothing does). SQL Server logs every change in
        a transaction of several records (begin, the change, commit), so the last record's LSN passes the
        backup's `last_lsn` whether the view reports the last record or the log's end."""
        if self.final_last_lsn is None:
            return None
        found = []
        if self.backed_up_to is not None and self.backed_up_to > self.final_last_lsn:
            found.append("a later log backup reaches LSN %d" % self.backed_up_to)
        if self.log_end_lsn is not None and self.log_end_lsn > self.final_last_lsn:
            found.append("its transaction log ends at LSN %d (sys.dm_db_log_stats)" % self.log_end_lsn)
        return "; ".join(found) or None


def numeric_lsn(text: Any) -> Optional[int]:
    """An LSN as msdb stores it (numeric(25,0)) from either form: decimal digits, or the log's hex
    `VLF:block:slot`, which is VLF * 10^15 + block * 10^5 + slot. None where it is neither."""
    if text is None:
        return None
    value = str(text).strip()
    if re.match(r"^[0-9]+$", value):
        return int(value)
    parts = re.match(r"^([0-9A-Fa-f]{1,8}):([0-9A-Fa-f]{1,8}):([0-9A-Fa-f]{1,4})$", value)
    if not parts:
        return None
    return int(parts.group(1), 16) * 10 ** 15 + int(parts.group(2), 16) * 10 ** 5 + int(parts.group(3), 16)


def parse_log_after_backup(rows: Sequence[Mapping[str, Any]]) -> LogAfterBackup:
    row = rows[0] if rows else {}
    backed_up = [lsn for lsn in (numeric_lsn(row.get("newest_log_backup_lsn")), numeric_lsn(row.get("last_log_backup_lsn")))
                 if lsn is not None]
    return LogAfterBackup(final_last_lsn=numeric_lsn(row.get("final_last_lsn")), backed_up_to=max(backed_up) if backed_up else None,
                          log_end_lsn=numeric_lsn(row.get("log_end_lsn")))


def last_backup(database: str) -> str:
    """The newest backup (full, differential or log; not copy-only) of `database`: which file is last.

    A striped backup has one row per file.
    """
    literal = quote_literal(database)
    return (
        "SELECT %(columns)s %(source)s WHERE b.backup_set_id = ("
        "SELECT MAX(backup_set_id) FROM msdb.dbo.backupset "
        "WHERE database_name = %(literal)s AND type IN ('D', 'I', 'L') AND is_copy_only = 0) "
        "ORDER BY m.family_sequence_number;"
        % {"columns": _BACKUP_COLUMNS, "source": _BACKUP_SOURCE, "literal": literal}
    )


RECENT_FULL_BACKUPS = 200  # `source_prerequisites` reads the newest this many full backups


def in_folder(path: str, folder: str) -> bool:
    """Whether `path` is a file under `folder` (UNC or local; case and slashes as Windows ignores them)."""
    return _normalised_path(path).startswith(_normalised_path(folder).rstrip("\\") + "\\")


def parse_backups(rows: Sequence[Mapping[str, Any]]) -> List[BackupIdentity]:
    return [
        BackupIdentity(
            backup_set_uuid=str(row["backup_set_uuid"]),
            database=str(row["database_name"]),
            backup_type=str(row["backup_type"]),
            physical_device_name=str(row["physical_device_name"]),
            first_lsn=str(row["first_lsn"]),
            last_lsn=str(row["last_lsn"]),
            finished=str(row["finished"]),
        )
        for row in rows
    ]


# --- tables and fingerprints ------------------------------------------------------------------


def user_tables(database: str, connected_database: str = "master") -> str:
    """Every user table of `database` as (schema_name, table_name)."""
    return "SET NOCOUNT ON;\n%s %s;" % (
        _executesql(database, connected_database),
        quote_literal("SELECT s.name AS schema_name, t.name AS table_name %s ORDER BY s.name, t.name;" % _USER_TABLES_SOURCE),
    )


_USER_TABLES_SOURCE = "FROM sys.tables AS t JOIN sys.schemas AS s ON s.schema_id = t.schema_id WHERE t.is_ms_shipped = 0"
# A row per column under dynamic data masking (SQL Server 2016 on, Azure SQL: sys.masked_columns) of a user table,
# with its table (s.name, t.name); the first MASKED_COLUMNS_READ + 1 by table: a Lookup keeps at most 5,000 rows, and
# more than MASKED_COLUMNS_READ say the list is cut off (`parse_masked_tables`: not told apart).
_MASKED_COLUMNS_SOURCE = ("FROM sys.masked_columns AS m JOIN sys.tables AS t ON t.object_id = m.object_id "
                          "JOIN sys.schemas AS s ON s.schema_id = t.schema_id WHERE m.is_masked = 1 AND t.is_ms_shipped = 0 "
                          "ORDER BY s.name, t.name")
MASKED_COLUMNS_READ = 100


def parse_user_tables(rows: Sequence[Mapping[str, Any]]) -> List[TableName]:
    return [TableName(str(row["schema_name"]), str(row["table_name"])) for row in rows]


@dataclass(frozen=True)
class MaskedTable:
    table: TableName
    masked_columns: int  # its columns under dynamic data masking


def masked_tables(database: str, connected_database: str = "master") -> str:
    """The user tables of `database` holding columns under dynamic data masking, a row per such column
    (schema_name, table_name; `_MASKED_COLUMNS_SOURCE`)."""
    return "SET NOCOUNT ON;\n%s %s;" % (
        _executesql(database, connected_database),
        quote_literal("SELECT TOP (%d) s.name AS schema_name, t.name AS table_name %s;"
                      % (MASKED_COLUMNS_READ + 1, _MASKED_COLUMNS_SOURCE)))


def parse_masked_tables(rows: Sequence[Mapping[str, Any]]) -> Optional[Tuple[MaskedTable, ...]]:
    """`masked_tables`' rows (or the source prerequisites' masked_column facts) by table; None where cut off."""
    if len(rows) > MASKED_COLUMNS_READ:
        return None
    columns = Counter(TableName(str(row["schema_name"]), str(row["table_name"])) for row in rows)
    return tuple(MaskedTable(table, count) for table, count in columns.items())


@dataclass(frozen=True)
class TableFingerprint:
    table: TableName
    row_count: Optional[int]  # None when the table could not be read (see error)
    checksum: Optional[str]  # None when not asked for, or unreadable
    error: Optional[str]  # the table's own error: missing, lock timeout, ...
    elapsed_ms: Optional[int]


# SQL Server 2017 (14) or Azure SQL (Database and Managed Instance report 12 and have what 2017 brought):
# sys.sequences.last_used_value and sys.columns.graph_type came with it. A column that does not exist fails the whole
# batch naming it: each is named only in SQL run behind this.
_SQL_SERVER_2017_OR_AZURE = ("(CONVERT(int, SERVERPROPERTY('EngineEdition')) IN (5, 8) "
                             "OR ISNULL(CONVERT(int, SERVERPROPERTY('ProductMajorVersion')), 0) >= 14)")
# Runs inside the database (sp_executesql): fingerprints each table into #fingerprints, one TRY per
# table so a table that cannot be read is reported and the others still are. Column expressions:
# 240 = CLR types (binary serialisation), 62/59 = float/real (IEEE bytes), 189 = rowversion.
# #requested's names are in tempdb's collation (the server's), the catalog's and @tables' in the
# database's: a database of its own collation (a legacy one, a case-sensitive one) would refuse to
# compare them (error 468), so #requested's side takes the database's (COLLATE DATABASE_DEFAULT:
# the current database, this one), and a case-sensitive database tells dbo.Orders from dbo.ORDERS.
#
# Every table (@all_tables) is taken from sys.tables, which shows a login only the tables it may see (metadata
# visibility): where it holds neither VIEW DEFINITION nor SELECT on the database (`_SEES_EVERY_TABLE`), the batch
# fingerprints nothing and raises @unseen_tables, rather than compare what it sees and pass. One that does may still be
# DENIED on a table or a schema, which hides that table (a DENY takes precedence: "Metadata Visibility
# Configuration"); it can read its own DENYs and those of the roles it is a member of, public's too, in
# sys.database_permissions ("Any user can see their own permissions ... To see user-defined roles, requires ALTER ANY
# ROLE, or membership in the role (such as public)"). So where one of those DENYs SELECT, VIEW DEFINITION or CONTROL
# (the permissions that show it the tables) on a schema, or on an object it does not see, the batch fingerprints
# nothing and raises @denied_tables naming it (`_HIDING_DENY`). dbo (a sysadmin, the database's owner) is denied
# nothing. A DENY on an object it sees hides nothing: its fingerprint fails on that table, if at all.
_SEES_EVERY_TABLE = ("(ISNULL(HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', N'VIEW DEFINITION'), 0) = 1 "
                     "OR ISNULL(HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', N'SELECT'), 0) = 1)")
# The login's own DENYs (its user's, public's, its roles'), as the rows of a subquery; dbo is denied nothing.
_OWN_HIDING_DENIES = """FROM sys.database_permissions AS p JOIN sys.database_principals AS g ON g.principal_id = p.grantee_principal_id
    WHERE p.state = 'D' AND p.permission_name IN (N'SELECT', N'VIEW DEFINITION', N'CONTROL') AND DATABASE_PRINCIPAL_ID() <> 1
      AND (g.principal_id = DATABASE_PRINCIPAL_ID() OR g.principal_id = 0 OR IS_ROLEMEMBER(g.name) = 1) AND """
# The first of them on a schema, else on an object the login does not see, as the DENY statement to revoke.
_HIDING_DENY = (
    "ISNULL((SELECT TOP (1) N'DENY ' + p.permission_name + N' ON SCHEMA::' + QUOTENAME(SCHEMA_NAME(p.major_id)) + N' TO ' + QUOTENAME(g.name)\n    "
    + _OWN_HIDING_DENIES + "p.class = 3), "
    "(SELECT TOP (1) N'DENY ' + p.permission_name + N' ON OBJECT::' + N'(object_id ' + CONVERT(nvarchar(11), p.major_id) + N', hidden from it)' + N' TO ' + QUOTENAME(g.name)\n    "
    + _OWN_HIDING_DENIES + "p.class = 1 AND p.minor_id = 0 AND OBJECT_NAME(p.major_id) IS NULL))"
)
_FINGERPRINT_TABLES = """IF @all_tables = 1 AND NOT SEES_EVERY_TABLE
    RAISERROR(@unseen_tables, 16, 1);
DECLARE @denied nvarchar(2047) = HIDING_DENY;
IF @all_tables = 1 AND @denied IS NOT NULL AND SEES_EVERY_TABLE
    RAISERROR(@denied_tables, 16, 1, @denied);
DECLARE @tables TABLE (object_id int NOT NULL, schema_name sysname NOT NULL, table_name sysname NOT NULL);
INSERT INTO @tables (object_id, schema_name, table_name)
SELECT t.object_id, s.name, t.name FROM sys.tables AS t JOIN sys.schemas AS s ON s.schema_id = t.schema_id
WHERE t.is_ms_shipped = 0 AND ((@all_tables = 1 AND t.type = 'U' AND SEES_EVERY_TABLE AND @denied IS NULL) OR EXISTS (SELECT 1 FROM #requested AS r
    WHERE r.schema_name COLLATE DATABASE_DEFAULT = s.name AND r.table_name COLLATE DATABASE_DEFAULT = t.name));
INSERT INTO #fingerprints (schema_name, table_name, error)
SELECT r.schema_name, r.table_name, N'table does not exist' FROM #requested AS r
WHERE NOT EXISTS (SELECT 1 FROM @tables AS x
    WHERE x.schema_name = r.schema_name COLLATE DATABASE_DEFAULT AND x.table_name = r.table_name COLLATE DATABASE_DEFAULT);
DECLARE @object_id int, @schema sysname, @table sysname, @columns nvarchar(max), @query nvarchar(max), @rows bigint, @sum decimal(38, 0), @started datetime2, @masked nvarchar(2047);
DECLARE table_cursor CURSOR LOCAL FAST_FORWARD FOR SELECT object_id, schema_name, table_name FROM @tables ORDER BY schema_name, table_name;
DECLARE @graph_columns bit = CASE WHEN SQL_SERVER_2017_OR_AZURE THEN 1 ELSE 0 END;
DECLARE @column_list nvarchar(max) = N'SET @columns = STUFF((
        SELECT N'', '' + CASE'
    + CASE WHEN @graph_columns = 1 THEN N'
            WHEN c.graph_type IN (2, 5, 8) THEN N''t.'' + CASE WHEN c.graph_type = 5 THEN N''$from_id''
                WHEN c.graph_type = 8 THEN N''$to_id'' WHEN c.name LIKE N''$node[_]id[_]%'' THEN N''$node_id'' ELSE N''$edge_id'' END'
      ELSE N'' END + N'
            WHEN c.system_type_id = 240 THEN N''CONVERT(varbinary(max), t.'' + QUOTENAME(c.name) + N'')''
            WHEN c.system_type_id IN (59, 62) THEN N''CONVERT(varbinary(8), t.'' + QUOTENAME(c.name) + N'')''
            ELSE N''t.'' + QUOTENAME(c.name) END
            + N'' AS [c'' + CONVERT(nvarchar(10), ROW_NUMBER() OVER (ORDER BY UPPER(c.name COLLATE Latin1_General_BIN2), c.name COLLATE Latin1_General_BIN2)) + N'']''
        FROM sys.columns AS c
        WHERE c.object_id = @object_id AND c.is_column_set = 0
          AND NOT (@exclude_rowversion = 1 AND c.system_type_id = 189)'
    + CASE WHEN @graph_columns = 1 THEN N'
          AND (c.is_computed = 0 OR c.graph_type IN (2, 5, 8)) AND ISNULL(c.graph_type, 0) NOT IN (1, 3, 4, 6, 7)'
      ELSE N'
          AND c.is_computed = 0' END + N'
        ORDER BY UPPER(c.name COLLATE Latin1_General_BIN2), c.name COLLATE Latin1_General_BIN2
        FOR XML PATH(''''), TYPE).value(''.'', ''nvarchar(max)''), 1, 2, N'''');';
OPEN table_cursor;
FETCH NEXT FROM table_cursor INTO @object_id, @schema, @table;
WHILE @@FETCH_STATUS = 0
BEGIN
    SET @started = SYSDATETIME();
    SET @rows = NULL;
    SET @sum = NULL;
    SET @columns = NULL;
    IF @with_checksum = 1
        EXEC sys.sp_executesql @column_list, N'@object_id int, @exclude_rowversion bit, @columns nvarchar(max) OUTPUT',
            @object_id = @object_id, @exclude_rowversion = @exclude_rowversion, @columns = @columns OUTPUT;
    IF @with_checksum = 1
        SET @query = N'SELECT @rows = COUNT_BIG(*), @sum = SUM(CONVERT(decimal(38, 0), CONVERT(bigint, SUBSTRING(x.h, 1, 8)))) FROM '
            + QUOTENAME(@schema) + N'.' + QUOTENAME(@table) + N' AS t CROSS APPLY (SELECT HASHBYTES(''SHA2_256'', (SELECT '
            + ISNULL(@columns, N'1 AS [c0]') + N' FOR JSON PATH, WITHOUT_ARRAY_WRAPPER, INCLUDE_NULL_VALUES)) AS h) AS x;';
    ELSE
        SET @query = N'SELECT @rows = COUNT_BIG(*) FROM ' + QUOTENAME(@schema) + N'.' + QUOTENAME(@table) + N';';
    SET @masked = NULL;
    IF @with_checksum = 1 AND ISNULL(HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', N'UNMASK'), 0) = 0
        EXEC sys.sp_executesql N'SET @masked = STUFF((SELECT N'', '' + QUOTENAME(m.name) FROM sys.masked_columns AS m
            WHERE m.object_id = @object_id AND m.is_masked = 1 ORDER BY m.name
            FOR XML PATH(''''), TYPE).value(''.'', ''nvarchar(max)''), 1, 2, N'''');',
            N'@object_id int, @masked nvarchar(2047) OUTPUT', @object_id = @object_id, @masked = @masked OUTPUT;
    BEGIN TRY
        IF @masked IS NOT NULL
            RAISERROR(@masked_columns, 16, 1, @masked);
        EXEC sys.sp_executesql @query, N'@rows bigint OUTPUT, @sum decimal(38, 0) OUTPUT', @rows = @rows OUTPUT, @sum = @sum OUTPUT;
        INSERT INTO #fingerprints (schema_name, table_name, row_count, checksum, elapsed_ms)
        VALUES (@schema, @table, @rows, CASE WHEN @with_checksum = 1 THEN CONVERT(varchar(40), ISNULL(@sum, 0)) END, DATEDIFF(millisecond, @started, SYSDATETIME()));
    END TRY
    BEGIN CATCH
        INSERT INTO #fingerprints (schema_name, table_name, error, elapsed_ms)
        VALUES (@schema, @table, ERROR_MESSAGE(), DATEDIFF(millisecond, @started, SYSDATETIME()));
    END CATCH;
    FETCH NEXT FROM table_cursor INTO @object_id, @schema, @table;
END;
CLOSE table_cursor;
DEALLOCATE table_cursor;""".replace("SEES_EVERY_TABLE", _SEES_EVERY_TABLE).replace("HIDING_DENY", _HIDING_DENY).replace(
    "SQL_SERVER_2017_OR_AZURE", _SQL_SERVER_2017_OR_AZURE)

# What @unseen_tables says (RAISERROR's message: a % doubled).
_UNSEEN_TABLES = (
    "validation refused: %(login)s may not see every table of database %(database)s: sys.tables shows a login only the "
    "tables it holds a permission on, unless it holds VIEW DEFINITION or SELECT on the database (metadata visibility), "
    "so a table it cannot see would be left out of the comparison and a copy lacking it would pass. Give that login's "
    "user SELECT on the database, in %(database)s: ALTER ROLE db_datareader ADD MEMBER [<its user>] (or GRANT SELECT, "
    "VIEW DEFINITION TO [<its user>]), or list the tables to compare in the plan's validation.tables"
)
# What @denied_tables says (%s: the DENY, as `_HIDING_DENY` reads it).
_DENIED_TABLES = (
    "validation refused: %(login)s may not see every table of database %(database)s: %(deny)s hides tables from it "
    "in sys.tables (a DENY takes precedence over the SELECT or VIEW DEFINITION it holds on the database), so a table "
    "it cannot see would be left out of the comparison and a copy lacking it would pass. REVOKE that DENY in "
    "%(database)s (REVOKE <permission> ON <what> FROM <principal>), or list the tables to compare in the plan's "
    "validation.tables"
)

# What @masked_columns says (%s: the table's masked columns). A login without UNMASK reads a masked column
# (dynamic data masking, SQL Server 2016 on) as its mask on either side; CONTROL (db_owner, sysadmin) implies UNMASK.
_MASKED_COLUMNS = (
    "validation refused: %(login)s lacks UNMASK in database %(database)s, so it reads this table's masked column(s) "
    "%%s (dynamic data masking) as their masks, and a difference in them would pass the checksum. GRANT UNMASK TO "
    "[<its user>] in %(database)s (or ALTER ROLE db_owner ADD MEMBER [<its user>])"
)

_CHECKSUMS_NEED_2016 = (
    "IF %d = 1 AND CONVERT(int, SERVERPROPERTY('EngineEdition')) NOT IN (5, 8)\n"
    "    AND ISNULL(CONVERT(int, SERVERPROPERTY('ProductMajorVersion')), 0) < 13\n"
    "BEGIN\n"
    "    RAISERROR(N'table checksums need SQL Server 2016 or later (FOR JSON, HASHBYTES over more than "
    "8000 bytes): set validation.checksums to false for this database', 16, 1);\n"
    "    RETURN;\n"
    "END;"
)


def table_fingerprints(
    database: str,
    tables: Optional[Sequence[Tuple[str, str]]] = None,
    with_checksum: bool = True,
    exclude_rowversion: bool = False,
    lock_timeout_seconds: int = DEFAULT_LOCK_TIMEOUT_SECONDS,
    connected_database: str = "master",
    login: str = "the DAG's login",
) -> str:
    """Row count (COUNT_BIG) and checksum of every table of `database` in ONE batch.

    `tables` ((schema, table) pairs) limits the batch to those tables and reports the missing ones (a table the
    login may not see among them); None takes every user table but external ones, and fails (naming `login`, the database and the
    GRANT) unless the login sees every table: VIEW DEFINITION or SELECT on the database, effective
    (HAS_PERMS_BY_NAME: roles such as db_datareader and db_owner, CONTROL SERVER count), and no DENY of its own
    (its user's, its roles', public's) of SELECT, VIEW DEFINITION or CONTROL on a schema or on an object it does
    not see (else it fails naming that DENY to revoke). With `with_checksum`, a table with masked columns gets an
    error naming them unless the login holds UNMASK on the database (effective: CONTROL, db_owner, sysadmin count).
    `exclude_rowversion` for copies (SqlDb), where rowversions are new.
    Rows: schema_name, table_name, row_count, checksum, error, elapsed_ms, table_count.
    """
    if not isinstance(lock_timeout_seconds, int) or lock_timeout_seconds < 1:
        raise StatementError("lock_timeout_seconds must be a positive integer, got %r" % (lock_timeout_seconds,))
    requested = [_table_pair(table) for table in tables or ()]
    lines = [
        "SET NOCOUNT ON;",
        _CHECKSUMS_NEED_2016 % int(with_checksum),
        "SET LOCK_TIMEOUT %d;" % (lock_timeout_seconds * 1000),
        "CREATE TABLE #requested (schema_name sysname NOT NULL, table_name sysname NOT NULL);",
    ]
    for start in range(0, len(requested), ROWS_PER_VALUES_CLAUSE):
        chunk = requested[start:start + ROWS_PER_VALUES_CLAUSE]
        lines.append(
            "INSERT INTO #requested (schema_name, table_name) VALUES %s;"
            % ", ".join("(%s, %s)" % (quote_literal(schema), quote_literal(table)) for schema, table in chunk)
        )
    lines += [
        "CREATE TABLE #fingerprints (schema_name sysname NOT NULL, table_name sysname NOT NULL, row_count bigint NULL, "
        "checksum varchar(40) NULL, error nvarchar(2048) NULL, elapsed_ms int NULL);",
        "%s %s, N'@all_tables bit, @with_checksum bit, @exclude_rowversion bit, @unseen_tables nvarchar(2047), "
        "@denied_tables nvarchar(2047), @masked_columns nvarchar(2047)', @all_tables = %d, @with_checksum = %d, "
        "@exclude_rowversion = %d, @unseen_tables = %s, @denied_tables = %s, @masked_columns = %s;"
        % (
            _executesql(database, connected_database),
            quote_literal(_FINGERPRINT_TABLES),
            int(not requested),
            int(with_checksum),
            int(exclude_rowversion),
            quote_literal((_UNSEEN_TABLES % {"login": login, "database": quote_name(database)}).replace("%", "%%")),
            quote_literal(_DENIED_TABLES % {"login": login.replace("%", "%%"), "database": quote_name(database).replace("%", "%%"),
                                            "deny": "%s"}),
            quote_literal(_MASKED_COLUMNS % {"login": login.replace("%", "%%"), "database": quote_name(database).replace("%", "%%")}),
        ),
        "SELECT schema_name, table_name, row_count, checksum, error, elapsed_ms, "
        "(SELECT COUNT(*) FROM #fingerprints) AS table_count FROM #fingerprints ORDER BY schema_name, table_name;",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class SequenceValue:
    sequence: TableName  # its schema and name
    current_value: int  # sys.sequences.current_value: the last value handed out (START WITH where never used)
    increment: int  # negative: a descending sequence
    used: Optional[bool] = None  # whether it handed out a value (last_used_value not NULL); None: not known

    @property
    def last_handed_out(self) -> Optional[int]:
        """The last value it handed out, None where it handed out none; current_value where that is not known."""
        return None if self.used is False else self.current_value

    @property
    def next_value(self) -> int:
        """The value NEXT VALUE FOR hands out next (current_value where not known whether it handed out one: the
        nearer one, so a comparison with it never passes what the other would fail). A cycling sequence at its end
        wraps instead: compared as if it did not."""
        return self.current_value + self.increment if self.used else self.current_value


# What a sequence batch that must see every sequence raises where its login may not (RAISERROR's message: a % doubled).
_UNSEEN_SEQUENCES = (
    "validation refused: %(login)s may not see every sequence of database %(database)s: sys.sequences shows a login "
    "only the sequences it holds a permission on, unless it holds VIEW DEFINITION on the database (or ALTER, ALTER ANY "
    "SCHEMA, UPDATE, REFERENCES or CONTROL there, each implying one on every sequence; SELECT, db_datareader, is none "
    "on a sequence), "
    "so a sequence it cannot see would be left out of the comparison and a copy whose target would hand out the "
    "source's values again would pass. In %(database)s: GRANT VIEW DEFINITION TO [<its user>]"
)
# The database permissions that show a login every sequence (metadata visibility), asked inside the database: each
# implies the schema permission of its name on every schema, and that the sequence permission on its sequences (ALTER
# ANY SCHEMA: ALTER on every schema; GRANT Schema Permissions' table).
_SEES_EVERY_SEQUENCE = " OR ".join(
    "ISNULL(HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', N'%s'), 0) = 1" % permission
    for permission in ("VIEW DEFINITION", "ALTER", "ALTER ANY SCHEMA", "UPDATE", "REFERENCES", "CONTROL"))


def sequence_values(database: str, connected_database: str = "master", must_see_every: Optional[str] = None) -> str:
    """The current value and increment of every sequence of `database` (`sys.sequences`, SQL Server 2012 on: a
    server before it, ProductMajorVersion NULL, has none), and from SQL Server 2017 whether it handed out a value
    (last_used_value). A SqlDb copy copies rows only: the target's sequences keep what its schema's deployment gave
    them. Shown are the sequences the login holds a permission on, or all with VIEW DEFINITION on the database
    (metadata visibility). `must_see_every` (the login, as messages name it): the batch reads none and fails, naming
    it, the database and the GRANT, unless the login holds a database permission showing it every sequence
    (`_SEES_EVERY_SEQUENCE`, effective: db_owner, VIEW ANY DEFINITION and CONTROL SERVER count). Rows: schema_name,
    sequence_name, current_value, increment (decimal text), used (1, 0; NULL: not known), sequence_count."""
    inside = ("INSERT INTO #sequences (schema_name, sequence_name, current_value, increment, used) "
              "SELECT SCHEMA_NAME(q.schema_id), q.name, CONVERT(varchar(40), q.current_value), "
              "CONVERT(varchar(40), q.increment), %s FROM sys.sequences AS q;")
    if must_see_every is not None:
        unseen = (_UNSEEN_SEQUENCES % {"login": must_see_every, "database": quote_name(database)}).replace("%", "%%")
        inside = "IF NOT (%s)\n    RAISERROR(%s, 16, 1);\nELSE\n    %s" % (
            _SEES_EVERY_SEQUENCE, quote_literal(unseen).replace("%", "%%"), inside)
    executesql = _executesql(database, connected_database)
    return "\n".join([
        "SET NOCOUNT ON;",
        "CREATE TABLE #sequences (schema_name sysname NOT NULL, sequence_name sysname NOT NULL, "
        "current_value varchar(40) NULL, increment varchar(40) NULL, used int NULL);",
        "IF %s" % _SQL_SERVER_2017_OR_AZURE,
        "    %s %s;" % (executesql, quote_literal(inside % "CASE WHEN q.last_used_value IS NULL THEN 0 ELSE 1 END")),
        "ELSE IF ISNULL(CONVERT(int, SERVERPROPERTY('ProductMajorVersion')), 0) >= 11",
        "    %s %s;" % (executesql, quote_literal(inside % "NULL")),
        "SELECT schema_name, sequence_name, current_value, increment, used, "
        "(SELECT COUNT(*) FROM #sequences) AS sequence_count FROM #sequences ORDER BY schema_name, sequence_name;",
    ])


def parse_sequence_values(rows: Sequence[Mapping[str, Any]]) -> List[SequenceValue]:
    if rows and int(rows[0]["sequence_count"]) != len(rows):
        raise IncompleteResult(
            "the sequence batch produced %s rows but %d arrived" % (rows[0]["sequence_count"], len(rows)))
    return [SequenceValue(TableName(str(row["schema_name"]), str(row["sequence_name"])), int(str(row["current_value"])),
                          int(str(row["increment"])), None if row.get("used") is None else _as_bool(row["used"]))
            for row in rows]


def _table_pair(table: Tuple[str, str]) -> Tuple[str, str]:
    """A (schema, table) pair whose parts fit sysname: a dotted string would be ambiguous (`TableName`)."""
    if not isinstance(table, tuple) or len(table) != 2:
        raise StatementError("a table is a (schema, table) pair, got %r" % (table,))
    for part in table:
        _check_identifier(part)
    return table


def fingerprint_timeout_seconds(deadline: datetime, now: datetime) -> int:
    """The operation timeout of a fingerprint batch submitted at `now`: until the database's deadline (`timeoutMinutes`,
    the bound of all its work), at least a minute. Not a budget per table: one table of terabytes takes hours."""
    return max(MIN_FINGERPRINT_SECONDS, int((deadline - now).total_seconds()))


class IncompleteResult(ValueError):
    """Fewer rows came back than the batch produced (a Lookup keeps at most 5,000 rows)."""


def parse_fingerprints(rows: Sequence[Mapping[str, Any]]) -> List[TableFingerprint]:
    if rows and int(rows[0]["table_count"]) != len(rows):
        raise IncompleteResult(
            "the fingerprint batch produced %s rows but %d arrived" % (rows[0]["table_count"], len(rows))
        )
    return [
        TableFingerprint(
            table=TableName(str(row["schema_name"]), str(row["table_name"])),
            row_count=None if row.get("row_count") is None else int(row["row_count"]),
            checksum=None if row.get("checksum") is None else str(row["checksum"]),
            error=row.get("error"),
            elapsed_ms=None if row.get("elapsed_ms") is None else int(row["elapsed_ms"]),
        )
        for row in rows
    ]


def _executesql(database: str, connected_database: str) -> str:
    """sp_executesql in `database`: three-part only when connected elsewhere (Azure SQL Database has none)."""
    if database == connected_database:
        return "EXEC sys.sp_executesql"
    return "EXEC %s.sys.sp_executesql" % quote_name(database)


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true")
    return bool(value)
