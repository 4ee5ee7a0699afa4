"""What a task talks to: Azure and SQL Server for real, or the rehearsal world (MIGRATION_DRY_RUN=1).

Both are the same code: the DMS gateway (SDK, or REST on Python 3.8) and the plan's SQL access
(direct pymssql or, for a token login, python-tds; or Data Factory pipeline runs). A rehearsal points them at the simulated world
(`rehearsal`), not at stand-ins of our own classes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping

from migration_orchestration_lib import settings
from migration_orchestration_lib.cutover_services import AirflowVariableApprovals, AirflowVariableRecords, SystemClock
from migration_orchestration_lib.dms_gateway import DmsGateway, OperationTiming
from migration_orchestration_lib.events import event_writer_for
from migration_orchestration_lib.plan import MigrationPlan

DATA_FACTORY_ID_VARIABLE = "MIGRATION_DATA_FACTORY_ID"


@dataclass
class Services:
    dms: DmsGateway
    sql_access: Any  # sql_access.SqlAccess
    connections: Any  # connections.AirflowConnections, or the rehearsal's
    clock: Any = field(default_factory=SystemClock)  # or the rehearsal's SimulatedClock
    approvals: Any = field(default_factory=AirflowVariableApprovals)  # or the rehearsal's FileApprovals
    simulated_approvals: Dict[str, str] = field(default_factory=dict)  # rehearsal: database -> approve | reject
    records: Any = field(default_factory=AirflowVariableRecords)  # handoffs, admissions; or the rehearsal's FileRecords


def services_for(plan: MigrationPlan, environ: Mapping[str, str] = os.environ) -> Services:
    if settings.is_dry_run(environ):
        from migration_orchestration_lib.rehearsal import rehearsal_services

        return rehearsal_services(plan, environ)
    return _azure_services(plan, environ)


def dms_for(plan: MigrationPlan, environ: Mapping[str, str] = os.environ) -> DmsGateway:
    """The DMS gateway alone (`run_outcome` looks in DMS for databases removed from the plan, and reads no SQL)."""
    if settings.is_dry_run(environ):
        return services_for(plan, environ).dms
    return _azure_dms(environ)


def records_for(environ: Mapping[str, str] = os.environ) -> Any:
    """The records kept between runs, alone (`run_outcome`'s; it reads DMS too, `dms_for`, only for databases
    removed from the plan)."""
    if settings.is_dry_run(environ):
        from migration_orchestration_lib.rehearsal import world_directory
        from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE, FileRecords

        return FileRecords(world_directory(environ), RECORDS_FILE)
    return AirflowVariableRecords()


def operation_timing(environ: Mapping[str, str]) -> OperationTiming:
    timing = settings.Timing.for_environment(environ)
    return OperationTiming(
        timeout_seconds=timing.operation_timeout.total_seconds(),
        polling_interval_seconds=timing.operation_poll_interval.total_seconds(),
    )


def sql_access_for(plan: MigrationPlan, connections: Any, credential_factory: Callable[[], Any], environ: Mapping[str, str], **options: Any) -> Any:
    """The plan's `airflow.sqlAccess`: direct TDS from the worker, or Data Factory pipeline runs.

    `options`: `driver` (a pymssql stand-in), `token_driver` (python-tds's stand-in), `data_factory_url` (a loopback Data Factory fake).
    """
    if plan.sql_access == "direct":
        from migration_orchestration_lib.sql_access_direct import DirectSqlAccess, connection_ids_from_plan

        # the credential for connections that log in with an Entra ID token (extra `authentication: azure_identity`)
        return DirectSqlAccess(connections, connection_ids_from_plan(plan), driver=options.get("driver"),
                               credential_factory=credential_factory, token_driver=options.get("token_driver"))
    from migration_orchestration_lib.sql_access_data_factory import (
        DataFactorySqlAccess,
        FACTORY_TYPE,
        data_factory_client,
        routes_from_plan,
    )

    factory = settings.resource_id_from(
        environ, DATA_FACTORY_ID_VARIABLE, FACTORY_TYPE, ": sqlAccess dataFactory runs SQL through that factory's pipelines"
    )
    client = data_factory_client(factory.subscription_id, credential_factory(), options.get("data_factory_url"))
    return DataFactorySqlAccess(client, factory, routes_from_plan(plan, connections))


def _azure_services(plan: MigrationPlan, environ: Mapping[str, str]) -> Services:
    from migration_orchestration_lib.connections import AirflowConnections

    connections = AirflowConnections()
    return Services(
        dms=_azure_dms(environ),
        sql_access=sql_access_for(plan, connections, _credential, environ),
        connections=connections,
    )


def _azure_dms(environ: Mapping[str, str]) -> DmsGateway:
    from migration_orchestration_lib.dms_transport import TRANSPORT_VARIABLE

    azure = settings.AzureSettings.from_environment(environ)
    return DmsGateway.connect(
        azure.migration_service, _credential(), transport=environ.get(TRANSPORT_VARIABLE) or None, timing=operation_timing(environ)
    )


def event_writer_from_environment(environ: Mapping[str, str] = os.environ) -> Any:
    """Built apart from the other services so that a task failing to reach Azure still reports it."""
    return event_writer_for(
        settings.EventSettings.from_environment(environ),
        settings.is_dry_run(environ),
        _credential,
    )


def _default_credential() -> Any:
    # Workload identity (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE), a managed
    # identity, or a service principal where the host has one. Its token requests retry too (a managed identity's on
    # 429 and 5xx, azure-identity's ImdsRetryPolicy), and wait as long as the DAG's other calls.
    from azure.identity import DefaultAzureCredential

    from migration_orchestration_lib.azure_waits import bounded_credential

    return bounded_credential("the token request of the DAG's identity", DefaultAzureCredential)


def _cached(factory: Callable[[], Any]) -> Callable[[], Any]:
    holder = []

    def get() -> Any:
        if not holder:
            holder.append(factory())
        return holder[0]

    return get


# One credential per task process, for DMS, SQL access and every event the task writes (each
# event used to build its own and fetch its own token).
_credential = _cached(lambda: _default_credential())
