"""Task code under Airflow 3's ban on the metadata database, in tests that run tasks through `dag.test()`.

A deployed Airflow 3 runs a task in a process its supervisor forked after `block_orm_access()`
(airflow.sdk.execution_time.supervisor `_fork_main`): `settings.Session` is `BlockedDBSession`, so an ORM
query from task code raises "Direct database access via the ORM is not allowed in Airflow 3.0"; Variables,
Connections, XCom and task states go through the Task SDK to the API server. `dag.test()` runs the task
in the test's own process and thread (`InProcessTestSupervisor`: `task_runner.run`, then `finalize`), where
the database is open: a query would pass there and fail on every worker. While `blocked_in_tasks()` is on,
that thread gets the worker's error for the length of `run` and `finalize`; `dag.test()`'s own scheduling and
the in-process Execution API (other threads: the API's routes) keep their database."""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator

_task_thread = threading.local()
_BLOCKED = ("Session", "NonScopedSession")


class _SessionBarredFromTasks:
    """`settings.Session` (or `NonScopedSession`) that raises the worker's error in a running task's thread."""

    def __init__(self, session: Any):
        self._session = session

    def _refuse_in_a_task(self) -> None:
        if getattr(_task_thread, "running", False):
            from airflow.sdk.execution_time.supervisor import BlockedDBSession

            BlockedDBSession()  # raises RuntimeError as on a worker

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse_in_a_task()
        return self._session(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        self._refuse_in_a_task()
        return getattr(self._session, name)


def _in_a_task(function: Any) -> Any:
    def running(*args: Any, **kwargs: Any) -> Any:
        before = getattr(_task_thread, "running", False)
        _task_thread.running = True
        try:
            return function(*args, **kwargs)
        finally:
            _task_thread.running = before

    running.__wrapped__ = function  # type: ignore[attr-defined]
    return running


@contextlib.contextmanager
def blocked_in_tasks() -> Iterator[None]:
    """On Airflow 3: task code run by `dag.test()` inside it has no metadata database. On 2.x: nothing (tasks there
    have it)."""
    from migration_orchestration_lib.airflow_compat import AIRFLOW_3

    if not AIRFLOW_3:
        yield
        return
    from airflow import settings
    from airflow.sdk.execution_time import task_runner

    saved = {name: getattr(settings, name) for name in _BLOCKED if getattr(settings, name, None) is not None}
    saved_runner = {name: getattr(task_runner, name) for name in ("run", "finalize")}
    for name, session in saved.items():
        setattr(settings, name, _SessionBarredFromTasks(session))
    for name, function in saved_runner.items():
        setattr(task_runner, name, _in_a_task(function))
    try:
        yield
    finally:
        for name, function in saved_runner.items():
            setattr(task_runner, name, function)
        for name, session in saved.items():
            setattr(settings, name, session)
