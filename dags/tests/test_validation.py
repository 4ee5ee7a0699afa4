from __future__ import annotations

import pytest

from conftest import load_plan_document
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.sql_server import TableFingerprint, quote_name, quote_table
from migration_orchestration_lib.validation import compare_source_and_target


class FakeSql:
    """Source and target table fingerprints by connection id."""

    def __init__(self, source, target):
        self.tables = {"mssql_source_sql01": source, "mssql_target_mi_prod": target}
        self.listed = []

    def user_tables(self, connection_id, database):
        self.listed.append((connection_id, database))
        return sorted(self.tables[connection_id])

    def table_fingerprint(self, connection_id, database, table, with_checksum):
        fingerprint = self.tables[connection_id].get(table)
        if fingerprint is None:
            return None
        return TableFingerprint(fingerprint.row_count, fingerprint.checksum if with_checksum else None)


def plan_with_validation(**validation):
    document = load_plan_document()
    document["databases"][0]["validation"] = validation
    plan = parse_plan(document)
    return plan, plan.databases[0]


SAME = {"dbo.Orders": TableFingerprint(10, 111), "dbo.Customers": TableFingerprint(5, 222)}


def test_matching_tables_pass_and_are_listed_from_the_source():
    plan, database = plan_with_validation(rowCounts=True, checksums=True)
    sql = FakeSql(SAME, dict(SAME))
    report = compare_source_and_target(sql, plan, database)
    assert report.passed and report.tables_compared == 2
    assert sql.listed == [("mssql_source_sql01", "Sales")]


def test_a_row_count_difference_fails_naming_the_table():
    plan, database = plan_with_validation(rowCounts=True)
    report = compare_source_and_target(FakeSql(SAME, {**SAME, "dbo.Orders": TableFingerprint(9, 111)}), plan, database)
    assert not report.passed
    assert report.summary() == "1 of 2 table(s) differ: dbo.Orders: 10 rows on source, 9 on target"


def test_checksums_are_compared_only_when_the_plan_asks():
    changed = {**SAME, "dbo.Customers": TableFingerprint(5, 999)}
    plan, database = plan_with_validation(rowCounts=True, checksums=False)
    assert compare_source_and_target(FakeSql(SAME, changed), plan, database).passed
    plan, database = plan_with_validation(rowCounts=True, checksums=True)
    report = compare_source_and_target(FakeSql(SAME, changed), plan, database)
    assert report.mismatches == ["dbo.Customers: checksums differ"]


def test_a_table_missing_on_the_target_fails():
    plan, database = plan_with_validation(tables=["dbo.Orders", "dbo.Customers"])
    report = compare_source_and_target(FakeSql(SAME, {"dbo.Orders": SAME["dbo.Orders"]}), plan, database)
    assert report.mismatches == ["dbo.Customers: missing on target"]


def test_the_plans_table_list_replaces_discovery():
    plan, database = plan_with_validation(tables=["dbo.Orders"])
    sql = FakeSql(SAME, {"dbo.Orders": SAME["dbo.Orders"]})
    report = compare_source_and_target(sql, plan, database)
    assert report.passed and report.tables_compared == 1 and sql.listed == []


def test_nothing_is_compared_when_validation_is_off():
    plan, database = plan_with_validation(rowCounts=False, checksums=False)
    assert compare_source_and_target(FakeSql({}, {}), plan, database).tables_compared == 0


@pytest.mark.parametrize("raw, quoted", [("Sales", "[Sales]"), ("odd]name", "[odd]]name]")])
def test_identifiers_are_quoted_like_quotename(raw, quoted):
    assert quote_name(raw) == quoted


def test_tables_are_quoted_per_part():
    assert quote_table("sales.Order Lines") == "[sales].[Order Lines]"
