import { ITerraformDependable } from 'cdktf';
import { LOG_ALERT_WINDOW_MINUTES, shortestWindowOfAtLeast } from './alert-timing';
import { AlertSeverity, LogAlertDefinition } from './alerts';

/**
 * The migration-events contract between the DAG (which writes one event per step through the Logs
 * Ingestion API) and the alerts (which query them). DMS has no Azure Monitor metrics or logs, so
 * these events are the only signal of a migration's progress.
 */

/** Custom Log Analytics table (custom tables end in `_CL`). */
export const MIGRATION_EVENTS_TABLE = 'MigrationEvents_CL';

/** Stream the data collection rule declares and the DAG uploads to. */
export const MIGRATION_EVENTS_STREAM = `Custom-${MIGRATION_EVENTS_TABLE}`;

/** Column types both the table and the rule's stream declaration accept. */
export type MigrationEventColumnType = 'datetime' | 'string' | 'real';

/** One column of the events table. */
export interface MigrationEventColumn {
  /** Column name. */
  readonly name: string;
  /** Column type. */
  readonly type: MigrationEventColumnType;
  /** What the column holds (the table's column description). */
  readonly description: string;
}

/** The event schema, in the order the table and the stream declare it. */
export const MIGRATION_EVENT_COLUMNS: readonly MigrationEventColumn[] = [
  { name: 'TimeGenerated', type: 'datetime', description: 'When the step emitted the event (UTC).' },
  { name: 'RunId', type: 'string', description: 'Airflow DAG run id.' },
  { name: 'PlanName', type: 'string', description: 'Migration plan name.' },
  { name: 'Database', type: 'string', description: 'Database being migrated (plan name of the database).' },
  { name: 'Phase', type: 'string', description: 'Step: preflight, start_migration, wait_for_migration, cutover, wait_for_completion, validate, rollback, done.' },
  { name: 'Status', type: 'string', description: 'Started, Succeeded, Failed or RolledBack.' },
  { name: 'DurationSeconds', type: 'real', description: 'Duration of the step in seconds, when it ended.' },
  { name: 'Message', type: 'string', description: 'Human-readable detail, e.g. the error.' },
  { name: 'TargetKind', type: 'string', description: 'SqlMi, SqlDb or SqlVm.' },
  { name: 'MigrationOperationId', type: 'string', description: 'DMS migration operation id, once started.' },
];

/** Values of the `Phase` column. */
export const MigrationPhase = {
  /** Checks before anything changes (integration runtime online, source and target ready). */
  PREFLIGHT: 'preflight',
  /** Starting the DMS migration (or adopting the one already running). */
  START_MIGRATION: 'start_migration',
  /** Waiting for DMS: until ready for cutover (online) or until the copy succeeded (offline). */
  WAIT_FOR_MIGRATION: 'wait_for_migration',
  /** Online migrations: switching over to the target. */
  CUTOVER: 'cutover',
  /** Online migrations: waiting for DMS to finish after the cutover. */
  WAIT_FOR_COMPLETION: 'wait_for_completion',
  /** Comparing source and target (row counts, checksums). */
  VALIDATE: 'validate',
  /** Undoing a failed migration. */
  ROLLBACK: 'rollback',
  /** The database is migrated and validated. */
  DONE: 'done',
} as const;

/** Values of the `Status` column. */
export const MigrationStatus = {
  /** The step began. */
  STARTED: 'Started',
  /** The step ended well. */
  SUCCEEDED: 'Succeeded',
  /** The step failed; the message says why. */
  FAILED: 'Failed',
  /** The database was rolled back after a failure. */
  ROLLED_BACK: 'RolledBack',
} as const;

/** Every failed step, one row each; the alert counts rows per database. */
export function migrationFailedQuery(): string {
  return [
    MIGRATION_EVENTS_TABLE,
    `| where Status == "${MigrationStatus.FAILED}"`,
    '| project TimeGenerated, Database, Phase, RunId, MigrationOperationId, Message',
  ].join('\n');
}

/**
 * Databases whose migration started (`start_migration`/`Started`) more than `longRunningMinutes`
 * ago and whose latest event in that run is not an end: `done`/`Succeeded`, `rollback`/`Succeeded`,
 * any `Failed` or `RolledBack`. A retry after a failure (a later non-end event) counts as running.
 */
export function migrationRunningLongQuery(longRunningMinutes: number): string {
  const p = MigrationPhase;
  const s = MigrationStatus;
  return [
    MIGRATION_EVENTS_TABLE,
    `| extend IsEnd = Status in ("${s.FAILED}", "${s.ROLLED_BACK}") or (Phase in ("${p.DONE}", "${p.ROLLBACK}") and Status == "${s.SUCCEEDED}")`,
    '| summarize',
    `    StartedAt = minif(TimeGenerated, Phase == "${p.START_MIGRATION}" and Status == "${s.STARTED}"),`,
    '    LastEventAt = max(TimeGenerated),',
    '    LastEndAt = maxif(TimeGenerated, IsEnd)',
    '    by RunId, Database',
    `| where isnotnull(StartedAt) and StartedAt < ago(${longRunningMinutes}m)`,
    '| where isnull(LastEndAt) or LastEndAt < LastEventAt',
    '| project Database, RunId, StartedAt, LastEventAt, RunningMinutes = datetime_diff("minute", now(), StartedAt)',
  ].join('\n');
}

/** One alert per database: the alert splits on the `Database` column. */
const PER_DATABASE = [{ name: 'Database', operator: 'Include', values: ['*'] }] as const;

/** "Migration failed": any failed step (replaces the recipe's nonexistent `MigrationErrors` metric). */
export function migrationFailedAlert(
  namePrefix: string,
  eventsTable: ITerraformDependable,
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
      `A migration step of plan ${namePrefix} reported Status "Failed" in ${MIGRATION_EVENTS_TABLE}. ` +
      'The DAG rolls that database back and leaves the source authoritative; read the event Message and the Airflow task log, fix the cause, then re-run the DAG.',
    query: migrationFailedQuery(),
    timeAggregationMethod: 'Count',
    operator: 'GreaterThan',
    dimensions: PER_DATABASE,
    dependsOn: [eventsTable],
  };
}

/** Default window of the long-running alert: long enough to keep seeing the start event. */
export function defaultRunningLongWindowMinutes(longRunningMinutes: number): number | undefined {
  const oneDay = 1440;
  return shortestWindowOfAtLeast(LOG_ALERT_WINDOW_MINUTES, Math.max(2 * longRunningMinutes, oneDay));
}

/** "Migration running long" (replaces the recipe's nonexistent `MigrationDuration` metric > 1 h). */
export function migrationRunningLongAlert(
  namePrefix: string,
  longRunningMinutes: number,
  windowMinutes: number,
  eventsTable: ITerraformDependable,
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
      `A database migration of plan ${namePrefix} started more than ${longRunningMinutes} minutes ago and has reported neither done nor a failure or rollback. ` +
      'Check the DMS migration status (pending log backups, restore progress) and the Airflow wait sensor.',
    query: migrationRunningLongQuery(longRunningMinutes),
    timeAggregationMethod: 'Count',
    operator: 'GreaterThan',
    dimensions: PER_DATABASE,
    dependsOn: [eventsTable],
  };
}
