"""Whole runs in rehearsal mode through `dag.test()`: real Airflow scheduling, trigger rules,
reschedules and pools, on the simulated world (DMS contract server, fake SQL engine).

Few and chosen: the crash matrices prove nothing-lost at the task level (test_crash_matrix.py);
these prove Airflow wires it as the task level assumes. Marked for the versions whose hosts need
the proof: a rehearsal with a failure (rolled back, dependents held, others finished, run failed)
and a run cleared with downstream tasks on every version, deferral where a host has a triggerer,
Data Factory SQL on its hosts' versions.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import DAGS_DIR, dag_test, database_entry, load_plan_document, plan_with_databases, renamed_targets_document, write_bundle
from migration_orchestration_lib.airflow_compat import timezone
from migration_orchestration_lib.crash_points import CRASH_EXIT_CODE
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.events import LoggingEventWriter
from migration_orchestration_lib.plan import parse_plan

pytestmark = pytest.mark.usefixtures("airflow_db")

FIRST_DATE = timezone.datetime(2025, 1, 1)


@pytest.fixture
def events(monkeypatch):
    rows = []
    original = LoggingEventWriter.write

    def collect(self, row, budget=None):
        rows.append(row)
        original(self, row, budget)

    monkeypatch.setattr(LoggingEventWriter, "write", collect)
    return rows


@pytest.fixture(autouse=True)
def no_plan_path_left():
    yield
    os.environ.pop("MIGRATION_PLAN_PATH", None)  # run() sets it for the DAG file dag.test() parses


def run(document, logical_date=FIRST_DATE):
    """One `dag.test()` run; returns the run's state and every task's state.

    Airflow 3's `dag.test()` parses the DAG file again, so the plan goes where the file reads it.
    """
    bundle = os.path.join(os.environ["MIGRATION_SIMULATION_DIR"] + "-bundle", logical_date.strftime("%Y%m%d"))
    os.environ["MIGRATION_PLAN_PATH"] = str(write_bundle(Path(bundle), document))
    dag = build_dag(parse_plan(document), os.environ)
    return run_dag(dag, logical_date)


def run_dag(dag, logical_date):
    from airflow.models.dagrun import DagRun

    # Airflow 2.6's dag.test() returns nothing; 2.10's returns the run
    dag_run = dag_test(dag, logical_date) or DagRun.find(dag_id=dag.dag_id, execution_date=logical_date)[0]
    states = {ti.task_id: str(ti.state) if ti.state else None for ti in dag_run.get_task_instances()}
    return str(dag_run.state), states


def events_of(rows, database):
    return [(row["Phase"], row["Status"]) for row in rows if row["Database"] == database]


def world_database(world_dir, server, database):
    from migration_rehearsal.world import World

    return World(str(world_dir)).database(server, database)


@pytest.mark.airflow210
@pytest.mark.airflow26
@pytest.mark.airflow31
def test_a_failure_and_a_mismatch_roll_back_their_databases_hold_dependents_and_fail_the_run(rehearsal_world, events, monkeypatch):
    """Every target kind, each renamed on its target: to_mi's DMS migration fails, archive's
    validation finds a row missing, to_vm depends on to_mi, to_db is independent (and its
    preflight meets DMS answering 500 beyond the client's retries once: it waits that out)."""
    monkeypatch.setenv("MIGRATION_SIMULATE_FAILURE", "to_mi")
    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "archive")
    from migration_rehearsal.world import World

    World(str(rehearsal_world)).add_fault("get", "error", status=500, count=3, database="HrArchive")
    state, states = run(renamed_targets_document(mode="online"))

    assert state == "failed" and states["run_outcome"] == "failed"
    assert states["to_mi.wait_for_migration"] == "failed" and states["to_mi.rollback"] == "success"
    assert events_of(events, "to_mi")[-2:] == [("wait_for_migration", "Failed"), ("rollback", "RolledBack")]
    assert world_database(rehearsal_world, "mi-contoso-prod", "SalesArchive") is None  # restoring, never live: removed
    assert world_database(rehearsal_world, "sql01", "Sales")["readOnly"] is False

    for step in ("preflight", "start_migration", "done"):
        assert states["to_vm.%s" % step] == "upstream_failed"
    assert states["to_vm.rollback"] == "skipped" and events_of(events, "to_vm") == []
    assert world_database(rehearsal_world, "vm1", "Archive") is None  # held: never started

    assert states["to_db.done"] == "success" and states["to_db.rollback"] == "skipped"
    # Azure briefly unavailable is waited out like any other wait (Running, no retry spent), then Succeeded
    assert events_of(events, "to_db")[:2] == [("preflight", "Running"), ("preflight", "Succeeded")]
    assert states["to_db.preflight"] == "success"
    assert ("wait_for_migration", "Running") in events_of(events, "to_db")  # the heartbeat of a rescheduled wait
    validated = [row["Message"] for row in events if (row["Database"], row["Phase"], row["Status"]) == ("to_db", "validate", "Succeeded")]
    assert validated == ["validation passed: 3 table(s) match"]
    assert world_database(rehearsal_world, "sql01", "Hr")["readOnly"] is True  # migrated: its source stays frozen

    assert states["archive.validate"] == "failed" and states["archive.rollback"] == "success"
    assert sorted(row["Database"] for row in events if row["Status"] == "Failed") == ["archive", "to_mi"]
    assert world_database(rehearsal_world, "sql01", "Archive")["readOnly"] is False  # the source is authoritative again
    assert world_database(rehearsal_world, "mi-contoso-prod", "Archive")["state"] == "ONLINE"  # DMS completed it: kept


@pytest.mark.airflow210  # Fabric runs a triggerer too
@pytest.mark.airflow31
def test_where_a_triggerer_exists_waits_are_deferred_and_the_run_completes(rehearsal_world, events, monkeypatch):
    monkeypatch.setenv("MIGRATION_WAIT_MODE", "deferrable")  # hosts with a triggerer (Kubernetes) set it
    state, states = run(plan_with_databases([database_entry("db", "Sales", target="db-prod")]))

    assert state == "success", states
    assert ("wait_for_migration", "Running") in events_of(events, "db")  # it waited, deferred, and resumed


@pytest.mark.airflow210
@pytest.mark.airflow26
@pytest.mark.airflow31
def test_a_rejection_in_the_last_window_fails_await_cutover_and_the_rollback_reads_why_leaving_the_migration_replicating(
        rehearsal_world, events, monkeypatch):
    """Real scheduling of the new failure: the plan's only window (a date window) is rejected, so once it stops fitting
    no window can start the cutover and await_cutover fails (no retry). Its rollback (one_failed) runs after it and
    reads the XCom the failed task pushed (`no_window_left`): it cancels nothing and removes nothing. `run_outcome`
    fails the run naming the database. The events: Failed once (await_cutover), then RolledBack."""
    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-03T12:00:00Z")
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:reject")
    window = {"timeZone": "America/New_York", "from": "2026-12-05T20:00", "to": "2026-12-06T02:00"}
    cutover = {"windows": [window], "expectedMinutes": 30,
               "approval": {"required": True, "approvers": ["alice@contoso.com"], "channel": "airflowVariable"}}
    document = plan_with_databases([database_entry("db", "Sales", mode="online", target="mi-prod", cutover=cutover)])
    state, states = run(document)

    assert state == "failed" and states["run_outcome"] == "failed", states
    assert states["db.await_cutover"] == "failed" and states["db.rollback"] == "success", states
    assert states["db.freeze_source"] == "upstream_failed", states
    mine = events_of(events, "db")
    assert ("await_cutover", "Rejected") in mine and mine.count(("await_cutover", "Failed")) == 1, mine
    assert mine[-2:] == [("await_cutover", "Failed"), ("rollback", "RolledBack")], mine
    rolled_back = [row["Message"] for row in events if (row["Database"], row["Status"]) == ("db", "RolledBack")]
    assert "await_cutover failed, nothing frozen: every cutover window of db is in the past" in rolled_back[0], rolled_back
    assert "keeps replicating and its target is kept" in rolled_back[0], rolled_back
    from world_view import WorldView

    plan = parse_plan(document)
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    assert world.target()["state"] == "RESTORING", "the target is kept"
    assert world.source_writable(), "never frozen"
    assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"], "never canceled"


def clear_with_downstream(dag, run_id, task_id, session):
    """What a person's "Clear" of `task_id` with "Downstream" does to a run: Airflow's own `clear_task_instances` on
    the run's instances of the task and of every task downstream of it (as `DAG.clear` calls it)."""
    from airflow.models.taskinstance import TaskInstance, clear_task_instances
    from migration_orchestration_lib.airflow_compat import AIRFLOW_3

    task_ids = {task_id} | dag.get_task(task_id).get_flat_relative_ids(upstream=False)
    tis = session.query(TaskInstance).filter(
        TaskInstance.dag_id == dag.dag_id, TaskInstance.run_id == run_id, TaskInstance.task_id.in_(task_ids)).all()
    assert {ti.task_id for ti in tis} == task_ids
    clear_task_instances(tis, session, **({} if AIRFLOW_3 else {"dag": dag}))
    session.commit()


def xcom_keys(run_id, task_id):
    """The keys of the XComs task `task_id` holds in the run, read from the metadata database."""
    from airflow.models import xcom
    from airflow.utils.session import create_session

    model = getattr(xcom, "XComModel", None) or xcom.BaseXCom  # Airflow 3 / 2
    with create_session() as session:
        query = model.get_many(run_id=run_id, task_ids=task_id, dag_ids="database_migration_orchestration")
        rows = query.with_session(session).all() if hasattr(query, "with_session") else session.scalars(query).all()
        return {row.key for row in rows}


@pytest.mark.airflow210
@pytest.mark.airflow26
@pytest.mark.airflow31
def test_a_database_held_back_in_a_run_cleared_with_downstream_keeps_its_replication_in_real_airflow(rehearsal_world, monkeypatch):
    """`test_rollback.py`'s held-database case through Airflow's own clear, trigger rules and task state. db depends
    on base; once db's start_migration has started its replication, a person clears base's `validate` with its
    downstream tasks (base's `done`, db's whole chain, the rollbacks, run_outcome), and base's validation fails this
    time (a person made its source writable since, so its target may lack writes: a failure no retry fixes, which
    Airflow 2.6.3's `dag.test()`, counting no tries, needs to end). db's preflight ends upstream_failed without
    running, the XComs of its earlier try still there (Airflow clears a task's XComs only when it runs again), and
    db's rollback (one_failed) runs, asking Airflow for preflight's state in the run: it never ran in this try, so
    nothing is rolled back: the migration replicates on into its RESTORING target. base's `done` ends upstream_failed
    with its earlier try's `migrated` still there, and base's rollback runs: `run_outcome` reports base rolled back,
    from done's state in the run (was: migrated, from that stale XCom)."""
    import airflow.models.dag as airflow_2_dag
    from airflow.utils.session import create_session
    from migration_orchestration_lib.airflow_compat import AIRFLOW_3
    from migration_rehearsal.world import World
    from world_view import WorldView

    document = plan_with_databases([database_entry("base", "Base", target="db-prod"), database_entry("db", "Sales", depends_on=["base"])])
    plan = parse_plan(document)
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    dag_module = airflow_2_dag
    if AIRFLOW_3:
        import airflow.sdk.definitions.dag as dag_module
    run_task, ran, cleared = dag_module._run_task, [], []

    def then_a_person_clears_base_validate(*args, **kwargs):
        result = run_task(*args, **kwargs)
        ti = kwargs.get("ti") or args[0]
        ran.append(ti.task_id)
        if ti.task_id == "db.start_migration" and not cleared:
            cleared.append((ti.run_id, [op["migrationStatus"] for op in world.operations()]))  # dag.test() hides an error here
            World(str(rehearsal_world)).update_database("sql01", "Base", readOnly=False)
            with create_session() as session:
                clear_with_downstream(build_dag(plan, os.environ), ti.run_id, "base.validate", session)
        return result

    monkeypatch.setattr(dag_module, "_run_task", then_a_person_clears_base_validate)
    reports = outcome_reports(monkeypatch)
    state, states = run(document)

    run_id, started = cleared[0]
    assert started == ["InProgress"], "the earlier try started db's migration"
    assert states["base.validate"] == "failed" and states["base.done"] == "upstream_failed", states
    assert states["db.preflight"] == "upstream_failed" and "started" in xcom_keys(run_id, "db.preflight"), "the earlier try's XCom"
    assert states["db.start_migration"] == "upstream_failed" and states["db.rollback"] == "skipped", states
    assert ran.count("db.preflight") == 1 and ran.count("db.rollback") == 1, "it ran, and skipped itself: %s" % ran
    assert state == "failed" and states["run_outcome"] == "failed", states
    assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"], "the replication is never canceled"
    assert world.target() is not None and world.target()["state"] == "RESTORING", "its target is kept"
    assert world.source_writable()
    # base's `done` (upstream_failed) keeps its earlier try's `migrated`: the report says what this try did
    assert states["base.rollback"] == "success" and "outcome" in xcom_keys(run_id, "base.done"), states
    assert reports == [
        "migration run failed: 2 of 2 database(s) not migrated. rolled back: base; not started (a dependency failed or "
        "waits): db; rollback failed or incomplete: -; migrated: -; waiting for the next cutover window (replicating): -"
    ], "was: migrated: base"


def outcome_reports(monkeypatch):
    """What `run_outcome` raises, each time it runs (dag.test() runs tasks in its own process and logs their errors)."""
    from migration_orchestration_lib.operators import RunOutcomeOperator

    reports, execute = [], RunOutcomeOperator.execute

    def reporting(self, context):
        try:
            return execute(self, context)
        except Exception as error:
            reports.append(str(error))
            raise

    monkeypatch.setattr(RunOutcomeOperator, "execute", reporting)
    return reports


DATA_FACTORY_HOSTS = [
    pytest.param("fabric_host.json", "crm", "sql02", marks=pytest.mark.airflow210, id="fabric"),
    pytest.param("data_factory_host.json", "sales", "sql01", marks=pytest.mark.airflow26, id="dataFactory"),
]


@pytest.mark.parametrize("plan_file, database, source_server", DATA_FACTORY_HOSTS)
def test_a_host_without_network_reach_migrates_rolls_back_and_reruns_through_data_factory(
    rehearsal_world, events, monkeypatch, plan_file, database, source_server
):
    """The Fabric and Data Factory examples (sqlAccess dataFactory) on their hosts' Airflow: every
    SQL step is a pipeline run; a failed migration rolls back, a new run on the same world migrates."""
    document = load_plan_document(plan_file)
    source_database = document["databases"][0]["source"]["database"]
    monkeypatch.setenv("MIGRATION_SIMULATE_FAILURE", database)
    state, states = run(document)

    assert state == "failed" and states["%s.rollback" % database] == "success", states
    assert events_of(events, database)[-1] == ("rollback", "RolledBack")
    assert world_database(rehearsal_world, source_server, source_database)["readOnly"] is False

    state, states = run(document, timezone.datetime(2025, 1, 2))

    assert state == "success", states
    assert events_of(events, database)[-1] == ("done", "Succeeded")
    assert world_database(rehearsal_world, source_server, source_database)["readOnly"] is True  # migrated: frozen
    from migration_rehearsal.world import World

    runs = World(str(rehearsal_world)).snapshot()["dataFactoryRuns"]
    assert len(runs) >= 10 and {run["pipelineName"] for run in runs.values()} >= {"migration_sql_query_self_hosted"}


CRASHING_RUN = textwrap.dedent(
    """
    import os, sys
    sys.path[:0] = [%(dags)r, %(tests)r]
    import conftest
    os.environ.update(%(environ)r)  # the parent's Airflow home and metadata database
    from migration_orchestration_lib.airflow_compat import timezone
    from migration_orchestration_lib.dag_factory import build_dag_from_plan_file
    dag = build_dag_from_plan_file(%(plan)r)
    when = timezone.datetime(2025, 1, 1)
    conftest.dag_test(dag, when)
    """
)


def test_a_worker_killed_mid_run_is_continued_by_the_next_run(rehearsal_world, tmp_path, events):
    """MIGRATION_SIMULATE_CRASH kills the process running the DAG; a new run continues on the same world
    and migrates every database of the example plan, each with the one DMS migration it started."""
    plan_file = write_bundle(tmp_path / "bundle", load_plan_document())
    environ = {name: os.environ[name] for name in ("AIRFLOW_HOME", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")}
    environ.update(MIGRATION_DRY_RUN="1", MIGRATION_SIMULATION_DIR=str(rehearsal_world), MIGRATION_SIMULATE_CRASH="database_1:cutover",
                   MIGRATION_PLAN_PATH=str(plan_file))
    script = CRASHING_RUN % {"dags": str(DAGS_DIR), "tests": str(DAGS_DIR / "tests"), "environ": environ, "plan": str(plan_file)}
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert killed.returncode == CRASH_EXIT_CODE, killed.stderr[-3000:]

    state, states = run(load_plan_document(), timezone.datetime(2025, 1, 2))

    assert state == "success", states
    for database in ("database_1", "database_2", "database_3"):
        assert events_of(events, database)[-1] == ("done", "Succeeded")
    assert not [row for row in events if row["Status"] in ("Failed", "Retrying")]
    reporting = world_database(rehearsal_world, "sql01", "Reporting")  # offline: frozen (sourceFreeze singleUser) for its final backup
    assert (reporting["userAccess"], reporting["readOnly"]) == ("SINGLE_USER", True)
    from migration_rehearsal.world import World

    operations = {key: len(record["operations"]) for key, record in World(str(rehearsal_world)).snapshot()["databaseMigrations"].items()}
    assert sorted(operations.values()) == [1, 1, 1], operations
