"""Rollback of a migration that is still active (`rollback.roll_back`), task by task (`task_driver`)
on the rehearsal world: it cancels the migration (awaited), reads DMS again and removes the
RESTORING target the canceled migration created, and makes the frozen source writable again.
The DMS contract server's faults stand in for a step that fails for good."""
from __future__ import annotations

import json
import re

import pytest

from conftest import database_entry, load_plan_document, plan_with_databases
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.dms_gateway import DmsGateway, ManagedDatabase
from migration_orchestration_lib.plan import parse_plan
from task_driver import RunDriver, WorkerCrashed
from world_view import WorldView


def rollback_events(directory):
    """The rollback's events the rehearsal wrote (MIGRATION_REHEARSAL_EVENTS_FILE in `directory`)."""
    rows = [json.loads(line) for line in (directory / "events.jsonl").read_text().splitlines()]
    return [row for row in rows if row["Phase"] == "rollback"]


@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_a_cutover_refused_for_good_is_canceled_and_its_restoring_target_removed(rehearsal_world, target):
    """DMS refuses the cutover (a 400, not an outage) with the source frozen and the final backup
    restored: rollback cancels the replication, then, from DMS read again, removes the target it
    never let go live, and the source is writable again."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online", target=target)]))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    refuse_the_cutover = world.fault_after(
        "db.final_backup", "cutover", "error", count=20, status=400, code="BadRequest", message="cutover refused")
    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), refuse_the_cutover)
    states = driver.run_database("db")

    assert world.injected and states["db.cutover"] == "failed", driver.errors
    assert states["db.rollback"] == "success" and driver.outcome("db") == "rolled_back", driver.errors
    assert [op["migrationStatus"] for op in world.operations()] == ["Canceled"], "the active migration is canceled"
    assert world.target() is None, "the RESTORING target of the canceled migration is removed"
    assert world.source_writable()
    assert not world.online_target_deleted


def test_a_missed_window_never_sends_a_live_migration_back_to_replicating(rehearsal_world):
    """Going back to replicating is for a migration whose cutover was not requested. Should a step
    have reported a missed window while DMS completed the migration (no step does that today),
    rollback still reports the database rolled back, never `waiting`: `run_outcome` would call
    the run a success with a live target beside a writable source."""
    from migration_orchestration_lib.current_run import current_run_key
    from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE, FileRecords
    from migration_orchestration_lib.step_context import DEADLINE_KEY, WINDOW_MISSED_KEY
    from task_driver import WorkerCrashed

    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online")]))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after="wait_for_completion")
    assert world.target()["state"] == "ONLINE" and not world.source_writable()

    later = RunDriver(dag, world.observe)
    later.xcom.update({
        ("db.preflight", "started"): True,
        ("db.preflight", "return_value"): {DEADLINE_KEY: "2099-01-01T00:00:00+00:00", "stage": "succeeded"},
        ("db.final_backup", WINDOW_MISSED_KEY): "the window closed",
    })
    later.states["db.preflight"] = "success"  # as it ran in that run
    FileRecords(str(rehearsal_world), RECORDS_FILE).put(current_run_key(plan.name, "db"), later.run_id)  # as its preflight would
    assert later._run_task(dag.get_task("db.rollback")) == "success", later.errors
    assert later.outcome("db") == "rolled_back"
    assert world.target()["state"] == "ONLINE" and not world.online_target_deleted, "a live target is never removed"


def test_a_rollback_racing_a_done_that_lost_its_heartbeat_keeps_the_validated_migrations_source_frozen(rehearsal_world, monkeypatch):
    """`done`'s last try is failed by the scheduler (its worker lost its heartbeat) while the attempt
    still runs: rollback starts, reads no handoff, and the attempt declares the migration migrated
    right then. A writable source would split the writes from the target applications move to."""
    from migration_orchestration_lib import rollback
    from task_driver import WorkerCrashed, _TaskInstance

    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online")]))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    run = RunDriver(dag, world.observe)
    with pytest.raises(WorkerCrashed):
        run.run_database("db", crash_after="validate")
    declared = []
    read_handoff = rollback.declared_migrated

    def the_zombie_done_declares_meanwhile(ctx, operation_id):
        answer = read_handoff(ctx, operation_id)
        if not declared:
            context = {"ti": _TaskInstance(run.xcom, "db.done", 3, 2), "run_id": run.run_id, "task_reschedule_count": 0}
            declared.append(dag.get_task("db.done").execute(context))
        return answer

    monkeypatch.setattr(rollback, "declared_migrated", the_zombie_done_declares_meanwhile)
    assert run._run_task(dag.get_task("db.rollback")) == "failed"

    assert declared == ["migrated"]
    assert "kept frozen: this run validated migration" in run.errors["db.rollback"]
    assert not world.source_writable(), "a writable source beside the target declared migrated splits the writes"
    assert world.target()["state"] == "ONLINE"


@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_a_database_put_into_the_target_after_a_failed_migration_was_cleaned_up_is_never_removed(rehearsal_world, target):
    """DMS keeps its last migration into a target database after it ended: a failed one, whose rollback removed
    the RESTORING target it left, still names this source. A database of that name put there afterwards (a
    person's own restore WITH NORECOVERY, a log-shipping standby: RESTORING, not ONLINE) was not created by that
    migration, and existed before the next run's: that run refuses to overwrite it, and its rollback keeps it."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online", target=target)]))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    world.world.add_fault("migrate", "migrationFailed", database="Sales", message="restore failed")
    first = RunDriver(dag, world.observe)
    assert first.run_database("db")["db.rollback"] == "success", first.errors
    assert [op["migrationStatus"] for op in world.operations()] == ["Failed"] and world.target() is None
    assert world.source_writable()

    world.world.put_database(world.target_server, "Sales", state="RESTORING", created_by="a person's own restore")
    later = RunDriver(dag, world.observe)
    states = later.run_database("db")

    assert world.target() is not None and world.target()["createdBy"] == "a person's own restore", (
        "a database the failed migration did not create is removed: %s" % later.errors)
    assert states["db.preflight"] == "failed"
    assert "already exists" in later.errors["db.preflight"], later.errors
    assert states["db.rollback"] == "success" and later.outcome("db") == "rolled_back", later.errors
    assert world.source_writable()


@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_a_restoring_target_a_person_took_offline_is_never_removed(rehearsal_world, target, monkeypatch, tmp_path):
    """DMS refuses the cutover for good, its target RESTORING; before the rollback, a person took that database OFFLINE
    (restored it WITH RECOVERY and took it offline, say). Was: the rollback removed it, not being ONLINE (a managed
    instance's through ARM, reading Offline; a SQL VM's with DROP DATABASE). Now only a RESTORING target is removed:
    it is kept, and the canceled migration's rollback otherwise goes on. It ends RolledBackTargetKept, not RolledBack
    (was: read as a clean rollback, the target gone), saying so first, and the run's outcome names the kept target."""
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online", target=target)]))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world.refusing_the_cutover_then_taking_the_target_offline())
    states = driver.run_database("db")

    assert world.injected and states["db.cutover"] == "failed", driver.errors
    assert world.target() is not None and world.target()["state"] == "OFFLINE", (
        "a target taken offline before the rollback was removed: %s" % driver.errors)
    assert [op["migrationStatus"] for op in world.operations()] == ["Canceled"]
    assert states["db.rollback"] == "success" and driver.outcome("db") == "rolled_back_target_kept", driver.errors
    ended = [row for row in rollback_events(tmp_path) if row["Status"] not in ("Started", "Running")]
    assert [row["Status"] for row in ended] == ["RolledBackTargetKept"], ended
    assert ended[0]["Message"].startswith("rolled back, target kept: target Sales is OFFLINE, not RESTORING"), ended
    assert "the next run's preflight refuses db until a person drops it (or names another target database" in ended[0]["Message"], ended
    assert world.source_writable(), "the rest is rolled back: the DAG's freeze undone"
    assert driver.run_outcome() == "failed"
    assert re.search(r"rolled back: -; rolled back, target kept \(a person drops it before the next run: see the "
                     r"rollback's RolledBackTargetKept event\): db; not started", driver.errors["run_outcome"]), driver.errors

    later = RunDriver(driver.dag, world.observe)
    assert later.run_database("db")["db.preflight"] == "failed", later.errors
    refusal = later.errors["db.preflight"]
    assert "left the target OFFLINE: rollback cleans up the rest but keeps the target, not RESTORING" in refusal, refusal
    assert world.target() is not None and world.target()["state"] == "OFFLINE", later.errors


@pytest.mark.parametrize("remedy", ["drops the target", "names another target database"])
def test_a_target_kept_offline_dropped_or_renamed_in_the_plan_lets_the_next_run_migrate(rehearsal_world, remedy):
    """RolledBackTargetKept's "what you do", lived through: the person drops the target the canceled migration left
    OFFLINE, or gives the plan another target database name for it (the OFFLINE one then left as it is), and
    triggers the DAG again: the new run migrates, in a migration of its own."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online")]))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world.refusing_the_cutover_then_taking_the_target_offline())
    driver.run_database("db")
    assert driver.outcome("db") == "rolled_back_target_kept", driver.errors
    with world.world.transaction() as state:  # DMS takes a cutover again
        state["faults"][:] = []

    if remedy == "drops the target":
        assert world.world.drop_database(world.target_server, "Sales")
        again_plan = plan
    else:
        again_plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online", target_database="Sales2")]))
    again_world = WorldView(rehearsal_world, again_plan.database("db"), again_plan)
    again = RunDriver(build_dag(again_plan, {"MIGRATION_DRY_RUN": "1"}), again_world.observe)
    states = again.run_database("db")

    assert again.outcome("db") == "migrated", (states, again.errors)
    assert again_world.target()["state"] == "ONLINE"
    assert [op["migrationStatus"] for op in again_world.operations()] == (
        ["Canceled", "Succeeded"] if remedy == "drops the target" else ["Succeeded"])
    if remedy == "names another target database":
        assert world.target()["state"] == "OFFLINE", "the kept target is left as it is"


def test_preflight_says_the_rollback_keeps_a_target_sql_reads_restoring_but_arm_does_not(rehearsal_world, monkeypatch):
    """A managed instance target that SQL reads RESTORING but ARM another status (Updating: a person's change, say) is
    kept by the rollback, which reads ARM right before its delete and fails for a person before it undoes the rest.
    Was: the next run's preflight, reading SQL alone, promised "rollback cleans up; run again to retry", and every run
    stopped on the same promise. Now it reads ARM as the rollback does and says what happens and what a person does."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online")]))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    refuse_the_cutover = world.fault_after(
        "db.final_backup", "cutover", "error", count=20, status=400, code="BadRequest", message="cutover refused")
    read_arm = DmsGateway.managed_database

    def updating_in_arm(gateway, target):  # ARM's own status, apart from what SQL reads
        found = read_arm(gateway, target)
        return found if found is None else ManagedDatabase("Updating")

    monkeypatch.setattr(DmsGateway, "managed_database", updating_in_arm)
    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), refuse_the_cutover)
    states = driver.run_database("db")
    assert states["db.rollback"] == "failed" and world.target()["state"] == "RESTORING", driver.errors
    assert "reads Updating in ARM right before its delete" in driver.errors["db.rollback"], driver.errors

    later = RunDriver(driver.dag, world.observe)
    states = later.run_database("db")
    refusal = later.errors["db.preflight"]
    assert "left the source frozen and the target RESTORING: the rollback keeps the target, which ARM reads Updating, " \
           "not Restoring" in refusal, refusal
    assert "rollback cleans up" not in refusal and "az sql midb delete" in refusal, refusal
    assert states["db.rollback"] == "failed" and "reads Updating in ARM" in later.errors["db.rollback"], later.errors
    assert world.target() is not None and not world.source_writable(), "as preflight said: kept, the rest not undone"


@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_a_database_put_into_the_target_between_preflight_and_the_start_is_never_removed(rehearsal_world, target):
    """Preflight found the target absent; before start_migration created the migration (it may wait hours for a
    place), a database of that name was put there (RESTORING: a person's own restore). DMS does not overwrite a
    database: its create fails, leaving a failed migration of this source into that target, and the rollback took
    the database for that migration's leftover and removed it.
    start_migration looks again right before it creates one and refuses; the rollback keeps the database."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online", target=target)]))
    world = WorldView(rehearsal_world, plan.database("db"), plan)

    def meanwhile(task_id):
        world.observe(task_id)
        if task_id == "db.preflight" and world.target() is None:
            world.world.put_database(world.target_server, "Sales", state="RESTORING", created_by="a person's own restore")

    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), meanwhile)
    states = driver.run_database("db")

    assert world.target() is not None and world.target()["createdBy"] == "a person's own restore", (
        "a database no migration of the DAG created is removed: %s" % driver.errors)
    assert states["db.start_migration"] == "failed" and "already exists" in driver.errors["db.start_migration"], driver.errors
    assert world.operations() == [], "no migration is started over it"
    assert states["db.rollback"] == "success" and driver.outcome("db") == "rolled_back", driver.errors
    assert world.source_writable()


@pytest.mark.airflow210
@pytest.mark.airflow26  # Data Factory is the SQL path of the 2.10.5 and 2.6.3 hosts
@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_a_database_put_into_the_target_while_the_start_waits_for_a_place_after_its_read_is_never_removed(
        rehearsal_world, target, monkeypatch):
    """Through Data Factory a read is adopted by its key in every later poke of the try. start_migration's read of the
    target right before its create ran (absent) in one poke; the next poke found the service's one place taken by
    another database's admission and waited for it, hours in production. Meanwhile a person put a database of that name
    there (RESTORING: their own restore). Was: once a place freed, the poke adopted the read of hours before, created the
    migration, DMS refused to restore over the database (a failed migration of this source into it), and the rollback
    took the database for that migration's leftover and dropped it. Now the read is made again once the wait has lasted
    (`StepContext.afresh`): it finds the database, and nothing is started over it or removed."""
    from datetime import timedelta

    from migration_orchestration_lib import step_context
    from migration_orchestration_lib.dms_gateway import MigrationTarget
    from migration_orchestration_lib.rehearsal import rehearsal_services, seed_world
    from migration_rehearsal.data_factory_server import DataFactoryServer

    document = plan_with_databases([database_entry("a", "Sales", mode="online", target=target),
                                    database_entry("b", "Crm", mode="online", target=target)])
    document["concurrency"].update(maxMigrationsPerService=1)
    document["airflow"] = load_plan_document("fabric_host.json")["airflow"]
    plan = parse_plan(document)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    a, b = (WorldView(rehearsal_world, plan.database(name), plan) for name in ("a", "b"))
    seed_world(b.world, plan)
    factory = DataFactoryServer(b.world)
    hours_later = timedelta(0)
    now = step_context.utc_now
    monkeypatch.setattr(step_context, "utc_now", lambda: now() + hours_later)  # the clock `afresh` reads
    step = ["read"]

    def read_of_the_target():
        return [run for run in b.world.snapshot()["dataFactoryRuns"].values()
                if run["parameters"]["operationKey"].startswith("%s:b:start_migration:" % driver.run_id)
                and ":target-before-start" in run["parameters"]["operationKey"]]

    def meanwhile(task_id):
        nonlocal hours_later
        b.observe(task_id)
        if task_id != "b.start_migration":
            return
        if step == ["read"] and read_of_the_target():
            factory.advance_all()  # Data Factory runs the read within seconds: the target is absent
            with pytest.raises(WorkerCrashed):  # another database's admission takes the service's one place
                RunDriver(dag).run_database("a", crash_after="start_migration")
            step[0] = "waiting"
        elif step == ["waiting"]:  # hours later: a person's restore is there, and the place frees
            b.world.put_database(b.target_server, "Crm", state="RESTORING", created_by="a person's own restore")
            rehearsal_services(plan).dms.cancel(MigrationTarget.of(plan, plan.database("a")), a.operations()[-1]["migrationOperationId"])
            hours_later = timedelta(hours=3)
            step[0] = "freed"

    driver = RunDriver(dag, meanwhile)
    states = driver.run_database("b")

    assert step == ["freed"], "the scenario did not play out: %s" % driver.errors
    assert b.target() is not None and b.target()["createdBy"] == "a person's own restore", (
        "a database no migration of the DAG created is removed: %s" % driver.errors)
    assert b.operations() == [], "no migration is started over it"
    assert states["b.start_migration"] == "failed", driver.errors
    assert "put there since preflight found it absent" in driver.errors["b.start_migration"], driver.errors
    assert states["b.rollback"] == "success" and driver.outcome("b") == "rolled_back", driver.errors


@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_a_start_cleared_after_its_migration_failed_leaves_the_migrations_target_to_the_rollback(rehearsal_world, target):
    """The worker died right after start_migration created the migration, which then failed, leaving its target
    RESTORING; a person clears start_migration. It starts nothing over that target, names the migration that left
    it, and the rollback removes it: that one the DAG's migration did create."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online", target=target)]))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world.observe)
    with pytest.raises(WorkerCrashed):
        driver.run_database("db", crash_after="start_migration")
    [created] = world.operations()
    assert world.target()["state"] == "RESTORING"
    world.world.add_fault("migrate", "migrationFailed", database="Sales", message="restore failed")  # at its next step

    assert driver.clear_task("db", "start_migration") == "failed"
    assert "left by migration %s of Sales, which ended Failed" % created["migrationOperationId"] in driver.errors["db.start_migration"], driver.errors
    assert [op["migrationStatus"] for op in world.operations()] == ["Failed"], "nothing started over it"
    assert world.target() is not None and world.target()["state"] == "RESTORING"
    assert driver.clear_task("db", "rollback") == "success", driver.errors
    assert world.target() is None, "the failed migration's own RESTORING target is left behind"
    assert world.source_writable()


@pytest.mark.airflow210
@pytest.mark.airflow26  # Airflow 2 reads the preflight's state through `dag_run`, Airflow 3 through the Task SDK
def test_a_database_held_back_in_a_run_cleared_with_downstream_keeps_its_replication(rehearsal_world, monkeypatch, tmp_path):
    """db's preflight passed and start_migration started its replication (the run stopped right after); a person
    clears a task of a database db depends on with its downstream tasks, and it fails again: db's preflight and
    the rest of its chain end upstream_failed without running, their XComs of the earlier try still there (Airflow
    clears a task's XComs only when it runs again), and db's rollback (`one_failed`) runs. Was: it read the stale
    `started` XCom as this try's, canceled the replication and removed its RESTORING target. Now preflight counts as
    run only from its state in the run: nothing rolled back, the migration replicates on into its target."""
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    plan = parse_plan(plan_with_databases([database_entry("base", "Base"), database_entry("db", "Sales", depends_on=["base"])]))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world.observe)
    with pytest.raises(WorkerCrashed):
        driver.run_database("db", crash_after="start_migration")
    assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"] and world.target()["state"] == "RESTORING"

    states = driver.clear_held_back("db")

    assert states["db.preflight"] == "upstream_failed" and ("db.preflight", "started") in driver.xcom, "the earlier try's XCom"
    assert_left_under_way(driver, states, tmp_path, "ready for cutover; it keeps replicating into target database Sales on "
                          "mi-prod (kept). Next: a run in which base migrates cuts it over.")
    assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"], "the replication is never canceled"
    assert world.target() is not None and world.target()["state"] == "RESTORING", "its target is kept"
    assert world.source_writable()


def assert_left_under_way(driver, states, directory, *said):
    """A held-back database's rollback that left its migration running on: it succeeds, undoing nothing, its one end
    event a `Succeeded` saying so (an end: the stalled-run alert does not take the database for in flight) and what
    runs on (`said`), and the run's report names it (was: skipped, "never started in this run", no event)."""
    assert states["db.rollback"] == "success" and driver.outcome("db") == "held_back_under_way", driver.errors
    [ended] = [row for row in rollback_events(directory) if row["Status"] not in ("Started", "Running")]
    assert ended["Status"] == "Succeeded" and ended["Message"].startswith(
        "db was held back in this run (a task upstream of it was cleared with its downstream tasks, and base did not "
        "migrate) with its migration under way: nothing is rolled back. DMS reports migration "), ended
    assert all(text in ended["Message"] for text in said), (said, ended["Message"])
    assert driver.run_outcome() == "failed"
    assert "held back with its migration under way in DMS, nothing undone (a run in which what it depends on migrates " \
           "goes on with it: see its rollback's Succeeded event): db;" in driver.errors["run_outcome"], driver.errors["run_outcome"]


def run_of_a_dependent_stopped_after(directory, task, target="mi-prod", airflow_of=None, mode="online"):
    """db (online, or `mode`, on `target`) depends on base; its run stopped right after `task` (its worker died). The
    DAG, the world and that run."""
    document = plan_with_databases([database_entry("base", "Base"),
                                    database_entry("db", "Sales", mode=mode, target=target, depends_on=["base"])])
    if airflow_of:
        document["airflow"] = load_plan_document(airflow_of)["airflow"]
    plan = parse_plan(document)
    world = WorldView(directory, plan.database("db"), plan)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    driver = RunDriver(dag, world.observe)
    with pytest.raises(WorkerCrashed):
        driver.run_database("db", crash_after=task)
    return dag, world, driver


@pytest.mark.airflow210
@pytest.mark.airflow26  # Airflow 2 reads the preflight's state through `dag_run`, Airflow 3 through the Task SDK
@pytest.mark.parametrize("target, frozen_by", [("mi-prod", "freeze_source"), ("mi-prod", "final_backup"),
                                               ("vm-prod", "final_backup")],
                         ids=["SqlMi-frozen", "SqlMi-final-backup-taken", "SqlVm-final-backup-taken"])
def test_a_database_held_back_under_this_runs_freeze_in_a_run_cleared_with_downstream_gets_its_source_back(rehearsal_world, target, frozen_by):
    """As above, but db's online cutover was under way when a person cleared a task of base with its downstream
    tasks: this run's freeze_source had frozen its source (and its final_backup taken the final log backup, DMS
    restoring it), no cutover requested. base fails again: db's chain ends upstream_failed and its rollback runs. Was:
    "never started in this run ... nothing to roll back", skipped, and the source stayed frozen by this run's freeze
    after the run ended (applications refused every write, and every run in which base failed again held db back the
    same way), run_outcome saying db never started. Now the rollback goes back to replicating, as after this run's
    own preflight failed: the DAG's freeze undone, the migration never canceled, its target kept; a later run cuts
    over with the writes made meanwhile."""
    from test_writes_handed_back import write_to_source

    dag, world, driver = run_of_a_dependent_stopped_after(rehearsal_world, frozen_by, target)
    assert not world.source_writable(), "frozen by this run for its cutover"

    states = driver.clear_held_back("db")

    assert states["db.preflight"] == "upstream_failed" and states["db.freeze_source"] == "upstream_failed", states
    assert states["db.rollback"] == "success" and driver.outcome("db") == "rolled_back", driver.errors
    assert world.source_writable(), "the run ended with its own freeze still holding the source"
    assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"], "the replication is never canceled"
    assert world.target() is not None and world.target()["state"] == "RESTORING", "its target is kept"
    table = write_to_source(world, "written after the held-back rollback")

    later = RunDriver(dag, world.observe)
    later.run_database("db")
    assert later.outcome("db") == "migrated", later.errors
    assert len(world.operations()) == 1, "the same migration, cut over"
    assert world.target()["tables"][table]["rows"][0][1] == "written after the held-back rollback", "a write was lost at cutover"


@pytest.mark.airflow210
@pytest.mark.airflow26  # Airflow 2 reads the preflight's state through `dag_run`, Airflow 3 through the Task SDK
def test_a_database_held_back_after_its_cutover_was_requested_stays_frozen_for_the_run_that_declares_it(rehearsal_world, monkeypatch, tmp_path):
    """As above, but db's cutover was requested before the clear: DMS completes it by itself, so its source is not
    handed back (a writable source beside that target would make it one no run declares): the rollback undoes nothing,
    the source kept frozen, and a run in which base migrates validates db's target and declares it."""
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    dag, world, driver = run_of_a_dependent_stopped_after(rehearsal_world, "cutover")

    states = driver.clear_held_back("db")

    assert_left_under_way(driver, states, tmp_path, "it is finished by DMS by itself into target database Sales on mi-prod "
                          "(kept). Its source stays frozen by this run",
                          "Next: a run in which base migrates validates its target and declares it.")
    assert not world.source_writable(), "handed back beside a target DMS brings online"
    later = RunDriver(dag, world.observe)
    later.run_database("db")
    assert later.outcome("db") == "migrated", later.errors
    assert len(world.operations()) == 1 and world.target()["state"] == "ONLINE"


@pytest.mark.airflow210
@pytest.mark.airflow26  # Airflow 2 reads the preflight's state through `dag_run`, Airflow 3 through the Task SDK
@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"], ids=["SqlMi", "SqlVm"])
def test_an_offline_restore_held_back_before_its_final_backup_is_rolled_back_and_its_source_given_back(rehearsal_world, target, monkeypatch, tmp_path):
    """As above, for an offline restore: this run's freeze_source froze db's source, and its run stopped before the
    final backup, the one DMS was told at the start (`lastBackupName`) and waits for before it finishes. A person
    clears a task of base with its downstream tasks, and it fails again. Was: "never started in this run ... nothing
    to roll back", skipped, and the run ended with its own freeze holding the source while DMS waited for a final
    backup nobody takes (and every run in which base failed again held db back the same way). Now it is rolled back
    as this run's rollback does after any failure before that backup: the migration canceled, the RESTORING target
    it left removed (`target_removal.decide`), the freeze undone; a later run migrates it anew, writes made
    meanwhile included."""
    from test_writes_handed_back import write_to_source

    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    dag, world, driver = run_of_a_dependent_stopped_after(rehearsal_world, "freeze_source", target, mode="offline")
    assert not world.source_writable(), "frozen by this run for its final backup"
    [started] = world.operations()
    assert started["migrationStatus"] == "InProgress"

    states = driver.clear_held_back("db")

    assert states["db.preflight"] == "upstream_failed" and states["db.final_backup"] == "upstream_failed", states
    assert states["db.rollback"] == "success" and driver.outcome("db") == "rolled_back", driver.errors
    assert world.source_writable(), "the run ended with its own freeze still holding the source"
    assert [op["migrationStatus"] for op in world.operations()] == ["Canceled"], "DMS left waiting for a final backup"
    assert world.target() is None, "the RESTORING target of the canceled migration is removed"
    assert not world.online_target_deleted
    [ended] = [row for row in rollback_events(tmp_path) if row["Status"] not in ("Started", "Running")]
    assert ended["Status"] == "RolledBack" and ended["Message"].startswith(
        "db was held back in this run before its final backup (a task upstream of it was cleared with its downstream "
        "tasks, and base did not migrate): its offline migration is rolled back, or this run's freeze of its source "
        "would outlast the run while DMS waits for a final backup no step takes; canceled migration %s; "
        % started["migrationOperationId"]), ended
    assert ended["Message"].endswith("source database Sales writable again"), ended
    table = write_to_source(world, "written after the held-back rollback")

    later = RunDriver(dag, world.observe)
    later.run_database("db")
    assert later.outcome("db") == "migrated", later.errors
    assert [op["migrationStatus"] for op in world.operations()][-1] == "Succeeded"
    assert world.target()["tables"][table]["rows"][0][1] == "written after the held-back rollback", "a write was lost"


@pytest.mark.airflow210
@pytest.mark.airflow26  # Airflow 2 reads the preflight's state through `dag_run`, Airflow 3 through the Task SDK
@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"], ids=["SqlMi", "SqlVm"])
@pytest.mark.parametrize("stopped_after", ["final_backup", "start_migration"], ids=["final-backup-taken", "not-frozen"])
def test_an_offline_restore_held_back_once_given_its_final_backup_is_left_to_finish(rehearsal_world, target, stopped_after, monkeypatch, tmp_path):
    """As above, but db's final backup was taken into the share under the name DMS waits for (`lastBackupName`)
    before the clear: DMS finishes the migration by itself, so the source stays frozen and nothing is canceled (a
    writable source beside a target DMS brings online loses the writes made there), and a run in which base migrates
    validates db's target and declares it. Held back before its freeze (the source writable, nothing of this run
    holding it): the migration left to run, as before."""
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    dag, world, driver = run_of_a_dependent_stopped_after(rehearsal_world, stopped_after, target, mode="offline")
    frozen = stopped_after == "final_backup"
    assert world.source_writable() is not frozen

    states = driver.clear_held_back("db")

    said = ["is finished by DMS by itself", "Its source stays frozen by this run", "validates its target and declares it"]
    assert_left_under_way(driver, states, tmp_path, *(said if frozen else [
        "keeps restoring the source's backups into", "until a final backup. Next: a run in which base migrates goes on with it."]))
    assert world.source_writable() is not frozen, "handed back beside a target DMS brings online" if frozen else "frozen"
    assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"], "never canceled"
    assert world.target() is not None and world.target()["state"] == "RESTORING", "its target is kept"
    later = RunDriver(dag, world.observe)
    later.run_database("db")
    assert later.outcome("db") == "migrated", later.errors
    assert len(world.operations()) == 1 and world.target()["state"] == "ONLINE"


def test_an_offline_restore_held_back_once_given_its_final_backup_dms_has_not_read_yet_is_left_to_finish(rehearsal_world, monkeypatch, tmp_path):
    """As above, DMS not restoring that final backup yet: a routine log backup taken outside the share after the full
    one leaves a gap, and DMS waits for it before the rest (`restoreBlockingReason`). msdb records the final backup
    in the share under the name DMS waits for, so DMS finishes by itself once a person puts the missing backup in
    the share: the source stays frozen, nothing canceled."""
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    dag, world, driver = run_of_a_dependent_stopped_after(rehearsal_world, "freeze_source", mode="offline")
    world.world.take_backup("sql01", "Sales", "LOG", "D:\\routine\\Sales_routine.trn")  # outside the share
    assert driver._run_task(dag.get_task("db.final_backup")) == "success", driver.errors

    states = driver.clear_held_back("db")

    [migration] = world.operations()
    assert migration["migrationStatus"] == "InProgress", migration
    assert migration["lastBackupName"] not in migration["restore"]["restored"] + [migration["restore"]["current"]], (
        "DMS restores the final backup: %s" % migration["restore"])
    assert_left_under_way(driver, states, tmp_path, "is finished by DMS by itself", "Its source stays frozen by this run")
    assert not world.source_writable(), "handed back beside a migration DMS finishes once the gap is filled"


def held_back_while_its_freeze_runs(directory, stopped_after, mode="online"):
    """Through Data Factory: db's run stopped after `stopped_after`, its freeze_source submitted the freeze as a pipeline
    run, and a person's clear (killing the task, not the run) held db back while that run was still in flight. The
    world, the run, and its tasks' states after db's rollback."""
    from migration_orchestration_lib.airflow_compat import AirflowRescheduleException
    from task_driver import _TaskInstance
    from test_freezes_of_earlier_tries import freeze_runs

    dag, world, driver = run_of_a_dependent_stopped_after(directory, stopped_after, airflow_of="fabric_host.json", mode=mode)
    freezing = dag.get_task("db.freeze_source")
    context = {"ti": _TaskInstance(driver.xcom, freezing.task_id, 1, freezing.retries), "run_id": driver.run_id, "task_reschedule_count": 0}
    while not freeze_runs(world, driver, "freeze_source", 1):
        with pytest.raises(AirflowRescheduleException):
            freezing.execute(context)
    assert freeze_runs(world, driver, "freeze_source", 1) in (["Queued"], ["InProgress"]), "still running at the clear"
    return world, driver, driver.clear_held_back("db")


@pytest.mark.airflow210
@pytest.mark.airflow26  # the Data Factory path of the 2.10.5 and 2.6.3 hosts
def test_a_freeze_in_flight_of_a_database_held_back_under_this_runs_freeze_is_awaited_and_undone(rehearsal_world):
    """As above through Data Factory, the person's clear coming while freeze_source's freeze ran as a pipeline run (the
    clear kills the task, not the run): the rollback awaits that freeze before it reads the source, then undoes it.
    Read before it landed, the source was writable, nothing to undo, and the freeze landed after the rollback."""
    from migration_rehearsal.data_factory_server import DataFactoryServer
    from test_freezes_of_earlier_tries import freeze_runs

    world, driver, states = held_back_while_its_freeze_runs(rehearsal_world, "wait_for_migration")
    DataFactoryServer(world.world).advance_all()  # time passes: every pipeline run in flight ends

    assert states["db.rollback"] == "success" and driver.outcome("db") == "rolled_back", driver.errors
    assert freeze_runs(world, driver, "freeze_source", 1) == ["Succeeded"]
    assert world.source_writable(), "frozen by a freeze that landed after the rollback"
    assert not world.source().get("extendedProperties"), "no freeze marker left"
    assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"], "the replication is never canceled"


@pytest.mark.airflow210
@pytest.mark.airflow26  # the Data Factory path of the 2.10.5 and 2.6.3 hosts
def test_a_freeze_in_flight_of_an_offline_restore_held_back_is_awaited_and_rolled_back(rehearsal_world, monkeypatch, tmp_path):
    """The offline case above through Data Factory, the clear coming while freeze_source's freeze ran as a pipeline run:
    the rollback awaits it, then rolls the migration back across its pokes (its unfreeze a pipeline run too: each later
    poke goes on with what the first began, not taking the canceled migration for one this run never worked on)."""
    from test_freezes_of_earlier_tries import freeze_runs

    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    world, driver, states = held_back_while_its_freeze_runs(rehearsal_world, "start_migration", mode="offline")

    assert states["db.rollback"] == "success" and driver.outcome("db") == "rolled_back", driver.errors
    assert freeze_runs(world, driver, "freeze_source", 1) == ["Succeeded"]
    assert world.source_writable(), "frozen by a freeze that landed while DMS waited for a final backup"
    assert not world.source().get("extendedProperties"), "no freeze marker left"
    assert [op["migrationStatus"] for op in world.operations()] == ["Canceled"]
    assert world.target() is None, "the RESTORING target of the canceled migration is removed"
    events = rollback_events(tmp_path)
    assert len([row for row in events if row["Status"] == "Running"]) > 1, "one poke did it all: %s" % events
    [ended] = [row for row in events if row["Status"] not in ("Started", "Running")]
    assert ended["Status"] == "RolledBack" and ended["Message"].startswith(
        "db was held back in this run before its final backup"), ended
    assert "canceled migration" in ended["Message"] and ended["Message"].endswith("source database Sales writable again"), ended


@pytest.mark.airflow210
@pytest.mark.airflow26  # the Data Factory path of the 2.10.5 and 2.6.3 hosts
def test_a_final_backup_in_flight_of_an_offline_restore_held_back_is_awaited_and_left_to_finish(rehearsal_world, monkeypatch, tmp_path):
    """Through Data Factory, the clear coming while final_backup's BACKUP LOG ran as a pipeline run: the rollback awaits
    it before it reads whether the final backup was taken, and then leaves the migration to DMS, which finishes it
    with that backup: the source kept frozen, nothing canceled. Read before it landed, the backup was not taken yet:
    the migration canceled and the source handed back while the final backup landed in the share."""
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    from migration_orchestration_lib.airflow_compat import AirflowRescheduleException
    from migration_orchestration_lib.database_sql import final_backup_key
    from migration_rehearsal.data_factory_server import RUNS, DataFactoryServer
    from task_driver import _TaskInstance

    dag, world, driver = run_of_a_dependent_stopped_after(rehearsal_world, "freeze_source", airflow_of="fabric_host.json", mode="offline")
    [migration] = world.operations()
    key = final_backup_key(migration["migrationOperationId"], migration["lastBackupName"])

    def backup_runs():
        return [r["status"] for r in world.world.snapshot().get(RUNS, {}).values() if r["parameters"]["operationKey"].startswith(key)]

    backing_up = dag.get_task("db.final_backup")
    context = {"ti": _TaskInstance(driver.xcom, backing_up.task_id, 1, backing_up.retries), "run_id": driver.run_id, "task_reschedule_count": 0}
    while not backup_runs():
        with pytest.raises(AirflowRescheduleException):
            backing_up.execute(context)
    assert backup_runs() in (["Queued"], ["InProgress"]), "still running at the clear"
    observe, pokes = driver.observe, []

    def the_backup_lands_at_the_third_poke(task_id):  # nobody polls it: it ends once time passes
        observe(task_id)
        pokes.append(task_id)
        if pokes.count("db.rollback") == 3:
            DataFactoryServer(world.world).advance_all()

    driver.observe = the_backup_lands_at_the_third_poke
    states = driver.clear_held_back("db")

    assert_left_under_way(driver, states, tmp_path, "is finished by DMS by itself", "Its source stays frozen by this run")
    assert pokes.count("db.rollback") > 3, "awaited: %s" % pokes
    assert backup_runs() == ["Succeeded"]
    assert not world.source_writable(), "handed back beside a migration DMS finishes with that backup"
    assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"], "never canceled"


@pytest.mark.parametrize("this_try, reported", [
    ("source made writable", "rolled back: db; not started (a dependency failed or waits): -; rollback failed or incomplete: -"),
    ("DMS unreadable", "rolled back: -; not started (a dependency failed or waits): -; rollback failed or incomplete: db"),
], ids=["source_made_writable", "dms_unreadable"])
def test_run_outcome_reports_the_latest_try_of_a_run_cleared_from_validate_not_the_earlier_tries_migrated(
        rehearsal_world, this_try, reported):
    """db migrated (done pushed `migrated`); then a person clears the run from db's `validate` with its downstream
    tasks, and `validate` fails this time: the source was made writable since (its target may lack writes), or DMS
    refuses every read. `done` ends upstream_failed without running, its `migrated` of the earlier try still there
    (Airflow clears a task's XComs only when it runs again), and the rollback runs: it rolls back, or fails for a
    person. Was: `run_outcome` read done's earlier `migrated` first and the run succeeded, hiding the rollback."""
    from migration_rehearsal.world import World

    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", target="db-prod")]))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world.observe)
    assert driver.run_database("db")["db.done"] == "success" and driver.run_outcome() == "success", driver.errors
    if this_try == "source made writable":
        World(str(rehearsal_world)).update_database("sql01", "Sales", readOnly=False)
    else:
        World(str(rehearsal_world)).add_fault("get", "error", count=100, status=400, code="BadRequest", message="refused")

    states = driver.clear_database("db", "validate")

    assert states["db.validate"] == "failed" and states["db.done"] == "upstream_failed", driver.errors
    assert driver.xcom[("db.done", "outcome")] == "migrated", "the earlier try's XCom"
    assert states["db.rollback"] == ("success" if this_try == "source made writable" else "failed"), driver.errors
    assert driver.run_outcome() == "failed"
    assert driver.errors["run_outcome"] == "migration run failed: 1 of 1 database(s) not migrated. %s; migrated: -; " \
        "waiting for the next cutover window (replicating): -" % reported


def migrated_then_dms_reads_it_ended(rehearsal_world, target, later_migration, status="Failed", mode="online"):
    """A first run migrates Sales (declared); then DMS's latest migration into the target reads Failed (`status`):
    that very one, or (`later_migration`) a later one of the source. The world, the DAG and the first run's operation
    id."""
    import uuid

    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode=mode, target=target)]))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    first = RunDriver(dag, world.observe)
    first.run_database("db")
    assert first.outcome("db") == "migrated" and not world.source_writable(), first.errors
    with world.world.transaction() as state:
        [record] = [record for key, record in state["databaseMigrations"].items() if key.endswith("/sales")]
        if later_migration:
            record["operations"].append(dict(record["operations"][-1], migrationOperationId=str(uuid.uuid4())))
        record["operations"][-1]["migrationStatus"] = status
    return world, dag, first.xcom[("db.start_migration", "return_value")]


@pytest.mark.parametrize("latest", ["the declared migration reads Failed", "a later migration of the source failed"])
def test_a_target_declared_migrated_keeps_its_source_frozen_whatever_dms_reports_of_it_after(rehearsal_world, latest):
    """A run declared the migration migrated (applications write to the target, the source stays frozen). Then DMS's
    latest migration into the target reads ended: that very migration reported Failed (DMS's statuses in any order),
    or a person started the source's migration again through the plan's service and DMS failed it over the ONLINE
    database. Was: the next run's rollback took the target for one no migration of this plan had gone live into and
    made the source writable beside it, splitting the writes. Now the handoff by target keeps the source frozen, for
    a person."""
    world, dag, declared = migrated_then_dms_reads_it_ended(rehearsal_world, "mi-prod", latest == "a later migration of the source failed")

    later = RunDriver(dag, world.observe)
    states = later.run_database("db")

    assert states["db.rollback"] == "failed", later.errors
    assert "declared migration %s" % declared in later.errors["db.rollback"], later.errors
    assert not world.source_writable(), "a writable source beside the target declared migrated splits the writes"
    assert world.target()["state"] == "ONLINE" and not world.online_target_deleted


@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_a_target_declared_migrated_is_never_removed_while_it_is_not_online(rehearsal_world, target):
    """A run declared the migration migrated; later a person started the source's migration again through the plan's
    service, which DMS failed over the live database, while that database was not ONLINE (a DBA took it OFFLINE; a
    managed instance's reads it Offline, or Inaccessible with its TDE key out of reach). Was: the next run's rollback
    took it for what the failed migration left, not ONLINE, and deleted it, with the writes applications made there.
    Now the handoff by target keeps it, and the source frozen."""
    world, dag, _ = migrated_then_dms_reads_it_ended(rehearsal_world, target, later_migration=True)
    world.world.update_database(world.target_server, "Sales", state="OFFLINE")

    later = RunDriver(dag, world.observe)
    states = later.run_database("db")

    assert world.target() is not None, "the target declared migrated was removed: %s" % later.errors
    assert states["db.rollback"] == "failed" and not world.source_writable(), later.errors
    assert "was declared migrated" in later.errors["db.preflight"], "not: the rollback cleans up (%s)" % later.errors


@pytest.mark.parametrize("target", ["mi-prod", "db-prod"])
def test_a_later_migration_in_flight_into_a_target_declared_migrated_is_never_adopted(rehearsal_world, target):
    """A run declared the migration migrated (applications write to the target); then a person started the source's
    migration again through the plan's service, into that same target, and DMS still runs it. Was: the next run's
    preflight passed, start_migration adopted that migration and the run cut it over, validated and declared it (a
    SqlDb copy over the rows applications wrote). Now preflight refuses the declared target, and the rollback keeps
    it and the source frozen."""
    mode = "offline" if target == "db-prod" else "online"
    world, dag, _ = migrated_then_dms_reads_it_ended(rehearsal_world, target, True, status="InProgress", mode=mode)

    later = RunDriver(dag, world.observe)
    states = later.run_database("db")

    assert states["db.preflight"] == "failed" and "was declared migrated" in later.errors["db.preflight"], later.errors
    assert states["db.rollback"] == "failed" and not world.source_writable(), later.errors
    assert world.target() is not None and not world.online_target_deleted


@pytest.mark.parametrize("access", ["direct", "dataFactory"])
def test_a_source_hidden_from_the_login_after_the_freeze_is_kept_frozen_and_named_not_reported_rolled_back(rehearsal_world, access):
    """The source server is hardened mid-run, after freeze_source: VIEW ANY DATABASE revoked from public and the DAG's
    source login left with rights in the source database alone, so master's sys.databases shows it no row of the
    frozen source (Microsoft, sys.databases, Permissions). Before, final_backup called it missing, and the rollback read
    it absent: nothing to unfreeze, "success", the source left READ_ONLY behind a rollback that said it undid the run,
    its freeze record kept for no one. The final backup and the rollback now name the login and the grant; the
    rollback leaves the source frozen and fails for a person. Granted, the rollback cleared undoes the freeze."""
    from migration_orchestration_lib.rehearsal import REHEARSAL_LOGIN

    document = plan_with_databases([database_entry("db", "Sales", mode="offline")])
    if access == "dataFactory":  # the source's batches as Lookups through the self-hosted runtime
        document["airflow"] = load_plan_document("fabric_host.json")["airflow"]
    plan = parse_plan(document)
    world = WorldView(rehearsal_world, plan.database("db"), plan)

    def harden_after_the_freeze(task_id):
        world.observe(task_id)
        if task_id == "db.freeze_source" and world.source()["readOnly"]:  # after each poke: through Data Factory, once it landed
            world.world.revoke_view_any_database_from_public("sql01")
            world.world.set_login("sql01", REHEARSAL_LOGIN, [], {"Sales": ["CONTROL"]})

    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), harden_after_the_freeze)
    states = driver.run_database("db")

    grant = "GRANT VIEW ANY DATABASE TO [%s]" % REHEARSAL_LOGIN
    assert states["db.freeze_source"] == "success" and states["db.final_backup"] == "failed", driver.errors
    assert states["db.rollback"] == "failed", "a rollback that could not see the source reported success"
    assert "source database Sales on sql01: master's sys.databases there shows login" in driver.errors["db.final_backup"]
    message = driver.errors["db.rollback"]
    assert "source database Sales left as it is (frozen, where the DAG froze it)" in message and grant in message, message
    assert not world.source_writable() and world.source()["readOnly"]

    world.world.set_login("sql01", REHEARSAL_LOGIN, ["VIEW ANY DATABASE"], {"Sales": ["CONTROL"]})
    assert driver.clear_task("db", "rollback") == "success", driver.errors
    assert world.source_writable(), "granted, the rollback undoes the DAG's freeze"


@pytest.mark.parametrize("frozen", [True, False], ids=["source-frozen", "writes-allowed-during-copy"])
def test_a_sqldb_copy_held_back_is_left_to_finish_and_said_so(rehearsal_world, monkeypatch, tmp_path, frozen):
    """A SqlDb copy held back by the same clear once start_migration had started it: DMS copies on and finishes it by
    itself, so nothing is canceled and a source the DAG froze for the copy stays frozen (writable beside the copy, it
    would lose the writes made since); the rollback says so, and a run in which base migrates validates the copy and
    declares it. Was: skipped, "never started in this run", though the run had frozen its source."""
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    document = plan_with_databases([database_entry("base", "Base"), database_entry(
        "db", "Sales", mode="offline", target="db-prod", depends_on=["base"], allowSourceWritesDuringCopy=not frozen)])
    plan = parse_plan(document)
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    driver = RunDriver(dag, world.observe)
    with pytest.raises(WorkerCrashed):
        driver.run_database("db", crash_after="start_migration")
    assert world.source_writable() is not frozen

    states = driver.clear_held_back("db")

    assert_left_under_way(driver, states, tmp_path, "it keeps copying into target database Sales on db-prod (kept).",
                          "Next: a run in which base migrates goes on with it.",
                          *(["Its source stays frozen by this run"] if frozen else []))
    assert world.source_writable() is not frozen
    assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"], "never canceled"
    later = RunDriver(dag, world.observe)
    later.run_database("db")
    assert later.outcome("db") == "migrated", later.errors
    assert len(world.operations()) == 1


def test_a_database_a_run_declared_migrated_and_held_back_in_a_later_run_is_not_said_under_way(rehearsal_world, monkeypatch, tmp_path):
    """db migrated and declared in one run; in the next, its preflight began on it (its record of the current run names
    that run) and the same clear held it back: DMS still reports its migration Succeeded, which no step of that run
    started or leaves to finish: the rollback skips as for a database the run never worked on."""
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    document = plan_with_databases([database_entry("base", "Base"), database_entry("db", "Sales", depends_on=["base"])])
    plan = parse_plan(document)
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    first = RunDriver(dag, world.observe)
    first.run_database("db")
    assert first.outcome("db") == "migrated", first.errors
    second = RunDriver(dag, world.observe)
    with pytest.raises(WorkerCrashed):
        second.run_database("db", crash_after="preflight")

    states = second.clear_held_back("db")

    assert states["db.rollback"] == "skipped" and second.outcome("db") == "not_started", second.errors
    assert [row["Status"] for row in rollback_events(tmp_path)] == []


@pytest.mark.parametrize("target, stopped_after, airflow_of", [
    ("mi-prod", "final_backup", None), ("db-prod", "start_migration", None), ("mi-prod", "final_backup", "fabric_host.json"),
], ids=["SqlMi", "SqlDb", "SqlMi-through-Data-Factory"])
def test_a_database_held_back_after_its_migration_ended_under_this_runs_freeze_is_rolled_back(
        rehearsal_world, monkeypatch, tmp_path, target, stopped_after, airflow_of):
    """db's run stopped with its source frozen by this run (a managed instance's after its final backup, for the
    cutover; a SqlDb copy's once started, its freeze before DMS's create), and a person canceled the migration before
    the same clear held db back: no migration runs, and this run's freeze holds the source. Was: skipped, "never
    started in this run", the source left frozen by this run after it ended (and a managed instance's canceled
    restore's RESTORING target left). Now it is rolled back as after any failure (said first): the freeze undone, the
    target removed as "What rollback may delete" allows (a SqlDb target, which existed before, kept), and a later run
    migrates it. Through Data Factory its reads and its unfreeze are pipeline runs across pokes."""
    from migration_orchestration_lib.dms_gateway import MigrationTarget
    from migration_orchestration_lib.rehearsal import rehearsal_services

    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    dag, world, driver = run_of_a_dependent_stopped_after(rehearsal_world, stopped_after, target, airflow_of=airflow_of,
                                                          mode="offline" if target == "db-prod" else "online")
    [migration] = world.operations()
    plan = dag.get_task("db.rollback").plan
    rehearsal_services(plan).dms.cancel(MigrationTarget.of(plan, plan.database("db")), migration["migrationOperationId"])
    assert not world.source_writable()

    states = driver.clear_held_back("db")

    assert states["db.rollback"] == "success" and driver.outcome("db") == "rolled_back", driver.errors
    assert world.source_writable(), "left frozen by this run's freeze"
    if target == "mi-prod":
        assert world.target() is None, "the canceled migration's RESTORING target is left"
    else:
        assert world.target() is not None, "a SqlDb target existed before: never removed"
    events = rollback_events(tmp_path)
    if airflow_of:
        assert len([row for row in events if row["Status"] == "Running"]) > 1, "one poke did it all: %s" % events
    [ended] = [row for row in events if row["Status"] not in ("Started", "Running")]
    assert ended["Status"] == "RolledBack" and ended["Message"].startswith(
        "db was held back in this run with its source frozen by this run and no migration running"), ended
    later = RunDriver(dag, world.observe)
    later.run_database("db")
    assert later.outcome("db") == "migrated", later.errors
