"""The DAG is created unpaused on every Airflow it runs on. Airflow creates a DAG paused by default
(`[core] dags_are_paused_at_creation`, True unless the host turns it off: Fabric does, the Kubernetes host's chart
values and Data Factory do not), and a run triggered while it is paused stays queued, no task running, no event
written (not even `migration-stalled` fires: no database is in flight). The DAG has no schedule, so unpaused it still
runs only when triggered. Registered here as the DAG processor registers a DAG it parsed (its DagModel row created)."""
from __future__ import annotations

import pytest

from conftest import load_plan_document
from migration_orchestration_lib import dag_factory
from migration_orchestration_lib.airflow_compat import AIRFLOW_3
from migration_orchestration_lib.plan import parse_plan

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.airflow210, pytest.mark.airflow26, pytest.mark.airflow31]


def register_as_the_dag_processor_does(dag) -> None:
    if AIRFLOW_3:
        from conftest import register_for_dag_test

        register_for_dag_test(dag)
        return
    from airflow.models.dagbag import DagBag

    bag = DagBag(dag_folder="/nonexistent", include_examples=False)
    bag.bag_dag(dag, root_dag=dag)
    bag.sync_to_db()


def test_the_dag_is_created_unpaused_where_airflow_creates_dags_paused(monkeypatch):
    from airflow.models.dag import DagModel

    # The setting as a deployed Airflow reads it, once at import (DagModel.is_paused's default); unit test mode's is False.
    monkeypatch.setattr(DagModel.__table__.c.is_paused.default, "arg", True)
    monkeypatch.setattr(dag_factory, "DAG_ID", "created_unpaused_check")  # a DagModel row no other test created
    dag = dag_factory.build_dag(parse_plan(load_plan_document()), environ={})
    register_as_the_dag_processor_does(dag)

    model = DagModel.get_dagmodel("created_unpaused_check")
    assert model is not None and model.is_paused is False, "created paused: a run triggered now would stay queued"
