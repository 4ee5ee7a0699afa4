"""How many DMS migrations may run at once: counted from DMS, admitted one at a time.

A pool cannot bound migrations in flight: a migration runs for hours inside DMS while its
Airflow tasks wait in reschedule mode (or deferred), holding no slot. So `start_migration` counts
the migrations DMS reports in flight on the migration service (one list call) before it creates
one, and refuses while the plan's `concurrency` limits are reached. One DMS still cancels, or still
copies though its last ARM operation failed, counts too (`MigrationStatus.still_runs_in_dms`): DMS
still works on it, and may still restore into its target. It runs in the admission pool
(one slot), so no two admissions count at the same time and the limits hold exactly. Per source
server means per SQL Server: `sourceServers` entries that are one server under two spellings (as
their preflights read it, `source_claims`) count together.
"""
from __future__ import annotations

from typing import AbstractSet, Any, Dict, Iterable, Iterator, List, Optional, Tuple

from migration_orchestration_lib.handoffs import declared_migrated, handoff_key, target_key
from migration_orchestration_lib.migration_status import MigrationStatus
from migration_orchestration_lib.operator_commands import variables_set
from migration_orchestration_lib.plan import DatabaseMigration, MigrationPlan
from migration_orchestration_lib.resource_id import comparable_id
from migration_orchestration_lib.source_freeze import record_key


def admission_refusal(
    plan: MigrationPlan, database: DatabaseMigration, migrations: Iterable[Tuple[str, str, MigrationStatus]],
    same_server: Optional[AbstractSet[str]] = None,
) -> Optional[str]:
    """Why `database` may not start now, or None. `migrations`: (scope, target database, status)
    of every migration on the service, as DMS lists them. `same_server`: the plan's `sourceServers`
    entries that are the database's SQL Server (`source_claims.same_server_entries`: one server under
    two spellings counts once); default: its own entry alone."""
    limit = admission_limit(plan, database, migrations, same_server)
    return limit[1] if limit else None


def admission_limit(
    plan: MigrationPlan, database: DatabaseMigration, migrations: Iterable[Tuple[str, str, MigrationStatus]],
    same_server: Optional[AbstractSet[str]] = None,
) -> Optional[Tuple[str, str]]:
    """(where the limit is reached: "the migration service" or "source server <name>", why) as `admission_refusal`
    says it, or None."""
    source_of_target = _plan_sources_by_target(plan)
    ours = frozenset(same_server or ()) | {database.source_server}
    in_flight = 0
    from_same_source = 0
    for scope, target_database, status in migrations:
        if not status.still_runs_in_dms:
            continue
        in_flight += 1
        if source_of_target.get((comparable_id(scope), target_database.lower())) in ours:
            from_same_source += 1
    limits = plan.concurrency
    if in_flight >= limits.max_migrations_per_service:
        return "the migration service", (
            "%d migration(s) running or canceling in DMS on the migration service (concurrency.maxMigrationsPerService %d)"
            % (in_flight, limits.max_migrations_per_service)
        )
    if from_same_source >= limits.max_migrations_per_source_server:
        return "source server %s" % database.source_server, (
            "%d migration(s) running or canceling in DMS from source server %s%s (concurrency.maxMigrationsPerSourceServer %d)" % (
                from_same_source,
                database.source_server,
                "" if len(ours) == 1 else " (one SQL Server with %s)" % ", ".join(sorted(ours - {database.source_server})),
                limits.max_migrations_per_source_server,
            )
        )
    return None


def capacity_holders(
    plan: MigrationPlan, database: DatabaseMigration, migrations: Iterable[Tuple[str, str, MigrationStatus]]
) -> Tuple[List[str], int]:
    """Who holds the places: the other databases of the plan whose migrations DMS still runs (`still_runs_in_dms`), by
    name, and how many it still runs into no target of the plan."""
    names = {
        (comparable_id(plan.target_of(d).resource_id.value), d.target_database.lower()): d.name for d in plan.databases
    }
    holders, unplanned = set(), 0
    for scope, target_database, status in migrations:
        if not status.still_runs_in_dms:
            continue
        name = names.get((comparable_id(scope), target_database.lower()))
        if name is None:
            unplanned += 1
        elif name != database.name:
            holders.add(name)
    return sorted(holders), unplanned


def second_migration_refusal(
    plan: MigrationPlan, database: DatabaseMigration, migrations: Iterable[Tuple[str, str, MigrationStatus]],
    host: str, port: int, record_key: str, record: Optional[str], migration_service_id: Optional[str] = None,
) -> Optional[str]:
    """Why no migration of `database` may be created: DMS runs one of its source database (of its source
    server, or one DMS names none of) on this plan's service into a target that no database of the plan
    names: the entry's target changed while that migration was under way (or its entry was removed). A
    second migration of one source would leave the first running for good, its target restoring, perhaps
    its source frozen. `record_key`, `record`: the source's record of the access before a freeze (`source_freeze`),
    for the message."""
    found = migration_into_an_unnamed_target(plan, database, migrations, host, port, migration_service_id)
    if found is None:
        return None
    return "%s, so no second migration of %s is started%s%s. %s" % (
        describe_unnamed_target_migration(database, found), database.source_database,
        " while DMS still cancels that one: it may still restore into its target" if found[2].is_canceling
        else ": it would leave that one running for good",
        ", its target restoring and maybe its source frozen" if record else "",
        unnamed_target_migration_remedy(database, record_key, record))


def migration_into_an_unnamed_target(
    plan: MigrationPlan, database: DatabaseMigration, migrations: Iterable[Tuple[str, str, MigrationStatus]],
    host: str, port: int, migration_service_id: Optional[str] = None,
) -> Optional[Tuple[str, str, MigrationStatus]]:
    """(scope, target database, status) of a migration DMS still runs (in flight, still copying after a failed ARM
    operation, or still canceling: `MigrationStatus.still_runs_in_dms`) of `database`'s source database into a target
    that no database of the plan names (`migrations_into_unnamed_targets`); None where DMS runs none. One still
    canceling or still copying may still restore into that target: a second migration of the source is refused beside
    it as beside one in flight."""
    return next((found for found in migrations_into_unnamed_targets(plan, database, migrations, host, port, migration_service_id)
                 if found[2].still_runs_in_dms), None)


def migrations_into_unnamed_targets(
    plan: MigrationPlan, database: DatabaseMigration, migrations: Iterable[Tuple[str, str, MigrationStatus]],
    host: str, port: int, migration_service_id: Optional[str] = None,
) -> Iterator[Tuple[str, str, MigrationStatus]]:
    """(scope, target database, status) of each latest migration DMS lists, whatever its status, of `database`'s source
    database (of its source server, or one DMS names none of) on this plan's service into a target that no database of
    the plan names (the entry's target server or database changed since)."""
    targets = {(comparable_id(plan.target_of(d).resource_id.value), d.target_database.lower()) for d in plan.databases}
    for scope, target_database, status in migrations:
        if (status.source_database_name or "").lower() != database.source_database.lower():
            continue
        if (comparable_id(scope), target_database.lower()) in targets or status.other_source_server(host, port):
            continue
        if migration_service_id is not None and status.runs_on_another_service(migration_service_id):
            continue
        yield scope, target_database, status


def describe_unnamed_target_migration(database: DatabaseMigration, found: Tuple[str, str, MigrationStatus]) -> str:
    scope, target_database, status = found
    return (
        "DMS migration %s (%s) of source database %s runs on this plan's migration service into target database %s "
        "on %s, which no database of the plan names (the target of %s changed while that migration was under way?)"
        % (status.migration_operation_id, status.migration_status, database.source_database, target_database,
           scope.rstrip("/").rsplit("/", 1)[-1], database.name)
    )


def unnamed_target_migration_remedy(database: DatabaseMigration, record_key: str, record: Optional[str]) -> str:
    """What a person does about a migration into a target the plan no longer names."""
    return (
        "A person must act: put the target of %s back to that one and run again (each step carries on from where DMS "
        "stands); or end that migration yourself (cancel it in DMS, drop the target database it leaves RESTORING on a "
        "managed instance or SQL VM, or clear what it copied into a SQL Database, only if nothing uses it%s); then run again"
        % (database.name,
           "; where the DAG froze the source, give it back the access before the freeze, which the Airflow Variable %s = %s "
           "holds, only once DMS shows that migration's migrationStatus Canceled or Failed (not only its provisioningState): one it shows Succeeded (or whose cutover was "
           "asked for) may have handed its target to applications, and a writable source beside it would split their "
           "writes, so the source stays frozen until whoever owns that target says it is unused" % (record_key, record)
           if record else "")
    )


def migrations_by_database(
    plan: MigrationPlan, migrations: Iterable[Tuple[str, str, MigrationStatus]]
) -> Dict[str, MigrationStatus]:
    """Plan database name -> the latest migration DMS lists into its target."""
    names = {
        (comparable_id(plan.target_of(d).resource_id.value), d.target_database.lower()): d.name for d in plan.databases
    }
    found = {}
    for scope, target_database, status in migrations:
        name = names.get((comparable_id(scope), target_database.lower()))
        if name is not None:
            found[name] = status
    return found


def _declared_into(ctx: Any, scope: str, target_database: str, status: MigrationStatus) -> Optional[Tuple[str, str]]:
    """(the migration a run declared migrated into that target, with DMS's status where it is the latest; the record a
    person clears to migrate again), or None: that latest migration itself, or, where DMS's latest into it is another
    (the declared one was followed by one that ended: a person's, failed over the live database), the handoff by target."""
    if declared_migrated(ctx, status.migration_operation_id):
        return "%s (%s)" % (status.migration_operation_id, status.migration_status), handoff_key(status.migration_operation_id or "")
    key = target_key(scope, target_database)
    recorded = ctx.services.records.get(key)
    if recorded and recorded != status.migration_operation_id:
        return "%s (DMS's latest migration into it since, %s, %s)" % (recorded, status.migration_operation_id, status.migration_status), key
    return None


def _plan_sources_by_target(plan: MigrationPlan) -> Dict[Tuple[str, str], str]:
    return {
        (comparable_id(plan.target_of(d).resource_id.value), d.target_database.lower()): d.source_server for d in plan.databases
    }


def migrated_elsewhere(ctx: Any, now: Any, reuse_list: bool = False) -> str:
    """Why the DAG's freeze must hold though the entry's target needs it no more (empty: it need not), for `preflight`
    (nothing starts then) and the rollback (nothing unfrozen); `now`: where the entry's target's migration stands
    (`migration_stage.Standing`). DMS lists a
    migration of the source on the plan's service into a target the plan no longer names (the entry's target server
    or database changed since: its `resourceId` edited keeps the entry's name, all a freeze marker written before
    `targetServerId` names, so such a marker does not tell) that a run declared migrated (applications may write there by now), or that DMS finishes by
    itself (an offline restore after the final backup it was told of, a SqlDb copy, a cutover requested; one DMS lists
    without saying whether it is offline counts so). A writable source beside either would lose the writes made since,
    or split them. `reuse_list`: read from the list that proved `now` a 404 in this poke, where it did and no operation
    began since (`DmsGateway.migrations_on_service`): for `preflight`, which changes neither DMS nor the source (the DAG
    creates no migration into a target the plan no longer names, and `start_migration` lists again before it creates)."""
    if now.migration is not None and not now.has_ended:
        return ""
    database, source = ctx.database, ctx.source_server
    key = record_key(database)
    for found in migrations_into_unnamed_targets(
            ctx.plan, database, ctx.services.dms.migrations_on_service(reuse_list), source.host, source.port,
            ctx.services.dms.migration_service_id):
        scope, target_database, status = found
        declared = _declared_into(ctx, scope, target_database, status)
        if declared:
            held = (
                "a run declared DMS migration %s of it into target database %s on %s migrated, a target the plan no "
                "longer names (its target server or database changed since), so applications may write there by now and a "
                "writable source would split them. A person must act: put the target of %s back to that one, or, while "
                "applications use that target, keep the source frozen and remove %s from the plan; to migrate the source "
                "again, first make sure nothing uses that target, then clear the record (%s)" % (
                    declared[0], target_database, scope.rstrip("/").rsplit("/", 1)[-1], database.name, database.name,
                    variables_set(declared[1])))
        elif status.still_runs_in_dms and not status.is_canceling and (status.offline is not False or status.cutover_requested):
            # offline unknown counts as offline: the recorded listMigrations example carries no offlineConfiguration
            held = "%s; DMS finishes it by itself, bringing that target online without the writes a writable source would take. %s" % (
                describe_unnamed_target_migration(database, found),
                unnamed_target_migration_remedy(database, key, ctx.services.records.get(key)))
        else:
            continue
        ctx.operation_id = status.migration_operation_id  # the event's MigrationOperationId: the migration that holds it
        return "source database %s kept frozen: %s" % (database.source_database, held)
    return ""
