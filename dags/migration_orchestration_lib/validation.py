"""Is the copy complete? One fingerprint batch per side (row counts, checksums), compared by table.

`validation_operations` builds the two SQL operations (one per side, each ONE batch over every
table: `sql_statements.table_fingerprints`) and `compare_fingerprints` compares what they return.
What a match proves for restores (SqlMi, SqlVm) and for copies (SqlDb) is written down in
`sql_statements`. Only names and counts reach the report (never row data).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from migration_orchestration_lib import sql_statements
from migration_orchestration_lib.plan import DatabaseMigration, MigrationPlan
from migration_orchestration_lib.sql_access import SOURCE, TARGET, SqlEndpoint, SqlOperation
from migration_orchestration_lib.sql_statements import TableFingerprint

SHOWN_MISMATCHES = 10


@dataclass
class ValidationReport:
    tables_compared: int = 0
    mismatches: List[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.mismatches

    def summary(self) -> str:
        if self.passed:
            return "%d table(s) match" % self.tables_compared
        shown = "; ".join(self.mismatches[:SHOWN_MISMATCHES])
        more = len(self.mismatches) - SHOWN_MISMATCHES
        return "%d of %d table(s) differ: %s%s" % (
            len(self.mismatches), self.tables_compared, shown, " (and %d more)" % more if more > 0 else "")


def validation_operations(plan: MigrationPlan, database: DatabaseMigration, key: str) -> Tuple[SqlOperation, SqlOperation]:
    """The source and target fingerprint batches of a database (`key` names this validation)."""
    settings = database.validation
    tables = list(settings.tables) if settings.tables else None
    timeout = sql_statements.fingerprint_timeout_seconds(len(tables) if tables else _UNKNOWN_TABLE_COUNT)
    # A copy (SqlDb) gets new rowversion values; a restore keeps them.
    exclude_rowversion = database.target_kind == "SqlDb"
    target_connects_to = sql_statements.connect_database(database.target_kind, database.target_database)
    sides = (
        (SOURCE, database.source_server, database.source_database, "master"),
        (TARGET, database.target_server, database.target_database, target_connects_to),
    )
    operations = []
    for role, server, name, connected in sides:
        operations.append(
            SqlOperation(
                key="%s/%s" % (key, role),
                endpoint=SqlEndpoint(role=role, server_name=server, database=connected),
                sql=sql_statements.table_fingerprints(
                    name, tables=tables, with_checksum=settings.checksums, exclude_rowversion=exclude_rowversion,
                    connected_database=connected),
                returns_rows=True,
                timeout_seconds=timeout,
            )
        )
    return operations[0], operations[1]


# Without the plan's list the table count is unknown when the operation starts: budget for this many.
_UNKNOWN_TABLE_COUNT = 50


def compare_fingerprints(
    source: Sequence[TableFingerprint], target: Sequence[TableFingerprint], row_counts: bool, checksums: bool
) -> ValidationReport:
    """Every source table must be on the target with the same row count (and checksum)."""
    report = ValidationReport()
    if not row_counts and not checksums:
        return report
    on_target = {fingerprint.table.lower(): fingerprint for fingerprint in target}
    for mine in sorted(source, key=lambda fingerprint: fingerprint.table.lower()):
        report.tables_compared += 1
        theirs = on_target.get(mine.table.lower())
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

