"""Removing a partial target database during rollback, per target kind.

- SqlMi: the managed database is deleted through ARM (azure-mgmt-sql `managed_databases.begin_delete`),
  which also works while it is still RESTORING.
- SqlVm: `DROP DATABASE` through the target server's Airflow connection (there is no ARM database
  resource on a SQL VM).
- SqlDb: left in place. DMS copies into a database (and schema) that must exist before the
  migration starts, so the DAG did not create it and does not delete it; the rollback event says
  the copied data is partial.
"""
from __future__ import annotations

from typing import Any, Callable, Dict

from migration_orchestration_lib.plan import DatabaseMigration, MigrationPlan


class TargetDatabases:
    def __init__(self, sql: Any, management_client_for_subscription: Callable[[str], Any]):
        self._sql = sql
        self._management_client_for = management_client_for_subscription

    @staticmethod
    def connect(sql: Any, credential_factory: Callable[[], Any]) -> "TargetDatabases":
        clients: Dict[str, Any] = {}

        def client_for(subscription_id: str) -> Any:
            if subscription_id not in clients:
                from azure.mgmt.sql import SqlManagementClient

                clients[subscription_id] = SqlManagementClient(credential_factory(), subscription_id)
            return clients[subscription_id]

        return TargetDatabases(sql, client_for)

    def remove_partial(self, plan: MigrationPlan, database: DatabaseMigration) -> str:
        """Remove the target database this run created; idempotent. Returns what was done."""
        server = plan.target_of(database)
        if server.kind == "SqlDb":
            return "target database %s left in place (SqlDb targets exist before migration; data is partial)" % (
                database.target_database
            )
        if server.kind == "SqlVm":
            self._sql.drop_database(server.connection_id, database.target_database)
            return "dropped target database %s on SQL VM %s" % (database.target_database, server.resource_id.name)
        client = self._management_client_for(server.resource_id.subscription_id)
        try:
            client.managed_databases.begin_delete(
                resource_group_name=server.resource_id.resource_group,
                managed_instance_name=server.resource_id.name,
                database_name=database.target_database,
            ).result()
        except Exception as error:
            if getattr(error, "status_code", None) != 404:
                raise
            return "target database %s was already absent" % database.target_database
        return "deleted managed database %s on %s" % (database.target_database, server.resource_id.name)
