"""Is the copy complete? One fingerprint batch per side (row counts, checksums), compared by table.

`validation_operations` builds the SQL operations (one per side, each ONE batch over every
table: `sql_statements.table_fingerprints`, or parts of a long `validation.tables`) and `compare_fingerprints`
compares what they return;
a SqlDb copy's sequences are read and compared too (`sequence_operations`, `compare_sequences`).
What a match proves for restores (SqlMi, SqlVm) and for copies (SqlDb) is written down in
`sql_statements`. Only names and counts reach the report (never row data).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Tuple

from migration_orchestration_lib import sql_statements
from migration_orchestration_lib.plan import DatabaseMigration, MigrationPlan, ValidationSettings
from migration_orchestration_lib.sql_access import (
    BATCH_PAYLOAD_BUDGET_BYTES, SOURCE, TARGET, SqlEndpoint, SqlOperation, batch_payload_bytes)
from migration_orchestration_lib.sql_statements import SequenceValue, TableFingerprint
from migration_orchestration_lib.table_names import counterparts, folded, parse_table_name

SHOWN_MISMATCHES = 10


@dataclass
class ValidationReport:
    tables_compared: int = 0
    mismatches: List[str] = field(default_factory=list)
    sequences_compared: int = 0  # a SqlDb copy's (`compare_sequences`)

    @property
    def passed(self) -> bool:
        return not self.mismatches

    def summary(self) -> str:
        compared = "table(s)" if not self.sequences_compared else "table(s) and sequence(s)"
        if self.passed:
            if self.sequences_compared:
                return "%d table(s) and %d sequence(s) match" % (self.tables_compared, self.sequences_compared)
            return "%d table(s) match" % self.tables_compared
        shown = "; ".join(self.mismatches[:SHOWN_MISMATCHES])
        more = len(self.mismatches) - SHOWN_MISMATCHES
        return "%d of %d %s differ: %s%s" % (
            len(self.mismatches), self.tables_compared + self.sequences_compared, compared, shown,
            " (and %d more)" % more if more > 0 else "")


def validation_operations(plan: MigrationPlan, database: DatabaseMigration, key: str) -> List[SqlOperation]:
    """The source's and then the target's fingerprint batches of a database (`key` names this validation); each one's
    timeout is set as it is submitted (`DatabaseSql.compare`: until the database's deadline). A side's batch lists
    the plan's `validation.tables`: where one batch listing them all would be over `BATCH_PAYLOAD_BUDGET_BYTES`
    (Data Factory fails a run whose payload is over 896 KB), the side gets several, each over a part of the tables
    (keys `<key>/<side>/part-<n>`), whose rows together are the one batch's."""
    settings = database.validation
    tables = list(settings.tables) if settings.tables else None
    # A copy (SqlDb) gets new rowversion values; a restore keeps them.
    exclude_rowversion = database.target_kind == "SqlDb"
    target_connects_to = sql_statements.connect_database(database.target_kind, database.target_database)
    sides = (
        (SOURCE, database.source_server, database.source_database, "master"),
        (TARGET, database.target_server, database.target_database, target_connects_to),
    )
    operations = []
    for role, server, name, connected in sides:
        def batch(part: Optional[List[Tuple[str, str]]], name: str = name, connected: str = connected,
                  login: str = "the DAG's login on %s server %s" % (role, server)) -> str:
            return sql_statements.table_fingerprints(
                name, tables=part, with_checksum=settings.checksums, exclude_rowversion=exclude_rowversion,
                connected_database=connected, login=login)

        parts = _batches_within_budget(tables, batch)
        for number, sql in enumerate(parts, 1):
            operations.append(SqlOperation(
                key="%s/%s" % (key, role) if len(parts) == 1 else "%s/%s/part-%d" % (key, role, number),
                endpoint=SqlEndpoint(role=role, server_name=server, database=connected), sql=sql, returns_rows=True))
    return operations


def _batches_within_budget(tables: Optional[List[Tuple[str, str]]],
                           batch: Callable[[Optional[List[Tuple[str, str]]]], str]) -> List[str]:
    """`batch(tables)`, or the batches of its halves (and so on) where it is over the budget."""
    sql = batch(tables)
    if tables is None or len(tables) == 1 or batch_payload_bytes(sql) <= BATCH_PAYLOAD_BUDGET_BYTES:
        return [sql]
    half = len(tables) // 2
    return _batches_within_budget(tables[:half], batch) + _batches_within_budget(tables[half:], batch)


def once_each(fingerprints: Sequence[TableFingerprint]) -> List[TableFingerprint]:
    """A side's fingerprints from its parts, a table that several parts read alike once: two names listed in
    different parts that the database matches to one table (`dbo.Orders`, `dbo.ORDERS` where names ignore case) are
    one row in one batch. Where the reads differ, both stay."""
    seen = set()
    kept = []
    for fingerprint in fingerprints:
        read = (fingerprint.table, fingerprint.row_count, fingerprint.checksum, fingerprint.error)
        if read not in seen:
            seen.add(read)
            kept.append(fingerprint)
    return kept


def sequence_operations(database: DatabaseMigration, key: str) -> Tuple[SqlOperation, SqlOperation]:
    """A SqlDb copy's source and target sequence batches (`sql_statements.sequence_values`): DMS copies rows only, so
    the target's sequences are where its schema's deployment left them. The source's fails unless its login sees every
    sequence there (a sequence it cannot see would not be compared); one the target's login cannot see reads missing."""
    target_connects_to = sql_statements.connect_database(database.target_kind, database.target_database)
    sides = ((SOURCE, database.source_server, database.source_database, "master"),
             (TARGET, database.target_server, database.target_database, target_connects_to))
    source, target = (
        SqlOperation(key="%s/sequences/%s" % (key, role),
                     endpoint=SqlEndpoint(role=role, server_name=server, database=connected),
                     sql=sql_statements.sequence_values(name, connected, must_see_every=(
                         "the DAG's login on %s server %s" % (role, server) if role == SOURCE else None)),
                     returns_rows=True)
        for role, server, name, connected in sides)
    return source, target


def compare_sequences(source: Sequence[SequenceValue], target: Sequence[SequenceValue]) -> List[str]:
    """Each source sequence must be on the target (its name matched as a table's is), ahead of the source's: the
    target's next value beyond the last value the source handed out (above it ascending, below it descending), in the
    source's direction. Else NEXT VALUE FOR there could hand out a value the source handed out already (duplicate keys,
    or rows mixed up where nothing is unique). A source sequence that never handed out a value needs nothing.
    Whether one did is known from SQL Server 2017 (last_used_value); before, current_value is the last value handed
    out or START WITH where none was, the two read alike, so the source's is taken as handed out and the target's as
    not (an equal one fails). A cycling sequence is compared as one that does not cycle (a target behind the source's
    would repeat its newest values first)."""
    by_name = {value.sequence: value for value in target}
    paired = counterparts([value.sequence for value in source], by_name)
    mismatches = []
    for mine in sorted(source, key=lambda value: (folded(value.sequence), value.sequence)):
        name = paired[mine.sequence]
        theirs = None if name is None else by_name[name]
        if theirs is None:
            mismatches.append("sequence %s: missing on target (or hidden from the DAG's login there: VIEW DEFINITION "
                              "on the database shows every sequence)" % (mine.sequence,))
            continue
        name_there = "%s.%s" % (sql_statements.quote_name(theirs.sequence.schema),
                                sql_statements.quote_name(theirs.sequence.table))
        if (mine.increment > 0) != (theirs.increment > 0):
            mismatches.append(
                "sequence %s: increment %d on source, %d on target, which would hand out values the source did: on "
                "the target, ALTER SEQUENCE %s INCREMENT BY %d" % (mine.sequence, mine.increment, theirs.increment,
                                                                   name_there, mine.increment))
            continue
        last = mine.last_handed_out
        if last is None:
            continue
        if theirs.next_value <= last if mine.increment > 0 else theirs.next_value >= last:
            mismatches.append(
                "sequence %s: at %d on source, %d on target, which would hand out values the source did: on the "
                "target, ALTER SEQUENCE %s RESTART WITH %d"
                % (mine.sequence, mine.current_value, theirs.current_value, name_there, last + mine.increment))
    return mismatches


def compare_fingerprints(
    source: Sequence[TableFingerprint], target: Sequence[TableFingerprint], row_counts: bool, checksums: bool
) -> ValidationReport:
    """Every source table must be on the target with the same row count (and checksum): the target table of
    its exact name, else the one table whose name differs from it only in letter case or trailing spaces (a
    copy's schema deployed in another spelling; SQL Server's comparison ignores trailing spaces), where it is
    the one source table of that name so read. A case-sensitive database may hold two tables differing only in
    case: each is compared with its own, never both with one of them (a target holding one of them lacks the
    other)."""
    report = ValidationReport()
    if not row_counts and not checksums:
        return report
    by_name = {fingerprint.table: fingerprint for fingerprint in target}
    paired = counterparts([fingerprint.table for fingerprint in source], by_name)
    for mine in sorted(source, key=lambda fingerprint: (folded(fingerprint.table), fingerprint.table)):
        report.tables_compared += 1
        name = paired[mine.table]
        theirs = None if name is None else by_name[name]
        problem = _difference(mine, theirs, row_counts, checksums)
        if problem:
            report.mismatches.append("%s: %s" % (mine.table, problem))
    return report


def _difference(source: TableFingerprint, target: Optional[TableFingerprint], row_counts: bool, checksums: bool) -> Optional[str]:
    if source.error:
        return "missing on source" if source.error == "table does not exist" else "unreadable on source (%s)" % source.error
    if target is None or target.error == "table does not exist":
        return "missing on target"
    if target.error:
        return "unreadable on target (%s)" % target.error
    if row_counts and source.row_count != target.row_count:
        return "%d rows on source, %d on target" % (source.row_count, target.row_count)
    if checksums and source.checksum != target.checksum:
        return "checksums differ"
    return None



# --- the validation promised when the source was frozen ------------------------------------------------
#
# A person may edit the plan's `validation` while a migration is frozen (or after a validation found a
# mismatch and its rollback kept the source frozen for a person): a weaker one (`rowCounts` and
# `checksums` off, fewer tables) would let `done` declare a target the plan, when it froze the source,
# would have compared, and which may lack writes. So the freezing step records the plan's validation
# then, per DMS migration: the Airflow Variable `migration_validation__<operation id>` =
# `{"checksums": ..., "rowCounts": ..., "tables": ["schema.table", ...] | null}` (each table as `TableName`
# writes it); `validate` compares at least that much (`to_meet`: the stronger of the record and the plan
# now). Only a person clears it (`''`).

VALIDATION_RECORD_PREFIX = "migration_validation__"


def validation_record_key(operation_id: str) -> str:
    return VALIDATION_RECORD_PREFIX + operation_id


def stronger(one: ValidationSettings, other: ValidationSettings) -> ValidationSettings:
    """What compares everything either compares (tables None: every user table of the source)."""
    tables = None if one.tables is None or other.tables is None else tuple(
        sorted(set(one.tables) | set(other.tables), key=lambda table: (folded(table), table)))
    return ValidationSettings(row_counts=one.row_counts or other.row_counts, checksums=one.checksums or other.checksums, tables=tables)


def covers(settings: ValidationSettings, other: ValidationSettings) -> bool:
    """Whether `settings` compares at least what `other` does: each of `other`'s tables is one of `settings`'s as SQL
    Server matches names (`counterparts`: two differing only in case are two tables)."""
    tables_covered = settings.tables is None or (
        other.tables is not None and None not in counterparts(other.tables, settings.tables).values())
    return (settings.row_counts or not other.row_counts) and (settings.checksums or not other.checksums) and tables_covered


def describe_settings(settings: ValidationSettings) -> str:
    compared = [name for name, on in (("row counts", settings.row_counts), ("checksums", settings.checksums)) if on]
    if not compared:
        return "no comparison"
    return "%s of %s" % (" and ".join(compared), "every table" if settings.tables is None else ", ".join(str(t) for t in settings.tables))


def promised(ctx: Any, operation_id: Optional[str]) -> Optional[ValidationSettings]:
    """The validation recorded when the DAG froze this migration's source (None: none recorded)."""
    value = ctx.services.records.get(validation_record_key(operation_id)) if operation_id else None
    if not value:
        return None
    record = json.loads(value)
    tables = record.get("tables")
    return ValidationSettings(row_counts=bool(record["rowCounts"]), checksums=bool(record["checksums"]),
                              tables=None if tables is None else tuple(parse_table_name(table) for table in tables))


def promise(ctx: Any, operation_id: Optional[str]) -> None:
    """Right before the DAG freezes the source of migration `operation_id`: record the plan's validation
    (kept stronger where an earlier freeze of the migration promised more)."""
    if not operation_id:
        return
    earlier = promised(ctx, operation_id)
    if earlier is not None and covers(earlier, ctx.database.validation):
        return
    settings = ctx.database.validation if earlier is None else stronger(earlier, ctx.database.validation)
    ctx.services.records.put(validation_record_key(operation_id), json.dumps(
        {"checksums": settings.checksums, "rowCounts": settings.row_counts,
         "tables": None if settings.tables is None else [str(table) for table in settings.tables]}, sort_keys=True))


def to_meet(ctx: Any, operation_id: Optional[str]) -> Tuple[DatabaseMigration, Optional[str]]:
    """The database with the validation `validate` compares, and where that is more than the plan's now, why."""
    database = ctx.database
    earlier = promised(ctx, operation_id)
    if earlier is None or covers(database.validation, earlier):
        return database, None
    settings = stronger(earlier, database.validation)
    why = (
        "validated with %s, as the plan said when the DAG froze the source (the Airflow Variable %s), not only with %s "
        "as it says now: a validation weakened while the source was frozen never declares a target that may lack writes"
        % (describe_settings(settings), validation_record_key(operation_id), describe_settings(database.validation))
    )
    return dataclasses.replace(database, validation=settings), why
