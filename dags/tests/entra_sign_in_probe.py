"""Started by test_entra_sign_in.py in a process of its own (its auth manager is process-wide), with
AIRFLOW__CORE__AUTH_MANAGER and [fab] config_file as the Kubernetes host sets them: builds Airflow's
API server, signs people in through FAB's Entra ID (`azure`) sign-in and writes what happened as JSON
to the file its one argument names.

Nothing leaves the machine: the Key Vault read and Microsoft's signing keys are stood in for. The ID
tokens are real JWTs signed with a key made here, which FAB verifies (signature, issuer, audience)
against the key set it fetches, here this key's.
"""
from __future__ import annotations

import json
import os
import sys
import time
from types import SimpleNamespace
from unittest import mock

CLIENT_ID = "0f2a4c6e-1b3d-4f5a-8c7e-9d0b1a2c3e4f"
TENANT_ID = "7d1e3a5c-2b4d-4e6f-9a8b-0c1d2e3f4a5b"
ADMINS = "a1a1a1a1-0000-4000-8000-000000000001"
APPROVERS = "b2b2b2b2-0000-4000-8000-000000000002"
OTHERS = "c3c3c3c3-0000-4000-8000-000000000003"
ALICE = "5e1f0c2a-7b3d-4c5e-9f6a-1b2c3d4e5f60"  # an approver's Entra object id, as the plan names her
BOB = "6f2a1d3b-8c4e-4d6f-8a7b-2c3d4e5f6071"
SECRET = "client-secret-from-the-vault"
KEY_SET_URL = "https://login.microsoftonline.com/common/discovery/keys"  # FAB's MICROSOFT_KEY_SET_URL


def signing_key():
    from authlib.jose import JsonWebKey
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = JsonWebKey.import_key(private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), {"kty": "RSA", "kid": "probe", "use": "sig"})
    return pem, {"keys": [public.as_dict()]}


def id_token(pem, *, oid, groups, tenant=TENANT_ID, audience=CLIENT_ID, email=None):
    """An Entra ID v2.0 ID token as the app registration gets it (groups claim on, upn optional claim on)."""
    from authlib.jose import jwt

    now = int(time.time())
    claims = {
        "iss": "https://login.microsoftonline.com/%s/v2.0" % tenant, "aud": audience, "tid": tenant,
        "oid": oid, "sub": "pairwise-" + oid, "upn": "%s@contoso.com" % oid[:8], "name": "Person " + oid[:8],
        "given_name": "Person", "family_name": oid[:8], "groups": groups, "iat": now, "nbf": now, "exp": now + 3600,
    }
    if email:
        claims["email"] = email
    return jwt.encode({"alg": "RS256", "kid": "probe"}, claims, pem).decode()


def main() -> None:
    from migration_orchestration_lib import entra_sign_in

    pem, key_set = signing_key()
    vault_reads = []

    class Vault:
        """Key Vault's SecretClient over one secret: records which vault and secret were read."""

        def __init__(self, vault_url):
            self.vault_url = vault_url

        def get_secret(self, name):
            vault_reads.append([self.vault_url, name])
            return SimpleNamespace(value=SECRET + "\n")

    def no_network(url, *args, **kwargs):
        if url != KEY_SET_URL:
            raise AssertionError("the probe reaches no network: %s" % url)
        return SimpleNamespace(json=lambda: key_set, status_code=200)

    with mock.patch.object(entra_sign_in, "_secret_client", Vault), mock.patch("requests.get", no_network):
        from airflow.api_fastapi.app import create_app, get_auth_manager
        from airflow.utils import db

        db.resetdb()
        app = create_app()
        manager = get_auth_manager()
        flask_app = manager.flask_app
        out = {"auth_manager": type(manager).__module__ + "." + type(manager).__name__, "vault_reads": vault_reads}
        with flask_app.app_context():
            security = flask_app.appbuilder.sm
            azure = security.oauth_remotes["azure"]
            out["client"] = {"id": azure.client_id, "secret_is_the_vaults": azure.client_secret == SECRET,
                             "authorize_url": azure.authorize_url}

            def sign_in(oid, groups, **token):
                info = security.get_oauth_user_info("azure", {"id_token": id_token(pem, oid=oid, groups=groups, **token)})
                user = security.auth_user_oauth(info, rotate_session_id=False)
                return user, sorted(role.name for role in user.roles)

            alice, out["alice_roles"] = sign_in(ALICE, [APPROVERS], email="alice@contoso.com")
            out["alice"] = {"id": alice.get_id(), "name": alice.get_name(), "email": alice.email}
            admin, out["admin_roles"] = sign_in(BOB, [ADMINS, OTHERS])
            out["bob_email_from_upn"] = admin.email
            _, out["bob_roles_after_leaving_admins"] = sign_in(BOB, [OTHERS])
            _, out["stranger_roles"] = sign_in("7a3b2e4c-9d5f-4e70-8b8c-3d4e5f607182", [OTHERS])
            refused = {}
            for case, token in {"another_tenant": {"tenant": "8e2f4b6d-3c5e-4f70-8b9c-1d2e3f4a5b6c"},
                                "another_app": {"audience": "9f3a5c7e-4d6f-4a81-9cad-2e3f4a5b6c7d"}}.items():
                try:
                    sign_in(BOB, [ADMINS], **token)
                    refused[case] = None
                except Exception as error:  # authlib's InvalidClaimError
                    refused[case] = type(error).__name__
            out["refused"] = refused

            # What Airflow's HITL route does with a response (core_api/routes/public/hitl.py): the respondent's
            # id checked against assigned_users by the auth manager, and responded_by = id and name.
            from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager
            from migration_orchestration_lib.cutover_gate import Approver
            from migration_orchestration_lib.cutover_hitl import approver_of, approver_users

            # As the plan writes her: her object id (in capitals) and a display name only people see.
            approvers = [Approver(ALICE.upper(), "Alice Example")]
            assigned = {user["id"] for user in approver_users(approvers)}
            out["hitl"] = {
                "alice_may_answer": manager.is_authorized_hitl_task(assigned_users=assigned, user=alice),
                "bob_may_answer": manager.is_authorized_hitl_task(assigned_users=assigned, user=admin),
                "fab_alone_lets_alice": FabAuthManager.is_authorized_hitl_task(manager, assigned_users=assigned, user=alice),
                "approver_of_alices_answer": approver_of({"id": str(alice.get_id()), "name": alice.get_name()}, approvers),
            }
        from fastapi.testclient import TestClient

        login = TestClient(app, base_url="http://localhost:8080").get("/auth/login/azure", follow_redirects=False)
        out["login_redirect"] = login.headers.get("location")
        # Where the chart mounted no webserver_config.py, FAB would silently fall back to passwords.
        os.environ["AIRFLOW__FAB__CONFIG_FILE"] = "/nonexistent/webserver_config.py"  # read before airflow.cfg
        try:
            type(manager)().get_fastapi_app()
            out["without_config"] = None
        except entra_sign_in.SignInNotConfigured as error:
            out["without_config"] = str(error)
    with open(sys.argv[1], "w", encoding="utf-8") as result:
        json.dump(out, result)


if __name__ == "__main__":
    main()
