"""The environment-variable contract between the Terraform constructs and the DAG.

Read at parse time only for what shapes the DAG (plan location, rehearsal mode and its timings);
Azure settings are read when a task runs.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import FrozenSet, Mapping, Optional, Sequence

PLAN_PATH_VARIABLE = "MIGRATION_PLAN_PATH"
DRY_RUN_VARIABLE = "MIGRATION_DRY_RUN"
SIMULATE_FAILURE_VARIABLE = "MIGRATION_SIMULATE_FAILURE"
SIMULATION_DIR_VARIABLE = "MIGRATION_SIMULATION_DIR"
SUBSCRIPTION_VARIABLE = "AZURE_SUBSCRIPTION_ID"
DMS_RESOURCE_ID_VARIABLE = "MIGRATION_DMS_RESOURCE_ID"
EVENTS_ENDPOINT_VARIABLE = "MIGRATION_EVENTS_ENDPOINT"
EVENTS_RULE_ID_VARIABLE = "MIGRATION_EVENTS_RULE_ID"
EVENTS_STREAM_VARIABLE = "MIGRATION_EVENTS_STREAM"
DEFAULT_EVENTS_STREAM = "Custom-MigrationEvents_CL"
PLAN_FILE_NAME = "migration_plan.json"

DMS_RESOURCE_ID_PATTERN = re.compile(
    r"^/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<resource_group>[^/]+)"
    r"/providers/Microsoft\.DataMigration/sqlMigrationServices/(?P<name>[^/]+)$",
    re.IGNORECASE,
)
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
    raw = environ.get(SIMULATE_FAILURE_VARIABLE, "")
    names = frozenset(n.strip() for n in raw.split(",") if n.strip())
    if not names:
        return names
    if not is_dry_run(environ):
        raise ConfigurationError(
            "%s is set (%s) but %s is not: failures can only be simulated in a rehearsal"
            % (SIMULATE_FAILURE_VARIABLE, raw, DRY_RUN_VARIABLE)
        )
    unknown = sorted(names - set(database_names))
    if unknown:
        raise ConfigurationError(
            "%s names database(s) not in the plan: %s (plan databases: %s)"
            % (SIMULATE_FAILURE_VARIABLE, ", ".join(unknown), ", ".join(database_names))
        )
    return names


@dataclass(frozen=True)
class Timing:
    """How often and how long the DAG waits. Rehearsals use seconds so they finish quickly."""

    poke_interval_seconds: float
    max_poke_wait: timedelta
    retries: int
    retry_delay: timedelta
    cutover_poll_seconds: float
    final_backup_restore_timeout: timedelta

    @staticmethod
    def for_environment(environ: Mapping[str, str] = os.environ) -> "Timing":
        if is_dry_run(environ):
            return Timing(
                poke_interval_seconds=1,
                max_poke_wait=timedelta(seconds=1),
                retries=1,
                retry_delay=timedelta(seconds=0),
                cutover_poll_seconds=0.05,
                final_backup_restore_timeout=timedelta(seconds=10),
            )
        return Timing(
            poke_interval_seconds=60,
            max_poke_wait=timedelta(minutes=15),
            retries=2,
            retry_delay=timedelta(minutes=2),
            cutover_poll_seconds=15,
            final_backup_restore_timeout=timedelta(minutes=30),
        )


@dataclass(frozen=True)
class MigrationServiceRef:
    """The `Microsoft.DataMigration/sqlMigrationServices` resource the migrations run on."""

    resource_id: str
    subscription_id: str
    resource_group: str
    name: str

    @staticmethod
    def parse(resource_id: str) -> "MigrationServiceRef":
        match = DMS_RESOURCE_ID_PATTERN.match(resource_id or "")
        if not match:
            raise ConfigurationError(
                "%s must be the ARM id of a Microsoft.DataMigration/sqlMigrationServices resource, got %r"
                % (DMS_RESOURCE_ID_VARIABLE, resource_id)
            )
        return MigrationServiceRef(
            resource_id=resource_id,
            subscription_id=match.group("subscription"),
            resource_group=match.group("resource_group"),
            name=match.group("name"),
        )


@dataclass(frozen=True)
class AzureSettings:
    subscription_id: str
    migration_service: MigrationServiceRef

    @staticmethod
    def from_environment(environ: Mapping[str, str] = os.environ) -> "AzureSettings":
        resource_id = environ.get(DMS_RESOURCE_ID_VARIABLE, "")
        if not resource_id:
            raise ConfigurationError("%s is not set" % DMS_RESOURCE_ID_VARIABLE)
        service = MigrationServiceRef.parse(resource_id)
        return AzureSettings(
            subscription_id=environ.get(SUBSCRIPTION_VARIABLE) or service.subscription_id,
            migration_service=service,
        )


@dataclass(frozen=True)
class EventSettings:
    endpoint: Optional[str]
    rule_id: Optional[str]
    stream_name: str

    @staticmethod
    def from_environment(environ: Mapping[str, str] = os.environ) -> "EventSettings":
        return EventSettings(
            endpoint=environ.get(EVENTS_ENDPOINT_VARIABLE) or None,
            rule_id=environ.get(EVENTS_RULE_ID_VARIABLE) or None,
            stream_name=environ.get(EVENTS_STREAM_VARIABLE) or DEFAULT_EVENTS_STREAM,
        )

    @property
    def can_upload(self) -> bool:
        return bool(self.endpoint and self.rule_id)
