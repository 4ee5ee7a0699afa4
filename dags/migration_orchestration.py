"""Apache Airflow DAG `database_migration_orchestration`: SQL Server -> Azure migrations through DMS.

Reads the migration plan rendered by the constructs (`migration_plan.json` beside this file, or
the file named by MIGRATION_PLAN_PATH) and builds one task group per database, wired in the
plan's dependency order. Everything else lives in `migration_orchestration_lib/`.
"""
from __future__ import annotations

import os

try:
    # Checks that the DAG folder holds one bundle, whole, before anything else of the library loads.
    import migration_orchestration_lib.bundle_manifest  # noqa: F401
except ModuleNotFoundError as error:
    if error.name != "migration_orchestration_lib.bundle_manifest":
        raise
    raise ImportError(
        "the DAG folder %s mixes files of two bundles (an apply or upload that stopped midway): this DAG file is newer "
        "than its migration_orchestration_lib, which lacks bundle_manifest.py. No migration task runs from this folder. "
        "Run terraform apply again, which writes the whole bundle (where you copy the bundle yourself, copy its whole "
        "dags/ folder again)" % os.path.dirname(os.path.abspath(__file__))
    ) from None

from migration_orchestration_lib.dag_factory import build_dag_from_plan_file
from migration_orchestration_lib.settings import PLAN_FILE_NAME, plan_path

dag = build_dag_from_plan_file(plan_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), PLAN_FILE_NAME)))
