"""A new DAG run triggered while an earlier run's Data Factory SQL is still queued (`sqlAccess: dataFactory`).

Run 1's freeze waits in the self-hosted integration runtime's queue (the runtime offline, README `shir-offline`) past
freeze_source's and then its rollback's timeoutMinutes: the rollback fails ("the freeze of source ... has not ended").
A person triggers the DAG again (README `migration-failed`: "trigger the DAG again") instead of bringing the runtime
back and clearing that rollback. The queued freeze lands whenever the runtime runs it: Microsoft promises no order
among the jobs it held (a node runs up to its concurrentJobsLimit at once), so run 2's reads of the source may run
before it (`data_factory_server.set_runtime_online(in_submission_order=False)`). Run 2's preflight reads nothing until
the earlier run's statements on the source have ended (`steps.wait_for_earlier_runs_sql`), then goes on from the
source as they left it. Lived through task by task with simulated time (`test_self_hosted_runtime_offline`'s model).
"""
from __future__ import annotations

import pytest

from migration_orchestration_lib.step_context import SOURCE_FROZEN_KEY
from migration_rehearsal.data_factory_server import DataFactoryServer, set_runtime_online
from task_driver import RunDriver
from test_overtaken_freezes import record, setup
from test_self_hosted_runtime_offline import SELF_HOSTED, Outage, events, events_file, offline_as_the_freeze_is_submitted, runs_of  # noqa: F401

pytestmark = [pytest.mark.airflow26]


APPROVED = {"windows": [], "expectedMinutes": 30,
            "approval": {"required": True, "approvers": ["ops@contoso.com"], "channel": "airflowVariable"}}


def run_1_leaves_its_freeze_queued(rehearsal_world, monkeypatch, gated, cutover=None):
    """Run 1: its freeze queued on the offline runtime, freeze_source and its rollback failed at timeoutMinutes.
    `gated`: an approval at any time (the simulated approver approves), given to run 1 and never consumed (its
    rollback failed before its release); else `cutover`, the plan's cutover settings, if any (windows, say)."""
    if gated:
        monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
        cutover = APPROVED
    dag, world = setup(rehearsal_world, "dataFactory", mode="online", **({"cutover": cutover} if cutover else {}))
    outage = Outage(world, monkeypatch)
    offline_as_the_freeze_is_submitted(monkeypatch, outage)
    run_1 = RunDriver(dag, outage.observe)
    states = run_1.run_database("db")
    assert states["db.freeze_source"] == "failed" and states["db.rollback"] == "failed", run_1.errors
    assert "the freeze of source Sales that freeze_source submitted has not ended" in run_1.errors["db.rollback"]
    assert world.source_writable() and runs_of(world, "freeze") == [
        ("%s:db:freeze_source:1:freeze" % run_1.run_id, "InProgress", ["Queued"])]
    return dag, world, outage, run_1  # (its freeze_source wrapper takes the runtime offline once only: done)


def back_in_any_order(world, outage):
    set_runtime_online(world.world, SELF_HOSTED, in_submission_order=False)
    outage.offline = False


def said_frozen(row):
    """An event of run 2 that tells a person the source is, or may soon be, frozen by the DAG (once its preflight
    passed, one must have)."""
    return (row["Phase"], row["Status"]) == ("freeze_source", "Succeeded") or ", frozen)" in row["Message"] or (
        "may still freeze" in row["Message"])


@pytest.mark.parametrize("back,gated,again", [("while run 2's preflight waits", False, "triggered"),
                                              ("while run 2's preflight waits", True, "triggered"),
                                              ("while run 2's preflight waits", False, "cleared from preflight"),
                                              ("before run 2", False, "triggered")])
def test_a_new_run_reads_the_source_only_once_an_earlier_runs_queued_freeze_has_landed(
        rehearsal_world, monkeypatch, events_file, back, gated, again):
    """Was: run 2's preflight read the source as soon as the runtime was back, beside run 1's freeze (run first), and
    passed saying it writable ("ONLINE (FULL)", sourceFrozen false); the freeze landed a moment later: the source
    frozen while run 2 waited for the migration, no event saying so. Now preflight waits, naming run 1's freeze, while
    it is queued, and reads the source after it landed: frozen, said so, and run 2 carries the migration on (its own
    freeze finds it frozen) to migrated, the source frozen by this plan's freeze (record and marker kept). The runtime
    back before run 2 (the freeze landed first): run 2 reads it frozen, says so and migrates, on the code before too."""
    dag, world, outage, run_1 = run_1_leaves_its_freeze_queued(rehearsal_world, monkeypatch, gated)
    factory = DataFactoryServer(world.world)
    if back == "before run 2":
        back_in_any_order(world, outage)
        factory.advance_all()  # the runtime runs its queue: run 1's freeze lands
        assert not world.source_writable()
    state = {"back": back == "before run 2", "pokes": 0}
    run_1_rows = len(events(events_file))
    unsaid = []

    def observe(task_id):
        outage.observe(task_id)  # an hour a poke while the runtime is offline
        if not state["back"]:
            if task_id == "db.preflight":
                state["pokes"] += 1
                if state["pokes"] == 3:  # run 2's preflight waited three pokes: the runtime is back
                    back_in_any_order(world, outage)
                    state["back"] = True
            return
        state["after_back"] = state.get("after_back", 0) + 1
        if state["after_back"] == 2:
            factory.advance_all()  # a poke after it is back, the runtime has run what it held
        rows = events(events_file)[run_1_rows:]  # run 2's
        concluded = any((row["Phase"], row["Status"]) == ("preflight", "Succeeded") for row in rows)
        if concluded and not world.source_writable() and not any(said_frozen(row) for row in rows):
            unsaid.append((task_id, rows[-1]["Phase"], rows[-1]["Status"], rows[-1]["Message"]))

    if again == "triggered":
        run_2 = RunDriver(dag, observe)
        states = run_2.run_database("db")
    else:  # run 1 itself, its database's chain cleared from preflight: its own earlier pass's freeze is awaited too
        run_2, run_1.observe = run_1, observe
        states = run_1.clear_database("db")

    assert ("%s:db:freeze_source:1:freeze" % run_1.run_id, "Succeeded", ["Succeeded"]) in runs_of(world, "freeze")
    assert not unsaid, "the source frozen, the latest event not saying so: %s" % unsaid[:2]
    assert run_2.xcom[("db.preflight", "return_value")][SOURCE_FROZEN_KEY] is True, "run 2 read the source after the freeze"
    if back == "while run 2's preflight waits":
        waits = [row["Message"] for row in events(events_file) if (row["Phase"], row["Status"]) == ("preflight", "Running")]
        assert any("SQL that an earlier run of db submitted through Data Factory has not ended (on sql01: %s:db:freeze_source:1:freeze"
                   % run_1.run_id in m for m in waits), waits
    assert states["db.done"] == "success", (states, run_2.errors)
    assert run_2.outcome("db") == "migrated"
    assert not world.source_writable() and record(rehearsal_world) == '{"readOnly": false, "userAccess": "MULTI_USER"}'
    assert "migration_freeze" in (world.source().get("extendedProperties") or {})
    assert [op["migrationStatus"] for op in world.operations()] == ["Succeeded"]
