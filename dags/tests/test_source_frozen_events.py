"""The events that bound a freeze of the source (the contract's `sourceFrozen`: what the
source-frozen-too-long alert reads) against the world, on every path the DAG takes.

Each case runs the real tasks of one database (`task_driver`, as in test_crash_matrix) and records,
at every event the DAG writes, whether the source is frozen in the world. Reading the same events
the way the alert does (a start, per the contract, until the database's next end, across runs) must
give the same answer at every event, but after `done` (migrated: the source stays read-only, the
applications have moved). Through Data Factory the freeze is a pipeline run that the freezing step
sees ended at its next poke, which writes the start event: no event falls between the two, though
the source may have been frozen for up to one poke interval before it.
"""
from __future__ import annotations

import json

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.events import LoggingEventWriter
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal_cutover import CLOCK_FILE
from task_driver import RunDriver, WorkerCrashed
from test_crash_matrix import PATHS, plan_of, simulated_cutover_time  # noqa: F401 (autouse: gated paths' clock and approver)
from test_event_contract import CONTRACT
from world_view import WorldView

FROZEN = CONTRACT["sourceFrozen"]


def marked(entries, row):
    return any(
        entry["phase"] == row["Phase"] and entry["status"] == row["Status"] and entry.get("targetKind", row["TargetKind"]) == row["TargetKind"]
        for entry in entries
    )


class FreezeRecorder:
    """Every event of the database, with whether the world's source was frozen when it was written."""

    def __init__(self, monkeypatch, view: WorldView):
        self.rows = []
        original = LoggingEventWriter.write

        def write(writer, row, budget=None):
            self.rows.append((row, not view.source_writable()))
            return original(writer, row, budget)

        monkeypatch.setattr(LoggingEventWriter, "write", write)

    def disagreements(self, database):
        """Events at which the alert's reading differs from the world: (phase, status, world frozen)."""
        frozen_by_events, found = False, []
        for row, world_frozen in self.rows:
            if database.freezes_source and marked(FROZEN["starts"], row):
                frozen_by_events = True
            elif marked(FROZEN["ends"], row):
                frozen_by_events = False
            downtime = world_frozen and (row["Phase"], row["Status"]) != ("done", "Succeeded")
            if frozen_by_events != downtime:
                found.append((row["Phase"], row["Status"], world_frozen))
        return found

    def starts(self):
        return [(row["Phase"], row["Status"]) for row, _ in self.rows if marked(FROZEN["starts"], row)]


def driven(monkeypatch, directory, plan):
    """The DAG, the world's view of the database, and the recorder of its events."""
    view = WorldView(directory, plan.database("db"), plan)
    return build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), view, FreezeRecorder(monkeypatch, view)


def assert_agrees(recorder, plan):
    assert recorder.disagreements(plan.database("db")) == [], recorder.rows


@pytest.mark.parametrize("path", sorted(PATHS))
def test_a_migrated_database_is_frozen_from_its_start_event_until_done(rehearsal_world, monkeypatch, path):
    plan = plan_of(path)
    dag, view, recorder = driven(monkeypatch, rehearsal_world, plan)
    driver = RunDriver(dag, view.observe)
    driver.run_database("db")

    assert driver.outcome("db") == "migrated", driver.errors
    assert len(recorder.starts()) == 1
    assert_agrees(recorder, plan)


@pytest.mark.parametrize("path", sorted(PATHS))
def test_a_rollback_after_the_freeze_ends_it(rehearsal_world, monkeypatch, path):
    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")
    plan = plan_of(path)
    dag, view, recorder = driven(monkeypatch, rehearsal_world, plan)
    driver = RunDriver(dag, view.observe)
    driver.run_database("db")

    assert driver.outcome("db") == "rolled_back", driver.errors
    assert recorder.rows[-1][0]["Phase"] == "rollback" and view.source_writable()
    assert_agrees(recorder, plan)


@pytest.mark.parametrize("path", ["online_sqlmi", "offline_sqlmi", "sqldb", "sqldb_data_factory"])
def test_a_freeze_that_a_run_left_is_one_freeze_until_the_next_run_ends_it(rehearsal_world, monkeypatch, path):
    plan = plan_of(path)
    freezing_step = "start_migration" if plan.database("db").target_kind == "SqlDb" else "freeze_source"
    dag, view, recorder = driven(monkeypatch, rehearsal_world, plan)
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, view.observe).run_database("db", crash_after=freezing_step)
    assert not view.source_writable()
    second = RunDriver(dag, view.observe)
    second.run_database("db")

    assert second.outcome("db") == "migrated", second.errors
    assert_agrees(recorder, plan)


@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_a_rollback_that_keeps_a_target_a_person_took_offline_ends_the_freeze(rehearsal_world, monkeypatch, target):
    """Its `RolledBackTargetKept` undoes the DAG's freeze as `RolledBack` does (the contract's `sourceFrozen` ends)."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online", target=target)]))
    dag, view, recorder = driven(monkeypatch, rehearsal_world, plan)
    driver = RunDriver(dag, view.refusing_the_cutover_then_taking_the_target_offline())
    driver.run_database("db")

    assert driver.outcome("db") == "rolled_back_target_kept", driver.errors
    assert recorder.rows[-1][0]["Status"] == "RolledBackTargetKept" and view.source_writable()
    assert_agrees(recorder, plan)


def test_a_copy_that_keeps_its_source_writable_is_never_frozen(rehearsal_world, monkeypatch):
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", target="db-prod", allowSourceWritesDuringCopy=True)]))
    dag, view, recorder = driven(monkeypatch, rehearsal_world, plan)
    driver = RunDriver(dag, view.observe)
    driver.run_database("db")

    assert driver.outcome("db") == "migrated", driver.errors
    assert recorder.starts() == [("start_migration", "Started")], "the same event as a freezing copy's"
    assert not [frozen for _, frozen in recorder.rows if frozen]
    assert_agrees(recorder, plan)


def test_a_window_that_closes_after_the_freeze_ends_it_back_to_replicating(rehearsal_world, monkeypatch):
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
    plan = plan_of("online_sqlmi_gated")

    def close_the_window_after_the_freeze(task_id):
        view.observe(task_id)
        if task_id == "db.freeze_source":
            clock = rehearsal_world / CLOCK_FILE
            state = json.loads(clock.read_text())
            state["now"] = "2026-12-06T03:00:00Z"
            clock.write_text(json.dumps(state))

    dag, view, recorder = driven(monkeypatch, rehearsal_world, plan)
    driver = RunDriver(dag, close_the_window_after_the_freeze)
    driver.run_database("db")

    assert driver.outcome("db") == "waiting", driver.errors
    assert (recorder.rows[-1][0]["Phase"], recorder.rows[-1][0]["Status"]) == ("rollback", "WindowMissed")
    assert_agrees(recorder, plan)


def test_a_rollback_that_fails_before_undoing_the_freeze_leaves_it_in_force(rehearsal_world, monkeypatch):
    """DMS refuses the cutover, then the cancel: the rollback stops before the freeze is undone
    (`rollback-failed`); its `Failed` is no end, the downtime goes on."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online")]))
    dag, view, recorder = driven(monkeypatch, rehearsal_world, plan)
    refused = []

    def refuse_the_cutover_and_its_cancel(task_id):
        view.observe(task_id)
        if task_id == "db.final_backup" and not refused:
            refused.append(task_id)
            for operation in ("cutover", "cancel"):
                view.world.add_fault(operation, "error", count=20, status=400, code="BadRequest", message="%s refused" % operation)

    driver = RunDriver(dag, refuse_the_cutover_and_its_cancel)
    states = driver.run_database("db")

    assert states["db.cutover"] == "failed" and states["db.rollback"] == "failed", driver.errors
    assert (recorder.rows[-1][0]["Phase"], recorder.rows[-1][0]["Status"]) == ("rollback", "Failed")
    assert not view.source_writable()
    assert_agrees(recorder, plan)
