from __future__ import annotations

import json

import pytest

from conftest import FIXTURES_DIR
from migration_orchestration_lib.migration_status import MigrationStatus
from migration_orchestration_lib.readiness import has_restored_backup, is_ready_for_cutover


def status(migration_status="InProgress", pending=0, last="log_0002.trn", current="log_0002.trn", provisioning="Succeeded"):
    return MigrationStatus.from_resource(
        {
            "properties": {
                "migrationStatus": migration_status,
                "provisioningState": provisioning,
                "migrationOperationId": "op",
                "migrationStatusDetails": {
                    "pendingLogBackupsCount": pending,
                    "lastRestoredFilename": last,
                    "currentRestoringFilename": current,
                },
            }
        }
    )


def test_caught_up_migration_is_ready_for_cutover():
    assert is_ready_for_cutover(status()) is True


@pytest.mark.parametrize(
    "not_ready",
    [
        status(pending=1),
        status(pending=None),
        status(last="log_0001.trn", current="log_0002.trn"),
        status(last=None, current=None),
        status(last="", current=""),
        status(migration_status="Completing"),
        status(migration_status="Failed"),
        status(migration_status="ReadyForCutover", pending=None, last=None, current=None),
    ],
)
def test_not_ready_while_anything_is_pending_or_half_restored(not_ready):
    assert is_ready_for_cutover(not_ready) is False


@pytest.mark.parametrize("recording", ["SqlMiGetDatabaseMigrationExpanded.json", "SqlMiGetDatabaseMigration.json"])
def test_recorded_migrations_still_uploading_are_not_ready(recording):
    body = json.loads((FIXTURES_DIR / recording).read_text())["responses"]["200"]["body"]
    assert is_ready_for_cutover(MigrationStatus.from_resource(body)) is False


def test_tail_log_backup_counts_as_restored_only_when_it_is_the_last_restored_file():
    final = "Sales_cutover_20250101T000000_1.trn"
    assert has_restored_backup(status(last=final, current=final), "\\\\share\\sql01\\" + final) is True
    assert has_restored_backup(status(), final) is False
    assert has_restored_backup(status(last=final, current=final, pending=1), final) is False


@pytest.mark.parametrize(
    "migration_status, provisioning, terminal",
    [
        ("Failed", "Succeeded", True),
        ("Canceled", "Succeeded", True),
        ("Canceling", "Succeeded", True),
        (None, "Failed", True),
        ("InProgress", "Succeeded", False),
        ("Retriable", "Succeeded", False),
        ("Succeeded", "Succeeded", False),
    ],
)
def test_terminal_failures_are_recognised(migration_status, provisioning, terminal):
    parsed = status(migration_status=migration_status, provisioning=provisioning)
    assert parsed.is_terminal_failure is terminal
    assert parsed.is_in_flight is (migration_status in ("InProgress", "Retriable"))


def test_failure_message_is_kept_for_the_event():
    parsed = MigrationStatus.from_resource(
        {"properties": {"migrationStatus": "Failed", "migrationFailureError": {"code": "X", "message": "Restore failed"}}}
    )
    assert parsed.error_message == "Restore failed"
    assert "error=Restore failed" in parsed.describe()
