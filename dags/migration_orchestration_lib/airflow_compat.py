"""The Airflow APIs the DAG uses, on Airflow 3.1 and later (Task SDK, `airflow.sdk`), 2.10.5 and 2.6.3.

Everything version-specific lives here. Tasks use their context (`ti`, `run_id`), XCom and return
values, and on Airflow 3 the Task SDK's calls to the API server (`get_first_reschedule_date`,
`get_task_states`); the one read of the metadata database, on Airflow 2 only, is the state of other
tasks in the task's own run (`task_state_in_run`, `task_states_of_run`). Airflow 3 moved the authoring
API to `airflow.sdk` and forbids tasks to query the metadata DB (apache/airflow "Upgrading to Airflow 3").
"""
from __future__ import annotations

from datetime import datetime, timezone as _utc
from typing import Any, Dict, Mapping, Optional
from urllib.parse import quote

import airflow

AIRFLOW_VERSION = tuple(int(part) for part in airflow.__version__.split(".")[:2] if part.isdigit())
AIRFLOW_3 = AIRFLOW_VERSION >= (3, 0)


class UnsupportedAirflowError(RuntimeError):
    """The DAG refuses to load on this Airflow (a DAG import error naming the versions it runs on)."""


def unsupported_airflow_problem(version: tuple, text: str) -> Optional[str]:
    """Why the DAG refuses Airflow `version` (`text` as Airflow spells it), or None. Airflow 3.0
    lacks Task SDK names the DAG imports (`airflow.sdk.TriggerRule`, `timezone`: 3.1) and is not in
    the DAG's test environments (dags/airflow-environments.txt)."""
    if (3, 0) <= version < (3, 1):
        return (
            "this DAG does not run on Apache Airflow %s: use Airflow 3.1 or later (requirements.txt), "
            "or 2.10.5 or 2.6.3 (requirements-fabric.txt, requirements-data-factory.txt)" % text
        )
    return None


_UNSUPPORTED = unsupported_airflow_problem(AIRFLOW_VERSION, airflow.__version__)
if _UNSUPPORTED is not None:
    raise UnsupportedAirflowError(_UNSUPPORTED)

if AIRFLOW_3:
    from airflow.sdk import DAG, BaseOperator, BaseSensorOperator, TaskGroup, TriggerRule, timezone
else:
    from airflow.models.baseoperator import BaseOperator  # type: ignore[no-redef]
    from airflow.models.dag import DAG  # type: ignore[no-redef]
    from airflow.sensors.base import BaseSensorOperator  # type: ignore[no-redef]
    from airflow.utils import timezone  # type: ignore[no-redef]
    from airflow.utils.task_group import TaskGroup  # type: ignore[no-redef]
    from airflow.utils.trigger_rule import TriggerRule  # type: ignore[no-redef]
# The Task SDK has its own exceptions since 3.2 (airflow.sdk.exceptions); before, they are airflow.exceptions.
if AIRFLOW_VERSION >= (3, 2):
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowRescheduleException,
        AirflowSensorTimeout,
        AirflowSkipException,
        AirflowTaskTimeout,
        TaskDeferred,
    )
else:
    from airflow.exceptions import (  # type: ignore[no-redef]
        AirflowException,
        AirflowFailException,
        AirflowRescheduleException,
        AirflowSensorTimeout,
        AirflowSkipException,
        AirflowTaskTimeout,
        TaskDeferred,
    )

# Failures Airflow never retries: AirflowFailException by definition, a sensor timeout by design
# (TaskInstance._run_raw_task in 2.x, the task runner in 3.x).
NOT_RETRIED = (AirflowFailException, AirflowSensorTimeout)

__all__ = [
    "AIRFLOW_3",
    "DAG",
    "BaseOperator",
    "BaseSensorOperator",
    "TaskGroup",
    "TriggerRule",
    "timezone",
    "AirflowException",
    "AirflowFailException",
    "AirflowRescheduleException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "AirflowTaskTimeout",
    "TaskDeferred",
    "running_try",
    "will_retry",
    "first_poke_at",
    "task_state_in_run",
    "task_states_of_run",
    "utc_now",
    "time_delta_trigger",
    "get_connection",
    "get_variable",
    "set_variable",
    "mask_secret",
]


def utc_now() -> datetime:
    return datetime.now(_utc.utc)


def running_try(task_instance: Any) -> int:
    """The running try (1-based), the same on every poke of the try (reschedules keep it).

    `try_number` is that on all three versions when a scheduler runs the task. Airflow 2.6.3's
    `dag.test()` (the rehearsal) runs tasks without counting tries: 0, then one less per reschedule
    (`_run_raw_task` without `check_and_change_state_before_execution`); that is try 1.
    """
    try_number = getattr(task_instance, "try_number", None)
    return max(1, try_number) if isinstance(try_number, int) else 1


def task_instance_row(context: Mapping[str, Any]) -> Optional[str]:
    """What tells the running try from a try of a DAG run deleted and triggered again under its run id (which numbers
    its tries from 1 again), as text: Airflow 3's task instance id (a new one for every try and every run,
    `TaskInstance.prepare_db_for_next_try`), Airflow 2's DAG run id (its row, a new one for every run). Neither
    changes while the run is queued again (its `start_date` does). None where the context has neither."""
    if AIRFLOW_3:
        row = getattr(context["ti"], "id", None)
    else:
        row = getattr(context.get("dag_run"), "id", None)
    return None if row is None else str(row)


def will_retry(task_instance: Any, error: BaseException) -> bool:
    """Whether Airflow will run this task again after `error` (its `retries` are not used up:
    `max_tries` is its `retries`, more after a clear)."""
    if isinstance(error, NOT_RETRIED):
        return False
    max_tries = getattr(task_instance, "max_tries", None)
    return isinstance(max_tries, int) and running_try(task_instance) <= max_tries


def first_poke_at(context: Mapping[str, Any]) -> datetime:
    """When Airflow says a rescheduled task first ran in this try: its first reschedule's start, else now.

    Airflow 2.x restores `ti.start_date` from the first reschedule when a rescheduled task starts again
    (TaskInstance.check_and_change_state_before_execution, which its `dag.test()` skips): the first poke's start.
    Airflow 3 asks the API server, which records a reschedule's start as the reschedule happens (the first poke's
    end), and keeps no record of a deferral (nor of a task parked awaiting input): the DAG keeps its own
    (`step_context.first_poke_of_try`).
    """
    task_instance = context["ti"]
    first: Optional[datetime] = None
    if AIRFLOW_3:
        first = task_instance.get_first_reschedule_date(context)
    else:
        first = getattr(task_instance, "start_date", None)
    if first is None:
        return utc_now()
    return first if first.tzinfo else first.replace(tzinfo=_utc.utc)


def task_state_in_run(context: Mapping[str, Any], task_id: str) -> Optional[str]:
    """The state of task `task_id` in the running task's own DAG run, as Airflow holds it now (None: not run since
    the run began or a person cleared it, or not in the run). Airflow 3: the Task SDK's
    `RuntimeTaskInstance.get_task_states` ({run_id: {task_id: state}}, from the API server); Airflow 2: the run's
    task instance (`DagRun.get_task_instance`, a read of the metadata database)."""
    if AIRFLOW_3:
        task_instance, run_id = context["ti"], context["run_id"]
        states = task_instance.get_task_states(dag_id=task_instance.dag_id, task_ids=[task_id], run_ids=[run_id])
        state = (states.get(run_id) or {}).get(task_id)
    else:
        found = context["dag_run"].get_task_instance(task_id)
        state = found.state if found is not None else None
    return None if state is None else str(getattr(state, "value", state))


def task_states_of_run(context: Mapping[str, Any]) -> Dict[str, str]:
    """The state of every task with a state in the running task's own DAG run, by task id (a task absent: not run
    since the run began or a person cleared it). One read for the whole run: Airflow 3, the Task SDK's
    `get_task_states` for the run alone (no task ids: a query string naming every task of a large plan would be too
    long); Airflow 2, the run's task instances (`DagRun.get_task_instances`)."""
    if AIRFLOW_3:
        task_instance, run_id = context["ti"], context["run_id"]
        states = task_instance.get_task_states(dag_id=task_instance.dag_id, run_ids=[run_id]).get(run_id) or {}
    else:
        states = {found.task_id: found.state for found in context["dag_run"].get_task_instances()}
    return {task_id: str(getattr(state, "value", state)) for task_id, state in states.items() if state is not None}


def time_delta_trigger(delay: Any) -> Any:
    """A trigger that fires after `delay` (the triggerer waits; no worker slot is held)."""
    if AIRFLOW_3:
        from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
    else:
        from airflow.triggers.temporal import TimeDeltaTrigger  # type: ignore[no-redef]
    return TimeDeltaTrigger(delay)


def get_connection(connection_id: str) -> Any:
    """An Airflow connection (Task SDK on Airflow 3: its secrets backends, then the API server).
    `airflow.hooks.base.BaseHook` is deprecated since Airflow 3.1 (a DeprecatedImportWarning on 3.3):
    the Task SDK's `BaseHook` (task-sdk 1.1) replaces it."""
    if AIRFLOW_3:
        from airflow.sdk import BaseHook
    else:
        from airflow.hooks.base import BaseHook  # type: ignore[no-redef]
    return BaseHook.get_connection(connection_id)


def sdk_variable_key(key: str) -> str:
    """`key` as the Task SDK must be given it for the API server to read or write the Variable `key`.

    The SDK puts the key into the Execution API's URL unescaped (`VariableOperations`: `variables/{key}`,
    task-sdk 1.1 and 1.3) and the route decodes its path (`/{variable_key:path}`): a key holding `?` or `#`
    loses what follows (a query, a fragment), one holding `%` is decoded (`50%20off` is `50 off`), and
    httpx removes a `.` or `..` segment (`a/../b` is `b`). Such a key (SQL Server allows any of these in a
    database name) goes percent-encoded, `/` and `.` too, so the API server decodes it back to itself;
    every other key goes as it is: the same URL, the same records, as before."""
    if not any(character in key for character in "?#%") and not {".", ".."} & set(key.split("/")):
        return key
    return quote(key, safe="").replace(".", "%2E")


def get_variable(key: str) -> Optional[str]:
    """An Airflow Variable's text, or None (Task SDK on Airflow 3: through the API server)."""
    if AIRFLOW_3:
        from airflow.sdk import Variable

        return Variable.get(sdk_variable_key(key), default=None)
    from airflow.models import Variable  # type: ignore[no-redef]

    return Variable.get(key, default_var=None)


def set_variable(key: str, value: str) -> None:
    if AIRFLOW_3:
        from airflow.sdk import Variable

        Variable.set(sdk_variable_key(key), value)
        return
    from airflow.models import Variable  # type: ignore[no-redef]

    Variable.set(key, value)


def delete_variable(key: str) -> None:
    """Deletes an Airflow Variable; one that does not exist is no error (Task SDK on Airflow 3: `Variable.delete`,
    task-sdk 1.1 and 1.3; 2.x: `airflow.models.Variable.delete`, 2.6 and 2.10)."""
    if AIRFLOW_3:
        from airflow.sdk import Variable

        Variable.delete(sdk_variable_key(key))
        return
    from airflow.models import Variable  # type: ignore[no-redef]

    Variable.delete(key)


def mask_secret(value: str) -> None:
    """Airflow's secrets masker masks `value` from now on in what Airflow writes itself: task logs with
    their tracebacks, rendered fields. On Airflow 3 the Task SDK's call also tells the supervisor, which
    writes the task's log file."""
    if AIRFLOW_3:
        from airflow.sdk.log import mask_secret as airflow_mask_secret
    else:
        from airflow.utils.log.secrets_masker import mask_secret as airflow_mask_secret  # type: ignore[no-redef]
    airflow_mask_secret(value)
