"""Admission counts the migrations DMS has in flight, per service and per source server."""
from __future__ import annotations

import copy

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib.capacity import admission_refusal
from migration_orchestration_lib.migration_status import MigrationStatus
from migration_orchestration_lib.plan import parse_plan

pytestmark = pytest.mark.airflow26  # cheap: proves it on Python 3.8 too

MI_SCOPE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data-prod/providers/Microsoft.Sql/managedInstances/mi-contoso-prod"


def plan_with(limits, second_source=False):
    document = plan_with_databases([database_entry("db_%d" % i, "Db%d" % i) for i in range(4)])
    document["concurrency"].update(limits)
    if second_source:
        other = copy.deepcopy(document["sourceServers"][0])
        other.update(name="sql02", host="sql02.corp.contoso.com", connectionId="mssql_source_sql02")
        document["sourceServers"].append(other)
        document["databases"][3]["source"]["server"] = "sql02"
    return parse_plan(document)


def running(target_database, status="InProgress"):
    # DMS lists scopes without their leading slash (Microsoft's recorded example)
    return (MI_SCOPE.lstrip("/"), target_database, MigrationStatus("op", status, "Succeeded", target_database))


def test_admitted_below_both_limits():
    plan = plan_with({"maxMigrationsPerService": 3, "maxMigrationsPerSourceServer": 2})
    assert admission_refusal(plan, plan.database("db_2"), [running("Db0"), running("Db1", "Succeeded")]) is None


def test_refused_at_the_service_limit_counting_only_migrations_in_flight():
    plan = plan_with({"maxMigrationsPerService": 2, "maxMigrationsPerSourceServer": 5})
    in_flight = [running("Db0"), running("Db1", "Completing"), running("Db9", "Failed")]
    assert "2 migration(s) in flight on the migration service (concurrency.maxMigrationsPerService 2)" == admission_refusal(
        plan, plan.database("db_2"), in_flight
    )


def test_refused_at_the_source_server_limit_while_another_source_may_start():
    plan = plan_with({"maxMigrationsPerService": 10, "maxMigrationsPerSourceServer": 2}, second_source=True)
    in_flight = [running("Db0"), running("Db1")]
    assert "from source server sql01" in admission_refusal(plan, plan.database("db_2"), in_flight)
    assert admission_refusal(plan, plan.database("db_3"), in_flight) is None
