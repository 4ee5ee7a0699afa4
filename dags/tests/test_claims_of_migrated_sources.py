"""A source database declared migrated stays claimed by its entry: no second entry migrates it again.

`tests/test_source_identity.py`'s plan: entries `a` (source server `sql01`) and `b` (`listener`, an alias of the same
SQL Server) both name `Sales`. The claim (`source_claims`) refuses `b` while `a` migrates. Was: `done` released the
claim once it declared `a` migrated, so `b` was then judged by the source alone; a source the DAG froze carries its
freeze marker, which refuses `b`, but a read-only archive (which needs no freeze, and a read-only database takes no
marker) carries none: `b` migrated the archive again into another target and declared it migrated too, two copies
in service, the applications' writes split between them. Now the claim is kept for good, marked `migrated`, by the
entry's later runs too (their preflight and a rollback that ends `RolledBack`). Task by task (`task_driver`) on the
rehearsal world."""
from __future__ import annotations

import json

import pytest

from migration_orchestration_lib import source_claims
from migration_orchestration_lib.rehearsal import SERVICE_ID
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE, FileRecords
from test_source_identity import ACCESSES, claims, holder, setup, two_spellings_document
from task_driver import RunDriver
from world_view import WorldView


def archived(world):
    """The team keeps Sales read-only before any migration (an archive): no freeze, no freeze marker."""
    world.update_database("sql01", "Sales", readOnly=True, userAccess="MULTI_USER")


def into_b_target(view):
    """The DMS migrations into `b`'s target (vm-prod, a SQL VM; `a`'s is a managed instance)."""
    return [operation for operation in view.operations() if operation["kind"] == "SqlVm"]


def claim_of(directory):
    [value] = claims(directory).values()
    return json.loads(value)


@pytest.mark.parametrize("access", ACCESSES)
def test_an_archive_declared_migrated_through_one_entry_is_never_migrated_again_through_another(rehearsal_world, access):
    plan, dag, world = setup(rehearsal_world, two_spellings_document(access, mode="offline"))
    archived(world)
    first = RunDriver(dag)
    first.run_database("a")
    assert first.outcome("a") == "migrated", first.errors

    later = RunDriver(dag)
    states = later.run_database("b")

    b = WorldView(rehearsal_world, plan.database("b"), plan)
    assert into_b_target(b) == [], "a second migration of the declared source: %s" % later.outcome("b")
    assert states["b.preflight"] == "failed", (states, later.errors)
    refusal = later.errors["b.preflight"]
    for words in ("b and a name one source database", "A run declared a's migration of it migrated",
                  "split their writes", "Remove b from the plan", "airflow variables set migration_source_claim__"):
        assert words in refusal, refusal
    assert holder(rehearsal_world) == "a" and claim_of(rehearsal_world).get("migrated") is True
    assert b.source()["readOnly"] is True


def test_a_later_run_of_the_migrated_entry_keeps_its_claim_even_where_its_rollback_ends_rolled_back(rehearsal_world):
    """A later run of `a` (its preflight claims again), and a later one whose step fails and whose rollback ends
    RolledBack (the declared migration is neither canceled nor its source handed back): the claim stays `a`'s, marked
    migrated, and `b` is still refused."""
    plan, dag, world = setup(rehearsal_world, two_spellings_document(mode="offline"))
    archived(world)
    first = RunDriver(dag)
    first.run_database("a")
    assert first.outcome("a") == "migrated", first.errors

    again = RunDriver(dag)
    again.run_database("a")
    assert again.outcome("a") == "migrated", again.errors
    assert holder(rehearsal_world) == "a" and claim_of(rehearsal_world).get("migrated") is True

    world.set_integration_runtime_state(SERVICE_ID, "Offline")  # stopped after the migration: preflight fails
    failing = RunDriver(dag)
    states = failing.run_database("a")
    assert states["a.preflight"] == "failed" and failing.outcome("a") == "rolled_back", (states, failing.errors)
    world.set_integration_runtime_state(SERVICE_ID, "Online")
    assert holder(rehearsal_world) == "a" and claim_of(rehearsal_world).get("migrated") is True, failing.errors

    later = RunDriver(dag)
    assert later.run_database("b")["b.preflight"] == "failed", later.errors
    assert into_b_target(WorldView(rehearsal_world, plan.database("b"), plan)) == []


@pytest.mark.parametrize("lost", ["done's worker lost before the mark", "released by a version before"])
def test_a_claim_not_marked_migrated_is_marked_by_the_entrys_later_run_where_its_target_was_declared(
        rehearsal_world, monkeypatch, lost):
    """`done` records the handoff, then marks the claim: its worker lost in between leaves the claim unmarked, and a
    version before released it at done. The entry's later run claims again, and its rollback (a step after preflight
    failed) would release an unmarked claim: the claim is marked from the handoff by target, so `b` is still refused."""
    plan, dag, world = setup(rehearsal_world, two_spellings_document(mode="offline"))
    archived(world)
    if lost == "done's worker lost before the mark":
        monkeypatch.setattr(source_claims, "keep_as_migrated", lambda ctx: None)
    first = RunDriver(dag)
    first.run_database("a")
    assert first.outcome("a") == "migrated", first.errors
    if lost == "released by a version before":
        [key] = claims(rehearsal_world)
        FileRecords(str(rehearsal_world), RECORDS_FILE).delete(key)

    later = RunDriver(dag)  # a later run of `a`, a step after its preflight failing: its rollback runs
    assert later._run_task(dag.get_task("a.preflight")) == "success", later.errors
    assert later._run_task(dag.get_task("a.rollback")) == "success", later.errors

    other = RunDriver(dag)
    assert other.run_database("b")["b.preflight"] == "failed", other.outcome("b")
    assert into_b_target(WorldView(rehearsal_world, plan.database("b"), plan)) == []
    assert holder(rehearsal_world) == "a" and claim_of(rehearsal_world).get("migrated") is True
