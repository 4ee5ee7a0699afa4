"""The self-hosted integration runtime offline with `sqlAccess: dataFactory` (README's `shir-offline` runbook row).

Every SQL step on a source (and on a SqlVm target) is a Data Factory pipeline run that Data Factory's self-hosted
integration runtime executes. With no node online, the fake Data Factory holds such a run's activity `Queued`, its SQL
not run, and runs it once the runtime is back (`data_factory_server.set_runtime_offline`); SqlMi targets go through the
managed VNet runtime, unaffected. Lived through task by task (`task_driver`) on the rehearsal world, time simulated:
an hour passes with every poke of a step while the runtime is offline, on every clock the run reads (the DAG's
`utc_now`, Airflow's start of a try, the Data Factory access's and Data Factory's own; nothing sleeps).
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest

import task_driver
from migration_orchestration_lib import airflow_compat, sql_access_data_factory
from migration_orchestration_lib.database_sql import DatabaseSql
from migration_rehearsal import data_factory_server
from migration_rehearsal.data_factory_server import RUNS, DataFactoryServer, load_definitions, set_runtime_offline, set_runtime_online
from conftest import database_entry, load_plan_document, plan_with_databases
from event_replays import assert_event_replay
from task_driver import RunDriver
from test_overtaken_freezes import record, setup  # one database `db` (Sales on sql01, into mi-prod)

# On Python 3.8 (airflow26) the tests marked below run: with that run's others they reach every line and branch of
# the DAG's code all of this file's tests reach there (dags/README.md, "Python 3.8").

SELF_HOSTED = load_definitions()["linkedServices"]["ls_migration_sql_self_hosted"]["connectVia"]["referenceName"]


@pytest.fixture
def events_file(rehearsal_world, monkeypatch, tmp_path):
    path = tmp_path / "events.jsonl"
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(path))
    return path


def events(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


class Outage:
    """The runtime goes offline at `start` (a callable the test wires in), comes back on `end`; while it is offline, an
    hour of the DAG's clock passes with every poke of a task."""

    def __init__(self, world, monkeypatch):
        self.world, self.offline, self.began, self.later = world, False, False, timedelta(0)
        outage = self

        class Clock(datetime):  # Airflow's too: when a try starts (`ti.start_date`, its first poke)
            @classmethod
            def now(cls, tz=None):
                return datetime.now(tz) + outage.later

        for module in (airflow_compat, sql_access_data_factory, task_driver):  # the DAG's `utc_now`, its access, Airflow's
            monkeypatch.setattr(module, "datetime", Clock)
        now = data_factory_server._now
        monkeypatch.setattr(data_factory_server, "_now", lambda: data_factory_server._format_time(
            data_factory_server._parse_time(now()) + self.later))  # Data Factory's own (runStart, lastUpdated)

    def start(self):
        """Once: the outage the test lives through."""
        if not self.began:
            set_runtime_offline(self.world.world, SELF_HOSTED)
            self.offline = self.began = True

    def end(self):
        set_runtime_online(self.world.world, SELF_HOSTED)
        self.offline = False

    def observe(self, task_id):
        self.world.observe(task_id)
        if self.offline:
            self.later += timedelta(hours=1)


def runs_of(world, purpose):
    return [(r["parameters"]["operationKey"], r["status"], [a["status"] for a in r["activityRuns"]])
            for r in world.world.snapshot().get(RUNS, {}).values() if r["parameters"]["operationKey"].endswith(":" + purpose)]


def offline_as_the_freeze_is_submitted(monkeypatch, outage):
    """The runtime goes offline right before `freeze_source` submits its freeze (its reads before ran)."""
    freeze = DatabaseSql.freeze_source

    def freeze_source(sql, database, *markers):
        outage.start()
        return freeze(sql, database, *markers)

    monkeypatch.setattr(DatabaseSql, "freeze_source", freeze_source)


def run_with_the_freeze_queued(rehearsal_world, monkeypatch, on_rollback_poke):
    """One database (`db`, online) through Data Factory, run to its end: the runtime goes offline as freeze_source
    submits its freeze; after each poke of the rollback `on_rollback_poke(rollback_pokes, outage, world)`, where
    `rollback_pokes` lists the freeze's runs at each poke so far. Returns world, outage, run, rollback_pokes, states."""
    dag, world = setup(rehearsal_world, "dataFactory", mode="online")
    outage = Outage(world, monkeypatch)
    offline_as_the_freeze_is_submitted(monkeypatch, outage)
    rollback_pokes = []

    def observe(task_id):
        outage.observe(task_id)
        if task_id == "db.rollback":
            rollback_pokes.append(runs_of(world, "freeze"))
            on_rollback_poke(rollback_pokes, outage, world)

    run = RunDriver(dag, observe)
    return world, outage, run, rollback_pokes, run.run_database("db")


def frozen_without_an_event_saying_so(world, rows):
    """The source frozen while the latest event of the database says neither that it is frozen nor that a freeze may
    still land (a person would look for nothing)."""
    latest = rows[-1]
    says_so = (latest["Phase"], latest["Status"]) == ("freeze_source", "Succeeded") or "leave the source frozen" in latest["Message"]
    return not world.source_writable() and not says_so


@pytest.mark.parametrize("back", ["after the rollback gave up", "while the rollback waits"])
def test_a_freeze_queued_on_an_offline_runtime_is_awaited_by_the_rollback_and_undone_once_the_runtime_is_back(
        rehearsal_world, monkeypatch, events_file, back):
    """The freeze stays queued past freeze_source's deadline: the step fails, and the rollback awaits the queued freeze
    (`rollback._await_freezes_in_flight`) rather than reading a source it may freeze later. Either the runtime comes back
    while it waits, or the rollback gives up at timeoutMinutes (rollback-failed), saying the freeze may still land and to
    clear it once the runtime is online; cleared so, it undoes the freeze. Was: the rollback-failed event said only "SQL
    operation ...:freeze is running on sql01", nothing of the source it may freeze nor of what to do."""
    def the_runtime_comes_back_while_the_rollback_waits(rollback_pokes, outage, world):
        if back == "while the rollback waits" and len(rollback_pokes) == 3:
            outage.end()

    world, outage, run, rollback_pokes, states = run_with_the_freeze_queued(
        rehearsal_world, monkeypatch, the_runtime_comes_back_while_the_rollback_waits)

    assert states["db.freeze_source"] == "failed" and "timeoutMinutes (720) passed while waiting" in run.errors["db.freeze_source"]
    assert rollback_pokes[0] == [("%s:db:freeze_source:1:freeze" % run.run_id, "InProgress", ["Queued"])], rollback_pokes
    rows = events(events_file)
    waits = [row["Message"] for row in rows if (row["Phase"], row["Status"]) == ("rollback", "Running")]
    assert len(waits) > 2 and all("the freeze of source Sales that freeze_source submitted has not ended" in m for m in waits[:3]), waits
    if back == "after the rollback gave up":
        assert states["db.rollback"] == "failed", run.errors
        error = run.errors["db.rollback"]
        assert "timeoutMinutes (720) passed while waiting: the freeze of source Sales that freeze_source submitted has not ended" in error
        assert "leave the source frozen" in error and "clear this rollback task: it undoes the freeze" in error, error
        assert rows[-1]["Phase"] == "rollback" and rows[-1]["Status"] == "Failed" and rows[-1]["Message"] == error.split(": ", 1)[1]
        assert world.source_writable() and record(rehearsal_world) not in (None, ""), "nothing undone, the freeze not landed"
        assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"], "nothing canceled"

        outage.end()
        DataFactoryServer(world.world).advance_all()  # the runtime back: the queued freeze lands
        assert not world.source_writable(), "the freeze landed after the rollback gave up"
        assert not frozen_without_an_event_saying_so(world, events(events_file))
        assert run.clear_task("db", "rollback") == "success", run.errors  # as the message says
    assert states["db.rollback"] == "success" or run.states["db.rollback"] == "success", run.errors
    assert runs_of(world, "freeze") == [("%s:db:freeze_source:1:freeze" % run.run_id, "Succeeded", ["Succeeded"])]
    assert world.source_writable(), "the landed freeze undone"
    assert not world.source().get("extendedProperties"), "its freeze marker dropped"
    assert record(rehearsal_world) == "", "the record of the source's access cleared"
    assert run.outcome("db") == "rolled_back"
    rows = events(events_file)
    assert (rows[-1]["Phase"], rows[-1]["Status"]) == ("rollback", "RolledBack") and "writable again" in rows[-1]["Message"]


@pytest.mark.airflow26
def test_a_freeze_in_flight_that_lands_on_a_source_hidden_from_the_login_leaves_the_rollback_to_a_person(
        rehearsal_world, monkeypatch, events_file):
    """The rollback waits for the freeze queued on the offline runtime (`rollback._await_freezes_in_flight`); meanwhile
    the source server is hardened (public's VIEW ANY DATABASE revoked, the DAG's login left with rights in Sales alone),
    so once the runtime is back the queued freeze sees no row of Sales and skips it, and what it did cannot be read
    (`SourceHidden`). The rollback stops waiting (the freeze has ended, whatever it found) and reads on: the source hidden, with the DAG's
    record of its access before the freeze there, it fails for a person, naming the login and the grant, the source
    left as it is and the record kept; never "rolled back" over a source it could not read. Granted, the rollback
    cleared ends with the source writable and the record cleared."""
    from migration_orchestration_lib.rehearsal import REHEARSAL_LOGIN

    def hardened_then_the_runtime_comes_back_while_the_rollback_waits(rollback_pokes, outage, world):
        if len(rollback_pokes) == 2:
            world.world.revoke_view_any_database_from_public("sql01")
            world.world.set_login("sql01", REHEARSAL_LOGIN, [], {"Sales": ["CONTROL"]})
            outage.end()

    world, _, run, _, states = run_with_the_freeze_queued(
        rehearsal_world, monkeypatch, hardened_then_the_runtime_comes_back_while_the_rollback_waits)

    assert states["db.freeze_source"] == "failed" and states["db.rollback"] == "failed", run.errors
    assert runs_of(world, "freeze") == [("%s:db:freeze_source:1:freeze" % run.run_id, "Succeeded", ["Succeeded"])]
    error = run.errors["db.rollback"]
    assert "has not ended" not in error, "the freeze ended: the rollback waits for it no more"
    assert "source database Sales left as it is (frozen, where the DAG froze it)" in error, error
    assert "login rehearsal no row for it" in error and "GRANT VIEW ANY DATABASE TO [%s]" % REHEARSAL_LOGIN in error, error
    assert world.source_writable(), "the queued freeze skipped the source it could not see"
    assert record(rehearsal_world) not in (None, ""), "the record of the source's access kept for the rollback cleared"
    rows = events(events_file)
    assert (rows[-1]["Phase"], rows[-1]["Status"]) == ("rollback", "Failed"), rows[-1]
    # it waited for the freeze while the freeze ran, no longer: the read asking whether the login sees every row is the
    # rollback's own (was: a wait naming freeze-visibility, saying the freeze had not ended when it had)
    waits = [row["Message"] for row in rows if (row["Phase"], row["Status"]) == ("rollback", "Running") and "has not ended" in row["Message"]]
    assert waits and all(":db:freeze_source:1:freeze is running on sql01" in wait for wait in waits), waits

    world.world.set_login("sql01", REHEARSAL_LOGIN, ["VIEW ANY DATABASE"], {"Sales": ["CONTROL"]})
    assert run.clear_task("db", "rollback") == "success", run.errors
    assert world.source_writable() and record(rehearsal_world) == ""
    assert run.outcome("db") == "rolled_back"


def test_a_source_frozen_when_the_runtime_goes_offline_stays_frozen_until_it_is_back_then_the_rollback_frees_it(
        rehearsal_world, monkeypatch, events_file):
    """Offline between freeze_source and done: the steps wait, then fail at timeoutMinutes; the rollback cancels the
    migration and removes the RESTORING target (DMS and the managed instance, not through the runtime), then waits for
    its read of the source, which the runtime holds, and gives up: the source stays frozen (README, shir-offline; its
    freeze_source Succeeded event is not ended, so source-frozen-too-long fires). Once the runtime is back, the rollback
    cleared makes it writable again."""
    since = time.time()
    dag, world = setup(rehearsal_world, "dataFactory", mode="online")
    outage = Outage(world, monkeypatch)
    observe = outage.observe

    def offline_once_final_backup_began(task_id):
        observe(task_id)
        if task_id == "db.final_backup":
            outage.start()

    run = RunDriver(dag, offline_once_final_backup_began)
    states = run.run_database("db")

    assert states["db.freeze_source"] == "success" and states["db.final_backup"] == "failed", run.errors
    assert "timeoutMinutes (720) passed while waiting: SQL operation" in run.errors["db.final_backup"], run.errors
    assert states["db.rollback"] == "failed", run.errors
    assert "timeoutMinutes (720) passed while waiting: SQL operation %s:db:rollback:1:source-state is running on sql01" % (
        run.run_id) in run.errors["db.rollback"], run.errors
    assert [op["migrationStatus"] for op in world.operations()] == ["Canceled"] and world.target() is None
    # what it did before it gave up, said (was: only what it waited for)
    undone = "canceled migration %s; deleted managed database Sales on mi-prod" % world.operations()[0]["migrationOperationId"]
    assert run.errors["db.rollback"].endswith(" on sql01 (this rollback so far: %s)" % undone), run.errors
    assert not world.source_writable(), "frozen until the runtime is back"
    statuses = [(row["Phase"], row["Status"]) for row in events(events_file)]
    assert ("freeze_source", "Succeeded") in statuses
    assert not set(statuses[statuses.index(("freeze_source", "Succeeded")):]) & {
        ("done", "Succeeded"), ("rollback", "RolledBack"), ("rollback", "RolledBackTargetKept"), ("rollback", "WindowMissed")
    }, "nothing ends the freeze's sourceFrozen span: source-frozen-too-long keeps firing"

    outage.end()
    DataFactoryServer(world.world).advance_all()  # what the runtime held runs now: the final backup, the rollback's read
    assert not world.source_writable()
    assert run.clear_task("db", "rollback") == "success", run.errors
    assert world.source_writable() and not world.source().get("extendedProperties") and record(rehearsal_world) == ""
    assert run.outcome("db") == "rolled_back"
    assert events(events_file)[-1]["Status"] == "RolledBack"
    # the cleared try's says its first try's actions too (was: "target Sales is absent: nothing to remove; source ...")
    assert events(events_file)[-1]["Message"].startswith(undone + "; "), events(events_file)[-1]["Message"]
    assert events(events_file)[-1]["Message"].endswith("; source database Sales writable again"), events(events_file)[-1]["Message"]
    # Replayed through the deployed alerts (__tests__/kql/event-replays-kql.test.ts): its events' durations are the
    # simulated hours, so migration-running-long fires as in the outage; their times are the real seconds.
    document = plan_with_databases([database_entry("db", "Sales", mode="online")])
    document["airflow"] = load_plan_document("fabric_host.json")["airflow"]  # as `setup` builds it
    assert_event_replay("shir-offline-after-the-freeze-then-cleared", events(events_file), document, since)


def test_a_runtime_back_before_the_deadline_costs_only_time(rehearsal_world, monkeypatch, events_file):
    """Offline three hours while freeze_source waits for its freeze (timeoutMinutes 720): the freeze runs once the
    runtime is back and the run migrates, no rollback."""
    dag, world = setup(rehearsal_world, "dataFactory", mode="online")
    outage = Outage(world, monkeypatch)
    offline_as_the_freeze_is_submitted(monkeypatch, outage)
    observe = outage.observe

    def back_after_three_hours(task_id):
        observe(task_id)
        if outage.offline and outage.later >= timedelta(hours=3):
            outage.end()

    run = RunDriver(dag, back_after_three_hours)
    states = run.run_database("db")

    assert outage.began and outage.later == timedelta(hours=3)
    assert states["db.done"] == "success" and states["db.rollback"] == "skipped", (states, run.errors)
    assert run.outcome("db") == "migrated"
    waits = [row["Message"] for row in events(events_file) if (row["Phase"], row["Status"]) == ("freeze_source", "Running")]
    assert len(waits) >= 3 and all(":freeze is running on sql01" in m for m in waits), waits
