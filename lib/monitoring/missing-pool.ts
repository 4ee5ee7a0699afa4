import { AlertSeverity, LogAlertDefinition, splitOn } from './alerts';
import { kqlString } from './migration-events';

/**
 * "An Airflow pool the DAG uses does not exist": the scheduler's own log line is the only sign.
 * A task of a missing pool stays scheduled for good; Airflow 3.x shows no DAG warning for it, no
 * task of that pool runs, so the DAG writes no event and no event alert fires (without
 * `database_migration_sql` not one database starts). The scheduler logs, on every loop that finds
 * such a task (`SchedulerJobRunner._executable_task_instances_to_queued`, logger
 * `airflow.jobs.scheduler_job_runner.SchedulerJobRunner`, level WARNING; the same text in Airflow
 * 2.10.5 and 3.3.2):
 *
 *     Tasks using non-existent pool '<pool>' will not be scheduled
 *
 * Airflow 2.6.3, Data Factory's, writes the same line (`airflow/jobs/scheduler_job_runner.py`).
 * Only where the scheduler's log reaches the workspace: the Kubernetes host (Container Insights,
 * table `ContainerLogV2`, container `scheduler` of the official chart's scheduler pod) and an adopted
 * Data Factory environment whose `AirflowSchedulerLogs` go to the workspace (table
 * `ADFAirflowSchedulerLogs`). Fabric and an external Airflow send no scheduler log to Azure Monitor.
 */
export const MISSING_POOL_LOG_PATTERN = "Tasks using non-existent pool '([^']+)' will not be scheduled";

/** The options prop of the alert, on every facade and host that makes it. */
const OPTIONS_PROP = 'missingPoolAlert';

/** Container Insights' table of container logs (MicrosoftDocs/azure-monitor-docs `reference/tables/containerlogv2.md`). */
export const CONTAINER_LOG_TABLE = 'ContainerLogV2';

/** The official chart's scheduler container (`chart/templates/scheduler/scheduler-deployment.yaml`). */
export const SCHEDULER_CONTAINER = 'scheduler';

/** The columns of {@link CONTAINER_LOG_TABLE} the alert reads, with their types. */
const READ_COLUMNS = 'TimeGenerated: datetime, _ResourceId: string, PodNamespace: string, PodName: string, ContainerName: string, LogMessage: dynamic';

/**
 * The missing pools the scheduler of namespace `namespace` in the cluster `clusterId` logged: per
 * pool, how many lines and the latest. Container Insights records carry their cluster's ARM id in
 * `_ResourceId`: a workspace shared with other plans' clusters (each with its own `airflow`
 * namespace) holds their schedulers' lines too. `LogMessage` is dynamic (a JSON line is an object, a
 * text line a string): `tostring` reads both.
 */
export function missingPoolQuery(clusterId: string, namespace: string): string {
  return [
    // A workspace has the table once Container Insights wrote into it; the fuzzy union with an empty
    // table of the columns read lets the alert be created before that.
    `union isfuzzy=true ${CONTAINER_LOG_TABLE}, (datatable(${READ_COLUMNS})[])`,
    // _ResourceId may differ from the id Terraform holds in case only.
    `| where _ResourceId =~ ${kqlString(clusterId)}`,
    `| where PodNamespace == ${kqlString(namespace)} and ContainerName == ${kqlString(SCHEDULER_CONTAINER)}`,
    '| extend Line = tostring(LogMessage)',
    '| where Line contains "non-existent pool"',
    `| extend Pool = extract(${kqlString(MISSING_POOL_LOG_PATTERN)}, 1, Line)`,
    '| where isnotempty(Pool)',
    '| summarize Lines = count(), LastLoggedAt = max(TimeGenerated) by Pool',
  ].join('\n');
}

/**
 * The Data Factory Airflow scheduler's log table (category `AirflowSchedulerLogs`; MicrosoftDocs/azure-reference-other
 * `azure-monitor-ref/tables/includes/adfairflowschedulerlogs-include.md`).
 */
export const DATA_FACTORY_SCHEDULER_LOG_TABLE = 'ADFAirflowSchedulerLogs';

/** The columns of {@link DATA_FACTORY_SCHEDULER_LOG_TABLE} the alert reads, with their types (the table reference's). */
const DATA_FACTORY_READ_COLUMNS = 'TimeGenerated: datetime, _ResourceId: string, IntegrationRuntimeName: string, Message: string';

/**
 * The missing pools the scheduler of the Data Factory Airflow environment `environmentName` of the
 * factory `factoryId` logged: per pool, how many lines and the latest. The factory's diagnostic
 * setting writes its records, so `_ResourceId` is the factory's id and `IntegrationRuntimeName` the
 * environment's name (the factory may run other environments, the workspace other plans' factories).
 * Microsoft documents `Message` as "the application log of the Airflow event", not its format: the
 * query finds the line's text anywhere in it (unverified that it holds the scheduler's line whole).
 */
export function dataFactoryMissingPoolQuery(factoryId: string, environmentName: string): string {
  return [
    // The table exists once the factory's setting wrote into it; the fuzzy union lets the alert be created before.
    `union isfuzzy=true ${DATA_FACTORY_SCHEDULER_LOG_TABLE}, (datatable(${DATA_FACTORY_READ_COLUMNS})[])`,
    `| where _ResourceId =~ ${kqlString(factoryId)} and IntegrationRuntimeName =~ ${kqlString(environmentName)}`,
    '| where Message contains "non-existent pool"',
    `| extend Pool = extract(${kqlString(MISSING_POOL_LOG_PATTERN)}, 1, Message)`,
    '| where isnotempty(Pool)',
    '| summarize Lines = count(), LastLoggedAt = max(TimeGenerated) by Pool',
  ].join('\n');
}

/** What the alert says and does on either host: `where` names the scheduler, `howToCreate` ends the sentence on creating the pool, `query` reads its log. */
function missingPoolDefinition(namePrefix: string, where: string, howToCreate: string, query: string): LogAlertDefinition {
  return {
    id: 'MissingPoolAlert',
    name: `alert-${namePrefix}-airflow-missing-pool`,
    displayName: `${namePrefix}: Airflow pool missing, its tasks never run`,
    optionsProp: OPTIONS_PROP,
    severity: AlertSeverity.ERROR,
    evaluationFrequencyMinutes: 5,
    windowMinutes: 15,
    threshold: 0,
    description:
      `The Airflow scheduler ${where} logged "Tasks using non-existent pool ... will not be scheduled" (the notification names the Pool): ` +
      `tasks of that pool stay scheduled and never run, so the migration of plan ${namePrefix} writes no event and no other alert fires ` +
      `(without database_migration_sql no database starts). Create the pool with the slots the plan sets${howToCreate}. ` +
      'Resolves 15 minutes after the last such line.',
    query,
    timeAggregationMethod: 'Count',
    operator: 'GreaterThan',
    dimensions: splitOn('Pool'),
  };
}

/** "Airflow pool missing" on the Kubernetes host of cluster `clusterId` whose release is in `namespace`. */
export function missingPoolAlert(namePrefix: string, clusterId: string, namespace: string): LogAlertDefinition {
  return missingPoolDefinition(
    namePrefix,
    `in namespace ${namespace}`,
    ' and Include Deferred off: the release stack imports the pools (apply it again; check its pools import job), or Admin > Pools in the Airflow UI',
    missingPoolQuery(clusterId, namespace),
  );
}

/** "Airflow pool missing" on the Data Factory Airflow environment `environmentName` of the factory `factoryId`. */
export function dataFactoryMissingPoolAlert(namePrefix: string, factoryId: string, environmentName: string): LogAlertDefinition {
  return missingPoolDefinition(
    namePrefix,
    `of the Data Factory Airflow environment ${environmentName}`,
    ": Admin > Pools in the environment's Airflow UI (the stack's output airflow_pools lists them; nothing creates them in a Data Factory environment)",
    dataFactoryMissingPoolQuery(factoryId, environmentName),
  );
}
