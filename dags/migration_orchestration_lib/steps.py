"""The forward steps of one database's migration.

Each step reads where the migration stands (DMS and SQL state, `migration_stage`) and does only
what is still missing, so a retry, a reschedule or a new run after a crash continues instead of
repeating. A step that must wait raises `StepPending`; its task pokes again later (reschedule or
deferral), holding no worker slot meanwhile.

    online  SqlMi/SqlVm: preflight, start_migration, wait_for_migration (ready for cutover),
                         freeze_source, final_backup (tail-log backup restored, by name), cutover,
                         wait_for_completion, validate, done
    offline SqlMi/SqlVm: preflight, start_migration (lastBackupName), freeze_source, final_backup,
                         wait_for_migration (succeeded), validate, done
    SqlDb:               preflight, start_migration (freezes the source first unless the plan
                         allows writes during the copy), wait_for_migration, validate, done
A gated database (`MigrationPlan.is_gated`) waits in `await_cutover` (`cutover_steps`) right
before the first of these that freezes its source.
"""
from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any, Dict, List, Optional, Sequence

from migration_orchestration_lib import copy_freeze, current_run, cutover_steps
from migration_orchestration_lib import migration_prerequisites as prerequisites
from migration_orchestration_lib import migration_stage as stages
from migration_orchestration_lib import removed_databases, source_claims, source_freeze, target_removal
from migration_orchestration_lib import sql_statements as statements
from migration_orchestration_lib import validation
from migration_orchestration_lib.airflow_compat import utc_now
from migration_orchestration_lib.capacity import admission_limit, capacity_holders, migrated_elsewhere, second_migration_refusal
from migration_orchestration_lib.dms_gateway import DmsOperationFailed
from migration_orchestration_lib.handoffs import declare_migrated, declared_into_target, declared_migrated, record_declared_target, target_handoff_key
from migration_orchestration_lib.migration_request import build_migration_request, certificate_hint, refuse_token_logins
from migration_orchestration_lib.migration_stage import Standing, standing
from migration_orchestration_lib.operator_commands import variables_set
from migration_orchestration_lib.sql_access import SOURCE, TARGET, SqlEndpoint
from migration_orchestration_lib.sql_access_data_factory import LOOKUP_ROW_LIMIT
from migration_orchestration_lib.database_sql import final_backup_key, is_frozen, is_operation_key_of, operation_key_prefix
from migration_orchestration_lib.step_context import ACCESS_BEFORE_FREEZE_KEY, AWAIT_CUTOVER_TASK, CREATED_MIGRATION_KEY, FREEZE_SOURCE_TASK, FREEZE_SUBMITTED_KEY, DEADLINE_KEY, LOGGED_AFTER_VALIDATE_KEY, MIGRATION_KEY, SOURCE_FROZEN_KEY, STAGE_KEY, VALIDATED, CapacityWait, SourceHidden, StepContext, StepFailure, StepPending, StepResult
from migration_orchestration_lib.table_names import TableName, counterparts

INTEGRATION_RUNTIME_ONLINE = "Online"
AWAIT_CUTOVER = AWAIT_CUTOVER_TASK
WAIT_READY_FOR_CUTOVER = "ready_for_cutover"
WAIT_SUCCEEDED = "succeeded"




def final_backup_name(ctx: StepContext, token: str) -> str:
    """The final log backup's file name in the share; `token` ties it to one migration."""
    return "%s_final_%s.trn" % (ctx.database.source_database, token)


def offline_final_backup_name(ctx: StepContext) -> str:
    """A name no earlier migration of the source used: `BACKUP LOG` skips a file msdb already holds,
    so a name reused after a failed migration would hand DMS the old file, without the writes made
    since. Read back from DMS (`lastBackupName`) by every later step, so it is never computed twice. Its time is the
    cutover clock's (a rehearsal's simulated time, as its other names and events; the uuid part makes it unique)."""
    return final_backup_name(ctx, "%s_%s" % (ctx.services.clock.now().strftime("%Y%m%dT%H%M%SZ"), uuid.uuid4().hex[:8]))


def _check_adoptable(ctx: StepContext, now: Standing) -> None:
    """An offline migration finishes after its lastBackupName: only one the DAG chose
    (`offline_final_backup_name`) is the final backup the DAG takes after the freeze. DMS would finish
    another one without it (none: after the backups already in the share), dropping later writes."""
    database = ctx.database
    if not database.restores_backups or (database.is_online and not now.migration.offline):  # DMS's own mode too
        return
    name = now.migration.last_backup_name
    if name and re.match(r"^%s_final_[0-9]{8}T[0-9]{6}Z_[0-9a-f]{8}\.trn$" % re.escape(database.source_database), name):
        return
    then = "rollback cancels it, then run again"
    if now.is_doubtful:  # then rollback cancels it only where this run created it: this run adopted it
        then = "DMS names its source server %r, not this plan's, so rollback leaves it for a person to judge" % now.unmatched_source_server
    raise StepFailure(
        "offline migration %s of %s was not started by this DAG (lastBackupName %s): DMS would finish it without the "
        "final backup the DAG takes after the freeze, dropping the writes made since; %s"
        % (now.operation_id, database.source_database, name or "not set", then)
    )


FREEZE_TOKEN = re.compile(r"^[0-9a-f]{8}$")


def online_final_backup_name(ctx: StepContext, now: Standing) -> str:
    """One per migration, cutover window and freeze: a retry or reschedule finds the backup it already
    took, while a later window, or a freeze after the source was writable again in between (a rollback
    gone back to replicating: a preflight that failed in a later run, an approval missing after a crash)
    takes a final backup of its own, holding the writes made since. The freeze's part is the token this
    run's `freeze_source` returned: `BACKUP LOG` skips a file msdb already holds, so a name an earlier
    freeze used would hand DMS that freeze's backup, without the writes made after it."""
    token = (now.operation_id or "")[:8]
    opening = ctx.window_opening()
    freeze = ctx.task_instance.xcom_pull(task_ids=ctx.task_id(FREEZE_SOURCE_TASK))
    return final_backup_name(ctx, token + ("_" + re.sub(r"[^0-9TZ]", "", opening) if opening else "")
                             + ("_" + freeze if isinstance(freeze, str) and FREEZE_TOKEN.match(freeze) else ""))


def preflight(ctx: StepContext) -> StepResult:
    """Refuse to start what cannot work, before anything changes; say where the migration stands. Claims the
    source database for this entry (`source_claims`): another entry naming it under another spelling of its
    server is refused. Its `Started` event must reach Log Analytics (`events.LogsIngestionEventWriter.prove`)."""
    current_run.record_current_run(ctx)  # first: from now on no older run's task may act on the database
    ctx.drop_started_migration()  # a new pass: the record of the pass before counts no more
    ctx.task_instance.xcom_push(key="started", value=True)
    # Every alert reads the events: one that cannot arrive stops the run here, before anything is started or frozen.
    # Once per try: the step began once (the workbook adds up the DurationSeconds of every event but the heartbeats).
    if not ctx.started_event_arrived():
        ctx.on_started("preflight began; this event proves the alerts can see the run", must_arrive=True)
        ctx.record_started_event()
    services, database = ctx.services, ctx.database
    runtime_state = services.dms.integration_runtime_state()
    if runtime_state != INTEGRATION_RUNTIME_ONLINE:
        raise StepFailure(
            "the DMS self-hosted integration runtime is %s, not Online: register or start it first" % runtime_state
        )
    now = standing(ctx)
    record_declared_target(ctx, now.latest_operation_id)  # a handoff an earlier version declared: kept once DMS forgets it
    _refuse_while_dms_still_works_on_it(ctx, now)
    _refuse_a_declared_target_dms_no_longer_shows(ctx, now)
    _refuse_copying_over_a_completed_migration(ctx, now)
    wait_for_earlier_runs_sql(ctx, now)  # before the first read of the source or target is submitted
    try:
        found = ctx.sql.source_facts(database)
    except SourceHidden as hidden:  # not "not found": it may exist, frozen by an earlier run or written to
        raise StepFailure("%s. Nothing is started: grant it, then run again" % hidden) from None
    source = found.state
    if source is None:
        raise StepFailure("source database %s not found on %s" % (database.source_database, database.source_server))
    if source.state != "ONLINE":
        raise StepFailure("source database %s is %s, not ONLINE" % (database.source_database, source.state))
    if found.identity is not None:  # claimed before any record of the source: another entry may hold it
        source_claims.claim(ctx, found.identity)
        source_claims.record_server(ctx, found.identity)
    source_freeze.drop_undoing_mark(ctx, database)
    marker = source_freeze.check_marker(ctx, database, source)  # before the record is read: it may restore it
    if marker.refusal:
        raise StepFailure(marker.refusal)
    cutover_steps.refuse_when_every_window_passed(ctx, now, source)
    unknown = None if now.is_live else source_freeze.unknown_freeze(ctx, database, source, now)
    if unknown:  # recording this access as the one before the freeze could keep the DAG's freeze for good
        raise StepFailure(unknown)
    elsewhere = migrated_elsewhere(ctx, now, reuse_list=True) if source_freeze.frozen_by_dag(ctx, database, source) else ""
    if elsewhere:  # a declared migration of the source into a moved target: a second would split it
        raise StepFailure(elsewhere)
    if database.restores_backups and not now.is_live and source.recovery_model == "SIMPLE":
        raise StepFailure(
            "%s needs log backups (the DAG takes the final one), so the FULL recovery model; %s uses SIMPLE"
            % (database.name, database.source_database)
        )
    if database.restores_backups and not now.is_live and found.log_backup_base is None:
        raise StepFailure(
            "%s: no log backup of %s on %s can be taken (%s recovery, but no full backup since its log chain began "
            "or broke), so DMS has nothing to restore and the DAG's final log backup would fail after the freeze: "
            "take a full backup WITH CHECKSUM into %s, then run again"
            % (database.name, database.source_database, database.source_server, source.recovery_model, _share_path(ctx))
        )
    if database.freezes_source and not now.is_live:
        _refuse_a_source_sql_server_will_not_freeze(ctx, found)
    target = _target_unless_hidden(ctx, ctx.sql.target_state(database))
    if now.has_ended:
        leftovers = ["the source frozen"] if source_freeze.frozen_by_dag(ctx, database, source) else []
        target_kept = False
        arm_status = None  # a managed instance's, where it would keep a RESTORING target (`target_removal.remove`)
        if target is None:  # a database of its name found later is not this migration's
            target_removal.note_gone(ctx, now.migration)
        elif (database.restores_backups and not target_removal.noted_gone(ctx, now.migration)
              and not now.migration.create_canceled):  # it restored nothing: another's, refused below
            leftovers.append("the target %s" % target.state)
            target_kept = target.state not in target_removal.REMOVABLE_STATES
            if not target_kept and not now.is_doubtful:  # a doubtful one is left to a person whatever ARM says
                arm_status = target_removal.arm_status_keeping(ctx, database)
        if leftovers:
            then = "rollback cleans up; run again to retry"
            if target_kept:  # `target_removal.decide` removes only a RESTORING one
                then = ("rollback cleans up the rest but keeps the target, not RESTORING (a person may have taken it offline "
                        "or brought it online since; it ends %s): drop it yourself only once you know it is what that "
                        "migration left and nothing wrote to it, then run again" % target_removal.KEPT_TARGET_STATUS)
            elif arm_status:  # the rollback's ARM read right before the delete keeps it, and fails before the rest
                then = ("the rollback keeps the target, which ARM reads %s, not Restoring (it may have been taken offline, "
                        "or be changing, since), and fails for a person before it cleans up the rest: delete it yourself "
                        "(az sql midb delete) only once you know it is what that migration left and nothing wrote to it, "
                        "then run again" % arm_status)
            if now.is_doubtful:  # the rollback undoes only a doubtful migration this run created: never one found ended
                then = ("DMS names its source server %r, not this plan's, so rollback leaves migration %s and what it left "
                        "for a person to judge" % (now.unmatched_source_server, now.operation_id))
            raise StepFailure(
                "the last migration into %s ended %s and left %s: %s"
                % (database.target_database, now.stage, " and ".join(leftovers), then)
            )
    facts = {MIGRATION_KEY: now.operation_id} if now.migration is not None and not now.has_ended else {}
    if not now.is_live:  # before any freeze of this migration (a record a crashed run left stays)
        source_freeze.remember_before_freeze(ctx, database, source)
        facts[ACCESS_BEFORE_FREEZE_KEY] = list(source_freeze.before_freeze(ctx, database) or ())
    if now.stage == stages.NOT_STARTED or now.has_ended:
        _check_before_start(ctx, target)
    deadline = utc_now() + timedelta(minutes=database.timeout_minutes)
    frozen_by_dag = source_freeze.frozen_by_dag(ctx, database, source)  # one read of the record for both
    return StepResult(
        "source %s ONLINE (%s%s), migration %s%s" % (
            database.source_database, source.recovery_model, _restriction(source, frozen_by_dag), now.describe(),
            "; " + marker.restored if marker.restored else "",
        ),
        return_value=dict(facts, **{DEADLINE_KEY: deadline.isoformat(), STAGE_KEY: now.stage, SOURCE_FROZEN_KEY: frozen_by_dag}),
    )


def wait_for_earlier_runs_sql(ctx: StepContext, now: Standing, own_tasks: Sequence[str] = ("preflight",)) -> None:
    """Through Data Factory, a statement an earlier run submitted on this database's source (or SqlVm target) may not
    have ended: a freeze, an unfreeze, a final log backup, a target's DROP, held in the self-hosted integration
    runtime's queue while it was offline (`shir-offline`), its task failed at timeoutMinutes meanwhile. It would land
    under this run: freeze the source this run reads writable, drop the target it restores into. Nothing is read
    until every one has ended (StepPending; preflight fails at timeoutMinutes like any wait): this run then reads what
    they left, and its reads are submitted after them, never run beside them (a runtime back runs its queue up to its
    concurrent jobs at once: no order is promised). Also the rollback's, where this run's preflight did not pass (its
    wait may not have ended: `rollback._roll_back`). `own_tasks`: this run's tasks whose SQL is not waited for (the
    calling step's own, any try; preflight's reads, for the rollback). Direct access runs SQL in the task's own
    process: nothing outlives it there."""
    in_flight = getattr(ctx.services.sql_access, "runs_in_flight", None)
    if in_flight is None:
        return
    database = ctx.database
    backups = final_backup_key(now.operation_id) if now.operation_id else None

    # Not this run's other tasks': a run cleared from preflight may have left one queued.
    own = tuple(operation_key_prefix(ctx.run_id, database.name, task, "") for task in own_tasks)

    def earlier(key: str) -> bool:
        return not key.startswith(own) and (is_operation_key_of(key, database.name) or bool(backups and key.startswith(backups)))

    endpoints = [SqlEndpoint(role=SOURCE, server_name=database.source_server, database="master")]
    if database.target_kind == "SqlVm":  # through the same runtime; SqlMi and SqlDb targets: the managed one
        endpoints.append(SqlEndpoint(role=TARGET, server_name=database.target_server, database="master"))
    waiting = []
    for endpoint in endpoints:
        keys = in_flight(endpoint, earlier)
        if keys:
            waiting.append("on %s: %s" % (endpoint.server_name, ", ".join(keys)))
    if waiting:
        raise StepPending(
            "SQL that an earlier run of %s submitted through Data Factory has not ended (%s): it may still freeze or "
            "unfreeze source %s, or drop a target, so nothing is read until it has. Held so long, it waits in the queue of "
            "the self-hosted integration runtime, offline (shir-offline): bring it back"
            % (database.name, "; ".join(waiting), database.source_database))


def _refuse_a_source_sql_server_will_not_freeze(ctx: StepContext, found: statements.SourceFacts) -> None:
    """SQL Server refuses ALTER DATABASE ... SET SINGLE_USER, and SET READ_ONLY, on a database in an availability
    group or a database mirroring session (error 1468; SET READ_ONLY's refusal is unverified in Microsoft's docs, which
    say an availability database must be read-write). Every freeze sets READ_ONLY (`sql_statements.freeze`), so it
    would fail after the migration started: an offline one's after DMS restored the full backup, an online one's at
    its cutover, days of replication later. Refused before anything starts."""
    database = ctx.database
    if found.in_availability_group:
        why, how = ("is in an Always On availability group",
                    "remove it from its availability group on the primary replica (ALTER AVAILABILITY GROUP <group> REMOVE "
                    "DATABASE %s; sys.availability_groups with sys.availability_databases_cluster name the group)" % statements.quote_name(database.source_database))
    elif found.mirroring_role is not None:
        why, how = ("is the %s of a database mirroring session" % found.mirroring_role.lower(),
                    "end the mirroring session on the principal (ALTER DATABASE %s SET PARTNER OFF)" % statements.quote_name(database.source_database))
    else:
        return
    raise StepFailure(
        "%s: source database %s on %s %s, and SQL Server refuses ALTER DATABASE ... SET READ_ONLY or SINGLE_USER on "
        "such a database (error 1468), so the DAG's freeze (sourceFreeze %s) would fail after the migration started. "
        "Nothing is started: %s, then run again"
        % (database.name, database.source_database, database.source_server, why, database.source_freeze, how)
    )


def _refuse_while_dms_still_works_on_it(ctx: StepContext, now: Standing) -> None:
    """Nothing starts while DMS still works on the target's migration without it being one to adopt: still canceling,
    or still copying though its last ARM operation failed (`stage` failed, `Standing.runs_in_dms`). DMS may still
    restore into the target, refuses another migration of it meanwhile (the contract server: 409 OperationInProgress,
    which is no outage to wait out), and neither is a migration to adopt. The rollback cancels the one still copying."""
    database = ctx.database
    if now.is_canceling:
        raise StepFailure(
            "DMS is still canceling the migration of %s into %s on %s (migration %s, %s): nothing started. The rollback "
            "waits until DMS reports it Canceled, then cleans up what it may; run again after that"
            % (database.source_database, database.target_database, database.target_server, now.operation_id, now.migration.describe())
        )
    if now.runs_in_dms and not now.is_active:
        raise StepFailure(
            "DMS still copies the migration of %s into %s on %s (migration %s, %s) though its last ARM operation failed: "
            "nothing started, nothing adopted. The rollback cancels it and waits until DMS reports it Canceled, then "
            "cleans up what it may; run again after that"
            % (database.source_database, database.target_database, database.target_server, now.operation_id, now.migration.describe())
        )


def _refuse_a_declared_target_dms_no_longer_shows(ctx: StepContext, now: Standing) -> None:
    """A target a run declared migrated (`handoffs.declared_into_target`) while DMS holds no migration of this plan
    into it (its resource deleted after it ended, or run by a migration service replaced since), or one that ended
    (the declared one read Failed since, or a later one failed over the live database): applications may write to
    it. A SqlDb copy would overwrite their rows (its target existed before, so nothing else refuses it; the source,
    frozen since, reads as one a crashed run froze before DMS's create); an ended one's refusal below would promise
    a cleanup ("rollback cleans up") that the rollback refuses there, keeping the target and the source frozen. So is
    one whose latest migration is another, not ended (a person's, through the plan's service): adopted, it would be
    copied or restored into over the applications' writes and declared."""
    declared = declared_into_target(ctx)
    another = (now.operation_id or "").lower() != (declared or "").lower()
    if not declared or not (now.migration is None or now.has_ended or another):
        return
    database = ctx.database
    raise StepFailure(
        "target database %s on %s was declared migrated (migration %s, the Airflow Variable %s), but DMS holds %s: "
        "applications may write to it, so nothing is copied or restored into it again and source %s is left as it is. "
        "A person decides: if applications use the target, the migration is done: remove %s from the plan (every run "
        "with it fails here; its source stays frozen); to migrate again, first make sure nothing uses the target, then "
        "clear the record (%s)"
        % (database.target_database, database.target_server, declared, target_handoff_key(ctx.target),
           "no migration of this plan into it now (its migration resource deleted, or run by another migration service)"
           if now.migration is None else
           "no live migration of this plan into it now (its latest migration, %s, reads %s)"
           % (now.operation_id, now.migration.migration_status) if now.has_ended else
           "another migration into it since, %s (%s), which no run declared: it is not adopted"
           % (now.operation_id, now.migration.migration_status),
           database.source_database, database.name, variables_set(target_handoff_key(ctx.target)))
    )


def _refuse_copying_over_a_completed_migration(ctx: StepContext, now: Standing) -> None:
    """A SqlDb target exists before any copy, so its existence refuses nothing (a restore's does: `_check_before_start`).
    Where DMS's latest migration into it is another's (another plan's service, another source database: not this
    plan's, so `not_started`) that DMS reports Succeeded, the target holds that completed copy, which whoever ran it
    may have handed to applications: this plan's copy would write over their rows. Nothing is started or frozen."""
    database = ctx.database
    if database.restores_backups or now.foreign_completed is None:
        return
    migration, why = now.foreign_completed
    raise StepFailure(
        "SqlDb target database %s on %s holds migration %s %s, which DMS reports Succeeded: a completed copy, which "
        "applications may use by now, and this plan's copy would write over its rows: nothing is started or frozen and "
        "source %s is left as it is. A person finds out whose it is: if anything uses that target, name another target "
        "database in the plan (databases[].target.database), deployed with the source's schema on %s first; only if "
        "nothing does and its rows may go, delete that database migration resource (Remove-AzDataMigrationToSqlDb, "
        "%s/providers/Microsoft.DataMigration/databaseMigrations/%s), then run again"
        % (database.target_database, database.target_server, migration.migration_operation_id, why,
           database.source_database, database.target_server, ctx.target.scope, database.target_database)
    )


def _restriction(source: Any, frozen_by_dag: bool) -> str:
    if frozen_by_dag:
        return ", frozen"
    if is_frozen(source):  # by design: the DAG leaves it so (`source_freeze`)
        return ", %s as the DAG found it" % source_freeze.describe(source_freeze.access_of(source))
    return ""


def _share_path(ctx: StepContext) -> str:
    share = ctx.source_server.backup_file_share
    return share.path if share is not None else "the backup file share"


def _check_may_act(ctx: StepContext) -> None:
    """The steps that change DMS or the source act only after this run's preflight passed, and only in the
    database's current run (`current_run`: not a task cleared in an old run)."""
    _check_preflight_passed(ctx)
    current_run.check_current_run(ctx, "nothing is started, frozen, backed up or cut over")
    source_claims.check_held(ctx, "nothing is started, frozen, backed up or cut over")


def _check_run_not_ended(ctx: StepContext) -> None:
    """Nothing starts, freezes, backs up or cuts over once this run's rollback began undoing the database: a step
    a person cleared alone afterwards would act on what it left (start a migration nobody follows, with no wait or
    rollback left to run). Checked after a freeze this try submitted is seen to (`_stand_down_if_overtaken`)."""
    if ctx.rollback_began():
        raise StepFailure(
            "%s: this run's rollback began undoing it, so a step cleared alone now would act on what the rollback left: "
            "nothing is started, frozen, backed up or cut over. To go on, %s" % (ctx.database.name, ctx.how_to_run_again())
        )


def _check_preflight_passed(ctx: StepContext) -> None:
    """The steps that change DMS or the source go on only after this run's preflight passed (its XCom, never
    its task state): one marked success by hand checked nothing, set no deadline, and its rollback, finding
    no trace of it, would take the database for one this run never worked on and leave what it did."""
    if not ctx.preflight_passed():
        raise StepFailure(
            "%s: this run's preflight did not pass (marked success by hand?): nothing is started, frozen, backed up or "
            "cut over without its checks. Never mark preflight success: clear it with its downstream tasks"
            % ctx.database.name
        )


def _check_before_start(ctx: StepContext, target: Any) -> None:
    database = ctx.database
    # DMS logs in with a login and password: a token connection would be refused only at the start, after a SqlDb
    # copy's source was frozen
    refuse_token_logins(ctx.plan, database, ctx.services.connections)
    if database.target_kind == "SqlDb":
        if target is None:
            raise StepFailure(
                "SqlDb target database %s must exist, with its schema, before the migration: master's sys.databases on "
                "%s shows no row for it. If it exists, %s" % (
                    database.target_database, database.target_server, statements.HIDDEN_SQLDB_TARGET)
            )
        copy = prerequisites.read_copy(ctx)
        _check_schema_deployed(ctx, copy.source, copy.target_tables)
        prerequisites.check_logins(ctx, copy.source, copy.on_target)
        prerequisites.check_validation_unmasks(ctx, copy.source, on_target=copy.on_target, target_masked=copy.target_masked)
        prerequisites.check_sequences_ahead(ctx, copy.source, copy.target_sequences)
        return
    if target is not None:
        raise StepFailure(
            "target database %s already exists on %s (%s) and no migration of %s created it: refusing to overwrite it"
            % (database.target_database, database.target_server, target.state, database.source_database)
        )
    source = prerequisites.read_source(ctx)
    prerequisites.check_logins(ctx, source)
    _check_validation_fits_a_lookup(ctx, source)
    _check_full_backup(ctx, source)
    prerequisites.check_encryption_key(ctx, source)
    room = prerequisites.check_restore_room(ctx, source=source)
    prerequisites.check_validation_unmasks(ctx, source, room)
    if database.target_kind == "SqlVm":
        _check_target_version(ctx, source)


SHOWN_TABLES = 10


def _check_schema_deployed(ctx: StepContext, source: statements.SourcePrerequisites, target_tables: List[TableName]) -> None:
    """DMS copies rows into the tables of a SqlDb target deployed beforehand (it migrates no schema):
    a source table missing there is found only after the source was frozen for the copy. A target table
    differing only in letter case or trailing spaces is the source's (SQL Server's comparison)."""
    database = ctx.database
    source_tables = source.read("tables")
    paired = counterparts(source_tables, target_tables)
    missing = [str(table) for table in source_tables if paired[table] is None]
    if missing:
        more = len(missing) - SHOWN_TABLES
        raise StepFailure(
            "SqlDb target database %s on %s lacks %d table(s) of the source %s: %s%s. DMS copies data only: deploy the "
            "schema first (New-AzDataMigrationSqlServerSchema, a dacpac or a SQL database project), then run again"
            % (database.target_database, database.target_server, len(missing), database.source_database,
               ", ".join(missing[:SHOWN_TABLES]), " (and %d more)" % more if more > 0 else "")
        )


def _check_validation_fits_a_lookup(ctx: StepContext, source: statements.SourcePrerequisites) -> None:
    """Through Data Factory each side's fingerprints come back in one Lookup, one row a table, and a Lookup returns at
    most LOOKUP_ROW_LIMIT rows (one that returns that many may be cut off: refused). A restore validated over more
    tables would go live and then fail validation on every try, its rollback making the source writable beside it.
    A copy's (SqlDb) source tables are read in one Lookup before it starts, which meets the same limit."""
    database = ctx.database
    settings = database.validation
    if ctx.plan.sql_access != "dataFactory" or not (settings.row_counts or settings.checksums):
        return
    count = len(settings.tables) if settings.tables else source.table_count  # None: not read (not judged)
    if count is None or count < LOOKUP_ROW_LIMIT:
        return
    raise StepFailure(
        "%s: validation compares %d tables of %s, and through Data Factory each side's fingerprints come back in one "
        "Lookup, which returns at most %d rows (one a table): validate would fail after the migration went live. "
        "Nothing is started: migrate it from a host with sqlAccess: direct, or list at most %d tables in "
        "validation.tables" % (database.name, count, database.source_database, LOOKUP_ROW_LIMIT - 1, LOOKUP_ROW_LIMIT - 1)
    )


def _check_full_backup(ctx: StepContext, source: statements.SourcePrerequisites) -> None:
    """DMS restores the newest full backup in the share and refuses one taken without CHECKSUM
    ("Full backup ... is missing checksum"). Only backups msdb saw written into the share count: a
    backup elsewhere is not DMS's, and files copied into the share leave no trace to judge."""
    database, share = ctx.database, ctx.source_server.backup_file_share
    if share is None:
        return
    in_share = [(path, checksum) for path, checksum in source.read("full_backups") if statements.in_folder(path, share.path)]
    if in_share and not in_share[0][1]:
        raise StepFailure(
            "%s: the newest full backup of %s in %s, %s, was taken without CHECKSUM and DMS restores none such: "
            "take a full backup WITH CHECKSUM into the share, then run again"
            % (database.name, database.source_database, share.path, in_share[0][0])
        )


def _check_target_version(ctx: StepContext, source: statements.SourcePrerequisites) -> None:
    """SQL Server restores no backup taken on a newer version: DMS would fail at the restore (an
    offline migration after the freeze)."""
    database = ctx.database
    source_version = source.product_major_version
    target_version = None if source_version is None else ctx.sql.target_product_major_version(database)
    if source_version is not None and target_version is not None and source_version > target_version:
        raise StepFailure(
            "%s: SQL Server on %s (major version %d) cannot restore backups of %s from %s (major version %d): "
            "upgrade the SQL virtual machine or choose a target of version %d or later"
            % (database.name, database.target_server, target_version, database.source_database, database.source_server,
               source_version, source_version)
        )


def start_migration(ctx: StepContext) -> StepResult:
    """Adopt the migration DMS already has for this source, or admit and start one."""
    database = ctx.database
    freezes_for_copy = not database.restores_backups and not database.allow_source_writes_during_copy
    if freezes_for_copy:
        _remember_freeze_keys(ctx)
    _check_may_act(ctx)
    services = ctx.services
    # Listed before anything is started or frozen: seen at the run's end even where the plan drops it before then.
    removed_databases.list_started(services.records, ctx.plan, database)
    if freezes_for_copy:
        _note_freeze_not_begun(ctx)
    now = standing(ctx)
    _refuse_while_dms_still_works_on_it(ctx, now)
    if now.migration is not None and not now.has_ended:
        _check_adoptable(ctx, now)
        ctx.record_started_migration(now.operation_id)
        if freezes_for_copy:  # an earlier try's worker may have died between its create and its promise
            validation.promise(ctx, now.operation_id)
            copy_freeze.bind(ctx, now.operation_id)
        return StepResult("adopted migration %s (%s)" % (now.operation_id, now.describe()), return_value=now.operation_id)
    _refuse_copying_over_a_completed_migration(ctx, now)  # one completed since preflight: before the freeze
    if freezes_for_copy:  # preflight recorded it; read here only where no record is there yet
        source_freeze.remember_before_freeze(ctx, database)
        _stand_down_if_overtaken(ctx)
    _check_run_not_ended(ctx)
    migrations = services.dms.migrations_on_service(reuse=True)  # the one `standing` read on a 404, if it did
    second = second_migration_refusal(ctx.plan, database, migrations, ctx.source_server.host, ctx.source_server.port,
                                      source_freeze.record_key(database), ctx.services.records.get(source_freeze.record_key(database)),
                                      services.dms.migration_service_id)
    if second:
        raise StepFailure(second)
    limit = admission_limit(ctx.plan, database, migrations, source_claims.same_server_entries(ctx))
    refusal = limit[1] if limit else None
    # Once the source is frozen for the copy, waiting for a place would only hold it frozen: it goes on.
    begun = freezes_for_copy and (refusal is not None or ctx.plan.is_gated(database)) and _freeze_begun(ctx)
    ctx.freeze_not_begun = freezes_for_copy and ctx.plan.is_gated(database) and not begun
    if limit and not begun:
        raise CapacityWait("waiting for capacity: %s" % refusal, limit[0], *capacity_holders(ctx.plan, database, migrations))
    services.clock.goes_on(database.name)  # a rehearsal's clock: it may have waited for capacity only time frees
    prerequisites.check_room_at_admission(ctx, migrations)  # restores into one target, counted together
    if database.restores_backups:
        _check_target_still_absent(ctx, now)
    if freezes_for_copy:
        if not begun:
            cutover_steps.admit_freeze(ctx)
        _freeze(ctx)  # the copy reads tables: no write may land behind it
        if begun:  # landed pokes after its admission: the window must still fit the copy
            cutover_steps.check_freeze_landed_in_time(ctx)
    if not (freezes_for_copy and copy_freeze.read_begun(ctx)):  # the freeze's start event: once, as it is seen landed
        ctx.on_started("starting migration of %s" % database.source_database)
    if freezes_for_copy:  # landed, before the create: validate and done look for log records after it
        copy_freeze.record_log_end(ctx)
    last_backup = None
    if database.restores_backups and not database.is_online:
        last_backup = offline_final_backup_name(ctx)
    try:
        started = services.dms.start(
            ctx.target,
            database.source_database,
            lambda: build_migration_request(ctx.plan, database, services.dms.migration_service_id, services.connections),
            last_backup_name=last_backup,
        )
    except DmsOperationFailed as error:
        hint = certificate_hint(ctx.plan, database, str(error))
        if not hint:
            raise
        raise DmsOperationFailed(str(error) + hint, error.code, retryable=error.retryable) from error
    ctx.operation_id = started.migration_operation_id
    if started.adopted or started.found_after_create:  # not this call's create: one DMS had by then, a person's too
        _check_adoptable(ctx, standing(ctx))
    ctx.record_started_migration(started.migration_operation_id)  # first after a create: its next try remembers it
    if freezes_for_copy:  # what validate compares, however the plan changes meanwhile
        validation.promise(ctx, started.migration_operation_id)
        copy_freeze.bind(ctx, started.migration_operation_id)
    source = ctx.source_server
    # One found after a refused or lost create may be a person's, started meanwhile through this plan's service:
    # where DMS names another source server it is not recorded (the rollback then leaves it for a person).
    if not started.adopted and not (started.found_after_create and started.status.other_source_server(source.host, source.port)):
        ctx.task_instance.xcom_push(key=CREATED_MIGRATION_KEY, value=started.migration_operation_id)
    return StepResult(
        "started migration %s (%s)" % (started.migration_operation_id, started.status.describe()),
        return_value=started.migration_operation_id,
    )


def _target_unless_hidden(ctx: StepContext, read: statements.DatabaseRead) -> Optional[statements.DatabaseState]:
    """The target's state (None: absent); a restore's target hidden from the login is refused: a database that may
    exist is not absent (DMS refuses to restore over it, and one gone live may be in use)."""
    hidden = target_removal.hidden(ctx.database, read)
    if hidden:
        raise StepFailure("%s. Nothing is started: grant it, then run again" % hidden)
    return read.state


def _check_target_still_absent(ctx: StepContext, now: Standing) -> None:
    """Right before a restore's migration is created: preflight found no target database, but start_migration may
    have waited hours for a place since. A database of that name put there meanwhile (a person's own restore) is
    not overwritten by DMS: its create fails, and that failed migration of this source into the target would make
    the rollback take the database for its leftover and remove it. Refused instead, nothing started. Read afresh
    (`StepContext.afresh`): through Data Factory a read is adopted by its key in every later poke of the try, and a
    poke after the one that read it may wait for a place for hours before the create. `now`: DMS read at the start
    of this poke, which adopts a migration in flight, so here it has none or one that ended."""
    database = ctx.database
    target = _target_unless_hidden(ctx, ctx.sql.target_state(database, ctx.afresh("target-before-start")))
    if target is None:
        return
    where = "target database %s already exists on %s (%s)" % (database.target_database, database.target_server, target.state)
    if now.migration is not None and not target_removal.noted_gone(ctx, now.migration):  # an earlier attempt's, ended since
        raise StepFailure("%s, left by migration %s of %s, which ended %s: nothing started; the rollback removes what it "
                          "left, then run again" % (where, now.operation_id, database.source_database, now.migration.migration_status))
    raise StepFailure(
        "%s, put there since preflight found it absent, and no migration of %s created it: refusing to overwrite it "
        "(nothing started). Remove it if nothing uses it, or name another target database, then run again"
        % (where, database.source_database)
    )


def _note_freeze_not_begun(ctx: StepContext) -> None:
    """For a gated freezing step, first in a poke (before DMS is read): where no freeze began (`_freeze_begun`),
    say so on the context, so that every wait of this poke before the freeze ends with WindowMissed once the
    cutover no longer fits (`cutover_steps.check_room_before_freeze`). Not told yet where there is no record of
    the access before a freeze (a lost one may come back from the marker later)."""
    if ctx.plan.is_gated(ctx.database) and source_freeze.before_freeze(ctx, ctx.database) is not None:
        ctx.freeze_not_begun = not _freeze_begun(ctx)


def _freeze_begun(ctx: StepContext) -> bool:
    """The freeze before a copy was submitted in this try (through Data Factory it runs across pokes),
    or an earlier try froze the source and ended before DMS created the migration. Read once per poke."""
    if ctx.freeze_begun is None:
        database = ctx.database
        ctx.freeze_begun = ctx.sql.freeze_submitted(database) or source_freeze.frozen_by_dag(
            ctx, database, ctx.sql.source_state(database))
    return ctx.freeze_begun


def wait_for(goal: str):
    def wait(ctx: StepContext) -> StepResult:
        now = standing(ctx)
        if now.is_canceling_or_ended:
            stop = now.describe_stop()
            raise StepFailure("DMS migration of %s %s%s" % (ctx.database.name, stop, certificate_hint(ctx.plan, ctx.database, stop)))
        if now.stage == stages.NOT_STARTED:
            raise StepFailure("DMS has no migration of %s into %s" % (ctx.database.source_database, ctx.database.target_database))
        reached = now.stage == stages.SUCCEEDED or (goal == WAIT_READY_FOR_CUTOVER and now.stage in (stages.READY_FOR_CUTOVER, stages.COMPLETING))
        if not reached:
            _check_finish_asked_for(ctx, goal, now)
            raise StepPending(now.describe())
        # Not for a migration an earlier run declared: its cutover was that run's (and its overrun reported there), and
        # the window's close against now, days later, would report one that finished in time.
        overran = cutover_steps.overrun(ctx, now.migration) if goal == WAIT_SUCCEEDED and not declared_migrated(ctx, now.operation_id) else None
        if overran:
            return StepResult("DMS migration %s; %s" % (now.describe(), overran), status="WindowMissed")
        return StepResult("DMS migration %s" % now.describe())

    wait.__name__ = "wait_until_%s" % goal
    return wait


def _check_finish_asked_for(ctx: StepContext, goal: str, now: Standing) -> None:
    """DMS finishes a restore only once asked: online by cutover, offline after the final backup it was told of.
    A wait whose asking step was marked success by hand (no XCom: it never ran) would hold the source frozen
    until the deadline for nothing."""
    database = ctx.database
    if goal != WAIT_SUCCEEDED or not database.restores_backups or not now.is_active:
        return
    step = "cutover" if database.is_online else "final_backup"
    if ctx.task_instance.xcom_pull(task_ids=ctx.task_id(step)) is None:
        raise StepFailure(
            "DMS migration %s of %s: %s did not run in this run (marked success by hand?), so DMS will not finish it and "
            "waiting would only keep source %s frozen until the deadline; its rollback undoes the run as after any "
            "failure. Never mark %s success" % (now.describe(), database.name, step, database.source_database, step)
        )


def freeze_source(ctx: StepContext) -> StepResult:
    """Stop writes on the source (READ_ONLY or SINGLE_USER per the plan) before the final backup.

    Kept frozen until the target is validated; rollback puts back the access recorded before the
    first freeze (`source_freeze`: writable, or the restriction the team had chosen). Idempotent.
    """
    _remember_freeze_keys(ctx)
    _check_may_act(ctx)
    database = ctx.database
    _stand_down_if_overtaken(ctx)
    if ctx.sql.freeze_submitted(database):  # a later poke (Data Factory): the batch may land whatever else fails now
        _freeze(ctx)
        cutover_steps.check_freeze_landed_in_time(ctx)
        return _frozen(database)
    _check_run_not_ended(ctx)
    _note_freeze_not_begun(ctx)
    now = standing(ctx)
    if now.stage == stages.NOT_STARTED or now.is_canceling_or_ended:
        raise StepFailure(_no_active_migration(database, now))
    if now.is_live:  # never freeze again under a completed migration handed back to its source
        _check_source_still(ctx, now, ctx.sql.source_state(database, "still-source"))
    if source_freeze.before_freeze(ctx, database) is None:  # recorded before the admission: its read may take pokes
        _stand_down_if_overtaken(ctx)  # cleared since preflight: never recorded again
        source = ctx.sql.source_state(database, "before-freeze")
        marker = source_freeze.check_marker(ctx, database, source)  # may restore a lost record
        if marker.refusal:
            raise StepFailure(marker.refusal)
        unknown = source_freeze.unknown_freeze(ctx, database, source, now)  # the record lost: this may be our freeze
        if unknown and not now.is_live:
            raise StepFailure(unknown)
        if not unknown:  # (a completed migration's source stays as it is; its rollback asks a person)
            source_freeze.remember_before_freeze(ctx, database, source)
    resumed = ctx.plan.is_gated(database) and _freeze_begun(ctx)  # frozen by an earlier try: admitted then
    ctx.freeze_not_begun = ctx.plan.is_gated(database) and not resumed
    if ctx.plan.is_gated(database) and not resumed:
        cutover_steps.admit_freeze(ctx)
    validation.promise(ctx, now.operation_id)  # what validate compares, however the plan changes meanwhile
    _freeze(ctx)
    if resumed and not now.is_live:
        cutover_steps.check_freeze_landed_in_time(ctx)
    return _frozen(database)


def _frozen(database: Any) -> StepResult:
    """With a token of this freeze, for the online final backup's name (`online_final_backup_name`)."""
    return StepResult("source %s frozen (%s)" % (database.source_database, database.source_freeze), return_value=uuid.uuid4().hex[:8])


def _remember_freeze_keys(ctx: StepContext) -> None:
    """First on every poke of a freezing step, before anything that can fail: the key prefixes of every freeze
    this task may have submitted in this run, its earlier tries' too, into its XCom. Airflow clears that XCom
    when a try (or a poke) starts, while a freeze submitted through Data Factory runs on after its try stopped
    (a worker lost, a timeout): the rollback awaits each one submitted (`rollback._await_freezes_in_flight`),
    though this try fails, or is marked failed, before it freezes. Nothing is read here: the rollback asks."""
    ctx.task_instance.xcom_push(key=FREEZE_SUBMITTED_KEY, value=ctx.sql_key_prefixes_of_every_try())


def _freeze(ctx: StepContext) -> None:
    """Freeze the source, writing this plan's freeze marker in the same batch (`source_freeze`); a
    marker there already that is another plan's, or disagrees with the record, leaves it as it is.
    A freeze that lands once a rollback has begun undoing the DAG's freeze is undone here. Its keys
    are in the task's XCom already (`_remember_freeze_keys`): it may outlive this task."""
    database = ctx.database
    ctx.freeze_not_begun = False  # submitted from here on: its waits are the freeze's own
    found = ctx.sql.freeze_source(database, source_freeze.freeze_marker(ctx, database), source_freeze.earlier_freeze_markers(ctx, database))
    refusal = source_freeze.check_marker(ctx, database, found).refusal
    if refusal:
        raise StepFailure("source %s not frozen: %s" % (database.source_database, refusal))
    if found is None or not found.is_read_only:  # the batch skipped its freeze, whatever the reason: never go on
        raise StepFailure("source %s not frozen: after the freeze it is %s" % (
            database.source_database, "missing" if found is None else source_freeze.describe(source_freeze.access_of(found))))
    _stand_down_if_overtaken(ctx)


def _stand_down_if_overtaken(ctx: StepContext) -> None:
    """Fail without freezing where a rollback has begun undoing the DAG's freeze: Airflow failed this
    attempt (its worker lost its heartbeat) and ran the rollback while it still runs, or a person cleared
    the step after that rollback. A freeze this try submitted is awaited and undone first, back to the
    access the rollback puts back."""
    database = ctx.database
    access = source_freeze.overtaken_by_rollback(ctx, database)
    if access is None:
        return
    undone = ""
    if ctx.sql.freeze_submitted(database):
        found = ctx.sql.freeze_source(database, source_freeze.marker_value(ctx, database, access))  # its answer, by key: the batch may still be running
        if found is not None and not source_freeze.check_marker(ctx, database, found).refusal:
            ctx.sql.unfreeze_source(database, *access, marker=source_freeze.marker_to_drop(ctx, database, found, access))
            undone = "; this attempt's freeze undone (%s)" % source_freeze.describe(access)
    raise StepFailure(
        "source %s not frozen: a rollback of %s has begun undoing the DAG's freeze (the Airflow Variable %s), so this "
        "attempt (failed by Airflow while it ran, or cleared by a person after that rollback) stands down%s. To migrate "
        "%s, %s" % (database.source_database, database.name, source_freeze.record_key(database), undone, database.name,
                    ctx.how_to_run_again())
    )


def final_backup(ctx: StepContext) -> StepResult:
    """Take the final log backup into the share ourselves (source frozen: it holds the last write).

    Online: then wait until DMS restored that very file (by name, whatever files follow).
    Offline: DMS was told its name at creation (`lastBackupName`) and finishes after restoring it.
    """
    _check_may_act(ctx)
    _check_run_not_ended(ctx)
    database = ctx.database
    now = standing(ctx)
    if now.is_live:
        return StepResult("nothing to back up: %s" % now.describe())
    if now.stage == stages.NOT_STARTED or now.is_canceling_or_ended:
        raise StepFailure(_no_active_migration(database, now))
    cutover_steps.check_window_open(ctx, now)
    if database.is_online:
        file_name = online_final_backup_name(ctx, now)
    else:
        file_name = now.migration.last_backup_name
        if not file_name:
            raise StepFailure(
                "offline migration %s has no lastBackupName: DMS would finish without the final backup; "
                "cancel it (rollback) and run again" % now.operation_id
            )
    _check_frozen_for_final_backup(ctx)
    share = ctx.source_server.backup_file_share
    if share is None:
        raise StepFailure("source server %s has no backupFileShare for the final backup" % ctx.source_server.name)
    # Keyed by file too: Data Factory adopts a run by key, and a later window's backup is another file.
    file_path = share.file_path(file_name)
    # The batch's own answer, not only its error: msdb must record the backup DMS is told to restore.
    try:
        taken = ctx.sql.backup_log(database, file_path, key=final_backup_key(now.operation_id, file_name))
    except statements.BackupFileNotRecorded as found:
        raise StepFailure(
            "final log backup %s: not taken: %s already holds a backup (its media label dated %s, the server's local "
            "time), but msdb on source server %s records no log backup of %s to it: its backup history purged since "
            "the DAG took it (sp_delete_backuphistory, a "
            "history cleanup job), msdb restored, or the backup taken on another replica. The DAG never backs up over "
            "it: DMS may have read or restored it already, and a backup over it would hold a later log range under the "
            "name DMS knows, losing writes or breaking the chain DMS restores; nor does it take the file for this "
            "migration's final backup unrecorded (the checks of writes after the final backup read its end from msdb). "
            "Leave the file in the share. The rollback undoes the migration as after any failure (the source back to "
            "its access before the freeze); to migrate %s, %s: the next freeze takes its final backup into a file of "
            "its own" % (file_name, file_path, found.written or "at an unknown time", database.source_server,
                         database.source_database, database.name, ctx.how_to_run_again()))
    if not taken:
        raise StepFailure("final log backup %s: msdb records no log backup of %s to %s after BACKUP LOG" % (file_name, database.source_database, file_path))
    if database.is_online and not now.migration.is_backup_restored(file_name):
        raise StepPending("final backup %s taken; DMS restoring (%s)" % (file_name, now.migration.describe()))
    return StepResult("final log backup %s taken%s" % (file_name, " and restored" if database.is_online else ""), return_value=file_name)


def _check_frozen_for_final_backup(ctx: StepContext) -> None:
    """The final backup holds the last write only where the source is read-only (every freeze sets READ_ONLY):
    freeze_source marked success by hand never froze it, and DMS would go live on this backup (online: the
    cutover; offline: its lastBackupName) without the writes made after it."""
    database = ctx.database
    source = ctx.sql.source_state(database, "frozen-for-final-backup")
    if source is not None and source.is_read_only:
        return
    raise StepFailure(
        "source %s not frozen (%s): a final log backup now would miss the writes made after it, and DMS would go live "
        "without them: not taken. freeze_source did not freeze it in this run (marked success by hand?); its rollback "
        "undoes the run as after any failure. Never mark freeze_source success" % (
            database.source_database, "missing" if source is None else source_freeze.describe(source_freeze.access_of(source)))
    )


def cutover(ctx: StepContext) -> StepResult:
    """Ask DMS to complete an online migration (awaited), once it restored the final backup."""
    _check_may_act(ctx)
    _check_run_not_ended(ctx)
    now = standing(ctx)
    if now.is_live:  # its return value tells wait_for_completion it ran (`_check_finish_asked_for`)
        return StepResult("cutover already requested: %s" % now.describe(), return_value=now.operation_id)
    if not now.is_active:
        raise StepFailure("%s cannot be cut over: %s" % (ctx.database.name, now.describe()))
    file_name = online_final_backup_name(ctx, now)
    if not now.migration.is_backup_restored(file_name):
        raise StepFailure("final backup %s is not restored yet: %s" % (file_name, now.describe()))
    cutover_steps.check_window_open(ctx, now)
    unread = _check_nothing_logged_after(ctx, [file_name, now.migration.last_restored_filename], "log-after-final-backup", (
        "DMS would go live without them: the cutover is not requested. The rollback undoes the migration as after any "
        "failure (the source back to its access before the freeze, holding those writes); run again to migrate them"))
    ctx.services.dms.cutover(ctx.target, now.operation_id)
    return StepResult("cutover of migration %s requested (final backup %s restored%s)" % (now.operation_id, file_name, unread),
                      return_value=now.operation_id)


def _check_nothing_logged_after(ctx: StepContext, file_names: List[Optional[str]], purpose: str, then: str) -> str:
    """Refuse where the source's own records show log records after the newest of the log backups `file_names` (the
    final backup, and the last file DMS restored: a routine log backup in the share after the final one, restored
    too, loses nothing): a person made the source writable after it, wrote, and froze it again; the target lacks
    those writes and a row count does not see an update. Returns a note for the step's result where the log's end
    could not be read (`sql_statements.log_after_backup`), else ""."""
    database = ctx.database
    share = ctx.source_server.backup_file_share
    names = list(dict.fromkeys(re.split(r"[\\/]", name)[-1] for name in file_names if name))
    if share is None or not names:
        return "; the source's log after the final backup not checked: %s" % ("no backupFileShare" if names else "DMS names no final backup")
    paths = [share.file_path(name) for name in names]
    found = ctx.sql.log_after_backup(database, paths, purpose)
    if found.final_last_lsn is None:
        return "; the source's log after the final backup not checked: msdb records no log backup of %s to %s" % (
            database.source_database, " or ".join(paths))
    written = found.written_after
    if written:
        raise StepFailure(
            "source database %s was written after the final log backup %s (the newest restored ends before LSN %d): %s. "
            "Made writable after the final backup and frozen again (or backed up since: a backup may log records too), "
            "it may hold writes the target lacks, which a row count would not see (an update); %s"
            % (database.source_database, " or ".join(names), found.final_last_lsn, written, then))
    if found.log_end_lsn is None:
        return "; only later log backups looked for: the source's log end is unread (%s)" % statements.LOG_END_UNREAD
    return ""


def validate(ctx: StepContext) -> StepResult:
    now = standing(ctx)
    if now.stage != stages.SUCCEEDED:
        if now.stage == stages.NOT_STARTED or now.is_canceling_or_ended:
            raise StepFailure("%s cannot be validated before DMS finished: %s" % (ctx.database.name, now.describe()))
        # The wait before was marked success by hand: failing here would hand a completing migration back.
        _check_finish_asked_for(ctx, WAIT_SUCCEEDED, now)
        raise StepPending("validating once DMS finished (was the wait before marked success?): %s" % now.describe())
    source = ctx.sql.source_state(ctx.database, "still-source") if ctx.database.freezes_source else None
    _check_source_still(ctx, now, source)
    if declared_migrated(ctx, now.operation_id):
        return StepResult(
            "migration %s was declared migrated by an earlier run: not compared with the source again "
            "(applications may write to the target by now)" % now.operation_id,
            return_value=VALIDATED,
        )
    logged = _check_nothing_logged_after_restore(ctx, now) + copy_freeze.check_nothing_logged_after(ctx, now.operation_id, (
        "the target is neither compared nor declared migrated. The rollback hands the database back to the source (its "
        "access before the freeze) and keeps the target, as after a failed validation. DMS keeps reporting this copy "
        "completed, so to migrate the source again name another target database in the plan "
        "(databases[].target.database), deployed with the source's schema on %s first; clear what the copy wrote into "
        "target database %s once it is of no use" % (ctx.database.target_server, ctx.database.target_database)))
    database, stronger = validation.to_meet(ctx, now.operation_id)  # never less than promised at the freeze
    _wait_while_another_connection_holds_the_source(ctx, database, source)
    deadline = ctx.deadline() or utc_now() + timedelta(minutes=database.timeout_minutes)
    report = ctx.sql.compare(ctx.plan, database, deadline, ctx.on_running, ctx.timing.heartbeat)
    said = ("; " + stronger if stronger else "") + logged
    if not report.passed:
        then = (". If the target is right all the same, a person clears that record (%s) and runs "
                "again" % variables_set(validation.validation_record_key(now.operation_id))) if stronger else ""
        raise StepFailure("validation of %s failed: %s%s%s" % (ctx.database.name, report.summary(), said, then))
    return StepResult("validation passed: %s%s" % (report.summary(), said), return_value=VALIDATED)


def _check_nothing_logged_after_restore(ctx: StepContext, now: Standing, then: Optional[str] = None) -> str:
    """Validate, and done: a restore that froze its source went live on a final backup; nothing may have been logged
    on the source after it (`_check_nothing_logged_after`). Offline: the backup DMS finished at (`lastBackupName`);
    online: this run's final backup and the last file DMS restored. `then`: what follows a refusal (validate's)."""
    database = ctx.database
    if not database.restores_backups or not database.freezes_source:
        return ""
    if database.is_online:
        taken = ctx.task_instance.xcom_pull(task_ids=ctx.task_id("final_backup"))
        file_names = [taken if isinstance(taken, str) else None, now.migration.last_restored_filename]
    else:
        file_names = [now.migration.last_backup_name]
    return _check_nothing_logged_after(ctx, file_names, "log-after-final-backup", then or (
        "the target is neither compared nor declared migrated. The rollback hands the database back to the source (its "
        "access before the freeze) and keeps the target, as after a failed validation. DMS keeps reporting this "
        "migration completed, so to migrate the source again name another target database in the plan "
        "(databases[].target.database); drop target database %s on %s once it is of no use"
        % (database.target_database, database.target_server)))


def _wait_while_another_connection_holds_the_source(ctx: StepContext, database: Any, source: Any) -> None:
    """A singleUser freeze closes every other connection, but the one connection SINGLE_USER then allows goes to
    whoever connects first (an application reconnecting, a monitoring agent), and no batch may enter the source while
    it holds it (error 924): validation would fail on a correct target, and its rollback make the source writable
    beside it. So before its batches are submitted validation waits for the source, until the deadline (read
    afresh at each poke). `source`: its state (read-only here: `_check_source_still`), None where not read."""
    if source is None or source.user_access != "SINGLE_USER" or ctx.sql.compare_submitted(ctx.plan, database):
        return
    if not ctx.sql.source_held(database, ctx.afresh("source-held")):
        return
    name, server = database.source_database, ctx.source_server.name
    raise StepPending(
        "another connection holds source database %s (SINGLE_USER) on %s, so validation cannot enter it to read its "
        "tables (error 924): it waits until the deadline. The source is read-only, so ending that session loses no "
        "write: find it (SELECT session_id, login_name, host_name, program_name FROM sys.dm_exec_sessions WHERE "
        "database_id = DB_ID(%s)), end it (KILL <session_id>) and keep what reconnects away until validate has read "
        "the source" % (name, server, statements.quote_literal(name))
    )


def _check_source_still(ctx: StepContext, now: Standing, source: Any) -> None:
    """A completed (or completing) migration that freezes its source goes on only while its source is still
    read-only. One whose source is writable (a rollback of it handed the writes back to the source, by design,
    keeping the target, which DMS reports completed even once dropped; a person made it writable; or it completed
    without the DAG's freeze, a migration the DAG did not start) may lack writes made there, which a row count does not see (an
    update): a later run (whose freeze_source would freeze it again) or a cleared validate must not compare
    that target and declare it migrated. `source`: the source's state, read just now."""
    database = ctx.database
    if not now.is_live or not database.freezes_source or source is None or source.is_read_only:
        return
    raise StepFailure(
        "migration %s into %s completed in DMS (%s), but source database %s is %s: made writable again after the "
        "migration completed (a rollback of it, or by hand), or the migration completed without the DAG's freeze, so "
        "the source may hold writes the target lacks; the target is neither compared nor declared migrated and the "
        "source is left as it is. A person decides: if applications use the source, %s, and name another target "
        "database in the plan (databases[].target.database%s) to migrate it again: DMS keeps reporting this migration "
        "completed, so no run migrates into %s again; if they use the target, nothing is left to migrate" % (
            now.operation_id, database.target_database, now.migration.migration_status,
            database.source_database, source_freeze.describe(source_freeze.access_of(source)),
            "drop target database %s on %s (if it is still there)" % (database.target_database, database.target_server)
            if database.restores_backups
            else "clear what the copy wrote into target database %s on %s (it existed before)" % (database.target_database, database.target_server),
            "" if database.restores_backups
            else "; deploy that database with the source's schema on %s first, as this one was: DMS copies data only, and "
                 "preflight refuses a SqlDb target that does not exist or lacks a table" % database.target_server,
            database.target_database)
    )


def done(ctx: StepContext) -> StepResult:
    """Declare the database migrated (`handoffs`): applications may move to the target."""
    current_run.check_current_run(ctx, "nothing is declared")
    now = standing(ctx)
    if now.stage != stages.SUCCEEDED:
        raise StepFailure("%s cannot be declared migrated: %s" % (ctx.database.name, now.describe()))
    if not ctx.validated():  # its XCom, never its task state: a validate marked success by hand compared nothing
        raise StepFailure(
            "%s cannot be declared migrated: validate did not pass in this run (marked success by hand?), so migration "
            "%s was never compared with its source: its rollback hands the database back to the source and keeps the "
            "target, as after a failed validation. Never mark validate success" % (ctx.database.name, now.operation_id)
        )
    if ctx.database.freezes_source:  # a rollback may have handed it back since validate passed (validate marked failed)
        _check_source_still(ctx, now, ctx.sql.source_state(ctx.database, "still-source"))
    # Once declared, applications may write to the target: a retry of done never refuses it then.
    unread = "" if declared_migrated(ctx, now.operation_id) else _check_nothing_logged_since_validate(ctx, now)
    declare_migrated(ctx, now.operation_id)
    source_claims.keep_as_migrated(ctx)  # for good: another entry migrating the source again would split the writes
    cutover_steps.release(ctx)
    return StepResult("%s migrated and validated (migration %s)%s" % (ctx.database.name, now.operation_id, unread), return_value="migrated")


def _check_nothing_logged_since_validate(ctx: StepContext, now: Standing) -> str:
    """Made writable after validate passed, written and frozen again, the source looks as validate left it: read its
    log as validate did. The rollback keeps a validated migration's source frozen (`rollback._maybe_in_use`), so the
    refusal says so, and is pushed for the rollback to name."""
    database = ctx.database
    then = (
        "validate compared the target before them: it is not declared migrated. The rollback keeps the source frozen, "
        "holding them, and the target (this run validated it, and an attempt of done whose worker was lost could still "
        "declare it), and fails for a person, who decides: if no application uses target database %s on %s, make source "
        "database %s writable again (its access before the freeze) and migrate it into another target database "
        "(databases[].target.database: DMS keeps reporting this migration completed); %s the target once it is of no use"
        % (database.target_database, database.target_server, database.source_database,
           "drop" if database.restores_backups else "clear what the copy wrote into"))
    try:
        return _check_nothing_logged_after_restore(ctx, now, then=then) + copy_freeze.check_nothing_logged_after(ctx, now.operation_id, then)
    except StepFailure as refusal:
        ctx.push_for_this_run(LOGGED_AFTER_VALIDATE_KEY, str(refusal))
        raise


def _no_active_migration(database: Any, now: Standing) -> str:
    """Why a step that needs an active migration stops; one DMS still works on (canceling, or copying though its last
    ARM operation failed) is not said to have ended."""
    if now.runs_in_dms:
        return "no active migration of %s: its migration %s" % (database.name, now.describe_stop())
    return "no active migration of %s: %s" % (database.name, now.describe())


def describe_chain(database: Any, gated: bool = False) -> Dict[str, Optional[str]]:
    """Task id -> what it waits for (None: a step that runs once). A gated database (a cutover
    window, an approval or the plan's maxConcurrent: `MigrationPlan.is_gated`) gets
    `await_cutover` right before the first task that freezes its source."""
    gate = {AWAIT_CUTOVER: None} if gated else {}
    if not database.restores_backups:
        return {"preflight": None, **gate, "start_migration": None, "wait_for_migration": WAIT_SUCCEEDED, "validate": None, "done": None}
    if database.is_online:
        return {
            "preflight": None,
            "start_migration": None,
            "wait_for_migration": WAIT_READY_FOR_CUTOVER,
            **gate,
            "freeze_source": None,
            "final_backup": None,
            "cutover": None,
            "wait_for_completion": WAIT_SUCCEEDED,
            "validate": None,
            "done": None,
        }
    return {
        "preflight": None,
        "start_migration": None,
        **gate,
        "freeze_source": None,
        "final_backup": None,
        "wait_for_migration": WAIT_SUCCEEDED,
        "validate": None,
        "done": None,
    }


STEPS = {
    "preflight": preflight,
    AWAIT_CUTOVER: cutover_steps.await_cutover,
    "start_migration": start_migration,
    "freeze_source": freeze_source,
    "final_backup": final_backup,
    "cutover": cutover,
    "validate": validate,
    "done": done,
}


def step_for(task_id: str, goal: Optional[str]):
    return wait_for(goal) if goal else STEPS[task_id]
