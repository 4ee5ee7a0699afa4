"""Apache Airflow DAG `database_migration_orchestration`: SQL Server -> Azure migrations through DMS.

Reads the migration plan rendered by the constructs (`migration_plan.json` beside this file, or
the file named by MIGRATION_PLAN_PATH) and builds one task group per database, wired in the
plan's dependency order. Everything else lives in `migration_orchestration_lib/`.
"""
from __future__ import annotations

import os

from migration_orchestration_lib.dag_factory import build_dag_from_plan_file
from migration_orchestration_lib.settings import PLAN_FILE_NAME, plan_path

dag = build_dag_from_plan_file(plan_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), PLAN_FILE_NAME)))
