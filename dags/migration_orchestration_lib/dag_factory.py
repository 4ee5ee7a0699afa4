"""Builds the `database_migration_orchestration` DAG from a migration plan.

Per database, a TaskGroup named after it:

    preflight -> start_migration -> wait_for_migration -> [cutover -> wait_for_completion] -> validate -> done
                                                            (online migrations only)
    rollback (one_failed on every step above; skips itself when the database never started)

A dependency is wired from the dependency's `done` to the dependent's `preflight`, so a failed
database holds its dependents (upstream_failed) and nothing else. `run_outcome` (all_done) is the
only leaf: it fails the run when any database was not migrated, even if its rollback succeeded.

Parsing does no I/O besides reading the plan file and the environment, and its cost is linear in
tasks plus edges: tasks are wired with `_wire`, not `>>` (see there why).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Dict, List, Mapping

from airflow.exceptions import AirflowException
from airflow.models.baseoperator import BaseOperator
from airflow.models.dag import DAG
from airflow.utils import timezone
from airflow.utils.task_group import TaskGroup
from airflow.utils.trigger_rule import TriggerRule

from migration_orchestration_lib import rollback, steps
from migration_orchestration_lib.operators import MigrationStatusSensor, MigrationStepOperator, RunOutcomeOperator
from migration_orchestration_lib.plan import DatabaseMigration, MigrationPlan, load_plan
from migration_orchestration_lib.settings import Timing, simulated_failures

DAG_ID = "database_migration_orchestration"
RUN_OUTCOME_TASK_ID = "run_outcome"
START_DATE = timezone.datetime(2024, 1, 1)


@dataclass
class DatabaseTasks:
    first: MigrationStepOperator
    last: MigrationStepOperator
    rollback: MigrationStepOperator


def build_dag_from_plan_file(path: str, environ: Mapping[str, str] = os.environ) -> DAG:
    return build_dag(load_plan(path), environ)


def build_dag(plan: MigrationPlan, environ: Mapping[str, str] = os.environ) -> DAG:
    simulated_failures(plan.database_names, environ)  # a bad rehearsal setting is an import error
    timing = Timing.for_environment(environ)
    with DAG(
        dag_id=DAG_ID,
        description="Migrate the databases of plan %s to Azure through DMS, in dependency order" % plan.name,
        schedule=None,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=["database-migration", plan.name],
        default_args={"owner": "platform", "retries": timing.retries, "retry_delay": timing.retry_delay},
        doc_md=__doc__,
    ) as dag:
        groups: Dict[str, DatabaseTasks] = {
            database.name: _database_group(plan, database, timing) for database in plan.databases
        }
        for database in plan.databases:
            for dependency in database.depends_on:
                _wire(groups[dependency].last, groups[database.name].first)
        outcome = RunOutcomeOperator(
            task_id=RUN_OUTCOME_TASK_ID,
            database_names=plan.database_names,
            trigger_rule=TriggerRule.ALL_DONE,
            retries=0,
        )
        for tasks in groups.values():
            _wire(tasks.last, outcome)
            _wire(tasks.rollback, outcome)
    return dag


def _database_group(plan: MigrationPlan, database: DatabaseMigration, timing: Timing) -> DatabaseTasks:
    common = {"plan": plan, "database_name": database.name, "timing": timing}

    def step(phase: str, function, **kwargs) -> MigrationStepOperator:
        return MigrationStepOperator(task_id=phase, phase=phase, step=function, **common, **kwargs)

    def wait(task_id: str, goal: str) -> MigrationStatusSensor:
        return MigrationStatusSensor(
            task_id=task_id,
            phase=task_id,
            goal=goal,
            mode="reschedule",
            poke_interval=timing.poke_interval_seconds,
            exponential_backoff=True,
            max_wait=timing.max_poke_wait,
            timeout=timedelta(minutes=database.timeout_minutes).total_seconds(),
            **common
        )

    with TaskGroup(group_id=database.name, tooltip="%s -> %s" % (database.source_database, database.target_kind)):
        chain: List = [step("preflight", steps.preflight, retries=1), step("start_migration", steps.start_migration)]
        if database.is_online:
            chain += [
                wait("wait_for_migration", steps.READY_FOR_CUTOVER),
                step("cutover", steps.cutover),
                wait("wait_for_completion", steps.SUCCEEDED),
            ]
        else:
            chain.append(wait("wait_for_migration", steps.SUCCEEDED))
        chain += [step("validate", steps.validate), step("done", steps.done)]
        for upstream, downstream in zip(chain, chain[1:]):
            _wire(upstream, downstream)
        undo = step("rollback", rollback.roll_back, trigger_rule=TriggerRule.ONE_FAILED)
        for task in chain:
            _wire(task, undo)
    return DatabaseTasks(first=chain[0], last=chain[-1], rollback=undo)


def _wire(upstream: BaseOperator, downstream: BaseOperator) -> None:
    """`upstream >> downstream` for two operators, in constant time.

    Between two operators, without an edge label, `>>` (`DAGNode._set_relatives`, the same in
    Airflow 2.6.3 and 2.10.5) checks that they are operators of one DAG and adds each one's id to
    the other's `downstream_task_ids` / `upstream_task_ids`; nothing else (an operator's
    `update_relative` is a no-op; TaskGroup edge bookkeeping only happens when a group itself is an
    operand; the graph view, serialization and the scheduler read these two sets). Its check puts
    the tasks' DAGs in a set, and a DAG's hash is that of a tuple of all its task ids: each `>>` costs
    O(tasks), building the DAG O(tasks x edges) (1,000 databases: ~7,000 tasks, ~14,000 edges,
    2.5-3.6 s). The same check here compares the DAGs by identity.
    """
    for task in (upstream, downstream):
        if not isinstance(task, BaseOperator):
            raise AirflowException("Relationships can only be set between Operators; received %s" % type(task).__name__)
    if upstream.dag is not downstream.dag:  # `.dag` raises for a task that is in no DAG
        raise AirflowException("Tried to set relationships between tasks in more than one DAG: %s, %s" % (upstream, downstream))
    upstream.downstream_task_ids.add(downstream.node_id)
    downstream.upstream_task_ids.add(upstream.node_id)
