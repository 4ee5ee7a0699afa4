"""Airflow operators that run a migration step and report it as one migration event.

Only Airflow 2.x APIs present in both 2.6.3 (Data Factory) and 2.10.5 (Fabric) are used.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Callable, Optional, Sequence

from airflow.exceptions import AirflowFailException, AirflowRescheduleException, AirflowSkipException
from airflow.models.baseoperator import BaseOperator
from airflow.sensors.base import BaseSensorOperator

from migration_orchestration_lib import steps
from migration_orchestration_lib.dms_gateway import CutoverNotSupportedError
from migration_orchestration_lib.events import build_event_row
from migration_orchestration_lib.plan import MigrationPlan
from migration_orchestration_lib.rollback import NothingToRollBack
from migration_orchestration_lib.settings import ConfigurationError, Timing
from migration_orchestration_lib.step_context import StepContext, StepFailure, StepResult

log = logging.getLogger(__name__)

# Failures that retrying cannot fix: fail the task at once (AirflowFailException skips retries).
PERMANENT_FAILURES = (StepFailure, ConfigurationError, CutoverNotSupportedError)


class _MigrationEventMixin:
    plan: MigrationPlan
    database_name: str
    phase: str
    timing: Timing

    def _step_context(self, context: Any) -> StepContext:
        return StepContext(self.plan, self.plan.database(self.database_name), context, self.timing)

    def _emit(self, ctx: StepContext, status: str, message: str, operation_id: Optional[str] = None) -> None:
        try:
            from migration_orchestration_lib.services import event_writer_from_environment

            if operation_id is None and self.phase not in ("preflight", "start_migration"):
                operation_id = ctx.migration_operation_id()
            row = build_event_row(
                run_id=ctx.run_id,
                plan_name=self.plan.name,
                database=self.database_name,
                phase=self.phase,
                status=status,
                duration_seconds=steps.elapsed_seconds(self._started_at(ctx)),
                message=message,
                target_kind=ctx.database.target_kind,
                migration_operation_id=operation_id,
            )
            event_writer_from_environment(os.environ).write(row)
        except Exception as error:  # reporting never fails a migration
            log.warning("Could not emit migration event %s/%s: %s", self.database_name, self.phase, error)

    def _started_at(self, ctx: StepContext) -> Any:
        """The task's first start (kept across sensor reschedules); this execution's start as fallback."""
        return getattr(ctx.task_instance, "start_date", None) or getattr(self, "_execution_started_at", None)

    def _report_failure(self, ctx: StepContext, error: BaseException) -> BaseException:
        """Emit the Failed event; return the exception Airflow should see."""
        self._emit(ctx, "Failed", "%s: %s" % (type(error).__name__, error))
        if isinstance(error, PERMANENT_FAILURES):
            return AirflowFailException(str(error))
        return error


class MigrationStepOperator(_MigrationEventMixin, BaseOperator):
    """Runs one step function of one database and writes its migration event."""

    ui_color = "#dbe9f6"

    def __init__(
        self,
        *,
        plan: MigrationPlan,
        database_name: str,
        phase: str,
        step: Callable[[StepContext], StepResult],
        timing: Timing,
        **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.database_name = database_name
        self.phase = phase
        self.step = step
        self.timing = timing

    def execute(self, context: Any) -> Any:
        self._execution_started_at = steps.utc_now()
        ctx = self._step_context(context)
        if self.phase == "start_migration":
            # The long-running alert measures from this event: write it before anything can fail.
            self._emit(ctx, "Started", "starting migration of %s" % ctx.database.source_database)
        try:
            result = self.step(ctx)
        except NothingToRollBack as skip:
            raise AirflowSkipException(str(skip))
        except Exception as error:
            raised = self._report_failure(ctx, error)
            if raised is error:
                raise
            raise raised from error
        operation_id = result.return_value if self.phase == "start_migration" else None
        self._emit(ctx, result.status, result.message, operation_id)
        log.info("%s %s: %s", self.database_name, self.phase, result.message)
        return result.return_value


class MigrationStatusSensor(_MigrationEventMixin, BaseSensorOperator):
    """Waits (in reschedule mode) until DMS reports the goal; a terminal DMS failure fails at once."""

    ui_color = "#f6ecdb"

    def __init__(
        self, *, plan: MigrationPlan, database_name: str, phase: str, goal: str, timing: Timing, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.database_name = database_name
        self.phase = phase
        self.goal = goal
        self.timing = timing

    def execute(self, context: Any) -> Any:
        self._execution_started_at = steps.utc_now()
        ctx = self._step_context(context)
        try:
            result = super().execute(context)
        except (AirflowRescheduleException, AirflowSkipException):
            raise  # not finished yet: the next poke comes later
        except Exception as error:  # includes AirflowSensorTimeout
            raised = self._report_failure(ctx, error)
            if raised is error:
                raise
            raise raised from error
        self._emit(ctx, "Succeeded", "DMS migration reached %s" % self.goal)
        return result

    def poke(self, context: Any) -> bool:
        ctx = self._step_context(context)
        try:
            status = steps.poll_migration(ctx)
        except PERMANENT_FAILURES as error:
            raise AirflowFailException(str(error)) from error
        reached = steps.goal_met(status, self.goal)
        log.info("%s %s: %s (%s)", self.database_name, self.phase, status.describe(), "reached" if reached else "waiting")
        return reached


class RunOutcomeOperator(BaseOperator):
    """The run's only leaf: fails the run when any database did not finish, whatever rolled back."""

    ui_color = "#e8e8e8"

    def __init__(self, *, database_names: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.database_names = list(database_names)

    def execute(self, context: Any) -> Any:
        dag_run = context["dag_run"]
        states = {ti.task_id: (None if ti.state is None else str(ti.state)) for ti in dag_run.get_task_instances()}
        migrated = [n for n in self.database_names if states.get("%s.done" % n) == "success"]
        not_migrated = [n for n in self.database_names if n not in migrated]
        if not not_migrated:
            log.info("All %d database(s) migrated: %s", len(migrated), ", ".join(migrated))
            return migrated
        rolled_back = [n for n in not_migrated if states.get("%s.rollback" % n) == "success"]
        held = [n for n in not_migrated if states.get("%s.rollback" % n) == "skipped"]
        rollback_failed = [n for n in not_migrated if n not in rolled_back and n not in held]
        raise AirflowFailException(
            "migration run failed: %d of %d database(s) not migrated. rolled back: %s; not started "
            "(a dependency failed): %s; rollback failed or incomplete: %s; migrated: %s"
            % (
                len(not_migrated),
                len(self.database_names),
                ", ".join(rolled_back) or "-",
                ", ".join(held) or "-",
                ", ".join(rollback_failed) or "-",
                ", ".join(migrated) or "-",
            )
        )
