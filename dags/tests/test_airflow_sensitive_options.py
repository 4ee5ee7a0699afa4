"""lib/private/airflow-sensitive-options.json, the sensitive options whose `AIRFLOW__<SECTION>__<OPTION>_SECRET`
a host passes on as a reference to a secret, is the Airflows' own: each environment checks its column both ways
against its `conf.sensitive_config_values`, so an Airflow upgraded without the file fails here."""
from __future__ import annotations

import json

import pytest

from conftest import DAGS_DIR, environments

pytestmark = [pytest.mark.airflow210, pytest.mark.airflow26, pytest.mark.airflow31]

SENSITIVE_OPTIONS_FILE = DAGS_DIR.parent / "lib" / "private" / "airflow-sensitive-options.json"


def recorded_options(path=SENSITIVE_OPTIONS_FILE):
    """The file's options, each with the Airflow versions that have it as sensitive."""
    return json.loads(path.read_text())["options"]


def sensitive_in(version, options):
    """The options the file records as sensitive in Airflow `version`."""
    return {option for option, versions in options.items() if version in versions}


def column_problems(version, sensitive, options):
    """How the file's column for Airflow `version` differs from that Airflow's sensitive options."""
    recorded = sensitive_in(version, options)
    problems = ["%s is sensitive in Airflow %s but not recorded for it" % (option, version) for option in sorted(sensitive - recorded)]
    problems += ["%s is recorded for Airflow %s but not sensitive there" % (option, version) for option in sorted(recorded - sensitive)]
    return problems


def version_problems(options, tested):
    """Versions the file names that no environment runs, environments it lacks, options no Airflow has."""
    named = {version for versions in options.values() for version in versions}
    problems = ["Airflow %s is recorded but no environment runs it" % version for version in sorted(named - tested)]
    problems += ["Airflow %s of dags/airflow-environments.txt has no column" % version for version in sorted(tested - named)]
    problems += ["%s is recorded for no Airflow" % option for option, versions in sorted(options.items()) if not versions]
    return problems


def this_airflows_sensitive_options():
    import airflow
    from airflow.configuration import conf

    return airflow.__version__, {"%s.%s" % (section, key) for section, key in conf.sensitive_config_values}


def test_this_airflows_column_is_its_sensitive_options():
    version, sensitive = this_airflows_sensitive_options()
    assert column_problems(version, sensitive, recorded_options()) == []


def test_the_columns_are_the_tested_airflows():
    assert version_problems(recorded_options(), {row["airflow"] for row in environments()}) == []


@pytest.mark.parametrize(
    "change, expected",
    [
        ("remove", "core.fernet_key is sensitive in Airflow {version} but not recorded for it"),
        ("add", "core.not_sensitive is recorded for Airflow {version} but not sensitive there"),
        ("drop_version", "core.fernet_key is sensitive in Airflow {version} but not recorded for it"),
        ("add_version", "other.sensitive_elsewhere is recorded for Airflow {version} but not sensitive there"),
    ],
)
def test_a_wrong_column_is_named(tmp_path, change, expected):
    version, sensitive = this_airflows_sensitive_options()
    options = {option: [version] for option in sensitive}
    options["other.sensitive_elsewhere"] = ["1.0.0"]
    assert column_problems(version, sensitive, options) == []
    if change == "remove":
        del options["core.fernet_key"]
    elif change == "add":
        options["core.not_sensitive"] = [version]
    elif change == "drop_version":
        options["core.fernet_key"] = ["1.0.0"]
    else:
        options["other.sensitive_elsewhere"].append(version)
    bad_file = tmp_path / "airflow-sensitive-options.json"
    bad_file.write_text(json.dumps({"options": options}))
    assert column_problems(version, sensitive, recorded_options(bad_file)) == [expected.format(version=version)]


def test_a_version_no_environment_runs_or_an_option_of_no_airflow_is_named():
    options = {"core.fernet_key": ["2.6.3", "3.4.0"], "core.gone": []}
    assert version_problems(options, {"2.6.3", "3.3.2"}) == [
        "Airflow 3.4.0 is recorded but no environment runs it",
        "Airflow 3.3.2 of dags/airflow-environments.txt has no column",
        "core.gone is recorded for no Airflow",
    ]
