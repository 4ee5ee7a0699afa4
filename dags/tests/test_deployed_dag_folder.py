"""The DAG folder as the hosts deploy it: `deployed.airflowignore` goes in as `.airflowignore`.

The library's modules mention "airflow" and "dag", so without it the DAG processor parses each of
them as a DAG file on every pass (each in its own process on Airflow 3), finding nothing. The one
pattern must work in both syntaxes: regexp (Airflow 2's default) and glob (Airflow 3's).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import DAGS_DIR, load_plan_document, write_bundle
from migration_orchestration_lib.dag_factory import DAG_ID

pytestmark = [pytest.mark.airflow210, pytest.mark.airflow26, pytest.mark.airflow31]

LIBRARY = "migration_orchestration_lib"


def deployed_folder(target: Path, ignore_file: Path = None) -> Path:
    """The DAG file and its library (no tests, no bytecode), with `ignore_file` as `.airflowignore`."""
    folder = target / "dags"
    folder.mkdir()
    shutil.copy(DAGS_DIR / "migration_orchestration.py", folder)
    shutil.copytree(DAGS_DIR / LIBRARY, folder / LIBRARY, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    if ignore_file is not None:
        shutil.copy(ignore_file, folder / ".airflowignore")
    return folder


def parsed_files(folder: Path):
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3.2+
    except ImportError:
        from airflow.models.dagbag import DagBag
    bag = DagBag(dag_folder=str(folder))  # examples are off: AIRFLOW__CORE__LOAD_EXAMPLES
    assert bag.import_errors == {}
    assert list(bag.dag_ids) == [DAG_ID]
    return sorted(Path(stat.file).name if LIBRARY not in stat.file else LIBRARY for stat in bag.dagbag_stats)


def test_the_deployed_ignore_file_leaves_the_dag_processor_only_the_dag_file(monkeypatch, tmp_path):
    monkeypatch.setenv("MIGRATION_PLAN_PATH", str(write_bundle(tmp_path, load_plan_document())))
    assert parsed_files(deployed_folder(tmp_path, DAGS_DIR / "deployed.airflowignore")) == ["migration_orchestration.py"]


def test_without_it_the_dag_processor_parses_the_library_too(monkeypatch, tmp_path):
    monkeypatch.setenv("MIGRATION_PLAN_PATH", str(write_bundle(tmp_path, load_plan_document())))
    assert LIBRARY in parsed_files(deployed_folder(tmp_path))
