from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from migration_orchestration_lib import settings as settings_module
from migration_orchestration_lib.settings import (
    DEFAULT_EVENTS_STREAM,
    AzureSettings,
    EventSettings,
    ConfigurationError,
    Timing,
    plan_path,
    simulated_failures,
)

NAMES = ("database_1", "database_2", "database_3")
SETTINGS_FILE = Path(settings_module.__file__)
EVENTS_CONTRACT_FILE = SETTINGS_FILE.parent / "contracts" / "migration_events.json"
DMS_ID = "/subscriptions/sub-1/resourceGroups/rg-migration/providers/Microsoft.DataMigration/sqlMigrationServices/dms-contoso"


def test_simulated_failures_are_parsed_from_a_comma_separated_list():
    environ = {"MIGRATION_DRY_RUN": "1", "MIGRATION_SIMULATE_FAILURE": " database_1, database_3 ,"}
    assert simulated_failures(NAMES, environ) == {"database_1", "database_3"}


def test_an_unknown_database_to_fail_is_an_error_naming_it():
    environ = {"MIGRATION_DRY_RUN": "1", "MIGRATION_SIMULATE_FAILURE": "database_1,databse_2"}
    with pytest.raises(ConfigurationError, match=r"not in the plan: databse_2 \(plan databases: database_1, database_2, database_3\)"):
        simulated_failures(NAMES, environ)


def test_failures_cannot_be_simulated_outside_a_rehearsal():
    with pytest.raises(ConfigurationError, match="only be simulated in a rehearsal"):
        simulated_failures(NAMES, {"MIGRATION_SIMULATE_FAILURE": "database_1"})


def test_no_failures_without_the_variable():
    assert simulated_failures(NAMES, {"MIGRATION_DRY_RUN": "1"}) == frozenset()


def test_plan_path_defaults_to_the_file_beside_the_dag_and_can_be_overridden():
    assert plan_path("/dags/migration_plan.json", {}) == "/dags/migration_plan.json"
    assert plan_path("/dags/migration_plan.json", {"MIGRATION_PLAN_PATH": "/plans/p.json"}) == "/plans/p.json"


def test_migration_service_id_is_parsed():
    service = AzureSettings.from_environment({"MIGRATION_DMS_RESOURCE_ID": DMS_ID}).migration_service
    assert (service.subscription_id, service.resource_group, service.name) == ("sub-1", "rg-migration", "dms-contoso")


@pytest.mark.parametrize(
    "environ, message",
    [
        ({}, "MIGRATION_DMS_RESOURCE_ID is not set"),
        ({"MIGRATION_DMS_RESOURCE_ID": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataMigration/services/classic"}, "sqlMigrationServices"),
    ],
)
def test_azure_settings_reject_a_missing_or_classic_dms(environ, message):
    with pytest.raises(ConfigurationError, match=message):
        AzureSettings.from_environment(environ)


def test_subscription_defaults_to_the_migration_services_one():
    assert AzureSettings.from_environment({"MIGRATION_DMS_RESOURCE_ID": DMS_ID}).subscription_id == "sub-1"
    explicit = AzureSettings.from_environment({"MIGRATION_DMS_RESOURCE_ID": DMS_ID, "AZURE_SUBSCRIPTION_ID": "sub-2"})
    assert explicit.subscription_id == "sub-2"


def test_rehearsals_poll_in_seconds_real_runs_in_minutes():
    assert Timing.for_environment({"MIGRATION_DRY_RUN": "1"}).poke_interval.total_seconds() <= 1
    assert Timing.for_environment({}).poke_interval.total_seconds() >= 60


def test_waits_defer_only_where_the_host_says_it_has_a_triggerer():
    assert Timing.for_environment({}).deferrable is False
    assert Timing.for_environment({"MIGRATION_WAIT_MODE": "deferrable"}).deferrable is True


CUTOVER = {
    "windows": [{"timeZone": "Europe/Berlin", "days": ["Sat"], "start": "22:00", "durationMinutes": 360}],
    "expectedMinutes": 30,
    "approval": {"required": True, "approvers": ["alice@contoso.com"], "channel": "airflowVariable"},
}


@pytest.mark.parametrize(
    "environ, problem",
    [
        ({"MIGRATION_SIMULATE_APPROVAL": "nope:approve"}, "names database 'nope', not in the plan"),
        ({"MIGRATION_SIMULATE_APPROVAL": "gated:maybe"}, "got decision 'maybe'"),
        ({"MIGRATION_SIMULATE_APPROVAL": "plain:approve"}, "plain, whose cutover needs no approval"),
        ({"MIGRATION_SIMULATE_START": "Saturday"}, "MIGRATION_SIMULATE_START must be an ISO 8601 time"),
        ({"MIGRATION_SIMULATE_START": "2026-12-05T00:00Z", "MIGRATION_SIMULATE_UNTIL": "2026-12-04T00:00Z"}, "must be after"),
    ],
)
def test_cutover_rehearsal_knobs_are_checked_at_import(environ, problem):
    from conftest import database_entry, plan_with_databases
    from migration_orchestration_lib.dag_factory import build_dag
    from migration_orchestration_lib.plan import parse_plan

    plan = parse_plan(plan_with_databases([database_entry("gated", "Sales", cutover=CUTOVER), database_entry("plain", "Hr")]))
    assert build_dag(plan, {"MIGRATION_DRY_RUN": "1", "MIGRATION_SIMULATE_APPROVAL": "gated:reject"}).task_dict["gated.await_cutover"]
    with pytest.raises(ConfigurationError, match=re.escape(problem)):
        build_dag(plan, {"MIGRATION_DRY_RUN": "1", **environ})
    with pytest.raises(ConfigurationError, match="failures can only be simulated in a rehearsal"):
        build_dag(plan, environ)


def test_a_rehearsal_where_the_simulated_world_is_not_shipped_is_an_import_error(monkeypatch):
    """Deployed bundles carry the DAG, not `migration_rehearsal`: a dry run there says so at import."""
    import importlib.util

    from conftest import database_entry, plan_with_databases
    from migration_orchestration_lib.dag_factory import build_dag
    from migration_orchestration_lib.plan import parse_plan

    plan = parse_plan(plan_with_databases([database_entry("db", "Sales")]))
    assert build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name == "migration_rehearsal" else find_spec(name, *rest))
    with pytest.raises(ConfigurationError, match="MIGRATION_DRY_RUN=1 needs the simulated world .* rehearse with npm run rehearse"):
        build_dag(plan, {"MIGRATION_DRY_RUN": "1"})
    assert build_dag(plan, {})


def test_the_default_events_stream_is_the_one_the_events_contract_names():
    assert DEFAULT_EVENTS_STREAM == json.loads(EVENTS_CONTRACT_FILE.read_text(encoding="utf-8"))["stream"]
    assert EventSettings.from_environment({}).stream_name == DEFAULT_EVENTS_STREAM


def test_the_default_events_stream_follows_a_changed_contract(tmp_path, monkeypatch):
    # A copy of settings.py beside a contract naming another stream: the default must follow the file,
    # which the data collection rule's stream is made from too, not a name written twice.
    contract = json.loads(EVENTS_CONTRACT_FILE.read_text(encoding="utf-8"))
    contract["stream"] = "Custom-RenamedEvents_CL"
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "migration_events.json").write_text(json.dumps(contract), encoding="utf-8")
    shutil.copy(SETTINGS_FILE, tmp_path / "settings.py")
    spec = importlib.util.spec_from_file_location("settings_beside_a_changed_contract", tmp_path / "settings.py")
    copy = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, copy)  # its dataclasses look their module up there
    spec.loader.exec_module(copy)
    assert copy.DEFAULT_EVENTS_STREAM == "Custom-RenamedEvents_CL"
    assert copy.EventSettings.from_environment({}).stream_name == "Custom-RenamedEvents_CL"
