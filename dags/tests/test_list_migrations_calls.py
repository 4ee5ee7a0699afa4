"""How many `listMigrations` calls (and pages) a run costs per database, on the DMS contract server through the real
gateway (the SDK transport, or REST on Python 3.8), its list paged (`World.set_list_page_size`).

ARM throttles reads per subscription and principal (a token bucket: Microsoft, "Understand how Azure Resource Manager
throttles requests"), and every call reads every page: on a plan of 1,000 databases what each database costs per run
adds up. A call proves a 404 (`DmsGateway.current_migration`: nothing is read as "no migration there" on a 404 alone),
counts the migrations in flight for admission, and finds migrations into targets the plan no longer names; a list is
reused only within one poke, where no operation began since, never across tasks (`migrations_on_service`, `reuse`).

Figures (per database and run): not started, 2 calls (`preflight` 1, `start_migration` 1; was 3, the create reading
the list again milliseconds after the step's own read); running or done, none (ARM's GET finds the migration). A
database waiting for a place costs one call per poke of `start_migration`. Each call reads every page once.
"""
from __future__ import annotations

import collections
from typing import Dict, List
from urllib.parse import parse_qs

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from task_driver import RunDriver, WorkerCrashed

pytestmark = [pytest.mark.airflow26]  # the REST transport's paging too

PAGE_SIZE = 2


def paged_world(directory, plan):
    """The rehearsal world of `plan`, its service's list paged by `PAGE_SIZE`; the DMS contract server's request log."""
    from migration_orchestration_lib import rehearsal
    from migration_rehearsal.world import World

    world = World(str(directory))
    rehearsal.seed_world(world, plan)
    world.set_list_page_size(rehearsal.SERVICE_ID, PAGE_SIZE)
    key = "dms:%s" % directory
    return lambda: rehearsal._servers[key].received("listMigrations") if key in rehearsal._servers else []


class ListCounter:
    """RunDriver's observer: the `listMigrations` requests each poke made, by task, as calls (a first page) and pages."""

    def __init__(self, received):
        self._received = received
        self._seen = len(received())
        self.calls: Dict[str, int] = collections.Counter()
        self.pages: Dict[str, List[int]] = collections.defaultdict(list)  # task id -> pages of each call

    def observe(self, task_id: str) -> None:
        requests = self._received()
        for request in requests[self._seen:]:
            skip = parse_qs(request["query"]).get("$skiptoken")
            if skip is None:
                self.calls[task_id] += 1
                self.pages[task_id].append(1)
            else:  # the next page of the task's last call, none fetched twice
                assert int(skip[0]) == PAGE_SIZE * self.pages[task_id][-1], requests
                self.pages[task_id][-1] += 1
        self._seen = len(requests)

    def of(self, database: str) -> Dict[str, int]:
        return {task.split(".", 1)[1]: count for task, count in self.calls.items() if task.startswith(database + ".") and count}


@pytest.mark.parametrize("kind", ["online", "offline", "SqlDb"])
def test_the_list_calls_of_a_run_per_database_not_started_running_and_done(rehearsal_world, kind):
    """`fresh_*` start in the first run and are migrated in it; `running_*` start in it too and its worker dies right
    after `start_migration`; the second run finds `fresh_*` done and `running_*` running. Was: 3 calls for a database
    not started (`start_migration` 2: its create listed again)."""
    def entry(name, number):
        if kind == "SqlDb":
            return database_entry(name, "Db%d" % number, target="db-prod")
        return database_entry(name, "Db%d" % number, mode=kind)

    names = ["fresh_0", "fresh_1", "running_0", "running_1"]
    plan = parse_plan(plan_with_databases([entry(name, number) for number, name in enumerate(names)]))
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    received = paged_world(rehearsal_world, plan)

    first = ListCounter(received)
    run = RunDriver(dag, observe=first.observe)
    for number in range(2):
        assert run.run_database("fresh_%d" % number)["fresh_%d.done" % number] == "success", run.errors
        with pytest.raises(WorkerCrashed):
            run.run_database("running_%d" % number, crash_after="start_migration")
    for name in names:
        assert first.of(name) == {"preflight": 1, "start_migration": 1}, (name, dict(first.calls))
    # in the run's order: 0, 0, 1, 1, 2, 2, 3 and 3 migrations listed, 2 a page
    assert [pages for calls in first.pages.values() for pages in calls] == [1, 1, 1, 1, 1, 1, 2, 2], dict(first.pages)

    second = ListCounter(received)
    run = RunDriver(dag, observe=second.observe)
    for name in names:
        assert run.run_database(name)[name + ".done"] == "success", run.errors
    assert dict(second.calls) == {}, "a running or done database lists nothing: %s" % dict(second.calls)


def test_a_preflight_finding_the_source_frozen_by_the_dag_and_no_migration_lists_once(rehearsal_world):
    """A SqlDb copy's run froze its source and DMS refused the create (its worker could as well have died between the
    two); the next run's preflight reads 404 for the target's migration, proven by the list, and, the source frozen by
    the DAG, looks in that list for a migration of the source into a target the plan no longer names
    (`capacity.migrated_elsewhere`). Was: a second call for it, milliseconds after the first, nothing begun between."""
    from migration_rehearsal.world import World

    plan = parse_plan(plan_with_databases([database_entry("copy", "Hr", target="db-prod")]))
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    received = paged_world(rehearsal_world, plan)
    World(str(rehearsal_world)).add_fault("create", "error", status=400, code="InvalidParameter", count=10)
    run = RunDriver(dag)
    assert run._run_task(dag.get_task("copy.preflight")) == "success", run.errors
    assert run._run_task(dag.get_task("copy.start_migration")) == "failed", run.errors
    assert "InvalidParameter" in run.errors["copy.start_migration"]
    assert World(str(rehearsal_world)).database("sql01", "Hr")["readOnly"], "the source was not frozen before the create"

    counter = ListCounter(received)
    later = RunDriver(dag, observe=counter.observe)
    assert later._run_task(dag.get_task("copy.preflight")) == "success", later.errors
    assert later.xcom[("copy.preflight", "return_value")]["sourceFrozen"] is True
    assert counter.of("copy") == {"preflight": 1}, dict(counter.calls)


def test_a_rollback_names_what_runs_into_an_unnamed_target_from_a_list_it_read(rehearsal_world):
    """The same refused create, rolled back: the rollback proves the 404 with one list, and lists again right before
    it hands the frozen source back (`capacity.migrated_elsewhere`: what it decides on is read after every change it
    made); the migration of the source into a target the plan no longer names, which only says what is left running,
    is looked for in that list. Was: a third call."""
    from migration_rehearsal.world import World

    plan = parse_plan(plan_with_databases([database_entry("copy", "Hr", target="db-prod")]))
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    received = paged_world(rehearsal_world, plan)
    World(str(rehearsal_world)).add_fault("create", "error", status=400, code="InvalidParameter", count=10)
    counter = ListCounter(received)
    run = RunDriver(dag, observe=counter.observe)
    states = run.run_database("copy")
    assert states["copy.start_migration"] == "failed" and states["copy.rollback"] == "success", run.errors
    assert not World(str(rehearsal_world)).database("sql01", "Hr")["readOnly"], "the source was not handed back"
    # start_migration: one a try (it is tried twice)
    assert counter.of("copy") == {"preflight": 1, "start_migration": 2, "rollback": 2}, dict(counter.calls)


def test_cutover_max_concurrent_costs_a_call_at_each_count_of_the_cutovers_in_progress(rehearsal_world):
    """`cutover.maxConcurrent` counts the plan's cutovers in progress from the service's list: in every poke of
    `await_cutover` (a database waiting days for its window pokes at most `max_poke_wait` apart) and once more in the
    freezing step, right before its freeze. Here the gate lets it go at its first poke."""
    document = plan_with_databases([database_entry("db", "Sales", mode="online")])
    document["cutover"] = {"maxConcurrent": 1}
    plan = parse_plan(document)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    counter = ListCounter(paged_world(rehearsal_world, plan))
    run = RunDriver(dag, observe=counter.observe)
    assert run.run_database("db")["db.done"] == "success", run.errors
    assert counter.of("db") == {"preflight": 1, "start_migration": 1, "await_cutover": 1, "freeze_source": 1}, dict(counter.calls)
