"""What a later DAG run may do to a database an earlier run worked on (`task_driver` on the rehearsal
world): once a run declared a migration migrated, applications may write to its target, so a later
run neither judges the target against the frozen source nor makes the source writable again; and a
migration started after a failed one never reuses the failed one's final backup."""
from __future__ import annotations

import hashlib
import json
import os
import re

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.handoffs import handoff_key, legacy_handoff_key
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal import SERVICE_ID
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE, FileRecords
from task_driver import RunDriver, WorkerCrashed
from world_view import WorldView


def setup(directory, mode):
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode=mode)]))
    return plan, build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), WorldView(directory, plan.database("db"), plan)


def migrated_then_used(directory):
    """A first run migrates `db`; then an application writes a row to the target."""
    plan, dag, world = setup(directory, "online")
    first = RunDriver(dag, world.observe)
    first.run_database("db")
    assert first.outcome("db") == "migrated", first.errors
    [operation] = world.operations()
    assert FileRecords(str(directory), RECORDS_FILE).get(handoff_key(operation["migrationOperationId"])) == "%s/db" % plan.name
    table = sorted(world.target()["tables"])[0]
    written = world.target()["tables"][table]
    world.world.set_table(world.target_server, "Sales", table, written["columns"], written["rows"] + [list(written["rows"][0])])
    return dag, world


def test_a_later_run_does_not_compare_a_declared_migration_again_and_keeps_its_source_frozen(rehearsal_world):
    dag, world = migrated_then_used(rehearsal_world)
    second = RunDriver(dag, world.observe)  # e.g. a run to retry another database of the plan
    second.run_database("db")

    assert second.outcome("db") == "migrated", second.errors
    assert not world.source_writable()
    assert len(world.operations()) == 1


def test_a_later_run_that_fails_keeps_the_source_of_a_declared_migration_frozen(rehearsal_world):
    dag, world = migrated_then_used(rehearsal_world)
    world.world.set_integration_runtime_state(SERVICE_ID, "Offline")  # stopped after the migration
    second = RunDriver(dag, world.observe)
    states = second.run_database("db")

    assert states["db.preflight"] == "failed" and states["db.rollback"] == "failed"
    assert "kept frozen: an earlier run declared migration" in second.errors["db.rollback"]
    assert not world.source_writable(), "a writable source beside a target in use would split the writes"
    assert world.target()["state"] == "ONLINE"


def test_a_migration_after_a_failed_one_takes_a_final_backup_of_its_own(rehearsal_world, monkeypatch):
    """`BACKUP LOG` skips a file msdb holds: reusing the failed migration's file name would hand DMS
    the old backup, without the writes made while the source was writable again."""
    plan, dag, world = setup(rehearsal_world, "offline")

    def fail_dms_after_the_final_backup(task_id):
        world.observe(task_id)
        if task_id == "db.final_backup" and not world.world.faults():
            world.world.add_fault("migrate", "migrationFailed", database="Sales", message="restore failed")

    first = RunDriver(dag, fail_dms_after_the_final_backup)
    first.run_database("db")
    assert first.outcome("db") == "rolled_back" and world.source_writable(), first.errors
    table = sorted(world.source()["tables"])[0]
    rows = [list(row) for row in world.source()["tables"][table]["rows"]]
    rows[0][1] = "updated after the failed migration"  # same row count: only checksums would see it
    world.world.set_table("sql01", "Sales", table, world.source()["tables"][table]["columns"], rows)

    second = RunDriver(dag, world.observe)
    second.run_database("db")

    assert second.outcome("db") == "migrated", second.errors
    failed, succeeded = world.operations()
    assert failed["lastBackupName"] != succeeded["lastBackupName"]
    assert world.target()["tables"][table]["rows"][0][1] == "updated after the failed migration", "no write lost"


def test_a_later_run_whose_preflight_fails_keeps_the_replication_an_earlier_run_started(rehearsal_world):
    """A runtime briefly offline is no reason to cancel a migration that has replicated for days."""
    plan, dag, world = setup(rehearsal_world, "online")
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after="wait_for_migration")  # ready for cutover
    world.world.set_integration_runtime_state(SERVICE_ID, "Offline")
    second = RunDriver(dag, world.observe)
    states = second.run_database("db")

    assert states["db.preflight"] == "failed" and states["db.rollback"] == "success"
    [operation] = world.operations()
    assert operation["migrationStatus"] == "InProgress", "not canceled: it keeps replicating"
    assert world.target()["state"] == "RESTORING" and world.source_writable()
    world.world.set_integration_runtime_state(SERVICE_ID, "Online")
    third = RunDriver(dag, world.observe)
    third.run_database("db")
    assert third.outcome("db") == "migrated", third.errors
    assert len(world.operations()) == 1, "the third run completed the same migration"


@pytest.mark.parametrize("rename", ["database", "plan"])
def test_a_declared_migration_stays_declared_when_the_plan_or_its_entry_is_renamed(rehearsal_world, rename):
    """Day 2: a platform engineer renames the database's entry (its task group) or the plan and
    deploys again. The migration DMS ran is the same one: a later run must still treat it as
    declared migrated, or a mismatch against the target in use would make the source writable."""
    dag, world = migrated_then_used(rehearsal_world)
    document = plan_with_databases([database_entry("sales" if rename == "database" else "db", "Sales", mode="online")])
    if rename == "plan":
        document["name"] = "contoso-sql-v2"
    renamed = parse_plan(document)
    world.world.set_integration_runtime_state(SERVICE_ID, "Offline")  # a failing later run
    second = RunDriver(build_dag(renamed, {"MIGRATION_DRY_RUN": "1"}), world.observe)
    second.run_database(renamed.databases[0].name)

    assert not world.source_writable(), "a writable source beside a target in use would split the writes"
    assert world.target()["state"] == "ONLINE"


def test_a_handoff_an_earlier_version_recorded_under_the_plan_and_database_names_still_counts(rehearsal_world):
    dag, world = migrated_then_used(rehearsal_world)
    path = os.path.join(str(rehearsal_world), RECORDS_FILE)
    with open(path) as file:
        records = json.load(file)
    [operation] = world.operations()
    del records[handoff_key(operation["migrationOperationId"])]
    records[legacy_handoff_key("contoso-sql", "db")] = operation["migrationOperationId"]
    with open(path, "w") as file:
        json.dump(records, file)
    world.world.set_integration_runtime_state(SERVICE_ID, "Offline")
    second = RunDriver(dag, world.observe)
    second.run_database("db")

    assert "kept frozen: an earlier run declared migration" in second.errors["db.rollback"]
    assert not world.source_writable()


def test_done_declares_nothing_before_dms_finished(rehearsal_world):
    """The handoff record is what keeps a source frozen for good: `done` writes it only for a
    migration DMS finished, whatever ran before it."""
    plan, dag, world = setup(rehearsal_world, "online")
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after="wait_for_migration")  # ready for cutover
    later = RunDriver(dag, world.observe)
    assert later._run_task(dag.get_task("db.preflight")) == "success", later.errors  # the database's current run

    assert later._run_task(dag.get_task("db.done")) == "failed"
    assert "cannot be declared migrated" in later.errors["db.done"]
    [operation] = world.operations()
    assert FileRecords(str(rehearsal_world), RECORDS_FILE).get(handoff_key(operation["migrationOperationId"])) is None


def migrated_then_forgotten(directory, target):
    """A first run migrates `db` online into `target`; the handoff by target database is lost (declared by a version
    before it, or the plan's target server entry renamed since) and a person deletes the migration's resource in DMS.
    Returns the DAG and the world."""
    from migration_orchestration_lib.dms_gateway import MigrationTarget
    from migration_orchestration_lib.handoffs import target_handoff_key

    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="online", target=target)]))
    dag, world = build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), WorldView(directory, plan.database("db"), plan)
    first = RunDriver(dag, world.observe)
    first.run_database("db")
    assert first.outcome("db") == "migrated", first.errors
    FileRecords(str(directory), RECORDS_FILE).put(target_handoff_key(MigrationTarget.of(plan, plan.database("db"))), "")
    world.delete_migration_resource()
    return dag, world


@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_a_later_run_keeps_the_source_of_a_declared_migration_frozen_once_dms_forgot_the_migration(rehearsal_world, target):
    """A person cleans up DMS after the handoff: the finished migration's resource is deleted (the target database
    stays; `DatabaseMigrationsSqlMi_Delete`, `..._SqlVm_Delete`). A later run (one retrying another database) then reads
    the database as never started, and the handoff record, keyed by that migration, cannot be found: its preflight
    refuses the live target, and its rollback, finding the source frozen by the DAG, handed it back to writers beside
    the target in use (before: rollback `success`, the source writable). Without the handoff by target database too
    (declared by a version before it, or the plan's target server entry renamed since), the target ONLINE says so."""
    dag, world = migrated_then_forgotten(rehearsal_world, target)
    assert world.operations() == []
    second = RunDriver(dag, world.observe)
    states = second.run_database("db")

    assert states["db.preflight"] == "failed" and states["db.rollback"] == "failed", second.errors
    assert "kept frozen: target database Sales on %s is ONLINE and DMS holds no migration" % target in second.errors["db.rollback"]
    assert not world.source_writable(), "a writable source beside a target in use would split the writes"
    assert world.target()["state"] == "ONLINE"


@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_a_later_run_keeps_the_source_frozen_beside_a_forgotten_target_its_login_cannot_see(rehearsal_world, target):
    """As above, without the handoff by target database, on a hardened target server: VIEW ANY DATABASE revoked from
    public, and the login the DAG reads the target with holds it no other way, so master's sys.databases shows it no
    row of the ONLINE target (Microsoft, sys.databases, Permissions). Before, the rollback read the target absent,
    found no reason to keep the source frozen and made it writable beside the live target: split writes."""
    from migration_orchestration_lib.rehearsal import REHEARSAL_LOGIN

    dag, world = migrated_then_forgotten(rehearsal_world, target)
    world.world.revoke_view_any_database_from_public(world.target_server)
    world.world.set_login(world.target_server, REHEARSAL_LOGIN, ["VIEW SERVER STATE", "CONNECT SQL"], {"master": []})
    second = RunDriver(dag, world.observe)
    states = second.run_database("db")

    assert states["db.rollback"] == "failed", second.errors
    assert world.operations() == [], "no migration over the live target"
    assert not world.source_writable(), "a writable source beside a target in use would split the writes"
    assert world.target()["state"] == "ONLINE"
    message = second.errors["db.rollback"]
    assert "kept frozen" in message and "GRANT VIEW ANY DATABASE TO [%s]" % REHEARSAL_LOGIN in message, message
    assert "GRANT VIEW ANY DATABASE TO [%s]" % REHEARSAL_LOGIN in second.errors["db.preflight"], second.errors


def sqldb_migrated_then_used(directory):
    """A first run migrates `db` into a SqlDb target; then an application writes a row there. Returns the plan, the
    DAG, the world, the migration's operation id, and the table written with its rows now."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", target="db-prod")]))
    dag, world = build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), WorldView(directory, plan.database("db"), plan)
    first = RunDriver(dag, world.observe)
    first.run_database("db")
    assert first.outcome("db") == "migrated", first.errors
    [operation] = world.operations()
    table = sorted(world.target()["tables"])[0]
    written = world.target()["tables"][table]
    used = written["rows"] + [list(written["rows"][0])]  # an application's write to the target
    world.world.set_table(world.target_server, "Sales", table, written["columns"], used)
    return plan, dag, world, operation["migrationOperationId"], table, used


def dms_forgets_then_a_run_is_refused(plan, dag, world, declared, table, used):
    """DMS's migration resource is deleted (`DatabaseMigrationsSqlDb_Delete`); a later run changes nothing. Returns it."""
    world.delete_migration_resource()
    later = RunDriver(dag, world.observe)
    states = later.run_database("db")
    assert states["db.preflight"] == "failed" and states["db.rollback"] == "failed", later.errors
    assert "was declared migrated (migration %s" % declared in later.errors["db.preflight"]
    assert world.operations() == [], "no second copy"
    assert world.target()["tables"][table]["rows"] == used, "the application's write is kept"
    assert not world.source_writable(), "a writable source beside a target in use would split the writes"
    return later


def test_a_later_run_never_copies_again_into_a_declared_sqldb_target_dms_forgot(rehearsal_world):
    """A SqlDb target existed before, so preflight does not refuse it: once DMS holds no migration into it (its
    resource deleted after the handoff, `DatabaseMigrationsSqlDb_Delete`), a later run took the source, frozen since
    the migration, for one whose copy a crashed run never created, copied it again over the target applications
    write to (their rows lost) and declared it migrated anew. The handoff recorded by target database stops it."""
    from migration_orchestration_lib.dms_gateway import MigrationTarget
    from migration_orchestration_lib.handoffs import target_handoff_key

    plan, dag, world, declared, table, used = sqldb_migrated_then_used(rehearsal_world)
    records = FileRecords(str(rehearsal_world), RECORDS_FILE)
    assert records.get(target_handoff_key(MigrationTarget.of(plan, plan.database("db")))) == declared
    second = dms_forgets_then_a_run_is_refused(plan, dag, world, declared, table, used)

    assert "kept frozen: a run declared migration %s" % declared in second.errors["db.rollback"]


def _as_an_earlier_version_recorded_it(directory, plan, operation_id, form):
    """The handoff records as a version before the record by target database left them: none by target; the one keyed
    by the migration (`by_migration`), or the one under the plan's and entry's names (`legacy`)."""
    from migration_orchestration_lib.dms_gateway import MigrationTarget
    from migration_orchestration_lib.handoffs import target_handoff_key

    path = os.path.join(str(directory), RECORDS_FILE)
    with open(path) as file:
        records = json.load(file)
    del records[target_handoff_key(MigrationTarget.of(plan, plan.database("db")))]
    if form == "legacy":
        del records[handoff_key(operation_id)]
        records[legacy_handoff_key(plan.name, "db")] = operation_id
    with open(path, "w") as file:
        json.dump(records, file)


@pytest.mark.parametrize("later_run", ["crashed after preflight", "preflight failed, rollback"])
@pytest.mark.parametrize("form", ["by_migration", "legacy"])
def test_a_later_run_that_sees_an_earlier_versions_handoff_in_dms_records_it_by_target(rehearsal_world, form, later_run):
    """A SqlDb handoff declared by a version before the record by target database has only the record keyed by the
    migration (or the legacy one), which nothing finds once DMS forgets the migration: a run after that copied into the
    target again over applications' writes. A run that still sees the migration in DMS records the handoff by target
    (preflight; the rollback where preflight failed before reading DMS), so the run after DMS forgot is refused. A full
    later run would record it anyway (`done` declares it again); these end before `done`."""
    from migration_orchestration_lib.dms_gateway import MigrationTarget
    from migration_orchestration_lib.handoffs import target_handoff_key

    plan, dag, world, declared, table, used = sqldb_migrated_then_used(rehearsal_world)
    _as_an_earlier_version_recorded_it(rehearsal_world, plan, declared, form)
    if later_run == "crashed after preflight":
        with pytest.raises(WorkerCrashed):
            RunDriver(dag, world.observe).run_database("db", crash_after="preflight")
    else:
        world.world.set_integration_runtime_state(SERVICE_ID, "Offline")
        states = RunDriver(dag, world.observe).run_database("db")
        assert states["db.preflight"] == "failed" and states["db.rollback"] == "failed"
        world.world.set_integration_runtime_state(SERVICE_ID, "Online")
    key = target_handoff_key(MigrationTarget.of(plan, plan.database("db")))
    assert FileRecords(str(rehearsal_world), RECORDS_FILE).get(key) == declared

    dms_forgets_then_a_run_is_refused(plan, dag, world, declared, table, used)


@pytest.mark.parametrize("form", ["by_migration", "legacy"])
def test_a_sqldb_handoff_an_earlier_version_declared_stays_declared_once_the_plans_migration_service_is_replaced(
        rehearsal_world, monkeypatch, form):
    """A SqlDb handoff declared by a version before the record by target database, then the plan deployed with a new
    migration service: DMS's completed migration into the target runs on the former service, so it reads as another's
    (`not_started` for this plan), and no record by target says the target was declared. Before, the run took the
    source, frozen since the handoff, for one a crashed run froze, and copied it over the target applications write
    to. Refused as another's completed copy, its rollback would make that source writable beside the live target. The
    record keyed by that very migration says this Airflow declared it: preflight records the handoff by target, refuses
    as for a declared target DMS no longer shows, and the rollback keeps the source frozen."""
    from migration_orchestration_lib import rehearsal
    from migration_orchestration_lib.dms_gateway import MigrationTarget
    from migration_orchestration_lib.handoffs import target_handoff_key
    from test_two_plans import OTHER_SERVICE_ID

    plan, dag, world, declared, table, used = sqldb_migrated_then_used(rehearsal_world)
    _as_an_earlier_version_recorded_it(rehearsal_world, plan, declared, form)
    monkeypatch.setattr(rehearsal, "SERVICE_ID", OTHER_SERVICE_ID)  # the plan's new deployment's migration service
    world.world.add_migration_service(OTHER_SERVICE_ID)
    later = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world.observe)
    states = later.run_database("db")

    assert world.target()["tables"][table]["rows"] == used, "the application's write is kept"
    assert [op["migrationOperationId"] for op in world.operations()] == [declared], "no second copy"
    assert not world.source_writable(), "a writable source beside a target in use would split the writes"
    assert states["db.preflight"] == "failed" and "was declared migrated (migration %s" % declared in later.errors["db.preflight"], later.errors
    assert states["db.rollback"] == "failed" and "kept frozen" in later.errors["db.rollback"], later.errors
    key = target_handoff_key(MigrationTarget.of(plan, plan.database("db")))
    assert FileRecords(str(rehearsal_world), RECORDS_FILE).get(key) == declared


class _Records:
    def __init__(self, records):
        self.records = dict(records)

    def get(self, key):
        return self.records.get(key)

    def put(self, key, value):
        self.records[key] = value


class _Handoff:
    """What `handoffs` reads of a step's context: the plan's and entry's names, the target, the records."""
    def __init__(self, records):
        self.plan = type("Plan", (), {"name": "contoso-sql"})()
        self.database = type("Entry", (), {"name": "db"})()
        self.target = type("Target", (), {"server_name": "sqlprod", "database_name": "Sales", "scope": (
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Sql/servers/sqlprod")})()
        self.services = type("Services", (), {"records": _Records(records)})()


TARGET_KEY = "migration_target_migrated__sqlprod__sales__" + hashlib.sha256(
    b"/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg/providers/microsoft.sql/servers/sqlprod\nsales").hexdigest()[:16]


@pytest.mark.parametrize("records, why", [
    ({}, "a migration no run declared migrated (a copy under way, or one validated only)"),
    ({"migration_migrated__op-2": "contoso-sql/db"}, "another migration declared, not the one DMS shows"),
    ({"migration_migrated__contoso-sql__db": "op-2"}, "a legacy record of another migration"),
    ({"migration_migrated__op-1": "contoso-sql/db", TARGET_KEY: "op-2"}, "the target holds another migration's record"),
    ({"migration_migrated__op-1": "contoso-sql/db", TARGET_KEY: ""}, "a person cleared the target's record to migrate again"),
])
def test_the_handoff_by_target_is_recorded_only_for_a_declared_migration_and_over_no_record(records, why):
    from migration_orchestration_lib.handoffs import record_declared_target

    ctx = _Handoff(records)
    record_declared_target(ctx, "op-1")
    record_declared_target(ctx, None)

    assert ctx.services.records.records == records, why


@pytest.mark.parametrize("records", [{"migration_migrated__op-1": "other-plan/sales"}, {"migration_migrated__contoso-sql__db": "op-1"}])
def test_the_handoff_by_target_of_a_declared_migration_gets_the_value_done_writes(records):
    from migration_orchestration_lib.handoffs import record_declared_target

    ctx = _Handoff(records)
    record_declared_target(ctx, "op-1")

    assert ctx.services.records.records == dict(records, **{TARGET_KEY: "op-1"})


def _two_sql_vms_named_alike():
    """Two SQL VMs of one name in two resource groups (ARM names a VM uniquely only in its resource group), each the
    target of a `Sales`: the plan accepts them, two target servers."""
    vm = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/%s/providers/Microsoft.SqlVirtualMachine/sqlVirtualMachines/vm1"
    document = plan_with_databases([
        database_entry("east", "Sales", target="vm-prod"),
        dict(database_entry("west", "Sales", target="vm-prod"), source={"server": "sql01", "database": "SalesWest"},
             target={"server": "vm-west", "database": "Sales", "kind": "SqlVm"}),
    ])
    document["targetServers"].append({"name": "vm-west", "kind": "SqlVm", "connectionId": "mssql_target_vm_west", "resourceId": vm % "rg-west"})
    return parse_plan(document)


@pytest.mark.airflow26
def test_a_handoff_into_one_sql_vm_never_refuses_the_same_named_database_on_a_same_named_vm_elsewhere():
    """The record by target was keyed by the VM's name and the database's only: `east`'s handoff into vm1 (resource
    group rg) refused `west`'s first preflight into vm1 of rg-west, a database nothing migrated into, saying it was
    declared migrated; and the way out it gave (clearing the record) took `east`'s handoff record away."""
    from migration_orchestration_lib.dms_gateway import MigrationTarget
    from migration_orchestration_lib.handoffs import declared_into_target, target_handoff_key

    plan = _two_sql_vms_named_alike()
    east, west = (MigrationTarget.of(plan, plan.database(name)) for name in ("east", "west"))
    ctx = _Handoff({target_handoff_key(east): "op-east"})
    ctx.target = west

    assert declared_into_target(ctx) is None
    ctx.target = east
    assert declared_into_target(ctx) == "op-east"


@pytest.mark.airflow26
@pytest.mark.parametrize("edit", ["target database", "resource id"])
def test_the_handoff_by_target_holds_when_the_plan_writes_its_target_in_another_letter_case(edit):
    """SQL Database, managed instance and SQL VM database names, and ARM names, ignore letter case (the plan's rules
    compare target databases so): a plan whose target `Sales` is written `SALES` since, or whose server's resource id
    is, names the same declared target, which a later run must not copy into again once DMS forgot the migration."""
    from dataclasses import replace

    from migration_orchestration_lib.dms_gateway import MigrationTarget
    from migration_orchestration_lib.handoffs import declared_into_target, target_handoff_key

    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", target="db-prod")]))
    declared = MigrationTarget.of(plan, plan.database("db"))
    ctx = _Handoff({target_handoff_key(declared): "op-1"})
    ctx.target = replace(declared, database_name="SALES") if edit == "target database" else replace(
        declared, scope=declared.scope.upper(), resource_group="RG", server_name=declared.server_name.upper())

    assert declared_into_target(ctx) == "op-1"


@pytest.mark.airflow26
@pytest.mark.parametrize("database", ["Sales Archive", "a;b", "Sales?2024", "Q1#2", "50%20off", "x" * 128])
def test_the_handoff_by_target_key_is_one_airflow_keeps_and_a_shell_takes_as_one_word(database):
    """A target database may hold any character but `[`, `]`, quotes and control characters, and 128 of them. Airflow 3
    reads a Variable at `variables/<key>` unescaped (`Sales?2024` was the Variable `...__Sales`, `50%20off` was
    `50 off`), keeps keys of at most 250 characters, and the preflight's refusal gives the key in an `airflow variables
    set` command, which a space or `;` split or ran as something else."""
    import shlex

    from migration_orchestration_lib.dms_gateway import MigrationTarget
    from migration_orchestration_lib.handoffs import target_handoff_key

    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", target="vm-prod", target_database=database)]))
    target = MigrationTarget.of(plan, plan.database("db"))
    key = target_handoff_key(target)

    assert len(key) <= 250
    assert shlex.split(key) == [key] and shlex.quote(key) == key
    assert re.fullmatch(r"[a-z0-9_.-]+", key), key
    other = parse_plan(plan_with_databases([database_entry("db", "Sales", target="vm-prod", target_database=database[:-1] + "y")]))
    assert key != target_handoff_key(MigrationTarget.of(other, other.database("db")))


@pytest.mark.parametrize("database", ["Sales Archive", "Q1#2", "50%20off"])
def test_a_database_whose_name_its_arm_url_escapes_migrates_in_a_rehearsal(rehearsal_world, database):
    """DMS's REST API names a migration by its target database in the URL's path, escaped. Was: the rehearsal's DMS
    (the contract server) took the name as sent, restored `Sales Archive` as `Sales%20Archive`, and the validation
    failed on the missing `Sales Archive` (4060): a rehearsal failing where Azure, which decodes the path, would not."""
    from migration_orchestration_lib.rehearsal import seed_world

    plan = parse_plan(plan_with_databases([database_entry("db", database, mode="offline")]))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    seed_world(world.world, plan)
    run = RunDriver(build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world.observe)
    run.run_database("db")

    assert run.outcome("db") == "migrated", run.errors
    assert world.target()["name"] == database


def test_a_declared_target_dms_forgot_is_left_behind_by_removing_its_entry_from_the_plan(rehearsal_world):
    """Once DMS forgot a declared migration, every run with its entry in the plan fails on it (preflight refuses the
    target, the rollback keeps the source frozen and fails: the rollback-failed alert). The refusal said only "if
    applications use the target, the migration is done", leaving the runs failing; it names the way out that works:
    the entry removed from the plan, a run's end reports nothing stranded, and the source stays frozen."""
    document = plan_with_databases([database_entry("db", "Sales", target="db-prod"), database_entry("hr", "Hr")])
    plan = parse_plan(document)
    dag, world = build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), WorldView(rehearsal_world, plan.database("db"), plan)
    first = RunDriver(dag, world.observe)
    first.run_database("db")
    first.run_database("hr")
    assert (first.outcome("db"), first.outcome("hr"), first.run_outcome()) == ("migrated", "migrated", "success"), first.errors
    world.delete_migration_resource()
    later = RunDriver(dag, world.observe)
    later.run_database("db")
    later.run_database("hr")
    assert later.run_outcome() == "failed"

    assert "the migration is done: remove db from the plan" in later.errors["db.preflight"], later.errors["db.preflight"]
    document["databases"] = [entry for entry in document["databases"] if entry["name"] != "db"]
    without = RunDriver(build_dag(parse_plan(document), {"MIGRATION_DRY_RUN": "1"}), world.observe)
    without.run_database("hr")
    assert without.run_outcome() == "success", without.errors
    assert not world.source_writable()


@pytest.mark.parametrize("target", ["mi-prod", "vm-prod"])
def test_a_later_run_keeps_the_source_frozen_beside_a_forgotten_target_taken_offline_for_a_while(rehearsal_world, target):
    """As above (no handoff by target database, DMS's migration resource deleted), but the live target is not ONLINE
    right when the later run reads it: a person took it OFFLINE for a while (to move its files, say), as a restart or a
    failover leaves it RECOVERING a moment. It is still the database applications use. Was: only ONLINE counted as
    live, the rollback found no reason to keep the source frozen and made it writable beside the target: split writes.
    Now only a target absent or RESTORING (a restore never gone live) lets the rollback hand the source back. (A
    managed instance's database is not taken OFFLINE, but reads RECOVERING after a failover: the fake world has OFFLINE.)"""
    dag, world = migrated_then_forgotten(rehearsal_world, target)
    world.world.update_database(world.target_server, "Sales", state="OFFLINE")
    second = RunDriver(dag, world.observe)
    states = second.run_database("db")

    assert states["db.preflight"] == "failed" and states["db.rollback"] == "failed", second.errors
    assert not world.source_writable(), "a writable source beside a target in use would split the writes"
    message = second.errors["db.rollback"]
    assert "kept frozen: target database Sales on %s is OFFLINE and DMS holds no migration" % target in message, message
    assert world.operations() == [] and world.target()["state"] == "OFFLINE"
