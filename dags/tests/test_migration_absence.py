""""No migration into this target" is proven, never read off one 404: ARM may answer 404 for a migration DMS has
(eventual consistency after a create, a routing glitch, a resource moved). The gateway reads it as none only where
`listMigrations` of the migration service lists none into that target either (`DmsGateway.current_migration`);
where the two disagree, the step pokes again, deciding nothing, until they agree or its deadline passes.

Run task by task (`task_driver`) on the rehearsal world: the real gateway over HTTP against the DMS contract server,
whose `get` fault answers the target's migration GET 404 while its list still shows the migration.
"""
from __future__ import annotations

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib import rehearsal
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from task_driver import RunDriver, WorkerCrashed
from world_view import WorldView


def answer_404_for_the_migration(world, count):
    world.world.add_fault("get", "error", count=count, database=world.database.target_database, status=404,
                          code="ResourceNotFound", message="The Resource was not found.")


def dms_contract_server(directory):
    return rehearsal._servers["dms:%s" % directory]


def run_dead_after(directory, entry, task):
    """A run of the one database `entry` whose worker died right after `task`'s side effects: (world, dag, run)."""
    plan = parse_plan(plan_with_databases([entry]))
    world = WorldView(directory, plan.database(entry["name"]), plan)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    run = RunDriver(dag, world.observe)
    with pytest.raises(WorkerCrashed):
        run.run_database(entry["name"], crash_after=task)
    return world, dag, run


def test_a_rollback_told_404_for_the_migration_dms_runs_neither_leaves_it_running_nor_hands_the_source_back(rehearsal_world):
    """A run dies after its final backup, the source frozen and the online migration replicating; its rollback's
    reads of the migration answer 404 while the service's list shows it. Before, the rollback read "no migration":
    nothing canceled, the restoring target kept, the frozen source made writable and the database reported rolled
    back, while DMS still replicated into the target (and a cutover would bring it online beside a writable source)."""
    world, dag, run = run_dead_after(rehearsal_world, database_entry("db", "Sales", mode="online"), "final_backup")
    assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"] and not world.source_writable()

    answer_404_for_the_migration(world, count=3)
    writable_beside_a_running_migration = []

    def observe(task_id):
        world.observe(task_id)
        if world.source_writable() and world.operations()[-1]["migrationStatus"] != "Canceled":
            writable_beside_a_running_migration.append(world.operations()[-1]["migrationStatus"])

    run.observe = observe
    assert run._run_task(dag.get_task("db.rollback")) == "success", run.errors

    assert [op["migrationStatus"] for op in world.operations()] == ["Canceled"], "the migration DMS runs is left running"
    assert world.target() is None, "the RESTORING target of the canceled migration is removed"
    assert writable_beside_a_running_migration == [], "the source was handed back while DMS still ran the migration"
    assert world.source_writable() and run.outcome("db") == "rolled_back"
    assert not world.world.faults(), "the 404s were never met"


def test_a_start_told_404_for_the_migration_dms_runs_creates_no_second_one(rehearsal_world):
    """A SqlDb copy's start_migration dies after DMS created the migration; the task, run again, reads 404 for it
    while the service's list shows it. Before, it froze nothing new but sent a create (PUT) over that migration:
    into a target the first copy is writing (or has written) rows into. What DMS does with such a PUT is not
    documented; the contract server refuses one in flight (409) and copies again over one that ended."""
    world, _, run = run_dead_after(rehearsal_world, database_entry("db", "Sales", target="db-prod"), "start_migration")
    [first] = world.operations()
    creates = len(dms_contract_server(rehearsal_world).received("create"))

    answer_404_for_the_migration(world, count=2)
    assert run.clear_task("db", "start_migration") == "success", run.errors

    assert len(dms_contract_server(rehearsal_world).received("create")) == creates, "a second create was sent"
    assert [op["migrationOperationId"] for op in world.operations()] == [first["migrationOperationId"]]
    assert run.xcom[("db.start_migration", "return_value")] == first["migrationOperationId"]
    assert not world.world.faults(), "the 404s were never met"


# A list as stale as the GET (right after a create, neither shows it yet) proves nothing where this run recorded the
# migration: `migration_stage._check_not_forgotten`.

def hide_the_migration(world, reads, lists):
    """The target's migration GET answers 404 for the next `reads` reads and `listMigrations` leaves it out of the next
    `lists` lists, though DMS runs it."""
    answer_404_for_the_migration(world, count=reads)
    world.world.add_fault("listMigrations", "unlisted", count=lists, database=world.database.target_database)


def test_a_rollback_finding_no_trace_of_the_migration_this_run_started_neither_hands_the_source_back_nor_reports_it_rolled_back(rehearsal_world):
    """A run dies after its final backup, the source frozen and the online migration replicating; its rollback's read
    answers 404 and the service's list leaves the migration out too. Before, the two agreeing read as "there never was
    a migration": nothing canceled, the frozen source made writable and the database reported rolled back while DMS
    still replicated into the target. Once DMS shows it again, the rollback run again cancels it and hands back."""
    world, dag, run = run_dead_after(rehearsal_world, database_entry("db", "Sales", mode="online"), "final_backup")
    [started] = world.operations()
    hide_the_migration(world, reads=1, lists=1)  # the list proving the 404, which the guard reads too (one list, one view)

    assert run._run_task(dag.get_task("db.rollback")) == "failed"

    error = run.errors["db.rollback"]
    assert ("DMS shows no migration into Sales on SqlMi mi-contoso-prod (ARM answers 404 for " in error and "yet this run recorded "
            "migration %s there (the XCom created_migration of db.start_migration)" % started["migrationOperationId"] in error)
    assert "nothing is started, canceled, removed or handed back" in error and "trigger a new DAG run" in error
    assert not world.source_writable(), "the source was handed back beside the migration DMS runs"
    assert run.outcome("db") is None, "reported rolled back"
    assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"] and world.target() is not None
    assert not world.world.faults(), "the hidden reads were never met"

    assert run.clear_task("db", "rollback") == "success", run.errors
    assert [op["migrationStatus"] for op in world.operations()] == ["Canceled"]
    assert world.source_writable() and run.outcome("db") == "rolled_back"


def test_a_start_finding_no_trace_of_the_migration_its_preflight_found_creates_none_over_it(rehearsal_world):
    """A SqlDb copy's run dies after start_migration; a new run's preflight finds the copy in flight, then its
    start_migration reads 404 for it and the service's lists leave it out. Before, it froze nothing new but sent a
    create (PUT) over the copy in flight (the contract server refuses it 409, as DMS may not)."""
    world, dag, _ = run_dead_after(rehearsal_world, database_entry("db", "Sales", target="db-prod"), "start_migration")
    [started] = world.operations()
    later = RunDriver(dag, world.observe)
    assert later._run_task(dag.get_task("db.preflight")) == "success", later.errors
    creates = len(dms_contract_server(rehearsal_world).received("create"))
    hide_the_migration(world, reads=2, lists=3)  # as many as the old code read before its create

    assert later._run_task(dag.get_task("db.start_migration")) == "failed"

    assert len(dms_contract_server(rehearsal_world).received("create")) == creates, "a create was sent over the copy in flight"
    assert "yet this run recorded migration %s there (the XCom of db.preflight)" % started["migrationOperationId"] in later.errors["db.start_migration"]
    assert [op["migrationOperationId"] for op in world.operations()] == [started["migrationOperationId"]]


def test_a_run_cleared_from_preflight_after_its_rolled_back_migration_was_deleted_migrates_again(rehearsal_world):
    """A run's migration fails and its rollback cancels nothing more, removes the target and hands the source back; a
    person deletes the failed migration's resource in DMS, then clears the run from preflight to try again. The
    XComs of the earlier pass's start_migration stay until it runs again (Airflow 2 and 3 clear a task's XComs when
    it starts, not when it is cleared). Before, the cleared preflight read them as a migration this run recorded that
    DMS no longer shows and failed for a person: the run could never go on."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="offline")]))
    world = WorldView(rehearsal_world, plan.database("db"), plan)

    failures = ["restore failed"]

    def fail_the_migration(task_id):
        world.observe(task_id)
        if task_id == "db.start_migration" and failures:
            world.world.add_fault("migrate", "migrationFailed", database="Sales", message=failures.pop())

    run = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), fail_the_migration)
    run.run_database("db")
    assert run.outcome("db") == "rolled_back" and world.source_writable(), run.errors
    [failed] = world.operations()
    world.delete_migration_resource()
    assert run.xcom[("db.start_migration", "created_migration")] == failed["migrationOperationId"]

    states = run.clear_database("db")

    assert states["db.preflight"] == "success", run.errors.get("db.preflight")
    assert run.outcome("db") == "migrated", run.errors
    assert [op["migrationStatus"] for op in world.operations()] == ["Succeeded"]


def test_a_later_try_of_start_migration_remembers_the_migration_an_earlier_try_created(rehearsal_world):
    """A SqlDb copy's start_migration dies after DMS created the migration, before its XCom; Airflow clears the task's
    XComs as its next try starts, whose read answers 404 while the service's list still lags (seconds after a create).
    Before, nothing remembered the migration: the try read "there never was one" and sent a second create over the copy
    DMS runs. start_migration records it in an Airflow Variable of this run and pass right after DMS's answer."""
    world, _, run = run_dead_after(rehearsal_world, database_entry("db", "Sales", target="db-prod"), "start_migration")
    [started] = world.operations()
    creates = len(dms_contract_server(rehearsal_world).received("create"))
    hide_the_migration(world, reads=2, lists=3)  # as many as the old code read before its create

    state = run.clear_task("db", "start_migration")

    assert len(dms_contract_server(rehearsal_world).received("create")) == creates, "a second create was sent over the copy"
    assert state == "failed"
    error = run.errors["db.start_migration"]
    assert "yet this run recorded migration %s there (the Airflow Variable migration_started__" % started["migrationOperationId"] in error
    assert "__db)" in error and "nothing is started, canceled, removed or handed back" in error
    assert [op["migrationOperationId"] for op in world.operations()] == [started["migrationOperationId"]]
