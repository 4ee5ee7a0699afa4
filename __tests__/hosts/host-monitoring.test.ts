/**
 * Alerts and diagnostic categories exist only for signals the chosen host produces (issue #9 item 7):
 * every host gets the DAG's event alerts (failed, rollback failed, running long, stalled, source frozen too long; the two cutover alerts when
 * the plan gates a cutover) and the self-hosted
 * runtime alert; Airflow's own signals come from Prometheus on Kubernetes and from the adopted
 * environment's factory on Data Factory; Fabric and an external Airflow give Azure Monitor nothing.
 */
import { Testing } from 'cdktf';
import { DatabaseMigrationStack, DatabaseMigrationStackProps } from '../../lib/database-migration-stack';
import { AIRFLOW_LOG_CATEGORIES } from '../../lib/monitoring/data-factory-signals';
import { gatesCutovers } from '../../lib/plan/cutover-schema';
import { examplePlan } from '../helpers/example-plan';
import { ENVIRONMENT_ID } from '../helpers/host-fixtures';
import { AIRFLOW_OF_HOST, examplePlanWith, synthMigrationStack } from '../helpers/migration-stack';
import { resourceNames, resourcesOfType, resourcesSnapshot, synthesizedResources, SynthesizedStack } from '../helpers/test-stack';

/** The resource types of alerts and diagnostic settings: all that the tests here read. */
const MONITORING_TYPES = [
  'azurerm_monitor_diagnostic_setting',
  'azurerm_monitor_alert_prometheus_rule_group',
  'azurerm_monitor_metric_alert',
  'azurerm_monitor_scheduled_query_rules_alert_v2',
];

/**
 * A DatabaseMigrationStack's alerts and diagnostic settings (MONITORING_TYPES) as its synthesis writes
 * them, without synthesizing the rest (synthesizedResources). The first test below shows it gives what
 * synthMigrationStack gives.
 */
function monitoringStack(props: Partial<DatabaseMigrationStackProps> = {}): { stack: DatabaseMigrationStack; synth: SynthesizedStack } {
  const plan = props.plan ?? examplePlan();
  const stack = new DatabaseMigrationStack(Testing.app(), plan.name, { ...props, plan });
  return { stack, synth: { resource: Object.fromEntries(MONITORING_TYPES.map((type) => [type, synthesizedResources(stack, type)])) } };
}

/**
 * The Kubernetes host's stacks, synthesized once: its release stack (its in-cluster resources and
 * the metadata server) reads the workspace of the first through a cross-stack reference, which only
 * preparing both stacks, as app.synth() does, writes.
 */
const KUBERNETES = synthMigrationStack({ plan: examplePlanWith(AIRFLOW_OF_HOST.kubernetes) });
const KUBERNETES_RELEASE = KUBERNETES.release!;

/** The alerts and diagnostic settings of each host's default-options stack, built once for the tests that only read them. */
const STACK_OF_HOST = Object.fromEntries(
  (Object.keys(AIRFLOW_OF_HOST) as (keyof typeof AIRFLOW_OF_HOST)[]).map((host) => [host, monitoringStack({ plan: examplePlanWith(AIRFLOW_OF_HOST[host]) }).synth]),
) as Record<keyof typeof AIRFLOW_OF_HOST, SynthesizedStack>;

it("monitoringStack gives the alerts and diagnostic settings of the stack's synthesis", () => {
  expect(STACK_OF_HOST.kubernetes.resource).toEqual(resourcesSnapshot(KUBERNETES.synth, MONITORING_TYPES));
  // Of each type: the comparison covers them all.
  for (const type of MONITORING_TYPES) expect(Object.keys(STACK_OF_HOST.kubernetes.resource[type]).length).toBeGreaterThan(0);
});

const EVENT_ALERTS = [
  'alert-contoso-sql-event-ingestion-errors',
  'alert-contoso-sql-migration-failed',
  'alert-contoso-sql-migration-running-long',
  'alert-contoso-sql-migration-stalled',
  'alert-contoso-sql-rollback-failed',
  'alert-contoso-sql-source-frozen-too-long',
];
const FACTORY_ID = ENVIRONMENT_ID.split('/integrationRuntimes/')[0];

function alertNames(synth: SynthesizedStack): { log: string[]; metric: string[]; prometheus: string[] } {
  const prometheus = Object.values(resourcesOfType(synth, 'azurerm_monitor_alert_prometheus_rule_group')).flatMap((group: any) =>
    group.rule.map((rule: { alert: string }) => rule.alert),
  );
  return {
    log: resourceNames(synth, 'azurerm_monitor_scheduled_query_rules_alert_v2'),
    metric: resourceNames(synth, 'azurerm_monitor_metric_alert'),
    prometheus,
  };
}

function diagnosticCategories(synth: SynthesizedStack): Record<string, string[]> {
  return Object.fromEntries(
    Object.values(resourcesOfType(synth, 'azurerm_monitor_diagnostic_setting')).map((setting: any) => [
      String(setting.name)
        .replace(/^diag-\$\{azurerm_data_factory\.[^.]+\.name\}$/, 'diag-<factory>')
        .replace(/^diag-\$\{azurerm_key_vault\.[^.]+\.name\}$/, 'diag-<key vault>'),
      setting.enabled_log.map((log: { category?: string; category_group?: string }) => log.category ?? `group ${log.category_group}`),
    ]),
  );
}

/** The log alert on the scheduler's "non-existent pool" line: only where the scheduler's log reaches the workspace. */
const MISSING_POOL_ALERT = 'alert-contoso-sql-airflow-missing-pool';

/**
 * The metric alerts on the migration's own machinery, on every host (the example plan has a SqlMi target, so
 * backup storage): the self-hosted runtime's, the created Key Vault's, the backup storage's (Azure Monitor Baseline Alerts').
 */
const MACHINERY_ALERTS = [
  'alert-contoso-sql-shir-offline',
  'alert-contoso-sql-shir-cpu',
  'alert-contoso-sql-shir-memory',
  'alert-contoso-sql-key-vault-availability',
  'alert-contoso-sql-key-vault-saturation',
  'alert-contoso-sql-backup-storage-availability',
];

describe('alerts per host', () => {
  it.each([
    ['kubernetes', [MISSING_POOL_ALERT], ['alert-contoso-sql-aks-node-cpu', 'alert-contoso-sql-aks-node-memory'], ['AirflowTaskFailures', 'AirflowDagImportErrors', 'AirflowSchedulerHeartbeatMissing']],
    ['dataFactory', [MISSING_POOL_ALERT], ['alert-contoso-sql-airflow-dag-import-errors', 'alert-contoso-sql-airflow-task-failures'], []],
    ['fabric', [], [], []],
    ['external', [], [], []],
  ] as const)('on %s: the event alerts and the machinery alerts everywhere, Airflow alerts only where Airflow reports', (host, airflowLogAlerts, hostMetricAlerts, prometheus) => {
    expect(alertNames(STACK_OF_HOST[host])).toEqual({
      log: [...airflowLogAlerts, ...EVENT_ALERTS].sort(),
      metric: [...hostMetricAlerts, ...MACHINERY_ALERTS].sort(),
      prometheus,
    });
  });

  it("watches the Kubernetes host's scheduler log for a missing pool, in the release's namespace, per pool, through the action group", () => {
    const alert = Object.values(resourcesOfType(STACK_OF_HOST.kubernetes, 'azurerm_monitor_scheduled_query_rules_alert_v2')).find(
      (resource: any) => resource.name === MISSING_POOL_ALERT,
    ) as any;
    expect(alert).toMatchObject({ severity: 1, evaluation_frequency: 'PT5M', window_duration: 'PT15M', scopes: [expect.stringMatching(/azurerm_log_analytics_workspace\./)] });
    expect(alert.criteria[0].query).toContain('| where _ResourceId =~ "${azurerm_kubernetes_cluster.');
    expect(alert.criteria[0].query).toContain('where PodNamespace == "airflow" and ContainerName == "scheduler"');
    expect(alert.criteria[0].dimension.map((dimension: { name: string }) => dimension.name)).toEqual(['Pool']);
    expect(alert.action.action_groups).toEqual([expect.stringMatching(/azurerm_monitor_action_group\./)]);
  });

  // Log search alert queries support ago() with timespan literals only (MicrosoftDocs/azure-monitor-docs
  // `articles/azure-monitor/alerts/alerts-create-log-alert-rule.md`, "limitations for log search alert rule queries").
  it('calls ago() in every log alert query with a timespan literal only, the one form log search alerts support', () => {
    for (const synth of Object.values(STACK_OF_HOST)) {
      for (const alert of Object.values(resourcesOfType(synth, 'azurerm_monitor_scheduled_query_rules_alert_v2')) as any[]) {
        const calls: string[] = String(alert.criteria[0].query).match(/\bago\([^)]*\)/g) ?? [];
        expect({ alert: alert.name, nonLiteral: calls.filter((call) => !/^ago\(\d+(d|h|m|s|ms)\)$/.test(call)) }).toEqual({ alert: alert.name, nonLiteral: [] });
      }
    }
  });

  it('watches the adopted environment on its own factory, by the environment name', () => {
    const airflowAlerts = Object.values(resourcesOfType(STACK_OF_HOST.dataFactory, 'azurerm_monitor_metric_alert')).filter((alert) => String(alert.name).includes('-airflow-'));
    for (const alert of airflowAlerts as any[]) {
      expect(alert.scopes).toEqual([FACTORY_ID]);
      expect(alert.criteria[0]).toMatchObject({
        metric_namespace: 'Microsoft.DataFactory/factories',
        dimension: [{ name: 'IntegrationRuntimeName', operator: 'Include', values: ['airflow-prod'] }],
      });
      expect(alert.action).toEqual([{ action_group_id: expect.stringMatching(/azurerm_monitor_action_group\./) }]);
    }
  });

  it('alerts on a stalled run after 30 minutes of silence, per run naming its databases in flight, through the action group', () => {
    // The default stack: its plan, examplePlan(), is the Kubernetes one's.
    expect(examplePlanWith(AIRFLOW_OF_HOST.kubernetes)).toEqual(examplePlan());
    const synth = STACK_OF_HOST.kubernetes;
    const stalled = Object.values(resourcesOfType(synth, 'azurerm_monitor_scheduled_query_rules_alert_v2')).find((alert) =>
      String(alert.name).endsWith('-migration-stalled'),
    ) as any;
    expect(stalled.criteria[0].query).toContain('LastEventAt < ago(30m)');
    expect(stalled.criteria[0].dimension.map((dimension: { name: string }) => dimension.name)).toEqual(['RunId', 'DatabasesInFlight']);
    expect(stalled.depends_on).toEqual([expect.stringMatching(/^azurerm_log_analytics_workspace_table_custom_log\./)]);
    const later = monitoringStack({ monitoring: { migrationStalledAlert: { silentMinutes: 45 } } });
    const queries = Object.values(later.synth.resource.azurerm_monitor_scheduled_query_rules_alert_v2).map((alert: any) => alert.criteria[0].query);
    expect(queries.filter((query: string) => query.includes('ago(45m)'))).toHaveLength(1);
  });

  it("passes the stack's Airflow alert overrides to the adopted environment's alerts", () => {
    const { synth } = monitoringStack({
      plan: examplePlanWith(AIRFLOW_OF_HOST.dataFactory),
      monitoring: { airflowTaskFailuresAlert: { severity: 1 }, alertDefaults: { runbookUrl: 'https://wiki.contoso.example/airflow' } },
    });
    const alerts = Object.values(resourcesOfType(synth, 'azurerm_monitor_metric_alert')) as any[];
    expect(alerts.find((alert) => alert.name.endsWith('-airflow-task-failures'))).toMatchObject({ severity: 1, description: expect.stringContaining('Runbook: https://wiki.contoso.example/airflow') });
    expect(alerts.find((alert) => alert.name.endsWith('-airflow-dag-import-errors'))).toMatchObject({ severity: 2 });
  });

  // Issue 13 item 3: every alert the stack creates is tuned from its props, follows alertDefaults and is listed.
  it.each(['kubernetes', 'dataFactory'] as const)(
    "on %s, takes the stack's missingPoolAlert and alertDefaults for the missing pool alert, and lists it in createdAlerts()",
    (host) => {
      const { stack, synth } = monitoringStack({
        plan: examplePlanWith(AIRFLOW_OF_HOST[host]),
        monitoring: { missingPoolAlert: { severity: 0, windowMinutes: 30 }, alertDefaults: { runbookUrl: 'https://wiki.contoso.example/pools', enabled: false } },
      });
      const alert = Object.values(resourcesOfType(synth, 'azurerm_monitor_scheduled_query_rules_alert_v2')).find((resource: any) => resource.name === MISSING_POOL_ALERT) as any;
      expect(alert).toMatchObject({ severity: 0, window_duration: 'PT30M', enabled: false, description: expect.stringContaining('Runbook: https://wiki.contoso.example/pools') });
      expect(alert.criteria[0].query).toContain(host === 'kubernetes' ? 'ContainerLogV2' : 'ADFAirflowSchedulerLogs');
      expect(stack.monitoring.createdAlerts().filter((created) => created.name === MISSING_POOL_ALERT).map(({ kind, severity }) => [kind, severity])).toEqual([['log', 0]]);
    },
  );

  it("watches the adopted environment's scheduler log for a missing pool, on its own factory, by the environment name", () => {
    const alert = Object.values(resourcesOfType(STACK_OF_HOST.dataFactory, 'azurerm_monitor_scheduled_query_rules_alert_v2')).find(
      (resource: any) => resource.name === MISSING_POOL_ALERT,
    ) as any;
    expect(alert).toMatchObject({ severity: 1, evaluation_frequency: 'PT5M', window_duration: 'PT15M', scopes: [expect.stringMatching(/azurerm_log_analytics_workspace\./)] });
    expect(alert.criteria[0].query).toContain(`| where _ResourceId =~ "${FACTORY_ID}" and IntegrationRuntimeName =~ "airflow-prod"`);
    expect(alert.action.action_groups).toEqual([expect.stringMatching(/azurerm_monitor_action_group\./)]);
  });
});

describe('diagnostic settings per host', () => {
  it.each([
    [
      'kubernetes',
      {
        'diag-<factory>': ['ActivityRuns', 'PipelineRuns', 'TriggerRuns'],
        'diag-<key vault>': ['AuditEvent'],
        'diag-acrcontososql09e6': ['group audit'],
        'diag-aks-contoso-sql': ['kube-audit-admin', 'guard'],
        'diag-dcr-contoso-sql': ['LogErrors'],
      },
    ],
    ['fabric', { 'diag-<factory>': ['ActivityRuns', 'PipelineRuns', 'TriggerRuns'], 'diag-<key vault>': ['AuditEvent'], 'diag-dcr-contoso-sql': ['LogErrors'] }],
    [
      'external',
      {
        'diag-<factory>': ['ActivityRuns', 'PipelineRuns', 'TriggerRuns'],
        'diag-<key vault>': ['AuditEvent'],
        'diag-dag-blobs': ['StorageRead', 'StorageWrite', 'StorageDelete'],
        'diag-dcr-contoso-sql': ['LogErrors'],
      },
    ],
    [
      'dataFactory',
      {
        'diag-<factory>': ['ActivityRuns', 'PipelineRuns', 'TriggerRuns'],
        'diag-<key vault>': ['AuditEvent'],
        'diag-contoso-sql-airflow': [...AIRFLOW_LOG_CATEGORIES],
        'diag-dag-blobs': ['StorageRead', 'StorageWrite', 'StorageDelete'],
        'diag-dcr-contoso-sql': ['LogErrors'],
      },
    ],
  ] as const)('on %s: the Key Vault audited everywhere, the cluster where there is one, Airflow* logs only from the adopted environment, DAG blob logs only where the DAG is in storage', (host, expected) => {
    expect(diagnosticCategories(STACK_OF_HOST[host])).toEqual(expected);
  });

  it("sends the AKS cluster's audit logs (changes and sign-ins) to the workspace, in their own tables", () => {
    const setting = Object.values(resourcesOfType(STACK_OF_HOST.kubernetes, 'azurerm_monitor_diagnostic_setting')).find((s) => s.name === 'diag-aks-contoso-sql')!;
    expect(setting).toMatchObject({ target_resource_id: expect.stringMatching(/^\$\{azurerm_kubernetes_cluster\.[^.]+\.id\}$/), log_analytics_destination_type: 'Dedicated' });
    expect(setting.log_analytics_workspace_id).toMatch(/azurerm_log_analytics_workspace\./);
  });

  it("sends the adopted environment's Airflow logs from its factory to the workspace", () => {
    const setting = Object.values(resourcesOfType(STACK_OF_HOST.dataFactory, 'azurerm_monitor_diagnostic_setting')).find((s) => s.name === 'diag-contoso-sql-airflow')!;
    expect(setting).toMatchObject({ target_resource_id: FACTORY_ID, log_analytics_destination_type: 'Dedicated' });
    expect(setting.log_analytics_workspace_id).toMatch(/azurerm_log_analytics_workspace\./);
  });

  it("sends the Kubernetes host's registry audit logs (sign-ins, pushes, pulls, deletes) to the workspace, in their own tables", () => {
    const setting = Object.values(resourcesOfType(STACK_OF_HOST.kubernetes, 'azurerm_monitor_diagnostic_setting')).find((s) => s.name === 'diag-acrcontososql09e6')!;
    expect(setting).toMatchObject({
      target_resource_id: expect.stringMatching(/^\$\{azurerm_container_registry\.[^.]+\.id\}$/),
      enabled_log: [{ category_group: 'audit' }],
    });
    expect(setting.log_analytics_workspace_id).toMatch(/azurerm_log_analytics_workspace\./);
  });

  it('sets no destination type on the registry setting, which a registry (its own tables only) does not keep: no change on every plan', () => {
    const setting = Object.values(resourcesOfType(STACK_OF_HOST.kubernetes, 'azurerm_monitor_diagnostic_setting')).find((s) => s.name === 'diag-acrcontososql09e6')!;
    expect(setting).not.toHaveProperty('log_analytics_destination_type');
  });

  it("sends the Kubernetes host's metadata server log (connections, failed sign-ins) to the workspace, from the release stack", () => {
    const settings = Object.values(resourcesOfType(KUBERNETES_RELEASE, 'azurerm_monitor_diagnostic_setting')) as any[];
    expect(settings.map((setting) => setting.name)).toEqual(['diag-psql-contoso-sql-airflow-09e6']);
    expect(settings[0]).toMatchObject({
      target_resource_id: expect.stringMatching(/^\$\{azurerm_postgresql_flexible_server\.[^.]+\.id\}$/),
      enabled_log: [{ category: 'PostgreSQLLogs' }],
    });
    // In their own table, PGSQLServerLogs, as Microsoft recommends for this type (not the shared AzureDiagnostics).
    expect(settings[0].log_analytics_destination_type).toBe('Dedicated');
    expect(settings[0].log_analytics_workspace_id).toMatch(/cross-stack-output-azurerm_log_analytics_workspace/);
  });
});

// The other hosts add no alert or diagnostic setting of their own: the stack's (event alerts, Key Vault,
// factory, DAG blobs) and the adopted environment's have their snapshots in __tests__/monitoring.
describe('the Kubernetes host', () => {
  it('adds these alerts and diagnostic settings, in both its stacks (snapshot)', () => {
    const monitoringOf = (synth: SynthesizedStack, own: (id: string) => boolean) =>
      Object.fromEntries(
        MONITORING_TYPES.map((type) => [type, Object.fromEntries(Object.entries(resourcesOfType(synth, type)).filter(([id]) => own(id)))]),
      );
    expect({
      // The missing pool alert is the plan monitoring's (its defaults, its list), on the host's scheduler.
      stack: monitoringOf(STACK_OF_HOST.kubernetes, (id) => id.startsWith('AirflowHost_') || id.startsWith('Monitoring_MissingPoolAlert_')),
      release: monitoringOf(KUBERNETES_RELEASE, () => true),
    }).toMatchSnapshot();
  });
});

describe('cutover alerts follow the plan', () => {
  const CUTOVER_ALERTS = ['alert-contoso-sql-cutover-awaiting-approval', 'alert-contoso-sql-cutover-postponed'];
  const logAlerts = (synth: SynthesizedStack) => resourceNames(synth, 'azurerm_monitor_scheduled_query_rules_alert_v2');

  it('are left out of a plan that gates no cutover (its DAG never writes those events)', () => {
    expect(logAlerts(STACK_OF_HOST.kubernetes)).toEqual([MISSING_POOL_ALERT, ...EVENT_ALERTS].sort());
  });

  it.each([
    ['a window', { windows: [{ timeZone: 'Europe/Berlin', days: ['Sat'], start: '22:00', durationMinutes: 360 }] }],
    ['an approval', { approval: { required: true, approvers: ['alice@contoso.com'] } }],
    ['a plan-wide limit', { maxConcurrent: 1 }],
  ])('the plan gates cutovers with %s', (_, cutover) => {
    expect(gatesCutovers(examplePlanWith(AIRFLOW_OF_HOST.kubernetes, { cutover }))).toBe(true);
    expect(gatesCutovers(examplePlanWith(AIRFLOW_OF_HOST.kubernetes))).toBe(false);
  });

  it('are created when the plan gates cutovers', () => {
    const plan = examplePlanWith(AIRFLOW_OF_HOST.kubernetes, { cutover: { maxConcurrent: 1 } });
    expect(logAlerts(monitoringStack({ plan }).synth)).toEqual([MISSING_POOL_ALERT, ...CUTOVER_ALERTS, ...EVENT_ALERTS].sort());
  });

  it('are created for a plan without gates when the stack overrides one of them', () => {
    const { synth } = monitoringStack({ monitoring: { cutoverPostponedAlert: { severity: 2 } } });
    expect(logAlerts(synth)).toEqual([MISSING_POOL_ALERT, ...CUTOVER_ALERTS, ...EVENT_ALERTS].sort());
  });
});
