from __future__ import annotations

import logging

import pytest

from conftest import event_row
from migration_orchestration_lib.events import LoggingEventWriter, LogsIngestionEventWriter, event_writer_for
from migration_orchestration_lib.settings import EventSettings


def test_event_row_values_are_what_the_table_stores():  # its columns: test_event_contract
    event = event_row()
    assert event["TimeGenerated"] == "2025-01-01T12:00:00+00:00"
    assert event["DurationSeconds"] == 3.0 and isinstance(event["DurationSeconds"], float)
    assert event["MigrationOperationId"] == ""
    assert (event["Phase"], event["Status"], event["Database"]) == ("start_migration", "Started", "database_1")


@pytest.mark.parametrize("change", [{"phase": "waiting"}, {"status": "Done"}])
def test_phase_and_status_are_the_alerting_vocabulary(change):
    with pytest.raises(ValueError):
        event_row(**change)


def test_long_messages_are_truncated():
    assert len(event_row(message="x" * 10000)["Message"]) == 2000


class FakeIngestionClient:
    def __init__(self, error=None):
        self.error = error
        self.uploads = []

    def upload(self, rule_id, stream_name, logs, **within):
        if self.error:
            raise self.error
        self.uploads.append((rule_id, stream_name, logs))


SETTINGS = EventSettings(endpoint="https://dce.westeurope.ingest.monitor.azure.com", rule_id="dcr-0123", stream_name="Custom-MigrationEvents_CL")


def test_events_are_uploaded_to_the_rule_and_stream():
    client = FakeIngestionClient()
    LogsIngestionEventWriter(SETTINGS, lambda: client).write(event_row())
    assert client.uploads == [("dcr-0123", "Custom-MigrationEvents_CL", [event_row()])]


def test_an_upload_error_is_a_warning_not_a_failure(caplog):
    client = FakeIngestionClient(error=PermissionError("AuthorizationFailed: no Monitoring Metrics Publisher role"))
    with caplog.at_level(logging.WARNING):
        LogsIngestionEventWriter(SETTINGS, lambda: client).write(event_row())
    assert "Could not write migration event database_1/start_migration" in caplog.text
    assert "AuthorizationFailed" in caplog.text


def test_a_client_that_cannot_be_built_is_also_only_a_warning(caplog):
    def broken_factory():
        raise RuntimeError("no credential available")

    with caplog.at_level(logging.WARNING):
        LogsIngestionEventWriter(SETTINGS, broken_factory).write(event_row())
    assert "no credential available" in caplog.text


def test_rehearsal_events_go_to_the_task_log_and_never_to_azure(caplog):
    def credential():
        raise AssertionError("a rehearsal must not ask for Azure credentials")

    writer = event_writer_for(SETTINGS, dry_run=True, credential_factory=credential)
    assert isinstance(writer, LoggingEventWriter)
    with caplog.at_level(logging.INFO):
        writer.write(event_row())
    assert '"Phase": "start_migration"' in caplog.text


def test_without_an_ingestion_rule_events_are_logged_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        writer = event_writer_for(EventSettings(None, None, "Custom-MigrationEvents_CL"), False, lambda: None)
    assert isinstance(writer, LoggingEventWriter)
    assert "MIGRATION_EVENTS_ENDPOINT" in caplog.text


def test_event_settings_come_from_the_constructs_environment():
    settings = EventSettings.from_environment(
        {"MIGRATION_EVENTS_ENDPOINT": "https://dce", "MIGRATION_EVENTS_RULE_ID": "dcr-1"}
    )
    assert (settings.endpoint, settings.rule_id, settings.stream_name) == ("https://dce", "dcr-1", "Custom-MigrationEvents_CL")
    assert settings.can_upload
    assert EventSettings.from_environment({"MIGRATION_EVENTS_STREAM": "Custom-Other_CL"}).stream_name == "Custom-Other_CL"
