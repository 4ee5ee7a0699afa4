"""await_cutover and the window checks at the task level (`task_driver`: the real operators'
`execute` on the rehearsal world, the simulated clock and approval records in the world directory):
waits, approvals, rejections, a window that closes after the freeze, and crashes around approval."""
from __future__ import annotations

import json
import os
import time
from datetime import timedelta

import pytest
import requests

from conftest import database_entry, load_plan_document, plan_with_databases
from event_replays import assert_event_replay
from migration_orchestration_lib import rehearsal
from migration_orchestration_lib.cutover_hitl import HITL_AVAILABLE
from migration_orchestration_lib.cutover_windows import parse_iso_utc
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.dms_transport import sdk_available
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal import seed_world
from migration_orchestration_lib.rehearsal_cutover import CLOCK_FILE
from migration_rehearsal.world import World
from task_driver import RunDriver, WorkerCrashed
from world_view import DATA_MIGRATION_API_VERSION, PERSON_AUTHORIZATION, WorldView, set_rehearsal_clock

SATURDAY_NIGHT = {"timeZone": "Europe/Berlin", "days": ["Sat"], "start": "22:00", "durationMinutes": 360}
START = "2026-12-03T12:00:00Z"  # a Thursday
FIRST_OPENING = "2026-12-05T21:00:00Z"  # Sat 22:00 CET
needs_hitl = pytest.mark.skipif(not HITL_AVAILABLE, reason="human-in-the-loop operators need Airflow 3.1+")


def cutover(approval=True, windows=(SATURDAY_NIGHT,)):
    return {
        "windows": list(windows),
        "expectedMinutes": 30,
        "approval": {"required": approval, "approvers": ["alice@contoso.com"] if approval else [], "channel": "airflowVariable"},
    }


def gated_document(mode="online", target="mi-prod", airflow_of=None, **cutover_fields):
    """`airflow_of`: a test plan whose `airflow` section to use (default: Kubernetes, direct SQL)."""
    document = plan_with_databases([database_entry("db", "Sales", mode=mode, target=target, cutover=cutover(**cutover_fields))])
    if airflow_of:
        document["airflow"] = load_plan_document(airflow_of)["airflow"]
    return document


def gated_plan(mode="online", target="mi-prod", airflow_of=None, **cutover_fields):
    return parse_plan(gated_document(mode, target, airflow_of, **cutover_fields))


@pytest.fixture
def world(rehearsal_world, monkeypatch, tmp_path):
    monkeypatch.setenv("MIGRATION_SIMULATE_START", START)
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    return rehearsal_world


def events(world, status=None):
    path = world.parent / "events.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [r for r in rows if status is None or r["Status"] == status]


def clock_now(world):
    return parse_iso_utc(json.loads((world / CLOCK_FILE).read_text())["now"])


class Recorder(WorldView):
    """Also records the simulated time of every freeze and cutover request."""

    def __init__(self, directory, plan, name="db"):
        super().__init__(directory, plan.database(name), plan)
        self.directory = directory
        self.frozen_at = None
        self.cutover_at = None

    def observe(self, task_id):
        super().observe(task_id)
        if self.frozen_at is None and not self.source_writable():
            self.frozen_at = clock_now(self.directory)
        if self.cutover_at is None and any(op.get("migrationStatus") in ("Completing", "Succeeded") for op in self.operations()):
            self.cutover_at = clock_now(self.directory)


@pytest.mark.airflow26  # also on Python 3.8 (backports.zoneinfo)
def test_an_approved_cutover_waits_for_the_window_asks_and_cuts_over_inside_it(world, monkeypatch):
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
    plan = gated_plan()
    view = Recorder(world, plan)
    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), view.observe)
    driver.run_database("db")

    assert driver.outcome("db") == "migrated", driver.errors
    statuses = [r["Status"] for r in events(world) if r["Phase"] == "await_cutover"]
    assert statuses[0] == "WaitingForWindow" and statuses[-1] == "Approved" and "AwaitingApproval" in statuses
    asked = events(world, "AwaitingApproval")[0]["Message"]
    assert "airflow variables set migration_cutover_approval__db" in asked and FIRST_OPENING in asked
    opens, closes = parse_iso_utc(FIRST_OPENING), parse_iso_utc("2026-12-06T03:00:00Z")
    assert opens <= view.frozen_at <= view.cutover_at < closes, "frozen and cut over inside the window"


def test_a_rejected_database_keeps_replicating_and_waits_for_the_next_window_until_the_horizon(world, monkeypatch):
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:reject")
    monkeypatch.setenv("MIGRATION_SIMULATE_UNTIL", "2026-12-10T00:00:00Z")
    document, since = gated_document(), time.time()
    plan = parse_plan(document)
    view = Recorder(world, plan)
    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), view.observe)
    states = driver.run_database("db")

    assert states["db.await_cutover"] == "skipped" and driver.outcome("db") == "waiting"
    assert view.frozen_at is None and view.source_writable()
    assert [op["migrationStatus"] for op in view.operations()] == ["InProgress"], "still replicating, never canceled"
    assert view.target()["state"] == "RESTORING", "the target is kept"
    assert [r["Message"] for r in events(world, "Rejected")][0].startswith("cutover of db in window")
    assert "still waiting for the next window" in events(world)[-1]["Message"]
    assert_event_replay("cutover-rejected-in-every-window", events(world), document, since)


def test_a_window_that_closes_after_the_freeze_goes_back_to_replicating_never_canceling(world, monkeypatch):
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
    plan = gated_plan()
    view = Recorder(world, plan)

    def observe(task_id):
        view.observe(task_id)
        if task_id == "db.freeze_source":  # the window closes while the final backup is taken
            set_rehearsal_clock(world, "2026-12-06T03:00:00Z")

    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), observe)
    states = driver.run_database("db")

    assert states["db.final_backup"] == "failed" and states["db.rollback"] == "success"
    assert driver.outcome("db") == "waiting"
    assert view.source_writable(), "the source is writable again"
    assert [op["migrationStatus"] for op in view.operations()] == ["InProgress"], "the migration keeps replicating"
    assert view.target()["state"] == "RESTORING" and not view.online_target_deleted
    missed = [(r["Phase"], r["Status"]) for r in events(world, "WindowMissed")]
    assert missed == [("final_backup", "WindowMissed"), ("rollback", "WindowMissed")]
    assert not events(world, "Failed") and not events(world, "RolledBack")


def test_a_window_too_short_for_the_cutover_by_the_time_of_the_freeze_is_not_frozen(world, monkeypatch):
    """Approved in the window, but by the time freeze_source runs the window closes in 10 minutes,
    too soon for a 30-minute cutover: the source is never frozen, it keeps replicating."""
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
    plan = gated_plan()
    view = Recorder(world, plan)

    def observe(task_id):
        view.observe(task_id)
        if task_id == "db.await_cutover" and events(world)[-1]["Status"] == "Approved":  # it went
            set_rehearsal_clock(world, "2026-12-06T02:50:00Z")  # the window closes at 03:00

    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), observe)
    states = driver.run_database("db")

    assert states["db.await_cutover"] == "success" and states["db.freeze_source"] == "failed", driver.errors
    assert "too soon for a 30-minute cutover" in driver.errors["db.freeze_source"]
    assert view.frozen_at is None and view.source_writable(), "never frozen"
    assert driver.outcome("db") == "waiting"
    assert [op["migrationStatus"] for op in view.operations()] == ["InProgress"], "the migration keeps replicating"


def freeze_runs(view):
    """The Data Factory pipeline runs of freezes submitted so far (their operation key names the freeze)."""
    from migration_rehearsal.data_factory_server import RUNS

    with view.world.transaction() as state:
        runs = list(state.get(RUNS, {}).values())
    return [run for run in runs if any(str(value).endswith(":freeze") for value in run["parameters"].values())]


@pytest.mark.airflow26
@pytest.mark.parametrize(
    "mode, target, freezing, landed, why, outcome, migrations",
    [
        ("online", "mi-prod", "freeze_source", "02:45", "too late for a 30-minute cutover", "waiting", ["InProgress"]),
        ("offline", "db-prod", "start_migration", "02:45", "too late for a 30-minute cutover", "waiting", []),
        ("offline", "mi-prod", "freeze_source", "03:30", "after the window closed at 2026-12-06T03:00:00Z", "rolled_back", ["Canceled"]),
    ],
    ids=["online", "sqlDbCopy", "offlineAfterTheClose"],
)
def test_a_freeze_landing_pokes_after_its_admission_too_late_for_the_cutover_is_undone(
        world, monkeypatch, mode, target, freezing, landed, why, outcome, migrations):
    """Through Data Factory the freeze lands pokes after its admission (a queued pipeline, a scheduler
    down for hours): admitted in time, it lands too late for a 30-minute cutover in a window closing at
    03:00 UTC. The source is made writable again: an online migration keeps replicating, a SqlDb copy
    is not started; an offline restore (which overruns a window still open) is canceled once its freeze
    lands after the close, before its final backup. No cutover outside the window."""
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
    plan = gated_plan(mode=mode, target=target, airflow_of="fabric_host.json")
    view = Recorder(world, plan)
    submitted = []

    def observe(task_id):
        view.observe(task_id)
        if task_id == "db." + freezing and not submitted and freeze_runs(view):
            submitted.append(view.source_writable())  # submitted on this poke; the next poke comes late
            set_rehearsal_clock(world, "2026-12-06T%s:00Z" % landed)

    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), observe)
    states = driver.run_database("db")

    assert submitted == [True] and view.frozen_at is not None, "the freeze landed a poke after its admission"
    assert states["db." + freezing] == "failed", (states, driver.errors)
    assert "landed at 2026-12-06T%s:00Z, %s" % (landed, why) in driver.errors["db." + freezing]
    assert driver.outcome("db") == outcome and view.source_writable() and view.cutover_at is None
    assert not any("_final_" in backup["fileName"] for backup in view.world.backups("sql01", "Sales"))
    assert [op["migrationStatus"] for op in view.operations()] == migrations


def test_a_freeze_found_in_force_by_a_later_run_too_late_for_the_cutover_is_undone(world, monkeypatch):
    """Frozen in the approved window, the worker dies; the next run comes at 02:45 UTC, same window (its
    approval counts), 15 minutes before the close: too late for a 30-minute cutover, so the freeze in force
    is undone as one landing late would be, instead of a cutover requested at 02:45 that outlasts the window."""
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
    plan = gated_plan()
    view = Recorder(world, plan)
    with pytest.raises(WorkerCrashed):
        RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), view.observe).run_database("db", crash_after="freeze_source")
    set_rehearsal_clock(world, "2026-12-06T02:45:00Z")
    second = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), view.observe)
    states = second.run_database("db")

    assert states["db.await_cutover"] == "success" and states["db.freeze_source"] == "failed", second.errors
    assert "too late for a 30-minute cutover in the window closing at 2026-12-06T03:00:00Z" in second.errors["db.freeze_source"]
    assert second.outcome("db") == "waiting" and view.source_writable() and view.cutover_at is None
    assert [op["migrationStatus"] for op in view.operations()] == ["InProgress"]


@pytest.mark.parametrize("closed_after", ["final_backup", "freeze_source"])
def test_an_offline_overrun_is_reported_not_aborted(world, monkeypatch, closed_after):
    """Also when the window closes before the final backup: the source is frozen for the copy, so
    stopping would spend the downtime for nothing (and leave DMS waiting for its lastBackupName)."""
    plan = gated_plan(mode="offline", approval=False)

    def observe(task_id):
        if task_id == "db." + closed_after:
            set_rehearsal_clock(world, "2026-12-06T03:45:00Z")

    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), observe)
    driver.run_database("db")

    assert driver.outcome("db") == "migrated", driver.errors
    [overrun] = events(world, "WindowMissed")
    assert overrun["Phase"] == "wait_for_migration" and "overran its window (closed 2026-12-06T03:00:00Z) by 45 min" in overrun["Message"]


@pytest.mark.parametrize("mode", ["offline", "online"])
def test_a_later_run_reports_no_overrun_of_a_cutover_an_earlier_run_finished_and_declared_in_its_window(world, mode):
    """The runbook's "trigger the DAG again" (after another database's failure, say) walks a database migrated in its
    window by an earlier run once more: its wait found DMS Succeeded and measured the window's close against now,
    days later, writing `WindowMissed` ("the cutover overran its window ... by 4320 min"), which raised
    `cutover-postponed` and told the person on call to tell the application owners it finished late. It finished
    inside its window, and the run that requested it said so."""
    document, since = gated_document(mode=mode, approval=False), time.time()
    plan = parse_plan(document)
    first = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}))
    first.run_database("db")
    assert first.outcome("db") == "migrated" and not events(world, "WindowMissed"), first.errors
    set_rehearsal_clock(world, "2026-12-09T03:00:00Z")  # three days after the window closed
    second = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}))
    second.run_database("db")

    assert second.outcome("db") == "migrated", second.errors
    assert events(world, "WindowMissed") == []
    assert_event_replay("run-again-after-a-cutover-in-its-window-%s" % mode, events(world), document, since)
    # Nor does the rehearsal's report time a second cutover, at the later run's clock, OUTSIDE the window.
    [cutover] = json.loads((world / CLOCK_FILE).read_text())["cutovers"]["db"]
    assert parse_iso_utc(cutover["began"]) < parse_iso_utc("2026-12-06T03:00:00Z"), cutover


def dms_finishes_between_pokes(world, plan, name="db"):
    """DMS goes on between the DAG's pokes: a person's client reads the database's migration (the contract server moves
    it one step each read) until it ended, at the rehearsal clock's time then. Returns its properties then."""
    database = plan.database(name)
    url = "%s%s/providers/Microsoft.DataMigration/databaseMigrations/%s" % (
        rehearsal._server_url(str(world), "dms", os.environ), plan.target_of(database).resource_id.value, database.target_database)
    for _ in range(50):
        body = requests.get(url, params={"api-version": DATA_MIGRATION_API_VERSION}, headers=PERSON_AUTHORIZATION, timeout=30).json()
        if body["properties"]["migrationStatus"] not in ("Creating", "InProgress", "Completing"):
            return body["properties"]
    raise AssertionError("DMS never finished: %s" % body)


def set_ended_on(world, value):
    """DMS reports the latest migration into Sales with `endedOn` `value` (None: without one)."""
    with World(str(world)).transaction() as state:
        [record] = [r for key, r in state["databaseMigrations"].items() if key.endswith("/sales")]
        record["operations"][-1].pop("endedOn", None)
        if value is not None:
            record["operations"][-1]["endedOn"] = value


def ends_at(world, plan, mode, ended, noticed, then=lambda: None):
    """An observer for RunDriver: right after the step that ends the copy (offline `final_backup`, online `cutover`),
    the rehearsal clock reads `ended`, DMS finishes the copy by itself, `then()` runs, and the clock moves on to
    `noticed` before the wait's first poke. Its `ended` dict holds DMS's properties then."""
    step = "db." + {"offline": "final_backup", "online": "cutover"}[mode]

    def observe(task_id):
        if task_id == step and not observe.ended:
            set_rehearsal_clock(world, ended)
            observe.ended = dms_finishes_between_pokes(world, plan)
            then()
            set_rehearsal_clock(world, noticed)

    observe.ended = {}
    return observe


@pytest.mark.airflow26
@pytest.mark.parametrize("mode", ["offline", "online"])
def test_a_copy_that_ended_in_its_window_and_was_noticed_after_it_reports_no_overrun(world, mode):
    """DMS finished inside the window; the wait's next poke came after the close (a long poke interval, a scheduler
    down for an hour). Measured at the poke, that was a 45-minute overrun: `WindowMissed`, `cutover-postponed`, and the
    person on call told the application owners of a late cutover that was not. DMS's `endedOn` says when it ended."""
    plan = gated_plan(mode=mode, approval=False)
    observe = ends_at(world, plan, mode, ended="2026-12-06T02:50:00Z", noticed="2026-12-06T03:45:00Z")
    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), observe)
    driver.run_database("db")

    assert (observe.ended["migrationStatus"], observe.ended["endedOn"]) == ("Succeeded", "2026-12-06T02:50:00.000000Z")
    assert driver.outcome("db") == "migrated", driver.errors
    assert events(world, "WindowMissed") == []


@pytest.mark.airflow26
@pytest.mark.parametrize("mode", ["offline", "online"])
def test_a_run_again_after_a_crash_before_done_reports_no_overrun_of_a_copy_that_ended_in_its_window(world, mode):
    """The worker died after the copy ended in its window, before `done` declared it migrated; the DAG was triggered
    again after the window closed. The new run's wait finds DMS Succeeded and, measured at its own clock, reported a
    45-minute overrun (the fix for declared migrations does not cover it: nothing was declared)."""
    plan = gated_plan(mode=mode, approval=False)
    with pytest.raises(WorkerCrashed):
        RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"})).run_database("db", crash_after="validate")
    assert events(world, "WindowMissed") == []
    set_rehearsal_clock(world, "2026-12-06T03:45:00Z")
    second = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}))
    second.run_database("db")

    assert second.outcome("db") == "migrated", second.errors
    assert events(world, "WindowMissed") == []


@pytest.mark.airflow26
@pytest.mark.parametrize("mode", ["offline", "online"])
def test_a_copy_that_ended_after_its_window_reports_the_overrun_from_dms_end_time(world, mode):
    """Ended 20 minutes after the close, noticed 90 minutes after it: the overrun is DMS's 20 minutes, and the message
    names DMS's end time."""
    plan = gated_plan(mode=mode, approval=False)
    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), ends_at(world, plan, mode, "2026-12-06T03:20:00Z", "2026-12-06T04:30:00Z"))
    driver.run_database("db")

    assert driver.outcome("db") == "migrated", driver.errors
    [overrun] = events(world, "WindowMissed")
    assert overrun["Phase"] == ("wait_for_migration" if mode == "offline" else "wait_for_completion")
    assert "overran its window (closed 2026-12-06T03:00:00Z) by 20 min: DMS ended it at 2026-12-06T03:20:00Z" in overrun["Message"]


@pytest.mark.airflow26
@pytest.mark.parametrize("ended_on", [None, "0001-01-01T08:00:00Z", pytest.param("not a time", marks=pytest.mark.skipif(
    sdk_available(), reason="azure-mgmt-datamigration refuses a date-time it cannot read (DeserializationError) before the "
    "DAG sees it; the REST transport (Python 3.8: -m airflow26) hands it over"))])
def test_without_an_end_time_from_dms_the_overrun_is_measured_when_noticed_and_says_so(world, ended_on):
    """No `endedOn` (or one that is no time: unreadable, or the recorded examples' 0001-01-01T08:00:00Z): the overrun
    is measured at the poke that saw the copy ended, and the message says "noticed at", never "ended at"."""
    plan = gated_plan(mode="offline", approval=False)
    observe = ends_at(world, plan, "offline", "2026-12-06T03:20:00Z", "2026-12-06T04:30:00Z", lambda: set_ended_on(world, ended_on))
    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), observe)
    driver.run_database("db")

    assert driver.outcome("db") == "migrated", driver.errors
    [overrun] = events(world, "WindowMissed")
    assert "overran its window (closed 2026-12-06T03:00:00Z) by 90 min: noticed at 2026-12-06T04:30:00Z" in overrun["Message"]
    assert "ended at" not in overrun["Message"]


def test_a_crash_while_waiting_for_approval_resumes_waiting_for_the_same_window(world, monkeypatch):
    plan = gated_plan()
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    view = Recorder(world, plan)

    def crash_once_asked(task_id):
        view.observe(task_id)
        if events(world, "AwaitingApproval"):
            raise WorkerCrashed(task_id)

    with pytest.raises(WorkerCrashed):
        RunDriver(dag, crash_once_asked).run_database("db")
    asked_before = len(events(world, "AwaitingApproval"))
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
    second = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), view.observe)
    second.run_database("db")

    assert second.outcome("db") == "migrated", second.errors
    asked = events(world, "AwaitingApproval")
    assert asked_before == 1 and len(asked) == 2, "the new run asks once more (its heartbeat), not per poke"
    assert {FIRST_OPENING in r["Message"] for r in asked} == {True}, "for the same window"
    assert view.frozen_at >= parse_iso_utc(FIRST_OPENING)
    assert len(view.operations()) == 1


@pytest.mark.airflow26
def test_a_crash_after_approval_does_not_ask_again(world, monkeypatch):
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
    plan = gated_plan()
    view = Recorder(world, plan)
    with pytest.raises(WorkerCrashed):
        RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), view.observe).run_database("db", crash_after="await_cutover")
    asked = len(events(world, "AwaitingApproval"))
    monkeypatch.delenv("MIGRATION_SIMULATE_APPROVAL")  # nobody would answer a second question
    second = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), view.observe)
    second.run_database("db")

    assert second.outcome("db") == "migrated", second.errors
    assert len(events(world, "AwaitingApproval")) == asked, "the approval record is found: no second question"
    assert events(world, "Approved")[-1]["RunId"] == second.run_id


@pytest.mark.airflow26
def test_await_cutover_sits_right_before_the_first_freezing_task_and_ungated_chains_are_unchanged():
    document = plan_with_databases([
        database_entry("online", "Sales", mode="online", cutover=cutover()),
        database_entry("offline", "Hr", mode="offline", cutover=cutover(approval=False)),
        database_entry("copy", "Crm", target="db-prod", cutover=cutover()),
        database_entry("plain", "Archive", mode="online"),
    ])
    dag = build_dag(parse_plan(document), {})

    def chain(name):
        return [t.task_id.split(".", 1)[1] for t in RunDriver(dag).chain(name)]

    assert chain("online")[2:5] == ["wait_for_migration", "await_cutover", "freeze_source"]
    assert chain("offline")[1:4] == ["start_migration", "await_cutover", "freeze_source"]
    assert chain("copy")[:3] == ["preflight", "await_cutover", "start_migration"]
    assert "await_cutover" not in chain("plain")
    assert dag.get_task("online.freeze_source").pool == "database_migration_sql"
    document["cutover"] = {"maxConcurrent": 1}
    dag = build_dag(parse_plan(document), {})
    assert "await_cutover" in chain("plain"), "maxConcurrent gates every database that freezes its source"
    assert dag.get_task("online.freeze_source").pool == "database_migration_admission", "counted again at the freeze, one at a time"


def test_max_concurrent_counts_cutovers_in_progress_from_the_world(world, monkeypatch):
    import task_driver

    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-05T22:00:00Z")  # inside the window
    document = plan_with_databases([
        database_entry("a", "Sales", mode="online", cutover=cutover(approval=False)),
        database_entry("b", "Hr", mode="online", cutover=cutover(approval=False)),
    ])
    document["cutover"] = {"maxConcurrent": 1}
    plan = parse_plan(document)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    with pytest.raises(WorkerCrashed):  # a's source frozen, its migration still replicating
        RunDriver(dag).run_database("a", crash_after="freeze_source")
    monkeypatch.setattr(task_driver, "MAX_POKES", 3)
    held = RunDriver(dag)
    assert held.run_database("b")["b.await_cutover"] == "failed"
    gate = [r for r in events(world) if r["Database"] == "b" and r["Phase"] == "await_cutover"]
    assert [r["Status"] for r in gate] == ["WaitingForWindow"] * 3, "the driver gave up after 3 pokes (a scheduler would not)"
    assert gate[-1]["Message"].startswith("1 cutover(s) in progress (cutover.maxConcurrent 1): b waits")
    monkeypatch.setattr(task_driver, "MAX_POKES", 400)
    first = RunDriver(dag)
    first.run_database("a")
    second = RunDriver(dag)
    second.run_database("b")
    assert (first.outcome("a"), second.outcome("b")) == ("migrated", "migrated"), (first.errors, second.errors)


@pytest.mark.airflow26
@pytest.mark.parametrize("airflow_of", [None, "fabric_host.json"], ids=["direct", "dataFactory"])
def test_writes_after_a_missed_window_reach_the_target_in_the_next_window(world, monkeypatch, airflow_of):
    """The final log backup of a window that closed before the cutover is not final: the source was
    writable again. The next window takes its own final backup, holding the writes made meanwhile;
    through Data Factory too, which adopts a pipeline run by key for 30 days."""
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
    monkeypatch.setenv("MIGRATION_SIMULATE_UNTIL", "2026-12-20T00:00:00Z")  # past the next Saturday
    plan = gated_plan(airflow_of=airflow_of)
    view = Recorder(world, plan)

    def close_the_window_once_the_final_backup_is_taken(task_id):
        view.observe(task_id)
        taken = any("_final_" in backup["fileName"] for backup in view.world.backups("sql01", "Sales"))
        if task_id == "db.final_backup" and taken and json.loads((world / CLOCK_FILE).read_text())["now"] < "2026-12-06T03:00:00Z":
            set_rehearsal_clock(world, "2026-12-06T03:00:00Z")

    first = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), close_the_window_once_the_final_backup_is_taken)
    first.run_database("db")
    assert first.outcome("db") == "waiting" and view.source_writable()
    first_finals = [b["fileName"] for b in view.world.backups("sql01", "Sales") if "_final_" in b["fileName"]]
    assert len(first_finals) == 1, "the first window's final backup was taken before it closed"

    table = sorted(view.source()["tables"])[0]
    written = view.source()["tables"][table]
    view.world.set_table("sql01", "Sales", table, written["columns"], written["rows"] + [[999, "written after the window", 1]])
    second = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), view.observe)
    second.run_database("db")

    assert second.outcome("db") == "migrated", second.errors
    finals = [b["fileName"] for b in view.world.backups("sql01", "Sales") if "_final_" in b["fileName"]]
    assert len(finals) == 2 and finals[0] == first_finals[0], "the next window took a final backup of its own"
    assert [999, "written after the window", 1] in view.target()["tables"][table]["rows"], "no write lost"


def test_a_cutover_resumed_in_a_later_window_goes_back_to_replicating_without_that_windows_approval(world, monkeypatch):
    """Approved for Saturday the 5th, frozen, the worker dies; a run a week later must not finish the
    cutover in the window of the 12th, which nobody approved: the source is made writable again."""
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
    plan = gated_plan()
    view = Recorder(world, plan)
    with pytest.raises(WorkerCrashed):
        RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), view.observe).run_database("db", crash_after="freeze_source")
    assert not view.source_writable()
    monkeypatch.delenv("MIGRATION_SIMULATE_APPROVAL")  # nobody approves the next window
    set_rehearsal_clock(world, "2026-12-12T21:30:00Z")  # inside the next Saturday's window
    second = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), view.observe)
    states = second.run_database("db")

    assert states["db.await_cutover"] == "failed" and second.outcome("db") == "waiting"
    assert "not for the window open now (2026-12-12T21:00:00Z)" in second.errors["db.await_cutover"]
    assert view.source_writable() and [op["migrationStatus"] for op in view.operations()] == ["InProgress"]


def test_an_approval_is_consumed_by_the_cutover_it_approved(world, monkeypatch):
    """Without windows an approval's window is "any": kept after a failed attempt, it would approve
    every later one, weeks later, without asking."""
    from migration_orchestration_lib import steps
    from migration_orchestration_lib.step_context import StepFailure

    def unreachable_share(ctx):
        raise StepFailure("backup share unreachable")

    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
    monkeypatch.setitem(steps.STEPS, "final_backup", unreachable_share)
    plan = gated_plan(windows=())
    view = Recorder(world, plan)
    first = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), view.observe)
    first.run_database("db")
    assert first.outcome("db") == "rolled_back" and len(events(world, "Approved")) == 1
    monkeypatch.setitem(steps.STEPS, "final_backup", steps.final_backup)
    monkeypatch.delenv("MIGRATION_SIMULATE_APPROVAL")  # nobody approves the next attempt
    asked = len(events(world, "AwaitingApproval"))
    monkeypatch.setenv("MIGRATION_SIMULATE_UNTIL", "2026-12-04T12:00:00Z")
    second = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), view.observe)
    second.run_database("db")

    assert second.xcom[("db.await_cutover", "outcome")] == "waiting" and len(events(world, "AwaitingApproval")) > asked
    assert view.source_writable() and view.frozen_at is not None  # frozen once, in the first attempt


@pytest.mark.parametrize("windows", [(SATURDAY_NIGHT,), ()], ids=["window", "noWindow"])
@pytest.mark.parametrize("mode, target, freezing, migrations", [
    ("online", "mi-prod", "freeze_source", ["InProgress"]),
    ("offline", "db-prod", "start_migration", []),
], ids=["online", "sqlDbCopy"])
def test_a_deadline_passing_while_the_freeze_waits_for_a_place_goes_back_to_replicating(
        world, monkeypatch, windows, mode, target, freezing, migrations):
    """await_cutover let a go (a place was free); before its freeze another database took the one place of
    cutover.maxConcurrent, and a's freezing step waited for it past the deadline (timeoutMinutes after the gate,
    shorter than the window open: or no window at all). Was: the wait failed at the deadline and the rollback
    canceled the replication (a SqlDb copy: rolled back, the run failed). Now the source is never frozen and the
    database goes back to replicating (a copy: not started), waiting for a window and a place in a later run, as
    when other cutovers held it past a window's close."""
    from migration_orchestration_lib import cutover_steps, operators
    from migration_orchestration_lib.airflow_compat import utc_now
    from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE, FileRecords

    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-05T22:00:00Z")  # inside the window
    document = plan_with_databases([
        database_entry("a", "Sales", mode=mode, target=target, timeoutMinutes=60, cutover=cutover(approval=False, windows=windows)),
        database_entry("b", "Hr", mode="online", cutover=cutover(approval=False, windows=windows)),
    ])
    document["cutover"] = {"maxConcurrent": 1}
    plan = parse_plan(document)
    view = WorldView(world, plan.database("a"), plan)
    late = [timedelta(0)]
    monkeypatch.setattr(cutover_steps, "utc_now", lambda: utc_now() + late[0])
    monkeypatch.setattr(operators, "utc_now", lambda: utc_now() + late[0])

    def observe(task_id):
        view.observe(task_id)
        if task_id == "a.await_cutover" and events(world)[-1]["Status"] == "Succeeded":  # b takes the place
            FileRecords(str(world), RECORDS_FILE).put("migration_cutover_admitted__%s__b" % plan.name, "2026-12-05T22:00:00Z")
        elif task_id == "a." + freezing and late[0] == timedelta(0):  # it waited; the next poke comes an hour later
            late[0] = timedelta(minutes=61)

    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), observe)
    states = driver.run_database("a")

    assert states["a.await_cutover"] == "success" and states["a." + freezing] == "failed", driver.errors
    assert driver.outcome("a") == "waiting", driver.errors
    assert view.source_writable() and [op["migrationStatus"] for op in view.operations()] == migrations, "never canceled"
    gate = [(r["Phase"], r["Status"]) for r in events(world) if r["Database"] == "a" and r["Phase"] in (freezing, "rollback")]
    assert (freezing, "Running") in gate and gate[-2:] == [(freezing, "WindowMissed"), ("rollback", "WindowMissed")], gate
    missed = events(world, "WindowMissed")[0]["Message"]
    assert "cutover.maxConcurrent 1" in missed and "timeoutMinutes (60)" in missed and "Sales not frozen" in missed, missed
    assert not events(world, "Failed") and not events(world, "RolledBack")


def deadline_plan(mode, target, others=(), **plan_fields):
    """a (Sales) gated by tonight's window, no approval, timeoutMinutes 60 (the gate's end + 60 minutes is its
    deadline, long before the window closes), expectedMinutes 30; `others` more entries; `plan_fields` merged in."""
    document = plan_with_databases([
        database_entry("a", "Sales", mode=mode, target=target, timeoutMinutes=60, cutover=cutover(approval=False)),
        *others,
    ])
    for key, value in plan_fields.items():
        document.setdefault(key, {}).update(value)
    return parse_plan(document)


def run_late(world, monkeypatch, plan, freezing, late_minutes, after_gate=None, first=None):
    """One run of a, its real time jumping `late_minutes` ahead once its freezing step has poked once (its
    first poke waited: the next comes that late). `after_gate(world)`: called once the gate let a go (a fault
    injected, say); `first`: a RunDriver's run of other tasks before (another database's migration in flight)."""
    from migration_orchestration_lib import cutover_steps, operators
    from migration_orchestration_lib.airflow_compat import utc_now

    late = [timedelta(0)]
    monkeypatch.setattr(cutover_steps, "utc_now", lambda: utc_now() + late[0])
    monkeypatch.setattr(operators, "utc_now", lambda: utc_now() + late[0])
    view = Recorder(world, plan, "a")

    def observe(task_id):
        view.observe(task_id)
        if task_id == "a.await_cutover" and events(world)[-1]["Status"] == "Succeeded" and after_gate:
            after_gate(view.world)
        elif task_id == "a." + freezing and late[0] == timedelta(0):
            late[0] = timedelta(minutes=late_minutes)

    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    if first:
        first(dag)
    driver = RunDriver(dag, observe)
    driver.run_database("a")
    return driver, view


def assert_back_to_replicating_nothing_frozen(world, driver, view, freezing, migrations):
    """The freezing step ended WindowMissed and the rollback went back to replicating: the source never frozen,
    no migration canceled (a SqlDb copy: none started), no failure and no rollback of the migration."""
    assert driver.states["a.await_cutover"] == "success" and driver.states["a." + freezing] == "failed", driver.errors
    assert driver.outcome("a") == "waiting", driver.errors
    assert view.frozen_at is None and view.source_writable(), "never frozen"
    assert [op["migrationStatus"] for op in view.operations()] == migrations, "never canceled"
    gate = [(r["Phase"], r["Status"]) for r in events(world) if r["Database"] == "a" and r["Phase"] in (freezing, "rollback")]
    assert gate[-2:] == [(freezing, "WindowMissed"), ("rollback", "WindowMissed")], gate
    assert not [r for r in events(world) if r["Database"] == "a" and r["Status"] in ("Failed", "RolledBack")]
    return events(world, "WindowMissed")[0]["Message"]


FREEZING_STEPS = pytest.mark.parametrize("mode, target, freezing, migrations", [
    ("online", "mi-prod", "freeze_source", ["InProgress"]),
    ("offline", "db-prod", "start_migration", []),
], ids=["online", "sqlDbCopy"])


@FREEZING_STEPS
@pytest.mark.parametrize("late_minutes", [35, 61], ids=["tooLittleLeft", "pastTheDeadline"])
def test_an_azure_outage_before_the_freeze_goes_back_to_replicating_once_the_cutover_no_longer_fits_the_deadline(
        world, monkeypatch, mode, target, freezing, migrations, late_minutes):
    """ARM answers 503 to a's freezing step before it froze anything (reading its migration); its next poke comes
    35 minutes later, too late for a 30-minute cutover before the deadline (60 minutes after the gate), or 61,
    past the deadline. Was: the wait went on to the deadline, then failed, and the rollback canceled the
    replication (35: the freeze came once ARM answered, with 25 minutes left for a 30-minute cutover). Now
    WindowMissed: back to replicating, nothing frozen, saying why."""
    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-05T22:00:00Z")  # inside the window
    plan = deadline_plan(mode, target)
    # the gateway sends a request 3 times: the first two pokes meet the outage, the third finds ARM back
    driver, view = run_late(world, monkeypatch, plan, freezing, late_minutes,
                            after_gate=lambda w: w.add_fault("get", "error", status=503, count=6))

    missed = assert_back_to_replicating_nothing_frozen(world, driver, view, freezing, migrations)
    assert "Azure unavailable (" in missed and "while a waited to freeze its source" in missed, missed
    assert "timeoutMinutes (60)" in missed and "Sales not frozen, it keeps replicating" in missed, missed


def test_a_sqldb_copy_waiting_for_dms_capacity_before_its_freeze_goes_back_to_replicating_once_the_cutover_no_longer_fits(
        world, monkeypatch):
    """The migration service is full (concurrency.maxMigrationsPerService 1: b's migration in flight) when a's
    SqlDb copy would freeze its source; its next poke comes 35 minutes later, too late for its 30-minute cutover
    before the deadline. Was: it waited on, failed at the deadline, and the run failed (RolledBack). Now
    WindowMissed: nothing frozen, no copy started, it waits for its window again in a later run."""
    from task_driver import WorkerCrashed

    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-05T22:00:00Z")
    plan = deadline_plan("offline", "db-prod", others=[database_entry("b", "Hr", mode="online")],
                         concurrency={"maxMigrationsPerService": 1})

    def b_in_flight(dag):
        with pytest.raises(WorkerCrashed):
            RunDriver(dag).run_database("b", crash_after="start_migration")

    driver, view = run_late(world, monkeypatch, plan, "start_migration", 35, first=b_in_flight)

    missed = assert_back_to_replicating_nothing_frozen(world, driver, view, "start_migration", [])
    assert missed.startswith("waiting for capacity: 1 migration(s) running or canceling in DMS on the migration service"), missed
    assert "is too soon for a 30-minute cutover" in missed and "Sales not frozen" in missed, missed


@FREEZING_STEPS
def test_a_free_place_is_not_taken_with_too_little_left_before_the_deadline(world, monkeypatch, mode, target, freezing, migrations):
    """A place of cutover.maxConcurrent is free, but a's freezing step first pokes 35 minutes after the gate let it
    go (a scheduler slow to start it): 25 minutes before its deadline, too few for its 30-minute cutover. Was:
    the place was taken and the source frozen with too little time, every wait after it failing at the deadline
    and its rollback canceling the replication. Now, as for a window that closes too soon: WindowMissed."""
    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-05T22:00:00Z")
    plan = deadline_plan(mode, target, cutover={"maxConcurrent": 1})
    from migration_orchestration_lib import cutover_steps, operators
    from migration_orchestration_lib.airflow_compat import utc_now

    gone = []

    def jump(_world):  # the gate let a go: its freezing step starts 35 minutes later
        gone.append(True)
        monkeypatch.setattr(cutover_steps, "utc_now", lambda: utc_now() + timedelta(minutes=35))
        monkeypatch.setattr(operators, "utc_now", lambda: utc_now() + timedelta(minutes=35))

    driver, view = run_late(world, monkeypatch, plan, freezing, 0, after_gate=jump)

    assert gone
    missed = assert_back_to_replicating_nothing_frozen(world, driver, view, freezing, migrations)
    assert missed.startswith("the deadline ") and "is too soon for a 30-minute cutover" in missed, missed
    assert "timeoutMinutes (60)" in missed and "Sales not frozen" in missed, missed


NEW_YORK_SATURDAY = {"timeZone": "America/New_York", "from": "2026-12-05T20:00", "to": "2026-12-06T02:00"}  # 01:00-07:00Z


@pytest.mark.airflow26  # also on Python 3.8 (backports.zoneinfo)
@pytest.mark.parametrize("now", ["2026-12-06T07:00:00Z", "2026-12-06T06:45:00Z"], ids=["closed", "closes before a cutover fits"])
def test_preflight_fails_at_once_naming_cutover_windows_all_in_the_past(world, monkeypatch, now):
    """Before: the migration replicated for days, then await_cutover waited for a window that never comes
    ("no window of the plan fits any more")."""
    monkeypatch.setenv("MIGRATION_SIMULATE_START", now)
    plan = gated_plan(approval=False, windows=(NEW_YORK_SATURDAY, dict(NEW_YORK_SATURDAY, **{"from": "2026-11-28T20:00", "to": "2026-11-29T02:00"})))
    view = Recorder(world, plan)
    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), view.observe)
    states = driver.run_database("db")

    assert states["db.preflight"] == "failed", driver.errors
    error = driver.errors["db.preflight"]
    assert "every cutover window of db is in the past at %s" % now in error, error
    assert "2026-12-05T20:00 to 2026-12-06T02:00 (America/New_York)" in error and "2026-11-28T20:00 to 2026-11-29T02:00" in error
    assert "add a window to the plan" in error
    assert view.operations() == [] and view.source_writable(), "nothing started or frozen"


@pytest.mark.parametrize("crash_after, outcome", [("wait_for_completion", "migrated"), ("freeze_source", "waiting")])
def test_a_database_already_live_or_frozen_still_finishes_or_rolls_back_once_its_windows_passed(world, crash_after, outcome):
    """Cut over (live) or frozen inside the window, the worker dies; the next run comes after every window closed.
    Its preflight lets it through: the live one is validated and declared migrated, the frozen one goes back to
    replicating, its source writable again (a refusal would leave the source frozen for good)."""
    plan = gated_plan(approval=False, windows=(NEW_YORK_SATURDAY,))
    view = Recorder(world, plan)
    with pytest.raises(WorkerCrashed):
        RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), view.observe).run_database("db", crash_after=crash_after)
    assert not view.source_writable()
    set_rehearsal_clock(world, "2026-12-08T12:00:00Z")
    later = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), view.observe)
    states = later.run_database("db")

    assert states["db.preflight"] == "success", later.errors
    assert later.outcome("db") == outcome, later.errors
    assert view.source_writable() == (outcome == "waiting") and not view.online_target_deleted


NEW_YORK_WINDOW = "2026-12-05T20:00 to 2026-12-06T02:00 (America/New_York)"


def run_past_the_last_window(world, monkeypatch, plan, late_at, reject=False, dag=None):
    """`late_at`: where the simulated clock stands when the database reaches await_cutover (a migration slow to
    become ready); `reject`: the approver rejects the window. The rehearsal's horizon is days after the window."""
    monkeypatch.setenv("MIGRATION_SIMULATE_UNTIL", "2026-12-10T00:00:00Z")
    if reject:
        monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:reject")
    view = Recorder(world, plan)
    moved = []

    def observe(task_id):
        view.observe(task_id)
        if late_at and not moved and task_id == "db.preflight":
            moved.append(True)
            set_rehearsal_clock(world, late_at)

    driver = RunDriver(dag or build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), observe)
    return driver, view, driver.run_database("db")


@pytest.mark.parametrize("reject, late_at, failed_at", [
    (True, None, "2026-12-06T06:30:01Z"),
    (False, "2026-12-06T06:45:00Z", "2026-12-06T06:45:00Z"),
], ids=["rejectedInTheLastWindow", "whatIsLeftTooShort"])
def test_await_cutover_fails_once_no_window_can_start_the_cutover_leaving_the_migration_replicating(
        world, monkeypatch, reject, late_at, failed_at):
    """The plan's only window is a date window. Rejected in it, or reached when what is left of it (15 minutes) is too
    short for the 30-minute cutover: no window can ever start the cutover. Was: await_cutover waited on ("no window of
    the plan fits any more"), until the rehearsal's horizon here (`skipped`, reported waiting), for good in a real run.
    Now it fails at once, naming the windows and expectedMinutes; the rollback froze nothing, cancels nothing and
    removes nothing: the migration keeps replicating into its target for a run after a window is added."""
    plan = gated_plan(approval=reject, windows=(NEW_YORK_SATURDAY,))
    driver, view, states = run_past_the_last_window(world, monkeypatch, plan, late_at, reject)

    assert states["db.await_cutover"] == "failed" and states["db.rollback"] == "success", (states, driver.errors)
    error = driver.errors["db.await_cutover"]
    assert "every cutover window of db is in the past at %s" % failed_at in error, error
    assert "expectedMinutes 30" in error and NEW_YORK_WINDOW in error and "add a window to the plan" in error, error
    assert clock_now(world) == parse_iso_utc(failed_at), "failed as soon as no window fits, not at the horizon"
    assert bool(events(world, "Rejected")) == reject, "a rejection still waits while its window fits"
    assert ("passed while db waited (rejected by alice@contoso.com)" in error) == reject, "why the last window passed"
    assert driver.outcome("db") == "rolled_back", "the run fails for this database"
    assert view.frozen_at is None and view.source_writable(), "never frozen"
    assert [op["migrationStatus"] for op in view.operations()] == ["InProgress"], "the migration keeps replicating"
    assert view.target()["state"] == "RESTORING" and not view.online_target_deleted, "the target is kept"
    failed = [r for r in events(world, "Failed") if r["Phase"] == "await_cutover"]
    assert len(failed) == 1 and NEW_YORK_WINDOW in failed[0]["Message"]
    rolled_back = [r["Message"] for r in events(world, "RolledBack") if r["Phase"] == "rollback"]
    assert len(rolled_back) == 1 and "keeps replicating and its target is kept" in rolled_back[0], rolled_back


@pytest.mark.parametrize("mode, target, migrations", [("online", "mi-prod", ["InProgress"]), ("offline", "db-prod", [])],
                         ids=["online", "sqlDbCopy"])
def test_after_await_cutover_fails_for_want_of_a_window_the_rollback_keeps_what_existed_and_a_restriction_by_design(
        world, monkeypatch, mode, target, migrations):
    """The source is read-only by the team's choice (an archive) before the run; await_cutover fails, no window left.
    The rollback removes no target (a SqlDb target existed before the migration; a RESTORING one keeps its
    replication) and leaves the source's restriction as it was: it only undoes a freeze of the DAG's own."""
    plan = gated_plan(mode=mode, target=target, approval=False, windows=(NEW_YORK_SATURDAY,))
    view = Recorder(world, plan)
    seed_world(view.world, plan)
    view.world.update_database("sql01", "Sales", readOnly=True)
    target_before = view.target()
    driver, view, states = run_past_the_last_window(world, monkeypatch, plan, "2026-12-06T06:45:00Z")

    assert states["db.await_cutover"] == "failed" and states["db.rollback"] == "success", (states, driver.errors)
    assert driver.outcome("db") == "rolled_back", driver.errors
    assert view.source()["readOnly"] is True, "the restriction by design stays"
    assert [op["migrationStatus"] for op in view.operations()] == migrations, "nothing canceled, no copy started"
    if target == "db-prod":
        assert target_before is not None and view.target() == target_before, "a target that existed before is kept as it was"
    else:
        assert target_before is None and view.target()["state"] == "RESTORING", "the replication's target is kept"


@needs_hitl
def test_on_channel_hitl_await_cutover_fails_too_once_no_window_can_start_the_cutover(world, monkeypatch):
    """Channel hitl: `await_cutover` is the CutoverApprovalOperator (as outside a rehearsal), whose gate is the same
    step: it fails, asking nobody, and the rollback leaves the migration replicating."""
    from migration_orchestration_lib import cutover_hitl

    monkeypatch.setattr(cutover_hitl, "is_dry_run", lambda environ: False)  # the operator that asks, as in production
    settings = dict(cutover(windows=(NEW_YORK_SATURDAY,)), approval={"required": True, "approvers": ["alice@contoso.com"], "channel": "hitl"})
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online", target="mi-prod", cutover=settings)]))
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    assert isinstance(dag.get_task("db.await_cutover"), cutover_hitl.CutoverApprovalOperator)
    driver, view, states = run_past_the_last_window(world, monkeypatch, plan, "2026-12-06T06:45:00Z", dag=dag)

    assert states["db.await_cutover"] == "failed" and states["db.rollback"] == "success", (states, driver.errors)
    assert "every cutover window of db is in the past at 2026-12-06T06:45:00Z" in driver.errors["db.await_cutover"]
    assert driver.outcome("db") == "rolled_back" and view.source_writable()
    assert [op["migrationStatus"] for op in view.operations()] == ["InProgress"] and view.target()["state"] == "RESTORING"
    assert not events(world, "AwaitingApproval"), "nobody is asked about a window that cannot hold the cutover"


def test_await_cutover_failing_for_want_of_a_window_does_not_say_nothing_is_frozen_where_an_earlier_runs_freeze_holds_the_source(
        world, monkeypatch):
    """A SqlDb copy that freezes its source: an earlier run's start_migration froze it and its worker died before DMS
    took the copy (DMS answered 500 meanwhile). The next run finds every window passed: preflight lets it through (the
    DAG's freeze holds the source: that run must be able to roll back), await_cutover fails, and the rollback makes the
    source writable again, removing nothing. Was: the Failed event (the migration-failed alert) said "Nothing is
    frozen" while the DAG's freeze still held the source."""
    plan = gated_plan(mode="offline", target="db-prod", approval=False, windows=(NEW_YORK_SATURDAY,))
    view = Recorder(world, plan)
    seed_world(view.world, plan)
    view.world.add_fault("create", "error", status=500, count=20, database="Sales")
    target_before = view.target()
    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-05T12:00:00Z")

    def crash_once_frozen(task_id):
        view.observe(task_id)
        if not view.source_writable():
            raise WorkerCrashed(task_id)

    with pytest.raises(WorkerCrashed):
        RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), crash_once_frozen).run_database("db")
    assert not view.source_writable() and view.operations() == [], "frozen for the copy, no copy taken"
    set_rehearsal_clock(world, "2026-12-06T06:45:00Z")
    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), view.observe)
    states = driver.run_database("db")

    assert states["db.await_cutover"] == "failed" and states["db.rollback"] == "success", (states, driver.errors)
    failed = [r["Message"] for r in events(world, "Failed") if r["Phase"] == "await_cutover"]
    assert len(failed) == 1 and "every cutover window of db is in the past" in failed[0], failed
    assert "Nothing is frozen" not in failed[0] and "an earlier run's freeze" in failed[0], failed[0]
    assert driver.outcome("db") == "rolled_back" and view.source_writable(), "the earlier run's freeze is undone"
    assert view.operations() == [] and view.target() == target_before, "no copy started; the target that existed is kept"


NEW_YORK_NEXT_SATURDAY = dict(NEW_YORK_SATURDAY, **{"from": "2026-12-12T20:00", "to": "2026-12-13T02:00"})


def a_first_try_back_to_replicating(world, monkeypatch, first_try):
    """A run whose first try ends back to replicating: await_cutover finds no window left (`noWindowLeft`), or the
    window closes after the freeze (`windowMissed`: final_backup's WindowMissed). Returns the driver, the world's view,
    the XCom that said so, and the windows and approval of a plan whose next window can take the cutover."""
    from migration_orchestration_lib.step_context import NO_WINDOW_LEFT_KEY, WINDOW_MISSED_KEY

    if first_try == "noWindowLeft":
        windows, approval = (NEW_YORK_SATURDAY,), False
        driver, view, states = run_past_the_last_window(world, monkeypatch, gated_plan(approval=False, windows=windows), "2026-12-06T06:45:00Z")
        stale, windows = ("db.await_cutover", NO_WINDOW_LEFT_KEY), windows + (NEW_YORK_NEXT_SATURDAY,)
    else:
        monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
        windows, approval = (SATURDAY_NIGHT,), True
        view = Recorder(world, gated_plan())

        def observe(task_id):
            view.observe(task_id)
            if task_id == "db.freeze_source":  # the window closes while the final backup is taken
                set_rehearsal_clock(world, "2026-12-06T03:00:00Z")

        driver = RunDriver(build_dag(gated_plan(), {"MIGRATION_DRY_RUN": "1"}), observe)
        states = driver.run_database("db")
        stale = ("db.final_backup", WINDOW_MISSED_KEY)
    assert states["db.rollback"] == "success" and stale in driver.xcom, (states, driver.errors)
    assert [op["migrationStatus"] for op in view.operations()] == ["InProgress"] and view.source_writable()
    return driver, view, stale, windows, approval


@pytest.mark.parametrize("first_try", ["noWindowLeft", "windowMissed"])
def test_a_run_cleared_from_preflight_rolls_back_as_usual_where_only_an_earlier_try_went_back_to_replicating(
        world, monkeypatch, first_try):
    """The run's first try ends back to replicating: await_cutover found no window left (`no_window_left`), or the
    window closed after the freeze (final_backup's `window_missed`). A person edits the plan (a window added; the mode
    made offline) and clears the run from preflight. Now start_migration refuses the online migration it would adopt
    ("rollback cancels it"), before await_cutover or final_backup run again: their XComs of the first try are still
    there (Airflow clears a task's XComs when it runs). Was: the rollback read them as this try's and left the
    migration replicating, against start_migration's word. Now only what was pushed since this run's preflight
    counts: the ordinary rollback cancels the migration, removes its RESTORING target, the source stays writable."""
    driver, view, stale, windows, approval = a_first_try_back_to_replicating(world, monkeypatch, first_try)

    driver.dag = build_dag(gated_plan(mode="offline", approval=approval, windows=windows), {"MIGRATION_DRY_RUN": "1"})
    driver.observe = view.observe
    states = driver.clear_database("db")

    assert states["db.preflight"] == "success" and states["db.start_migration"] == "failed", driver.errors
    assert "rollback cancels it" in driver.errors["db.start_migration"], driver.errors["db.start_migration"]
    assert stale in driver.xcom, "the first try's XCom is still there"
    assert states["db.rollback"] == "success" and driver.outcome("db") == "rolled_back", driver.errors
    assert [op["migrationStatus"] for op in view.operations()] == ["Canceled"], "the ordinary rollback cancels it"
    assert view.target() is None and not view.online_target_deleted, "its RESTORING target removed, never a live one"
    assert view.source_writable()
    assert "canceled migration" in events(world, "RolledBack")[-1]["Message"]


@pytest.mark.parametrize("first_try", ["noWindowLeft", "windowMissed"])
def test_a_run_cleared_from_await_cutover_after_its_rollback_kept_the_migration_replicating_keeps_it(
        world, monkeypatch, first_try):
    """The run's first try ends back to replicating, as in the test above. A person clears the run from await_cutover
    with its downstream tasks (a window added first, or none needed: weekly windows come again), not from preflight.
    await_cutover passes; freeze_source stands down (this run's rollback undid the freeze since its preflight: no
    step freezes again before a preflight looks again) and the rollback runs again. Was, after noWindowLeft (that XCom
    is await_cutover's, cleared when it ran again): it canceled the migration and removed its RESTORING target, days of
    replication thrown away on a step that changed nothing. Now the rollback finds this run's rollback already undid the
    database without canceling (the record of the source's access cleared since this run's preflight) and leaves the
    migration replicating. After windowMissed final_backup's XCom of the first try (same preflight) said so already."""
    driver, view, _, windows, approval = a_first_try_back_to_replicating(world, monkeypatch, first_try)
    driver.dag = build_dag(gated_plan(approval=approval, windows=windows), {"MIGRATION_DRY_RUN": "1"})
    monkeypatch.setenv("MIGRATION_SIMULATE_UNTIL", "2026-12-20T00:00:00Z")  # past the next Saturday's window
    driver.observe = view.observe
    states = driver.clear_database("db", "await_cutover")

    assert states["db.preflight"] == "success" and states["db.await_cutover"] == "success", driver.errors
    assert states["db.freeze_source"] == "failed" and "stands down" in driver.errors["db.freeze_source"], driver.errors
    assert states["db.rollback"] == "success", driver.errors
    assert [op["migrationStatus"] for op in view.operations()] == ["InProgress"], "still replicating, never canceled"
    assert view.target()["state"] == "RESTORING" and view.source_writable(), "its target kept, the source writable"


def test_a_rollback_cleared_after_an_upgrade_still_reads_no_window_left_pushed_as_a_plain_string(world, monkeypatch):
    """await_cutover found no window left under the library before the preflight mark (its XCom a plain string);
    the deployment is upgraded and a person clears the rollback alone: it still reads the string as this run's
    and leaves the migration replicating (`StepContext.pulled_for_this_run`), never canceling days of replication."""
    from migration_orchestration_lib.step_context import NO_WINDOW_LEFT_KEY

    plan = gated_plan(approval=False, windows=(NEW_YORK_SATURDAY,))
    driver, view, states = run_past_the_last_window(world, monkeypatch, plan, "2026-12-06T06:45:00Z")
    assert states["db.await_cutover"] == "failed" and driver.outcome("db") == "rolled_back", (states, driver.errors)
    pushed = driver.xcom[("db.await_cutover", NO_WINDOW_LEFT_KEY)]
    driver.xcom[("db.await_cutover", NO_WINDOW_LEFT_KEY)] = pushed["message"]  # as the earlier version pushed it

    assert driver.clear_task("db", "rollback") == "success" and driver.outcome("db") == "rolled_back", driver.errors
    assert [op["migrationStatus"] for op in view.operations()] == ["InProgress"], "still replicating, never canceled"
    assert "await_cutover failed, nothing frozen" in events(world, "RolledBack")[-1]["Message"]


@pytest.mark.parametrize("held", ["unanswered", "maxConcurrent"])
def test_the_failure_after_the_last_window_passed_says_why_it_passed(world, monkeypatch, held):
    """The plan's only window passes while db waits in it: its approval unanswered, or its place held by another
    cutover (a's source frozen, cutover.maxConcurrent 1). At the next poke no window can start the cutover and
    await_cutover fails. Was: the Failed event, the one alerted on, named the windows but not why the last one
    passed (only the earlier events did). Now it says so, as the WindowMissed event would."""
    monkeypatch.setenv("MIGRATION_SIMULATE_UNTIL", "2026-12-10T00:00:00Z")
    if held == "unanswered":
        why = ("no approval came in time: the Airflow Variable migration_cutover_approval__db holds no approval record; one set "
               "under any other key is never read")
        plan, waits = gated_plan(approval=True, windows=(NEW_YORK_SATURDAY,)), "awaits approval"
    else:
        settings = cutover(approval=False, windows=(NEW_YORK_SATURDAY,))
        document = plan_with_databases([database_entry("a", "Sales", mode="online", cutover=settings),
                                        database_entry("db", "Hr", mode="online", cutover=settings)])
        document["cutover"] = {"maxConcurrent": 1}
        plan, why, waits = parse_plan(document), "other cutovers held it (cutover.maxConcurrent), or await_cutover did not run while it could start", "1 cutover(s) in progress"
        with pytest.raises(WorkerCrashed):  # a's source frozen in the window, its migration still replicating
            RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"})).run_database("a", crash_after="freeze_source")
    view = Recorder(world, plan)
    moved = []

    def time_moves_on(task_id):  # held in the window: the rehearsal's clock would stand still there
        view.observe(task_id)
        if task_id == "db.await_cutover" and not moved and waits in events(world)[-1]["Message"]:
            moved.append((events(world)[-1]["Status"], clock_now(world)))
            set_rehearsal_clock(world, "2026-12-06T06:30:01Z")  # just after the window's last fitting start

    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), time_moves_on)
    states = driver.run_database("db")

    assert moved and moved[0][1] >= parse_iso_utc("2026-12-06T01:00:00Z"), "held in the window"
    assert states["db.await_cutover"] == "failed" and states["db.rollback"] == "success", (states, driver.errors)
    failed = [r["Message"] for r in events(world, "Failed") if r["Database"] == "db"]
    assert len(failed) == 1 and "every cutover window of db is in the past at 2026-12-06T06:30:01Z" in failed[0], failed
    assert "; window %s (2026-12-06T01:00:00Z to 2026-12-06T07:00:00Z UTC) passed while db waited (%s): no window can" % (
        NEW_YORK_WINDOW, why) in failed[0], failed[0]
    assert why in driver.errors["db.await_cutover"]
    assert [op["migrationStatus"] for op in view.operations()] == ["InProgress"] and view.source_writable()


@pytest.mark.parametrize("windows, last_start", [((SATURDAY_NIGHT,), "02:30"), ((NEW_YORK_SATURDAY,), "06:30")],
                         ids=["weekly", "lastDateWindow"])
def test_an_approval_nobody_answers_holds_the_rehearsal_clock_a_while_then_misses_the_window(world, monkeypatch, windows, last_start):
    """Nobody answers (no simulated approver, no record): the clock jumps to the window's last fitting start and
    holds there for `ANSWER_GRACE` of real time, then moves one second on, as real time would. A weekly window:
    WindowMissed (no approval came in time), the next one past the horizon: skipped, waiting. The plan's last date
    window: await_cutover fails, no window left, saying why. Either way still replicating. Was: held there for good
    (a rehearsal of examples/cutover-windows.yaml without an answer for database_2 never ended, and database_3 never
    reached its window); here the driver gave up after its pokes and the rollback canceled the migration."""
    from migration_orchestration_lib import rehearsal_cutover

    monkeypatch.setattr(rehearsal_cutover, "ANSWER_GRACE", timedelta(seconds=0.3), raising=False)
    monkeypatch.setenv("MIGRATION_SIMULATE_UNTIL", "2026-12-10T00:00:00Z")
    document, since = gated_document(windows=windows), time.time()
    plan = parse_plan(document)
    view = Recorder(world, plan)
    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), view.observe)
    states = driver.run_database("db")

    gate = [(r["Status"], r["Message"]) for r in events(world) if r["Phase"] == "await_cutover"]
    asked = [message for status, message in gate if status == "AwaitingApproval"]
    assert len(asked) > 1 and all("before 2026-12-06T%s:00Z" % last_start in message for message in asked), "held a while"
    why = "passed while db waited (no approval came in time: the Airflow Variable migration_cutover_approval__db holds no approval record"
    if windows == (SATURDAY_NIGHT,):
        assert states["db.await_cutover"] == "skipped" and driver.xcom[("db.await_cutover", "outcome")] == "waiting", (
            states, driver.errors)
        missed = [message for status, message in gate if status == "WindowMissed"]
        assert len(missed) == 1 and why in missed[0], gate
        assert "still waiting for the next window" in gate[-1][1] and clock_now(world) == parse_iso_utc("2026-12-10T00:00:00Z")
        assert_event_replay("no-approval-in-time-window-missed", events(world), document, since)
    else:
        assert states["db.await_cutover"] == "failed" and driver.outcome("db") == "rolled_back", (states, driver.errors)
        assert gate[-1][0] == "Failed" and "in the past at 2026-12-06T06:30:01Z" in gate[-1][1] and why in gate[-1][1], gate[-1]
    assert view.frozen_at is None and view.source_writable()
    assert [op["migrationStatus"] for op in view.operations()] == ["InProgress"], "still replicating, never canceled"


def test_the_gate_pokes_once_a_second_while_the_rehearsal_clock_holds_for_an_answer(world, monkeypatch):
    """While the clock holds for an answer nobody gives (`ANSWER_GRACE`), each poke of the gate is rescheduled
    `ANSWER_POKE` (a second) on, each writing one AwaitingApproval event: a few a second, not a busy loop. Was: at
    once, every time (a rehearsal of examples/cutover-windows.yaml wrote 163 AwaitingApproval events in that minute;
    here the driver gave up after its pokes)."""
    from migration_orchestration_lib import rehearsal_cutover

    monkeypatch.setattr(rehearsal_cutover, "ANSWER_GRACE", timedelta(seconds=2.5))
    monkeypatch.setenv("MIGRATION_SIMULATE_UNTIL", "2026-12-10T00:00:00Z")
    plan = gated_plan()
    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), Recorder(world, plan).observe, wait_between_pokes=True)
    states = driver.run_database("db")

    assert states["db.await_cutover"] == "skipped" and driver.xcom[("db.await_cutover", "outcome")] == "waiting", (states, driver.errors)
    held = [r["TimeGenerated"] for r in events(world, "AwaitingApproval") if "before 2026-12-06T02:30:00Z" in r["Message"]]
    assert 2 <= len(held) <= 6, "%d pokes in a hold of 2.5 s" % len(held)


def test_a_record_written_by_hand_while_the_rehearsal_clock_holds_still_answers(world):
    """The clock holds at the window's last fitting start (`ANSWER_GRACE`, a minute of real time): an approval
    written there by hand (the world's file standing in for the Airflow Variable) is read, and the cutover goes
    inside the window."""
    from migration_orchestration_lib.cutover_gate import ApprovalRecord
    from migration_orchestration_lib.rehearsal_cutover import FileApprovals

    plan = gated_plan()
    view = Recorder(world, plan)

    def answer_by_hand(task_id):
        view.observe(task_id)
        if task_id == "db.await_cutover" and clock_now(world) == parse_iso_utc("2026-12-06T02:30:00Z"):
            FileApprovals(str(world)).put("db", ApprovalRecord(window=FIRST_OPENING, decision="approve", by="alice@contoso.com"))

    driver = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), answer_by_hand)
    driver.run_database("db")

    assert driver.outcome("db") == "migrated", driver.errors
    assert view.frozen_at == parse_iso_utc("2026-12-06T02:30:00Z") and view.cutover_at < parse_iso_utc("2026-12-06T03:00:00Z")
