"""Writes handed back to the source must reach the target (`task_driver` on the rehearsal world): a
rollback that goes "back to replicating" makes the source writable again while the migration stays in
DMS, so the next freeze needs a final backup of its own, and a migration DMS finishes by itself (an
offline restore, a SqlDb copy) must never go back to replicating once the DAG's freeze holds its source."""
from __future__ import annotations

import pytest

from conftest import database_entry, load_plan_document, plan_with_databases
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal import SERVICE_ID
from task_driver import RunDriver, WorkerCrashed
from world_view import WorldView, set_rehearsal_clock

SATURDAY_NIGHT = {"timeZone": "Europe/Berlin", "days": ["Sat"], "start": "22:00", "durationMinutes": 360}


def setup(directory, mode="online", target="mi-prod", airflow_of=None, **fields):
    document = plan_with_databases([database_entry("db", "Sales", mode=mode, target=target, **fields)])
    if airflow_of:
        document["airflow"] = load_plan_document(airflow_of)["airflow"]
    plan = parse_plan(document)
    return plan, build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), WorldView(directory, plan.database("db"), plan)


def write_to_source(world, text):
    """An application updates a row (same row count: only checksums, off here as by default, would see it)."""
    table = sorted(world.source()["tables"])[0]
    rows = [list(row) for row in world.source()["tables"][table]["rows"]]
    rows[0][1] = text
    world.world.set_table("sql01", "Sales", table, world.source()["tables"][table]["columns"], rows)
    return table


def in_flight(world):
    return [op["migrationStatus"] for op in world.operations() if op["migrationStatus"] in ("InProgress", "Completing", "Succeeded")]


@pytest.mark.parametrize("airflow_of", [None, "fabric_host.json"], ids=["direct", "dataFactory"])
def test_writes_made_while_a_crashed_cutover_went_back_to_replicating_reach_the_target(rehearsal_world, airflow_of):
    """Run 1 froze the source and took its final backup (DMS restored it), then its worker died. Run 2's
    preflight fails (the runtime briefly offline): its rollback goes back to replicating and makes the
    source writable; an application writes. Run 3 freezes again: its final backup must hold that write,
    not be the file run 1 took (`BACKUP LOG` skips a file msdb holds; Data Factory adopts a run by key)."""
    plan, dag, world = setup(rehearsal_world, airflow_of=airflow_of)
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after="final_backup")
    assert not world.source_writable()
    world.world.set_integration_runtime_state(SERVICE_ID, "Offline")
    second = RunDriver(dag, world.observe)
    states = second.run_database("db")
    assert states["db.preflight"] == "failed" and states["db.rollback"] == "success", second.errors
    assert world.source_writable() and in_flight(world) == ["InProgress"], "back to replicating"
    table = write_to_source(world, "written while replicating again")
    world.world.set_integration_runtime_state(SERVICE_ID, "Online")

    third = RunDriver(dag, world.observe)
    third.run_database("db")

    assert third.outcome("db") == "migrated", third.errors
    assert len(world.operations()) == 1, "the same migration, cut over"
    assert world.target()["tables"][table]["rows"][0][1] == "written while replicating again", "a write was lost at cutover"


@pytest.mark.parametrize("target, crash_after", [("mi-prod", "final_backup"), ("vm-prod", "final_backup"), ("db-prod", "start_migration")],
                         ids=["offline-SqlMi", "offline-SqlVm", "SqlDb"])
def test_a_failed_preflight_never_hands_back_the_source_of_a_migration_dms_finishes_by_itself(rehearsal_world, target, crash_after):
    """Run 1 froze the source for an offline restore (its final backup, DMS's lastBackupName, already in the
    share) or a SqlDb copy, then its worker died. Run 2's preflight fails (the runtime briefly offline): its
    rollback must not make the source writable while DMS finishes that migration without the writes made
    since (a later run would declare that target migrated)."""
    plan, dag, world = setup(rehearsal_world, mode="offline", target=target)
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after=crash_after)
    assert not world.source_writable() and in_flight(world) == ["InProgress"], "frozen, DMS not finished yet"
    world.world.set_integration_runtime_state(SERVICE_ID, "Offline")
    second = RunDriver(dag, world.observe)
    second.run_database("db")

    assert not (world.source_writable() and in_flight(world)), "a writable source beside a migration that finishes by itself"
    table = write_to_source(world, "written after the rollback") if world.source_writable() else None
    world.world.set_integration_runtime_state(SERVICE_ID, "Online")
    third = RunDriver(dag, world.observe)
    third.run_database("db")
    assert third.outcome("db") == "migrated", third.errors
    if table:
        assert world.target()["tables"][table]["rows"][0][1] == "written after the rollback", "a write was lost"


def _upload_pending(world, pending):
    """DMS has not picked the final backup up yet (a slow upload from the share): out of the share's folder
    while `pending`, back in it after."""
    with world.world.transaction() as state:
        for backup in state["backups"]["sql01"]:
            if "_final_" in backup["fileName"]:
                swap = ("\\sqlbackups\\", "\\staging\\") if pending else ("\\staging\\", "\\sqlbackups\\")
                backup["path"] = backup["path"].replace(*swap)


def crash_after_the_final_backup_before_dms_restored_it(dag, world):
    def slow_upload(task_id):
        world.observe(task_id)
        if task_id == "db.final_backup":
            _upload_pending(world, True)

    with pytest.raises(WorkerCrashed):
        RunDriver(dag, slow_upload).run_database("db", crash_after="final_backup")
    assert not world.source_writable() and in_flight(world) == ["InProgress"], "frozen, DMS not finished yet"


def test_an_offline_cutover_resumed_in_an_unapproved_window_is_not_handed_back_while_dms_finishes_it(rehearsal_world, monkeypatch, tmp_path):
    """An offline copy approved for Saturday the 5th: frozen, its final backup (DMS's lastBackupName) taken,
    the worker dies before DMS restored it. A run in the next Saturday's window, which nobody approved, must
    not go back to replicating: the source writable, DMS would restore that backup and bring the target
    online without the writes made since, and the next approved run would declare it migrated."""
    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-05T21:10:00Z")  # inside Saturday's window
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
    cutover = {"windows": [SATURDAY_NIGHT], "expectedMinutes": 30,
               "approval": {"required": True, "approvers": ["alice@contoso.com"], "channel": "airflowVariable"}}
    plan, dag, world = setup(rehearsal_world, mode="offline", cutover=cutover)

    crash_after_the_final_backup_before_dms_restored_it(dag, world)
    monkeypatch.delenv("MIGRATION_SIMULATE_APPROVAL")  # nobody approves the next window
    set_rehearsal_clock(rehearsal_world, "2026-12-12T21:30:00Z")  # inside the next Saturday's window
    second = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world.observe)
    states = second.run_database("db")
    _upload_pending(world, False)  # DMS gets to it now

    assert states["db.await_cutover"] == "failed", second.errors
    assert not (world.source_writable() and in_flight(world)), "a writable source beside a migration that finishes by itself"
    table = write_to_source(world, "written after the rollback") if world.source_writable() else None
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
    monkeypatch.setenv("MIGRATION_SIMULATE_UNTIL", "2026-12-27T00:00:00Z")
    third = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world.observe)
    third.run_database("db")
    assert third.outcome("db") == "migrated", third.errors
    if table:
        assert world.target()["tables"][table]["rows"][0][1] == "written after the rollback", "a write was lost"


@pytest.mark.parametrize("target", ["mi-prod", "vm-prod", "db-prod"])
def test_a_completed_migration_handed_back_to_its_source_is_never_declared_later(rehearsal_world, monkeypatch, target):
    """Run 1's migration completed in DMS but its validation failed (a fingerprint query timing out, say):
    the rollback keeps the target (it went live in DMS) and makes the source writable again, by design, and
    applications go on writing there. Run 2 (the kept target not dropped) must not compare the moving source with that target and declare it migrated: a
    row count misses every update made since."""
    from migration_orchestration_lib import steps
    from migration_orchestration_lib.step_context import StepFailure

    def timing_out(ctx):
        raise StepFailure("validation query timed out")

    monkeypatch.setitem(steps.STEPS, "validate", timing_out)
    plan, dag, world = setup(rehearsal_world, mode="offline" if target == "db-prod" else "online", target=target)
    first = RunDriver(dag, world.observe)
    first.run_database("db")
    assert first.outcome("db") == "rolled_back" and world.source_writable(), first.errors
    assert in_flight(world) == ["Succeeded"] and world.target()["state"] == "ONLINE", "kept: it went live in DMS"
    table = write_to_source(world, "written after the rollback")
    monkeypatch.setitem(steps.STEPS, "validate", steps.validate)

    second = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world.observe)
    second.run_database("db")

    if second.outcome("db") == "migrated":
        assert world.target()["tables"][table]["rows"][0][1] == "written after the rollback", (
            "declared migrated: applications move to a target without the writes made on the source since")
    assert world.source_writable() or second.outcome("db") == "migrated"


@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_a_kept_target_dropped_as_its_failure_says_migrates_again_only_under_another_name(rehearsal_world, monkeypatch, target):
    """Run 1's validation failed: the rollback kept the target (it went live in DMS) and made the source writable.
    A person drops the kept target, as the failure says, and runs again: DMS still reports that migration
    completed, so run 2 fails again for a person. Its message must name what lets the database migrate again (another
    target database in the plan), not only the drop already done (the 03:00 loop the on-call was in before)."""
    from migration_orchestration_lib import steps
    from migration_orchestration_lib.step_context import StepFailure

    def timing_out(ctx):
        raise StepFailure("validation query timed out")

    monkeypatch.setitem(steps.STEPS, "validate", timing_out)
    plan, dag, world = setup(rehearsal_world, target=target)
    first = RunDriver(dag, world.observe)
    first.run_database("db")
    assert first.outcome("db") == "rolled_back" and world.target()["state"] == "ONLINE", first.errors
    monkeypatch.setitem(steps.STEPS, "validate", steps.validate)
    assert world.world.drop_database(world.target_server, "Sales")

    second = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world.observe)
    second.run_database("db")
    assert second.outcome("db") != "migrated" and world.source_writable(), second.errors
    [message] = [error for error in second.errors.values() if "completed in DMS" in error]
    assert "databases[].target.database" in message, message

    renamed, renamed_dag, renamed_world = setup(rehearsal_world, target=target, target_database="Sales2")
    third = RunDriver(renamed_dag, renamed_world.observe)
    third.run_database("db")
    assert third.outcome("db") == "migrated", third.errors


def test_an_offline_restore_is_not_handed_back_after_the_plan_was_edited_to_online(rehearsal_world):
    """The plan edited between runs (offline to online): the migration in DMS is still the offline one, which
    DMS finishes by itself after the final backup run 1 put in the share. Run 2's failed preflight must not
    go back to replicating (the plan's mode says online; DMS's migration says offline)."""
    plan, dag, world = setup(rehearsal_world, mode="offline")

    crash_after_the_final_backup_before_dms_restored_it(dag, world)
    edited, online_dag, _ = setup(rehearsal_world, mode="online")
    world.world.set_integration_runtime_state(SERVICE_ID, "Offline")
    second = RunDriver(online_dag, world.observe)
    second.run_database("db")
    _upload_pending(world, False)  # DMS gets to it now

    assert not (world.source_writable() and in_flight(world)), "a writable source beside a migration that finishes by itself"


def test_an_offline_migration_the_dag_did_not_start_is_not_adopted_by_an_online_plan(rehearsal_world, monkeypatch):
    """An offline migration of the source without a lastBackupName the DAG chose (a person's, or one started
    while the plan said offline: stood in for by a start whose name the DAG did not choose) finishes after the
    backups already in the share, while the source is writable. A plan that says online must not adopt it by
    the plan's mode alone: DMS's migration is offline, and the writes made after its last backup are lost."""
    from migration_orchestration_lib import steps

    plan, dag, world = setup(rehearsal_world, mode="offline")
    with monkeypatch.context() as patch, pytest.raises(WorkerCrashed):
        patch.setattr(steps, "offline_final_backup_name", lambda ctx: None)
        RunDriver(dag).run_database("db", crash_after="start_migration")
    assert world.source_writable() and in_flight(world) == ["InProgress"]
    table = write_to_source(world, "written while the offline copy ran")  # after the backups DMS restores
    online, online_dag, _ = setup(rehearsal_world, mode="online")
    driver = RunDriver(online_dag, world.observe)
    driver.run_database("db")

    if driver.outcome("db") == "migrated":
        assert world.target()["tables"][table]["rows"][0][1] == "written while the offline copy ran", (
            "declared migrated: DMS finished without the final backup taken after the freeze")


def test_a_source_made_writable_after_validate_and_hidden_from_the_login_is_never_declared(rehearsal_world):
    """After validate passed a person makes the source writable (writes reach it, not the target) and the source server
    is hardened: VIEW ANY DATABASE revoked from public, the DAG's source login left with rights in the database alone,
    so master's sys.databases shows it no row of the source. Before, done read the source absent, took that for
    nothing to check and declared the migration migrated: applications moved to a target without the source's new
    writes. done now refuses, naming the login and the grant; the rollback leaves the source as it is."""
    from migration_orchestration_lib.rehearsal import REHEARSAL_LOGIN

    plan, dag, world = setup(rehearsal_world, mode="offline")

    def writable_and_hidden_after_validate(task_id):
        world.observe(task_id)
        if task_id == "db.validate":
            world.world.update_database("sql01", "Sales", readOnly=False, userAccess="MULTI_USER")
            world.world.revoke_view_any_database_from_public("sql01")
            world.world.set_login("sql01", REHEARSAL_LOGIN, [], {"Sales": ["CONTROL"]})

    driver = RunDriver(dag, writable_and_hidden_after_validate)
    states = driver.run_database("db")

    assert states["db.validate"] == "success" and states["db.done"] == "failed", driver.errors
    assert driver.outcome("db") != "migrated"
    assert "GRANT VIEW ANY DATABASE TO [%s]" % REHEARSAL_LOGIN in driver.errors["db.done"], driver.errors
    assert states["db.rollback"] == "failed" and "left as it is" in driver.errors["db.rollback"], driver.errors
    assert world.source_writable(), "the person's choice stands"
