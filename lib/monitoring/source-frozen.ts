import { ITerraformDependable } from 'cdktf';
import { LONGEST_LOG_ALERT_WINDOW_MINUTES } from '../private/alert-timing';
import { isFreezeLimits, requireArgument, requirePlanName } from '../private/required-fields';
import { AlertSeverity, LogAlertDefinition, splitOn } from './alerts';
import {
  eventsTableDependency,
  isEventOfKindKql,
  kqlList,
  MIGRATION_EVENTS_TABLE,
  MIGRATION_HEARTBEAT,
  migrationEventsSource,
  SOURCE_FROZEN_EVENTS,
} from './migration-events';

/**
 * "Source frozen too long": the applications' downtime. From the DAG's freeze of a source (before
 * the final backup; for a SqlDb copy, before the whole copy) until `done` or a rollback that undoes
 * the freeze, applications cannot write to it. The plan says how long that should take per database
 * (`cutover.expectedMinutes`); a freeze that an Azure outage, a slow final backup or a stuck cutover
 * lengthens is told, whatever else the DAG still waits for. The events that bound a freeze are the
 * contract's `sourceFrozen` (the DAG's tests check them against its simulated world).
 */

/** A database of the plan as this alert reads it (`plan.databases` fit). */
export interface SourceFreezeSettings {
  /** The database's name in the plan (the events' `Database`). */
  readonly name: string;
  /** Its target kind: SqlMi and SqlVm migrations freeze their source before the final backup. */
  readonly target: {
    /** SqlMi, SqlDb or SqlVm. */
    readonly kind: 'SqlMi' | 'SqlDb' | 'SqlVm';
  };
  /** SqlDb: a copy that keeps its source writable freezes nothing. */
  readonly allowSourceWritesDuringCopy: boolean;
  /** How long the freeze, final backup and cutover take (for a SqlDb copy: the copy). */
  readonly cutover: {
    /** Minutes (1-1440). */
    readonly expectedMinutes: number;
  };
}

/**
 * Default minutes a freeze may last past its `expectedMinutes`: one heartbeat interval, the longest
 * the DAG's wait steps after a freeze (the final backup's restore, the cutover's completion, an
 * offline copy) poke apart, so a cutover that ended in time may be seen, and `done` written, that
 * much later.
 */
export const DEFAULT_FREEZE_GRACE_MINUTES = MIGRATION_HEARTBEAT.maxIntervalMinutes;

/** How often Azure evaluates the alert, by default. */
export const SOURCE_FROZEN_EVALUATION_MINUTES = 5;

/**
 * Azure refuses a log alert rule whose properties exceed 64 KB together (MicrosoftDocs/azure-monitor-docs
 * `alerts/resource-manager-alerts-simple-log-search-alerts.md`); the description may take 4,096.
 */
const MAX_QUERY_CHARACTERS = 60_000;

/** Which databases' freezes the alert watches, and after how many minutes each is too long. */
export interface SourceFreezeLimits {
  /** Minutes (`expectedMinutes` + grace) by database, for every database whose source the DAG freezes. */
  readonly limitMinutes: ReadonlyMap<string, number>;
  /** SqlDb copies that keep their source writable: they write a copy's start event without a freeze. */
  readonly writableDatabases: readonly string[];
}

/** The limits of the plan's databases: `expectedMinutes` plus `graceMinutes`. */
export function sourceFreezeLimits(databases: readonly SourceFreezeSettings[], graceMinutes: number): SourceFreezeLimits {
  if (!Number.isInteger(graceMinutes) || graceMinutes < 0) {
    throw new Error(`sourceFrozenTooLongAlert.graceMinutes must be a whole number of minutes, 0 or more (got ${graceMinutes})`);
  }
  const writable = (database: SourceFreezeSettings) => database.target.kind === 'SqlDb' && database.allowSourceWritesDuringCopy;
  return {
    limitMinutes: new Map(databases.filter((database) => !writable(database)).map((database) => [database.name, database.cutover.expectedMinutes + graceMinutes])),
    writableDatabases: databases.filter(writable).map((database) => database.name),
  };
}

/**
 * KQL: the limit of the row's `Database`: the most common limit, and a `case` for the databases
 * whose limit differs (so a plan of a thousand databases with one `expectedMinutes` lists none).
 */
function limitMinutesKql(limits: ReadonlyMap<string, number>): string {
  const databasesByLimit = new Map<number, string[]>();
  for (const [database, minutes] of limits) (databasesByLimit.get(minutes) ?? databasesByLimit.set(minutes, []).get(minutes)!).push(database);
  const [common, ...others] = [...databasesByLimit].sort(([a, left], [b, right]) => right.length - left.length || a - b);
  if (others.length === 0) return String(common[0]);
  return `case(${others.map(([minutes, names]) => `Database in ${kqlList(names)}, ${minutes}`).join(', ')}, ${common[0]})`;
}

/**
 * Databases of plan `planName` whose source has been frozen longer than their limit: per database
 * (a freeze outlives the run that began it: a crashed run's successor goes on with the source still
 * frozen), the first freeze start after its latest end, older than the limit.
 */
export function sourceFrozenTooLongQuery(planName: string, limits: SourceFreezeLimits): string {
  const smallestCall = "sourceFrozenTooLongQuery('contoso-sql', { limitMinutes: new Map([['Sales', 60]]), writableDatabases: [] })";
  requirePlanName('sourceFrozenTooLongQuery', planName, smallestCall);
  requireArgument('sourceFrozenTooLongQuery', limits, isFreezeLimits, 'limits with limitMinutes (a Map) and writableDatabases (an array)', smallestCall);
  const writable = limits.writableDatabases.length > 0 ? ` and Database !in ${kqlList(limits.writableDatabases)}` : '';
  return [
    `let events = ${migrationEventsSource(planName)}`,
    `| extend IsStart = (${isEventOfKindKql(SOURCE_FROZEN_EVENTS.starts)})${writable}, IsEnd = ${isEventOfKindKql(SOURCE_FROZEN_EVENTS.ends)}`,
    '| where IsStart or IsEnd;',
    'events',
    '| where IsStart',
    '| join kind=leftouter (events | where IsEnd | summarize LastEndAt = max(TimeGenerated) by Database) on Database',
    '| where isnull(LastEndAt) or TimeGenerated > LastEndAt',
    '| summarize FrozenSince = min(TimeGenerated) by Database',
    `| extend LimitMinutes = ${limitMinutesKql(limits.limitMinutes)}`,
    // Not `ago(LimitMinutes * 1m)`: log search alert queries support ago() with timespan literals only
    // (MicrosoftDocs/azure-monitor-docs `alerts/alerts-create-log-alert-rule.md`).
    '| where now() - FrozenSince > LimitMinutes * 1m',
    '| project Database, FrozenSince, FrozenMinutes = datetime_diff("minute", now(), FrozenSince), LimitMinutes',
  ].join('\n');
}

/**
 * The alert's window: the given one, or by default the longest Azure allows (two days), so a freeze
 * stays in sight as long as possible. It must hold the longest limit plus one evaluation, or a
 * freeze's start leaves it before the freeze is too long.
 */
export function sourceFrozenWindowMinutes(limits: SourceFreezeLimits, frequencyMinutes: number, windowMinutes?: number): number {
  const window = windowMinutes ?? LONGEST_LOG_ALERT_WINDOW_MINUTES;
  const [database, longest] = [...limits.limitMinutes].reduce((a, b) => (b[1] > a[1] ? b : a));
  if (window < longest + frequencyMinutes) {
    throw new Error(
      `sourceFrozenTooLongAlert.windowMinutes (${window}) must be at least ${longest + frequencyMinutes}: the freeze of ${database} is too long after ${longest} minutes ` +
        `(its cutover.expectedMinutes plus graceMinutes), and the query must still see the freeze's start then (plus sourceFrozenTooLongAlert.evaluationFrequencyMinutes, ${frequencyMinutes})`,
    );
  }
  return window;
}

/** "Source frozen too long" (severity 1): downtime longer than the plan expected. */
export function sourceFrozenTooLongAlert(
  namePrefix: string,
  limits: SourceFreezeLimits,
  graceMinutes: number,
  windowMinutes: number,
  eventsTable: ITerraformDependable | undefined,
): LogAlertDefinition {
  const query = sourceFrozenTooLongQuery(namePrefix, limits);
  if (query.length > MAX_QUERY_CHARACTERS) {
    throw new Error(
      `sourceFrozenTooLongAlert: its query would be ${query.length} characters, more than the ${MAX_QUERY_CHARACTERS} that fit Azure's 64 KB limit on a log alert rule ` +
        `(it names every database whose cutover.expectedMinutes differs from the most common one): give more databases the same expectedMinutes, or leave the alert out (false)`,
    );
  }
  return {
    id: 'SourceFrozenTooLongAlert',
    name: `alert-${namePrefix}-source-frozen-too-long`,
    displayName: `${namePrefix}: source frozen longer than expected`,
    optionsProp: 'sourceFrozenTooLongAlert',
    // Downtime past the plan, now: above running long (2). Not 0: the DAG goes on by itself and
    // gives up at timeoutMinutes (rolling back); 0 is for a DAG that stopped and waits for a person.
    severity: AlertSeverity.ERROR,
    evaluationFrequencyMinutes: SOURCE_FROZEN_EVALUATION_MINUTES,
    windowMinutes,
    threshold: 0,
    description:
      `The DAG froze the source of a database of plan ${namePrefix} (applications cannot write to it) longer ago than the database's cutover.expectedMinutes plus ${graceMinutes} minutes, ` +
      `and ${MIGRATION_EVENTS_TABLE} holds neither its done nor a rollback that undid the freeze. The notification names the Database; the query's results give FrozenSince and LimitMinutes. ` +
      'A SqlDb copy is frozen for the whole copy. Read the database\'s latest events in the workbook (the final backup, the DMS restore or cutover, "Azure unavailable, poking again", a stalled run), ' +
      'then decide with the application owners whether to wait or to stop: marking the waiting task failed in Airflow runs its rollback, which makes the source writable again (README: When an alert fires).',
    query,
    timeAggregationMethod: 'Count',
    operator: 'GreaterThan',
    // One alert per database; it resolves once the freeze ends (done, or the rollback's event).
    dimensions: splitOn('Database'),
    dependsOn: eventsTableDependency(eventsTable),
  };
}
