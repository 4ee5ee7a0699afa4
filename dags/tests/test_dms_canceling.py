"""DMS's `Canceling`: neither failed nor running. A cancel's operation may end while the migration still reads
Canceling (Stop-AzDataMigrationToSqlManagedInstance's example), DMS may still restore into the target then, and it
refuses to delete the migration (`DeleteMigrationNotAllowedCancelInProgress`). So the rollback waits until DMS
reports it Canceled before it removes the target or hands the source back, at most timeoutMinutes; preflight and
start_migration start nothing meanwhile. The DMS contract server's `stillCanceling` fault stands in for a slow
cancel, task by task (`task_driver`) on the rehearsal world."""
from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib import operators, rehearsal
from migration_orchestration_lib.airflow_compat import utc_now
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.dms_gateway import MigrationTarget
from migration_orchestration_lib.plan import parse_plan
from task_driver import RunDriver, WorkerCrashed
from test_rehearsal import events  # noqa: F401 (the fixture)
from world_view import WorldView


class CancelWatch(WorldView):
    """Also records, after every poke of the rollback, the migration's status, whether the target is there and
    whether the source is writable."""

    def __init__(self, directory, plan):
        super().__init__(directory, plan.database("db"), plan)
        self.rollback_pokes = []

    def observe(self, task_id):
        super().observe(task_id)
        if task_id == "db.rollback":
            statuses = [op["migrationStatus"] for op in self.operations()]
            self.rollback_pokes.append((statuses[-1] if statuses else None, self.target() is not None, self.source_writable()))

    def while_canceling(self):
        return [(target, writable) for status, target, writable in self.rollback_pokes if status == "Canceling"]


def refused_cutover_run(rehearsal_world, target, canceling_reads):
    """An online migration whose cutover DMS refuses for good, the source frozen and the final backup restored:
    its rollback cancels it, and DMS goes on reporting it Canceling for `canceling_reads` reads."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online", target=target)]))
    watch = CancelWatch(rehearsal_world, plan)
    watch.world.add_fault("cancel", "stillCanceling", count=canceling_reads, database="Sales")
    refuse_the_cutover = watch.fault_after(
        "db.final_backup", "cutover", "error", count=20, status=400, code="BadRequest", message="cutover refused")
    return watch, RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), refuse_the_cutover)


def fail_the_last_arm_operation(watch, while_status):
    """The Sales migration's `provisioningState` reads Failed where DMS reports it `while_status`."""
    with watch.world.transaction() as state:
        for key, record in state["databaseMigrations"].items():
            latest = record["operations"][-1]
            if key.endswith("/sales") and latest["migrationStatus"] == while_status:
                latest["provisioningState"] = "Failed"


@pytest.mark.airflow26  # also through the REST transport on Python 3.8
@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_the_rollback_waits_while_dms_is_still_canceling_then_removes_the_target(rehearsal_world, target):
    """Before: Canceling read as canceled, and the RESTORING target DMS may still restore into was removed (and
    the source made writable) at once."""
    watch, driver = refused_cutover_run(rehearsal_world, target, canceling_reads=4)

    states = driver.run_database("db")

    assert states["db.cutover"] == "failed" and states["db.rollback"] == "success", driver.errors
    assert watch.while_canceling(), "the rollback never saw DMS still canceling: %s" % watch.rollback_pokes
    assert all(target_there and not writable for target_there, writable in watch.while_canceling()), (
        "removed or unfrozen while DMS was still canceling: %s" % watch.rollback_pokes)
    assert [op["migrationStatus"] for op in watch.operations()] == ["Canceled"]
    assert watch.target() is None, "the RESTORING target of the canceled migration is removed once it is Canceled"
    assert watch.source_writable() and driver.outcome("db") == "rolled_back"


def test_a_canceling_migration_whose_last_arm_operation_failed_is_still_waited_for(rehearsal_world):
    """provisioningState is the resource's last ARM operation, and may read Failed (a cancel asked twice, a tag
    update: `test_a_failed_arm_operation_on_a_migration_going_live_leaves_it_live`) while DMS still reports the
    migration Canceling. Before: taken for failed, the rollback made the source writable at once, while DMS was
    still canceling (a cancel that does not take leaves an offline restore to finish beside a writable source)."""
    watch, driver = refused_cutover_run(rehearsal_world, "mi-prod", canceling_reads=4)
    observe = driver.observe

    def the_arm_operation_fails_while_canceling(task_id):
        observe(task_id)
        if task_id == "db.rollback":
            fail_the_last_arm_operation(watch, "Canceling")

    driver.observe = the_arm_operation_fails_while_canceling
    states = driver.run_database("db")

    assert states["db.rollback"] == "success", driver.errors
    assert len(watch.while_canceling()) > 1, "the rollback did not wait while DMS was canceling: %s" % watch.rollback_pokes
    assert all(target_there and not writable for target_there, writable in watch.while_canceling()), (
        "removed or unfrozen while DMS was still canceling: %s" % watch.rollback_pokes)
    assert [op["migrationStatus"] for op in watch.operations()] == ["Canceled"]
    assert watch.target() is None and watch.source_writable() and driver.outcome("db") == "rolled_back"


def rollback_past_timeout_minutes_while_canceling(rehearsal_world, monkeypatch):
    """`refused_cutover_run` whose DMS stays Canceling while an hour passes with every poke of the rollback."""
    watch, driver = refused_cutover_run(rehearsal_world, "mi-prod", canceling_reads=300)
    later = [timedelta(0)]
    monkeypatch.setattr(operators, "utc_now", lambda: utc_now() + later[0])
    observe = driver.observe

    def an_hour_passes_with_every_rollback_poke(task_id):
        observe(task_id)
        if task_id == "db.rollback":
            later[0] += timedelta(hours=1)

    driver.observe = an_hour_passes_with_every_rollback_poke
    return watch, driver, driver.run_database("db")


def test_a_rollback_dms_never_finishes_canceling_fails_at_timeout_minutes_removing_and_unfreezing_nothing(
        rehearsal_world, monkeypatch, events):
    """DMS stays Canceling: past the rollback's timeoutMinutes it fails, saying so, the target kept and the source
    kept frozen (a person looks at the migration in DMS). Before: the target was removed at once. Its rollback-failed
    event says the source stays frozen and how to unfreeze it without losing a write (was: "access is left as it is",
    and nothing against making it writable while DMS may still finish the migration)."""
    watch, driver, states = rollback_past_timeout_minutes_while_canceling(rehearsal_world, monkeypatch)

    assert states["db.rollback"] == "failed", driver.errors
    error = driver.errors["db.rollback"]
    assert "timeoutMinutes (720) passed while waiting: DMS is still canceling migration" in error, error
    assert "target database Sales is not removed" in error and "access is left as it is (frozen, where the DAG froze it)" in error, error
    # how to unfreeze without losing a write: only once DMS's migration has ended, through the rollback
    assert "do not make the source writable yourself while DMS may still restore into the target" in error, error
    assert "once it reads Canceled or Failed, clear this rollback task" in error, error
    failed = [row for row in events if (row["Phase"], row["Status"]) == ("rollback", "Failed")]
    assert [row["Message"] for row in failed] == [error.split(": ", 1)[1]], "the rollback-failed event says it all"
    assert [op["migrationStatus"] for op in watch.operations()] == ["Canceling"]
    assert watch.target() is not None and watch.target()["state"] == "RESTORING"
    assert not watch.source_writable(), "the source is kept frozen while DMS may still restore into the target"


def test_a_cancel_that_did_not_take_is_declared_by_a_new_run_as_the_timed_out_rollback_says_the_source_kept_frozen(
        rehearsal_world, monkeypatch, events):
    """The rollback timed out while DMS was canceling; the cancel did not take and DMS completed the migration
    (Succeeded, the target ONLINE). The rollback-failed message said what to do for Canceled or Failed only: clearing
    the rollback gives the source back its access beside a complete target that may be taken into use (split writes).
    It now says, for Succeeded: keep the source frozen, do not clear the rollback, trigger a new run; done so, the new
    run validates and declares the target migrated, the source frozen throughout."""
    watch, driver, states = rollback_past_timeout_minutes_while_canceling(rehearsal_world, monkeypatch)
    assert states["db.rollback"] == "failed", driver.errors
    error = driver.errors["db.rollback"]
    succeeded = error[error.index("Once it reads Succeeded"):]
    assert "keep the source frozen and do not clear this rollback task" in succeeded, error
    assert "trigger a new DAG run" in succeeded and "declares it migrated" in succeeded, error
    failed = [row for row in events if (row["Phase"], row["Status"]) == ("rollback", "Failed")]
    assert failed[-1]["Message"].endswith(succeeded), "the rollback-failed event carries the advice whole"

    with watch.world.transaction() as state:  # the cancel did not take: DMS completes the migration
        [migration] = [record["operations"][-1] for key, record in state["databaseMigrations"].items() if key.endswith("/sales")]
        migration.pop("stillCanceling", None)
        migration.update(migrationStatus="Completing", cutoverSequence=state["sequence"])
    monkeypatch.setattr(operators, "utc_now", utc_now)
    writable = []

    def source_watched(task_id):
        watch.observe(task_id)
        writable.append((task_id, watch.source_writable()))

    new_run = RunDriver(driver.dag, source_watched)
    new_run.run_database("db")

    assert new_run.outcome("db") == "migrated", new_run.errors
    assert watch.target()["state"] == "ONLINE"
    assert not [task for task, was_writable in writable if was_writable], "the source was writable beside the complete target: %s" % writable


def dms_ends_the_cancel(watch, ended):
    """DMS's cancel ends at last: `Canceled` (the stillCanceling fault spent: the next read finds it so) or `Failed`."""
    with watch.world.transaction() as state:
        state["faults"][:] = [fault for fault in state["faults"] if fault["kind"] != "stillCanceling"]
        if ended == "Failed":
            [migration] = [record["operations"][-1] for key, record in state["databaseMigrations"].items() if key.endswith("/sales")]
            migration.pop("stillCanceling", None)
            migration.update(migrationStatus="Failed", migrationState="Failed", endedOn=watch.world.now())


@pytest.mark.parametrize("ended", ["Canceled", "Failed"])
def test_a_rollback_cleared_once_dms_reads_canceled_or_failed_after_it_timed_out_removes_the_target_and_unfreezes_the_source(
        rehearsal_world, monkeypatch, events, ended):
    """The rollback-failed row's advice for "DMS is still canceling migration", lived through: once DMS reads the
    migration Canceled or Failed, a person clears the failed rollback task; it removes the target left RESTORING and
    gives the source back its access before the freeze, and its RolledBack says so (the cancel of its earlier try
    included). Until then (the timed-out try) neither was done."""
    watch, driver, states = rollback_past_timeout_minutes_while_canceling(rehearsal_world, monkeypatch)
    assert states["db.rollback"] == "failed" and "DMS is still canceling migration" in driver.errors["db.rollback"], driver.errors
    assert watch.target()["state"] == "RESTORING" and not watch.source_writable()
    operation_id = watch.operations()[0]["migrationOperationId"]

    dms_ends_the_cancel(watch, ended)
    monkeypatch.setattr(operators, "utc_now", utc_now)
    driver.observe = watch.observe
    assert driver.clear_task("db", "rollback") == "success", driver.errors

    assert [op["migrationStatus"] for op in watch.operations()] == [ended]
    assert watch.target() is None, "the RESTORING target of the canceled migration is removed"
    assert watch.source_writable() and driver.outcome("db") == "rolled_back"
    assert all(target_there and not writable for target_there, writable in watch.while_canceling()), watch.rollback_pokes
    [rolled_back] = [row["Message"] for row in events if (row["Phase"], row["Status"]) == ("rollback", "RolledBack")]
    actions = rolled_back.split("; ")
    assert actions[0] == "canceled migration %s" % operation_id, rolled_back
    assert actions.count("deleted managed database Sales on mi-prod") == 1, rolled_back
    assert actions.count("source database Sales writable again") == 1, rolled_back


def cancel_as_a_person(plan, watch, operation_id, canceling_reads):
    """A person cancels the migration through DMS; it reads Canceling for `canceling_reads` reads."""
    watch.world.add_fault("cancel", "stillCanceling", count=canceling_reads, database="Sales")
    status = rehearsal.rehearsal_services(plan).dms.cancel(MigrationTarget.of(plan, plan.database("db")), operation_id)
    assert status.migration_status == "Canceling", status


def started_migration(rehearsal_world, plan, watch):
    """A run that started the migration and crashed while DMS copies: its operation id."""
    with pytest.raises(WorkerCrashed):
        RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), watch.observe).run_database("db", crash_after="start_migration")
    [operation] = watch.operations()
    return operation["migrationOperationId"]


@pytest.mark.parametrize("mode, canceled_after, failing", [("offline", "freeze_source", "final_backup"),
                                                            ("online", "wait_for_migration", "freeze_source")])
def test_a_migration_a_person_canceled_is_rolled_back_and_the_dag_triggered_again_migrates_with_a_new_one(
        rehearsal_world, mode, canceled_after, failing):
    """The freeze_source / final_backup row's "no active migration of", lived through with its advice: a person
    cancels the migration in DMS while it copies (offline: the source frozen already; online: caught up, before the
    freeze). The next step fails saying so, its rollback removes the RESTORING target the canceled migration left and
    gives the source back its access; triggered again, the DAG starts a new migration and migrates, a write made
    meanwhile reaching the target."""
    from test_writes_handed_back import write_to_source

    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode=mode)]))
    watch = CancelWatch(rehearsal_world, plan)
    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), watch.observe)
    with pytest.raises(WorkerCrashed):  # only to step in between two tasks of the run; the run goes on below
        driver.run_database("db", crash_after=canceled_after)
    assert watch.source_writable() == (mode == "online") and watch.target()["state"] == "RESTORING"
    [operation] = watch.operations()
    cancel_as_a_person(plan, watch, operation["migrationOperationId"], canceling_reads=1)

    chain = [task.task_id for task in driver.chain("db")]
    states = driver.run_database("db", start=chain.index("db." + failing))

    assert states["db." + failing] == "failed", driver.errors
    assert driver.errors["db." + failing].startswith("no active migration of db: canceled"), driver.errors
    assert states["db.rollback"] == "success" and driver.outcome("db") == "rolled_back", driver.errors
    assert watch.target() is None, "the canceled migration's RESTORING target is removed"
    assert watch.source_writable(), "the source's access before the freeze is back"
    table = write_to_source(watch, "written after the rollback")

    again = RunDriver(driver.dag, watch.observe)
    again.run_database("db")

    assert again.outcome("db") == "migrated", again.errors
    assert [op["migrationStatus"] for op in watch.operations()] == ["Canceled", "Succeeded"], "a new migration started"
    assert watch.target()["state"] == "ONLINE"
    assert watch.target()["tables"][table]["rows"][0][1] == "written after the rollback", "a write was lost"


def test_preflight_refuses_while_dms_is_still_canceling_and_starts_nothing(rehearsal_world):
    """Before: preflight took the Canceling migration for a canceled one (its message said it had ended), and its
    rollback removed the target DMS was still restoring into."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online")]))
    watch = CancelWatch(rehearsal_world, plan)
    operation_id = started_migration(rehearsal_world, plan, watch)
    for _ in range(4):  # DMS restores the full backup: the target RESTORING
        rehearsal.rehearsal_services(plan).dms.current_migration(MigrationTarget.of(plan, plan.database("db")))
    assert watch.target() is not None
    cancel_as_a_person(plan, watch, operation_id, canceling_reads=4)

    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), watch.observe)
    states = driver.run_database("db")

    assert states["db.preflight"] == "failed"
    error = driver.errors["db.preflight"]
    assert "DMS is still canceling the migration of Sales into Sales on mi-prod (migration %s" % operation_id in error, error
    assert "nothing started" in error
    assert [op["migrationOperationId"] for op in watch.operations()] == [operation_id], "nothing new is started"
    assert states["db.rollback"] == "success", driver.errors
    assert watch.while_canceling() and all(target for target, _ in watch.while_canceling()), watch.rollback_pokes
    assert [op["migrationStatus"] for op in watch.operations()] == ["Canceled"] and watch.target() is None
    assert watch.source_writable()


def test_start_migration_refuses_to_adopt_a_migration_dms_is_still_canceling(rehearsal_world):
    """A person cancels the migration a new run's preflight found copying, before its start_migration adopts it.
    Before: taken for canceled, start_migration went on to create another (DMS refuses one while it cancels)."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online")]))
    watch = CancelWatch(rehearsal_world, plan)
    operation_id = started_migration(rehearsal_world, plan, watch)

    def canceled_after_preflight(task_id):
        watch.observe(task_id)
        if task_id == "db.preflight" and watch.operations()[-1]["migrationStatus"] == "InProgress":
            cancel_as_a_person(plan, watch, operation_id, canceling_reads=3)

    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), canceled_after_preflight)
    states = driver.run_database("db")

    assert states["db.preflight"] == "success" and states["db.start_migration"] == "failed", driver.errors
    error = driver.errors["db.start_migration"]
    assert "DMS is still canceling the migration of Sales into Sales on mi-prod" in error and "nothing started" in error, error
    assert [op["migrationOperationId"] for op in watch.operations()] == [operation_id], "nothing new is started"
    assert states["db.rollback"] == "success", driver.errors
    assert [op["migrationStatus"] for op in watch.operations()] == ["Canceled"]
    assert watch.source_writable()


@pytest.mark.parametrize("target, allow_writes", [("db-prod", True), ("mi-prod", False)], ids=["sqldb-copy", "sqlmi-online"])
def test_a_new_run_starts_nothing_over_a_migration_dms_still_copies_after_a_failed_arm_operation(rehearsal_world, target, allow_writes):
    """A run started the migration and crashed; DMS still copies it, but the resource's last ARM operation reads Failed.
    A new run takes it neither for one to adopt nor for an ended one to start again over: it starts nothing, and its
    rollback cancels the migration before it cleans up. Before: preflight passed a SqlDb copy (its target exists by
    design, its source writable), and start_migration, finding no migration in flight, sent a new create over the one
    DMS still copies (what DMS does with it is not documented; the contract server refuses it 409 OperationInProgress,
    which the DAG took for Azure busy and poked again until the deadline); a restore was refused as an ended migration's
    leftovers."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", target=target, allowSourceWritesDuringCopy=allow_writes)]))
    watch = CancelWatch(rehearsal_world, plan)
    operation_id = started_migration(rehearsal_world, plan, watch)
    watch.fail_the_last_arm_operation()
    if not allow_writes:  # no freeze before a restore: the source is writable
        assert watch.source_writable()

    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), watch.observe)
    states = driver.run_database("db")

    assert states["db.preflight"] == "failed", (states, driver.errors)
    error = driver.errors["db.preflight"]
    assert "DMS still copies the migration of Sales into Sales on %s (migration %s" % (target, operation_id) in error, error
    assert "though its last ARM operation failed: nothing started" in error, error
    assert [op["migrationOperationId"] for op in watch.operations()] == [operation_id], "nothing new is started"
    assert states["db.rollback"] == "success", driver.errors
    assert [op["migrationStatus"] for op in watch.operations()] == ["Canceled"], "the rollback canceled it"
    assert watch.source_writable()


def failed_operation_run(rehearsal_world, target, more_faults=()):
    """`refused_cutover_run` whose migration's last ARM operation then reads Failed while DMS still copies
    (migrationStatus InProgress, provisioningState Failed): `MigrationStatus.stage` reads it failed, so waiting steps
    fail fast, yet DMS may still restore into the target. `more_faults`: added to the world once the cutover failed."""
    watch, driver = refused_cutover_run(rehearsal_world, target, canceling_reads=3)
    observe = driver.observe
    added = []

    def the_arm_operation_fails_while_dms_copies(task_id):
        if task_id == "db.cutover" and not added:
            added.append(True)
            for fault in more_faults:
                watch.world.add_fault(*fault[:2], **fault[2])
        observe(task_id)
        if task_id in ("db.cutover", "db.wait_for_completion"):
            fail_the_last_arm_operation(watch, "InProgress")

    driver.observe = the_arm_operation_fails_while_dms_copies
    return watch, driver


def copying_pokes(watch):
    return [(target, writable) for status, target, writable in watch.rollback_pokes if status in ("InProgress", "Canceling")]


@pytest.mark.airflow26  # also through the REST transport on Python 3.8
@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_a_copying_migration_whose_last_arm_operation_failed_is_canceled_before_the_rollback_removes_or_unfreezes(
        rehearsal_world, target):
    """Before: `stage` read it failed, the rollback canceled only active migrations, so it removed the RESTORING target
    and made the frozen source writable at once while DMS, never told to stop, went on restoring into it."""
    watch, driver = failed_operation_run(rehearsal_world, target)

    states = driver.run_database("db")

    assert states["db.rollback"] == "success", driver.errors
    assert watch.rollback_pokes and watch.rollback_pokes[0][0] in ("InProgress", "Canceling"), watch.rollback_pokes
    assert all(target_there and not writable for target_there, writable in copying_pokes(watch)), (
        "removed or unfrozen while DMS still copied or canceled: %s" % watch.rollback_pokes)
    assert [op["migrationStatus"] for op in watch.operations()] == ["Canceled"], "the rollback canceled it"
    assert watch.target() is None and watch.source_writable() and driver.outcome("db") == "rolled_back"


@pytest.mark.parametrize("refusal", [
    ("cancel", "error", {"count": 50, "status": 400, "code": "MigrationCancelFailed", "message": "cancel refused"}),
    ("cancel", "lroFailed", {"count": 50, "message": "cancel failed"}),
], ids=["refused", "operation-failed"])
def test_a_rollback_whose_cancel_dms_refuses_for_a_copying_migration_whose_arm_operation_failed_removes_and_unfreezes_nothing(
        rehearsal_world, refusal):
    """DMS refuses to cancel (or its cancel operation fails): the rollback fails (rollback-failed), the target kept and
    the source kept frozen. Before: no cancel was asked, the target was removed and the source made writable."""
    watch, driver = failed_operation_run(rehearsal_world, "mi-prod", more_faults=[refusal])

    states = driver.run_database("db")

    assert states["db.rollback"] == "failed", driver.errors
    assert "cancel migration" in driver.errors["db.rollback"], driver.errors["db.rollback"]
    assert [op["migrationStatus"] for op in watch.operations()] == ["InProgress"]
    assert watch.target() is not None and watch.target()["state"] == "RESTORING"
    assert not watch.source_writable(), "the source is kept frozen while DMS may still restore into the target"


def cancel_the_create(watch):
    """The Sales migration's create reads canceled before DMS started it: `provisioningState` Canceled (the SDK's
    ProvisioningState enum), `migrationStatus` Creating; DMS restores nothing (the contract server moves only a
    migration whose provisioningState is Succeeded), so the RESTORING database of its name in the target now is
    another's (a person's restore)."""
    with watch.world.transaction() as state:
        for key, record in state["databaseMigrations"].items():
            if key.endswith("/sales"):
                record["operations"][-1].update(provisioningState="Canceled", migrationStatus="Creating", migrationState=None)
    watch.world.put_database(watch.target_server, "Sales", state="RESTORING")


@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_a_migration_whose_create_was_canceled_has_ended_and_its_target_is_never_removed(rehearsal_world, target):
    """provisioningState Canceled with migrationStatus Creating: the create was canceled before DMS started the
    migration (2025-06-30: "ProvisioningState as Succeeded implies that validations have been performed and migration
    has started"). Before: read as creating (copying), so wait_for_migration waited for it until the deadline (here:
    until the driver's last poke), and the rollback asked DMS to cancel it. Now it has ended: the wait fails at once,
    nothing is canceled, and the database in the target, which it did not create, is kept."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online", target=target)]))
    watch = CancelWatch(rehearsal_world, plan)
    found = []

    def the_create_is_canceled(task_id):
        watch.observe(task_id)
        if task_id == "db.start_migration" and not found:
            cancel_the_create(watch)
            found.append(watch.target())

    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), the_create_is_canceled)
    states = driver.run_database("db")

    assert states["db.wait_for_migration"] == "failed", driver.errors
    assert "ended: canceled" in driver.errors["db.wait_for_migration"], driver.errors["db.wait_for_migration"]
    assert [(op["provisioningState"], op["migrationStatus"]) for op in watch.operations()] == [("Canceled", "Creating")], (
        "nothing canceled or started meanwhile")
    assert found[0]["state"] == "RESTORING" and watch.target() == found[0], "another's database in the target is kept"
    assert states["db.rollback"] == "success" and driver.outcome("db") == "rolled_back", driver.errors

    later = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}))
    assert later.run_database("db")["db.preflight"] == "failed"
    assert "already exists" in later.errors["db.preflight"] and "refusing to overwrite it" in later.errors["db.preflight"], (
        "not the canceled create's leftover for the rollback to clean up: %s" % later.errors["db.preflight"])
    assert watch.target() == found[0]


@pytest.mark.parametrize("mode, step, says", [
    ("online", "wait_for_migration", "DMS migration of db still copies though its last ARM operation failed"),
    ("offline", "freeze_source", "no active migration of db: its migration still copies though its last ARM operation failed (the rollback cancels it)"),
])
def test_a_step_failing_on_a_migration_dms_still_copies_after_a_failed_arm_operation_does_not_say_it_ended(
        rehearsal_world, mode, step, says):
    """A step reads the migration's stage failed (its last ARM operation failed) while DMS still copies it, and fails
    fast; its Failed event (the migration-failed alert) is what the person reads. Was: "DMS migration of db ended:
    failed (...)" (waiting steps), "no active migration of db: failed (...)" (freeze_source, final_backup), as if DMS
    had stopped restoring into the target; preflight and start_migration say "still copies" since dcd45da. The
    rollback cancels it, as before; the source is never frozen."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode=mode)]))
    watch = CancelWatch(rehearsal_world, plan)

    def the_arm_operation_fails_while_dms_copies(task_id):
        watch.observe(task_id)
        if task_id == "db.start_migration":
            fail_the_last_arm_operation(watch, "InProgress")

    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), the_arm_operation_fails_while_dms_copies)
    states = driver.run_database("db")

    assert states["db." + step] == "failed", (states, driver.errors)
    error = driver.errors["db." + step]
    assert "ended" not in error and says in error, error
    assert states["db.rollback"] == "success", driver.errors
    assert [op["migrationStatus"] for op in watch.operations()] == ["Canceled"], "the rollback canceled it"
