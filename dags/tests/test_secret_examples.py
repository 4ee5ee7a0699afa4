"""docs/secrets.md's example values, read as the deployed DAG reads them: each example stored under the secret name the
page gives it, read through Airflow's own Key Vault secrets backend (`AzureKeyVaultBackend`, the stack's
`AIRFLOW__SECRETS__BACKEND`, its connections prefix `airflow-connections`) and the DAG's reader
(`connections.AirflowConnections`), then into the request the DAG sends DMS. Only Key Vault's client is stood in for."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib import airflow_compat
from migration_orchestration_lib.connections import AZURE_IDENTITY, AirflowConnections
from migration_orchestration_lib.migration_request import build_migration_request
from migration_orchestration_lib.plan import parse_plan

pytestmark = [pytest.mark.airflow210, pytest.mark.airflow26, pytest.mark.airflow31]

PAGE = Path(__file__).resolve().parents[2] / "docs" / "secrets.md"
EXAMPLE = re.compile(r"<!-- example of (\S+) -->\n```\w*\n(.*?)\n```", re.S)

SQL_LOGIN = {"host": "sql01.corp.contoso.com", "port": 1433, "login": "svc_migration", "password": "S3cret!pw",
             "trust_server_certificate": False, "authentication": None}
SHARE_LOGIN = {"login": "CONTOSO\\svc-sqlbackup", "password": "S3cret!pw"}
STORAGE_KEY = "Zm9yIGV4YW1wbGUgb25seSwgbm90IGEga2V5+/aGVyZSBpcyBubyBrZXk/+yetAnotherFakeKeyPart0000000=="
# What the DAG's reader gives for each example, in the page's order: (secret, connection id, fields).
EXPECTED = [
    ("airflow-connections-mssql-source-sql01", "mssql_source_sql01", SQL_LOGIN),
    ("airflow-connections-mssql-source-sql01", "mssql_source_sql01", SQL_LOGIN),
    ("airflow-connections-mssql-source-sql01", "mssql_source_sql01", dict(SQL_LOGIN, trust_server_certificate=True)),
    ("airflow-connections-mssql-source-sql01", "mssql_source_sql01", dict(SQL_LOGIN, trust_server_certificate=True)),
    ("airflow-connections-mssql-target-db-prod", "mssql_target_db_prod",
     dict(SQL_LOGIN, host="sql-contoso-prod.database.windows.net")),
    ("airflow-connections-mssql-target-mi-prod", "mssql_target_mi_prod",
     {"host": "mi-contoso-prod.0123456789ab.database.windows.net", "port": 1433, "login": None, "password": None,
      "authentication": AZURE_IDENTITY}),
    ("airflow-connections-smb-fileserver01", "smb_fileserver01", SHARE_LOGIN),
    ("airflow-connections-smb-fileserver01", "smb_fileserver01", SHARE_LOGIN),
    ("airflow-connections-backup-storage-key", "backup_storage_key", {"password": STORAGE_KEY}),
    ("airflow-connections-backup-storage-key", "backup_storage_key", {"password": STORAGE_KEY}),
]


def examples() -> list:
    return EXAMPLE.findall(PAGE.read_text(encoding="utf-8"))


class _Secret:
    def __init__(self, value: str) -> None:
        self.value = value


class _VaultClient:
    """Key Vault's `SecretClient.get_secret` over a dict: a name the page did not give fails the test."""

    def __init__(self, secrets: dict) -> None:
        self._secrets = secrets

    def get_secret(self, name: str) -> _Secret:
        assert name in self._secrets, "the DAG asked Key Vault for %s, which the page does not name" % name
        return _Secret(self._secrets[name])


def connections_from_vault(monkeypatch, secrets: dict) -> AirflowConnections:
    """The DAG's reader, its Airflow connections looked up through Airflow's Key Vault backend as the stack configures it."""
    from airflow.providers.microsoft.azure.secrets.key_vault import AzureKeyVaultBackend

    backend = AzureKeyVaultBackend(connections_prefix="airflow-connections", variables_prefix=None, config_prefix=None,
                                   vault_url="https://kv-contoso-sql-0000.vault.azure.net/")
    backend.__dict__["client"] = _VaultClient(secrets)  # the cached property Airflow's backend reads the vault through
    monkeypatch.setattr(airflow_compat, "get_connection", backend.get_connection)
    return AirflowConnections()


def test_the_page_gives_each_example_checked_here():
    assert [secret for secret, _ in examples()] == [secret for secret, _, _ in EXPECTED]


@pytest.mark.parametrize("index", range(len(EXPECTED)))
def test_the_dag_reads_each_example_as_the_page_says(monkeypatch, index):
    secret, value = examples()[index]
    _, connection_id, expected = EXPECTED[index]
    read = connections_from_vault(monkeypatch, {secret: value}).get(connection_id)
    assert {field: getattr(read, field) for field in expected} == expected


@pytest.mark.parametrize("index", range(len(EXPECTED)))
def test_dms_gets_the_logins_and_key_of_each_example(monkeypatch, index):
    """Every example in turn in the vault, the first of each other secret beside it: the DMS requests of a SqlMi and a
    SqlDb migration carry its login, password and key as they are (the share's `DOMAIN\\user` as the file share's
    username)."""
    found = examples()
    vault = {}
    for secret, value in found:
        vault.setdefault(secret, value)
    secret, value = found[index]
    vault[secret] = value
    expected = {}
    for each, _, fields in EXPECTED:
        expected.setdefault(each, fields)
    expected[secret] = EXPECTED[index][2]
    plan = parse_plan(plan_with_databases([database_entry("erp", "Sales"), database_entry("crm", "Crm", target="db-prod")]))
    connections = connections_from_vault(monkeypatch, vault)

    sql_mi = build_migration_request(plan, plan.database("erp"), "dms-id", connections)["properties"]
    source, share = expected["airflow-connections-mssql-source-sql01"], expected["airflow-connections-smb-fileserver01"]
    assert sql_mi["sourceSqlConnection"]["userName"] == source["login"]
    assert sql_mi["sourceSqlConnection"]["password"] == source["password"]
    assert sql_mi["sourceSqlConnection"]["trustServerCertificate"] == source["trust_server_certificate"]
    assert sql_mi["backupConfiguration"]["sourceLocation"]["fileShare"]["username"] == share["login"]
    assert sql_mi["backupConfiguration"]["sourceLocation"]["fileShare"]["password"] == share["password"]
    assert sql_mi["backupConfiguration"]["targetLocation"]["accountKey"] == STORAGE_KEY

    sql_db = build_migration_request(plan, plan.database("crm"), "dms-id", connections)["properties"]
    target = expected["airflow-connections-mssql-target-db-prod"]
    assert sql_db["targetSqlConnection"]["dataSource"] == target["host"]
    assert (sql_db["targetSqlConnection"]["userName"], sql_db["targetSqlConnection"]["password"]) == (target["login"], target["password"])
