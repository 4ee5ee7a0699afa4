"""One source database under two spellings of its server: refused at preflight, before anything changes.

The plan rules refuse two `sourceServers` of one host and port, not one SQL Server written twice (a DNS
alias, an IP address, a short name and an FQDN, a listener): here `sql01` (host sql01.corp.contoso.com)
and `listener` (host sales-listener.corp.contoso.com, an alias of sql01 in the world), each with an
entry for `Sales`. `preflight` reads the database's identity from SQL Server itself (the server's own
name, `database_guid`) and claims it for its entry (`source_claims`): the second entry is refused,
naming both; a re-run, a renamed entry and an entry after the other's migration was rolled back are not (one
declared migrated keeps its claim for good: `tests/test_claims_of_migrated_sources.py`)."""
from __future__ import annotations

import copy
import json

import pytest

from conftest import database_entry, load_plan_document, plan_with_databases
from migration_orchestration_lib import rehearsal, source_claims
from migration_orchestration_lib import sql_statements as statements
from migration_orchestration_lib.dag_factory import build_dag
from migration_orchestration_lib.plan import parse_plan
from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE, FileRecords
from migration_orchestration_lib.sql_statements import SourceIdentity
from migration_rehearsal.sql_world import SqlEngine, rows_as_dicts
from migration_rehearsal.world import World
from task_driver import RunDriver
from world_view import WorldView

ALIAS_HOST = "sales-listener.corp.contoso.com"
ACCESSES = ["direct", "dataFactory"]


def two_spellings_document(access="direct", a_target="mi-prod", b_target="vm-prod", mode="online"):
    """Entries `a` (sql01) and `b` (listener, the same SQL Server) for Sales."""
    document = plan_with_databases([
        database_entry("a", "Sales", mode=mode, target=a_target),
        database_entry("b", "Sales", mode=mode, target=b_target, source={"server": "listener", "database": "Sales"}),
    ])
    [sql01] = document["sourceServers"]
    listener = copy.deepcopy(sql01)
    listener.update(name="listener", host=ALIAS_HOST, connectionId="mssql_source_listener",
                    connectionStringSecretName="listener-connection-string")
    document["sourceServers"].append(listener)
    if access == "dataFactory":
        document["airflow"] = load_plan_document("fabric_host.json")["airflow"]
    return document


def setup(directory, document):
    plan = parse_plan(document)
    world = World(str(directory))
    world.add_server("sql01")
    world.add_server_alias("sql01", rehearsal.world_server_name(ALIAS_HOST))
    rehearsal.seed_world(world, plan)
    return plan, build_dag(plan, {"MIGRATION_DRY_RUN": "1"}), world


def claims(directory):
    with open("%s/%s" % (directory, RECORDS_FILE)) as handle:
        return {key: value for key, value in json.load(handle).items() if key.startswith(source_claims.CLAIM_PREFIX)}


def holder(directory):
    """The entry holding the one claim; "" where none is (released: no record left)."""
    values = list(claims(directory).values())
    assert len(values) <= 1 and "" not in values, values
    return json.loads(values[0])["database"] if values else ""


# --- the fake SQL Server: what real SQL Server answers ------------------------------------------


def test_the_same_database_reached_through_two_host_names_is_one_database_of_one_named_server(tmp_path):
    world = World(str(tmp_path))
    world.add_server("sql01")
    world.add_server_alias("sql01", "sales-listener")
    world.add_server_alias("sql01", "10.0.0.5")
    world.put_database("sql01", "Sales")
    world.put_database("sql01", "Hr")
    engine = SqlEngine(world)

    def identity(host, database="Sales"):
        cursor = engine.connect(server=host, user="u", password="p", autocommit=True).cursor()
        cursor.execute(statements.source_facts(database))
        return statements.parse_source_facts(rows_as_dicts(cursor)).identity

    [first] = {identity(host) for host in ("sql01.corp.contoso.com", "sql01", ALIAS_HOST, "10.0.0.5,1433")}
    assert first.server_name == "sql01"  # its own name, not the host the connection named
    assert identity("sql01", "Hr").database_guid != first.database_guid
    assert identity("sql01", "Missing") is None
    world.drop_database("sql01", "Sales")
    world.put_database("sql01", "Sales")  # a new database of that name is another database
    assert identity("sql01").database_guid != first.database_guid


def test_servername_and_serverproperty_servername_answer_the_servers_own_name(tmp_path):
    world = World(str(tmp_path))
    world.add_server("sql01")
    world.add_server_alias("sql01", "sales-listener")
    cursor = SqlEngine(world).connect(server=ALIAS_HOST, user="u", password="p", autocommit=True).cursor()
    cursor.execute("SELECT @@SERVERNAME AS configured, CONVERT(nvarchar(128), SERVERPROPERTY('ServerName')) AS instance;")
    assert rows_as_dicts(cursor) == [{"configured": "sql01", "instance": "sql01"}]


def test_claim_keys_are_lower_case_and_hold_no_backslash():
    key = source_claims.claim_key("Contoso-SQL", SourceIdentity("SQL01\\SALES", "5514C4AF-3828-4D9C-AE64-1F2E8F12A555"))
    assert key == "migration_source_claim__contoso-sql__sql01_sales__5514c4af-3828-4d9c-ae64-1f2e8f12a555"


# --- the DAG ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("access", ACCESSES)
def test_a_second_entry_naming_the_same_source_database_through_an_alias_is_refused_before_anything_changes(rehearsal_world, access):
    """(before: `b` passed preflight and started a second migration of Sales, into vm-prod, beside `a`'s)"""
    plan, dag, world = setup(rehearsal_world, two_spellings_document(access))
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("a.preflight")) == "success", driver.errors

    states = driver.run_database("b")

    assert states["b.preflight"] == "failed", (states, driver.errors)
    message = driver.errors["b.preflight"]
    for word in ("b and a name one source database", "sql01", "listener", ALIAS_HOST, "migration_source_claim__",
                 "remove b from the plan"):
        assert word in message, message
    assert states["b.rollback"] == "success", driver.errors
    b = WorldView(rehearsal_world, plan.database("b"), plan)
    assert b.operations() == [] and b.source_writable()
    assert holder(rehearsal_world) == "a"
    records = FileRecords(str(rehearsal_world), RECORDS_FILE)
    assert records.get("migration_source_before_freeze__listener__Sales") is None  # b recorded nothing of the source


def test_the_claiming_entry_migrates_and_keeps_the_claim_for_good(rehearsal_world):
    """`a` migrates while `b` is refused; `a` declared migrated keeps its claim, marked migrated (was: released, and
    `b` was judged by the source alone: `tests/test_claims_of_migrated_sources.py`): `b` is refused by it, told that
    `a`'s migration was declared."""
    plan, dag, world = setup(rehearsal_world, two_spellings_document())
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("a.preflight")) == "success", driver.errors
    assert driver.run_database("b")["b.preflight"] == "failed"

    states = driver.run_database("a")

    assert driver.outcome("a") == "migrated", (states, driver.errors)
    assert holder(rehearsal_world) == "a"
    later = RunDriver(dag)
    assert later.run_database("b")["b.preflight"] == "failed"
    assert "A run declared a's migration of it migrated" in later.errors["b.preflight"], later.errors["b.preflight"]
    assert holder(rehearsal_world) == "a"  # b's preflight took none, and its rollback released none


def test_a_rolled_back_entry_releases_its_claim_and_the_other_entry_may_then_migrate(rehearsal_world):
    plan, dag, world = setup(rehearsal_world, two_spellings_document(mode="offline"))
    world.add_fault("migrate", "migrationFailed", database="Sales", message="restore failed")
    driver = RunDriver(dag)
    assert driver.run_database("a")["a.rollback"] == "success", driver.errors
    assert driver.outcome("a") == "rolled_back"
    assert holder(rehearsal_world) == ""

    later = RunDriver(dag)
    states = later.run_database("b")

    assert later.outcome("b") == "migrated", (states, later.errors)
    assert holder(rehearsal_world) == "b"  # kept for good: b's migration was declared
    assert later.run_database("a")["a.preflight"] == "failed"  # a later: the source is b's migration's


def test_a_rollback_going_back_to_replicating_keeps_the_claim(rehearsal_world):
    """`a` replicating; a later run's preflight fails after claiming (the source switched to SIMPLE recovery): the
    rollback leaves the replication running, so the claim stays `a`'s and `b` is still refused."""
    plan, dag, world = setup(rehearsal_world, two_spellings_document())
    driver = RunDriver(dag)
    for task in ("a.preflight", "a.start_migration"):
        assert driver._run_task(dag.get_task(task)) == "success", driver.errors
    world.update_database("sql01", "Sales", recoveryModel="SIMPLE")

    later = RunDriver(dag)
    states = later.run_database("a")

    assert states["a.preflight"] == "failed" and states["a.rollback"] == "success", (states, later.errors)
    assert [op["migrationStatus"] for op in WorldView(rehearsal_world, plan.database("a"), plan).operations()] == ["InProgress"]
    assert holder(rehearsal_world) == "a"
    assert later.run_database("b")["b.preflight"] == "failed"
    assert "b and a name one source database" in later.errors["b.preflight"]


def test_a_re_run_of_the_claiming_entry_is_not_refused(rehearsal_world):
    plan, dag, world = setup(rehearsal_world, two_spellings_document())
    first = RunDriver(dag)
    assert first._run_task(dag.get_task("a.preflight")) == "success", first.errors
    second = RunDriver(dag)
    assert second._run_task(dag.get_task("a.preflight")) == "success", second.errors
    assert second._run_task(dag.get_task("a.start_migration")) == "success", second.errors
    assert holder(rehearsal_world) == "a"


@pytest.mark.parametrize("rename", ["entry", "source server"])
def test_a_renamed_entry_with_the_same_source_is_not_refused(rehearsal_world, rename):
    """`a` replicating, its entry renamed `c` (or its sourceServers entry renamed, the host kept): the claim
    names its source as written, so it is this entry."""
    document = two_spellings_document()
    document["databases"] = document["databases"][:1]
    plan, dag, world = setup(rehearsal_world, document)
    driver = RunDriver(dag)
    for task in ("a.preflight", "a.start_migration"):
        assert driver._run_task(dag.get_task(task)) == "success", driver.errors

    renamed = copy.deepcopy(document)
    if rename == "entry":
        renamed["databases"][0]["name"] = "c"
        name = "c"
    else:
        renamed["sourceServers"][0]["name"] = "sql01-renamed"
        renamed["databases"][0]["source"]["server"] = "sql01-renamed"
        name = "a"
    dag = build_dag(parse_plan(renamed), {"MIGRATION_DRY_RUN": "1"})
    later = RunDriver(dag)
    assert later._run_task(dag.get_task("%s.preflight" % name)) == "success", later.errors
    assert later._run_task(dag.get_task("%s.start_migration" % name)) == "success", later.errors
    assert holder(rehearsal_world) == name


def test_of_two_preflights_deciding_at_once_the_one_whose_claim_was_overwritten_starts_nothing(rehearsal_world):
    """Both found no claim (neither saw the other's write): the acting steps go on only under their own claim."""
    plan, dag, world = setup(rehearsal_world, two_spellings_document())
    driver = RunDriver(dag)
    assert driver._run_task(dag.get_task("a.preflight")) == "success", driver.errors
    records = FileRecords(str(rehearsal_world), RECORDS_FILE)
    [key] = claims(rehearsal_world)
    records.put(key, "")  # as b's preflight saw it: before a's write
    assert driver._run_task(dag.get_task("b.preflight")) == "success", driver.errors

    assert driver._run_task(dag.get_task("a.start_migration")) == "failed"
    assert "now b's" in driver.errors["a.start_migration"] and "nothing is started" in driver.errors["a.start_migration"]
    assert WorldView(rehearsal_world, plan.database("a"), plan).operations() == []
    assert driver._run_task(dag.get_task("b.start_migration")) == "success", driver.errors


def test_a_claim_of_an_entry_removed_from_the_plan_mid_migration_refuses_naming_what_to_clear(rehearsal_world):
    """`a` replicating is removed from the plan and `b` (the listener's spelling) added: a's migration goes on
    (stranded, `removed_databases`), so b is refused, told to clear the claim once that migration ended."""
    plan, dag, world = setup(rehearsal_world, two_spellings_document())
    driver = RunDriver(dag)
    for task in ("a.preflight", "a.start_migration"):
        assert driver._run_task(dag.get_task(task)) == "success", driver.errors
    document = two_spellings_document()
    document["databases"] = document["databases"][1:]
    dag = build_dag(parse_plan(document), {"MIGRATION_DRY_RUN": "1"})

    later = RunDriver(dag)
    assert later._run_task(dag.get_task("b.preflight")) == "failed"
    message = later.errors["b.preflight"]
    assert "a (no longer in the plan)" in message and "airflow variables set migration_source_claim__" in message, message
    [key] = claims(rehearsal_world)
    FileRecords(str(rehearsal_world), RECORDS_FILE).put(key, "")  # a person ended a's migration and cleared it
    assert later._run_task(dag.get_task("b.preflight")) == "success", later.errors


# --- maxMigrationsPerSourceServer counts one SQL Server once --------------------------------------


def test_admission_counts_the_entries_of_one_sql_server_together():
    from migration_orchestration_lib.capacity import admission_refusal
    from migration_orchestration_lib.migration_status import MigrationStatus

    document = two_spellings_document(b_target="mi-prod")
    document["databases"][1]["source"]["database"] = document["databases"][1]["target"]["database"] = "Hr"
    document["concurrency"]["maxMigrationsPerSourceServer"] = 1
    plan = parse_plan(document)
    scope = plan.target_of(plan.database("a")).resource_id.value
    in_flight = [(scope, "Sales", MigrationStatus("op", "InProgress", "Succeeded", "Sales"))]

    assert admission_refusal(plan, plan.database("b"), in_flight) is None  # counted per entry
    refusal = admission_refusal(plan, plan.database("b"), in_flight, frozenset({"listener", "sql01"}))
    assert refusal == ("1 migration(s) running or canceling in DMS from source server listener (one SQL Server with sql01) "
                       "(concurrency.maxMigrationsPerSourceServer 1)")


def test_a_database_of_the_same_sql_server_under_another_spelling_waits_for_its_place(rehearsal_world, monkeypatch):
    """(before: `b`, Hr through the listener, started beside `a`'s Sales on sql01 with maxMigrationsPerSourceServer 1)"""
    import task_driver

    document = two_spellings_document()
    document["databases"][1]["source"]["database"] = document["databases"][1]["target"]["database"] = "Hr"
    document["concurrency"]["maxMigrationsPerSourceServer"] = 1
    plan, dag, world = setup(rehearsal_world, document)
    driver = RunDriver(dag)
    for task in ("a.preflight", "a.start_migration", "b.preflight"):  # two databases: no claim refuses
        assert driver._run_task(dag.get_task(task)) == "success", driver.errors

    monkeypatch.setattr(task_driver, "MAX_POKES", 3)
    assert driver._run_task(dag.get_task("b.start_migration")) == "failed"
    assert "still waiting" in driver.errors["b.start_migration"], driver.errors
    assert WorldView(rehearsal_world, plan.database("b"), plan).operations() == []


# --- the claim in real Airflow Variables (the Task SDK on Airflow 3, the metadata database on 2.x) ----

READ = {}
CLAIM = source_claims.claim_key("contoso-sql", SourceIdentity("SQL01\\SALES", "5514C4AF-3828-4D9C-AE64-1F2E8F12A555"))
HOLDER = '{"database":"a","host":"sql01.corp.contoso.com","plan":"contoso-sql","port":1433,"sourceDatabase":"Sales","sourceServer":"sql01"}'


def claim_and_release_task():
    from migration_orchestration_lib.airflow_compat import BaseOperator
    from migration_orchestration_lib.cutover_services import AirflowVariableRecords

    class ClaimAndRelease(BaseOperator):
        def execute(self, context):
            store = AirflowVariableRecords()
            READ["before"] = store.get(CLAIM)
            store.put(CLAIM, HOLDER)
            READ["claimed"] = store.get(CLAIM)
            store.delete(CLAIM)  # released (`source_claims.release`)
            READ["released"] = store.get(CLAIM)

    return ClaimAndRelease(task_id="claim")


@pytest.mark.airflow210
@pytest.mark.airflow26
@pytest.mark.usefixtures("airflow_db")
def test_a_claim_a_task_takes_and_releases_is_kept_by_airflow_under_its_key():
    from conftest import register_for_dag_test
    from migration_orchestration_lib.airflow_compat import DAG, timezone

    with DAG("source_claims", schedule=None, start_date=timezone.datetime(2026, 1, 1)) as dag:
        claim_and_release_task()
    register_for_dag_test(dag)
    dag.test()

    assert READ == {"before": None, "claimed": HOLDER, "released": None}
    from airflow.models import Variable

    assert Variable.get(CLAIM, None) is None
