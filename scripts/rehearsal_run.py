"""Runs the migration DAG once with `dag.test()` (real Airflow task running, trigger rules and
reschedules) and writes the run's state and each task's final state as JSON to argv[1].

`MIGRATION_PLAN_PATH` names the rendered plan; the DAG folder is the repository's `dags/`. Each
call is a new run (logical date: now), so a rehearsal on a kept world is a new run id, as an
operator's re-run would be. A simulated crash ends this process before the file is written.
"""
from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dags"))

from migration_orchestration_lib.airflow_compat import AIRFLOW_3, timezone  # noqa: E402
from migration_orchestration_lib.dag_factory import build_dag_from_plan_file  # noqa: E402
from migration_orchestration_lib.settings import ConfigurationError  # noqa: E402

SETTINGS_REFUSED = 2


def main(result_path: str) -> int:
    from airflow.models.dagrun import DagRun

    try:
        dag = build_dag_from_plan_file(os.environ["MIGRATION_PLAN_PATH"])
    except ConfigurationError as error:  # a bad MIGRATION_SIMULATE_* setting: the DAG would not import
        print("rehearsal refused: %s" % error, file=sys.stderr)
        return SETTINGS_REFUSED
    when = timezone.utcnow()
    dag_run = dag.test(**({"logical_date": when} if AIRFLOW_3 else {"execution_date": when}))
    dag_run = dag_run or DagRun.find(dag_id=dag.dag_id, execution_date=when)[0]
    states = {ti.task_id: str(ti.state) if ti.state else None for ti in dag_run.get_task_instances()}
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump({"run_id": dag_run.run_id, "state": str(dag_run.state), "tasks": states}, handle)
    return 0 if str(dag_run.state) == "success" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
