"""The one rule of what rollback may delete, per target kind (`target_removal.decide`)."""
from __future__ import annotations

from collections import namedtuple
from types import SimpleNamespace

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib.migration_status import MigrationStatus
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.step_context import StepFailure
from migration_orchestration_lib.target_removal import decide, remove

pytestmark = pytest.mark.airflow26  # cheap: proves it on Python 3.8 too

TargetState = namedtuple("TargetState", "state")
RESTORING, ONLINE = TargetState("RESTORING"), TargetState("ONLINE")


@pytest.fixture(scope="module")
def plan():
    return parse_plan(
        plan_with_databases(
            [
                database_entry("mi", "Sales", target="mi-prod"),
                database_entry("vm", "Crm", target="vm-prod"),
                database_entry("db", "Hr", target="db-prod"),
            ]
        )
    )


def migration(status: str, source: str) -> MigrationStatus:
    return MigrationStatus(
        migration_operation_id="op-1", migration_status=status, provisioning_state="Succeeded", source_database_name=source
    )


SOURCES = {"mi": "Sales", "vm": "Crm", "db": "Hr"}


@pytest.mark.parametrize("name", ["mi", "vm"])
@pytest.mark.parametrize("status", ["Failed", "Canceled"])
def test_a_restoring_target_of_our_ended_migration_is_removed(plan, name, status):
    decision = decide(plan.database(name), migration(status, SOURCES[name]), RESTORING)
    assert decision.remove, decision.reason
    assert "never went live" in decision.reason


@pytest.mark.parametrize("name", ["mi", "vm"])
@pytest.mark.parametrize(
    "status, target, reason",
    [
        ("Completing", RESTORING, "is live (DMS migration Completing)"),
        ("Succeeded", ONLINE, "is live (DMS migration Succeeded)"),
        ("Failed", ONLINE, "is ONLINE (open for writes)"),
        ("InProgress", RESTORING, "still InProgress: kept until it is canceled"),
        # Its cancel may have ended while DMS still restores into the target.
        ("Canceling", RESTORING, "still Canceling (DMS may still restore into it): kept until DMS reports it Canceled"),
        ("Failed", None, "is absent: nothing to remove"),
    ],
)
def test_a_live_active_or_absent_target_is_kept(plan, name, status, target, reason):
    decision = decide(plan.database(name), migration(status, SOURCES[name]), target)
    assert not decision.remove
    assert reason in decision.reason


@pytest.mark.parametrize("name", ["mi", "vm"])
def test_a_target_no_migration_of_our_source_created_is_kept(plan, name):
    assert "was not created by a migration of" in decide(plan.database(name), None, RESTORING).reason
    other = decide(plan.database(name), migration("Failed", "SomeoneElse"), RESTORING)
    assert not other.remove and "was not created by a migration of" in other.reason


@pytest.mark.parametrize("status", ["Failed", "Canceled", "InProgress", "Succeeded"])
def test_a_sqldb_target_is_never_removed(plan, status):
    decision = decide(plan.database("db"), migration(status, "Hr"), ONLINE)
    assert not decision.remove
    assert "existed before the migration" in decision.reason


def test_a_sqldb_target_dropped_by_a_person_is_not_said_kept_and_the_rollback_says_to_deploy_it_again(plan):
    """Before: "existed before the migration: kept (its data may be partial)" of a target a person had dropped, and the
    runbook's "trigger the DAG again as it is" then stopped at preflight ("must exist, with its schema")."""
    decision = decide(plan.database("db"), migration("Canceled", "Hr"), None)
    assert not decision.remove
    assert "kept" not in decision.reason and "absent (dropped since)" in decision.reason
    assert "deploy it again with the source's schema before the next run" in decision.reason


def test_a_sqldb_target_read_absent_is_not_said_dropped_for_certain(plan):
    """master's sys.databases shows a SqlDb target's row only to a login that owns it or holds VIEW ANY DATABASE (or
    ALTER ANY DATABASE, or CREATE DATABASE in master): db_owner of the target sees none. Was: "is absent (dropped
    since) ... deploy it again", a person sent to deploy a database that is there. Now both causes are named, and
    the grant that shows the row."""
    decision = decide(plan.database("db"), migration("Canceled", "Hr"), None)
    assert "has no row in master's sys.databases on %s: absent (dropped since), or hidden from the login" % (
        plan.database("db").target_server) in decision.reason
    assert "##MS_DefinitionReader##" in decision.reason and "if it was dropped, deploy it again" in decision.reason


def test_a_sqldb_target_dropped_after_a_failed_copy_deployed_again_as_the_rollback_says_takes_the_next_copy(
        rehearsal_world, monkeypatch):
    """The same, lived through on the rehearsal world: a copy DMS ended Failed, its target dropped by a person
    before the rollback. The rollback says "absent (dropped since)"; a run triggered as it is stops at preflight
    (the target must exist); deployed again with the source's schema, the next run copies into it and migrates."""
    from migration_orchestration_lib import rehearsal
    from migration_orchestration_lib.dag_factory import build_dag
    from migration_orchestration_lib.events import LoggingEventWriter
    from task_driver import RunDriver
    from world_view import WorldView

    rollback_events = []
    write = LoggingEventWriter.write

    def kept(writer, row, budget=None):
        if row["Phase"] == "rollback":
            rollback_events.append((row["Status"], row["Message"]))
        return write(writer, row, budget)

    monkeypatch.setattr(LoggingEventWriter, "write", kept)
    plan = parse_plan(plan_with_databases([database_entry("db", "Hr", target="db-prod")]))
    world = WorldView(rehearsal_world, plan.database("db"), plan)
    rehearsal.seed_world(world.world, plan)
    world.world.add_fault("migrate", "migrationFailed", database="Hr", message="copy failed")

    def a_person_drops_the_target_once_the_copy_failed(task_id):
        world.observe(task_id)
        if world.operations() and world.operations()[-1]["migrationStatus"] == "Failed" and world.target() is not None:
            world.world.drop_database(world.target_server, "Hr")

    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    first = RunDriver(dag, a_person_drops_the_target_once_the_copy_failed)
    first.run_database("db")
    assert first.outcome("db") == "rolled_back", first.errors
    [(status, message)] = [event for event in rollback_events if event[0] not in ("Started", "Running")]
    assert status == "RolledBack" and "absent (dropped since)" in message and "deploy it again" in message, message
    assert world.target() is None and world.source_writable()

    as_it_is = RunDriver(dag, world.observe)
    assert as_it_is.run_database("db")["db.preflight"] == "failed", as_it_is.errors
    assert "must exist, with its schema" in as_it_is.errors["db.preflight"], as_it_is.errors

    schema = {name: dict(table, rows=[]) for name, table in world.source()["tables"].items()}
    world.world.put_database(world.target_server, "Hr", tables=schema)
    deployed_again = RunDriver(dag, world.observe)
    deployed_again.run_database("db")

    assert deployed_again.outcome("db") == "migrated", deployed_again.errors
    assert [op["migrationStatus"] for op in world.operations()] == ["Failed", "Succeeded"]
    assert world.target()["tables"] == world.source()["tables"]


@pytest.mark.parametrize("remaining, removed", [(0, True), (1, False)])
def test_a_sql_vm_target_still_there_after_its_drop_fails_the_removal(plan, remaining, removed):
    """Judged by the DROP batch's own answer (how many databases of the name remain), not only by the
    absence of an error: a target still there is never reported as dropped."""
    ctx = SimpleNamespace(sql=SimpleNamespace(drop_target=lambda database: remaining))
    if removed:
        assert remove(ctx, plan.database("vm")) == "dropped target database Crm on SQL VM vm-prod"
    else:
        with pytest.raises(StepFailure, match="target database Crm on SQL VM vm-prod is still there after DROP DATABASE"):
            remove(ctx, plan.database("vm"))


@pytest.mark.parametrize("name", ["mi", "vm"])
@pytest.mark.parametrize("status", ["Failed", "Canceled"])
@pytest.mark.parametrize("state", ["OFFLINE", "RECOVERING", "RECOVERY_PENDING", "SUSPECT", "EMERGENCY", "COPYING", "SOMETHING_NEW"])
def test_a_target_of_our_ended_migration_in_any_state_but_restoring_is_kept(plan, name, status, state):
    """Only RESTORING is what a restore that never went live leaves; `sys.databases.state_desc` has more values than
    ONLINE and RESTORING (a person took it OFFLINE, it was being brought online or repaired). Was: anything but ONLINE
    was removed."""
    decision = decide(plan.database(name), migration(status, SOURCES[name]), TargetState(state))
    assert not decision.remove
    assert "target %s is %s, not RESTORING" % (SOURCES[name], state) in decision.reason
    assert "Drop it yourself only once you know it is what migration op-1 (%s) left" % status in decision.reason


def managed_instance_removal(status, present=True):
    """A removal context whose ARM read of the managed database gives `status` (absent: `present` False), and the
    databases it deletes. It answers the earlier gateway call (`target_database_status`) too, so the test runs against
    the code before the allowlist."""
    deleted = []
    dms = SimpleNamespace(
        managed_database=lambda target: SimpleNamespace(status=status) if present else None,
        target_database_status=lambda target: status if present else None,
        delete_target_database=lambda target: present and (deleted.append(target.database_name) or True))
    return SimpleNamespace(services=SimpleNamespace(dms=dms), target=SimpleNamespace(database_name="Sales")), deleted


@pytest.mark.parametrize("status", [
    "Offline", "Shutdown", "Creating", "Inaccessible", "Updating", "Stopping", "Stopped", "Starting", "DbMoving",
    "DbCopying", "SomeFutureStatus", "restoring", None])
def test_a_managed_instance_target_not_restoring_in_arm_right_before_its_delete_is_kept(plan, status):
    """ARM's ManagedDatabaseStatus has many values (Microsoft.Sql ManagedDatabases.json 2023-08-01), and is extensible;
    only Restoring is the DMS restore that never went live. A database a person took Offline, one being updated or
    copied, one with an unknown or no status is kept, the status named (was: deleted, anything but Online)."""
    ctx, deleted = managed_instance_removal(status)
    named = "no status" if status is None else status
    with pytest.raises(StepFailure, match="managed database Sales on mi-prod reads %s in ARM right before its delete" % named):
        remove(ctx, plan.database("mi"))
    assert deleted == []


def test_a_managed_instance_target_already_gone_is_fine(plan):
    ctx, deleted = managed_instance_removal(None, present=False)
    assert remove(ctx, plan.database("mi")) == "target database Sales was already absent"
    assert deleted == []


@pytest.mark.parametrize("status, deleted", [("Restoring", True), ("Online", False)])
def test_a_managed_instance_target_online_in_arm_right_before_its_delete_is_kept(plan, status, deleted):
    """The rollback decides on a read of the target through SQL (through Data Factory minutes old); the ARM delete
    removes a managed database whatever its state. So the database's ARM status, read right before the delete, keeps
    one that went Online since (was: deleted; a SQL VM's DROP batch looks at the state itself)."""
    ctx, calls = managed_instance_removal(status)
    if deleted:
        assert remove(ctx, plan.database("mi")) == "deleted managed database Sales on mi-prod"
        assert calls == ["Sales"]
    else:
        with pytest.raises(StepFailure, match="managed database Sales on mi-prod reads Online in ARM right before its delete"):
            remove(ctx, plan.database("mi"))
        assert calls == []


@pytest.mark.parametrize("name", ["mi", "vm", "db"])
@pytest.mark.parametrize("status, target, left", [
    ("Failed", TargetState("OFFLINE"), True),
    ("Canceled", TargetState("RECOVERY_PENDING"), True),
    ("Failed", ONLINE, True),  # preflight names it a leftover too (`steps.preflight`)
    ("Failed", RESTORING, False),  # removed
    ("Succeeded", ONLINE, False),  # live: kept by design
    ("InProgress", RESTORING, False),
    ("Failed", None, False),
])
def test_only_a_target_our_ended_migration_left_and_the_rollback_keeps_is_left_for_a_person(plan, name, status, target, left):
    """What the rollback keeps though it is its ended migration's leftover, which the next preflight refuses: it then
    ends RolledBackTargetKept, not RolledBack (`rollback.KEPT_TARGET_STATUS`). A SqlDb target existed before: never."""
    decision = decide(plan.database(name), migration(status, SOURCES[name]), target)
    assert decision.left_for_a_person == (left and name != "db"), decision.reason
