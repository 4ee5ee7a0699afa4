"""The simulated world's state: atomic, shared across processes, and refusing what SQL Server refuses."""
from __future__ import annotations

import json
import multiprocessing

import pytest

from migration_rehearsal.world import World, WorldError


CUSTOMERS = [{"name": "Id", "type": "int"}, {"name": "Name", "type": "nvarchar"}]


@pytest.fixture
def world(tmp_path):
    world = World(str(tmp_path / "world"))
    world.add_server("sql01")
    world.put_database("sql01", "Sales", tables={"dbo.Customers": {"columns": CUSTOMERS, "rows": [[1, "Ada"]]}})
    return world


def test_names_are_case_insensitive_and_keep_their_spelling(world):
    assert world.database("SQL01", "sales")["name"] == "Sales"
    assert world.server("sql01.contoso.local,1433") == {"name": "sql01", "kind": "SqlServer"}
    assert world.server("tcp:SQL01\\INST1,1433")["name"] == "sql01"
    assert world.server("sql02") is None


def test_a_server_reached_by_an_alias_keeps_its_own_name(world):
    """A DNS alias, an Availability Group listener or an IP address finds the server; its name stays."""
    world.add_server_alias("sql01", "sales-listener")
    world.add_server_alias("sql01", "10.0.0.5")
    assert world.server("tcp:sales-listener.corp.contoso.com,1433") == {"name": "sql01", "kind": "SqlServer"}
    assert world.server("10.0.0.5,1433")["name"] == "sql01"
    assert world.database("sales-listener", "Sales")["name"] == "Sales"
    world.add_server("sales-listener")  # a plan seeding its host's server finds the aliased one
    assert sorted(world.snapshot()["servers"]) == ["sql01"]
    world.add_server("sql02")
    with pytest.raises(WorldError, match="names another server"):
        world.add_server_alias("sql02", "sales-listener")


def test_state_survives_a_new_world_object_on_the_same_directory(world):
    world.update_database("sql01", "Sales", readOnly=True)
    again = World(world.directory)
    assert again.database("sql01", "Sales")["readOnly"] is True


def test_methods_return_copies(world):
    database = world.database("sql01", "Sales")
    database["readOnly"] = True
    assert world.database("sql01", "Sales")["readOnly"] is False


def test_a_snapshot_is_a_copy_alone_and_inside_a_transaction(world):
    world.snapshot()["servers"]["sql01"]["databases"]["sales"]["readOnly"] = True
    assert world.database("sql01", "Sales")["readOnly"] is False
    with world.transaction():
        world.snapshot()["servers"]["sql01"]["databases"]["sales"]["readOnly"] = True
        assert world.database("sql01", "Sales")["readOnly"] is False
    assert world.database("sql01", "Sales")["readOnly"] is False


def test_a_transaction_that_raises_changes_nothing(world):
    with pytest.raises(RuntimeError):
        with world.transaction():
            world.update_database("sql01", "Sales", readOnly=True)
            raise RuntimeError("boom")
    assert world.database("sql01", "Sales")["readOnly"] is False


def test_a_batch_keeps_what_ran_before_its_error_but_not_a_refused_update(world):
    """`keep_on_error` (a SQL batch): the changes before the error are saved; an update the world
    refuses changes nothing, even inside such a transaction."""
    with pytest.raises(WorldError, match="userAccess must be one of"):
        with world.transaction(keep_on_error=True):
            world.update_database("sql01", "Sales", readOnly=True)
            world.update_database("sql01", "Sales", recoveryModel="SIMPLE", userAccess="SOMETIMES")
    sales = world.database("sql01", "Sales")
    assert (sales["readOnly"], sales["recoveryModel"], sales["userAccess"]) == (True, "FULL", "MULTI_USER")


def test_updates_are_checked(world):
    with pytest.raises(WorldError, match="userAccess must be one of"):
        world.update_database("sql01", "Sales", userAccess="SOMETIMES")
    with pytest.raises(WorldError, match="unknown database field"):
        world.update_database("sql01", "Sales", read_only=True)
    with pytest.raises(WorldError, match="no database Hr on server sql01"):
        world.update_database("sql01", "Hr", readOnly=True)


def test_log_backups_chain_from_the_full_backup_and_carry_the_rows(world):
    with pytest.raises(WorldError, match="no full backup"):
        world.take_backup("sql01", "Sales", "LOG", r"\\share\sql01\Sales_0.trn")
    full = world.take_backup("sql01", "Sales", "FULL", r"\\share\sql01\Sales.bak")
    world.set_table("sql01", "Sales", "dbo.Customers", CUSTOMERS, [[1, "Ada"], [2, "Grace"]])
    log = world.take_backup("sql01", "Sales", "LOG", r"\\share\sql01\Sales_1.trn")
    tail = world.take_backup("sql01", "Sales", "LOG", r"\\share\sql01\Sales_2.trn")

    # each backup writes a log record; the log chain starts at the full backup
    assert (full["firstLsn"], full["lastLsn"]) == (1, 2)
    assert (log["firstLsn"], log["lastLsn"]) == (1, 4)  # the write was LSN 3
    assert (tail["firstLsn"], tail["lastLsn"]) == (4, 5)
    assert log["fileName"] == "Sales_1.trn" and log["sequence"] > full["sequence"]
    assert full["tables"]["dbo.Customers"]["rows"] == [[1, "Ada"]]
    assert log["tables"]["dbo.Customers"]["rows"] == [[1, "Ada"], [2, "Grace"]]
    assert [b["fileName"] for b in world.backups("sql01", "sales")] == ["Sales.bak", "Sales_1.trn", "Sales_2.trn"]
    with pytest.raises(WorldError, match="already exists"):
        world.take_backup("sql01", "Sales", "LOG", r"\\SHARE\sql01\sales_2.TRN")


def test_backups_of_a_read_only_database_write_no_log_record(world):
    """SQL Server writes no log record into a read-only database: its backups leave the log's end where it is, a log
    backup with nothing new holds nothing (firstLsn = lastLsn); one after a write holds just that write, and the
    option changes around it. Backups of a writable database still write one (lsn + 1)."""
    first = world.take_backup("sql01", "Sales", "FULL", r"\\share\sql01\Sales.bak")
    world.update_database("sql01", "Sales", readOnly=True)
    end = world.database("sql01", "Sales")["lsn"]
    full = world.take_backup("sql01", "Sales", "FULL", r"\\share\sql01\Sales_frozen.bak")
    log = world.take_backup("sql01", "Sales", "LOG", r"\\share\sql01\Sales_1.trn")
    empty = world.take_backup("sql01", "Sales", "LOG", r"\\team\Sales_job.trn")
    assert (full["firstLsn"], full["lastLsn"]) == (end, end)
    assert (log["firstLsn"], log["lastLsn"]) == (first["firstLsn"], end), "the log since the chain began, up to its end"
    assert (empty["firstLsn"], empty["lastLsn"]) == (end, end)
    assert world.database("sql01", "Sales")["lsn"] == end
    world.update_database("sql01", "Sales", readOnly=False)
    world.set_table("sql01", "Sales", "dbo.Customers", CUSTOMERS, [[1, "Ada"], [2, "Grace"]])
    world.update_database("sql01", "Sales", readOnly=True)
    written = world.take_backup("sql01", "Sales", "LOG", r"\\team\Sales_job_2.trn")
    assert (written["firstLsn"], written["lastLsn"]) == (end, end + 3), "READ_WRITE, the write, READ_ONLY; no record of the backup"
    world.update_database("sql01", "Sales", readOnly=False)
    writable = world.take_backup("sql01", "Sales", "LOG", r"\\team\Sales_job_3.trn")
    assert (writable["firstLsn"], writable["lastLsn"]) == (end + 3, end + 5), "READ_WRITE, and a writable database's backup"


def test_option_changes_are_logged_where_sql_server_logs_them(world):
    """SET READ_ONLY and SET READ_WRITE each write a log record (while the database is writable), as does a user
    access change of a writable database and a change of its extended properties (a write); a user access change
    of a read-only database writes none, nor does setting an option to what it is."""
    def lsn():
        return world.database("sql01", "Sales")["lsn"]

    start = lsn()
    world.update_database("sql01", "Sales", userAccess="RESTRICTED_USER")
    assert lsn() == start + 1, "a writable database's user access change"
    world.update_database("sql01", "Sales", extendedProperties={"migration_freeze": "ours"})
    assert lsn() == start + 2, "an extended property added: a write"
    world.update_database("sql01", "Sales", readOnly=True)
    assert lsn() == start + 3, "SET READ_ONLY"
    world.update_database("sql01", "Sales", readOnly=True, userAccess="SINGLE_USER")
    world.update_database("sql01", "Sales", userAccess="MULTI_USER")
    assert lsn() == start + 3, "read-only: nothing set READ_ONLY again, no user access change logged"
    world.update_database("sql01", "Sales", readOnly=False)
    assert lsn() == start + 4, "SET READ_WRITE"
    world.update_database("sql01", "Sales", extendedProperties={})
    assert lsn() == start + 5, "the extended property dropped"


def test_simple_recovery_has_no_log_backups(world):
    world.update_database("sql01", "Sales", recoveryModel="SIMPLE")
    world.take_backup("sql01", "Sales", "FULL", "/share/Sales.bak")
    with pytest.raises(WorldError, match="SIMPLE recovery model"):
        world.take_backup("sql01", "Sales", "LOG", "/share/Sales.trn")


def test_faults_are_consumed_in_order_and_filtered_by_database(world):
    world.add_fault("get", "throttle", count=2, database="db1", retry_after_seconds=3)
    world.add_fault("any", "error", status=503)
    assert world.take_fault("get", "DB1")["retryAfterSeconds"] == 3
    assert world.take_fault("get", "other")["status"] == 503
    assert world.take_fault("get", "db1")["kind"] == "throttle"
    assert world.take_fault("get", "db1") is None
    assert world.faults() == []
    with pytest.raises(WorldError, match="fault kind"):
        world.add_fault("get", "flaky")


def test_reads_and_a_fault_looked_for_in_vain_never_serialise_or_write_the_world(world, monkeypatch):
    """Every request to the fake servers and every connection of the fake SQL engine looks for a fault first, and
    finds none; a test's observer reads the world after each poke. Those reads only parse the file (`World.reading`):
    neither written nor serialised again to see whether they changed it (was: most of the world's CPU in a rehearsal)."""
    def saved(*_args):
        raise AssertionError("a read serialised the world")

    monkeypatch.setattr(World, "_save", saved)
    assert world.database("sql01", "Sales")["name"] == "Sales" and world.server("sql01")["kind"] == "SqlServer"
    assert [d["name"] for d in world.databases("sql01")] == ["Sales"] and "sql01" in world.snapshot()["servers"]
    assert world.take_fault("get", "Sales") is None and not world.has_fault("get") and world.faults() == []
    monkeypatch.undo()
    world.add_fault("get", "error", status=503)
    assert world.take_fault("get", "Sales")["status"] == 503 and world.faults() == []
    with world.reading():  # a change there is refused, not left waiting for ever on the reader's own lock
        with pytest.raises(WorldError, match="inside World.reading"):
            world.add_server("sql02")
    assert world.server("sql02") is None


def _add_rows(directory: str, worker: int) -> None:
    world = World(directory)
    for row in range(20):
        with world.transaction():
            rows = world.database("sql01", "Sales")["tables"]["dbo.Customers"]["rows"]
            world.set_table("sql01", "Sales", "dbo.Customers", CUSTOMERS, rows + [[worker * 100 + row, "x"]])


def test_processes_sharing_the_directory_lose_no_write(world):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_add_rows, args=(world.directory, worker)) for worker in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    rows = world.database("sql01", "Sales")["tables"]["dbo.Customers"]["rows"]
    assert len(rows) == 1 + 3 * 20
    json.loads(open(world.directory + "/world.json").read())  # never left half-written


def test_a_read_sees_every_write_made_since_the_last_read_by_any_process_and_a_snapshot_is_the_callers(world):
    """Reads between two writes share the state the first of them parsed (`World.reading`): a write through another
    World object (another process's, a server's) is seen by the next read, and a snapshot the caller changes changes
    no later read."""
    assert world.database("sql01", "Sales")["readOnly"] is False
    World(world.directory).update_database("sql01", "Sales", readOnly=True)
    assert world.database("sql01", "Sales")["readOnly"] is True
    world.snapshot()["servers"].clear()
    world.database("sql01", "Sales")["readOnly"] = False
    assert world.database("sql01", "Sales")["readOnly"] is True and world.server("sql01") is not None


def test_a_record_read_and_the_clock_asked_the_time_never_serialise_or_write_their_files(tmp_path, monkeypatch):
    """The rehearsal's records (the Airflow Variables' stand-ins) and its simulated clock, read at every poke, as the
    world's reads: parsed only."""
    import types

    from migration_orchestration_lib import rehearsal_cutover
    from migration_orchestration_lib.rehearsal_cutover import RECORDS_FILE, FileRecords, SimulatedClock

    records = FileRecords(str(tmp_path), RECORDS_FILE)
    records.put("migration_x", "1")
    clock = SimulatedClock(str(tmp_path), {}, {"MIGRATION_DRY_RUN": "1", "MIGRATION_SIMULATE_START": "2026-12-03T12:00:00Z"})

    def dumped(*_args, **_kwargs):
        raise AssertionError("a read serialised its file")

    monkeypatch.setattr(rehearsal_cutover, "json", types.SimpleNamespace(loads=json.loads, dumps=dumped))
    assert records.get("migration_x") == "1" and records.get("migration_y") is None
    assert rehearsal_cutover.iso_utc(clock.now()) == "2026-12-03T12:00:00Z" and clock.horizon() is not None
