"""The rollback's message lists everything it did in this run, across its pokes and tries (`rollback.Actions`).

Through Data Factory (`sqlAccess: dataFactory`) every SQL read or change of the rollback is a pipeline run that ends a
few pokes later: the cancel (DMS), the target's removal and the source's unfreeze land on different pokes. Each poke
built its list of actions afresh, so the final `RolledBack` named only what the last poke did ("target Sales is absent:
nothing to remove; source database Sales writable again"), not the cancel nor the removal; a rollback that failed at
timeoutMinutes named none of them, nor did the `RolledBack` of that rollback cleared by a person. Airflow clears a task's
XComs at every poke of a rescheduled try (`TaskInstance._execute_task_with_callbacks` in 2.x, the execution API's
`xcom_keys_to_clear` in 3.x), which this task driver does not: the actions are kept in an Airflow Variable marked with
the run and its pass, deleted as the rollback ends. Directly (one poke) the message is as before.
Run task by task (`task_driver`) on the rehearsal world.
"""
from __future__ import annotations

import json

import pytest

from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE
from migration_rehearsal.data_factory_server import DataFactoryServer
from task_driver import RunDriver, WorkerCrashed
from test_freeze_marker import refuse_alter  # SQL Server refuses ALTER DATABASE ... SET of these options (5061)
from test_overtaken_freezes import setup  # one database `db` (Sales on sql01, into mi-prod), seeded world
# the self-hosted runtime offline (an hour a poke meanwhile); the events the run wrote (`events_file`: a fixture)
from test_self_hosted_runtime_offline import Outage, events, events_file  # noqa: F401

ACTIONS_PREFIX = "migration_rollback_actions__"  # the record's Variables (`rollback.ACTIONS_PREFIX`)
DATA_FACTORY = pytest.param("dataFactory", marks=[pytest.mark.airflow26])


def rollback_events(path):
    return [(row["Status"], row["Message"]) for row in events(path) if row["Phase"] == "rollback"]


def actions_records(directory):
    with open(str(directory / RECORDS_FILE)) as file:
        return {key: value for key, value in json.load(file).items() if key.startswith(ACTIONS_PREFIX)}


def frozen_and_then_the_worker_is_lost(rehearsal_world, access):
    """The run froze the source (its online migration replicating into a RESTORING target), then its worker was lost:
    Airflow fails the next task and runs the rollback. Each rollback poke's world is noted: (migration, target, source
    writable)."""
    dag, world = setup(rehearsal_world, access, mode="online")
    pokes = []

    def observe(task_id):
        world.observe(task_id)
        if task_id == "db.rollback":
            target = world.target()
            pokes.append(([op["migrationStatus"] for op in world.operations()], target and target["state"], world.source_writable()))

    run = RunDriver(dag, observe)
    with pytest.raises(WorkerCrashed):
        run.run_database("db", crash_after="freeze_source")
    assert not world.source_writable() and world.target()["state"] == "RESTORING"
    return dag, world, run, pokes


def first_poke(pokes, found):
    return next(number for number, poke in enumerate(pokes) if found(poke))


@pytest.mark.parametrize("access", ["direct", DATA_FACTORY])
def test_the_rolled_back_message_lists_the_cancel_the_removal_and_the_unfreeze_of_every_poke(rehearsal_world, events_file, access):
    dag, world, run, pokes = frozen_and_then_the_worker_is_lost(rehearsal_world, access)
    operation = world.operations()[0]["migrationOperationId"]

    assert run._run_task(dag.get_task("db.rollback")) == "success", run.errors
    assert run.outcome("db") == "rolled_back"
    assert world.target() is None and world.source_writable()
    canceled = first_poke(pokes, lambda poke: poke[0] == ["Canceled"])
    removed = first_poke(pokes, lambda poke: poke[1] is None)
    unfrozen = first_poke(pokes, lambda poke: poke[2])
    status, message = rollback_events(events_file)[-1]
    assert status == "RolledBack"
    actions = message.split("; ")
    cancel = [action for action in actions if action.startswith("canceled migration ")]
    assert cancel == ["canceled migration %s" % operation], message
    assert actions.count("deleted managed database Sales on mi-prod") == 1, message
    assert actions.count("source database Sales writable again") == 1, message
    # in order: what was done first is said first
    assert actions.index(cancel[0]) < actions.index("deleted managed database Sales on mi-prod") < actions.index(
        "source database Sales writable again"), message
    if access == "direct":  # one poke: the message as before
        assert len(pokes) == 1 and canceled == removed == unfrozen == 0, pokes
        assert message == "%s; deleted managed database Sales on mi-prod; source database Sales writable again" % cancel[0]
    else:  # each on a poke of its own; the last poke still says what it found
        assert canceled < removed < unfrozen == len(pokes) - 1, pokes
        assert "target database Sales is absent" in message or "nothing to remove" in message, message
        running = [m for s, m in rollback_events(events_file) if s == "Running"]
        assert any("(this rollback so far: %s; deleted managed database Sales on mi-prod)" % cancel[0] in m for m in running), running
    assert actions_records(rehearsal_world) == {}, "the record of the rollback's actions deleted as it ended"


@pytest.mark.airflow26
def test_a_rollback_cleared_after_it_failed_says_what_its_earlier_try_did(rehearsal_world, events_file, monkeypatch):
    """Its first try cancels the migration and removes the target; then the self-hosted runtime goes offline and its read
    of the source waits until timeoutMinutes: its rollback-failed says what it did, and so does the RolledBack of the try
    a person cleared once the runtime is back (the same run's rollback: its earlier try's actions belong to it)."""
    dag, world, run, pokes = frozen_and_then_the_worker_is_lost(rehearsal_world, "dataFactory")
    outage = Outage(world, monkeypatch)
    observe = run.observe

    def offline_once_the_target_is_removed(task_id):
        observe(task_id)
        outage.observe(task_id)
        if task_id == "db.rollback" and world.target() is None:
            outage.start()

    run.observe = offline_once_the_target_is_removed
    operation = world.operations()[0]["migrationOperationId"]

    assert run._run_task(dag.get_task("db.rollback")) == "failed", run.errors
    assert world.target() is None and not world.source_writable()
    status, failed = rollback_events(events_file)[-1]
    assert status == "Failed" and failed.startswith("timeoutMinutes (720) passed while waiting: SQL operation "), failed
    assert failed.endswith(" (this rollback so far: canceled migration %s; deleted managed database Sales on mi-prod)" % operation), failed
    assert len(actions_records(rehearsal_world)) == 1, "kept for the rollback's next try"

    outage.end()
    DataFactoryServer(world.world).advance_all()
    assert run.clear_task("db", "rollback") == "success", run.errors
    assert world.source_writable()
    status, message = rollback_events(events_file)[-1]
    assert status == "RolledBack", message
    assert message.startswith("canceled migration %s; deleted managed database Sales on mi-prod; " % operation), message
    assert message.endswith("source database Sales writable again"), message
    assert actions_records(rehearsal_world) == {}


@pytest.mark.airflow26
def test_a_rollback_whose_worker_was_lost_halfway_is_finished_by_clearing_it(rehearsal_world, events_file):
    """The rollback-failed row's advice for "the rollback's worker was lost on its last try", lived through: its worker
    dies after the poke that removed the target, the source still frozen (Airflow fails it); a person clears the
    rollback task: it reads DMS and SQL Server again, does only what is still missing (the unfreeze: no second cancel,
    no second removal) and its RolledBack names every action once, the lost try's too."""
    dag, world, run, pokes = frozen_and_then_the_worker_is_lost(rehearsal_world, "dataFactory")
    observe = run.observe

    def the_worker_is_lost_once_the_target_is_removed(task_id):
        observe(task_id)
        if task_id == "db.rollback" and world.target() is None and not world.source_writable():
            raise WorkerCrashed(task_id)

    run.observe = the_worker_is_lost_once_the_target_is_removed
    operation = world.operations()[0]["migrationOperationId"]
    with pytest.raises(WorkerCrashed):
        run._run_task(dag.get_task("db.rollback"))
    run.states["db.rollback"] = "failed"  # its last try: Airflow fails it (the failure callback's event aside)
    assert world.target() is None and not world.source_writable() and pokes[-1][0] == ["Canceled"], pokes

    run.observe = observe
    assert run.clear_task("db", "rollback") == "success", run.errors

    assert world.source_writable() and run.outcome("db") == "rolled_back"
    assert [op["migrationStatus"] for op in world.operations()] == ["Canceled"]
    status, message = rollback_events(events_file)[-1]
    assert status == "RolledBack", message
    actions = message.split("; ")
    assert actions[:2] == ["canceled migration %s" % operation, "deleted managed database Sales on mi-prod"], message
    assert actions.count("source database Sales writable again") == 1, message
    assert actions_records(rehearsal_world) == {}


@pytest.mark.airflow26
def test_a_later_run_does_not_take_an_earlier_runs_actions(rehearsal_world, events_file):
    """A record left by a rollback that failed in an earlier run (never cleared) is that run's: not said by a later one."""
    dag, world, run, pokes = frozen_and_then_the_worker_is_lost(rehearsal_world, "dataFactory")
    records = rehearsal_world / RECORDS_FILE
    stored = json.loads(records.read_text())
    key = "%s%s__db" % (ACTIONS_PREFIX, world.plan.name)
    stored[key] = json.dumps({"run": "an_earlier_run", "preflight": "2026-01-01T00:00:00+00:00", "actions": ["canceled migration old-op"]})
    records.write_text(json.dumps(stored))

    assert run._run_task(dag.get_task("db.rollback")) == "success", run.errors
    assert "old-op" not in rollback_events(events_file)[-1][1]


@pytest.mark.parametrize("access", ["direct", DATA_FACTORY])
def test_a_rollback_failing_on_an_unexpected_sql_error_says_what_it_did_before_it(rehearsal_world, events_file, access):
    """SQL Server refuses the unfreeze's SET READ_WRITE (5061, a lock held) after the rollback canceled the migration and
    removed the target: its failure says the error, then what it had done (the source is still frozen, the target gone).
    Was: the error alone, as a failure not built from the rollback's list of actions."""
    dag, world, run, pokes = frozen_and_then_the_worker_is_lost(rehearsal_world, access)
    operation = world.operations()[0]["migrationOperationId"]
    refuse_alter(world.world, "READ_WRITE")

    assert run._run_task(dag.get_task("db.rollback")) == "failed", run.errors
    assert world.target() is None and not world.source_writable()
    failures = [message for status, message in rollback_events(events_file) if status in ("Retrying", "Failed")]
    assert failures and rollback_events(events_file)[-1][0] == "Failed", rollback_events(events_file)
    for failed in failures:
        assert "5061" in failed, failed
        assert failed.endswith(" (this rollback so far: canceled migration %s; deleted managed database Sales on mi-prod)" % operation), failed
    assert len(actions_records(rehearsal_world)) == 1, "kept for a person's clear"


def test_what_the_rollback_did_outlasts_a_long_error_text_in_the_events_message():
    """An event keeps MAX_MESSAGE_LENGTH characters of its message (`events.build_event_row`): a long SQL Server or Data
    Factory error text gives way, not the actions after it. Was: appended after the whole text, they were cut off."""
    from migration_orchestration_lib.events import MAX_MESSAGE_LENGTH
    from migration_orchestration_lib.step_context import StepContext

    ctx = StepContext(None, None, {}, None, "rollback", done_so_far=["canceled migration op-1", "deleted managed database Sales on mi-prod"])
    said = ctx.with_what_it_did("SqlOperationFailed: " + "x" * 5000)
    assert len(said) <= MAX_MESSAGE_LENGTH
    assert said.startswith("SqlOperationFailed: xxx") and said.endswith(
        "... (this rollback so far: canceled migration op-1; deleted managed database Sales on mi-prod)"), said[-200:]
    assert ctx.with_what_it_did("short") == "short (this rollback so far: canceled migration op-1; deleted managed database Sales on mi-prod)"
    assert ctx.with_what_it_did("canceled migration op-1; deleted managed database Sales on mi-prod; kept") == (
        "canceled migration op-1; deleted managed database Sales on mi-prod; kept"), "said once"
