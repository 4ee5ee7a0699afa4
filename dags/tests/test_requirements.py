"""Each host's runtime requirements are installed, pin for pin, in the test environment of its
Airflow and Python: creating that environment (run-tests.sh) is the proof they install there."""
from __future__ import annotations

import re

import pytest

from conftest import DAGS_DIR, environments

# The scripts that set up or pick an environment: each reads the table and repeats none of it.
TABLE_READERS = ("dags/run-tests.sh", "scripts/rehearse.sh", "bench/run.mjs")


HOSTS = {row["runtime"]: (row["requirements"], "apache-airflow==" + row["airflow"]) for row in environments()}


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


def test_the_environment_table_names_each_marker_and_host_once():
    rows = environments()
    markers = [row["marker"] for row in rows]
    assert markers[0] == "-" and sorted(markers[1:]) == ["airflow210", "airflow26", "airflow31"]  # pytest.ini's markers
    hosts = [host for row in rows for host in row["hosts"].split(",") if host != "-"]  # `-`: no host's own
    assert sorted(hosts) == sorted(["kubernetes", "external", "fabric", "dataFactory"])


@pytest.mark.parametrize("script", TABLE_READERS)
def test_the_scripts_read_the_environment_table_instead_of_repeating_it(script):
    text = (DAGS_DIR.parent / script).read_text()
    assert "airflow_environment" in text or "airflow-environments.txt" in text
    values = [row[key] for row in environments() for key in ("airflow", "requirements", "runtime", "db_command")]
    values += [row["venv"] for row in environments() if row["venv"] != ".venv"]  # `.venv` alone starts every venv's name
    assert [value for value in values if value in text] == []
