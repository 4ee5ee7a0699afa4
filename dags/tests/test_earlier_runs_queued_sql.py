"""A new DAG run after an earlier run's Data Factory SQL was held in the offline self-hosted runtime's queue.

With `sqlAccess: dataFactory` the source's SQL (and a SqlVm target's) runs on the self-hosted integration runtime;
offline (README `shir-offline`), it holds the runs, and the earlier run's task fails at timeoutMinutes while its SQL
is still queued. A person triggers the DAG again (README `migration-failed`, `rollback-failed`). Lived through task
by task with simulated time (`test_self_hosted_runtime_offline`'s model), the runtime back in no promised order
(`set_runtime_online(in_submission_order=False)`):
- run 1's freeze landed, run 1's rollback failed and was never cleared; run 2 is window-gated and outside its window;
- run 1's freeze still queued when run 2's preflight gives up waiting for it: run 2's rollback reads nothing beside it;
- run 1's rollback's unfreeze queued: run 2 reads the source only once it landed, and freezes after it;
- a SqlVm target's DROP queued by run 1's rollback: run 2 reads the target only once it ran.
At every poke: no event of run 2 says the source writable while it is frozen, and the source is never writable beside
a live target (no write lost).
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from migration_orchestration_lib.database_sql import DatabaseSql
from migration_orchestration_lib.rehearsal_cutover import CLOCK_FILE
from migration_orchestration_lib.step_context import SOURCE_FROZEN_KEY
from migration_rehearsal.data_factory_server import DataFactoryServer
from task_driver import RunDriver
from test_event_contract import CONTRACT
from test_overtaken_freezes import record, setup
from test_runs_after_a_queued_freeze import back_in_any_order, run_1_leaves_its_freeze_queued, said_frozen
from test_self_hosted_runtime_offline import Outage, events, events_file, runs_of  # noqa: F401

pytestmark = [pytest.mark.airflow26]

SATURDAY_NIGHTS = {"windows": [{"timeZone": "Europe/Berlin", "days": ["Sat"], "start": "22:00", "durationMinutes": 360}],
                   "expectedMinutes": 30, "approval": {"required": False, "approvers": [], "channel": "airflowVariable"}}
EARLIER_SQL = "SQL that an earlier run of db submitted through Data Factory has not ended (on %s: %s"


ROLLBACK_ENDS = {(end["phase"], end["status"]) for end in CONTRACT["sourceFrozen"]["ends"] if end["phase"] == "rollback"}


def says_writable(row):
    """An event telling a person the source is writable: a rollback's end (the events contract: the DAG's freeze
    undone), or a preflight that read it so (no restriction said)."""
    return (row["Phase"], row["Status"]) in ROLLBACK_ENDS or (
        (row["Phase"], row["Status"]) == ("preflight", "Succeeded") and "frozen" not in row["Message"])


class Watch:
    """Run 2's observer: after every poke, what a person would be misled by, or a write lost; `then(task_id)` acts on
    the world meanwhile (the runtime back, say)."""

    def __init__(self, world, outage, events_file, then=lambda task_id: None):
        self.world, self.outage, self.events_file, self.then = world, outage, events_file, then
        self.first_row = len(events(events_file))
        self.misleading, self.lost = [], []

    def rows(self):
        return events(self.events_file)[self.first_row:]

    def __call__(self, task_id):
        self.outage.observe(task_id)
        self.then(task_id)
        self.check(task_id)

    def check(self, task_id):
        rows, world = self.rows(), self.world
        if rows and not world.source_writable() and says_writable(rows[-1]):
            self.misleading.append((task_id, rows[-1]["Phase"], rows[-1]["Status"], rows[-1]["Message"]))
        target = world.target()
        if world.source_writable() and target is not None and target["state"] == "ONLINE":
            self.lost.append(task_id)


def back_on_a_poke(world, outage, task, poke):
    """An observer's action: the runtime back (any order) on the `poke`th poke of `task`; on the second poke after
    that, it has run what it held."""
    factory, seen = DataFactoryServer(world.world), {"pokes": 0, "after": None}

    def then(task_id):
        if seen["after"] is not None:
            seen["after"] += 1
            if seen["after"] == 2:
                factory.advance_all()
        elif task_id == "db." + task:
            seen["pokes"] += 1
            if seen["pokes"] == poke:
                back_in_any_order(world, outage)
                seen["after"] = 0

    return then


def offline_as(monkeypatch, outage, method):
    """The runtime goes offline right before `DatabaseSql.<method>` submits its batch."""
    submit = getattr(DatabaseSql, method)

    def offline_first(sql, database, *args, **kwargs):
        outage.start()
        return submit(sql, database, *args, **kwargs)

    monkeypatch.setattr(DatabaseSql, method, offline_first)


def run_1_fails_at_the_cutover(dag, world, outage):
    """Run 1: DMS refuses its cutover (after the freeze and the final backup); its rollback fails at timeoutMinutes
    on what the offline runtime holds. DMS takes cutovers again afterwards."""
    refuse_the_cutover = world.fault_after("db.final_backup", "cutover", "error", count=20, status=400, code="BadRequest",
                                           message="cutover refused")

    def observe(task_id):
        refuse_the_cutover(task_id)
        if outage.offline:
            outage.later += timedelta(hours=1)

    run_1 = RunDriver(dag, observe)
    states = run_1.run_database("db")
    assert states["db.cutover"] == "failed" and states["db.rollback"] == "failed", run_1.errors
    with world.world.transaction() as state:
        state["faults"] = []
    return run_1


def test_a_window_gated_run_after_an_earlier_runs_freeze_landed_goes_back_to_replicating_outside_its_window(
        rehearsal_world, monkeypatch, events_file):
    """Run 1 (in Saturday's window) left its freeze queued; it landed once the runtime was back, after run 1's rollback
    gave up. Run 2, on Monday: its preflight reads the source frozen by the DAG and says so, it adopts run 1's migration,
    its await_cutover finds that cutover in progress, and its freeze_source, finding the freeze landed outside the
    window, ends WindowMissed; its rollback undoes the freeze, the migration keeps replicating. Run 1's rollback,
    cleared afterwards as its message said, changes nothing: run 2 is the current run."""
    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-05T21:30:00Z")  # Saturday 22:30 in Berlin: the window open
    dag, world, outage, run_1 = run_1_leaves_its_freeze_queued(rehearsal_world, monkeypatch, gated=False, cutover=SATURDAY_NIGHTS)
    back_in_any_order(world, outage)
    DataFactoryServer(world.world).advance_all()  # run 1's freeze lands
    assert not world.source_writable()
    clock = rehearsal_world / CLOCK_FILE
    state = json.loads(clock.read_text())
    state["now"] = "2026-12-07T09:00:00Z"  # Monday: the window closed on Sunday 03:00 UTC
    clock.write_text(json.dumps(state))

    watch = Watch(world, outage, events_file)
    run_2 = RunDriver(dag, watch)
    states = run_2.run_database("db")

    assert run_2.xcom[("db.preflight", "return_value")][SOURCE_FROZEN_KEY] is True
    assert (states["db.await_cutover"], states["db.freeze_source"], states["db.rollback"]) == ("success", "failed", "success"), run_2.errors
    assert "the freeze of Sales landed at 2026-12-07T09:00:00Z, too late for a 30-minute cutover in the window closing at " \
           "2026-12-06T03:00:00Z" in run_2.errors["db.freeze_source"]
    assert run_2.outcome("db") == "waiting"
    rows = watch.rows()
    assert any(said_frozen(row) for row in rows if (row["Phase"], row["Status"]) == ("preflight", "Succeeded")), rows[:3]
    assert (rows[-1]["Phase"], rows[-1]["Status"]) == ("rollback", "WindowMissed")
    assert "source database Sales writable again" in rows[-1]["Message"] and "keeps replicating" in rows[-1]["Message"]
    assert not watch.misleading and not watch.lost, (watch.misleading, watch.lost)
    assert world.source_writable() and not world.source().get("extendedProperties") and record(rehearsal_world) == ""
    assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"] and world.target()["state"] == "RESTORING"

    assert run_1.clear_task("db", "rollback") == "failed" and "is not the current run of" in run_1.errors["db.rollback"]
    assert world.source_writable() and [op["migrationStatus"] for op in world.operations()] == ["InProgress"]


def test_the_rollback_of_a_run_whose_preflight_gave_up_waiting_reads_the_source_only_once_the_earlier_freeze_landed(
        rehearsal_world, monkeypatch, events_file):
    """Run 1's freeze queued; run 2 triggered while the runtime stays offline: its preflight waits for that freeze and
    fails at timeoutMinutes, and its rollback (back to replicating: the preflight failed) waits for it too; the
    runtime comes back meanwhile, the freeze lands, and the rollback undoes it. Was: the rollback read the source at
    once, its read run first by the runtime back (writable: nothing undone, RolledBack), and the freeze landed after
    it: the source frozen, the latest event a RolledBack, nothing saying so."""
    dag, world, outage, run_1 = run_1_leaves_its_freeze_queued(rehearsal_world, monkeypatch, gated=False)
    outage.offline = True  # still (its wrapper took it offline once)
    watch = Watch(world, outage, events_file, back_on_a_poke(world, outage, "rollback", 2))
    run_2 = RunDriver(dag, watch)
    states = run_2.run_database("db")
    DataFactoryServer(world.world).advance_all()  # whatever the runtime still held
    watch.check("after run 2")

    assert states["db.preflight"] == "failed" and "timeoutMinutes (720) passed while waiting: " + EARLIER_SQL % (
        "sql01", "%s:db:freeze_source:1:freeze" % run_1.run_id) in run_2.errors["db.preflight"], run_2.errors
    assert states["db.rollback"] == "success", run_2.errors
    assert runs_of(world, "freeze") == [("%s:db:freeze_source:1:freeze" % run_1.run_id, "Succeeded", ["Succeeded"])]
    assert not watch.misleading, "was: frozen by the freeze landing after the RolledBack: %s" % watch.misleading
    assert world.source_writable() and not watch.lost, watch.lost
    waits = [row["Message"] for row in watch.rows() if (row["Phase"], row["Status"]) == ("rollback", "Running")]
    assert EARLIER_SQL % ("sql01", run_1.run_id) in waits[0], waits
    assert not world.source().get("extendedProperties") and record(rehearsal_world) == ""
    assert watch.rows()[-1]["Status"] == "RolledBack" and "source database Sales writable again" in watch.rows()[-1]["Message"]
    assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"], "run 1's migration keeps replicating"


def test_the_rollback_that_gave_up_waiting_for_an_earlier_runs_freeze_undoes_it_once_cleared_after_it_landed(
        rehearsal_world, monkeypatch, events_file):
    """The rollback-failed row's "SQL that an earlier run of ... has not ended", lived through with its advice: run 2's
    preflight and then its rollback give up waiting for run 1's queued freeze, the runtime still offline at the
    rollback's timeoutMinutes (it read nothing, changed nothing); the runtime comes back and the freeze lands; a person
    clears run 2's failed rollback: it undoes that freeze, and its RolledBack says the source writable again. Run 1's
    migration keeps replicating."""
    dag, world, outage, run_1 = run_1_leaves_its_freeze_queued(rehearsal_world, monkeypatch, gated=False)
    outage.offline = True  # still (its wrapper took it offline once)
    watch = Watch(world, outage, events_file)
    run_2 = RunDriver(dag, watch)
    states = run_2.run_database("db")

    assert states["db.preflight"] == "failed" and states["db.rollback"] == "failed", run_2.errors
    assert ("timeoutMinutes (720) passed while waiting: " + EARLIER_SQL % ("sql01", "%s:db:freeze_source:1:freeze" % run_1.run_id)
            in run_2.errors["db.rollback"]), run_2.errors
    assert world.source_writable() and runs_of(world, "freeze")[0][1] == "InProgress", "read nothing, changed nothing"
    assert watch.rows()[-1]["Status"] == "Failed" and watch.rows()[-1]["Phase"] == "rollback"

    back_in_any_order(world, outage)
    DataFactoryServer(world.world).advance_all()  # the runtime ran what it held: run 1's freeze landed
    assert not world.source_writable()
    assert run_2.clear_task("db", "rollback") == "success", run_2.errors
    DataFactoryServer(world.world).advance_all()
    watch.check("after the clear")

    assert world.source_writable(), "the freeze that landed is undone"
    assert not world.source().get("extendedProperties") and record(rehearsal_world) == ""
    assert watch.rows()[-1]["Status"] == "RolledBack" and "source database Sales writable again" in watch.rows()[-1]["Message"]
    assert not watch.misleading and not watch.lost, (watch.misleading, watch.lost)
    assert [op["migrationStatus"] for op in world.operations()] == ["InProgress"], "run 1's migration keeps replicating"


def test_a_new_run_freezes_only_after_an_earlier_rollbacks_queued_unfreeze_landed(rehearsal_world, monkeypatch, events_file):
    """Run 1's cutover refused; its rollback canceled the migration, removed the target, and submitted the unfreeze as
    the runtime went offline: it failed at timeoutMinutes, the source frozen. Run 2: its preflight waits for that
    unfreeze, reads the source after it landed (writable, said so), and migrates: frozen by its own freeze to the end,
    never made writable under it by the late unfreeze."""
    dag, world = setup(rehearsal_world, "dataFactory", mode="online")
    outage = Outage(world, monkeypatch)
    offline_as(monkeypatch, outage, "unfreeze_source")
    run_1 = run_1_fails_at_the_cutover(dag, world, outage)
    assert "SQL operation %s:db:rollback:1:unfreeze is running on sql01" % run_1.run_id in run_1.errors["db.rollback"]
    assert not world.source_writable()

    watch = Watch(world, outage, events_file, back_on_a_poke(world, outage, "preflight", 3))
    run_2 = RunDriver(dag, watch)
    after_its_freeze = []

    def also_writable_after_its_freeze(task_id):
        watch(task_id)
        if run_2.states.get("db.freeze_source") == "success" and world.source_writable():
            after_its_freeze.append(task_id)

    run_2.observe = also_writable_after_its_freeze
    states = run_2.run_database("db")

    waits = [row["Message"] for row in watch.rows() if (row["Phase"], row["Status"]) == ("preflight", "Running")]
    assert EARLIER_SQL % ("sql01", "%s:db:rollback:1:unfreeze" % run_1.run_id) in waits[0], waits
    assert run_2.xcom[("db.preflight", "return_value")][SOURCE_FROZEN_KEY] is False, "read after the unfreeze"
    assert runs_of(world, "unfreeze") == [("%s:db:rollback:1:unfreeze" % run_1.run_id, "Succeeded", ["Succeeded"])]
    assert states["db.done"] == "success" and run_2.outcome("db") == "migrated", (states, run_2.errors)
    assert not after_its_freeze, "the late unfreeze made the source writable after run 2's freeze"
    assert not watch.misleading and not watch.lost, (watch.misleading, watch.lost)
    assert not world.source_writable() and "migration_freeze" in (world.source().get("extendedProperties") or {})
    assert [op["migrationStatus"] for op in world.operations()] == ["Canceled", "Succeeded"]


def test_a_sql_vm_targets_queued_drop_has_run_before_a_new_run_reads_the_target(rehearsal_world, monkeypatch, events_file):
    """SqlVm target (its SQL through the same runtime): run 1's rollback canceled the migration and submitted the DROP
    of the RESTORING target as the runtime went offline: it failed at timeoutMinutes, the target RESTORING, the source
    frozen. Run 2's preflight waits for the DROP (on vm-prod), reads after it ran (the target gone) and refuses: the
    canceled migration left the source frozen; its rollback makes it writable. The DROP removes only a RESTORING
    database, and nothing of run 2 was restored while it was queued."""
    dag, world = setup(rehearsal_world, "dataFactory", mode="online", target="vm-prod")
    outage = Outage(world, monkeypatch)
    offline_as(monkeypatch, outage, "drop_target")
    run_1 = run_1_fails_at_the_cutover(dag, world, outage)
    assert "SQL operation %s:db:rollback:1:drop-target is running on vm-prod" % run_1.run_id in run_1.errors["db.rollback"]
    assert world.target()["state"] == "RESTORING" and not world.source_writable()

    watch = Watch(world, outage, events_file, back_on_a_poke(world, outage, "preflight", 3))
    run_2 = RunDriver(dag, watch)
    states = run_2.run_database("db")

    waits = [row["Message"] for row in watch.rows() if (row["Phase"], row["Status"]) == ("preflight", "Running")]
    assert EARLIER_SQL % ("vm-prod", "%s:db:rollback:1:drop-target" % run_1.run_id) in waits[0], waits
    assert runs_of(world, "drop-target") == [("%s:db:rollback:1:drop-target" % run_1.run_id, "Succeeded", ["Succeeded"])]
    assert states["db.preflight"] == "failed" and run_2.errors["db.preflight"] == (
        "the last migration into Sales ended canceled and left the source frozen: rollback cleans up; run again to retry")
    assert states["db.rollback"] == "success" and run_2.outcome("db") == "rolled_back", run_2.errors
    assert watch.rows()[-1]["Message"] == "target Sales is absent: nothing to remove; source database Sales writable again"
    assert not watch.misleading and not watch.lost and not world.online_target_deleted, (watch.misleading, watch.lost)
    assert world.target() is None and world.source_writable() and [op["migrationStatus"] for op in world.operations()] == ["Canceled"]
