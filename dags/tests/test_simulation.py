"""The rehearsal world's SQL Server: a target database holds what DMS copied into it, whatever the
plan calls it on the target. Driven through the real gateway, request builder and validation.

Marked airflow26: they also run on Apache Airflow 2.6.3 (Python 3.8) when that environment is built.
"""
from __future__ import annotations

import pytest

from conftest import renamed_targets_document
from migration_orchestration_lib.dms_gateway import MigrationTarget
from migration_orchestration_lib.migration_request import build_migration_request
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.simulation import rehearsal_services
from migration_orchestration_lib.validation import compare_source_and_target

pytestmark = pytest.mark.airflow26

TABLES = ("dbo.Customers", "dbo.Orders", "sales.OrderLines")
SOURCE = "mssql_source_sql01"


@pytest.fixture
def plan():
    return parse_plan(renamed_targets_document())


@pytest.fixture
def services(plan, tmp_path):
    return rehearsal_services(plan, "manual__test", {"MIGRATION_DRY_RUN": "1", "MIGRATION_SIMULATION_DIR": str(tmp_path)})


def migrate(services, plan, database) -> None:
    """Start the migration through the gateway and poll it until DMS reports it Succeeded."""
    target = MigrationTarget.of(plan, database)
    started = services.dms.start(
        target,
        database.source_database,
        lambda: build_migration_request(plan, database, services.dms.migration_service_id, services.connections),
    )
    for _ in range(10):
        status = services.dms.status(target, started.migration_operation_id)
        if status.migration_status == "Succeeded":
            return
    raise AssertionError("the simulated migration of %s never succeeded: %s" % (database.name, status.describe()))


def fingerprints(services, connection_id, database_name):
    return [services.sql.table_fingerprint(connection_id, database_name, table, True) for table in TABLES]


@pytest.mark.parametrize("name", ["to_mi", "to_db", "to_vm"])
def test_a_renamed_target_holds_its_source_databases_rows_once_dms_copied_them(services, plan, name):
    database = plan.database(name)
    target_connection = plan.target_of(database).connection_id
    source_rows = fingerprints(services, SOURCE, database.source_database)
    assert all(f is not None and f.row_count > 0 for f in source_rows)

    before = fingerprints(services, target_connection, database.target_database)
    if database.target_kind == "SqlDb":  # exists beforehand with its schema, and empty
        assert [(f.row_count, f.checksum) for f in before] == [(0, None)] * len(TABLES)
    else:  # not restored yet
        assert before == [None] * len(TABLES)
    assert not compare_source_and_target(services.sql, plan, database).passed

    migrate(services, plan, database)

    assert fingerprints(services, target_connection, database.target_database) == source_rows
    report = compare_source_and_target(services.sql, plan, database)
    assert report.passed, report.summary()
    assert report.tables_compared == len(TABLES)


def test_a_target_holds_the_rows_of_the_source_it_was_copied_from_not_of_a_source_with_its_name(services, plan):
    # to_vm copies source Crm into a database called Archive; source Archive has other rows
    database = plan.database("to_vm")
    migrate(services, plan, database)
    target_rows = fingerprints(services, plan.target_of(database).connection_id, "Archive")
    assert target_rows == fingerprints(services, SOURCE, "Crm")
    assert target_rows != fingerprints(services, SOURCE, "Archive")


def test_a_removed_target_database_holds_nothing(services, plan):
    for name in ("to_mi", "to_vm"):
        database = plan.database(name)
        migrate(services, plan, database)
        services.target_databases.remove_partial(plan, database)
        assert fingerprints(services, plan.target_of(database).connection_id, database.target_database) == [None] * len(TABLES)
