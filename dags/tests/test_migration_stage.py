"""Where a migration stands, from DMS state alone."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from conftest import database_entry, plan_with_databases
from dms_world_support import recorded
from migration_orchestration_lib import migration_stage as stages
from migration_orchestration_lib.migration_stage import ForeignMigrationError, standing_of
from migration_orchestration_lib.migration_status import MigrationStatus, dms_time
from migration_orchestration_lib.plan import parse_plan

pytestmark = pytest.mark.airflow26  # cheap: proves it on Python 3.8 too

PLAN = parse_plan(plan_with_databases([database_entry("online", "Sales"), database_entry("offline", "Crm", mode="offline")]))


def status(migration_status, source="Sales", offline=False, **details):
    return MigrationStatus(
        migration_operation_id="op", migration_status=migration_status, provisioning_state="Succeeded",
        source_database_name=source, offline=offline, **details
    )


CAUGHT_UP = {"pending_log_backups_count": 0, "last_restored_filename": "log_2.trn", "current_restoring_filename": "log_2.trn"}


@pytest.mark.parametrize(
    "migration, stage",
    [
        (None, stages.NOT_STARTED),
        (status("Creating"), stages.COPYING),
        (status("InProgress", pending_log_backups_count=2), stages.COPYING),
        (status("InProgress", **CAUGHT_UP), stages.READY_FOR_CUTOVER),
        (status("Completing"), stages.COMPLETING),
        (status("Succeeded"), stages.SUCCEEDED),
        (status("Failed"), stages.FAILED),
        (status("Canceling"), stages.CANCELING),
        (status("Canceled"), stages.CANCELED),
        (status("Failed", source="Other"), stages.NOT_STARTED),
        # provisioningState Canceled: a create canceled before DMS started it has ended; a later ARM operation
        # canceled while DMS copies leaves it copying
        (MigrationStatus("op", "Creating", "Canceled", "Sales"), stages.CANCELED),
        (MigrationStatus("op", None, "Canceled", "Sales"), stages.CANCELED),
        (MigrationStatus("op", "InProgress", "Canceled", "Sales"), stages.COPYING),
    ],
)
def test_every_dms_state_has_a_stage(migration, stage):
    assert standing_of(PLAN.database("online"), migration).stage == stage


def test_a_canceling_migration_is_neither_active_nor_ended_nor_adoptable():
    """DMS is still canceling it (its cancel operation may have ended): not failed, not running. Read as canceled,
    rollback removed the target DMS may still restore into; read as running, start_migration adopted it."""
    standing = standing_of(PLAN.database("online"), status("Canceling"))
    assert standing.is_canceling and standing.is_canceling_or_ended
    assert not standing.is_active and not standing.has_ended and not standing.is_live
    assert not standing.migration.is_in_flight and not standing.migration.is_terminal_failure


def test_a_foreign_migration_still_canceling_is_not_taken_for_an_ended_one():
    """Another source database's migration into the target, still canceling, may still restore there."""
    with pytest.raises(ForeignMigrationError, match="Canceling"):
        standing_of(PLAN.database("online"), status("Canceling", source="Other"))


def test_a_foreign_migration_dms_still_copies_after_a_failed_arm_operation_is_not_taken_for_an_ended_one():
    """Another source database's migration into the target still copies (InProgress) though its last ARM operation
    failed: DMS may still restore there. Before: taken for an ended migration that was not ours (not_started), so a
    SqlDb copy's preflight passed as for a target with no migration, and start_migration froze its source before the
    gateway's create (which now refuses it: `test_start_neither_adopts_nor_creates_over_a_migration_dms_still_works_on`)."""
    copying = MigrationStatus("op", "InProgress", "Failed", "Other")
    with pytest.raises(ForeignMigrationError, match="from source database 'Other', not 'Sales' \\(DMS migration op, InProgress"):
        standing_of(PLAN.database("online"), copying)


def test_an_offline_migration_is_never_ready_for_cutover():
    assert standing_of(PLAN.database("offline"), status("InProgress", source="Crm", offline=True, **CAUGHT_UP)).stage == stages.COPYING


def test_completing_and_succeeded_are_live_and_never_active():
    for name in ("Completing", "Succeeded"):
        standing = standing_of(PLAN.database("online"), status(name))
        assert standing.is_live and not standing.is_active and not standing.has_ended


@pytest.mark.parametrize("name, stage", [("Completing", stages.COMPLETING), ("Succeeded", stages.SUCCEEDED)])
def test_a_failed_arm_operation_on_a_migration_going_live_leaves_it_live(name, stage):
    """provisioningState is the resource's last ARM operation: where it failed (a cutover asked twice, a tag
    update) while DMS completes or completed the cutover, the target is still going live. Taken for failed,
    the rollback would make the frozen source writable beside it."""
    migration = MigrationStatus(migration_operation_id="op", migration_status=name, provisioning_state="Failed", source_database_name="Sales")
    standing = standing_of(PLAN.database("online"), migration)
    assert standing.stage == stage and standing.is_live and not standing.has_ended
    assert not migration.is_terminal_failure
    replicating = MigrationStatus(migration_operation_id="op", migration_status="InProgress", provisioning_state="Failed", source_database_name="Sales")
    assert standing_of(PLAN.database("online"), replicating).stage == stages.FAILED and replicating.is_terminal_failure


def test_a_failed_arm_operation_on_a_migration_dms_is_still_canceling_leaves_it_canceling():
    """DMS still canceling it may still restore into the target: the rollback waits for Canceled whatever ARM says
    of the resource's last operation. Taken for failed, the rollback made the source writable at once."""
    migration = MigrationStatus(migration_operation_id="op", migration_status="Canceling", provisioning_state="Failed", source_database_name="Sales")
    standing = standing_of(PLAN.database("online"), migration)
    assert standing.stage == stages.CANCELING and standing.is_canceling and not standing.has_ended
    assert not migration.is_terminal_failure and not migration.is_in_flight
    ended = MigrationStatus(migration_operation_id="op", migration_status="Canceled", provisioning_state="Failed", source_database_name="Sales")
    assert standing_of(PLAN.database("online"), ended).has_ended and ended.is_terminal_failure


def test_another_source_migrating_into_our_target_is_refused():
    with pytest.raises(ForeignMigrationError, match=r"from source database 'Other', not 'Sales' \(DMS migration op, InProgress"):
        standing_of(PLAN.database("online"), status("InProgress", source="Other"))


OURS = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataMigration/sqlMigrationServices/dms-contoso"
THEIRS = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataMigration/sqlMigrationServices/dms-fabrikam"


def test_a_migration_another_service_runs_into_our_target_is_refused_and_an_ended_one_is_not_ours():
    """DMS keeps one migration per target database, whichever service (plan) started it."""
    with pytest.raises(ForeignMigrationError, match=r"by migration service %s, not by this plan's %s \(DMS migration op, InProgress" % (THEIRS, OURS)):
        standing_of(PLAN.database("online"), status("InProgress", migration_service=THEIRS), OURS)
    for ended in ("Succeeded", "Failed", "Canceled"):
        assert standing_of(PLAN.database("online"), status(ended, migration_service=THEIRS), OURS).stage == stages.NOT_STARTED


@pytest.mark.parametrize("service", [OURS.upper(), OURS.lstrip("/"), None])
def test_our_own_service_however_written_or_unreported_is_ours(service):
    assert standing_of(PLAN.database("online"), status("Succeeded", migration_service=service), OURS).stage == stages.SUCCEEDED


SOURCE = PLAN.source_of(PLAN.database("online"))  # sql01, host sql01.corp.contoso.com, port 1433


def from_dms(migration_status, **properties):
    """A migration as DMS's GET returns it: our service, our source database, and `properties`."""
    ours = dict(migrationOperationId="op", migrationStatus=migration_status, provisioningState="Succeeded",
                sourceDatabaseName="Sales", migrationService=OURS)
    return MigrationStatus.from_resource({"properties": {**ours, **properties}})


@pytest.mark.parametrize("properties", [
    {"sourceServerName": "sql02"},
    {"sourceServerName": "SQL02.corp.fabrikam.com"},
    {"sourceServerName": "sql01.corp.fabrikam.com"},  # another domain's sql01
    {"sourceServerName": "sql01\\HR"},  # another instance on our machine
    {"sourceServerName": "sql01.corp.contoso.com,1444"},  # another port: another instance
    {"sourceServerName": "10.0.0.5"},
    {"sourceSqlConnection": {"dataSource": "tcp:sql02.corp.fabrikam.com,1433"}},
    {"sourceServerName": "SQL01", "sourceSqlConnection": {"dataSource": "sql02"}},  # one field present and differing is enough
])
def test_a_same_named_database_from_a_server_dms_names_otherwise_is_ours_but_doubtful(properties):
    """Another server's `Sales` through this plan's own service, or this plan's own migration where DMS
    names the server otherwise than the plan's host (an IP address, an alias, a listener): which one
    cannot be told, so neither refused nor foreign; the rollback decides (`test_rollback`)."""
    reported = properties.get("sourceServerName")
    if reported is None or reported == "SQL01":
        reported = properties["sourceSqlConnection"]["dataSource"]
    for migration_status, stage in (("InProgress", stages.COPYING), ("Succeeded", stages.SUCCEEDED), ("Failed", stages.FAILED),
                                    ("Canceled", stages.CANCELED)):
        standing = standing_of(PLAN.database("online"), from_dms(migration_status, **properties), OURS, SOURCE)
        assert (standing.stage, standing.operation_id) == (stage, "op")
        assert standing.is_doubtful and standing.unmatched_source_server == reported


@pytest.mark.parametrize("name", [
    "sql01", "SQL01", "sql01.corp.contoso.com", "SQL01.CORP.CONTOSO.COM", "sql01.corp.contoso.com,1433",
    "tcp:sql01.corp.contoso.com,1433", "TCP:SQL01,1433", "sql01\\MSSQLSERVER", " sql01 ",
])
def test_our_source_server_however_dms_writes_it_is_ours_beyond_doubt(name):
    for properties in ({"sourceServerName": name}, {"sourceSqlConnection": {"dataSource": name}}):
        standing = standing_of(PLAN.database("online"), from_dms("Succeeded", **properties), OURS, SOURCE)
        assert standing.stage == stages.SUCCEEDED and not standing.is_doubtful


@pytest.mark.parametrize("properties", [{}, {"sourceServerName": ""}, {"sourceServerName": None}, {"sourceSqlConnection": {}}])
def test_where_dms_names_no_source_server_the_database_and_the_service_decide_as_before(properties):
    """Ours by the source database's name and the migration service alone, beyond doubt, as on main."""
    standing = standing_of(PLAN.database("online"), from_dms("InProgress", **properties), OURS, SOURCE)
    assert standing.stage == stages.COPYING and not standing.is_doubtful
    with pytest.raises(ForeignMigrationError, match="from source database 'Hr'"):
        standing_of(PLAN.database("online"), from_dms("InProgress", sourceDatabaseName="Hr", **properties), OURS, SOURCE)


def test_the_recorded_list_of_migrations_names_no_source_server_so_it_falls_back():
    """`ListMigrationsBySqlMigrationService.json` carries neither `sourceServerName` nor `migrationService`."""
    [listed, _] = recorded("ListMigrationsBySqlMigrationService.json")["responses"]["200"]["body"]["value"]
    migration = MigrationStatus.from_resource(listed)
    assert (migration.source_server_name, migration.source_data_source, migration.migration_service) == (None, None, None)
    with pytest.raises(ForeignMigrationError, match="from source database 'sourcename', not 'Sales'"):
        standing_of(PLAN.database("online"), migration, OURS, SOURCE)
    renamed = MigrationStatus.from_resource({**listed, "properties": {**listed["properties"], "sourceDatabaseName": "Sales"}})
    assert standing_of(PLAN.database("online"), renamed, OURS, SOURCE).stage == stages.COPYING


@pytest.mark.parametrize("example", ["SqlMiGetDatabaseMigration.json", "SqlVmGetDatabaseMigration.json", "SqlDbGetDatabaseMigrationExpanded.json"])
def test_every_recorded_get_names_the_source_server_and_returns_no_connection(example):
    migration = MigrationStatus.from_resource(recorded(example)["responses"]["200"]["body"])
    assert (migration.source_server_name, migration.source_data_source) == ("sourceserver", None)


# endedOn, startedOn: `format: date-time`, read-only, in DatabaseMigrationBaseProperties (sqlmigration.json, 2025-06-30).
END = datetime(2026, 12, 6, 3, 20, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, expected", [
    ("2026-12-06T03:20:00Z", END),
    ("2026-12-06T03:20:00.000Z", END),  # the recorded examples' copyStart
    ("2026-12-06T03:20:00.1234567Z", END + timedelta(microseconds=123456)),  # .NET's seven digits (fromisoformat < 3.11 refuses them)
    ("2026-12-06T04:20:00+01:00", END),
    ("2026-12-06T04:20:00.5+0100", END + timedelta(milliseconds=500)),
    ("2026-12-05T22:20:00-05:00", END),
    ("2026-12-06T03:20:00", END),  # naive: UTC
    ("2026-12-06 03:20:00z", END),
    ("2026-12-06T03:20", END),
    ("0001-01-01T08:00:00Z", datetime(1, 1, 1, 8, tzinfo=timezone.utc)),  # the recorded examples' endedOn
])
def test_a_dms_time_reads_with_or_without_fraction_digits_and_offset(text, expected):
    assert dms_time(text) == expected


@pytest.mark.parametrize("text", [None, "", "not a time", "2026-12-06", "2026-13-06T03:20:00Z", "2026-12-06T25:00:00Z",
                                  "2026-12-06T03:20:00+24:00", "0001-01-01T00:00:00+01:00", 42, {"value": "2026-12-06T03:20:00Z"}])
def test_what_is_no_dms_time_reads_as_none_never_raising(text):
    assert dms_time(text) is None


def ended(ended_on, started_on=None):
    properties = {"migrationStatus": "Succeeded", "sourceDatabaseName": "Sales", "endedOn": ended_on, "startedOn": started_on}
    return MigrationStatus.from_resource({"properties": {k: v for k, v in properties.items() if v is not None}}).ended_at


def test_when_a_migration_ended_is_dms_end_time_where_it_gives_one():
    assert ended("2026-12-06T04:20:00+01:00", "2026-12-06T02:00:00Z") == END
    assert ended("2026-12-06T03:20:00Z") == END
    assert ended(None) is None and ended("soon") is None
    assert ended("2026-12-06T03:20:00Z", "2026-12-06T04:00:00Z") is None, "ended before it started: no time to trust"
    # Every recorded GET and list example carries 0001-01-01T08:00:00Z (.NET's DateTime.MinValue): a time never set.
    example = MigrationStatus.from_resource(recorded("SqlDbGetDatabaseMigrationExpanded.json")["responses"]["200"]["body"])
    assert example.is_succeeded and example.ended_on == "0001-01-01T08:00:00Z" and example.ended_at is None
