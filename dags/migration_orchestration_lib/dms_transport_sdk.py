"""The DMS calls through azure-mgmt-datamigration >= 10.1.0 (Python >= 3.9).

Results are the SDK's models (the gateway reads them as REST bodies); the Microsoft.Sql managed
database calls go through the REST transport. Optional arguments are passed by keyword (11.x
makes them keyword-only).
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from migration_orchestration_lib.azure_waits import stoppable_polling
from migration_orchestration_lib.dms_transport import STATUS_DETAILS

# target kind -> (operation group on DataMigrationManagementClient, name of the server argument)
OPERATIONS_BY_KIND = {
    "SqlMi": ("database_migrations_sql_mi", "managed_instance_name"),
    "SqlDb": ("database_migrations_sql_db", "sql_db_instance_name"),
    "SqlVm": ("database_migrations_sql_vm", "sql_virtual_machine_name"),
}


class SdkTransport:
    def __init__(self, client: Any, rest: Any = None, polling_interval_seconds: Optional[float] = None):
        self._client = client
        self._rest = rest
        self._polling_interval_seconds = polling_interval_seconds

    @staticmethod
    def connect(
        credential: Any, subscription_id: str, base_url: Optional[str], polling_interval_seconds: float, rest: Any, **options: Any
    ) -> "SdkTransport":
        from azure.mgmt.datamigration import DataMigrationManagementClient

        client = DataMigrationManagementClient(
            credential=credential, subscription_id=subscription_id, base_url=base_url, polling_interval=polling_interval_seconds, **options
        )
        return SdkTransport(client, rest, polling_interval_seconds)

    def get_service(self, resource_group: str, name: str) -> Any:
        return self._client.sql_migration_services.get(resource_group_name=resource_group, sql_migration_service_name=name)

    def list_migrations(self, resource_group: str, name: str) -> List[Any]:
        return list(self._client.sql_migration_services.list_migrations(resource_group_name=resource_group, sql_migration_service_name=name))

    def get_migration(self, target: Any, migration_operation_id: Optional[str] = None) -> Any:
        options = {"migration_operation_id": migration_operation_id} if migration_operation_id else {}
        try:
            return self._group(target).get(expand=STATUS_DETAILS, **options, **_address(target))
        except Exception as error:
            if _is_not_found(error):
                return None
            raise

    def begin_create(self, target: Any, body: Mapping[str, Any]) -> Any:
        return self._group(target).begin_create_or_update(parameters=dict(body), **self._polling(), **_address(target))

    def begin_cutover(self, target: Any, migration_operation_id: str) -> Any:
        return self._group(target).begin_cutover(
            parameters={"migrationOperationId": migration_operation_id}, **self._polling(), **_address(target)
        )

    def begin_cancel(self, target: Any, migration_operation_id: str) -> Any:
        return self._group(target).begin_cancel(
            parameters={"migrationOperationId": migration_operation_id}, **self._polling(), **_address(target)
        )

    def get_managed_database(self, target: Any) -> Any:
        return self._require_rest().get_managed_database(target)

    def begin_delete_managed_database(self, target: Any) -> Any:
        return self._require_rest().begin_delete_managed_database(target)

    def _polling(self) -> Dict[str, Any]:
        """Each operation's own poller, which the gateway stops when it gives up on it (`azure_waits.stop_polling`)."""
        return {} if self._polling_interval_seconds is None else {"polling": stoppable_polling(self._polling_interval_seconds)}

    def _group(self, target: Any) -> Any:
        group, _ = OPERATIONS_BY_KIND[target.kind]
        return getattr(self._client, group)

    def _require_rest(self) -> Any:
        if self._rest is None:
            raise RuntimeError("this DMS client has no REST transport for Microsoft.Sql calls")
        return self._rest


def _address(target: Any) -> Dict[str, str]:
    _, server_argument = OPERATIONS_BY_KIND[target.kind]
    return {"resource_group_name": target.resource_group, server_argument: target.server_name, "target_db_name": target.database_name}


def _is_not_found(error: Exception) -> bool:
    return getattr(error, "status_code", None) == 404 or type(error).__name__ == "ResourceNotFoundError"
