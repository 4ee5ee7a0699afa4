"""A SQL read a waiting step makes again in later pokes (`StepContext.afresh`) through Data Factory, where a pipeline
run started in one poke is read in a later one (adopted by its key), with pokes as far apart as production waits.
The SQL access here is a small stand-in written for this test; the step code and the timing are the DAG's."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib import step_context, steps
from migration_orchestration_lib.operators import next_poke_in
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.settings import POKE_START_ALLOWANCE, Timing
from migration_orchestration_lib.sql_access import SqlOperationHandle, SqlResult
from migration_orchestration_lib.sql_statements import DatabaseState
from migration_orchestration_lib.step_context import StepContext, StepPending

# The step code here does not depend on the Airflow version; Data Factory is the SQL path of the 2.6.3 and 2.10.5 hosts.
pytestmark = [pytest.mark.airflow210, pytest.mark.airflow26]

FIRST_POKE = datetime(2026, 12, 5, 22, 0, 7, tzinfo=timezone.utc)


class PipelineRuns:
    """Like Data Factory: an operation is adopted by key, and its run has not ended when the poke that started it
    reads it; a later read sees whether the source was held when the run ran."""

    def __init__(self, reads_before_the_end=1):
        self.held = True
        self.runs = {}
        self.reads_before_the_end = reads_before_the_end

    def submit(self, operation):
        self.runs.setdefault(operation.key, {"sql": operation.sql, "rows": None, "reads": 0})
        return SqlOperationHandle(key=operation.key, reference=operation.key)

    def submitted(self, operation):
        return operation.key in self.runs

    def result(self, handle):
        run = self.runs[handle.key]
        run["reads"] += 1
        if run["reads"] <= self.reads_before_the_end:
            return None
        if run["rows"] is None:
            assert re.search(r"ERROR_NUMBER\(\) = 924", run["sql"])
            run["rows"] = [{"held": int(self.held)}]
        return SqlResult(rows=run["rows"])


class Services:
    def __init__(self, sql):
        self.sql_access = sql


class TaskInstance:
    try_number = 1

    def xcom_pull(self, task_ids, key="return_value"):
        return None


def test_a_source_freed_while_validate_waits_at_the_longest_poke_wait_is_seen_free(monkeypatch):
    """Another connection holds the singleUser source for an hour; validate waits (a fresh read each poke). Its
    pokes are by then the longest wait apart, each starting a minute late (within POKE_START_ALLOWANCE). A key
    that changed once per max_poke_wait changed between every two pokes: each poke started a new run and none read
    one that had ended, so validate waited for "SQL operation ... running" until the deadline and failed, and its
    rollback made the source writable beside a correct target."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="offline", sourceFreeze="singleUser")]))
    database = plan.database("db")
    timing = Timing.for_environment({})
    sql = PipelineRuns()
    source = DatabaseState(name="Sales", state="ONLINE", recovery_model="FULL", is_read_only=True, user_access="SINGLE_USER")
    late = timedelta(minutes=1)
    assert late < POKE_START_ALLOWANCE
    now = FIRST_POKE
    monkeypatch.setattr(step_context, "utc_now", lambda: now)

    seen_free = None
    while now < FIRST_POKE + timedelta(hours=6):
        sql.held = now < FIRST_POKE + timedelta(hours=1)
        ctx = StepContext(plan, database, {"run_id": "r1", "ti": TaskInstance()}, timing, "validate", _services=Services(sql))
        try:
            steps._wait_while_another_connection_holds_the_source(ctx, database, source)
            seen_free = now
            break
        except StepPending:
            now += next_poke_in(now - FIRST_POKE, timing) + late

    assert seen_free is not None, "never read as free: %d runs started, %d of them read once they had ended" % (
        len(sql.runs), sum(1 for run in sql.runs.values() if run["reads"] > 1))
    assert seen_free - FIRST_POKE < timedelta(hours=1) + 2 * (timing.max_poke_wait + POKE_START_ALLOWANCE) + late


def test_a_rehearsal_on_a_busy_machine_reads_its_data_factory_reads_made_afresh(monkeypatch):
    """A rehearsal pokes without waiting, but its Data Factory fake ends a run on the third read (Queued, InProgress,
    Succeeded), and a busy machine's pokes are seconds apart. With a key that changed every 2 s, pokes 2.5 s apart
    each started a new run and none read one: the step waited until its deadline. Now a source held for 20 s is
    read held, then, once the period's key changes, free."""
    plan = parse_plan(plan_with_databases([database_entry("db", "Sales", mode="offline", sourceFreeze="singleUser")]))
    database = plan.database("db")
    timing = Timing.for_environment({"MIGRATION_DRY_RUN": "1"})
    sql = PipelineRuns(reads_before_the_end=2)
    source = DatabaseState(name="Sales", state="ONLINE", recovery_model="FULL", is_read_only=True, user_access="SINGLE_USER")
    busy, held_for = timedelta(seconds=2.5), timedelta(seconds=20)
    now = FIRST_POKE
    monkeypatch.setattr(step_context, "utc_now", lambda: now)

    seen_free = None
    while now < FIRST_POKE + timing.step_timeout:
        sql.held = now < FIRST_POKE + held_for
        ctx = StepContext(plan, database, {"run_id": "r1", "ti": TaskInstance()}, timing, "validate", _services=Services(sql))
        try:
            steps._wait_while_another_connection_holds_the_source(ctx, database, source)
            seen_free = now
            break
        except StepPending:
            now += next_poke_in(now - FIRST_POKE, timing) + busy

    assert seen_free is not None, "never read as free: %d runs started, none read to its end" % len(sql.runs)
    assert seen_free - FIRST_POKE <= held_for + timing.fresh_read_period + 3 * busy
