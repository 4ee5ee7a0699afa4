"""DMS's connections check the server's certificate unless the Airflow connection trusts it (dags/README.md, "TLS of
SQL connections"): a run whose source presents a self-signed certificate (the world's `selfSignedCertificate`) fails
at start_migration, naming the connection and the extra, and rolls back; the same run with the extra set migrates.
Before, every request trusted every certificate, and such a run migrated without a word."""
from __future__ import annotations

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib import rehearsal
from migration_orchestration_lib.connections import ConnectionSecret
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from task_driver import RunDriver
from world_view import WorldView

pytestmark = pytest.mark.airflow26

SOURCE_CONNECTION = "mssql_source_sql01"


def setup(directory, target, mode):
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode=mode, target=target)]))
    world = WorldView(directory, plan.database("db"), plan)
    rehearsal.seed_world(world.world, plan)
    world.world.set_self_signed_certificate("sql01")
    return plan, build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world


def trust_source_certificate(monkeypatch):
    """The source's Airflow connection with the extra `{"trust_server_certificate": true}`."""
    get = rehearsal.RehearsalConnections.get

    def trusting(connections, connection_id):
        login = get(connections, connection_id)
        return ConnectionSecret(login.connection_id, login.host, login.port, login.login, login.password,
                                trust_server_certificate=connection_id == SOURCE_CONNECTION)

    monkeypatch.setattr(rehearsal.RehearsalConnections, "get", trusting)


@pytest.mark.parametrize("target, mode", [("mi-prod", "online"), ("db-prod", "offline")])
def test_a_self_signed_source_fails_the_start_naming_the_connection_and_the_extra(rehearsal_world, target, mode):
    plan, dag, world = setup(rehearsal_world, target, mode)
    driver = RunDriver(dag, world.observe)
    states = driver.run_database("db")

    assert states["db.start_migration"] == "failed", driver.errors
    error = driver.errors["db.start_migration"]
    assert "certificate chain was issued by an authority that is not trusted" in error
    assert ("trust it with that extra of connection %s" % SOURCE_CONNECTION) in error
    assert "{\"trust_server_certificate\": true}" in error and "TLS of SQL connections" in error
    assert world.source_writable() and driver.outcome("db") != "migrated"


@pytest.mark.parametrize("target, mode", [("mi-prod", "online"), ("db-prod", "offline")])
def test_a_self_signed_source_whose_connection_trusts_it_migrates(rehearsal_world, monkeypatch, target, mode):
    trust_source_certificate(monkeypatch)
    plan, dag, world = setup(rehearsal_world, target, mode)
    driver = RunDriver(dag, world.observe)
    driver.run_database("db")

    assert driver.outcome("db") == "migrated", driver.errors


def test_the_hint_names_a_sql_db_targets_connection_too_and_no_tde_failure():
    from migration_orchestration_lib.migration_request import certificate_hint

    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="offline", target="db-prod")]))
    database = plan.database("db")
    refused = "(provider: SSL Provider, error: 0 - The certificate chain was issued by an authority that is not trusted.)"
    assert "connection %s or %s (" % (SOURCE_CONNECTION, plan.target_of(database).connection_id) in certificate_hint(plan, database, refused)
    assert certificate_hint(plan, database, "The target principal name is incorrect.  Cannot generate SSPI context.")
    tde = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online", target="mi-prod")]))
    assert certificate_hint(tde, tde.database("db"), "Cannot find server certificate with thumbprint '0x5D12'") == ""


def test_a_migration_dms_fails_later_on_a_certificate_names_the_connection_and_the_extra_too(rehearsal_world):
    """Whether DMS refuses a certificate in the create or later, once it runs, is unverified: the wait that finds the
    migration Failed so says what to do too."""
    plan, dag, world = setup(rehearsal_world, "mi-prod", "online")
    world.world.set_self_signed_certificate("sql01", False)
    world.world.add_fault("migrate", "migrationFailed", database="Sales", code="SqlConnectionFailed", message=(
        "A connection was successfully established with the server, but then an error occurred during the login "
        "process. (provider: SSL Provider, error: 0 - The certificate chain was issued by an authority that is not trusted.)"))
    driver = RunDriver(dag, world.observe)
    driver.run_database("db")

    failed_waits = [error for task_id, error in driver.errors.items() if ".wait_" in task_id]
    assert failed_waits and all("trust it with that extra of connection %s" % SOURCE_CONNECTION in error for error in failed_waits), driver.errors
    assert world.source_writable() and driver.outcome("db") != "migrated"
