"""Is the copy complete? Per-table row counts (and checksums) compared between source and target."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List

from migration_orchestration_lib.plan import DatabaseMigration, MigrationPlan


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
        shown = "; ".join(self.mismatches[:10])
        more = " (and %d more)" % (len(self.mismatches) - 10) if len(self.mismatches) > 10 else ""
        return "%d of %d table(s) differ: %s%s" % (len(self.mismatches), self.tables_compared, shown, more)


def compare_source_and_target(sql: Any, plan: MigrationPlan, database: DatabaseMigration) -> ValidationReport:
    """`sql` is a `SqlServer` (or its rehearsal stand-in). Only names and counts reach the report."""
    settings = database.validation
    report = ValidationReport()
    if not settings.row_counts and not settings.checksums:
        return report
    source_connection = plan.source_of(database).connection_id
    target_connection = plan.target_of(database).connection_id
    tables = list(settings.tables or sql.user_tables(source_connection, database.source_database))
    for table in tables:
        source = sql.table_fingerprint(source_connection, database.source_database, table, settings.checksums)
        target = sql.table_fingerprint(target_connection, database.target_database, table, settings.checksums)
        report.tables_compared += 1
        if source is None:
            report.mismatches.append("%s: missing on source" % table)
        elif target is None:
            report.mismatches.append("%s: missing on target" % table)
        elif settings.row_counts and source.row_count != target.row_count:
            report.mismatches.append("%s: %d rows on source, %d on target" % (table, source.row_count, target.row_count))
        elif settings.checksums and source.checksum != target.checksum:
            report.mismatches.append("%s: checksums differ" % table)
    return report
