"""The DAG's event writer against the one contract file the Terraform side also reads.

The TypeScript side checks the same file against the table, the rule's stream and the alert
queries (`__tests__/monitoring/migration-events-contract.test.ts`); a change on either side that
the other does not follow fails one of the two.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import event_row
from migration_orchestration_lib import events

CONTRACT_FILE = Path(events.__file__).parent / "contracts" / "migration_events.json"
CONTRACT = json.loads(CONTRACT_FILE.read_text(encoding="utf-8"))

# What each stream type must look like in the JSON the Logs Ingestion API receives.
PYTHON_TYPE_OF_STREAM_TYPE = {"datetime": str, "string": str, "real": float, "int": int, "long": int, "boolean": bool}


def test_the_writer_sends_exactly_the_contract_columns_in_order():
    assert list(event_row()) == [column["name"] for column in CONTRACT["columns"]]


@pytest.mark.parametrize("column", CONTRACT["columns"], ids=lambda column: column["name"])
def test_each_value_has_the_type_the_stream_declares(column):
    value = event_row()[column["name"]]
    assert isinstance(value, PYTHON_TYPE_OF_STREAM_TYPE[column["streamType"]])
    if column["streamType"] == "datetime":
        assert datetime.fromisoformat(value).tzinfo is not None


def test_the_writer_accepts_every_contract_phase_and_status_and_nothing_else():
    assert events.PHASES == tuple(phase["name"] for phase in CONTRACT["phases"])
    assert events.STATUSES == tuple(status["name"] for status in CONTRACT["statuses"])
    for phase in events.PHASES:
        for status in events.STATUSES:
            assert event_row(phase=phase, status=status)["Status"] == status
    with pytest.raises(ValueError):
        event_row(status="Waiting")


def test_the_heartbeat_is_a_status_the_writer_accepts():
    heartbeat = CONTRACT["heartbeat"]
    assert heartbeat["status"] in events.STATUSES
    assert event_row(status=heartbeat["status"], duration_seconds=7200)["DurationSeconds"] == 7200.0


def test_a_rollback_that_keeps_a_target_writes_a_status_of_the_contract_that_ends_the_freeze():
    """`rollback.KEPT_TARGET_STATUS`: the rollback undid the DAG's freeze, as for RolledBack (`sourceFrozen`'s ends)."""
    from migration_orchestration_lib.rollback import KEPT_TARGET_STATUS

    assert KEPT_TARGET_STATUS in events.STATUSES
    assert {"phase": "rollback", "status": KEPT_TARGET_STATUS} in [
        {"phase": end["phase"], "status": end["status"]} for end in CONTRACT["sourceFrozen"]["ends"]]


def test_table_and_stream_types_name_the_same_kind_of_value():
    # The table says dateTime and guid where a stream says datetime and string; nothing else differs.
    table_to_stream = {"dateTime": "datetime", "guid": "string"}
    for column in CONTRACT["columns"]:
        assert table_to_stream.get(column["tableType"], column["tableType"]) == column["streamType"], column["name"]


def test_each_event_names_the_alert_the_contract_gives_its_status_or_its_phase():
    assert events.alert_of("validate", "Failed") == "migration-failed"
    assert events.alert_of("rollback", "Failed") == "rollback-failed"
    assert events.alert_of("rollback", "RolledBack") == "migration-failed"
    assert events.alert_of("rollback", "RolledBackTargetKept") == "migration-failed"  # a target kept for a person
    assert events.alert_of("await_cutover", "WindowMissed") == "cutover-postponed"
    assert events.alert_of("wait_for_migration", "Running") is None
    phases_with_an_alert_of_their_own = [phase for status in CONTRACT["statuses"] for phase in status.get("alertInPhase", {})]
    assert phases_with_an_alert_of_their_own and set(phases_with_an_alert_of_their_own) <= set(events.PHASES)
