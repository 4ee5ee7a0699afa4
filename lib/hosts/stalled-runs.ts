import { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { CreatedLogAlert, createLogAlert } from '../monitoring/alerts';
import { DEFAULT_STALLED_AFTER_MINUTES, defaultStalledWindowMinutes, migrationStalledAlert } from '../monitoring/migration-stalled';
import { MigrationMonitoring } from '../monitoring/migration-monitoring';

/** Options of {@link monitorStalledRuns}. */
export interface StalledRunsOptions {
  /** Prefix of the alert's name (the plan name). */
  readonly namePrefix: string;
  /** Resource group of the alert rule. */
  readonly resourceGroupName: string;
  /** Minutes without an event, while databases are in flight, that make a run stalled. @default 30 */
  readonly silentMinutes?: number;
  /** @default - none */
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * "Migration run stalled", on every host: the only alert that notices an Airflow that stopped
 * running the DAG on hosts that tell Azure Monitor nothing (Fabric), and a second opinion on the
 * others. It reads the events table, so it waits for `monitorMigrationEvents()`'s table.
 */
export function monitorStalledRuns(scope: Construct, id: string, monitoring: MigrationMonitoring, options: StalledRunsOptions): CreatedLogAlert {
  const silentMinutes = options.silentMinutes ?? DEFAULT_STALLED_AFTER_MINUTES;
  const windowMinutes = defaultStalledWindowMinutes(silentMinutes);
  if (windowMinutes === undefined) {
    throw new Error(`stalledAfterMinutes ${silentMinutes} is too long: a log alert looks back at most two days, and it must see twice the silence`);
  }
  // Azure validates the query at creation against the table, which must exist by then.
  const eventsTable = monitoring.node.tryFindChild('EventsTable') as ITerraformDependable | undefined;
  if (eventsTable === undefined) {
    throw new Error(`${monitoring.node.path}: call monitorMigrationEvents() before monitoring stalled runs`);
  }
  const holder = new Construct(scope, id);
  return createLogAlert(
    {
      scope: holder,
      resourceGroupName: options.resourceGroupName,
      location: monitoring.location,
      actionGroupId: monitoring.actionGroupId,
      defaults: {},
      tags: options.tags && { ...options.tags },
    },
    monitoring.workspaceId,
    migrationStalledAlert(options.namePrefix, silentMinutes, windowMinutes, eventsTable),
  );
}
