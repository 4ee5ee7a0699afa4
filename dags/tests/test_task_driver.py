"""The task driver (task_driver.py) stands in for Airflow running a task: what the DAG's steps may rely on between
pokes must be what Airflow keeps."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

from task_driver import AirflowRescheduleException, RunDriver


class _RescheduledOnce:
    """A task whose first poke pushes an XCom and reschedules; its second returns what it pulls of it then."""

    def __init__(self, task_id: str):
        self.task_id, self.retries, self.pokes = task_id, 0, 0

    def execute(self, context):
        ti = context["ti"]
        self.pokes += 1
        if self.pokes == 1:
            ti.xcom_push(key="seen", value="first poke")
            raise AirflowRescheduleException(reschedule_date=datetime.now(timezone.utc))
        return {"own": ti.xcom_pull(task_ids=self.task_id, key="seen"), "other": ti.xcom_pull(task_ids="db.other", key="kept")}


def test_a_task_s_own_xcoms_are_gone_on_its_next_poke_and_other_tasks_are_kept():
    """Airflow clears a task's own XComs as each poke of a rescheduled try starts (2.x
    TaskInstance._execute_task_with_callbacks clear_xcom_data unless resuming from a deferral; 3.x the execution API's
    ti_run sends xcom_keys_to_clear): state a step keeps between its pokes belongs in a record (an Airflow Variable),
    as the rollback's actions are kept (rollback.Actions). The driver did keep them, so a step relying on its XCom
    across pokes passed here and failed in Airflow."""
    driver = RunDriver(dag=SimpleNamespace(dag_id="migration"))
    driver.xcom[("db.other", "kept")] = "another task's"
    task = _RescheduledOnce("db.step")

    assert driver._run_task(task) == "success"
    assert task.pokes == 2
    assert driver.xcom[("db.step", "return_value")] == {"own": None, "other": "another task's"}
