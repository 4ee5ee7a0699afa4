import { AlertDimension, AlertSeverity, MetricAlertDefinition, splitOn } from './alerts';
import { platformMetricAlert } from './platform-metrics';

/**
 * Data Factory signals that exist in Azure Monitor (MicrosoftDocs/azure-reference-other,
 * `supported-logs/.../microsoft-datafactory-factories-logs-include.md` and
 * `supported-metrics/.../microsoft-datafactory-factories-metrics-include.md`).
 */

/** Metric namespace of every Data Factory platform metric. */
export const DATA_FACTORY_METRIC_NAMESPACE = 'Microsoft.DataFactory/factories';

/** The factory's pipeline, activity and trigger run logs, sent to the workspace by default. */
export const DATA_FACTORY_RUN_LOG_CATEGORIES: readonly string[] = ['ActivityRuns', 'PipelineRuns', 'TriggerRuns'];

/** The managed Airflow's logs: sent only when the factory runs one (nothing else writes them). */
export const AIRFLOW_LOG_CATEGORIES: readonly string[] = [
  'AirflowDagProcessingLogs',
  'AirflowSchedulerLogs',
  'AirflowTaskLogs',
  'AirflowWebLogs',
  'AirflowWorkerLogs',
];

/** Every log category this library sends from a factory that runs a managed Airflow. */
export const DATA_FACTORY_LOG_CATEGORIES: readonly string[] = [...DATA_FACTORY_RUN_LOG_CATEGORIES, ...AIRFLOW_LOG_CATEGORIES];

/** Category group that covers every log category of a resource. */
export const ALL_LOGS_CATEGORY_GROUP = 'allLogs';

/** Metric category that covers every platform metric. */
export const ALL_METRICS_CATEGORY = 'AllMetrics';

/** The metrics the alerts below watch, as spelled in the Azure Monitor reference. */
export const DataFactoryMetric = {
  /** Failed Airflow task instances in the managed Airflow environment. */
  AIRFLOW_TASK_INSTANCE_FAILURES: 'AirflowIntegrationRuntimeTaskInstanceFailures',
  /** DAG files the managed Airflow could not import. */
  AIRFLOW_DAG_PROCESSING_IMPORT_ERRORS: 'AirflowIntegrationRuntimeDAGProcessingImportErrors',
  /** Online nodes of an integration runtime (the self-hosted runtime that reaches the source servers). */
  INTEGRATION_RUNTIME_AVAILABLE_NODES: 'IntegrationRuntimeAvailableNodeNumber',
  /** CPU use of a self-hosted integration runtime's nodes, percent. */
  INTEGRATION_RUNTIME_CPU_PERCENTAGE: 'IntegrationRuntimeCpuPercentage',
  /** Memory free on a self-hosted integration runtime's nodes, bytes. */
  INTEGRATION_RUNTIME_AVAILABLE_MEMORY: 'IntegrationRuntimeAvailableMemory',
} as const;

/** The dimension every integration-runtime metric carries. */
const INTEGRATION_RUNTIME_NAME = 'IntegrationRuntimeName';

function onRuntime(runtimeName: string): AlertDimension[] {
  return [{ name: INTEGRATION_RUNTIME_NAME, operator: 'Include', values: [runtimeName] }];
}

/**
 * The dimension the runtime's CPU and memory metrics carry besides the runtime's name: the node (MicrosoftDocs/azure-reference-other
 * `azure-monitor-ref/supported-metrics/includes/microsoft-datafactory-factories-metrics-include.md`).
 */
const NODE_NAME = 'NodeName';

/**
 * Airflow task failures (severity 2): the DAG's own failures already raise "migration failed"
 * (severity 1) with the database named; this one also catches tasks that fail before they can
 * report, and retries, so it is a warning.
 */
export function airflowTaskFailuresAlert(namePrefix: string, airflowRuntimeName: string): MetricAlertDefinition {
  return platformMetricAlert({
    id: 'AirflowTaskFailuresAlert',
    name: `alert-${namePrefix}-airflow-task-failures`,
    optionsProp: 'airflowTaskFailuresAlert',
    severity: AlertSeverity.WARNING,
    evaluationFrequencyMinutes: 5,
    windowMinutes: 15,
    threshold: 0,
    description:
      `Airflow task instances failed in the managed Airflow of plan ${namePrefix}. ` +
      'Open the Airflow UI (or the ADFAirflowTaskLogs table in the workspace) for the failed task; a migration task that failed also raised "migration failed".',
    metricNamespace: DATA_FACTORY_METRIC_NAMESPACE,
    metricName: DataFactoryMetric.AIRFLOW_TASK_INSTANCE_FAILURES,
    aggregation: 'Total',
    operator: 'GreaterThan',
    dimensions: onRuntime(airflowRuntimeName),
  });
}

/** Airflow DAG import errors (severity 2): a broken DAG upload is otherwise silent. */
export function airflowDagImportErrorsAlert(namePrefix: string, airflowRuntimeName: string): MetricAlertDefinition {
  return platformMetricAlert({
    id: 'AirflowDagImportErrorsAlert',
    name: `alert-${namePrefix}-airflow-dag-import-errors`,
    optionsProp: 'airflowDagImportErrorsAlert',
    severity: AlertSeverity.WARNING,
    evaluationFrequencyMinutes: 5,
    windowMinutes: 15,
    threshold: 0,
    description:
      `The managed Airflow of plan ${namePrefix} cannot import a DAG file, so no migration can be scheduled. ` +
      'Check the AirflowDagProcessingLogs table in the workspace and the last DAG upload.',
    metricNamespace: DATA_FACTORY_METRIC_NAMESPACE,
    metricName: DataFactoryMetric.AIRFLOW_DAG_PROCESSING_IMPORT_ERRORS,
    aggregation: 'Total',
    operator: 'GreaterThan',
    dimensions: onRuntime(airflowRuntimeName),
  });
}

/**
 * Self-hosted integration runtime offline (severity 1): no node available means no connection to
 * the source SQL Server, so every migration stalls. Fires when fewer than `threshold` nodes are up.
 */
export function selfHostedRuntimeOfflineAlert(
  namePrefix: string,
  selfHostedRuntimeName: string,
  minimumAvailableNodes: number,
): MetricAlertDefinition {
  return platformMetricAlert({
    id: 'SelfHostedRuntimeOfflineAlert',
    name: `alert-${namePrefix}-shir-offline`,
    optionsProp: 'selfHostedRuntimeOfflineAlert',
    severity: AlertSeverity.ERROR,
    evaluationFrequencyMinutes: 5,
    windowMinutes: 15,
    threshold: minimumAvailableNodes,
    description:
      `Fewer than ${minimumAvailableNodes} node(s) of the self-hosted integration runtime ${selfHostedRuntimeName} are available: the factory cannot reach the source SQL Server. ` +
      'Check the integration runtime host (service running, network to Azure, auth key) in Data Factory Studio > Manage > Integration runtimes.',
    metricNamespace: DATA_FACTORY_METRIC_NAMESPACE,
    metricName: DataFactoryMetric.INTEGRATION_RUNTIME_AVAILABLE_NODES,
    aggregation: 'Average',
    operator: 'LessThan',
    dimensions: onRuntime(selfHostedRuntimeName),
  });
}

/**
 * Azure Monitor Baseline Alerts' threshold for `IntegrationRuntimeCpuPercentage` (Azure/azure-monitor-baseline-alerts
 * `services/DataFactory/factories/alerts.yaml`): average above 95 percent, severity 3, every minute over 5 minutes.
 */
export const SHIR_CPU_PERCENT_THRESHOLD = 95;

/**
 * Bytes free on the self-hosted runtime's nodes at or under which {@link selfHostedRuntimeMemoryAlert} fires: 1 GB.
 * Not Azure Monitor Baseline Alerts' 5,000,000,000 (`services/DataFactory/factories/alerts.yaml`): Microsoft's
 * recommended minimum runtime machine has 8 GB of RAM (MicrosoftDocs/azure-docs
 * `articles/data-factory/create-self-hosted-integration-runtime.md`, Prerequisites), where 5 GB free is a machine at
 * rest, and that alert would fire through every migration. 1 GB is the baseline's own line for a virtual machine
 * (`services/Compute/virtualMachines/alerts.yaml`, Available Memory Bytes under 1000 MB).
 */
export const SHIR_AVAILABLE_MEMORY_THRESHOLD_BYTES = 1_000_000_000;

/**
 * What the runtime CPU and memory alerts share: Azure Monitor Baseline Alerts' severity and timing, on that runtime, split
 * per node (`NodeName`, every value, a node added later included). A runtime has up to four nodes (MicrosoftDocs/azure-docs
 * `articles/data-factory/create-self-hosted-integration-runtime.md`, "High availability and scalability"), and a copy or
 * script step runs on one of them: averaged over the runtime, one node starving next to an idle one reads as half
 * loaded and never fires. Each node is a time series of the rule, billed as such (MicrosoftDocs/azure-docs
 * `articles/azure-monitor/alerts/alerts-metric-multiple-time-series-single-rule.md`, "Metric alerts pricing"): at most
 * four per alert. AMBA's rules split on nothing.
 */
function selfHostedRuntimeBaselineAlert(
  selfHostedRuntimeName: string,
  alert: Pick<MetricAlertDefinition, 'id' | 'name' | 'optionsProp' | 'threshold' | 'description' | 'metricName' | 'operator'>,
): MetricAlertDefinition {
  return platformMetricAlert({
    ...alert,
    severity: AlertSeverity.INFORMATIONAL,
    evaluationFrequencyMinutes: 1,
    windowMinutes: 5,
    metricNamespace: DATA_FACTORY_METRIC_NAMESPACE,
    aggregation: 'Average',
    dimensions: [...onRuntime(selfHostedRuntimeName), ...splitOn(NODE_NAME)],
  });
}

/**
 * Self-hosted integration runtime CPU (severity 3, Azure Monitor Baseline Alerts'): its nodes run every SQL step
 * that goes through Data Factory; saturated, those steps queue and slow down the cutover, before anything fails.
 */
export function selfHostedRuntimeCpuAlert(
  namePrefix: string,
  selfHostedRuntimeName: string,
  cpuPercent: number = SHIR_CPU_PERCENT_THRESHOLD,
): MetricAlertDefinition {
  return selfHostedRuntimeBaselineAlert(selfHostedRuntimeName, {
    id: 'SelfHostedRuntimeCpuAlert',
    name: `alert-${namePrefix}-shir-cpu`,
    optionsProp: 'selfHostedRuntimeCpuAlert',
    threshold: cpuPercent,
    description:
      `A node of the self-hosted integration runtime ${selfHostedRuntimeName} averages more than ${cpuPercent} percent CPU (the alert names the node): the SQL steps through Data Factory queue on it. ` +
      'Check what else runs on its machines, or add a node (Data Factory Studio > Manage > Integration runtimes).',
    metricName: DataFactoryMetric.INTEGRATION_RUNTIME_CPU_PERCENTAGE,
    operator: 'GreaterThan',
  });
}

/**
 * Self-hosted integration runtime memory (severity 3, Azure Monitor Baseline Alerts'; the threshold is
 * {@link SHIR_AVAILABLE_MEMORY_THRESHOLD_BYTES}, for the reason given there): a node out of memory fails the SQL
 * steps it runs.
 */
export function selfHostedRuntimeMemoryAlert(
  namePrefix: string,
  selfHostedRuntimeName: string,
  availableBytes: number = SHIR_AVAILABLE_MEMORY_THRESHOLD_BYTES,
): MetricAlertDefinition {
  return selfHostedRuntimeBaselineAlert(selfHostedRuntimeName, {
    id: 'SelfHostedRuntimeMemoryAlert',
    name: `alert-${namePrefix}-shir-memory`,
    optionsProp: 'selfHostedRuntimeMemoryAlert',
    threshold: availableBytes,
    description:
      `A node of the self-hosted integration runtime ${selfHostedRuntimeName} has ${availableBytes} bytes of memory free or less on average (the alert names the node): the SQL steps through Data Factory may fail on it. ` +
      'Check what else runs on its machines, or give them more memory.',
    metricName: DataFactoryMetric.INTEGRATION_RUNTIME_AVAILABLE_MEMORY,
    operator: 'LessThanOrEqual',
  });
}
