"""Databases removed from the plan while their migration was under way: no task is left to finish or undo it.

Airflow marks the tasks of a database removed from the plan `removed`, in a running run too: no
rollback runs for it, so a source the DAG froze stays read-only and its DMS migration goes on. So
`run_outcome` (the run's last task, one run at a time: the record's only writer) keeps the plan's
databases of each run in the record `migration_plan_databases__<plan>` = `{"databases": [{"database",
"sourceServer", "sourceDatabase", "targetKind", "migrated", "targetServerId", "targetDatabase"}],
"startedThrough": n}` (a list alone where a version before wrote it) and compares them with the plan it
runs with. A database may be added and removed between the ends of two runs, so `start_migration`
lists it too, before it starts, adopts or freezes anything (`list_started`): in the record
`migration_plan_started__<plan>` = `{"databases": [{"seq", ...}], "next": n}`. Concurrent tasks would
lose each other's writes to one Variable, so that record's only writer is `start_migration`, which runs
in the one-slot admission pool (`database_migration_admission`), one at a time; `run_outcome` only reads
it, taking in the entries from its `startedThrough` on, and `start_migration` drops those taken in.
Every migration begins in `start_migration` (a SqlDb copy's freeze too), so none is under way that
neither record lists. A listed database is removed when no database of the plan names its source any
more, letter case aside (a renamed entry keeps its source, and its tasks carry on), and no
run declared it migrated. It is stranded when its source's record of the access before a freeze
(`source_freeze`) is still there (only the rollback's unfreeze clears it: the DAG's freeze may hold the
source), or when DMS runs a migration of its source into its listed target on the plan's service, in
flight, still canceling, or still copying though its last ARM operation failed (`still_runs_in_dms`; one
`listMigrations` call, made only when a removed database was listed with its target): a
database waiting for its cutover window or a place, replicating with its source live, or one sent back to
replicating (a missed window, a failed preflight) whose record was cleared then. `run_outcome` writes a
`rollback` `Failed` event for each (the rollback-failed alert: a person must act, naming the DMS
migration) and fails the run, saying what to do; it stays listed, and reported by every run, until its
record is cleared and DMS runs no migration of it.

The DAG does not cancel such a migration itself. Canceling an online migration that has not cut over
loses nothing (its source stays the live, writable database), but it throws away what DMS restored so
far (days of log backups for a large database), and a removal is not always meant: an entry dropped by a
bad merge, or moved to a source server entry of another name, is put back, and its next run carries on
where DMS stands. So the report says both ways: put it back in the plan (its steps carry on, or its
rollback undoes it), or cancel it (the `az datamigration ... cancel` command, named), drop the target it
leaves RESTORING (a managed instance's or SQL VM's; never an ONLINE one, nor a SqlDb target, which existed
before), give back the source's recorded access where the DAG froze it, and clear the record. A migration
whose cutover was requested (`Completing`) is going live: never to be canceled; the report says to put it
back; so does one DMS completed that no run declared (its run died before `done`): its target is live, and the
source goes back to its access only once whoever owns that target says nothing uses it. Where DMS cannot be read at `run_outcome`, a removed database without a record is neither reported
nor forgotten: the run fails saying so, its event is a warning (`Retrying`, no alert), and it stays listed for the
next look.

A listed database that a run declared migrated (DMS's latest migration into its target `Succeeded`, its
handoff recorded, `handoffs`; or, DMS running no migration into its target any more, the handoff by target)
is not stranded, though its end never listed it (its run killed) and its source keeps its record. A removed database whose name another entry took since (`b` renamed `a`) is
judged by its source, never by that entry's outcome. Limits: a database listed by a version before the
target fields is judged by its record alone; an admission pool given more than one slot may lose an entry
of the started record (two writers at once).
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any, Callable, Iterable, List, Optional, Tuple

from migration_orchestration_lib.handoffs import handoff_key, target_key
from migration_orchestration_lib.migration_status import MigrationStatus
from migration_orchestration_lib.operator_commands import variables_set
from migration_orchestration_lib.plan import DatabaseMigration, MigrationPlan
from migration_orchestration_lib.resource_id import ResourceId, comparable_id
from migration_orchestration_lib.source_freeze import record_key
from migration_orchestration_lib.sql_statements import FREEZE_MARKER, USER_ACCESS_MODES, in_unfreeze_order, quote_name

PLAN_DATABASES_PREFIX = "migration_plan_databases__"
STARTED_PREFIX = "migration_plan_started__"
# `az datamigration <group> cancel`: the command group and its server option by target kind.
CANCEL_COMMANDS = {
    "SqlMi": ("sql-managed-instance", "--managed-instance-name"),
    "SqlVm": ("sql-vm", "--sql-vm-name"),
    "SqlDb": ("sql-db", "--sqldb-instance-name"),
}


@dataclass(frozen=True)
class ListedDatabase:
    name: str
    source_server: str
    source_database: str
    target_kind: str
    migrated: bool
    # The target server's ARM id and the target database (None: listed by a version before them).
    target_server_id: Optional[str] = None
    target_database: Optional[str] = None

    @property
    def source(self) -> tuple:
        """The source as SQL Server names it: letter case aside (`SALES` is `Sales`)."""
        return self.source_server, self.source_database.lower()


@dataclass(frozen=True)
class Stranded:
    """A database removed from the plan mid-migration, and why it is: the record of its source's access
    before a freeze (`""`: none), and DMS's migration of its source into its target that DMS still works on
    (`MigrationStatus.still_runs_in_dms`; None: none seen, or not read)."""

    database: ListedDatabase
    record: str
    migration: Optional[MigrationStatus]
    unread: Optional[str] = None  # DMS could not be read (why): whether a migration of it goes on is not known
    none_in_dms: bool = False  # DMS was read: no migration of it is in flight
    completed: Optional[MigrationStatus] = None  # DMS completed it, and no run declared it: its target is live
    declared_into: Optional[str] = None  # the migration a run declared migrated into its target (the handoff by target)


def plan_databases_key(plan_name: str) -> str:
    return PLAN_DATABASES_PREFIX + plan_name


def started_key(plan_name: str) -> str:
    return STARTED_PREFIX + plan_name


def list_started(records: Any, plan: MigrationPlan, database: DatabaseMigration) -> None:
    """`start_migration`, before it acts: the database in the record `migration_plan_started__<plan>` =
    `{"next": n, "databases": [{"seq", ...as listed}]}`, for `run_outcome` to see it though it is removed
    before any run's end lists it. Its only writer: `start_migration` runs in the one-slot admission pool, one
    at a time. Entries `run_outcome` has taken in (`seq` below its `startedThrough`) are dropped here."""
    key = started_key(plan.name)
    started = json.loads(records.get(key) or "{}")
    taken_in = _started_through(records.get(plan_databases_key(plan.name)))
    entries = [item for item in started.get("databases", []) if item["seq"] >= taken_in]
    mine = _to_json(_listed(plan, database, migrated=False))
    listed = any(_same_entry(item, mine) for item in entries)
    if listed and len(entries) == len(started.get("databases", [])):
        return
    if not listed:
        seq = max(int(started.get("next", 0)), taken_in)
        entries.append(dict(mine, seq=seq))
        started["next"] = seq + 1
    records.put(key, json.dumps({"databases": entries, "next": started.get("next", 0)}, separators=(",", ":")))


def _same_entry(item: Any, other: Any) -> bool:
    return all(item.get(field) == other.get(field) for field in ("database", "sourceServer", "targetServerId", "targetDatabase")) and (
        item["sourceDatabase"].lower() == other["sourceDatabase"].lower())


def _started_through(listed_value: Optional[str]) -> int:
    return _taken_in(json.loads(listed_value or "[]"))


def _taken_in(listed: Any) -> int:
    """How far `run_outcome` took in the started record (a list alone, as a version before wrote it: nothing)."""
    return int(listed.get("startedThrough", 0)) if isinstance(listed, dict) else 0


def _listed(plan: MigrationPlan, database: DatabaseMigration, migrated: bool) -> ListedDatabase:
    return ListedDatabase(
        database.name, database.source_server, database.source_database, database.target_kind, migrated,
        target_server_id=plan.target_of(database).resource_id.value, target_database=database.target_database,
    )


def find_stranded(
    records: Any,
    plan: MigrationPlan,
    outcome_of: Callable[[str], Optional[str]],
    migrations: Optional[Callable[[], Iterable[Tuple[str, str, MigrationStatus]]]] = None,
) -> List[Stranded]:
    """The listed databases stranded outside `plan`; lists this run's databases (and the stranded) for the next run.
    `outcome_of(name)`: the database's outcome in this run (`migrated`, ...), for a removed one too (not read for
    one whose name another database of the plan (another source) took since: that task group's outcome is the
    other's). `migrations()`: DMS's latest migration into every target database of the plan's service
    (`DmsGateway.migrations_on_service`), read only where a removed database has a listed target; where it fails,
    a removed database it was needed for is returned `unread` (its run fails, saying so) and stays listed."""
    key = plan_databases_key(plan.name)
    value = json.loads(records.get(key) or "[]")
    earlier = [_from_json(item) for item in (value.get("databases", []) if isinstance(value, dict) else value)]
    # What start_migration listed since the last run's end: a database added and removed in between too.
    started = json.loads(records.get(started_key(plan.name)) or "{}")
    taken_in = _taken_in(value)
    sources = {entry.source for entry in earlier}
    for item in started.get("databases", []):
        entry = _from_json(dict(item, migrated=False))
        if item["seq"] >= taken_in and entry.source not in sources:
            earlier.append(entry)
            sources.add(entry.source)
    migrated_before = {listed.source for listed in earlier if listed.migrated}
    listed = [
        _listed(plan, database, outcome_of(database.name) == "migrated"
                or (database.source_server, database.source_database.lower()) in migrated_before)
        for database in plan.databases
    ]
    in_plan = {entry.source for entry in listed}
    names = set(plan.database_names)
    removed = [
        entry for entry in earlier
        if entry.source not in in_plan and not entry.migrated
        # Its task group's outcome, unless another database of the plan (another source) took its name.
        and (entry.name in names or outcome_of(entry.name) != "migrated")
    ]
    in_dms: Optional[List[Tuple[str, str, MigrationStatus]]] = None
    unread = None
    if migrations is not None and any(entry.target_server_id for entry in removed):
        try:
            in_dms = list(migrations())
        except Exception as error:  # the run fails, saying so: its databases are listed all the same
            unread = "%s: %s" % (type(error).__name__, error)
    stranded = []
    for entry in removed:
        record = records.get(record_key(entry)) or ""
        latest = _latest(entry, in_dms)
        if latest is not None and latest.is_succeeded and records.get(handoff_key(latest.migration_operation_id or "")):
            continue  # a run declared it migrated (one whose end never listed it: killed, say)
        declared_into = (records.get(target_key(entry.target_server_id, entry.target_database)) or None
                         if entry.target_server_id and entry.target_database else None)
        if (latest is None or not latest.still_runs_in_dms) and declared_into:
            continue  # so did one into its target: DMS forgot it since (its resource deleted), or reads it, or a later one, ended
        # In flight, still copying though its last ARM operation failed, or still canceling: DMS still works on it.
        migration = latest if latest is not None and latest.still_runs_in_dms else None
        if record or migration is not None:
            stranded.append(Stranded(entry, record, migration, unread if entry.target_server_id else None,
                                     none_in_dms=in_dms is not None and bool(entry.target_server_id) and migration is None,
                                     completed=latest if latest is not None and latest.is_succeeded else None,
                                     declared_into=declared_into))
        elif unread and entry.target_server_id:
            stranded.append(Stranded(entry, record, None, unread))
    kept = [found.database for found in stranded]
    records.put(key, json.dumps({
        "databases": [_to_json(entry) for entry in listed + kept],
        "startedThrough": max(int(started.get("next", 0)), taken_in),
    }, separators=(",", ":")))
    return stranded


def _latest(entry: ListedDatabase, in_dms: Optional[List[Tuple[str, str, MigrationStatus]]]) -> Optional[MigrationStatus]:
    """DMS's latest migration into the entry's target, where it is of the entry's source database."""
    if in_dms is None or not entry.target_server_id or not entry.target_database:
        return None
    target = (comparable_id(entry.target_server_id), entry.target_database.lower())
    for scope, target_database, status in in_dms:
        if ((comparable_id(scope), target_database.lower()) == target
                and (status.source_database_name or "").lower() == entry.source_database.lower()):
            return status
    return None


def stranded_message(records: Any, stranded: Stranded) -> str:
    database, record, migration = stranded.database, stranded.record, stranded.migration
    key = record_key(database)
    removed = "%s (source database %s on %s) was removed from the plan while its migration was under way: no task of the DAG finishes or undoes it any more" % (
        database.name, database.source_database, database.source_server)
    put_back = ("Put it back in the plan and run again (each step starts from where DMS and SQL Server stand: it carries "
                "on, or its rollback undoes it)")
    # The freeze marker stays on a source a person unfreezes: left there, the next run of this source stops on it.
    marker = "drop the DAG's freeze marker where the source carries one (EXEC %s.sys.sp_dropextendedproperty @name = N'%s')" % (
        quote_name(database.source_database), FREEZE_MARKER)
    clear = "give the source back the access recorded before the freeze, %s, %s, and then clear the record: %s" % (
        _access_back(database.source_database, record), marker, variables_set(key))
    if stranded.unread and not record:
        return ("%s was removed from the plan after a run listed it, and whether DMS still migrates it could not be read "
                "(%s): it stays listed, and this run fails rather than forget it. Clear this run's run_outcome task, or "
                "run again, to look again" % (database.name, stranded.unread))
    if stranded.none_in_dms and stranded.completed is not None:
        return ("%s, and the DAG's freeze may hold its source: its record of the access before a freeze is still there. "
                "DMS completed migration %s of it into target database %s, which is live, and no run validated it or "
                "declared it migrated (its run ended before done). %s; or, once whoever owns that target says no "
                "application uses it, where the source is read-only, %s (a writable source beside a target in use "
                "splits the writes); where it is writable, %s and clear the record all the same: %s"
                % (removed, stranded.completed.migration_operation_id, database.target_database, put_back, clear, marker,
                   variables_set(key)))
    if stranded.none_in_dms:
        return ("%s, and the DAG's freeze may hold its source: its record of the access before a freeze is still there "
                "(DMS runs no migration of it: none began, or it ended). %s; or, where the source is read-only, %s; "
                "where it is writable, %s and clear the record all the same: %s"
                % (removed, put_back, clear, marker, variables_set(key)))
    if migration is None:
        unread = " (whether DMS still migrates it could not be read: %s)" % stranded.unread if stranded.unread else ""
        return ("%s, so its source may stay frozen and its DMS migration goes on%s. %s; or undo it yourself (cancel its DMS "
                "migration, %s)" % (removed, unread, put_back, clear))
    target = "target database %s on %s %s" % (
        database.target_database, database.target_kind, _server_name(database.target_server_id))
    dms = "DMS migration %s (%s) of it into %s" % (migration.migration_operation_id, migration.migration_status, target)
    frozen = (" The DAG's freeze may hold the source (its record of the access before a freeze is still there, %s: "
              "read-only now means frozen by the DAG)" % shlex.quote(record)) if record else " The DAG's freeze does not hold the source (no record of one)"
    if stranded.declared_into:  # a later migration (a person's, through the plan's service) runs into a declared target
        handoff = target_key(database.target_server_id or "", database.target_database or "")
        return ("%s. %s runs into a target a run declared migrated (migration %s, the Airflow Variable %s), so "
                "applications may write to it.%s. Never drop that target, and keep the source frozen until whoever "
                "owns that target says nothing uses it (a writable source beside it would split their writes); end "
                "that migration yourself, so that it copies or restores nothing into the target: %s"
                % (removed, dms, stranded.declared_into, handoff, frozen, _cancel_command(database, migration)))
    if migration.cutover_requested:
        return ("%s. %s was asked to cut over: the target goes live, and no run validates or declares it.%s. Never "
                "cancel it or drop that target: %s (it validates the target and declares it migrated, or its rollback "
                "fails for a person)" % (removed, dms, frozen, put_back))
    if database.target_kind == "SqlDb":
        leftover = "keep the target database, which existed before the migration (clear what the copy wrote only if nothing uses it)"
    else:
        leftover = ("then drop the target database it leaves RESTORING (only that: never one ONLINE, nor one that "
                    "existed before the migration)")
    give_back = ("; where the source is read-only (frozen by the DAG), give it back the access recorded before the freeze, %s; "
                 "%s; and clear the record (the run reports it until then): %s" % (
                     _access_back(database.source_database, record), marker, variables_set(key))
                 if record else "")
    if migration.is_canceling:
        return ("%s. %s is still being canceled (DMS may still restore into the target until it reports it Canceled).%s. "
                "%s; or, once DMS reports it Canceled: %s%s" % (removed, dms, frozen, put_back, leftover, give_back))
    return (
        "%s. %s goes on for good (DMS keeps restoring into a target no run takes live), and the DAG does not cancel it: "
        "the removal may be undone.%s. %s; or end it yourself: cancel it, which loses nothing while it has not cut over "
        "(the source stays the database applications use): %s; %s%s"
        % (removed, dms, frozen, put_back, _cancel_command(database, migration), leftover, give_back)
    )


def _access_back(source_database: str, record: str) -> str:
    """The record of the source's access before the freeze, and the T-SQL that gives it back, in the order the rollback's
    batch takes (`sql_statements.in_unfreeze_order`). A record
    that does not read as one is printed alone."""
    try:
        value = json.loads(record)
        read_only, user_access = value["readOnly"], value["userAccess"]
    except (ValueError, TypeError, KeyError):
        return shlex.quote(record)
    if not isinstance(read_only, bool) or user_access not in USER_ACCESS_MODES:
        return shlex.quote(record)
    name = quote_name(source_database)
    access = "ALTER DATABASE %s SET %s WITH ROLLBACK IMMEDIATE" % (name, user_access)
    writable = [] if read_only else ["ALTER DATABASE %s SET READ_WRITE WITH ROLLBACK IMMEDIATE" % name]
    return "%s (%s)" % (shlex.quote(record), "; ".join(in_unfreeze_order(user_access, access, writable)))


def _server_name(server_id: Optional[str]) -> str:
    parsed = ResourceId.parse(server_id or "")
    return parsed.name if parsed else str(server_id)


def _cancel_command(database: ListedDatabase, migration: MigrationStatus) -> str:
    group, server_option = CANCEL_COMMANDS[database.target_kind]
    server = ResourceId.parse(database.target_server_id or "")
    return "az datamigration %s cancel --resource-group %s %s %s --target-db-name %s --migration-operation-id %s%s" % (
        group, shlex.quote(server.resource_group if server else "?"), server_option, shlex.quote(server.name if server else "?"),
        shlex.quote(database.target_database or ""), shlex.quote(migration.migration_operation_id or ""),
        " --subscription %s" % shlex.quote(server.subscription_id) if server else "")


def _from_json(item: Any) -> ListedDatabase:
    return ListedDatabase(
        item["database"], item["sourceServer"], item["sourceDatabase"], item["targetKind"], bool(item["migrated"]),
        item.get("targetServerId"), item.get("targetDatabase"),
    )


def _to_json(entry: ListedDatabase) -> dict:
    item = {
        "database": entry.name,
        "sourceServer": entry.source_server,
        "sourceDatabase": entry.source_database,
        "targetKind": entry.target_kind,
        "migrated": entry.migrated,
    }
    if entry.target_server_id:
        item.update(targetServerId=entry.target_server_id, targetDatabase=entry.target_database)
    return item
