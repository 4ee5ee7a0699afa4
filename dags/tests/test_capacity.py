"""Admission counts the migrations DMS has in flight, per service and per source server: one DMS still cancels,
or still copies though its last ARM operation failed, too (DMS still works on it)."""
from __future__ import annotations

import copy

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib.airflow_compat import AirflowRescheduleException
from migration_orchestration_lib.capacity import admission_refusal
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.migration_status import MigrationStatus
from migration_orchestration_lib.plan import parse_plan
from task_driver import RunDriver, WorkerCrashed, _DagRun, _TaskInstance
from world_view import WorldView

pytestmark = pytest.mark.airflow26  # cheap: proves it on Python 3.8 too

MI_SCOPE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data-prod/providers/Microsoft.Sql/managedInstances/mi-contoso-prod"


def plan_with(limits, second_source=False):
    document = plan_with_databases([database_entry("db_%d" % i, "Db%d" % i) for i in range(4)])
    document["concurrency"].update(limits)
    if second_source:
        other = copy.deepcopy(document["sourceServers"][0])
        other.update(name="sql02", host="sql02.corp.contoso.com", connectionId="mssql_source_sql02")
        document["sourceServers"].append(other)
        document["databases"][3]["source"]["server"] = "sql02"
    return parse_plan(document)


def running(target_database, status="InProgress"):
    # DMS lists scopes without their leading slash (Microsoft's recorded example)
    return (MI_SCOPE.lstrip("/"), target_database, MigrationStatus("op", status, "Succeeded", target_database))


def test_admitted_below_both_limits():
    plan = plan_with({"maxMigrationsPerService": 3, "maxMigrationsPerSourceServer": 2})
    assert admission_refusal(plan, plan.database("db_2"), [running("Db0"), running("Db1", "Succeeded")]) is None


def test_refused_at_the_service_limit_counting_only_migrations_dms_still_runs():
    plan = plan_with({"maxMigrationsPerService": 2, "maxMigrationsPerSourceServer": 5})
    in_flight = [running("Db0"), running("Db1", "Completing"), running("Db9", "Failed")]
    assert "2 migration(s) running or canceling in DMS on the migration service (concurrency.maxMigrationsPerService 2)" == admission_refusal(
        plan, plan.database("db_2"), in_flight
    )


def test_the_refusal_says_it_counts_migrations_dms_still_cancels_or_still_copies():
    """Was: "2 migration(s) in flight", though neither is in flight (one Canceling, one copying after a failed ARM
    operation): a person reading the waiting task's message looked for migrations in flight and found none."""
    plan = plan_with({"maxMigrationsPerService": 2, "maxMigrationsPerSourceServer": 2})
    still_copying = (MI_SCOPE.lstrip("/"), "Db1", MigrationStatus("op", "InProgress", "Failed", "Db1"))
    assert not still_copying[2].is_in_flight
    refusal = admission_refusal(plan, plan.database("db_2"), [running("Db0", "Canceling"), still_copying])
    assert refusal == "2 migration(s) running or canceling in DMS on the migration service (concurrency.maxMigrationsPerService 2)"


def test_refused_at_the_source_server_limit_while_another_source_may_start():
    plan = plan_with({"maxMigrationsPerService": 10, "maxMigrationsPerSourceServer": 2}, second_source=True)
    in_flight = [running("Db0"), running("Db1")]
    assert "from source server sql01" in admission_refusal(plan, plan.database("db_2"), in_flight)
    assert admission_refusal(plan, plan.database("db_3"), in_flight) is None


def cancel_slowly(plan, a):
    a.cancel_slowly(plan)


def fail_the_last_arm_operation(plan, a):
    a.fail_the_last_arm_operation()


@pytest.mark.parametrize("still_works, status", [(cancel_slowly, "Canceling"), (fail_the_last_arm_operation, "InProgress")],
                         ids=["canceling", "copying-after-a-failed-arm-operation"])
def test_a_migration_dms_still_works_on_holds_its_place(rehearsal_world, still_works, status):
    """On the rehearsal world (the DMS contract server through the real gateway): `a` took the service's one place;
    DMS still cancels it, or still copies it though its last ARM operation failed. Before: only migrations in flight
    counted, so `b` was admitted beside it, beyond maxMigrationsPerService."""
    document = plan_with_databases([database_entry("a", "Sales"), database_entry("b", "Crm")])
    document["concurrency"].update(maxMigrationsPerService=1)
    plan = parse_plan(document)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    a, b = (WorldView(rehearsal_world, plan.database(name), plan) for name in ("a", "b"))
    with pytest.raises(WorkerCrashed):
        RunDriver(dag).run_database("a", crash_after="start_migration")
    still_works(plan, a)
    assert [op["migrationStatus"] for op in a.operations()] == [status]

    run = RunDriver(dag)
    assert run._run_task(dag.get_task("b.preflight")) == "success", run.errors
    start = dag.get_task("b.start_migration")
    with pytest.raises(AirflowRescheduleException):
        start.execute({"ti": _TaskInstance(run.xcom, start.task_id, 1, start.retries), "dag_run": _DagRun(run), "run_id": run.run_id,
                       "task_reschedule_count": 0})
    assert b.operations() == [], "b was admitted beside a migration DMS still works on"


def test_the_remedy_for_a_migration_into_an_unnamed_target_never_unfreezes_beside_a_succeeded_one():
    """A person told to end a migration into a target the plan no longer names, and to give the frozen source its
    access back, may find that migration Succeeded by then (an offline restore after its last backup, a SqlDb copy):
    its target may be in use. Was: "give it back the access before the freeze", unconditionally."""
    from migration_orchestration_lib.capacity import unnamed_target_migration_remedy

    database = plan_with({}).databases[0]
    said = unnamed_target_migration_remedy(database, "migration_source_access__db_0", '{"readOnly": false}')
    assert "only once DMS shows that migration's migrationStatus Canceled or Failed" in said and "Succeeded" in said, said
    assert "the source stays frozen" in said, said
    assert "only once" not in unnamed_target_migration_remedy(database, "migration_source_access__db_0", None)


def b_behind_a():
    """`a` took the service's one place (its worker died right after start_migration); in a new run `b`'s preflight
    passed: its start_migration is next. The plan, its DAG and that run."""
    document = plan_with_databases([database_entry("a", "Sales"), database_entry("b", "Crm")])
    document["concurrency"].update(maxMigrationsPerService=1)
    plan = parse_plan(document)
    dag = build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    with pytest.raises(WorkerCrashed):
        RunDriver(dag).run_database("a", crash_after="start_migration")
    run = RunDriver(dag)
    assert run._run_task(dag.get_task("b.preflight")) == "success", run.errors
    return plan, dag, run


def test_a_poke_waiting_for_capacity_lists_the_migrations_once(rehearsal_world):
    """`b` waits for the service's one place, which `a` holds: each poke of its start_migration reads DMS (404: no
    migration into its target, proven by listMigrations), then admits on the service's migrations. Was: two
    listMigrations calls a poke, the second a few milliseconds after the first, nothing begun between them."""
    from migration_orchestration_lib import rehearsal

    plan, dag, run = b_behind_a()
    server = rehearsal._servers["dms:%s" % rehearsal_world]
    start = dag.get_task("b.start_migration")
    lists = len(server.received("listMigrations"))

    with pytest.raises(AirflowRescheduleException) as waiting:
        start.execute({"ti": _TaskInstance(run.xcom, start.task_id, 1, start.retries), "dag_run": _DagRun(run), "run_id": run.run_id,
                       "task_reschedule_count": 0})

    assert len(server.received("listMigrations")) == lists + 1
    assert WorldView(rehearsal_world, plan.database("b"), plan).operations() == [], waiting.value


@pytest.mark.parametrize("holder_ended", [False, True], ids=["holderStillRuns", "holderEnded"])
def test_at_a_rehearsals_horizon_a_wait_for_capacity_ends_only_where_no_holder_can_still_free_a_place(rehearsal_world, holder_ended):
    """The rehearsal's clock at its horizon; `b` waits for the service's one place, which `a`'s migration holds. While
    `a`'s tasks may still run in this run (an ungated copy DMS finishes by itself), `b` waits on, as in Azure; once `a`'s
    done and rollback have ended (replicating, say, its gate skipped at the horizon), only time could free the place:
    `b` ends, skipped, not started (was: it poked on until its real timeoutMinutes, a rehearsal of hours)."""
    import os

    from migration_orchestration_lib.airflow_compat import AirflowSkipException
    from migration_orchestration_lib.rehearsal_cutover import SimulatedClock

    _, dag, run = b_behind_a()
    if holder_ended:
        run.states.update({"a.done": "skipped", "a.rollback": "skipped"})
    clock = SimulatedClock(str(rehearsal_world), {}, os.environ)
    clock.wait("elsewhere", None)  # nothing else waits for a time: the clock jumps to its horizon
    assert clock.now() == clock.horizon()
    start = dag.get_task("b.start_migration")
    context = {"ti": _TaskInstance(run.xcom, start.task_id, 1, start.retries, run), "dag_run": _DagRun(run), "run_id": run.run_id,
               "task_reschedule_count": 0}

    with pytest.raises(AirflowSkipException if holder_ended else AirflowRescheduleException) as waited:
        start.execute(context)

    said = str(waited.value)
    if holder_ended:
        assert said.startswith("waiting for capacity on the migration service when the rehearsal ended at its horizon "), said
        assert said.endswith("held by a (replicating in DMS, no cutover of theirs before the horizon); Crm was not started"), said
        assert run.xcom[("b.start_migration", "outcome")] == "waiting_for_capacity"
    else:
        assert ("b.start_migration", "outcome") not in run.xcom
