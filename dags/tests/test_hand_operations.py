"""What a person does by hand in the Airflow UI or CLI (`task_driver` on the rehearsal world).

"Mark Success" on a task sets its state to success without running it: no XCom, no side effect, and the
tasks after it run. A later step must not act on a premise the marked task was supposed to establish: it
checks the world (DMS, SQL) or the XCom the real step would have pushed, and refuses where it is missing.
Before, a `final_backup` after a `freeze_source` marked success backed up a writable source and DMS went
live on it without the writes made after it; a `done` after a `validate` marked success declared a target
that failed validation migrated; and after a `preflight` marked success the steps went on and a failure's
rollback skipped itself ("never started in this run"), leaving the source frozen and the database
reported "not started"; and the wait after a `cutover` (or an offline `final_backup`) marked success held
the source frozen until the deadline.
"""
from __future__ import annotations

import pytest

from migration_orchestration_lib.airflow_compat import AirflowRescheduleException
from migration_orchestration_lib.handoffs import handoff_key
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE, FileRecords
from task_driver import RunDriver, WorkerCrashed
from test_overtaken_freezes import setup  # one database `db` (Sales), seeded world; access direct or dataFactory
from test_writes_handed_back import write_to_source


class HandDriver(RunDriver):
    """A run in which a person marked `marked` (task names of the database's chain) success before they ran."""

    def __init__(self, dag, observe, marked=()):
        super().__init__(dag, observe)
        self.marked = set(marked)

    def _run_task(self, task):
        if task.task_id.split(".", 1)[1] in self.marked:
            return "success"  # never ran: no XCom pushed, nothing done
        return super()._run_task(task)


def statuses(world):
    return [operation["migrationStatus"] for operation in world.operations()]


@pytest.mark.parametrize("access", ["direct", "dataFactory"])
@pytest.mark.parametrize("mode", ["online", "offline"])
def test_a_final_backup_after_a_freeze_marked_success_refuses_a_writable_source(rehearsal_world, mode, access):
    """freeze_source stuck (waiting for a place under maxConcurrent, say) and marked success: was, final_backup
    backed up the writable source and DMS went live on it (online: cutover; offline: its lastBackupName), without
    the writes made after that backup."""
    dag, world = setup(rehearsal_world, access, mode=mode)
    driver = HandDriver(dag, world.observe, marked={"freeze_source"})
    states = driver.run_database("db")

    assert states["db.final_backup"] == "failed", states
    assert "not frozen" in driver.errors["db.final_backup"], driver.errors
    assert not [s for s in statuses(world) if s in ("Completing", "Succeeded")], "DMS went live on a writable source"
    assert states["db.rollback"] == "success" and world.source_writable(), driver.errors
    assert not world.online_target_deleted


def test_done_declares_nothing_after_a_validate_marked_success(rehearsal_world, monkeypatch):
    """validate failed on a mismatch (or hung) and a person marked it success: was, done declared the target
    migrated (the handoff record: applications move to it) though it lacks what validation found missing."""
    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")
    dag, world = setup(rehearsal_world, "direct", mode="online")
    driver = HandDriver(dag, world.observe, marked={"validate"})
    states = driver.run_database("db")

    [operation] = world.operations()
    assert not FileRecords(str(rehearsal_world), RECORDS_FILE).get(handoff_key(operation["migrationOperationId"])), "declared migrated"
    assert states["db.done"] == "failed" and "validate" in driver.errors["db.done"], driver.errors
    assert driver.outcome("db") == "rolled_back", driver.errors
    assert world.source_writable(), "not declared: the source is authoritative again"
    assert world.target()["state"] == "ONLINE" and not world.online_target_deleted, "it went live in DMS: kept"


PREFLIGHT_MARKED = {  # the plan's target, the tasks marked success, the first task that would act
    "SqlMi": ("mi-prod", {"preflight"}, "start_migration"),
    "SqlDb": ("db-prod", {"preflight"}, "start_migration"),
    # an earlier run's migration replicating (its worker died): start_migration marked too, to adopt it
    "SqlMi-adopting": ("mi-prod", {"preflight", "start_migration"}, "freeze_source"),
}


@pytest.mark.parametrize("case", sorted(PREFLIGHT_MARKED))
def test_nothing_goes_on_after_a_preflight_marked_success(rehearsal_world, monkeypatch, case):
    """preflight refused (or hung) and a person marked it success: was, the steps went on without its checks and
    deadline, and when one failed later (here validation) the rollback skipped itself ("never started in this
    run": it looks for preflight's XCom), leaving the source frozen beside the migration, reported "not started"."""
    target, marked, refusing = PREFLIGHT_MARKED[case]
    dag, world = setup(rehearsal_world, "direct", target=target)
    if "start_migration" in marked:
        with pytest.raises(WorkerCrashed):
            RunDriver(dag, world.observe).run_database("db", crash_after="wait_for_migration")
    before = statuses(world)
    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")
    driver = HandDriver(dag, world.observe, marked=marked)
    states = driver.run_database("db")

    assert world.source_writable() or states["db.rollback"] == "failed", "the source left frozen, nobody told"
    assert states["db." + refusing] == "failed" and "preflight" in driver.errors["db." + refusing], driver.errors
    assert statuses(world) == before, "nothing started, canceled or cut over without this run's preflight"


def test_done_declares_nothing_once_a_rollback_handed_the_source_back(rehearsal_world):
    """A person marks a running validate failed (a slow comparison): its rollback reads no validate result yet
    and hands the database back to the source, which applications write to again; the attempt, still running,
    then records that it passed. A person clears done alone: was, done declared the target migrated beside a
    writable source holding writes it lacks (two writable copies)."""
    dag, world = setup(rehearsal_world, "direct", mode="online")
    run = RunDriver(dag, world.observe)
    with pytest.raises(WorkerCrashed):
        run.run_database("db", crash_after="validate")
    passed = run.xcom.pop(("db.validate", "return_value"))  # not there yet when the rollback reads it
    assert run._run_task(dag.get_task("db.rollback")) == "success", run.errors
    assert world.source_writable(), "handed back, as after a failed validation"
    run.xcom[("db.validate", "return_value")] = passed  # the marked-failed attempt's result lands
    table = write_to_source(world, "written after the rollback")

    assert run._run_task(dag.get_task("db.done")) == "failed"
    assert "made writable again" in run.errors["db.done"], run.errors
    [operation] = world.operations()
    assert not FileRecords(str(rehearsal_world), RECORDS_FILE).get(handoff_key(operation["migrationOperationId"])), "declared migrated"
    assert world.target()["tables"][table]["rows"][0][1] != "written after the rollback" and world.source_writable()


def test_a_cutover_after_a_final_backup_marked_success_refuses_and_a_freeze_before_dms_caught_up_loses_nothing(rehearsal_world):
    """Already safe, and why: cutover waits for the final backup by its name (the freeze's token in it), which a
    final_backup marked success never took, so DMS is never asked to complete; and a wait_for_migration marked
    success only freezes the source before DMS caught up: final_backup then waits until DMS restored its file."""
    dag, world = setup(rehearsal_world, "direct", mode="online")
    driver = HandDriver(dag, world.observe, marked={"final_backup"})
    states = driver.run_database("db")
    assert states["db.cutover"] == "failed" and "not restored" in driver.errors["db.cutover"], driver.errors
    assert statuses(world) == ["Canceled"] and world.source_writable()

    again = HandDriver(dag, world.observe, marked={"wait_for_migration"})
    again.run_database("db")
    assert again.outcome("db") == "migrated", again.errors


@pytest.mark.parametrize("mode, marked, waiting", [("online", "cutover", "wait_for_completion"), ("offline", "final_backup", "wait_for_migration")])
def test_a_wait_for_dms_to_finish_what_was_never_asked_fails_at_once(rehearsal_world, mode, marked, waiting):
    """cutover (online) or final_backup (offline) marked success: DMS was never asked to finish. Was, the wait after
    it waited out timeoutMinutes (hours), the source frozen all along, before its rollback made it writable."""
    dag, world = setup(rehearsal_world, "direct", mode=mode)
    driver = HandDriver(dag, world.observe, marked={marked})
    states = driver.run_database("db")

    assert states["db." + waiting] == "failed" and "did not run in this run" in driver.errors["db." + waiting], driver.errors
    assert states["db.rollback"] == "success" and world.source_writable(), driver.errors


@pytest.mark.parametrize("task, before, entry", [("freeze_source", "wait_for_migration", dict(mode="online")),
                                                  ("start_migration", "preflight", dict(target="db-prod"))],
                         ids=["freeze_source", "start_migration-SqlDb"])
def test_a_freeze_still_in_flight_when_a_person_marks_its_task_failed_is_undone_by_the_rollback(rehearsal_world, task, before, entry):
    """Through Data Factory a freezing step submits its freeze as a pipeline run and waits for it across pokes. A
    person marks the waiting task failed (or success: the next step fails): no attempt of it pokes again, and was,
    the rollback read the source still writable, cleared the record, and the freeze landed after it: the source
    frozen with nobody to undo it, no event saying so (the freeze's Succeeded or Started was never written)."""
    from migration_rehearsal.data_factory_server import DataFactoryServer
    from test_freezes_of_earlier_tries import try_1_submits_its_freeze_and_its_worker_is_lost

    # its freeze submitted, a person marks the task failed (a lost worker leaves the same)
    dag, world, run, _ = try_1_submits_its_freeze_and_its_worker_is_lost(rehearsal_world, task, before, entry)

    assert run._run_task(dag.get_task("db.rollback")) == "success", run.errors
    DataFactoryServer(world.world).advance_all()  # time passes: every pipeline run in flight ends

    assert world.source_writable(), "was: frozen by a freeze that landed after the rollback"
    assert not world.source().get("extendedProperties"), "no freeze marker left"


GATED = {  # a Saturday-night window (the rehearsal's clock starts on a weekday) and an approval nobody gave
    "online": dict(mode="online", cutover={
        "windows": [{"timeZone": "Europe/Berlin", "days": ["Sat"], "start": "22:00", "durationMinutes": 360}],
        "expectedMinutes": 30,
        "approval": {"required": True, "approvers": ["alice@contoso.com"], "channel": "airflowVariable"},
    }),
    "SqlDb": dict(target="db-prod", cutover={
        "windows": [{"timeZone": "Europe/Berlin", "days": ["Sat"], "start": "22:00", "durationMinutes": 360}],
        "expectedMinutes": 30,
        "approval": {"required": True, "approvers": ["alice@contoso.com"], "channel": "airflowVariable"},
    }),
}


@pytest.mark.parametrize("case", sorted(GATED))
def test_nothing_freezes_after_an_await_cutover_marked_success(rehearsal_world, case):
    """await_cutover waits for the window and the approval (days, perhaps) and a person marks it success: was, the
    freeze began at once, outside any window and unapproved, and the source's downtime with it. Now the freezing
    step refuses and the database goes back to replicating, as after a missed window."""
    dag, world = setup(rehearsal_world, "direct", **GATED[case])
    driver = HandDriver(dag, world.observe, marked={"await_cutover"})
    states = driver.run_database("db")

    freezing = "db.start_migration" if case == "SqlDb" else "db.freeze_source"
    assert states[freezing] == "failed" and "await_cutover" in driver.errors[freezing], driver.errors
    assert world.source_writable(), "frozen outside any window, unapproved"
    assert not [s for s in statuses(world) if s in ("Completing", "Succeeded", "Canceled")], statuses(world)
    assert states["db.rollback"] == "success" and driver.outcome("db") == "waiting", driver.errors


@pytest.mark.parametrize("entry", [dict(mode="offline"), dict(target="db-prod")], ids=["offline", "SqlDb"])
def test_validate_waits_for_dms_to_finish_after_its_wait_was_marked_success(rehearsal_world, entry):
    """wait_for_migration marked success while DMS still restores the final backup it was told of (or still copies
    the tables): was, validate failed at once, and the rollback canceled a migration that was finishing by itself
    (its source frozen all along, for nothing). Now validate waits for DMS itself. (Online, the cutover step awaits
    the completion DMS reports, so a wait_for_completion marked success is not met with the migration completing.)"""
    dag, world = setup(rehearsal_world, "direct", **entry)
    driver = HandDriver(dag, world.observe, marked={"wait_for_migration"})
    states = driver.run_database("db")

    assert states["db.validate"] == "success", driver.errors
    assert driver.outcome("db") == "migrated" and statuses(world) == ["Succeeded"], driver.errors
    assert not world.source_writable(), "a migrated database's source stays frozen"


@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
@pytest.mark.parametrize("waiting", ["final_backup", "wait_for_completion"])
def test_a_wait_with_the_source_frozen_marked_failed_rolls_back_and_hands_the_source_back_never_declaring(
        rehearsal_world, waiting, target):
    """The source-frozen-too-long row's "to stop now, mark the waiting task failed": its rollback runs as after any
    failure and makes the source writable again. `final_backup` (DMS restoring the final backup): the migration
    canceled and its RESTORING target removed. `wait_for_completion` (the cutover asked, DMS completing): the target
    going live is kept, never removed, the source writable beside it as the cutover row says (nothing declared it
    migrated: applications stay on the source), and the next run compares and declares nothing."""
    dag, world = setup(rehearsal_world, "direct", mode="online", target=target)
    run = RunDriver(dag, world.observe)
    with pytest.raises(WorkerCrashed):  # only to step in between two tasks of the run
        run.run_database("db", crash_after={"final_backup": "freeze_source", "wait_for_completion": "cutover"}[waiting])
    assert not world.source_writable()
    if waiting == "final_backup":  # it took the backup and waits for DMS to restore it
        with pytest.raises(AirflowRescheduleException):
            run.poke("db.final_backup")
    run.states["db." + waiting] = "failed"  # a person marks it failed while it waits: no poke of it again

    assert run._run_task(dag.get_task("db.rollback")) == "success", run.errors
    assert world.source_writable() and run.outcome("db") == "rolled_back", run.errors
    if waiting == "final_backup":
        assert any("_final_" in backup["fileName"] for backup in world.world.backups("sql01", "Sales"))
        assert statuses(world) == ["Canceled"] and world.target() is None
        return
    assert statuses(world) == ["Succeeded"] and world.target()["state"] == "ONLINE", "a target gone live is kept"
    assert not world.online_target_deleted

    again = RunDriver(dag, world.observe)
    states = again.run_database("db")
    assert states["db.freeze_source"] == "failed" and "neither compared nor declared migrated" in again.errors["db.freeze_source"], again.errors
    assert again.outcome("db") != "migrated" and world.source_writable(), "the source, with its writes, stays the applications'"


@pytest.mark.parametrize("mode, marked, refusing", [("online", "freeze_source", "final_backup"),
                                                    ("offline", "final_backup", "wait_for_migration")])
@pytest.mark.parametrize("goes_on", ["cleared", "triggered again"])
def test_after_a_refusal_for_a_step_marked_success_the_run_cleared_from_preflight_or_a_new_run_migrates(
        rehearsal_world, mode, marked, refusing, goes_on):
    """The migration-failed row's "marked success by hand?" and what follows it, lived through: the step after the
    marked one refuses and the rollback cancels the migration and hands the source back. Cleared: the marked step
    cleared with its downstream tasks fails again, doing nothing (its run's rollback has run), and the run cleared
    from the database's `preflight` with its downstream tasks migrates; or the DAG triggered again migrates. Either
    way with a new migration, and a write made after the refusal reaches the target."""
    dag, world = setup(rehearsal_world, "direct", mode=mode)
    driver = HandDriver(dag, world.observe, marked={marked})
    states = driver.run_database("db")
    assert states["db." + refusing] == "failed" and "marked success by hand?" in driver.errors["db." + refusing]
    assert states["db.rollback"] == "success" and statuses(world) == ["Canceled"] and world.source_writable()
    table = write_to_source(world, "written after the refusal")

    if goes_on == "cleared":
        driver.marked = set()  # the person now clears, never marks
        assert driver.clear_database("db", from_task=marked)["db." + marked] == "failed", driver.errors
        cleared = driver.errors["db." + marked]  # neither says a cause that did not happen: it was cleared
        assert "db.preflight with its downstream tasks" in cleared and "or trigger a new DAG run" in cleared, cleared
        assert "which Airflow failed while it ran" not in cleared, "was: said of a step a person cleared"
        assert statuses(world) == ["Canceled"] and world.source_writable()
        driver.clear_database("db")
        run = driver
    else:
        run = RunDriver(dag, world.observe)
        run.run_database("db")
    assert run.outcome("db") == "migrated", run.errors
    assert statuses(world) == ["Canceled", "Succeeded"]
    assert world.target()["tables"][table]["rows"][0][1] == "written after the refusal"
