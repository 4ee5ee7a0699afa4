import { KubernetesCluster } from '@cdktf/provider-azurerm/lib/kubernetes-cluster';
import { MonitorAlertPrometheusRuleGroup } from '@cdktf/provider-azurerm/lib/monitor-alert-prometheus-rule-group';
import { MonitorDataCollectionEndpoint } from '@cdktf/provider-azurerm/lib/monitor-data-collection-endpoint';
import { MonitorDataCollectionRule } from '@cdktf/provider-azurerm/lib/monitor-data-collection-rule';
import { MonitorDataCollectionRuleAssociation } from '@cdktf/provider-azurerm/lib/monitor-data-collection-rule-association';
import { MonitorDiagnosticSetting } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting';
import { MonitorWorkspace } from '@cdktf/provider-azurerm/lib/monitor-workspace';
import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import { dataCollectionEndpointName, resourceName } from '../naming';
import { ILogAnalyticsWorkspace } from '../../core/references';
import { RELEASE_NAME } from './chart-values';
import { HostPlacement } from '../host-placement';
import { AlertOptions, createLogAlert, CreatedLogAlert, CreatedPrometheusAlert } from '../../monitoring/alerts';
import { PROMETHEUS_RULE_GROUP_INTERVAL, PrometheusRuleGroupMaker, STATSD_SCRAPE_INTERVAL_SECONDS } from '../../monitoring/airflow-prometheus-alerts';
import { missingPoolAlert } from '../../monitoring/missing-pool';

/** Props of {@link AirflowMonitoring}. */
export interface AirflowMonitoringProps extends HostPlacement {
  /** The cluster whose agents send logs and metrics. */
  readonly cluster: KubernetesCluster;
  /** The registry that holds the Airflow image: its audit logs go to the workspace. */
  readonly registry: AuditedResource;
  /** Container Insights sends logs and inventory here. */
  readonly logAnalyticsWorkspace: ILogAnalyticsWorkspace;
  /** Every alert acts through this action group. */
  readonly actionGroupId: string;
  /** Namespace of the release: the missing pool alert reads its scheduler's log. */
  readonly namespace: string;
  /**
   * Overrides of the missing pool alert, which is made here when given (`{}` for its defaults).
   * @default - no missing pool alert: the plan's monitoring makes it
   */
  readonly missingPoolAlert?: AlertOptions;
  /**
   * Resolves the Prometheus alert rules (options, alert defaults, action group) and hands them to the
   * maker, which puts them in this construct's rule group: the plan's monitoring, or the host alone.
   */
  readonly prometheusAlerts: (makeGroup: PrometheusRuleGroupMaker) => readonly CreatedPrometheusAlert[];
}

/** Stream names of the Azure Monitor agents on AKS (Azure Monitor docs, AKS monitoring with Terraform). */
const PROMETHEUS_STREAM = 'Microsoft-PrometheusMetrics';
const CONTAINER_INSIGHTS_STREAM = 'Microsoft-ContainerInsights-Group-Default';

/**
 * The cluster's control-plane audit logs (Azure Monitor's supported logs for
 * Microsoft.ContainerService/managedClusters): `kube-audit-admin` records every API request that
 * changes something (creates, updates, deletes, exec; not the far more numerous gets and lists of
 * `kube-audit`), `guard` every Entra ID sign-in and Azure RBAC decision.
 */
export const CLUSTER_AUDIT_LOG_CATEGORIES = ['kube-audit-admin', 'guard'] as const;

/**
 * The registry's audit logs: the `audit` category group, which Microsoft's built-in initiative
 * "Enable audit category group resource logging for supported resources to Log Analytics" lists for
 * Microsoft.ContainerRegistry/registries (Azure/azure-policy
 * `policySetDefinitions/Monitoring/AzureMonitor_DiagSettings_logAnalytics_audit.json`); it holds the
 * type's two logs, `ContainerRegistryLoginEvents` (every sign-in) and
 * `ContainerRegistryRepositoryEvents` (every push, pull and delete), and whatever audit log Azure adds
 * later (MicrosoftDocs/azure-monitor-docs `reference/supported-logs/microsoft-containerregistry-registries-logs.md`;
 * Azure/PSRule.Rules.Azure `docs/en/rules/Azure.ACR.Logs.md`).
 */
export const REGISTRY_AUDIT_LOG_CATEGORY_GROUP = 'audit';

/**
 * The metadata server's logs: `PostgreSQLLogs`, the server log (connections, failed sign-ins,
 * errors, and pgaudit's statements once enabled), into its resource-specific table `PGSQLServerLogs`,
 * which Microsoft recommends over AzureDiagnostics. Not the `audit` or `allLogs` group, either of
 * which selects every category of this type, nor the `PostgreSQLFlex*` and query store categories
 * (sessions, query store, autovacuum: performance data). MicrosoftDocs/azure-databases-docs
 * `articles/postgresql/monitor/how-to-configure-and-access-logs.md`; Azure Monitor's table reference
 * `tables/pgsqlserverlogs`.
 */
export const METADATA_SERVER_LOG_CATEGORIES = ['PostgreSQLLogs'] as const;

/** What a diagnostic setting targets: its id, and the name `diag-<name>` is made from. */
export interface AuditedResource {
  readonly id: string;
  readonly name: string;
}

/**
 * The diagnostic setting `diag-<resource name>` that sends a resource's audit logs to the workspace.
 * `dedicatedTables` asks for resource-specific mode, for a type that offers both modes; a type with
 * one mode only gets no destination type: Azure answers one with null, a change on every plan.
 */
export function auditLogSetting(
  scope: Construct,
  id: string,
  resource: AuditedResource,
  workspace: ILogAnalyticsWorkspace,
  logs: { categories?: readonly string[]; categoryGroup?: string; dedicatedTables: boolean },
): MonitorDiagnosticSetting {
  return new MonitorDiagnosticSetting(scope, id, {
    name: `diag-${resource.name}`,
    targetResourceId: resource.id,
    logAnalyticsWorkspaceId: workspace.id,
    logAnalyticsDestinationType: logs.dedicatedTables ? 'Dedicated' : undefined,
    enabledLog: [
      ...(logs.categories ?? []).map((category) => ({ category })),
      ...(logs.categoryGroup === undefined ? [] : [{ categoryGroup: logs.categoryGroup }]),
    ],
  });
}

/** Name of the config map the metrics add-on reads custom scrape jobs from, in kube-system. */
export const PROMETHEUS_SCRAPE_CONFIG_MAP = 'ama-metrics-prometheus-config';

/** The scrape job for the chart's statsd exporter (service `<release>-statsd`, port `statsd-scrape`). */
export function statsdScrapeConfig(namespace: string): string {
  return [
    'scrape_configs:',
    '  - job_name: airflow-statsd',
    `    scrape_interval: ${STATSD_SCRAPE_INTERVAL_SECONDS}s`,
    '    kubernetes_sd_configs:',
    '      - role: endpoints',
    '        namespaces:',
    `          names: [${namespace}]`,
    '    relabel_configs:',
    '      - source_labels: [__meta_kubernetes_service_name]',
    `        regex: ${RELEASE_NAME}-statsd`,
    '        action: keep',
    '      - source_labels: [__meta_kubernetes_endpoint_port_name]',
    '        regex: statsd-scrape',
    '        action: keep',
    '',
  ].join('\n');
}

/** The metrics add-on's custom scrape job for the statsd exporter (in the cluster, so in the release stack). */
export function statsdScrapeJob(scope: Construct, provider: TerraformProvider, namespace: string): ConfigMapV1 {
  return new ConfigMapV1(scope, 'StatsdScrapeJob', {
    provider,
    metadata: { name: PROMETHEUS_SCRAPE_CONFIG_MAP, namespace: 'kube-system' },
    data: { 'prometheus-config': statsdScrapeConfig(namespace) },
  });
}

/**
 * Monitoring of the Kubernetes host: Container Insights (logs and inventory into Log Analytics),
 * the control plane's and the registry's audit logs (into the same workspace),
 * managed Prometheus (an Azure Monitor workspace and the collection rule the metrics add-on
 * needs), and Prometheus alerts on Airflow's own
 * signals: task failures, DAG import errors, a silent scheduler; and a log alert on the scheduler's
 * log line of a missing pool (no metric tells it).
 */
export class AirflowMonitoring extends Construct {
  /** Azure Monitor workspace holding the Prometheus metrics. */
  public readonly monitorWorkspace: MonitorWorkspace;
  /** The alert rule group. */
  public readonly alerts: MonitorAlertPrometheusRuleGroup;
  /** The alert rules, as the monitoring facade lists them. */
  public readonly prometheusAlerts: readonly CreatedPrometheusAlert[];
  /** The cluster's audit logs to the workspace: who changed what in the cluster (its secrets included), and who was let in. */
  public readonly auditLogs: MonitorDiagnosticSetting;
  /** The registry's audit logs to the workspace: who signed in to it, and who pushed, pulled or deleted which image. */
  public readonly registryAuditLogs: MonitorDiagnosticSetting;
  /** The log alert on the scheduler's "Tasks using non-existent pool" line, from Container Insights, when made here. */
  public readonly missingPoolAlert?: CreatedLogAlert;

  constructor(scope: Construct, id: string, props: AirflowMonitoringProps) {
    super(scope, id);
    const common = { resourceGroupName: props.resourceGroup.name, location: props.location, tags: props.tags };

    const containerInsights = new MonitorDataCollectionRule(this, 'ContainerInsightsRule', {
      ...common,
      // A rule sending to a Log Analytics workspace must be in the workspace's region.
      location: props.logAnalyticsWorkspace.location ?? props.location,
      name: resourceName('dcr', `${props.namePrefix}-aks-insights`),
      description: 'Container Insights of the Airflow cluster',
      destinations: { logAnalytics: [{ name: 'ciworkspace', workspaceResourceId: props.logAnalyticsWorkspace.id }] },
      dataFlow: [{ streams: [CONTAINER_INSIGHTS_STREAM], destinations: ['ciworkspace'] }],
      dataSources: {
        extension: [
          {
            name: 'ContainerInsightsExtension',
            extensionName: 'ContainerInsights',
            streams: [CONTAINER_INSIGHTS_STREAM],
            extensionJson: JSON.stringify({
              dataCollectionSettings: { interval: '1m', namespaceFilteringMode: 'Off', enableContainerLogV2: true },
            }),
          },
        ],
      },
    });
    new MonitorDataCollectionRuleAssociation(this, 'ContainerInsightsAssociation', {
      name: 'ContainerInsightsExtension',
      targetResourceId: props.cluster.id,
      dataCollectionRuleId: containerInsights.id,
    });

    const cluster = { id: props.cluster.id, name: resourceName('aks', props.namePrefix) };
    this.auditLogs = auditLogSetting(this, 'ClusterAuditLogs', cluster, props.logAnalyticsWorkspace, {
      categories: CLUSTER_AUDIT_LOG_CATEGORIES,
      dedicatedTables: true,
    });
    // A registry writes its own tables only (ContainerRegistryLoginEvents, ...RepositoryEvents): no mode to ask for.
    this.registryAuditLogs = auditLogSetting(this, 'RegistryAuditLogs', props.registry, props.logAnalyticsWorkspace, {
      categoryGroup: REGISTRY_AUDIT_LOG_CATEGORY_GROUP,
      dedicatedTables: false,
    });

    this.monitorWorkspace = new MonitorWorkspace(this, 'PrometheusWorkspace', {
      ...common,
      name: resourceName('amw', props.namePrefix),
    });
    const endpoint = new MonitorDataCollectionEndpoint(this, 'PrometheusEndpoint', {
      ...common,
      name: dataCollectionEndpointName(`${props.namePrefix}-prometheus`),
      kind: 'Linux',
    });
    const prometheus = new MonitorDataCollectionRule(this, 'PrometheusRule', {
      ...common,
      name: resourceName('dcr', `${props.namePrefix}-prometheus`),
      kind: 'Linux',
      description: 'Managed Prometheus metrics of the Airflow cluster',
      dataCollectionEndpointId: endpoint.id,
      destinations: { monitorAccount: [{ name: 'MonitoringAccount1', monitorAccountId: this.monitorWorkspace.id }] },
      dataFlow: [{ streams: [PROMETHEUS_STREAM], destinations: ['MonitoringAccount1'] }],
      dataSources: { prometheusForwarder: [{ name: 'PrometheusDataSource', streams: [PROMETHEUS_STREAM] }] },
    });
    new MonitorDataCollectionRuleAssociation(this, 'PrometheusAssociation', {
      name: resourceName('dcra', `${props.namePrefix}-prometheus`),
      targetResourceId: props.cluster.id,
      dataCollectionRuleId: prometheus.id,
    });

    let group: MonitorAlertPrometheusRuleGroup | undefined;
    this.prometheusAlerts = props.prometheusAlerts((rule) => {
      group = new MonitorAlertPrometheusRuleGroup(this, 'AirflowAlerts', {
        ...common,
        name: resourceName('prg', `${props.namePrefix}-airflow`),
        description: "Alerts on Airflow's own signals (statsd exporter metrics in managed Prometheus)",
        clusterName: props.cluster.name,
        ruleGroupEnabled: true,
        interval: PROMETHEUS_RULE_GROUP_INTERVAL,
        scopes: [this.monitorWorkspace.id, props.cluster.id],
        rule,
      });
      return group;
    });
    if (group === undefined) throw new Error(`${this.node.path}: no Prometheus rule group was made`);
    this.alerts = group;

    if (props.missingPoolAlert === undefined) return;
    const workspaceLocation = props.logAnalyticsWorkspace.location ?? props.location;
    this.missingPoolAlert = createLogAlert(
      { scope: this, resourceGroupName: props.resourceGroup.name, location: workspaceLocation, actionGroupId: props.actionGroupId, defaults: {}, tags: props.tags },
      props.logAnalyticsWorkspace.id,
      missingPoolAlert(props.namePrefix, props.cluster.id, props.namespace),
      props.missingPoolAlert,
    );
  }
}
