"""The freeze marker: the DAG's freeze recorded on the source database itself, as a database-level
extended property (`migration_freeze` = {plan, readOnly, target, targetServerId, userAccess}), so what Airflow loses or
brings back stale (its metadata database recreated or restored, a Variable deleted, the DAG moved)
and a second plan naming the same source are seen (`source_freeze`, `sql_statements.freeze`).
On the rehearsal world: the fake SQL Server refuses the marker on a read-only database (3906) and
cannot read it in a SINGLE_USER database another connection holds (924), as SQL Server does."""
from __future__ import annotations

import json
import os

import pytest

from conftest import database_entry, load_plan_document, plan_with_databases
from migration_orchestration_lib import sql_statements as s
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal import seed_world
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE
from migration_orchestration_lib.source_freeze import RECORD_PREFIX
from migration_rehearsal.sql_world import DatabaseError
from sql_access_setup import DataFactoryImplementation, DirectImplementation, estate, finish, query, source
from task_driver import RunDriver, WorkerCrashed
from world_view import WorldView

ACCESSES = ["direct", "dataFactory"]
KEY = RECORD_PREFIX + "sql01__Sales"
OTHER_PLAN = "fabrikam-sql"
TARGET = "mi-prod/Sales"  # the test plan's database db: target server / target database
FROZEN = {  # a path, and the task after which the DAG's freeze is in force and the copy not finished
    "online_sqlmi": (dict(mode="online"), "freeze_source"),
    "offline_sqlmi": (dict(mode="offline"), "freeze_source"),
    "sqldb": (dict(target="db-prod"), "start_migration"),
}


TARGET_SERVER_ID = next(s["resourceId"] for s in load_plan_document()["targetServers"] if s["name"] == "mi-prod")


def marker(plan, read_only=False, user_access="MULTI_USER", target=None, server_id=TARGET_SERVER_ID):
    """A plan's freeze marker (`source_freeze.marker_value`); `target` by default the test plan's, on its server
    (`server_id`; None: a marker as versions before `targetServerId` wrote it)."""
    value = {"plan": plan, "readOnly": read_only, "target": target or TARGET, "userAccess": user_access}
    if server_id is not None:
        value["targetServerId"] = server_id
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def target_of(plan):
    database = plan.database("db")
    return "%s/%s" % (database.target_server, database.target_database)


def server_of(plan):
    return plan.target_of(plan.database("db")).resource_id.value


def setup(directory, access="direct", **entry):
    document = plan_with_databases([database_entry("db", "Sales", checksums=True, **entry)])
    if access == "dataFactory":
        document["airflow"] = load_plan_document("fabric_host.json")["airflow"]
    plan = parse_plan(document)
    world = WorldView(directory, plan.database("db"), plan)
    seed_world(world.world, plan)
    return build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), plan, world


def records(directory):
    path = os.path.join(str(directory), RECORDS_FILE)
    if not os.path.exists(path):
        return {}
    with open(path) as file:
        return json.load(file)


def write_records(directory, values):
    with open(os.path.join(str(directory), RECORDS_FILE), "w") as file:
        json.dump(values, file)


def properties(world):
    return world.source().get("extendedProperties") or {}


# --- through the DAG -------------------------------------------------------------------------------


@pytest.mark.parametrize("access, path", [(a, p) for p in sorted(FROZEN) for a in ACCESSES if a == "direct" or p == "online_sqlmi"])
def test_a_lost_record_comes_back_from_this_plans_marker_and_the_rollback_puts_back_the_access_before_the_freeze(
        rehearsal_world, monkeypatch, access, path):
    """Was: preflight and rollback stopped for a person (`unknown_freeze`). The marker of this plan
    says the DAG froze the source and what it had before: the record is restored and the rollback
    puts back exactly that access (here the team's RESTRICTED_USER), removing the marker."""
    entry, frozen_after = FROZEN[path]
    dag, plan, world = setup(rehearsal_world, access, **entry)
    world.world.update_database("sql01", "Sales", userAccess="RESTRICTED_USER")
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after=frozen_after)
    assert world.source()["readOnly"]
    assert properties(world) == {"migration_freeze": marker(plan.name, False, "RESTRICTED_USER", target_of(plan), server_of(plan))}
    write_records(rehearsal_world, {k: v for k, v in records(rehearsal_world).items() if k != KEY})  # Airflow lost it
    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")  # the run that goes on rolls back

    second = RunDriver(dag, world.observe)
    states = second.run_database("db")
    assert states["db.preflight"] == "success", second.errors
    assert second.outcome("db") == "rolled_back", second.errors
    assert (world.source()["readOnly"], world.source()["userAccess"]) == (False, "RESTRICTED_USER")
    assert properties(world) == {}, "the unfreeze removes its marker"
    assert records(rehearsal_world)[KEY] == "", "restored from the marker, cleared by the unfreeze"


@pytest.mark.parametrize("access", ACCESSES)
@pytest.mark.parametrize("frozen", [False, True], ids=["writable", "frozen by the other plan"])
def test_another_plans_marker_makes_preflight_refuse_and_nothing_is_frozen_or_unfrozen(rehearsal_world, access, frozen):
    """Was: not detected; this plan would freeze a source another plan migrates, and its rollback
    unfreeze it beside the other plan's cutover."""
    dag, plan, world = setup(rehearsal_world, access, mode="online")
    theirs = marker(OTHER_PLAN)
    world.world.update_database("sql01", "Sales", readOnly=frozen, extendedProperties={"migration_freeze": theirs})
    run = RunDriver(dag, world.observe)
    states = run.run_database("db")

    assert states["db.preflight"] == "failed", run.errors
    message = run.errors["db.preflight"]
    assert OTHER_PLAN in message and "source database Sales on sql01" in message and plan.name in message, message
    assert "Where plan %s declared it migrated, the source stays frozen for good" % OTHER_PLAN in message, message
    assert "only once plan %s rolled its migration back, a person makes it writable" % OTHER_PLAN in message, message
    assert world.operations() == []
    assert world.source()["readOnly"] == frozen and world.source()["userAccess"] == "MULTI_USER", "nothing frozen or unfrozen"
    assert properties(world) == {"migration_freeze": theirs}
    assert states["db.rollback"] == "success" and records(rehearsal_world).get(KEY) is None, run.errors


def test_a_rollback_never_unfreezes_a_source_carrying_another_plans_marker(rehearsal_world, monkeypatch):
    """This plan froze the source, and another plan's marker is on it (it froze it too: two plans on
    one source). Was: the rollback made it writable beside the other plan's migration."""
    dag, plan, world = setup(rehearsal_world, mode="online")
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after="freeze_source")
    theirs = marker(OTHER_PLAN)
    world.world.update_database("sql01", "Sales", extendedProperties={"migration_freeze": theirs})
    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")
    second = RunDriver(dag, world.observe)
    states = second.run_database("db")

    assert states["db.preflight"] == "failed" and OTHER_PLAN in second.errors["db.preflight"], second.errors
    assert states["db.rollback"] == "failed" and OTHER_PLAN in second.errors["db.rollback"], second.errors
    assert world.source()["readOnly"], "kept frozen"
    assert properties(world) == {"migration_freeze": theirs}


def test_the_freeze_refuses_a_marker_another_plan_wrote_after_preflight(rehearsal_world):
    """Between preflight and the freeze another plan froze... or wrote its marker: the freeze batch
    itself refuses (its check and its change are one batch), and the rollback leaves the source."""
    dag, plan, world = setup(rehearsal_world, mode="online")
    theirs = marker(OTHER_PLAN)

    def observe(task_id):
        world.observe(task_id)
        if task_id == "db.preflight" and not properties(world):
            world.world.update_database("sql01", "Sales", extendedProperties={"migration_freeze": theirs})

    run = RunDriver(dag, observe)
    states = run.run_database("db")
    assert states["db.preflight"] == "success", run.errors
    assert states["db.freeze_source"] == "failed", states
    assert "not frozen" in run.errors["db.freeze_source"] and OTHER_PLAN in run.errors["db.freeze_source"], run.errors
    assert world.source_writable(), "nothing frozen"
    assert properties(world) == {"migration_freeze": theirs}


def test_a_record_that_disagrees_with_this_plans_marker_keeps_the_source_frozen_for_a_person(rehearsal_world, monkeypatch):
    """A metadata database restored from a backup brings back a cleared record (the DAG's freeze "not
    in force") while this plan's marker says it is: the DAG chooses what cannot lose writes."""
    dag, plan, world = setup(rehearsal_world, mode="online")
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after="freeze_source")
    write_records(rehearsal_world, dict(records(rehearsal_world), **{KEY: ""}))
    monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")
    second = RunDriver(dag, world.observe)
    states = second.run_database("db")

    assert states["db.preflight"] == "failed" and "stale" in second.errors["db.preflight"], second.errors
    assert states["db.rollback"] == "failed" and "stale" in second.errors["db.rollback"], second.errors
    assert world.source()["readOnly"], "kept frozen"
    assert properties(world) == {"migration_freeze": marker(plan.name)}
    assert records(rehearsal_world)[KEY] == "", "nothing guessed"


def test_a_source_read_only_before_the_freeze_gets_no_marker(rehearsal_world):
    """An archive: the freeze changes nothing, and a read-only database refuses the marker anyway;
    the Airflow Variable stays the only record there."""
    dag, plan, world = setup(rehearsal_world, mode="offline")
    world.world.update_database("sql01", "Sales", readOnly=True)
    run = RunDriver(dag, world.observe)
    run.run_database("db")
    assert run.outcome("db") == "migrated", run.errors
    assert properties(world) == {}
    assert json.loads(records(rehearsal_world)[KEY]) == {"readOnly": True, "userAccess": "MULTI_USER"}


# --- the statements on the fake SQL Server, through both SQL accesses --------------------------------


@pytest.fixture(params=[DirectImplementation, DataFactoryImplementation], ids=ACCESSES)
def implementation(request, tmp_path):
    chosen = request.param(estate(str(tmp_path)))
    yield chosen
    chosen.close()


def state(access, key, sql):
    return s.parse_database_state(finish(access, query(key, source(), sql)).rows)


@pytest.mark.airflow26
def test_the_freeze_writes_its_marker_before_read_only_and_the_unfreeze_drops_it_after_read_write(implementation):
    access, world, ours = implementation.access(), implementation.world, marker("contoso-sql")
    frozen = state(access, "freeze", s.freeze("Sales", "singleUser", ours))
    assert (frozen.is_read_only, frozen.user_access) == (True, "SINGLE_USER")
    assert frozen.freeze_marker_known and frozen.freeze_marker is None, "the marker found before the freeze: none"
    assert world.database("sql01", "Sales")["extendedProperties"] == {"migration_freeze": ours}
    again = state(access, "read", s.source_state("Sales"))
    assert again.freeze_marker_known and again.freeze_marker == ours
    back = state(access, "unfreeze", s.unfreeze("Sales", marker=ours))
    assert back.is_writable and world.database("sql01", "Sales")["extendedProperties"] == {}


@pytest.mark.airflow26
def test_the_freeze_leaves_a_source_carrying_another_marker_as_it_is(implementation):
    access, world = implementation.access(), implementation.world
    theirs = marker(OTHER_PLAN)
    world.update_database("sql01", "Sales", extendedProperties={"migration_freeze": theirs})
    found = state(access, "freeze", s.freeze("Sales", "readOnly", marker("contoso-sql")))
    assert found.is_writable and found.freeze_marker == theirs
    assert world.database("sql01", "Sales")["extendedProperties"] == {"migration_freeze": theirs}


@pytest.mark.airflow26
def test_the_marker_read_never_fails_the_state_read(implementation):
    """Held by another SINGLE_USER connection (924), or not visible to the login: unknown, not an error."""
    access, world = implementation.access(), implementation.world
    world.update_database("sql01", "Sales", readOnly=True, userAccess="SINGLE_USER", singleUserHolder="an application",
                          extendedProperties={"migration_freeze": marker("contoso-sql")})
    held = state(access, "held", s.source_state("Sales"))
    assert (held.is_read_only, held.user_access, held.freeze_marker_known) == (True, "SINGLE_USER", False)
    world.update_database("sql01", "Sales", userAccess="MULTI_USER", singleUserHolder=None)
    world.set_login("sql01", "migrator", ["VIEW SERVER STATE"], {"sales": ["ALTER"]})
    hidden = state(access, "hidden", s.source_state("Sales"))
    assert not hidden.freeze_marker_known and hidden.freeze_marker is None
    world.update_database("sql01", "Sales", state="RESTORING")
    assert not state(access, "restoring", s.source_state("Sales")).freeze_marker_known


def test_sql_server_refuses_the_marker_on_a_read_only_database(tmp_path):
    """Why the freeze writes it before SET READ_ONLY and the unfreeze drops it after SET READ_WRITE."""
    world = estate(str(tmp_path))
    world.update_database("sql01", "Sales", readOnly=True)
    cursor = DirectImplementation(world).engine.connect(server="sql01.corp.contoso.com", user="migrator", password="x",
                                                         autocommit=True).cursor()
    with pytest.raises(DatabaseError, match="3906"):
        cursor.execute("EXEC [Sales].sys.sp_executesql N'EXEC sys.sp_addextendedproperty @name = N''migration_freeze'', "
                       "@value = N''x'';';")
    assert "extendedProperties" not in world.database("sql01", "Sales") or not world.database("sql01", "Sales")["extendedProperties"]


@pytest.mark.airflow26
def test_a_marker_write_that_fails_leaves_the_source_writable_and_the_error_reaches_the_dag(implementation):
    """SQL Server goes on after a statement-level error: with the marker's write and SET READ_ONLY
    side by side, a refused write (here another plan's marker this login cannot see, 15233; on SQL
    Server also a login with ALTER ANY DATABASE and no user in the database, 916) still froze the
    source, without this plan's marker and with another plan's on it. The freeze runs only once its
    marker is written, and the error is not swallowed."""
    access, world = implementation.access(), implementation.world
    theirs = marker(OTHER_PLAN)
    world.update_database("sql01", "Sales", extendedProperties={"migration_freeze": theirs})
    world.set_login("sql01", "migrator", ["VIEW SERVER STATE"], {"sales": ["ALTER"]})  # no VIEW DEFINITION
    with pytest.raises(Exception, match="15233"):
        state(access, "freeze", s.freeze("Sales", "singleUser", marker("contoso-sql")))
    found = world.database("sql01", "Sales")
    assert (found["readOnly"], found["userAccess"]) == (False, "MULTI_USER"), "nothing frozen"
    assert found["extendedProperties"] == {"migration_freeze": theirs}


@pytest.mark.parametrize("value", [
    "", "frozen by the DBA team", '{"plan":"contoso-sql","readOnly":"false","userAccess":"MULTI_USER"}',
    '{"plan": "contoso-sql", "readOnly": false, "target": "mi-prod/Sales", "userAccess": "MULTI_USER"}', None,
    '{"plan":"contoso-sql","readOnly":false,"userAccess":"MULTI_USER"}',
    marker("contoso-sql").replace('"targetServerId":', '"targetServerId": '),
    '{"plan":"contoso-sql","readOnly":false,"target":"mi-prod/Sales","targetServerId":null,"userAccess":"MULTI_USER"}',
], ids=["empty", "not JSON", "readOnly not a boolean", "this plan's content spelt otherwise", "NULL", "without its target",
        "its server spelt otherwise", "its server null"])
def test_a_marker_the_dag_did_not_write_is_refused_and_nothing_is_frozen(rehearsal_world, value):
    """A `migration_freeze` property a person or another tool wrote. Was: an empty one counted as no
    marker, the freeze batch then skipped its SET READ_ONLY (a marker there that is not this plan's)
    and freeze_source still said "frozen": the final backup was taken from a writable source; a
    readOnly of "false" parsed as true."""
    dag, plan, world = setup(rehearsal_world, mode="offline")
    world.world.update_database("sql01", "Sales", extendedProperties={"migration_freeze": value})
    run = RunDriver(dag, world.observe)
    states = run.run_database("db")
    assert states["db.preflight"] == "failed", (states, run.errors)
    assert "did not write" in run.errors["db.preflight"], run.errors
    assert "migration that went live, the source stays frozen for good" in run.errors["db.preflight"], "never: make it writable"
    assert world.operations() == [] and world.source_writable()
    assert properties(world) == {"migration_freeze": value}


def test_freeze_source_fails_when_the_freeze_batch_left_the_source_writable(rehearsal_world, monkeypatch):
    """Whatever makes the freeze batch skip its SET READ_ONLY (its check of the marker and the DAG's
    differing), freeze_source never says "frozen" over a writable source. Was: it did, and the final
    backup followed."""
    from migration_orchestration_lib.database_sql import DatabaseSql
    dag, plan, world = setup(rehearsal_world, mode="offline")
    monkeypatch.setattr(DatabaseSql, "freeze_source", lambda self, database, *markers: self.source_state(database, "no-freeze"))
    run = RunDriver(dag, world.observe)
    states = run.run_database("db")
    assert states["db.freeze_source"] == "failed", states
    assert "not frozen: after the freeze it is READ_WRITE, MULTI_USER" in run.errors["db.freeze_source"], run.errors
    assert states.get("db.final_backup") != "success", states


def refuse_alter(world, *options):
    """Test hook: SQL Server refuses ALTER DATABASE ... SET of these options (5061, a lock held)."""
    from migration_rehearsal.world import _require_database
    with world.transaction() as raw:
        _require_database(raw, "sql01", "Sales")["refusesAlter"] = list(options)


@pytest.mark.airflow26
def test_a_refused_read_write_keeps_the_marker_and_a_refused_read_only_leaves_one_the_unfreeze_removes(implementation):
    """SQL Server goes on after a refused ALTER DATABASE: the unfreeze's drop must not follow a
    SET READ_WRITE that failed (the source frozen without its durable record); the freeze's marker
    written before a SET READ_ONLY that failed stays on a writable source, where the unfreeze takes it."""
    access, world, ours = implementation.access(), implementation.world, marker("contoso-sql")
    state(access, "freeze", s.freeze("Sales", "readOnly", ours))
    refuse_alter(world, "READ_WRITE")
    with pytest.raises(Exception, match="5061"):
        state(access, "unfreeze", s.unfreeze("Sales", marker=ours))
    assert world.database("sql01", "Sales")["readOnly"]
    assert world.database("sql01", "Sales")["extendedProperties"] == {"migration_freeze": ours}, "kept while frozen"

    refuse_alter(world)
    state(access, "unfreeze-2", s.unfreeze("Sales", marker=ours))
    refuse_alter(world, "READ_ONLY")
    with pytest.raises(Exception, match="5061"):
        state(access, "freeze-2", s.freeze("Sales", "readOnly", ours))
    assert not world.database("sql01", "Sales")["readOnly"]
    assert world.database("sql01", "Sales")["extendedProperties"] == {"migration_freeze": ours}
    found = state(access, "read", s.source_state("Sales"))
    assert found.is_writable and found.freeze_marker == ours
    assert state(access, "unfreeze-3", s.unfreeze("Sales", marker=ours)).is_writable
    assert world.database("sql01", "Sales")["extendedProperties"] == {}


@pytest.mark.airflow26
def test_a_refused_multi_user_keeps_the_marker_of_a_single_user_freeze(implementation):
    """SQL Server goes on after a refused ALTER DATABASE: the unfreeze's SET READ_WRITE and marker drop
    ran after a refused SET MULTI_USER. Was: the marker went while the DAG's freeze (SINGLE_USER)
    still held the source, its durable record lost; now it goes only once the source is MULTI_USER."""
    access, world, ours = implementation.access(), implementation.world, marker("contoso-sql")
    state(access, "freeze", s.freeze("Sales", "singleUser", ours))
    refuse_alter(world, "MULTI_USER")
    with pytest.raises(Exception, match="5061"):
        state(access, "unfreeze", s.unfreeze("Sales", marker=ours))
    assert world.database("sql01", "Sales")["userAccess"] == "SINGLE_USER"
    assert world.database("sql01", "Sales")["extendedProperties"] == {"migration_freeze": ours}, "kept while frozen"
    refuse_alter(world)
    assert state(access, "unfreeze-2", s.unfreeze("Sales", marker=ours)).is_writable
    assert world.database("sql01", "Sales")["extendedProperties"] == {}


@pytest.mark.airflow26
@pytest.mark.parametrize("with_marker", [True, False], ids=["marker", "no marker"])
def test_a_refused_read_only_leaves_a_single_user_freeze_multi_user(implementation, with_marker):
    """SQL Server goes on after a refused ALTER DATABASE: a singleUser freeze whose SET READ_ONLY
    failed must not go on to SET SINGLE_USER. Was: it did, leaving the source writable by whichever
    one connection takes it first (an application's: the DAG's unfreeze then fails, 5064) after
    closing every other with ROLLBACK IMMEDIATE."""
    access, world, ours = implementation.access(), implementation.world, marker("contoso-sql")
    refuse_alter(world, "READ_ONLY")
    with pytest.raises(Exception, match="5061"):
        state(access, "freeze", s.freeze("Sales", "singleUser", ours if with_marker else None))
    found = world.database("sql01", "Sales")
    assert (found["readOnly"], found["userAccess"]) == (False, "MULTI_USER")
    refuse_alter(world)
    frozen = state(access, "freeze-2", s.freeze("Sales", "singleUser", ours if with_marker else None))
    assert (frozen.is_read_only, frozen.user_access) == (True, "SINGLE_USER")


@pytest.mark.airflow26
def test_a_marker_differing_from_this_plans_only_in_letter_case_is_neither_frozen_under_nor_dropped(implementation):
    """The batches compare the marker's text in a binary collation. Was: under the source's usual
    case-insensitive collation a marker differing only in letter case (a target spelt otherwise)
    passed the freeze batch's check, the source was frozen, and freeze_source then refused the
    marker as another plan's with "not frozen" over a frozen source; the unfreeze dropped it."""
    access, world, ours = implementation.access(), implementation.world, marker("contoso-sql")
    theirs = marker("contoso-sql", target=TARGET.upper())
    assert theirs != ours and theirs.lower() == ours.lower()
    world.update_database("sql01", "Sales", extendedProperties={"migration_freeze": theirs})
    found = state(access, "freeze", s.freeze("Sales", "readOnly", ours))
    assert not found.is_read_only and found.freeze_marker == theirs, "the freeze skipped: another plan's marker"
    assert not world.database("sql01", "Sales")["readOnly"]
    state(access, "unfreeze", s.unfreeze("Sales", marker=ours))
    assert world.database("sql01", "Sales")["extendedProperties"] == {"migration_freeze": theirs}, "not this plan's: kept"


def test_a_freeze_refused_after_its_marker_fails_the_step_and_the_rollback_removes_the_marker(rehearsal_world):
    """SET READ_ONLY refused (5061) once the marker is written: freeze_source fails with SQL Server's
    error, and the rollback finds this plan's marker on a writable source and removes it."""
    dag, plan, world = setup(rehearsal_world, mode="offline")
    refuse_alter(world.world, "READ_ONLY")
    run = RunDriver(dag, world.observe)
    states = run.run_database("db")
    assert states["db.freeze_source"] == "failed" and "5061" in run.errors["db.freeze_source"], (states, run.errors)
    assert states["db.rollback"] == "success", run.errors
    assert world.source_writable() and properties(world) == {}
    assert records(rehearsal_world).get(KEY) == ""


STAGING_SERVER_ID = TARGET_SERVER_ID.replace("mi-contoso-prod", "mi-contoso-staging")


@pytest.mark.parametrize("access", ACCESSES)
@pytest.mark.parametrize("server_id", [STAGING_SERVER_ID, None], ids=["its server named", "written before targetServerId"])
def test_a_marker_of_this_plans_name_to_another_target_is_another_plans(rehearsal_world, access, server_id):
    """A copy of this plan in another Airflow (the same MIGRATION_PLAN_NAME) froze the source for its
    own migration to another target. Was: this plan's name alone matched, so a missing record was
    "restored" from that freeze, and this plan's rollback made the source writable under the other
    deployment's cutover."""
    dag, plan, world = setup(rehearsal_world, access, mode="online")
    assert STAGING_SERVER_ID != TARGET_SERVER_ID
    theirs = marker(plan.name, target="mi-staging/Sales", server_id=server_id)
    world.world.update_database("sql01", "Sales", readOnly=True, extendedProperties={"migration_freeze": theirs})
    run = RunDriver(dag, world.observe)
    states = run.run_database("db")
    assert states["db.preflight"] == "failed", run.errors
    assert "mi-staging/Sales" in run.errors["db.preflight"] and "another target" in run.errors["db.preflight"], run.errors
    assert records(rehearsal_world).get(KEY) is None, "nothing restored from another deployment's marker"
    assert world.source()["readOnly"] and properties(world) == {"migration_freeze": theirs}, "nothing unfrozen"


@pytest.mark.parametrize("outcome", ["migrated", "rolled_back"])
def test_a_marker_written_before_targetServerId_still_counts_as_this_plans_and_its_unfreeze_drops_it(rehearsal_world, monkeypatch, outcome):
    """A migration frozen by the version before `targetServerId` (its marker: plan, access and the entry's name only)
    goes on after the upgrade: the marker is this plan's still, and a rollback's unfreeze drops that very text. (The
    unfreeze batch drops only the exact text it is given: the marker this version writes would leave the old one on
    a writable source, read at the next run as this plan's beside a cleared record, for a person.)"""
    dag, plan, world = setup(rehearsal_world, mode="offline")
    with pytest.raises(WorkerCrashed):
        RunDriver(dag, world.observe).run_database("db", crash_after="freeze_source")
    old = marker(plan.name, server_id=None)
    assert properties(world) == {"migration_freeze": marker(plan.name)}
    world.world.update_database("sql01", "Sales", extendedProperties={"migration_freeze": old})
    if outcome == "rolled_back":
        monkeypatch.setenv("MIGRATION_SIMULATE_MISMATCH", "db")
    run = RunDriver(dag, world.observe)
    run.run_database("db")

    assert run.outcome("db") == outcome, run.errors
    if outcome == "migrated":
        assert world.source()["readOnly"] and properties(world) == {"migration_freeze": old}
    else:
        assert world.source_writable() and properties(world) == {}, "the old marker dropped with the freeze"


@pytest.mark.parametrize("access", ACCESSES)
def test_a_freeze_the_version_before_targetServerId_left_half_done_freezes_after_the_upgrade(rehearsal_world, access):
    """The version before `targetServerId` wrote its marker and SQL Server refused its SET READ_ONLY (5061, a lock
    held): the source writable under that plan's marker, and the retry runs this version. Was: the freeze batch, which
    compares the marker whole, found the old text and skipped its freeze, so every try failed "not frozen: after the
    freeze it is READ_WRITE" (the lock long gone) until the rollback dropped the marker and the run was lost."""
    dag, plan, world = setup(rehearsal_world, access, mode="offline")
    old = marker(plan.name, server_id=None)
    world.world.update_database("sql01", "Sales", extendedProperties={"migration_freeze": old})
    run = RunDriver(dag, world.observe)
    run.run_database("db")
    assert run.outcome("db") == "migrated", run.errors
    assert world.source()["readOnly"] and properties(world) == {"migration_freeze": old}, "frozen under the marker it found"
