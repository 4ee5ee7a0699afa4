"""Sign-in to the Kubernetes host's Airflow UI with Entra ID (the plan's `airflow.kubernetes.signIn`).

The host configures the FAB auth manager (apache-airflow-providers-fab) as `EntraIdAuthManager` and
renders the API server's `webserver_config.py` (the chart's `apiServer.apiServerConfig`) as a call to
`webserver_settings`, with ids only: the app registration's client secret is read here, at the API
server's start, from the Key Vault through the pod's workload identity (the secrets reader, which
holds Key Vault Secrets User on the vault); it is never in Terraform, its state or the chart values.

Who is who: FAB's `azure` sign-in names the user by the token's `oid` claim, the person's Entra
object id (immutable, unlike an email or UPN), and takes their roles from the claim
`AUTH_OAUTH_ROLE_KEYS` names: here `groups`, the group object ids the app registration emits.

Approvals through `hitl`: Airflow 3.3 lets a user answer a request only where the auth manager's
`is_authorized_hitl_task` finds them among its `assigned_users`, by default comparing the user's
*id*, which for FAB is the number of its `ab_user` row (given at the first sign-in, known to no
plan). `EntraIdAuthManager` also accepts the user's name, the Entra object id, which the plan's
`approvers` hold and `cutover_hitl.approver_of` matches the responder by.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence

from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager

# The roles FAB creates, each a group may map to (the plan's `signIn.roles` keys).
FAB_ROLES = ("Admin", "Op", "User", "Viewer")
# What a signed-in person in none of the mapped groups gets: a role without any permission.
NO_ACCESS_ROLE = "Public"
# The app registration's name in FAB: the redirect URI ends in /auth/oauth-authorized/azure.
PROVIDER = "azure"


class SignInSecretUnreadable(RuntimeError):
    """The app registration's client secret could not be read from the Key Vault."""


class SignInNotConfigured(RuntimeError):
    """The API server started without the host's webserver_config.py."""


class EntraIdAuthManager(FabAuthManager):
    """FAB's auth manager that also finds a HITL respondent by user name (the Entra object id), and refuses
    to serve without the host's webserver_config.py (FAB would fall back to passwords, with no user)."""

    def get_fastapi_app(self):
        app = super().get_fastapi_app()
        from flask_appbuilder.const import AUTH_OAUTH

        if self.flask_app.config.get("AUTH_TYPE") != AUTH_OAUTH:
            from airflow.configuration import conf

            raise SignInNotConfigured(
                "Entra ID sign-in to the Airflow UI: the API server read no sign-in settings from %s ([fab] config_file), "
                "the webserver_config.py the Kubernetes host renders (the chart's apiServer.apiServerConfig): without it "
                "nobody could sign in. Check that the chart mounts it there (kubectl -n airflow describe deploy/airflow-api-server)"
                % conf.get("fab", "config_file")
            )
        return app

    def is_authorized_hitl_task(self, *, assigned_users, user) -> bool:
        if super().is_authorized_hitl_task(assigned_users=assigned_users, user=user):
            return True
        name = (getattr(user, "username", None) or "").casefold()
        return bool(name) and name in {assigned.casefold() for assigned in assigned_users}


def _secret_client(vault_url: str):
    """Key Vault's client as the pod's workload identity (the webhook's AZURE_* variables), and nothing else."""
    from azure.identity import WorkloadIdentityCredential
    from azure.keyvault.secrets import SecretClient

    return SecretClient(vault_url=vault_url, credential=WorkloadIdentityCredential())


def client_secret(vault_url: str, secret_name: str, secret_client=None) -> str:
    """The app registration's client secret from the Key Vault; a message naming the vault, the secret
    and what to do where it cannot be read."""
    try:
        value = (secret_client or _secret_client(vault_url)).get_secret(secret_name).value
    except Exception as error:  # the SDK's errors name the HTTP status; the secret's value is never in them
        raise SignInSecretUnreadable(
            "Entra ID sign-in to the Airflow UI: cannot read the client secret %s from Key Vault %s (%s: %s). "
            "Store the app registration's client secret there as %s (docs/airflow-sign-in.md); the API server "
            "reads it with the secrets reader identity, which needs Key Vault Secrets User on the vault"
            % (secret_name, vault_url, type(error).__name__, error, secret_name)
        ) from None
    if not value or not value.strip():
        raise SignInSecretUnreadable(
            "Entra ID sign-in to the Airflow UI: the secret %s in Key Vault %s is empty; store the app "
            "registration's client secret there (docs/airflow-sign-in.md)" % (secret_name, vault_url)
        )
    return value.strip()


def roles_mapping(roles: Mapping[str, Sequence[str]]) -> Dict[str, list]:
    """FAB's AUTH_ROLES_MAPPING from the plan's `signIn.roles` (role -> group object ids): group -> roles."""
    mapping: Dict[str, list] = {}
    for role, groups in roles.items():
        if role not in FAB_ROLES:
            raise ValueError("signIn.roles: %s is not an Airflow role (%s)" % (role, ", ".join(FAB_ROLES)))
        for group in groups:
            mapping.setdefault(group.lower(), []).append(role)
    return mapping


def webserver_settings(
    *,
    client_id: str,
    tenant_id: str,
    roles: Mapping[str, Sequence[str]],
    key_vault_url: str,
    secret_name: str,
    secret_client: Optional[Any] = None,
) -> Dict[str, Any]:
    """The settings of FAB's `webserver_config.py`: OAuth with Entra ID (v2.0 endpoints of `tenant_id`),
    roles from the `groups` claim synced at every sign-in, no access for anyone in no mapped group."""
    from flask_appbuilder.const import AUTH_OAUTH

    authority = "https://login.microsoftonline.com/%s" % tenant_id
    secret = client_secret(key_vault_url, secret_name, secret_client)
    return {
        "AUTH_TYPE": AUTH_OAUTH,
        "OAUTH_PROVIDERS": [
            {
                "name": PROVIDER,
                "icon": "fa-windows",
                "token_key": "access_token",
                "remote_app": {
                    "client_id": client_id,
                    "client_secret": secret,
                    "api_base_url": "%s/oauth2/v2.0/" % authority,
                    "access_token_url": "%s/oauth2/v2.0/token" % authority,
                    "authorize_url": "%s/oauth2/v2.0/authorize" % authority,
                    "request_token_url": None,
                    # FAB verifies the ID token's signature, issuer (this tenant) and audience (client_id).
                    "client_kwargs": {"scope": "openid email profile", "tenant_id": tenant_id, "verify_signature": True},
                },
            }
        ],
        "AUTH_OAUTH_ROLE_KEYS": {PROVIDER: "groups"},
        "AUTH_ROLES_MAPPING": roles_mapping(roles),
        "AUTH_ROLES_SYNC_AT_LOGIN": True,
        "AUTH_USER_REGISTRATION": True,
        "AUTH_USER_REGISTRATION_ROLE": NO_ACCESS_ROLE,
    }
