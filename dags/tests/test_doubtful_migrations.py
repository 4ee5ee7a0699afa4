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

import json

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib import rehearsal, steps
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.dms_gateway import MigrationTarget
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE, FileRecords
from migration_orchestration_lib.step_context import StepFailure
from migration_rehearsal import sql_world
import task_driver
from task_driver import RunDriver, WorkerCrashed
from test_foreign_migrations import IN_FLIGHT, TARGETS, Events, foreign_status, setup, start_foreign_migration
from test_writes_handed_back import write_to_source
from world_view import WorldView

# On Python 3.8 (airflow26) the tests marked below run: with that run's others they reach every line and branch of
# the DAG's code all of this file's tests reach there (dags/README.md, "Python 3.8").

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


def left_for_a_person(plan, dag, world, mode, monkeypatch):
    """Run 1 starts the migration and its worker dies; run 2 adopts it (doubtful: DMS names the server sql01, the plan
    the alias), freezes the source, then fails: online, DMS refuses the cutover for good after the final backup; offline,
    the final backup fails before it is taken (DMS's lastBackupName not in the share: nothing can bring the target
    online). Its rollback cancels and removes nothing and leaves the source frozen for a person. Returns the migration."""
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after="start_migration")
    [ours] = [op["migrationOperationId"] for op in world.operations()]
    with monkeypatch.context() as patch:
        if mode == "online":
            observe = world.fault_after(
                "db.final_backup", "cutover", "error", count=20, status=400, code="BadRequest", message="cutover refused")
        else:
            def share_full(ctx):
                raise StepFailure("the backup share is full")

            patch.setitem(steps.STEPS, "final_backup", share_full)
            dag, observe = build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world.observe  # steps are bound as the DAG is built
        run = RunDriver(dag, observe)
        states = run.run_database("db")
    assert states["db.%s" % ("cutover" if mode == "online" else "final_backup")] == "failed", run.errors
    assert states["db.rollback"] == "failed", run.errors
    assert "names its source server 'sql01'" in run.errors["db.rollback"], run.errors
    with world.world.transaction() as state:  # DMS takes a cutover again
        state["faults"][:] = []
    assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"] and world.target()["state"] == "RESTORING"
    assert not world.source_writable(), "left frozen for a person"
    return ours


def make_writable_as_the_variable_says(world, monkeypatch):
    """The person gives the source back the access the Airflow Variable migration_source_before_freeze__sql01__Sales
    records (the rehearsal's records file), with their own login; the Variable and the DAG's freeze marker as they are."""
    recorded = json.loads(FileRecords(world.directory, RECORDS_FILE).get("migration_source_before_freeze__sql01__Sales"))
    assert (recorded["readOnly"], recorded["userAccess"]) == (False, "MULTI_USER"), recorded
    monkeypatch.setenv(sql_world.WORLD_VARIABLE, world.world.directory)
    person = sql_world.connect(server="sql01", user="dba", password="canary-not-a-secret", autocommit=True).cursor()
    person.execute("ALTER DATABASE [Sales] SET READ_WRITE WITH ROLLBACK IMMEDIATE")
    person.execute("ALTER DATABASE [Sales] SET MULTI_USER")
    assert world.source_writable()


def host_written_as_dms_names_the_server(world, target, mode):
    """The plan edited by the person: source server sql01's `host` as DMS names the server."""
    [dms_names] = source_server_dms_names(world)
    document = plan_with_databases([database_entry("db", "Sales", mode=mode, target=target)])
    [server] = [s for s in document["sourceServers"] if s["name"] == "sql01"]
    server["host"] = dms_names
    return parse_plan(document)


@pytest.mark.parametrize("target, mode, source", [
    ("mi-prod", "online", "left frozen"), ("mi-prod", "online", "made writable as the Variable says"),
    ("mi-prod", "offline", "left frozen"), ("mi-prod", "offline", "made writable as the Variable says"),
    ("vm-prod", "offline", "made writable as the Variable says"),
])
def test_a_doubtful_migration_left_for_a_person_is_carried_on_once_the_plans_host_is_written_as_dms_names_the_server(
        rehearsal_world, monkeypatch, target, mode, source):
    """The rollback-failed row's "names another source server", lived through: the person finds it is this plan's
    migration (the host an alias of the server DMS names), writes the plan's `host` as DMS names the server, and
    triggers the DAG again. The new run takes that same migration as its own and migrates it: nothing canceled or
    removed, no second migration, the source never writable beside the live target. Where the person first made the
    source writable as the Variable says (this plan's migration could not go live: online, not cut over; offline, its
    last backup never taken) and applications wrote to it, the new run freezes it again and takes a final backup that
    holds those writes: the target has them."""
    plan, dag, world = alias_setup(rehearsal_world, target, mode)
    ours = left_for_a_person(plan, dag, world, mode, monkeypatch)
    written = None
    if source == "made writable as the Variable says":
        make_writable_as_the_variable_says(world, monkeypatch)
        written = write_to_source(world, "written while the person had made it writable")

    edited = host_written_as_dms_names_the_server(world, target, mode)
    writable_beside_live = []

    def watched(task_id):
        world.observe(task_id)
        target = world.target()
        if target is not None and target["state"] == "ONLINE" and world.source_writable():
            writable_beside_live.append(task_id)

    again = RunDriver(build_dag(edited, {"MIGRATION_DRY_RUN": "1"}), watched)
    states = again.run_database("db")

    assert again.outcome("db") == "migrated", (states, again.errors)
    assert [(op["migrationOperationId"], op["migrationStatus"]) for op in world.operations()] == [(ours, "Succeeded")]
    assert world.target()["state"] == "ONLINE" and not world.online_target_deleted
    assert not writable_beside_live and not world.source_writable(), "declared migrated: the source stays read-only"
    if written:
        assert world.target()["tables"][written] == world.source()["tables"][written], "a write made while writable was lost"
        assert world.target()["tables"][written]["rows"][0][1] == "written while the person had made it writable"


@pytest.mark.parametrize("mode", ["online", "offline"])
def test_a_doubtful_migration_left_for_a_person_canceled_by_them_with_its_target_dropped_lets_the_next_run_migrate_anew(
        rehearsal_world, monkeypatch, mode):
    """The row's other remedy for this plan's own migration: the person cancels it where it runs, drops the RESTORING
    target it left, makes the source writable as the Variable says (no migration of this plan can go live now), and
    applications write; the plan left as it is (the alias), the DAG triggered again starts a migration of its own and
    migrates, the writes in the target, the canceled migration left as it is."""
    plan, dag, world = alias_setup(rehearsal_world, "mi-prod", mode)
    ours = left_for_a_person(plan, dag, world, mode, monkeypatch)
    dms, into = rehearsal.rehearsal_services(plan).dms, MigrationTarget.of(plan, plan.database("db"))
    dms.cancel(into, ours)
    for _ in range(20):
        if dms.current_migration(into).migration_status == "Canceled":
            break
    assert world.target()["state"] == "RESTORING" and world.world.drop_database(world.target_server, "Sales")
    make_writable_as_the_variable_says(world, monkeypatch)
    written = write_to_source(world, "written after the person's cancel")

    again = RunDriver(dag, world.observe)
    states = again.run_database("db")

    assert again.outcome("db") == "migrated", (states, again.errors)
    started = again.xcom[("db.start_migration", "return_value")]
    assert [(op["migrationOperationId"], op["migrationStatus"]) for op in world.operations()] == [
        (ours, "Canceled"), (started, "Succeeded")]
    assert world.target()["tables"][written]["rows"][0][1] == "written after the person's cancel", "a write was lost"
    assert not world.source_writable(), "declared migrated: the source stays read-only"


def dms_reads_the_share(world, readable):
    """DMS's runtime loses (False) or gets back (True) its access to the backup share of the database's latest
    migration: it restores nothing meanwhile. msdb's records of the backups taken there stay as they are."""
    with world.world.transaction() as state:
        [record] = [r for key, r in state["databaseMigrations"].items() if key.endswith("/sales")]
        migration = record["operations"][-1]
        if readable:
            migration["fileSharePath"] = migration.pop("unreadableShare")
        else:
            migration["unreadableShare"], migration["fileSharePath"] = migration["fileSharePath"], "\\\\unreachable\\share"


@pytest.mark.parametrize("dms_finishes", ["before the run", "during the run"])
def test_a_source_made_writable_while_dms_could_still_finish_the_offline_migration_is_never_declared_without_its_writes(
        rehearsal_world, monkeypatch, dms_finishes):
    """The runbook's "once no migration of this plan can go live", not heeded: run 2 adopted the doubtful offline
    migration, froze the source and took its final backup (DMS's lastBackupName) into the share, but DMS could not read
    the share, and wait_for_migration gave up; its rollback left it all for a person. The person makes the source
    writable as the Variable says, applications write, and the plan's host is written as DMS names the server. DMS
    then restores that backup, without the writes, and brings the target online, before the next run or during it
    (after its final_backup, which finds the file taken already). The next run never declares that target migrated:
    freeze_source refuses a completed migration whose source is writable, or validate the log written after the
    final backup; the writes stay on the source, handed back to it, and the live target is kept."""
    plan, dag, world = alias_setup(rehearsal_world, "mi-prod", "offline")
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after="start_migration")

    def share_unreadable_after_the_final_backup(task_id):
        world.observe(task_id)
        if task_id == "db.final_backup" and "unreadableShare" not in world.operations()[-1]:
            dms_reads_the_share(world, False)

    with monkeypatch.context() as patch:
        patch.setattr(task_driver, "MAX_POKES", 40)  # wait_for_migration gives up (its timeoutMinutes)
        gave_up = RunDriver(dag, share_unreadable_after_the_final_backup)
        states = gave_up.run_database("db")
    assert states["db.final_backup"] == "success" and states["db.wait_for_migration"] == "failed", gave_up.errors
    assert states["db.rollback"] == "failed" and "names its source server 'sql01'" in gave_up.errors["db.rollback"], gave_up.errors
    assert ("an offline one still copying goes live by itself once its last backup, DMS's lastBackupName, is in the share"
            in gave_up.errors["db.rollback"]), "the message says this migration can still go live"
    [ours] = [op["migrationOperationId"] for op in world.operations()]
    assert world.operations()[-1]["migrationStatus"] == "InProgress" and not world.source_writable()

    make_writable_as_the_variable_says(world, monkeypatch)
    written = write_to_source(world, "written while DMS could still finish")
    edited = host_written_as_dms_names_the_server(world, "mi-prod", "offline")
    if dms_finishes == "before the run":
        dms_reads_the_share(world, True)
        dms = rehearsal.rehearsal_services(edited).dms
        for _ in range(20):
            if dms.current_migration(MigrationTarget.of(edited, edited.database("db"))).migration_status == "Succeeded":
                break
        assert world.target()["state"] == "ONLINE"

    def share_readable_after_the_final_backup(task_id):
        world.observe(task_id)
        if task_id == "db.final_backup" and "unreadableShare" in world.operations()[-1]:
            dms_reads_the_share(world, True)

    again = RunDriver(build_dag(edited, {"MIGRATION_DRY_RUN": "1"}), share_readable_after_the_final_backup)
    states = again.run_database("db")

    assert again.outcome("db") != "migrated", "declared migrated: the target lacks the writes made while the source was writable"
    if dms_finishes == "before the run":
        assert states["db.freeze_source"] == "failed", (states, again.errors)
        assert "source database Sales is READ_WRITE" in again.errors["db.freeze_source"], again.errors
    else:
        assert states["db.final_backup"] == "success" and states["db.validate"] == "failed", (states, again.errors)
        assert "written after the final log backup" in again.errors["db.validate"], again.errors
    assert states["db.rollback"] == "success", again.errors
    assert [(op["migrationOperationId"], op["migrationStatus"]) for op in world.operations()] == [(ours, "Succeeded")]
    last_backup = world.operations()[-1]["lastBackupName"]
    assert [b["fileName"] for b in world.world.backups("sql01", "Sales")].count(last_backup) == 1, "run 2's final backup only"
    assert world.target()["state"] == "ONLINE" and not world.online_target_deleted, "a target that went live is kept"
    assert world.target()["tables"][written]["rows"][0][1] != "written while DMS could still finish"
    assert world.source()["tables"][written]["rows"][0][1] == "written while DMS could still finish"
    assert world.source_writable(), "handed back to the applications, with their writes"


@pytest.mark.airflow26
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


@pytest.mark.airflow26
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


@pytest.mark.airflow26
@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_another_servers_migration_found_after_a_create_dms_refused_as_busy_is_not_taken_for_this_runs(
        rehearsal_world, monkeypatch, target):
    """A person starts sql02's `Sales` through this plan's service between start_migration's read of
    the target and its create, which DMS refuses as busy (OperationInProgress). The gateway continues
    with the migration it then finds, as with its own lost create; but DMS names another source server,
    so it is not recorded as created by this run, and the rollback neither cancels it nor removes its
    target. (before: recorded as created; the rollback canceled it and removed its target)"""

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
