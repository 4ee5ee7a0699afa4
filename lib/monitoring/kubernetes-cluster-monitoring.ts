import { AlertOptions, AlertSeverity, CreatedMetricAlert, MetricAlertDefinition, splitOn } from './alerts';
import { MonitoringScope } from './monitoring-scope';
import { platformMetricAlert } from './platform-metrics';

/** Metric namespace of an AKS cluster's platform metrics. */
export const AKS_METRIC_NAMESPACE = 'Microsoft.ContainerService/managedClusters';

/** Props of {@link MigrationMonitoring.monitorKubernetesCluster}. */
export interface KubernetesClusterMonitoringProps {
  /**
   * Overrides of the node CPU alert (`alert-<namePrefix>-aks-node-cpu`, metric `node_cpu_usage_percentage`, per node;
   * Azure Monitor Baseline Alerts' settings); `threshold` is the percent a node averages above which it fires.
   * @default - severity 3, every 5 minutes over 5 minutes, average more than 95 percent, per node
   */
  readonly aksNodeCpuAlert?: AlertOptions;
  /**
   * Overrides of the node memory alert (`alert-<namePrefix>-aks-node-memory`, metric `node_memory_working_set_percentage`,
   * per node; Azure Monitor Baseline Alerts' settings); `threshold` is the working set percent of a node above which it fires.
   * @default - severity 3, every 5 minutes over 5 minutes, average more than 100 percent, per node
   */
  readonly aksNodeMemoryAlert?: AlertOptions;
}

/**
 * What both node alerts share: Azure Monitor Baseline Alerts' severity 3, every 5 minutes over 5 minutes
 * (`services/ContainerService/managedClusters/alerts.yaml`, the same as Microsoft's recommended platform metric rules
 * for AKS, MicrosoftDocs/azure-docs `articles/azure-monitor/containers/kubernetes-metric-alerts.md`), the average
 * split per node (`node`, every value, a node the autoscaler adds included): the kubelet evicts pods node by node, and
 * a migration task's worker runs on one node, so one node over the line must fire. Averaged over a pool (or AMBA's
 * whole cluster: it splits on nothing), one node at 100 percent beside three idle ones reads 40 and never fires. Each
 * node is a time series of the rule, billed while it has data (MicrosoftDocs/azure-docs
 * `articles/azure-monitor/alerts/alerts-metric-multiple-time-series-single-rule.md`, "Metric alerts pricing"): the
 * system pool's nodes (one to three) plus the Airflow pool's (`airflow.kubernetes.maxNodes` at most, 4 by default) per alert.
 */
function perNodeAlert(alert: Pick<MetricAlertDefinition, 'id' | 'name' | 'optionsProp' | 'threshold' | 'description' | 'metricName'>): MetricAlertDefinition {
  return platformMetricAlert({
    ...alert,
    severity: AlertSeverity.INFORMATIONAL,
    evaluationFrequencyMinutes: 5,
    windowMinutes: 5,
    metricNamespace: AKS_METRIC_NAMESPACE,
    aggregation: 'Average',
    operator: 'GreaterThan',
    dimensions: splitOn('node'),
  });
}

/** The two node alerts: what each watches, and what a pool short of it does to the migration. */
const NODE_ALERTS = {
  aksNodeCpuAlert: { id: 'AksNodeCpuAlert', short: 'aks-node-cpu', metricName: 'node_cpu_usage_percentage', threshold: 95, what: 'CPU', effect: 'the scheduler and the workers that run the migration slow down' },
  aksNodeMemoryAlert: { id: 'AksNodeMemoryAlert', short: 'aks-node-memory', metricName: 'node_memory_working_set_percentage', threshold: 100, what: 'memory working set', effect: "the kubelet evicts pods, a migration task's worker among them" },
} as const;

/** Node CPU (`aksNodeCpuAlert`) or memory working set (`aksNodeMemoryAlert`) of the Airflow host's cluster over `percent`, per node (severity 3). */
export function aksNodeAlert(option: keyof typeof NODE_ALERTS, namePrefix: string, percent: number = NODE_ALERTS[option].threshold): MetricAlertDefinition {
  const { id, short, metricName, what, effect } = NODE_ALERTS[option];
  return perNodeAlert({
    id,
    name: `alert-${namePrefix}-${short}`,
    optionsProp: option,
    threshold: percent,
    metricName,
    description:
      `A node of the Airflow cluster of plan ${namePrefix} averages more than ${percent} percent ${what} (the alert names the node): ${effect}. ` +
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
