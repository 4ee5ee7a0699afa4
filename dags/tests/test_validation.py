"""Validation: one fingerprint batch per side, compared table by table; the report names tables only."""
from __future__ import annotations

import dataclasses

import pytest

from conftest import load_plan_document
from migration_orchestration_lib.plan import ValidationSettings, parse_plan
from migration_orchestration_lib.sql_statements import TableFingerprint
from migration_orchestration_lib.validation import compare_fingerprints, validation_operations

pytestmark = pytest.mark.airflow26


def fingerprint(table, rows, checksum="111", error=None):
    return TableFingerprint(table, rows, checksum, error, 3)


SAME = [fingerprint("dbo.Orders", 10), fingerprint("dbo.Customers", 5, "222")]


def plan_with(database_index=0, **validation):
    """The example plan with one database's validation settings (set after parsing: the plan
    schema refuses table names such as O'Brien that the statements must still quote safely)."""
    plan = parse_plan(load_plan_document())
    database = plan.databases[database_index]
    tables = validation.get("tables")
    settings = ValidationSettings(validation.get("rowCounts", True), validation.get("checksums", False), None if tables is None else tuple(tables))
    return plan, dataclasses.replace(database, validation=settings)


def test_matching_tables_pass():
    report = compare_fingerprints(SAME, list(reversed(SAME)), row_counts=True, checksums=True)
    assert report.passed and report.tables_compared == 2 and report.summary() == "2 table(s) match"


def test_a_row_count_difference_names_the_table_and_both_counts():
    report = compare_fingerprints(SAME, [fingerprint("dbo.Orders", 9), SAME[1]], row_counts=True, checksums=False)
    assert report.summary() == "1 of 2 table(s) differ: dbo.Orders: 10 rows on source, 9 on target"


def test_checksums_count_only_when_asked():
    changed = [SAME[0], fingerprint("dbo.Customers", 5, "999")]
    assert compare_fingerprints(SAME, changed, row_counts=True, checksums=False).passed
    assert compare_fingerprints(SAME, changed, row_counts=True, checksums=True).mismatches == ["dbo.Customers: checksums differ"]


@pytest.mark.parametrize(
    "source, target, problem",
    [
        ([fingerprint("dbo.Orders", 10)], [], "dbo.Orders: missing on target"),
        ([fingerprint("dbo.Orders", 10)], [fingerprint("dbo.Orders", None, None, "table does not exist")], "dbo.Orders: missing on target"),
        ([fingerprint("dbo.Orders", None, None, "table does not exist")], [], "dbo.Orders: missing on source"),
        ([fingerprint("dbo.Orders", 10)], [fingerprint("dbo.Orders", None, None, "Lock request time out period exceeded.")],
         "dbo.Orders: unreadable on target (Lock request time out period exceeded.)"),
    ],
)
def test_missing_and_unreadable_tables_fail(source, target, problem):
    assert compare_fingerprints(source, target, row_counts=True, checksums=False).mismatches == [problem]


def test_table_names_match_without_regard_to_case():
    assert compare_fingerprints([fingerprint("dbo.Orders", 1)], [fingerprint("DBO.orders", 1)], True, True).passed


def test_nothing_is_compared_when_validation_is_off():
    assert compare_fingerprints(SAME, [], row_counts=False, checksums=False).tables_compared == 0


def test_long_reports_show_ten_mismatches():
    many = [fingerprint("dbo.T%02d" % n, n) for n in range(12)]
    summary = compare_fingerprints(many, [], True, False).summary()
    assert summary.startswith("12 of 12 table(s) differ: dbo.T00: missing on target") and summary.endswith("(and 2 more)")


def test_operations_are_one_batch_per_side_connected_where_the_statements_run():
    plan, database = plan_with(2, rowCounts=True, checksums=True, tables=["dbo.Orders", "sales.O'Brien"])
    source, target = validation_operations(plan, database, "run-1/database_3/validate")
    assert (source.key, target.key) == ("run-1/database_3/validate/source", "run-1/database_3/validate/target")
    assert (source.endpoint.server_name, source.endpoint.database) == ("sql01", "master")
    assert (target.endpoint.role, target.endpoint.server_name, target.endpoint.database) == ("target", "mi-prod", "master")
    assert source.returns_rows and "N'O''Brien'" in source.sql and "EXEC [Reporting].sys.sp_executesql" in source.sql
    assert source.timeout_seconds == 2 * 600 and "@exclude_rowversion = 0" in target.sql

