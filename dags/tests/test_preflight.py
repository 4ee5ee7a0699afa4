"""What Microsoft's migration tooling requires before it migrates, checked by `preflight` before
anything is started or frozen, through both SQL accesses (direct and Data Factory pipeline runs),
on the rehearsal world presenting the bad state. Valid plans passing is proved by every other
rehearsal (`test_steps.py`, `test_rehearsal.py`, the crash matrices)."""
from __future__ import annotations

import dataclasses

import pytest

from conftest import database_entry, load_plan_document, plan_with_databases
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal import REHEARSAL_LOGIN, seed_world
from migration_rehearsal.data_factory_server import RUNS, SECRETS
from migration_rehearsal.sql_world import SqlEngine
from task_driver import RunDriver
from world_view import WorldView

# On Python 3.8 (airflow26) the tests marked below run: with that run's others they reach every line and branch of
# the DAG's code all of this file's tests reach there (dags/README.md, "Python 3.8").

# What ##MS_DefinitionReader## holds on Azure SQL Database ("Azure SQL Database server roles"): VIEW ANY DATABASE lets
# a login see a SqlDb target's row in master's sys.databases (docs/sql-logins.md).
DEFINITION_READER = ["VIEW ANY DATABASE", "VIEW ANY DEFINITION", "VIEW ANY SECURITY DEFINITION"]

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


def source_round_trips(monkeypatch, plan, world, access, act):
    """The batches `act` sends to the source server: Data Factory pipeline runs on its linked service
    (`dataFactory`), or connections of the pymssql stand-in to its host (`direct`: one a batch)."""
    source = plan.source_of(plan.database("db"))
    if access == "dataFactory":
        def runs():
            return {run_id for run_id, run in world.world.snapshot().get(RUNS, {}).items()
                    if run["parameters"].get("connectionStringSecretName") == source.connection_string_secret_name}

        before = runs()
        act()
        return len(runs() - before)
    hosts = []
    connect = SqlEngine.connect
    monkeypatch.setattr(SqlEngine, "connect", lambda engine, **arguments: hosts.append(arguments.get("server")) or connect(engine, **arguments))
    act()
    return hosts.count(source.host)


@pytest.mark.parametrize("access", ACCESSES)
@pytest.mark.parametrize("entry", [
    database_entry("db", "Sales", mode="offline"),
    database_entry("db", "Sales", mode="offline", target="vm-prod"),
    database_entry("db", "Sales", target="db-prod"),
], ids=["restoreToSqlMi", "restoreToSqlVm", "sqlDbCopy"])
def test_preflight_of_a_new_migration_reads_the_source_in_two_batches(rehearsal_world, monkeypatch, access, entry):
    """Its state, freeze marker, identity and (a restore) log-backup base come in one batch, one pipeline run
    through Data Factory (before: three for a restore, two for a copy); the prerequisites of a new migration in
    one more (before: the login's permission, the full backups and the files' sizes apart, and into a SQL VM the
    encryption key's thumbprint and the version too; a copy's tables and the login's SELECT on them apart)."""
    plan, dag, world = setup(rehearsal_world, access, entry)
    driver = RunDriver(dag)

    states = []
    trips = source_round_trips(monkeypatch, plan, world, access, lambda: states.append(driver._run_task(dag.get_task("db.preflight"))))

    assert states == ["success"], driver.errors
    assert trips == 2, trips


@pytest.mark.parametrize("target, pokes", [("mi-prod", 5), ("vm-prod", 6), ("db-prod", 4)], ids=["SqlMi", "SqlVm", "SqlDb"])
def test_preflight_of_a_new_migration_waits_for_pipeline_runs_one_after_another_no_more_than_it_must(rehearsal_world, target, pokes):
    """Through Data Factory each wait for a pipeline run is a poke: the source's state, the target's state, the
    source's prerequisites (a copy's target tables and owner in parallel with them), then what needs the target
    (its room; a SQL VM's version). Before the prerequisites were one batch: 6 (SqlMi), 8 (SqlVm), 5 (SqlDb)."""
    plan, dag, world = setup(rehearsal_world, "dataFactory", database_entry("db", "Sales", mode="offline", target=target))
    seen = []
    driver = RunDriver(dag, observe=seen.append)

    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors
    assert seen.count("db.preflight") == pokes


@pytest.mark.parametrize("access", ACCESSES)
def test_a_preflight_of_a_replicating_migration_reads_the_source_once(rehearsal_world, monkeypatch, access):
    """A later run's preflight, the migration replicating: no prerequisites to check, one batch (before: three, the
    identity and the log-backup base read apart)."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales"))
    first = RunDriver(dag)
    for task in ("db.preflight", "db.start_migration"):
        assert first._run_task(dag.get_task(task)) == "success", first.errors
    later = RunDriver(dag)

    states = []
    trips = source_round_trips(monkeypatch, plan, world, access, lambda: states.append(later._run_task(dag.get_task("db.preflight"))))

    assert states == ["success"], later.errors
    assert trips == 1


@pytest.mark.airflow26
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
def test_preflight_tells_a_sqldb_targets_tables_apart_from_the_sources_by_schema_and_table(rehearsal_world, access):
    """Table c of schema a.b on the source and table b.c of schema a on the target were both "a.b.c": the copy
    started into a schema lacking the table. The check compares (schema, table) pairs and names the table
    unambiguously."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", target="db-prod"))
    columns = [{"name": "id", "type": "int"}]
    world.world.set_table("sql01", "Sales", "[a.b].[c]", columns, [[1]])
    world.world.set_table(world.target_server, "Sales", "[a].[b.c]", columns, [])

    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "lacks 1 table(s) of the source Sales: [a.b].c. DMS copies data only" in message


@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_takes_a_sqldb_target_table_differing_only_in_trailing_spaces_or_case_for_the_sources(rehearsal_world, access):
    """SQL Server compares names padded with spaces ('Archive' = 'archive  ' in a case-insensitive collation): the
    target's table is the source's; was refused as missing."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", target="db-prod"))
    columns = [{"name": "id", "type": "int"}]
    world.world.set_table("sql01", "Sales", "dbo.Archive", columns, [[1]])
    world.world.set_table(world.target_server, "Sales", "DBO.[archive  ]", columns, [])
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_refuses_a_sqldb_target_holding_one_of_two_source_tables_differing_only_in_case(rehearsal_world, access):
    """A case-sensitive source holds dbo.Orders and dbo.ORDERS; the target's schema, deployed in a case-insensitive
    collation, holds dbo.Orders alone. Before: both read as present (each folded to dbo.orders), and the copy
    started into a schema lacking dbo.ORDERS."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", target="db-prod"))
    columns = [{"name": "id", "type": "int"}]
    world.world.update_database("sql01", "Sales", collation="Latin1_General_CS_AS")
    world.world.set_table("sql01", "Sales", "dbo.Orders", columns, [[1]])
    world.world.set_table("sql01", "Sales", "dbo.ORDERS", columns, [[2]])
    world.world.set_table(world.target_server, "Sales", "dbo.Orders", columns, [])

    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "lacks 1 table(s) of the source Sales: dbo.ORDERS. DMS copies data only" in message, message


@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_passes_a_sqldb_target_with_more_tables_than_the_source(rehearsal_world, access):
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", target="db-prod"))
    world.world.set_table(world.target_server, "Sales", "dbo.Extra", [{"name": "id", "type": "int"}], [])
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


@pytest.mark.airflow26
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


@pytest.mark.airflow26
@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_refuses_a_restore_whose_source_is_in_simple_recovery_naming_the_cause(rehearsal_world, access):
    """SIMPLE recovery takes no log backups at all (the DAG's final one included): the refusal says
    so, rather than sending the operator after a full backup that would not help."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", mode="online"))
    world.world.update_database("sql01", "Sales", recoveryModel="SIMPLE")

    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "FULL recovery model" in message and "SIMPLE" in message


PARTNERSHIPS = {"availabilityGroup": {"availabilityGroup": "ag-sales"}, "mirroring": {"mirroringRole": "PRINCIPAL"}}


@pytest.mark.airflow26
@pytest.mark.parametrize("access", ACCESSES)
@pytest.mark.parametrize("partnership", sorted(PARTNERSHIPS))
@pytest.mark.parametrize("entry", [
    database_entry("db", "Sales", mode="offline"),
    database_entry("db", "Sales", mode="online", target="vm-prod"),
    database_entry("db", "Sales", target="db-prod", sourceFreeze="singleUser"),
], ids=["offlineRestore", "onlineRestore", "sqlDbCopy"])
def test_preflight_refuses_a_source_whose_freeze_sql_server_refuses(rehearsal_world, access, partnership, entry):
    """SQL Server refuses SET READ_ONLY and SET SINGLE_USER on a database in an availability group or a mirroring
    session (1468): before, preflight passed, DMS started, and the freeze failed after it (offline: after the full
    backup's restore; online: at the cutover), the rollback canceling the migration."""
    plan, dag, world = setup(rehearsal_world, access, entry)
    world.world.update_database("sql01", "Sales", **PARTNERSHIPS[partnership])

    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "Sales" in message and "1468" in message and "Nothing is started" in message
    assert ("REMOVE DATABASE [Sales]" if partnership == "availabilityGroup" else "SET PARTNER OFF") in message


@pytest.mark.parametrize("access", ACCESSES)
def test_a_sqldb_copy_that_never_freezes_its_source_passes_preflight_in_an_availability_group(rehearsal_world, access):
    """allowSourceWritesDuringCopy: nothing is frozen, so nothing SQL Server would refuse."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", target="db-prod", allowSourceWritesDuringCopy=True))
    world.world.update_database("sql01", "Sales", availabilityGroup="ag-sales")

    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


def test_an_availability_group_is_not_judged_before_sql_server_2012(rehearsal_world):
    """sys.databases has no group_database_id before SQL Server 2012 (nor are there availability groups): the batch
    names it only behind the version check, and compiles there."""
    plan, dag, world = setup(rehearsal_world, "direct", database_entry("db", "Sales", mode="offline"))
    with world.world.transaction() as state:
        state["servers"]["sql01"]["productMajorVersion"] = 10
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


@pytest.mark.airflow26
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


@pytest.mark.airflow26
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


THUMBPRINT = "0x5E1F0A2B3C4D5E6F708192A3B4C5D6E7F8091A2B"


def encrypt_source(world, plan):
    """TDE on the source, and a full backup taken since (TDE encrypts it) in the share."""
    world.world.update_database("sql01", "Sales", encryptorThumbprint=THUMBPRINT)
    share = plan.source_of(plan.database("db")).backup_file_share.path
    world.world.take_backup("sql01", "Sales", "FULL", share + "\\Sales_encrypted.bak")


@pytest.mark.airflow26
@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_refuses_a_tde_source_whose_sql_vm_lacks_its_certificate(rehearsal_world, access):
    """Backups of a TDE-encrypted database restore only where the certificate protecting its
    encryption key is (with its private key): DMS would fail the restore, an offline one after the
    freeze. A certificate of that thumbprint without its private key does not open it either."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", mode="offline", target="vm-prod"))
    encrypt_source(world, plan)
    world.world.add_server_key("vm1", THUMBPRINT, private_key=False)

    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert THUMBPRINT in message and "vm-prod" in message and "CREATE CERTIFICATE" in message


@pytest.mark.parametrize("kind", ["certificate", "asymmetricKey"])
def test_a_tde_source_migrates_to_a_sql_vm_holding_its_key(rehearsal_world, kind):
    plan, dag, world = setup(rehearsal_world, "direct", database_entry("db", "Sales", mode="offline", target="vm-prod"))
    encrypt_source(world, plan)
    world.world.add_server_key("vm1", THUMBPRINT.lower(), kind=kind)
    driver = RunDriver(dag)
    driver.run_database("db")
    assert driver.outcome("db") == "migrated", driver.errors


def test_a_tde_source_to_a_managed_instance_is_left_to_dms(rehearsal_world):
    """A certificate uploaded to a managed instance is not visible in sys.certificates and ARM
    cannot read it back: preflight cannot judge it. Without it DMS fails the restore (online:
    before anything froze) and the rollback leaves the source as it was."""
    plan, dag, world = setup(rehearsal_world, "direct", database_entry("db", "Sales"))
    encrypt_source(world, plan)
    driver = RunDriver(dag)
    states = driver.run_database("db")
    assert states["db.preflight"] == "success" and states["db.wait_for_migration"] == "failed"
    assert "Cannot find server certificate" in driver.errors["db.wait_for_migration"] and world.source_writable()


@pytest.mark.airflow26
@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_refuses_a_restore_whose_source_login_lacks_control_server(rehearsal_world, access):
    """DMS's source login must be in sysadmin or hold CONTROL SERVER (Microsoft's prerequisite);
    the DAG's session runs as that login in both SQL accesses of the rehearsal."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", mode="offline"))
    world.world.set_login("sql01", REHEARSAL_LOGIN, ["VIEW SERVER STATE"], {"Sales": ["CONTROL"]})

    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "CONTROL SERVER" in message and REHEARSAL_LOGIN in message and "sql01" in message


@pytest.mark.parametrize("access", ACCESSES)
def test_a_restores_login_refusal_comes_first_though_the_backup_history_and_the_files_are_hidden_from_it(rehearsal_world, access):
    """The prerequisites are read in one batch and judged in their order: msdb's history refused to the login and
    its files unseen, the login's missing CONTROL SERVER is still what preflight says."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", mode="offline", target="vm-prod"))
    world.world.set_login("sql01", REHEARSAL_LOGIN, [], {"Sales": ["CONTROL"], "msdb": ["CONNECT"]})

    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "lacks CONTROL SERVER" in message and "backupset" not in message


def test_preflight_passes_a_source_login_granted_control_server(rehearsal_world):
    plan, dag, world = setup(rehearsal_world, "direct", database_entry("db", "Sales", mode="offline"))
    world.world.set_login("sql01", REHEARSAL_LOGIN, ["CONTROL SERVER"])
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


@pytest.mark.airflow26
@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_refuses_a_sqldb_copy_whose_source_login_cannot_read_the_source(rehearsal_world, access):
    """A copy needs the source login in db_datareader (SELECT on the database); a login with no
    user in the database cannot read it either."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", target="db-prod"))
    for grants in ({"Sales": ["CONNECT"]}, {}):
        world.world.set_login("sql01", REHEARSAL_LOGIN, [], grants)
        driver = RunDriver(dag)
        message = refused(driver, world, driver.run_database("db"))
        assert "db_datareader" in message and "Sales" in message


@pytest.mark.airflow26
@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_refuses_a_sqldb_copy_whose_source_login_would_read_masked_columns_as_their_masks(rehearsal_world, access):
    """dbo.Customers.Name is under dynamic data masking: DMS reads rows through the source login, which without UNMASK
    reads (and would copy) the masks in place of the names. Was: the copy started, froze the source and wrote the
    masks into the target. Now preflight refuses it, nothing started or frozen; with UNMASK it passes."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", target="db-prod"))
    with world.world.transaction() as state:
        state["servers"]["sql01"]["databases"]["sales"]["tables"]["dbo.Customers"]["columns"][1]["masked"] = True
    world.world.set_login("sql01", REHEARSAL_LOGIN, [], {"Sales": ["SELECT", "VIEW DEFINITION"]})  # sees every sequence
    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "lacks UNMASK" in message and "1 column(s) under dynamic data masking" in message and "GRANT UNMASK" in message

    world.world.set_login("sql01", REHEARSAL_LOGIN, [], {"Sales": ["SELECT", "VIEW DEFINITION", "UNMASK"]})
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


def test_preflight_of_a_sqldb_copy_from_a_source_before_2016_does_not_judge_masking(rehearsal_world):
    """SQL Server 2014 has no dynamic data masking, nor sys.masked_columns: that part reads unread, and is not judged."""
    plan, dag, world = setup(rehearsal_world, "direct", database_entry("db", "Sales", target="db-prod"))
    with world.world.transaction() as state:
        state["servers"]["sql01"]["productMajorVersion"] = 12
    world.world.set_login("sql01", REHEARSAL_LOGIN, [], {"Sales": ["SELECT", "VIEW DEFINITION"]})  # sees every sequence
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


def mask_customer_names(world):
    with world.world.transaction() as state:
        state["servers"]["sql01"]["databases"]["sales"]["tables"]["dbo.Customers"]["columns"][1]["masked"] = True


def log_the_factory_in_to_the_source_as(plan, world, login):
    """The source's linked service connection string names `login`, not DMS's (the Airflow connection's)."""
    secret = plan.source_of(plan.database("db")).connection_string_secret_name
    with world.world.transaction() as state:
        state[SECRETS][secret] = state[SECRETS][secret].replace("User ID=" + REHEARSAL_LOGIN, "User ID=" + login)


@pytest.mark.parametrize("entry", [
    database_entry("db", "Sales", mode="offline", checksums=True),
    database_entry("db", "Sales", target="db-prod", checksums=True),
], ids=["restoreToSqlMi", "sqlDbCopy"])
def test_preflight_refuses_a_migration_whose_validation_would_read_the_sources_masked_columns_as_their_masks(rehearsal_world, entry):
    """Through Data Factory validation reads the source as the linked service's login, which may not be DMS's. Without
    UNMASK it reads dbo.Customers.Name, under dynamic data masking, as its mask, and validation's checksums fail that
    table, after the cutover. Was: preflight passed (DMS's login was judged only). Now it refuses, nothing started or
    frozen; with UNMASK, or without checksums, it passes."""
    plan, dag, world = setup(rehearsal_world, "dataFactory", entry)
    mask_customer_names(world)
    log_the_factory_in_to_the_source_as(plan, world, "validator")
    world.world.set_login("sql01", "validator", [], {"Sales": ["SELECT", "VIEW DEFINITION"]})
    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "validation compares checksums" in message and "as validator, which lacks UNMASK" in message
    assert "1 column(s) under dynamic data masking" in message and "in Sales, GRANT UNMASK" in message

    world.world.set_login("sql01", "validator", [], {"Sales": ["SELECT", "VIEW DEFINITION", "UNMASK"]})
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


@pytest.mark.airflow26
def test_preflight_refuses_a_sqldb_copy_whose_validation_would_read_the_targets_masked_columns_as_their_masks(
        rehearsal_world):
    """A SqlDb copy's target schema, deployed before, has its own masks; through Data Factory validation reads the
    target as the factory's managed identity, not DMS's login (which owns the database, so holds UNMASK), and without
    UNMASK there its checksums fail the masked table after the cutover. Was: only the source's logins were judged,
    preflight passed. Now it refuses, naming the login and the GRANT in the target database; with UNMASK it passes."""
    target_login = "factory-managed-identity"
    plan, dag, world = setup(rehearsal_world, "dataFactory", database_entry("db", "Sales", target="db-prod", checksums=True))
    with world.world.transaction() as state:
        target = state["servers"][world.target_server]["databases"]["sales"]
        target["tables"]["dbo.Customers"]["columns"][1]["masked"] = True
    world.world.set_login(world.target_server, target_login, DEFINITION_READER, {"Sales": ["SELECT", "VIEW DEFINITION"]})
    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "reads SqlDb target database Sales on db-prod as %s, which lacks UNMASK" % target_login in message
    assert "1 column(s) under dynamic data masking" in message and "in Sales, GRANT UNMASK" in message

    world.world.set_login(world.target_server, target_login, DEFINITION_READER, {"Sales": ["SELECT", "VIEW DEFINITION", "UNMASK"]})
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


@pytest.mark.parametrize("access, login", [("direct", REHEARSAL_LOGIN), ("dataFactory", "factory-managed-identity")])
def test_preflight_says_why_a_sqldb_target_its_login_may_not_see_in_master_reads_absent(rehearsal_world, access, login):
    """The DAG reads a SqlDb target's state in the logical server's master (sys.databases), where a login that does not
    own the database sees its row only with VIEW ANY DATABASE (or ALTER ANY DATABASE, or CREATE DATABASE in master):
    db_owner of the target (what DMS's target login needs) or a plain user of master (the factory's managed identity)
    sees none, and the existing target reads absent. Was: preflight said only that it "must exist", sending a person
    to deploy a database that is there. Now it names the likely cause and the grant; with ##MS_DefinitionReader##'s
    VIEW ANY DATABASE the same login passes."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", target="db-prod"))
    world.world.set_login(world.target_server, login, [], {"Sales": ["CONTROL"], "master": []})
    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "SqlDb target database Sales must exist, with its schema, before the migration: master's sys.databases on " \
           "db-prod shows no row for it. If it exists, a login that neither owns it nor holds VIEW ANY DATABASE" in message
    assert "ALTER SERVER ROLE ##MS_DefinitionReader## ADD MEMBER [<login>]" in message

    world.world.set_login(world.target_server, login, DEFINITION_READER, {"Sales": ["CONTROL"], "master": []})
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


@pytest.mark.airflow26
@pytest.mark.parametrize("access, login", [("direct", REHEARSAL_LOGIN), ("dataFactory", "factory-managed-identity")])
def test_preflight_refuses_a_restore_whose_target_login_may_not_see_every_database(rehearsal_world, access, login):
    """A hardened managed instance revoked VIEW ANY DATABASE from public: the login the DAG reads the target with,
    holding it no other way, sees no row of a target database in master's sys.databases whether or not it exists, so
    no row is not absence (one there would fail DMS's restore, one live may be in use). Was: read absent, the migration
    went ahead. Refused, nothing started, naming the login and the grant; with VIEW ANY DATABASE it passes."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", mode="offline"))
    world.world.revoke_view_any_database_from_public(world.target_server)
    world.world.set_login(world.target_server, login, ["VIEW SERVER STATE"], {"master": []})
    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "target database Sales on mi-prod: master's sys.databases there shows login %s no row for it" % login in message
    assert "GRANT VIEW ANY DATABASE TO [%s]" % login in message and "Nothing is started" in message

    world.world.set_login(world.target_server, login, ["VIEW SERVER STATE", "VIEW ANY DATABASE"], {"master": []})
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


@pytest.mark.airflow26
@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_says_a_source_its_login_may_not_see_is_hidden_not_missing(rehearsal_world, access):
    """A hardened source server revoked VIEW ANY DATABASE from public: the DAG's source login (a SqlDb copy's holds only
    rights in the database, as Microsoft asks) sees no row of the source in master's sys.databases though it exists.
    Was: "source database Sales not found on sql01", sending a person after a database that is there. Refused, nothing
    started, naming the login and the grant; owning the source, or with VIEW ANY DATABASE, it passes."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", target="db-prod"))
    world.world.revoke_view_any_database_from_public("sql01")
    world.world.set_login("sql01", REHEARSAL_LOGIN, [], {"Sales": ["SELECT", "VIEW DEFINITION"]})  # sees every sequence
    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "source database Sales on sql01: master's sys.databases there shows login %s no row" % REHEARSAL_LOGIN in message
    assert "GRANT VIEW ANY DATABASE TO [%s]" % REHEARSAL_LOGIN in message and "Nothing is started" in message
    assert "not found" not in message  # and its rollback, with nothing of the source to undo, passes (`refused`)

    world.world.update_database("sql01", "Sales", owner=REHEARSAL_LOGIN)  # its owner sees its row without the grant
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors
    world.world.update_database("sql01", "Sales", owner=None)
    world.world.set_login("sql01", REHEARSAL_LOGIN, ["VIEW ANY DATABASE"], {"Sales": ["SELECT", "VIEW DEFINITION"]})
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


@pytest.mark.airflow26
@pytest.mark.parametrize("entry, masked_on, access", [
    (database_entry("db", "Sales", mode="offline", checksums=True), "source", "dataFactory"),
    (database_entry("db", "Sales", mode="offline", checksums=True), "restored", "direct"),
    (database_entry("db", "Sales", target="db-prod", checksums=True), "source", "dataFactory"),
    (database_entry("db", "Sales", target="db-prod", checksums=True), "target", "dataFactory"),
], ids=["restoreToSqlMi", "restoreToSqlMiTargetLogin", "sqlDbCopy", "sqlDbCopyTarget"])
def test_preflight_judges_masking_only_in_the_tables_validation_compares(rehearsal_world, entry, masked_on, access):
    """validation.tables lists dbo.Orders: validation reads no other table, so masks on dbo.Customers (the source's,
    the restored copy of them, or a SqlDb target's) read as masks fail nothing. Was: preflight counted every masked
    column of the database and refused a migration validation would pass; with dbo.Customers listed (in another
    letter case) it still refuses, naming it."""
    entry["validation"]["tables"] = ["dbo.Orders"]
    plan, dag, world = setup(rehearsal_world, access, entry)
    server = world.target_server if masked_on == "target" else "sql01"
    with world.world.transaction() as state:
        state["servers"][server]["databases"]["sales"]["tables"]["dbo.Customers"]["columns"][1]["masked"] = True
    if masked_on == "restored":
        world.world.set_login("mi-contoso-prod", REHEARSAL_LOGIN, ["VIEW SERVER STATE", "VIEW ANY DATABASE"])
    else:
        login = "validator" if masked_on == "source" else "factory-managed-identity"
        if masked_on == "source":
            log_the_factory_in_to_the_source_as(plan, world, login)
        world.world.set_login(server, login, DEFINITION_READER if server == world.target_server else [],
                              {"Sales": ["SELECT", "VIEW DEFINITION"]})
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors

    entry["validation"]["tables"] = ["dbo.Orders", "DBO.customers"]
    document = plan_with_databases([entry])
    if access == "dataFactory":
        document["airflow"] = load_plan_document("fabric_host.json")["airflow"]
    driver = RunDriver(build_dag(parse_plan(document), {"MIGRATION_DRY_RUN": "1"}))
    message = refused(driver, world, driver.run_database("db"))
    assert "1 column(s) under dynamic data masking (sys.masked_columns) in 1 of the tables validation compares (dbo.Customers)" in message
    assert ("which lacks CONTROL SERVER" if masked_on == "restored" else "which lacks UNMASK") in message


@pytest.mark.airflow26
def test_masks_in_tables_not_told_apart_are_all_judged_and_listed_names_match_as_loosely_as_a_collation_may():
    """More masked columns than the prerequisites batch lists (`MASKED_COLUMNS_READ`): which tables hold them is not
    known, so all of the database's count, as before. A listed name matches a masked table's in any collation's way
    (case, accents, trailing spaces aside): validation's batch matches them in the database's, which Python does not
    know; a match too loose can only refuse."""
    from types import SimpleNamespace

    from migration_orchestration_lib.migration_prerequisites import check_validation_unmasks
    from migration_orchestration_lib.sql_statements import LoginPermission, MaskedTable, SourcePrerequisites
    from migration_orchestration_lib.step_context import StepFailure
    from migration_orchestration_lib.table_names import TableName

    entry = database_entry("db", "Sales", mode="offline", checksums=True)
    entry["validation"]["tables"] = ["dbo.Orders", "DBO.cafe"]
    ctx = SimpleNamespace(database=parse_plan(plan_with_databases([entry])).database("db"))
    cut_off = SourcePrerequisites(login=LoginPermission("validator", True), masked_columns=150, unmask=False)
    with pytest.raises(StepFailure, match=r"so it would read 150 column\(s\) under dynamic data masking \(sys.masked_columns\) as their masks"):
        check_validation_unmasks(ctx, cut_off)
    elsewhere = dataclasses.replace(cut_off, masked_tables=(MaskedTable(TableName("dbo", "Customers"), 150),))
    check_validation_unmasks(ctx, elsewhere)
    accented = dataclasses.replace(cut_off, masked_tables=(MaskedTable(TableName("dbo", "Café "), 2),))
    with pytest.raises(StepFailure, match=r"2 column\(s\) .* in 1 of the tables validation compares \(dbo.\[Café \]\)"):
        check_validation_unmasks(ctx, accented)

    # The plan lists names in ASCII: a table named Œuvres is listed as Oeuvres, which N'Œuvres' = N'Oeuvres' in a
    # Windows collation's comparison (the default ones' for nvarchar: sysname) matches; Øresund as Oresund (accents
    # aside); Ord<soft hyphen>ers as Orders (a character of no weight).
    entry["validation"]["tables"] = ["dbo.Oeuvres", "dbo.Oresund", "dbo.Orders"]
    ctx = SimpleNamespace(database=parse_plan(plan_with_databases([entry])).database("db"))
    for table in ("Œuvres", "Øresund", "Ord\u00aders"):
        spelled = dataclasses.replace(cut_off, masked_tables=(MaskedTable(TableName("dbo", table), 3),))
        with pytest.raises(StepFailure, match=r"3 column\(s\) .* in 1 of the tables validation compares"):
            check_validation_unmasks(ctx, spelled)


def test_preflight_does_not_judge_masking_where_validation_compares_no_checksums(rehearsal_world):
    plan, dag, world = setup(rehearsal_world, "dataFactory", database_entry("db", "Sales", mode="offline"))
    mask_customer_names(world)
    log_the_factory_in_to_the_source_as(plan, world, "validator")
    world.world.set_login("sql01", "validator", [], {"Sales": ["SELECT", "VIEW DEFINITION"]})
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


@pytest.mark.airflow26
@pytest.mark.parametrize("access, target_login", [("direct", REHEARSAL_LOGIN), ("dataFactory", "factory-managed-identity")])
def test_preflight_refuses_a_restore_whose_validation_would_read_the_restored_masked_columns_as_their_masks(
        rehearsal_world, access, target_login):
    """The restored database keeps the source's masks; validation reads it as the DAG's target login (direct: the
    plan's target connection; Data Factory: the factory's managed identity). The database does not exist before the
    restore, so no UNMASK can be granted in it: CONTROL SERVER on the target is what gives it one. Was: preflight
    passed, and validation failed the masked table after the cutover. Now it refuses, naming the login and the grant;
    with CONTROL SERVER it passes."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", mode="offline", checksums=True))
    mask_customer_names(world)
    world.world.set_login("mi-contoso-prod", target_login, ["VIEW SERVER STATE", "VIEW ANY DATABASE"])
    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "1 column(s) under dynamic data masking" in message and "as %s, which lacks CONTROL SERVER" % target_login in message
    assert "GRANT CONTROL SERVER TO [%s]" % target_login in message and "does not exist before the restore" in message

    world.world.set_login("mi-contoso-prod", target_login, ["CONTROL SERVER"])
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_refuses_a_sqldb_copy_whose_target_sequences_are_behind_the_sources_already(rehearsal_world, access):
    """DMS copies rows only, and the source's sequences only advance until the freeze: a target sequence behind the
    source's at preflight is behind after the copy, and validation fails it then, the rollback handing the writes back
    to the source after hours of copying. Was: the copy started (and froze the source). Now preflight refuses it,
    naming the sequence; a target sequence beyond the source's passes."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", target="db-prod"))
    world.world.update_database("sql01", "Sales", sequences={"dbo.OrderNumbers": {"currentValue": 100, "increment": 1}})
    world.world.update_database(world.target_server, "Sales", sequences={"dbo.OrderNumbers": {"currentValue": 1, "increment": 1}})
    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "has 1 sequence(s) not ahead of the source's already" in message and "sequence dbo.OrderNumbers: at 100 on source, 1" in message
    assert "RESTART each with a value beyond what the source's will have reached by the freeze" in message

    world.world.update_database(world.target_server, "Sales", sequences={"dbo.OrderNumbers": {"currentValue": 1000000, "increment": 1}})
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


@pytest.mark.airflow26
@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_refuses_a_sqldb_copy_whose_source_login_may_not_see_every_sequence(rehearsal_world, access):
    """The DAG's source login holds SELECT on the database (db_datareader), which shows it every table but no
    sequence (sys.sequences: metadata visibility). Was: preflight compared the sequences it saw (none) and the copy
    started, its target sequence behind the source's; validation compared none either and declared it migrated (now
    validation refuses such a login: a copy of hours would fail it). Now preflight refuses, naming the GRANT; with
    VIEW DEFINITION on the database the same copy passes."""
    from migration_orchestration_lib.rehearsal import REHEARSAL_LOGIN

    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", target="db-prod"))
    world.world.update_database("sql01", "Sales", sequences={"dbo.OrderNumbers": {"currentValue": 100, "increment": 1}})
    world.world.update_database(world.target_server, "Sales", sequences={"dbo.OrderNumbers": {"currentValue": 1, "increment": 1}})
    world.world.set_login("sql01", REHEARSAL_LOGIN, ["VIEW SERVER STATE"], {"Sales": ["CONNECT", "SELECT"]})
    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "the DAG's login on source server sql01 may not see every sequence of database [Sales]" in message, message
    assert "GRANT VIEW DEFINITION TO <its user>" in message, message

    world.world.set_login("sql01", REHEARSAL_LOGIN, ["VIEW SERVER STATE"], {"Sales": ["CONNECT", "SELECT", "VIEW DEFINITION"]})
    world.world.update_database(world.target_server, "Sales", sequences={"dbo.OrderNumbers": {"currentValue": 1000000, "increment": 1}})
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


@pytest.mark.airflow26
@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_passes_a_sqldb_copy_whose_source_login_holds_alter_any_schema(rehearsal_world, access):
    """ALTER ANY SCHEMA on the database (db_ddladmin's kind of grant) implies ALTER on every schema and so on every
    sequence: sys.sequences shows them all. Was: refused as a login that may not see every sequence."""
    from migration_orchestration_lib.rehearsal import REHEARSAL_LOGIN

    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", target="db-prod"))
    world.world.update_database("sql01", "Sales", sequences={"dbo.OrderNumbers": {"currentValue": 100, "increment": 1}})
    world.world.update_database(world.target_server, "Sales", sequences={"dbo.OrderNumbers": {"currentValue": 1000000, "increment": 1}})
    world.world.set_login("sql01", REHEARSAL_LOGIN, ["VIEW SERVER STATE"], {"Sales": ["CONNECT", "SELECT", "ALTER ANY SCHEMA"]})
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors

    world.world.update_database(world.target_server, "Sales", sequences={"dbo.OrderNumbers": {"currentValue": 1, "increment": 1}})
    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))  # it sees the sequence behind, as with VIEW DEFINITION
    assert "sequence dbo.OrderNumbers: at 100 on source, 1" in message, message


@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_passes_a_sqldb_copy_whose_sequences_never_handed_out_a_value_from_2017_on(rehearsal_world, access):
    """A sequence never used reads current_value START WITH on both sides, alike: from SQL Server 2017 (and on Azure
    SQL) last_used_value NULL tells it, and such a source sequence needs nothing. Was: refused, every SqlDb plan with
    an unused sequence RESTARTed by hand. A SQL Server 2016 source cannot tell: still refused there."""
    unused = {"dbo.OrderNumbers": {"currentValue": 1, "increment": 1, "lastUsedValue": None}}
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", target="db-prod"))
    world.world.update_database("sql01", "Sales", sequences=unused)
    world.world.update_database(world.target_server, "Sales", sequences=unused)
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors

    with world.world.transaction() as state:
        state["servers"]["sql01"]["productMajorVersion"] = 13
    driver = RunDriver(dag)
    assert "sequence dbo.OrderNumbers: at 1 on source, 1 on target" in refused(driver, world, driver.run_database("db"))


@pytest.mark.parametrize("access, judged", [("direct", True), ("dataFactory", False)])
def test_a_sqldb_target_login_that_is_not_db_owner_is_refused_where_the_dag_logs_in_as_it(rehearsal_world, access, judged):
    """DMS's target login must be in db_owner of the target database. Through Data Factory the
    factory's managed identity logs in to the target, not DMS's login: that side is not judged."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", target="db-prod"))
    world.world.set_login("sqlprod", REHEARSAL_LOGIN, [], {"Sales": ["SELECT", "INSERT"]})
    driver = RunDriver(dag)
    if judged:
        message = refused(driver, world, driver.run_database("db"))
        assert "db_owner" in message and "db-prod" in message
    else:
        assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


@pytest.mark.parametrize("access", ACCESSES)
def test_preflight_refuses_a_restore_into_a_managed_instance_without_room(rehearsal_world, access):
    """A restore creates the source's data and log files at their size; the managed instance's
    reserved storage minus what its databases use must hold them."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", mode="offline"))
    world.world.update_database("sql01", "Sales", sizeMb=40000)
    with world.world.transaction() as state:
        state["servers"]["mi-contoso-prod"]["reservedStorageMb"] = 32768

    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "mi-prod" in message and "40000 MB" in message and "storageSizeInGB" in message


def test_preflight_passes_a_managed_instance_with_room(rehearsal_world):
    plan, dag, world = setup(rehearsal_world, "direct", database_entry("db", "Sales", mode="offline"))
    world.world.update_database("sql01", "Sales", sizeMb=40000)
    with world.world.transaction() as state:
        state["servers"]["mi-contoso-prod"]["reservedStorageMb"] = 65536
    driver = RunDriver(dag)
    driver.run_database("db")
    assert driver.outcome("db") == "migrated", driver.errors


def sales_of(world, size_mb, log_mb):
    world.world.update_database("sql01", "Sales", sizeMb=size_mb, logSizeMb=log_mb)


@pytest.mark.parametrize("access", ACCESSES)
@pytest.mark.parametrize("volume, volume_mb, files, needed_mb", [("F:\\", 20000, "data", 30000), ("G:\\", 5000, "log", 10000)])
def test_preflight_refuses_a_restore_into_a_sql_vm_whose_volume_lacks_room(rehearsal_world, access, volume, volume_mb, files, needed_mb):
    """SQL Server creates a restored database's files at their size on the source, data files in its
    default data path and log files in its default log path: DMS's restore fails where that volume
    cannot hold them, an offline migration's after the freeze."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", mode="offline", target="vm-prod"))
    sales_of(world, 40000, 10000)
    world.world.set_volume("vm1", volume, volume_mb)

    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "vm-prod" in message and volume in message and "%d MB free" % volume_mb in message
    assert "needs %d MB" % needed_mb in message and files in message and "Sales" in message


@pytest.mark.airflow26
def test_preflight_adds_up_data_and_log_files_going_to_one_volume(rehearsal_world):
    plan, dag, world = setup(rehearsal_world, "direct", database_entry("db", "Sales", mode="offline", target="vm-prod"))
    sales_of(world, 40000, 10000)
    world.world.set_default_paths("vm1", "F:\\sql\\data\\", "F:\\sql\\log\\")
    world.world.set_volume("vm1", "F:\\", 35000)  # room for the data files (30000 MB) or the log (10000 MB), not both

    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "F:\\" in message and "needs 40000 MB" in message and "data and log" in message


def test_a_restore_migrates_to_a_sql_vm_whose_volumes_hold_its_files_exactly(rehearsal_world):
    plan, dag, world = setup(rehearsal_world, "direct", database_entry("db", "Sales", mode="offline", target="vm-prod"))
    sales_of(world, 40000, 10000)
    world.world.set_volume("vm1", "F:\\", 30000)
    world.world.set_volume("vm1", "G:\\", 10000)
    driver = RunDriver(dag)
    driver.run_database("db")
    assert driver.outcome("db") == "migrated", driver.errors


def test_a_sql_vm_before_2017_is_judged_through_the_files_already_on_its_volumes(rehearsal_world):
    """Before SQL Server 2017 (no sys.dm_os_enumerate_fixed_drives) a volume shows only through a
    database file on it (sys.dm_os_volume_stats)."""
    plan, dag, world = setup(rehearsal_world, "direct", database_entry("db", "Sales", mode="offline", target="vm-prod"))
    with world.world.transaction() as state:
        state["servers"]["sql01"]["productMajorVersion"] = state["servers"]["vm1"]["productMajorVersion"] = 13
    sales_of(world, 40000, 10000)
    world.world.set_volume("vm1", "F:\\", 20000)
    world.world.put_database("vm1", "Other")  # its data file on F:\, its log file on G:\

    driver = RunDriver(dag)
    message = refused(driver, world, driver.run_database("db"))
    assert "F:\\" in message and "needs 30000 MB" in message


@pytest.mark.airflow26
@pytest.mark.parametrize("unreadable", ["no volume seen", "no default paths", "no VIEW SERVER STATE"])
def test_a_sql_vms_room_that_cannot_be_read_is_not_judged(rehearsal_world, unreadable):
    """Before SQL Server 2017 a volume without a database file on it cannot be seen; before 2012's
    late-2015 updates SQL Server reports no default paths; the volume views need VIEW SERVER STATE.
    What cannot be read is left to DMS, as the other checks do, rather than refused."""
    plan, dag, world = setup(rehearsal_world, "direct", database_entry("db", "Sales", mode="offline", target="vm-prod"))
    sales_of(world, 40000, 10000)
    world.world.set_volume("vm1", "F:\\", 20000)
    if unreadable == "no volume seen":
        with world.world.transaction() as state:
            state["servers"]["sql01"]["productMajorVersion"] = state["servers"]["vm1"]["productMajorVersion"] = 13
    elif unreadable == "no default paths":
        world.world.set_default_paths("vm1", None, None)
    else:
        world.world.set_login("vm1", REHEARSAL_LOGIN, ["CREATE ANY DATABASE"], {"Sales": ["CONTROL"]})
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("db.preflight")) == "success", driver.errors


def test_a_tde_source_migrates_to_a_managed_instance_holding_its_uploaded_certificate(rehearsal_world):
    plan, dag, world = setup(rehearsal_world, "direct", database_entry("db", "Sales"))
    encrypt_source(world, plan)
    world.world.add_server_key("mi-contoso-prod", THUMBPRINT, kind="uploaded")
    driver = RunDriver(dag)
    driver.run_database("db")
    assert driver.outcome("db") == "migrated", driver.errors


@pytest.mark.parametrize("access, target, server, key", [  # through Data Factory the factory's identity logs in to a managed instance
    ("direct", "mi-prod", "mi-contoso-prod", "uploaded"), ("direct", "vm-prod", "vm1", "certificate"), ("dataFactory", "vm-prod", "vm1", "certificate"),
])
def test_what_the_dags_target_login_may_not_see_is_not_judged(rehearsal_world, access, target, server, key):
    """sys.server_resource_stats needs VIEW SERVER STATE, and master's certificates are shown only to a
    login with VIEW ANY DEFINITION (metadata visibility). The DAG's target login needs neither to
    migrate (it reads tables, drops a restoring target): a check it cannot read is left to DMS, not a
    failed preflight nor a refusal of a certificate that is there."""
    plan, dag, world = setup(rehearsal_world, access, database_entry("db", "Sales", mode="offline", target=target))
    encrypt_source(world, plan)
    world.world.add_server_key(server, THUMBPRINT, kind=key)
    world.world.set_login(server, REHEARSAL_LOGIN, ["CREATE ANY DATABASE"], {"Sales": ["CONTROL"]})  # dbcreator's
    driver = RunDriver(dag)
    driver.run_database("db")
    assert driver.outcome("db") == "migrated", driver.errors
