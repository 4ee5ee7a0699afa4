"""Several restores into one target: the plan's databases restored into the same managed instance or
SQL VM in the same run must fit together, not each alone. `start_migration` (one admission at a
time) counts this database's files with those of the plan's restores into that target that DMS
runs already and that have not created their files yet; preflight judges each database alone
(`test_preflight.py`). A database that depends on another (a later wave) is judged when its own
turn comes, with what the earlier ones restored by then."""
from __future__ import annotations

import pytest

from conftest import database_entry, load_plan_document, plan_with_databases
from migration_orchestration_lib.airflow_compat import AIRFLOW_3
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal import REHEARSAL_LOGIN, seed_world
from migration_rehearsal.data_factory_server import RUNS, DataFactoryServer, load_definitions
from task_driver import RunDriver
from world_view import WorldView

# On Python 3.8 (airflow26) the tests marked below run: with that run's others they reach every line and branch of
# the DAG's code all of this file's tests reach there (dags/README.md, "Python 3.8").

ACCESSES = ["direct", "dataFactory"]
# The remedies' runs after a refusal: the same driver logic on every Airflow, so through Data Factory on 3.3 only; the
# admissions above prove the Data Factory path on 2.6.3 (Python 3.8, the Data Factory host's), and direct runs there too.
REMEDY_ACCESSES = ["direct", pytest.param("dataFactory", marks=pytest.mark.skipif(
    not AIRFLOW_3, reason="the remedies through Data Factory run on Airflow 3.3; the admissions prove that path on 2.6.3"))]
MI = "mi-contoso-prod"
# With `sqlAccess: dataFactory`, what reads a target's room: a SQL VM's through the self-hosted integration runtime,
# a managed instance's through the managed virtual network's.
RUNTIME_OF_TARGET = {target: load_definitions()["linkedServices"][service]["connectVia"]["referenceName"]
                     for target, service in (("vm-prod", "ls_migration_sql_self_hosted"), ("mi-prod", "ls_migration_sql_managed_instance"))}


def setup(directory, access, *entries):
    document = plan_with_databases(list(entries))
    if access == "dataFactory":
        document["airflow"] = load_plan_document("fabric_host.json")["airflow"]
    plan = parse_plan(document)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    views = {d.name: WorldView(directory, d, plan) for d in plan.databases}
    seed_world(views[plan.databases[0].name].world, plan)
    return plan, dag, views, views[plan.databases[0].name].world


def same_wave(target="mi-prod", mode="offline"):
    return database_entry("sales", "Sales", mode=mode, target=target), database_entry("hr", "Hr", mode=mode, target=target)


def sizes(world, **databases):
    for name, (size_mb, log_mb) in databases.items():
        world.update_database("sql01", name, sizeMb=size_mb, logSizeMb=log_mb)


def room_reads(world, driver, database):
    """With `sqlAccess: dataFactory`: the integration runtimes through which `database`'s steps in the driver's run read
    its target's room (pipeline runs: preflight's, start_migration's admission)."""
    factory, prefix = DataFactoryServer(world), "%s:%s:" % (driver.run_id, database)
    return {factory.runtime_of(run["pipelineName"]) for run in world.snapshot().get(RUNS, {}).values()
            if run["parameters"]["operationKey"].startswith(prefix) and "room" in run["parameters"]["operationKey"]
            and run["parameters"]["operationKey"].endswith(":target")}


def admit_sales_then_hr(dag):
    """Both preflights pass (each fits alone), then sales is admitted: its migration is in DMS."""
    driver = RunDriver(dag)
    for task in ("sales.preflight", "hr.preflight", "sales.start_migration"):
        assert driver._run_task(dag.get_task(task)) == "success", driver.errors
    return driver, driver._run_task(dag.get_task("hr.start_migration"))


def sales_goes_on_after_its_admission(driver):
    """The first run's Sales goes on from the task after `start_migration` (its backup now in the share)."""
    chain = [task.task_id for task in driver.chain("sales")]
    driver.run_database("sales", start=chain.index("sales.start_migration") + 1)
    assert driver.outcome("sales") == "migrated", driver.errors


def full_backup_not_in_the_share_yet(plan, world, database):
    """DMS runs the migration but waits for the full backup, so its restore has not begun: nothing
    of it is on the target (as while DMS uploads a large backup). Returns what puts one there."""
    share = plan.source_of(plan.database(database)).backup_file_share.path
    source = plan.database(database).source_database
    with world.transaction() as state:
        for backup in state["backups"]["sql01"]:
            if backup["database"] == source:
                backup["path"] = "D:\\local\\" + backup["fileName"]
    return lambda: world.take_backup("sql01", source, "FULL", "%s\\%s_late.bak" % (share, source))


def hr_refused_for_room_beside_sales(directory, access, target="mi-prod"):
    """Sales (20000 MB) admitted into `target`, DMS not yet restoring it (its full backup not in the share); Hr
    (15000 MB) refused at its admission beside it: no room for both. Returns the plan, DAG, views, world, the first
    run's driver and what puts Sales' backup in the share."""
    plan, dag, views, world = setup(directory, access, *same_wave(target=target))
    sizes(world, Sales=(20000, 4000), Hr=(15000, 3000))
    if target == "vm-prod":
        world.set_volume("vm1", "F:\\", 25000)  # data files: Sales 16000 MB, Hr 12000 MB; G:\ holds both logs
    back_up_sales = full_backup_not_in_the_share_yet(plan, world, "sales")
    driver, hr_started = admit_sales_then_hr(dag)
    assert hr_started == "failed" and "Hr needs" in driver.errors["hr.start_migration"], driver.errors
    return plan, dag, views, world, driver, back_up_sales


@pytest.mark.parametrize("access", ACCESSES)
def test_restores_into_one_managed_instance_are_admitted_only_while_they_fit_together(rehearsal_world, access):
    """32768 MB reserved, 64 MB used by the system databases: Sales (20000 MB) and Hr (15000 MB) each
    fit, not both. Sales is admitted first, and DMS has not begun its restore when Hr comes: Hr is
    refused at its admission, before anything of it started or froze; Sales migrates."""
    plan, dag, views, world = setup(rehearsal_world, access, *same_wave())
    sizes(world, Sales=(20000, 4000), Hr=(15000, 3000))
    back_up_sales = full_backup_not_in_the_share_yet(plan, world, "sales")

    driver, hr_started = admit_sales_then_hr(dag)

    assert views["sales"].operations() and views["sales"].target() is None, "Sales admitted, its restore not begun"
    assert hr_started == "failed", driver.errors
    message = driver.errors["hr.start_migration"]
    assert "mi-prod" in message and "Hr needs 15000 MB" in message, message
    assert "sales: Sales, 20000 MB" in message and "storageSizeInGB" in message, message
    assert views["hr"].operations() == [] and views["hr"].source_writable()
    back_up_sales()
    driver.run_database("sales")
    assert driver.outcome("sales") == "migrated", driver.errors


@pytest.mark.parametrize("report", ["current", "from before the restore began"])
def test_a_restore_begun_since_the_other_databases_preflight_counts_at_its_admission(rehearsal_world, report):
    """Hr's preflight judged the instance before Sales' restore began. A managed instance reports its
    storage every 5 to 10 minutes: files a restore created since are in sys.master_files before they
    are in sys.server_resource_stats."""
    plan, dag, views, world = setup(rehearsal_world, "direct", *same_wave())
    sizes(world, Sales=(20000, 4000), Hr=(15000, 3000))
    if report != "current":
        with world.transaction() as state:
            state["servers"][MI]["reportedStorageUsedMb"] = 64
    driver = RunDriver(dag)
    for task in ("sales.preflight", "hr.preflight", "sales.start_migration", "sales.freeze_source"):
        assert driver._run_task(dag.get_task(task)) == "success", driver.errors
    assert views["sales"].target() is not None, "Sales' restore created its files"

    assert driver._run_task(dag.get_task("hr.start_migration")) == "failed", driver.errors
    message = driver.errors["hr.start_migration"]
    assert "Hr needs 15000 MB" in message and "besides" not in message, message  # Sales' files are in the used storage


@pytest.mark.parametrize("access", ACCESSES)
def test_restores_into_one_managed_instance_that_fit_together_are_both_admitted(rehearsal_world, access):
    plan, dag, views, world = setup(rehearsal_world, access, *same_wave())
    sizes(world, Sales=(16000, 4000), Hr=(16000, 3000))  # 32704 MB free, 32000 MB needed
    driver, hr_started = admit_sales_then_hr(dag)
    assert hr_started == "success", driver.errors
    for name in ("sales", "hr"):
        driver.run_database(name)
        assert driver.outcome(name) == "migrated", driver.errors


def test_a_later_wave_does_not_hold_back_an_earlier_one_and_is_judged_with_what_it_restored(rehearsal_world):
    """Hr depends on Sales: Sales is not refused for space Hr will need (Hr may never start, and nothing
    of Hr is on the instance yet); Hr's own preflight then counts Sales' files."""
    sales, hr = same_wave()
    hr["dependsOn"] = ["sales"]
    plan, dag, views, world = setup(rehearsal_world, "direct", sales, hr)
    sizes(world, Sales=(20000, 4000), Hr=(15000, 3000))

    driver = RunDriver(dag)
    driver.run_database("sales")
    assert driver.outcome("sales") == "migrated", driver.errors
    states = driver.run_database("hr")
    assert states["hr.preflight"] == "failed"
    message = driver.errors["hr.preflight"]
    assert "needs 15000 MB" in message and "storageSizeInGB" in message, message


@pytest.mark.airflow26
def test_restores_into_one_sql_vm_are_admitted_only_while_their_volume_holds_them_together(rehearsal_world):
    plan, dag, views, world = setup(rehearsal_world, "direct", *same_wave(target="vm-prod"))
    sizes(world, Sales=(20000, 4000), Hr=(15000, 3000))
    world.set_volume("vm1", "F:\\", 25000)  # data files: Sales 16000 MB, Hr 12000 MB; G:\ holds both logs
    full_backup_not_in_the_share_yet(plan, world, "sales")

    driver, hr_started = admit_sales_then_hr(dag)

    assert hr_started == "failed", driver.errors
    message = driver.errors["hr.start_migration"]
    assert "vm-prod" in message and "25000 MB free on volume F:\\" in message and "Hr needs 12000 MB" in message, message
    assert "sales: Sales, 16000 MB" in message, message
    assert views["hr"].operations() == []


@pytest.mark.airflow26
def test_a_managed_instance_whose_storage_cannot_be_read_admits_without_judging(rehearsal_world):
    """What the DAG's login may not see (VIEW SERVER STATE) is left to DMS, at admission as at preflight."""
    plan, dag, views, world = setup(rehearsal_world, "direct", *same_wave())
    sizes(world, Sales=(20000, 4000), Hr=(15000, 3000))
    world.set_login(MI, REHEARSAL_LOGIN, ["CREATE ANY DATABASE"], {"Sales": ["CONTROL"], "Hr": ["CONTROL"]})
    driver, hr_started = admit_sales_then_hr(dag)
    assert hr_started == "success", driver.errors


def test_a_migration_by_hand_into_another_databases_target_is_not_counted_as_the_plans_restore(rehearsal_world):
    """A person migrates `Fin` through this plan's service into Sales' target database, its restore
    not begun. That is no restore of this plan's (Sales' own preflight refuses it as foreign): Hr's
    admission does not count Sales' 30000 MB for it, and Hr, which fits, is admitted.
    (before: refused for Sales' files, as if Sales were admitted)"""
    from migration_orchestration_lib import rehearsal
    from migration_orchestration_lib.dms_gateway import MigrationTarget
    from migration_orchestration_lib.migration_request import build_migration_request

    plan, dag, views, world = setup(rehearsal_world, "direct", *same_wave())
    sizes(world, Sales=(30000, 4000), Hr=(15000, 3000))
    document = plan_with_databases([database_entry("db", "Fin", mode="offline", target="mi-prod", target_database="Sales")])
    document["name"] = "by-hand"
    by_hand = parse_plan(document)
    rehearsal.seed_world(world, by_hand)
    full_backup_not_in_the_share_yet(by_hand, world, "db")
    services, fin = rehearsal.rehearsal_services(by_hand), by_hand.database("db")
    services.dms.start(MigrationTarget.of(by_hand, fin), "Fin", last_backup_name="Fin_by_hand.trn",
                       build_request=lambda: build_migration_request(by_hand, fin, services.dms.migration_service_id, services.connections))
    assert [op["sourceDatabaseName"] for op in views["sales"].operations()] == ["Fin"] and views["sales"].target() is None

    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("hr.preflight")) == "success", driver.errors
    assert driver._run_task(dag.get_task("hr.start_migration")) == "success", driver.errors


@pytest.mark.parametrize("access", ACCESSES)
@pytest.mark.parametrize("still_works", ["canceling", "copying-after-a-failed-arm-operation"])
def test_a_restore_dms_still_cancels_or_still_copies_counts_at_the_next_admission(rehearsal_world, still_works, access):
    """Sales is admitted, its restore not begun; then a person cancels it and DMS still reports it Canceling, or it
    still copies though its last ARM operation failed. DMS may still restore it into the instance, so Hr's admission
    counts Sales' files and refuses Hr, which does not fit beside them. Before: only migrations in flight counted,
    and Hr was admitted. Through Data Factory too: there the room's read takes pokes, keyed by what DMS runs into
    the target (`check_room_at_admission`), and the same migrations count."""
    plan, dag, views, world = setup(rehearsal_world, access, *same_wave())
    sizes(world, Sales=(20000, 4000), Hr=(15000, 3000))
    full_backup_not_in_the_share_yet(plan, world, "sales")
    driver = RunDriver(dag)
    for task in ("sales.preflight", "hr.preflight", "sales.start_migration"):
        assert driver._run_task(dag.get_task(task)) == "success", driver.errors
    if still_works == "canceling":
        views["sales"].cancel_slowly(plan)
    else:
        views["sales"].fail_the_last_arm_operation()
    assert [op["migrationStatus"] for op in views["sales"].operations()] == ["Canceling" if still_works == "canceling" else "InProgress"]

    assert driver._run_task(dag.get_task("hr.start_migration")) == "failed", driver.errors
    message = driver.errors["hr.start_migration"]
    assert "Hr needs 15000 MB" in message and "sales: Sales, 20000 MB" in message, message
    assert views["hr"].operations() == [] and views["hr"].source_writable()


@pytest.mark.parametrize("access", REMEDY_ACCESSES)
@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_a_restore_refused_for_room_starts_in_the_next_run_once_the_target_has_grown(rehearsal_world, target, access):
    """The migration-failed row's "No room: grow the target's storage or disks ..., then trigger the DAG again",
    lived through: Hr refused at its admission beside Sales' restore (not begun), its rollback undoing nothing; the
    run triggered again as it is is refused again; the person grows the instance's reserved storage (or the VM's data
    volume) and triggers the DAG again: the new run's Hr, still counted beside Sales' restore, is admitted and
    migrates, and so does Sales. Through Data Factory too: the room is read by pipeline runs (a SQL VM's file sizes
    through the self-hosted runtime), the new run's afresh."""
    plan, dag, views, world, driver, back_up_sales = hr_refused_for_room_beside_sales(rehearsal_world, access, target)
    assert driver._run_task(dag.get_task("hr.rollback")) == "success", driver.errors
    assert views["hr"].operations() == [] and views["hr"].source_writable()
    waited = RunDriver(dag)  # triggered again before any room was made: refused again, nothing started
    assert waited.run_database("hr")["hr.start_migration"] == "failed", waited.errors
    assert views["hr"].operations() == []

    if target == "mi-prod":
        with world.transaction() as state:
            state["servers"][MI]["reservedStorageMb"] = 65536
    else:
        world.set_volume("vm1", "F:\\", 50000)
    again = RunDriver(dag)
    again.run_database("hr")
    assert again.outcome("hr") == "migrated", again.errors
    assert room_reads(world, again, "hr") == ({RUNTIME_OF_TARGET[target]} if access == "dataFactory" else set())
    assert [op["migrationStatus"] for op in views["hr"].operations()] == ["Succeeded"]
    back_up_sales()
    driver.run_database("sales")
    assert driver.outcome("sales") == "migrated", driver.errors


@pytest.mark.parametrize("access", REMEDY_ACCESSES)
@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_a_restore_refused_for_room_starts_in_the_next_run_once_space_on_the_target_is_freed(rehearsal_world, target, access):
    """The migration-failed row's "No room: ... free space on it, ... then trigger the DAG again", lived through: the
    target also holds `Old`, a database of no plan; Hr is refused at its admission beside Sales' restore (not begun).
    The person drops `Old` from the managed instance (or shrinks its files on the VM's data volume) and triggers the
    DAG again: the new run's Hr, still counted beside Sales' restore, is admitted and migrates (through Data Factory
    too, the new run reading the freed room by its own pipeline runs)."""
    plan, dag, views, world = setup(rehearsal_world, access, *same_wave(target=target))
    server = MI if target == "mi-prod" else "vm1"
    world.put_database(server, "Old")
    if target == "mi-prod":  # 32768 MB reserved: 27704 MB free beside Old and the system databases, 31000 MB needed
        sizes(world, Sales=(16000, 4000), Hr=(15000, 3000))
        world.update_database(MI, "Old", sizeMb=5000)
    else:  # data files on F:\: Sales 16000 MB, Hr 12000 MB, Old 6000 MB of 32000 MB
        sizes(world, Sales=(20000, 4000), Hr=(15000, 3000))
        world.update_database("vm1", "Old", sizeMb=8000, logSizeMb=2000)
        world.set_volume("vm1", "F:\\", 32000)
    full_backup_not_in_the_share_yet(plan, world, "sales")
    driver, hr_started = admit_sales_then_hr(dag)
    assert hr_started == "failed" and "Hr needs" in driver.errors["hr.start_migration"], driver.errors

    if target == "mi-prod":
        assert world.drop_database(MI, "Old")
    else:
        world.update_database("vm1", "Old", sizeMb=3000, logSizeMb=500)  # DBCC SHRINKFILE: 2500 MB of data left
    again = RunDriver(dag)
    again.run_database("hr")
    assert again.outcome("hr") == "migrated", again.errors
    assert room_reads(world, again, "hr") == ({RUNTIME_OF_TARGET[target]} if access == "dataFactory" else set())
    assert [op["migrationStatus"] for op in views["sales"].operations()] == ["InProgress"], "Sales' restore still counted, untouched"


@pytest.mark.parametrize("access", REMEDY_ACCESSES)
@pytest.mark.parametrize("old, new", [("mi-prod", "vm-prod"), ("vm-prod", "mi-prod")])
def test_a_restore_refused_for_room_starts_on_another_target_once_the_plan_moves_it(rehearsal_world, old, new, access):
    """The migration-failed row's "No room: ... move a database to another target, then trigger the DAG again",
    lived through: Hr is refused at its admission into the managed instance (or the SQL VM) beside Sales' restore (not
    begun); the person moves Hr to the SQL VM (or the managed instance) in the plan, deploys it and triggers the DAG
    again: Hr migrates to its new target, the old one holds nothing of it, and nothing there is removed: Sales'
    restore goes on and migrates, in the first run going on with the edited plan's DAG. Through Data Factory too (the
    room read by pipeline runs, a SQL VM's through the self-hosted runtime).
    (No move from one managed instance to another: the plans of these tests have one managed instance, `mi-prod`.)"""
    plan, dag, views, world, driver, back_up_sales = hr_refused_for_room_beside_sales(rehearsal_world, access, old)

    sales, _ = same_wave(target=old)
    moved, moved_dag, moved_views, _ = setup(rehearsal_world, access, sales, same_wave(target=new)[1])
    again = RunDriver(moved_dag)
    again.run_database("hr")
    assert again.outcome("hr") == "migrated", again.errors
    assert room_reads(world, again, "hr") == ({RUNTIME_OF_TARGET[new]} if access == "dataFactory" else set())
    assert moved_views["hr"].target()["state"] == "ONLINE"
    on_old_target = [key.rpartition("/")[2] for key in world.snapshot()["databaseMigrations"]  # DMS's, by target
                     if key.startswith(plan.target_of(plan.database("hr")).resource_id.value.lower() + "/")]
    assert views["hr"].target() is None and on_old_target == ["sales"], "nothing of Hr on its old target: %s" % on_old_target
    assert [op["migrationStatus"] for op in views["sales"].operations()] == ["InProgress"], "Sales' restore untouched"

    back_up_sales()
    driver.dag = moved_dag
    sales_goes_on_after_its_admission(driver)
    assert views["sales"].target()["state"] == "ONLINE"


@pytest.mark.airflow26
@pytest.mark.parametrize("access", REMEDY_ACCESSES)
def test_waiting_does_not_make_room_for_a_restore_refused_for_room(rehearsal_world, access):
    """The migration-failed row's "waiting does not make room", lived through past a run triggered again at once (that one:
    `test_a_restore_refused_for_room_starts_in_the_next_run_once_the_target_has_grown`): Hr is refused at its admission beside Sales' restore (not begun); the person waits
    until Sales has migrated and triggers the DAG again: Sales' files stay on the instance, and the new run's
    `preflight` counts them and refuses Hr, before anything of it started (through Data Factory too)."""
    plan, dag, views, world, driver, back_up_sales = hr_refused_for_room_beside_sales(rehearsal_world, access)
    back_up_sales()
    sales_goes_on_after_its_admission(driver)

    waited = RunDriver(dag)
    assert waited.run_database("hr")["hr.preflight"] == "failed", waited.errors
    assert "needs 15000 MB" in waited.errors["hr.preflight"], waited.errors
    assert room_reads(world, waited, "hr") == ({RUNTIME_OF_TARGET["mi-prod"]} if access == "dataFactory" else set())
    assert views["hr"].operations() == [] and views["hr"].source_writable()
