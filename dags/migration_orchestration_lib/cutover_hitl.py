"""`await_cutover` through Airflow's human-in-the-loop approval (channel `hitl`, Airflow >= 3.1).

`CutoverApprovalOperator` is an `ApprovalOperator` (apache-airflow-providers-standard) that asks
only inside a window that fits, and never lets an answer end the database's run:

- no window fits (or admission refuses): it waits without a worker, rescheduled (or deferred to
  the triggerer) until the next opening, at most `heartbeat` at a time;
- a window fits and no record decides it: it asks the approvers (`assigned_users`) and parks the
  task in `awaiting_input` (Airflow 3.3; a `HITLTrigger` deferral before) with a
  `response_timeout` of at most `heartbeat`, re-parking with a heartbeat event until the window
  stops fitting;
- Approve: the record is written and the gate decides again (inside the window: it succeeds);
- Reject, or the window stops fitting unanswered: Rejected / WindowMissed, and it waits for the
  next window, where it asks again. Downstream is never skipped and the task never fails for it
  (the provider's `ApprovalOperator` skips downstream on Reject: not used).

Every wait of one task instance keeps one `HITLDetail` (the Execution API keys it by task
instance): asking again clears the previous answer but keeps the first request's subject and body
(apache/airflow#73235, open), so neither names one window; the window asked for is in the
AwaitingApproval event and the task log. `assigned_users` holds each approver as id and name: the
auth manager compares the responder's *id* (SimpleAuthManager: the user name; FAB: a number,
apache/airflow#61817).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, Optional, Sequence

from migration_orchestration_lib.airflow_compat import AIRFLOW_VERSION, AirflowRescheduleException, utc_now
from migration_orchestration_lib.settings import ConfigurationError

HITL_MINIMUM_AIRFLOW = (3, 1)
HITL_AVAILABLE = AIRFLOW_VERSION >= HITL_MINIMUM_AIRFLOW
# The stalled-run heartbeat (events contract: at most every 15 minutes), with room to start a poke.
DEFAULT_HEARTBEAT = timedelta(minutes=12)
SHORTEST_WAIT = timedelta(seconds=1)

WAIT, ASK, PROCEED = "wait", "ask", "proceed"


@dataclass(frozen=True)
class GateDecision:
    """What `await_cutover` does now. `until`: when to look again (wait) or the window's last start (ask)."""

    action: str
    message: str
    status: str = ""  # the event to write for it ("" writes none)
    until: Optional[datetime] = None
    window: Optional[str] = None  # the opening's key (ISO UTC), for ask
    return_value: Any = None


def require_hitl(database_name: str) -> None:
    """Channel `hitl` needs Airflow 3.1's HITL operators: refuse the DAG import otherwise."""
    import airflow

    if not HITL_AVAILABLE:
        raise ConfigurationError(
            "%s: cutover.approval.channel is hitl, but this is Apache Airflow %s: asking through "
            "human-in-the-loop needs Airflow %s or later. Use channel airflowVariable on this host."
            % (database_name, airflow.__version__, ".".join(map(str, HITL_MINIMUM_AIRFLOW)))
        )


def approver_users(approvers: Sequence[str]) -> list:
    return [{"id": approver, "name": approver} for approver in approvers]


def is_approver(user_id: Optional[str], approvers: Sequence[str]) -> bool:
    return bool(user_id) and user_id.casefold() in {approver.casefold() for approver in approvers}


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
        `decide(context) -> GateDecision`, `record(context, window, decision, by)`,
        `emit(context, status, message)`, `now() -> datetime` (the gate's clock)."""

        ui_color = "#fbe3b8"

        def __init__(
            self,
            *,
            database_name: str,
            approvers: Sequence[str],
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

        def execute(self, context: Any) -> Any:
            return self._act(context, self.gate.decide(context))

        def look_again(self, context: Any, event: Any = None) -> Any:
            """Where a deferred wait for the next window comes back."""
            return self.execute(context)

        def execute_complete(self, context: Any, event: Dict[str, Any], window: str = "", deadline: str = "") -> Any:
            """An answer, or the response timeout (a heartbeat, or the window stopped fitting)."""
            if event.get("error_type") == "timeout":
                return self._unanswered(context, window, datetime.fromisoformat(deadline))
            if "error" in event:
                self.process_trigger_event_error(event)
            chosen = list(event["chosen_options"])
            self.validate_chosen_options(chosen)
            by = (event.get("responded_by_user") or {}).get("id")
            if not is_approver(by, self.approvers):
                self.gate.emit(context, "AwaitingApproval", "answer by %s ignored: not an approver of %s (%s)"
                               % (by or "an unknown user", self.database_name, ", ".join(self.approvers)))
                return self.execute(context)
            approved = chosen == [self.APPROVE]
            self.gate.record(context, window, "approve" if approved else "reject", by)
            self.gate.emit(context, "Approved" if approved else "Rejected", "%s by %s for the window opening %s"
                           % ("approved" if approved else "rejected", by, window))
            return self.execute(context)

        def _unanswered(self, context: Any, window: str, deadline: datetime) -> Any:
            decision = self.gate.decide(context)
            if decision.action == ASK and decision.window == window:
                return self._act(context, decision)  # a heartbeat: still asking for this window
            if self.gate.now() >= deadline:
                self.gate.emit(context, "WindowMissed", "no answer while the window opening %s could fit the cutover" % window)
            return self._act(context, decision)

        def _act(self, context: Any, decision: GateDecision) -> Any:
            if decision.status:
                self.gate.emit(context, decision.status, decision.message)
            if decision.action == PROCEED:
                return decision.return_value
            if decision.action == ASK:
                return self._ask(context, decision)
            return self._wait(decision)

        def _ask(self, context: Any, decision: GateDecision) -> Any:
            self.response_timeout = self._capped(decision.until)
            self.log.info("%s: asking %s (%s)", self.database_name, ", ".join(self.approvers), decision.message)
            try:
                return super().execute(context)  # writes the request, then parks or defers
            except PARKED as parked:
                parked.kwargs = {**(parked.kwargs or {}), "window": decision.window or "", "deadline": decision.until.isoformat()}
                raise

        def _wait(self, decision: GateDecision) -> Any:
            delay = self._capped(decision.until)
            self.log.info("%s: %s; looking again in %s", self.database_name, decision.message, delay)
            if self.deferrable:
                self.defer(trigger=time_delta_trigger(delay), method_name="look_again")
            raise AirflowRescheduleException(utc_now() + delay)

        def _capped(self, until: Optional[datetime]) -> timedelta:
            """Real time to wait for an instant of the gate's clock (a rehearsal's clock jumps), at most a heartbeat."""
            remaining = (until - self.gate.now()) if until is not None else self.heartbeat
            return max(SHORTEST_WAIT, min(self.heartbeat, remaining))


def _request_body(database_name: str, approvers: Sequence[str], windows: Sequence[str]) -> str:
    lines = [
        "Approve to let the migration of **%s** freeze its source and cut over now." % database_name,
        "",
        "Your answer is for the cutover window open while you answer: this request times out when "
        "that window can no longer hold the cutover. Reject, or no answer, keeps the database "
        "replicating; you will be asked again in its next window.",
        "",
        "Windows: %s" % ("; ".join(windows) or "any time"),
        "",
        "Approvers: %s" % ", ".join(approvers),
    ]
    return "\n".join(lines)
