import { ITerraformDependable } from 'cdktf';
import { LOG_ALERT_WINDOW_MINUTES, LONGEST_LOG_ALERT_WINDOW_MINUTES, shortestWindowOfAtLeast } from '../private/alert-timing';
import { isMinutes, requireArgument, requirePlanName } from '../private/required-fields';
import { AlertSeverity, LogAlertDefinition, splitOn } from './alerts';

import { loadMigrationEventsContract, MigrationEventColumn } from './migration-events-contract';

/**
 * The migration-events contract between the DAG (which writes one event per step through the Logs
 * Ingestion API) and the alerts (which query them), read from the one file both sides share. DMS
 * has no Azure Monitor metrics or logs, so these events are the only signal of a migration's progress.
 */
const CONTRACT = loadMigrationEventsContract();

/** Custom Log Analytics table (custom tables end in `_CL`). */
export const MIGRATION_EVENTS_TABLE: string = CONTRACT.table;

/** Stream the data collection rule declares and the DAG uploads to. */
export const MIGRATION_EVENTS_STREAM: string = CONTRACT.stream;

export type { MigrationEventColumn } from './migration-events-contract';

/** The event schema, in the order the table and the stream declare it. */
export const MIGRATION_EVENT_COLUMNS: readonly MigrationEventColumn[] = CONTRACT.columns;

/** Values of the `Phase` column. */
export const MIGRATION_PHASES: readonly string[] = CONTRACT.phases.map((phase) => phase.name);

/** Values of the `Status` column. */
export const MIGRATION_STATUSES: readonly string[] = CONTRACT.statuses.map((status) => status.name);

/** The heartbeat of the events contract. */
export interface MigrationHeartbeat {
  /** Status of the heartbeat event (`Running`). */
  readonly status: string;
  /** The longest the DAG waits between two heartbeats of a running migration. */
  readonly maxIntervalMinutes: number;
}

/**
 * While DMS still works, each wait step re-emits this status at least every `maxIntervalMinutes`,
 * with `DurationSeconds` = how long it has run so far.
 */
export const MIGRATION_HEARTBEAT: MigrationHeartbeat = CONTRACT.heartbeat;

/** One kind of event of the contract: a phase and a status, of one target kind where it says so. */
export interface MigrationEventKind {
  /** Value of the `Phase` column. */
  readonly phase: string;
  /** Value of the `Status` column. */
  readonly status: string;
  /** Value of the `TargetKind` column, where only that kind's event counts. */
  readonly targetKind?: string;
}

/** The events that bound a freeze of the source by the DAG (the contract's `sourceFrozen`). */
export interface SourceFrozenEvents {
  /** Events written right after the DAG froze the source. */
  readonly starts: readonly MigrationEventKind[];
  /** Events that end the downtime: migrated, or the freeze undone. */
  readonly ends: readonly MigrationEventKind[];
}

/** The events that bound a freeze of the source, as the DAG's tests check them against its world. */
export const SOURCE_FROZEN_EVENTS: SourceFrozenEvents = CONTRACT.sourceFrozen;

/** KQL: whether an event is one of `kinds`. */
export function isEventOfKindKql(kinds: readonly MigrationEventKind[]): string {
  return kinds
    .map(({ phase, status, targetKind }) =>
      [`Phase == ${kqlString(phase)}`, `Status == ${kqlString(status)}`, ...(targetKind ? [`TargetKind == ${kqlString(targetKind)}`] : [])].join(' and '),
    )
    .map((condition) => `(${condition})`)
    .join(' or ');
}

/** Values of the `Phase` column that the queries name, each checked against the contract. */
export const MigrationPhase = {
  /** Starting the DMS migration (or adopting the one already running). */
  START_MIGRATION: phase('start_migration'),
  /** Waiting for a cutover window and, where required, an approver: time that is not work. */
  AWAIT_CUTOVER: phase('await_cutover'),
  /** Undoing a failed migration. */
  ROLLBACK: phase('rollback'),
  /** The database is migrated and validated. */
  DONE: phase('done'),
} as const;

/** Values of the `Status` column that the queries name, each checked against the contract. */
export const MigrationStatus = {
  /** The step began. */
  STARTED: status('Started'),
  /** The step is still running (the heartbeat of a wait step). */
  RUNNING: status(MIGRATION_HEARTBEAT.status),
  /** The step ended well. */
  SUCCEEDED: status('Succeeded'),
  /** The step failed; the message says why. */
  FAILED: status('Failed'),
  /** The database was rolled back after a failure. */
  ROLLED_BACK: status('RolledBack'),
  /** Rolled back, but a target its ended migration left is kept for a person to drop (the next run refuses it until then). */
  ROLLED_BACK_TARGET_KEPT: status('RolledBackTargetKept'),
  /** Ready for cutover, waiting for the next window (a heartbeat of `await_cutover`). */
  WAITING_FOR_WINDOW: status('WaitingForWindow'),
  /** A window is open and the cutover waits for an approver (a heartbeat of `await_cutover`). */
  AWAITING_APPROVAL: status('AwaitingApproval'),
  /** An approver said yes for this window. */
  APPROVED: status('Approved'),
  /** An approver said no for this window: the database keeps replicating until the next one. */
  REJECTED: status('Rejected'),
  /** A window closed before the cutover could finish in it: the database keeps replicating. */
  WINDOW_MISSED: status('WindowMissed'),
} as const;

/**
 * Statuses written while a step is still under way, whose `DurationSeconds` is its time so far:
 * its start (`preflight`'s, whose event proof may arrive only after minutes of waiting), the heartbeat
 * and the cutover gate's reports. A step's end event counts its time again.
 */
export const IN_PROGRESS_STATUSES: readonly string[] = [
  MigrationStatus.STARTED,
  MigrationStatus.RUNNING,
  MigrationStatus.WAITING_FOR_WINDOW,
  MigrationStatus.AWAITING_APPROVAL,
  MigrationStatus.APPROVED,
  MigrationStatus.REJECTED,
  MigrationStatus.WINDOW_MISSED,
];

/** KQL string literal of `value`: double-quoted, its backslashes and quotes escaped. */
export function kqlString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** KQL list literal of `values`: `("a", "b")`. */
export function kqlList(values: readonly string[]): string {
  return `(${values.map(kqlString).join(', ')})`;
}

/**
 * The source of every built-in query: the events of one plan (the `PlanName` its DAG writes, the
 * plan's `name`). Plans may share a workspace, and with it the table.
 */
export function migrationEventsSource(planName: string): string {
  return `${MIGRATION_EVENTS_TABLE} | where PlanName == ${kqlString(planName)}`;
}

function phase(name: string): string {
  return contractValue(name, MIGRATION_PHASES, 'phase');
}

function status(name: string): string {
  return contractValue(name, MIGRATION_STATUSES, 'status');
}

/** A query may only name what the DAG writes: a typo here would make an alert that never fires. */
function contractValue(name: string, known: readonly string[], what: string): string {
  if (!known.includes(name)) {
    throw new Error(`"${name}" is not a ${what} of the migration events contract (${known.join(', ')})`);
  }
  return name;
}

/** The statuses of a rollback that finished: `RolledBack`, and `RolledBackTargetKept` (a target kept for a person). */
export const ROLLED_BACK_STATUSES: readonly string[] = [MigrationStatus.ROLLED_BACK, MigrationStatus.ROLLED_BACK_TARGET_KEPT];

/**
 * KQL: whether an event ends its database's run: `done`/`Succeeded`, `rollback`/`Succeeded`, any
 * `Failed`, `RolledBack` or `RolledBackTargetKept`, and `rollback`/`WindowMissed` (a window closed mid-cutover: back to
 * replicating, the run is over for that database; the next run waits for the next window).
 */
export function isEndEventKql(): string {
  const p = MigrationPhase;
  const s = MigrationStatus;
  return (
    `Status in ${kqlList([s.FAILED, ...ROLLED_BACK_STATUSES])} or (Phase in ("${p.DONE}", "${p.ROLLBACK}") and Status == "${s.SUCCEEDED}")` +
    ` or (Phase == "${p.ROLLBACK}" and Status == "${s.WINDOW_MISSED}")`
  );
}

/**
 * KQL `let` statements defining `events`: the events of plan `planName` (each with `IsEnd`,
 * {@link isEndEventKql}) of its latest run only, the run that wrote its latest event. Airflow runs
 * the DAG once at a time (`max_active_runs` 1), so that is the run in flight, or the last one: a
 * run lost mid-migration, which the runbook (README, When an alert fires) replaces by triggering
 * the DAG again, leaves its last events behind, which say nothing any more about the databases the
 * new run adopts or has migrated; an old run a person clears again is the latest once it writes.
 */
export function latestRunEventsKql(planName: string): string {
  return [
    `let allRuns = ${migrationEventsSource(planName)}`,
    `| extend IsEnd = ${isEndEventKql()};`,
    'let events = allRuns',
    '| join kind=leftouter (allRuns',
    '    | summarize arg_max(TimeGenerated, RunId) by PlanName',
    '    | project PlanName, LatestRunId = RunId',
    '    ) on PlanName',
    '| where RunId == LatestRunId',
    '| project TimeGenerated, RunId, Database, Phase, Status, DurationSeconds, IsEnd;',
  ].join('\n');
}

/**
 * Every failed step of plan `planName` but the rollback's (that one raises "rollback failed"), and
 * every database rolled back (the rollback says what it undid and kept; after a step whose worker
 * died without writing its `Failed`, it is the only sign): one row each, the alert counts rows.
 */
export function migrationFailedQuery(planName: string): string {
  requirePlanName('migrationFailedQuery', planName, "migrationFailedQuery('contoso-sql')");
  const s = MigrationStatus;
  return [
    migrationEventsSource(planName),
    `| where (Status == "${s.FAILED}" and Phase != "${MigrationPhase.ROLLBACK}") or Status in ${kqlList(ROLLED_BACK_STATUSES)}`,
    '| project TimeGenerated, Database, Phase, Status, Message, RunId, MigrationOperationId',
  ].join('\n');
}

/** Every rollback of plan `planName` that failed for good: what it left is for a person to put right. */
export function rollbackFailedQuery(planName: string): string {
  requirePlanName('rollbackFailedQuery', planName, "rollbackFailedQuery('contoso-sql')");
  return [
    migrationEventsSource(planName),
    `| where Phase == "${MigrationPhase.ROLLBACK}" and Status == "${MigrationStatus.FAILED}"`,
    '| project TimeGenerated, Database, Message, RunId, MigrationOperationId',
  ].join('\n');
}

/**
 * Databases whose current stretch of work has run more than `longRunningMinutes` and whose latest
 * event in the plan's latest run (`latestRunEventsKql`) is not an end (`isEndEventKql`). A run cleared after an end (a person clears
 * it from `preflight`, or clears a failed step) runs again: its stretch is timed from its events
 * after that end only, not from the start of the try that ended.
 *
 * Time in `await_cutover` is not work: a database may wait days for its window or an approver.
 * While it waits (its latest events are `await_cutover` ones) it is not running; after its latest
 * wait, the clock starts again at its first event after that wait (the freeze, or the start of a
 * SqlDb copy), so the days waited never count.
 *
 * Without a wait, the start is read from the `start_migration`/`Started` event or from any heartbeat
 * (time minus `DurationSeconds`), so the condition keeps holding for as long as the migration runs
 * and its wait step re-emits heartbeats, although a log alert looks back at most two days
 * (azurerm `window_duration` and `query_time_range_override` stop at `P2D`) and a migration may run
 * seven (`timeoutMinutes` up to 10080).
 */
export function migrationRunningLongQuery(planName: string, longRunningMinutes: number): string {
  const smallestCall = "migrationRunningLongQuery('contoso-sql', 720)";
  requirePlanName('migrationRunningLongQuery', planName, smallestCall);
  requireArgument('migrationRunningLongQuery', longRunningMinutes, isMinutes, 'longRunningMinutes, a number of minutes', smallestCall);
  const p = MigrationPhase;
  const s = MigrationStatus;
  return [
    latestRunEventsKql(planName),
    'events',
    '| join kind=leftouter (events',
    `    | summarize LastWaitAt = maxif(TimeGenerated, Phase == "${p.AWAIT_CUTOVER}"), LastEndAt = maxif(TimeGenerated, IsEnd) by RunId, Database`,
    '    ) on RunId, Database',
    // Only what came after the latest end (a database whose latest event is an end has none left) and the latest wait.
    '| where (isnull(LastEndAt) or TimeGenerated > LastEndAt) and (isnull(LastWaitAt) or TimeGenerated > LastWaitAt)',
    '| extend RunningSince = case(',
    '    isnotnull(LastWaitAt) and (isnull(LastEndAt) or LastWaitAt > LastEndAt), TimeGenerated,',
    `    Phase == "${p.START_MIGRATION}" and Status == "${s.STARTED}", TimeGenerated,`,
    `    Status == "${s.RUNNING}", TimeGenerated - DurationSeconds * 1s,`,
    '    datetime(null))',
    '| summarize StartedAt = min(RunningSince), LastEventAt = max(TimeGenerated) by RunId, Database',
    `| where isnotnull(StartedAt) and StartedAt < ago(${longRunningMinutes}m)`,
    '| project Database, RunId, StartedAt, LastEventAt, RunningMinutes = datetime_diff("minute", now(), StartedAt)',
  ].join('\n');
}

/**
 * What a resource reading or writing the events table needs created first: the table, when this
 * plan creates it (with another plan's table, the stacks' order of apply sees to it).
 */
export function eventsTableDependency(eventsTable: ITerraformDependable | undefined): ITerraformDependable[] | undefined {
  return eventsTable ? [eventsTable] : undefined;
}

/** "Migration failed": a failed step or a rollback (replaces the recipe's nonexistent `MigrationErrors` metric). */
export function migrationFailedAlert(
  namePrefix: string,
  eventsTable: ITerraformDependable | undefined,
): LogAlertDefinition {
  return {
    id: 'MigrationFailedAlert',
    name: `alert-${namePrefix}-migration-failed`,
    displayName: `${namePrefix}: migration failed`,
    optionsProp: 'migrationFailedAlert',
    severity: AlertSeverity.ERROR,
    evaluationFrequencyMinutes: 5,
    windowMinutes: 5,
    threshold: 0,
    description:
      `A migration step of plan ${namePrefix} failed for good ("Failed" in ${MIGRATION_EVENTS_TABLE}), or the DAG rolled a database back ("RolledBack"; ` +
        '"RolledBackTargetKept": a target its failed migration left is kept, and the next run refuses the database until a person drops it, ' +
        'once sure nothing wrote to it, or names another target database in the plan). ' +
      'The notification names the Database, the Phase (the step), the Status and the Message: why it failed, or what the rollback undid and kept. ' +
      'The rollback leaves the source authoritative (a rollback that fails raises "rollback failed" instead). ' +
      'Read the Message and the Airflow task log, fix the cause, then re-run the DAG (README: When an alert fires).',
    query: migrationFailedQuery(namePrefix),
    timeAggregationMethod: 'Count',
    operator: 'GreaterThan',
    // The email says which database, which step and why, not only that something failed.
    dimensions: splitOn('Database', 'Phase', 'Status', 'Message'),
    dependsOn: eventsTableDependency(eventsTable),
  };
}

/**
 * "Rollback failed" (severity 0): the DAG could not undo a failed migration, or must not (a source
 * kept frozen beside a target declared migrated); it stopped there and a person must act.
 */
export function rollbackFailedAlert(namePrefix: string, eventsTable: ITerraformDependable | undefined): LogAlertDefinition {
  return {
    id: 'RollbackFailedAlert',
    name: `alert-${namePrefix}-rollback-failed`,
    displayName: `${namePrefix}: rollback failed, a person must act`,
    optionsProp: 'rollbackFailedAlert',
    severity: AlertSeverity.CRITICAL,
    evaluationFrequencyMinutes: 5,
    windowMinutes: 5,
    threshold: 0,
    description:
      `The rollback of a database of plan ${namePrefix} failed for good ("rollback" / "Failed" in ${MIGRATION_EVENTS_TABLE}) and the DAG stopped there: ` +
      'the source may be left frozen (applications cannot write), a DMS migration may still run, or a target may be left restoring. ' +
      'The notification names the Database and carries the Message (what was done, what was not, and why). A person must act: README, When an alert fires.',
    query: rollbackFailedQuery(namePrefix),
    timeAggregationMethod: 'Count',
    operator: 'GreaterThan',
    dimensions: splitOn('Database', 'Message'),
    dependsOn: eventsTableDependency(eventsTable),
  };
}

/**
 * The running-long alert's window: the given one, or by default the shortest allowed of at least
 * one day and twice `longRunningMinutes` (the start event alone then covers the first day). Any
 * window must hold one heartbeat interval plus one evaluation, so every running migration has an
 * event in sight at every evaluation.
 */
export function runningLongWindowMinutes(longRunningMinutes: number, frequencyMinutes: number, windowMinutes?: number): number {
  const oneDay = 1440;
  const window =
    windowMinutes ??
    shortestWindowOfAtLeast(LOG_ALERT_WINDOW_MINUTES, Math.max(2 * longRunningMinutes, oneDay)) ??
    LONGEST_LOG_ALERT_WINDOW_MINUTES;
  checkSeesHeartbeat('migrationRunningLongAlert', `a running migration's "${MIGRATION_HEARTBEAT.status}" event`, window, frequencyMinutes);
  return window;
}

/**
 * A log alert that reads the latest state of a waiting step must see one of its heartbeats at every
 * evaluation: its window holds one heartbeat interval plus one evaluation.
 */
export function checkSeesHeartbeat(optionsProp: string, heartbeat: string, windowMinutes: number, frequencyMinutes: number): void {
  const needed = MIGRATION_HEARTBEAT.maxIntervalMinutes + frequencyMinutes;
  if (windowMinutes < needed) {
    throw new Error(
      `${optionsProp}.windowMinutes (${windowMinutes}) must be at least ${needed}: the DAG re-emits ${heartbeat} every ${MIGRATION_HEARTBEAT.maxIntervalMinutes} minutes at most, and each evaluation must see one (plus ${optionsProp}.evaluationFrequencyMinutes, ${frequencyMinutes})`,
    );
  }
}

/** "Migration running long" (replaces the recipe's nonexistent `MigrationDuration` metric > 1 h). */
export function migrationRunningLongAlert(
  namePrefix: string,
  longRunningMinutes: number,
  windowMinutes: number,
  eventsTable: ITerraformDependable | undefined,
): LogAlertDefinition {
  return {
    id: 'MigrationRunningLongAlert',
    name: `alert-${namePrefix}-migration-running-long`,
    displayName: `${namePrefix}: migration running longer than ${longRunningMinutes} minutes`,
    optionsProp: 'migrationRunningLongAlert',
    severity: AlertSeverity.WARNING,
    evaluationFrequencyMinutes: 15,
    windowMinutes,
    threshold: 0,
    description:
      `A database migration of plan ${namePrefix} started more than ${longRunningMinutes} minutes ago (or its cutover did, after a wait for its window) and has reported neither done nor a failure or rollback. ` +
      'Check the DMS migration status (pending log backups, restore progress) and the latest Message of the database\'s waiting task in Airflow ' +
        '(start_migration, wait_for_migration, final_backup, wait_for_completion or validate).',
    query: migrationRunningLongQuery(namePrefix, longRunningMinutes),
    timeAggregationMethod: 'Count',
    operator: 'GreaterThan',
    dimensions: splitOn('Database'),
    dependsOn: eventsTableDependency(eventsTable),
  };
}
