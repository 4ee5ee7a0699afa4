"""The pools contract: every pooled task exists, slots come from the plan's concurrency."""
from __future__ import annotations

import pytest

from conftest import load_plan_document
from migration_orchestration_lib import steps
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.pools import load_pools, pool_by_task, pool_slots
from migration_orchestration_lib.rollback import ROLLBACK_TASK

pytestmark = pytest.mark.airflow26  # cheap: proves it on Python 3.8 too


def test_slots_follow_the_plans_concurrency():
    assert pool_slots(load_plan_document()["concurrency"]) == {"database_migration_admission": 1, "database_migration_sql": 4}


def test_every_pooled_task_is_a_task_of_some_chain_and_each_pool_says_what_it_bounds():
    plan = parse_plan(load_plan_document())
    task_names = {ROLLBACK_TASK}
    for database in plan.databases:
        task_names |= set(steps.describe_chain(database))
    assert set(pool_by_task()) <= task_names | {"freeze_source", "final_backup"}
    for pool in load_pools()["pools"]:
        assert pool["bounds"] and ("slots" in pool) != ("slotsFrom" in pool)
