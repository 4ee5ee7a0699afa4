"""The DMS and managed-database calls as plain ARM REST, through azure-mgmt-core (Python 3.8+).

Paths, bodies and status codes from the 2025-06-30 specification (Azure/azure-rest-api-specs
`specification/datamigration/.../stable/2025-06-30/sqlmigration.json`): GET 200; PUT 200/201;
POST cutover and cancel 200/202; every one but GET long-running; and Microsoft.Sql's managed
database DELETE 200/202/204, long-running. No DELETE of a migration resource: the DAG never removes one. The
pipeline is the one the generated SDK clients build (retries with Retry-After, ARM challenge
authentication, resource-provider registration, logging without secrets).
"""
from __future__ import annotations

from typing import Any, Iterable, List, Mapping, Optional
from urllib.parse import parse_qsl, quote, urlsplit

from migration_orchestration_lib.azure_waits import stoppable_polling
from migration_orchestration_lib.dms_transport import ARM_SCOPE, DATA_MIGRATION_API_VERSION, SQL_API_VERSION, STATUS_DETAILS

ARM_ENDPOINT = "https://management.azure.com"
PROVIDER_BY_KIND = {
    "SqlMi": "Microsoft.Sql/managedInstances",
    "SqlDb": "Microsoft.Sql/servers",
    "SqlVm": "Microsoft.SqlVirtualMachine/sqlVirtualMachines",
}


class RestTransport:
    def __init__(self, client: Any, subscription_id: str, polling_interval_seconds: float):
        self._client = client
        self._subscription_id = subscription_id
        self._polling_interval_seconds = polling_interval_seconds

    @staticmethod
    def connect(
        credential: Any, subscription_id: str, base_url: Optional[str], polling_interval_seconds: float, **options: Any
    ) -> "RestTransport":
        from azure.core.pipeline import policies
        from azure.mgmt.core import ARMPipelineClient
        from azure.mgmt.core.policies import (
            ARMAutoResourceProviderRegistrationPolicy,
            ARMChallengeAuthenticationPolicy,
            ARMHttpLoggingPolicy,
        )

        authentication = options.pop("authentication_policy", None) or ARMChallengeAuthenticationPolicy(credential, ARM_SCOPE)
        options.setdefault("sdk_moniker", "migration-orchestration-dms")
        pipeline = [
            policies.RequestIdPolicy(**options),
            policies.HeadersPolicy(**options),
            policies.UserAgentPolicy(**options),
            policies.ProxyPolicy(**options),
            policies.ContentDecodePolicy(**options),
            ARMAutoResourceProviderRegistrationPolicy(),
            policies.RedirectPolicy(**options),
            policies.RetryPolicy(**options),
            authentication,
            policies.CustomHookPolicy(**options),
            policies.NetworkTraceLoggingPolicy(**options),
            policies.DistributedTracingPolicy(**options),
            policies.SensitiveHeaderCleanupPolicy(**options),
            ARMHttpLoggingPolicy(**options),
        ]
        client = ARMPipelineClient(base_url=base_url or ARM_ENDPOINT, policies=pipeline, **options)
        return RestTransport(client, subscription_id, polling_interval_seconds)

    def get_service(self, resource_group: str, name: str) -> Mapping[str, Any]:
        path = self._path("resourceGroups", resource_group, "providers", "Microsoft.DataMigration", "sqlMigrationServices", name)
        return self._get(path, DATA_MIGRATION_API_VERSION, allow_missing=False) or {}

    def list_migrations(self, resource_group: str, name: str) -> List[Mapping[str, Any]]:
        """`GET .../sqlMigrationServices/{name}/listMigrations`, every page (`nextLink`)."""
        path = self._path("resourceGroups", resource_group, "providers", "Microsoft.DataMigration", "sqlMigrationServices", name, "listMigrations")
        page = self._get(path, DATA_MIGRATION_API_VERSION, allow_missing=False) or {}
        migrations = list(page.get("value") or [])
        while page.get("nextLink"):
            link = urlsplit(page["nextLink"])
            # azure-core puts query values in the URL as given: quote them again, as the generated
            # SDK pagers do (azure-mgmt-datamigration `list_migrations`), or a skip token's "+"
            # reaches ARM as a space.
            params = {k: quote(v, safe="") for k, v in parse_qsl(link.query) if k != "api-version"}
            page = self._get(link.path, DATA_MIGRATION_API_VERSION, allow_missing=False, **params) or {}
            migrations.extend(page.get("value") or [])
        return migrations

    def get_migration(self, target: Any, migration_operation_id: Optional[str] = None) -> Optional[Mapping[str, Any]]:
        params = {"$expand": STATUS_DETAILS}
        if migration_operation_id:
            params["migrationOperationId"] = migration_operation_id
        return self._get(self._migration_path(target), DATA_MIGRATION_API_VERSION, **params)

    def begin_create(self, target: Any, body: Mapping[str, Any]) -> Any:
        return self._begin("PUT", self._migration_path(target), DATA_MIGRATION_API_VERSION, (200, 201), body=dict(body))

    def begin_cutover(self, target: Any, migration_operation_id: str) -> Any:
        path = self._migration_path(target) + "/cutover"
        return self._begin("POST", path, DATA_MIGRATION_API_VERSION, (200, 202), body={"migrationOperationId": migration_operation_id})

    def begin_cancel(self, target: Any, migration_operation_id: str) -> Any:
        path = self._migration_path(target) + "/cancel"
        return self._begin("POST", path, DATA_MIGRATION_API_VERSION, (200, 202), body={"migrationOperationId": migration_operation_id})

    def get_managed_database(self, target: Any) -> Optional[Mapping[str, Any]]:
        return self._get(self._managed_database_path(target), SQL_API_VERSION)

    def begin_delete_managed_database(self, target: Any) -> Any:
        return self._begin("DELETE", self._managed_database_path(target), SQL_API_VERSION, (200, 202, 204))

    def _migration_path(self, target: Any) -> str:
        provider, server_type = PROVIDER_BY_KIND[target.kind].split("/")
        return self._path(
            "resourceGroups", target.resource_group, "providers", provider, server_type, target.server_name,
            "providers", "Microsoft.DataMigration", "databaseMigrations", target.database_name,
            subscription_id=target.subscription_id,
        )

    def _managed_database_path(self, target: Any) -> str:
        return self._path(
            "resourceGroups", target.resource_group, "providers", "Microsoft.Sql", "managedInstances", target.server_name,
            "databases", target.database_name,
            subscription_id=target.subscription_id,
        )

    def _path(self, *segments: str, subscription_id: Optional[str] = None) -> str:
        parts: Iterable[str] = ("subscriptions", subscription_id or self._subscription_id) + segments
        return "/" + "/".join(quote(part, safe="") for part in parts)

    def _get(self, path: str, api_version: str, allow_missing: bool = True, **params: str) -> Optional[Mapping[str, Any]]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            response = self._send("GET", path, api_version, (200,), params=params).http_response
        except ResourceNotFoundError:
            if allow_missing:
                return None
            raise
        return _json(response)

    def _begin(self, method: str, path: str, api_version: str, expected: Iterable[int], body: Any = None, **params: str) -> Any:
        from azure.core.polling import LROPoller

        initial = self._send(method, path, api_version, expected, params=params, body=body)
        return LROPoller(
            self._client,
            initial,
            lambda final: _json(final.http_response),
            stoppable_polling(self._polling_interval_seconds),
        )

    def _send(self, method: str, path: str, api_version: str, expected: Iterable[int], params: Mapping[str, str], body: Any = None) -> Any:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceExistsError,
            ResourceNotFoundError,
            map_error,
        )
        from azure.core.rest import HttpRequest
        from azure.mgmt.core.exceptions import ARMErrorFormat

        query = dict(params)
        query["api-version"] = api_version
        request = HttpRequest(method, path, params=query, json=body, headers={"Accept": "application/json"})
        request.url = self._client.format_url(request.url)
        # An LROPoller starts from the PipelineResponse, which only the pipeline itself returns
        # (the generated SDK operations call it the same way).
        pipeline_response = self._client._pipeline.run(request, stream=False)
        response = pipeline_response.http_response
        if response.status_code not in expected:
            error_map = {401: ClientAuthenticationError, 404: ResourceNotFoundError, 409: ResourceExistsError}
            map_error(status_code=response.status_code, response=response, error_map=error_map)
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        return pipeline_response


def _json(response: Any) -> Optional[Mapping[str, Any]]:
    text = response.text()
    return response.json() if text and text.strip() else None
