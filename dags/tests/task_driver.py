"""Runs one database's tasks of the real DAG the way Airflow would, without a scheduler.

Each task's `execute` (the real `MigrationTask`: step, events, waiting) is called in dependency
order with a task-instance stand-in that keeps this run's XComs (a task's own cleared as each of its pokes starts, as
Airflow clears them); a reschedule pokes again at once
(the rehearsal world moves on with every read; `wait_between_pokes=True`: at the time the reschedule asks for,
as Airflow would), a retryable failure is retried like Airflow does
(`retries` of the task, a new try number, its own XComs cleared), a final failure triggers the
rollback (`one_failed`). `crash_after=<task>` stops the run right after that task's side effects,
before its success would be recorded: the worker died. A new `RunDriver` is a new run (new run id,
empty XComs) on the same world; `clear_task` and `clear_database` are a person clearing tasks of this
run later, when it has ended (possibly after other runs).
"""
from __future__ import annotations

import itertools
import time
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any, Callable, Dict, List, Optional

from migration_orchestration_lib.airflow_compat import (
    AirflowFailException,
    AirflowRescheduleException,
    AirflowSkipException,
)

MAX_POKES = 400
_run_numbers = itertools.count(1)


class WorkerCrashed(BaseException):  # like a killed worker: no handler of the task catches it
    """The run stopped where the crash was injected."""


class _TaskInstance:
    def __init__(self, xcom: Dict, task_id: str, try_number: int, max_tries: int, driver: Optional["RunDriver"] = None):
        """`driver`: the run whose task states `get_task_states` reads."""
        self._xcom, self._task_id, self._driver = xcom, task_id, driver
        self.dag_id = driver.dag.dag_id if driver else ""
        self.try_number, self.max_tries = try_number, max_tries
        self.start_date = datetime.now(timezone.utc)
        self.id = "%s/%s/%d" % (driver.row if driver else 0, task_id, try_number)  # Airflow 3's: one per try of a run's row

    def get_first_reschedule_date(self, context: Any) -> datetime:
        return self.start_date

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        return self._xcom.get((task_ids, key))

    def xcom_push(self, key: str, value: Any) -> None:
        self._xcom[(self._task_id, key)] = value

    def get_task_states(self, dag_id: str, run_ids: List[str], task_ids: Optional[List[str]] = None) -> Dict[str, Dict[str, Any]]:
        """Airflow 3's Task SDK call: {run_id: {task_id: state}}, of the tasks with a task instance in the run (no
        `task_ids`: every one of them)."""
        driver = self._driver
        if not driver or driver.run_id not in run_ids:
            return {}
        return {driver.run_id: {t: driver.states.get(t) for t in (driver.states if task_ids is None else task_ids)}}


class _DagRun:
    """Airflow 2's `context["dag_run"]`: its row and its task instances' states."""

    def __init__(self, driver: "RunDriver"):
        self._driver = driver
        self.id = driver.row

    def get_task_instance(self, task_id: str) -> Any:
        return SimpleNamespace(task_id=task_id, state=self._driver.states.get(task_id))

    def get_task_instances(self) -> List[Any]:
        return [self.get_task_instance(task_id) for task_id in self._driver.states]


class RunDriver:
    def __init__(self, dag: Any, observe: Callable[[str], None] = lambda task_id: None, wait_between_pokes: bool = False):
        """`observe(task_id)` is called after every poke (to watch the world between them)."""
        self.dag = dag
        self.wait_between_pokes = wait_between_pokes
        self.observe = observe
        self.row = next(_run_numbers)  # the DAG run's row: a run deleted and triggered again under its id has a new one
        self.run_id = "driver__%d" % self.row
        self.xcom: Dict = {}
        self.states: Dict[str, Optional[str]] = {}  # task id -> its state in the run (None or absent: not run since a clear)
        self.errors: Dict[str, str] = {}  # task id -> the last exception it raised
        self.tries: Dict[str, int] = {}  # task id -> its last try
        self._first_try: Dict[str, int] = {}  # task id -> the try its next run begins with (after a clear)

    def run_database(self, name: str, crash_after: Optional[str] = None, start: int = 0) -> Dict[str, str]:
        """Every task of the database's group in order (`start`: from that task of the chain on, the ones before it
        kept as they ended); returns {task: final state}."""
        chain = self.chain(name)
        failed = skipped = False
        for task in chain[start:]:
            if failed or skipped:  # all_success: a skipped upstream skips the rest of the chain
                self.states[task.task_id] = "upstream_failed" if failed else "skipped"
                continue
            state = self._run_task(task)
            self.states[task.task_id] = state
            failed, skipped = state == "failed", state == "skipped"
            if crash_after == task.task_id.split(".", 1)[1] and state == "success":
                raise WorkerCrashed(task.task_id)
        rollback = self.dag.get_task("%s.rollback" % name)
        if failed:
            self.states[rollback.task_id] = self._run_task(rollback)
            if crash_after == "rollback" and self.states[rollback.task_id] == "success":
                raise WorkerCrashed(rollback.task_id)
        else:
            self.states[rollback.task_id] = "skipped"
        return self.states

    def clear_task(self, name: str, task_name: str) -> str:
        """A person clears one task of this run and nothing else (Clear without downstream), any time after
        the run ended: Airflow runs it again in a new try, its own XComs cleared, the run's others kept.
        Returns its final state."""
        task = self.dag.get_task("%s.%s" % (name, task_name))
        self._clear(task)
        self.states[task.task_id] = self._run_task(task)
        return self.states[task.task_id]

    def clear_database(self, name: str, from_task: str = "preflight") -> Dict[str, str]:
        """A person clears the database's chain of this run from `from_task` (default: its whole chain, from
        preflight) with its downstream tasks: each runs again in a new try when the run reaches it (its own XComs
        cleared then, the others kept until then); the tasks before it keep their states and XComs."""
        chain = self.chain(name)
        start = [task.task_id for task in chain].index("%s.%s" % (name, from_task))
        for task in chain[start:] + [self.dag.get_task("%s.rollback" % name)]:
            self._clear(task)
        return self.run_database(name, start=start)

    def clear_held_back(self, name: str) -> Dict[str, str]:
        """A person clears the database's whole chain of this run with downstream tasks (from a task of a database
        it depends on, say), and the dependency fails again: the chain ends upstream_failed without running, its
        XComs of the earlier try kept, and the rollback (`one_failed`) runs."""
        rollback = self.dag.get_task("%s.rollback" % name)
        for task in self.chain(name) + [rollback]:
            self._clear(task)
        for task in self.chain(name):
            self.states[task.task_id] = "upstream_failed"
        self._run_task(rollback)
        return self.states

    def poke(self, task_id: str) -> Any:
        """One poke of a task in its first try, as Airflow calls it: what `execute` returns or raises (a reschedule)."""
        ti = _TaskInstance(self.xcom, task_id, 1, self.dag.get_task(task_id).retries, self)
        return self.dag.get_task(task_id).execute({"ti": ti, "dag_run": _DagRun(self), "run_id": self.run_id, "task_reschedule_count": 0})

    def _clear(self, task: Any) -> None:
        self._first_try[task.task_id] = self.tries.get(task.task_id, 0) + 1
        self.states[task.task_id] = None  # Airflow resets a cleared task instance's state

    def chain(self, name: str) -> List[Any]:
        tasks = [t for t in self.dag.tasks if t.task_id.startswith(name + ".") and not t.task_id.endswith(".rollback")]
        order = {task.task_id: index for index, task in enumerate(self.dag.topological_sort())}
        return sorted(tasks, key=lambda t: order[t.task_id])

    def run_outcome(self) -> str:
        """The run's last task on this run's XComs (after a redeploy: of the DAG this driver now holds, the run's tasks
        missing from it `removed`, as the scheduler marks them: `DagRun.verify_integrity`)."""
        for task_id in self.states:
            if task_id not in self.dag.task_dict:
                self.states[task_id] = "removed"
        task = self.dag.get_task("run_outcome")
        self.states[task.task_id] = self._run_task(task)
        return self.states[task.task_id]

    def outcome(self, name: str) -> Optional[str]:
        """The database's outcome in its latest try: `done`'s where it succeeded, `await_cutover`'s where the chain was
        skipped (waiting at a rehearsal's horizon), else the rollback's (Airflow keeps a task's XComs of an earlier try
        until it runs again: `done` upstream_failed after a clear keeps its `migrated`)."""
        task = {"success": "done", "skipped": "await_cutover"}.get(self.states.get("%s.done" % name), "rollback")
        return self.xcom.get(("%s.%s" % (name, task), "outcome"))

    def _run_task(self, task: Any, first_try: int = 1) -> str:
        """`first_try` > 1: the tries before it ran elsewhere (a test drove them, and their worker died). Records the
        task's state in the run (`states`): running while it runs, then its final state."""
        self.states[task.task_id] = "running"
        self.states[task.task_id] = state = self._run_tries(task, first_try)
        return state

    def _run_tries(self, task: Any, first_try: int) -> str:
        cleared_from = self._first_try.pop(task.task_id, None)  # a cleared task's tries go on from its last one
        start, last = (cleared_from, cleared_from + task.retries) if cleared_from else (first_try, task.retries + 1)
        for try_number in range(start, last + 1):
            for key in [k for k in self.xcom if k[0] == task.task_id]:
                del self.xcom[key]
            self.tries[task.task_id] = try_number
            ti = _TaskInstance(self.xcom, task.task_id, try_number, last - 1, self)
            # No logical date (ts, ts_nodash): Airflow 3 runs triggered without one have none.
            context = {"ti": ti, "dag_run": _DagRun(self), "run_id": self.run_id, "task_reschedule_count": 0}
            try:
                value = self._poke_until_done(task, context)
            except AirflowSkipException:
                return "skipped"
            except AirflowFailException as error:
                self.errors[task.task_id] = str(error)
                return "failed"
            except Exception as error:
                self.errors[task.task_id] = "%s: %s" % (type(error).__name__, error)
                continue  # Airflow retries it (a Retrying event was written)
            self.xcom[(task.task_id, "return_value")] = value
            return "success"
        return "failed"

    def _poke_until_done(self, task: Any, context: Dict) -> Any:
        for _ in range(MAX_POKES):
            # Airflow clears a task's own XComs as each poke of a rescheduled try starts, not only as a try starts
            # (2.x TaskInstance._execute_task_with_callbacks clear_xcom_data; 3.x the execution API's ti_run,
            # xcom_keys_to_clear): what a poke pushed is gone on the next one.
            for key in [k for k in self.xcom if k[0] == task.task_id]:
                del self.xcom[key]
            try:
                return task.execute(context)
            except AirflowRescheduleException as rescheduled:
                context["task_reschedule_count"] += 1
                if self.wait_between_pokes:
                    time.sleep(max(0.0, (rescheduled.reschedule_date - datetime.now(timezone.utc)).total_seconds()))
            finally:
                self.observe(task.task_id)
        raise AirflowFailException("%s still waiting after %d pokes" % (task.task_id, MAX_POKES))
