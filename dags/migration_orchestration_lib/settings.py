"""The environment-variable contract between the Terraform constructs and the DAG.

Read at parse time only for what shapes the DAG (plan location, rehearsal mode and its timings);
Azure settings are read when a task runs.
"""
from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, FrozenSet, Mapping, Optional, Sequence, Tuple

from migration_orchestration_lib.resource_id import ResourceId

PLAN_PATH_VARIABLE = "MIGRATION_PLAN_PATH"
PLAN_NAME_VARIABLE = "MIGRATION_PLAN_NAME"
DRY_RUN_VARIABLE = "MIGRATION_DRY_RUN"
SIMULATE_FAILURE_VARIABLE = "MIGRATION_SIMULATE_FAILURE"
SIMULATE_MISMATCH_VARIABLE = "MIGRATION_SIMULATE_MISMATCH"
SIMULATE_CRASH_VARIABLE = "MIGRATION_SIMULATE_CRASH"
SIMULATION_DIR_VARIABLE = "MIGRATION_SIMULATION_DIR"
SIMULATE_START_VARIABLE = "MIGRATION_SIMULATE_START"
SIMULATE_UNTIL_VARIABLE = "MIGRATION_SIMULATE_UNTIL"
SIMULATE_APPROVAL_VARIABLE = "MIGRATION_SIMULATE_APPROVAL"
DEFAULT_SIMULATED_DAYS = timedelta(days=8)
APPROVAL_DECISIONS = ("approve", "reject")
WAIT_MODE_VARIABLE = "MIGRATION_WAIT_MODE"
REHEARSAL_EVENTS_FILE_VARIABLE = "MIGRATION_REHEARSAL_EVENTS_FILE"
SUBSCRIPTION_VARIABLE = "AZURE_SUBSCRIPTION_ID"
DMS_RESOURCE_ID_VARIABLE = "MIGRATION_DMS_RESOURCE_ID"
EVENTS_ENDPOINT_VARIABLE = "MIGRATION_EVENTS_ENDPOINT"
EVENTS_RULE_ID_VARIABLE = "MIGRATION_EVENTS_RULE_ID"
EVENTS_STREAM_VARIABLE = "MIGRATION_EVENTS_STREAM"
# The events contract: columns, phases, statuses and the stream, shared with the Terraform table, the data
# collection rule and the alerts (read once at import; the file ships beside this package).
EVENTS_CONTRACT: Dict[str, Any] = json.loads(
    (Path(__file__).parent / "contracts" / "migration_events.json").read_text(encoding="utf-8")
)
DEFAULT_EVENTS_STREAM: str = EVENTS_CONTRACT["stream"]
CLIENT_ID_VARIABLE = "AZURE_CLIENT_ID"  # azure-identity's: the workload identity or service principal signing in
PLAN_FILE_NAME = "migration_plan.json"
MIGRATION_SERVICE_TYPE = "Microsoft.DataMigration/sqlMigrationServices"

TRUE_VALUES = ("1", "true", "yes", "on")


class ConfigurationError(ValueError):
    """An environment variable the DAG depends on is missing or malformed."""


def is_dry_run(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get(DRY_RUN_VARIABLE, "").strip().lower() in TRUE_VALUES


def plan_path(default_path: str, environ: Mapping[str, str] = os.environ) -> str:
    return environ.get(PLAN_PATH_VARIABLE) or default_path


def simulated_failures(
    database_names: Sequence[str], environ: Mapping[str, str] = os.environ
) -> FrozenSet[str]:
    """Databases a rehearsal makes fail. A name not in the plan is an error, never a silent no-op."""
    return _rehearsal_databases(SIMULATE_FAILURE_VARIABLE, database_names, environ)


def simulated_mismatches(
    database_names: Sequence[str], environ: Mapping[str, str] = os.environ
) -> FrozenSet[str]:
    """Databases whose validation a rehearsal makes fail (a table differs on the target)."""
    return _rehearsal_databases(SIMULATE_MISMATCH_VARIABLE, database_names, environ)


def check_deployed_plan(plan: Any, environ: Mapping[str, str] = os.environ) -> None:
    """One Airflow runs one plan: the DAG id, the environment (its migration service, its events rule)
    and the Airflow Variables are that plan's deployment's. A DAG folder holding another plan (a second
    plan's stack imported into the same Data Factory environment, overwriting the first plan's DAG) is
    an import error, not a DAG driving the first plan's migration service and runs."""
    deployed = environ.get(PLAN_NAME_VARIABLE, "").strip()
    if deployed and deployed != plan.name:
        raise ConfigurationError(
            "the DAG folder holds migration plan %r, but this Airflow is deployed for plan %r (%s): one Airflow runs "
            "one plan. Give plan %r an Airflow of its own, and import plan %r's DAG here again"
            % (plan.name, deployed, PLAN_NAME_VARIABLE, plan.name, deployed)
        )


def check_rehearsal_settings(plan: Any, environ: Mapping[str, str] = os.environ) -> None:
    """Every rehearsal variable names what the plan has, and only in a rehearsal (import error otherwise).

    The crash point, which names a task, is checked by `crash_points.check_crash_point`."""
    if is_dry_run(environ) and importlib.util.find_spec("migration_rehearsal") is None:
        raise ConfigurationError(
            "%s=1 needs the simulated world (dags/migration_rehearsal in the source repository), which the "
            "deployed DAG bundle does not ship: rehearse with npm run rehearse, or leave %s unset"
            % (DRY_RUN_VARIABLE, DRY_RUN_VARIABLE)
        )
    simulated_failures(plan.database_names, environ)
    simulated_mismatches(plan.database_names, environ)
    simulated_approvals(plan, environ)
    simulated_period(environ)


def simulated_approvals(plan: Any, environ: Mapping[str, str] = os.environ) -> Dict[str, str]:
    """`MIGRATION_SIMULATE_APPROVAL=<db>:approve|reject[,...]`: the simulated approver's answers."""
    raw = environ.get(SIMULATE_APPROVAL_VARIABLE, "").strip()
    answers: Dict[str, str] = {}
    if not raw:
        return answers
    require_rehearsal(SIMULATE_APPROVAL_VARIABLE, raw, environ)
    for item in (part.strip() for part in raw.split(",") if part.strip()):
        name, _, decision = (text.strip() for text in item.partition(":"))
        if name not in plan.database_names:
            raise ConfigurationError(
                "%s names database %r, not in the plan (plan databases: %s)"
                % (SIMULATE_APPROVAL_VARIABLE, name, ", ".join(plan.database_names))
            )
        if decision not in APPROVAL_DECISIONS:
            raise ConfigurationError(
                "%s: %r must be <database>:approve or <database>:reject, got decision %r" % (SIMULATE_APPROVAL_VARIABLE, item, decision)
            )
        if not plan.database(name).cutover.approval.required:
            raise ConfigurationError(
                "%s names %s, whose cutover needs no approval (cutover.approval.required is false): nothing would ask"
                % (SIMULATE_APPROVAL_VARIABLE, name)
            )
        answers[name] = decision
    return answers


def simulated_period(environ: Mapping[str, str] = os.environ) -> Tuple[Optional[datetime], Optional[datetime]]:
    """The simulated clock's start and horizon (`MIGRATION_SIMULATE_START`, `_UNTIL`), when set."""
    start, until = (_instant(variable, environ) for variable in (SIMULATE_START_VARIABLE, SIMULATE_UNTIL_VARIABLE))
    if start and until and until <= start:
        raise ConfigurationError("%s (%s) must be after %s (%s)" % (SIMULATE_UNTIL_VARIABLE, until, SIMULATE_START_VARIABLE, start))
    return start, until


def _instant(variable: str, environ: Mapping[str, str]) -> Optional[datetime]:
    raw = environ.get(variable, "").strip()
    if not raw:
        return None
    require_rehearsal(variable, raw, environ)
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as error:
        raise ConfigurationError("%s must be an ISO 8601 time such as 2026-12-05T18:00:00Z, got %r" % (variable, raw)) from error
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _rehearsal_databases(variable: str, database_names: Sequence[str], environ: Mapping[str, str]) -> FrozenSet[str]:
    raw = environ.get(variable, "")
    names = frozenset(n.strip() for n in raw.split(",") if n.strip())
    if not names:
        return names
    require_rehearsal(variable, raw, environ)
    unknown = sorted(names - set(database_names))
    if unknown:
        raise ConfigurationError(
            "%s names database(s) not in the plan: %s (plan databases: %s)"
            % (variable, ", ".join(unknown), ", ".join(database_names))
        )
    return names


def require_rehearsal(variable: str, raw: str, environ: Mapping[str, str]) -> None:
    if not is_dry_run(environ):
        raise ConfigurationError(
            "%s is set (%s) but %s is not: failures can only be simulated in a rehearsal"
            % (variable, raw, DRY_RUN_VARIABLE)
        )


# How late a poke may start after its reschedule date (scheduler loop, queueing, the worker starting
# the task and parsing the DAG) and how long it may take before it writes its event. The longest
# wait between pokes leaves this much of the events contract's heartbeat interval (15 minutes,
# contracts/migration_events.json) so that a waiting database writes an event at least that often.
POKE_START_ALLOWANCE = timedelta(minutes=3)
# The longest a waiting or working step stays silent: the contract's 15 minutes less POKE_START_ALLOWANCE (the longest
# wait between pokes, a direct validation's heartbeat, a parked or deferred HITL wait's).
LONGEST_SILENCE = timedelta(minutes=12)
# A rehearsal pokes without waiting, but a Data Factory read there takes three pokes (Queued, InProgress, Succeeded),
# each a second or more of a busy machine: a shorter period (it was 2 s) was crossed between them, and the read was
# started again.
REHEARSAL_FRESH_READ_PERIOD = timedelta(seconds=30)


@dataclass(frozen=True)
class Timing:
    """How often and how long the DAG waits. Rehearsals use seconds so they finish quickly."""

    poke_interval: timedelta  # first wait between two pokes
    max_poke_wait: timedelta  # longest wait between two pokes
    retries: int
    retry_delay: timedelta
    step_timeout: timedelta  # execution_timeout of every task (one poke of a waiting task)
    operation_timeout: timedelta  # how long a step awaits one Azure long-running operation
    operation_poll_interval: timedelta  # between two reads of its status (when Azure sends no Retry-After)
    deferrable: bool  # wait in the triggerer (hosts with one) instead of rescheduling
    # How long a SQL read made again in later pokes (`StepContext.afresh`) keeps its operation key: a poke within it
    # adopts the read a poke before it started. Twice the longest wait between two pokes on a host.
    fresh_read_period: timedelta
    # A step at work inside one poke (a direct validation's batches, `DatabaseSql.compare`) writes its `Running`
    # heartbeat this often.
    heartbeat: timedelta = LONGEST_SILENCE

    @staticmethod
    def for_environment(environ: Mapping[str, str] = os.environ) -> "Timing":
        deferrable = environ.get(WAIT_MODE_VARIABLE, "reschedule").strip().lower() == "deferrable"
        if is_dry_run(environ):
            # The simulated world moves on at every read: waiting between pokes would only slow a
            # rehearsal (and `dag.test()` sleeps a second whenever no task is due).
            return Timing(
                poke_interval=timedelta(0),
                max_poke_wait=timedelta(0),
                retries=1,
                retry_delay=timedelta(seconds=0),
                step_timeout=timedelta(minutes=2),
                operation_timeout=timedelta(seconds=30),
                operation_poll_interval=timedelta(seconds=0.05),
                deferrable=deferrable,
                fresh_read_period=REHEARSAL_FRESH_READ_PERIOD,
            )
        return Timing(
            poke_interval=timedelta(seconds=60),
            max_poke_wait=LONGEST_SILENCE,
            retries=2,
            retry_delay=timedelta(minutes=2),
            step_timeout=timedelta(minutes=20),
            operation_timeout=timedelta(minutes=10),
            operation_poll_interval=timedelta(seconds=15),
            deferrable=deferrable,
            fresh_read_period=2 * LONGEST_SILENCE,
        )


def resource_id_from(environ: Mapping[str, str], variable: str, resource_type: str, needed_for: str = "") -> ResourceId:
    """The ARM id of a `resource_type` resource that `variable` holds (ConfigurationError: the task is not retried)."""
    value = environ.get(variable, "")
    if not value:
        raise ConfigurationError("%s is not set%s" % (variable, needed_for))
    parsed = ResourceId.parse(value, resource_type)
    if parsed is None:
        raise ConfigurationError(
            "%s must be the ARM id of a %s resource (/subscriptions/<s>/resourceGroups/<rg>/providers/%s/<name>), got %r"
            % (variable, resource_type, resource_type, value)
        )
    return parsed


@dataclass(frozen=True)
class AzureSettings:
    subscription_id: str
    migration_service: ResourceId

    @staticmethod
    def from_environment(environ: Mapping[str, str] = os.environ) -> "AzureSettings":
        service = resource_id_from(environ, DMS_RESOURCE_ID_VARIABLE, MIGRATION_SERVICE_TYPE)
        return AzureSettings(
            subscription_id=environ.get(SUBSCRIPTION_VARIABLE) or service.subscription_id,
            migration_service=service,
        )


@dataclass(frozen=True)
class EventSettings:
    endpoint: Optional[str]
    rule_id: Optional[str]
    stream_name: str
    rehearsal_events_file: Optional[str] = None  # rehearsals: events also go here, one JSON per line
    client_id: Optional[str] = None  # the identity that writes them (a workload identity's or service principal's)

    @staticmethod
    def from_environment(environ: Mapping[str, str] = os.environ) -> "EventSettings":
        return EventSettings(
            endpoint=environ.get(EVENTS_ENDPOINT_VARIABLE) or None,
            rule_id=environ.get(EVENTS_RULE_ID_VARIABLE) or None,
            stream_name=environ.get(EVENTS_STREAM_VARIABLE) or DEFAULT_EVENTS_STREAM,
            rehearsal_events_file=environ.get(REHEARSAL_EVENTS_FILE_VARIABLE) or None,
            client_id=environ.get(CLIENT_ID_VARIABLE) or None,
        )

    @property
    def identity(self) -> str:
        """The writer's identity as a person finds it in Entra ID (an id, no secret)."""
        if self.client_id:
            return "client id %s" % self.client_id
        return "the host's managed identity: %s is not set" % CLIENT_ID_VARIABLE

    @property
    def can_upload(self) -> bool:
        return bool(self.endpoint and self.rule_id)
