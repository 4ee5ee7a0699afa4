"""Which Apache Airflow the DAG loads on: 3.1 and later, 2.10.5 (Fabric's) and 2.6.3 (Data Factory's).
Airflow 3.0 is refused at import with the versions to use instead."""
from __future__ import annotations

import pytest

from conftest import environments
from migration_orchestration_lib.airflow_compat import unsupported_airflow_problem

pytestmark = [pytest.mark.airflow26, pytest.mark.airflow31]  # cheap: the oldest Airflow 3 and Python 3.8 too


def test_airflow_3_0_is_refused_naming_the_versions_that_work():
    problem = unsupported_airflow_problem((3, 0), "3.0.6")
    assert problem is not None and "does not run on Apache Airflow 3.0.6" in problem
    assert "Airflow 3.1 or later" in problem and "2.10.5 or 2.6.3" in problem


@pytest.mark.parametrize("version", [(3, 1), (3, 2), (3, 3), (3, 4), (4, 0), (2, 10), (2, 6)])
def test_the_airflows_the_dag_is_tested_on_and_later_3_x_are_accepted(version):
    assert unsupported_airflow_problem(version, "%d.%d.0" % version) is None


def test_the_oldest_airflow_3_accepted_is_the_oldest_tested():
    """The refusal and the test environments (dags/airflow-environments.txt) name the same oldest Airflow 3."""
    tested = sorted(tuple(int(part) for part in row["airflow"].split(".")[:2]) for row in environments())
    oldest = next(version for version in tested if version >= (3, 0))
    assert unsupported_airflow_problem(oldest, "%d.%d.0" % oldest) is None
    assert unsupported_airflow_problem((3, oldest[1] - 1), "3.%d.0" % (oldest[1] - 1)) is not None
    assert "Airflow %d.%d or later" % oldest in unsupported_airflow_problem((3, 0), "3.0.0")
