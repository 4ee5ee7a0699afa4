"""Entra ID sign-in to the Kubernetes host's Airflow UI (airflow.kubernetes.signIn), in Airflow 3.3's own
API server with the FAB provider: the webserver_config.py the host renders
(fixtures/entra_webserver_config.py, which __tests__/hosts/kubernetes-sign-in.test.ts holds equal to the
TypeScript rendering) signs people in, maps their groups to roles, and lets the plan's approver, named by
Entra object id, answer a cutover approval (entra_sign_in_probe.py, in a process of its own)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from conftest import DAGS_DIR, FIXTURES_DIR, TESTS_DIR

WEBSERVER_CONFIG = FIXTURES_DIR / "entra_webserver_config.py"


def signed_in(home) -> dict:
    """What the probe saw, run with the settings the host gives every Airflow container."""
    result = home / "result.json"
    env = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW__")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:///%s/airflow.db" % home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            # As the host sets them (lib/private/kubernetes/chart-values.ts, signInEnvironment) ...
            "AIRFLOW__CORE__AUTH_MANAGER": "migration_orchestration_lib.entra_sign_in.EntraIdAuthManager",
            "PYTHONPATH": str(DAGS_DIR),
            # ... and where the chart mounts apiServer.apiServerConfig, FAB's default [fab] config_file.
            "AIRFLOW__FAB__CONFIG_FILE": str(WEBSERVER_CONFIG),
        }
    )
    run = subprocess.run([sys.executable, str(TESTS_DIR / "entra_sign_in_probe.py"), str(result)],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return json.loads(result.read_text())


def test_people_sign_in_with_entra_id_get_their_groups_roles_and_the_approver_may_answer(tmp_path):
    """One test, one probe: it builds a whole API server (some 10 s of CPU), which another test would build again
    on the other xdist worker."""
    seen = signed_in(tmp_path)
    login = seen.pop("login_redirect")
    # An API server without the rendered config stops instead of serving a password form nobody can use.
    assert seen.pop("without_config") == (
        "Entra ID sign-in to the Airflow UI: the API server read no sign-in settings from /nonexistent/webserver_config.py "
        "([fab] config_file), the webserver_config.py the Kubernetes host renders (the chart's apiServer.apiServerConfig): "
        "without it nobody could sign in. Check that the chart mounts it there (kubectl -n airflow describe deploy/airflow-api-server)"
    )
    assert seen == {
        # Every Airflow process gets the auth manager that knows approvers by object id.
        "auth_manager": "migration_orchestration_lib.entra_sign_in.EntraIdAuthManager",
        # The API server reads the client secret from the vault once, at start, and uses it (its line break dropped).
        "vault_reads": [["https://kv-contoso-sql-0000.vault.azure.net/", "airflow-sign-in-client-credential"]],
        "client": {
            "id": "0f2a4c6e-1b3d-4f5a-8c7e-9d0b1a2c3e4f",
            "secret_is_the_vaults": True,
            "authorize_url": "https://login.microsoftonline.com/7d1e3a5c-2b4d-4e6f-9a8b-0c1d2e3f4a5b/oauth2/v2.0/authorize",
        },
        # The groups claim gives the mapped roles at every sign-in, and nothing (Public) to anyone else.
        "alice_roles": ["Public", "User"],  # the approvers' group
        "admin_roles": ["Admin", "Public"],  # an unmapped group beside it adds nothing
        "bob_roles_after_leaving_admins": ["Public"],  # synced at sign-in, not kept
        "stranger_roles": ["Public"],
        # A user is named by object id, the email (or, without one, the upn) beside it.
        "alice": {"id": "1", "name": "5e1f0c2a-7b3d-4c5e-9f6a-1b2c3d4e5f60", "email": "alice@contoso.com"},
        "bob_email_from_upn": "6f2a1d3b@contoso.com",
        # FAB checks the ID token's issuer (the tenant) and audience (the app).
        "refused": {"another_tenant": "InvalidClaimError", "another_app": "InvalidClaimError"},
        "hitl": {
            "alice_may_answer": True,
            "bob_may_answer": False,  # an Admin, but not an approver of this request
            # FAB alone compares its own numeric user id, which no plan can know: why the host's auth manager exists.
            "fab_alone_lets_alice": False,
            "approver_of_alices_answer": "5E1F0C2A-7B3D-4C5E-9F6A-1B2C3D4E5F60",  # as the plan writes her
        },
    }
    # Signing in goes to the tenant, back to the redirect URI the app registration lists for
    # `kubectl port-forward svc/airflow-api-server 8080:8080` (docs/airflow-sign-in.md).
    assert login.startswith("https://login.microsoftonline.com/7d1e3a5c-2b4d-4e6f-9a8b-0c1d2e3f4a5b/oauth2/v2.0/authorize?")
    assert "redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fauth%2Foauth-authorized%2Fazure" in login
    assert "scope=openid+email+profile" in login


class _Vault:
    def __init__(self, answer):
        self.answer = answer

    def get_secret(self, name):
        if isinstance(self.answer, Exception):
            raise self.answer
        return SimpleNamespace(value=self.answer)


def test_an_unreadable_client_secret_stops_the_api_server_naming_the_vault_the_secret_and_what_to_do():
    from migration_orchestration_lib.entra_sign_in import SignInSecretUnreadable, client_secret

    with pytest.raises(SignInSecretUnreadable) as raised:
        client_secret("https://kv-x.vault.azure.net/", "airflow-sign-in-client-credential", _Vault(PermissionError("(Forbidden) 403")))
    assert str(raised.value) == (
        "Entra ID sign-in to the Airflow UI: cannot read the client secret airflow-sign-in-client-credential from Key Vault "
        "https://kv-x.vault.azure.net/ (PermissionError: (Forbidden) 403). Store the app registration's client secret there "
        "as airflow-sign-in-client-credential (docs/airflow-sign-in.md); the API server reads it with the secrets reader "
        "identity, which needs Key Vault Secrets User on the vault"
    )
    with pytest.raises(SignInSecretUnreadable, match="the secret airflow-sign-in-client-credential in Key Vault https://kv-x.vault.azure.net/ is empty"):
        client_secret("https://kv-x.vault.azure.net/", "airflow-sign-in-client-credential", _Vault(" \n"))


def test_groups_map_to_roles_by_lower_case_object_id_and_an_unknown_role_is_refused():
    from migration_orchestration_lib.entra_sign_in import roles_mapping

    assert roles_mapping({"Admin": ["A1A1A1A1-0000-4000-8000-000000000001"], "Op": ["a1a1a1a1-0000-4000-8000-000000000001"]}) == {
        "a1a1a1a1-0000-4000-8000-000000000001": ["Admin", "Op"]
    }
    with pytest.raises(ValueError, match="signIn.roles: Owner is not an Airflow role"):
        roles_mapping({"Owner": ["a1a1a1a1-0000-4000-8000-000000000001"]})
