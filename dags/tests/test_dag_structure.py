"""The DAG's shape for several plans: order, isolation, rollback wiring, waiting, pools, the run's leaf.

Marked airflow210 and airflow26: these also run with Apache Airflow 2.10.5 and 2.6.3 (see run-tests.sh).
"""
from __future__ import annotations

import itertools
import json
import subprocess
import sys

import pytest

from conftest import DAGS_DIR, database_entry, load_plan_document, plan_with_databases, write_bundle
from migration_orchestration_lib import dag_factory
from migration_orchestration_lib.airflow_compat import AIRFLOW_3, AirflowException, BaseSensorOperator, DAG
from migration_orchestration_lib.dag_factory import DAG_ID, build_dag
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.pools import pool_by_task

pytestmark = [pytest.mark.airflow210, pytest.mark.airflow31, pytest.mark.airflow26]

ONLINE_RESTORE = ["preflight", "start_migration", "wait_for_migration", "freeze_source", "final_backup", "cutover",
                  "wait_for_completion", "validate", "done"]
OFFLINE_RESTORE = ["preflight", "start_migration", "freeze_source", "final_backup", "wait_for_migration", "validate", "done"]
DATA_COPY = ["preflight", "start_migration", "wait_for_migration", "validate", "done"]


def work_tasks(database):
    if database.target_kind == "SqlDb":
        return DATA_COPY
    return ONLINE_RESTORE if database.is_online else OFFLINE_RESTORE


def example_plan():
    return load_plan_document()


def diamond_plan():
    return plan_with_databases(
        [
            database_entry("base", "Base"),
            database_entry("left", "Left", depends_on=["base"]),
            database_entry("right", "Right", depends_on=["base"], mode="offline"),
            database_entry("top", "Top", depends_on=["left", "right"]),
        ]
    )


def chain_plan(length: int = 6):
    return plan_with_databases(
        [database_entry("db_%d" % i, "Db%d" % i, depends_on=["db_%d" % (i - 1)] if i else []) for i in range(length)]
    )


def independent_plan():
    return plan_with_databases([database_entry("db_%d" % i, "Db%d" % i) for i in range(4)])


def mixed_kinds_plan():
    return plan_with_databases(
        [
            database_entry("to_mi", "Sales"),
            database_entry("to_db", "Hr", target="db-prod", depends_on=["to_mi"]),
            database_entry("to_vm", "Crm", target="vm-prod", mode="offline"),
        ]
    )


PLANS = {
    "example": example_plan,
    "diamond": diamond_plan,
    "chain": chain_plan,
    "independent": independent_plan,
    "mixed_kinds": mixed_kinds_plan,
}


def reachable_from(dag, task_id):
    seen, stack = set(), [task_id]
    while stack:
        for downstream in dag.get_task(stack.pop()).downstream_task_ids:
            if downstream not in seen:
                seen.add(downstream)
                stack.append(downstream)
    return seen


def depends_transitively(plan, name, other):
    pending, seen = list(plan.database(name).depends_on), set()
    while pending:
        current = pending.pop()
        if current == other:
            return True
        if current not in seen:
            seen.add(current)
            pending.extend(plan.database(current).depends_on)
    return False


@pytest.fixture(params=sorted(PLANS))
def plan_and_dag(request):
    plan = parse_plan(PLANS[request.param]())
    return plan, build_dag(plan, environ={})


def test_dag_is_manual_single_run_and_does_not_catch_up(plan_and_dag):
    _, dag = plan_and_dag
    assert dag.dag_id == DAG_ID
    assert type(dag.timetable).__name__ == "NullTimetable"  # schedule=None: manual runs only
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert dag.is_paused_upon_creation is False, "created paused, a triggered run stays queued"


def test_each_database_is_a_task_group_with_its_steps(plan_and_dag):
    plan, dag = plan_and_dag
    assert set(dag.task_group.children) == set(plan.database_names) | {"run_outcome"}
    for database in plan.databases:
        steps = work_tasks(database)
        group_task_ids = {t for t in dag.task_ids if t.startswith(database.name + ".")}
        assert group_task_ids == {"%s.%s" % (database.name, s) for s in steps + ["rollback"]}
        for upstream, downstream in zip(steps, steps[1:]):
            assert "%s.%s" % (database.name, downstream) in dag.get_task("%s.%s" % (database.name, upstream)).downstream_task_ids


def test_every_dependency_is_honoured_task_to_task(plan_and_dag):
    plan, dag = plan_and_dag
    for database in plan.databases:
        preflight = dag.get_task("%s.preflight" % database.name)
        external_upstreams = {t for t in preflight.upstream_task_ids}
        assert external_upstreams == {"%s.done" % d for d in database.depends_on}


def test_no_database_waits_on_one_it_does_not_depend_on(plan_and_dag):
    plan, dag = plan_and_dag
    for first, second in itertools.permutations(plan.database_names, 2):
        reachable = reachable_from(dag, "%s.preflight" % first)
        waits = "%s.preflight" % second in reachable
        assert waits == depends_transitively(plan, second, first), (first, second)


def test_rollback_runs_on_any_failed_step_of_its_own_database_only(plan_and_dag):
    plan, dag = plan_and_dag
    for database in plan.databases:
        rollback = dag.get_task("%s.rollback" % database.name)
        steps = work_tasks(database)
        assert rollback.trigger_rule == "one_failed"
        assert rollback.upstream_task_ids == {"%s.%s" % (database.name, s) for s in steps}
        assert rollback.downstream_task_ids == {"run_outcome"}


def test_every_task_waits_without_a_slot_within_bounded_time_in_its_pool(plan_and_dag):
    plan, dag = plan_and_dag
    pools = pool_by_task()
    for task in dag.tasks:
        assert task.execution_timeout is not None and task.execution_timeout.total_seconds() > 0, task.task_id
        if task.task_id == "run_outcome":
            continue
        database, name = task.task_id.split(".")
        assert isinstance(task, BaseSensorOperator) and task.mode == "reschedule", task.task_id
        assert task.timeout == plan.database(database).timeout_minutes * 60
        assert task.pool == pools.get(name, "default_pool"), task.task_id
    assert {t.pool for t in dag.tasks} >= {"database_migration_admission", "database_migration_sql"}


FREEZING_STEP = {"SqlDb": "start_migration"}  # a SqlDb copy's start_migration freezes the source first


def tasks_while_frozen(database):
    """The tasks from the one that freezes the source on: each minute one of them waits is the applications' downtime."""
    work = work_tasks(database)
    return set(work[work.index(FREEZING_STEP.get(database.target_kind, "freeze_source")):])


def scheduler_priorities(dag):
    """Each task's priority as the scheduler stores it on the task instance and orders queued ones by it, from the DAG
    as serialized for the scheduler: Airflow 2's `priority_weight_total`; Airflow 3's weight rule's `get_weight` of a
    task instance, as `TaskInstance.insert_mapping` computes it."""
    from airflow.models.taskinstance import TaskInstance

    def priority(task):
        if not AIRFLOW_3:
            return task.priority_weight_total
        return task.weight_rule.get_weight(TaskInstance(task=task, run_id="r", map_index=-1, dag_version_id=None))

    restored = serializer().from_dict(serializer().to_dict(dag))
    return {task.task_id: priority(task) for task in restored.tasks}


@pytest.mark.parametrize("plan_name", ["mixed_kinds", "chain", "diamond"])
def test_a_rollback_then_a_frozen_sources_tasks_go_first_when_the_pools_are_full(plan_name):
    """Where tasks wait for a slot (a pool or the DAG's max_active_tasks), Airflow queues the highest priority first.
    Every rollback outranks every other task, and every task of a frozen source outranks every task of a database not
    frozen yet, whatever the dependencies. Was: Airflow's default rule weighed a task by all tasks after it, so another
    database's preflight (mixed_kinds: 17) went before to_vm's final backup (6) and validation (4), the rollbacks (2)
    last of all."""
    plan = parse_plan(PLANS[plan_name]())
    priorities = scheduler_priorities(build_dag(plan, environ={}))
    rollbacks, frozen, before = set(), set(), set()
    for database in plan.databases:
        rollbacks.add("%s.rollback" % database.name)
        for step in work_tasks(database):
            (frozen if step in tasks_while_frozen(database) else before).add("%s.%s" % (database.name, step))
    assert frozen and before
    lowest = {group: min(priorities[task] for task in tasks) for group, tasks in (("rollback", rollbacks), ("frozen", frozen))}
    highest = {group: max(priorities[task] for task in tasks) for group, tasks in (("frozen", frozen), ("before", before))}
    assert lowest["rollback"] > highest["frozen"] and lowest["frozen"] > highest["before"], priorities
    assert priorities["run_outcome"] <= highest["before"], priorities


def test_a_gated_chain_waits_for_its_cutover_at_the_lowest_priority_and_freezes_at_the_next():
    """With `cutover.maxConcurrent` every chain is gated: `await_cutover` goes in right before the task that freezes the
    source (a SqlDb copy's `start_migration` too), which moves the freezing step's place in the chain; the wait stays
    at 1 (the source is live while it waits), the freezing step and all after it 2, whatever the mode or kind. A copy
    that leaves its source writable freezes nothing (nor is it gated): all 1 but its rollback."""
    document = plan_with_databases([
        database_entry("online_mi", "Sales"),
        database_entry("offline_vm", "Crm", target="vm-prod", mode="offline"),
        database_entry("frozen_copy", "Hr", target="db-prod"),
        database_entry("live_copy", "Ops", target="db-prod", allowSourceWritesDuringCopy=True),
    ])
    document["cutover"] = {"maxConcurrent": 1}
    plan = parse_plan(document)
    priorities = scheduler_priorities(build_dag(plan, environ={}))
    expected = {}
    for database in plan.databases:
        chain = list(work_tasks(database))
        freezing = FREEZING_STEP.get(database.target_kind, "freeze_source") if database.freezes_source else None
        if freezing:  # maxConcurrent gates the cutovers that freeze
            chain.insert(chain.index(freezing), "await_cutover")
        frozen_from = chain.index(freezing) if freezing else len(chain)
        expected.update({"%s.%s" % (database.name, task): 2 if index >= frozen_from else 1 for index, task in enumerate(chain)})
        expected["%s.rollback" % database.name] = 3
    assert {task: priorities[task] for task in expected} == expected


def test_run_outcome_is_the_only_leaf_and_sees_every_database(plan_and_dag):
    plan, dag = plan_and_dag
    assert [t.task_id for t in dag.leaves] == ["run_outcome"]
    outcome = dag.get_task("run_outcome")
    assert outcome.trigger_rule == "all_done"
    assert outcome.upstream_task_ids == {"%s.%s" % (n, t) for n in plan.database_names for t in ("done", "rollback")}


def test_only_online_migrations_have_a_cutover_and_only_restores_a_final_backup():
    plan = parse_plan(mixed_kinds_plan())
    dag = build_dag(plan, environ={})
    assert "to_mi.cutover" in dag.task_ids and "to_vm.cutover" not in dag.task_ids and "to_db.cutover" not in dag.task_ids
    assert "to_mi.final_backup" in dag.task_ids and "to_vm.final_backup" in dag.task_ids
    assert "to_db.final_backup" not in dag.task_ids and "to_db.freeze_source" not in dag.task_ids


def test_parse_cost_is_linear_in_databases():
    plan = parse_plan(chain_plan(60))
    dag = build_dag(plan, environ={})
    assert len(dag.tasks) == 60 * (len(ONLINE_RESTORE) + 1) + 1


# A generated plan the size of a large estate (bench/gen-plan.mjs's shape: hubs, waves, long chains,
# fan-in sinks; SqlMi/SqlDb/SqlVm, online and offline): 300 databases, 2,083 tasks, ~4,250 edges.
GENERATED_SIZE = 300
GENERATED_PLAN = "generated_300.json"


@pytest.fixture(scope="module")
def generated_plan():
    return parse_plan(load_plan_document(GENERATED_PLAN))


@pytest.fixture(scope="module")
def generated_dag(generated_plan):
    return build_dag(generated_plan, environ={})


def expected_edges(plan):
    """Every edge the DAG must have, from the plan alone (see the README's DAG section)."""
    edges = set()
    for database in plan.databases:
        steps = ["%s.%s" % (database.name, s) for s in work_tasks(database)]
        edges.update(zip(steps, steps[1:]))
        edges.update((step, "%s.rollback" % database.name) for step in steps)
        edges.update(("%s.%s" % (database.name, t), "run_outcome") for t in ("done", "rollback"))
        edges.update(("%s.done" % dependency, "%s.preflight" % database.name) for dependency in database.depends_on)
    return edges


def wired_edges(dag):
    """The DAG's edges; each one must be recorded on both of its ends."""
    downstream = {(task.task_id, other) for task in dag.tasks for other in task.downstream_task_ids}
    upstream = {(other, task.task_id) for task in dag.tasks for other in task.upstream_task_ids}
    assert downstream == upstream
    return downstream


def task_relatives(dag):
    return {
        task.task_id: (sorted(task.upstream_task_ids), sorted(task.downstream_task_ids), task.trigger_rule)
        for task in dag.tasks
    }


def dag_bag():
    """The DAG folder as the DAG processor loads it (examples are off: AIRFLOW__CORE__LOAD_EXAMPLES)."""
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3
    except ImportError:
        from airflow.models.dagbag import DagBag
    return DagBag(dag_folder=str(DAGS_DIR))


def serializer():
    """Airflow 3 renamed the DAG serializer (DagSerialization); Airflow 2 calls it SerializedDAG."""
    from airflow.serialization import serialized_objects

    return getattr(serialized_objects, "DagSerialization", None) or serialized_objects.SerializedDAG


def graph_view_edges(dag):
    from airflow.utils.dag_edges import dag_edges

    return sorted(tuple(sorted(edge.items())) for edge in dag_edges(dag))


def group_tree(group):
    # a deserialized group is Airflow core's class on Airflow 3, not the Task SDK's: ask for children
    return {key: group_tree(child) if hasattr(child, "children") else "task" for key, child in group.children.items()}


def test_a_generated_plan_is_wired_with_every_edge_it_needs_and_no_other(generated_plan, generated_dag):
    assert len(generated_dag.tasks) == sum(len(work_tasks(d)) + 1 for d in generated_plan.databases) + 1
    expected = expected_edges(generated_plan)
    wired = wired_edges(generated_dag)
    assert sorted(expected - wired) == [], "edges missing"
    assert sorted(wired - expected) == [], "edges the plan does not call for"
    assert len(wired) > 4000


def test_wiring_matches_airflows_own_operator_for_every_consumer_of_the_graph(generated_plan, generated_dag, monkeypatch):
    """`_wire` leaves the DAG exactly as `>>` would: tasks, groups, graph view, serialization, order."""
    monkeypatch.setattr(dag_factory, "_wire", lambda upstream, downstream: upstream >> downstream)
    reference = build_dag(generated_plan, environ={})

    assert task_relatives(generated_dag) == task_relatives(reference)
    assert group_tree(generated_dag.task_group) == group_tree(reference.task_group)
    assert graph_view_edges(generated_dag) == graph_view_edges(reference)
    assert json.dumps(serializer().to_dict(generated_dag), sort_keys=True, default=str) == json.dumps(
        serializer().to_dict(reference), sort_keys=True, default=str
    )
    position = {task.task_id: index for index, task in enumerate(generated_dag.topological_sort())}
    assert len(position) == len(generated_dag.tasks)
    assert all(position[upstream] < position[downstream] for upstream, downstream in wired_edges(generated_dag))


def test_the_wired_dag_survives_a_serialization_round_trip(generated_dag):
    """What the scheduler and the webserver load from the metadata DB is the same graph."""
    restored = serializer().from_dict(serializer().to_dict(generated_dag))

    assert task_relatives(restored) == task_relatives(generated_dag)
    assert wired_edges(restored) == wired_edges(generated_dag)
    assert group_tree(restored.task_group) == group_tree(generated_dag.task_group)
    assert graph_view_edges(restored) == graph_view_edges(generated_dag)
    assert [t for t, (_, downstream, _) in task_relatives(restored).items() if not downstream] == ["run_outcome"]


def test_building_the_dag_never_hashes_it(generated_plan, monkeypatch):
    """Airflow's `>>` hashes the DAG (a tuple of all its task ids) on every call: O(tasks) per edge,
    O(tasks x edges) per parse (2.5-3.6 s for 1,000 databases). The factory wires without it."""
    hashes = []
    original = DAG.__hash__

    def counting_hash(self):
        hashes.append(1)
        return original(self)

    monkeypatch.setattr(DAG, "__hash__", counting_hash)
    build_dag(generated_plan, environ={})
    assert len(hashes) == 0


def test_wiring_refuses_tasks_of_another_dag():
    from migration_orchestration_lib.airflow_compat import BaseOperator

    with DAG("one", schedule=None, start_date=dag_factory.START_DATE):
        here = BaseOperator(task_id="here")
    with DAG("two", schedule=None, start_date=dag_factory.START_DATE):
        there = BaseOperator(task_id="there")
    with pytest.raises(AirflowException, match="more than one DAG"):
        dag_factory._wire(here, there)
    assert here.downstream_task_ids == set() and there.upstream_task_ids == set()


def test_dagbag_imports_the_dag_folder_with_the_plan_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MIGRATION_PLAN_PATH", str(write_bundle(tmp_path, load_plan_document())))
    bag = dag_bag()
    assert bag.import_errors == {}
    assert list(bag.dag_ids) == [DAG_ID]
    assert len(bag.dags[DAG_ID].task_group.children) == 4


def test_dagbag_imports_the_plan_its_airflow_is_deployed_for(monkeypatch, tmp_path):
    monkeypatch.setenv("MIGRATION_PLAN_PATH", str(write_bundle(tmp_path, load_plan_document())))
    monkeypatch.setenv("MIGRATION_PLAN_NAME", "contoso-sql")
    assert dag_bag().import_errors == {}


def test_dagbag_imports_a_generated_plan(monkeypatch, tmp_path, generated_plan):
    monkeypatch.setenv("MIGRATION_PLAN_PATH", str(write_bundle(tmp_path, load_plan_document(GENERATED_PLAN))))
    bag = dag_bag()
    assert bag.import_errors == {}
    dag = bag.dags[DAG_ID]
    assert len(dag.task_group.children) == GENERATED_SIZE + 1
    assert wired_edges(dag) == expected_edges(generated_plan)


@pytest.mark.parametrize(
    "environment, expected",
    [
        ({"MIGRATION_PLAN_PATH": "/nonexistent/migration_plan.json"}, "cannot read the plan file"),
        # a second plan's stack imported its DAG into this plan's Data Factory environment
        ({"MIGRATION_PLAN_NAME": "fabrikam-sql"}, "holds migration plan 'contoso-sql', but this Airflow is deployed for plan 'fabrikam-sql'"),
        ({"MIGRATION_DRY_RUN": "1", "MIGRATION_SIMULATE_FAILURE": "database_1,database_9"}, "names database(s) not in the plan: database_9"),
        ({"MIGRATION_SIMULATE_FAILURE": "database_1"}, "failures can only be simulated in a rehearsal"),
        ({"MIGRATION_DRY_RUN": "1", "MIGRATION_SIMULATE_MISMATCH": "database_7"}, "names database(s) not in the plan: database_7"),
        ({"MIGRATION_DRY_RUN": "1", "MIGRATION_SIMULATE_CRASH": "database_1"}, "must be <database>:<task>"),
        ({"MIGRATION_SIMULATE_CRASH": "database_1:cutover"}, "failures can only be simulated in a rehearsal"),
        # database_3 is an offline migration: it has no cutover, so the crash would never happen.
        ({"MIGRATION_DRY_RUN": "1", "MIGRATION_SIMULATE_CRASH": "database_3:cutover"}, "names task 'cutover', which database_3 does not have"),
    ],
)
def test_bad_environment_is_a_clear_import_error(monkeypatch, tmp_path, environment, expected):
    monkeypatch.setenv("MIGRATION_PLAN_PATH", str(write_bundle(tmp_path, load_plan_document())))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    bag = dag_bag()
    assert len(bag.import_errors) == 1
    assert expected in next(iter(bag.import_errors.values()))


def test_malformed_plan_file_is_a_clear_import_error(monkeypatch, tmp_path):
    plan_file = tmp_path / "migration_plan.json"
    plan_file.write_text('{"name": "contoso-sql", "databases": [')
    monkeypatch.setenv("MIGRATION_PLAN_PATH", str(plan_file))
    bag = dag_bag()
    [message] = bag.import_errors.values()
    assert "invalid migration plan %s" % plan_file in message
    assert "the plan file is not valid JSON" in message
    assert DAG_ID not in bag.dags


def test_parsing_imports_no_azure_sdk_or_sql_driver(tmp_path):
    script = (
        "import os, sys; sys.path.insert(0, %r); os.environ['MIGRATION_PLAN_PATH'] = %r\n"
        "import migration_orchestration\n"
        "heavy = sorted(m for m in sys.modules if m.startswith(('azure.', 'pymssql', 'pytds')))\n"
        "print(','.join(heavy))\n"
    ) % (str(DAGS_DIR), str(write_bundle(tmp_path, load_plan_document())))
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert output.stdout.strip() == ""


def task_settings(dag):
    """What the scheduler keeps per task id: pool, trigger rule, priority, upstream tasks."""
    priorities = scheduler_priorities(dag)
    return {task.task_id: (task.pool, str(task.trigger_rule), priorities[task.task_id], frozenset(task.upstream_task_ids))
            for task in dag.tasks}


def test_reordering_the_plans_databases_changes_no_task_id_nor_any_tasks_settings():
    """A running run's task instances are matched to the DAG by task id: databases listed in another order keep every id,
    pool, trigger rule, priority and edge, so a migration under way carries on as it was."""
    document = diamond_plan()
    reordered = dict(document, databases=list(reversed(document["databases"])))
    assert task_settings(build_dag(parse_plan(reordered), environ={})) == task_settings(build_dag(parse_plan(document), environ={}))


def test_a_dependency_added_or_removed_changes_only_the_dependents_preflight_edges():
    """An edit of dependsOn mid-run keeps every task id: a dependent not started yet waits for (or stops waiting for)
    its new dependency's `done`; its tasks that ran stay as they ran (Airflow evaluates a task's trigger rule before it
    runs, never after), so a dependency added once the dependent's preflight ran orders nothing in that run."""
    document = diamond_plan()
    before = task_settings(build_dag(parse_plan(document), environ={}))
    for entry in document["databases"]:
        if entry["name"] == "right":
            entry["dependsOn"] = []
        if entry["name"] == "left":
            entry["dependsOn"] = ["base", "right"]
    after = task_settings(build_dag(parse_plan(document), environ={}))
    assert set(after) == set(before)
    changed = {task_id for task_id in after if after[task_id] != before[task_id]}
    assert changed == {"left.preflight", "right.preflight"}, changed
    assert after["left.preflight"][3] == {"base.done", "right.done"} and after["right.preflight"][3] == set()
