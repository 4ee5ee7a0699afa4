"""Work in a daemon thread, waited for by the task's thread.

A call that blocks where the task's thread cannot act (pymssql in C; azure-core sleeping a Retry-After in full) runs
in a thread of its own: the task's thread keeps its heartbeats and deadlines, and Airflow's execution_timeout (a
signal to the task's thread) gets through. Work given up on runs on until the task's process ends.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Generic, List, Tuple, TypeVar

T = TypeVar("T")


class DaemonWork(Generic[T]):
    """`work()` started at once in a daemon thread named `name`; `wait` for it, then take its `result`."""

    def __init__(self, work: Callable[[], T], name: str) -> None:
        self._outcome: List[Tuple[bool, Any]] = []

        def run() -> None:
            try:
                self._outcome.append((True, work()))
            except BaseException as error:  # raised in the waiting thread by `result`
                self._outcome.append((False, error))

        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()

    def wait(self, seconds: float) -> bool:
        """Whether the work ended within `seconds`."""
        self._thread.join(max(0.0, seconds))
        return not self._thread.is_alive()

    def result(self) -> T:
        """What the ended work returned, or its exception raised."""
        done, value = self._outcome[0]
        if not done:
            raise value
        return value
