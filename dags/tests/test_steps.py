"""Steps and rollback one at a time against the rehearsal world, with a stand-in task context."""
from __future__ import annotations

import pytest

from conftest import load_plan_document
from migration_orchestration_lib import simulation, steps
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rollback import NothingToRollBack, roll_back
from migration_orchestration_lib.settings import Timing
from migration_orchestration_lib.step_context import StepContext, StepFailure

RUN_ID = "manual__2025-02-01T00:00:00+00:00"


class FakeTaskInstance:
    def __init__(self, xcom, try_number=1):
        self.xcom = xcom
        self.try_number = try_number
        self.start_date = None

    def xcom_pull(self, task_ids):
        return self.xcom.get(task_ids)


class FakeDagRun:
    def __init__(self, states):
        self.states = states

    def get_task_instance(self, task_id):
        state = self.states.get(task_id)
        return None if state is None else type("TI", (), {"state": state})()


def context_for(plan, name, environ, xcom=None, states=None):
    airflow_context = {
        "run_id": RUN_ID,
        "ti": FakeTaskInstance(xcom if xcom is not None else {}),
        "dag_run": FakeDagRun(states or {}),
        "ts_nodash": "20250201T000000",
    }
    return StepContext(plan, plan.database(name), airflow_context, Timing.for_environment(environ), environ)


@pytest.fixture
def world_environ(tmp_path):
    return {"MIGRATION_DRY_RUN": "1", "MIGRATION_SIMULATION_DIR": str(tmp_path)}


@pytest.fixture
def plan():
    return parse_plan(load_plan_document())


def world(environ):
    return simulation.RehearsalWorld.for_run(RUN_ID, environ)


def test_preflight_stops_when_the_integration_runtime_is_not_online(plan, world_environ, monkeypatch):
    monkeypatch.setattr(
        simulation._SimulatedMigrationServices,
        "get",
        lambda self, **_: {"properties": {"integrationRuntimeState": "NeedRegistration"}},
    )
    with pytest.raises(StepFailure, match="integration runtime is NeedRegistration, not Online"):
        steps.preflight(context_for(plan, "database_1", world_environ))


def test_preflight_refuses_to_overwrite_an_existing_target(plan, world_environ):
    world(world_environ).save(simulation.target_key("mi-contoso-prod", "Sales"), {"targetDatabase": "ONLINE"})
    with pytest.raises(StepFailure, match="target database Sales already exists on mi-prod"):
        steps.preflight(context_for(plan, "database_1", world_environ))


def test_preflight_accepts_a_target_that_its_in_flight_migration_is_restoring(plan, world_environ):
    steps.start_migration(context_for(plan, "database_1", world_environ))
    result = steps.preflight(context_for(plan, "database_1", world_environ))
    assert "migration in flight, will adopt" in result.message
    assert result.return_value == {"source_read_only": False}


def test_start_twice_adopts_instead_of_starting_a_second_migration(plan, world_environ):
    first = steps.start_migration(context_for(plan, "database_1", world_environ))
    second = steps.start_migration(context_for(plan, "database_1", world_environ))
    assert second.return_value == first.return_value
    assert "adopted" in second.message
    assert len(world(world_environ).load(simulation.target_key("mi-contoso-prod", "Sales"))["migrations"]) == 1


def test_rollback_after_a_failed_preflight_leaves_an_existing_target_alone(plan, world_environ):
    key = simulation.target_key("mi-contoso-prod", "Sales")
    world(world_environ).save(key, {"targetDatabase": "ONLINE"})
    states = {"database_1.preflight": "failed", "database_1.start_migration": "upstream_failed"}
    result = roll_back(context_for(plan, "database_1", world_environ, states=states))
    assert result.message == "nothing to undo"
    assert world(world_environ).load(key) == {"targetDatabase": "ONLINE"}


def test_rollback_skips_a_database_that_never_started(plan, world_environ):
    states = {"database_3.%s" % t: "upstream_failed" for t in ("preflight", "start_migration", "wait_for_migration", "validate", "done")}
    with pytest.raises(NothingToRollBack):
        roll_back(context_for(plan, "database_3", world_environ, states=states))


def test_rollback_finds_a_migration_whose_start_died_before_recording_it(plan, world_environ):
    steps.start_migration(context_for(plan, "database_1", world_environ))
    states = {"database_1.preflight": "success", "database_1.start_migration": "failed"}
    result = roll_back(context_for(plan, "database_1", world_environ, xcom={}, states=states))
    assert result.status == "RolledBack"
    assert result.message.startswith("canceled migration ")
    state = world(world_environ).load(simulation.target_key("mi-contoso-prod", "Sales"))
    assert state["migrations"][0]["migrationStatus"] == "Canceled"
    assert "targetDatabase" not in state


def test_rollback_is_idempotent(plan, world_environ):
    operation_id = steps.start_migration(context_for(plan, "database_1", world_environ)).return_value
    states = {"database_1.preflight": "success", "database_1.start_migration": "success", "database_1.wait_for_migration": "failed"}
    xcom = {"database_1.start_migration": operation_id, "database_1.preflight": {"source_read_only": False}}
    first = roll_back(context_for(plan, "database_1", world_environ, xcom=xcom, states=states))
    second = roll_back(context_for(plan, "database_1", world_environ, xcom=xcom, states=states))
    assert "canceled migration" in first.message and "deleted managed database Sales" in first.message
    assert second.message == "target database Sales was already absent"


def test_rollback_never_touches_a_validated_target(plan, world_environ):
    key = simulation.target_key("mi-contoso-prod", "Sales")
    world(world_environ).save(key, {"targetDatabase": "ONLINE"})
    states = {"database_1.start_migration": "success", "database_1.validate": "success", "database_1.done": "failed"}
    result = roll_back(context_for(plan, "database_1", world_environ, xcom={"database_1.start_migration": "op"}, states=states))
    assert "is live" in result.message
    assert world(world_environ).load(key) == {"targetDatabase": "ONLINE"}


def test_cutover_is_refused_before_start_migration_recorded_an_id(plan, world_environ):
    with pytest.raises(StepFailure, match="start_migration did not finish"):
        steps.cutover(context_for(plan, "database_1", world_environ))
