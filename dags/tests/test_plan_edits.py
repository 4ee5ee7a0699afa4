"""Edits of one database's plan entry while its migration is under way (the plan redeployed between
runs, or while a run goes on: its remaining tasks run with the edited plan). `task_driver` on the
rehearsal world; a redeploy mid-run is the driver's run going on with the DAG of the edited plan."""
from __future__ import annotations

import json
import os
import uuid

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal import seed_world
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE, FileRecords
from migration_orchestration_lib.source_freeze import RECORD_PREFIX
import task_driver
from task_driver import RunDriver, WorkerCrashed
from world_view import WorldView

# Driver logic on direct SQL, the same on every Airflow: Airflow 3.3 only (`test_freezes_of_earlier_tries` runs the Data Factory path on 2.10.5).
KEY = RECORD_PREFIX + "sql01__Sales"


def dag_of(**entry):
    plan = parse_plan(plan_with_databases([database_entry("db", entry.pop("source_database", "Sales"), **entry)]))
    return plan, build_dag(plan, {"MIGRATION_DRY_RUN": "1"})


def setup(directory, **entry):
    plan, dag = dag_of(**entry)
    world = WorldView(directory, plan.database("db"), plan)
    seed_world(world.world, plan)
    return dag, world


def crashed_after(dag, world, task):
    run = RunDriver(dag, world.observe)
    with pytest.raises(WorkerCrashed):
        run.run_database("db", crash_after=task)
    return run


def go_on(run, dag):
    """The run goes on with the DAG of the edited plan: its tasks not run yet, then the rollback on a failure."""
    run.dag = dag
    for task in run.chain("db"):
        if task.task_id in run.states:
            continue
        state = run.states[task.task_id] = run._run_task(task)
        if state == "failed":
            run.states["db.rollback"] = run._run_task(dag.get_task("db.rollback"))
            break
    return run.states


def records(directory):
    with open(os.path.join(str(directory), RECORDS_FILE)) as file:
        return json.load(file)


# --- validation weakened --------------------------------------------------------------------------------

OFF = {"rowCounts": False, "checksums": False}
WEAKER = {"off": OFF, "other tables": {"rowCounts": True, "checksums": False, "tables": ["dbo.Orders"]}}  # the mismatch: dbo.Customers


@pytest.mark.parametrize("weaker", sorted(WEAKER))
def test_a_validation_weakened_after_a_mismatch_never_declares_the_target(rehearsal_world, monkeypatch, weaker):
    """The first run died between the cutover and `done`; the second run's validation found a target row missing,
    and its rollback kept the source frozen for a person (whether a run declared the migration is unknown). Was:
    the person turned validation off (or narrowed it to tables that match) and the next run declared the
    target migrated, without the row. Now validate compares at least what the plan said when the DAG froze
    the source (recorded per migration), and says how to clear that record if the target is right."""
    dag, world = setup(rehearsal_world, mode="online")
    crashed_after(dag, world, "wait_for_completion")
    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")
    second = RunDriver(dag, world.observe)
    assert second.run_database("db")["db.rollback"] == "failed" and "differ" in second.errors["db.validate"], second.errors
    monkeypatch.delenv("MIGRATION_SIMULATE_MISMATCH")

    _, weakened = dag_of(mode="online", validation=WEAKER[weaker])
    third = RunDriver(weakened, world.observe)
    states = third.run_database("db")

    assert third.outcome("db") != "migrated", "declared a target the plan's validation at the freeze found lacking"
    assert states["db.validate"] == "failed" and "dbo.Customers: 7 rows on source, 6 on target" in third.errors["db.validate"]
    operation = world.operations()[-1]["migrationOperationId"]
    assert "migration_validation__" + operation in third.errors["db.validate"], "says which record to clear"
    assert not world.source_writable(), "still a person's decision"


def test_a_validation_weakened_mid_run_while_the_source_is_frozen_is_not_applied_to_that_migration(rehearsal_world, monkeypatch):
    """Was: the plan redeployed without validation while the source was frozen for the cutover, and `done` declared
    a target missing a row. Now the run validates as the plan said at the freeze and rolls back: the source,
    which the DAG froze in this run, is handed back."""
    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")
    dag, world = setup(rehearsal_world, mode="online")
    run = crashed_after(dag, world, "freeze_source")
    states = go_on(run, dag_of(mode="online", validation=OFF)[1])

    assert run.outcome("db") == "rolled_back" and states["db.validate"] == "failed", run.errors
    assert "as the plan said when the DAG froze the source" in run.errors["db.validate"]
    assert world.source_writable()


@pytest.mark.parametrize("entry", [dict(mode="offline"), dict(target="db-prod")], ids=["offline", "SqlDb"])
def test_a_validation_weakened_between_runs_is_applied_only_to_what_it_promised(rehearsal_world, monkeypatch, entry):
    """A run froze the source (an offline restore, a SqlDb copy) and died; the plan was redeployed without
    validation. The next run compares as promised at the freeze: a matching target migrates, a lacking one is
    not declared."""
    dag, world = setup(rehearsal_world, **entry)
    crashed_after(dag, world, "start_migration" if "target" in entry else "freeze_source")
    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")
    later = RunDriver(dag_of(validation=OFF, **entry)[1], world.observe)
    states = later.run_database("db")

    assert later.outcome("db") == "rolled_back" and states["db.validate"] == "failed", later.errors
    assert "rows on source" in later.errors["db.validate"]


def test_a_copy_adopted_after_its_worker_died_at_the_create_keeps_the_validation_promised_at_its_freeze(rehearsal_world, monkeypatch):
    """start_migration froze the source for a SqlDb copy and its worker died once DMS had created the copy, before it
    recorded the validation the plan promised at the freeze; Airflow's next try adopted the copy, and the plan was
    redeployed without validation while it ran. Was: the adopting try recorded no promise and `done` declared a
    target lacking a row. Now adopting a copy that freezes its source records the promise as its freeze would have."""
    dag, world = setup(rehearsal_world, target="db-prod")
    from migration_orchestration_lib import validation

    def worker_dies(ctx, operation_id):
        raise WorkerCrashed("start_migration, after DMS created the copy")

    run = RunDriver(dag, world.observe)
    with monkeypatch.context() as crash:
        crash.setattr(validation, "promise", worker_dies)
        with pytest.raises(WorkerCrashed):
            run.run_database("db")
    assert len(world.operations()) == 1 and not world.source_writable()
    start = dag.get_task("db.start_migration")
    assert run._run_task(start, first_try=2) == "success", run.errors
    assert len(world.operations()) == 1, "adopted, not created again"

    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")
    states = go_on(run, dag_of(validation=OFF, target="db-prod")[1])

    assert run.outcome("db") != "migrated", "declared a copy the validation promised at its freeze would have found lacking"
    assert states["db.validate"] == "failed" and "rows on source" in run.errors["db.validate"], run.errors


# --- source.database changed ------------------------------------------------------------------------------


def test_a_source_changed_while_its_migration_is_frozen_is_left_to_a_person_who_is_told_of_the_old_source(rehearsal_world):
    """The entry's source.database was edited (Sales to Hr) while the cutover of Sales was under way, its source
    frozen. Was: the migration into the target was taken for another plan's ("let it end, or cancel it"), the
    rollback ended RolledBack, and following the message left Sales frozen for good, with nobody told. Now
    every step fails for a person before touching anything, naming Sales, its record and what to do; put back,
    the next run carries on."""
    dag, world = setup(rehearsal_world, mode="online")
    crashed_after(dag, world, "freeze_source")
    edited = RunDriver(dag_of(mode="online", source_database="Hr", target_database="Sales")[1], world.observe)
    states = edited.run_database("db")

    assert states["db.preflight"] == "failed" and states["db.rollback"] == "failed", edited.errors
    for task in ("db.preflight", "db.rollback"):
        assert KEY in edited.errors[task] and "put the entry's source.database back to Sales" in edited.errors[task]
    assert not world.source_writable() and [op["migrationStatus"] for op in world.operations()] == ["InProgress"]

    put_back = RunDriver(dag, world.observe)
    put_back.run_database("db")
    assert put_back.outcome("db") == "migrated", put_back.errors


@pytest.mark.parametrize("still_works", ["in-flight", "canceling", "copying-after-a-failed-arm-operation"])
def test_a_source_changed_while_dms_still_works_on_its_migration_tells_the_person_to_undo_that_migration_first(
        rehearsal_world, still_works):
    """As above, with DMS still working on the old source's migration. Was: the advice to cancel it came only for a
    migration in flight, so one still copying after a failed ARM operation (or still canceling) got none, and a
    person following the message dropped the freeze of a source whose migration still restored."""
    dag, world = setup(rehearsal_world, mode="online")
    crashed_after(dag, world, "freeze_source")
    if still_works == "canceling":
        world.cancel_slowly(dag_of(mode="online")[0])
    elif still_works == "copying-after-a-failed-arm-operation":
        world.fail_the_last_arm_operation()
    edited = RunDriver(dag_of(mode="online", source_database="Hr", target_database="Sales")[1], world.observe)
    edited.run_database("db")

    told = edited.errors["db.preflight"]
    assert "put the entry's source.database back to Sales" in told, told
    operation = world.operations()[0]["migrationOperationId"]
    if still_works == "canceling":
        assert "wait until DMS reports migration %s Canceled, drop the target database" % operation in told, told
    else:
        assert "cancel DMS migration %s, drop the target database" % operation in told, told


@pytest.mark.parametrize("completed", ["declared migrated", "cutover requested",
                                       "declared migrated, DMS reads it Failed since",
                                       "declared migrated, a later migration failed over it"])
def test_a_source_changed_after_its_migration_completed_never_tells_the_person_to_make_the_old_source_writable(
        rehearsal_world, completed):
    """The entry's source.database was edited (Sales to Hr, the target database kept) once DMS had completed the
    migration of Sales (a run declared it migrated: applications write to the target), or was completing it (its
    cutover requested: the target goes live); or DMS reads that declared migration Failed since, or a later one of
    Sales that failed over it (a person's, through the plan's service). Was: the step's advice said to undo the
    migration yourself: cancel a Completing one, and give Sales back its access before the freeze, which splits the
    writes between the target and a writable Sales (also where DMS reads a declared one ended). Now it says to keep
    Sales frozen and never to cancel that migration or drop its target."""
    dag, world = setup(rehearsal_world, mode="online")
    if completed.startswith("declared migrated"):
        first = RunDriver(dag, world.observe)
        first.run_database("db")
        assert first.outcome("db") == "migrated", first.errors
        if completed != "declared migrated":  # (DMS's statuses in any order; a person's later one through the service)
            with world.world.transaction() as state:
                [record] = [record for key, record in state["databaseMigrations"].items() if key.endswith("/sales")]
                if completed.endswith("failed over it"):
                    record["operations"].append(dict(record["operations"][-1], migrationOperationId=str(uuid.uuid4())))
                record["operations"][-1]["migrationStatus"] = "Failed"
    else:
        crashed_after(dag, world, "final_backup")
        with world.world.transaction() as state:  # the cutover asked for, DMS still completing it
            for key, record in state["databaseMigrations"].items():
                if key.endswith("/sales"):
                    record["operations"][-1]["migrationStatus"] = "Completing"
    edited = RunDriver(dag_of(mode="online", source_database="Hr", target_database="Sales")[1], world.observe)
    edited.run_database("db")

    told = edited.errors["db.preflight"]
    assert "put the entry's source.database back to Sales" in told, told
    assert "give Sales back the access" not in told and "cancel DMS migration" not in told, told
    assert "keep source database Sales frozen until whoever owns that target says nothing uses it" in told, told
    assert not world.source_writable()


def test_a_source_changed_mid_run_after_the_freeze_fails_the_rollback_for_a_person(rehearsal_world):
    dag, world = setup(rehearsal_world, mode="offline")
    run = crashed_after(dag, world, "freeze_source")
    states = go_on(run, dag_of(mode="offline", source_database="Hr", target_database="Sales")[1])

    assert states["db.rollback"] == "failed", run.errors
    assert KEY in run.errors["db.rollback"] and "may still be frozen by the DAG" in run.errors["db.rollback"]
    assert not world.source_writable(), "nothing touched: a person decides"


# --- target changed -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["replicating", "archive"])
def test_a_target_changed_while_a_migration_into_the_old_one_runs_starts_no_second_migration(rehearsal_world, case):
    """Was: DMS keeps one migration per target database, so the run found nothing in the new target and started a
    second migration of the source, leaving the first one running for good (its target restoring; for a
    read-only archive, which carries no freeze marker, even while the first was under way offline). Now
    start_migration refuses, naming that migration; with the target put back the run carries on with it.
    (A source the DAG froze for the old target carries a marker naming it: preflight refuses then,
    `test_freeze_marker.py`.)"""
    mode = "online" if case == "replicating" else "offline"
    dag, world = setup(rehearsal_world, mode=mode)
    if case == "archive":
        world.world.update_database("sql01", "Sales", readOnly=True)
    crashed_after(dag, world, "wait_for_migration" if case == "replicating" else "freeze_source")
    plan, edited = dag_of(mode=mode, target_database="Sales2")
    new_target = WorldView(rehearsal_world, plan.database("db"), plan)
    run = RunDriver(edited, new_target.observe)
    states = run.run_database("db")

    assert states["db.start_migration"] == "failed", run.errors
    assert "no second migration of Sales is started" in run.errors["db.start_migration"]
    assert new_target.operations() == [], "a second migration of the source"
    assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"]

    put_back = RunDriver(dag, world.observe)
    put_back.run_database("db")
    assert put_back.outcome("db") == "migrated", put_back.errors


@pytest.mark.parametrize("still_works", ["canceling", "copying-after-a-failed-arm-operation"])
def test_a_target_changed_while_dms_still_cancels_or_still_copies_into_the_old_one_starts_no_second_migration(
        rehearsal_world, still_works):
    """The migration into the old target is still Canceling (a person canceled it), or still copies (InProgress)
    though its last ARM operation failed: DMS still works on it and may still restore into that target. Was: only
    a migration in flight there refused a second one, so the run started a second migration of the source into the
    new target beside it. Now start_migration refuses, as for one in flight."""
    dag, world = setup(rehearsal_world, mode="online")
    crashed_after(dag, world, "wait_for_migration")
    if still_works == "canceling":
        world.cancel_slowly(dag_of(mode="online")[0])
    else:
        world.fail_the_last_arm_operation()
    assert [op["migrationStatus"] for op in world.operations()] == ["Canceling" if still_works == "canceling" else "InProgress"]
    plan, edited = dag_of(mode="online", target_database="Sales2")
    new_target = WorldView(rehearsal_world, plan.database("db"), plan)
    run = RunDriver(edited, new_target.observe)
    states = run.run_database("db")

    assert states["db.start_migration"] == "failed", run.errors
    refused = run.errors["db.start_migration"]
    assert "no second migration of Sales is started" in refused and "target database Sales on" in refused, refused
    if still_works == "canceling":
        assert "while DMS still cancels that one" in refused and "running for good" not in refused, refused
    assert new_target.operations() == [], "a second migration of the source"


@pytest.mark.parametrize("mode", ["online", "offline"])
def test_a_target_changed_mid_run_while_replicating_has_its_rollback_name_the_old_migration(rehearsal_world, monkeypatch, tmp_path, mode):
    """The plan was redeployed with another target database (Sales2) while this run's migration into Sales
    replicated (online: waiting to be ready for cutover; offline: before its freeze). The run's remaining steps
    find nothing in Sales2 and fail. Was: the rollback ended RolledBack saying nothing of the migration into
    Sales, which runs on, its target restoring, until the next run's start_migration refuses. Now the rollback's
    result (its event) names that migration, says it is left running and what a person does; nothing is
    canceled or removed (whether the plan means Sales or Sales2 only a person knows), the source is writable."""
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    dag, world = setup(rehearsal_world, mode=mode)
    run = crashed_after(dag, world, "start_migration")
    states = go_on(run, dag_of(mode=mode, target_database="Sales2")[1])

    assert states["db.rollback"] == "success" and run.outcome("db") == "rolled_back", run.errors
    [old] = world.operations()
    assert old["migrationStatus"] == "InProgress" and world.target()["state"] == "RESTORING", "left running, its target kept"
    assert world.source_writable()
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    [rolled_back] = [r for r in events if r["Phase"] == "rollback" and r["Status"] == "RolledBack"]
    said = rolled_back["Message"]
    assert old["migrationOperationId"] in said and "target database Sales" in said, said
    assert rolled_back["MigrationOperationId"] == old["migrationOperationId"], "its alert query finds that migration"
    assert "put the target of db back" in said and "cancel it in DMS" in said, said
    with open(os.path.join(str(rehearsal_world), RECORDS_FILE)) as handle:
        claims = [value for key, value in json.load(handle).items() if key.startswith("migration_source_claim__")]
    assert [json.loads(value)["database"] for value in claims] == ["db"], "its source stays claimed while that migration runs on"


def test_a_target_changed_mid_run_while_dms_still_cancels_the_old_migration_has_its_rollback_name_it(rehearsal_world, monkeypatch, tmp_path):
    """As above, but a person canceled the migration into Sales and DMS still reports it Canceling: it may still
    restore there. Was: the rollback found nothing in flight, said nothing of it and released the source's claim.
    Now it names it, says DMS still cancels it (not "left running, not canceled"), and keeps the claim."""
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    dag, world = setup(rehearsal_world, mode="online")
    run = crashed_after(dag, world, "start_migration")
    world.cancel_slowly(dag_of(mode="online")[0])
    states = go_on(run, dag_of(mode="online", target_database="Sales2")[1])

    assert states["db.rollback"] == "success" and run.outcome("db") == "rolled_back", run.errors
    [old] = world.operations()
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    [rolled_back] = [r for r in events if r["Phase"] == "rollback" and r["Status"] == "RolledBack"]
    said = rolled_back["Message"]
    assert old["migrationOperationId"] in said and "left to DMS, which still cancels it" in said, said
    assert "left running" not in said, said
    with open(os.path.join(str(rehearsal_world), RECORDS_FILE)) as handle:
        claims = [value for key, value in json.load(handle).items() if key.startswith("migration_source_claim__")]
    assert [json.loads(value)["database"] for value in claims] == ["db"], "its source stays claimed while DMS cancels"


# --- pins: edits that end safely, though not obviously -----------------------------------------------------


@pytest.mark.parametrize("edit", [("online", "offline"), ("offline", "online")], ids=["online to offline", "offline to online"])
def test_a_mode_edited_while_the_source_is_frozen_cancels_the_migration_and_gives_the_source_back(rehearsal_world, monkeypatch, edit):
    """The other mode's steps never finish the migration DMS runs (an online one has no lastBackupName for the
    offline steps; an offline one never becomes ready for the online cutover): the rollback cancels it and
    unfreezes the source. The replication is lost, no write is."""
    before, after = edit
    dag, world = setup(rehearsal_world, mode=before)
    crashed_after(dag, world, "freeze_source")
    monkeypatch.setattr(task_driver, "MAX_POKES", 40)  # a wait that never ends: fewer pokes than 400 prove it as well
    later = RunDriver(dag_of(mode=after)[1], world.observe)
    states = later.run_database("db")

    assert states["db.rollback"] == "success" and later.outcome("db") == "rolled_back", later.errors
    assert world.source_writable() and not world.was_online
    assert [op["migrationStatus"] for op in world.operations()] == ["Canceled"]


def test_a_source_freeze_edited_after_the_freeze_is_undone_to_the_access_recorded_before_it(rehearsal_world, monkeypatch):
    """The record keeps the access before the first freeze, not the freeze's kind: a rollback under the plan's
    singleUser puts back READ_WRITE, MULTI_USER, and drops the readOnly freeze's marker."""
    dag, world = setup(rehearsal_world, mode="online")
    crashed_after(dag, world, "freeze_source")
    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")
    later = RunDriver(dag_of(mode="online", sourceFreeze="singleUser")[1], world.observe)
    later.run_database("db")

    assert later.outcome("db") == "rolled_back", later.errors
    assert world.source_writable() and not world.source().get("extendedProperties")


def test_a_copy_that_ran_with_writes_allowed_is_not_declared_once_the_plan_forbids_them(rehearsal_world):
    """allowSourceWritesDuringCopy turned off mid-copy: the copy read a moving source, which the plan now says it
    must not; validate refuses it for a person (the source left writable, as it was)."""
    dag, world = setup(rehearsal_world, target="db-prod", allowSourceWritesDuringCopy=True)
    crashed_after(dag, world, "start_migration")
    later = RunDriver(dag_of(target="db-prod")[1], world.observe)
    states = later.run_database("db")

    assert states["db.validate"] == "failed" and "source may hold writes the target lacks" in later.errors["db.validate"]
    assert later.outcome("db") != "migrated" and world.source_writable()


def test_a_copy_whose_validation_failed_migrates_again_into_another_target_database_deployed_with_its_schema(rehearsal_world, monkeypatch):
    """The way on after a SqlDb copy failed validation and rolled back (the runbook's "name another target database"),
    end to end: a new run refuses the completed copy and says what to do, including deploying the new target with the
    source's schema (DMS copies data only); named but not deployed, preflight refuses it; deployed, it migrates there."""
    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")
    dag, world = setup(rehearsal_world, target="db-prod")
    first = RunDriver(dag, world.observe)
    first.run_database("db")
    assert first.outcome("db") == "rolled_back" and world.source_writable(), first.errors
    monkeypatch.delenv("MIGRATION_SIMULATE_MISMATCH")

    again = RunDriver(dag, world.observe)
    again.run_database("db")
    refusal = again.errors["db.validate"]
    assert "name another target database in the plan (databases[].target.database; deploy that database with the " \
           "source's schema on db-prod first" in refusal, refusal

    plan, renamed = dag_of(target="db-prod", target_database="Sales2")
    new_target = WorldView(rehearsal_world, plan.database("db"), plan)
    named_only = RunDriver(renamed, new_target.observe)
    named_only.run_database("db")
    assert "SqlDb target database Sales2 must exist, with its schema" in named_only.errors["db.preflight"], named_only.errors
    assert new_target.source_writable()

    schema = {name: dict(table, rows=[]) for name, table in new_target.source()["tables"].items()}
    new_target.world.put_database(new_target.target_server, "Sales2", tables=schema)  # the person deploys it
    last = RunDriver(renamed, new_target.observe)
    last.run_database("db")
    assert last.outcome("db") == "migrated", last.errors
    assert new_target.target()["state"] == "ONLINE" and not new_target.source_writable()
    assert world.target() is not None, "the first target, which existed before, is kept"


def test_the_next_rehearsal_deploys_a_sqldb_target_database_the_plan_names_anew_with_the_sources_schema(rehearsal_world):
    """dags/README "Rehearsal": each rehearsal (a new process) seeds what the plan names and its kept world lacks, so
    the step a person takes in Azure before renaming a SqlDb target (deploying it with the schema) is taken for them;
    the old target is left as it was."""
    from migration_orchestration_lib import rehearsal

    _, world = setup(rehearsal_world, target="db-prod")
    old = world.target()
    rehearsal.stop_servers()  # what a new rehearsal process starts from
    plan, _ = dag_of(target="db-prod", target_database="Sales2")
    seed_world(world.world, plan)

    new_target = WorldView(rehearsal_world, plan.database("db"), plan).target()
    assert sorted(new_target["tables"]) == sorted(world.source()["tables"])
    assert all(table["rows"] == [] for table in new_target["tables"].values())
    assert world.target() == old


# --- target server moved (its resourceId edited, the entry's name kept) ------------------------------------


def moved(target, mode):
    """The plan with the `targetServers` entry `target` pointing at another server of its kind (its resourceId edited,
    its name kept: the freeze marker names the entry and the old server's ARM id)."""
    document = plan_with_databases([database_entry("db", "Sales", mode=mode, target=target)])
    document["targetServers"] = [dict(server) for server in document["targetServers"]]
    for server in document["targetServers"]:
        if server["name"] == target:
            server["resourceId"] += "-moved"
    plan = parse_plan(document)
    return plan, build_dag(plan, {"MIGRATION_DRY_RUN": "1"})


def add_moved_server(world, plan):
    """The server the entry points at now exists, as the team built it (a SQL database with the source's schema)."""
    database, server = plan.database("db"), plan.target_of(plan.database("db"))
    world.world.add_server(server.resource_id.name, server.kind)
    if server.kind == "SqlDb":
        tables = {name: dict(table, rows=[]) for name, table in world.source()["tables"].items()}
        world.world.put_database(server.resource_id.name, database.target_database, tables=tables)


MOVED_WHILE_DMS_FINISHES = [("mi-prod", "offline", "final_backup"), ("vm-prod", "offline", "final_backup"),
                            ("db-prod", "offline", "start_migration"), ("mi-prod", "online", "cutover")]


@pytest.mark.parametrize("target,mode,crash", MOVED_WHILE_DMS_FINISHES, ids=["offline SqlMi", "offline SqlVm", "SqlDb copy", "online cutover requested"])
@pytest.mark.parametrize("when", ["mid run", "next run"])
def test_a_target_server_moved_while_dms_finishes_the_old_migration_keeps_the_source_frozen(rehearsal_world, target, mode, crash, when):
    """The target server's resourceId was edited (the entry's name kept) once the source was frozen for a migration DMS
    finishes by itself (an offline restore told of its final backup, a SqlDb copy, a cutover requested). The steps find
    nothing in the new server. Was: the rollback made the source writable (the freeze marker named the entry alone, which
    did not change), while DMS brought the old target online without the writes made since. Now it keeps the source
    frozen for a person: the marker names the old server's ARM id, not the entry's (a copy of the plan in another
    Airflow could have written it), and the person is told to put the entry back; nothing is canceled or removed."""
    dag, world = setup(rehearsal_world, mode=mode, target=target)
    run = crashed_after(dag, world, crash)
    plan, edited = moved(target, mode)
    add_moved_server(world, plan)
    if when == "mid run":
        states = go_on(run, edited)
    else:
        run = RunDriver(edited, world.observe)
        states = run.run_database("db")

    assert states["db.rollback"] == "failed", run.errors
    [old] = world.operations()
    assert old["migrationStatus"] in ("InProgress", "Completing"), old["migrationStatus"]
    assert not world.source_writable(), "the source writable while DMS finishes the migration into the old server"
    said = run.errors["db.rollback"]
    assert "source database Sales kept as it is" in said and "to another target, %s/Sales" % target in said, said
    assert "put it back as it was and run again" in said and "makes it writable" not in said, said


@pytest.mark.parametrize("target,mode", [("mi-prod", "offline"), ("mi-prod", "online"), ("vm-prod", "online"), ("db-prod", "offline")])
def test_a_target_server_moved_after_a_handoff_never_makes_the_declared_source_writable_nor_migrates_it_again(rehearsal_world, target, mode):
    """A run migrated and declared db (applications use its target); then the target server's resourceId was edited
    (the entry's name kept). Was: the next run migrated the source, frozen since the handoff, into the new server and
    declared that one migrated too (two declared targets: whoever moves applications to the second loses what they
    wrote since); where that migration failed, its rollback made the source writable beside the declared target
    applications write to (split). Now preflight refuses, nothing starts in the new server, and the rollback keeps
    the source frozen for a person, both naming the declared migration."""
    dag, world = setup(rehearsal_world, mode=mode, target=target)
    first = RunDriver(dag, world.observe)
    first.run_database("db")
    assert first.outcome("db") == "migrated", first.errors
    [declared] = world.operations()
    plan, edited = moved(target, mode)
    add_moved_server(world, plan)
    run = RunDriver(edited, world.observe)
    states = run.run_database("db")

    assert states["db.preflight"] == "failed" and states["db.rollback"] == "failed", run.errors
    assert world.operations() == [declared], "a second migration of a declared source"
    assert not world.source_writable(), "the source of a declared migration made writable"
    for task in ("db.preflight", "db.rollback"):
        said = run.errors[task]
        assert "source database Sales kept frozen: a run declared DMS migration %s" % declared["migrationOperationId"] in said, said
        assert "put the target of db back" in said and "airflow variables set migration_migrated__%s ''" % declared["migrationOperationId"] in said, said

    # A person made sure nothing uses the first target and cleared its record, as the message says: the next run migrates.
    FileRecords(str(rehearsal_world), RECORDS_FILE).put("migration_migrated__" + declared["migrationOperationId"], "")
    again = RunDriver(edited, world.observe)
    again.run_database("db")
    assert again.outcome("db") == "migrated", again.errors


def test_a_target_server_moved_after_a_handoff_and_a_failed_migration_into_the_old_server_keeps_the_source_frozen(rehearsal_world):
    """As above, and then a person started the source's migration again into the old server through the plan's service,
    which DMS failed over the live database: DMS's latest migration into the declared target is that failed one. Was:
    the handoff was looked for only by that migration, found none, and preflight went on to migrate the source, frozen
    since the handoff, into the new server (a second declared target). Now the handoff by target counts too."""
    import uuid

    dag, world = setup(rehearsal_world, mode="online", target="mi-prod")
    first = RunDriver(dag, world.observe)
    first.run_database("db")
    assert first.outcome("db") == "migrated", first.errors
    with world.world.transaction() as state:
        [record] = [record for key, record in state["databaseMigrations"].items() if key.endswith("/sales")]
        record["operations"].append(dict(record["operations"][-1], migrationOperationId=str(uuid.uuid4()), migrationStatus="Failed"))
    plan, edited = moved("mi-prod", "online")
    add_moved_server(world, plan)
    run = RunDriver(edited, world.observe)
    states = run.run_database("db")

    assert states["db.preflight"] == "failed" and states["db.rollback"] == "failed", run.errors
    assert len(world.operations()) == 2, "a second migration of a declared source"
    assert not world.source_writable(), "the source of a declared migration made writable"


@pytest.mark.parametrize("mode,crash", [("online", "freeze_source"), ("online", None), ("offline", None)],
                         ids=["online frozen", "online handed off", "offline handed off"])
def test_a_copy_of_the_plan_in_another_airflow_whose_entry_of_the_same_name_is_another_server_leaves_the_source_alone(
        rehearsal_world, mode, crash):
    """Another Airflow runs a copy of this plan (the same MIGRATION_PLAN_NAME and entry name, mi-prod, on another
    server: a staging copy) naming the same source, frozen by this deployment. Was: the marker's plan and entry name
    matched, so the copy restored its missing record from this deployment's freeze and went on: it migrated the frozen
    source into its own server and declared it migrated (a second declared target), or, its migration refused, its
    rollback made the source writable and dropped the marker under this deployment's migration. Now the marker's
    `targetServerId` is not the copy's server: preflight refuses, nothing starts, nothing is unfrozen."""
    dag, world = setup(rehearsal_world, mode=mode, target="mi-prod")
    if crash:
        crashed_after(dag, world, crash)
    else:
        RunDriver(dag, world.observe).run_database("db")
    ours = world.source()["extendedProperties"]["migration_freeze"]
    operations = world.operations()
    os.remove(os.path.join(str(rehearsal_world), RECORDS_FILE))  # the other Airflow's records: none of this one's
    plan, copy = moved("mi-prod", mode)
    add_moved_server(world, plan)
    run = RunDriver(copy, world.observe)
    states = run.run_database("db")

    assert states["db.preflight"] == "failed", run.errors
    said = run.errors["db.preflight"]
    assert "to another target, mi-prod/Sales" in said and plan.target_of(plan.database("db")).resource_id.value in said, said
    assert "makes it writable" not in said, said
    assert world.operations() == operations, "a migration started into the copy's server"
    assert not world.source_writable() and world.source()["extendedProperties"] == {"migration_freeze": ours}


# --- targetServers entry renamed (its resourceId kept: the same server) ---------------------------------------

RENAMED = "mi-main"


def renamed(target, mode, name=RENAMED):
    """The plan with the `targetServers` entry `target` renamed `name` (the database naming it too), its resourceId
    kept: the same Azure server, as a team tidying its names after deploy would do."""
    document = plan_with_databases([database_entry("db", "Sales", mode=mode, target=target)])
    document["targetServers"] = [dict(server, name=name) if server["name"] == target else server for server in document["targetServers"]]
    document["databases"][0]["target"]["server"] = name
    plan = parse_plan(document)
    return plan, build_dag(plan, {"MIGRATION_DRY_RUN": "1"})


def marker_on_source(world):
    return (world.source().get("extendedProperties") or {}).get("migration_freeze")


def as_written_before_the_server_id(world):
    """The source's freeze marker as versions before `targetServerId` wrote it (a migration frozen, or migrated, before
    the upgrade); returns it."""
    value = json.loads(marker_on_source(world))
    del value["targetServerId"]
    old = json.dumps(value, sort_keys=True, separators=(",", ":"))
    world.world.update_database("sql01", "Sales", extendedProperties={"migration_freeze": old})
    return old


@pytest.mark.parametrize("target,mode", [("mi-prod", "online"), ("db-prod", "offline")])
@pytest.mark.parametrize("marker", ["with its server", "written before targetServerId"])
def test_a_target_server_entry_renamed_after_a_handoff_lets_later_runs_carry_on_with_the_source_kept_frozen(rehearsal_world, target, mode, marker):
    """A run migrated and declared db (applications write to its target); then its `targetServers` entry was renamed,
    the resourceId kept. Was: every later run stopped at preflight on "another plan's" marker (the marker named the
    entry), advising a person to make the source writable and drop the marker: two writable copies. Now the marker
    counts as this plan's: by the server's ARM id it names, or, in a marker written before it, by this Airflow's
    handoff record into that target (a copy of the plan in another Airflow has none). The run carries on as without
    the rename: nothing migrated again, the source kept frozen with its marker."""
    dag, world = setup(rehearsal_world, mode=mode, target=target)
    first = RunDriver(dag, world.observe)
    first.run_database("db")
    assert first.outcome("db") == "migrated", first.errors
    [declared] = world.operations()
    frozen_by = as_written_before_the_server_id(world) if marker != "with its server" else marker_on_source(world)
    plan, edited = renamed(target, mode)
    run = RunDriver(edited, world.observe)
    states = run.run_database("db")

    assert states["db.preflight"] == "success" and run.outcome("db") == "migrated", run.errors
    assert run.run_outcome() == "success", run.errors
    assert world.operations() == [declared], "migrated again"
    assert not world.source_writable() and marker_on_source(world) == frozen_by


ENTRY_RENAMED_MID_MIGRATION = [("mi-prod", "online", "freeze_source"), ("mi-prod", "offline", "final_backup"),
                               ("vm-prod", "offline", "freeze_source"), ("db-prod", "offline", "start_migration")]


@pytest.mark.parametrize("target,mode,crash", ENTRY_RENAMED_MID_MIGRATION, ids=["online frozen", "offline backed up", "SqlVm offline frozen", "SqlDb copy"])
@pytest.mark.parametrize("when", ["mid run", "next run"])
def test_a_target_server_entry_renamed_mid_migration_carries_on_with_that_migration(rehearsal_world, target, mode, crash, when):
    """The source frozen by this plan, not handed off yet; then the `targetServers` entry renamed (resourceId kept).
    Was: preflight refused the marker as another plan's, advising to make the source writable once "plan contoso-sql"
    (this very plan) no longer migrates it, while DMS finished the migration into the target (offline, SqlDb) or
    it waited for its cutover. Now the marker names the server's ARM id: the same target, and the run carries on."""
    dag, world = setup(rehearsal_world, mode=mode, target=target)
    run = crashed_after(dag, world, crash)
    frozen_by = marker_on_source(world)
    plan, edited = renamed(target, mode)
    if when == "mid run":
        go_on(run, edited)
    else:
        run = RunDriver(edited, world.observe)
        run.run_database("db")

    assert run.outcome("db") == "migrated", run.errors
    assert [op["migrationStatus"] for op in world.operations()] == ["Succeeded"]
    assert not world.source_writable() and marker_on_source(world) == frozen_by


@pytest.mark.parametrize("target,mode,crash", [("mi-prod", "offline", "freeze_source"), ("db-prod", "offline", "start_migration")],
                         ids=["offline", "SqlDb copy"])
def test_a_target_server_entry_renamed_mid_migration_rolls_back_dropping_the_marker_written_under_the_old_name(
        rehearsal_world, monkeypatch, target, mode, crash):
    """The run after the rename fails (validation) and rolls back. The unfreeze drops only the marker's exact text:
    it drops the one on the source, written under the entry's old name, not one it would write now (left, it would
    read as this plan's marker beside a cleared record at the next run: stale, a person's to decide)."""
    dag, world = setup(rehearsal_world, mode=mode, target=target)
    crashed_after(dag, world, crash)
    plan, edited = renamed(target, mode)
    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")
    run = RunDriver(edited, world.observe)
    run.run_database("db")

    assert run.outcome("db") == "rolled_back", run.errors
    assert world.source_writable() and marker_on_source(world) is None
    assert records(rehearsal_world)[KEY] == ""


@pytest.mark.parametrize("mode,crash,status,rollback_says", [
    ("online", "freeze_source", "InProgress", "put it back as it was and run again"),
    ("offline", "final_backup", "Succeeded", "source database Sales kept frozen: migration"),  # it completed before this run
])
def test_a_target_server_entry_renamed_under_a_marker_written_before_targetServerId_stops_with_advice_that_keeps_the_source_frozen(
        rehearsal_world, mode, crash, status, rollback_says):
    """The source frozen, before the upgrade, under a marker naming only the entry; then the entry renamed. Nothing
    proves that marker this plan's (a copy of the plan in another Airflow could have written it; DMS's migration into
    the target says nothing of who froze the source), so the run stops, the source kept as it is. Was: the advice was
    to make the source writable and drop the marker once "plan contoso-sql" no longer migrates it: beside a migration
    that DMS completed, or would once cut over. Now it says to put the entry's name back, never to make the source
    writable; with the name back, the run carries on."""
    dag, world = setup(rehearsal_world, mode=mode)
    crashed_after(dag, world, crash)
    old = as_written_before_the_server_id(world)
    plan, edited = renamed("mi-prod", mode)
    run = RunDriver(edited, world.observe)
    states = run.run_database("db")

    assert states["db.preflight"] == "failed" and states["db.rollback"] == "failed", run.errors
    said = run.errors["db.preflight"]
    assert "targetServers entry mi-prod was renamed or edited" in said and "put it back as it was and run again" in said, said
    assert "rename the entry once the database is migrated" in said, said
    assert "no person may make it writable" in said and "makes it writable" not in said, said
    assert rollback_says in run.errors["db.rollback"] and "makes it writable" not in run.errors["db.rollback"], run.errors
    assert not world.source_writable() and marker_on_source(world) == old
    assert [op["migrationStatus"] for op in world.operations()] == [status]

    put_back = RunDriver(dag, world.observe)
    put_back.run_database("db")
    assert put_back.outcome("db") == "migrated", put_back.errors
