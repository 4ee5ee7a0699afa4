"""How many `listMigrations` calls (and pages) a run costs per database, on the DMS contract server through the real
gateway (the SDK transport, or REST on Python 3.8), its list paged (`World.set_list_page_size`).

ARM throttles reads per subscription and principal (a token bucket: Microsoft, "Understand how Azure Resource Manager
throttles requests"), and every call reads every page: on a plan of 1,000 databases what each database costs per run
adds up. A call proves a 404 (`DmsGateway.current_migration`: nothing is read as "no migration there" on a 404 alone),
counts the migrations in flight for admission, and finds migrations into targets the plan no longer names; a list is
reused only within one poke, where no operation began since, never across tasks (`migrations_on_service`, `reuse`).

Figures (per database and run): not started, 2 calls (`preflight` 1, `start_migration` 1; was 3, the create reading
the list again milliseconds after the step's own read); running or done, none (ARM's GET finds the migration). A
database waiting for a place costs one call per poke of `start_migration`. Under `cutover.maxConcurrent` a gated
database costs one call per poke of `await_cutover` whose window fits and whose approval is given (or not needed),
none while it waits for either, and one in its freezing step. Each call reads every page once.
"""
from __future__ import annotations

import collections
import json
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
    """`cutover.maxConcurrent` counts the plan's cutovers in progress from the service's list: in the poke of
    `await_cutover` that finds a place (here, without a window or an approval, its first) and once more in the
    freezing step, right before its freeze."""
    document = plan_with_databases([database_entry("db", "Sales", mode="online")])
    document["cutover"] = {"maxConcurrent": 1}
    plan = parse_plan(document)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    counter = ListCounter(paged_world(rehearsal_world, plan))
    run = RunDriver(dag, observe=counter.observe)
    assert run.run_database("db")["db.done"] == "success", run.errors
    assert counter.of("db") == {"preflight": 1, "start_migration": 1, "await_cutover": 1, "freeze_source": 1}, dict(counter.calls)


SATURDAY_NIGHT = {"timeZone": "Europe/Berlin", "days": ["Sat"], "start": "22:00", "durationMinutes": 360}


def cutover(approvers):
    """A database's `cutover`: Saturday nights, approval required where there are `approvers`."""
    return {"windows": [SATURDAY_NIGHT], "expectedMinutes": 30,
            "approval": {"required": bool(approvers), "approvers": approvers, "channel": "airflowVariable"}}


def gate_pokes(counter: ListCounter, events_file, task_id: str):
    """An observer of `counter`'s too: each poke of `task_id` as (the status of its event, its listMigrations calls)."""
    pokes = []

    def observe(observed: str) -> None:
        before = counter.calls[observed]
        counter.observe(observed)
        if observed == task_id:
            rows = [json.loads(line) for line in events_file.read_text().splitlines()]
            status = [r["Status"] for r in rows if r["Phase"] == task_id.split(".", 1)[1]][-1]
            pokes.append((status, counter.calls[observed] - before))

    return pokes, observe


def test_await_cutover_lists_only_at_the_pokes_whose_decision_the_count_of_cutovers_in_progress_can_change(
    rehearsal_world, monkeypatch, tmp_path
):
    """Under `cutover.maxConcurrent`, a database waiting for its window or for an approval pokes for days (at most
    `max_poke_wait` apart) and the count of the cutovers in progress cannot change what it waits for: none of those
    pokes lists; the poke that finds the window open and the approval given counts them (and the freezing step again,
    right before its freeze). Was: a call at every poke of `await_cutover` (1,000 databases waiting: ~5,000 an hour)."""
    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-03T12:00:00Z")  # a Thursday: the window opens on Saturday
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "db:approve")
    events_file = tmp_path / "events.jsonl"
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(events_file))
    gate = cutover(approvers=["alice@contoso.com"])
    document = plan_with_databases([database_entry("db", "Sales", mode="online", cutover=gate)])
    document["cutover"] = {"maxConcurrent": 1}
    plan = parse_plan(document)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    counter = ListCounter(paged_world(rehearsal_world, plan))
    pokes, observe = gate_pokes(counter, events_file, "db.await_cutover")
    run = RunDriver(dag, observe=observe)
    assert run.run_database("db")["db.done"] == "success", run.errors
    assert pokes == [("WaitingForWindow", 0), ("AwaitingApproval", 0), ("Approved", 1)], pokes
    assert counter.of("db") == {"preflight": 1, "start_migration": 1, "await_cutover": 1, "freeze_source": 1}, dict(counter.calls)


def test_await_cutover_held_for_a_place_lists_at_every_poke_and_says_so_and_waiting_for_its_window_does_not(
    rehearsal_world, monkeypatch, tmp_path
):
    """`a`'s source frozen (its worker died right after), `b` waits: while its window is closed it says it waits for
    the window and lists nothing; in the next window every poke counts the cutovers in progress (a place may free up
    at any moment) and says it waits for one."""
    import task_driver
    from world_view import set_rehearsal_clock

    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-05T22:00:00Z")  # inside the window
    events_file = tmp_path / "events.jsonl"
    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(events_file))
    gate = cutover(approvers=[])
    document = plan_with_databases([database_entry(name, source, mode="online", cutover=gate) for name, source in (("a", "Sales"), ("b", "Hr"))])
    document["cutover"] = {"maxConcurrent": 1}
    plan = parse_plan(document)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    counter = ListCounter(paged_world(rehearsal_world, plan))
    with pytest.raises(WorkerCrashed):
        RunDriver(dag).run_database("a", crash_after="freeze_source")
    set_rehearsal_clock(rehearsal_world, "2026-12-06T04:00:00Z")  # the window closed at 03:00
    pokes, observe = gate_pokes(counter, events_file, "b.await_cutover")

    def open_the_next_window_after_the_first_poke(task_id):
        observe(task_id)
        if task_id == "b.await_cutover" and len(pokes) == 1:
            set_rehearsal_clock(rehearsal_world, "2026-12-12T21:30:00Z")

    monkeypatch.setattr(task_driver, "MAX_POKES", 3)
    held = RunDriver(dag, observe=open_the_next_window_after_the_first_poke)
    assert held.run_database("b")["b.await_cutover"] == "failed", "the driver gives up after 3 pokes (a scheduler would not)"
    assert pokes == [("WaitingForWindow", 0), ("WaitingForWindow", 1), ("WaitingForWindow", 1)], pokes
    messages = [r["Message"] for r in (json.loads(line) for line in events_file.read_text().splitlines())
                if r["Database"] == "b" and r["Phase"] == "await_cutover"]
    assert messages[0].startswith("b is ready for cutover and keeps replicating; next window"), messages
    assert all(m.startswith("1 cutover(s) in progress (cutover.maxConcurrent 1): b waits in window") for m in messages[1:]), messages
