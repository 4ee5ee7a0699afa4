"""The simulated world's state: one JSON document in a directory, shared by threads and processes.

Everything that plays a part of the outside world in a rehearsal reads and writes here: the DMS
contract server, the fake SQL engine (standing in for pymssql), the fake Data Factory API, and
tests. Every method of `World` is atomic: one that changes the world takes an exclusive `fcntl.flock` on
`<dir>/world.lock` (separate processes and threads serialise), reads `<dir>/world.json`, and
replaces it atomically (temporary file, then `os.replace`) when it changed; one that only reads takes a shared one. The file is compact
JSON (`python -m json.tool world.json` to read it): `json.dumps` without `indent` runs in C, ten
times faster than with it, and rehearsals read and write the world on every request. `with world.transaction() as state:`
makes several calls, and direct edits of the raw `state` dict, one atomic change; calls made
inside it on the same thread join it. The fake SQL engine runs each batch in one
(`keep_on_error`: what ran before an error stays done, as in SQL Server), so a statement costs one
read of the file however many lookups it makes. Methods return copies: change the world through methods.
A method that only reads (`World.reading`: a fault looked for and none found, a database looked up, a snapshot) never
writes the file, nor serialises the state again to see whether it changed, and parses it only where its text changed
since this object's last read: most of a rehearsal's reads of the world are such (every request to the fake servers
looks for a fault first).

Names are case-insensitive, as in SQL Server with its default collation: servers and databases
are keyed by their lower-cased name and keep their spelling in `name`. Database and login names
also compare as SQL Server compares text, trailing spaces aside (`sql_name_key`: 'Sales ' is Sales).

Schema of `world.json` (schemaVersion 1):

    servers: {<server>: {name, kind, databases: {<database>: Database}, keys?, logins?,
              reservedStorageMb?, reportedStorageUsedMb?, defaultDataPath?, defaultLogPath?, volumes?,
              collation?, selfSignedCertificate?, publicLacksViewAnyDatabase?}}
        kind: SqlServer (a source) | SqlMi | SqlDb | SqlVm (targets; named like their ARM
        resource: the managed instance, the logical server, the SQL virtual machine)
        keys: [{thumbprint: "0x<hex>", kind: certificate | asymmetricKey | uploaded, privateKey}]
              the server's keys in master that can open a database encryption key (TDE);
              `uploaded`: a certificate given to a managed instance through ARM
              (Add-AzSqlManagedInstanceTransparentDataEncryptionCertificate), which restores
              use but sys.certificates does not show
        logins: {<login>: {serverPermissions: [...], databasePermissions: {<database>: [...]},
                  objectPermissions?: {<database>: {<tables key>: [...]}},
                  databaseRoles?: {<database>: [<role>]},
                  denials?: {<database>: [{permission, on: <tables key> | <schema>, to: <principal>}]}}}
              a login listed here holds only what is listed (CONTROL SERVER implies everything,
              CONTROL on a database everything in it; a database listed, even with [], can be
              entered); objectPermissions: what it holds on single tables (a `tables` key, as
              `dbo.Orders`); databaseRoles: the database roles its user (named as the login) is a
              member of; denials: DENY permission ON a table or a schema TO its user, public or a role
              (what the login may read of them, in sys.database_permissions); a login not listed is a
              sysadmin (dbo: no DENY applies to it)
        reservedStorageMb: a managed instance's reserved storage (default 32768, its minimum)
        reportedStorageUsedMb: what a managed instance's latest storage report says its files use,
              frozen (test hook: Azure collects the report every 5 to 10 minutes); absent: the
              report is current
        defaultDataPath, defaultLogPath: where SQL Server (SqlServer, SqlVm) creates a database's
              data and log files (SERVERPROPERTY('InstanceDefault...Path'); null: not reported, as
              before SQL Server 2012's late-2015 updates); a database created on the server gets
              its files there (defaults: F:\\data\\ and G:\\log\\, an Azure SQL VM's)
        volumes: [{root: "F:\\", sizeMb, otherFilesMb}]   the server's volumes (SqlServer, SqlVm): a
              file is on the volume of the longest root its path starts with; free space is sizeMb
              minus otherFilesMb (what is not a database file) minus the files of its databases
              (default: C:\\, F:\\ and G:\\ of 1 TB each, empty)
        aliases: [<host>]   other names the server is reached by (a DNS alias, an Availability Group
              listener, an IP address; lower case): a host or data source naming one finds the server,
              whose own `name` is what DMS reports as the migration's `sourceServerName`
        selfSignedCertificate: true   the server's TLS certificate is its own (self-signed, as an on-premises
              server's mostly is): DMS, which checks certificates unless the request says
              `trustServerCertificate: true`, cannot connect to it (absent: one a CA signed for its name)
        collation: the server's collation (`set_server_collation`; absent: SQL_Latin1_General_CP1_CI_AS,
              `DEFAULT_COLLATION`): master's, tempdb's (so temporary tables'), and a new database's
        publicLacksViewAnyDatabase: true   a SQL Server's or managed instance's public role no longer holds VIEW ANY
              DATABASE (a hardened server: REVOKE VIEW ANY DATABASE FROM public), so a login listed in `logins`
              without it (or ALTER or CREATE ANY DATABASE, or CREATE DATABASE in master) sees in sys.databases only
              master, tempdb and the database it is in (absent: public holds it, SQL Server's default; Azure SQL
              Database's public never holds it)
    Database:
        name, state: ONLINE | RESTORING | OFFLINE   (absent: no entry; OFFLINE: taken offline by a person)
        readOnly: bool, userAccess: MULTI_USER | SINGLE_USER | RESTRICTED_USER
        recoveryModel: FULL | BULK_LOGGED | SIMPLE
        lsn: int                 the end of its transaction log; every write, backup of a writable database and
                 logged option change (`logged_option_changes`: READ_ONLY, READ_WRITE) adds one
        logBackupLsn: int|null   where the next log backup starts (set by the first full backup)
        tables: {<schema.table>: {columns: [{name, type}], rows: [[value, ...], ...]}}
                 the key names the schema and the table (`table_key_parts`): each part as it is
                 (`sales.Order Lines`), or in brackets with `]` doubled where it holds a dot or a
                 bracket (`[a.b].[c]`, `dbo.[x]]y]`)
                 values are JSON (str, int, float, bool, null); other SQL types are stored as
                 strings (datetime ISO 8601, binary as hex)
        sequences: {<schema.sequence>: {currentValue, increment, lastUsedValue?}}   (absent: none) its sequences,
                 lastUsedValue null: never used (absent: currentValue), keyed as
                 tables are: a SqlDb copy leaves the target's as they are (DMS copies rows only)
        restoredFrom: null | {server, database, backupFile?, migrationOperationId?}
                 for a target: the source database it is a copy of
        createdBy: null | "dms:<migrationOperationId>"   who created a target database
        encryptorThumbprint: null | "0x<hex>"   its database encryption key (TDE) is protected by
                 the server key of that thumbprint (absent in older worlds: null)
        sizeMb: int              its data and log files' size (absent in older worlds: 16)
        logSizeMb: int           of sizeMb, its log file's (absent: a quarter of sizeMb, rounded down)
        dataPath, logPath: str|null   on SQL Server, the folders of its data and log files: its server's
                 default paths when it was created (absent: the server's default paths now; null:
                 C:\\MSSQL\\DATA\\, where a server that reports none keeps them)
        extendedProperties: {<name>: str}   its database-level extended properties (absent: none)
        singleUserHolder: null | str   who holds a SINGLE_USER database's one connection (not the
                 DAG: it works from master); ALTER DATABASE ... SET <user access> closes it
        collation: str           its default collation (absent: its server's), as CREATE DATABASE ...
                 COLLATE gives it: its catalog's names (sys.tables, sys.schemas) and its table variables
                 use it; a restore keeps it
        availabilityGroup: str   (absent: none) the Always On availability group it belongs to
                 (sys.databases.group_database_id, SQL Server 2012 on); mirroringRole: PRINCIPAL | MIRROR
                 (absent: not mirrored; sys.database_mirroring). Either way ALTER DATABASE ... SET READ_ONLY,
                 SINGLE_USER or RESTRICTED_USER is refused (1468)
        owner: str               (absent: the server's admin) the login that owns it (ALTER AUTHORIZATION ON
                 DATABASE::<name> TO <login>): that login sees its row in sys.databases whatever it holds (Microsoft,
                 sys.databases, Permissions); only that is modelled of ownership
        guid: str                its database_guid (sys.database_recovery_status), upper-case: new for
                 every database created (RESTORE makes a new one for a database that does not exist
                 yet), kept while it exists (absent in older worlds: `database_guid` derives one from
                 the server's and the database's names)
    backups: {<source server>: [Backup, ...]}        the backup file share, in creation order
    Backup:
        fileName, path, server, database, type: FULL | LOG, firstLsn, lastLsn,
        databaseGuid (the database's database_guid when the backup was taken, msdb's backupset.database_guid;
        absent in older worlds: `database_guid` derives one from its server's and database's names),
        sequence (creation order across the world), createdAt (ISO 8601 UTC, the world's time: `World.now`),
        checksum (taken WITH CHECKSUM; absent in older worlds: true),
        encryptorThumbprint (the database's, when the backup was taken: TDE encrypts backups),
        tables (the database's tables as of lastLsn: restoring the backup yields them),
        expiresAt (taken WITH RETAINDAYS: before then BACKUP ... WITH INIT refuses to overwrite the file),
        historyPurged (true: msdb no longer records it, `purge_backup_history`; the file is still in the share)
    migrationServices: {<ARM id lower-cased>: {id, name, location, provisioningState,
        integrationRuntimeState}}
    databaseMigrations: {<target scope lower-cased>/<database>: {...}}   owned by the DMS server
    asyncOperations: {<id>: {...}}                                        owned by the DMS server
    faults: [Fault, ...]     consumed in order by the servers, see `add_fault`
    sequence: int            the last number handed out by `next_sequence`

Backups chain like SQL Server's: each backup of a writable database writes a log record (lsn + 1), and so
do SET READ_ONLY and SET READ_WRITE (so a final log backup taken after the freeze holds the freeze's record); a
read-only database's log takes no record, so its backups leave lsn where it is (a log backup with nothing
new to hold has firstLsn = lastLsn = lsn). A full backup covers [lsn before, lsn after]; a log backup covers
[logBackupLsn, lsn after] and moves logBackupLsn there; full backups do not break the log chain. A restore applies a log backup when
firstLsn <= restored LSN < lastLsn (one ending at the restored LSN holds nothing new: restoring it changes nothing). A log backup needs a full backup first and a FULL or
BULK_LOGGED recovery model; switching to SIMPLE breaks the log chain (logBackupLsn null), so after
switching back a log backup needs a full backup again, as in SQL Server (error 4214).
"""
from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import re
import tempfile
import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List, Optional, Tuple

SCHEMA_VERSION = 1
STATE_FILE = "world.json"
LOCK_FILE = "world.lock"
# Where a rehearsal keeps its simulated clock, in the same directory: JSON whose "now" is the simulated time (ISO 8601
# UTC), written by the DAG's rehearsal (migration_orchestration_lib.rehearsal_cutover, CLOCK_FILE) and read here as
# a file, never through its code. `World.now` tells the time by it.
SIMULATED_CLOCK_FILE = "cutover-clock.json"

SERVER_KINDS = ("SqlServer", "SqlMi", "SqlDb", "SqlVm")
DATABASE_STATES = ("ONLINE", "RESTORING", "OFFLINE")
USER_ACCESS = ("MULTI_USER", "SINGLE_USER", "RESTRICTED_USER")
RECOVERY_MODELS = ("FULL", "BULK_LOGGED", "SIMPLE")
BACKUP_TYPES = ("FULL", "LOG")

# How a server misbehaves on request (see add_fault): HTTP-level faults, LROs that end Failed,
# migrations that end Failed, cancels that leave a migration Canceling a while, lists that lag.
HTTP_FAULT_KINDS = ("throttle", "error", "reset", "slow")
LRO_FAULT_KIND = "lroFailed"
MIGRATION_FAULT_KIND = "migrationFailed"
STILL_CANCELING_FAULT_KIND = "stillCanceling"
UNLISTED_FAULT_KIND = "unlisted"
FAULT_KINDS = HTTP_FAULT_KINDS + (LRO_FAULT_KIND, MIGRATION_FAULT_KIND, STILL_CANCELING_FAULT_KIND, UNLISTED_FAULT_KIND)

DATABASE_FIELDS = (
    "state", "readOnly", "userAccess", "recoveryModel", "tables", "restoredFrom", "createdBy", "encryptorThumbprint", "sizeMb",
    "logSizeMb", "extendedProperties", "singleUserHolder", "collation", "sequences", "availabilityGroup", "mirroringRole",
    "owner",
)
MIRRORING_ROLES = ("PRINCIPAL", "MIRROR")  # sys.database_mirroring.mirroring_role_desc (None: not mirrored)
KEY_KINDS = ("certificate", "asymmetricKey", "uploaded")
DEFAULT_DATABASE_SIZE_MB = 16
DEFAULT_COLLATION = "SQL_Latin1_General_CP1_CI_AS"  # SQL Server setup's default for US English Windows
DEFAULT_RESERVED_STORAGE_MB = 32768
DEFAULT_DATA_PATH = "F:\\data\\"  # an Azure SQL VM's (its data disks' storage pool)
DEFAULT_LOG_PATH = "G:\\log\\"
DEFAULT_VOLUMES = tuple({"root": root, "sizeMb": 1048576, "otherFilesMb": 0} for root in ("C:\\", "F:\\", "G:\\"))


class WorldError(ValueError):
    """A change the world refuses (what SQL Server or ARM would refuse too)."""


def empty_state() -> Dict[str, Any]:
    return {
        "schemaVersion": SCHEMA_VERSION,
        "servers": {},
        "backups": {},
        "migrationServices": {},
        "databaseMigrations": {},
        "asyncOperations": {},
        "faults": [],
        "sequence": 0,
    }


def _utc_text(value: datetime) -> str:
    return (value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now() -> str:
    return _utc_text(datetime.now(timezone.utc))


class World:
    def __init__(self, directory: str):
        self.directory = os.path.abspath(directory)
        os.makedirs(self.directory, exist_ok=True)
        self._local = threading.local()
        self._last_read: Optional[Tuple[Optional[str], Dict[str, Any]]] = None  # `reading`'s: the text and its state

    def now(self) -> str:
        """The world's time, as `utc_now` writes it: the rehearsal's simulated clock where one is kept in this
        directory (`SIMULATED_CLOCK_FILE`; it jumps to the next window instead of waiting, and tests move it), else
        real time. What DMS stamps its migrations with (`startedOn`, `endedOn`), ARM its long-running operations
        (`startTime`, `endTime`) and the share its backups (`createdAt`), so that a migration ends at the time the DAG's
        clock reads while it runs."""
        try:
            with open(os.path.join(self.directory, SIMULATED_CLOCK_FILE), "r", encoding="utf-8") as handle:
                text = json.load(handle)["now"]
            return _utc_text(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):  # no rehearsal clock (a world of its own)
            return utc_now()

    # -- transactions -----------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, keep_on_error: bool = False) -> Iterator[Dict[str, Any]]:
        """The raw state, locked; saved when the block ends without an exception, and with
        `keep_on_error` also when it raises (a SQL batch: what ran before its error stays done)."""
        open_state = getattr(self._local, "state", None)
        if open_state is not None:
            yield open_state
            return
        if getattr(self._local, "reading", False):  # its exclusive lock would wait for ever on this thread's shared one
            raise WorldError("a change of the world inside World.reading: make the whole block a transaction")
        with self._locked(fcntl.LOCK_EX):
            text = self._read()
            state = self._parse(text)
            self._local.state = state
            try:
                yield state
            except BaseException:
                self._local.state = None
                if keep_on_error:
                    self._save(state, text)
                raise
            self._local.state = None
            self._save(state, text)

    @contextlib.contextmanager
    def reading(self, kept: bool = False) -> Iterator[Dict[str, Any]]:
        """The raw state, for a block that only reads it: read under a shared lock and never saved (nor serialised
        again to compare). Inside an open transaction on this thread, that transaction's state. A block that changes
        the state, or calls a method that does, uses `transaction`: here its change would be lost. The state is the one
        the last read of this object parsed where the file holds the same text since (most reads between two writes:
        a rehearsal's servers read the world at every request), shared with later reads: the block copies what leaves
        it to be changed. `kept`: the caller keeps the state (a snapshot): parsed for it alone."""
        open_state = getattr(self._local, "state", None)
        if open_state is not None:
            yield open_state
            return
        with self._locked(fcntl.LOCK_SH):
            reading, self._local.reading = getattr(self._local, "reading", False), True
            try:
                text, last = self._read(), self._last_read
                if kept or last is None or last[0] != text:
                    last = (text, self._parse(text))
                    if not kept:
                        self._last_read = last
                yield last[1]
            finally:
                self._local.reading = reading

    @contextlib.contextmanager
    def _locked(self, operation: int) -> Iterator[None]:
        with open(os.path.join(self.directory, LOCK_FILE), "a+") as lock:
            fcntl.flock(lock, operation)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def snapshot(self) -> Dict[str, Any]:
        """A copy of the whole state (for tests and for inspecting a rehearsal)."""
        joins_open_transaction = getattr(self._local, "state", None) is not None
        with self.reading(kept=True) as state:
            # A transaction of its own parses its own state from the file: nobody else holds it.
            return copy.deepcopy(state) if joins_open_transaction else state

    def next_sequence(self) -> int:
        with self.transaction() as state:
            state["sequence"] += 1
            return state["sequence"]

    def _read(self) -> Optional[str]:
        try:
            with open(os.path.join(self.directory, STATE_FILE), "r", encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    @staticmethod
    def _parse(text: Optional[str]) -> Dict[str, Any]:
        if text is None:
            return empty_state()
        state = json.loads(text)
        if state.get("schemaVersion") != SCHEMA_VERSION:
            raise WorldError("%s has schemaVersion %r, expected %d" % (STATE_FILE, state.get("schemaVersion"), SCHEMA_VERSION))
        return state

    def _save(self, state: Dict[str, Any], text: Optional[str]) -> None:
        changed = json.dumps(state, sort_keys=True)
        if changed != text:
            self._write(changed)

    def _write(self, text: str) -> None:
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".world-", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, os.path.join(self.directory, STATE_FILE))

    # -- servers and databases --------------------------------------------------------------

    def add_server(self, name: str, kind: str = "SqlServer") -> None:
        if kind not in SERVER_KINDS:
            raise WorldError("server kind must be one of %s, got %r" % (", ".join(SERVER_KINDS), kind))
        with self.transaction() as state:
            server = _aliased_server(state, _key(name)) or state["servers"].setdefault(_key(name), {"name": name, "kind": kind, "databases": {}})
            if server["kind"] != kind:
                raise WorldError("server %s already exists as %s, not %s" % (name, server["kind"], kind))

    def add_server_alias(self, server: str, alias: str) -> None:
        """Another name `server` is reached by (`aliases` in the schema); its own name stays."""
        with self.transaction() as state:
            found = _require_server(state, server)
            if _key(alias) in state["servers"] or _aliased_server(state, _key(alias)) not in (None, found):
                raise WorldError("%s already names another server" % alias)
            found.setdefault("aliases", [])
            if _key(alias) not in found["aliases"]:
                found["aliases"].append(_key(alias))

    def revoke_view_any_database_from_public(self, server: str) -> None:
        """REVOKE VIEW ANY DATABASE FROM public on a SQL Server or managed instance (`publicLacksViewAnyDatabase`)."""
        with self.transaction() as state:
            _require_server(state, server)["publicLacksViewAnyDatabase"] = True

    def public_views_any_database(self, server: str) -> bool:
        """Whether the server's public role holds VIEW ANY DATABASE: SQL Server's default, never on Azure SQL Database."""
        with self.transaction() as state:
            found = _require_server(state, server)
            return found["kind"] != "SqlDb" and not found.get("publicLacksViewAnyDatabase")

    def set_self_signed_certificate(self, server: str, self_signed: bool = True) -> None:
        """Whether the server's TLS certificate is self-signed (`selfSignedCertificate` in the schema)."""
        with self.transaction() as state:
            found = _require_server(state, server)
            if self_signed:
                found["selfSignedCertificate"] = True
            else:
                found.pop("selfSignedCertificate", None)

    def has_self_signed_certificate(self, server: str) -> bool:
        with self.transaction() as state:
            return bool(_require_server(state, server).get("selfSignedCertificate"))

    def server(self, name_or_host: str) -> Optional[Dict[str, Any]]:
        """A server by name, or by a host name or data source naming it (`sql01.contoso.local,1433`,
        `mi1.abc.database.windows.net`): its name is the first DNS label; or one of its `aliases`."""
        with self.reading() as state:
            found = _find_server(state, name_or_host)
            return None if found is None else {"name": found["name"], "kind": found["kind"]}

    def database(self, server: str, name: str) -> Optional[Dict[str, Any]]:
        with self.reading() as state:
            found = _find_database(state, server, name)
            return copy.deepcopy(found)

    def databases(self, server: str, tables: bool = True) -> List[Dict[str, Any]]:
        """The server's databases; `tables=False` leaves out their tables (the rows are most of a copy)."""
        with self.reading() as state:
            return [
                copy.deepcopy(d if tables else {field: value for field, value in d.items() if field != "tables"})
                for d in _require_server(state, server)["databases"].values()
            ]

    def put_database(
        self,
        server: str,
        name: str,
        *,
        state: str = "ONLINE",
        recovery_model: str = "FULL",
        read_only: bool = False,
        user_access: str = "MULTI_USER",
        tables: Optional[Dict[str, Any]] = None,
        restored_from: Optional[Dict[str, Any]] = None,
        created_by: Optional[str] = None,
        collation: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Create (or replace) a database; on SQL Server its files go to the server's default paths.
        `collation`: its own (CREATE DATABASE ... COLLATE); None: the server's."""
        database = {
            "name": name,
            "state": state,
            "readOnly": read_only,
            "userAccess": user_access,
            "recoveryModel": recovery_model,
            "lsn": 1,
            "logBackupLsn": None,
            "tables": copy.deepcopy(tables or {}),
            "restoredFrom": restored_from,
            "createdBy": created_by,
            "encryptorThumbprint": None,
            "sizeMb": DEFAULT_DATABASE_SIZE_MB,
            "guid": str(uuid.uuid4()).upper(),
        }
        if collation is not None:
            database["collation"] = collation
        _check_database(database)
        with self.transaction() as world_state:
            found = _require_server(world_state, server)
            if found["kind"] in ("SqlServer", "SqlVm"):
                database.update(dataPath=found.get("defaultDataPath", DEFAULT_DATA_PATH), logPath=found.get("defaultLogPath", DEFAULT_LOG_PATH))
            found["databases"][sql_name_key(name)] = database
            return copy.deepcopy(database)

    def update_database(self, server: str, name: str, **changes: Any) -> Dict[str, Any]:
        """Change stored fields (camelCase names, as in the schema): state, readOnly, userAccess,
        recoveryModel, tables, restoredFrom, createdBy, encryptorThumbprint, sizeMb, extendedProperties,
        singleUserHolder, collation, sequences, availabilityGroup (the name of the Always On availability group it
        belongs to), mirroringRole (`MIRRORING_ROLES`: its database mirroring session's), owner (the login owning it). Changing `tables`, or a writable database's
        `extendedProperties`, is a write (lsn + 1), and so is an option change its log records (`logged_option_changes`)."""
        unknown = sorted(set(changes) - set(DATABASE_FIELDS))
        if unknown:
            raise WorldError("unknown database field(s) %s; known: %s" % (", ".join(unknown), ", ".join(DATABASE_FIELDS)))
        with self.transaction() as state:
            database = _require_database(state, server, name)
            changed = {**database, **copy.deepcopy(changes)}
            changed["lsn"] += ("tables" in changes) + logged_option_changes(database, changed)
            if changed.get("extendedProperties") != database.get("extendedProperties") and not database["readOnly"]:
                changed["lsn"] += 1  # a write; a read-only database refuses one (3906): here a past state is set up
            if changes.get("recoveryModel") == "SIMPLE":
                changed["logBackupLsn"] = None  # the log chain is broken
            _check_database(changed)  # before the change: a batch keeps what ran before its error
            database.update(changed)
            return copy.deepcopy(database)

    def set_server_collation(self, server: str, collation: str) -> None:
        """The server's collation (set at setup): tempdb's, and that of databases without their own."""
        with self.transaction() as state:
            _require_server(state, server)["collation"] = collation

    def collation(self, server: str, database: Optional[str] = None) -> str:
        """The server's collation, or a database's (its own, else the server's); a system database's
        (master, tempdb, model, msdb) or one not in the world: the server's."""
        with self.transaction() as state:
            found = _require_server(state, server)
            own = found["databases"].get(sql_name_key(database), {}).get("collation") if database is not None else None
            return own or found.get("collation") or DEFAULT_COLLATION

    def drop_database(self, server: str, name: str) -> bool:
        """Remove a database; False if there was none."""
        with self.transaction() as state:
            return _require_server(state, server)["databases"].pop(sql_name_key(name), None) is not None

    def set_table(self, server: str, database: str, table: str, columns: List[Dict[str, str]], rows: List[List[Any]]) -> None:
        """Create or replace a table's columns and rows (a write: lsn + 1)."""
        table_key_parts(table)
        with self.transaction() as state:
            found = _require_database(state, server, database)
            found["tables"][table] = {"columns": copy.deepcopy(columns), "rows": copy.deepcopy(rows)}
            found["lsn"] += 1

    # -- server keys and logins ---------------------------------------------------------------

    def add_server_key(self, server: str, thumbprint: str, kind: str = "certificate", private_key: bool = True) -> None:
        """A key in the server's master that can open a database encryption key (see the schema)."""
        if kind not in KEY_KINDS:
            raise WorldError("key kind must be one of %s, got %r" % (", ".join(KEY_KINDS), kind))
        _check_thumbprint(thumbprint)
        with self.transaction() as state:
            keys = _require_server(state, server).setdefault("keys", [])
            keys.append({"thumbprint": thumbprint.upper().replace("0X", "0x"), "kind": kind, "privateKey": private_key})

    def server_keys(self, server: str) -> List[Dict[str, Any]]:
        with self.transaction() as state:
            return copy.deepcopy(_require_server(state, server).get("keys", []))

    def set_login(self, server: str, login: str, server_permissions: List[str], database_permissions: Optional[Dict[str, List[str]]] = None,
                  object_permissions: Optional[Dict[str, Dict[str, List[str]]]] = None,
                  database_roles: Optional[Dict[str, List[str]]] = None,
                  denials: Optional[Dict[str, List[Dict[str, str]]]] = None) -> None:
        """Make `login` hold only these permissions on the server (see the schema)."""
        with self.transaction() as state:
            logins = _require_server(state, server).setdefault("logins", {})
            logins[sql_name_key(login)] = {
                "serverPermissions": [p.upper() for p in server_permissions],
                "databasePermissions": {sql_name_key(d): [p.upper() for p in ps] for d, ps in (database_permissions or {}).items()},
                "objectPermissions": {sql_name_key(d): {table: [p.upper() for p in ps] for table, ps in tables.items()}
                                      for d, tables in (object_permissions or {}).items()},
                "databaseRoles": {sql_name_key(d): list(roles) for d, roles in (database_roles or {}).items()},
                "denials": {sql_name_key(d): [dict(denial) for denial in found] for d, found in (denials or {}).items()},
            }

    def login(self, server: str, login: str) -> Optional[Dict[str, Any]]:
        """What a listed login holds; None for a sysadmin (a login not listed)."""
        with self.transaction() as state:
            return copy.deepcopy(_require_server(state, server).get("logins", {}).get(sql_name_key(login or "")))

    def reserved_storage_mb(self, server: str) -> int:
        with self.transaction() as state:
            return int(_require_server(state, server).get("reservedStorageMb", DEFAULT_RESERVED_STORAGE_MB))

    def reported_storage_used_mb(self, server: str) -> Optional[int]:
        """A managed instance's frozen storage report (see the schema); None: the report is current."""
        with self.transaction() as state:
            return _require_server(state, server).get("reportedStorageUsedMb")

    def default_paths(self, server: str) -> Dict[str, Optional[str]]:
        """{data, log}: where the server creates a database's files (see the schema)."""
        with self.transaction() as state:
            found = _require_server(state, server)
            return {"data": found.get("defaultDataPath", DEFAULT_DATA_PATH), "log": found.get("defaultLogPath", DEFAULT_LOG_PATH)}

    def set_default_paths(self, server: str, data: Optional[str], log: Optional[str]) -> None:
        with self.transaction() as state:
            _require_server(state, server).update(defaultDataPath=data, defaultLogPath=log)

    def volumes(self, server: str) -> List[Dict[str, Any]]:
        with self.transaction() as state:
            return copy.deepcopy(_require_server(state, server).get("volumes", list(DEFAULT_VOLUMES)))

    def set_volume(self, server: str, root: str, size_mb: int, other_files_mb: int = 0) -> None:
        """Add or resize a volume of the server (see the schema)."""
        if not root.endswith(("\\", "/")):
            raise WorldError("a volume's root ends with its separator, got %r" % root)
        with self.transaction() as state:
            found = _require_server(state, server)
            volumes = [v for v in found.get("volumes", list(DEFAULT_VOLUMES)) if _key(v["root"]) != _key(root)]
            volumes.append({"root": root, "sizeMb": size_mb, "otherFilesMb": other_files_mb})
            found["volumes"] = copy.deepcopy(volumes)

    # -- the backup file share --------------------------------------------------------------

    def take_backup(self, server: str, database: str, backup_type: str, path: str, checksum: bool = True,
                    init: bool = False, retain_days: Optional[int] = None, skip: bool = False) -> Dict[str, Any]:
        """What `BACKUP DATABASE|LOG ... TO DISK = path [WITH CHECKSUM]` leaves in the share: a backup
        of the database's tables as of now. Refuses what SQL Server refuses (see the module doc).
        `init` (WITH INIT): over a file that exists, the new backup replaces the one in it (SQL Server "overwrites all
        the backup sets on the media"), unless that one has not expired yet (taken WITH RETAINDAYS, `retain_days`:
        `expiresAt`), which SQL Server refuses with error 4030 (its NOSKIP default: "Overwriting Backup Sets").
        `skip` (WITH FORMAT, or SKIP): no expiry checked. Without `init` a file that exists is refused (appending a
        second backup set, NOINIT, is not modelled)."""
        if backup_type not in BACKUP_TYPES:
            raise WorldError("backup type must be FULL or LOG, got %r" % backup_type)
        with self.transaction() as state:
            source = _require_database(state, server, database)
            if source["state"] != "ONLINE":
                raise WorldError("database %s is %s: cannot back it up" % (source["name"], source["state"]))
            share = state["backups"].setdefault(_key(_require_server(state, server)["name"]), [])
            there = [b for b in share if _same_path(b["path"], path)]
            if there and not init:
                raise WorldError("backup file %s already exists" % path)
            now = self.now()
            for existing in [] if skip else there:
                if existing.get("expiresAt") and existing["expiresAt"] > now:
                    raise WorldError("The medium on device '%s' expires on %s and cannot be overwritten. (4030)" % (path, existing["expiresAt"]))
            if backup_type == "LOG":
                if source["recoveryModel"] == "SIMPLE":
                    raise WorldError("database %s uses the SIMPLE recovery model: no log backups" % source["name"])
                if source["logBackupLsn"] is None:
                    raise WorldError("database %s has no full backup: a log backup needs one first" % source["name"])
                first_lsn = source["logBackupLsn"]
            else:
                first_lsn = source["lsn"]
                if source["logBackupLsn"] is None:
                    source["logBackupLsn"] = first_lsn
            if not source["readOnly"]:  # the backup's own log record; SQL Server writes none into a read-only database
                source["lsn"] += 1
            if backup_type == "LOG":
                source["logBackupLsn"] = source["lsn"]
            backup = {
                "fileName": re.split(r"[\\/]", path)[-1],
                "path": path,
                "server": _require_server(state, server)["name"],
                "database": source["name"],
                "type": backup_type,
                "firstLsn": first_lsn,
                "lastLsn": source["lsn"],
                "databaseGuid": database_guid(server, source),
                "sequence": self.next_sequence(),
                "createdAt": now,
                "checksum": checksum,
                "encryptorThumbprint": source.get("encryptorThumbprint"),
                "tables": copy.deepcopy(source["tables"]),
            }
            if retain_days:
                backup["expiresAt"] = _utc_text(datetime.fromisoformat(now.replace("Z", "+00:00")) + timedelta(days=retain_days))
            share[:] = [b for b in share if not _same_path(b["path"], path)]  # the file now holds this backup alone
            share.append(backup)
            return copy.deepcopy(backup)

    def purge_backup_history(self, server: str, database: Optional[str] = None) -> int:
        """msdb forgets the server's backups (of one database), their files left in the share, as
        `sp_delete_backuphistory` with a date after them does (a nightly history cleanup job): msdb's `backupset` and
        `backupmediafamily` no longer show them. Returns how many it forgot."""
        with self.transaction() as state:
            share = state["backups"].get(_key(_require_server(state, server)["name"]), [])
            purged = [b for b in share if not b.get("historyPurged")
                      and (database is None or sql_name_key(b["database"]) == sql_name_key(database))]
            for backup in purged:
                backup["historyPurged"] = True
            return len(purged)

    def backups(self, server: str, database: Optional[str] = None) -> List[Dict[str, Any]]:
        """The share's backups of a source server (of one database), in creation order."""
        with self.reading() as state:
            share = state["backups"].get(_key(_require_server(state, server)["name"]), [])
            return [copy.deepcopy(b) for b in share if database is None or sql_name_key(b["database"]) == sql_name_key(database)]

    # -- DMS ----------------------------------------------------------------------------------

    def add_migration_service(
        self, resource_id: str, integration_runtime_state: str = "Online", location: str = "westeurope"
    ) -> None:
        """A `Microsoft.DataMigration/sqlMigrationServices` resource and its runtime's state
        (Online, NeedRegistration, Offline, ...)."""
        with self.transaction() as state:
            state["migrationServices"][resource_id.lower()] = {
                "id": resource_id,
                "name": resource_id.rstrip("/").rsplit("/", 1)[-1],
                "location": location,
                "provisioningState": "Succeeded",
                "integrationRuntimeState": integration_runtime_state,
            }

    def set_integration_runtime_state(self, resource_id: str, integration_runtime_state: str) -> None:
        with self.transaction() as state:
            service = state["migrationServices"].get(resource_id.lower())
            if service is None:
                raise WorldError("no migration service %s" % resource_id)
            service["integrationRuntimeState"] = integration_runtime_state

    def set_list_page_size(self, resource_id: str, size: Optional[int]) -> None:
        """How many migrations each page of the service's `listMigrations` holds (None: all on one page)."""
        if size is not None and size < 1:
            raise WorldError("a page holds at least 1 migration, got %r" % size)
        with self.transaction() as state:
            service = state["migrationServices"].get(resource_id.lower())
            if service is None:
                raise WorldError("no migration service %s" % resource_id)
            service["listPageSize"] = size

    # -- faults -------------------------------------------------------------------------------

    def add_fault(
        self,
        operation: str,
        kind: str,
        *,
        count: int = 1,
        database: Optional[str] = None,
        status: Optional[int] = None,
        retry_after_seconds: Optional[float] = None,
        delay_seconds: Optional[float] = None,
        code: Optional[str] = None,
        message: Optional[str] = None,
    ) -> None:
        """Make the next `count` matching requests misbehave.

        operation: the server's name for a request (DMS server: getService, listMigrations,
            get, create, cutover, cancel, delete, operationStatus, operationResult,
            getManagedDatabase, deleteManagedDatabase), or "any".
        kind: throttle (429 with Retry-After: retry_after_seconds, default 1), error (status,
            default 500), reset (the connection closes before any response), slow (answers after
            delay_seconds, default 2; operation "sqlExecute": the fake Data Factory's next batch takes
            that long, not slept, and fails if its query timeout is shorter), lroFailed (the request is accepted and its long-running
            operation ends Failed with code and message), migrationFailed (operation "migrate":
            the next progress step of a matching migration ends it Failed with code and message),
            stillCanceling (operation "cancel": the next cancel's operation ends Succeeded while the
            migration stays Canceling for the next `count` reads of it; the read after finds it Canceled),
            unlisted (operation "listMigrations", with `database`: the next `count` lists leave out the migration
            into that target database, as a list lagging like a GET right after a create would).
        database: only requests about this target database (case-insensitive).
        """
        if kind not in FAULT_KINDS:
            raise WorldError("fault kind must be one of %s, got %r" % (", ".join(FAULT_KINDS), kind))
        if count < 1:
            raise WorldError("fault count must be at least 1, got %r" % count)
        fault = {"operation": operation, "kind": kind, "count": count, "database": database}
        for name, value in (
            ("status", status),
            ("retryAfterSeconds", retry_after_seconds),
            ("delaySeconds", delay_seconds),
            ("code", code),
            ("message", message),
        ):
            if value is not None:
                fault[name] = value
        with self.transaction() as state:
            state["faults"].append(fault)

    def take_fault(self, operation: str, database: Optional[str] = None, kinds=FAULT_KINDS) -> Optional[Dict[str, Any]]:
        """Consume one use of the first fault matching a request, if any (looked for first by reading alone: most
        requests find none, and then the world is not written)."""
        if not self.has_fault(operation, database, kinds):
            return None
        with self.transaction() as state:
            fault = _first_matching(state["faults"], operation, database, kinds)
            if fault is None:
                return None
            fault["count"] -= 1
            if fault["count"] == 0:
                state["faults"].remove(fault)
            return copy.deepcopy(fault)

    def has_fault(self, operation: str, database: Optional[str] = None, kinds=FAULT_KINDS) -> bool:
        """Whether a fault matches a request, without consuming it."""
        with self.reading() as state:
            return _first_matching(state["faults"], operation, database, kinds) is not None

    def faults(self) -> List[Dict[str, Any]]:
        with self.reading() as state:
            return copy.deepcopy(state["faults"])


def _first_matching(faults: List[Dict[str, Any]], operation: str, database: Optional[str], kinds) -> Optional[Dict[str, Any]]:
    for fault in faults:
        if (
            fault["kind"] in kinds
            and fault["operation"] in (operation, "any")
            and (fault["database"] is None or sql_name_key(fault["database"]) == sql_name_key(database or ""))
        ):
            return fault
    return None


def _key(name: str) -> str:
    return name.strip().lower()


def sql_name_key(name: str) -> str:
    """A database's or login's name as SQL Server compares it in a case-insensitive collation: letter
    case aside, and trailing spaces aside (it pads the shorter text with spaces: 'Sales' = 'Sales  ')."""
    return name.rstrip(" ").lower()


_TABLE_KEY_PART = re.compile(r"\[((?:[^\]]|\]\])+)\]|([^.\[\]]+)")


def table_key_parts(key: str) -> Tuple[str, str]:
    """A `tables` key's (schema, table): `dbo.Orders`, `sales.Order Lines`, `[a.b].[c]`, `dbo.[x]]y]`."""
    parts = []
    position = 0
    while True:
        match = _TABLE_KEY_PART.match(key, position)
        if match is None:
            break
        parts.append(match.group(2) if match.group(1) is None else match.group(1).replace("]]", "]"))
        position = match.end()
        if position == len(key) or key[position] != ".":
            break
        position += 1
    if len(parts) != 2 or position != len(key):
        raise WorldError("a table key is schema.table, a part holding a dot or a bracket in brackets ([a.b].[c]), got %r" % (key,))
    return parts[0], parts[1]


def _same_path(left: str, right: str) -> bool:
    return left.replace("/", "\\").lower() == right.replace("/", "\\").lower()


def _find_server(state: Dict[str, Any], name_or_host: str) -> Optional[Dict[str, Any]]:
    servers = state["servers"]
    name = _key(name_or_host)
    if name in servers:
        return servers[name]
    # a data source: host[\instance][,port] or tcp:host,port
    host = re.sub(r"^tcp:", "", name).split(",")[0].split("\\")[0]
    for candidate in (name, host, host.split(".")[0]):
        found = servers.get(candidate) or _aliased_server(state, candidate)
        if found is not None:
            return found
    return None


def _aliased_server(state: Dict[str, Any], alias: str) -> Optional[Dict[str, Any]]:
    for server in state["servers"].values():
        if alias in server.get("aliases", ()):
            return server
    return None


def _require_server(state: Dict[str, Any], name: str) -> Dict[str, Any]:
    found = _find_server(state, name)
    if found is None:
        raise WorldError("no server %s in the world" % name)
    return found


def _find_database(state: Dict[str, Any], server: str, name: str) -> Optional[Dict[str, Any]]:
    return _require_server(state, server)["databases"].get(sql_name_key(name))


def _require_database(state: Dict[str, Any], server: str, name: str) -> Dict[str, Any]:
    found = _find_database(state, server, name)
    if found is None:
        raise WorldError("no database %s on server %s" % (name, server))
    return found


def _check_database(database: Dict[str, Any]) -> None:
    for field, allowed in (("state", DATABASE_STATES), ("userAccess", USER_ACCESS), ("recoveryModel", RECOVERY_MODELS)):
        if database[field] not in allowed:
            raise WorldError("database %s: %s must be one of %s, got %r" % (database["name"], field, ", ".join(allowed), database[field]))
    if database.get("mirroringRole") not in (None,) + MIRRORING_ROLES:
        raise WorldError("database %s: mirroringRole must be one of %s or absent, got %r" % (
            database["name"], ", ".join(MIRRORING_ROLES), database["mirroringRole"]))
    if database.get("encryptorThumbprint") is not None:
        _check_thumbprint(database["encryptorThumbprint"])
    for key in database.get("tables") or {}:
        try:
            table_key_parts(key)
        except WorldError as problem:
            raise WorldError("database %s: %s" % (database["name"], problem)) from None
    size_mb = database.get("sizeMb", DEFAULT_DATABASE_SIZE_MB)
    if not isinstance(size_mb, int) or size_mb < 1:
        raise WorldError("database %s: sizeMb must be a positive whole number, got %r" % (database["name"], database.get("sizeMb")))
    log_mb = database.get("logSizeMb")
    if log_mb is not None and (not isinstance(log_mb, int) or not 0 <= log_mb < size_mb):
        raise WorldError("database %s: logSizeMb must be a whole number below sizeMb (%d), got %r" % (database["name"], size_mb, log_mb))


def logged_option_changes(before: Dict[str, Any], after: Dict[str, Any]) -> int:
    """How many log records ALTER DATABASE ... SET writes into the database's own log for the change from `before` to
    `after`: one for READ_ONLY or READ_WRITE (logged while the database is writable: before SET READ_ONLY holds, once
    SET READ_WRITE does; Microsoft's "Database checkpoints": an option change that restarts the database checkpoints
    it, and a checkpoint writes log records; that these two restart it is unverified beyond their "in transition",
    error 952), one for a user access change on a database writable afterwards (unverified: modelled as any change to
    a writable database). A read-only database's log takes none: SQL Server changes nothing in its files, as its
    backups write none."""
    records = int(bool(before["readOnly"]) != bool(after["readOnly"]))
    if before["userAccess"] != after["userAccess"] and not after["readOnly"]:
        records += 1
    return records


def database_guid(server: str, database: Dict[str, Any]) -> str:
    """A database's database_guid (see the schema): its own, or in an older world one of its names."""
    return database.get("guid") or str(uuid.uuid5(uuid.NAMESPACE_URL, "world-database:%s/%s" % (_key(server), sql_name_key(database["name"])))).upper()


def log_size_mb(database: Dict[str, Any]) -> int:
    """Of a database's sizeMb, what its log file holds (see the schema)."""
    log_mb = database.get("logSizeMb")
    return database.get("sizeMb", DEFAULT_DATABASE_SIZE_MB) // 4 if log_mb is None else log_mb


def _check_thumbprint(thumbprint: Any) -> None:
    if not isinstance(thumbprint, str) or not re.match(r"^0x([0-9A-Fa-f]{2})+$", thumbprint):
        raise WorldError("a thumbprint is 0x and pairs of hex digits, got %r" % (thumbprint,))
