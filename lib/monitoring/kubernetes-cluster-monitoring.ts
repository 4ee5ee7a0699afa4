import { AlertOptions, AlertSeverity, CreatedMetricAlert, MetricAlertDefinition, splitOn } from './alerts';
import { MonitoringScope } from './monitoring-scope';
import { platformMetricAlert } from './platform-metrics';

/** Metric namespace of an AKS cluster's platform metrics. */
export const AKS_METRIC_NAMESPACE = 'Microsoft.ContainerService/managedClusters';

/** Props of {@link MigrationMonitoring.monitorKubernetesCluster}. */
export interface KubernetesClusterMonitoringProps {
  /**
   * Overrides of the node CPU alert (`alert-<namePrefix>-aks-node-cpu`, metric `node_cpu_usage_percentage`, per node
   * pool; Azure Monitor Baseline Alerts' settings); `threshold` is the percent its nodes average above which it fires.
   * @default - severity 3, every 5 minutes over 5 minutes, average more than 95 percent, per node pool
   */
  readonly aksNodeCpuAlert?: AlertOptions;
  /**
   * Overrides of the node memory alert (`alert-<namePrefix>-aks-node-memory`, metric `node_memory_working_set_percentage`,
   * per node pool; Azure Monitor Baseline Alerts' settings); `threshold` is the working set percent above which it fires.
   * @default - severity 3, every 5 minutes over 5 minutes, average more than 100 percent, per node pool
   */
  readonly aksNodeMemoryAlert?: AlertOptions;
}

/**
 * What both node alerts share: Azure Monitor Baseline Alerts' severity 3, every 5 minutes over 5 minutes
 * (`services/ContainerService/managedClusters/alerts.yaml`, the same as Microsoft's recommended platform metric rules
 * for AKS, MicrosoftDocs/azure-docs `articles/azure-monitor/containers/kubernetes-metric-alerts.md`), the average
 * split per node pool (`nodepool`): one series for the system pool and one for the Airflow pool, so the system
 * pool's idle nodes do not average away the Airflow pool's pressure. AMBA splits on nothing.
 */
function nodePoolAlert(alert: Pick<MetricAlertDefinition, 'id' | 'name' | 'optionsProp' | 'threshold' | 'description' | 'metricName'>): MetricAlertDefinition {
  return platformMetricAlert({
    ...alert,
    severity: AlertSeverity.INFORMATIONAL,
    evaluationFrequencyMinutes: 5,
    windowMinutes: 5,
    metricNamespace: AKS_METRIC_NAMESPACE,
    aggregation: 'Average',
    operator: 'GreaterThan',
    dimensions: splitOn('nodepool'),
  });
}

/** The two node alerts: what each watches, and what a pool short of it does to the migration. */
const NODE_ALERTS = {
  aksNodeCpuAlert: { id: 'AksNodeCpuAlert', short: 'aks-node-cpu', metricName: 'node_cpu_usage_percentage', threshold: 95, what: 'CPU', effect: 'the scheduler and the workers that run the migration slow down' },
  aksNodeMemoryAlert: { id: 'AksNodeMemoryAlert', short: 'aks-node-memory', metricName: 'node_memory_working_set_percentage', threshold: 100, what: 'memory working set', effect: "the kubelet evicts pods, a migration task's worker among them" },
} as const;

/** Node CPU (`aksNodeCpuAlert`) or memory working set (`aksNodeMemoryAlert`) of the Airflow host's cluster over `percent`, per node pool (severity 3). */
export function aksNodeAlert(option: keyof typeof NODE_ALERTS, namePrefix: string, percent: number = NODE_ALERTS[option].threshold): MetricAlertDefinition {
  const { id, short, metricName, what, effect } = NODE_ALERTS[option];
  return nodePoolAlert({
    id,
    name: `alert-${namePrefix}-${short}`,
    optionsProp: option,
    threshold: percent,
    metricName,
    description:
      `The nodes of a node pool of the Airflow cluster of plan ${namePrefix} average more than ${percent} percent ${what}: ${effect}. ` +
      "See which pods use it (Container Insights in the workspace), and raise the pool's maximum node count or node size (airflow.kubernetes).",
  });
}

/** The Airflow cluster's node alerts (what `monitorKubernetesCluster` dispatches to). */
export function monitorKubernetesCluster(monitoring: MonitoringScope, clusterId: string, props: KubernetesClusterMonitoringProps): CreatedMetricAlert[] {
  const { namePrefix, alerts } = monitoring;
  return (Object.keys(NODE_ALERTS) as (keyof typeof NODE_ALERTS)[]).map((option) =>
    alerts.metric(clusterId, aksNodeAlert(option, namePrefix, props[option]?.threshold), props[option]),
  );
}
