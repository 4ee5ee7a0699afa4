"""Where a migration stands, from DMS state alone."""
from __future__ import annotations

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib import migration_stage as stages
from migration_orchestration_lib.migration_stage import ForeignMigrationError, standing_of
from migration_orchestration_lib.migration_status import MigrationStatus
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
        (status("Canceling"), stages.CANCELED),
        (status("Canceled"), stages.CANCELED),
        (status("Failed", source="Other"), stages.NOT_STARTED),
    ],
)
def test_every_dms_state_has_a_stage(migration, stage):
    assert standing_of(PLAN.database("online"), migration).stage == stage


def test_an_offline_migration_is_never_ready_for_cutover():
    assert standing_of(PLAN.database("offline"), status("InProgress", source="Crm", offline=True, **CAUGHT_UP)).stage == stages.COPYING


def test_completing_and_succeeded_are_live_and_never_active():
    for name in ("Completing", "Succeeded"):
        standing = standing_of(PLAN.database("online"), status(name))
        assert standing.is_live and not standing.is_active and not standing.has_ended


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
