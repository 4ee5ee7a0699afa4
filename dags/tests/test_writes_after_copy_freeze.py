"""Writes made on a SqlDb copy's frozen source after the copy's freeze are never lost without a step noticing
(`task_driver` on the rehearsal world). Without `allowSourceWritesDuringCopy` the DAG freezes the source before DMS's
create and keeps it frozen to `done`. A person makes it writable, updates a row (its count unchanged) and freezes it
again, while DMS copies, before `validate` or between `validate` and `done`: the source reads read-only, a row count
does not see an update, and a copy has no final backup for the restores' check to read. `start_migration` records
the source's log end (`sys.dm_db_log_stats`) once its freeze landed, before DMS's create; validate and done read it
again: a log end past it is refused, never declared, the source never removed."""
from __future__ import annotations

import json

import pytest

from conftest import database_entry, load_plan_document, plan_with_databases
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE, FileRecords
from task_driver import RunDriver, WorkerCrashed
from test_writes_after_final_backup import unfreeze_write_refreeze  # a person unfreezes, updates a row, refreezes
from world_view import WorldView

DATA_FACTORY = "fabric_host.json"  # a plan whose SQL steps run as Data Factory pipeline runs


def cases(*rows):
    """Parameters whose last value is the id; a row through Data Factory is marked airflow26 (its SQL path, with
    azure-mgmt-datafactory 9.2.0 on Python 3.8, as test_writes_after_final_backup); direct SQL runs on Airflow 3 only."""
    return [pytest.param(*row[:-1], id=row[-1], marks=[pytest.mark.airflow26] if DATA_FACTORY in row else []) for row in rows]

COPY_LOG_END = "migration_copy_log_end__"


def setup(directory, airflow_of=None, **fields):
    document = plan_with_databases([database_entry("db", "Sales", target="db-prod", **fields)])
    if airflow_of:
        document["airflow"] = load_plan_document(airflow_of)["airflow"]
    plan = parse_plan(document)
    return build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), WorldView(directory, plan.database("db"), plan)


class WritesBefore(RunDriver):
    """A run in which, right before `task` first runs (or, `after_pokes`, after that many of its pokes: DMS copying),
    a person unfreezes the source, writes and refreezes it."""

    def __init__(self, dag, world, task, after_pokes=0):
        super().__init__(dag, self._observe)
        self.world, self.task, self.after_pokes, self.table, self.pokes = world, "db." + task, after_pokes, None, 0

    def _observe(self, task_id):
        self.world.observe(task_id)
        if task_id == self.task and self.after_pokes:
            self.pokes += 1
            if self.pokes == self.after_pokes and self.table is None:
                self.table = unfreeze_write_refreeze(self.world)

    def _run_task(self, task, first_try=1):
        if task.task_id == self.task and self.table is None and not self.after_pokes:
            self.table = unfreeze_write_refreeze(self.world)
        return super()._run_task(task, first_try)


def records(directory):
    return FileRecords(str(directory), RECORDS_FILE)


def copy_log_end_records(directory):
    with open("%s/%s" % (directory, RECORDS_FILE), encoding="utf-8") as file:
        return {key: value for key, value in json.load(file).items() if key.startswith(COPY_LOG_END)}


@pytest.mark.parametrize("before, after_pokes, airflow_of", cases(
    ("wait_for_migration", 1, None, "during-the-copy"), ("validate", 0, None, "before-validate"),
    ("done", 0, None, "after-validate"), ("wait_for_migration", 1, DATA_FACTORY, "during-the-copy-dataFactory"),
    ("done", 0, DATA_FACTORY, "after-validate-dataFactory")))
def test_a_write_on_a_sqldb_copys_frozen_source_is_never_declared_migrated(rehearsal_world, before, after_pokes, airflow_of):
    dag, world = setup(rehearsal_world, airflow_of)
    run = WritesBefore(dag, world, before, after_pokes)
    states = run.run_database("db")

    assert run.table is not None, "the person wrote"
    assert run.outcome("db") != "migrated", "declared migrated without the write made after the copy's freeze"
    step = "db.done" if before == "done" else "db.validate"
    assert states[step] == "failed", (states, run.errors)
    error = run.errors[step]
    assert "source database Sales was written after the DAG froze it for the copy" in error, error
    assert "LSN" in error and "sys.dm_db_log_stats" in error, error
    assert world.source()["tables"][run.table]["rows"][0][1] == "written after the final backup", "the source is kept"
    assert world.target() is not None, "a SqlDb target existed before the copy: never removed"
    assert world.target()["tables"][run.table]["rows"][0][1] != "written after the final backup", "the copy lacks it"
    if before == "done":  # validated in this run: a lost attempt of done could still declare it, so a person decides
        assert states["db.validate"] == "success", "compared before the write"
        assert "keeps the source frozen" in error, error
        assert states["db.rollback"] == "failed", states
        assert "its done refused to declare it" in run.errors["db.rollback"], run.errors["db.rollback"]
        assert world.source()["readOnly"], "kept frozen for a person"
    else:
        assert states["db.rollback"] == "success", run.errors
        assert world.source_writable(), "handed back to the applications, with the write"


@pytest.mark.parametrize("airflow_of, freeze", cases(
    (None, "readOnly", "direct"), (DATA_FACTORY, "readOnly", "dataFactory"), (None, "singleUser", "singleUser")))
def test_a_clean_sqldb_copy_records_the_log_end_of_its_frozen_source_and_migrates(rehearsal_world, airflow_of, freeze):
    """The freeze's own log records (the freeze marker, SET READ_ONLY; SINGLE_USER set on the read-only source logs
    none) come before the record; the copy's reads, validate's and done's log nothing into the read-only source:
    its log end stays where the record says."""
    dag, world = setup(rehearsal_world, airflow_of, sourceFreeze=freeze)
    run = RunDriver(dag, world.observe)
    run.run_database("db")

    assert run.outcome("db") == "migrated", run.errors
    [operation] = world.operations()
    [record] = copy_log_end_records(rehearsal_world).values()
    assert json.loads(record) == {"logEnd": world.source()["lsn"], "migration": operation["migrationOperationId"]}
    assert world.source()["userAccess"] == ("SINGLE_USER" if freeze == "singleUser" else "MULTI_USER")


def test_allowing_source_writes_during_the_copy_records_nothing_and_a_write_does_not_stop_it(rehearsal_world):
    """`allowSourceWritesDuringCopy: true`: no freeze, so no record of a log end, and a write meanwhile is the plan's
    choice: the copy is declared as before."""
    dag, world = setup(rehearsal_world, allowSourceWritesDuringCopy=True)

    class Writes(RunDriver):
        wrote = False

        def _run_task(self, task, first_try=1):
            if task.task_id == "db.validate" and not self.wrote:
                self.wrote = True
                world.world.update_database("sql01", "Sales", readOnly=False)
            return super()._run_task(task, first_try)

    run = Writes(dag, world.observe)
    run.run_database("db")
    assert run.wrote and run.outcome("db") == "migrated", run.errors
    assert copy_log_end_records(rehearsal_world) == {}


@pytest.mark.parametrize("airflow_of", cases((None, "direct"), (DATA_FACTORY, "dataFactory")))
def test_a_worker_lost_between_the_copys_freeze_and_its_record_records_it_before_the_create_of_the_next_try(
        rehearsal_world, monkeypatch, airflow_of):
    """start_migration's worker dies once its freeze landed, before the log end is recorded (and so before DMS's
    create). The next run finds the source frozen by the DAG and no migration: it records the log end then, before its
    create (a write made meanwhile is one DMS copies), and a write after that is still refused."""
    from migration_orchestration_lib import copy_freeze

    dag, world = setup(rehearsal_world, airflow_of)
    record = copy_freeze.record_log_end
    lost = []

    def dies_once(ctx):
        if not lost:
            lost.append(world.source()["readOnly"])
            raise WorkerCrashed("start_migration")
        return record(ctx)

    monkeypatch.setattr(copy_freeze, "record_log_end", dies_once)
    first = RunDriver(dag, world.observe)
    with pytest.raises(WorkerCrashed):
        first.run_database("db")
    assert lost == [True], "the freeze had landed"
    assert world.operations() == [] and copy_log_end_records(rehearsal_world) == {}

    again = WritesBefore(dag, world, "validate")
    again.run_database("db")
    assert again.outcome("db") != "migrated"
    assert "written after the DAG froze it for the copy" in again.errors["db.validate"], again.errors


@pytest.mark.parametrize("airflow_of", cases((None, "direct"), (DATA_FACTORY, "dataFactory")))
def test_a_copy_without_a_record_of_its_frozen_sources_log_end_fails_for_a_person(rehearsal_world, airflow_of):
    """The record lost after DMS's create (the Variable deleted, Airflow's metadata restored, or the copy started by a
    version before it): writes after the freeze cannot be ruled out, so validate refuses, naming the record."""
    dag, world = setup(rehearsal_world, airflow_of)

    class Lost(RunDriver):
        def _run_task(self, task, first_try=1):
            if task.task_id == "db.validate":
                for key in copy_log_end_records(rehearsal_world):
                    records(rehearsal_world).delete(key)
            return super()._run_task(task, first_try)

    run = Lost(dag, world.observe)
    states = run.run_database("db")
    assert run.outcome("db") != "migrated"
    error = run.errors["db.validate"]
    assert states["db.validate"] == "failed" and COPY_LOG_END in error and "no record" in error, error


def test_the_record_is_dropped_as_the_rollback_unfreezes_the_source(rehearsal_world):
    """A refused copy's rollback makes the source writable and drops the record: a later freeze of that source
    records its log end anew (the writes handed back are past the old one)."""
    dag, world = setup(rehearsal_world)
    first = WritesBefore(dag, world, "validate")
    first.run_database("db")
    assert first.outcome("db") != "migrated" and world.source_writable()
    assert not any(copy_log_end_records(rehearsal_world).values()), "dropped as the source was unfrozen"


@pytest.mark.parametrize("unread_from, airflow_of", cases(
    ("start_migration", None, "sql-server-2014"), ("validate", None, "view-server-state-revoked-before-validate"),
    ("start_migration", DATA_FACTORY, "sql-server-2014-dataFactory")))
def test_a_copy_whose_sources_log_end_is_unread_is_declared_saying_it_was_not_checked(
        rehearsal_world, monkeypatch, unread_from, airflow_of):
    """Where sys.dm_db_log_stats cannot be read (SQL Server 2014, major version 12: error 208; VIEW SERVER STATE taken
    from the DAG's source login: 300), as the restores' check does there, the step says what it did not check and
    goes on: the check only adds refusals, never stops a copy it cannot judge."""
    from migration_orchestration_lib.rehearsal import REHEARSAL_LOGIN
    from test_writes_after_final_backup import _source_version, results_of

    said = results_of(monkeypatch, "validate")
    dag, world = setup(rehearsal_world, airflow_of)

    class Unread(RunDriver):
        made = False

        def _run_task(self, task, first_try=1):
            if task.task_id == "db." + unread_from and not self.made:
                self.made = True
                if unread_from == "validate":
                    world.world.set_login("sql01", REHEARSAL_LOGIN, [], {"Sales": ["CONTROL"], "msdb": ["SELECT"]})
                else:
                    _source_version(world, 12)
            return super()._run_task(task, first_try)

    run = Unread(dag, world.observe)
    run.run_database("db")
    assert run.made and run.outcome("db") == "migrated", run.errors
    assert len(said) == 1 and "the source's log after the copy's freeze not checked" in said[0], said
    [record] = copy_log_end_records(rehearsal_world).values()
    assert (json.loads(record)["logEnd"] is None) == (unread_from == "start_migration"), record


@pytest.mark.parametrize("airflow_of", cases((None, "direct"), (DATA_FACTORY, "dataFactory")))
def test_a_run_again_after_dones_worker_was_lost_declares_the_validated_copy(rehearsal_world, airflow_of):
    """done's worker lost after validate passed: the rollback keeps the source frozen ("run again to declare it"); the
    next run adopts the copy, its record bound already, and nothing it does logs into the read-only source: declared."""
    dag, world = setup(rehearsal_world, airflow_of)
    first = RunDriver(dag, world.observe)
    with pytest.raises(WorkerCrashed):
        first.run_database("db", crash_after="validate")
    assert first._run_task(dag.get_task("db.rollback")) == "failed"
    assert "run again to declare it" in first.errors["db.rollback"], first.errors
    [recorded] = copy_log_end_records(rehearsal_world).values()

    again = RunDriver(dag, world.observe)
    again.run_database("db")
    assert again.outcome("db") == "migrated", again.errors
    assert copy_log_end_records(rehearsal_world) == {record_key(): recorded} and not world.source_writable()


def record_key():
    return COPY_LOG_END + "sql01__Sales"
