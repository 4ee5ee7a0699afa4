"""`cutover.maxConcurrent` when the freeze finishes pokes after its admission (SQL through Data
Factory: a pipeline run per statement, the admission slot given back between pokes). The SQL access
and DMS here are small stand-ins written for this test; the steps and the gate are the DAG's."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib import source_freeze, steps
from migration_orchestration_lib.migration_status import MigrationStatus
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.settings import Timing
from migration_orchestration_lib.sql_access import SqlOperationHandle, SqlResult
from migration_orchestration_lib.step_context import StepContext, StepPending

NOW = datetime(2026, 12, 5, 22, 0, tzinfo=timezone.utc)
SATURDAY_NIGHT = {"timeZone": "Europe/Berlin", "days": ["Sat"], "start": "22:00", "durationMinutes": 360}


class PipelineRunSql:
    """Like Data Factory: an operation is adopted by key; it finishes on its second read, and only
    then does what its SQL says to the world."""

    def __init__(self, frozen):
        self.frozen, self.runs = frozen, {}

    def submit(self, operation):
        self.runs.setdefault(operation.key, {"operation": operation, "reads": 0, "rows": None})
        return SqlOperationHandle(key=operation.key, reference="run")

    def submitted(self, operation):
        return operation.key in self.runs

    def result(self, handle):
        run = self.runs[handle.key]
        run["reads"] += 1
        if run["rows"] is None and run["reads"] >= 2:
            database = re.search(r"name = N?'([^']+)'", run["operation"].sql).group(1)
            if "SET READ_ONLY" in run["operation"].sql:
                self.frozen[database] = True
            run["rows"] = [{"database_name": database, "state_desc": "ONLINE", "recovery_model_desc": "FULL",
                            "is_read_only": int(self.frozen[database]), "user_access_desc": "MULTI_USER"}]
        return None if run["rows"] is None else SqlResult(rows=run["rows"])


def migration(source, status="InProgress"):
    return MigrationStatus(migration_operation_id="%s-%s" % (status, source), migration_status=status, provisioning_state="Succeeded",
                           source_database_name=source, pending_log_backups_count=0, last_restored_filename="x.trn",
                           current_restoring_filename="x.trn")


def replicating(source):
    return migration(source)


def failed(source):
    return migration(source, "Failed")


class Dms:
    migration_service_id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataMigration/sqlMigrationServices/dms"

    def __init__(self, plan, listed=replicating):
        self.plan, self.listed = plan, listed

    def current_migration(self, target):
        return replicating(next(d.source_database for d in self.plan.databases if d.target_database == target.database_name))

    def migrations_on_service(self):
        return [(self.plan.target_of(d).resource_id.value, d.target_database, self.listed(d.source_database)) for d in self.plan.databases]


class Clock:
    def now(self):
        return NOW

    def placed(self, database, admitted=False):
        return False

    def release(self, database):
        pass


class Records(dict):
    def __init__(self):
        super().__init__()
        self.writes = []

    def put(self, key, value):
        self.writes.append(key)
        self[key] = value

    def delete(self, key):
        self.writes.append(key)
        self.pop(key, None)


class Services:
    def __init__(self, plan, sql, listed=replicating):
        self.dms, self.sql_access, self.clock, self.records = Dms(plan, listed), sql, Clock(), Records()


class TaskInstance:
    try_number = 1

    def __init__(self, database):
        self.database = database

    def xcom_pull(self, task_ids, key="return_value"):
        if task_ids == "%s.await_cutover" % self.database:  # both went through the gate into tonight's window
            return {"closes": "2026-12-06T03:00:00Z", "window": "2026-12-05T21:00:00Z", "deadline": "2099-01-01T00:00:00+00:00"}
        if task_ids == "%s.preflight" % self.database:  # it passed, recording no access (see below)
            return {"deadline": "2099-01-01T00:00:00+00:00"}
        return None

    def xcom_push(self, key, value):  # the freeze's keys (steps._freeze), for a rollback: none runs here
        pass


def two_gated_databases():
    """a (Sales) and b (Hr), online, tonight's window, no approval, cutover.maxConcurrent 1."""
    cutover = {"windows": [SATURDAY_NIGHT], "expectedMinutes": 30, "approval": {"required": False, "approvers": [], "channel": "airflowVariable"}}
    document = plan_with_databases([database_entry("a", "Sales", mode="online", cutover=cutover), database_entry("b", "Hr", mode="online", cutover=cutover)])
    document["cutover"] = {"maxConcurrent": 1}
    return parse_plan(document)


def test_with_max_concurrent_1_one_source_freezes_while_the_others_freeze_is_still_running():
    plan = two_gated_databases()
    sql = PipelineRunSql({"Sales": False, "Hr": False})
    services = Services(plan, sql)

    def poke(name):
        ctx = StepContext(plan, plan.database(name), {"run_id": "r1", "ti": TaskInstance(name)}, Timing.for_environment({}), "freeze_source", _services=services)
        try:
            steps.freeze_source(ctx)
            return "done"
        except StepPending as pending:
            return str(pending)

    outcomes = []
    for _ in range(6):  # one poke each in turn, each in the one admission slot and out again
        outcomes.append((poke("a"), poke("b")))

    assert sql.frozen == {"Sales": True, "Hr": False}, outcomes
    assert outcomes[-1] == ("done", "1 cutover(s) in progress (cutover.maxConcurrent 1)")
    # a was admitted once: the pokes after its freeze was submitted do not ask again.
    assert [key for key in services.records.writes if "_admitted__" in key] == ["migration_cutover_admitted__contoso-sql__a"]
    # no preflight recorded the access here: each freeze first recorded its source's access (source_freeze), once;
    # the one that froze, the validation promised for its migration, once (`validation.promise`)
    assert sorted(key for key in services.records.writes if "_admitted__" not in key) == [
        "migration_source_before_freeze__sql01__Hr", "migration_source_before_freeze__sql01__Sales",
        "migration_validation__InProgress-Sales"]


def test_an_admission_counts_while_dms_still_lists_that_databases_earlier_ended_migration():
    """A second attempt is admitted before DMS has its new migration: the listing still shows the
    failed one, and the admission must count all the same."""
    from migration_orchestration_lib.cutover_steps import cutovers_in_progress

    plan = two_gated_databases()
    services = Services(plan, PipelineRunSql({"Sales": False, "Hr": False}), listed=failed)
    services.records.put("migration_cutover_admitted__contoso-sql__b", "2026-12-05T21:55:00Z")
    ctx = StepContext(plan, plan.database("a"), {"run_id": "r1", "ti": TaskInstance("a")}, Timing.for_environment({}), "freeze_source", _services=services)
    assert cutovers_in_progress(ctx, NOW) == 1
    services.records.put("migration_cutover_admitted__contoso-sql__b", "2026-12-05T21:00:00Z")  # 60 minutes ago: past expectedMinutes
    assert cutovers_in_progress(ctx, NOW) == 0


def counted_once_read(ctx):
    """cutovers_in_progress once b's state is read: through a pipeline run it answers on the next poke."""
    from migration_orchestration_lib.cutover_steps import cutovers_in_progress

    try:
        return cutovers_in_progress(ctx, NOW)
    except StepPending:
        return cutovers_in_progress(ctx, NOW)


def test_a_frozen_source_counts_as_a_cutover_in_progress_long_after_its_admission():
    """b's source is frozen while its migration replicates (a final backup restoring long past its
    expectedMinutes): seen in the world, it counts, so a does not freeze beside it."""
    plan = two_gated_databases()
    services = Services(plan, PipelineRunSql({"Sales": False, "Hr": True}))
    services.records.put("migration_cutover_admitted__contoso-sql__b", "2026-12-05T21:00:00Z")  # 60 minutes ago
    # b's freeze is the DAG's: what b's source was before it is on record
    services.records.put(source_freeze.record_key(plan.database("b")), json.dumps({"readOnly": False, "userAccess": "MULTI_USER"}))
    ctx = StepContext(plan, plan.database("a"), {"run_id": "r1", "ti": TaskInstance("a")}, Timing.for_environment({}), "freeze_source", _services=services)
    assert counted_once_read(ctx) == 1


def test_a_frozen_source_whose_migration_dms_is_still_canceling_counts_as_a_cutover_in_progress():
    """b's rollback waits, its source frozen, until DMS reports b's migration Canceled (`Canceling` is neither
    running nor ended): a source frozen by the DAG while its migration has not succeeded is a cutover in progress,
    so a does not freeze beside it. Before: only a migration in flight counted, and a froze too."""
    plan = two_gated_databases()
    services = Services(plan, PipelineRunSql({"Sales": False, "Hr": True}), listed=lambda source: migration(source, "Canceling"))
    services.records.put(source_freeze.record_key(plan.database("b")), json.dumps({"readOnly": False, "userAccess": "MULTI_USER"}))
    ctx = StepContext(plan, plan.database("a"), {"run_id": "r1", "ti": TaskInstance("a")}, Timing.for_environment({}), "freeze_source", _services=services)
    assert counted_once_read(ctx) == 1


def copying_after_a_failed_arm_operation(source):
    """DMS still copies (InProgress) though the resource's last ARM operation failed (provisioningState Failed)."""
    return MigrationStatus(migration_operation_id="InProgress-%s" % source, migration_status="InProgress",
                           provisioning_state="Failed", source_database_name=source)


def test_a_frozen_source_whose_migration_dms_still_copies_after_a_failed_arm_operation_counts_as_a_cutover_in_progress():
    """b's source is frozen by the DAG; DMS still copies b's migration though its last ARM operation failed (b's waiting
    steps read it failed, and its rollback cancels it, then unfreezes the source): until then b's source is down, a
    cutover in progress, so a does not freeze beside it. Before: only a migration in flight or canceling counted
    (`is_in_flight` is False once provisioningState reads Failed), and a froze too, beyond maxConcurrent."""
    plan = two_gated_databases()
    services = Services(plan, PipelineRunSql({"Sales": False, "Hr": True}), listed=copying_after_a_failed_arm_operation)
    services.records.put(source_freeze.record_key(plan.database("b")), json.dumps({"readOnly": False, "userAccess": "MULTI_USER"}))
    ctx = StepContext(plan, plan.database("a"), {"run_id": "r1", "ti": TaskInstance("a")}, Timing.for_environment({}), "freeze_source", _services=services)
    assert counted_once_read(ctx) == 1


def test_a_cutover_that_ended_leaves_no_admission_record_and_counts_no_more():
    """The admission is a cutover's scratch record (its absence reads as none): released, it is deleted, not emptied,
    so no Variable is left per gated database for good (was: `""`)."""
    from migration_orchestration_lib.cutover_steps import cutovers_in_progress, release

    plan = two_gated_databases()
    # DMS's migration into b's target is not this plan's: only the admission counts b's cutover
    services = Services(plan, PipelineRunSql({"Sales": False, "Hr": False}), listed=lambda source: replicating("HrByHand" if source == "Hr" else source))
    services.records.put("migration_cutover_admitted__contoso-sql__b", "2026-12-05T21:55:00Z")  # b admitted 5 minutes ago
    a = StepContext(plan, plan.database("a"), {"run_id": "r1", "ti": TaskInstance("a")}, Timing.for_environment({}), "freeze_source", _services=services)
    assert cutovers_in_progress(a, NOW) == 1
    b = StepContext(plan, plan.database("b"), {"run_id": "r1", "ti": TaskInstance("b")}, Timing.for_environment({}), "cutover", _services=services)
    release(b)

    assert dict(services.records) == {}
    assert cutovers_in_progress(a, NOW) == 0


def test_a_foreign_migration_in_another_databases_target_is_no_cutover_of_this_plan():
    """DMS lists, on this plan's service, a migration into b's target from another source database
    (started by hand): it is not b's cutover, and a's gate counts on instead of failing on it."""
    from migration_orchestration_lib.cutover_steps import cutovers_in_progress

    plan = two_gated_databases()
    services = Services(plan, PipelineRunSql({"Sales": False, "Hr": False}), listed=lambda source: replicating("HrByHand" if source == "Hr" else source))
    ctx = StepContext(plan, plan.database("a"), {"run_id": "r1", "ti": TaskInstance("a")}, Timing.for_environment({}), "freeze_source", _services=services)
    assert cutovers_in_progress(ctx, NOW) == 0
    services.records.put("migration_cutover_admitted__contoso-sql__b", "2026-12-05T21:55:00Z")  # b admitted 5 minutes ago
    assert cutovers_in_progress(ctx, NOW) == 1


@pytest.mark.airflow26
@pytest.mark.parametrize("minutes_left, place_free, outcome", [
    (31, False, "waits"), (29, False, "WindowMissed"), (31, True, "admitted"), (29, True, "WindowMissed"), (-1, True, "WindowMissed"),
], ids=["roomLeft", "tooLate", "placeFree", "placeFreeTooLate", "pastTheDeadline"])
def test_the_deadline_counts_as_a_windows_close_for_the_freeze(minutes_left, place_free, outcome):
    """No place (b admitted 5 minutes ago, cutover.maxConcurrent 1): a waits while a place would still leave its
    30-minute cutover before the deadline (the gate's end + timeoutMinutes); after that, WindowMissed. A place
    free is taken only while it leaves the cutover as much (as a window must: was, however little was left);
    later, or past the deadline (a poke come late), nothing is frozen: WindowMissed, never a freeze whose every
    later wait would fail at the deadline and whose rollback would cancel the replication."""
    from migration_orchestration_lib.airflow_compat import utc_now
    from migration_orchestration_lib.cutover_steps import admit_freeze
    from migration_orchestration_lib.step_context import WindowMissed

    plan = two_gated_databases()
    services = Services(plan, PipelineRunSql({"Sales": False, "Hr": False}), listed=failed)
    if not place_free:
        services.records.put("migration_cutover_admitted__contoso-sql__b", "2026-12-05T21:55:00Z")
    deadline = (utc_now() + timedelta(minutes=minutes_left)).isoformat()

    class Gated(TaskInstance):
        def xcom_pull(self, task_ids, key="return_value"):
            facts = super().xcom_pull(task_ids, key)
            return dict(facts, deadline=deadline) if task_ids == "a.await_cutover" else facts

    ctx = StepContext(plan, plan.database("a"), {"run_id": "r1", "ti": Gated("a")}, Timing.for_environment({}), "freeze_source", _services=services)
    if outcome == "admitted":
        admit_freeze(ctx)
    else:
        with pytest.raises(StepPending if outcome == "waits" else WindowMissed) as raised:
            admit_freeze(ctx)
        said = str(raised.value)
        held = "1 cutover(s) in progress (cutover.maxConcurrent 1)"
        if outcome == "waits":
            assert said == held
        else:
            assert said.startswith(held + " while a waited to freeze its source: " if not place_free else "the deadline "), said
            assert "Sales not frozen, it keeps replicating and a new run waits for a window and a place again" in said
    admitted = [key for key in services.records.writes if key.endswith("__a")]
    assert admitted == (["migration_cutover_admitted__contoso-sql__a"] if outcome == "admitted" else [])


@pytest.mark.airflow26
def test_a_freezing_steps_waits_count_as_before_the_freeze_only_until_it_submits_the_freeze():
    """Through Data Factory a's freeze_source waits for reads before it freezes (its own source's state, then the
    other source's for cutover.maxConcurrent): those waits are marked before the freeze, so the operator ends
    them with WindowMissed once the cutover no longer fits (`cutover_steps.check_room_before_freeze`). The waits
    for its freeze submitted, and every poke after, are the freeze's own: never marked, never given up."""
    plan = two_gated_databases()
    sql = PipelineRunSql({"Sales": False, "Hr": False})
    services = Services(plan, sql)
    for name in ("a", "b"):  # recorded by preflight: what each source was before any freeze
        services.records.put(source_freeze.record_key(plan.database(name)), json.dumps({"readOnly": False, "userAccess": "MULTI_USER"}))

    def poke():
        ctx = StepContext(plan, plan.database("a"), {"run_id": "r1", "ti": TaskInstance("a")}, Timing.for_environment({}), "freeze_source", _services=services)
        try:
            steps.freeze_source(ctx)
            return ctx, "done"
        except StepPending as pending:
            return ctx, str(pending)

    marked = []
    for _ in range(6):
        ctx, said = poke()
        marked.append((ctx.freeze_not_begun, said))
        if said == "done":
            break
    reading = [(before, re.sub(r"^SQL operation r1:\S*?:freeze_source:1:(\S+) is running on .*$", r"\1", said)) for before, said in marked]
    assert [(before, re.sub(r":\d+$", "", read)) for before, read in reading] == [
        (False, "source-state"),  # not told yet: its own source's state (frozen by an earlier try?) is being read
        (True, "in-progress:b"),  # before the freeze: the other source's state, for cutover.maxConcurrent
        (False, "freeze"),  # submitted: the freeze's own wait
        (False, "done"),
    ], marked
    assert sql.frozen["Sales"]


@pytest.mark.parametrize("closes, began", [
    ("2026-12-06T03:00:00Z", "2026-12-05T21:30:00Z"),  # b's 30 minutes, then a's
    ("2026-12-05T21:45:00Z", None),  # at its place (21:30) a's 30 minutes no longer fit: not frozen
], ids=["fitsAtItsPlace", "tooLateAtItsPlace"])
def test_in_a_rehearsal_a_cutover_let_go_alongside_another_begins_at_its_place_not_at_its_gate(tmp_path, closes, began):
    """Both gates let a and b go at 21:00 (neither admitted yet), cutover.maxConcurrent 1: b takes the place, a's
    freeze_source waits for it. The simulated clock stood still meanwhile; a's cutover begins when b's 30 minutes
    end (21:30), the clock moves on to then, and the window is checked at that time. Was: a's cutover was timed from
    its gate, 21:00 to 21:30 beside b's in the report, and froze though its window closed before it could end."""
    from migration_orchestration_lib import cutover_steps
    from migration_orchestration_lib.cutover_windows import parse_iso_utc
    from migration_orchestration_lib.rehearsal_cutover import CLOCK_FILE, SimulatedClock
    from migration_orchestration_lib.step_context import WindowMissed

    plan = two_gated_databases()
    services = Services(plan, PipelineRunSql({"Sales": False, "Hr": False}), listed=failed)
    services.clock = clock = SimulatedClock(
        str(tmp_path), {"a": [], "b": []}, {"MIGRATION_DRY_RUN": "1", "MIGRATION_SIMULATE_START": "2026-12-03T12:00:00Z"},
        {"a": 30, "b": 30}, 1)
    opens = parse_iso_utc("2026-12-05T21:00:00Z")
    for name in ("a", "b"):
        clock.wait(name, opens)
    for name in ("a", "b"):  # both gates let go at 21:00, before either freeze_source counted the other
        clock.hold(name, "2026-12-05T21:00:00Z", parse_iso_utc(closes))

    class Gated(TaskInstance):
        def xcom_pull(self, task_ids, key="return_value"):
            facts = super().xcom_pull(task_ids, key)
            return dict(facts, closes=closes) if task_ids == "%s.await_cutover" % self.database else facts

    def context(name):
        return StepContext(plan, plan.database(name), {"run_id": "r1", "ti": Gated(name)}, Timing.for_environment({}), "freeze_source",
                           _services=services)

    cutover_steps.admit_freeze(context("b"))
    with pytest.raises(StepPending, match=re.escape("1 cutover(s) in progress (cutover.maxConcurrent 1)")):
        cutover_steps.admit_freeze(context("a"))
    cutover_steps.release(context("b"))  # b's cutover ended
    if began is None:
        with pytest.raises(WindowMissed, match=re.escape(
                "the window closes at 2026-12-05T21:45:00Z, too soon for a 30-minute cutover from 2026-12-05T21:30:00Z")):
            cutover_steps.admit_freeze(context("a"))
    else:
        cutover_steps.admit_freeze(context("a"))
        assert services.records["migration_cutover_admitted__contoso-sql__a"] == began  # others count it from then
        cutover_steps.release(context("a"))
    assert clock.now() == parse_iso_utc("2026-12-05T21:30:00Z" if began is None else "2026-12-05T22:00:00Z")
    cutovers = json.loads((tmp_path / CLOCK_FILE).read_text())["cutovers"]
    assert [(c["began"], c["ended"]) for c in cutovers["b"]] == [("2026-12-05T21:00:00Z", "2026-12-05T21:30:00Z")]
    if began is not None:
        assert [(c["began"], c["ended"]) for c in cutovers["a"]] == [(began, "2026-12-05T22:00:00Z")]


def test_another_databases_source_hidden_from_the_login_counts_as_a_cutover_in_progress(rehearsal_world):
    """cutover.maxConcurrent 1; b's migration replicates, b's freeze is the DAG's (its record is there), and the source
    server was hardened since: public's VIEW ANY DATABASE revoked, the DAG's login owning Sales (a's source) alone, so
    master's sys.databases shows it no row of Hr (b's source, `SourceHidden`). Whether b's source is frozen cannot be
    read: b's cutover may be in progress, and a waits for a place rather than freezing beside it (nor fails on b's
    source). SQL runs on the rehearsal world's SQL Server; DMS, the records and the clock are this file's."""
    from migration_orchestration_lib.rehearsal import REHEARSAL_LOGIN, RehearsalConnections, seed_world
    from migration_orchestration_lib.services import sql_access_for
    from migration_rehearsal.sql_world import SqlEngine
    from migration_rehearsal.world import World

    plan = two_gated_databases()
    world = World(str(rehearsal_world))
    seed_world(world, plan)
    world.update_database("sql01", "Hr", readOnly=True)  # b's freeze (hidden from the login from now on)
    world.revoke_view_any_database_from_public("sql01")
    world.set_login("sql01", REHEARSAL_LOGIN, [], {"Sales": ["CONTROL"], "Hr": ["CONTROL"]})
    world.update_database("sql01", "Sales", owner=REHEARSAL_LOGIN)  # a's source stays readable: its owner sees its row
    sql = sql_access_for(plan, RehearsalConnections(plan), lambda: None, {}, driver=SqlEngine(world))
    services = Services(plan, sql)
    services.records.put("migration_cutover_admitted__contoso-sql__b", "2026-12-05T21:00:00Z")  # 60 minutes ago
    services.records.put(source_freeze.record_key(plan.database("b")), json.dumps({"readOnly": False, "userAccess": "MULTI_USER"}))
    ctx = StepContext(plan, plan.database("a"), {"run_id": "r1", "ti": TaskInstance("a")}, Timing.for_environment({}), "freeze_source", _services=services)

    with pytest.raises(StepPending, match=re.escape("1 cutover(s) in progress (cutover.maxConcurrent 1)")):
        steps.freeze_source(ctx)
    assert not world.database("sql01", "Sales")["readOnly"], "a froze beside b's cutover, beyond cutover.maxConcurrent"
    assert "migration_cutover_admitted__contoso-sql__a" not in services.records
