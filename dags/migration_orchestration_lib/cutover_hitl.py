"""`await_cutover` through Airflow's human-in-the-loop approval (channel `hitl`, Airflow >= 3.1).

`CutoverApprovalOperator` is an `ApprovalOperator` (apache-airflow-providers-standard) that asks
only inside a window that fits, and never lets an answer end the database's run:

- no window fits (or admission refuses): it waits without a worker, rescheduled (or deferred to
  the triggerer) until the next opening, at most `heartbeat` at a time;
- a window fits and no record decides it: it asks the approvers (`assigned_users`) and parks the
  task in `awaiting_input` (Airflow 3.3; a `HITLTrigger` deferral before) with a
  `response_timeout` of at most `heartbeat`, re-parking with a heartbeat event until the window
  stops fitting;
- Approve or Reject: the approval record is written and the gate decides again from it: Approved
  (the task succeeds) or Rejected (it waits for the next window, where it asks again);
- the window stops fitting unanswered: WindowMissed, and it waits for the next window. Downstream is never skipped and the task never fails for it
  (the provider's `ApprovalOperator` skips downstream on Reject: not used).

Every wait of one task instance keeps one `HITLDetail` (the Execution API keys it by task
instance): asking again clears the previous answer but keeps the first request's subject and body
(apache/airflow#73235, open), so neither names one window; the window asked for is in the
AwaitingApproval event and the task log. `assigned_users` holds each approver as id and name (the
plan's display name, else the id again): the
auth manager compares the responder's *id* (SimpleAuthManager: the user name; FAB: a number,
apache/airflow#61817; the Kubernetes host's Entra ID sign-in, `entra_sign_in.EntraIdAuthManager`, also
the user name, the Entra object id).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

from migration_orchestration_lib import cutover_steps
from migration_orchestration_lib.airflow_compat import (
    AIRFLOW_VERSION,
    AirflowRescheduleException,
    utc_now,
)
from migration_orchestration_lib.azure_waits import calls_end_by
from migration_orchestration_lib.connections import redact
from migration_orchestration_lib.cutover_gate import ANY_TIME, ASK, GO, WAIT, ApprovalRecord, Approver, listed
from migration_orchestration_lib.cutover_windows import fitting_at
from migration_orchestration_lib.operators import (
    MigrationTask,
    attempt_end_of,
    azure_unavailable,
    calls_left_of,
    is_transient_azure_error,
    raise_secret_free,
)
from migration_orchestration_lib.plan import DatabaseMigration, MigrationPlan
from migration_orchestration_lib.settings import LONGEST_SILENCE, ConfigurationError, Timing, is_dry_run
from migration_orchestration_lib.step_context import (
    AWAIT_CUTOVER_TASK,
    CutoverWait,
    StepContext,
    WindowMissed,
    first_poke_key,
    first_poke_of_try,
    forget_first_poke_of_try,
    forgetting_the_first_poke_as_the_try_ends,
)

HITL_MINIMUM_AIRFLOW = (3, 1)
HITL_AVAILABLE = AIRFLOW_VERSION >= HITL_MINIMUM_AIRFLOW
DEFAULT_HEARTBEAT = LONGEST_SILENCE  # the stalled-run heartbeat, with room to start a poke
SHORTEST_WAIT = timedelta(seconds=1)


@dataclass(frozen=True)
class Turn:
    """What `await_cutover` does now: `cutover_gate`'s wait / ask / go, with what the operator needs
    to act on it. `until`: when to look again (wait) or the window's last fitting start (ask)."""

    action: str
    message: str
    status: str = ""  # the event to write for it ("" writes none)
    until: Optional[datetime] = None
    window: Optional[str] = None  # the opening's key (ISO UTC), for ask
    return_value: Any = None  # for go


def require_hitl(database_name: str) -> None:
    """Channel `hitl` needs Airflow 3.1's HITL operators: refuse the DAG import otherwise."""
    import airflow

    if not HITL_AVAILABLE:
        raise ConfigurationError(
            "%s: cutover.approval.channel is hitl, but this is Apache Airflow %s: asking through "
            "human-in-the-loop needs Airflow %s or later. Use channel airflowVariable on this host."
            % (database_name, airflow.__version__, ".".join(map(str, HITL_MINIMUM_AIRFLOW)))
        )


def asks_through_hitl(database: DatabaseMigration, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether `await_cutover` asks through HITL: channel hitl where approval is required (an
    Airflow before 3.1 is an import error), outside rehearsals. A rehearsal asks no one: its
    simulated approver (MIGRATION_SIMULATE_APPROVAL) or a record written by hand answers, and its
    `dag.test()` runs no scheduler to end an unanswered request."""
    approval = database.cutover.approval
    if approval.channel != "hitl" or not approval.required:
        return False
    require_hitl(database.name)
    return not is_dry_run(environ)


def cutover_approval_task(plan: MigrationPlan, database: DatabaseMigration, timing: Timing, **kwargs: Any) -> Any:
    """`await_cutover` of `database` as a CutoverApprovalOperator deciding with the DAG's gate."""
    return CutoverApprovalOperator(
        database_name=database.name,
        approvers=database.cutover.approval.approvers,
        gate=StepGate(plan, database.name, timing),
        windows=[window.describe() for window in database.cutover.windows],
        deferrable=timing.deferrable,
        heartbeat=timing.max_poke_wait or DEFAULT_HEARTBEAT,
        **kwargs
    )


class StepGate:
    """The operator's gate in the DAG: the `await_cutover` step (`cutover_steps`, the same
    decisions as channel airflowVariable), the approval records and clock of Services, and the
    events of every MigrationTask (same rows, same writer)."""

    phase = AWAIT_CUTOVER_TASK
    # MigrationTask's reporting reads plan, database_name and phase, which this gate has too.
    _emit = MigrationTask._emit
    _report_failure = MigrationTask._report_failure
    _miss_window = MigrationTask._miss_window

    def __init__(self, plan: MigrationPlan, database_name: str, timing: Timing) -> None:
        self.plan, self.database_name, self.timing = plan, database_name, timing
        self._services: Any = None
        self._attempt_ends: Optional[datetime] = None

    @property
    def services(self) -> Any:
        if self._services is None:
            from migration_orchestration_lib.services import services_for

            self._services = services_for(self.plan, os.environ)
        return self._services

    def now(self) -> datetime:
        return self.services.clock.now()

    def begin_attempt(self, ends: Optional[datetime]) -> None:
        """The operator's run (an execute, or a resume after a deferral or park) is stopped at `ends` by its
        execution_timeout (None: no bound): the events it writes wait no longer, as a MigrationTask's poke's."""
        self._attempt_ends = ends

    def first_poke(self, context: Any, carried: str = "") -> datetime:
        """When this try first poked, as MigrationTask's (`first_poke_of_try`)."""
        key = first_poke_key(self.plan.name, self.database_name, self.phase)
        return first_poke_of_try(lambda: self.services.records, key, context, carried)

    def forget_first_poke(self) -> None:
        """The try ended: its record of its first poke is not a later try's (`forget_first_poke_of_try`)."""
        forget_first_poke_of_try(lambda: self.services.records, first_poke_key(self.plan.name, self.database_name, self.phase))

    def decide(self, context: Any, first_poke: datetime) -> "Turn":
        ctx = self._context(context, first_poke)
        try:
            with calls_end_by(calls_left_of(self.timing.step_timeout)):  # the operator's execution_timeout (default_args)
                result = cutover_steps.await_cutover(ctx)
        except CutoverWait as waiting:
            window = self._asked_window(ctx, waiting)
            return Turn(ASK if window else WAIT, str(waiting), waiting.status, waiting.until, window)
        except WindowMissed as missed:
            self._miss_window(ctx, missed, ctx.first_poke)
        except Exception as error:
            if is_transient_azure_error(error):  # waited out, as on channel airflowVariable; the operator logs it
                return Turn(WAIT, redact(azure_unavailable(error)), "Running")
            self._report_failure(ctx, error, ctx.first_poke)
            raise_secret_free(error)
        return Turn(GO, result.message, result.status, return_value=result.return_value)

    def record(self, context: Any, window: str, decision: str, by: str) -> None:
        self.services.approvals.put(self.database_name, ApprovalRecord(window=window, decision=decision, by=by))

    def emit(self, context: Any, status: str, message: str, first_poke: datetime) -> None:
        ctx = self._context(context, first_poke)
        self._emit(ctx, status, message, first_poke)

    def _context(self, context: Any, first_poke: datetime) -> StepContext:
        ctx = StepContext(self.plan, self.plan.database(self.database_name), context, self.timing, self.phase, _services=self.services)
        ctx.first_poke = first_poke
        ctx.attempt_ends = self._attempt_ends
        return ctx

    def _asked_window(self, ctx: StepContext, waiting: CutoverWait) -> Optional[str]:
        """The opening an AwaitingApproval wait asks about (None: no ask, e.g. the rehearsal's
        simulated approver answered, or the window stopped fitting a moment ago)."""
        if waiting.status != "AwaitingApproval" or self.services.simulated_approvals.get(self.database_name):
            return None
        cutover = ctx.database.cutover
        if not cutover.windows:
            return ANY_TIME
        opening = fitting_at(cutover.windows, self.now(), cutover.expected_minutes)
        return opening.key if opening else None


def approver_users(approvers: Sequence[Approver]) -> list:
    return [{"id": approver.id, "name": approver.name or approver.id} for approver in approvers]


def approver_of(user: Optional[Mapping[str, Any]], approvers: Sequence[Approver]) -> Optional[str]:
    """The id of the plan's approver who answered, matched by the responder's id or name (case-insensitive)
    against the approvers' ids: the responder's id is what the auth manager checks, its name what people
    write in plans (FAB's ids are numbers); an approver's display name is only shown."""
    names = {approver.id.casefold(): approver.id for approver in approvers}
    for key in ("id", "name"):
        value = (user or {}).get(key)
        if value and str(value).casefold() in names:
            return names[str(value).casefold()]
    return None


if HITL_AVAILABLE:
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    from migration_orchestration_lib.airflow_compat import TaskDeferred, time_delta_trigger

    try:  # Airflow 3.3 parks the task; 3.1 and 3.2 defer to HITLTrigger (the provider chooses)
        from airflow.sdk.exceptions import TaskAwaitingInput

        PARKED: tuple = (TaskAwaitingInput, TaskDeferred)
    except ImportError:
        PARKED = (TaskDeferred,)

    class CutoverApprovalOperator(ApprovalOperator):
        """`await_cutover` of one database on channel hitl. `gate` decides, records and reports:
        `begin_attempt(ends)` (this run's execution_timeout stops it at `ends`, None: no bound; its events wait no
        longer), `first_poke(context, carried) -> datetime`, `forget_first_poke()` (the try ended), `decide(context, first_poke) -> Turn`,
        `record(context, window, decision, by)`, `emit(context, status, message, first_poke)`,
        `now() -> datetime` (the gate's clock).

        `first_poke` (when this try began waiting: events' DurationSeconds, windows missed meanwhile) goes
        along in every deferral's and park's kwargs, as MigrationTask's does (the resumed task goes on
        without a new poke); a rescheduled poke reads the gate's record of it."""

        ui_color = "#fbe3b8"

        def __init__(
            self,
            *,
            database_name: str,
            approvers: Sequence[Approver],
            gate: Any,
            windows: Sequence[str] = (),
            deferrable: bool = False,
            heartbeat: timedelta = DEFAULT_HEARTBEAT,
            **kwargs: Any
        ) -> None:
            if not approvers:
                raise ConfigurationError("%s: approval through hitl needs at least one approver" % database_name)
            super().__init__(
                subject="Cut over %s to Azure in its cutover window?" % database_name,
                body=_request_body(database_name, approvers, windows),
                assigned_users=approver_users(approvers),
                # Replaced before each ask; given so that an execution_timeout from default_args stays
                # the execution's bound instead of becoming the response timeout (the provider's
                # backward-compatibility path).
                response_timeout=heartbeat,
                **kwargs
            )
            self.database_name = database_name
            self.approvers = list(approvers)
            self.gate = gate
            self.deferrable = deferrable
            self.heartbeat = heartbeat

        def execute(self, context: Any, first_poke: str = "") -> Any:
            return self._until_the_try_ends(lambda: self._look(context, self.gate.first_poke(context, first_poke)))

        def look_again(self, context: Any, event: Any = None, first_poke: str = "") -> Any:
            """Where a deferred wait for the next window comes back."""
            return self.execute(context, first_poke)

        def execute_complete(
            self, context: Any, event: Dict[str, Any], window: str = "", deadline: str = "", first_poke: str = ""
        ) -> Any:
            """An answer, or the response timeout (a heartbeat, or the window stopped fitting)."""
            return self._until_the_try_ends(lambda: self._answered(context, event, window, deadline, first_poke))

        def _until_the_try_ends(self, look: Callable[[], Any]) -> Any:
            """`look()`, within this run's execution_timeout (Airflow counts it anew at each resume); where it neither
            parks, defers nor reschedules, the try ended: the gate forgets its first poke."""
            self.gate.begin_attempt(attempt_end_of(self.execution_timeout))
            with forgetting_the_first_poke_as_the_try_ends(self.gate.forget_first_poke, PARKED + (AirflowRescheduleException,)):
                return look()

        def _answered(self, context: Any, event: Dict[str, Any], window: str, deadline: str, first_poke: str) -> Any:
            first = self.gate.first_poke(context, first_poke)
            if event.get("error_type") == "timeout":
                return self._unanswered(context, window, datetime.fromisoformat(deadline) if deadline else None, first)
            if "error" in event:
                self.process_trigger_event_error(event)
            chosen = list(event["chosen_options"])
            self.validate_chosen_options(chosen)
            responder = event.get("responded_by_user") or {}
            by = approver_of(responder, self.approvers)
            if by is None:
                self.gate.emit(context, "AwaitingApproval", "answer by %s ignored: not an approver of %s (%s)"
                               % (responder.get("name") or responder.get("id") or "an unknown user", self.database_name,
                                  listed(self.approvers)), first)
                return self._look(context, first)
            # The gate, deciding again from the record, says Approved (go) or Rejected (wait).
            self.gate.record(context, window, "approve" if chosen == [self.APPROVE] else "reject", by)
            return self._look(context, first)

        def _look(self, context: Any, first: datetime) -> Any:
            return self._act(context, self.gate.decide(context, first), first)

        def _unanswered(self, context: Any, window: str, deadline: Optional[datetime], first: datetime) -> Any:
            """`deadline`: the window's last fitting start (None: approval without windows)."""
            decision = self.gate.decide(context, first)
            if decision.action == ASK and decision.window == window:
                return self._act(context, decision, first)  # a heartbeat: still asking for this window
            missed = deadline is not None and self.gate.now() >= deadline
            if missed and decision.status != "WindowMissed":
                self.gate.emit(context, "WindowMissed", "no answer while the window opening %s could fit the cutover" % window, first)
            return self._act(context, decision, first)

        def _act(self, context: Any, decision: Turn, first: datetime) -> Any:
            if decision.status:
                self.gate.emit(context, decision.status, decision.message, first)
            if decision.action == GO:
                return decision.return_value
            if decision.action == ASK:
                return self._ask(context, decision, first)
            return self._wait(decision, first)

        def _ask(self, context: Any, decision: Turn, first: datetime) -> Any:
            self.response_timeout = self._capped(decision.until)
            self.log.info("%s: asking %s (%s)", self.database_name, listed(self.approvers), decision.message)
            try:
                return super().execute(context)  # writes the request, then parks or defers
            except PARKED as parked:
                deadline = decision.until.isoformat() if decision.until else ""
                parked.kwargs = {
                    **(parked.kwargs or {}), "window": decision.window or "", "deadline": deadline, "first_poke": first.isoformat()
                }
                raise

        def _wait(self, decision: Turn, first: datetime) -> Any:
            delay = self._capped(decision.until)
            self.log.info("%s: %s; looking again in %s", self.database_name, decision.message, delay)
            if self.deferrable:
                self.defer(trigger=time_delta_trigger(delay), method_name="look_again", kwargs={"first_poke": first.isoformat()})
            raise AirflowRescheduleException(utc_now() + delay)

        def _capped(self, until: Optional[datetime]) -> timedelta:
            """Real time to wait for an instant of the gate's clock (a rehearsal's clock jumps), at most a heartbeat."""
            remaining = (until - self.gate.now()) if until is not None else self.heartbeat
            return max(SHORTEST_WAIT, min(self.heartbeat, remaining))


def _request_body(database_name: str, approvers: Sequence[Approver], windows: Sequence[str]) -> str:
    lines = [
        "Approve to let the migration of **%s** freeze its source and cut over now." % database_name,
        "",
        "Your answer is for the cutover window open while you answer: this request times out when "
        "that window can no longer hold the cutover. Reject, or no answer, keeps the database "
        "replicating; you will be asked again in its next window.",
        "",
        "Windows: %s" % ("; ".join(windows) or "any time"),
        "",
        "Approvers: %s" % listed(approvers),
    ]
    return "\n".join(lines)
