"""A foreign migration in the target: DMS's latest migration into the plan database's target database
is not this plan's (another source database through this plan's migration service, a person's; or
another plan's, through its own service). Preflight refuses it; the rollback then neither cancels it,
nor removes the target, nor changes the source's access, and ends RolledBack where this run
left nothing for a person to judge (the run still fails: the database did not migrate), or Failed
(the rollback-failed alert) where the DAG's own freeze or a migration this run worked on is left.
Each case runs the real tasks (`task_driver`) on the rehearsal world, the foreign migration started
through the real gateway with the other party's request. A same-named database of another source
server through this plan's service is doubtful, not foreign: `test_doubtful_migrations`."""
from __future__ import annotations

import re

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib import rehearsal
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.dms_gateway import MigrationTarget
from migration_orchestration_lib.events import LoggingEventWriter
from migration_orchestration_lib.migration_request import build_migration_request
from migration_orchestration_lib.plan import parse_plan
from task_driver import RunDriver, WorkerCrashed
from test_two_plans import OTHER_SERVICE_ID, other_team_plan
from world_view import WorldView

# On Python 3.8 (airflow26) the tests marked below run: with that run's others they reach every line and branch of
# the DAG's code all of this file's tests reach there (dags/README.md, "Python 3.8").

# (plan's target server, mode): every target kind, online and offline where the kind has both
TARGETS = [("mi-prod", "online"), ("mi-prod", "offline"), ("vm-prod", "online"), ("vm-prod", "offline"), ("db-prod", "offline")]
FOREIGN = ["another-source", "another-service"]
IN_FLIGHT = ("Creating", "InProgress")


class Events:
    """The database's events as the DAG writes them: (phase, status, message)."""

    def __init__(self, monkeypatch):
        self.rows = []
        original = LoggingEventWriter.write

        def write(writer, row, budget=None):
            self.rows.append((row["Phase"], row["Status"], row["Message"]))
            return original(writer, row, budget)

        monkeypatch.setattr(LoggingEventWriter, "write", write)

    def of(self, phase):
        return [(status, message) for row_phase, status, message in self.rows if row_phase == phase]


def setup(directory, target, mode):
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode=mode, target=target)]))
    world = WorldView(directory, plan.database("db"), plan)
    rehearsal.seed_world(world.world, plan)
    return plan, build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world


def foreign_plan(target, mode, by):
    """Whoever else migrates into the same target database: a person migrating `Hr` through this plan's
    service; or another team's plan migrating the `Sales` of its own server sql02 through its own
    service ("another-service"), or through this plan's ("another-server": doubtful, not foreign)."""
    if by == "another-source":
        document = plan_with_databases([database_entry("db", "Hr", mode=mode, target=target, target_database="Sales")])
        document["name"] = "by-hand"
        return parse_plan(document)
    return parse_plan(other_team_plan(plan_with_databases([database_entry("db", "Sales", mode=mode, target=target)])))


def start_foreign_migration(monkeypatch, world, target, mode, by, target_exists=True, ending=None):
    """Start the foreign migration through the real gateway, in flight: online, or offline waiting for
    a last backup nobody took. `target_exists` (SqlMi, SqlVm): its full backup is restored (the target
    RESTORING), else the share holds none yet (the target absent). `ending` (Succeeded, Canceled): then
    end it so. Returns its operation id."""
    theirs = foreign_plan(target, mode, by)
    database = theirs.database("db")
    source_server = rehearsal.world_server_name(theirs.source_of(database).host)
    last_backup = None if database.is_online or not database.restores_backups else "%s_by_hand.trn" % database.source_database
    with monkeypatch.context() as patch:
        if by == "another-service":
            patch.setattr(rehearsal, "SERVICE_ID", OTHER_SERVICE_ID)
        services = rehearsal.rehearsal_services(theirs)
        if database.restores_backups and not target_exists:
            with world.world.transaction() as state:
                share = state["backups"][source_server]
                share[:] = [backup for backup in share if backup["database"] != database.source_database]
        if not database.restores_backups:  # a long copy: still in flight when this plan's run reads it
            target_server = theirs.target_of(database).resource_id.name
            for index in range(30):
                for server, name in ((source_server, database.source_database), (target_server, database.target_database)):
                    world.world.set_table(server, name, "dbo.More%02d" % index, rehearsal.COLUMNS, [])
        into = MigrationTarget.of(theirs, database)
        started = services.dms.start(
            into, database.source_database,
            lambda: build_migration_request(theirs, database, services.dms.migration_service_id, services.connections),
            last_backup_name=last_backup,
        )
        operation_id = started.migration_operation_id
        for _ in range(5):  # every read moves the simulated DMS one step on
            services.dms.current_migration(into)
        assert foreign_status(world, operation_id) in IN_FLIGHT
        assert (world.target() is not None) == (target_exists or not database.restores_backups)
    if ending:
        end_foreign_migration(monkeypatch, world, target, mode, by, operation_id, ending)
    return operation_id


def end_foreign_migration(monkeypatch, world, target, mode, by, operation_id, ending):
    """Whoever started the foreign migration in flight ends it: `Canceled` (they cancel it), or `Succeeded` (they cut
    it over, or take the last log backup of an offline one)."""
    theirs = foreign_plan(target, mode, by)
    database = theirs.database("db")
    source_server = rehearsal.world_server_name(theirs.source_of(database).host)
    with monkeypatch.context() as patch:
        if by == "another-service":
            patch.setattr(rehearsal, "SERVICE_ID", OTHER_SERVICE_ID)
        services = rehearsal.rehearsal_services(theirs)
        into = MigrationTarget.of(theirs, database)
        if ending == "Canceled":
            services.dms.cancel(into, operation_id)
        elif ending == "Succeeded" and database.is_online:
            services.dms.cutover(into, operation_id)
        elif ending == "Succeeded" and database.restores_backups:
            share = theirs.source_of(database).backup_file_share.path
            last_backup = "%s\\%s_by_hand.trn" % (share, database.source_database)
            world.world.take_backup(source_server, database.source_database, "LOG", last_backup)
        for _ in range(200):
            if foreign_status(world, operation_id) not in IN_FLIGHT + ("Completing", "Canceling"):
                break
            services.dms.current_migration(into)
    assert foreign_status(world, operation_id) == ending


def foreign_status(world, operation_id):
    [status] = [op["migrationStatus"] for op in world.operations() if op["migrationOperationId"] == operation_id]
    return status


def variants():
    for target, mode in TARGETS:
        for by in FOREIGN:
            for target_exists in ((True, False) if target != "db-prod" else (True,)):
                yield pytest.param(target, mode, by, target_exists, id="%s-%s-%s-%s" % (
                    target, mode, by, "target-exists" if target_exists else "target-absent"))


@pytest.mark.parametrize("target, mode, by, target_exists", list(variants()))
def test_a_foreign_migration_refused_by_preflight_rolls_back_nothing_and_ends_rolled_back(
        rehearsal_world, monkeypatch, target, mode, by, target_exists):
    plan, dag, world = setup(rehearsal_world, target, mode)
    foreign = start_foreign_migration(monkeypatch, world, target, mode, by, target_exists)
    before = world.target()
    events = Events(monkeypatch)

    driver = RunDriver(dag, world.observe)
    states = driver.run_database("db")

    assert states["db.preflight"] == "failed" and foreign in driver.errors["db.preflight"], driver.errors
    assert states["db.rollback"] == "success", driver.errors
    assert driver.outcome("db") == "rolled_back"
    [(status, message)] = events.of("rollback")
    assert status == "RolledBack"
    assert foreign in message and "nothing done" in message and "not canceled" in message
    assert foreign_status(world, foreign) in IN_FLIGHT, "another's migration is never canceled"
    assert [op["migrationOperationId"] for op in world.operations()] == [foreign], "nothing started"
    assert (world.target() is None) == (before is None), "a target this run did not create is never removed"
    assert world.source_writable() and not world.online_target_deleted
    assert driver.run_outcome() == "failed"
    assert re.search(r"not migrated\. rolled back: db; .*rollback failed or incomplete: -", driver.errors["run_outcome"])


REMEDIES = ["cancels it and drops the target it left", "lets it end and names another target database"]


def remedy_variants():
    """Every SqlMi and SqlVm target kind and mode, each remedy, each by whom (SqlDb: the kept-freeze tests below)."""
    for target, mode in TARGETS:
        if target == "db-prod":
            continue
        for remedy in REMEDIES:
            for by in FOREIGN:
                yield pytest.param(target, mode, by, remedy, id="%s-%s-%s-%s" % (target, mode, by, remedy.split()[0]))


@pytest.mark.parametrize("target, mode, by, remedy", list(remedy_variants()))
def test_a_foreign_migration_ended_by_its_owner_then_the_target_cleared_or_renamed_lets_the_next_run_migrate(
        rehearsal_world, monkeypatch, target, mode, by, remedy):
    """The runbook's "another's migration into the target", lived through: preflight refuses it (RolledBack, nothing
    done); the person lets that migration end, or cancels it where it runs, then clears the target or names another
    (the preflight row), and triggers the DAG again: the new run migrates, the other's migration and what it left
    in a target of another name untouched."""
    plan, dag, world = setup(rehearsal_world, target, mode)
    foreign = start_foreign_migration(monkeypatch, world, target, mode, by)
    events = Events(monkeypatch)
    refused = RunDriver(dag, world.observe)
    assert refused.run_database("db")["db.preflight"] == "failed" and refused.outcome("db") == "rolled_back", refused.errors
    [(status, message)] = events.of("rollback")
    assert status == "RolledBack" and foreign in message and "nothing done" in message, message
    assert foreign_status(world, foreign) in IN_FLIGHT and world.source_writable(), "never frozen: nothing to give back"

    if remedy.startswith("cancels"):
        end_foreign_migration(monkeypatch, world, target, mode, by, foreign, "Canceled")
        assert world.target()["state"] == "RESTORING"
        world.world.drop_database(world.target_server, "Sales")
        again_plan, again_world = plan, world
    else:
        end_foreign_migration(monkeypatch, world, target, mode, by, foreign, "Succeeded")
        theirs = world.target()
        assert theirs["state"] == "ONLINE"
        renamed = database_entry("db", "Sales", mode=mode, target=target, target_database="Sales2")
        again_plan = parse_plan(plan_with_databases([renamed]))
        again_world = WorldView(rehearsal_world, again_plan.database("db"), again_plan)
    again = RunDriver(build_dag(again_plan, {"MIGRATION_DRY_RUN": "1"}), again_world.observe)
    states = again.run_database("db")

    assert again.outcome("db") == "migrated", (states, again.errors)
    assert again_world.target()["state"] == "ONLINE"
    ours = again.xcom[("db.start_migration", "return_value")]
    assert [op["migrationOperationId"] for op in again_world.operations()][-1] == ours != foreign
    assert foreign_status(world, foreign) == ("Canceled" if remedy.startswith("cancels") else "Succeeded")
    if not remedy.startswith("cancels"):
        assert world.target() == theirs, "the other's target is left as it is"


def ended_variants():
    for target, mode in TARGETS:
        yield pytest.param(target, mode, "another-service", "Succeeded", True, id="%s-%s-another-service-succeeded" % (target, mode))
        yield pytest.param(target, mode, "another-source", "Canceled", True, id="%s-%s-another-source-canceled-target-left" % (target, mode))
        if target != "db-prod":
            yield pytest.param(target, mode, "another-source", "Canceled", False, id="%s-%s-another-source-canceled-target-absent" % (target, mode))


@pytest.mark.airflow26
@pytest.mark.parametrize("target, mode, by, ending, target_exists", list(ended_variants()))
def test_a_foreign_migration_that_ended_is_not_this_plans_to_undo(rehearsal_world, monkeypatch, target, mode, by, ending, target_exists):
    """An ended foreign migration is not this plan's: where it left a SqlMi or SqlVm target, preflight
    refuses to overwrite it and the rollback keeps it (RolledBack); where it left none, or a SqlDb target (which
    exists before any migration) it was canceled in, this plan migrates; a SqlDb target it completed a copy into
    is never copied over (`test_a_sqldb_target_another_migration_completed_into_is_never_copied_over`)."""
    plan, dag, world = setup(rehearsal_world, target, mode)
    foreign = start_foreign_migration(monkeypatch, world, target, mode, by, target_exists, ending)
    before = world.target()

    driver = RunDriver(dag, world.observe)
    states = driver.run_database("db")

    assert foreign_status(world, foreign) == ending
    if before is not None and plan.database("db").restores_backups:
        assert states["db.preflight"] == "failed" and "no migration of Sales created it" in driver.errors["db.preflight"], driver.errors
        assert states["db.rollback"] == "success" and driver.outcome("db") == "rolled_back", driver.errors
        assert world.target() == before, "a target this plan did not create is never removed"
        assert world.source_writable()
    elif ending == "Succeeded":  # a SqlDb target holding another's completed copy
        assert states["db.preflight"] == "failed" and foreign in driver.errors["db.preflight"], driver.errors
        assert driver.outcome("db") == "rolled_back" and world.target() == before and world.source_writable()
    else:
        assert driver.outcome("db") == "migrated", driver.errors


@pytest.mark.airflow26
@pytest.mark.parametrize("target, mode, by", [
    ("mi-prod", "online", "another-source"), ("vm-prod", "offline", "another-service"), ("db-prod", "offline", "another-source"),
])
def test_a_foreign_migration_started_after_preflight_passed_rolls_back_nothing_and_ends_rolled_back(
        rehearsal_world, monkeypatch, target, mode, by):
    """Another migration into the target begins between preflight and start_migration: start_migration
    fails before it starts or freezes anything (a SqlDb copy freezes the source first), and this run
    changed nothing."""
    plan, dag, world = setup(rehearsal_world, target, mode)
    foreign = []

    def another_starts_after_preflight(task_id):
        world.observe(task_id)
        if task_id == "db.preflight" and not foreign:
            foreign.append(start_foreign_migration(monkeypatch, world, target, mode, by))

    events = Events(monkeypatch)
    driver = RunDriver(dag, another_starts_after_preflight)
    states = driver.run_database("db")

    assert states["db.preflight"] == "success" and states["db.start_migration"] == "failed", driver.errors
    assert foreign[0] in driver.errors["db.start_migration"]
    assert states["db.rollback"] == "success" and driver.outcome("db") == "rolled_back", driver.errors
    [(status, message)] = events.of("rollback")
    assert status == "RolledBack" and foreign[0] in message and "nothing done" in message
    assert [op["migrationOperationId"] for op in world.operations()] == foreign
    assert foreign_status(world, foreign[0]) in IN_FLIGHT and world.target() is not None
    assert world.source_writable()


@pytest.mark.airflow26
def test_the_dags_freeze_beside_a_foreign_migration_is_kept_for_a_person(rehearsal_world, monkeypatch):
    """A run froze the source for a SqlDb copy and crashed; the copy was canceled by hand and another
    source's copy began into the same target. Where this plan's migration stands cannot be read: the
    rollback keeps the source frozen and fails (a person decides), touching no migration."""
    plan, dag, world = setup(rehearsal_world, "db-prod", "offline")
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after="start_migration")
    assert not world.source_writable()
    services = rehearsal.rehearsal_services(plan)
    [ours] = [op["migrationOperationId"] for op in world.operations()]
    services.dms.cancel(MigrationTarget.of(plan, plan.database("db")), ours)
    foreign = start_foreign_migration(monkeypatch, world, "db-prod", "offline", "another-source")

    events = Events(monkeypatch)
    driver = RunDriver(dag, world.observe)
    states = driver.run_database("db")

    assert states["db.preflight"] == "failed" and states["db.rollback"] == "failed", driver.errors
    [(status, message)] = events.of("rollback")
    assert status == "Failed" and foreign in message and "Sales kept frozen" in message and "A person must decide" in message
    assert not world.source_writable(), "the DAG's freeze is kept while its migration cannot be read"
    assert foreign_status(world, foreign) in IN_FLIGHT


@pytest.mark.parametrize("source, ending", [("made writable by the person", "Succeeded"), ("left frozen", "Canceled")])
def test_the_dags_freeze_kept_beside_a_foreign_migration_lets_the_next_run_copy_again_once_that_migration_ended(
        rehearsal_world, monkeypatch, source, ending):
    """The rollback-failed row's "another's migration", lived through after the freeze kept above: this plan's copy
    was canceled (it cannot go live), so the person makes the source writable as the Variable says, or leaves it
    frozen; the other's copy ends (its owner lets it end, or cancels it); the DAG triggered again copies into the
    target and migrates, the source read-only at the end (done). A copy the other's completed is never copied over:
    that run is refused, and once the person finds nothing uses it and deletes its migration resource, as the
    refusal says, the next run copies."""
    from migration_rehearsal import sql_world

    plan, dag, world = setup(rehearsal_world, "db-prod", "offline")
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after="start_migration")
    [canceled] = [op["migrationOperationId"] for op in world.operations()]
    rehearsal.rehearsal_services(plan).dms.cancel(MigrationTarget.of(plan, plan.database("db")), canceled)
    foreign = start_foreign_migration(monkeypatch, world, "db-prod", "offline", "another-source")
    kept_frozen = RunDriver(dag, world.observe)
    assert kept_frozen.run_database("db")["db.rollback"] == "failed", kept_frozen.errors
    assert "kept frozen" in kept_frozen.errors["db.rollback"] and not world.source_writable(), kept_frozen.errors

    if source == "made writable by the person":
        monkeypatch.setenv(sql_world.WORLD_VARIABLE, world.world.directory)
        person = sql_world.connect(server="sql01", user="dba", password="canary-not-a-secret", autocommit=True).cursor()
        person.execute("ALTER DATABASE [Sales] SET READ_WRITE WITH ROLLBACK IMMEDIATE")
        assert world.source_writable()
    end_foreign_migration(monkeypatch, world, "db-prod", "offline", "another-source", foreign, ending)
    earlier = [(canceled, "Canceled"), (foreign, ending)]
    if ending == "Succeeded":
        refused = RunDriver(dag, world.observe)
        assert refused.run_database("db")["db.preflight"] == "failed", refused.errors
        assert "delete that database migration resource" in refused.errors["db.preflight"], refused.errors
        assert world.operations()[-1]["migrationOperationId"] == foreign, "nothing copied over the completed copy"
        world.delete_migration_resource()  # nothing uses that copy: the person deletes it, as the refusal says
        earlier = []
    again = RunDriver(dag, world.observe)
    states = again.run_database("db")

    assert again.outcome("db") == "migrated", (states, again.errors)
    ours = again.xcom[("db.start_migration", "return_value")]
    assert [(op["migrationOperationId"], op["migrationStatus"]) for op in world.operations()] == earlier + [(ours, "Succeeded")]
    assert not world.source_writable(), "declared migrated: the source stays read-only"


@pytest.mark.airflow26
def test_a_migration_this_run_started_replaced_by_a_foreign_one_is_left_for_a_person(rehearsal_world, monkeypatch):
    """This run's migration fails, and before the rollback reads DMS another migration into the target
    has begun: what this run's migration left there cannot be told from the other's restore. Nothing is
    canceled or removed; the rollback fails for a person."""
    plan, dag, world = setup(rehearsal_world, "mi-prod", "online")
    world.world.add_fault("migrate", "migrationFailed", database="Sales", message="simulated failure")
    foreign = []

    def another_starts_after_the_failure(task_id):
        world.observe(task_id)
        if task_id == "db.wait_for_migration" and not foreign and world.operations()[-1]["migrationStatus"] == "Failed":
            foreign.append(start_foreign_migration(monkeypatch, world, "mi-prod", "online", "another-service"))

    events = Events(monkeypatch)
    driver = RunDriver(dag, another_starts_after_the_failure)
    states = driver.run_database("db")

    assert states["db.wait_for_migration"] == "failed" and foreign, driver.errors
    ours = driver.xcom[("db.start_migration", "return_value")]
    assert states["db.rollback"] == "failed", driver.errors
    [(status, message)] = events.of("rollback")
    assert status == "Failed" and foreign[0] in message and "this run started or adopted migration %s" % ours in message
    assert foreign_status(world, foreign[0]) in IN_FLIGHT and world.target()["state"] == "RESTORING"
    assert world.source_writable()


def _an_application_writes_to_the_target(world):
    """An application of whoever took the completed copy live writes a row to the SqlDb target. Returns the table and
    its rows now."""
    table = sorted(world.target()["tables"])[0]
    written = world.target()["tables"][table]
    used = written["rows"] + [[9001, "written by the other team's application", 1]]
    world.world.set_table(world.target_server, "Sales", table, written["columns"], used)
    return table, used


@pytest.mark.parametrize("by", FOREIGN)
def test_a_sqldb_target_another_migration_completed_into_is_never_copied_over(rehearsal_world, monkeypatch, by):
    """A SqlDb target exists before any copy, so preflight does not refuse it as it does a restore's: DMS's latest
    migration into it is another's (another team's plan through its own service and Airflow, or another source
    database through this plan's service), and DMS reports it Succeeded, a completed copy that may be live, its
    applications writing to it. Before, it read as no migration of this plan (an ended foreign one is not_started) and
    this plan froze its source and copied over it, the other's rows lost, then declared it migrated. Nothing is
    started or frozen: preflight refuses it, naming that migration and what a person does."""
    plan, dag, world = setup(rehearsal_world, "db-prod", "offline")
    foreign = start_foreign_migration(monkeypatch, world, "db-prod", "offline", by, ending="Succeeded")
    table, used = _an_application_writes_to_the_target(world)

    driver = RunDriver(dag, world.observe)
    states = driver.run_database("db")

    assert world.target()["tables"][table]["rows"] == used, "a completed copy others may use was copied over"
    assert [op["migrationOperationId"] for op in world.operations()] == [foreign], "nothing started over it"
    assert states["db.preflight"] == "failed" and foreign in driver.errors["db.preflight"], driver.errors
    assert "Succeeded" in driver.errors["db.preflight"] and "name another target database" in driver.errors["db.preflight"]
    assert states["db.rollback"] == "success" and driver.outcome("db") == "rolled_back", driver.errors
    assert world.source_writable(), "never frozen"


@pytest.mark.airflow26
def test_a_sqldb_copy_another_migration_completed_into_after_preflight_is_never_started(rehearsal_world, monkeypatch):
    """The other's copy completes between this run's preflight and its start_migration (a wait for a place there may
    take hours): start_migration reads DMS again right before it freezes the source, and refuses, nothing frozen."""
    plan, dag, world = setup(rehearsal_world, "db-prod", "offline")
    foreign, written, frozen = [], [], []

    def another_completes_after_preflight(task_id):
        world.observe(task_id)
        if not world.source_writable():
            frozen.append(task_id)
        if task_id == "db.preflight" and not foreign:
            foreign.append(start_foreign_migration(monkeypatch, world, "db-prod", "offline", "another-service", ending="Succeeded"))
            written.append(_an_application_writes_to_the_target(world))

    driver = RunDriver(dag, another_completes_after_preflight)
    states = driver.run_database("db")

    [(table, used)] = written
    assert world.target()["tables"][table]["rows"] == used, "a completed copy others may use was copied over"
    assert [op["migrationOperationId"] for op in world.operations()] == foreign, "nothing started over it"
    assert states["db.preflight"] == "success" and states["db.start_migration"] == "failed", driver.errors
    assert foreign[0] in driver.errors["db.start_migration"], driver.errors
    assert states["db.rollback"] == "success" and driver.outcome("db") == "rolled_back", driver.errors
    assert world.source_writable() and frozen == [], "never frozen"
