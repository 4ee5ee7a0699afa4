"""Undo a failed database migration so the source stays authoritative. Idempotent.

Decided from DMS and SQL state, read again in this task:
1. a database this run never worked on (held back by a failed dependency, or its preflight marked success by
   hand: no step changes DMS or the source without preflight's XCom) is left alone, also where preflight ran in an
   earlier try of a run cleared since and was held back this time (its state, not its XCom: `StepContext.preflight_ran`),
   but where this run's freeze holds its source for an online cutover not yet requested: that one goes back to
   replicating (`_held_back_after_this_runs_preflight`; one whose migration runs on otherwise is left so, and said so:
   `_left_under_way`), and an offline restore not yet given its final backup, or a source that freeze holds with no
   migration running (none created yet, or ended since), is rolled back as below; so is one a later run's
   preflight began on since (`current_run`: this rollback was cleared in an old run), failing for a person; and so is
   one where DMS shows no migration into the target though this run recorded one there
   (`migration_stage._check_not_forgotten`: ARM's reads may lag right after a create), failing for a person;
2. an active migration (copying, ready for cutover) is canceled, and awaited until DMS reports it `Canceled`; so is
   one found `Canceling` (an earlier poke's cancel, or a person's): DMS may still restore into the target then; and so
   is one DMS still reports copying whose last ARM operation failed (`Standing.runs_in_dms`: its stage reads failed).
   The task pokes again meanwhile, within timeoutMinutes; past that it fails, nothing removed and the source's access
   left as it is. A cancel DMS refuses while it still copies fails the rollback, before anything is removed or unfrozen;
3. the target is removed only where `target_removal.decide` allows it, with DMS and the target's
   state read again right before (a live or pre-existing target is never removed); one our ended migration left
   that is not RESTORING any more is kept for a person, and the rollback then ends `RolledBackTargetKept`
   (`KEPT_TARGET_STATUS`), the kept target said first: the next run's preflight refuses the database until it is gone;
4. the DAG's own freeze of the source is undone, back to the access recorded before it
   (`source_freeze`: writable, or the restriction the team had chosen, which stays), unless DMS completed the migration and validation
   passed (then `done` succeeded and no rollback runs), or a run declared this migration migrated
   (`handoffs`), or one into its target whatever DMS reports of it since (it read Failed, or a later migration failed
   over the live database: `_live_without_a_migration`), or this run validated it (only `done` failed, and an attempt of it whose worker
   lost its heartbeat may still be declaring it), or it had completed with its source frozen before
   this run began (that record may be lost), or DMS holds no migration of this plan into a restore's target that is
   there in any state but RESTORING (ONLINE, or a live one taken OFFLINE for a while: `_live_without_a_migration`; the
   record, keyed by that migration, cannot be found), or DMS lists a migration
   of the source into a target the plan no longer names that DMS finishes by itself or a run declared migrated
   (`capacity.migrated_elsewhere`: the entry's target server moved): applications may write to that target by now, and a
   writable source beside it would split them. The rollback then fails, source frozen, for a person
   to decide; so it does where the record of the source's access before the freeze is lost
   (`source_freeze.unknown_freeze`);
5. ending `RolledBack` or `RolledBackTargetKept` (the migration canceled or never started, the DAG's freeze undone), it releases the
   entry's claim on its source database (`source_claims`): another entry may name that database now. Going
   back to replicating, or failing for a person, keeps it; so does a migration of its source left running
   into a target the plan no longer names (below).
Through Data Factory, where this run's preflight did not pass, nothing is read before the SQL earlier runs submitted
on the source (or a SqlVm target) has ended (`steps.wait_for_earlier_runs_sql`, preflight's wait, which may have
failed at timeoutMinutes): a freeze held in the offline self-hosted runtime's queue could land after this rollback read
the source writable, leaving it frozen after a RolledBack that says nothing of it.
Its message (RolledBack, RolledBackTargetKept, WindowMissed, a failure for a person, the one at timeoutMinutes, and
that of any other failure, such as an unexpected SQL error: `StepContext.with_what_it_did`) lists every action this
rollback took in this run and pass, across its pokes and tries, once each and in order, then what its last poke found
(`Actions`: an Airflow Variable keeps them between pokes, as Airflow clears the task's XComs at each).
Where nothing is in flight into the entry's target, a migration DMS runs of its source into a target the
plan no longer names (the target edited while it was under way) is named in the result, left running with
its target, and what a person does is said (`capacity.migration_into_an_unnamed_target`).
A doubtful migration (ours by service and source database, but DMS names another source server than
the plan's host: `migration_stage.Standing.unmatched_source_server`) is canceled, and its target removed,
only where this run's start_migration created it (`StepContext.created_in_this_run`); otherwise the
rollback fails for a person before either, touching nothing (the source's access included).
A foreign migration in flight into the target (another source database's, another plan's
service's: `migration_stage.ForeignMigrationError`) is never canceled, nor is the target removed (what is restored
there may be that migration's), nor the source's access changed. Where this
run changed nothing the rollback ends RolledBack, naming that migration and what a person does (the
database did not migrate: the run fails, with the ordinary failure alert). It fails for a person instead
where the DAG's freeze holds the source (where this plan's own migration stands cannot be read: it may
have gone live), or where a migration this run started, adopted or canceled was replaced by the foreign
one (what it left in the target cannot be told apart).
A database whose cutover window closed before its cutover was requested, or whose freezing step found, before
freezing, that the cutover no longer fits before its deadline (a step raised `WindowMissed`), goes back to
replicating instead: the active migration is not canceled, nothing is
removed, the DAG's freeze is undone; the next run waits for the next window. So does an
active migration whose preflight failed in this run (a runtime briefly offline, say): this run did
nothing to it, and canceling would throw away days of replication; and so does an active migration whose
`await_cutover` failed because no cutover window could start its cutover any more (`NO_WINDOW_LEFT_KEY`):
this run froze nothing, and a window added to the plan lets a new run cut it over. Both XComs count only as pushed
since this run's preflight passed (`StepContext.pulled_for_this_run`): a run cleared from its preflight whose step
fails before those tasks run again rolls back as after any failure. In a run cleared from a later task (same
preflight), an active migration that a rollback of this run already left replicating, undoing the DAG's freeze
(`source_freeze.overtaken_by_rollback`: the record cleared, or marked undoing, since this run's preflight), keeps
replicating: the freezing steps stand down then, changing nothing. None of them goes back to replicating
where DMS finishes the migration by itself while the DAG's freeze holds its source (an offline
restore, a SqlDb copy: `_finishes_on_its_own`): the source made writable beside it would lose the
writes made since, so it is rolled back as above.
"""
from __future__ import annotations

from typing import Any, List, Optional

from migration_orchestration_lib import capacity, current_run, cutover_steps, source_claims, source_freeze, target_removal
from migration_orchestration_lib import migration_stage as stages
from migration_orchestration_lib.database_sql import FREEZE_PURPOSE, DatabaseSql, operation_key_prefix
from migration_orchestration_lib.handoffs import declared_into_target, declared_migrated, handoff_key, record_declared_target, target_handoff_key
from migration_orchestration_lib.migration_stage import Standing
from migration_orchestration_lib.sql_access import SOURCE, SqlEndpoint, SqlOperationFailed
from migration_orchestration_lib.step_context import (
    AWAIT_CUTOVER_TASK, DEADLINE_KEY, DONE_TASK, FREEZE_SOURCE_TASK, FREEZE_SUBMITTED_KEY, LOGGED_AFTER_VALIDATE_KEY, NO_WINDOW_LEFT_KEY, ROLLBACK_BEGAN_KEY, SOURCE_FROZEN_KEY, STAGE_KEY, START_MIGRATION_TASK, WINDOW_MISSED_KEY, ForeignMigration, SourceHidden, StepContext,
    StepFailure, StepPending, StepResult, delete_scratch_record,
)
from migration_orchestration_lib.steps import standing, wait_for_earlier_runs_sql


ROLLBACK_TASK = "rollback"
KEPT_TARGET_STATUS, KEPT_TARGET_OUTCOME = target_removal.KEPT_TARGET_STATUS, target_removal.KEPT_TARGET_OUTCOME
# The steps that may end a database's run as "back to replicating" (see cutover_steps).
WINDOW_CHECKED_TASKS = (AWAIT_CUTOVER_TASK, START_MIGRATION_TASK, "freeze_source", "final_backup", "cutover")


# Why the rollback waits for a freeze still in flight (a Data Factory run queued on an offline self-hosted runtime, or
# running): each poke's `Running` event, and its rollback-failed event at timeoutMinutes, after "waiting: ".
FREEZE_IN_FLIGHT = (
    "the freeze of source %s that %s submitted has not ended (%s): nothing is canceled, removed or unfrozen until it has, "
    "or it could land after this rollback's reads and leave the source frozen. Through Data Factory it waits in the "
    "self-hosted integration runtime's queue while that runtime is offline (shir-offline) and runs once it is back, "
    "freezing the source then. Once the runtime is online and that run has ended (Data Factory Studio, Monitor), clear "
    "this rollback task: it undoes the freeze"
)


# The rollback's record (`services.records`, an Airflow Variable) of what it did in this run and pass: its message lists
# every action of its pokes and tries (`Actions`).
ACTIONS_PREFIX = "migration_rollback_actions__"
CANCELED = "canceled migration %s"


class NothingToRollBack(Exception):
    """This run never worked on the database: the rollback task skips itself."""


# The outcome of a database held back with its migration under way (`_left_under_way`): not migrated, nothing undone.
HELD_BACK_UNDER_WAY = "held_back_under_way"


class Actions(list):
    """What the rollback did and found, said by its message (and its failures'): first what its earlier pokes and tries
    did in this run and pass (canceled, removed, unfroze, restored a lost record), then what this poke finds and does.
    A poke often ends waiting (a cancel DMS finishes later, a removal or an unfreeze through a Data Factory pipeline run
    that spans pokes, a reschedule), and a person may clear a rollback that failed: the last poke alone would tell
    neither what was undone nor what is left. Airflow clears a task's XComs at every poke of a rescheduled try and as a
    try starts (2.x `TaskInstance._execute_task_with_callbacks` `clear_xcom_data()`; 3.x the execution API's `ti_run`,
    `xcom_keys_to_clear`), so each action is recorded as it is taken in an Airflow Variable (`record_key`), marked with
    the run and its pass (`StepContext.put_record_of_this_pass`): a run cleared from its
    preflight starts a new list. Deleted as the rollback ends with a result; kept where it fails, for a person's
    clear. Names of databases, servers and migrations only: no secrets."""

    def __init__(self, ctx: StepContext):
        self.ctx = ctx
        self.taken = recorded_actions(ctx)  # what is recorded: the actions alone, not what pokes found
        super().__init__(self.taken)

    def took(self, action: Optional[str]) -> None:
        """An action taken (once each: a poke that repeats one, a cancel sent again, says it once), recorded at once."""
        if not action or action in self.taken:
            return
        self.taken.append(action)
        if action not in self:
            self.append(action)
        self.ctx.put_record_of_this_pass(record_key(self.ctx), actions=self.taken)


def record_key(ctx: StepContext) -> str:
    return "%s%s__%s" % (ACTIONS_PREFIX, ctx.plan.name, ctx.database.name)


def recorded_actions(ctx: StepContext) -> List[str]:
    """What earlier pokes and tries of this run's rollback did in this pass (`Actions`); [] where the record is
    another run's or pass's, or unreadable."""
    found = ctx.record_of_this_pass(record_key(ctx)).get("actions")
    return [action for action in found if isinstance(action, str) and action] if isinstance(found, list) else []


def _took(actions: List[str], action: Optional[str]) -> None:
    """An action taken into `actions`: recorded where they are the rollback's `Actions`; else (`_finishes_on_its_own`'s
    look, whose list is said nowhere) only listed."""
    if isinstance(actions, Actions):
        actions.took(action)
    elif action:
        actions.append(action)


def roll_back(ctx: StepContext) -> StepResult:
    database = ctx.database
    # First: no step of this run acts after it, until the run is cleared from its preflight.
    ctx.task_instance.xcom_push(key=ROLLBACK_BEGAN_KEY, value=ctx.preflight_facts().get(DEADLINE_KEY, ""))
    if not ctx.preflight_ran():
        held = _held_back_after_this_runs_preflight(ctx)
        if held is not None:
            return held
        cutover_steps.release(ctx, consume_approval=False)
        raise NothingToRollBack(
            "%s never started in this run (a database it depends on failed, or its preflight never ran: no step acts "
            "without it): nothing to roll back" % database.name
        )
    return _roll_back_as_usual(ctx)


def _roll_back_as_usual(ctx: StepContext, why: str = "") -> StepResult:
    """The rollback of a database this run worked on; `why`: where its preflight did not run in this try
    (`_held_back_after_this_runs_preflight`), recorded first among its actions: its later pokes and tries go on with it."""
    # A rollback cleared in an old run would undo what later runs did (cancel a replication one left).
    current_run.check_current_run(ctx, "nothing is canceled or removed and the source's access is left as it is")
    actions = Actions(ctx)
    ctx.done_so_far = actions.taken  # each poke's Running event, and any failure, say them too (`with_what_it_did`)
    actions.took(why)
    _await_freezes_in_flight(ctx)
    try:
        result = _roll_back(ctx, actions)
    except ForeignMigration as foreign:  # raised only by a DMS read (`standing`), before or after a cancel
        result = _beside_foreign_migration(ctx, foreign.description, actions)
    delete_scratch_record(lambda: ctx.services.records, record_key(ctx), "what the rollback did")
    return result


def _held_back_after_this_runs_preflight(ctx: StepContext) -> Optional[StepResult]:
    """A database held back in this run (its preflight did not run in this try: `StepContext.preflight_ran`) after
    this run's preflight began on it (the record of its current run names this run): a person cleared a task it
    depends on with its downstream tasks, and that task failed again. None (never started in this run: nothing to
    roll back) for any other, or where DMS reports a migration a run declared migrated, or no migration running or
    live and nothing of this run holds the source, one beside a foreign migration, or a source that cannot be read.
    Where this run's freeze holds the source and no migration runs (a SqlDb copy's freeze before DMS's create; a
    migration that failed or was canceled since), it is rolled back as usual (`_roll_back_as_usual`), said first.
    Where this run's freeze holds the source of an online migration still replicating (its cutover under way, not
    requested), no other run may undo that freeze: it goes back to replicating, as after this run's own preflight
    failed (the freeze undone, the migration not canceled, its target kept). An offline restore (the plan's mode, or
    DMS's own offline flag) held so before its final backup (`lastBackupName`, which DMS waits for before it finishes)
    was taken is rolled back as after any failure before that backup (`_roll_back_as_usual`: canceled, its RESTORING
    target removed as `target_removal.decide` allows, the freeze undone); the later pokes and tries of that rollback go
    on with it (its record of what it did says so). Any other migration of this run runs on (`_left_under_way`):
    replicating, or finished by DMS by itself (a cutover requested, an offline restore given its final backup, a
    SqlDb copy), the source kept as it is (a writable source beside a target DMS brings online would lose the writes
    made since)."""
    database = ctx.database
    if ctx.services.records.get(current_run.current_run_key(ctx.plan.name, database.name)) != ctx.run_id:
        return None
    cleared = "a task upstream of it was cleared with its downstream tasks, and %s did not migrate" % _waits_for(database)
    held = ("%s was held back in this run before its final backup (%s): its offline migration is rolled back, or this "
            "run's freeze of its source would outlast the run while DMS waits for a final backup no step takes"
            % (database.name, cleared))
    stopped = ("%s was held back in this run with its source frozen by this run and no migration running (%s): it is "
               "rolled back as after any failure, or that freeze would outlast the run" % (database.name, cleared))
    for began in (held, stopped):
        if began in recorded_actions(ctx):  # an earlier poke or try of this rollback began so (below): on with it
            return _roll_back_as_usual(ctx, began)
    _await_freezes_in_flight(ctx)  # a freeze the cleared freeze_source submitted may still land
    try:
        now = standing(ctx)
        if now.is_live and declared_migrated(ctx, now.operation_id):
            return None
        source = ctx.sql.source_state(database, "source-state-held-back")
    except (ForeignMigration, SourceHidden):
        return None
    frozen = not source_freeze.check_marker(ctx, database, source).refusal and source_freeze.frozen_by_dag(ctx, database, source)
    if not now.is_active and not now.is_live:  # none created yet (a copy's freeze comes first), or ended since
        return _roll_back_as_usual(ctx, stopped) if frozen else None
    if frozen and now.is_active and database.restores_backups:
        if not database.is_online or now.migration.offline:  # DMS's own offline flag too: it finishes by itself (`_finishes_on_its_own`)
            if not _given_its_last_backup(ctx, now):
                return _roll_back_as_usual(ctx, held)
        else:
            actions = Actions(ctx)
            ctx.done_so_far = actions.taken
            return _back_to_replicating(
                ctx, now, actions, "%s was held back in this run while its cutover was under way (%s): this run's freeze "
                "of its source is undone" % (database.name, cleared), _goes_on_with_it(database, "cuts it over"),
                status="RolledBack", outcome="rolled_back")
    return _left_under_way(ctx, now, frozen, cleared)


def _left_under_way(ctx: StepContext, now: Standing, frozen: bool, cleared: str) -> StepResult:
    """The rollback of a database held back with its migration running on (`_held_back_after_this_runs_preflight`):
    nothing undone, and said so (a `Succeeded` event, an end for the stalled-run alert, and the run's report), for a
    person who read "never started" would take the source for untouched."""
    database = ctx.database
    where = "target database %s on %s (kept)" % (database.target_database, database.target_server)
    offline = not database.is_online or now.migration.offline
    if now.is_live or (frozen and database.restores_backups and offline):  # a cutover requested, a final backup given
        runs_on, then = "is finished by DMS by itself into %s" % where, "validates its target and declares it"
    elif database.restores_backups and not offline:
        runs_on, then = "keeps replicating into %s" % where, "cuts it over"
    elif database.restores_backups:
        runs_on, then = "keeps restoring the source's backups into %s until a final backup" % where, "goes on with it"
    else:
        runs_on, then = "keeps copying into %s" % where, "goes on with it"
    source = (" Its source stays frozen by this run: writable beside a target DMS brings online, it would lose the "
              "writes made there." if frozen else "")
    cutover_steps.release(ctx, consume_approval=False)
    return StepResult(
        "%s was held back in this run (%s) with its migration under way: nothing is rolled back. DMS reports migration "
        "%s %s; it %s.%s Next: %s." % (
            database.name, cleared, now.operation_id, now.stage.replace("_", " "), runs_on, source,
            _goes_on_with_it(database, then)),
        return_value=HELD_BACK_UNDER_WAY)


def _waits_for(database: Any) -> str:
    """What a database held back behind `depends_on` waits for."""
    return ", ".join(database.depends_on) or "what it depends on"


def _goes_on_with_it(database: Any, what: str) -> str:
    """The run that goes on with a database held back behind `depends_on`."""
    return "a run in which %s migrate%s %s" % (_waits_for(database), "" if len(database.depends_on) > 1 else "s", what)


def _given_its_last_backup(ctx: StepContext, now: Standing) -> bool:
    """Whether an offline restore was given the final backup DMS finishes it after (`lastBackupName`): DMS reports that
    file restored or restoring, or msdb records a log backup of the source to it in the share (taken by this run's
    final_backup, an earlier try of it whose worker was lost included, or an earlier run's). Through Data Factory, a
    final backup still in flight is awaited first (`steps.wait_for_earlier_runs_sql`). True where DMS names none, or the
    source server has no share: not rolled back, as before."""
    name, share = now.migration.last_backup_name, ctx.source_server.backup_file_share
    if not name or share is None:
        return True
    if now.migration.is_backup_restored(name) or now.migration.is_backup_restoring(name):
        return True
    wait_for_earlier_runs_sql(ctx, now, own_tasks=("preflight", ROLLBACK_TASK))
    return ctx.sql.log_after_backup(ctx.database, [share.file_path(name)], "final-backup-held-back").final_last_lsn is not None


def _await_freezes_in_flight(ctx: StepContext) -> None:
    """A freeze a freezing step of this run submitted through Data Factory runs on after the try that submitted it
    stopped (a person marked the task failed, or success, while it waited for the freeze; its worker lost, and the
    next try failed before freezing): awaited first, so that the reads below see it and undo it. Otherwise it could
    land after them, with no attempt left to stand down and undo it (`steps._stand_down_if_overtaken`): the source
    frozen, and no event saying so. The task's XCom lists the keys of every try's (`steps._remember_freeze_keys`);
    each is asked whether it was submitted: through Data Factory a query, directly a look in this process. Through
    Data Factory also each freeze of the task in this run still in flight, of any try (`_freezes_in_flight`)."""
    for task in (FREEZE_SOURCE_TASK, START_MIGRATION_TASK):
        listed = ctx.task_instance.xcom_pull(task_ids=ctx.task_id(task), key=FREEZE_SUBMITTED_KEY)
        prefixes = [listed] if isinstance(listed, str) else list(listed or [])  # a string: a run from before the list
        for prefix in prefixes + [p for p in _freezes_in_flight(ctx, task) if p not in prefixes]:
            sql = DatabaseSql(ctx.services.sql_access, prefix)
            if sql.freeze_submitted(ctx.database):
                try:
                    sql.await_freeze(ctx.database)  # its run, by key; StepPending while it runs: the rollback pokes again
                except SqlOperationFailed:
                    pass  # it ended without freezing: the reads below see the source as it is (or hidden, say so)
                except StepPending as pending:  # at timeoutMinutes, the rollback-failed event says it: a person acts on it
                    raise StepPending(FREEZE_IN_FLIGHT % (ctx.database.source_database, task, pending)) from None


def _freezes_in_flight(ctx: StepContext, task: str) -> List[str]:
    """Through Data Factory, the key prefixes of the freezes `task` submitted in this run, any try's, whose pipeline runs
    have not ended: the XCom may not list an earlier try's. Airflow 3.4 keeps a task's XComs per attempt: once a try
    fails into a retry, or the task is cleared, the new attempt reads none, the earlier one's archived with it, so a
    retry a person marked failed before it started (or a task cleared and not run again) leaves the XCom empty while
    its earlier try's freeze may still wait in the runtime's queue (3.3 keeps them until the task runs again)."""
    in_flight = getattr(ctx.services.sql_access, "keys_in_flight", None)
    if in_flight is None:  # direct access: SQL runs in the task's own process, nothing outlives it
        return []
    own = operation_key_prefix(ctx.run_id, ctx.database.name, task, "")
    freeze = ":" + FREEZE_PURPOSE
    source = SqlEndpoint(role=SOURCE, server_name=ctx.database.source_server, database="master")
    return [key[: -len(freeze)] for key, _ in in_flight(source, lambda key: key.startswith(own) and key.endswith(freeze))]


def _roll_back(ctx: StepContext, actions: Actions) -> StepResult:
    database, services = ctx.database, ctx.services
    now = standing(ctx)
    record_declared_target(ctx, now.latest_operation_id)  # as preflight does: this run's may have failed before reading DMS
    if not ctx.preflight_passed():  # its wait for earlier runs' SQL may not have ended (it failed at timeoutMinutes)
        wait_for_earlier_runs_sql(ctx, now, own_tasks=("preflight", ROLLBACK_TASK))
    _wait_while_canceling(ctx, now)
    missed = _window_missed(ctx)
    if missed and not now.is_live and not now.has_ended and not _finishes_on_its_own(ctx, now):
        then = "a new run waits for the next window" if database.cutover.windows else "a new run waits at await_cutover again"
        return _back_to_replicating(ctx, now, actions, "window missed (%s)" % missed, then)
    if now.is_active and not ctx.preflight_passed() and not _finishes_on_its_own(ctx, now):
        return _back_to_replicating(
            ctx, now, actions, "preflight failed: this run changed nothing", "run again once preflight passes", status="RolledBack", outcome="rolled_back"
        )
    no_window = ctx.pulled_for_this_run(AWAIT_CUTOVER_TASK, NO_WINDOW_LEFT_KEY)
    if no_window and now.is_active and not _finishes_on_its_own(ctx, now):
        return _back_to_replicating(
            ctx, now, actions, "await_cutover failed, nothing frozen: %s" % no_window,
            "add a window to the plan (cutover.windows) and run again", status="RolledBack", outcome="rolled_back"
        )
    if now.is_active and source_freeze.overtaken_by_rollback(ctx, database) is not None and not _finishes_on_its_own(ctx, now):
        return _back_to_replicating(
            ctx, now, actions, "a rollback of this run already undid %s since its preflight without canceling its migration: "
            "nothing more is undone" % database.name, ctx.how_to_run_again(), status="RolledBack", outcome="rolled_back"
        )
    if now.runs_in_dms:
        _withhold_from_a_doubtful_migration(ctx, now, "cancel it", actions)
        services.dms.cancel(ctx.target, now.operation_id)
        actions.took(CANCELED % now.operation_id)
        now = standing(ctx)
        _wait_while_canceling(ctx, now, after_cancel=True)
    gone = target_removal.noted_gone(ctx, now.migration)
    # Read again once the target was seen gone (removed by an earlier poke of this rollback, say): through Data Factory the
    # read is adopted by key, and the RESTORING target it read before the removal was taken for one put there since.
    read = ctx.sql.target_state(database, "target-state-after-removal" if gone else "target-state-after-cancel")
    target, hidden = read.state, target_removal.hidden(database, read)
    decision = (target_removal.RemovalDecision(False, "%s: nothing removed" % hidden) if hidden
                else target_removal.decide(database, now.migration, target, gone, declared_into_target(ctx)))
    if decision.remove:
        _withhold_from_a_doubtful_migration(ctx, now, "remove target database %s" % database.target_database, actions)
        actions.took(target_removal.remove(ctx, database))
    else:
        actions.append(decision.reason)
    if decision.remove or (target is None and not hidden):  # a database of its name found later is not this migration's
        target_removal.note_gone(ctx, now.migration)
    source = _source_state(ctx, now, actions)
    marker = _check_marker(ctx, source, actions)
    if source_freeze.frozen_by_dag(ctx, database, source):
        why = _maybe_in_use(ctx, now) if now.is_live else _live_without_a_migration(ctx, now, target, bool(hidden))
        _keep_frozen_where_in_use(ctx, actions, why)
    _undo_freeze(ctx, now, source, marker, actions)
    left = _left_in_a_target_the_plan_no_longer_names(ctx, now)
    if not left:  # the migration ended: another entry may name the source now
        source_claims.release(ctx)
    cutover_steps.release(ctx)
    if decision.left_for_a_person:  # said first, and in the status: the target is not gone, and blocks the next run
        done = [action for action in actions if action is not decision.reason]
        return StepResult(
            "rolled back, target kept: %s; the next run's preflight refuses %s until a person drops it (or names another "
            "target database in the plan). %s" % (
                decision.reason, database.name, "; ".join(done) or "nothing else to undo") + left,
            status=KEPT_TARGET_STATUS, return_value=KEPT_TARGET_OUTCOME)
    return StepResult("; ".join(actions) + left, status="RolledBack", return_value="rolled_back")


def _keep_frozen_where_in_use(ctx: StepContext, actions: List[str], why: str) -> None:
    """Fail for a person, the DAG's freeze of the source kept, where its target may be in use (`why`; empty: not)."""
    if why:
        cutover_steps.release(ctx)
        raise StepFailure(
            "%s; source database %s kept frozen: %s, so applications may write to the target by now and a "
            "writable source would split them. A person must decide: make the source writable yourself only if "
            "nothing uses the target" % ("; ".join(actions), ctx.database.source_database, why)
        )


def _wait_while_canceling(ctx: StepContext, now: Standing, after_cancel: bool = False) -> None:
    """Poke again while DMS is still canceling the migration: its cancel operation may have ended while the migration
    stays `Canceling` (the PowerShell examples read it so right after Stop-AzDataMigrationTo* returned), DMS may still
    restore into the target, and it refuses to delete the migration then (`DeleteMigrationNotAllowedCancelInProgress`).
    Nothing is removed or unfrozen before DMS reports it `Canceled`; the task's timeoutMinutes bounds the wait.
    `after_cancel`: right after this poke's cancel was accepted, a migration DMS still reports running is waited for too
    (the next poke cancels it again)."""
    if not now.is_canceling and not (after_cancel and now.runs_in_dms):
        return
    database = ctx.database
    raise StepPending(
        "DMS is still %s migration %s of %s into %s on %s: target database %s is not removed and source %s's access "
        "is left as it is (frozen, where the DAG froze it) until DMS reports it Canceled. Should it stay so, do not make "
        "the source writable yourself while DMS may still restore into the target (a cancel that does not take lets it "
        "finish, and a writable source beside a target gone live splits the writes): look at the migration in DMS, and "
        "once it reads Canceled or Failed, clear this rollback task: it removes a target left RESTORING and gives the source back its "
        "access before the freeze (the Airflow Variable %s). Once it reads Succeeded (the cancel did not take: DMS completed the "
        "migration, target database %s is ONLINE and may be taken into use), keep the source frozen and do not clear this "
        "rollback task (it would give the source back its access beside that target): trigger a new DAG run, which finds the "
        "migration completed with its source frozen, validates the target against the source and declares it migrated (then "
        "move the applications to the target), or, where validation fails, keeps the source frozen for a person to decide" % (
            "canceling" if now.is_canceling else "copying (%s) after the cancel of" % now.migration.describe(), now.operation_id, database.source_database, database.target_database, database.target_server,
            database.target_database, database.source_database, source_freeze.record_key(database), database.target_database)
    )


def _left_in_a_target_the_plan_no_longer_names(ctx: StepContext, now: Standing) -> str:
    """Where the entry's target has no migration in flight, one DMS runs of its source into a target the plan no
    longer names (the target changed while it was under way: `capacity.migration_into_an_unnamed_target`), said with
    what a person does (empty: none). It is left running, its target kept: only a person knows whether the plan
    means that target or the new one, and a target edited by mistake is put back to carry on (canceling would throw
    away the replication). Read from the list this poke read last where no operation began since (`standing`'s proof of
    a 404, or `capacity.migrated_elsewhere`'s): it changes nothing, and another entry's start_migration lists afresh."""
    if now.migration is not None and not now.has_ended:
        return ""
    database, source = ctx.database, ctx.source_server
    found = capacity.migration_into_an_unnamed_target(
        ctx.plan, database, ctx.services.dms.migrations_on_service(reuse=True), source.host, source.port,
        ctx.services.dms.migration_service_id)
    if found is None:
        return ""
    ctx.operation_id = found[2].migration_operation_id  # the event's MigrationOperationId: the migration left running
    record_key = source_freeze.record_key(database)
    return "; %s: %s, its target kept. %s" % (
        capacity.describe_unnamed_target_migration(database, found),
        "left to DMS, which still cancels it" if found[2].is_canceling else "left running, not canceled",
        capacity.unnamed_target_migration_remedy(database, record_key, ctx.services.records.get(record_key)))


def _finishes_on_its_own(ctx: StepContext, now: Standing) -> bool:
    """Whether DMS completes the active migration by itself while the DAG's freeze holds its source: an
    offline restore (after the final backup it was told of, which a crashed run may have put in the share
    already) or a SqlDb copy. Going back to replicating would make the source writable while DMS brings the
    target online without the writes made since; such a migration is rolled back instead (canceled, then
    the source unfrozen). An online migration waits for its cutover: it may go back to replicating. DMS's
    own offline flag counts too: the plan may have been edited to online since an offline one started."""
    database = ctx.database
    if not now.is_active or (database.restores_backups and database.is_online and not now.migration.offline):
        return False
    source = _source_state(ctx, now, [], "source-state-before-replicating")
    _check_marker(ctx, source, [])  # a lost record comes back from this plan's marker
    return source_freeze.frozen_by_dag(ctx, database, source)


def _withhold_from_a_doubtful_migration(ctx: StepContext, now: Standing, action: str, actions: List[str]) -> None:
    """Stop for a person, touching nothing more, before `action` on a doubtful migration (DMS names
    another source server than the plan's host) that this run did not create. What DMS reports there
    is recorded only for SqlDb (the request's dataSource, `source_server_names`): the server's own name
    would make a host that is an IP address, an alias or a listener differ, yet it may be another
    server's same-named database through this plan's service."""
    if not now.is_doubtful or ctx.created_in_this_run(now.operation_id):
        return
    database, source = ctx.database, ctx.source_server
    done_so_far = "".join(done + "; " for done in actions)
    cutover_steps.release(ctx)
    raise StepFailure(
        "%sDMS migration %s into target database %s on %s (%s) names its source server %r, not this plan's source "
        "host %s (server %s), and this run did not create it: it may be another server's %s migrated through this "
        "plan's migration service, so the rollback does not %s and leaves the source's access as it is. A person "
        "must judge: if it is this plan's migration (%s is an IP address, an alias or a listener of %s), cancel it "
        "yourself where it still runs and drop a target it left RESTORING, or write the plan's host as DMS names the server; if it is "
        "another's, leave it to whoever runs it; where the DAG froze the source, make it writable again (the Airflow Variable %s holds "
        "its access before the freeze) once no migration of this plan can go live (DMS reads it Canceled or Failed, or it "
        "is online and not asked to cut over; an offline one still copying goes live by itself once its last backup, "
        "DMS's lastBackupName, is in the share); then run again"
        % (done_so_far, now.operation_id, database.target_database,
           database.target_server, now.migration.migration_status, now.unmatched_source_server, source.host, source.name,
           database.source_database, action, source.host, now.unmatched_source_server, source_freeze.record_key(database))
    )


def _beside_foreign_migration(ctx: StepContext, foreign: str, actions: List[str]) -> StepResult:
    """DMS's migration in flight into the target is not this plan's: it is not canceled, the target is
    not removed (what is restored there may be that migration's), and where this plan's own migration
    stands cannot be read. Nothing of this plan's left to judge: RolledBack (the database did not
    migrate, the run fails). The DAG's freeze holding the source, or a migration this run worked on
    replaced by the foreign one: a person decides, the source kept as it is."""
    database = ctx.database
    this_run = _what_this_run_did(ctx, actions)
    kept = "%s. Not this plan's: that migration is not canceled and target database %s on %s is kept as it is" % (
        foreign, database.target_database, database.target_server)
    source = _source_state(ctx, Standing(stages.NOT_STARTED, None), actions)
    marker = _check_marker(ctx, source, actions)
    if source_freeze.frozen_by_dag(ctx, database, source):
        cutover_steps.release(ctx)
        raise StepFailure(
            "%s; source database %s kept frozen: the DAG's freeze holds it, and with another migration in the target "
            "whether this plan's migration went live cannot be read. A person must decide: make the source writable "
            "again only if no application writes to %s on %s; then run again once that migration has ended" % (
                "; ".join(actions + [kept]), database.source_database, database.target_database, database.target_server)
        )
    if this_run:
        cutover_steps.release(ctx)
        raise StepFailure(
            "%s; %s, which DMS no longer shows: what it left in target database %s cannot be told from what the other "
            "migration restores there, so nothing is removed. A person must judge the target; then run again"
            % ("; ".join(actions + [kept]), this_run, database.target_database)
        )
    _undo_freeze(ctx, Standing(stages.NOT_STARTED, None), source, marker, actions)
    source_claims.release(ctx)
    cutover_steps.release(ctx)
    return StepResult(
        "; ".join(["nothing done, nothing to undo: " + kept] + actions) + ". " + _what_a_person_does(database),
        status="RolledBack",
        return_value="rolled_back",
    )


def _what_this_run_did(ctx: StepContext, actions: List[str]) -> str:
    """What this run did to a migration of this plan (empty: nothing): its start_migration started or
    adopted one, or this rollback canceled one."""
    operation_id = ctx.task_instance.xcom_pull(task_ids=ctx.task_id(START_MIGRATION_TASK))
    if operation_id:
        return "this run started or adopted migration %s" % operation_id
    return "this run canceled this plan's migration" if any(action.startswith(CANCELED % "") for action in actions) else ""


def _what_a_person_does(database: Any) -> str:
    if database.restores_backups:
        then = ("this plan migrates into %s only once the database that migration leaves there is removed (only if "
                "nothing uses it), or once the plan names another target database" % database.target_database)
    else:
        then = ("this plan's copy then writes into %s over what that migration copied: first make sure nothing there "
                "must stay, or name another target database in the plan" % database.target_database)
    return "A person finds out whose migration it is and lets it end, or cancels it where it runs; %s; then runs again" % then


def _maybe_in_use(ctx: StepContext, now: Standing) -> str:
    """Why a completed migration's target may be in use (empty: it is not). A run may hand the writes back
    to the source only where it saw DMS complete the migration, or froze the source itself: a migration
    completed, its source frozen, before this run began may have been declared migrated by a run whose
    record (`handoffs`) Airflow lost."""
    if declared_migrated(ctx, now.operation_id):
        return "an earlier run declared migration %s migrated" % now.operation_id
    if ctx.validated():  # only `done` failed: an attempt of it whose worker lost its heartbeat may still declare it
        if ctx.pulled_for_this_run(DONE_TASK, LOGGED_AFTER_VALIDATE_KEY):  # a run again would refuse it as well
            return ("this run validated migration %s, then its done refused to declare it: the source was logged after the "
                    "final backup, or a copy's freeze (see done's error), and an attempt of done whose worker was lost could still declare "
                    "it" % now.operation_id)
        return "this run validated migration %s and its done task may still declare it migrated; run again to declare it" % now.operation_id
    found = ctx.preflight_facts()
    if found and (found.get(STAGE_KEY) != stages.SUCCEEDED or not found.get(SOURCE_FROZEN_KEY)):
        return ""
    return (
        "migration %s had already completed when this run began, its source frozen (DMS %s), and whether a run declared "
        "it migrated is known only from the Airflow Variable %s, which is missing (never written, or lost with "
        "Airflow's metadata)" % (now.operation_id, now.migration.migration_status, handoff_key(now.operation_id))
    )


def _live_without_a_migration(ctx: StepContext, now: Standing, target: Any, hidden: bool = False) -> str:
    """Why a target may be in use though DMS holds no live migration of this plan into it (empty: it is not). A run
    declared a migration into it migrated (the handoff by target), whatever DMS reports since: that migration read
    Failed, or a later one of the source (a person's, through this plan's service) failed over the live database.
    DMS forgets a migration whose resource was deleted after it ended (`DatabaseMigrationsSqlMi_Delete`, ..._SqlVm_,
    ..._SqlDb_), and one run by another migration service (the plan's replaced since) reads as none of this plan's:
    the handoff record, keyed by that migration, cannot be read then. A restore's target database ONLINE beside a
    source the DAG froze, DMS holding no migration of this plan into it, is that migration gone live (no restore of
    this source into it is pending, and preflight starts none over an existing target), perhaps declared migrated
    and written to by applications; so is one in any other state but RESTORING (what a restore that never went live
    is left in, `target_removal.REMOVABLE_STATES`): a live database a person took OFFLINE for a while, or RECOVERING
    after a restart or a failover, is still the one applications use. `hidden`: master's sys.databases showed the
    login no row of the target, which it may not see though it exists (`target_removal.hidden`): it may be that one ONLINE."""
    database = ctx.database
    declared = declared_into_target(ctx)
    if declared:
        return "a run declared migration %s into target database %s on %s migrated (the Airflow Variable %s) and %s" % (
            declared, database.target_database, database.target_server, target_handoff_key(ctx.target),
            "DMS holds no migration of this plan into it now" if now.migration is None else "DMS's latest migration "
            "into it now is %s (%s)" % (now.operation_id, now.migration.migration_status))
    if now.migration is not None:
        return ""
    if database.restores_backups and hidden:
        return (
            "DMS holds no migration of this plan into target database %s on %s (its migration resource deleted, or run by "
            "another migration service) and the DAG's login cannot see that database (see above): it may be ONLINE, "
            "that migration gone live, and whether a run declared it migrated cannot be read (the Airflow Variables "
            "%s<operation id>)" % (database.target_database, database.target_server, handoff_key(""))
        )
    if not database.restores_backups or target is None or target.state in target_removal.REMOVABLE_STATES:
        return ""
    return (
        "target database %s on %s is %s and DMS holds no migration of this plan into it (its migration resource "
        "deleted, or run by another migration service), so whether a run declared it migrated cannot be read (the "
        "Airflow Variables %s<operation id>)" % (
            database.target_database, database.target_server, target.state, handoff_key(""))
    )


def _source_state(ctx: StepContext, now: Standing, actions: List[str], purpose: str = "source-state") -> Any:
    """The source's state (None: absent). One hidden from the DAG's login (`SourceHidden`: master's sys.databases shows
    it no row, and it may not see every row) cannot be unfrozen, nor told frozen or not: where the DAG may have frozen
    it (its record of the access before the freeze is there, or DMS holds a migration of it, whose record may be lost)
    the rollback stops for a person, the source left as it is, naming the grant; where neither, nothing of it is the
    DAG's to undo (a preflight that refused it, say), and the rollback says so and goes on. Before, it read absent:
    nothing undone, and a source the DAG froze stayed frozen behind a rollback that reported success."""
    database = ctx.database
    try:
        return ctx.sql.source_state(database, purpose)
    except SourceHidden as hidden:
        if source_freeze.before_freeze(ctx, database) is None and now.migration is None:
            actions.append("source database %s left as it is, not read: %s" % (database.source_database, hidden))
            return None
        cutover_steps.release(ctx)
        raise StepFailure("; ".join(list(actions) + [
            "source database %s left as it is (frozen, where the DAG froze it): %s. Grant it, then clear this rollback "
            "task to undo the rest" % (database.source_database, hidden)])) from None


def _check_marker(ctx: StepContext, source, actions: List[str]) -> source_freeze.MarkerFinding:
    """The source's freeze marker against the record (`source_freeze.check_marker`), before the record
    is read: a lost record comes back from this plan's marker; a disagreement stops for a person."""
    marker = source_freeze.check_marker(ctx, ctx.database, source)
    if marker.disagreement:
        cutover_steps.release(ctx)
        raise StepFailure("; ".join(actions + [marker.disagreement]))
    _took(actions, marker.restored)
    return marker


def _undo_freeze(ctx: StepContext, now: Standing, source, marker: source_freeze.MarkerFinding, actions: List[str]) -> None:
    """The DAG's own freeze undone (`source_freeze`); with its record lost, nothing is guessed: a person decides.
    A source carrying another plan's freeze marker is never unfrozen: where this plan's record says it
    froze it too, or cannot tell, a person decides; otherwise it is left as it is."""
    other_plan = marker.other_plan
    unknown = source_freeze.unknown_freeze(ctx, ctx.database, source, now)
    if other_plan and (unknown or source_freeze.frozen_by_dag(ctx, ctx.database, source)):
        cutover_steps.release(ctx)
        raise StepFailure("; ".join(actions + ["source database %s kept as it is" % ctx.database.source_database, other_plan]))
    if other_plan:
        actions.append("source database %s left as it is: %s" % (ctx.database.source_database, other_plan))
        return
    if unknown:
        cutover_steps.release(ctx)
        raise StepFailure("; ".join(actions + [unknown]))
    elsewhere = capacity.migrated_elsewhere(ctx, now) if source_freeze.frozen_by_dag(ctx, ctx.database, source) else ""
    if elsewhere:
        cutover_steps.release(ctx)
        raise StepFailure("; ".join(actions + [elsewhere]))
    _took(actions, source_freeze.unfreeze(ctx, ctx.database, source))


def _window_missed(ctx: StepContext) -> str:
    for task in WINDOW_CHECKED_TASKS:
        missed = ctx.pulled_for_this_run(task, WINDOW_MISSED_KEY)
        if missed:
            return missed
    return ""


def _back_to_replicating(
    ctx: StepContext, now: Standing, actions: Actions, why: str, next_step: str, status: str = "WindowMissed", outcome: str = "waiting"
) -> StepResult:
    database = ctx.database
    actions.insert(0, why)  # said first, then what earlier pokes and tries did
    source = _source_state(ctx, now, actions)
    marker = _check_marker(ctx, source, actions)
    if source_freeze.frozen_by_dag(ctx, database, source):  # a later migration in flight into a declared target
        _keep_frozen_where_in_use(ctx, actions, _live_without_a_migration(ctx, now, None))
    _undo_freeze(ctx, now, source, marker, actions)
    if now.is_active:
        actions.append("migration %s keeps replicating and its target is kept (never deleted)" % now.operation_id)
    actions.append(next_step)
    cutover_steps.release(ctx)
    return StepResult("; ".join(actions), status=status, return_value=outcome)

