import type { MetricAlertDefinition } from './alerts';

/** One platform metric as Microsoft's "Supported metrics for <namespace>" reference lists it. */
interface PlatformMetric {
  /** The reference's unit (`Percent`, `Bytes`, `Count`). */
  readonly unit: string;
  /** The aggregations the reference gives the metric. */
  readonly aggregations: readonly MetricAlertDefinition['aggregation'][];
  /** Its dimensions, as spelled there. */
  readonly dimensions: readonly string[];
}

/**
 * The platform metrics the built-in metric alerts watch, transcribed from Microsoft's reference
 * (MicrosoftDocs/azure-reference-other `azure-monitor-ref/supported-metrics/includes/`:
 * `microsoft-datafactory-factories-metrics-include.md`, `Microsoft-KeyVault-vaults-metrics-include.md`,
 * `microsoft-storage-storageaccounts-metrics-include.md`, `Microsoft-ContainerService-managedClusters-metrics-include.md`).
 * A built-in alert on a metric, aggregation or dimension not listed here fails at synth
 * ({@link platformMetricAlert}): Azure would take the rule and it would never fire.
 */
export const PLATFORM_METRICS: Readonly<Record<string, Readonly<Record<string, PlatformMetric>>>> = {
  'Microsoft.DataFactory/factories': {
    AirflowIntegrationRuntimeTaskInstanceFailures: { unit: 'Count', aggregations: ['Total'], dimensions: ['IntegrationRuntimeName'] },
    AirflowIntegrationRuntimeDAGProcessingImportErrors: { unit: 'Count', aggregations: ['Total'], dimensions: ['IntegrationRuntimeName'] },
    IntegrationRuntimeAvailableNodeNumber: { unit: 'Count', aggregations: ['Average'], dimensions: ['IntegrationRuntimeName'] },
    IntegrationRuntimeCpuPercentage: { unit: 'Percent', aggregations: ['Average'], dimensions: ['IntegrationRuntimeName', 'NodeName'] },
    IntegrationRuntimeAvailableMemory: { unit: 'Bytes', aggregations: ['Average'], dimensions: ['IntegrationRuntimeName', 'NodeName'] },
  },
  'Microsoft.KeyVault/vaults': {
    Availability: { unit: 'Percent', aggregations: ['Average'], dimensions: ['ActivityType', 'ActivityName', 'StatusCode', 'StatusCodeClass'] },
    SaturationShoebox: { unit: 'Percent', aggregations: ['Average'], dimensions: ['ActivityType', 'ActivityName', 'TransactionType'] },
  },
  'Microsoft.ContainerService/managedClusters': {
    node_cpu_usage_percentage: { unit: 'Percent', aggregations: ['Maximum', 'Average'], dimensions: ['node', 'nodepool'] },
    node_memory_working_set_percentage: { unit: 'Percent', aggregations: ['Maximum', 'Average'], dimensions: ['node', 'nodepool'] },
  },
  'Microsoft.Storage/storageAccounts': {
    Availability: { unit: 'Percent', aggregations: ['Average', 'Minimum', 'Maximum'], dimensions: ['GeoType', 'ApiName', 'Authentication'] },
  },
};

/**
 * `definition`, once its metric, aggregation and dimensions are checked against {@link PLATFORM_METRICS}.
 * Throws naming the alert's option and what the reference lacks.
 */
export function platformMetricAlert(definition: MetricAlertDefinition): MetricAlertDefinition {
  const { optionsProp, metricNamespace, metricName, aggregation } = definition;
  const metric = PLATFORM_METRICS[metricNamespace]?.[metricName];
  if (metric === undefined) {
    throw new Error(`${optionsProp}: ${metricNamespace} has no platform metric ${metricName} in Azure Monitor's supported metrics (a built-in alert on it would never fire)`);
  }
  if (!metric.aggregations.includes(aggregation)) {
    throw new Error(`${optionsProp}: ${metricNamespace} metric ${metricName} is aggregated ${metric.aggregations.join(' or ')}, not ${aggregation}`);
  }
  const unknown = (definition.dimensions ?? []).map((dimension) => dimension.name).filter((name) => !metric.dimensions.includes(name));
  if (unknown.length > 0) {
    throw new Error(`${optionsProp}: ${metricNamespace} metric ${metricName} has no dimension ${unknown.join(', ')} (it has ${metric.dimensions.join(', ')})`);
  }
  return definition;
}
