"""How the DMS gateway reaches Azure Resource Manager: one small interface, two transports.

- `sdk`: the `azure-mgmt-datamigration` client (>= 10.1.0, which needs Python >= 3.9);
- `rest`: the same ARM REST calls through `azure-mgmt-core` (`ARMPipelineClient`, `ARMPolling`),
  which installs on Python 3.8 beside Airflow 2.6.3 (Data Factory's Workflow Orchestration
  Manager), where the SDK cannot.
`connect_transport` picks the one asked for (`MIGRATION_DMS_TRANSPORT=sdk|rest`), or the SDK when
it is importable and REST otherwise. Both speak REST bodies (dicts, as the API documents them)
and azure-core `LROPoller`s, and read a missing resource as None. The Microsoft.Sql managed
database calls go through REST in both (azure-mgmt-sql 3.0.1 only knows a 2020 preview API).

Talking to a local contract server: azure-core refuses bearer tokens over plain HTTP unless every
call (and every LRO poll) carries `enforce_https=False`. Instead, for an `http://` base URL the
client gets `loopback_bearer_token_policy`, which adds the token only to requests for loopback
hosts and refuses any other plain-HTTP URL, so a token can never leave the machine unencrypted
(TLS with a self-signed certificate would need a CA bundle in every client for nothing more).
Real Azure (`https://`) keeps azure-mgmt-core's `ARMChallengeAuthenticationPolicy`.
"""
from __future__ import annotations

import ipaddress
import time
from typing import Any, List, Mapping, Optional, Protocol
from urllib.parse import urlsplit

TRANSPORT_VARIABLE = "MIGRATION_DMS_TRANSPORT"
TRANSPORTS = ("sdk", "rest")
ARM_SCOPE = "https://management.azure.com/.default"
DATA_MIGRATION_API_VERSION = "2025-06-30"
# Microsoft.Sql GA version of managed databases (Azure/azure-rest-api-specs
# specification/sql/resource-manager/Microsoft.Sql/stable/2023-08-01/examples/ManagedDatabaseGet.json).
SQL_API_VERSION = "2023-08-01"
STATUS_DETAILS = "MigrationStatusDetails"


class DmsTransport(Protocol):
    """What the gateway needs from ARM. `target` is a `MigrationTarget` (kind, subscription_id,
    resource_group, server_name, database_name); bodies are REST-shaped dicts."""

    def get_service(self, resource_group: str, name: str) -> Mapping[str, Any]: ...

    def list_migrations(self, resource_group: str, name: str) -> List[Any]: ...

    def get_migration(self, target: Any, migration_operation_id: Optional[str] = None) -> Optional[Mapping[str, Any]]: ...

    def begin_create(self, target: Any, body: Mapping[str, Any]) -> Any: ...

    def begin_cutover(self, target: Any, migration_operation_id: str) -> Any: ...

    def begin_cancel(self, target: Any, migration_operation_id: str) -> Any: ...

    def get_managed_database(self, target: Any) -> Optional[Mapping[str, Any]]: ...

    def begin_delete_managed_database(self, target: Any) -> Any: ...


def sdk_available() -> bool:
    try:
        import azure.mgmt.datamigration  # noqa: F401
    except ImportError:
        return False
    return True


def choose_transport(requested: Optional[str]) -> str:
    if requested:
        if requested not in TRANSPORTS:
            raise ValueError("%s must be one of %s, got %r" % (TRANSPORT_VARIABLE, ", ".join(TRANSPORTS), requested))
        if requested == "sdk" and not sdk_available():
            raise ValueError(
                "%s=sdk but azure-mgmt-datamigration is not installed (it needs Python >= 3.9); use rest" % TRANSPORT_VARIABLE
            )
        return requested
    return "sdk" if sdk_available() else "rest"


def connect_transport(
    credential: Any,
    subscription_id: str,
    *,
    transport: Optional[str] = None,
    base_url: Optional[str] = None,
    polling_interval_seconds: float = 15,
    **client_options: Any,
) -> DmsTransport:
    """A transport for one subscription. `client_options` go to the azure-core pipeline
    (`read_timeout`, `connection_timeout`, `retry_total`, `retry_backoff_factor`, ...); its waits are bounded
    (`azure_waits.client_options`)."""
    from migration_orchestration_lib import azure_waits

    options = azure_waits.client_options("Azure Resource Manager (DMS)", client_options)
    if base_url and base_url.lower().startswith("http://"):
        require_loopback(base_url)
        options["authentication_policy"] = loopback_bearer_token_policy(credential)
    from migration_orchestration_lib.dms_transport_rest import RestTransport

    rest = RestTransport.connect(credential, subscription_id, base_url, polling_interval_seconds, **options)
    if choose_transport(transport) == "rest":
        return rest
    from migration_orchestration_lib.dms_transport_sdk import SdkTransport

    return SdkTransport.connect(credential, subscription_id, base_url, polling_interval_seconds, rest, **options)


def require_loopback(url: str) -> None:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError("refusing to send an Azure token over plain HTTP to %s: use https, or a loopback address" % url)


class StaticTokenCredential:
    """A credential that always answers the same token (the contract server accepts any)."""

    def __init__(self, token: str = "rehearsal-token", lifetime_seconds: int = 3600):
        self._token = token
        self._lifetime_seconds = lifetime_seconds

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + self._lifetime_seconds)


def loopback_bearer_token_policy(credential: Any, scope: str = ARM_SCOPE) -> Any:
    """An azure-core policy adding `Authorization: Bearer` like azure-core's own, but which allows
    plain HTTP to loopback hosts (and only to them): the contract server, never a network.
    Built on call, so that importing this module loads no Azure package (the DAG parses fast)."""
    from azure.core.exceptions import ServiceRequestError
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class LoopbackBearerTokenPolicy(SansIOHTTPPolicy):
        def __init__(self) -> None:
            super().__init__()
            self._token: Any = None

        def on_request(self, request: Any) -> None:
            url = request.http_request.url
            if url.lower().startswith("http://"):
                try:
                    require_loopback(url)
                except ValueError as error:
                    raise ServiceRequestError(str(error))
            if self._token is None or self._token.expires_on - 60 < time.time():
                self._token = credential.get_token(scope)
            request.http_request.headers["Authorization"] = "Bearer %s" % self._token.token

    return LoopbackBearerTokenPolicy()
