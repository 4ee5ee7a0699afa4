"""Whole runs in rehearsal mode through `dag.test()`: real Airflow scheduling, trigger rules and
reschedules; the simulated world stands in for DMS, SQL Server and ARM.

Marked airflow26: they also run on Apache Airflow 2.6.3 (Python 3.8) when that environment is built.
"""
from __future__ import annotations

import dataclasses
import os
import time
from datetime import timedelta

import pytest
from airflow.utils import timezone

from conftest import database_entry, load_plan_document, plan_with_databases, renamed_targets_document
from migration_orchestration_lib import simulation
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.events import LoggingEventWriter
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.simulation import RehearsalWorld, world_snapshot

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.airflow26]

FIRST_DATE = timezone.datetime(2025, 1, 1)


class WorkerKilled(BaseException):
    """Stands for the worker process dying: nothing in Airflow's task runner handles it."""


@pytest.fixture
def events(monkeypatch):
    rows = []
    original = LoggingEventWriter.write

    def collect(self, row):
        rows.append(row)
        original(self, row)

    monkeypatch.setattr(LoggingEventWriter, "write", collect)
    return rows


def run(document, execution_date=FIRST_DATE):
    from airflow.models.dagrun import DagRun

    dag = build_dag(parse_plan(document), os.environ)
    # Airflow 2.6's dag.test() returns nothing; 2.10's returns the run.
    dag_run = dag.test(execution_date=execution_date) or DagRun.find(dag_id=dag.dag_id, execution_date=execution_date)[0]
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    return dag_run, states


def world_for(rehearsal_dir, execution_date=FIRST_DATE):
    return RehearsalWorld(str(rehearsal_dir / simulation._safe_name("manual__" + execution_date.isoformat())))


def migrations_into(world, server, database):
    return world.load(simulation.target_key(server, database)).get("migrations", [])


def events_of(rows, database):
    return [(row["Phase"], row["Status"]) for row in rows if row["Database"] == database]


def test_example_plan_rehearsal_migrates_every_database(rehearsal, events):
    started = time.monotonic()
    dag_run, states = run(load_plan_document())
    assert time.monotonic() - started < 45

    assert dag_run.state == "success"
    assert states["run_outcome"] == "success"
    for database in ("database_1", "database_2", "database_3"):
        assert states["%s.done" % database] == "success"
        assert states["%s.rollback" % database] == "skipped"
        assert ("start_migration", "Started") in events_of(events, database)
        assert events_of(events, database)[-1] == ("done", "Succeeded")
    assert states["database_1.cutover"] == "success"
    assert not [row for row in events if row["Status"] == "Failed"]

    world = world_for(rehearsal)
    for database in ("Sales", "Inventory", "Reporting"):
        [migration] = migrations_into(world, "mi-contoso-prod", database)
        assert migration["migrationStatus"] == "Succeeded"
        assert world.load(simulation.target_key("mi-contoso-prod", database))["targetDatabase"] == "ONLINE"
    # online migrations froze their source at cutover; the offline one never did
    assert world.load(simulation.source_key("mssql_source_sql01", "Sales"))["readOnly"] is True
    assert world.load(simulation.source_key("mssql_source_sql01", "Reporting")) == {}


def test_databases_renamed_on_the_target_migrate_and_validate_against_their_source(rehearsal, events):
    # SqlMi and SqlVm online (cutover), SqlDb offline; every target database named unlike its source
    dag_run, states = run(renamed_targets_document(mode="online"))

    assert dag_run.state == "success"
    assert states["to_mi.cutover"] == "success" and states["to_vm.cutover"] == "success"
    for database in ("to_mi", "to_db", "to_vm", "archive"):
        assert states["%s.validate" % database] == "success"
        assert states["%s.rollback" % database] == "skipped"
        assert events_of(events, database)[-1] == ("done", "Succeeded")
    validated = {row["Database"]: row["Message"] for row in events if (row["Phase"], row["Status"]) == ("validate", "Succeeded")}
    assert all("3 table(s) match" in validated[name] for name in ("to_mi", "to_db", "to_vm", "archive")), validated

    world = world_for(rehearsal)
    for server, target, source in [("mi-contoso-prod", "SalesArchive", "Sales"), ("sqlprod", "HrArchive", "Hr"),
                                   ("vm1", "Archive", "Crm"), ("mi-contoso-prod", "Archive", "Archive")]:
        [migration] = migrations_into(world, server, target)
        assert (migration["sourceDatabaseName"], migration["migrationStatus"]) == (source, "Succeeded")
        assert world.load(simulation.target_key(server, target))["copiedFrom"] == {"connectionId": "mssql_source_sql01", "database": source}
    assert migrations_into(world, "mi-contoso-prod", "Sales") == []


def test_a_failing_database_rolls_back_holds_its_dependents_and_fails_the_run(rehearsal, events, monkeypatch):
    monkeypatch.setenv("MIGRATION_SIMULATE_FAILURE", "database_1")
    dag_run, states = run(load_plan_document())

    assert dag_run.state == "failed"
    assert states["database_1.wait_for_migration"] == "failed"
    assert states["database_1.rollback"] == "success"
    for step in ("cutover", "wait_for_completion", "validate", "done"):
        assert states["database_1.%s" % step] == "upstream_failed"
    assert states["database_2.done"] == "success"
    assert states["database_2.rollback"] == "skipped"
    for step in ("preflight", "start_migration", "wait_for_migration", "validate", "done"):
        assert states["database_3.%s" % step] == "upstream_failed"
    assert states["database_3.rollback"] == "skipped"
    assert states["run_outcome"] == "failed"

    assert events_of(events, "database_1")[-2:] == [("wait_for_migration", "Failed"), ("rollback", "RolledBack")]
    assert events_of(events, "database_3") == []
    world = world_for(rehearsal)
    [failed] = migrations_into(world, "mi-contoso-prod", "Sales")
    assert failed["migrationStatus"] == "Failed"
    assert "targetDatabase" not in world.load(simulation.target_key("mi-contoso-prod", "Sales"))
    assert migrations_into(world, "mi-contoso-prod", "Reporting") == []


def test_terminal_dms_failure_fails_fast_without_retry(rehearsal, events, monkeypatch):
    monkeypatch.setenv("MIGRATION_SIMULATE_FAILURE", "database_2")
    _, states = run(load_plan_document())
    assert states["database_2.wait_for_migration"] == "failed"
    # retries are configured; a retried sensor would fail (and report) a second time
    assert events_of(events, "database_2").count(("wait_for_migration", "Failed")) == 1


def test_failure_deep_in_a_chain_stops_only_what_follows(rehearsal, events, monkeypatch):
    names = ["db_%d" % i for i in range(5)]
    document = plan_with_databases(
        [database_entry(n, "Db%d" % i, depends_on=names[i - 1:i], mode="offline") for i, n in enumerate(names)]
    )
    monkeypatch.setenv("MIGRATION_SIMULATE_FAILURE", "db_3")
    dag_run, states = run(document)

    assert dag_run.state == "failed"
    assert [states["%s.done" % n] for n in names] == ["success", "success", "success", "upstream_failed", "upstream_failed"]
    assert [states["%s.rollback" % n] for n in names] == ["skipped", "skipped", "skipped", "success", "skipped"]
    assert states["db_4.preflight"] == "upstream_failed"
    assert events_of(events, "db_4") == []


def test_failed_validation_after_cutover_keeps_the_source_authoritative(rehearsal, events, monkeypatch):
    original = simulation.SimulatedSqlServer.table_fingerprint

    def one_row_short_on_target(self, connection_id, database, table, with_checksum):
        fingerprint = original(self, connection_id, database, table, with_checksum)
        if fingerprint is not None and connection_id.startswith("mssql_target") and database == "Inventory":
            return dataclasses.replace(fingerprint, row_count=fingerprint.row_count - 1)
        return fingerprint

    monkeypatch.setattr(simulation.SimulatedSqlServer, "table_fingerprint", one_row_short_on_target)
    dag_run, states = run(load_plan_document())

    assert dag_run.state == "failed"
    assert states["database_2.cutover"] == "success"
    assert states["database_2.validate"] == "failed"
    assert states["database_2.rollback"] == "success"
    assert states["database_1.done"] == "success"
    assert states["database_3.preflight"] == "upstream_failed"
    [failure] = [row for row in events if row["Status"] == "Failed"]
    assert failure["Phase"] == "validate" and "rows on source" in failure["Message"]
    world = world_for(rehearsal)
    assert world.load(simulation.source_key("mssql_source_sql01", "Inventory"))["readOnly"] is False
    assert "targetDatabase" not in world.load(simulation.target_key("mi-contoso-prod", "Inventory"))
    assert world.load(simulation.source_key("mssql_source_sql01", "Sales"))["readOnly"] is True


def test_a_retry_adopts_the_migration_its_failed_attempt_started(rehearsal, events, monkeypatch):
    original = simulation._SimulatedDatabaseMigrations.begin_create_or_update
    crashes = []

    def create_then_crash(self, **arguments):
        result = original(self, **arguments)
        if arguments["target_db_name"] == "Sales" and not crashes:
            crashes.append(1)
            raise ConnectionResetError("connection lost after DMS accepted the request")
        return result

    monkeypatch.setattr(simulation._SimulatedDatabaseMigrations, "begin_create_or_update", create_then_crash)
    dag_run, states = run(load_plan_document())

    assert dag_run.state == "success"
    assert len(migrations_into(world_for(rehearsal), "mi-contoso-prod", "Sales")) == 1
    start_events = [row for row in events if row["Database"] == "database_1" and row["Phase"] == "start_migration"]
    assert [row["Status"] for row in start_events] == ["Started", "Failed", "Started", "Succeeded"]
    assert "adopted migration already in flight" in start_events[-1]["Message"]


def test_killed_run_rerun_adopts_the_migration_in_flight_and_ends_like_an_uninterrupted_run(rehearsal, events, monkeypatch):
    uninterrupted_date = FIRST_DATE + timedelta(days=1)
    _, uninterrupted_states = run(load_plan_document(), uninterrupted_date)

    original = simulation._SimulatedDatabaseMigrations.begin_create_or_update

    def create_then_die(self, **arguments):
        result = original(self, **arguments)
        if arguments["target_db_name"] == "Sales":
            raise WorkerKilled()
        return result

    with monkeypatch.context() as patch:
        patch.setattr(simulation._SimulatedDatabaseMigrations, "begin_create_or_update", create_then_die)
        with pytest.raises(WorkerKilled):
            run(load_plan_document())
    world = world_for(rehearsal)
    [in_flight] = migrations_into(world, "mi-contoso-prod", "Sales")
    assert in_flight["migrationStatus"] == "InProgress"

    dag_run, states = run(load_plan_document())  # same logical date: same run id, same world

    assert dag_run.state == "success"
    assert states == uninterrupted_states
    [adopted] = migrations_into(world, "mi-contoso-prod", "Sales")
    assert adopted["migrationOperationId"] == in_flight["migrationOperationId"]
    assert adopted["migrationStatus"] == "Succeeded"
    assert sorted(world_snapshot(world)) == sorted(world_snapshot(world_for(rehearsal, uninterrupted_date)))
