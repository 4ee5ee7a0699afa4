import { ITerraformDependable } from 'cdktf';
import { LOG_ALERT_WINDOW_MINUTES, shortestWindowOfAtLeast } from '../private/alert-timing';
import { isMinutes, requireArgument, requirePlanName } from '../private/required-fields';
import { AlertSeverity, LogAlertDefinition, splitOn } from './alerts';
import { eventsTableDependency, latestRunEventsKql, MIGRATION_EVENTS_TABLE, MIGRATION_HEARTBEAT } from './migration-events';

/**
 * "A run stopped emitting events": the DAG's own events are the only signal on hosts that give
 * Azure Monitor nothing (Fabric Apache Airflow jobs have no diagnostic logs or metrics), so a run
 * that goes silent while databases are in flight (scheduler gone, pool stopped, credential
 * removed) is noticed only by the absence of events. Works on every host.
 *
 * The DAG must emit an event at least every `silentMinutes` while a database waits on DMS (its
 * wait sensors' pokes); otherwise a long copy looks like a stall.
 */

/** Default silence, in minutes, after which an in-flight run counts as stalled. */
export const DEFAULT_STALLED_AFTER_MINUTES = 30;

/**
 * The plan's latest run (`latestRunEventsKql`: the one that wrote its latest event), when its
 * latest event, of any database, is older than `silentMinutes` while at least one of its databases
 * is in flight: its latest event is not an end (`done`/`Succeeded`, `rollback`/`Succeeded`, any
 * `Failed`, `RolledBack` or `RolledBackTargetKept`; the same ends as the running-long alert). Databases that never started
 * (held behind a dependency) have no events and are not in flight.
 */
export function migrationStalledQuery(planName: string, silentMinutes: number): string {
  const smallestCall = "migrationStalledQuery('contoso-sql', 30)";
  requirePlanName('migrationStalledQuery', planName, smallestCall);
  requireArgument('migrationStalledQuery', silentMinutes, isMinutes, 'silentMinutes, a number of minutes', smallestCall);
  return [
    latestRunEventsKql(planName),
    'events',
    '| summarize arg_max(TimeGenerated, IsEnd) by RunId, Database',
    '| summarize LastEventAt = max(TimeGenerated), InFlight = make_set_if(Database, not(IsEnd)) by RunId',
    `| where array_length(InFlight) > 0 and LastEventAt < ago(${silentMinutes}m)`,
    '| project RunId, LastEventAt, SilentMinutes = datetime_diff("minute", now(), LastEventAt), DatabasesInFlight = strcat_array(InFlight, ", ")',
  ].join('\n');
}

/**
 * Default window: a stalled run is seen from `silentMinutes` after its last event until that event
 * leaves the window, so the window is a day at least (or twice the silence, if longer).
 */
export function defaultStalledWindowMinutes(silentMinutes: number): number | undefined {
  const oneDay = 1440;
  return shortestWindowOfAtLeast(LOG_ALERT_WINDOW_MINUTES, Math.max(2 * silentMinutes, oneDay));
}

/** "Migration run stalled": no event for `silentMinutes` while databases are in flight. */
export function migrationStalledAlert(
  namePrefix: string,
  silentMinutes: number,
  windowMinutes: number,
  eventsTable: ITerraformDependable | undefined,
): LogAlertDefinition {
  if (!Number.isInteger(silentMinutes) || silentMinutes < 1) {
    throw new Error(`migrationStalledAlert.silentMinutes must be a whole number of minutes, at least 1 (got ${silentMinutes})`);
  }
  if (silentMinutes <= MIGRATION_HEARTBEAT.maxIntervalMinutes) {
    throw new Error(
      `migrationStalledAlert.silentMinutes (${silentMinutes}) must be more than ${MIGRATION_HEARTBEAT.maxIntervalMinutes}: ` +
        `a healthy run waiting on DMS writes its "${MIGRATION_HEARTBEAT.status}" heartbeat only that often`,
    );
  }
  if (silentMinutes >= windowMinutes) {
    throw new Error(
      `migrationStalledAlert.silentMinutes (${silentMinutes}) must be less than migrationStalledAlert.windowMinutes (${windowMinutes}): ` +
        'the query sees only events inside the window, so a longer silence never shows',
    );
  }
  return {
    id: 'MigrationStalledAlert',
    name: `alert-${namePrefix}-migration-stalled`,
    displayName: `${namePrefix}: migration run silent for ${silentMinutes} minutes`,
    optionsProp: 'migrationStalledAlert',
    severity: AlertSeverity.ERROR,
    evaluationFrequencyMinutes: 5,
    windowMinutes,
    threshold: 0,
    description:
      `A migration run of plan ${namePrefix} has written no event to ${MIGRATION_EVENTS_TABLE} for ${silentMinutes} minutes ` +
      'while some of its databases are in flight (the notification names them as DatabasesInFlight; a source may be frozen). Check that Airflow is running the DAG: ' +
      'scheduler and workers, the Fabric Apache Airflow job and its capacity (paused? pool stopped?), and that the DAG ' +
      'can still sign in to Azure (its events are written with the same identity).',
    query: migrationStalledQuery(namePrefix, silentMinutes),
    timeAggregationMethod: 'Count',
    operator: 'GreaterThan',
    // One alert per run; the notification names the databases in flight (a stalled run holds still).
    dimensions: splitOn('RunId', 'DatabasesInFlight'),
    dependsOn: eventsTableDependency(eventsTable),
  };
}
