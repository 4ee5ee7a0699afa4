"""A doubtful migration in the target: ours by migration service and source database, but DMS names
its source server (`sourceServerName`) otherwise than the plan's source host. What DMS puts there is
recorded only for SqlDb, where it echoes the request's dataSource (`source_server_names`): if it is
SQL Server's own name, every plan reaching its source by an IP address, a DNS alias or an
Availability Group listener reads so; and so does another server's same-named database
migrated through this plan's own service. Forward steps go on with it (as with any migration of
ours); the rollback cancels it, or removes its target, only where this run's start_migration created
it, and otherwise fails for a person, touching nothing.

The world's source sql01 is reached by the alias `sales-listener` (`World.add_server_alias`); the DMS
contract server reports a migration's `sourceServerName` as the server's own name, sql01."""
from __future__ import annotations

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib import rehearsal
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
import task_driver
from task_driver import RunDriver, WorkerCrashed
from test_foreign_migrations import IN_FLIGHT, TARGETS, Events, foreign_status, setup, start_foreign_migration
from world_view import WorldView

# Driver logic on direct SQL, the same on every Airflow: 3.3, and 2.6.3 for Python 3.8 (the Data Factory host), not 2.10.5.
pytestmark = pytest.mark.airflow26

ALIAS_HOST = "sales-listener.corp.contoso.com"


def alias_setup(directory, target, mode):
    """A plan whose source host is an alias of sql01 (an Availability Group listener, say)."""
    document = plan_with_databases([database_entry("db", "Sales", mode=mode, target=target)])
    [server] = [s for s in document["sourceServers"] if s["name"] == "sql01"]
    server["host"] = ALIAS_HOST
    plan = parse_plan(document)
    world = WorldView(directory, plan.database("db"), plan)
    world.world.add_server("sql01")
    world.world.add_server_alias("sql01", rehearsal.world_server_name(ALIAS_HOST))
    rehearsal.seed_world(world.world, plan)
    return plan, build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world


def source_server_dms_names(world):
    return {record["sourceServerName"] for record in world.world.snapshot()["databaseMigrations"].values() for record in record["operations"]}


@pytest.mark.parametrize("target, mode", TARGETS)
def test_a_plan_reaching_its_source_by_an_alias_migrates(rehearsal_world, target, mode):
    """(before: the foreign branch refused the run's own migration once DMS named the server sql01)"""
    plan, dag, world = alias_setup(rehearsal_world, target, mode)

    driver = RunDriver(dag, world.observe)
    states = driver.run_database("db")

    assert driver.outcome("db") == "migrated", (states, driver.errors)
    assert source_server_dms_names(world) == {"sql01"}, "DMS named the server otherwise than the plan's host"
    assert world.target()["state"] == "ONLINE"


@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_a_doubtful_migration_this_run_created_is_canceled_and_its_target_removed(rehearsal_world, target):
    """DMS refuses the cutover for good: as on main, the rollback cancels the migration this run
    created (its operation id is start_migration's record), removes the RESTORING target, and makes
    the source writable again."""
    plan, dag, world = alias_setup(rehearsal_world, target, "online")
    refuse_the_cutover = world.fault_after(
        "db.final_backup", "cutover", "error", count=20, status=400, code="BadRequest", message="cutover refused")
    driver = RunDriver(dag, refuse_the_cutover)
    states = driver.run_database("db")

    assert world.injected and states["db.cutover"] == "failed", driver.errors
    assert states["db.rollback"] == "success" and driver.outcome("db") == "rolled_back", driver.errors
    assert [op["migrationStatus"] for op in world.operations()] == ["Canceled"]
    assert source_server_dms_names(world) == {"sql01"}
    assert world.target() is None and world.source_writable() and not world.online_target_deleted


def test_a_doubtful_migration_this_run_created_that_failed_has_its_target_removed(rehearsal_world):
    plan, dag, world = alias_setup(rehearsal_world, "mi-prod", "offline")
    world.world.add_fault("migrate", "migrationFailed", database="Sales", message="restore failed")

    driver = RunDriver(dag, world.observe)
    states = driver.run_database("db")

    assert states["db.rollback"] == "success" and driver.outcome("db") == "rolled_back", (states, driver.errors)
    assert [op["migrationStatus"] for op in world.operations()] == ["Failed"]
    assert world.target() is None and world.source_writable()


def test_a_doubtful_migration_an_earlier_run_created_is_left_for_a_person(rehearsal_world, monkeypatch):
    """The cost of the doubt: this plan's own migration, adopted by a later run (the first one's
    worker died), cannot be told from another server's; its rollback cancels and removes nothing and
    leaves the source's access as it is (frozen by the DAG here), for a person."""
    plan, dag, world = alias_setup(rehearsal_world, "mi-prod", "online")
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after="start_migration")
    [ours] = [op["migrationOperationId"] for op in world.operations()]

    events = Events(monkeypatch)
    refuse_the_cutover = world.fault_after(
        "db.final_backup", "cutover", "error", count=20, status=400, code="BadRequest", message="cutover refused")
    driver = RunDriver(dag, refuse_the_cutover)
    states = driver.run_database("db")

    assert states["db.cutover"] == "failed" and states["db.rollback"] == "failed", driver.errors
    [(status, message)] = events.of("rollback")
    assert status == "Failed" and ours in message and "'sql01'" in message and ALIAS_HOST in message
    assert "does not cancel it" in message and "A person must judge" in message
    assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"]
    assert world.target()["state"] == "RESTORING" and not world.source_writable()


def test_a_doubtful_migration_left_for_a_person_is_carried_on_once_the_plans_host_is_written_as_dms_names_the_server(
        rehearsal_world, monkeypatch):
    """The rollback-failed row's "names another source server", lived through: the person finds it is this plan's
    migration (the host an alias of the server DMS names), writes the plan's `host` as DMS names the server, and
    triggers the DAG again. The new run takes that same migration as its own and migrates it: nothing canceled or
    removed, no second migration, the source never writable beside the live target."""
    plan, dag, world = alias_setup(rehearsal_world, "mi-prod", "online")
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after="start_migration")
    [ours] = [op["migrationOperationId"] for op in world.operations()]
    refuse_the_cutover = world.fault_after(
        "db.final_backup", "cutover", "error", count=20, status=400, code="BadRequest", message="cutover refused")
    left_for_a_person = RunDriver(dag, refuse_the_cutover)
    assert left_for_a_person.run_database("db")["db.rollback"] == "failed", left_for_a_person.errors
    assert "names its source server 'sql01'" in left_for_a_person.errors["db.rollback"], left_for_a_person.errors
    with world.world.transaction() as state:  # DMS takes a cutover again
        state["faults"][:] = []

    [dms_names] = source_server_dms_names(world)
    document = plan_with_databases([database_entry("db", "Sales", mode="online", target="mi-prod")])
    [server] = [s for s in document["sourceServers"] if s["name"] == "sql01"]
    server["host"] = dms_names
    edited = parse_plan(document)
    writable_beside_live = []

    def watched(task_id):
        world.observe(task_id)
        if world.target()["state"] == "ONLINE" and world.source_writable():
            writable_beside_live.append(task_id)

    again = RunDriver(build_dag(edited, {"MIGRATION_DRY_RUN": "1"}), watched)
    states = again.run_database("db")

    assert again.outcome("db") == "migrated", (states, again.errors)
    assert [(op["migrationOperationId"], op["migrationStatus"]) for op in world.operations()] == [(ours, "Succeeded")]
    assert world.target()["state"] == "ONLINE" and not world.online_target_deleted
    assert not writable_beside_live and not world.source_writable(), "declared migrated: the source stays read-only"


@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_another_servers_migration_adopted_in_flight_is_not_canceled(rehearsal_world, monkeypatch, target):
    """A person migrates sql02's `Sales` offline into our target through this plan's service. The run
    adopts it (it cannot tell it from its own), start_migration then fails on its lastBackupName, and
    the rollback cancels nothing, removes nothing, and fails for a person.
    (before: main canceled it and removed its target)"""
    plan, dag, world = setup(rehearsal_world, target, "offline")
    foreign = start_foreign_migration(monkeypatch, world, target, "offline", "another-server")
    before = world.target()
    events = Events(monkeypatch)

    driver = RunDriver(dag, world.observe)
    states = driver.run_database("db")

    assert states["db.preflight"] == "success" and states["db.start_migration"] == "failed", driver.errors
    assert "'sql02'" in driver.errors["db.start_migration"] and "leaves it for a person" in driver.errors["db.start_migration"]
    assert states["db.rollback"] == "failed", driver.errors
    [(status, message)] = events.of("rollback")
    assert status == "Failed" and foreign in message and "'sql02'" in message and "sql01.corp.contoso.com" in message
    assert "does not cancel it" in message and "A person must judge" in message
    assert foreign_status(world, foreign) in IN_FLIGHT, "never canceled"
    assert [op["migrationOperationId"] for op in world.operations()] == [foreign], "nothing started"
    assert world.target() == before and before is not None and world.source_writable()


@pytest.mark.parametrize("target, mode", [t for t in TARGETS if t[0] != "db-prod"])
def test_another_servers_canceled_migration_keeps_the_target_it_left(rehearsal_world, monkeypatch, target, mode):
    """sql02's `Sales`, migrated through this plan's service, was canceled and left its RESTORING
    target: preflight fails on it, and the rollback, not having created that migration, removes
    nothing and fails for a person. (before: main dropped the target)"""
    plan, dag, world = setup(rehearsal_world, target, mode)
    foreign = start_foreign_migration(monkeypatch, world, target, mode, "another-server", ending="Canceled")
    before = world.target()
    events = Events(monkeypatch)

    driver = RunDriver(dag, world.observe)
    states = driver.run_database("db")

    assert states["db.preflight"] == "failed" and states["db.rollback"] == "failed", driver.errors
    [(status, message)] = events.of("rollback")
    assert status == "Failed" and foreign in message and "does not remove target database Sales" in message
    assert world.target() == before and before["state"] == "RESTORING", "a target this run did not create is never removed"
    assert [op["migrationOperationId"] for op in world.operations()] == [foreign] and world.source_writable()


def test_preflight_does_not_promise_a_cleanup_the_rollback_will_not_do_for_a_doubtful_migration(rehearsal_world, monkeypatch):
    """sql02's `Sales` through this plan's service ended and left its RESTORING target: preflight must
    not say the rollback cleans up (the rollback removes nothing of a migration this run did not create)."""
    plan, dag, world = setup(rehearsal_world, "mi-prod", "offline")
    foreign = start_foreign_migration(monkeypatch, world, "mi-prod", "offline", "another-server", ending="Canceled")

    driver = RunDriver(dag, world.observe)
    states = driver.run_database("db")

    assert states["db.preflight"] == "failed", driver.errors
    message = driver.errors["db.preflight"]
    assert foreign in message and "'sql02'" in message, message
    assert "rollback cleans up" not in message and "a person" in message, message


@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_another_servers_migration_found_after_a_create_dms_refused_as_busy_is_not_taken_for_this_runs(
        rehearsal_world, monkeypatch, target):
    """A person starts sql02's `Sales` through this plan's service between start_migration's read of
    the target and its create, which DMS refuses as busy (OperationInProgress). The gateway continues
    with the migration it then finds, as with its own lost create; but DMS names another source server,
    so it is not recorded as created by this run, and the rollback neither cancels it nor removes its
    target. (before: recorded as created; the rollback canceled it and removed its target)"""
    from migration_orchestration_lib import steps

    plan, dag, world = setup(rehearsal_world, target, "online")
    foreign = []
    build = steps.build_migration_request

    def a_person_starts_first(*args, **kwargs):
        if not foreign:
            foreign.append(start_foreign_migration(monkeypatch, world, target, "online", "another-server"))
        return build(*args, **kwargs)

    monkeypatch.setattr(steps, "build_migration_request", a_person_starts_first)
    # DMS never restores this run's final backup into sql02's migration: a wait that never ends, fewer
    # pokes than a whole migration's 400 prove it as well
    monkeypatch.setattr(task_driver, "MAX_POKES", 40)
    events = Events(monkeypatch)
    driver = RunDriver(dag, world.observe)
    states = driver.run_database("db")

    assert foreign and states["db.start_migration"] == "success", driver.errors
    assert [op["migrationOperationId"] for op in world.operations()] == foreign, "this run's create was refused"
    assert states["db.rollback"] == "failed", (states, driver.errors)
    [(status, message)] = events.of("rollback")
    assert status == "Failed" and foreign[0] in message and "'sql02'" in message and "does not cancel it" in message, message
    assert foreign_status(world, foreign[0]) in IN_FLIGHT, "never canceled"
    assert world.target()["state"] == "RESTORING"
