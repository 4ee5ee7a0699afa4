"""A rehearsal's wait for capacity that only simulated time ends: `start_migration` waiting for a place
(`concurrency.maxMigrationsPerSourceServer`) held by a database rejected at every window, which replicates until the
rehearsal's horizon, through real Airflow (`dag.test()`). Was: the wait ran on the real clock, until the waiting
database's real `timeoutMinutes` (a rehearsal ran ~12 h until stopped)."""
from __future__ import annotations

import json

import pytest

from conftest import database_entry, plan_with_databases
from migration_orchestration_lib import operators
from migration_orchestration_lib.airflow_compat import AirflowFailException

pytestmark = pytest.mark.usefixtures("airflow_db")

SATURDAY = {"timeZone": "UTC", "days": ["Sat"], "start": "22:00", "durationMinutes": 240}
APPROVAL = {"required": True, "approvers": ["alice@contoso.com"], "channel": "airflowVariable"}
# A wait the fix ends in a few pokes; without it the test stops the waiting task here rather than hang for real hours.
POKE_BOUND = 150


@pytest.fixture
def bounded_waits(monkeypatch):
    """Each task's waits are counted; past POKE_BOUND pokes of one task it fails (the run then fails: the test sees it)."""
    pokes = {}
    original = operators.MigrationTask._wait

    def counted(self, ctx, reason, first, waiting=None):
        pokes[self.task_id] = pokes.get(self.task_id, 0) + 1
        if pokes[self.task_id] > POKE_BOUND:
            raise AirflowFailException("%s still waiting after %d pokes: %s" % (self.task_id, POKE_BOUND, reason))
        return original(self, ctx, reason, first, waiting)

    monkeypatch.setattr(operators.MigrationTask, "_wait", counted)
    return pokes


def last_words(tmp_path, database):
    """The message of the database's last event, a start_migration Running, in a run that wrote no Failed or RolledBack
    event (MIGRATION_REHEARSAL_EVENTS_FILE: tmp_path / events.jsonl)."""
    seen = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert not [e for e in seen if e["Status"] in ("Failed", "RolledBack")]
    last = [e for e in seen if e["Database"] == database][-1]
    assert (last["Phase"], last["Status"]) == ("start_migration", "Running"), last
    return last["Message"]


def capacity_plan():
    """first and second on sql01, one migration at a time from it; first needs an approval in Saturday's window,
    second none. second is gated too: a database waiting for capacity is no longer on its way to its gate for the
    simulated clock (was: the clock stood still for MAX_STALLED_POKES pokes of first's gate at every jump)."""
    rejected = {"windows": [SATURDAY], "expectedMinutes": 30, "approval": APPROVAL}
    document = plan_with_databases([
        database_entry("first", "Sales", cutover=rejected),
        database_entry("second", "Crm", cutover=dict(rejected, approval=dict(APPROVAL, required=False))),
    ])
    document["concurrency"]["maxMigrationsPerSourceServer"] = 1
    return document


def test_a_wait_for_capacity_held_by_a_database_rejected_at_every_window_ends_at_the_horizon(
        rehearsal_world, monkeypatch, tmp_path, bounded_waits):
    from migration_rehearsal.world import World
    from test_cutover_rehearsal import report_of
    from test_rehearsal import run

    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-03T12:00:00Z")  # Thursday
    monkeypatch.setenv("MIGRATION_SIMULATE_UNTIL", "2026-12-07T00:00:00Z")  # one Saturday
    monkeypatch.setenv("MIGRATION_SIMULATE_APPROVAL", "first:reject")
    # second's preflight meets DMS answering 500 beyond the client's retries twice: first takes the place
    World(str(rehearsal_world)).add_fault("get", "error", status=500, count=6, database="Crm")
    document = capacity_plan()
    state, tasks = run(document)

    assert state == "success", tasks  # the rehearsal ended: nothing failed
    assert tasks["second.start_migration"] == "skipped" and tasks["second.rollback"] == "skipped", tasks
    assert tasks["first.await_cutover"] == "skipped" and tasks["run_outcome"] == "success", tasks
    assert bounded_waits["second.start_migration"] < 20, bounded_waits  # a few pokes, not real hours
    assert last_words(tmp_path, "second").startswith(
        "waiting for capacity on source server sql01 when the rehearsal ended at its horizon 2026-12-07T00:00:00Z "
        "(MIGRATION_SIMULATE_UNTIL): 1 migration(s) running or canceling in DMS from source server sql01 "
        "(concurrency.maxMigrationsPerSourceServer 1), held by first")
    report, summary = report_of(document, state, tasks, rehearsal_world, tmp_path)
    assert report.returncode == 1, report.stdout + report.stderr
    assert {name: entry["outcome"] for name, entry in summary["databases"].items()} == {
        "first": "waiting", "second": "waiting_for_capacity"}
    assert summary["databases"]["second"] == {"outcome": "waiting_for_capacity", "target": "absent", "source": "writable", "migration": "none"}
    assert "DMS none (waiting for capacity on source server sql01 when the rehearsal ended)" in report.stdout, report.stdout
    assert "\nRun: success\nMigrated: 0 of 2 databases\n" in report.stdout, report.stdout
    assert "The run succeeded in Airflow, but nothing migrated: the rehearsal exits 1" in report.stdout


def start_a_migration_by_hand(directory):
    """A person's online migration of sql01's `Hr` into `HrByHand` on mi-prod, a target no database of the plan names,
    through the plan's migration service, in flight (InProgress: replicating until someone cuts it over). Returns its
    operation id."""
    from migration_orchestration_lib import rehearsal
    from migration_orchestration_lib.dms_gateway import MigrationTarget
    from migration_orchestration_lib.migration_request import build_migration_request
    from migration_orchestration_lib.plan import parse_plan
    from migration_rehearsal.world import World

    document = plan_with_databases([database_entry("by_hand", "Hr", target_database="HrByHand")])
    document["name"] = "by-hand"
    theirs = parse_plan(document)
    database = theirs.database("by_hand")
    services = rehearsal.rehearsal_services(theirs)
    into = MigrationTarget.of(theirs, database)
    started = services.dms.start(
        into, database.source_database,
        lambda: build_migration_request(theirs, database, services.dms.migration_service_id, services.connections))
    for _ in range(3):  # every read moves the simulated DMS one step on
        services.dms.current_migration(into)
    [status] = [m["migrationStatus"] for record in World(str(directory)).snapshot()["databaseMigrations"].values()
                for m in record["operations"] if m["migrationOperationId"] == started.migration_operation_id]
    assert status == "InProgress", status
    return started.migration_operation_id


@pytest.mark.airflow26  # the task driver, no dag.test(): cheap on Python 3.8 too (Data Factory rehearsals)
def test_a_wait_for_capacity_held_by_a_migration_of_no_plan_database_ends_at_the_horizon(rehearsal_world, monkeypatch, tmp_path):
    """The one place of the migration service (`concurrency.maxMigrationsPerService` 1) is held by a person's migration
    into a target the plan does not name: the world's DMS moves a migration on only when it is read, and no task of the
    run reads that one, so nothing in the rehearsal frees the place. The wait runs on the simulated clock and ends at
    the horizon, `waiting_for_capacity`, its message naming the migration of no plan database. Was: it poked on the
    real clock until the database's real `timeoutMinutes` (720: 12 hours), each poke an event (here the driver's
    MAX_POKES stops it: start_migration failed). The real tasks through `task_driver`, the report in this process."""
    from migration_orchestration_lib.dag_factory import build_dag
    from migration_orchestration_lib.plan import parse_plan
    from task_driver import RunDriver
    from test_rehearsal_scripts import run_report  # the report in this process (a process of its own imports Airflow again)

    monkeypatch.setenv("MIGRATION_REHEARSAL_EVENTS_FILE", str(tmp_path / "events.jsonl"))
    monkeypatch.setenv("MIGRATION_SIMULATE_START", "2026-12-03T12:00:00Z")
    monkeypatch.setenv("MIGRATION_SIMULATE_UNTIL", "2026-12-07T00:00:00Z")
    start_a_migration_by_hand(rehearsal_world)
    document = plan_with_databases([database_entry("crm", "Crm")])
    document["concurrency"]["maxMigrationsPerService"] = 1
    pokes = []
    driver = RunDriver(build_dag(parse_plan(document), {"MIGRATION_DRY_RUN": "1"}), observe=pokes.append)
    states = driver.run_database("crm")

    assert states["crm.start_migration"] == "skipped" and states["crm.rollback"] == "skipped", (states, driver.errors)
    assert pokes.count("crm.start_migration") < 5, len(pokes)  # a poke or two, not real hours
    assert driver.xcom[("crm.start_migration", "outcome")] == "waiting_for_capacity"
    assert driver.run_outcome() == "success", driver.errors
    assert last_words(tmp_path, "crm").startswith(
        "waiting for capacity on the migration service when the rehearsal ended at its horizon 2026-12-07T00:00:00Z "
        "(MIGRATION_SIMULATE_UNTIL): 1 migration(s) running or canceling in DMS on the migration service "
        "(concurrency.maxMigrationsPerService 1), held by 1 migration(s) of no database of the plan (another plan's or a "
        "person's: nothing in a rehearsal ends them); Crm was not started")
    (tmp_path / "plan.json").write_text(json.dumps(document))
    (tmp_path / "result.json").write_text(json.dumps({"run_id": "r", "state": "success", "tasks": states}))
    report = run_report("--events", str(tmp_path / "events.jsonl"), "--result", str(tmp_path / "result.json"), "--plan",
                        str(tmp_path / "plan.json"), "--world", str(rehearsal_world), "--summary", str(tmp_path / "summary.json"))
    assert report.returncode == 1, report.stdout + report.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["databases"]["crm"] == {"outcome": "waiting_for_capacity", "target": "absent", "source": "writable", "migration": "none"}
    assert "DMS none (waiting for capacity on the migration service when the rehearsal ended)" in report.stdout, report.stdout


CLOCK_ENVIRON = {"MIGRATION_DRY_RUN": "1", "MIGRATION_SIMULATE_START": "2026-12-05T23:00:00Z",
                 "MIGRATION_SIMULATE_UNTIL": "2026-12-07T00:00:00Z"}


@pytest.mark.airflow26  # the clock alone: Data Factory rehearsals run it on Python 3.8
@pytest.mark.parametrize("gate_waits", [True, False], ids=["besideAGate", "noGateWaiting"])
def test_pokes_waiting_for_capacity_never_bring_the_stall_guards_jump_nearer(tmp_path, monkeypatch, gate_waits):
    """k's cutover runs (the clock holds); nine databases wait for places only time frees (`wait(..., for_capacity=True)`),
    beside `a` waiting at its gate for a later time, or alone. The clock holds as long as a gate's own pokes allow
    (`MAX_STALLED_POKES` rounds of pokes), whatever the number waiting for capacity; with no gate waiting, their own
    pokes still end a hold that never ends (a cutover a crashed run left marked in progress) after as many rounds.
    Was: each of their pokes counted as a gate's, so ten pokes a round made the clock jump after a tenth of the rounds,
    over k's cutover still running (to a's time, or to the horizon: its end then counted from there)."""
    from migration_orchestration_lib import rehearsal_cutover
    from migration_orchestration_lib.cutover_windows import parse_iso_utc

    monkeypatch.setattr(rehearsal_cutover, "MAX_STALLED_POKES", 20)  # the bound's value does not matter, its rounds do
    clock = rehearsal_cutover.SimulatedClock(str(tmp_path), {"a": [], "k": []} if gate_waits else {"k": []}, CLOCK_ENVIRON, {"k": 30})
    start, later = clock.now(), parse_iso_utc("2026-12-06T22:00:00Z")
    clock.hold("k", "w", None)
    rounds = 0
    while clock.now() == start and rounds < 100:
        rounds += 1
        if gate_waits:
            clock.wait("a", later)
        for name in ("c%d" % n for n in range(9)):
            clock.wait(name, None, for_capacity=True)
    assert rounds == 20, rounds  # was 2 beside a gate, 3 alone
    assert clock.now() == (later if gate_waits else clock.horizon())


@pytest.mark.airflow26  # the task driver, no dag.test(): cheap on Python 3.8 too (Data Factory rehearsals)
def test_a_start_migration_waiting_for_capacity_counts_its_pokes_apart_from_the_gates(rehearsal_world, monkeypatch, tmp_path):
    """The task's side of it: k's cutover runs, and `a`'s gate has poked 15 times meanwhile; crm's start_migration, its
    place held by a person's migration, pokes 20 times (`MAX_STALLED_POKES` here) before the clock jumps (to the
    horizon: a waits for no time of its own), where it ends. Was: its pokes counted as the gate's, it ended after 5."""
    from migration_orchestration_lib import rehearsal_cutover
    from migration_orchestration_lib.dag_factory import build_dag
    from migration_orchestration_lib.plan import parse_plan
    from task_driver import RunDriver

    monkeypatch.setattr(rehearsal_cutover, "MAX_STALLED_POKES", 20)
    for name, value in CLOCK_ENVIRON.items():
        monkeypatch.setenv(name, value)
    start_a_migration_by_hand(rehearsal_world)
    clock = rehearsal_cutover.SimulatedClock(str(rehearsal_world), {"a": [], "k": []}, CLOCK_ENVIRON)
    clock.hold("k", "w", None)
    for _ in range(15):
        clock.wait("a", None)
    document = plan_with_databases([database_entry("crm", "Crm")])
    document["concurrency"]["maxMigrationsPerService"] = 1
    pokes = []
    driver = RunDriver(build_dag(parse_plan(document), {"MIGRATION_DRY_RUN": "1"}), observe=pokes.append)
    states = driver.run_database("crm")

    assert states["crm.start_migration"] == "skipped", (states, driver.errors)
    assert pokes.count("crm.start_migration") == 20, pokes.count("crm.start_migration")
