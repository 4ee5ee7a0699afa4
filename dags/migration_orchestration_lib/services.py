"""What a task talks to: Azure and SQL for real, or their rehearsal stand-ins (MIGRATION_DRY_RUN=1)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from migration_orchestration_lib import settings
from migration_orchestration_lib.dms_gateway import DmsGateway
from migration_orchestration_lib.events import event_writer_for
from migration_orchestration_lib.plan import MigrationPlan
from migration_orchestration_lib.sql_server import SqlServer
from migration_orchestration_lib.target_databases import TargetDatabases


@dataclass
class Services:
    dms: DmsGateway
    sql: Any  # SqlServer or the rehearsal's SimulatedSqlServer
    target_databases: TargetDatabases
    connections: Any  # AirflowConnections or RehearsalConnections


def services_for(plan: MigrationPlan, run_id: str, environ: Mapping[str, str] = os.environ) -> Services:
    if settings.is_dry_run(environ):
        from migration_orchestration_lib.simulation import rehearsal_services

        return rehearsal_services(plan, run_id, environ)
    return _azure_services(environ)


def _azure_services(environ: Mapping[str, str]) -> Services:
    from migration_orchestration_lib.connections import AirflowConnections

    azure = settings.AzureSettings.from_environment(environ)
    credential_factory = _cached(_default_credential)
    connections = AirflowConnections()
    sql = SqlServer(connections)
    return Services(
        dms=DmsGateway.connect(azure.migration_service, credential_factory()),
        sql=sql,
        target_databases=TargetDatabases.connect(sql, credential_factory),
        connections=connections,
    )


def event_writer_from_environment(environ: Mapping[str, str] = os.environ) -> Any:
    """Built apart from the other services so that a task failing to reach Azure still reports it."""
    return event_writer_for(
        settings.EventSettings.from_environment(environ),
        settings.is_dry_run(environ),
        _cached(_default_credential),
    )


def _default_credential() -> Any:
    # AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET, or a managed identity.
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def _cached(factory: Callable[[], Any]) -> Callable[[], Any]:
    holder = []

    def get() -> Any:
        if not holder:
            holder.append(factory())
        return holder[0]

    return get
