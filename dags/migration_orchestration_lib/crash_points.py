"""Rehearsal crash injection: `MIGRATION_SIMULATE_CRASH=<database>:<task>` kills the worker right
after that task's side effects, before Airflow records its success (a worker lost mid-run).

The next run, on the same world with a new run id, must continue or roll back cleanly. Honoured
only in a rehearsal (`MIGRATION_DRY_RUN`); parsing rejects it otherwise.
"""
from __future__ import annotations

import os
from typing import Mapping, Optional, Tuple

from migration_orchestration_lib.settings import SIMULATE_CRASH_VARIABLE, is_dry_run

CRASH_EXIT_CODE = 137  # what a worker killed with SIGKILL reports


def crash_point(environ: Mapping[str, str]) -> Optional[Tuple[str, str]]:
    raw = environ.get(SIMULATE_CRASH_VARIABLE, "").strip()
    if not raw or not is_dry_run(environ):
        return None
    database, _, task = raw.partition(":")
    return database.strip(), task.strip()


def after_side_effects(database: str, task: str, environ: Mapping[str, str]) -> None:
    if crash_point(environ) == (database, task):
        os._exit(CRASH_EXIT_CODE)  # no cleanup, no success recorded: like a killed worker
