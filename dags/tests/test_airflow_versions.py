"""Which Apache Airflow the DAG loads on: 3.2 and later, 2.10.5 (Fabric's) and 2.6.3 (Data Factory's).
Airflow 3.0 and 3.1 are refused at import with the versions to use instead."""
from __future__ import annotations

import pytest

from migration_orchestration_lib.airflow_compat import unsupported_airflow_problem

pytestmark = [pytest.mark.airflow26, pytest.mark.airflow32]  # cheap: the oldest Airflow 3 and Python 3.8 too


@pytest.mark.parametrize("version", [(3, 0), (3, 1)])
def test_airflow_3_0_and_3_1_are_refused_naming_the_versions_that_work(version):
    text = "%d.%d.4" % version
    problem = unsupported_airflow_problem(version, text)
    assert problem is not None and "does not run on Apache Airflow %s" % text in problem
    assert "Airflow 3.2 or later" in problem and "2.10.5 or 2.6.3" in problem


@pytest.mark.parametrize("version", [(3, 2), (3, 3), (3, 4), (4, 0), (2, 10), (2, 6)])
def test_the_airflows_the_dag_is_tested_on_and_later_3_x_are_accepted(version):
    assert unsupported_airflow_problem(version, "%d.%d.0" % version) is None
