"""A database removed from the plan while its migration was under way (`removed_databases`): Airflow
marks its tasks `removed` and nothing rolls it back, so `run_outcome` reports it, every run, until it is
put back in the plan or a person undid it and cleared its record (`task_driver` on the rehearsal world;
a redeploy is the driver's run going on with the DAG of the edited plan)."""
from __future__ import annotations

import json
import re
import signal
import time
from datetime import timedelta

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.dms_gateway import DmsGateway, DmsUnavailable, MigrationTarget
from migration_orchestration_lib.migration_status import MigrationStatus
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal import SERVICE_ID
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE, FileRecords
from migration_orchestration_lib.rehearsal import seed_world
from migration_orchestration_lib.removed_databases import ListedDatabase, Stranded, plan_databases_key, started_key, stranded_message
from migration_rehearsal import sql_world
from migration_rehearsal.world import World
from migration_orchestration_lib.services import services_for
from migration_orchestration_lib.source_freeze import record_key
from task_driver import RunDriver, WorkerCrashed
from world_view import WorldView

# On Python 3.8 (airflow26) the tests marked below run: with that run's others they reach every line and branch of
# the DAG's code all of this file's tests reach there (dags/README.md, "Python 3.8").

REMOVED = "removed from the plan while its migration was under way"
MI = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data-prod/providers/Microsoft.Sql/managedInstances/mi-contoso-prod"
SQL_SERVER = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Sql/servers/sqlprod"


def dag_of(*databases):
    plan = parse_plan(plan_with_databases(list(databases)))
    return plan, build_dag(plan, {"MIGRATION_DRY_RUN": "1"})


@pytest.fixture
def plan_edits(rehearsal_world, monkeypatch, tmp_path):
    """Plan v1 (`a` from Sales, `b` from Hr), after a first run in which `a` failed and rolled back (so a
    run's end listed both) and `b` migrated; `events()` the rows the DAG wrote since."""
    events = tmp_path / "events.jsonl"
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(events))
    plan, dag = dag_of(database_entry("a", "Sales"), database_entry("b", "Hr"))
    a = WorldView(rehearsal_world, plan.database("a"), plan)
    first = RunDriver(dag, a.fault_after("a.start_migration", "migrate", "migrationFailed", database="Sales", message="restore failed"))
    first.run_database("a")
    first.run_database("b")
    assert (first.outcome("a"), first.outcome("b")) == ("rolled_back", "migrated"), first.errors
    assert first.run_outcome() == "failed"
    events.write_text("")

    class Edits:
        v1 = dag
        records = FileRecords(str(rehearsal_world), RECORDS_FILE)
        world = a

        @staticmethod
        def without_a():
            return dag_of(database_entry("b", "Hr"))[1]

        @staticmethod
        def listed():
            return json.loads(Edits.records.get(plan_databases_key(plan.name)) or "{}").get("databases", [])

        @staticmethod
        def events():
            return [json.loads(line) for line in events.read_text().splitlines()]

    return Edits


def frozen_mid_run(edits):
    """A second run of v1 freezes `a`'s source; then the plan without `a` is deployed (its tasks are removed)."""
    run = RunDriver(edits.v1, edits.world.observe)
    with pytest.raises(WorkerCrashed):
        run.run_database("a", crash_after="freeze_source")
    run.run_database("b")
    assert not edits.world.source_writable()
    run.dag = edits.without_a()
    return run


def test_a_database_removed_while_its_source_is_frozen_fails_the_run_and_raises_the_rollback_alert(plan_edits):
    run = frozen_mid_run(plan_edits)

    assert run.run_outcome() == "failed"
    error = run.errors["run_outcome"]
    assert "1 database(s) removed from the plan mid-migration" in error and REMOVED in error
    assert "a (source database Sales on sql01)" in error
    key = record_key(plan_edits.world.database)
    assert "airflow variables set %s ''" % key in error and '"readOnly": false' in error, "what to write back, and how to clear"
    [event] = [row for row in plan_edits.events() if row["Database"] == "a" and row["Phase"] == "rollback"]
    assert (event["Phase"], event["Status"]) == ("rollback", "Failed") and REMOVED in event["Message"]
    assert not plan_edits.world.source_writable(), "the DAG does not guess: a person decides"


def test_a_stranded_database_is_reported_by_every_later_run_until_its_record_is_cleared(plan_edits):
    frozen_mid_run(plan_edits).run_outcome()
    without_a = plan_edits.without_a()

    later = RunDriver(without_a)
    later.run_database("b")
    assert later.run_outcome() == "failed" and REMOVED in later.errors["run_outcome"]

    cancel_as_told(plan_edits)
    canceled = RunDriver(without_a)
    canceled.run_database("b")
    assert canceled.run_outcome() == "failed", "its source's record is still there"
    assert "DMS runs no migration of it" in canceled.errors["run_outcome"], "no migration to cancel any more"

    plan_edits.records.put(record_key(plan_edits.world.database), "")  # a person gave the source back its access
    cleared = RunDriver(without_a)
    cleared.run_database("b")
    assert cleared.run_outcome() == "success", cleared.errors
    assert [entry["database"] for entry in plan_edits.listed()] == ["b"]


def test_putting_the_database_back_carries_its_migration_on(plan_edits):
    frozen_mid_run(plan_edits).run_outcome()

    again = RunDriver(plan_edits.v1, plan_edits.world.observe)
    again.run_database("a")
    again.run_database("b")

    assert again.outcome("a") == "migrated", again.errors
    assert again.run_outcome() == "success", again.errors


@pytest.mark.airflow26
def test_a_database_removed_after_its_rollback_is_not_reported_and_no_longer_listed(plan_edits):
    run = RunDriver(plan_edits.without_a())  # `a` rolled back in the first run
    run.run_database("b")

    assert run.run_outcome() == "success", run.errors
    assert [entry["database"] for entry in plan_edits.listed()] == ["b"]


def test_a_database_removed_after_done_in_the_same_run_is_not_reported(plan_edits, monkeypatch):
    """The redeploy leaves a's task instances `removed` in the run (the scheduler marks those of tasks gone from the
    DAG), so run_outcome reads no outcome of a (its `done`'s state names no task that pushed one): what keeps a from
    being reported is the handoff `done` recorded in this run, by target too, so even with DMS unreadable."""
    run = RunDriver(plan_edits.v1, plan_edits.world.observe)
    run.run_database("a")
    run.run_database("b")
    assert run.outcome("a") == "migrated", run.errors
    run.dag = plan_edits.without_a()

    def unreachable(self):
        raise DmsUnavailable("could not list the migrations of the migration service: ARM did not answer")

    monkeypatch.setattr(DmsGateway, "migrations_on_service", unreachable)
    assert run.run_outcome() == "success", run.errors
    assert run.states["a.done"] == "removed"
    assert not plan_edits.world.source_writable(), "a migrated source stays frozen"


def test_a_renamed_entry_is_not_a_removal_since_its_source_is_still_in_the_plan(plan_edits):
    run = frozen_mid_run(plan_edits)
    run.dag = dag_of(database_entry("a2", "Sales"), database_entry("b", "Hr"))[1]

    assert run.run_outcome() == "failed"  # a2 has not run in this run yet
    assert REMOVED not in run.errors["run_outcome"] and "removed from the plan" not in run.errors["run_outcome"]


@pytest.mark.airflow26
def test_a_removed_database_whose_name_another_entry_took_is_still_reported(plan_edits):
    """`a` (Sales) removed while frozen, and `b` (Hr) renamed `a`: the outcome of task group `a` is now
    Hr's. Read as the removed Sales's, Hr migrating made the stranded Sales vanish from every later run's
    report and from the list, its source frozen and its migration going on, nobody told."""
    frozen_mid_run(plan_edits).run_outcome()
    a_is_hr = dag_of(database_entry("a", "Hr"))[1]

    later = RunDriver(a_is_hr)
    later.run_database("a")
    assert later.outcome("a") == "migrated", later.errors  # Hr, declared again under its new name

    assert later.run_outcome() == "failed", "the stranded Sales is reported still"
    assert "a (source database Sales on sql01)" in later.errors["run_outcome"] and REMOVED in later.errors["run_outcome"]
    assert [(e["database"], e["sourceDatabase"]) for e in plan_edits.listed()] == [("a", "Hr"), ("a", "Sales")]


@pytest.mark.airflow26
def test_a_source_database_written_in_another_letter_case_is_not_a_removal(plan_edits):
    """SQL Server compares database names without case: `SALES` is the same source still in the plan. Reported
    as removed, the message would have a person cancel the migration the entry carries on."""
    run = frozen_mid_run(plan_edits)
    run.dag = dag_of(database_entry("a", "SALES", target_database="Sales"), database_entry("b", "Hr"))[1]

    assert run.run_outcome() == "failed"  # `a` has not run in this run yet
    assert "removed from the plan" not in run.errors["run_outcome"]
    later = RunDriver(run.dag, plan_edits.world.observe)
    later.run_database("a")
    later.run_database("b")
    assert later.outcome("a") == "migrated", later.errors


# --- a database removed while DMS replicates it (its source not frozen) -------------------------------


def replicating_mid_run(edits):
    """A second run of v1 starts `a`'s online migration, which replicates (its source writable) until the
    worker dies before the freeze; then the plan without `a` is deployed."""
    run = RunDriver(edits.v1, edits.world.observe)
    with pytest.raises(WorkerCrashed):
        run.run_database("a", crash_after="wait_for_migration")
    run.run_database("b")
    run.dag = edits.without_a()
    return run


def test_a_source_undone_by_hand_as_the_report_says_migrates_again_once_put_back(plan_edits, monkeypatch):
    """The 03:00 page (rollback-failed, "removed from the plan"): a person ends it as the report says: cancels
    the migration, drops the RESTORING target, gives the source back its access, clears the record. The source
    still carries the DAG's freeze marker (removed only when the DAG unfreezes it); left there, the run that
    puts the database back stops at preflight for a person (another rollback-failed page, blaming a metadata
    database restored from a backup). The report must name that step too: following it, the database migrates."""
    run = frozen_mid_run(plan_edits)
    run.run_outcome()
    report = run.errors["run_outcome"]
    cancel_as_told(plan_edits)
    world, database = plan_edits.world.world, plan_edits.world.database
    assert world.drop_database(plan_edits.world.target_server, database.target_database)
    # The T-SQL the report prints, as printed, on the source (was: only the record, '{"readOnly": false, ...}', for a
    # person to turn into statements), then the marker's drop it prints, on the writable database.
    printed = re.search(r"the access recorded before the freeze, '[^']*' \((ALTER DATABASE [^)]*)\)", report)
    assert printed, report
    assert printed.group(1) == ("ALTER DATABASE [Sales] SET MULTI_USER WITH ROLLBACK IMMEDIATE; "
                                "ALTER DATABASE [Sales] SET READ_WRITE WITH ROLLBACK IMMEDIATE"), report
    marker = re.search(r"\((EXEC \[Sales\]\.sys\.sp_dropextendedproperty @name = N'migration_freeze')\)", report)
    assert marker, report
    monkeypatch.setenv(sql_world.WORLD_VARIABLE, world.directory)
    cursor = sql_world.connect(server="sql01", user="dba", password="canary-not-a-secret", autocommit=True).cursor()
    for statement in printed.group(1).split("; ") + [marker.group(1)]:
        cursor.execute(statement)
    source = world.database("sql01", "Sales")
    assert (source["readOnly"], source["userAccess"], source.get("extendedProperties") or {}) == (False, "MULTI_USER", {})
    plan_edits.records.put(record_key(database), "")

    again = RunDriver(plan_edits.v1, plan_edits.world.observe)
    again.run_database("a")
    again.run_database("b")

    assert again.outcome("a") == "migrated", again.errors
    assert again.run_outcome() == "success", again.errors


def replicating(edits):
    [operation] = [op for op in edits.world.operations() if op["migrationStatus"] == "InProgress"]
    return operation["migrationOperationId"]


def test_a_database_removed_while_dms_replicates_it_is_reported_naming_the_migration_to_cancel(plan_edits):
    """Waiting for its window (or a place, or caught up, as here) with DMS replicating, the source live:
    nothing finishes or cancels that migration once its tasks are removed. The report names it, says
    canceling it loses nothing, and the DAG leaves it running (a person decides)."""
    run = replicating_mid_run(plan_edits)
    assert plan_edits.world.source_writable()
    operation = replicating(plan_edits)

    assert run.run_outcome() == "failed"
    error = run.errors["run_outcome"]
    assert REMOVED in error and "a (source database Sales on sql01)" in error
    assert "DMS migration %s (InProgress)" % operation in error
    assert error.endswith("and clear the record (the run reports it until then): airflow variables set %s ''"
                          % record_key(plan_edits.world.database)), "the source is writable: the record is cleared all the same"
    assert ("az datamigration sql-managed-instance cancel --resource-group rg-data-prod --managed-instance-name mi-contoso-prod "
            "--target-db-name Sales --migration-operation-id %s" % operation) in error
    [event] = [row for row in plan_edits.events() if row["Database"] == "a" and row["Phase"] == "rollback"]
    assert event["Status"] == "Failed" and event["MigrationOperationId"] == operation
    assert replicating(plan_edits) == operation and plan_edits.world.source_writable(), "left as it is"


@pytest.mark.airflow26
def test_a_database_back_to_replicating_then_removed_is_reported_though_its_freeze_record_is_cleared(plan_edits):
    """A run whose preflight failed (the runtime briefly offline) sends `a` back to replicating: its
    rollback keeps DMS replicating and clears the source's record (nothing frozen). Removed then, it was
    not seen: the runs succeeded and DMS replicated into a RESTORING target for good, nobody told."""
    with pytest.raises(WorkerCrashed):
        RunDriver(plan_edits.v1, plan_edits.world.observe).run_database("a", crash_after="wait_for_migration")
    plan_edits.world.world.set_integration_runtime_state(SERVICE_ID, "Offline")
    offline = RunDriver(plan_edits.v1, plan_edits.world.observe)
    assert offline.run_database("a")["a.rollback"] == "success"
    plan_edits.world.world.set_integration_runtime_state(SERVICE_ID, "Online")
    offline.run_database("b")
    assert offline.run_outcome() == "failed"  # `a` rolled back (back to replicating)
    assert plan_edits.records.get(record_key(plan_edits.world.database)) == ""
    operation = replicating(plan_edits)

    later = RunDriver(plan_edits.without_a())
    later.run_database("b")
    assert later.run_outcome() == "failed", "DMS replicates a database no longer in the plan"
    assert REMOVED in later.errors["run_outcome"] and operation in later.errors["run_outcome"]


def cancel_as_told(edits):
    """A person cancels `a`'s DMS migration, as the report says."""
    plan = parse_plan(plan_with_databases([database_entry("a", "Sales"), database_entry("b", "Hr")]))
    services_for(plan).dms.cancel(MigrationTarget.of(plan, plan.database("a")), replicating(edits))


def test_a_removed_database_whose_migration_a_person_canceled_is_no_longer_reported(plan_edits):
    replicating_mid_run(plan_edits).run_outcome()
    cancel_as_told(plan_edits)
    plan_edits.records.put(record_key(plan_edits.world.database), "")  # the source was never frozen

    later = RunDriver(plan_edits.without_a())
    later.run_database("b")
    assert later.run_outcome() == "success", later.errors
    assert [entry["database"] for entry in plan_edits.listed()] == ["b"]


def canceling_slowly(edits):
    """A person cancels `a`'s migration; DMS goes on reporting it Canceling (the `stillCanceling` fault)."""
    edits.world.world.add_fault("cancel", "stillCanceling", count=50, database="Sales")
    cancel_as_told(edits)
    return "Canceling"


def copying_after_a_failed_arm_operation(edits):
    """`a`'s migration still copies (InProgress) while its last ARM operation reads Failed."""
    with edits.world.world.transaction() as state:
        for key, record in state["databaseMigrations"].items():
            if key.endswith("/sales"):
                record["operations"][-1]["provisioningState"] = "Failed"
    return "InProgress"


@pytest.mark.airflow26
@pytest.mark.parametrize("still_works", [canceling_slowly, copying_after_a_failed_arm_operation],
                         ids=["canceling", "copying-after-a-failed-arm-operation"])
def test_a_database_removed_while_dms_still_cancels_or_still_copies_it_is_reported(plan_edits, still_works):
    """Removed while DMS still cancels its migration, or still copies it though the migration's last ARM operation
    failed (its source writable, its record cleared): DMS may still restore into its target. Before: only migrations in
    flight counted, so the run succeeded and dropped it from the list, nobody told."""
    run = replicating_mid_run(plan_edits)
    operation = replicating(plan_edits)
    status = still_works(plan_edits)
    latest = plan_edits.world.operations()[-1]
    assert (latest["migrationOperationId"], latest["migrationStatus"]) == (operation, status)
    plan_edits.records.put(record_key(plan_edits.world.database), "")  # as after going back to replicating

    assert run.run_outcome() == "failed"
    error = run.errors["run_outcome"]
    assert REMOVED in error and "DMS migration %s (%s)" % (operation, status) in error, error
    if status == "Canceling":
        assert "is still being canceled" in error and "once DMS reports it Canceled" in error and "az datamigration" not in error
    else:
        assert "az datamigration sql-managed-instance cancel" in error
    assert [row["Status"] for row in plan_edits.events() if row["Database"] == "a" and row["Phase"] == "rollback"] == ["Failed"]
    assert [entry["database"] for entry in plan_edits.listed()] == ["b", "a"], "listed until DMS is done with it"


@pytest.mark.airflow26
def test_a_removed_database_dms_could_not_be_asked_about_fails_the_run_warns_and_stays_listed(plan_edits, monkeypatch):
    """DMS unreachable at run_outcome: a database back to replicating (no record) is not known stranded,
    nor known not to be. The run fails saying so, raising no alert but writing a warning (`Retrying`) naming the
    database and why it could not be checked (was: no event at all, nothing in the workbook); the next run looks again."""
    run = replicating_mid_run(plan_edits)
    plan_edits.records.put(record_key(plan_edits.world.database), "")  # as after going back to replicating

    def unreachable(self):
        raise DmsUnavailable("could not list the migrations of the migration service: ARM did not answer")

    with monkeypatch.context() as patched:
        patched.setattr(DmsGateway, "migrations_on_service", unreachable)
        assert run.run_outcome() == "failed"
    assert "whether DMS still migrates it could not be read" in run.errors["run_outcome"]
    [warning] = [row for row in plan_edits.events() if row["Database"] == "a" and row["Phase"] == "rollback"]
    assert warning["Status"] == "Retrying", "a warning, no alert: whether it is stranded is not known"
    assert warning["Message"].startswith("a was removed from the plan") and "ARM did not answer" in warning["Message"], warning
    assert [entry["database"] for entry in plan_edits.listed()] == ["b", "a"]

    later = RunDriver(plan_edits.without_a())
    later.run_database("b")
    assert later.run_outcome() == "failed" and replicating(plan_edits) in later.errors["run_outcome"]


def test_a_removed_database_is_reported_though_arm_throttles_the_first_reads_of_dms(plan_edits):
    """ARM throttles run_outcome's listMigrations past the pipeline's retries (3 requests, each answered 429 with
    Retry-After): a throttle is waited out by reading again (`OUTCOME_DMS_READS`), as a step's poke would. Was: DMS
    read as unreadable at once, the report and its alert did not name the migration DMS replicates for a database no
    longer in the plan (the one to cancel)."""
    run = replicating_mid_run(plan_edits)
    operation = replicating(plan_edits)
    plan_edits.world.world.add_fault("listMigrations", "throttle", count=3, retry_after_seconds=0)

    assert run.run_outcome() == "failed"
    assert "DMS migration %s (InProgress)" % operation in run.errors["run_outcome"], run.errors["run_outcome"]
    assert not plan_edits.world.world.faults(), "every throttled answer was read"
    [event] = [row for row in plan_edits.events() if row["Database"] == "a" and row["Phase"] == "rollback"]
    assert event["Status"] == "Failed" and event["MigrationOperationId"] == operation


@pytest.mark.airflow26
@pytest.mark.parametrize("frozen", [False, True], ids=["replicating", "source-frozen"])
def test_run_outcome_reports_dms_unreadable_before_its_execution_timeout_where_arm_asks_to_wait_a_day(plan_edits, frozen):
    """ARM throttles listMigrations asking to come back in a day (Retry-After: 86400): azure-core sleeps all of it, so
    run_outcome's read outlasted its execution_timeout, which killed the task: no report, no event for a source the
    DAG's freeze may hold, its list of databases not written. Its reads now end with a share of the timeout left (a wait
    that does not fit is not begun): the run fails saying DMS could not be read and what ARM asked, the database stays
    listed, and one known stranded raises its alert."""
    run = frozen_mid_run(plan_edits) if frozen else replicating_mid_run(plan_edits)
    if not frozen:
        plan_edits.records.put(record_key(plan_edits.world.database), "")  # as after going back to replicating
    plan_edits.world.world.add_fault("listMigrations", "throttle", count=50, retry_after_seconds=86400)
    run.dag.get_task("run_outcome").execution_timeout = timedelta(seconds=4)
    def still_reading(signum, frame):
        raise AssertionError("run_outcome still reading DMS after 30 s (its execution_timeout: 4 s)")

    previous = signal.signal(signal.SIGALRM, still_reading)  # the task runs on this thread, as Airflow 2.10 requires
    signal.alarm(30)
    began = time.monotonic()
    try:
        assert run.run_outcome() == "failed"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - began < 20, "run_outcome read DMS past its execution_timeout (4 s)"
    error = run.errors["run_outcome"]
    assert "could not be read" in error and "listMigrations answered HTTP 429 asking to come back in 86400 s (Retry-After)" in error, error
    alerts = [row["Status"] for row in plan_edits.events() if row["Database"] == "a" and row["Phase"] == "rollback"]
    assert alerts == (["Failed"] if frozen else ["Retrying"]), alerts
    assert [entry["database"] for entry in plan_edits.listed()] == ["b", "a"]


@pytest.mark.airflow26
def test_a_database_removed_after_dms_completed_it_undeclared_is_handed_back_only_once_nobody_uses_its_target(plan_edits):
    """DMS completed `a`'s migration (cut over, its target live) and the worker died before validate and done, then `a`
    was removed from the plan: its source is frozen, no run declared the target. Was: "DMS runs no migration of it:
    none began, or it ended", and to give the read-only source back its access, beside a live target a person may have
    moved the applications to already (a writable source beside it splits their writes)."""
    run = RunDriver(plan_edits.v1, plan_edits.world.observe)
    with pytest.raises(WorkerCrashed):
        run.run_database("a", crash_after="wait_for_completion")
    run.run_database("b")
    run.dag = plan_edits.without_a()

    assert run.run_outcome() == "failed"
    error = run.errors["run_outcome"]
    assert REMOVED in error and "DMS completed migration" in error and "which is live" in error, error
    assert "once whoever owns that target says no application uses it" in error, error
    assert not plan_edits.world.source_writable()

    put_back = RunDriver(plan_edits.v1)  # as the message says first: it validates the live target and declares it
    put_back.run_database("a")
    assert put_back.outcome("a") == "migrated", put_back.errors
    assert not plan_edits.world.source_writable()


@pytest.mark.airflow26
def test_a_removed_database_whose_cutover_was_requested_is_never_to_be_canceled():
    listed = ListedDatabase("a", "sql01", "Sales", "SqlMi", False, MI, "Sales")
    completing = MigrationStatus("op-1", "Completing", "Succeeded", "Sales")
    message = stranded_message(None, Stranded(listed, '{"readOnly": false, "userAccess": "MULTI_USER"}', completing))

    assert "DMS migration op-1 (Completing)" in message and "Never cancel it or drop that target" in message
    assert "az datamigration" not in message


@pytest.mark.airflow26
def test_a_removed_sql_database_copy_never_has_its_target_dropped():
    listed = ListedDatabase("c", "sql01", "Crm", "SqlDb", False, SQL_SERVER, "Crm")
    copying = MigrationStatus("op-2", "InProgress", "Succeeded", "Crm")
    message = stranded_message(None, Stranded(listed, "", copying))

    assert "az datamigration sql-db cancel --resource-group rg --sqldb-instance-name sqlprod --target-db-name Crm" in message
    assert "keep the target database, which existed before the migration" in message and "RESTORING" not in message


# --- a database added and removed between the ends of two runs -----------------------------------------


@pytest.fixture
def only_b(rehearsal_world, monkeypatch, tmp_path):
    """Plan v0 (`b` from Hr) migrated by a first run, whose end listed only `b`; v1 adds `a` (Sales)."""
    events = tmp_path / "events.jsonl"
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(events))
    plan, v1 = dag_of(database_entry("a", "Sales"), database_entry("b", "Hr"))
    seed_world(World(str(rehearsal_world)), plan)  # both sources (v0's plan would seed Hr alone)
    v0 = dag_of(database_entry("b", "Hr"))[1]
    first = RunDriver(v0)
    first.run_database("b")
    assert first.run_outcome() == "success", first.errors

    class Edits:
        records = FileRecords(str(rehearsal_world), RECORDS_FILE)
        world = WorldView(rehearsal_world, plan.database("a"), plan)

        @staticmethod
        def started():
            return [item["database"] for item in json.loads(Edits.records.get(started_key(plan.name)) or "{}").get("databases", [])]

        @staticmethod
        def events():
            return [json.loads(line) for line in events.read_text().splitlines()]

    Edits.v0, Edits.v1, Edits.plan = v0, v1, plan
    return Edits


def test_a_database_added_and_removed_before_any_run_ended_is_reported(only_b):
    """`a` added, started (DMS replicating) and removed within one run: no run's end ever listed it. Was:
    the run succeeded, DMS replicating `a` for good, nobody told."""
    run = RunDriver(only_b.v1, only_b.world.observe)
    with pytest.raises(WorkerCrashed):
        run.run_database("a", crash_after="wait_for_migration")
    run.run_database("b")
    assert only_b.started() == ["a", "b"]  # b's of the first run taken in by its end
    run.dag = only_b.v0

    assert run.run_outcome() == "failed"
    error = run.errors["run_outcome"]
    assert REMOVED in error and "a (source database Sales on sql01)" in error and replicating(only_b) in error
    assert [row["Status"] for row in only_b.events() if row["Database"] == "a" and row["Phase"] == "rollback"] == ["Failed"]

    later = RunDriver(only_b.v0)
    later.run_database("b")
    assert later.run_outcome() == "failed" and REMOVED in later.errors["run_outcome"], "every run, until undone"
    assert only_b.started() == ["b"], "start_migration drops what a run's end took in"


@pytest.mark.airflow26
@pytest.mark.parametrize("dms", ["shows it", "forgot it", "reads it failed"])
def test_a_database_added_migrated_and_removed_before_a_run_end_listed_it_is_not_reported(only_b, dms):
    """`a` migrated (declared) in a run whose end never came (killed), then removed: its source stays frozen,
    its record kept, as a migrated one's does; DMS and the handoff say it is done, not stranded. So does the handoff
    by target where DMS forgot the migration (its resource deleted, `DatabaseMigrationsSqlMi_Delete`): before, the
    run's end reported `a` stranded, saying to put it back in the plan (whose preflight then refuses the declared
    target and says to remove it) or to give the source back its access beside the target applications use. And so
    does it where DMS's latest migration into the target reads Failed since (DMS's statuses in any order, or a later
    migration failed over the live database): before, `a` was reported stranded, "DMS runs no migration of it", with
    the advice to give the read-only source back its access."""
    run = RunDriver(only_b.v1, only_b.world.observe)
    run.run_database("a")
    assert run.outcome("a") == "migrated", run.errors
    if dms == "forgot it":
        only_b.world.delete_migration_resource()
    elif dms == "reads it failed":
        with only_b.world.world.transaction() as state:
            [record] = [record for key, record in state["databaseMigrations"].items() if key.endswith("/sales")]
            record["operations"][-1]["migrationStatus"] = "Failed"

    later = RunDriver(only_b.v0)
    later.run_database("b")
    assert later.run_outcome() == "success", later.errors
    assert not only_b.world.source_writable()


@pytest.mark.airflow26
def test_a_removed_database_whose_declared_target_a_later_migration_runs_into_keeps_its_source_frozen(only_b):
    """`a` migrated (declared: applications write to its target), its run's end never came, then removed; meanwhile a
    person started the source's migration again through the plan's service, into that same target, and DMS still
    runs it. The run's end reports it (DMS works on it), but its advice never gives the source back its access beside
    the declared target, nor says the source is what applications use. Was: "cancel it, which loses nothing ... (the
    source stays the database applications use)" and "give it back the access recorded before the freeze"."""
    import uuid

    run = RunDriver(only_b.v1, only_b.world.observe)
    run.run_database("a")
    assert run.outcome("a") == "migrated", run.errors
    with only_b.world.world.transaction() as state:
        [record] = [record for key, record in state["databaseMigrations"].items() if key.endswith("/sales")]
        record["operations"].append(dict(record["operations"][-1], migrationOperationId=str(uuid.uuid4()),
                                         migrationStatus="InProgress"))

    later = RunDriver(only_b.v0)
    later.run_database("b")
    assert later.run_outcome() == "failed", "DMS still runs a migration of it: reported"
    told = later.errors["run_outcome"]
    assert "a (source database Sales on sql01)" in told, told
    assert "give it back the access" not in told and "the source stays the database applications use" not in told, told
    assert "a run declared migrated" in told and "keep the source frozen" in told and "Put it back" not in told, told
    assert not only_b.world.source_writable()


@pytest.mark.airflow26
def test_a_stranded_database_whose_event_run_outcome_could_not_write_is_reported_by_its_retry(only_b, monkeypatch):
    """`a` added, started and removed within one run (only the started record has it). run_outcome's first try takes
    it in (`startedThrough`) and lists it, but the Logs Ingestion API does not take its `Failed`: the retry (Airflow's,
    `EventsNotWritten`) finds it in the list that first try wrote, writes its event once and fails the run; the next
    run reports it again. Was: run_outcome (retries 0) failed with the event only a warning in its log."""
    from migration_orchestration_lib import services

    writer_of = services.event_writer_from_environment
    refused = []

    class RefusesTheFirstRollbackEvent:
        def __init__(self, writer):
            self.writer = writer

        def write(self, row, budget=None):
            if row["Phase"] == "rollback" and not refused:
                refused.append(row)
                return False
            return self.writer.write(row, budget)

        def prove(self, *args, **kwargs):
            return self.writer.prove(*args, **kwargs)

    monkeypatch.setattr(services, "event_writer_from_environment", lambda environ: RefusesTheFirstRollbackEvent(writer_of(environ)))
    run = RunDriver(only_b.v1, only_b.world.observe)
    with pytest.raises(WorkerCrashed):
        run.run_database("a", crash_after="wait_for_migration")
    run.run_database("b")
    run.dag = only_b.v0

    assert run.run_outcome() == "failed" and run.tries["run_outcome"] == 2, run.errors
    assert [(row["Database"], row["Status"]) for row in refused] == [("a", "Failed")]
    error = run.errors["run_outcome"]
    assert error.startswith("migration run failed") and REMOVED in error and replicating(only_b) in error, error
    assert [row["Status"] for row in only_b.events() if row["Database"] == "a" and row["Phase"] == "rollback"] == ["Failed"]

    later = RunDriver(only_b.v0)
    later.run_database("b")
    assert later.run_outcome() == "failed" and REMOVED in later.errors["run_outcome"], "still listed"
