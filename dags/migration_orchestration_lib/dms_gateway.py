"""Azure Database Migration Service (`sqlMigrationServices`) through azure-mgmt-datamigration >= 10.1.0.

The gateway speaks in plan terms (a target database, a source database, an operation id) and hides
the per-kind operation groups and argument names of the SDK. It never logs request bodies: they
carry SQL, file-share and storage-account secrets.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional

from migration_orchestration_lib.migration_status import MigrationStatus
from migration_orchestration_lib.plan import DatabaseMigration, MigrationPlan
from migration_orchestration_lib.settings import MigrationServiceRef

log = logging.getLogger(__name__)

STATUS_DETAILS = "MigrationStatusDetails"

# target kind -> (operation group on DataMigrationManagementClient, name of the server argument)
OPERATIONS_BY_KIND = {
    "SqlMi": ("database_migrations_sql_mi", "managed_instance_name"),
    "SqlDb": ("database_migrations_sql_db", "sql_db_instance_name"),
    "SqlVm": ("database_migrations_sql_vm", "sql_virtual_machine_name"),
}
ONLINE_CAPABLE_KINDS = ("SqlMi", "SqlVm")


class MigrationConflictError(RuntimeError):
    """The target database is busy with a migration this DAG must not adopt."""


class CutoverNotSupportedError(ValueError):
    """SqlDb migrations are offline only: there is nothing to cut over."""


@dataclass(frozen=True)
class MigrationTarget:
    """Where a database migration resource lives: the target server's scope plus the database name."""

    kind: str
    subscription_id: str
    resource_group: str
    server_name: str
    database_name: str
    scope: str

    @staticmethod
    def of(plan: MigrationPlan, database: DatabaseMigration) -> "MigrationTarget":
        server = plan.target_of(database)
        return MigrationTarget(
            kind=server.kind,
            subscription_id=server.resource_id.subscription_id,
            resource_group=server.resource_id.resource_group,
            server_name=server.resource_id.name,
            database_name=database.target_database,
            scope=server.resource_id.value,
        )


@dataclass(frozen=True)
class StartResult:
    migration_operation_id: str
    adopted: bool
    status: MigrationStatus


class DmsGateway:
    def __init__(
        self,
        client_for_subscription: Callable[[str], Any],
        migration_service: MigrationServiceRef,
    ):
        self._client_for_subscription = client_for_subscription
        self._migration_service = migration_service

    @staticmethod
    def connect(migration_service: MigrationServiceRef, credential: Any) -> "DmsGateway":
        from azure.mgmt.datamigration import DataMigrationManagementClient

        clients: Dict[str, Any] = {}

        def client_for(subscription_id: str) -> Any:
            if subscription_id not in clients:
                clients[subscription_id] = DataMigrationManagementClient(
                    credential=credential, subscription_id=subscription_id
                )
            return clients[subscription_id]

        return DmsGateway(client_for, migration_service)

    @property
    def migration_service_id(self) -> str:
        return self._migration_service.resource_id

    def integration_runtime_state(self) -> Optional[str]:
        """`Online` when the self-hosted integration runtime can run migrations."""
        client = self._client_for_subscription(self._migration_service.subscription_id)
        service = _as_rest(
            client.sql_migration_services.get(
                resource_group_name=self._migration_service.resource_group,
                sql_migration_service_name=self._migration_service.name,
            )
        )
        return (service.get("properties") or {}).get("integrationRuntimeState")

    def current_migration(self, target: MigrationTarget) -> Optional[MigrationStatus]:
        """The most recent migration into the target database, or None if there never was one."""
        try:
            resource = self._operations(target).get(
                expand=STATUS_DETAILS, **self._address(target)
            )
        except Exception as error:
            if _is_not_found(error):
                return None
            raise
        return MigrationStatus.from_resource(_as_rest(resource))

    def start(
        self,
        target: MigrationTarget,
        source_database_name: str,
        build_request: Callable[[], Mapping[str, Any]],
    ) -> StartResult:
        """Start a migration, or adopt the one already in flight for the same source database.

        `build_request` is only called when a migration is really created, so a re-run that adopts
        never fetches secrets.
        """
        existing = self.current_migration(target)
        if existing is not None and existing.is_in_flight:
            if (existing.source_database_name or "").lower() != source_database_name.lower():
                raise MigrationConflictError(
                    "target database %s on %s is being migrated from source database %r, not %r"
                    % (target.database_name, target.server_name, existing.source_database_name, source_database_name)
                )
            if existing.migration_operation_id:
                log.info(
                    "Adopting migration %s already in flight into %s (%s)",
                    existing.migration_operation_id,
                    target.database_name,
                    existing.describe(),
                )
                return StartResult(existing.migration_operation_id, adopted=True, status=existing)
        poller = self._operations(target).begin_create_or_update(
            parameters=dict(build_request()), **self._address(target)
        )
        status = MigrationStatus.from_resource(_as_rest(poller.result()))
        if not status.migration_operation_id:
            # The create response does not always carry the operation id; the resource does.
            status = self.current_migration(target) or status
        if not status.migration_operation_id:
            raise RuntimeError(
                "DMS accepted the migration into %s but returned no migrationOperationId" % target.database_name
            )
        log.info("Started migration %s into %s", status.migration_operation_id, target.database_name)
        return StartResult(status.migration_operation_id, adopted=False, status=status)

    def status(self, target: MigrationTarget, migration_operation_id: str) -> MigrationStatus:
        resource = self._operations(target).get(
            migration_operation_id=migration_operation_id, expand=STATUS_DETAILS, **self._address(target)
        )
        return MigrationStatus.from_resource(_as_rest(resource))

    def cutover(self, target: MigrationTarget, migration_operation_id: str) -> None:
        """Ask DMS to complete an online migration; the completion sensor watches the outcome."""
        if target.kind not in ONLINE_CAPABLE_KINDS:
            raise CutoverNotSupportedError(
                "%s migrations are offline only; %s has no cutover" % (target.kind, target.database_name)
            )
        self._operations(target).begin_cutover(
            parameters={"migrationOperationId": migration_operation_id}, **self._address(target)
        )

    def cancel(self, target: MigrationTarget, migration_operation_id: str) -> None:
        poller = self._operations(target).begin_cancel(
            parameters={"migrationOperationId": migration_operation_id}, **self._address(target)
        )
        poller.result()

    def _operations(self, target: MigrationTarget) -> Any:
        group, _ = OPERATIONS_BY_KIND[target.kind]
        return getattr(self._client_for_subscription(target.subscription_id), group)

    @staticmethod
    def _address(target: MigrationTarget) -> Dict[str, str]:
        _, server_argument = OPERATIONS_BY_KIND[target.kind]
        return {
            "resource_group_name": target.resource_group,
            server_argument: target.server_name,
            "target_db_name": target.database_name,
        }


def _as_rest(resource: Any) -> Mapping[str, Any]:
    """SDK models and recorded JSON both become the REST body shape."""
    if isinstance(resource, Mapping):
        return resource
    if resource is None:
        return {}
    return resource.serialize(keep_readonly=True)


def _is_not_found(error: Exception) -> bool:
    return getattr(error, "status_code", None) == 404 or type(error).__name__ == "ResourceNotFoundError"
