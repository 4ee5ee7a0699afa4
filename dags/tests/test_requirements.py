"""Each host's runtime requirements are installed, pin for pin, in the test environment of its
Airflow and Python: creating that environment (run-tests.sh) is the proof they install there."""
from __future__ import annotations

import re

import pytest

from conftest import DAGS_DIR

HOSTS = {
    "requirements.txt": ("requirements-airflow3.txt", "apache-airflow==3.3.2"),
    "requirements-fabric.txt": ("requirements-airflow210.txt", "apache-airflow==2.10.5"),
    "requirements-data-factory.txt": ("requirements-airflow26.txt", "apache-airflow==2.6.3"),
}


def pins(name):
    lines = (line.split("#", 1)[0].strip() for line in (DAGS_DIR / name).read_text().splitlines())
    return {re.split("==", line)[0].lower().replace("_", "-"): line.lower().replace("_", "-") for line in lines if line}


@pytest.mark.parametrize("runtime", sorted(HOSTS))
def test_every_runtime_pin_is_in_the_environment_of_its_airflow(runtime):
    environment, airflow = HOSTS[runtime]
    installed = pins(environment)
    wanted = pins(runtime)
    assert all("==" in pin for pin in wanted.values()), "every runtime requirement is pinned"
    assert {name: pin for name, pin in wanted.items() if installed.get(name) != pin} == {}
    assert airflow in installed.values()


def test_the_data_factory_runtime_does_without_the_dms_sdk_that_needs_python_3_9():
    assert "azure-mgmt-datamigration" not in pins("requirements-data-factory.txt")
    assert "azure-mgmt-core" in pins("requirements-data-factory.txt")  # the DMS gateway's REST transport
