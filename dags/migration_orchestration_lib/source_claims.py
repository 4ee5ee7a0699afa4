"""One physical source database, one entry of the plan: the claim.

The plan rules refuse two `sourceServers` of one `host` (letter case aside) and port, and two entries
of one source database, but one SQL Server written under two spellings (a DNS alias, an IP address, a
short name and an FQDN, an Availability Group listener) is two servers to them, and a database under
both two entries: each would migrate it, one's rollback making the source writable after the other's
target went live, each freezing or unfreezing the other's source. Only SQL Server can tell:
`preflight` reads the source's identity (`sql_statements.source_facts`, with its state: the server's own
name and the database's `database_guid`, whatever name reached the server) and claims it for its entry in
`services.records`: the Airflow Variable
`migration_source_claim__<plan>__<server's own name>__<database_guid>` (lower case, characters other
than letters, digits, `.` and `-` written `_`; a rehearsal's world file) =
`{"database", "host", "plan", "port", "sourceDatabase", "sourceServer"}` of the entry holding it, and
`"migrated": true` once a run declared its migration migrated.

A claim another entry holds refuses the preflight before it records or changes anything, naming both
entries, the Variable, and what to write instead. An entry holds a claim that names it, and one that
names its source as written (the same `source.server` entry, or the same host, `\\MSSQLSERVER` or not,
and port; and the same database, letter case aside): the plan rules let no other entry write that, so
it is this entry renamed (`a` to `b`), or its source server renamed. Released (deleted: no Variable is left per source
database; an earlier version's `""` reads the same) when the entry's
migration is undone: its rollback ends `RolledBack` or `RolledBackTargetKept` (the migration canceled or never started, the
DAG's freeze undone); not when it goes back to replicating (the migration goes on), nor when the rollback fails
for a person. Kept for good once `done` declares the migration migrated (`keep_as_migrated`: marked `"migrated"`,
which a later run's preflight and rollback of the entry keep; they also mark it where a run declared a migration into
the entry's target, `handoffs.declared_into_target`: done's worker lost between its declaration and the mark, or a
source declared migrated by a version before, whose done released its claim): applications may write to its target now, and a
second entry migrating the same database again would put a second copy in service beside it and split their
writes. A source frozen by the DAG carries its freeze marker, which refuses such an entry too; a source read-only
before the migration (an archive, which needs no freeze) carries none, and only the claim refuses it
(`tests/test_claims_of_migrated_sources.py`; before, `done` released it and the second entry migrated the archive
again). An entry removed from the plan mid-migration keeps its claim
(`removed_databases`): the refusal says to clear it once that migration ended.

Two preflights of two entries deciding at the same moment could both find no claim: each writes its
own and reads it back, and the steps that act (start_migration, freeze_source, final_backup, cutover)
go on only while the claim they took is still theirs (`check_held`), so the one whose claim was
overwritten stops there, having changed nothing more.

The same read names each `sourceServers` entry's SQL Server: preflight records it,
`migration_source_server__<plan>__<sourceServers entry>` = the server's own name (lower case), and
admission (`capacity`) counts `maxMigrationsPerSourceServer` over the entries of one server
(`same_server_entries`). An entry no preflight has read yet counts alone; a record an entry's host
change made stale counts with its old server until a preflight of that entry reads it again.

Per plan: each Airflow runs one plan, and another Airflow's Variables are not seen, so two plans naming
one source database are left to the freeze marker (`source_freeze`), as before; a plan renamed meets no
claim of its old name. A source whose identity cannot be read (its row hidden from the login) is not
claimed, and blocks nothing.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import FrozenSet, Optional

from migration_orchestration_lib.handoffs import declared_into_target
from migration_orchestration_lib.operator_commands import variables_set
from migration_orchestration_lib.source_server_names import parse_address
from migration_orchestration_lib.sql_statements import SourceIdentity
from migration_orchestration_lib.step_context import PREFLIGHT_TASK, StepContext, StepFailure, delete_scratch_record

CLAIM_PREFIX = "migration_source_claim__"
CLAIM_XCOM_KEY = "source_claim"  # preflight's XCom: the key of the claim it took
MIGRATED = "migrated"  # in the claim once a run declared the entry's migration migrated
SERVER_PREFIX = "migration_source_server__"
_UNSAFE = re.compile(r"[^a-z0-9.-]")
MAX_SERVER_PART = 120  # Airflow keeps Variable keys up to 250 characters


@dataclass(frozen=True)
class Claim:
    plan: str
    database: str  # the entry's name
    source_server: str  # its sourceServers entry
    host: str
    port: int
    source_database: str
    migrated: bool = False  # a run declared the entry's migration migrated: the claim is kept for good


def claim_key(plan_name: str, identity: SourceIdentity) -> str:
    server = _UNSAFE.sub("_", identity.server_name.lower())[:MAX_SERVER_PART]
    return "%s%s__%s__%s" % (CLAIM_PREFIX, plan_name.lower(), server, identity.database_guid.lower())


def server_key(plan_name: str, source_server: str) -> str:
    return "%s%s__%s" % (SERVER_PREFIX, plan_name.lower(), source_server)


def record_server(ctx: StepContext, identity: SourceIdentity) -> None:
    """Which SQL Server the database's `sourceServers` entry reaches (written only when it changed)."""
    key, name = server_key(ctx.plan.name, ctx.database.source_server), identity.server_name.lower()
    if ctx.services.records.get(key) != name:
        ctx.services.records.put(key, name)


def same_server_entries(ctx: StepContext) -> FrozenSet[str]:
    """The plan's `sourceServers` entries (of its databases) that are the database's SQL Server, as their
    preflights read it: its own entry, and those whose record names the same server."""
    ours = ctx.database.source_server
    entries = sorted({database.source_server for database in ctx.plan.databases} - {ours})
    if not entries:  # one source server: nothing to read
        return frozenset({ours})
    records = ctx.services.records
    name = records.get(server_key(ctx.plan.name, ours))
    if not name:
        return frozenset({ours})
    return frozenset([ours] + [entry for entry in entries if records.get(server_key(ctx.plan.name, entry)) == name])


def claim(ctx: StepContext, identity: SourceIdentity) -> str:
    """Claim the source for this entry, or refuse (`StepFailure`) where another entry holds it. Returns the key."""
    key = claim_key(ctx.plan.name, identity)
    records = ctx.services.records
    held = records.get(key)
    if held and not _is_ours(ctx, _parse(held)):
        raise StepFailure(_refusal(ctx, identity, key, held))
    value = _value(ctx, migrated=(bool(held) and _parse(held).migrated) or _declared(ctx))  # a migrated entry's stays so
    records.put(key, value)
    ctx.task_instance.xcom_push(key=CLAIM_XCOM_KEY, value=key)
    now = records.get(key)
    if now != value and now and not _is_ours(ctx, _parse(now)):  # another entry's preflight wrote it meanwhile
        raise StepFailure(_refusal(ctx, identity, key, now))
    return key


def check_held(ctx: StepContext, nothing_done: str) -> None:
    """Fail, having done nothing (`nothing_done` says what), where the claim this run's preflight took is
    another entry's now (two preflights decided at once). No claim taken, or none held (cleared, lost): nothing."""
    key = _claim_taken(ctx)
    if not key:
        return
    held = ctx.services.records.get(key)
    if not held or _is_ours(ctx, _parse(held)):
        return
    holder = _parse(held)
    raise StepFailure(
        "%s: the claim on its source database that this run's preflight took (the Airflow Variable %s) is now %s's: "
        "another entry of the plan names the same database of the same SQL Server (its preflight ran at the same "
        "moment), so %s. Keep one entry per source database (see that entry's preflight), then run again"
        % (ctx.database.name, key, holder.database if holder else repr(held), nothing_done)
    )


def release(ctx: StepContext) -> None:
    """The entry's migration was rolled back: its claim is cleared, if it still holds it, unless a run declared the
    entry's migration migrated (`keep_as_migrated`): a later run's rollback never hands that source to another entry."""
    key = _claim_taken(ctx)
    if not key:
        return
    records = ctx.services.records
    held = records.get(key)
    holder = _parse(held)
    if not held or not _is_ours(ctx, holder) or holder.migrated:
        return
    if _declared(ctx):  # done's worker died between its declaration and `keep_as_migrated`
        records.put(key, _value(ctx, migrated=True))
    else:
        delete_scratch_record(lambda: records, key, "the claim on its source database")


def _declared(ctx: StepContext) -> bool:
    """A run declared a migration into the entry's target migrated (`handoffs`: its record by target, which `done`
    writes before it keeps the claim as migrated, and a preflight writes for a handoff of a version before)."""
    return bool(declared_into_target(ctx))


def keep_as_migrated(ctx: StepContext) -> None:
    """`done` declared the entry's migration migrated: its claim is kept for good, marked `migrated`, so that no other
    entry naming the same database (another spelling of its server) migrates it again beside the declared target. A
    claim another entry holds now is left as it is (`check_held` stops the steps that act); one cleared is written
    again: the source is this entry's migration's."""
    key = _claim_taken(ctx)
    if not key:
        return
    records = ctx.services.records
    held = records.get(key)
    if held and not _is_ours(ctx, _parse(held)):
        return
    value = _value(ctx, migrated=True)
    if held != value:
        records.put(key, value)


def _claim_taken(ctx: StepContext) -> Optional[str]:
    key = ctx.task_instance.xcom_pull(task_ids=ctx.task_id(PREFLIGHT_TASK), key=CLAIM_XCOM_KEY)
    return key if isinstance(key, str) and key else None


def _value(ctx: StepContext, migrated: bool = False) -> str:
    database, server = ctx.database, ctx.source_server
    value = {"plan": ctx.plan.name, "database": database.name, "sourceServer": database.source_server, "host": server.host,
             "port": server.port, "sourceDatabase": database.source_database}
    if migrated:
        value[MIGRATED] = True
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _parse(value: Optional[str]) -> Optional[Claim]:
    """The claim a Variable holds; None for a value the DAG did not write."""
    try:
        item = json.loads(value or "")
        return Claim(str(item["plan"]), str(item["database"]), str(item["sourceServer"]), str(item["host"]),
                     int(item["port"]), str(item["sourceDatabase"]), item.get(MIGRATED) is True)
    except (ValueError, TypeError, KeyError):
        return None


def _is_ours(ctx: StepContext, holder: Optional[Claim]) -> bool:
    """Whether `holder` is this entry: by name, or by its source as written (only this entry of the plan writes it)."""
    if holder is None or holder.plan != ctx.plan.name:
        return False
    database, server = ctx.database, ctx.source_server
    if holder.database == database.name:
        return True
    if holder.source_database.lower() != database.source_database.lower():
        return False
    return holder.source_server == database.source_server or _same_address(holder.host, holder.port, server.host, server.port)


def _same_address(host: str, port: int, other_host: str, other_port: int) -> bool:
    """The plan rules' sameness of two sourceServers: host letter case aside, `\\MSSQLSERVER` or not, and port."""
    one, other = parse_address(host), parse_address(other_host)
    return (one.machine, one.instance, port) == (other.machine, other.instance, other_port)


def _refusal(ctx: StepContext, identity: SourceIdentity, key: str, held: str) -> str:
    database, server = ctx.database, ctx.source_server
    holder = _parse(held)
    if holder is None:
        return (
            "%s: the Airflow Variable %s, the claim on source database %s of SQL Server %s (database_guid %s), holds %r, "
            "which the DAG did not write: nothing of %s is checked, started or frozen. Find out who wrote it; where no "
            "other entry of the plan migrates this database, clear it (%s) and run again"
            % (database.name, key, database.source_database, identity.server_name, identity.database_guid, held,
               database.name, variables_set(key))
        )
    other = holder.database
    if holder.plan != ctx.plan.name:
        other = "%s of plan %s" % (holder.database, holder.plan)
    elif other not in ctx.plan.database_names:
        other = "%s (no longer in the plan)" % holder.database
    both = (
        "%s and %s name one source database: SQL Server answers as %s, database %s (database_guid %s), both to %s "
        "(source server %s, host %s) and to %s (source server %s, host %s, database %s). "
        % (database.name, other, identity.server_name, database.source_database, identity.database_guid,
           database.name, database.source_server, server.host,
           holder.database, holder.source_server, holder.host, holder.source_database))
    if holder.migrated:
        return both + (
            "A run declared %s's migration of it migrated (the Airflow Variable %s, kept for good since): applications "
            "may write to %s's target, and migrating the database again through %s would put a second copy in service "
            "beside it and split their writes, so %s records nothing of the source and starts or freezes nothing. "
            "Remove %s from the plan (write each SQL Server under one sourceServers entry, whatever names reach it). "
            "Only where %s's target is out of service and you mean to migrate the database again, clear the claim: %s"
            % (holder.database, key, holder.database, database.name, database.name, database.name, holder.database,
               variables_set(key)))
    if holder.plan == ctx.plan.name and holder.database in ctx.plan.database_names:
        stale = ("If %s no longer names this database and its migration ended, clear the claim: %s"
                 % (holder.database, variables_set(key)))
    else:
        stale = ("Once %s's migration has ended (run_outcome reports a database removed mid-migration), clear the claim: "
                 "%s" % (holder.database, variables_set(key)))
    return both + (
        "Two entries would migrate it "
        "twice: one's rollback could make the source writable after the other's target went live, and each would "
        "freeze or unfreeze the other's source. %s holds it (the Airflow Variable %s, taken by its preflight, released "
        "when its migration is rolled back, kept for good once declared migrated), so %s records nothing of the source "
        "and starts or freezes nothing. Write each SQL Server under one sourceServers entry, whatever names reach it, "
        "and each source database under one entry: remove %s from the plan, or keep it and remove %s once its "
        "migration has ended. %s" % (holder.database, key, database.name, database.name, holder.database, stale)
    )

