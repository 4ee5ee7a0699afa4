"""Two plans (two deployments, each with its own migration service and Airflow) meeting in Azure:
DMS keeps one migration resource per target database (`.../databaseMigrations/<target database>`),
whichever service started it. A plan must never adopt, cancel or remove another plan's migration
(`task_driver` on one rehearsal world serving both services)."""
from __future__ import annotations

import copy

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib import rehearsal
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from task_driver import RunDriver, WorkerCrashed
from world_view import WorldView

OTHER_SERVICE_ID = rehearsal.SERVICE_ID.rsplit("/", 1)[0] + "/fabrikam"


def other_team_plan(document):
    """Another team's plan: its own source server, whose `Sales` goes into the same target database."""
    other = copy.deepcopy(document)
    other["name"] = "fabrikam-sql"
    server = other["sourceServers"][0]
    server.update(name="sql02", host="sql02.corp.fabrikam.com", connectionId="mssql_source_sql02",
                  connectionStringSecretName="sql02-connection-string")
    server["backupFileShare"]["path"] = "\\\\fileserver02\\sqlbackups\\sql02"
    for database in other["databases"]:
        database["source"]["server"] = "sql02"
    return other


def test_a_plan_does_not_adopt_or_roll_back_another_plans_migration_into_the_same_target(rehearsal_world, monkeypatch):
    document = plan_with_databases([database_entry("sales", "Sales")])
    ours = parse_plan(document)
    world = WorldView(rehearsal_world, ours.database("sales"), ours)
    with pytest.raises(WorkerCrashed):
        RunDriver(build_dag(ours, {"MIGRATION_DRY_RUN": "1"}), world.observe).run_database("sales", crash_after="start_migration")
    [started] = world.operations()

    monkeypatch.setattr(rehearsal, "SERVICE_ID", OTHER_SERVICE_ID)  # the other deployment's migration service
    theirs = parse_plan(other_team_plan(document))
    other_run = RunDriver(build_dag(theirs, {"MIGRATION_DRY_RUN": "1"}), world.observe)
    states = other_run.run_database("sales")

    assert states["sales.preflight"] == "failed", states
    assert "migration service" in other_run.errors["sales.preflight"] and "/sqlmigrationservices/rehearsal" in other_run.errors["sales.preflight"].lower()
    assert states["sales.rollback"] == "success" and other_run.outcome("sales") == "rolled_back", other_run.errors
    [operation] = world.operations()
    assert operation["migrationOperationId"] == started["migrationOperationId"]
    assert operation["migrationStatus"] == "InProgress", "the other plan's rollback canceled our migration"
    assert world.target() is not None and world.target()["state"] == "RESTORING"
