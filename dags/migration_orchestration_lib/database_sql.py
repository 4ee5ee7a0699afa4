"""The SQL a step runs, in plan terms, through either SQL access (direct or Data Factory).

Each call submits its statement (`sql_statements`) and reads the result; while it runs (a Data
Factory pipeline run takes a while) the call raises `StepPending` and the task pokes again later,
holding no worker slot. Keys make a poke find the operation an earlier poke of the same try
submitted; the final backup's key is its migration's and file's, so a later run finds it too.
"""
from __future__ import annotations

import dataclasses
import re
import time
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, TypeVar

from migration_orchestration_lib import sql_statements as statements
from migration_orchestration_lib.airflow_compat import utc_now
from migration_orchestration_lib.daemon_work import DaemonWork
from migration_orchestration_lib.plan import DatabaseMigration
from migration_orchestration_lib.sql_access import SOURCE, TARGET, SqlEndpoint, SqlOperation
from migration_orchestration_lib.step_context import SourceHidden, StepPending
from migration_orchestration_lib.table_names import TableName

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class CopyPrerequisites:
    """What the checks of a new SqlDb copy read, at the same time (through Data Factory in parallel)."""

    source: statements.SourcePrerequisites  # `DatabaseSql.source_prerequisites`
    target_tables: List[TableName]  # the target database's user tables
    target_masked: Optional[Tuple[statements.MaskedTable, ...]]  # those holding masked columns (None: cut off)
    on_target: statements.LoginPermission  # whether the target session's login holds the permission asked for on it
    target_sequences: List[statements.SequenceValue]


class DatabaseSql:
    def __init__(self, access: Any, key_prefix: str, not_before: Optional[datetime] = None):
        """`key_prefix`: this run, task and try (see `operation_key_prefix`); `not_before`: when that try first
        poked, before which no operation under the prefix began (`SqlOperation.not_before`; None: not known, an
        earlier try's prefix). Operations under their own key (`backup_log`) may have begun in an earlier run."""
        self._access = access
        self._key_prefix = key_prefix
        self._not_before = not_before

    def source_state(self, database: DatabaseMigration, purpose: str = "source-state") -> Optional[statements.DatabaseState]:
        """The source's state with its freeze marker (`source_freeze`); None: absent. Raises `SourceHidden` where
        master shows the login no row of it and the login may not see every row (`_source_unless_hidden`)."""
        rows = self._run(_source(database, "master"), statements.source_state(database.source_database), purpose)
        return self._source_unless_hidden(database, statements.parse_database_state(rows), purpose)

    def _source_unless_hidden(self, database: DatabaseMigration, state: Optional[statements.DatabaseState],
                             purpose: str) -> Optional[statements.DatabaseState]:
        """`state`, the source's read under `purpose`; where that is no row, whether the login may see every row of
        sys.databases is asked too (`statements.login_visibility`, its own batch: a read that finds the source costs
        nothing more), and a source hidden from it (public's VIEW ANY DATABASE revoked, say) raises `SourceHidden`,
        naming the login and the grant: unknown, not absent. Every read of the source's state goes through here
        (`source_state`, `source_facts`, `freeze_source`); the batches that read other facts of it read a hidden
        source as they read what the login may not see: its files' sizes and its log's end unread, and not held by
        another connection (validate reads its state first)."""
        if state is not None:
            return state
        read = statements.parse_database_read(
            self._run(_source(database, "master"), statements.login_visibility(), purpose + "-visibility"))
        if read.hidden:
            raise SourceHidden(statements.hidden_database(
                "source", database.source_database, database.source_server, read.login, "frozen or writable"))
        return None

    def source_held(self, database: DatabaseMigration, purpose: str) -> bool:
        """Whether another connection holds the SINGLE_USER source, so no batch may enter it (error 924)."""
        rows = self._run(_source(database, "master"), statements.held_by_another_connection(database.source_database), purpose)
        return statements.parse_held(rows)

    def target_state(self, database: DatabaseMigration, purpose: str = "target-state") -> statements.DatabaseRead:
        """The target database's state, and whether its absence is one (`DatabaseRead.hidden`: the login may not see it)."""
        rows = self._run(_target(database, "master"), statements.target_state(database.target_database, database.target_kind), purpose)
        return statements.parse_database_read(rows)

    def source_facts(self, database: DatabaseMigration) -> statements.SourceFacts:
        """The source's state with its freeze marker, which physical database it is and where its next log
        backup starts, in one batch (`sql_statements.source_facts`): what `preflight` reads of it."""
        rows = self._run(_source(database, "master"), statements.source_facts(database.source_database), "source-facts")
        facts = statements.parse_source_facts(rows)
        self._source_unless_hidden(database, facts.state, "source-facts")
        return facts

    def source_prerequisites(self, database: DatabaseMigration, full_backups: bool) -> statements.SourcePrerequisites:
        """What the prerequisite checks of a new migration read of its source, in one batch
        (`sql_statements.source_prerequisites`); `full_backups`: msdb's history of them too."""
        return statements.parse_source_prerequisites(self._run(*self._source_prerequisites(database, full_backups)))

    def copy_prerequisites(self, database: DatabaseMigration, on_target: str) -> CopyPrerequisites:
        """A SqlDb copy's prerequisites (`CopyPrerequisites`), run together."""
        connects_to = statements.connect_database(database.target_kind, database.target_database)
        source, tables, permission, sequences, masked = self._run_together(
            self._source_prerequisites(database, full_backups=False),
            (_target(database, connects_to), statements.user_tables(database.target_database, connects_to), "target-tables"),
            (_target(database, connects_to), statements.database_permission(database.target_database, on_target, connects_to,
                                                                              masking=True),
             "target-permission"),
            (_target(database, connects_to), statements.sequence_values(database.target_database, connects_to),
             "target-sequences"),
            (_target(database, connects_to), statements.masked_tables(database.target_database, connects_to),
             "target-masked-tables"),
        )
        return CopyPrerequisites(
            source=statements.parse_source_prerequisites(source), target_tables=statements.parse_user_tables(tables),
            target_masked=statements.parse_masked_tables(masked), on_target=statements.parse_login_permission(permission),
            target_sequences=statements.parse_sequence_values(sequences))

    def _source_prerequisites(self, database: DatabaseMigration, full_backups: bool):
        sql = statements.source_prerequisites(database.source_database, database.target_kind, full_backups)
        return _source(database, "master"), sql, "source-prerequisites"

    def target_product_major_version(self, database: DatabaseMigration) -> Optional[int]:
        """The target server's major version (None where not reported)."""
        rows = self._run(_target(database, "master"), statements.product_major_version(), "target-version")
        return statements.parse_product_major_version(rows)

    def target_keys_matching(self, database: DatabaseMigration, thumbprint: str) -> Optional[int]:
        rows = self._run(_target(database, "master"), statements.server_keys_matching(thumbprint), "target-keys")
        return statements.parse_server_keys_matching(rows)

    def restore_room(
        self, restores: Sequence[DatabaseMigration], purpose: str = "restore-room",
        sizes_read: Optional[Mapping[str, Optional[statements.FileSizes]]] = None,
    ) -> Tuple[Dict[str, Optional[statements.FileSizes]], statements.RestoreRoom]:
        """For restores into one target (SqlMi or SqlVm): each one's files on its source (by plan
        database name; None where not visible) and the target's room, with which of their target
        databases it has already (`sql_statements.restore_room`). One batch per server, run together;
        `sizes_read`: the files of restores already read (by plan database name), not read again."""
        target = restores[0]
        sizes: Dict[str, Optional[statements.FileSizes]] = dict(sizes_read or {})
        sources: Dict[str, List[DatabaseMigration]] = {}
        for restore in restores:
            if restore.name not in sizes:
                sources.setdefault(restore.source_server, []).append(restore)
        results = self._run_together(
            (_target(target, "master"), statements.restore_room(target.target_kind, [r.target_database for r in restores]),
             "%s:target" % purpose),
            *((_source(group[0], "master"), statements.database_file_sizes([r.source_database for r in group]),
               "%s:source:%s" % (purpose, server)) for server, group in sources.items()),
        )
        for group, rows in zip(sources.values(), results[1:]):
            found = statements.parse_database_file_sizes(rows)
            sizes.update({r.name: found.get(r.source_database.lower()) for r in group})
        return sizes, statements.parse_restore_room(results[0])

    def freeze_source(self, database: DatabaseMigration, marker: Optional[str] = None,
                      earlier_markers: Sequence[str] = ()) -> statements.DatabaseState:
        """`marker`: the freeze marker to write, `earlier_markers` the texts of it versions before wrote
        (`sql_statements.freeze`); the state comes back with the marker found before the freeze. A source hidden
        from the login, which the batch skipped, raises `SourceHidden` (`_source_unless_hidden`)."""
        endpoint, sql, purpose = self._freeze(database, marker, earlier_markers)
        return self._source_unless_hidden(database, statements.parse_database_state(self._run(endpoint, sql, purpose)), purpose)

    def await_freeze(self, database: DatabaseMigration) -> None:
        """The freeze submitted under this key prefix, awaited by key: StepPending while it runs, `SqlOperationFailed`
        where it failed. What it found is not read: the reads after it do (a source hidden from the login asked about
        there, `_source_unless_hidden`, not as a wait for a freeze that has ended)."""
        self._run(*self._freeze(database))

    def freeze_submitted(self, database: DatabaseMigration) -> bool:
        """Whether the freeze was submitted under this key prefix: by its task's try (it may still be running)."""
        endpoint, sql, purpose = self._freeze(database)
        return self._access.submitted(self._operation(self._key(purpose), endpoint, sql))

    def _freeze(self, database: DatabaseMigration, marker: Optional[str] = None, earlier_markers: Sequence[str] = ()):
        sql = statements.freeze(database.source_database, database.source_freeze, marker, earlier_markers)
        return _source(database, "master"), sql, FREEZE_PURPOSE

    def unfreeze_source(self, database: DatabaseMigration, read_only: bool = False, user_access: str = "MULTI_USER",
                        marker: Optional[str] = None) -> statements.DatabaseState:
        """Back to the access the source had before the freeze (`source_freeze`): by default writable;
        `marker`, the freeze's marker, removed once writable."""
        sql = statements.unfreeze(database.source_database, read_only, user_access, marker)
        return statements.parse_database_state(self._run(_source(database, "master"), sql, "unfreeze"))

    def backup_log(self, database: DatabaseMigration, file_path: str, key: str) -> List[statements.BackupIdentity]:
        """The log backup msdb records in `file_path`, taken if none is (`sql_statements.backup_log`); raises
        `BackupFileNotRecorded` where the file holds a backup msdb does not record: none taken over it."""
        rows = self._run(_source(database, "master"), statements.backup_log(database.source_database, file_path), key, own_key=True)
        return statements.parse_backup_log(rows)

    def log_after_backup(self, database: DatabaseMigration, file_paths: Sequence[str], purpose: str) -> statements.LogAfterBackup:
        """Whether the source's log holds records after the newest of its log backups to `file_paths`
        (`sql_statements.log_after_backup`)."""
        rows = self._run(_source(database, "master"), statements.log_after_backup(database.source_database, file_paths), purpose)
        return statements.parse_log_after_backup(rows)

    def log_end(self, database: DatabaseMigration, purpose: str) -> Optional[int]:
        """The source's last log record's LSN (`sql_statements.log_end`; None: unread)."""
        return statements.parse_log_end(self._run(_source(database, "master"), statements.log_end(database.source_database), purpose))

    def log_end_submitted(self, database: DatabaseMigration, purpose: str) -> bool:
        """Whether `log_end` under `purpose` was submitted under this key prefix (through Data Factory it runs across pokes)."""
        sql = statements.log_end(database.source_database)
        return self._access.submitted(self._operation(self._key(purpose), _source(database, "master"), sql))

    def drop_target(self, database: DatabaseMigration) -> int:
        """Drop the SqlVm target; returns how many databases of its name remain (0 once dropped)."""
        rows = self._run(_target(database, "master"), statements.drop_database(database.target_database), "drop-target")
        return int(rows[0]["remaining"]) if rows else 1

    def compare(self, plan: Any, database: DatabaseMigration, deadline: datetime,
                still_running: Callable[[str], None], every: timedelta) -> Any:
        """Fingerprints of both sides (one batch each, or a side's parts), compared by table. The two sides run
        together, a side's batches one after another (a SINGLE_USER source admits one connection: a second batch
        entering it beside the first fails with 924). Each batch may run until `deadline` from when it is submitted:
        with direct access the target's starts once the source's ended.
        A submit may block that long (direct access runs the batch in it): the submits run in a worker thread, and
        `still_running(what runs)` is called every `every` meanwhile (the events contract's heartbeat)."""
        from migration_orchestration_lib.validation import (
            ValidationReport, compare_fingerprints, compare_sequences, once_each, sequence_operations, validation_operations)

        settings = database.validation
        if not settings.row_counts and not settings.checksums:
            return ValidationReport()
        fingerprints = validation_operations(plan, database, self._key("validate"))
        sequences = sequence_operations(database, self._key("validate")) if database.target_kind == "SqlDb" else ()
        operations = list(fingerprints) + list(sequences)
        running: List[Tuple[SqlOperation, float]] = []  # the batch being submitted, since when (time.monotonic)

        def submit_each() -> List[Any]:
            results: List[Any] = []
            busy = set()  # the sides with a batch still running: a side's next batch waits for it
            for operation in operations:
                if operation.endpoint.role in busy:
                    results.append(None)
                    continue
                running.append((operation, time.monotonic()))
                timeout = statements.fingerprint_timeout_seconds(deadline, utc_now())
                # Not run again after a failure: a retry would take the whole timeout again, past the deadline.
                submitted = dataclasses.replace(operation, timeout_seconds=timeout, not_before=self._not_before,
                                                rerun_after_failure=False)
                handle = self._access.submit(submitted)
                results.append(self._access.result(handle))
                if results[-1] is None:
                    busy.add(operation.endpoint.role)
            return results

        def say_what_runs() -> None:
            operation, since = running[-1]
            still_running(_validating(database, operation, operation in sequences,
                                      timedelta(seconds=time.monotonic() - since), deadline))

        results = _while_beating(submit_each, every, say_what_runs)
        if any(result is None for result in results):
            raise StepPending("validation of %s is running" % database.name)
        rows = {operation.key: list(result.rows) for operation, result in zip(operations, results)}
        for operation in fingerprints:
            if settings.tables and not rows[operation.key]:  # a listed table, even a missing one, has its row
                raise statements.IncompleteResult(
                    "%s returned no row, though it lists tables to fingerprint: its tables were not read" % operation.key)

        def by_role(group: Sequence[SqlOperation], parse: Callable[[List[Mapping[str, Any]]], List[Any]]) -> Dict[str, List[Any]]:
            parsed: Dict[str, List[Any]] = {SOURCE: [], TARGET: []}
            for operation in group:  # a side's batches in parts: their rows together
                parsed[operation.endpoint.role].extend(parse(rows[operation.key]))
            return parsed

        tables = {role: once_each(found) for role, found in by_role(fingerprints, statements.parse_fingerprints).items()}
        report = compare_fingerprints(tables[SOURCE], tables[TARGET], settings.row_counts, settings.checksums)
        if sequences:
            values = by_role(sequences, statements.parse_sequence_values)
            report.sequences_compared = len(values[SOURCE])
            report.mismatches += compare_sequences(values[SOURCE], values[TARGET])
        return report

    def compare_submitted(self, plan: Any, database: DatabaseMigration) -> bool:
        """Whether `compare` submitted its batches under this key prefix (through Data Factory: in an earlier poke)."""
        from migration_orchestration_lib.validation import validation_operations

        first = validation_operations(plan, database, self._key("validate"))[0]
        return self._access.submitted(dataclasses.replace(first, not_before=self._not_before))

    def _run(self, endpoint: SqlEndpoint, sql: str, purpose: str, own_key: bool = False) -> List[Mapping[str, Any]]:
        operation = SqlOperation(key=purpose, endpoint=endpoint, sql=sql, returns_rows=True) if own_key else (
            self._operation(self._key(purpose), endpoint, sql))
        handle = self._access.submit(operation)
        result = self._access.result(handle)
        if result is None:
            raise StepPending("SQL operation %s is running on %s" % (operation.key, endpoint.server_name))
        return list(result.rows)

    def _run_together(self, *operations: Any) -> List[List[Mapping[str, Any]]]:
        """Several (endpoint, sql, purpose) submitted at once (pipeline runs in parallel), then read."""
        handles = [
            self._access.submit(self._operation(self._key(purpose), endpoint, sql))
            for endpoint, sql, purpose in operations
        ]
        results = [self._access.result(handle) for handle in handles]
        if any(result is None for result in results):
            running = [handle.key for handle, result in zip(handles, results) if result is None]
            raise StepPending("SQL operation(s) %s running" % ", ".join(running))
        return [list(result.rows) for result in results]

    def _key(self, purpose: str) -> str:
        return "%s:%s" % (self._key_prefix, purpose)

    def _operation(self, key: str, endpoint: SqlEndpoint, sql: str) -> SqlOperation:
        return SqlOperation(key=key, endpoint=endpoint, sql=sql, returns_rows=True, not_before=self._not_before)


def _while_beating(work: Callable[[], T], every: timedelta, beat: Callable[[], None]) -> T:
    """`work()`'s result (or its exception), `beat()` called every `every` while it runs. It runs in a daemon thread:
    pymssql blocks in C, where neither a heartbeat nor Airflow's execution_timeout (AirflowTaskTimeout, raised by a
    signal in this thread) could run; this thread's wait lets the latter through, and the task ends without waiting
    for `work`, whose SQL batch is bounded by its own timeout."""
    worker = DaemonWork(work, "validation-batches")
    next_beat = time.monotonic() + every.total_seconds()
    while not worker.wait(next_beat - time.monotonic()):
        beat()
        next_beat += every.total_seconds()
    return worker.result()


def _validating(database: DatabaseMigration, operation: SqlOperation, sequence_batch: bool, ran: timedelta,
                deadline: datetime) -> str:
    """A `Running` heartbeat's message while `operation`, a fingerprint (or `sequence_batch`) batch of `database`, runs."""
    if sequence_batch:
        return "validating: the %s's sequence batch on %s has run for %d min; it may run until %s" % (
            operation.endpoint.role, operation.endpoint.server_name, ran.total_seconds() // 60, deadline.isoformat())
    settings = database.validation
    tables = "%d listed table(s)" % len(settings.tables) if settings.tables else "every user table"
    reads = "row counts and checksums" if settings.row_counts and settings.checksums else (
        "row counts" if settings.row_counts else "checksums")
    return "validating: the %s's fingerprint batch (%s of %s) on %s has run for %d min; it may run until %s" % (
        operation.endpoint.role, reads, tables, operation.endpoint.server_name, ran.total_seconds() // 60,
        deadline.isoformat())


def is_frozen(state: statements.DatabaseState) -> bool:
    """Writes stopped: READ_ONLY, or an access mode other than MULTI_USER (the plan's `sourceFreeze`)."""
    return state.is_read_only or state.user_access != "MULTI_USER"


# The purpose a freeze's operation key ends with (`operation_key_prefix` + ":" + it).
FREEZE_PURPOSE = "freeze"


def operation_key_prefix(run_id: str, database: str, task: str, try_number: Any) -> str:
    return "%s:%s:%s:%s" % (run_id, database, task, try_number)


def is_operation_key_of(key: str, database: str) -> bool:
    """Whether `key` is one `operation_key_prefix` begins for `database`, of any run, task and try."""
    return re.search(r":%s:[a-z_]+:\d+:" % re.escape(database), key) is not None


def final_backup_key(operation_id: str, file_name: str = "") -> str:
    """`final_backup`'s `BACKUP LOG` of migration `operation_id` into `file_name` (with no file name: the prefix of
    every one of that migration's)."""
    return "final-backup:%s:%s" % (operation_id, file_name)


def _source(database: DatabaseMigration, connect_to: str) -> SqlEndpoint:
    return SqlEndpoint(role=SOURCE, server_name=database.source_server, database=connect_to)


def _target(database: DatabaseMigration, connect_to: str) -> SqlEndpoint:
    return SqlEndpoint(role=TARGET, server_name=database.target_server, database=connect_to)
