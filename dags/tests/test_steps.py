"""Single properties of the steps, on the rehearsal world (real gateway over HTTP, real SQL access
on the fake SQL engine), run task by task with `task_driver`."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from conftest import database_entry, load_plan_document, plan_with_databases
from migration_orchestration_lib import source_freeze, step_context
from migration_orchestration_lib.airflow_compat import AirflowRescheduleException
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.dms_gateway import MigrationTarget
from migration_orchestration_lib.rehearsal import rehearsal_services, seed_world
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE, FileRecords
from migration_orchestration_lib.settings import REHEARSAL_FRESH_READ_PERIOD
from task_driver import RunDriver, WorkerCrashed
from test_writes_after_final_backup import unfreeze_write_refreeze
from test_writes_handed_back import write_to_source
from world_view import WorldView


def setup(directory, *databases, access="direct", **concurrency):
    document = plan_with_databases(list(databases))
    document["concurrency"].update(concurrency)
    if access == "dataFactory":
        document["airflow"] = load_plan_document("fabric_host.json")["airflow"]
    plan = parse_plan(document)
    return plan, build_dag(plan, {"MIGRATION_DRY_RUN": "1"})


def test_cutover_waits_for_the_final_backup_by_name_whatever_backups_follow_it(rehearsal_world):
    plan, dag = setup(rehearsal_world, database_entry("db", "Sales", mode="online"))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    share = plan.source_of(plan.database("db")).backup_file_share.path
    routine = []

    def routine_log_backup_after_the_final_one(task_id):
        """The operator's scheduled log backup job runs right after the final backup, and DMS
        restores it before the DAG looks again: the final backup is no longer the last restored."""
        if task_id == "db.final_backup" and not routine:
            routine.append(world.world.take_backup("sql01", "Sales", "LOG", share + "\\Sales_routine_0001.trn"))
            dms, target = rehearsal_services(plan).dms, MigrationTarget.of(plan, plan.database("db"))
            while not dms.current_migration(target).is_backup_restored("Sales_routine_0001.trn"):
                pass  # every read moves the simulated DMS one step on

    driver = RunDriver(dag, routine_log_backup_after_the_final_one)
    driver.run_database("db")

    assert driver.outcome("db") == "migrated", driver.errors
    final = driver.xcom[("db.final_backup", "return_value")]
    backups = [b["fileName"] for b in world.world.backups("sql01", "Sales")]
    assert backups.index(final) < backups.index("Sales_routine_0001.trn")  # a backup followed the final one
    assert world.operations()[0]["restore"]["restored"][-2:] == [final, "Sales_routine_0001.trn"]


def test_offline_freezes_the_source_then_takes_the_final_backup_dms_was_told_is_last(rehearsal_world):
    plan, dag = setup(rehearsal_world, database_entry("db", "Sales", mode="offline", sourceFreeze="singleUser"))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    driver = RunDriver(dag, world.observe)
    driver.run_database("db")

    assert driver.outcome("db") == "migrated", driver.errors
    [operation] = world.operations()
    last_backup = world.world.backups("sql01", "Sales")[-1]
    assert operation["lastBackupName"] == last_backup["fileName"] == driver.xcom[("db.final_backup", "return_value")]
    assert last_backup["type"] == "LOG"
    # sourceFreeze singleUser: every other connection closed, and no write through the one it allows
    assert world.source()["userAccess"] == "SINGLE_USER" and world.source()["readOnly"] is True
    assert world.target()["tables"] == last_backup["tables"]  # the target holds the frozen source's last state


def test_a_sqldb_copy_may_leave_the_source_writable_when_the_plan_accepts_it(rehearsal_world):
    plan, dag = setup(rehearsal_world, database_entry("db", "Sales", target="db-prod", allowSourceWritesDuringCopy=True))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    driver = RunDriver(dag, world.observe)
    driver.run_database("db")

    assert driver.outcome("db") == "migrated", driver.errors
    assert world.source_writable()


def test_admission_waits_while_the_service_is_full_and_creates_nothing(rehearsal_world):
    plan, dag = setup(rehearsal_world, database_entry("a", "Sales"), database_entry("b", "Crm"), maxMigrationsPerService=1)
    first = RunDriver(dag)
    with pytest.raises(WorkerCrashed):
        first.run_database("a", crash_after="start_migration")  # a's migration is in flight
    second = RunDriver(dag)  # a new run: b's preflight, then one poke of its start_migration
    assert second._run_task(dag.get_task("b.preflight")) == "success"
    start = dag.get_task("b.start_migration")
    with pytest.raises(AirflowRescheduleException):
        start.execute({"ti": _ti(second, start), "run_id": second.run_id, "task_reschedule_count": 0})
    b = WorldView(rehearsal_world, plan.database("b"), plan)
    assert b.operations() == []


def test_a_copy_whose_source_froze_goes_on_when_another_took_the_last_place_meanwhile(rehearsal_world):
    """Through Data Factory the freeze before a SqlDb copy runs across pokes, each poke in and out of
    the admission pool: waiting for a place after it would only hold the source frozen, for hours."""
    document = plan_with_databases([database_entry("a", "Sales", target="db-prod"), database_entry("b", "Hr", target="db-prod")])
    document["concurrency"].update(maxMigrationsPerService=1)
    document["airflow"] = load_plan_document("fabric_host.json")["airflow"]
    plan = parse_plan(document)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    driver = RunDriver(dag)
    for name in ("a", "b"):
        assert driver._run_task(dag.get_task("%s.preflight" % name)) == "success", driver.errors
    start = dag.get_task("a.start_migration")
    context = {"ti": _ti(driver, start), "run_id": driver.run_id, "task_reschedule_count": 0}
    with pytest.raises(AirflowRescheduleException):
        start.execute(context)  # a's freeze submitted as a pipeline run; the pool slot is given back
    assert driver._run_task(dag.get_task("b.start_migration")) == "success", driver.errors  # b takes the place

    for _ in range(20):
        try:
            start.execute(context)
            break
        except AirflowRescheduleException:
            continue
    a = WorldView(rehearsal_world, plan.database("a"), plan)
    assert len(a.operations()) == 1, "a's copy started: its source is not held frozen waiting for a place"


def test_preflight_refuses_a_target_it_did_not_create_and_rollback_leaves_it(rehearsal_world):
    plan, dag = setup(rehearsal_world, database_entry("db", "Sales"))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    seed_world(world.world, plan)
    world.world.put_database("mi-contoso-prod", "Sales", tables={})  # someone else's database
    driver = RunDriver(dag)
    states = driver.run_database("db")

    assert states["db.preflight"] == "failed" and "refusing to overwrite it" in driver.errors["db.preflight"]
    assert states["db.rollback"] == "success"
    assert world.target() is not None and world.operations() == []


def _ti(driver, task):
    from task_driver import _TaskInstance

    return _TaskInstance(driver.xcom, task.task_id, 1, task.retries)


@pytest.mark.parametrize("left", [{"readOnly": True}, {"userAccess": "SINGLE_USER"}], ids=["read-only", "single-user"])
def test_a_rollback_that_died_halfway_is_finished_before_a_new_migration_starts(rehearsal_world, monkeypatch, left):
    """A source left READ_ONLY, or in an access mode other than MULTI_USER, counts as frozen."""
    monkeypatch.setenv("MIGRATION_SIMULATE_FAILURE", "db")
    plan, dag = setup(rehearsal_world, database_entry("db", "Sales", mode="offline"))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    failed = RunDriver(dag)
    failed.run_database("db")
    assert failed.outcome("db") == "rolled_back", failed.errors
    # as if rollback died before unfreezing: the source frozen, the record of its access before the freeze still there
    world.world.update_database("sql01", "Sales", **left)
    FileRecords(str(rehearsal_world), RECORDS_FILE).put(
        source_freeze.record_key(plan.database("db")), json.dumps({"readOnly": False, "userAccess": "MULTI_USER"}))

    finishing = RunDriver(dag)
    states = finishing.run_database("db")
    assert states["db.preflight"] == "failed" and "left the source frozen" in finishing.errors["db.preflight"]
    assert states["db.rollback"] == "success" and world.source_writable()

    retry = RunDriver(dag)
    retry.run_database("db")
    assert retry.outcome("db") == "migrated", retry.errors
    assert [operation["migrationStatus"] for operation in world.operations()] == ["Failed", "Succeeded"]


def test_cutover_is_never_requested_before_the_final_backup_is_restored(rehearsal_world):
    """Cutover checks the final backup itself, whatever ran before it: completing the migration
    without that file would lose the writes it holds."""
    plan, dag = setup(rehearsal_world, database_entry("db", "Sales", mode="online"))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    driver = RunDriver(dag)
    for task in ("preflight", "start_migration", "wait_for_migration", "freeze_source"):  # no final_backup
        assert driver._run_task(dag.get_task("db." + task)) == "success", driver.errors

    assert driver._run_task(dag.get_task("db.cutover")) == "failed"
    assert "is not restored yet" in driver.errors["db.cutover"]
    assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"], "no cutover requested"


def test_a_start_after_a_failed_copy_is_checked_like_a_first_start(rehearsal_world, monkeypatch):
    """Preflight's checks before a start hold for every new migration, not only the first: after a
    failed SqlDb copy, a target that lost a source table meanwhile is refused before the source freezes."""
    monkeypatch.setenv("MIGRATION_SIMULATE_FAILURE", "db")
    plan, dag = setup(rehearsal_world, database_entry("db", "Sales", target="db-prod"))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    failed = RunDriver(dag)
    failed.run_database("db")
    assert failed.outcome("db") == "rolled_back" and world.source_writable(), failed.errors
    target = world.target()
    missing = sorted(target["tables"])[0]
    world.world.update_database(world.target_server, "Sales", tables={k: v for k, v in target["tables"].items() if k != missing})

    retry = RunDriver(dag)
    states = retry.run_database("db")
    assert states["db.preflight"] == "failed" and missing in retry.errors["db.preflight"], retry.errors
    assert world.source_writable() and len(world.operations()) == 1, "nothing started or frozen"


@pytest.mark.parametrize("foreign_name", [None, "Sales_last.trn"], ids=["no-lastBackupName", "a-name-not-the-dags"])
def test_an_offline_migration_the_dag_did_not_start_is_not_adopted(rehearsal_world, monkeypatch, foreign_name):
    """An offline migration of the source that DMS finishes on a lastBackupName the DAG did not choose
    (none: after the backups already in the share; another: a file the DAG's BACKUP LOG may skip as
    already held) would drop the writes made after that backup: start_migration refuses to adopt it."""
    from migration_orchestration_lib import steps

    plan, dag = setup(rehearsal_world, database_entry("db", "Sales", mode="offline"))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    # someone started it outside the DAG: stands in as a start whose name the DAG did not choose
    with monkeypatch.context() as patch, pytest.raises(WorkerCrashed):
        patch.setattr(steps, "offline_final_backup_name", lambda ctx: foreign_name)
        RunDriver(dag).run_database("db", crash_after="start_migration")

    driver = RunDriver(dag)
    states = driver.run_database("db")

    assert states["db.start_migration"] == "failed", driver.errors
    assert "was not started by this DAG" in driver.errors["db.start_migration"]
    assert states["db.freeze_source"] == "upstream_failed" and world.source_writable()
    assert states["db.rollback"] == "success" and driver.outcome("db") != "migrated"
    # canceled; or, with no lastBackupName, DMS finished it first: the run failed, the source stayed authoritative
    [operation] = world.operations()
    assert operation["migrationStatus"] in (("Canceled",) if foreign_name else ("Canceled", "Succeeded"))


def test_a_final_backup_msdb_does_not_record_fails_the_step(rehearsal_world, monkeypatch):
    """The final backup is judged by its batch's answer too, not only by the absence of an error: a
    BACKUP LOG after which msdb records no backup to that file (its history purged meanwhile, say) is
    not taken for the backup DMS is told to restore."""
    from migration_orchestration_lib.database_sql import DatabaseSql

    plan, dag = setup(rehearsal_world, database_entry("db", "Sales", mode="offline"))
    take_backup = DatabaseSql.backup_log
    monkeypatch.setattr(DatabaseSql, "backup_log", lambda self, *args, **kwargs: take_backup(self, *args, **kwargs) and [])

    driver = RunDriver(dag)
    states = driver.run_database("db")

    assert states["db.final_backup"] == "failed", driver.errors
    assert "msdb records no log backup of Sales" in driver.errors["db.final_backup"]
    assert driver.outcome("db") != "migrated"


def test_a_final_backup_whose_history_msdb_purged_is_never_taken_again_over_its_file(rehearsal_world):
    """msdb's backup history purged (a nightly sp_delete_backuphistory) right after final_backup took the backup, and
    a person writes to the source (writable, a write, frozen again) before its next poke, while DMS restores the file.
    The poke finds no record in msdb and the file in the share: it takes no backup over it (DMS may have read it: a
    backup over it holds a later log range under the name DMS restored), fails saying why and what to do, and the
    rollback hands the source back with the write. Before: BACKUP ... WITH INIT over that file."""
    plan, dag = setup(rehearsal_world, database_entry("db", "Sales", mode="online"))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    final = []

    def purge_then_write(task_id):
        world.observe(task_id)
        if task_id == "db.final_backup" and not final:
            final.extend(b for b in world.world.backups("sql01", "Sales") if "_final_" in b["fileName"])
            world.world.purge_backup_history("sql01", "Sales")
            final.append(unfreeze_write_refreeze(world))

    driver = RunDriver(dag, purge_then_write)
    states = driver.run_database("db")

    taken, table = final
    [in_share] = [b for b in world.world.backups("sql01", "Sales") if b["fileName"] == taken["fileName"]]
    assert (in_share["sequence"], in_share["lastLsn"]) == (taken["sequence"], taken["lastLsn"]), "the final backup was overwritten"
    assert states["db.final_backup"] == "failed", (states, driver.errors)
    error = driver.errors["db.final_backup"]
    for said in (taken["fileName"], "records no log backup of Sales", "history purged", "never backs up over it",
                 "Leave the file in the share", "trigger a new DAG run"):
        assert said in error, error
    assert states["db.rollback"] == "success" and driver.outcome("db") != "migrated"
    assert world.source_writable(), "handed back"
    assert world.source()["tables"][table]["rows"][0][1] == "written after the final backup"


def _validate_a_copy_lacking_a_table(rehearsal_world, narrow):
    """Run the database until DMS restored the copy, then drop the copy's last table and let `narrow(world, tables,
    lacking)` change the DAG's logins; returns the driver and the task states."""
    plan, dag = setup(rehearsal_world, database_entry("db", "Sales", mode="offline"))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    changed = []

    def narrowed_once_dms_restored_the_copy(task_id):
        world.observe(task_id)
        target = world.target()
        if task_id != "db.wait_for_migration" or changed or target is None or target["state"] != "ONLINE":
            return
        changed.append(True)
        lacking = sorted(target["tables"])[-1]
        world.world.update_database(world.target_server, "Sales", tables={k: v for k, v in target["tables"].items() if k != lacking})
        narrow(world, sorted(target["tables"]), lacking)

    driver = RunDriver(dag, narrowed_once_dms_restored_the_copy)
    states = driver.run_database("db")
    assert changed and states["db.validate"] == "failed", (states, driver.errors)
    assert driver.outcome("db") != "migrated"
    return driver.errors["db.validate"]


@pytest.mark.parametrize("sees", ["one-table", "no-table"])
def test_validate_refuses_a_source_login_that_may_not_see_every_table(rehearsal_world, sees):
    """The plan lists no validation.tables, so the fingerprint batch takes every table sys.tables shows the DAG's login
    (metadata visibility). Before: a source login that saw one table of three (or none, the target's none too)
    compared only those, validation passed ("1 table(s) match", "0 table(s) match") and a target lacking a table was
    declared migrated. Now validate fails naming the database, the server, the permission and the GRANT."""
    from migration_orchestration_lib.rehearsal import REHEARSAL_LOGIN

    def permissions_narrowed(world, tables, lacking):  # the copy lacks a table the source login does not see
        seen = {"Sales": {tables[0]: ["SELECT"]}} if sees == "one-table" else {}
        world.world.set_login("sql01", REHEARSAL_LOGIN, ["VIEW SERVER STATE"], {"Sales": ["CONNECT"]}, seen)
        if sees == "no-table":
            world.world.set_login(world.target_server, REHEARSAL_LOGIN, ["VIEW SERVER STATE"], {"Sales": ["CONNECT"]})

    error = _validate_a_copy_lacking_a_table(rehearsal_world, permissions_narrowed)
    assert "the DAG's login on source server sql01 may not see every table of database [Sales]" in error, error
    assert "ALTER ROLE db_datareader ADD MEMBER" in error and "VIEW DEFINITION" in error, error


def test_validate_refuses_a_source_login_denied_the_table_the_copy_lacks(rehearsal_world):
    """The DAG's source login holds SELECT on the database (db_datareader) but is DENIED SELECT on the table the copy
    lacks, which hides it from sys.tables. Before: validation compared the tables left, passed, and the target lacking
    that table was declared migrated. Now validate fails naming the database, the server and the DENY to revoke."""
    from migration_orchestration_lib.rehearsal import REHEARSAL_LOGIN

    def denied(world, tables, lacking):
        world.world.set_login("sql01", REHEARSAL_LOGIN, ["VIEW SERVER STATE"], {"Sales": ["CONNECT", "SELECT"]},
                              denials={"Sales": [{"permission": "SELECT", "on": lacking, "to": REHEARSAL_LOGIN}]})

    error = _validate_a_copy_lacking_a_table(rehearsal_world, denied)
    assert "the DAG's login on source server sql01 may not see every table of database [Sales]: DENY SELECT ON OBJECT::" in error, error
    assert "TO [%s] hides tables from it" % REHEARSAL_LOGIN in error and "REVOKE that DENY" in error, error


def _copy_with_sequences(directory, access, target_sequences):
    """A SqlDb copy of Sales, whose source has an ascending and a descending sequence, handed out to 100 and -50 once
    preflight passed (at 1 and 0 before), and whose target has them at `target_sequences` (the schema's deployment,
    ahead of the source's at preflight); returns the world, driver and states."""
    plan, dag = setup(directory, database_entry("db", "Sales", target="db-prod"), access=access)
    world = WorldView(directory, plan.database("db"), plan)
    seed_world(world.world, plan)

    def sequences(ascending, descending):
        return {"dbo.OrderNumbers": {"currentValue": ascending, "increment": 1},
                "dbo.Countdown": {"currentValue": descending, "increment": -1}}

    world.world.update_database("sql01", "Sales", sequences=sequences(1, 0))
    world.world.update_database(world.target_server, "Sales", sequences=sequences(*target_sequences))

    def used_after_preflight(task_id):
        world.observe(task_id)
        if task_id == "db.start_migration":
            world.world.update_database("sql01", "Sales", sequences=sequences(100, -50))

    driver = RunDriver(dag, used_after_preflight)
    return world, driver, driver.run_database("db")


@pytest.mark.parametrize("access", ["direct", "dataFactory"])
def test_a_sqldb_copy_whose_target_sequences_are_behind_the_sources_fails_validation(rehearsal_world, access):
    """DMS copies rows only: the target's sequences stay where its schema's deployment left them (START WITH), and
    NEXT VALUE FOR on the live target would hand out keys the source handed out already. Before: validation compared
    the tables only and declared the copy migrated. Now it fails naming each sequence and the ALTER SEQUENCE a person
    runs on the target; the copy is never declared, and rolls back as after any mismatch."""
    world, driver, states = _copy_with_sequences(rehearsal_world, access, (2, -1))
    assert states["db.validate"] == "failed" and driver.outcome("db") != "migrated", (states, driver.errors)
    error = driver.errors["db.validate"]
    assert "sequence dbo.OrderNumbers: at 100 on source, 2 on target" in error, error
    assert "ALTER SEQUENCE [dbo].[OrderNumbers] RESTART WITH 101" in error and "ALTER SEQUENCE [dbo].[Countdown] RESTART WITH -51" in error


@pytest.mark.parametrize("access", ["direct", "dataFactory"])
def test_a_sqldb_copy_whose_target_sequences_are_not_behind_the_sources_is_migrated(rehearsal_world, access):
    world, driver, states = _copy_with_sequences(rehearsal_world, access, (101, -51))
    assert driver.outcome("db") == "migrated", driver.errors


@pytest.mark.parametrize("access", ["direct", "dataFactory"])
def test_a_sqldb_copy_whose_source_login_may_not_see_its_sequences_fails_validation(rehearsal_world, access):
    """sys.sequences shows a login only the sequences it holds a permission on, all of them with VIEW DEFINITION on the
    database; SELECT on it (db_datareader), which shows every table, is no permission on a sequence. Before: with the
    DAG's source login so narrowed after preflight, the source's sequence batch read none, validation compared none and
    the copy, whose target sequence is behind the source's, was declared migrated ("1 table(s) and 0 sequence(s)
    match"): NEXT VALUE FOR there hands out keys the source handed out already. Now validate fails naming the side, the
    database and the GRANT."""
    from migration_orchestration_lib.rehearsal import REHEARSAL_LOGIN

    plan, dag = setup(rehearsal_world, database_entry("db", "Sales", target="db-prod"), access=access)
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    seed_world(world.world, plan)
    world.world.update_database("sql01", "Sales", sequences={"dbo.OrderNumbers": {"currentValue": 1, "increment": 1}})
    world.world.update_database(world.target_server, "Sales", sequences={"dbo.OrderNumbers": {"currentValue": 2, "increment": 1}})

    def narrowed_once_the_copy_ran(task_id):
        world.observe(task_id)
        if task_id == "db.wait_for_migration":
            world.world.update_database("sql01", "Sales", sequences={"dbo.OrderNumbers": {"currentValue": 100, "increment": 1}})
            world.world.set_login("sql01", REHEARSAL_LOGIN, ["VIEW SERVER STATE"], {"Sales": ["CONNECT", "SELECT"]})

    driver = RunDriver(dag, narrowed_once_the_copy_ran)
    states = driver.run_database("db")
    assert states["db.validate"] == "failed" and driver.outcome("db") != "migrated", (states, driver.errors)
    error = driver.errors["db.validate"]
    assert "the DAG's login on source server sql01 may not see every sequence of database [Sales]" in error, error
    assert "GRANT VIEW DEFINITION TO [<its user>]" in error, error


@pytest.mark.parametrize("access", ["direct", "dataFactory"])
def test_a_sqldb_copy_whose_sequences_never_handed_out_a_value_is_migrated(rehearsal_world, access):
    """last_used_value NULL on both sides (Azure SQL; SQL Server 2017 on): nothing the target could repeat. Was:
    refused at preflight and failed at validation, current_value START WITH reading alike on both."""
    plan, dag = setup(rehearsal_world, database_entry("db", "Sales", target="db-prod"), access=access)
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    seed_world(world.world, plan)
    unused = {"dbo.OrderNumbers": {"currentValue": 1, "increment": 1, "lastUsedValue": None}}
    world.world.update_database("sql01", "Sales", sequences=unused)
    world.world.update_database(world.target_server, "Sales", sequences=unused)
    driver = RunDriver(dag, world.observe)
    driver.run_database("db")
    assert driver.outcome("db") == "migrated", driver.errors


def test_a_validation_may_run_until_the_deadline_inside_its_direct_poke(rehearsal_world, monkeypatch):
    """One table of terabytes takes hours to count and hash. Before: each fingerprint batch got 600 s per listed table
    (one table: 10 minutes) and, with sqlAccess direct, ran inside one poke of validate, whose execution_timeout (20
    minutes) stopped it: the validation of a correct target failed on every try and its rollback handed the writes
    back to the source beside a target gone live. Now each batch may run until the database's deadline
    (`timeoutMinutes`, the bound of all its work), the target's from when the source's ended, and a direct validate's
    poke lasts that long."""
    from datetime import timedelta

    from migration_orchestration_lib.airflow_compat import utc_now
    from migration_orchestration_lib.sql_access_direct import DirectSqlAccess

    plan, dag = setup(rehearsal_world, database_entry(
        "db", "Sales", mode="offline", validation={"rowCounts": True, "checksums": True, "tables": ["dbo.Orders"]}))
    submitted, submit = [], DirectSqlAccess.submit
    monkeypatch.setattr(DirectSqlAccess, "submit", lambda self, operation: submitted.append((operation, utc_now())) or submit(self, operation))

    driver = RunDriver(dag)
    driver.run_database("db")

    assert driver.outcome("db") == "migrated", driver.errors
    deadline = datetime.fromisoformat(driver.xcom[("db.preflight", "return_value")]["deadline"])
    batches = [(operation, at) for operation, at in submitted if ":validate/" in operation.key]
    assert [operation.key.rsplit("/", 1)[1] for operation, _ in batches] == ["source", "target"]
    for operation, at in batches:
        assert abs(operation.timeout_seconds - (deadline - at).total_seconds()) < 5, (operation.timeout_seconds, deadline, at)
    assert dag.get_task("db.validate").execution_timeout >= timedelta(minutes=720)
    assert dag.get_task("db.freeze_source").execution_timeout == timedelta(minutes=2)  # the rehearsal's step_timeout


@pytest.mark.airflow210
@pytest.mark.airflow26
@pytest.mark.airflow31
def test_a_long_direct_validation_writes_the_running_heartbeat_while_its_batches_run(rehearsal_world, monkeypatch, tmp_path):
    """With sqlAccess direct the fingerprint batches run inside one poke of validate, for hours where a table is
    large. Before: validate wrote no event until they ended, so after `silentMinutes` (30) `migration-stalled`
    (severity 1) fired on a healthy run. Now the batches run in a worker thread and validate writes its `Running`
    heartbeat meanwhile, saying which side's batch has run how long, every `heartbeat` from the first batch's start to
    the last batch's end. Timing shrunk: the heartbeat's 12 minutes are 1.2 s and each side's batch (3 s) runs for 30
    minutes. The beats are counted, not their gaps timed: on a loaded machine a beat comes a second late (a gap of
    2.28 s on CI against the shrunk contract's 1.5 s; in production that second is nothing against 15 minutes), and
    as the beats' schedule does not drift the next one comes early, so their count proves the period whatever the
    load. Without beats while the batches run there are none in that span."""
    import time
    from dataclasses import replace
    from datetime import timedelta, timezone

    from migration_orchestration_lib.sql_access_direct import DirectSqlAccess

    events_file = tmp_path / "events.jsonl"
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(events_file))
    plan, dag = setup(rehearsal_world, database_entry(
        "db", "Sales", mode="offline", validation={"rowCounts": True, "checksums": True, "tables": ["dbo.Orders"]}))
    validate = dag.get_task("db.validate")
    validate.timing = replace(validate.timing, heartbeat=timedelta(seconds=1.2))
    submit = DirectSqlAccess.submit
    batches_ran = []  # (began, ended) of each fingerprint batch

    def counting_and_hashing_for_a_while(self, operation):
        if ":validate/" not in operation.key or self.submitted(operation):
            return submit(self, operation)
        began = datetime.now(timezone.utc)
        time.sleep(3)
        handle = submit(self, operation)
        batches_ran.append((began, datetime.now(timezone.utc)))
        return handle

    monkeypatch.setattr(DirectSqlAccess, "submit", counting_and_hashing_for_a_while)
    driver = RunDriver(dag)
    driver.run_database("db")

    assert driver.outcome("db") == "migrated", driver.errors
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    beats = [event["Message"] for event in events if (event["Phase"], event["Status"]) == ("validate", "Running")]
    assert len(beats) >= 4, [(event["Phase"], event["Status"]) for event in events]
    assert beats[0].startswith("validating: the source's fingerprint batch (row counts and checksums of 1 listed "
                               "table(s)) on sql01 has run for 0 min; it may run until "), beats[0]
    assert "the target's fingerprint batch" in beats[-1], beats
    # One beat per heartbeat while the batches ran, but one: a beat a stall delays past the last batch's end never comes.
    (first_began, _), (_, last_ended) = batches_ran[0], batches_ran[-1]
    beaten = [moment for moment in (datetime.fromisoformat(event["TimeGenerated"]) for event in events
              if (event["Phase"], event["Status"]) == ("validate", "Running")) if first_began <= moment <= last_ended]
    heartbeats_in_span = int((last_ended - first_began) / validate.timing.heartbeat)
    assert len(batches_ran) == 2 and len(beaten) >= heartbeats_in_span - 1, (len(beaten), heartbeats_in_span, beaten)


@pytest.mark.parametrize("plan_file", ["three_databases.json", "data_factory_host.json"], ids=["direct", "dataFactory"])
def test_validate_waits_while_another_connection_holds_a_single_user_source(rehearsal_world, monkeypatch, tmp_path, plan_file):
    """A singleUser freeze closes every other connection, and the one connection SINGLE_USER then allows is taken by
    whoever connects first: an application reconnecting, a monitoring agent. Validation enters the source to read
    its tables and cannot (error 924). Before: its batch failed, and the rollback made the source writable beside a
    correct target gone live, which no run migrates into again. Now validate waits, naming the source and how to
    free it (the source is read-only meanwhile: ending that session loses no write), and validates once it is free."""
    events_file = tmp_path / "events.jsonl"
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(events_file))
    document = plan_with_databases([database_entry("db", "Sales", mode="offline", sourceFreeze="singleUser")], load_plan_document(plan_file))
    plan = parse_plan(document)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    world = WorldView(rehearsal_world, plan.database("db"), plan)

    def waits():
        events = [json.loads(line) for line in events_file.read_text().splitlines()] if events_file.exists() else []
        return [event["Message"] for event in events if event["Phase"] == "validate" and "another connection holds" in event["Message"]]

    later = timedelta(0)
    now = step_context.utc_now
    monkeypatch.setattr(step_context, "utc_now", lambda: now() + later)  # the clock `StepContext.afresh` reads

    def an_application_holds_the_connection_until_validate_waited_twice(task_id):
        nonlocal later
        world.observe(task_id)
        if task_id == "db.freeze_source":
            world.world.update_database("sql01", "Sales", singleUserHolder="an application")
        elif task_id == "db.validate" and len(waits()) == 2:
            world.world.update_database("sql01", "Sales", singleUserHolder=None)
            # Time passes, as between pokes on a host: through Data Factory the read of the held source is adopted
            # until the period of reads made afresh ends (a rehearsal's 30 s), which a task driver's pokes may not reach.
            later = REHEARSAL_FRESH_READ_PERIOD

    driver = RunDriver(dag, an_application_holds_the_connection_until_validate_waited_twice)
    states = driver.run_database("db")

    assert driver.outcome("db") == "migrated", (states, driver.errors)
    assert driver.tries["db.validate"] == 1 and len(waits()) >= 2
    assert "another connection holds source database Sales (SINGLE_USER) on sql01" in waits()[0], waits()
    assert "sys.dm_exec_sessions" in waits()[0] and "KILL <session_id>" in waits()[0], waits()[0]


@pytest.mark.parametrize("listed", [False, True], ids=["every-table", "listed"])
def test_a_restore_validation_through_data_factory_cannot_read_is_refused_before_anything_starts(rehearsal_world, listed):
    """Through Data Factory each side's fingerprints come back in one Lookup, which returns at most 5,000 rows (one
    that returns that many may be cut off: refused). Before: a restore of a source of 5,000 tables started, froze its
    source and went live, then validate failed on every try, and the rollback made the source writable beside a
    correct target no run migrates into again. Now preflight refuses it, nothing started, naming the count and the
    ways on (a host with direct access, or fewer tables listed)."""
    from migration_orchestration_lib.rehearsal import rehearsal_services

    validation = {"rowCounts": True, "checksums": False}
    if listed:
        validation["tables"] = ["dbo.T%04d" % n for n in range(5000)]
    document = plan_with_databases([database_entry("db", "Sales", mode="online", validation=validation)],
                                   load_plan_document("data_factory_host.json"))
    plan = parse_plan(document)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    rehearsal_services(plan)  # seeds the world
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    # Tables without columns (as test_data_factory_server's 5,001): only their count matters here, and every world
    # transaction reads and writes the whole world (with the rehearsal's three columns each: 768 kB, ~6 s of CPU a case).
    world.world.update_database("sql01", "Sales", tables={"dbo.T%04d" % n: {"columns": [], "rows": []} for n in range(5000)})

    driver = RunDriver(dag, world.observe)
    states = driver.run_database("db", crash_after="preflight")  # a preflight that passes ends the test there

    assert states["db.preflight"] == "failed" and states["db.start_migration"] == "upstream_failed", (states, driver.errors)
    assert world.operations() == [] and world.source_writable()
    error = driver.errors["db.preflight"]
    assert "validation compares 5000 tables of Sales" in error and "at most 4999" in error, error
    assert "sqlAccess: direct" in error and "validation.tables" in error, error


def test_an_offline_migration_a_person_starts_while_start_migration_creates_is_not_taken_on(rehearsal_world, monkeypatch):
    """A person starts the source's offline migration through the plan's service, naming a lastBackupName the DAG
    did not choose, between start_migration's read of the target and its create: DMS refuses the create as busy and
    the gateway goes on with the migration it then finds (as after its own lost create). Taken on unchecked, the
    final backup was taken under that name (skipped where msdb already holds such a file) and DMS finished on it,
    the writes made after it lost; the check a later run's adoption makes is made here too."""
    from migration_orchestration_lib import rehearsal, steps
    from migration_orchestration_lib.dms_gateway import MigrationTarget

    plan, dag = setup(rehearsal_world, database_entry("db", "Sales", mode="offline"))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    database, started = plan.database("db"), []
    build = steps.build_migration_request

    def a_person_starts_first(*args, **kwargs):
        if not started:
            services = rehearsal.rehearsal_services(plan)
            started.append(services.dms.start(
                MigrationTarget.of(plan, database), database.source_database,
                lambda: build(plan, database, services.dms.migration_service_id, services.connections),
                last_backup_name="Sales_by_hand.trn").migration_operation_id)
        return build(*args, **kwargs)

    monkeypatch.setattr(steps, "build_migration_request", a_person_starts_first)
    driver = RunDriver(dag, world.observe)
    states = driver.run_database("db")

    assert started and [op["migrationOperationId"] for op in world.operations()] == started, "this run's create was refused"
    assert states["db.start_migration"] == "failed", driver.errors
    assert "was not started by this DAG (lastBackupName Sales_by_hand.trn)" in driver.errors["db.start_migration"]
    assert states["db.freeze_source"] == "upstream_failed" and world.source_writable()
    assert driver.outcome("db") != "migrated"


def test_a_wait_for_a_log_backup_missing_from_the_share_says_what_dms_reports_and_goes_on_once_it_is_there(
        rehearsal_world, monkeypatch, tmp_path):
    """The migration-running-long row tells a person to read `pendingLogBackupsCount=` and `restoreBlockingReason=`
    in the database's latest `Message`: the `Running` heartbeat of `wait_for_migration` carries them as DMS reports
    them (here a log backup taken outside the share: the next one cannot be restored). The row's "fix the log-backup
    job or the share", lived through: once the missing backup is in the share the wait goes on, and the writes it
    held reach the target."""
    events_file = tmp_path / "events.jsonl"
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(events_file))
    plan, dag = setup(rehearsal_world, database_entry("db", "Sales", mode="online"))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    share = plan.source_of(plan.database("db")).backup_file_share.path
    driver = RunDriver(dag, world.observe)
    for task in ("db.preflight", "db.start_migration"):
        assert driver._run_task(dag.get_task(task)) == "success", driver.errors
    write_to_source(world, "written before the missing backup")
    world.world.take_backup("sql01", "Sales", "LOG", "D:\\local\\Sales_1.trn")  # the job wrote it elsewhere
    table = write_to_source(world, "written after it")
    world.world.take_backup("sql01", "Sales", "LOG", share + "\\Sales_2.trn")
    with pytest.raises(AirflowRescheduleException):
        driver.poke("db.wait_for_migration")

    [blocking_reason] = {op["restore"]["blockingReason"] for op in world.operations()}  # what DMS reports
    assert blocking_reason.startswith("Log backup Sales_2.trn starts at LSN"), blocking_reason
    [heartbeat] = [json.loads(line) for line in events_file.read_text().splitlines()
                   if json.loads(line)["Phase"] == "wait_for_migration"]
    assert heartbeat["Status"] == "Running", heartbeat
    assert "pendingLogBackupsCount=1," in heartbeat["Message"], heartbeat["Message"]  # Sales_2.trn, not restorable
    assert "restoreBlockingReason=" + blocking_reason in heartbeat["Message"], heartbeat["Message"]

    with world.world.transaction() as state:
        for backup in state["backups"]["sql01"]:
            if backup["fileName"] == "Sales_1.trn":
                backup["path"] = share + "\\Sales_1.trn"
    chain = [task.task_id for task in driver.chain("db")]
    driver.run_database("db", start=chain.index("db.wait_for_migration"))
    assert driver.outcome("db") == "migrated", driver.errors
    assert world.target()["tables"][table]["rows"][0][1] == "written after it"
