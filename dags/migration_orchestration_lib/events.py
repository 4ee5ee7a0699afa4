"""One row per step in the Log Analytics custom table (Logs Ingestion API); alerts query it.

Column names are the contract with the Terraform table and the alert queries. Writing an event
must never fail a migration: errors are logged as warnings and swallowed (all but Airflow's
execution_timeout, which must stop the attempt wherever it strikes).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from migration_orchestration_lib.airflow_compat import AirflowTaskTimeout
from migration_orchestration_lib.connections import redact, redacting_logger
from migration_orchestration_lib.settings import EventSettings

log = redacting_logger(__name__)

# One definition of the columns, phases and statuses, shared with the Terraform table, the data
# collection rule and the alerts (read once at import; the file ships beside this package).
_CONTRACT = json.loads((Path(__file__).parent / "contracts" / "migration_events.json").read_text(encoding="utf-8"))
PHASES = tuple(phase["name"] for phase in _CONTRACT["phases"])
STATUSES = tuple(status["name"] for status in _CONTRACT["statuses"])
EVENT_COLUMNS = tuple(column["name"] for column in _CONTRACT["columns"])
CONTRACT_HEARTBEAT_MINUTES = _CONTRACT["heartbeat"]["maxIntervalMinutes"]
_STATUS_ALERTS = {status["name"]: status for status in _CONTRACT["statuses"]}
MAX_MESSAGE_LENGTH = 2000


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

    def write(self, row: Dict[str, Any]) -> None:
        self.rows.append(row)
        log.info("migration event %s", json.dumps(row, sort_keys=True))
        if self._events_file:
            with open(self._events_file, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(row, sort_keys=True) + "\n")


class LogsIngestionEventWriter:
    def __init__(self, settings: EventSettings, client_factory: Callable[[], Any]):
        self._settings = settings
        self._client_factory = client_factory
        self._client: Any = None

    @staticmethod
    def connect(settings: EventSettings, credential_factory: Callable[[], Any]) -> "LogsIngestionEventWriter":
        def client_factory() -> Any:
            from azure.monitor.ingestion import LogsIngestionClient

            from migration_orchestration_lib.dms_transport import CLIENT_TIMEOUTS

            return LogsIngestionClient(endpoint=settings.endpoint, credential=credential_factory(), **CLIENT_TIMEOUTS)

        return LogsIngestionEventWriter(settings, client_factory)

    def write(self, row: Dict[str, Any]) -> None:
        log.info("migration event %s", json.dumps(row, sort_keys=True))
        try:
            if self._client is None:
                self._client = self._client_factory()
            self._client.upload(rule_id=self._settings.rule_id, stream_name=self._settings.stream_name, logs=[row])
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


def event_writer_for(settings: EventSettings, dry_run: bool, credential_factory: Callable[[], Any]) -> Any:
    if dry_run:
        return LoggingEventWriter(settings.rehearsal_events_file)
    if not settings.can_upload:
        log.warning(
            "MIGRATION_EVENTS_ENDPOINT / MIGRATION_EVENTS_RULE_ID not set: migration events go to the task log only"
        )
        return LoggingEventWriter()
    return LogsIngestionEventWriter.connect(settings, credential_factory)
