"""What Microsoft's migration tooling requires before it migrates, checked by `preflight` before
anything is started or frozen, through both SQL accesses (direct and Data Factory pipeline runs),
on the rehearsal world presenting the bad state. Valid plans passing is proved by every other
rehearsal (`test_steps.py`, `test_rehearsal.py`, the crash matrices)."""
from __future__ import annotations

import pytest

from conftest import database_entry, load_plan_document, plan_with_databases
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal import seed_world
from task_driver import RunDriver
from world_view import WorldView

pytestmark = pytest.mark.airflow210

ACCESSES = ["direct", "dataFactory"]


def setup(directory, access, entry, source_version=None, target_version=None):
    document = plan_with_databases([entry])
    if access == "dataFactory":
        document["airflow"] = load_plan_document("fabric_host.json")["airflow"]
    plan = parse_plan(document)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    world = WorldView(directory, plan.database("db"), plan)
    seed_world(world.world, plan)
    return plan, dag, world


def refused(driver, world, states):
    """Preflight failed, and nothing was started or frozen: the source is as it was."""
    assert states["db.preflight"] == "failed", driver.errors
    assert states["db.rollback"] == "success", driver.errors
    assert world.operations() == [] and world.source_writable()
    return driver.errors["db.preflight"]


@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_refuses_a_sqldb_copy_whose_target_lacks_a_source_table(rehearsal_world, access):
    """DMS copies data into a schema deployed beforehand (SqlDb offline); a source table missing on
    the target would be found only by validation, after the source was frozen for the copy, or
    never where the plan validates nothing."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", target="db-prod"))
    target = world.target()
    missing = sorted(target["tables"])[0]
    world.world.update_database(world.target_server, "Sales", tables={k: v for k, v in target["tables"].items() if k != missing})

    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert missing in message and "Sales" in message and "schema" in message
    assert world.target() is not None  # the SqlDb target is never removed


@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_passes_a_sqldb_target_with_more_tables_than_the_source(rehearsal_world, access):
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", target="db-prod"))
    world.world.set_table(world.target_server, "Sales", "dbo.Extra", [{"name": "id", "type": "int"}], [])
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_refuses_a_restore_whose_source_has_no_log_backup_chain(rehearsal_world, access):
    """FULL recovery without a full backup since (here: SIMPLE and back) is a log chain SQL Server
    has not started: the DAG's own final BACKUP LOG would fail (error 4214) after the freeze."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", mode="offline"))
    world.world.update_database("sql01", "Sales", recoveryModel="SIMPLE")
    world.world.update_database("sql01", "Sales", recoveryModel="FULL")

    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "Sales" in message and "full backup" in message and "WITH CHECKSUM" in message


@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_refuses_a_restore_whose_source_is_in_simple_recovery_naming_the_cause(rehearsal_world, access):
    """SIMPLE recovery takes no log backups at all (the DAG's final one included): the refusal says
    so, rather than sending the operator after a full backup that would not help."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", mode="online"))
    world.world.update_database("sql01", "Sales", recoveryModel="SIMPLE")

    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "FULL recovery model" in message and "SIMPLE" in message


@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_refuses_a_sql_vm_older_than_the_source(rehearsal_world, access):
    """SQL Server restores no backup taken on a newer version: DMS would fail at the restore, an
    offline migration after freezing the source."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", mode="offline", target="vm-prod"))
    with world.world.transaction() as state:
        state["servers"]["sql01"]["productMajorVersion"] = 16
        state["servers"]["vm1"]["productMajorVersion"] = 15

    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "vm-prod" in message and "16" in message and "15" in message


@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_passes_a_sql_vm_of_the_sources_version_or_newer(rehearsal_world, access):
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", mode="offline", target="vm-prod"))
    with world.world.transaction() as state:
        state["servers"]["sql01"]["productMajorVersion"] = 15
        state["servers"]["vm1"]["productMajorVersion"] = 16
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_refuses_a_restore_whose_newest_full_backup_in_the_share_has_no_checksum(rehearsal_world, access):
    """DMS restores the newest full backup it finds in the share and refuses one taken without
    CHECKSUM ("Full backup ... is missing checksum"), for an offline migration after the freeze."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", mode="offline"))
    share = plan.source_of(plan.database("db")).backup_file_share.path
    world.world.take_backup("sql01", "Sales", "FULL", share + "\\Sales_nightly.bak", checksum=False)

    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "Sales_nightly.bak" in message and "WITH CHECKSUM" in message


@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_passes_a_full_backup_without_checksum_outside_the_share(rehearsal_world, access):
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", mode="offline"))
    world.world.take_backup("sql01", "Sales", "FULL", "D:\\local\\Sales_nightly.bak", checksum=False)
    driver = RunDriver(dag)
    driver.run_database("db")
    assert driver.outcome("db") == "migrated", driver.errors
