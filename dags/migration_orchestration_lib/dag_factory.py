"""Builds the `database_migration_orchestration` DAG from a migration plan.

Per database, a TaskGroup named after it, holding the chain of `steps.describe_chain` (which
depends on the target kind and mode), plus `rollback` (one_failed on every task of the chain;
it skips itself when this run never worked on the database). A dependency is wired from the
dependency's `done` to the dependent's `preflight`, so a failed database holds its dependents
(upstream_failed) and nothing else. `run_outcome` (all_done) is the only leaf: it fails the run
when any database was not migrated, even if its rollback succeeded.

Every task has an `execution_timeout` (one poke; with direct SQL access `validate`'s lasts until the deadline, as its
fingerprint batches do); waiting tasks give their slot back between pokes; tasks
run in the pools of `contracts/airflow_pools.json`. Parsing does no I/O besides reading the plan,
its schema, the pools and events contracts and the environment; its cost is linear in tasks plus edges
(tasks are wired with `_wire`, not `>>`: see there why).

Priorities are absolute, by what a task's wait costs: a rollback first (it gives a frozen source its writes back), then
every task from the one that freezes the source on (each minute it waits in a pool is downtime for the source's
applications), then the rest. Airflow's default rule ("downstream": a task weighs as much as all tasks after it) did
the reverse: any database's `preflight` went before a frozen source's final backup and validation, a rollback last.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Dict, List, Mapping

from migration_orchestration_lib import rollback, steps
from migration_orchestration_lib.crash_points import check_crash_point
from migration_orchestration_lib.airflow_compat import DAG, AirflowException, BaseOperator, TaskGroup, TriggerRule, timezone
from migration_orchestration_lib.cutover_hitl import asks_through_hitl, cutover_approval_task
from migration_orchestration_lib.operators import MigrationTask, RunOutcomeOperator, report_a_lost_rollback
from migration_orchestration_lib.plan import DatabaseMigration, MigrationPlan, load_plan
from migration_orchestration_lib.pools import pool_by_task
from migration_orchestration_lib.settings import Timing, check_deployed_plan, check_rehearsal_settings

DAG_ID = "database_migration_orchestration"
RUN_OUTCOME_TASK_ID = "run_outcome"
START_DATE = timezone.datetime(2024, 1, 1)
PRIORITY_BEFORE_FREEZE = 1  # Airflow's default priority_weight
PRIORITY_WHILE_FROZEN = 2
PRIORITY_ROLLBACK = 3


@dataclass
class DatabaseTasks:
    first: BaseOperator
    last: BaseOperator
    rollback: BaseOperator


def build_dag_from_plan_file(path: str, environ: Mapping[str, str] = os.environ) -> DAG:
    return build_dag(load_plan(path), environ)


def build_dag(plan: MigrationPlan, environ: Mapping[str, str] = os.environ) -> DAG:
    check_deployed_plan(plan, environ)  # another plan's DAG folder is an import error
    check_rehearsal_settings(plan, environ)  # a bad rehearsal setting is an import error
    check_crash_point(plan, environ)
    timing = Timing.for_environment(environ)
    pools = pool_by_task()
    with DAG(
        dag_id=DAG_ID,
        description="Migrate the databases of plan %s to Azure through DMS, in dependency order" % plan.name,
        schedule=None,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        # Airflow creates DAGs paused by default (dags_are_paused_at_creation), and a run triggered then stays queued:
        # without a schedule, unpaused it still runs only when triggered.
        is_paused_upon_creation=False,
        tags=["database-migration", plan.name],
        default_args={
            "owner": "platform",
            "retries": timing.retries,
            "retry_delay": timing.retry_delay,
            "execution_timeout": timing.step_timeout,
            "weight_rule": "absolute",  # each task's own priority_weight: see the module's docstring
        },
        doc_md=__doc__,
    ) as dag:
        groups: Dict[str, DatabaseTasks] = {
            database.name: _database_group(plan, database, timing, pools, environ) for database in plan.databases
        }
        for database in plan.databases:
            for dependency in database.depends_on:
                _wire(groups[dependency].last, groups[database.name].first)
        outcome = RunOutcomeOperator(
            task_id=RUN_OUTCOME_TASK_ID,
            database_names=plan.database_names,
            depends_on={database.name: database.depends_on for database in plan.databases},
            plan=plan,
            trigger_rule=TriggerRule.ALL_DONE,
            # The run's failures fail it for good (AirflowFailException); an event of its report that did not reach Log
            # Analytics (`EventsNotWritten`) is retried: it only reads and reports.
            retries=timing.retries,
        )
        for tasks in groups.values():
            _wire(tasks.last, outcome)
            _wire(tasks.rollback, outcome)
    return dag


def _database_group(
    plan: MigrationPlan, database: DatabaseMigration, timing: Timing, pools: Mapping[str, str], environ: Mapping[str, str]
) -> DatabaseTasks:
    def task(task_id: str, step, **kwargs) -> BaseOperator:
        if task_id in pools:
            kwargs["pool"] = pools[task_id]
        if task_id == steps.AWAIT_CUTOVER and asks_through_hitl(database, environ):  # channel hitl: Airflow asks
            return cutover_approval_task(plan, database, timing, task_id=task_id, **kwargs)
        if task_id == "validate" and plan.sql_access == "direct":
            # Its fingerprint batches run inside the poke, each until the deadline: one table may take hours.
            kwargs["execution_timeout"] = timedelta(minutes=database.timeout_minutes) + timing.step_timeout
        if task_id == "freeze_source" and plan.max_concurrent_cutovers is not None:
            # counts the cutovers in progress again right before freezing: one admission at a time
            kwargs["pool"] = pools["start_migration"]
        return MigrationTask(
            task_id=task_id, phase=task_id, step=step, plan=plan, database_name=database.name, timing=timing, **kwargs
        )

    described = steps.describe_chain(database, plan.is_gated(database))
    frozen_from = list(described).index(_first_freezing_step(database)) if database.freezes_source else len(described)
    with TaskGroup(group_id=database.name, tooltip="%s -> %s" % (database.source_database, database.target_kind)):
        chain: List[BaseOperator] = [
            task(task_id, steps.step_for(task_id, goal),
                 priority_weight=PRIORITY_WHILE_FROZEN if index >= frozen_from else PRIORITY_BEFORE_FREEZE)
            for index, (task_id, goal) in enumerate(described.items())
        ]
        for upstream, downstream in zip(chain, chain[1:]):
            _wire(upstream, downstream)
        undo = task(rollback.ROLLBACK_TASK, rollback.roll_back, trigger_rule=TriggerRule.ONE_FAILED,
                    on_failure_callback=report_a_lost_rollback, priority_weight=PRIORITY_ROLLBACK)
        for step_task in chain:
            _wire(step_task, undo)
    return DatabaseTasks(first=chain[0], last=chain[-1], rollback=undo)


def _first_freezing_step(database: DatabaseMigration) -> str:
    """The task that freezes the source (`steps.freeze_source`; a SqlDb copy's `start_migration` freezes it first)."""
    return "freeze_source" if database.restores_backups else "start_migration"


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
