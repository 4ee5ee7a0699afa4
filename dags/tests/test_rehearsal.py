"""Whole runs in rehearsal mode through `dag.test()`: real Airflow scheduling, trigger rules,
reschedules and pools, on the simulated world (DMS contract server, fake SQL engine).

Few and chosen: the crash matrices prove nothing-lost at the task level (test_crash_matrix.py);
these prove Airflow wires it as the task level assumes. Marked for the versions whose hosts need
the proof: a rehearsal with a failure (rolled back, dependents held, others finished, run failed)
and a run cleared with downstream tasks on every version, deferral where a host has a triggerer,
Data Factory SQL on its hosts' versions.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conftest import DAGS_DIR, dag_test, database_entry, load_plan_document, plan_with_databases, renamed_targets_document, write_bundle
from event_replays import assert_event_replay
from orm_blocked import blocked_in_tasks
from migration_orchestration_lib.airflow_compat import AIRFLOW_3, timezone
from migration_orchestration_lib.crash_points import CRASH_EXIT_CODE
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.events import LoggingEventWriter
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE

pytestmark = pytest.mark.usefixtures("airflow_db")

FIRST_DATE = timezone.datetime(2025, 1, 1)


@pytest.fixture
def events(monkeypatch):
    rows = []
    original = LoggingEventWriter.write

    def collect(self, row, budget=None):
        rows.append(row)
        return original(self, row, budget)

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


SCRATCH_KINDS = {"migration_first_poke", "migration_started_event"}


def records_left(world_dir):
    """The records (the Airflow Variables' stand-ins) a run left, by kind (`migration_<kind>__...`): how many, and how
    many of them empty."""
    with open(os.path.join(str(world_dir), RECORDS_FILE), encoding="utf-8") as file:
        records = json.load(file)
    left = {}
    for key, value in records.items():
        kind = key.split("__")[0]
        count, empty = left.get(kind, (0, 0))
        left[kind] = (count + 1, empty + (value == ""))
    return left


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
    document, since = renamed_targets_document(mode="online"), time.time()
    state, states = run(document)

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
    # Of the run's scratch records (a try's first poke, preflight's Started event, a released claim) no Variable is left:
    # before, 17 emptied first pokes, 3 Started marks and 3 released claims for these 3 databases, for good. What stays is
    # at most one a database of each kind, only empty where that says something ("What the DAG remembers").
    left = records_left(rehearsal_world)
    assert {kind: left[kind] for kind in left if kind in SCRATCH_KINDS or left[kind][0] > 3} == {}, left
    assert {kind for kind, (_, empty) in left.items() if empty} <= {"migration_source_before_freeze"}, left
    assert_event_replay("dms-failed-and-validation-mismatch", events, document, since)


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
def test_every_event_of_a_rescheduled_try_counts_from_the_start_of_its_first_poke(rehearsal_world, events):
    """preflight's first poke takes 3 s (DMS answers its read of the migration service slowly) and ends waiting out ARM
    throttling the list; the next poke passes. Each of its events' DurationSeconds counts from that first poke's start
    (its TimeGenerated less its DurationSeconds is one instant), as do its timeout and the role assignments' grace.
    Was, on Airflow 3: the pokes after the first counted from the try's first reschedule, which Airflow records as it
    happens (execution API `ti_update_state`: `timezone.utcnow()`), the first poke's end: 3 s short; so on Airflow 2's
    `dag.test()`, which does not restore the try's start from the first reschedule as its scheduler does."""
    from migration_rehearsal.world import World

    world = World(str(rehearsal_world))
    world.add_fault("getService", "slow", delay_seconds=3)
    world.add_fault("listMigrations", "throttle", count=4, retry_after_seconds=0)
    state, states = run(plan_with_databases([database_entry("db", "Sales", target="db-prod")]))

    assert state == "success", states
    rows = [row for row in events if (row["Database"], row["Phase"]) == ("db", "preflight")]
    assert [row["Status"] for row in rows] == ["Running", "Succeeded"], rows  # Started goes to `prove`, not `write`
    began = [datetime.fromisoformat(row["TimeGenerated"]) - timedelta(seconds=row["DurationSeconds"]) for row in rows]
    assert max(began) - min(began) < timedelta(seconds=1), [(row["Status"], row["TimeGenerated"], row["DurationSeconds"]) for row in rows]
    assert rows[-1]["DurationSeconds"] >= 3


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


SATURDAY_NIGHT = {"timeZone": "Europe/Berlin", "days": ["Sat"], "start": "22:00", "durationMinutes": 360}


@pytest.mark.airflow210
@pytest.mark.airflow26
@pytest.mark.airflow31
def test_a_dependent_of_a_database_waiting_for_its_window_never_starts_and_an_independent_one_migrates(
        rehearsal_world, events, monkeypatch):
    """Skipped upstreams through Airflow's own trigger rules: `gate` is rejected in every Saturday window up to the
    rehearsal's horizon, so its `await_cutover` ends skipped (waiting, replicating) and its `done` with it; `held`
    depends on `gate` and `after_held` on `held`: their `preflight` (all_success) are skipped, nothing of them runs,
    no event, no migration, their rollbacks (one_failed) skipped. `free` depends on nothing and migrates. The run
    succeeds: a database waiting for its window, and those held only behind it, are no failure."""
    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-03T12:00:00Z")
    monkeypatch.setenv("MIGRATION_SIMULATE_UNTIL", "2026-12-10T00:00:00Z")
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "gate:reject")
    cutover = {"windows": [SATURDAY_NIGHT], "expectedMinutes": 30,
               "approval": {"required": True, "approvers": ["alice@contoso.com"], "channel": "airflowVariable"}}
    document = plan_with_databases([
        database_entry("gate", "Sales", cutover=cutover),
        database_entry("held", "Crm", target="vm-prod", depends_on=["gate"]),
        database_entry("after_held", "Hr", target="db-prod", depends_on=["held"]),
        database_entry("free", "Archive", mode="offline"),
    ])
    reports = outcome_reports(monkeypatch)
    state, states = run(document)

    assert states["gate.await_cutover"] == "skipped" and states["gate.done"] == "skipped", states
    assert states["gate.rollback"] == "skipped", states
    for database in ("held", "after_held"):
        assert {task: value for task, value in states.items() if task.startswith(database + ".")} == {
            task: "skipped" for task in states if task.startswith(database + ".")}, states
        assert events_of(events, database) == [], "never started"
    plan = parse_plan(document)
    from world_view import WorldView

    for database in ("held", "after_held"):
        view = WorldView(rehearsal_world, plan.database(database), plan)
        assert view.operations() == [] and view.source_writable(), "no migration started, the source untouched"
    gate = WorldView(rehearsal_world, plan.database("gate"), plan)
    assert [op["migrationStatus"] for op in gate.operations()] == ["InProgress"] and gate.source_writable()
    assert states["free.done"] == "success" and states["free.rollback"] == "skipped", states
    assert state == "success" and states["run_outcome"] == "success" and reports == [], (state, states, reports)


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


# Each database of the folded real-Airflow run below: the task after which the clear finds it, and its mode. Each
# rollback succeeds: left under way (replicating), back to replicating (mid_cutover), or rolled back (offline_restore).
HELD_BACK = {
    "replicating": ("start_migration", "online"),
    "mid_cutover": ("final_backup", "online"),
    "offline_restore": ("freeze_source", "offline"),
}


@pytest.mark.airflow210
@pytest.mark.airflow26
@pytest.mark.airflow31
def test_a_database_held_back_in_a_run_cleared_with_downstream_keeps_its_replication_in_real_airflow(rehearsal_world, monkeypatch):
    """`test_rollback.py`'s held-database cases through Airflow's own clear, trigger rules and task state, in one run
    (each run of `dag.test()` costs seconds of CPU on every version). Three databases depend on base, each on a source of
    its own, and each is held at one point of its chain (its next task waits) until all three are there; then a person
    clears base's `validate` with its downstream tasks (base's `done`, every chain, the rollbacks, run_outcome), and
    base's validation fails this time (a person made its source writable since, so its target may lack writes: a
    failure no retry fixes, which Airflow 2.6.3's `dag.test()`, counting no tries, needs to end). Each database's
    preflight ends upstream_failed without running, the XComs of its earlier try still there (Airflow clears a task's
    XComs only when it runs again), and its rollback (one_failed) runs, asking Airflow for preflight's state in the
    run: it never ran in this try. `replicating` (its start_migration had started its replication): nothing is rolled
    back, the migration replicates on into its RESTORING target, and the report names it held back with its migration
    under way (was: skipped, "not started"). base's `done` ends upstream_failed with its earlier
    try's `migrated` still there, and base's rollback runs: `run_outcome` reports base rolled back, from done's state
    in the run (was: migrated, from that stale XCom). `mid_cutover` (its final_backup had run, its source frozen by this
    run for the cutover, none requested): its rollback goes back to replicating instead, the freeze undone, the
    replication kept (was: skipped, and the run ended with its source frozen). `offline_restore` (an offline restore
    whose freeze_source had run, before its final backup, the one DMS waits for to finish): rolled back instead, the
    migration canceled, its RESTORING target removed, the freeze undone (was: skipped, the source frozen while DMS
    waited for a final backup no step takes)."""
    import airflow.models.dag as airflow_2_dag
    from airflow.utils.session import create_session
    from migration_orchestration_lib.airflow_compat import AIRFLOW_3
    from migration_rehearsal.world import World
    from world_view import WorldView

    sources = {"replicating": "Sales", "mid_cutover": "Crm", "offline_restore": "Hr"}
    document = plan_with_databases([database_entry("base", "Base", target="db-prod")] + [
        database_entry(name, sources[name], depends_on=["base"], mode=mode) for name, (_, mode) in HELD_BACK.items()])
    document["concurrency"]["maxMigrationsPerSourceServer"] = len(HELD_BACK)  # all three replicate at once from sql01
    plan = parse_plan(document)
    worlds = {name: WorldView(rehearsal_world, plan.database(name), plan) for name in HELD_BACK}
    dag_module = airflow_2_dag
    if AIRFLOW_3:
        import airflow.sdk.definitions.dag as dag_module
    run_task, ran, reached, cleared = dag_module._run_task, [], {}, []

    def held_then_a_person_clears_base_validate(*args, **kwargs):
        ti = kwargs.get("ti") or args[0]
        database, _, task = ti.task_id.partition(".")
        if database in reached and task != "rollback":  # held where the clear finds it: its next task waits (for good)
            time.sleep(0.1)  # dag.test() tries it again at once
            return None
        result = run_task(*args, **kwargs)
        ran.append(ti.task_id)
        if database in HELD_BACK and task == HELD_BACK[database][0] and str(getattr(ti.state, "value", ti.state)) == "success":
            reached[database] = [op["migrationStatus"] for op in worlds[database].operations()]
        if len(reached) == len(HELD_BACK) and not cleared:  # dag.test() hides an error here
            cleared.append(ti.run_id)
            World(str(rehearsal_world)).update_database("sql01", "Base", readOnly=False)
            with create_session() as session:
                clear_with_downstream(build_dag(plan, os.environ), ti.run_id, "base.validate", session)
        return result

    monkeypatch.setattr(dag_module, "_run_task", held_then_a_person_clears_base_validate)
    reports = outcome_reports(monkeypatch)
    state, states = run(document)

    [run_id] = cleared
    assert reached == {name: ["InProgress"] for name in HELD_BACK}, "the earlier try started each migration"
    assert states["base.validate"] == "failed" and states["base.done"] == "upstream_failed", states
    for name, (_, mode) in HELD_BACK.items():
        world = worlds[name]
        assert states[name + ".preflight"] == "upstream_failed" and "started" in xcom_keys(run_id, name + ".preflight"), (
            "%s: the earlier try's XCom" % name)
        assert states[name + ".start_migration"] == "upstream_failed" and states[name + ".rollback"] == "success", (name, states)
        assert ran.count(name + ".preflight") == 1 and ran.count(name + ".rollback") == 1, "%s ran once: %s" % (name, ran)
        if mode == "offline":  # DMS waited for a final backup no step takes: rolled back
            assert [op["migrationStatus"] for op in world.operations()] == ["Canceled"] and world.target() is None, name
        else:
            assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"], "%s: the replication is never canceled" % name
            assert world.target() is not None and world.target()["state"] == "RESTORING", "%s: its target is kept" % name
        assert world.source_writable(), name
    assert state == "failed" and states["run_outcome"] == "failed", states
    # base's `done` (upstream_failed) keeps its earlier try's `migrated`: the report says what this try did
    assert states["base.rollback"] == "success" and "outcome" in xcom_keys(run_id, "base.done"), states
    assert reports == [
        "migration run failed: 4 of 4 database(s) not migrated. rolled back: base, mid_cutover, offline_restore; not "
        "started (a dependency failed or waits): -; held back with its migration under way in DMS, nothing undone (a run "
        "in which what it depends on migrates goes on with it: see its rollback's Succeeded event): replicating; rollback "
        "failed or incomplete: -; migrated: -; waiting for the next cutover window (replicating): -"
    ], "was: migrated: base"


# Not in the other versions' runs (9 s each, on npm test's longest path): only 3.4 archives the failed try's XComs, and
# no environment of npm test runs 3.4 (run by hand there, see dags/README); the logic is held on every version by
# test_xcoms_of_archived_attempts.py.
def test_a_preflight_whose_retry_a_person_marked_failed_is_rolled_back_in_real_airflow(rehearsal_world, monkeypatch):
    """`test_xcoms_of_archived_attempts.py` through Airflow's own retry, trigger rules and task state. db's preflight
    try 1 claims the source, then fails with an error Airflow retries; a person marks the retry failed before it starts
    (the UI's "Mark Failed": the task instance's state set, no run). Airflow 3.4 archives try 1's XComs with its attempt
    as the try fails into the retry (3.3 keeps them): the rollback (one_failed) runs all the
    same and rolls back (was on 3.4: skipped, "never started in this run"), and `run_outcome` reports db rolled back
    (was: not started)."""
    import airflow.models.dag as airflow_2_dag
    from airflow.utils.state import TaskInstanceState
    from migration_orchestration_lib import source_freeze

    document = plan_with_databases([database_entry("db", "Sales")])
    dag_module = airflow_2_dag
    if AIRFLOW_3:
        import airflow.sdk.definitions.dag as dag_module
    run_task, marked, drop_undoing_mark = dag_module._run_task, [], source_freeze.drop_undoing_mark

    def the_metadata_database_does_not_answer_once(*args, **kwargs):
        if not marked:
            raise RuntimeError("the metadata database did not answer")
        return drop_undoing_mark(*args, **kwargs)

    def then_a_person_marks_its_retry_failed(*args, **kwargs):
        ti = kwargs.get("ti") or args[0]
        if ti.task_id == "db.preflight" and marked:  # the retry, scheduled: marked failed before it starts
            ti.set_state(TaskInstanceState.FAILED)
            return None
        try:
            return run_task(*args, **kwargs)  # Airflow 2 raises a task's failure here
        finally:
            if ti.task_id == "db.preflight":
                marked.append((str(getattr(ti.state, "value", ti.state)), sorted(xcom_keys(ti.run_id, ti.task_id))))

    monkeypatch.setattr(source_freeze, "drop_undoing_mark", the_metadata_database_does_not_answer_once)
    monkeypatch.setattr(dag_module, "_run_task", then_a_person_marks_its_retry_failed)
    reports = outcome_reports(monkeypatch)
    state, states = run(document)

    assert marked and marked[0][0] == "up_for_retry", marked
    assert marked[0][1] in ([], ["source_claim", "started"]), "3.4.0b2: [] (archived with try 1); 3.3.2 and before keep them"
    assert states["db.preflight"] == "failed" and states["db.start_migration"] == "upstream_failed", states
    assert states["db.rollback"] == "success", "was on Airflow 3.4: skipped (never started in this run): %s" % states
    assert state == "failed" and states["run_outcome"] == "failed", states
    assert reports and "rolled back: db;" in reports[0], reports


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
    # Fabric runs Airflow 2.10 (the airflow210 run); on Airflow 3 the Data Factory host's row takes the same path.
    pytest.param("fabric_host.json", "crm", "sql02", id="fabric", marks=[pytest.mark.airflow210, pytest.mark.skipif(
        AIRFLOW_3, reason="the Fabric example on Fabric's Airflow 2.10; the Data Factory host's row takes this path here")]),
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
    %(prepare)s
    from migration_orchestration_lib.airflow_compat import timezone
    from migration_orchestration_lib.dag_factory import build_dag_from_plan_file
    dag = build_dag_from_plan_file(%(plan)r)
    when = timezone.datetime(*%(when)r)
    conftest.dag_test(dag, when)
    """
)


@pytest.fixture(autouse=True)
def killed_runs_ended():
    """A run whose process a test killed stays `running` in the metadata database; a later test's DAG run (the HITL
    rehearsal of test_cutover_hitl, in the same process) then waited behind it for ever. Ended after each test."""
    yield
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from migration_orchestration_lib.dag_factory import DAG_ID

    with create_session() as session:
        for stranded in session.query(DagRun).filter(DagRun.dag_id == DAG_ID, DagRun.state == DagRunState.RUNNING):
            stranded.state = DagRunState.FAILED


def crashing_run(plan_file, environ, when=(2025, 2, 1), prepare=""):
    """Runs the DAG of `plan_file` through `dag.test()` in a process of its own, which the crash kills; `prepare`:
    Python run before the DAG is built. `when`: a date no other test's run has (Airflow 2.10's `dag.test()` deletes a
    run of that date first, which fails in that process: `dag_run_note` refers to the FAB `ab_user` it never loads)."""
    script = CRASHING_RUN % {"dags": str(DAGS_DIR), "tests": str(DAGS_DIR / "tests"), "environ": environ, "plan": str(plan_file),
                             "when": when, "prepare": prepare}
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)


def test_a_worker_killed_mid_run_is_continued_by_the_next_run(rehearsal_world, tmp_path, events):
    """MIGRATION_SIMULATE_CRASH kills the process running the DAG; a new run continues on the same world
    and migrates every database of the example plan, each with the one DMS migration it started."""
    plan_file = write_bundle(tmp_path / "bundle", load_plan_document())
    environ = {name: os.environ[name] for name in ("AIRFLOW_HOME", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")}
    environ.update(MIGRATION_DRY_RUN="1", MIGRATION_SIMULATION_DIR=str(rehearsal_world), MIGRATION_SIMULATE_CRASH="database_1:cutover",
                   MIGRATION_PLAN_PATH=str(plan_file), MIGRATION_REHEARSAL_EVENTS_FILE=str(tmp_path / "killed.jsonl"))
    killed = crashing_run(plan_file, environ)
    assert killed.returncode == CRASH_EXIT_CODE, killed.stderr[-3000:]
    # The rehearsal's report of the killed run (no result): database_1, cut short after its cutover, was interrupted,
    # not failed (was: `failed`, as if its migration had failed).
    report = subprocess.run(
        [sys.executable, str(DAGS_DIR.parent / "scripts" / "rehearsal_report.py"), "--events", str(tmp_path / "killed.jsonl"),
         "--result", str(tmp_path / "no-result.json"), "--plan", str(plan_file), "--world", str(rehearsal_world),
         "--summary", str(tmp_path / "summary.json")], capture_output=True, text=True, timeout=120,
    )
    assert report.returncode == 1, report.stdout + report.stderr
    outcomes = {name: entry["outcome"] for name, entry in json.loads((tmp_path / "summary.json").read_text())["databases"].items()}
    assert outcomes["database_1"] == "interrupted" and "failed" not in outcomes.values(), outcomes
    assert "run again with the same --world to continue" in report.stdout, report.stdout

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


LOST_ROLLBACK_DATES = {"mid_rollback": (2025, 3, 1), "after_its_end": (2025, 3, 2)}  # a run each: none deleted


@pytest.mark.airflow210
@pytest.mark.airflow26
@pytest.mark.airflow31
@pytest.mark.parametrize("killed", ["mid_rollback", pytest.param("after_its_end", marks=pytest.mark.skipif(
    AIRFLOW_3, reason="Airflow 3's DAG processor answers the callback's XCom read through its supervisor, not run here"))])
def test_a_rollback_whose_worker_dies_on_its_last_try_is_reported_rollback_failed_by_airflows_own_callback(
        rehearsal_world, tmp_path, events, monkeypatch, killed):
    """The rollback's worker dies (the process running the DAG killed): mid-rollback, no event written; or right after
    its side effects, its RolledBack written (`MIGRATION_SIMULATE_CRASH`). Airflow finds the task without a heartbeat
    and runs its failure handling as its scheduler and DAG processor do (`airflows_callback_for_a_lost_worker`). On a
    try Airflow will run again nothing is written (2.x and 3.3 call the retry callback; 3.1 calls on_failure_callback,
    which sees the retry left); on the last one, mid-rollback, a `rollback` / `Failed` event says the rollback's end is
    unknown and what to do (`rollback-failed` fires); after its end (its outcome in XCom) nothing more. Nothing in the
    world changes: no second rollback. Was: no event at all, no alert, the source possibly frozen. Mid-rollback, the
    run's `run_outcome` then adds nothing on 2.x (the callback's mark) and a second `Failed` on 3.x (the DAG processor
    pushes no XCom)."""
    from migration_rehearsal.world import World

    when = LOST_ROLLBACK_DATES[killed]
    a_rollback_killed(killed, when, rehearsal_world, tmp_path, monkeypatch)
    world = World(str(rehearsal_world)).snapshot()

    airflows_callback_for_a_lost_worker("database_1.rollback", when, last_try=False)
    assert events == []
    airflows_callback_for_a_lost_worker("database_1.rollback", when, last_try=True)

    assert World(str(rehearsal_world)).snapshot() == world, "the callback only reports"
    if killed == "after_its_end":
        assert events == []  # its RolledBack stands
        return
    assert [(row["Database"], row["Phase"], row["Status"]) for row in events] == [("database_1", "rollback", "Failed")]
    message = events[0]["Message"]
    assert "the rollback's worker was lost on its last try" in message and "source database Sales may still be frozen" in message
    assert "Clear the failed rollback task of database_1" in message

    # Then run_outcome (all_done) runs, as Airflow runs it on a worker: nothing more on 2.x, which reads the callback's
    # mark; a second `Failed` on 3.x, whose DAG processor pushes no XCom. Nothing in the world changes.
    rollback_marked_failed(when)
    run_outcome_of(when)
    assert World(str(rehearsal_world)).snapshot() == world, "run_outcome only reports"
    assert [(row["Phase"], row["Status"]) for row in events] == [("rollback", "Failed")] * (2 if AIRFLOW_3 else 1)


def a_rollback_killed(killed, logical_date, rehearsal_world, tmp_path, monkeypatch):
    """A one-database run whose migration fails, by `dag.test()` in a process of its own (`crashing_run`), killed in
    its rollback: right after its `RolledBack` and outcome (`after_its_end`: MIGRATION_SIMULATE_CRASH), right after its
    own `Failed` (`after_its_failed`), else mid-rollback, before any event of it. The events the killed run wrote."""
    document = plan_with_databases([database_entry("database_1", "Sales", mode="online")])
    plan_file = write_bundle(tmp_path / "bundle", document)
    monkeypatch.setenv("MIGRATION_PLAN_PATH", str(plan_file))  # for the DAG file Airflow's callback parses
    written = tmp_path / "killed-run-events.jsonl"
    environ = {name: os.environ[name] for name in ("AIRFLOW_HOME", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")}
    environ.update(MIGRATION_DRY_RUN="1", MIGRATION_SIMULATION_DIR=str(rehearsal_world), MIGRATION_SIMULATE_FAILURE="database_1",
                   MIGRATION_PLAN_PATH=str(plan_file), MIGRATION_REHEARSAL_EVENTS_FILE=str(written))
    prepare = "from migration_orchestration_lib import rollback; rollback.roll_back = lambda ctx: os._exit(%d)" % CRASH_EXIT_CODE
    if killed == "after_its_end":
        environ["MIGRATION_SIMULATE_CRASH"], prepare = "database_1:rollback", ""
    if killed == "after_its_failed":
        prepare = DIES_RIGHT_AFTER_ITS_FAILED
    crashed = crashing_run(plan_file, environ, logical_date, prepare=prepare)
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr[-3000:]
    return [json.loads(line) for line in written.read_text().splitlines()]


def airflows_callback_for_a_lost_worker(task_id, logical_date, last_try):
    """What Airflow does for a task instance of the DAG whose worker died (left running, no heartbeat), on its last try
    or not: Airflow 2, the scheduler's zombie request (`SchedulerJobRunner._find_zombies`) run by the DAG file processor
    (`DagFileProcessor._execute_task_callbacks`: `handle_failure`, which runs on_failure_callback on the last try, the
    retry callback before); Airflow 3, the request `SchedulerJobRunner._purge_task_instances_without_heartbeats`
    builds, run by the DAG processor (`_execute_task_callbacks`)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    from migration_orchestration_lib.airflow_compat import AIRFLOW_3, AIRFLOW_VERSION
    from migration_orchestration_lib.dag_factory import DAG_ID

    dag_file = str(DAGS_DIR / "migration_orchestration.py")
    when = timezone.datetime(*logical_date)
    with create_session() as session:
        date_column = DagRun.logical_date if AIRFLOW_3 else DagRun.execution_date
        run_id = session.query(DagRun.run_id).filter(DagRun.dag_id == DAG_ID, date_column == when).scalar()
        ti = session.query(TaskInstance).filter_by(dag_id=DAG_ID, run_id=run_id, task_id=task_id).one()
        ti.state, ti.max_tries = TaskInstanceState.RUNNING, 1
        ti.try_number = 2 if last_try else 1
        session.flush()
        if not AIRFLOW_3:
            from airflow.callbacks.callback_requests import TaskCallbackRequest
            from airflow.dag_processing.processor import DagFileProcessor
            from airflow.models.dagbag import DagBag
            from airflow.models.taskinstance import SimpleTaskInstance

            request = TaskCallbackRequest(full_filepath=dag_file, simple_task_instance=SimpleTaskInstance.from_ti(ti),
                                          msg="Detected %s as zombie" % ti)
            bag = DagBag(dag_folder=dag_file, include_examples=False)
            if AIRFLOW_VERSION >= (2, 10):
                DagFileProcessor._execute_task_callbacks(bag, request, False, session)
            else:
                DagFileProcessor(dag_ids=None, dag_directory=str(DAGS_DIR), log=logging.getLogger("processor"))._execute_task_callbacks(bag, request, session)
            return
        from airflow.api_fastapi.execution_api.datamodels.taskinstance import DagRun as DRDataModel, TIRunContext
        from airflow.callbacks.callback_requests import TaskCallbackRequest
        from airflow.dag_processing import processor
        try:
            from airflow.dag_processing.dagbag import DagBag
        except ImportError:  # Airflow 3.1
            from airflow.models.dagbag import DagBag

        fields = {}
        if AIRFLOW_VERSION >= (3, 3):  # 3.1 sends no callback type: the DAG processor runs on_failure_callback
            retried = ti.max_tries > 0 and ti.is_eligible_to_retry()
            fields["task_callback_type"] = TaskInstanceState.UP_FOR_RETRY if retried else TaskInstanceState.FAILED
        request = TaskCallbackRequest(
            filepath=ti.dag_model.relative_fileloc or "", bundle_name=ti.dag_version.bundle_name,
            bundle_version=ti.dag_run.bundle_version, ti=ti, msg="Task instance without heartbeat: %s" % task_id,
            context_from_server=TIRunContext(dag_run=DRDataModel.model_validate(ti.dag_run, from_attributes=True),
                                             max_tries=ti.max_tries, variables=[], connections=[], xcom_keys_to_clear=[]),
            **fields
        )
        processor._execute_task_callbacks(DagBag(dag_folder=dag_file), request, structlog_logger())


def structlog_logger():
    import structlog

    return structlog.get_logger("dag_processor")


@pytest.mark.airflow210
@pytest.mark.airflow26
@pytest.mark.airflow31
def test_a_rollback_that_fails_in_its_process_writes_one_failed_event_not_a_second_from_its_callback(rehearsal_world, events, monkeypatch):
    """Airflow runs the rollback's on_failure_callback in the task's own process after its step failed for a person:
    the task wrote its `Failed` then, and the callback (the same task object) writes none, nor `run_outcome` (its mark)."""
    from migration_orchestration_lib import rollback
    from migration_orchestration_lib.step_context import StepFailure

    def stops_for_a_person(ctx):
        raise StepFailure("a person must decide")

    monkeypatch.setattr(rollback, "roll_back", stops_for_a_person)
    monkeypatch.setenv("MIGRATION_SIMULATE_FAILURE", "database_1")
    state, states = run(plan_with_databases([database_entry("database_1", "Sales", mode="online")]))

    assert state == "failed" and states["database_1.rollback"] == "failed"
    rollback_events = [(row["Status"], row["Message"]) for row in events if (row["Database"], row["Phase"]) == ("database_1", "rollback")]
    assert rollback_events == [("Failed", "StepFailure: a person must decide")]


# A run each. Where no callback ran, run_outcome's event is proven by the test after this one (its first try's event
# not taken, its retry's); after a callback that wrote and marked its own, by the test of that callback (mid_rollback):
# each a killed run of its own (a process importing Airflow, 5 s of CPU) that proved nothing those do not.
LOST_ROLLBACK_BACKSTOP_DATES = {"callback_without_identity": (2025, 4, 2), "after_its_end": (2025, 4, 3), "after_its_failed": (2025, 4, 4)}


@pytest.mark.airflow210
@pytest.mark.airflow26
@pytest.mark.airflow31
@pytest.mark.parametrize("killed", list(LOST_ROLLBACK_BACKSTOP_DATES))
def test_run_outcome_reports_a_rollback_that_failed_for_good_with_no_event_on_a_worker(
        rehearsal_world, tmp_path, events, monkeypatch, killed):
    """The rollback's worker dies (the process running the DAG killed) and Airflow marks it failed, on its last try,
    where its callback writes nothing: not called (3.x, only the task's process killed, its supervisor reporting it
    failed: apache/airflow#60858), or run where it cannot sign in (the Kubernetes host's DAG processor, no Azure
    identity: the event writer fails there). `run_outcome` (all_done), run then as Airflow runs it on a worker, writes
    the `rollback` / `Failed` event (`rollback-failed` fires); was: none. Not where the try wrote its end event and
    outcome (`after_its_end`) or its own `Failed` (`after_its_failed`) before dying, its callback reading the same
    mark on 2.x: nothing more then; nor after the callback wrote and marked its own (2.x; on 3.x a second, the DAG
    processor pushing no XCom: the callback's test above). No callback at all (3.x): the next test, whose run_outcome's
    first try cannot write. Nothing in the world changes."""
    from migration_orchestration_lib import services
    from migration_rehearsal.world import World

    when = LOST_ROLLBACK_BACKSTOP_DATES[killed]
    last = a_rollback_killed(killed, when, rehearsal_world, tmp_path, monkeypatch)[-1]
    assert (last["Database"], last["Phase"], last["Status"]) == {
        "after_its_end": ("database_1", "rollback", "RolledBack"), "after_its_failed": ("database_1", "rollback", "Failed")
    }.get(killed, ("database_1", "wait_for_migration", "Failed")), last  # mid-rollback: no event of the rollback
    world = World(str(rehearsal_world)).snapshot()

    if killed.startswith("callback_") or (killed.startswith("after_") and not AIRFLOW_3):
        with monkeypatch.context() as without_identity:
            if killed == "callback_without_identity":
                without_identity.setattr(services, "event_writer_from_environment", lambda environ: WriterWithoutIdentity())
            airflows_callback_for_a_lost_worker("database_1.rollback", when, last_try=True)
        assert events == []
    rollback_marked_failed(when)
    run_outcome_of(when)

    assert World(str(rehearsal_world)).snapshot() == world, "run_outcome only reports"
    if killed.startswith("after_"):
        assert [(row["Phase"], row["Status"]) for row in events if row["Database"] == "database_1"] == [], "its own event stands"
        return
    assert [(row["Database"], row["Phase"], row["Status"]) for row in events] == [("database_1", "rollback", "Failed")]
    message = events[0]["Message"]
    assert "run_outcome found it failed with no event" in message and "source database Sales may still be frozen" in message
    assert "Clear the failed rollback task of database_1" in message


@pytest.mark.airflow210
@pytest.mark.airflow26
@pytest.mark.airflow31
def test_run_outcome_whose_event_did_not_reach_log_analytics_is_retried_by_airflow_and_its_retry_writes_it(
        rehearsal_world, tmp_path, events, monkeypatch):
    """As above (its worker killed mid-rollback, no callback: 3.x, only the task's process killed), but the Logs
    Ingestion API does not take run_outcome's `rollback` / `Failed` on its first try: real Airflow sets it up for retry
    (`EventsNotWritten`, not a failure for good), and the retry writes the event (the no-callback case of the test
    above: the rollback's end unknown, what to do) and fails the run. Nothing in the world changes. Was: run_outcome
    (retries 0) failed for good on its first try, the event only a warning in its log: the rollback-failed alert never
    fired."""
    from airflow.utils.state import TaskInstanceState

    from migration_orchestration_lib import services
    from migration_rehearsal.world import World

    when = (2025, 4, 6)
    last = a_rollback_killed("mid_rollback", when, rehearsal_world, tmp_path, monkeypatch)[-1]
    assert (last["Database"], last["Phase"], last["Status"]) == ("database_1", "wait_for_migration", "Failed"), last
    world = World(str(rehearsal_world)).snapshot()
    rollback_marked_failed(when)
    with monkeypatch.context() as ingestion_down:
        ingestion_down.setattr(services, "event_writer_from_environment", lambda environ: WriterWithoutIdentity())
        run_outcome_of(when, ends=TaskInstanceState.UP_FOR_RETRY)
    assert events == []
    run_outcome_of(when)

    assert World(str(rehearsal_world)).snapshot() == world, "run_outcome only reports"
    assert [(row["Database"], row["Phase"], row["Status"]) for row in events] == [("database_1", "rollback", "Failed")]
    message = events[0]["Message"]
    assert "run_outcome found it failed with no event" in message and "source database Sales may still be frozen" in message
    assert "Clear the failed rollback task of database_1" in message


DIES_RIGHT_AFTER_ITS_FAILED = textwrap.dedent(
    """
    from migration_orchestration_lib import operators, rollback
    from migration_orchestration_lib.step_context import StepFailure
    def stops_for_a_person(ctx):
        raise StepFailure("a person must decide")
    rollback.roll_back, emit = stops_for_a_person, operators.MigrationTask._emit
    def emit_then_die(self, ctx, status, *args, **kwargs):
        emit(self, ctx, status, *args, **kwargs)
        if (self.phase, status) == ("rollback", "Failed"):
            os._exit(%d)
    operators.MigrationTask._emit = emit_then_die
    """ % CRASH_EXIT_CODE
)


class WriterWithoutIdentity:
    """The event writer of a process without Azure identity: every upload fails to sign in."""

    def write(self, row, budget=None):
        raise RuntimeError("DefaultAzureCredential failed to retrieve a token from the included credentials")


def the_runs_task(logical_date, task_id, session):
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance

    from migration_orchestration_lib.dag_factory import DAG_ID

    date_column = DagRun.logical_date if AIRFLOW_3 else DagRun.execution_date
    run_id = session.query(DagRun.run_id).filter(DagRun.dag_id == DAG_ID, date_column == timezone.datetime(*logical_date)).scalar()
    return session.query(TaskInstance).filter_by(dag_id=DAG_ID, run_id=run_id, task_id=task_id).one()


def rollback_marked_failed(logical_date):
    """What Airflow records of the rollback's lost worker on its last try: failed (the zombie handling already did on
    2.x, where the callback ran)."""
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    with create_session() as session:
        the_runs_task(logical_date, "database_1.rollback", session).state = TaskInstanceState.FAILED


def run_outcome_of(logical_date, ends=None):
    """`run_outcome` of the run the kill left (its trigger rule all_done: every rollback ended), run as `dag.test()`
    runs a task (`_run_task`): a try of its own, in real Airflow (3.x: the Task SDK's in-process supervisor), which
    `ends` in the state Airflow gives it (failed unless said)."""
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    from migration_orchestration_lib.dag_factory import RUN_OUTCOME_TASK_ID, build_dag_from_plan_file

    task = build_dag_from_plan_file(os.environ["MIGRATION_PLAN_PATH"]).get_task(RUN_OUTCOME_TASK_ID)
    with create_session() as session:
        ti = the_runs_task(logical_date, RUN_OUTCOME_TASK_ID, session)
        if AIRFLOW_3:
            import airflow.sdk.definitions.dag as dag_module

            from conftest import _build_the_in_process_execution_api_once

            _build_the_in_process_execution_api_once()  # as dag_test: this process's first task may be this one
            ti.try_number += 1
            ti.state = TaskInstanceState.SCHEDULED
            session.commit()
            with blocked_in_tasks():  # the task without the metadata database, as on a worker
                dag_module._run_task(ti=ti, task=task)
        else:
            run_on_airflow_2(ti, task, session)
    with create_session() as session:
        assert the_runs_task(logical_date, RUN_OUTCOME_TASK_ID, session).state == (ends or TaskInstanceState.FAILED)


def run_on_airflow_2(ti, task, session):
    """Airflow 2's `dag.test()` running one task instance."""
    import airflow.models.dag as dag_module

    from migration_orchestration_lib.airflow_compat import AIRFLOW_VERSION

    ti.task = task
    try:
        if AIRFLOW_VERSION >= (2, 10):
            dag_module._run_task(ti=ti, session=session)
        else:
            dag_module._run_task(ti, session)
    except Exception:  # the run fails: a database not migrated
        pass
