"""The golden event files of tests/event-replays/ (event_replays.py): each is recorded by a test that runs its
incident anyway; a clean migration of two dependent databases is recorded here. __tests__/kql/event-replays-kql.test.ts
replays them through every deployed log alert."""
from __future__ import annotations

import json
import re
import time

import pytest

from conftest import TESTS_DIR, database_entry, plan_with_databases
from event_replays import REPLAYS_DIR, UPDATE_VARIABLE, assert_event_replay, compared, normalized, read_fixture
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from task_driver import RunDriver


def test_a_clean_migration_of_two_dependent_databases_writes_the_events_of_its_fixture(rehearsal_world, monkeypatch, tmp_path):
    """`reporting` (offline) after `sales` (online), both to the managed instance: both migrate, the run succeeds."""
    events_file = tmp_path / "events.jsonl"
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(events_file))
    document = plan_with_databases([
        database_entry("sales", "Sales", mode="online"),
        database_entry("reporting", "Reporting", mode="offline", depends_on=["sales"]),
    ])
    since = time.time()
    driver = RunDriver(build_dag(parse_plan(document), {"MIGRATION_DRY_RUN": "1"}))
    driver.run_database("sales")
    driver.run_database("reporting")

    assert driver.run_outcome() == "success", driver.errors
    assert (driver.outcome("sales"), driver.outcome("reporting")) == ("migrated", "migrated"), driver.errors
    rows = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert_event_replay("clean-migration-of-two-dependent-databases", rows, document, since)


def test_every_fixture_is_recorded_by_a_test_that_exists():
    """A fixture no test records again would go stale unseen: each names its test, whose file names the fixture."""
    fixtures = sorted(REPLAYS_DIR.glob("*.jsonl"))
    assert len(fixtures) >= 6, fixtures
    for path in fixtures:
        header = read_fixture(path.stem)["header"]
        assert header["scenario"] == path.stem
        file_name, test = header["recordedBy"].split("::", 1)
        source = (TESTS_DIR / file_name).read_text()
        assert "def %s(" % re.sub(r"\[.*\]$", "", test) in source, (path.name, header["recordedBy"])
        names = re.findall(r'"([a-z0-9-]+(?:%s)?)"', source)  # a parametrized test's: "name-%s"
        assert any(path.stem == name or name.endswith("%s") and path.stem.startswith(name[:-2]) for name in names), (
            path.name, file_name)


def _row(at, run_id, database, phase, status, message="", operation=""):
    return {"TimeGenerated": at, "RunId": run_id, "PlanName": "contoso-sql", "Database": database, "Phase": phase,
            "Status": status, "DurationSeconds": 1.23456, "Message": message, "TargetKind": "SqlMi", "MigrationOperationId": operation}


def test_normalizing_gives_stable_placeholders_and_comparing_ignores_times_and_repeated_heartbeats():
    operation = "d6a18216-080e-4c78-8e55-cc1f12ba9f73"
    rows = [
        _row("2026-12-07T01:10:19+00:00", "manual__2026-12-07T01:10:19.551542+00:00", "db", "start_migration", "Succeeded",
             "started migration %s at 2026-12-07T01:10:20Z for window 2026-12-05T21:00:00Z" % operation, operation),
        _row("2026-12-07T01:10:21.5+00:00", "manual__2026-12-07T01:10:19.551542+00:00", "db", "final_backup", "Running",
             "waiting: Sales_final_d6a18216_d7d9ffe9.trn", operation),
        _row("2026-12-07T01:10:22+00:00", "manual__2026-12-07T01:10:19.551542+00:00", "db", "final_backup", "Running",
             "waiting: Sales_final_d6a18216_d7d9ffe9.trn", operation),
        _row("2026-12-07T01:11:00+00:00", "scheduled__2026-12-08T00:00:00+00:00", "db", "preflight", "Succeeded"),
    ]
    wall = (1796605819.0, 1796605830.0)  # 2026-12-07T01:10:19Z, +11 s
    out = normalized(rows, wall)

    assert [row["At"] for row in out] == [0.0, 2.5, 3.0, 41.0]
    assert [row["RunId"] for row in out] == ["manual__run-1"] * 3 + ["scheduled__run-2"]
    assert out[0]["MigrationOperationId"] == "op-1" and out[3]["MigrationOperationId"] == ""
    assert out[0]["Message"] == "started migration op-1 at <wall-clock> for window 2026-12-05T21:00:00Z"
    assert out[1]["Message"] == "waiting: Sales_final_op-1_hex-1.trn"
    assert out[0]["DurationSeconds"] == 1.2
    once = compared(out)
    assert len(once) == 3, once  # the two Running in a row count once
    assert compared(normalized(rows[:2] + rows[3:], wall)) == once
    changed = [dict(rows[0], Status="Failed")] + rows[1:]
    assert compared(normalized(changed, wall)) != once
    # a read made afresh: its key ends with the period's number, 8 digits under a rehearsal's 30 s (10 under 2 s)
    for period in ("59889616", "1796605819"):
        waiting = "waiting: SQL operation driver__7:db:validate:1:source-held:%s is running on sql01" % period
        [afresh] = normalized([_row("2026-12-07T01:10:19+00:00", "driver__7", "db", "validate", "Running", waiting)], wall)
        assert afresh["Message"] == "waiting: SQL operation driver__run-1:db:validate:1:source-held:<period> is running on sql01"


def test_a_run_whose_events_differ_from_the_fixture_fails_naming_the_command_that_records_it_again(monkeypatch):
    name = "clean-migration-of-two-dependent-databases"
    fixture = read_fixture(name)
    rows = [dict(row, TimeGenerated="2026-12-07T01:00:%06.3fZ" % min(row["At"], 59), RunId="manual__x") for row in fixture["events"]]
    for row in rows:
        del row["At"]
    rows[-1]["Status"] = "Failed"
    monkeypatch.delenv(UPDATE_VARIABLE, raising=False)
    with pytest.raises(pytest.fail.Exception) as failed:
        assert_event_replay(name, rows, fixture["header"]["plan"], time.time())
    assert "%s=1" % UPDATE_VARIABLE in str(failed.value) and '"Failed"' in str(failed.value)
