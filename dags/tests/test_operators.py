"""MigrationTask called directly: waiting, backoff, the deadline, Retrying vs Failed, the run outcome.

Marked airflow210 and airflow26: they also run on Airflow 2.10.5 and 2.6.3 (the compat module differs there).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from conftest import load_plan_document
from migration_orchestration_lib import events as events_module, operators
from migration_orchestration_lib.airflow_compat import (
    AIRFLOW_3,
    DAG,
    AirflowFailException,
    AirflowRescheduleException,
    AirflowSkipException,
    AirflowTaskTimeout,
)
from migration_orchestration_lib.operators import MigrationTask, RunOutcomeOperator, next_poke_in
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rollback import NothingToRollBack
from migration_orchestration_lib.settings import POKE_START_ALLOWANCE, Timing
from migration_orchestration_lib.step_context import StepFailure, StepPending, StepResult

pytestmark = [pytest.mark.airflow210, pytest.mark.airflow26, pytest.mark.airflow31]

PLAN = parse_plan(load_plan_document())
TIMING = Timing.for_environment({})
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


class FakeTaskInstance:
    def __init__(self, try_number=1, max_tries=2, first_poke=None, xcom=None, states=None, row=None):
        """`states`: the run's task states, by task id (Airflow 3's `get_task_states`, Airflow 2's run); `row`: Airflow
        3's task instance id."""
        self.try_number, self.max_tries, self.id = try_number, max_tries, row
        self.start_date = first_poke or NOW
        self.xcom = dict(xcom or {})
        self.states = dict(states or {})
        self.dag_id = "t"
        self.pushed = {}

    def get_task_states(self, dag_id, run_ids, task_ids=None):
        return {run_id: {t: s for t, s in self.states.items() if task_ids is None or t in task_ids} for run_id in run_ids}

    def get_first_reschedule_date(self, context):
        return self.start_date

    def xcom_pull(self, task_ids, key="return_value"):
        return self.xcom.get((task_ids, key))

    def xcom_push(self, key, value):
        self.pushed[key] = value


@pytest.fixture
def events(monkeypatch):
    rows = []
    monkeypatch.setattr("migration_orchestration_lib.services.event_writer_from_environment", lambda environ: type("W", (), {"write": staticmethod(lambda row, budget=None: rows.append(row) or True)})())
    return rows


def task(step, phase="wait_for_migration"):
    with DAG("t", schedule=None, start_date=NOW):
        return MigrationTask(task_id=phase, phase=phase, step=step, plan=PLAN, database_name="database_1", timing=TIMING)


def context(ti):
    return {"ti": ti, "run_id": "manual__1", "task_reschedule_count": 1}


def outcome_context(ti):
    """run_outcome's context: its run's task states on Airflow 3 (the task instance) and 2 (the run)."""
    instances = lambda: [SimpleNamespace(task_id=task_id, state=state) for task_id, state in ti.states.items()]  # noqa: E731
    return {"ti": ti, "run_id": "manual__1", "dag_run": SimpleNamespace(get_task_instances=instances)}


def done_states(**states):
    """Each database's `done` state in the run: `done_states(a="success")` -> {"a.done": "success"}."""
    return {"%s.done" % name: state for name, state in states.items()}


def deadline_xcom(deadline):
    return {("database_1.preflight", "return_value"): {"deadline": deadline.isoformat()}}


def test_pokes_thin_out_with_the_time_waited_between_the_first_and_longest_interval():
    assert next_poke_in(timedelta(0), TIMING) == TIMING.poke_interval
    assert next_poke_in(timedelta(minutes=10), TIMING) == timedelta(minutes=5)
    assert next_poke_in(timedelta(days=2), TIMING) == TIMING.max_poke_wait


def dms_still_copying(ctx):
    raise StepPending("InProgress")


def next_poke_at(monkeypatch, minutes_waited, deadline):
    monkeypatch.setattr(operators, "utc_now", lambda: NOW + timedelta(minutes=minutes_waited))
    with pytest.raises(AirflowRescheduleException) as rescheduled:
        task(dms_still_copying).execute(context(FakeTaskInstance(first_poke=NOW, xcom=deadline_xcom(deadline))))
    return rescheduled.value.reschedule_date


def test_a_waiting_step_is_rescheduled_from_the_time_since_its_first_poke_and_says_it_still_runs(events, monkeypatch):
    assert next_poke_at(monkeypatch, 20, NOW + timedelta(hours=1)) == NOW + timedelta(minutes=30)  # waited 20: next in 10
    assert [(e["Status"], e["DurationSeconds"], e["Message"]) for e in events] == [("Running", 1200.0, "waiting: InProgress")]


@pytest.mark.parametrize("deferrable", [False, True], ids=["reschedule", "deferrable"])
def test_a_waiting_database_writes_an_event_at_least_as_often_as_the_heartbeat_promises(events, monkeypatch, deferrable):
    """A copy as long as timeoutMinutes allows, in simulated time, every poke starting as late as
    POKE_START_ALLOWANCE allows: the stalled-run and running-long alerts see an event of the
    database at least every heartbeat interval of the events contract."""
    from dataclasses import replace

    clock, delays = [NOW], []
    monkeypatch.setattr(operators, "utc_now", lambda: clock[0])
    monkeypatch.setattr(operators, "time_delta_trigger", lambda delay: delays.append(delay) or ("timer", delay))
    monkeypatch.setattr(MigrationTask, "defer", lambda self, **kwargs: (_ for _ in ()).throw(AirflowRescheduleException(clock[0] + delays[-1])))
    with DAG("t", schedule=None, start_date=NOW):
        waiting = MigrationTask(task_id="wait_for_migration", phase="wait_for_migration", step=dms_still_copying, plan=PLAN,
                                database_name="database_1", timing=replace(TIMING, deferrable=deferrable))
    copying_for = timedelta(minutes=PLAN.database("database_1").timeout_minutes) - timedelta(minutes=30)
    ti = FakeTaskInstance(first_poke=NOW, xcom=deadline_xcom(NOW + copying_for + timedelta(minutes=30)))
    written_at = []
    while clock[0] < NOW + copying_for:
        with pytest.raises(AirflowRescheduleException) as rescheduled:
            waiting.resume(context(ti), first_poke=NOW.isoformat())
        written_at += [clock[0]] * (len(events) - len(written_at))
        clock[0] = rescheduled.value.reschedule_date + POKE_START_ALLOWANCE

    assert {event["Status"] for event in events} == {"Running"} and len(delays) == (len(events) if deferrable else 0)
    gaps = [later - earlier for earlier, later in zip(written_at, written_at[1:])]
    assert len(gaps) >= copying_for / timedelta(minutes=events_module.CONTRACT_HEARTBEAT_MINUTES)
    assert max(gaps) <= timedelta(minutes=events_module.CONTRACT_HEARTBEAT_MINUTES)


def test_where_a_triggerer_exists_a_wait_is_deferred_to_a_timer_and_resumes_with_its_first_poke(events, monkeypatch):
    from dataclasses import replace

    from migration_orchestration_lib.airflow_compat import TaskDeferred

    monkeypatch.setattr(operators, "utc_now", lambda: NOW + timedelta(minutes=20))
    with DAG("t", schedule=None, start_date=NOW):
        deferring = MigrationTask(task_id="wait_for_migration", phase="wait_for_migration", step=dms_still_copying, plan=PLAN,
                                  database_name="database_1", timing=replace(TIMING, deferrable=True))
    ti = FakeTaskInstance(first_poke=NOW, xcom=deadline_xcom(NOW + timedelta(hours=1)))
    with pytest.raises(TaskDeferred) as deferred:
        deferring.execute(context(ti))
    assert deferred.value.method_name == "resume"
    assert deferred.value.kwargs == {"first_poke": NOW.isoformat()}
    assert type(deferred.value.trigger).__name__ in ("TimeDeltaTrigger", "DateTimeTrigger")
    with pytest.raises(TaskDeferred) as again:  # resuming pokes again, counting from the same first poke
        deferring.resume(context(ti), event=None, first_poke=NOW.isoformat())
    assert again.value.kwargs == {"first_poke": NOW.isoformat()}


def test_every_wait_of_a_database_stops_at_its_one_deadline(events, monkeypatch):
    deadline = NOW + timedelta(minutes=55)
    assert next_poke_at(monkeypatch, 50, deadline) == deadline  # not beyond the deadline
    ti = FakeTaskInstance(first_poke=NOW, xcom=deadline_xcom(deadline))

    monkeypatch.setattr(operators, "utc_now", lambda: NOW + timedelta(minutes=56))
    with pytest.raises(AirflowFailException, match=r"timeoutMinutes \(720\) passed while waiting: InProgress"):
        task(dms_still_copying).execute(context(ti))
    assert [(e["Status"], e["Phase"]) for e in events] == [("Running", "wait_for_migration"), ("Failed", "wait_for_migration")]


def test_a_task_waiting_longer_than_timeout_minutes_fails_even_without_a_deadline(events, monkeypatch):
    monkeypatch.setattr(operators, "utc_now", lambda: NOW + timedelta(minutes=721))
    with pytest.raises(AirflowFailException, match="timeoutMinutes"):
        task(dms_still_copying, "preflight").execute(context(FakeTaskInstance(first_poke=NOW)))


def test_an_attempt_airflow_retries_reports_retrying_and_only_the_last_one_failed(events):
    def flaky(ctx):
        raise ConnectionResetError("ARM reset the connection")

    for try_number in (1, 2, 3):
        with pytest.raises(ConnectionResetError):
            task(flaky, "cutover").execute(context(FakeTaskInstance(try_number=try_number, max_tries=2)))
    assert [e["Status"] for e in events] == ["Retrying", "Retrying", "Failed"]
    assert "ConnectionResetError: ARM reset the connection" in events[-1]["Message"]


def test_an_attempt_stopped_by_execution_timeout_reports_retrying_and_the_last_one_failed(events):
    # Airflow raises AirflowTaskTimeout inside execute(); from 2.10 on it is a BaseException, not an
    # Exception. Without an event the last attempt's rollback wrote RolledBack with no Failed before it.
    def hung(ctx):
        raise AirflowTaskTimeout("Timeout, PID: 4242")

    for try_number in (1, 3):
        with pytest.raises(AirflowTaskTimeout):
            task(hung, "final_backup").execute(context(FakeTaskInstance(try_number=try_number, max_tries=2)))
    assert [e["Status"] for e in events] == ["Retrying", "Failed"]
    assert events[-1]["Phase"] == "final_backup"
    assert "ran longer than its execution_timeout (0:20:00)" in events[-1]["Message"]


def test_an_execution_timeout_that_strikes_while_an_event_is_uploaded_still_stops_the_attempt(monkeypatch):
    """Airflow raises AirflowTaskTimeout wherever the task is when execution_timeout strikes, an event's upload
    included (a slow Logs Ingestion endpoint makes that likelier). Before 2.10 it is an Exception, which the
    writer's best-effort catch swallowed: the attempt went on past its timeout with no timer left."""
    from migration_orchestration_lib.events import LogsIngestionEventWriter
    from migration_orchestration_lib.settings import EventSettings

    uploads = []

    class StruckMidUpload:
        def upload(self, rule_id, stream_name, logs, **within):
            if not uploads:
                uploads.append("struck")
                raise AirflowTaskTimeout("Timeout, PID: 4242")
            uploads.extend(row["Status"] for row in logs)

    writer = LogsIngestionEventWriter(EventSettings("https://dce", "dcr-1", "Custom-MigrationEvents_CL"), StruckMidUpload)
    monkeypatch.setattr("migration_orchestration_lib.services.event_writer_from_environment", lambda environ: writer)
    went_on = []

    def step(ctx):
        ctx.on_started("freezing source Sales")
        went_on.append("froze the source past the timeout")
        return StepResult("frozen")

    with pytest.raises(AirflowTaskTimeout):
        task(step, "freeze_source").execute(context(FakeTaskInstance(try_number=1, max_tries=2)))
    assert went_on == []
    assert uploads == ["struck", "Retrying"]


def test_a_permanent_failure_fails_at_once_without_retrying(events):
    def refused(ctx):
        raise StepFailure("source database Sales is OFFLINE")

    with pytest.raises(AirflowFailException, match="OFFLINE"):
        task(refused, "preflight").execute(context(FakeTaskInstance(try_number=1, max_tries=2)))
    assert [e["Status"] for e in events] == ["Failed"]


def test_done_and_rollback_record_the_outcome_in_xcom(events):
    ti = FakeTaskInstance()
    task(lambda ctx: StepResult("ok", return_value="migrated"), "done").execute(context(ti))
    assert ti.pushed == {"outcome": "migrated"}

    def held(ctx):
        raise NothingToRollBack("never started")

    skipped = FakeTaskInstance()
    with pytest.raises(AirflowSkipException):
        task(held, "rollback").execute(context(skipped))
    assert skipped.pushed == {"outcome": "not_started"}


def test_run_outcome_fails_the_run_naming_what_happened_to_each_database():
    with DAG("t", schedule=None, start_date=NOW):
        outcome = RunOutcomeOperator(task_id="run_outcome", database_names=["a", "b", "c", "d"])
    ti = FakeTaskInstance(xcom={("a.done", "outcome"): "migrated", ("b.rollback", "outcome"): "rolled_back",
                                ("c.rollback", "outcome"): "not_started"},
                          states=done_states(a="success", b="upstream_failed", c="upstream_failed", d="upstream_failed"))
    with pytest.raises(AirflowFailException) as failed:
        outcome.execute(outcome_context(ti))
    assert str(failed.value) == (
        "migration run failed: 3 of 4 database(s) not migrated. rolled back: b; not started (a dependency failed or "
        "waits): c; rollback failed or incomplete: d; migrated: a; waiting for the next cutover window (replicating): -"
    )
    everything = FakeTaskInstance(xcom={("%s.done" % n, "outcome"): "migrated" for n in "abcd"},
                                  states=done_states(**{n: "success" for n in "abcd"}))
    assert outcome.execute(outcome_context(everything)) == ["a", "b", "c", "d"]


def test_run_outcome_reports_databases_waiting_for_a_window_as_waiting_not_as_failures():
    with DAG("t", schedule=None, start_date=NOW):
        outcome = RunOutcomeOperator(task_id="run_outcome", database_names=["a", "b", "c"])
    ti = FakeTaskInstance(xcom={("a.done", "outcome"): "migrated", ("b.await_cutover", "outcome"): "waiting",
                                ("c.rollback", "outcome"): "waiting"},
                          states=done_states(a="success", b="skipped", c="upstream_failed"))
    assert outcome.execute(outcome_context(ti)) == ["a"]
    ti.xcom[("c.rollback", "outcome")] = "rolled_back"
    with pytest.raises(AirflowFailException, match=r"rolled back: c; .* waiting for the next cutover window \(replicating\): b$"):
        outcome.execute(outcome_context(ti))


def test_run_outcome_reads_each_databases_outcome_from_its_latest_try_never_an_earlier_tries_xcom():
    """Airflow clears a task's XComs only when it runs again. a migrated in an earlier try, then a person cleared the
    run from its `validate`, which failed this time: `done` ended upstream_failed, its `migrated` still there, and the
    rollback rolled back. c likewise, but its rollback failed (for a person). b rolled back in an earlier try; cleared
    from `await_cutover`, it waits at the rehearsal's horizon this time, its rollback skipped by its trigger rule and
    its `rolled_back` still there. Was: a and c reported migrated (the run a success but for b), b rolled back."""
    with DAG("t", schedule=None, start_date=NOW):
        outcome = RunOutcomeOperator(task_id="run_outcome", database_names=["a", "b", "c"])
    ti = FakeTaskInstance(
        xcom={("a.done", "outcome"): "migrated", ("a.rollback", "outcome"): "rolled_back", ("c.done", "outcome"): "migrated",
              ("b.rollback", "outcome"): "rolled_back", ("b.await_cutover", "outcome"): "waiting"},
        states={"a.done": "upstream_failed", "a.rollback": "success", "b.done": "skipped", "b.rollback": "skipped",
                "c.done": "upstream_failed", "c.rollback": "failed"},
    )
    with pytest.raises(AirflowFailException) as failed:
        outcome.execute(outcome_context(ti))
    assert str(failed.value) == (
        "migration run failed: 3 of 3 database(s) not migrated. rolled back: a; not started (a dependency failed or "
        "waits): -; rollback failed or incomplete: c; migrated: -; waiting for the next cutover window (replicating): b"
    )


def test_run_outcome_counts_a_database_held_behind_one_back_to_replicating_as_waiting():
    """a's window closed after its freeze: its rollback went back to replicating (waiting), and b, held
    behind it, rolled back nothing (not started). Was: the run failed, b "not started", where a alone, or
    a held at await_cutover, ends the run waiting. c is held by a failure as well: not started still."""
    with DAG("t", schedule=None, start_date=NOW):
        outcome = RunOutcomeOperator(
            task_id="run_outcome", database_names=["a", "b", "c", "d"], depends_on={"b": ["a"], "c": ["a", "d"], "d": []}
        )
    ti = FakeTaskInstance(xcom={("a.rollback", "outcome"): "waiting", ("b.rollback", "outcome"): "not_started",
                                ("c.rollback", "outcome"): "not_started", ("d.done", "outcome"): "migrated"},
                          states=done_states(a="upstream_failed", b="upstream_failed", c="upstream_failed", d="success"))
    assert outcome.execute(outcome_context(ti)) == ["d"]
    ti.xcom[("d.rollback", "outcome")] = "rolled_back"
    del ti.xcom[("d.done", "outcome")]
    ti.states["d.done"] = "failed"
    with pytest.raises(AirflowFailException, match=r"rolled back: d; not started \(a dependency failed or waits\): c; .* \(replicating\): a, b$"):
        outcome.execute(outcome_context(ti))


class MemoryRecords(dict):
    """`services.records` in memory."""

    def put(self, key, value):
        self[key] = value

    def delete(self, key):
        self.pop(key, None)


def test_the_first_poke_comes_from_the_task_sdk_on_airflow_3_and_start_date_on_airflow_2():
    from migration_orchestration_lib.airflow_compat import first_poke_at

    ti = FakeTaskInstance(first_poke=NOW)
    assert first_poke_at(context(ti)) == NOW
    assert AIRFLOW_3 == hasattr(__import__("airflow"), "sdk")


def test_a_try_counts_from_the_first_poke_it_recorded_and_without_a_readable_record_from_airflows(caplog):
    """Airflow 3 gives a later poke the first reschedule's record, written at the first poke's end: the try's own
    record of its first poke wins (`test_rehearsal.py` runs it in real Airflow)."""
    from migration_orchestration_lib.step_context import first_poke_of_try


    def unreadable():
        raise RuntimeError("the API server did not answer")

    records, ti = MemoryRecords(), FakeTaskInstance(first_poke=NOW)
    assert first_poke_of_try(lambda: records, "k", context(ti)) == NOW
    ti.start_date = NOW + timedelta(minutes=5)  # Airflow's account after a first poke of 5 minutes
    assert first_poke_of_try(lambda: records, "k", context(ti)) == NOW
    retried = FakeTaskInstance(try_number=2, first_poke=NOW + timedelta(hours=1))
    assert first_poke_of_try(lambda: records, "k", context(retried)) == NOW + timedelta(hours=1)  # a new try: its own
    assert first_poke_of_try(unreadable, "k", context(ti)) == NOW + timedelta(minutes=5)  # Airflow's, as before the record
    assert "Could not read or write the record k of this try's first poke (RuntimeError" in caplog.text


def test_a_try_keeps_its_record_of_its_first_poke_while_its_run_is_queued_again_but_a_deleted_runs_try_does_not():
    """A run queued again while a try waits (2.6.3's grid "Queue up new tasks", a PATCH of its state to queued)
    starts again (the scheduler sets its `start_date`) and its waiting tries go on: the record is still theirs (was:
    one from before the run's new start was dropped, the try counted from Airflow's account, and preflight's
    `Started` event written again). A run deleted and triggered again under its run id is a new row: the deleted
    run's try 1's record is not its try 1's."""
    from migration_orchestration_lib.step_context import first_poke_of_try

    def poke(ti, run_row, run_began):
        return first_poke_of_try(lambda: records, "k", dict(context(ti), dag_run=SimpleNamespace(id=run_row, start_date=run_began)))

    records, waiting = MemoryRecords(), FakeTaskInstance(first_poke=NOW, row="ti-1")
    assert poke(waiting, 1, NOW) == NOW
    waiting.start_date = NOW + timedelta(minutes=20)  # Airflow 3's account: the first poke's end
    assert poke(waiting, 1, NOW + timedelta(hours=1)) == NOW  # queued again, running again an hour later
    again = FakeTaskInstance(first_poke=NOW + timedelta(hours=2), row="ti-2")
    assert poke(again, 2, NOW + timedelta(hours=2)) == NOW + timedelta(hours=2)


def test_a_try_that_ended_deletes_its_record_of_its_first_poke_and_a_failed_delete_fails_nothing(caplog):
    """No Variable is left per database and task once the try ended (was: one emptied, `""`, for good)."""
    from migration_orchestration_lib.step_context import first_poke_of_try, forget_first_poke_of_try

    class Unreachable(MemoryRecords):
        def delete(self, key):
            raise RuntimeError("the API server did not answer")

    records = MemoryRecords()
    first_poke_of_try(lambda: records, "k", context(FakeTaskInstance(first_poke=NOW)))
    forget_first_poke_of_try(lambda: records, "k")
    assert records == {}
    forget_first_poke_of_try(lambda: Unreachable(k="{}"), "k")
    assert "Could not delete the record k of this try's first poke (RuntimeError: the API server did not answer)" in caplog.text


def test_every_poke_of_a_try_has_its_try_number_even_where_dag_test_does_not_count_tries():
    from migration_orchestration_lib.airflow_compat import running_try

    assert [running_try(FakeTaskInstance(try_number=n)) for n in (3, 1, 0, -4)] == [3, 1, 1, 1]  # 2.6.3's dag.test(): 0, -1, ...


def test_run_outcome_counts_a_database_held_behind_a_waiting_one_as_waiting_not_as_a_failed_rollback():
    with DAG("t", schedule=None, start_date=NOW):
        outcome = RunOutcomeOperator(
            task_id="run_outcome", database_names=["a", "b", "c", "d"], depends_on={"b": ["a"], "c": ["b"], "d": []}
        )
    # a waits at the rehearsal's horizon; b and c behind it were skipped (no outcome); d has none either
    ti = FakeTaskInstance(xcom={("a.await_cutover", "outcome"): "waiting"},
                          states=done_states(a="skipped", b="skipped", c="skipped", d="upstream_failed"))
    with pytest.raises(AirflowFailException, match=r"rollback failed or incomplete: d; migrated: -; waiting for the next cutover window \(replicating\): a, b, c$"):
        outcome.execute(outcome_context(ti))
    ti.xcom[("d.done", "outcome")] = "migrated"
    ti.states["d.done"] = "success"
    assert outcome.execute(outcome_context(ti)) == ["d"]


@pytest.mark.parametrize("second_try_number", [1, 2], ids=["same_try_number", "next_try_number"])
def test_a_try_after_one_that_ended_counts_from_its_own_first_poke_even_under_the_same_run_and_try_number(events, monkeypatch, second_try_number):
    """Airflow 2.6.3's `dag.test()` (the rehearsal) gives every try of a task the same try number, and a run deleted and
    triggered again under its run id starts again at try 1: the record of an ended try's first poke must not be the next
    try's. preflight waits from NOW, fails after 700 minutes; the next try's first poke (725 minutes on) waits again,
    within its own timeoutMinutes (720): it must not fail at once for a wait that began in the try before."""
    from migration_orchestration_lib.step_context import StepContext


    records, clock = MemoryRecords(), [NOW]
    monkeypatch.setattr(StepContext, "services", property(lambda self: SimpleNamespace(records=records)))
    monkeypatch.setattr(operators, "utc_now", lambda: clock[0])
    outcomes = iter([StepPending("InProgress"), ConnectionResetError("ARM reset the connection"), StepPending("InProgress")])

    def preflight(ctx):
        raise next(outcomes)

    def poke(minutes, try_number, raises):
        clock[0] = NOW + timedelta(minutes=minutes)
        with pytest.raises(raises):  # Airflow's account: each poke's own start (dag.test restores none)
            task(preflight, "preflight").execute(context(FakeTaskInstance(try_number=try_number, first_poke=clock[0])))

    poke(0, 1, AirflowRescheduleException)
    poke(700, 1, ConnectionResetError)
    poke(725, second_try_number, AirflowRescheduleException)
    assert [(e["Status"], e["DurationSeconds"]) for e in events] == [("Running", 0.0), ("Retrying", 42000.0), ("Running", 0.0)]
