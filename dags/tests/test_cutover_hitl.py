"""`await_cutover` on channel hitl: CutoverApprovalOperator in real Airflow (3.3 parks the task, 3.1 and 3.2 defer it).

The runs go through `dag.test()` (the task runner, the in-process Execution API); a responder
answers the way the Required Actions page does, through the Core API (`PATCH .../hitlDetails`,
signed in as a SimpleAuthManager user). Airflow 3.3 parks the task in `awaiting_input` and the
scheduler's own timeout sweep (`check_awaiting_input_timeouts`) ends unanswered waits, as a
scheduler would; Airflow 3.1 and 3.2 defer to `HITLTrigger`, which `dag.test()` runs in line and
which ends them itself (the `triggerer` fixture resumes the task as the triggerer does).
Windows here are seconds of real time, decided by `WindowsGate`, a gate of this test (the DAG's
gate is the window arithmetic and approval store of `await_cutover`).
"""
from __future__ import annotations

import functools
import json
import logging
import socket
import threading
import time
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import List, Optional
from uuid import uuid4

import pytest

from conftest import database_entry, plan_with_databases, register_for_dag_test, the_dag_folder_parsed_as_deployed
from orm_blocked import blocked_in_tasks
from task_driver import RunDriver, WorkerCrashed
from test_rehearsal import events  # noqa: F401 (the fixture)
from test_event_path import seconds_taken
from migration_orchestration_lib.airflow_compat import AIRFLOW_VERSION, utc_now
from migration_orchestration_lib.cutover_gate import ASK, GO, WAIT, Approver
from migration_orchestration_lib.cutover_hitl import HITL_AVAILABLE, Turn, approver_of, approver_users
from migration_orchestration_lib.settings import ConfigurationError
from migration_orchestration_lib.step_context import first_poke_of_try, forget_first_poke_of_try

needs_hitl = pytest.mark.skipif(not HITL_AVAILABLE, reason="human-in-the-loop operators need Airflow 3.1+")
ALICE, MALLORY = "alice@contoso.com", "mallory@contoso.com"
ANSWER_TIMEOUT = 300  # seconds a scenario may take to reach each ask before the responder gives up and fails its run (a loaded machine took over 90)
RUN_TIMEOUT = 300  # seconds the run may go on after the last answer before the responder fails it (never hang)
# Airflow 3.3 parks a waiting request's task in `awaiting_input`; 3.1 and 3.2 defer it to HITLTrigger.
PARKS_TASKS = AIRFLOW_VERSION >= (3, 3)


class MemoryRecords(dict):
    def put(self, key, value):
        self[key] = value

    def delete(self, key):
        self.pop(key, None)


class WindowsGate:
    """Openings as (opens, closes) instants; a record per opening; every event kept. Decides as
    `cutover_gate` does: ask in a fitting window without a record; go (Approved) or wait (Rejected)
    on the record for it; otherwise wait for the next opening (WaitingForWindow). Keeps the try's first
    poke as the DAG's gate does (`first_poke_of_try`), in memory."""

    def __init__(self, spans, expected=timedelta(seconds=1)):
        """`spans`: (start, end) seconds from the first decision (a loaded machine may take seconds to start the task)."""
        self.spans = spans
        self.openings: List[tuple] = []
        self.expected = expected
        self.records = {}
        self.events: List[tuple] = []
        self.first_pokes: List = []  # the first poke given with each decision and event
        self.first_poke_records = MemoryRecords()
        self.attempt_ends: List[tuple] = []  # (when, ends) of each run, as the operator gives it

    def begin_attempt(self, ends):
        self.attempt_ends.append((utc_now(), ends))

    def now(self):
        return utc_now()

    def anchor(self) -> None:
        if not self.openings:
            now = utc_now()
            self.openings = [(now + timedelta(seconds=start), now + timedelta(seconds=end)) for start, end in self.spans]

    def first_poke(self, context, carried=""):
        return first_poke_of_try(lambda: self.first_poke_records, "first_poke", context, carried)

    def forget_first_poke(self):
        forget_first_poke_of_try(lambda: self.first_poke_records, "first_poke")

    def decide(self, context, first_poke) -> Turn:
        self.first_pokes.append(first_poke)
        self.anchor()
        now = self.now()
        for opens, closes in self.openings:
            key = opens.isoformat()
            if not opens <= now <= closes - self.expected:
                continue
            decision = self.records.get(key, (None,))[0]
            if decision is None:
                return Turn(ASK, "awaiting approval for %s" % key, "AwaitingApproval", closes - self.expected, key)
            if decision == "approve":
                return Turn(GO, "approved for %s" % key, "Approved", return_value={"windowCloses": closes.isoformat()})
            upcoming = [o for o, _ in self.openings if o > now]
            return Turn(WAIT, "rejected for %s" % key, "Rejected", min(upcoming) if upcoming else now + timedelta(hours=1))
        upcoming = [opens for opens, _ in self.openings if opens > now]
        return Turn(WAIT, "waiting for the next window", "WaitingForWindow", min(upcoming) if upcoming else now + timedelta(hours=1))

    def record(self, context, window, decision, by):
        self.records[window] = (decision, by)

    def emit(self, context, status, message, first_poke):
        self.first_pokes.append(first_poke)
        self.events.append((status, message))

    def statuses(self):
        return [status for status, _ in self.events]

    def first_pokes_spread(self) -> timedelta:
        """How far apart the first pokes given are."""
        return max(self.first_pokes) - min(self.first_pokes)


def resumed_context() -> dict:
    """A task's context on Airflow 3 where it was never rescheduled (deferred, parked or new): no first reschedule."""
    ti = SimpleNamespace(id=uuid4(), try_number=1, get_first_reschedule_date=lambda context: None)
    return {"ti": ti, "task_instance": ti, "run_id": "manual__1"}


def test_approvers_are_assigned_by_id_and_matched_without_case():
    approvers = [Approver(ALICE)]
    assert approver_users(approvers) == [{"id": ALICE, "name": ALICE}]
    assert approver_of({"id": "Alice@Contoso.com", "name": "Alice@Contoso.com"}, approvers) == ALICE
    assert approver_of({"id": "7", "name": "alice@contoso.com"}, approvers) == ALICE  # FAB: numeric ids, names as written
    assert approver_of({"id": MALLORY, "name": MALLORY}, approvers) is None and approver_of(None, approvers) is None


def test_an_approver_with_a_display_name_is_shown_by_it_and_matched_by_id():
    """Entra ID sign-in names a user by object id: the Required Actions page shows the plan's display name, the
    auth manager and the record go by the id."""
    alice = Approver("5e1f0c2a-7b3d-4c5e-9f6a-1b2c3d4e5f60", "Alice Example")
    assert approver_users([alice, Approver(ALICE)]) == [{"id": alice.id, "name": "Alice Example"}, {"id": ALICE, "name": ALICE}]
    # FAB with Entra ID: id the ab_user row's number, name the object id (entra_sign_in)
    assert approver_of({"id": "1", "name": alice.id.upper()}, [alice]) == alice.id
    assert approver_of({"id": "2", "name": "Alice Example"}, [alice]) is None, "a display name is shown, never matched"


def gated_document(channel: str = "hitl", required: bool = True, approver: object = ALICE) -> dict:
    cutover = {
        "windows": [{"timeZone": "Europe/Berlin", "days": ["Sat", "Sun"], "start": "22:00", "durationMinutes": 360}],
        "expectedMinutes": 30,
        "approval": {"required": required, "approvers": [approver] if required else [], "channel": channel},
    }
    return plan_with_databases([database_entry("database_1", "Sales", cutover=cutover), database_entry("database_2", "Hr")])


def build(document: dict, environ: dict):
    from migration_orchestration_lib.dag_factory import build_dag
    from migration_orchestration_lib.plan import parse_plan

    return build_dag(parse_plan(document), environ)


@pytest.mark.airflow210
@pytest.mark.airflow26
@pytest.mark.skipif(HITL_AVAILABLE, reason="this Airflow can ask")
def test_channel_hitl_is_an_import_error_before_airflow_3_1():
    with pytest.raises(ConfigurationError, match="database_1: cutover.approval.channel is hitl, but this is Apache Airflow 2\\..*needs Airflow 3.1"):
        build(gated_document(), {})
    with pytest.raises(ConfigurationError, match="database_1: cutover.approval.channel is hitl"):
        build(gated_document(), {"MIGRATION_DRY_RUN": "1"})  # a rehearsal too: the plan cannot run on this host
    build(gated_document("airflowVariable"), {})


@pytest.mark.airflow31  # 3.1 and 3.2 defer the request to HITLTrigger
@needs_hitl
def test_on_channel_hitl_the_dag_asks_through_airflow_right_before_the_freeze():
    from migration_orchestration_lib.cutover_hitl import CutoverApprovalOperator
    from migration_orchestration_lib.operators import MigrationTask

    dag = build(gated_document(approver={"id": ALICE, "name": "Alice Example"}), {})
    ask = dag.get_task("database_1.await_cutover")
    assert isinstance(ask, CutoverApprovalOperator)
    assert ask.upstream_task_ids == {"database_1.wait_for_migration"} and "database_1.freeze_source" in ask.downstream_task_ids
    assert ask.assigned_users == [{"id": ALICE, "name": "Alice Example"}] and ask.defaults is None  # no answer is no default
    assert "Sat/Sun 22:00 for 360 min (Europe/Berlin)" in ask.body and "database_1" in ask.subject
    assert "Approvers: Alice Example (alice@contoso.com)" in ask.body
    assert build(gated_document(), {}).get_task("database_1.await_cutover").assigned_users == [{"id": ALICE, "name": ALICE}]
    assert ask.execution_timeout == dag.default_args["execution_timeout"]  # not turned into the response timeout
    assert "database_2.await_cutover" not in dag.task_dict  # ungated: its chain is unchanged

    for document, environ in ((gated_document("airflowVariable"), {}), (gated_document(), {"MIGRATION_DRY_RUN": "1"})):
        assert type(build(document, environ).get_task("database_1.await_cutover")) is MigrationTask


@pytest.mark.airflow31  # 3.1 and 3.2 defer the request to HITLTrigger
@needs_hitl
def test_an_operator_without_approvers_is_refused():
    from migration_orchestration_lib.cutover_hitl import CutoverApprovalOperator

    with pytest.raises(ConfigurationError, match="database_1: approval through hitl needs at least one approver"):
        CutoverApprovalOperator(task_id="await_cutover", database_name="database_1", approvers=[], gate=WindowsGate([]))


@pytest.mark.airflow31  # 3.1 and 3.2 defer the request to HITLTrigger
@needs_hitl
def test_an_answer_by_someone_not_an_approver_is_ignored_and_records_nothing():
    """Where the auth manager lets anyone answer (SimpleAuthManager with all admins), the answer
    still counts only from an approver."""
    from migration_orchestration_lib.airflow_compat import AirflowRescheduleException
    from migration_orchestration_lib.cutover_hitl import CutoverApprovalOperator

    gate = WindowsGate([(-60, -30), (3600, 7200)])  # the window passed meanwhile: waits for the next
    gate.anchor()
    approvers = [Approver(ALICE, "Alice Example")]
    operator = CutoverApprovalOperator(task_id="await_cutover", database_name="database_1", approvers=approvers, gate=gate)
    event = {"chosen_options": ["Approve"], "params_input": {}, "responded_at": utc_now(), "responded_by_user": {"id": MALLORY, "name": MALLORY}}

    with pytest.raises(AirflowRescheduleException):
        operator.execute_complete(resumed_context(), event, window=gate.openings[0][0].isoformat(), deadline=utc_now().isoformat())
    assert gate.records == {}
    assert gate.events[0] == ("AwaitingApproval", "answer by %s ignored: not an approver of database_1 (Alice Example (%s))" % (MALLORY, ALICE))
    assert gate.statuses()[1:] == ["WaitingForWindow"]


@pytest.mark.airflow31
@needs_hitl
def test_the_approval_steps_events_wait_no_longer_than_its_execution_timeout(monkeypatch):
    """The Logs Ingestion API takes the upload and never answers (a silent outage). A MigrationTask's events wait no
    longer than its poke's execution_timeout (`StepContext.attempt_ends`); the approval step's had no such bound: each
    of its events waited 90 s for an answer, 4 times (about 6 min), several a run (the ask, a heartbeat, an answer
    ignored), past the 20 min execution_timeout, which then stopped the try with no event and spent it."""
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    from migration_orchestration_lib import cutover_steps, operators
    from migration_orchestration_lib.airflow_compat import AirflowRescheduleException
    from migration_orchestration_lib.cutover_hitl import CutoverApprovalOperator, StepGate
    from migration_orchestration_lib.events import LogsIngestionEventWriter
    from migration_orchestration_lib.plan import parse_plan
    from migration_orchestration_lib.settings import EventSettings, Timing
    from migration_orchestration_lib.step_context import CutoverWait

    silent = socket.create_server(("127.0.0.1", 0))  # takes connections, never reads nor answers
    endpoint = "http://127.0.0.1:%d" % silent.getsockname()[1]
    settings = EventSettings(endpoint, "dcr-00000000000000000000000000000001", "Custom-MigrationEvents_CL", client_id="c")
    writer = LogsIngestionEventWriter.connect(settings, object, authentication_policy=SansIOHTTPPolicy())
    monkeypatch.setattr("migration_orchestration_lib.services.event_writer_from_environment", lambda environ: writer)
    monkeypatch.setattr(operators, "LAST_EVENT_BUDGET", timedelta(seconds=1))

    def no_window_fits(ctx):
        raise CutoverWait("WaitingForWindow", "waiting for the next window")

    monkeypatch.setattr(cutover_steps, "await_cutover", no_window_fits)
    gate = StepGate(parse_plan(gated_document()), "database_1", Timing.for_environment({}))
    gate._services = SimpleNamespace(records=MemoryRecords(), clock=SimpleNamespace(now=utc_now), simulated_approvals={})
    operator = CutoverApprovalOperator(
        task_id="await_cutover", database_name="database_1", approvers=[Approver(ALICE)], gate=gate, execution_timeout=timedelta(seconds=3))

    def look():
        with pytest.raises(AirflowRescheduleException):
            operator.execute(resumed_context())

    try:
        assert seconds_taken(look, at_most=60) < 10
    finally:
        silent.close()


class AnyTimeGate(WindowsGate):
    """Approval required, no windows: always asks for window "any" until a record says otherwise."""

    def decide(self, context, first_poke) -> Turn:
        if self.records.get("any", (None,))[0] == "approve":
            return Turn(GO, "approved", "Approved")
        return Turn(ASK, "awaiting approval at any time", "AwaitingApproval", None, "any")


@pytest.mark.airflow31  # 3.1 and 3.2 defer the request to HITLTrigger
@needs_hitl
def test_a_try_asks_at_its_first_poke_rescheduled_or_deferred(monkeypatch):
    """The gate keeps the try's first poke (`first_poke_of_try`), which a park or deferral, leaving no reschedule record
    on Airflow 3, would otherwise lose. Was: rescheduled, the first poke rescheduled once (1 s) before asking."""
    from airflow.providers.standard.operators import hitl as provider

    from migration_orchestration_lib.cutover_hitl import PARKED, CutoverApprovalOperator

    monkeypatch.setattr(provider, "upsert_hitl_detail", lambda **request: None)  # the Execution API call
    gate = AnyTimeGate([])
    operator = CutoverApprovalOperator(task_id="await_cutover", database_name="database_1", approvers=[Approver(ALICE)], gate=gate)
    with pytest.raises(PARKED):
        operator.execute(resumed_context())
    assert gate.statuses() == ["AwaitingApproval"]

    deferred = CutoverApprovalOperator(task_id="await_cutover", database_name="database_1", approvers=[Approver(ALICE)], gate=gate, deferrable=True)
    with pytest.raises(PARKED):
        deferred.execute(resumed_context())


@pytest.mark.airflow31  # 3.1 and 3.2 defer the request to HITLTrigger
@needs_hitl
def test_without_windows_an_unanswered_request_is_asked_again_and_never_missed(monkeypatch):
    from airflow.providers.standard.operators import hitl as provider

    from migration_orchestration_lib.cutover_hitl import PARKED, CutoverApprovalOperator

    monkeypatch.setattr(provider, "upsert_hitl_detail", lambda **request: None)  # the Execution API call
    context = resumed_context()
    gate = AnyTimeGate([])
    operator = CutoverApprovalOperator(
        task_id="await_cutover", database_name="database_1", approvers=[Approver(ALICE)], gate=gate, heartbeat=timedelta(minutes=5)
    )
    asked_at = utc_now()
    with pytest.raises(PARKED) as asked:
        operator.execute(context)
    assert timedelta(minutes=5) <= answer_deadline(asked.value) - asked_at < timedelta(minutes=5, seconds=10)
    assert {key: value for key, value in asked.value.kwargs.items() if key != "first_poke"} == {"window": "any", "deadline": ""}
    assert asked_at <= datetime.fromisoformat(asked.value.kwargs["first_poke"]) <= utc_now()

    timeout = {"error": "The Human-in-the-loop response timeout has passed without a response.", "error_type": "timeout"}
    with pytest.raises(PARKED):
        operator.execute_complete(context, timeout, **asked.value.kwargs)
    assert gate.statuses() == ["AwaitingApproval", "AwaitingApproval"]  # the ask and its heartbeat; no WindowMissed

    approval = {"chosen_options": ["Approve"], "params_input": {}, "responded_at": utc_now(), "responded_by_user": {"id": ALICE, "name": ALICE}}
    operator.execute_complete(context, approval, **asked.value.kwargs)
    assert gate.records == {"any": ("approve", ALICE)} and gate.statuses()[-1] == "Approved"


@pytest.mark.airflow31  # 3.1 and 3.2 defer the request to HITLTrigger
@needs_hitl
def test_a_try_after_one_that_ended_counts_from_its_own_first_poke_under_the_same_run_and_try_number(monkeypatch):
    """A run deleted and triggered again under its run id starts at try 1 again: the first poke the gate recorded in a
    try that ended (approved) is not the next try's, whose waits would count from it (windows missed, durations)."""
    from airflow.providers.standard.operators import hitl as provider

    from migration_orchestration_lib.cutover_hitl import PARKED, CutoverApprovalOperator

    monkeypatch.setattr(provider, "upsert_hitl_detail", lambda **request: None)  # the Execution API call
    gate = AnyTimeGate([])
    operator = CutoverApprovalOperator(task_id="await_cutover", database_name="database_1", approvers=[Approver(ALICE)], gate=gate)
    with pytest.raises(PARKED) as asked:
        operator.execute(resumed_context())
    approval = {"chosen_options": ["Approve"], "params_input": {}, "responded_at": utc_now(), "responded_by_user": {"id": ALICE, "name": ALICE}}
    operator.execute_complete(resumed_context(), approval, **asked.value.kwargs)
    ended = utc_now()
    time.sleep(0.01)

    operator.execute(resumed_context())
    assert gate.statuses()[-1] == "Approved" and gate.first_pokes[-1] > ended, (gate.first_pokes, ended)


@pytest.mark.airflow31  # 3.1 and 3.2 defer the request to HITLTrigger
@needs_hitl
def test_a_wait_resumed_after_a_deferral_counts_from_its_first_poke_and_reports_the_window_it_missed(
        rehearsal_world, events, monkeypatch):
    """The DAG's own gate on the rehearsal world, on the real clock shifted: the task first looks an hour before the
    first of two date windows opens and waits deferred; the triggerer, down meanwhile, resumes it 3 hours later,
    after that window's last fitting start; in the next window it asks (parked, or deferred to HITLTrigger) and is
    approved. Airflow 3 keeps no reschedule record of a deferral or of a task parked awaiting input
    (`get_first_reschedule_date` is None), so the first poke goes along in the kwargs. Was: each resume took itself
    for the first poke: the missed window was reported as WaitingForWindow (no cutover-postponed alert) and every
    event's DurationSeconds counted from the last resume."""
    from airflow.providers.standard.operators import hitl as provider

    from migration_orchestration_lib import airflow_compat, cutover_hitl, cutover_services, cutover_steps, operators, rehearsal_cutover
    from migration_orchestration_lib.airflow_compat import TaskDeferred
    from migration_orchestration_lib.cutover_hitl import PARKED
    from migration_orchestration_lib.cutover_services import SystemClock
    from migration_orchestration_lib.cutover_windows import iso_utc
    from task_driver import _DagRun, _TaskInstance

    real_now = utc_now().replace(second=0, microsecond=0)
    shift = [timedelta(hours=-3)]  # where the task's clock stands from the real one
    for module in (airflow_compat, cutover_hitl, cutover_services, cutover_steps, operators):
        monkeypatch.setattr(module, "utc_now", lambda: utc_now() + shift[0])

    def window(starts, hours=1):
        return {"timeZone": "UTC", "from": (real_now + starts).strftime("%Y-%m-%dT%H:%M"),
                "to": (real_now + starts + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")}

    document = gated_document()
    document["databases"][0]["cutover"]["windows"] = [window(timedelta(hours=-2)), window(timedelta(days=1))]
    monkeypatch.setenv("MIGRATION_SIMULATE_START", iso_utc(real_now - timedelta(hours=4)))
    driver = RunDriver(build(document, {"MIGRATION_DRY_RUN": "1"}))
    with pytest.raises(WorkerCrashed):
        driver.run_database("database_1", crash_after="wait_for_migration")  # replicating, ready for cutover
    monkeypatch.setattr(cutover_hitl, "is_dry_run", lambda environ: False)  # the operator that asks, as in production
    monkeypatch.setattr(rehearsal_cutover, "SimulatedClock", lambda directory, gated, environ, minutes, max_concurrent: SystemClock())
    monkeypatch.setattr(provider, "upsert_hitl_detail", lambda **request: None)  # the Execution API call
    operator = build(document, {"MIGRATION_DRY_RUN": "1", "MIGRATION_WAIT_MODE": "deferrable"}).get_task("database_1.await_cutover")
    ti = _TaskInstance(driver.xcom, operator.task_id, 1, 0, driver)
    ti.id, ti.get_first_reschedule_date = uuid4(), lambda context: None  # Airflow 3: no reschedule record
    context = {"ti": ti, "task_instance": ti, "dag_run": _DagRun(driver), "run_id": driver.run_id, "task_reschedule_count": 0}
    first = utc_now() + shift[0]

    def stopped(call, *args, **kwargs):
        with pytest.raises(PARKED) as stop:
            call(*args, **kwargs)
        return stop.value

    waiting = stopped(operator.execute, context)
    shift[0] = timedelta(0)  # the triggerer, down, resumes it 3 hours later: the first window passed meanwhile
    waiting = stopped(operator.look_again, context, None, **(waiting.kwargs or {}))
    shift[0] = timedelta(days=1, minutes=5)  # in the next window
    asked = stopped(operator.look_again, context, None, **(waiting.kwargs or {}))
    approval = {"chosen_options": ["Approve"], "params_input": {}, "responded_at": utc_now(), "responded_by_user": {"id": ALICE, "name": ALICE}}
    operator.execute_complete(context, approval, **asked.kwargs)

    rows = [row for row in events if (row["Database"], row["Phase"]) == ("database_1", "await_cutover")]
    assert [row["Status"] for row in rows] == ["WaitingForWindow", "WindowMissed", "AwaitingApproval", "Approved"]
    assert "no approval came in time" in rows[1]["Message"]
    waited = [row["DurationSeconds"] for row in rows]
    expected = [0, 3 * 3600, 27 * 3600 + 300, 27 * 3600 + 300]
    assert all(abs(seconds - want) < 60 for seconds, want in zip(waited, expected)), waited
    assert isinstance(waiting, TaskDeferred) and abs(datetime.fromisoformat(asked.kwargs["first_poke"]) - first) < timedelta(seconds=60)


def answer_deadline(asked):
    """When a request stops waiting: parked with a response timeout (3.3), or deferred to a
    HITLTrigger that times out at a deadline (3.1, 3.2)."""
    return utc_now() + asked.timeout if PARKS_TASKS else asked.trigger.timeout_datetime


# --- whole runs in real Airflow ------------------------------------------------------------------


@pytest.fixture
def core_api(monkeypatch):
    """The Core API app (what the UI calls), with two SimpleAuthManager users; a client of its own for each test."""
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "%s:admin,%s:admin" % (ALICE, MALLORY))
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "cutover-hitl-test-" * 4)
    from fastapi.testclient import TestClient

    return TestClient(_core_api_app())


@functools.lru_cache(maxsize=1)
def _core_api_app():
    """Built once per process (0.5 s of CPU each), always under the same users and secret above: no other test of
    the suite builds an app or an auth manager."""
    from airflow.api_fastapi.app import create_app

    return create_app("core")


@pytest.fixture
def triggerer(monkeypatch) -> threading.Event:
    """Where Airflow defers a request to HITLTrigger (3.1, 3.2), `dag.test()` runs the trigger in
    line, under the task's in-process supervisor. Two things a triggerer does that it does not:
    - answer the trigger's request for the response (`GetHITLDetailResponse`, handled by the
      triggerer's supervisor only: airflow/jobs/triggerer_job_runner.py); answered here the same way;
    - resume the task with the deferral's kwargs and the event (airflow/models/trigger.py,
      `handle_event_submit`); `dag.test()` passes the event alone, and the operator needs the
      window it asked about. Resumed here as the triggerer does.
    Every deferral resumes so (a deferred wait for the next window too: its kwargs carry the first poke).
    The event returned is set while a HITLTrigger waits for an answer (on 3.3, which parks the task
    instead, it is never set)."""
    waiting = threading.Event()
    from airflow.providers.standard.triggers.hitl import HITLTrigger
    from airflow.sdk.definitions import dag as dag_module
    from airflow.sdk.execution_time import supervisor
    try:
        from airflow.sdk.serde import serialize
    except ImportError:  # Airflow 3.1
        from airflow.serialization.serde import serialize

    if not PARKS_TASKS:
        from airflow.jobs.triggerer_job_runner import HITLDetailResponseResult
        from airflow.sdk.execution_time.comms import GetHITLDetailResponse

        handle_request = supervisor.InProcessTestSupervisor._handle_request

        def handle_as_the_triggerer(self, msg, log, req_id):
            if not isinstance(msg, GetHITLDetailResponse):
                return handle_request(self, msg, log, req_id)
            response = self.client.hitl.get_detail_response(ti_id=msg.ti_id)
            self.send_msg(HITLDetailResponseResult.from_api_response(response=response), request_id=req_id, error=None)

        monkeypatch.setattr(supervisor.InProcessTestSupervisor, "_handle_request", handle_as_the_triggerer)
    deferrals = {}
    run_in_process, run_inline = supervisor.run_task_in_process, dag_module._run_inline_trigger

    def run_keeping_the_deferral(ti, task):
        result = run_in_process(ti=ti, task=task)
        deferrals[ti.id] = result.msg
        return result

    def run_as_the_triggerer(trigger, ti):
        if isinstance(trigger, HITLTrigger):
            waiting.set()
        try:
            event = run_inline(trigger, ti)
        finally:
            waiting.clear()
        deferral = deferrals.pop(ti.id, None)
        if event is None or deferral is None or not deferral.next_kwargs:
            return event
        deferral.next_kwargs["event"] = serialize(event.payload)  # stored as dag.test() stores the event
        return None  # dag.test() then resumes with the deferral's kwargs, now holding the event

    monkeypatch.setattr(supervisor, "run_task_in_process", run_keeping_the_deferral)
    monkeypatch.setattr(dag_module, "_run_inline_trigger", run_as_the_triggerer)
    return waiting


class Responder(threading.Thread):
    """Answers each ask in turn, as the Required Actions page does; sweeps timeouts like a scheduler."""

    def __init__(self, client, dag_id: str, answers: List[tuple], triggerer: threading.Event, task_id: str = "await_cutover"):
        super().__init__(daemon=True)
        self.client, self.dag_id, self.task_id, self.answers = client, dag_id, task_id, list(answers)
        self.trigger_waits = triggerer
        self.replies: List[tuple] = []
        self.problem: Optional[str] = None
        self.run_ended = threading.Event()

    def finish(self) -> None:
        """The run ended: stop; an answer still due means the run ended before it was asked for."""
        self.run_ended.set()
        self.join(timeout=5)
        if self.answers and self.problem is None:
            self.problem = "the run ended before these were asked for: %s" % self.answers

    def run(self) -> None:
        give_up = time.monotonic() + ANSWER_TIMEOUT
        while self.answers and time.monotonic() < give_up and not self.run_ended.is_set():
            if PARKS_TASKS:
                _sweep_awaiting_input_timeouts()
            user, option, ready = self.answers[0]
            if self._asking() and ready():
                self.replies.append((user, option, self._answer(user, option)))
                if self.replies[-1][2] == 200 or user == MALLORY:
                    self.answers.pop(0)
            time.sleep(0.3)
        if self.answers and not self.run_ended.is_set():
            self.problem = "still to answer after %d s: %s" % (ANSWER_TIMEOUT, self.answers)
        elif not self._ended_within(RUN_TIMEOUT):
            self.problem = "the run still going %d s after the last answer" % RUN_TIMEOUT
        # dag.test() may resume a task failed here (a deferred one, its trigger run in line): until the run ends
        while self.problem is not None and not self.run_ended.is_set():
            self._fail_unfinished_tasks()
            self.run_ended.wait(1)

    def _ended_within(self, seconds: float) -> bool:
        """Waits for the run's end, sweeping timeouts as the scheduler goes on doing after the last answer: a task that
        parks again (an approval for a window that stopped fitting meanwhile) times out only so."""
        ends = time.monotonic() + seconds
        while not self.run_ended.wait(0.3):
            if time.monotonic() >= ends:
                return False
            if PARKS_TASKS:
                _sweep_awaiting_input_timeouts()
        return True

    def _answer(self, user: str, option: str) -> int:
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

        token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=user, role="admin"))
        response = self.client.patch(
            "/api/v2/dags/%s/dagRuns/%s/taskInstances/%s/-1/hitlDetails" % (self.dag_id, self._run_id(), self.task_id),
            json={"chosen_options": [option], "params_input": {}},
            headers={"Authorization": "Bearer %s" % token},
        )
        return response.status_code

    def _asking(self) -> bool:
        return self._state() == "awaiting_input" if PARKS_TASKS else self.trigger_waits.is_set()

    def _run_id(self) -> str:
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session

        with create_session() as session:  # the run dag.test() is running
            return session.query(DagRun.run_id).filter(DagRun.dag_id == self.dag_id, DagRun.state == "running").scalar()

    def _state(self) -> Optional[str]:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session

        with create_session() as session:
            state = session.query(TaskInstance.state).filter(
                TaskInstance.dag_id == self.dag_id, TaskInstance.run_id == self._run_id(), TaskInstance.task_id == self.task_id
            ).scalar()
        return str(state) if state else None

    def _fail_unfinished_tasks(self) -> None:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from airflow.utils.state import State, TaskInstanceState

        with create_session() as session:
            for ti in session.query(TaskInstance).filter(TaskInstance.dag_id == self.dag_id, TaskInstance.run_id == self._run_id()):
                if ti.state not in State.finished:
                    ti.state = TaskInstanceState.FAILED


def _sweep_awaiting_input_timeouts() -> None:
    """The scheduler's sweep of `awaiting_input` tasks past their response timeout (its real code)."""
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

    class Scheduler:
        log = logging.getLogger("scheduler")

    SchedulerJobRunner.check_awaiting_input_timeouts(Scheduler())


def run_cutover(dag_id: str, gate: WindowsGate, client, triggerer, answers: List[tuple], **operator_args):
    """`await_cutover` >> `freeze_source` through `dag.test()` while the responder answers."""
    from airflow.providers.standard.operators.empty import EmptyOperator

    from migration_orchestration_lib.airflow_compat import DAG, timezone
    from migration_orchestration_lib.cutover_hitl import CutoverApprovalOperator

    with DAG(dag_id, schedule=None, start_date=timezone.datetime(2024, 1, 1)) as dag:
        ask = CutoverApprovalOperator(
            task_id="await_cutover",
            database_name="database_1",
            approvers=[Approver(ALICE)],
            gate=gate,
            windows=["test windows (seconds of real time)"],
            **operator_args
        )
        ask >> EmptyOperator(task_id="freeze_source")
    register_for_dag_test(dag)
    responder = Responder(client, dag_id, answers, triggerer)
    responder.start()
    with blocked_in_tasks(), the_dag_folder_parsed_as_deployed():  # the responder's own thread keeps the database
        dag_run = dag.test()
    responder.finish()
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    return str(dag_run.state), states, responder


def hitl_details(dag_id: str) -> list:
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        details = session.query(HITLDetail).join(TaskInstance, TaskInstance.id == HITLDetail.ti_id).filter(TaskInstance.dag_id == dag_id).all()
        session.expunge_all()
        return details


def always():
    return True


def after_asked_for(seconds: float):
    """Ready once the request has been waiting `seconds` (an approver who takes a while)."""
    asked = []

    def ready():
        asked[:] = asked or [time.monotonic()]
        return time.monotonic() - asked[0] >= seconds
    return ready


@pytest.mark.airflow31  # 3.1 and 3.2 defer the request to HITLTrigger
@needs_hitl
@pytest.mark.usefixtures("airflow_db")
def test_approve_inside_the_window_records_it_and_lets_the_cutover_go_on(core_api, triggerer):
    gate = WindowsGate([(-1, 60)])
    state, states, responder = run_cutover(
        "cutover_hitl_approve", gate, core_api, triggerer, [(MALLORY, "Approve", always), (ALICE, "Approve", always)]
    )

    assert responder.problem is None, (responder.problem, responder.replies, gate.events)
    assert [(user, code) for user, _, code in responder.replies] == [(MALLORY, 403), (ALICE, 200)]  # only approvers answer
    assert state == "success" and states == {"await_cutover": "success", "freeze_source": "success"}
    window = gate.openings[0][0].isoformat()
    assert gate.records == {window: ("approve", ALICE)}
    assert gate.statuses() == ["AwaitingApproval", "Approved"]
    assert gate.first_pokes_spread() < timedelta(seconds=2), "the answer's resume (a deferral or park) kept the first poke"


@pytest.mark.airflow31
@needs_hitl
@pytest.mark.usefixtures("airflow_db")
def test_each_run_of_the_approval_step_bounds_its_events_by_its_own_execution_timeout(core_api, triggerer):
    """Airflow 3 counts execution_timeout anew at each run of a task (the Task SDK's `_execute_task`: the ask, and the
    resume after the answer, parked on 3.3, deferred on 3.1): the gate is told each run's end as that run begins, so the
    events of a resume a day after the ask still have their budget."""
    gate = WindowsGate([(-1, 60)])
    timeout = timedelta(minutes=7)
    state, _, responder = run_cutover(
        "cutover_hitl_attempt_ends", gate, core_api, triggerer, [(ALICE, "Approve", after_asked_for(1))], execution_timeout=timeout)

    assert responder.problem is None and state == "success", (responder.problem, responder.replies, gate.events)
    assert len(gate.attempt_ends) == 2, gate.attempt_ends  # the ask, then the resume with the answer
    for begun, ends in gate.attempt_ends:
        assert ends is not None and abs((ends - begun) - timeout) < timedelta(seconds=1), gate.attempt_ends
    assert gate.attempt_ends[1][1] - gate.attempt_ends[0][1] >= timedelta(seconds=1), "the resume's own end, not the ask's"


# Not marked airflow31: where Airflow defers (a 5-second trigger poll, seconds per resume in dag.test()) their
# seconds-long windows are too tight for a loaded machine. They pass there run alone (3.1.8 and 3.2.2).
@needs_hitl
@pytest.mark.usefixtures("airflow_db")
@pytest.mark.parametrize("deferrable", [False, True], ids=["rescheduled", "deferred"])
def test_a_rejection_waits_for_the_next_window_and_asks_again_there(core_api, triggerer, deferrable):
    """Every decision and event counts from the try's first poke, which was an ask. Rescheduled, Airflow 3 keeps no
    record of a poke that parked (or deferred) instead of rescheduling: without the gate's own record the wait after
    the rejection lost the first poke and counted from itself (the rejection comes 4 s after the ask here). Deferred,
    the kwargs carry it."""
    # A first window of seconds: on a loaded machine the rejection must still land inside it (a deferred
    # task resumes seconds late), or the test sees the window's end instead.
    gate = WindowsGate([(-1, 20), (22, 82)])
    rejected = always if deferrable else after_asked_for(4)
    second_window = lambda: gate.statuses().count("AwaitingApproval") == 2  # noqa: E731
    state, states, responder = run_cutover(
        "cutover_hitl_reject_%s" % ("deferred" if deferrable else "rescheduled"),
        gate,
        core_api,
        triggerer,
        [(ALICE, "Reject", rejected), (ALICE, "Approve", second_window)],
        deferrable=deferrable,
    )

    assert responder.problem is None and [code for _, _, code in responder.replies] == [200, 200], (responder.problem, responder.replies, gate.events)
    assert state == "success" and states == {"await_cutover": "success", "freeze_source": "success"}  # never skipped
    first, second = (opens.isoformat() for opens, _ in gate.openings)
    assert gate.records == {first: ("reject", ALICE), second: ("approve", ALICE)}
    statuses = gate.statuses()
    assert statuses[:2] == ["AwaitingApproval", "Rejected"] and statuses[-2:] == ["AwaitingApproval", "Approved"]
    # Both asks were one task instance's one HITLDetail: the second cleared the first answer.
    details = hitl_details("cutover_hitl_reject_%s" % ("deferred" if deferrable else "rescheduled"))
    assert [(d.chosen_options, d.responded_by_user_id) for d in details] == [(["Approve"], ALICE)]
    assert set(statuses[2:-2]) <= {"Rejected", "WaitingForWindow"}
    assert gate.first_pokes_spread() < timedelta(seconds=2), "every poke counts from the first: %s" % sorted(set(gate.first_pokes))


@needs_hitl
@pytest.mark.usefixtures("airflow_db")
def test_no_answer_heartbeats_then_misses_the_window_and_asks_in_the_next(core_api, triggerer):
    # The first window holds the ask and a heartbeat 2 s on: a parked task resumes after its response timeout, the
    # responder's sweep (0.3 s) and dag.test()'s loop (1 s), on a loaded machine 3.3 s after the ask, the first ask a
    # second or two into the window (a window of 7 s left 0.6 s to spare). HITLTrigger (3.1, 3.2) looks at its
    # deadline every 5 seconds, and dag.test() takes seconds more to resume the task: a longer gap there too.
    first_closes, gap = (12, 2) if PARKS_TASKS else (14, 12)
    gate = WindowsGate([(-1, first_closes), (first_closes + gap, 90)])
    missed = lambda: "WindowMissed" in gate.statuses() and "WaitingForWindow" in gate.statuses()  # noqa: E731
    state, states, responder = run_cutover(
        "cutover_hitl_timeout", gate, core_api, triggerer, [(ALICE, "Approve", missed)], heartbeat=timedelta(seconds=2)
    )

    assert responder.problem is None, (responder.problem, responder.replies, gate.events)
    assert state == "success" and states == {"await_cutover": "success", "freeze_source": "success"}
    first, second = (opens.isoformat() for opens, _ in gate.openings)
    assert gate.records == {second: ("approve", ALICE)}  # nothing recorded for the unanswered window
    statuses = gate.statuses()
    missed_at = statuses.index("WindowMissed")
    asks = statuses[:missed_at]
    assert set(asks) == {"AwaitingApproval"} and len(asks) >= 2  # the ask, then its heartbeats
    assert first in dict(gate.events)["WindowMissed"]
    assert statuses[-2:] == ["AwaitingApproval", "Approved"]


# Not marked airflow31: a whole rehearsal takes minutes there; the tests above prove the deferral.
@needs_hitl
@pytest.mark.usefixtures("airflow_db")
def test_the_dag_asks_through_hitl_and_its_approval_lets_the_database_cut_over(core_api, triggerer, rehearsal_world, events, monkeypatch):
    """The migration DAG itself on the simulated world: `await_cutover` asks through HITL (as
    outside a rehearsal; the clock is the real one, windows in real time), the approver's answer is
    written to the approval store and the database migrates."""
    from migration_orchestration_lib import cutover_hitl, rehearsal_cutover
    from migration_orchestration_lib.cutover_services import SystemClock
    from migration_orchestration_lib.dag_factory import DAG_ID
    from migration_rehearsal.world import World
    from test_rehearsal import run

    monkeypatch.setattr(cutover_hitl, "is_dry_run", lambda environ: False)  # ask, as in production
    monkeypatch.setattr(rehearsal_cutover, "SimulatedClock", lambda directory, gated, environ, minutes, max_concurrent: SystemClock())
    now = utc_now().replace(second=0, microsecond=0)
    window = {"timeZone": "UTC", "from": (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"), "to": (now + timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M")}
    document = gated_document()
    document["databases"][0]["cutover"]["windows"] = [window]

    responder = Responder(core_api, DAG_ID, [(MALLORY, "Approve", always), (ALICE, "Approve", always)], triggerer, task_id="database_1.await_cutover")
    responder.start()
    state, states = run(document)
    responder.finish()

    assert responder.problem is None and [(user, code) for user, _, code in responder.replies] == [(MALLORY, 403), (ALICE, 200)]
    assert state == "success" and states["database_1.await_cutover"] == "success" and states["database_1.done"] == "success"
    # The approval was for this cutover: done consumed it (no record left), so a later attempt asks again.
    assert rehearsal_cutover.FileApprovals(str(rehearsal_world)).get("database_1") is None
    gate_events = [(row["Status"], row["Message"]) for row in events if (row["Database"], row["Phase"]) == ("database_1", "await_cutover")]
    assert [status for status, _ in gate_events] == ["AwaitingApproval", "Approved"]
    assert "approved by %s" % ALICE in gate_events[-1][1]
    assert World(str(rehearsal_world)).database("sql01", "Sales")["readOnly"] is True  # frozen after the approval, cut over
