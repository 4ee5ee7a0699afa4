"""One row per step in the Log Analytics custom table (Logs Ingestion API); alerts query it.

Column names are the contract with the Terraform table and the alert queries. Writing an event
must never fail a migration: errors are logged as warnings and swallowed (all but Airflow's
execution_timeout, which must stop the attempt wherever it strikes). Before a migration begins,
preflight proves its first event arrives (`prove`): without events no alert can fire.
"""
from __future__ import annotations

import json
import math
import socket
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import urlsplit

from migration_orchestration_lib.airflow_compat import AirflowTaskTimeout
from migration_orchestration_lib.azure_waits import budget_options, calls_end_by, client_options
from migration_orchestration_lib.connections import redact, redacting_logger
from migration_orchestration_lib.settings import (
    EVENTS_CONTRACT,
    EVENTS_ENDPOINT_VARIABLE,
    EVENTS_RULE_ID_VARIABLE,
    EVENTS_STREAM_VARIABLE,
    ConfigurationError,
    EventSettings,
)

log = redacting_logger(__name__)

PHASES = tuple(phase["name"] for phase in EVENTS_CONTRACT["phases"])
STATUSES = tuple(status["name"] for status in EVENTS_CONTRACT["statuses"])
EVENT_COLUMNS = tuple(column["name"] for column in EVENTS_CONTRACT["columns"])
CONTRACT_HEARTBEAT_MINUTES = EVENTS_CONTRACT["heartbeat"]["maxIntervalMinutes"]
_STATUS_ALERTS = {status["name"]: status for status in EVENTS_CONTRACT["statuses"]}
MAX_MESSAGE_LENGTH = 2000
# Answers a later try may not get again (timeout, throttled): like 5xx, waited out, never a refusal.
RETRYABLE_CLIENT_ERRORS = (408, 429)
# A 401/403 on preflight's proof right after `terraform apply`: the role assignment (or the identity's federated
# credential) it just made may not apply yet. Microsoft ("Troubleshoot Azure RBAC", learn.microsoft.com/azure/
# role-based-access-control/troubleshooting, "Role assignment changes are not being detected"): Azure Resource Manager
# caches, so a new role assignment can take up to 10 minutes to take effect (sometimes longer). Waited out that long
# from preflight's first poke of its try, with a margin; then it fails as a refusal.
ROLE_ASSIGNMENT_SPREAD = timedelta(minutes=15)
AUTHORIZATION_REFUSALS = (401, 403)
# How a refusal's message ends once preflight fails on it.
_THEN_FIX = "; then clear this preflight or trigger the DAG again. Without its events no alert of this run could fire"


class RoleAssignmentSpreading(Exception):
    """A 401/403 on preflight's proof within ROLE_ASSIGNMENT_SPREAD of its first poke: waited out like Azure
    unavailable (a later poke may well succeed), never a failure yet."""


def alert_of(phase: str, status: str) -> Optional[str]:
    """The log alert (alert-<plan>-<alert>) an event raises, as the contract says: its status's alert,
    unless the status names another for the event's phase (a failed rollback); None when it raises none."""
    entry = _STATUS_ALERTS.get(status, {})
    return entry.get("alertInPhase", {}).get(phase, entry.get("alert"))


def build_event_row(
    *,
    run_id: str,
    plan_name: str,
    database: str,
    phase: str,
    status: str,
    duration_seconds: float,
    message: str,
    target_kind: str,
    migration_operation_id: Optional[str],
    now: Optional[datetime] = None,
) -> Dict[str, Any]:
    if phase not in PHASES:
        raise ValueError("unknown phase %r" % phase)
    if status not in STATUSES:
        raise ValueError("unknown status %r" % status)
    return {
        "TimeGenerated": (now or datetime.now(timezone.utc)).isoformat(),
        "RunId": run_id,
        "PlanName": plan_name,
        "Database": database,
        "Phase": phase,
        "Status": status,
        "DurationSeconds": float(duration_seconds),
        "Message": redact(message or "")[:MAX_MESSAGE_LENGTH],  # a server's error text may quote a secret
        "TargetKind": target_kind,
        "MigrationOperationId": migration_operation_id or "",
    }


class LoggingEventWriter:
    """Rehearsals (and environments without an ingestion rule) write events to the task log;
    a rehearsal also appends them to `events_file` (JSON lines) for its report."""

    def __init__(self, events_file: Optional[str] = None) -> None:
        self.rows: List[Dict[str, Any]] = []
        self._events_file = events_file

    def prove(self, row: Dict[str, Any], waited: timedelta = timedelta(0), budget: Optional[timedelta] = None) -> None:
        """Nothing to prove: these events reach no alert."""

    def write(self, row: Dict[str, Any], budget: Optional[timedelta] = None) -> bool:
        self.rows.append(row)
        log.info("migration event %s", json.dumps(row, sort_keys=True))
        if self._events_file:
            with open(self._events_file, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(row, sort_keys=True) + "\n")
        return True


class LogsIngestionEventWriter:
    def __init__(self, settings: EventSettings, client_factory: Callable[[], Any]):
        self._settings = settings
        self._client_factory = client_factory
        self._client: Any = None

    @staticmethod
    def connect(settings: EventSettings, credential_factory: Callable[[], Any], **options: Any) -> "LogsIngestionEventWriter":
        """`options`: more of the client's (a test's authentication policy)."""
        def client_factory() -> Any:
            from azure.monitor.ingestion import LogsIngestionClient

            return LogsIngestionClient(
                endpoint=settings.endpoint, credential=credential_factory(), **client_options("the Logs Ingestion API", options),
            )

        return LogsIngestionEventWriter(settings, client_factory)

    def write(self, row: Dict[str, Any], budget: Optional[timedelta] = None) -> bool:
        """Whether Log Analytics took `row`. `budget`: how long the upload may take, its retries' waits included (None:
        within the calls' end, `azure_waits.calls_end_by`)."""
        log.info("migration event %s", json.dumps(row, sort_keys=True))
        try:
            self._upload(row, budget)
        except AirflowTaskTimeout:  # execution_timeout struck mid-upload (an Exception before Airflow 2.10): the attempt stops
            raise
        except Exception as error:  # an event is never worth a failed migration
            log.warning(
                "Could not write migration event %s/%s to Log Analytics: %s: %s",
                row.get("Database"),
                row.get("Phase"),
                type(error).__name__,
                error,
            )
            return False
        return True

    def prove(self, row: Dict[str, Any], waited: timedelta = timedelta(0), budget: Optional[timedelta] = None) -> None:
        """Upload `row` or raise: preflight's proof that the alerts will see this run, before anything is started or
        frozen. A refusal no later poke changes (no role on the rule, no such rule or stream, a row the stream
        rejects, an endpoint host DNS does not know) raises ConfigurationError saying what to fix; anything else as it
        came, for the task to wait out (throttled, 5xx, no answer) or retry. `waited`: since preflight's first poke of
        this try; a 401/403, or no token for the identity at all, before ROLE_ASSIGNMENT_SPREAD raises
        RoleAssignmentSpreading, to be waited out too."""
        log.info("migration event %s", json.dumps(row, sort_keys=True))
        try:
            self._upload(row, budget)
        except Exception as error:
            status = getattr(error, "status_code", None)
            identity_refused = status in AUTHORIZATION_REFUSALS or _no_token(error)
            spreading = identity_refused and waited < ROLE_ASSIGNMENT_SPREAD
            refusal = self._refusal(error, self._spreading_then(waited) if spreading else _THEN_FIX)
            if refusal is None:
                raise
            if spreading:
                raise RoleAssignmentSpreading(refusal) from error
            raise ConfigurationError(refusal) from error

    @staticmethod
    def _spreading_then(waited: timedelta) -> str:
        return (
            "; preflight pokes again for up to %d more minutes (%d from its first poke) in case the role assignment or "
            "federated credential was just made, then fails"
            % (math.ceil((ROLE_ASSIGNMENT_SPREAD - waited).total_seconds() / 60), ROLE_ASSIGNMENT_SPREAD.total_seconds() // 60)
        )

    def _upload(self, row: Dict[str, Any], budget: Optional[timedelta]) -> None:
        if self._client is None:
            self._client = self._client_factory()
        if budget is None:
            self._client.upload(rule_id=self._settings.rule_id, stream_name=self._settings.stream_name, logs=[row])
            return
        with calls_end_by(max(budget.total_seconds(), 1.0)):  # an event's budget outlasts its step's calls
            self._client.upload(
                rule_id=self._settings.rule_id, stream_name=self._settings.stream_name, logs=[row], **budget_options(budget))

    def _refusal(self, error: Exception, then: str) -> Optional[str]:
        """What to fix where the Logs Ingestion API answered with a 4xx no retry changes, where the identity got no
        token, or where DNS does not know the endpoint's host, ending with `then`; None otherwise."""
        settings = self._settings
        if _no_token(error):
            said = " ".join(line.strip() for line in str(error).splitlines() if line.strip() and not line.startswith("To mitigate"))
            return (
                "the DAG's identity (%s) got no token to send events to %s (%s): the identity must exist and sign in to "
                "the rule's tenant (AZURE_TENANT_ID), with a federated credential for the host's service account where it "
                "is a workload identity%s" % (settings.identity, settings.endpoint, said[:MAX_MESSAGE_LENGTH // 2], then)
            )
        if _unknown_host(error):
            return (
                "DNS knows no host %s (%s is %s): it must be the logs ingestion URL of the data collection endpoint "
                "(the stack's outputs); where the endpoint is private, the host must resolve through its private DNS zone%s"
                % (urlsplit(settings.endpoint or "").hostname, EVENTS_ENDPOINT_VARIABLE, settings.endpoint, then)
            )
        status = getattr(error, "status_code", None)
        if not isinstance(status, int) or not 400 <= status < 500 or status in RETRYABLE_CLIENT_ERRORS:
            return None
        rule = "data collection rule %s (stream %s, endpoint %s)" % (settings.rule_id, settings.stream_name, settings.endpoint)
        answer = "HTTP %d: %s" % (status, str(getattr(error, "message", None) or error).splitlines()[0])
        role = "the built-in role Monitoring Metrics Publisher on that rule (the stack assigns it on dcr-<plan name>)"
        if status == 401:
            return (
                "%s did not accept the token of the DAG's identity (%s) (%s): the identity signs in to the rule's tenant "
                "(AZURE_TENANT_ID) and holds %s%s" % (rule, settings.identity, answer, role, then)
            )
        if status == 403:
            return (
                "the DAG's identity (%s) may not send events to %s (%s): grant it %s; a new role assignment can take "
                "minutes to apply%s" % (settings.identity, rule, answer, role, then)
            )
        if status == 404:
            return (
                "the Logs Ingestion API knows no %s (%s): %s is the rule's immutable id (dcr-...), %s one of its streams, "
                "%s its data collection endpoint's logs ingestion URL (the stack's outputs)%s"
                % (rule, answer, EVENTS_RULE_ID_VARIABLE, EVENTS_STREAM_VARIABLE, EVENTS_ENDPOINT_VARIABLE, then)
            )
        return "%s refused this run's first event (%s): its stream must declare the events contract's columns%s" % (rule, answer, then)


def _no_token(error: BaseException) -> bool:
    """The identity got no token at all (azure-identity: DefaultAzureCredential tried every credential; an unknown
    client id, no federated credential for the service account, no managed identity). It comes from the credential,
    not from an answer of the Logs Ingestion API, so it has no status."""
    from azure.core.exceptions import ClientAuthenticationError

    return isinstance(error, ClientAuthenticationError) and getattr(error, "status_code", None) is None


def _unknown_host(error: BaseException) -> bool:
    """DNS answered that the host does not exist (NXDOMAIN: getaddrinfo's EAI_NONAME), which waiting does not change;
    a resolver that did not answer (EAI_AGAIN) is an outage, waited out."""
    return any(isinstance(cause, socket.gaierror) and cause.errno == socket.EAI_NONAME for cause in _causes(error))


def _causes(error: BaseException) -> List[BaseException]:
    """`error` and what it was raised from, however deep: azure-core's `inner_exception`, urllib3's `reason`, requests'
    wrapped error (its first argument), and Python's own chain."""
    found: List[BaseException] = []
    pending: List[Any] = [error]
    while pending:
        cause = pending.pop()
        if isinstance(cause, BaseException) and all(cause is not seen for seen in found):
            found.append(cause)
            pending += [cause.__cause__, cause.__context__, getattr(cause, "inner_exception", None),
                        getattr(cause, "reason", None), *cause.args[:1]]
    return found


def event_writer_for(settings: EventSettings, dry_run: bool, credential_factory: Callable[[], Any]) -> Any:
    if dry_run:
        return LoggingEventWriter(settings.rehearsal_events_file)
    if not settings.can_upload:
        log.warning(
            "MIGRATION_EVENTS_ENDPOINT / MIGRATION_EVENTS_RULE_ID not set: migration events go to the task log only"
        )
        return LoggingEventWriter()
    return LogsIngestionEventWriter.connect(settings, credential_factory)
