"""The DAG's shape for several plans: order, isolation, rollback wiring, sensors, the run's leaf.

Marked airflow26: these also run in the Apache Airflow 2.6.3 environment when it is built.
"""
from __future__ import annotations

import itertools
import subprocess
import sys

import pytest

from conftest import DAGS_DIR, PLANS_DIR, database_entry, load_plan_document, plan_with_databases
from migration_orchestration_lib.dag_factory import DAG_ID, build_dag
from migration_orchestration_lib.plan import parse_plan

pytestmark = pytest.mark.airflow26

WORK_TASKS_ONLINE = ["preflight", "start_migration", "wait_for_migration", "cutover", "wait_for_completion", "validate", "done"]
WORK_TASKS_OFFLINE = ["preflight", "start_migration", "wait_for_migration", "validate", "done"]


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
    document = load_plan_document()
    document["targetServers"] += [
        {"name": "db-prod", "kind": "SqlDb", "resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/sqlprod"},
        {"name": "vm-prod", "kind": "SqlVm", "resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.SqlVirtualMachine/sqlVirtualMachines/vm1"},
    ]
    document["databases"] = [
        database_entry("to_mi", "Sales"),
        {"name": "to_db", "source": {"server": "sql01", "database": "Hr"}, "target": {"server": "db-prod"}, "dependsOn": ["to_mi"]},
        database_entry("to_vm", "Crm", target="vm-prod"),
    ]
    return document


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
    assert dag.schedule_interval is None
    assert dag.max_active_runs == 1
    assert dag.catchup is False


def test_each_database_is_a_task_group_with_its_steps(plan_and_dag):
    plan, dag = plan_and_dag
    assert set(dag.task_group.children) == set(plan.database_names) | {"run_outcome"}
    for database in plan.databases:
        steps = WORK_TASKS_ONLINE if database.is_online else WORK_TASKS_OFFLINE
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
        steps = WORK_TASKS_ONLINE if database.is_online else WORK_TASKS_OFFLINE
        assert rollback.trigger_rule == "one_failed"
        assert rollback.upstream_task_ids == {"%s.%s" % (database.name, s) for s in steps}
        assert rollback.downstream_task_ids == {"run_outcome"}


def test_every_sensor_reschedules_with_backoff_and_the_plans_timeout(plan_and_dag):
    from airflow.sensors.base import BaseSensorOperator

    plan, dag = plan_and_dag
    sensors = [t for t in dag.tasks if isinstance(t, BaseSensorOperator)]
    assert len(sensors) == sum(2 if d.is_online else 1 for d in plan.databases)
    for sensor in sensors:
        database = plan.database(sensor.task_id.split(".")[0])
        assert sensor.mode == "reschedule"
        assert sensor.exponential_backoff is True
        assert sensor.timeout == database.timeout_minutes * 60


def test_run_outcome_is_the_only_leaf_and_sees_every_database(plan_and_dag):
    plan, dag = plan_and_dag
    assert [t.task_id for t in dag.leaves] == ["run_outcome"]
    outcome = dag.get_task("run_outcome")
    assert outcome.trigger_rule == "all_done"
    assert outcome.upstream_task_ids == {"%s.%s" % (n, t) for n in plan.database_names for t in ("done", "rollback")}


def test_only_online_migrations_have_a_cutover():
    plan = parse_plan(mixed_kinds_plan())
    dag = build_dag(plan, environ={})
    assert "to_mi.cutover" in dag.task_ids and "to_vm.cutover" in dag.task_ids
    assert "to_db.cutover" not in dag.task_ids


def test_parse_cost_is_linear_in_databases():
    plan = parse_plan(chain_plan(60))
    dag = build_dag(plan, environ={})
    assert len(dag.tasks) == 60 * 8 + 1


def test_dagbag_imports_the_dag_folder_with_the_plan_from_the_environment(monkeypatch):
    from airflow.models.dagbag import DagBag

    monkeypatch.setenv("MIGRATION_PLAN_PATH", str(PLANS_DIR / "three_databases.json"))
    bag = DagBag(dag_folder=str(DAGS_DIR), include_examples=False)
    assert bag.import_errors == {}
    assert list(bag.dag_ids) == [DAG_ID]
    assert len(bag.dags[DAG_ID].task_group.children) == 4


@pytest.mark.parametrize(
    "environment, expected",
    [
        ({"MIGRATION_PLAN_PATH": "/nonexistent/migration_plan.json"}, "cannot read the plan file"),
        ({"MIGRATION_DRY_RUN": "1", "MIGRATION_SIMULATE_FAILURE": "database_1,database_9"}, "names database(s) not in the plan: database_9"),
        ({"MIGRATION_SIMULATE_FAILURE": "database_1"}, "failures can only be simulated in a rehearsal"),
    ],
)
def test_bad_environment_is_a_clear_import_error(monkeypatch, environment, expected):
    from airflow.models.dagbag import DagBag

    monkeypatch.setenv("MIGRATION_PLAN_PATH", str(PLANS_DIR / "three_databases.json"))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    bag = DagBag(dag_folder=str(DAGS_DIR), include_examples=False)
    assert len(bag.import_errors) == 1
    assert expected in next(iter(bag.import_errors.values()))


def test_malformed_plan_file_is_a_clear_import_error(monkeypatch, tmp_path):
    from airflow.models.dagbag import DagBag

    plan_file = tmp_path / "migration_plan.json"
    plan_file.write_text('{"name": "contoso-sql", "databases": [')
    monkeypatch.setenv("MIGRATION_PLAN_PATH", str(plan_file))
    bag = DagBag(dag_folder=str(DAGS_DIR), include_examples=False)
    [message] = bag.import_errors.values()
    assert "invalid migration plan %s" % plan_file in message
    assert "the plan file is not valid JSON" in message
    assert DAG_ID not in bag.dags


def test_parsing_imports_no_azure_sdk_or_sql_driver():
    script = (
        "import os, sys; sys.path.insert(0, %r); os.environ['MIGRATION_PLAN_PATH'] = %r\n"
        "import migration_orchestration\n"
        "heavy = sorted(m for m in sys.modules if m.startswith(('azure.', 'pymssql')))\n"
        "print(','.join(heavy))\n"
    ) % (str(DAGS_DIR), str(PLANS_DIR / "three_databases.json"))
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert output.stdout.strip() == ""
