"""What a step sees when its task runs: the plan entry, its services, and this run's task states."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from migration_orchestration_lib.dms_gateway import MigrationTarget
from migration_orchestration_lib.plan import DatabaseMigration, MigrationPlan
from migration_orchestration_lib.settings import Timing

START_TASK = "start_migration"
PREFLIGHT_TASK = "preflight"


class StepFailure(Exception):
    """A failure that retrying cannot fix (wrong configuration, bad data, DMS gave up): fail fast."""


@dataclass(frozen=True)
class StepResult:
    message: str
    return_value: Any = None
    status: str = "Succeeded"


@dataclass
class StepContext:
    plan: MigrationPlan
    database: DatabaseMigration
    airflow_context: Mapping[str, Any]
    timing: Timing
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    _services: Any = None

    @property
    def services(self) -> Any:
        if self._services is None:
            from migration_orchestration_lib.services import services_for

            self._services = services_for(self.plan, self.run_id, self.environ)
        return self._services

    @property
    def target(self) -> MigrationTarget:
        return MigrationTarget.of(self.plan, self.database)

    @property
    def run_id(self) -> str:
        return self.airflow_context["run_id"]

    @property
    def task_instance(self) -> Any:
        return self.airflow_context["ti"]

    def task_id(self, task_name: str) -> str:
        return "%s.%s" % (self.database.name, task_name)

    def migration_operation_id(self) -> Optional[str]:
        """The id `start_migration` recorded in XCom; None when it never finished."""
        return self.task_instance.xcom_pull(task_ids=self.task_id(START_TASK))

    def require_migration_operation_id(self) -> str:
        operation_id = self.migration_operation_id()
        if not operation_id:
            raise StepFailure("%s has no migration operation id: start_migration did not finish" % self.database.name)
        return operation_id

    def preflight_facts(self) -> Mapping[str, Any]:
        return self.task_instance.xcom_pull(task_ids=self.task_id(PREFLIGHT_TASK)) or {}

    def task_state(self, task_name: str) -> Optional[str]:
        """State of one of this database's tasks in this run (reads the metadata DB: task time only)."""
        dag_run = self.airflow_context["dag_run"]
        instance = dag_run.get_task_instance(self.task_id(task_name))
        return None if instance is None or instance.state is None else str(instance.state)
