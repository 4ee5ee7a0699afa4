"""A database removed from the plan while its migration was under way (`removed_databases`): Airflow
marks its tasks `removed` and nothing rolls it back, so `run_outcome` reports it, every run, until it is
put back in the plan or a person undid it and cleared its record (`task_driver` on the rehearsal world;
a redeploy is the driver's run going on with the DAG of the edited plan)."""
from __future__ import annotations

import json

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE, FileRecords
from migration_orchestration_lib.removed_databases import plan_databases_key
from migration_orchestration_lib.source_freeze import record_key
from task_driver import RunDriver, WorkerCrashed
from world_view import WorldView

pytestmark = [pytest.mark.airflow210, pytest.mark.airflow26]  # the Data Factory host runs 2.6.3

REMOVED = "removed from the plan while its migration was under way"


def dag_of(*databases):
    plan = parse_plan(plan_with_databases(list(databases)))
    return plan, build_dag(plan, {"MIGRATION_DRY_RUN": "1"})


@pytest.fixture
def plan_edits(rehearsal_world, monkeypatch, tmp_path):
    """Plan v1 (`a` from Sales, `b` from Hr), after a first run in which `a` failed and rolled back (so a
    run's end listed both) and `b` migrated; `events()` the rows the DAG wrote since."""
    events = tmp_path / "events.jsonl"
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(events))
    plan, dag = dag_of(database_entry("a", "Sales"), database_entry("b", "Hr"))
    a = WorldView(rehearsal_world, plan.database("a"), plan)
    first = RunDriver(dag, a.fault_after("a.start_migration", "migrate", "migrationFailed", database="Sales", message="restore failed"))
    first.run_database("a")
    first.run_database("b")
    assert (first.outcome("a"), first.outcome("b")) == ("rolled_back", "migrated"), first.errors
    assert first.run_outcome() == "failed"
    events.write_text("")

    class Edits:
        v1 = dag
        records = FileRecords(str(rehearsal_world), RECORDS_FILE)
        world = a

        @staticmethod
        def without_a():
            return dag_of(database_entry("b", "Hr"))[1]

        @staticmethod
        def listed():
            return json.loads(Edits.records.get(plan_databases_key(plan.name)) or "[]")

        @staticmethod
        def events():
            return [json.loads(line) for line in events.read_text().splitlines()]

    return Edits


def frozen_mid_run(edits):
    """A second run of v1 freezes `a`'s source; then the plan without `a` is deployed (its tasks are removed)."""
    run = RunDriver(edits.v1, edits.world.observe)
    with pytest.raises(WorkerCrashed):
        run.run_database("a", crash_after="freeze_source")
    run.run_database("b")
    assert not edits.world.source_writable()
    run.dag = edits.without_a()
    return run


def test_a_database_removed_while_its_source_is_frozen_fails_the_run_and_raises_the_rollback_alert(plan_edits):
    run = frozen_mid_run(plan_edits)

    assert run.run_outcome() == "failed"
    error = run.errors["run_outcome"]
    assert "1 database(s) removed from the plan mid-migration" in error and REMOVED in error
    assert "a (source database Sales on sql01)" in error
    key = record_key(plan_edits.world.database)
    assert "airflow variables set %s ''" % key in error and '"readOnly": false' in error, "what to write back, and how to clear"
    [event] = [row for row in plan_edits.events() if row["Database"] == "a" and row["Phase"] == "rollback"]
    assert (event["Phase"], event["Status"]) == ("rollback", "Failed") and REMOVED in event["Message"]
    assert not plan_edits.world.source_writable(), "the DAG does not guess: a person decides"


def test_a_stranded_database_is_reported_by_every_later_run_until_its_record_is_cleared(plan_edits):
    frozen_mid_run(plan_edits).run_outcome()
    without_a = plan_edits.without_a()

    later = RunDriver(without_a)
    later.run_database("b")
    assert later.run_outcome() == "failed" and REMOVED in later.errors["run_outcome"]

    plan_edits.records.put(record_key(plan_edits.world.database), "")  # a person undid it by hand
    cleared = RunDriver(without_a)
    cleared.run_database("b")
    assert cleared.run_outcome() == "success", cleared.errors
    assert [entry["database"] for entry in plan_edits.listed()] == ["b"]


def test_putting_the_database_back_carries_its_migration_on(plan_edits):
    frozen_mid_run(plan_edits).run_outcome()

    again = RunDriver(plan_edits.v1, plan_edits.world.observe)
    again.run_database("a")
    again.run_database("b")

    assert again.outcome("a") == "migrated", again.errors
    assert again.run_outcome() == "success", again.errors


def test_a_database_removed_after_its_rollback_is_not_reported_and_no_longer_listed(plan_edits):
    run = RunDriver(plan_edits.without_a())  # `a` rolled back in the first run
    run.run_database("b")

    assert run.run_outcome() == "success", run.errors
    assert [entry["database"] for entry in plan_edits.listed()] == ["b"]


def test_a_database_removed_after_done_in_the_same_run_is_not_reported(plan_edits):
    run = RunDriver(plan_edits.v1, plan_edits.world.observe)
    run.run_database("a")
    run.run_database("b")
    assert run.outcome("a") == "migrated", run.errors
    run.dag = plan_edits.without_a()

    assert run.run_outcome() == "success", run.errors
    assert not plan_edits.world.source_writable(), "a migrated source stays frozen"


def test_a_renamed_entry_is_not_a_removal_since_its_source_is_still_in_the_plan(plan_edits):
    run = frozen_mid_run(plan_edits)
    run.dag = dag_of(database_entry("a2", "Sales"), database_entry("b", "Hr"))[1]

    assert run.run_outcome() == "failed"  # a2 has not run in this run yet
    assert REMOVED not in run.errors["run_outcome"] and "removed from the plan" not in run.errors["run_outcome"]


def test_a_removed_database_whose_name_another_entry_took_is_still_reported(plan_edits):
    """`a` (Sales) removed while frozen, and `b` (Hr) renamed `a`: the outcome of task group `a` is now
    Hr's. Read as the removed Sales's, Hr migrating made the stranded Sales vanish from every later run's
    report and from the list, its source frozen and its migration going on, nobody told."""
    frozen_mid_run(plan_edits).run_outcome()
    a_is_hr = dag_of(database_entry("a", "Hr"))[1]

    later = RunDriver(a_is_hr)
    later.run_database("a")
    assert later.outcome("a") == "migrated", later.errors  # Hr, declared again under its new name

    assert later.run_outcome() == "failed", "the stranded Sales is reported still"
    assert "a (source database Sales on sql01)" in later.errors["run_outcome"] and REMOVED in later.errors["run_outcome"]
    assert [(e["database"], e["sourceDatabase"]) for e in plan_edits.listed()] == [("a", "Hr"), ("a", "Sales")]


def test_a_source_database_written_in_another_letter_case_is_not_a_removal(plan_edits):
    """SQL Server compares database names without case: `SALES` is the same source still in the plan. Reported
    as removed, the message would have a person cancel the migration the entry carries on."""
    run = frozen_mid_run(plan_edits)
    run.dag = dag_of(database_entry("a", "SALES", target_database="Sales"), database_entry("b", "Hr"))[1]

    assert run.run_outcome() == "failed"  # `a` has not run in this run yet
    assert "removed from the plan" not in run.errors["run_outcome"]
    later = RunDriver(run.dag, plan_edits.world.observe)
    later.run_database("a")
    later.run_database("b")
    assert later.outcome("a") == "migrated", later.errors
