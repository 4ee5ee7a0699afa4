"""Validation: one fingerprint batch per side, compared table by table; the report names tables only."""
from __future__ import annotations

import dataclasses
import re

import pytest

from conftest import load_plan_document
from migration_orchestration_lib.plan import ValidationSettings, parse_plan
from migration_orchestration_lib.sql_access import BATCH_PAYLOAD_BUDGET_BYTES, batch_payload_bytes
from migration_orchestration_lib.sql_statements import SequenceValue, TableFingerprint, parse_fingerprints
from migration_orchestration_lib.table_names import TableName, parse_table_name
from migration_orchestration_lib.validation import (
    ValidationReport,
    compare_fingerprints,
    compare_sequences,
    covers,
    describe_settings,
    promise,
    promised,
    stronger,
    validation_operations,
)

pytestmark = pytest.mark.airflow26


def fingerprint(table, rows, checksum="111", error=None):
    """`table`: `schema.table` as messages write it, or a (schema, table) pair."""
    return TableFingerprint(parse_table_name(table) if isinstance(table, str) else TableName(*table), rows, checksum, error, 3)


SAME = [fingerprint("dbo.Orders", 10), fingerprint("dbo.Customers", 5, "222")]


def plan_with(database_index=0, **validation):
    """The example plan with one database's validation settings (set after parsing: the plan
    schema refuses table names such as O'Brien that the statements must still quote safely);
    `tables`: (schema, table) pairs."""
    plan = parse_plan(load_plan_document())
    database = plan.databases[database_index]
    tables = validation.get("tables")
    settings = ValidationSettings(validation.get("rowCounts", True), validation.get("checksums", False), None if tables is None else tuple(TableName(*table) for table in tables))
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


@pytest.mark.parametrize("target_order", [0, 1])
def test_tables_differing_only_in_case_are_each_compared_with_their_own(target_order):
    """A database of a case-sensitive collation may hold dbo.Orders and dbo.ORDERS, two tables (a restore keeps
    both as they are). Each source table is compared with the target table of its exact name: folding case
    compared both with whichever came last (the batch sorts them in tempdb's collation, where they tie), so a
    table missing rows on the target passed beside its twin."""
    source = [fingerprint("dbo.Orders", 10), fingerprint("dbo.ORDERS", 10)]
    target = [fingerprint("dbo.ORDERS", 9, "999"), fingerprint("dbo.Orders", 10)]
    report = compare_fingerprints(source, target if target_order else list(reversed(target)), row_counts=True, checksums=True)
    assert report.tables_compared == 2
    assert report.mismatches == ["dbo.ORDERS: 10 rows on source, 9 on target"]


def test_a_name_differing_only_in_case_matches_only_one_target_table():
    """Without a table of its exact name on the target, a source table matches one differing only in case
    (a copy's schema deployed by hand in a case-insensitive collation), never one of two such."""
    target = [fingerprint("dbo.ORDERS", 10), fingerprint("dbo.orders", 10)]
    assert compare_fingerprints([fingerprint("dbo.Orders", 10)], target, True, True).mismatches == ["dbo.Orders: missing on target"]


@pytest.mark.parametrize("checksums", [False, True])
def test_two_source_tables_differing_only_in_case_never_both_match_one_target_table(checksums):
    """A case-sensitive source may hold dbo.Orders and dbo.ORDERS; a target of a case-insensitive collation (a
    copy's schema deployed by hand) holds one of them. The other is missing on the target. Before: both fell back
    to the one target table, so two tables of equal counts (and checksums: both empty, or alike) passed with a
    table, and its rows, missing."""
    source = [fingerprint("dbo.Orders", 10), fingerprint("dbo.ORDERS", 10)]
    expected = {
        "dbo.Orders": ["dbo.ORDERS: missing on target"],  # the exact name is dbo.Orders's own
        "dbo.orders": ["dbo.ORDERS: missing on target", "dbo.Orders: missing on target"],  # which one it is cannot be told
    }
    for target, mismatches in expected.items():
        report = compare_fingerprints(source, [fingerprint(target, 10)], row_counts=True, checksums=checksums)
        assert report.tables_compared == 2 and report.mismatches == mismatches, (target, report.mismatches)


def test_nothing_is_compared_when_validation_is_off():
    assert compare_fingerprints(SAME, [], row_counts=False, checksums=False).tables_compared == 0


def test_long_reports_show_ten_mismatches():
    many = [fingerprint("dbo.T%02d" % n, n) for n in range(12)]
    summary = compare_fingerprints(many, [], True, False).summary()
    assert summary.startswith("12 of 12 table(s) differ: dbo.T00: missing on target") and summary.endswith("(and 2 more)")


def test_operations_are_one_batch_per_side_connected_where_the_statements_run():
    plan, database = plan_with(2, rowCounts=True, checksums=True, tables=[("dbo", "Orders"), ("sales", "O'Brien")])
    source, target = validation_operations(plan, database, "run-1/database_3/validate")
    assert (source.key, target.key) == ("run-1/database_3/validate/source", "run-1/database_3/validate/target")
    assert (source.endpoint.server_name, source.endpoint.database) == ("sql01", "master")
    assert (target.endpoint.role, target.endpoint.server_name, target.endpoint.database) == ("target", "mi-prod", "master")
    assert source.returns_rows and "N'O''Brien'" in source.sql and "EXEC [Reporting].sys.sp_executesql" in source.sql
    assert "@exclude_rowversion = 0" in target.sql



def batch_rows(*tables):
    """What a fingerprint batch returns for (schema, table, row count) triples."""
    return [{"schema_name": schema, "table_name": table, "row_count": rows, "checksum": "1", "error": None, "elapsed_ms": 1,
             "table_count": len(tables)} for schema, table, rows in tables]


def test_tables_whose_dotted_names_are_alike_are_different_tables():
    """Table c of schema a.b and table b.c of schema a were both "a.b.c": each passed for the other."""
    source = parse_fingerprints(batch_rows(("a.b", "c", 3), ("a", "b.c", 5)))
    target = parse_fingerprints(batch_rows(("a", "b.c", 3), ("a.b", "c", 5)))
    assert compare_fingerprints(source, target, True, False).mismatches == [
        "a.[b.c]: 5 rows on source, 3 on target", "[a.b].c: 3 rows on source, 5 on target"]
    assert compare_fingerprints(source, parse_fingerprints(batch_rows(("a", "b.c", 5))), True, False).mismatches == [
        "[a.b].c: missing on target"]


@pytest.mark.parametrize("spelling", [("dbo", "Orders  "), ("dbo ", "Orders"), ("DBO", "orders ")])
def test_a_target_table_differing_only_in_trailing_spaces_or_case_is_the_sources(spelling):
    """SQL Server compares names padded ('Orders' = 'Orders  '): as the case-only fallback, the one target
    table whose name differs only in trailing spaces (and letter case) is the source table's."""
    source = parse_fingerprints(batch_rows(("dbo", "Orders", 10)))
    assert compare_fingerprints(source, parse_fingerprints(batch_rows(spelling + (10,))), True, True).passed
    assert compare_fingerprints(source, parse_fingerprints(batch_rows(spelling + (9,))), True, True).mismatches == [
        "dbo.Orders: 10 rows on source, 9 on target"]


def test_leading_spaces_make_another_name():
    source = parse_fingerprints(batch_rows(("dbo", "Orders", 10)))
    assert compare_fingerprints(source, parse_fingerprints(batch_rows(("dbo", " Orders", 10))), True, False).mismatches == [
        "dbo.Orders: missing on target"]


def test_messages_bracket_the_parts_that_are_not_regular_identifiers():
    source = parse_fingerprints(batch_rows(("dbo", "my table", 1), ("dbo", "x]y", 1), ("sales", "Orders", 1)))
    assert compare_fingerprints(source, [], True, False).mismatches == [
        "dbo.[my table]: missing on target", "dbo.[x]]y]: missing on target", "sales.Orders: missing on target"]


class _Records:
    def __init__(self, values=None):
        self.values = dict(values or {})

    def get(self, key):
        return self.values.get(key)

    def put(self, key, value):
        self.values[key] = value


def _context(records, tables):
    plan, database = plan_with(0, rowCounts=True, checksums=False, tables=tables)
    return type("Context", (), {"services": type("Services", (), {"records": records})(), "database": database})()


def test_the_promised_validation_keeps_each_table_as_its_pair():
    """The record writes each table as messages do and reads it back into the same pair: `[a.b].c` stays table c
    of schema a.b, not table b.c of schema a; a record of a version before pairs (`dbo.Orders`) reads the same."""
    records = _Records()
    promise(_context(records, [("a.b", "c"), ("dbo", "x]y")]), "op-1")
    assert '"tables": ["[a.b].c", "dbo.[x]]y]"]' in records.values["migration_validation__op-1"]
    assert promised(_context(records, None), "op-1").tables == (("a.b", "c"), ("dbo", "x]y"))
    older = _Records({"migration_validation__op-2": '{"checksums": false, "rowCounts": true, "tables": ["dbo.Orders"]}'})
    assert promised(_context(older, None), "op-2").tables == (("dbo", "Orders"),)


def test_a_weakened_validation_is_judged_by_pairs():
    """Narrowing the plan to table b.c of schema a does not cover table c of schema a.b ("a.b.c" both, before)."""
    promised_then = ValidationSettings(True, False, (TableName("a.b", "c"),))
    now = ValidationSettings(True, False, (TableName("a", "b.c"),))
    assert not covers(now, promised_then)
    assert covers(ValidationSettings(True, False, (TableName("A.B", "c  "),)), promised_then)
    assert describe_settings(stronger(promised_then, now)) == "row counts of a.[b.c], [a.b].c"


def test_a_validation_narrowed_to_one_of_two_tables_differing_only_in_case_does_not_cover_both():
    """A case-sensitive source holds dbo.Orders and dbo.ORDERS, both promised at the freeze; a plan narrowed to
    dbo.Orders since compares one table. Before: both folded to dbo.orders, so it covered the promise and validate
    declared the target without comparing dbo.ORDERS."""
    promised_then = ValidationSettings(True, False, (TableName("dbo", "ORDERS"), TableName("dbo", "Orders")))
    now = ValidationSettings(True, False, (TableName("dbo", "Orders"),))
    assert not covers(now, promised_then)
    assert stronger(promised_then, now).tables == promised_then.tables
    assert covers(promised_then, now) and covers(promised_then, promised_then)


@pytest.mark.airflow210
@pytest.mark.airflow31
def test_execution_timeout_stops_a_validation_whose_batch_blocks_and_heartbeats_came_before_it():
    """With direct access a fingerprint batch blocks inside pymssql, in C with the GIL released: a signal's handler
    (Airflow's execution_timeout raises AirflowTaskTimeout from SIGALRM in the task's thread) runs only once the call
    returns, hours later. The batches run in a worker thread, and the task's thread, waiting for it between
    heartbeats, takes the signal at once; the batch is left to its own timeout (until the deadline)."""
    import threading
    import time
    from datetime import datetime, timedelta, timezone

    from migration_orchestration_lib.airflow_compat import AirflowTaskTimeout
    from migration_orchestration_lib.database_sql import DatabaseSql

    try:
        from airflow.sdk.execution_time.timeout import timeout
    except ImportError:  # Airflow 2
        from airflow.utils.timeout import timeout

    released = threading.Event()

    class BatchBlockingInC:
        def submit(self, operation):
            released.wait(30)  # no signal handler runs in this thread
            raise AssertionError("the batch ran to its end")

    plan, database = plan_with(rowCounts=True, checksums=True)
    beats = []
    began = time.monotonic()
    try:
        with pytest.raises(AirflowTaskTimeout):
            with timeout(1):
                DatabaseSql(BatchBlockingInC(), "run:db:validate:1").compare(
                    plan, database, datetime.now(timezone.utc) + timedelta(hours=2), beats.append, timedelta(seconds=0.3))
    finally:
        released.set()
    assert time.monotonic() - began < 10  # not the batch's 30 s: the task ended without waiting for it
    assert len(beats) >= 2 and beats[0].startswith("validating: the source's fingerprint batch (row counts and checksums "
                                                   "of every user table) on "), beats


def sequence(name, current_value, increment=1, used=None):
    return SequenceValue(parse_table_name(name), current_value, increment, used)


def test_a_target_sequence_behind_the_sources_fails_naming_the_restart():
    """DMS copies a SqlDb copy's rows only: the target's sequences stay where the schema's deployment left them, and
    NEXT VALUE FOR there would hand out keys the source handed out already. Ascending: behind is lower; descending:
    higher. Equal is behind too: current_value is the last value handed out, or START WITH where none was (the target's
    next value may be the source's last). Beyond passes."""
    source = [sequence("dbo.OrderNumbers", 100), sequence("dbo.Countdown", -50, -1), sequence("sales.Tickets", 7, 5)]
    target = [sequence("dbo.ordernumbers", 1), sequence("dbo.Countdown", -50, -1), sequence("sales.Tickets", 12, 5)]
    assert compare_sequences(source, target) == [
        "sequence dbo.Countdown: at -50 on source, -50 on target, which would hand out values the source did: on the "
        "target, ALTER SEQUENCE [dbo].[Countdown] RESTART WITH -51",
        "sequence dbo.OrderNumbers: at 100 on source, 1 on target, which would hand out values the source did: on the "
        "target, ALTER SEQUENCE [dbo].[ordernumbers] RESTART WITH 101",
    ]
    assert compare_sequences(source, [sequence("dbo.OrderNumbers", 101), sequence("dbo.Countdown", -60, -1),
                                      sequence("sales.Tickets", 8, 5)]) == []
    assert compare_sequences(source[:1], []) == [
        "sequence dbo.OrderNumbers: missing on target (or hidden from the DAG's login there: VIEW DEFINITION on the "
        "database shows every sequence)"]


def test_where_last_used_value_tells_whether_a_sequence_handed_out_a_value_the_comparison_is_exact():
    """From SQL Server 2017 (and on Azure SQL) last_used_value is NULL where a sequence never handed out a value, so
    current_value (START WITH then) no longer reads alike. A source never used needs nothing; else the target's next
    value (its current_value where it never handed one out, else one increment on) must be beyond the source's last.
    Was: equal current values failed, so every SqlDb copy with a sequence unused on both sides had to be RESTARTed by
    hand. Where either side's is not known (before 2017) the old rule holds: source used, target not."""
    unused_source = [sequence("dbo.OrderNumbers", 1, used=False), sequence("dbo.Countdown", 0, -1, used=False)]
    assert compare_sequences(unused_source, [sequence("dbo.OrderNumbers", 1, used=False),
                                             sequence("dbo.Countdown", 0, -1, used=True)]) == []
    source = [sequence("dbo.OrderNumbers", 100, used=True), sequence("dbo.Countdown", -50, -1, used=True)]
    assert compare_sequences(source, [sequence("dbo.OrderNumbers", 101, used=False),
                                      sequence("dbo.Countdown", -51, -1, used=False)]) == []
    assert compare_sequences(source, [sequence("dbo.OrderNumbers", 100, used=True),
                                      sequence("dbo.Countdown", -50, -1, used=True)]) == []
    assert [m.split(":")[0] for m in compare_sequences(source, [sequence("dbo.OrderNumbers", 100, used=False),
                                                                 sequence("dbo.Countdown", -50, -1, used=False)])] == [
        "sequence dbo.Countdown", "sequence dbo.OrderNumbers"]
    assert len(compare_sequences(source, [sequence("dbo.OrderNumbers", 100), sequence("dbo.Countdown", -50, -1)])) == 2
    assert len(compare_sequences([sequence("dbo.OrderNumbers", 1)], [sequence("dbo.OrderNumbers", 1, used=False)])) == 1


def test_a_target_sequence_counting_the_other_way_fails_naming_its_increment():
    """A target deployed descending where the source ascends hands out, from any start, the values below, which the
    source handed out: whatever the values read, it fails naming the INCREMENT BY (a differing step the same way
    passes when ahead)."""
    source = [sequence("dbo.OrderNumbers", 100, used=True)]
    assert compare_sequences(source, [sequence("dbo.OrderNumbers", 1000, -1)]) == [
        "sequence dbo.OrderNumbers: increment 1 on source, -1 on target, which would hand out values the source did: "
        "on the target, ALTER SEQUENCE [dbo].[OrderNumbers] INCREMENT BY 1"]
    assert compare_sequences(source, [sequence("dbo.OrderNumbers", 1000, 10)]) == []


def test_a_report_with_sequences_counts_them():
    assert ValidationReport(tables_compared=2, sequences_compared=3).summary() == "2 table(s) and 3 sequence(s) match"
    failed = ValidationReport(tables_compared=2, sequences_compared=1, mismatches=["sequence dbo.S: missing on target"])
    assert failed.summary() == "1 of 3 table(s) and sequence(s) differ: sequence dbo.S: missing on target"


def test_compare_reads_each_batch_by_its_side_and_names_a_running_sequence_batch_in_its_heartbeat():
    """A SqlDb copy's validation runs four batches: each side's fingerprints and sequences. Their results are read by
    what each batch is (a target sequence behind the source's fails, never one compared the other way round), and the
    heartbeat while a sequence batch runs says so."""
    import time
    from datetime import datetime, timedelta, timezone

    from migration_orchestration_lib.database_sql import DatabaseSql
    from migration_orchestration_lib.sql_access import SOURCE, SqlOperationHandle, SqlResult

    plan, database = plan_with(rowCounts=True, checksums=False)
    database = dataclasses.replace(database, target_kind="SqlDb")
    tables = [{"schema_name": "dbo", "table_name": "Orders", "row_count": 10, "checksum": None, "error": None,
               "elapsed_ms": 1, "table_count": 1}]

    def sequence_rows(current_value):
        return [{"schema_name": "dbo", "sequence_name": "OrderNumbers", "current_value": str(current_value),
                 "increment": "1", "used": 1, "sequence_count": 1}]

    class Batches:
        def __init__(self):
            self.rows = {}

        def submit(self, operation):
            is_sequence_batch = "sequence_name" in operation.sql
            if is_sequence_batch and operation.endpoint.role == SOURCE:
                time.sleep(0.5)  # a heartbeat falls while it runs
            on_source = operation.endpoint.role == SOURCE
            self.rows[operation.key] = sequence_rows(100 if on_source else 2) if is_sequence_batch else tables
            return SqlOperationHandle(key=operation.key, reference="ran")

        def result(self, handle):
            return SqlResult(self.rows[handle.key])

    beats = []
    report = DatabaseSql(Batches(), "run:db:validate:1").compare(
        plan, database, datetime.now(timezone.utc) + timedelta(hours=2), beats.append, timedelta(seconds=0.1))
    assert report.tables_compared == 1 and report.sequences_compared == 1
    assert report.mismatches == ["sequence dbo.OrderNumbers: at 100 on source, 2 on target, which would hand out values "
                                 "the source did: on the target, ALTER SEQUENCE [dbo].[OrderNumbers] RESTART WITH 101"]
    assert any(beat.startswith("validating: the source's sequence batch on ") for beat in beats), beats


def long_names(count):
    """`count` tables whose (schema, table) names are long, as a plan's `validation.tables` may list them."""
    return [("s%03d_%s" % (n % 7, "x" * 100), "t%05d_%s" % (n, "y" * 115)) for n in range(count)]


def test_a_long_table_list_is_fingerprinted_in_batches_each_within_data_factorys_payload_limit():
    """4,999 tables of long names (the most a Lookup may return) in one batch are about 1.3 MB, and Data Factory fails
    an activity run whose payload is over 896 KB: only after the migration went live, at validate. Each side's tables
    are split into batches within the budget, which list every table once, in order."""
    tables = long_names(4999)
    plan, database = plan_with(2, rowCounts=True, checksums=True, tables=tables)
    operations = validation_operations(plan, database, "run-1/database_3/validate")
    for role in ("source", "target"):
        side = [operation for operation in operations if operation.endpoint.role == role]
        assert len(side) > 1, role
        assert [operation.key for operation in side] == ["run-1/database_3/validate/%s/part-%d" % (role, n) for n in range(1, len(side) + 1)]
        assert all(batch_payload_bytes(operation.sql) <= BATCH_PAYLOAD_BUDGET_BYTES for operation in side)
        listed = [table for operation in side for table in re.findall(r"\(N'([^']*)', N'([^']*)'\)", operation.sql)]
        assert listed == tables
    assert [operation.endpoint.role for operation in operations] == sorted(operation.endpoint.role for operation in operations)


class CaseInsensitiveSides:
    """Each side's batches as SQL Server runs them on a case-insensitive database: a listed name is matched to the
    side's table of that name in any letter case and reported as the table is named there, once a batch; a listed name
    of no table is reported missing. `actual`: each side's table names; `lost`: keys of batches that return no row."""

    def __init__(self, actual, lost=()):
        self.actual, self.lost, self.rows = actual, set(lost), {}

    def submit(self, operation):
        from migration_orchestration_lib.sql_access import SqlOperationHandle

        tables = {(schema.lower(), table.lower()): (schema, table) for schema, table in self.actual[operation.endpoint.role]}
        found, missing = {}, []
        for requested in re.findall(r"\(N'([^']*)', N'([^']*)'\)", operation.sql):
            there = tables.get((requested[0].lower(), requested[1].lower()))
            if there:
                found[there] = {"row_count": 10, "checksum": None, "error": None}
            else:
                missing.append((requested, {"row_count": None, "checksum": None, "error": "table does not exist"}))
        rows = [dict(schema_name=schema, table_name=table, elapsed_ms=1, **values)
                for (schema, table), values in list(found.items()) + missing]
        self.rows[operation.key] = [] if operation.key in self.lost else [dict(row, table_count=len(rows)) for row in rows]
        return SqlOperationHandle(key=operation.key, reference="ran")

    def result(self, handle):
        from migration_orchestration_lib.sql_access import SqlResult

        return SqlResult(self.rows[handle.key])


def compare_in_parts(tables, batches):
    from datetime import datetime, timedelta, timezone

    from migration_orchestration_lib.database_sql import DatabaseSql

    plan, database = plan_with(2, rowCounts=True, checksums=False, tables=tables)
    return DatabaseSql(batches, "run:db:validate:1").compare(
        plan, database, datetime.now(timezone.utc) + timedelta(hours=2), lambda beat: None, timedelta(seconds=30))


def test_one_table_listed_in_two_spellings_in_different_parts_is_compared_as_one_batch_compares_it():
    """On a case-insensitive database `dbo.Orders` and `dbo.ORDERS` listed are one table, which one batch reports once.
    In parts, each part reports it: read as two source tables of one name, neither was matched with the target's
    `dbo.orders` (a copy's schema deployed in another spelling), and a correct migration failed validation."""
    tables = [("dbo", "Orders")] + long_names(4997) + [("dbo", "ORDERS")]
    actual = {"source": [("dbo", "Orders")] + long_names(4997), "target": [("dbo", "orders")] + long_names(4997)}
    report = compare_in_parts(tables, CaseInsensitiveSides(actual))
    assert report.passed, report.mismatches
    assert report.tables_compared == 4998


def test_a_part_that_returns_no_row_never_passes_validation():
    """A batch listing tables returns a row for each (a missing one too): one that returned none was not read, and its
    tables were never compared (before, a source part lost, validation passed with the target lacking one of its tables)."""
    from migration_orchestration_lib.sql_statements import IncompleteResult

    tables = long_names(4999)
    batches = CaseInsensitiveSides({"source": tables, "target": tables[:-1]}, lost={"run:db:validate:1:validate/source/part-2"})
    with pytest.raises(IncompleteResult, match="validate/source/part-2.*no row"):
        compare_in_parts(tables, batches)


def test_a_sides_parts_run_one_after_another_as_a_single_user_source_admits_one_connection():
    """Through Data Factory each batch is a pipeline run of its own connection, and a SINGLE_USER source (a singleUser
    freeze) admits one: a second part entering it while the first runs fails with 924, and the failed validation
    rolled a correct migration back. Each side's parts run one after another, the two sides together."""
    from migration_orchestration_lib.sql_access import SqlOperationHandle, SqlResult
    from migration_orchestration_lib.step_context import StepPending

    tables = long_names(4999)

    class OneConnectionEach(CaseInsensitiveSides):
        """A run ends at the poke after the one that started it; a side's second batch beside a running one fails."""

        def __init__(self):
            super().__init__({"source": tables, "target": tables})
            self.running, self.ended, self.refused = {}, set(), []

        def submit(self, operation):
            if operation.key not in self.rows:
                role = operation.endpoint.role
                if any(other == role for key, other in self.running.items() if key not in self.ended):
                    self.refused.append(operation.key)
                super().submit(operation)
                self.running[operation.key] = role
            return SqlOperationHandle(key=operation.key, reference="run")

        def result(self, handle):
            return SqlResult(self.rows[handle.key]) if handle.key in self.ended else None

        def poke(self):
            self.ended.update(self.running)

    batches = OneConnectionEach()
    for _ in range(10):
        try:
            report = compare_in_parts(tables, batches)
            break
        except StepPending:
            batches.poke()
    assert batches.refused == []
    assert report.passed and report.tables_compared == 4999
    assert len(batches.running) == 4


def test_validation_batches_are_not_run_again_after_a_failure():
    """Each fingerprint and sequence batch may run until the deadline; a retry inside Data Factory (the activity's
    policy) would run it again for as long, past the deadline, holding the source's connection. So validation's
    operations say they may not run again (`rerun_after_failure`): Data Factory starts them with 0 retries."""
    class Recorded(CaseInsensitiveSides):
        def __init__(self, actual):
            super().__init__(actual)
            self.submitted = []

        def submit(self, operation):
            self.submitted.append(operation)
            return super().submit(operation)

    batches = Recorded({"source": [("dbo", "Orders")], "target": [("dbo", "Orders")]})
    assert compare_in_parts([("dbo", "Orders")], batches).passed
    assert [operation.endpoint.role for operation in batches.submitted] == ["source", "target"]
    assert all(operation.rerun_after_failure is False for operation in batches.submitted)
