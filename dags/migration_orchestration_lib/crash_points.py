"""Rehearsal crash injection: `MIGRATION_SIMULATE_CRASH=<database>:<task>` kills the worker right
after that task's side effects, before Airflow records its success (a worker lost mid-run).

The next run, on the same world with a new run id, must continue or roll back cleanly. Honoured
only in a rehearsal (`MIGRATION_DRY_RUN`); the DAG does not import otherwise (`check_crash_point`).
"""
from __future__ import annotations

import os
from typing import Any, Mapping, Optional, Tuple

from migration_orchestration_lib import rollback, steps
from migration_orchestration_lib.settings import SIMULATE_CRASH_VARIABLE, ConfigurationError, is_dry_run, require_rehearsal

CRASH_EXIT_CODE = 137  # what a worker killed with SIGKILL reports


def crash_point(environ: Mapping[str, str]) -> Optional[Tuple[str, str]]:
    """(database, task) after which a rehearsal's worker dies; None when unset or not a rehearsal."""
    raw = environ.get(SIMULATE_CRASH_VARIABLE, "").strip()
    if not raw or not is_dry_run(environ):
        return None
    database, _, task = raw.partition(":")
    return database.strip(), task.strip()


def check_crash_point(plan: Any, environ: Mapping[str, str]) -> None:
    """Import time: only in a rehearsal, and after a task the database has (else a silent no-op)."""
    raw = environ.get(SIMULATE_CRASH_VARIABLE, "").strip()
    if raw:
        require_rehearsal(SIMULATE_CRASH_VARIABLE, raw, environ)
    point = crash_point(environ)
    if point is None:
        return
    database_name, task = point
    if database_name not in plan.database_names or not task:
        raise ConfigurationError(
            "%s must be <database>:<task> with a database of the plan (%s), got %r"
            % (SIMULATE_CRASH_VARIABLE, ", ".join(plan.database_names), raw)
        )
    database = plan.database(database_name)
    tasks = [*steps.describe_chain(database, plan.is_gated(database)), rollback.ROLLBACK_TASK]
    if task not in tasks:
        raise ConfigurationError(
            "%s names task %r, which %s does not have (its tasks: %s)" % (SIMULATE_CRASH_VARIABLE, task, database_name, ", ".join(tasks))
        )


def after_side_effects(database: str, task: str, environ: Mapping[str, str]) -> None:
    if crash_point(environ) == (database, task):
        os._exit(CRASH_EXIT_CODE)  # no cleanup, no success recorded: like a killed worker
