import { Testing } from 'cdktf';
import { DataFactory } from '@cdktf/provider-azurerm/lib/data-factory';
import { MonitorDiagnosticSetting } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting';
import { MonitorMetricAlert } from '@cdktf/provider-azurerm/lib/monitor-metric-alert';
import { MonitorScheduledQueryRulesAlertV2 } from '@cdktf/provider-azurerm/lib/monitor-scheduled-query-rules-alert-v2';
import { AlertSeverity } from '../../lib/monitoring/alerts';
import { DataFactoryMonitoringProps } from '../../lib/monitoring/data-factory-monitoring';
import { MigrationMonitoring } from '../../lib/monitoring/migration-monitoring';
import { onlyLogicalId, onlyResource, reference, resourceNamed, resourceNames, resourcesOfType, resourcesSnapshot, SynthesizedStack, synthObject, testStack } from '../helpers/test-stack';
import { BASE_PROPS, DAG_STORAGE_ACCOUNT_ID, FACTORY, monitoring } from './monitoring-test-stack';

const METRIC_ALERT = 'azurerm_monitor_metric_alert';
const SHIR = 'shir-contoso-sql';
const AIRFLOW = 'airflow-contoso-sql';

/** A JavaScript caller is not held to the type, so the construct checks it too. */
const SEVERITY_OUT_OF_RANGE = -1 as unknown as AlertSeverity;

function withFactory(props: DataFactoryMonitoringProps = { selfHostedIntegrationRuntimeName: SHIR, airflowIntegrationRuntimeName: AIRFLOW }, factory = FACTORY) {
  const built = monitoring();
  built.monitoring.monitorDataFactory(factory, props);
  return built;
}

/** The stacks the tests below only read, each synthesized once. */
const DEFAULT_FACTORY = synthObject(withFactory().stack);
const AIRFLOW_ONLY = withFactory({ airflowIntegrationRuntimeName: AIRFLOW });
const AIRFLOW_ONLY_SYNTH = synthObject(AIRFLOW_ONLY.stack);
const WITH_DAG_STORAGE = synthObject(withFactory(undefined, { ...FACTORY, dagStorageAccountId: DAG_STORAGE_ACCOUNT_ID }).stack);

function actionGroupReference(synth: SynthesizedStack): string {
  return reference('azurerm_monitor_action_group', onlyLogicalId(synth, 'azurerm_monitor_action_group'));
}

describe('MigrationMonitoring.monitorDataFactory', () => {
  describe('diagnostic setting', () => {
    it('synthesizes the diagnostic settings (snapshot of those resources only; the tests below name what matters)', () => {
      expect(resourcesSnapshot(WITH_DAG_STORAGE, ['azurerm_monitor_diagnostic_setting'])).toMatchSnapshot();
    });

    it('sends runs, the Airflow logs and AllMetrics to resource-specific tables of the workspace', () => {
      const synth = DEFAULT_FACTORY;
      const setting = onlyResource(synth, 'azurerm_monitor_diagnostic_setting');
      expect(setting.name).toBe('diag-adf-contoso-sql');
      expect(setting.target_resource_id).toBe(FACTORY.id);
      expect(setting.log_analytics_workspace_id).toBe(
        reference('azurerm_log_analytics_workspace', onlyLogicalId(synth, 'azurerm_log_analytics_workspace')),
      );
      expect(setting.log_analytics_destination_type).toBe('Dedicated');
      expect(setting.enabled_log).toEqual([
        { category: 'ActivityRuns' },
        { category: 'PipelineRuns' },
        { category: 'TriggerRuns' },
        { category: 'AirflowDagProcessingLogs' },
        { category: 'AirflowSchedulerLogs' },
        { category: 'AirflowTaskLogs' },
        { category: 'AirflowWebLogs' },
        { category: 'AirflowWorkerLogs' },
      ]);
      expect(setting.enabled_metric).toEqual([{ category: 'AllMetrics' }]);
      // The 3.x-era `metric` block is deprecated in azurerm 4.x.
      expect(setting.metric).toBeUndefined();
    });

    it('can send every category through the allLogs category group instead', () => {
      const { stack } = withFactory({ allLogs: true });
      expect(Testing.synth(stack)).toHaveResourceWithProperties(MonitorDiagnosticSetting, {
        enabled_log: [{ category_group: 'allLogs' }],
        enabled_metric: [{ category: 'AllMetrics' }],
      });
    });

    it('takes its name from props', () => {
      const { stack } = withFactory({ diagnosticSettingName: 'to-migration-workspace' });
      expect(Testing.synth(stack)).toHaveResourceWithProperties(MonitorDiagnosticSetting, {
        name: 'to-migration-workspace',
      });
    });

    it("logs the DAG storage's blob reads, writes and deletes when the factory names its account", () => {
      expect(resourceNames(WITH_DAG_STORAGE, 'azurerm_monitor_diagnostic_setting')).toEqual(['diag-adf-contoso-sql', 'diag-dag-blobs']);
      expect(resourceNamed(WITH_DAG_STORAGE, 'azurerm_monitor_diagnostic_setting', 'diag-dag-blobs')).toMatchObject({
        target_resource_id: `${DAG_STORAGE_ACCOUNT_ID}/blobServices/default`,
        enabled_log: [{ category: 'StorageRead' }, { category: 'StorageWrite' }, { category: 'StorageDelete' }],
        enabled_metric: [{ category: 'Transaction' }],
      });
    });

    it('refers to a factory created in the same stack by reference', () => {
      const { stack, resourceGroup } = testStack();
      const factory = new DataFactory(stack, 'factory', {
        name: 'adf-contoso-sql',
        location: resourceGroup.location,
        resourceGroupName: resourceGroup.name,
      });
      new MigrationMonitoring(stack, 'monitoring', { ...BASE_PROPS, resourceGroup }).monitorDataFactory(factory, {
        selfHostedIntegrationRuntimeName: SHIR,
      });
      const synth = Testing.synth(stack);
      expect(synth).toHaveResourceWithProperties(MonitorDiagnosticSetting, {
        name: 'diag-${azurerm_data_factory.factory.name}',
        target_resource_id: '${azurerm_data_factory.factory.id}',
      });
      expect(synth).toHaveResourceWithProperties(MonitorMetricAlert, {
        scopes: ['${azurerm_data_factory.factory.id}'],
      });
    });
  });

  describe('metric alerts', () => {
    it('synthesizes the metric alerts (snapshot of the alert resources only; the tests below name what matters)', () => {
      expect(resourcesSnapshot(DEFAULT_FACTORY, [METRIC_ALERT])).toMatchSnapshot();
    });

    it('Airflow task failures: total over 0 in 15 minutes, every 5, severity 2', () => {
      const synth = DEFAULT_FACTORY;
      const alert = resourceNamed(synth, METRIC_ALERT, 'alert-contoso-sql-airflow-task-failures');
      expect(alert.criteria).toEqual([
        {
          metric_namespace: 'Microsoft.DataFactory/factories',
          metric_name: 'AirflowIntegrationRuntimeTaskInstanceFailures',
          aggregation: 'Total',
          operator: 'GreaterThan',
          threshold: 0,
          dimension: [{ name: 'IntegrationRuntimeName', operator: 'Include', values: [AIRFLOW] }],
        },
      ]);
      expect(alert.severity).toBe(2);
      expect(alert.frequency).toBe('PT5M');
      expect(alert.window_size).toBe('PT15M');
      expect(alert.scopes).toEqual([FACTORY.id]);
      expect(alert.action).toEqual([{ action_group_id: actionGroupReference(synth) }]);
      expect(alert.auto_mitigate).toBe(true);
      expect(alert.enabled).toBe(true);
      expect(alert.description).toMatch(/Airflow task instances failed/);
    });

    it('Airflow DAG import errors: total over 0 in 15 minutes, every 5, severity 2', () => {
      const synth = DEFAULT_FACTORY;
      const alert = resourceNamed(synth, METRIC_ALERT, 'alert-contoso-sql-airflow-dag-import-errors');
      expect(alert.criteria).toEqual([
        {
          metric_namespace: 'Microsoft.DataFactory/factories',
          metric_name: 'AirflowIntegrationRuntimeDAGProcessingImportErrors',
          aggregation: 'Total',
          operator: 'GreaterThan',
          threshold: 0,
          dimension: [{ name: 'IntegrationRuntimeName', operator: 'Include', values: [AIRFLOW] }],
        },
      ]);
      expect(alert.severity).toBe(2);
      expect(alert.frequency).toBe('PT5M');
      expect(alert.window_size).toBe('PT15M');
      expect(alert.scopes).toEqual([FACTORY.id]);
      expect(alert.action).toEqual([{ action_group_id: actionGroupReference(synth) }]);
    });

    it('self-hosted integration runtime offline: average available nodes under 1 for that runtime, severity 1', () => {
      const synth = DEFAULT_FACTORY;
      const alert = resourceNamed(synth, METRIC_ALERT, 'alert-contoso-sql-shir-offline');
      expect(alert.criteria).toEqual([
        {
          metric_namespace: 'Microsoft.DataFactory/factories',
          metric_name: 'IntegrationRuntimeAvailableNodeNumber',
          aggregation: 'Average',
          operator: 'LessThan',
          threshold: 1,
          dimension: [{ name: 'IntegrationRuntimeName', operator: 'Include', values: [SHIR] }],
        },
      ]);
      expect(alert.severity).toBe(1);
      expect(alert.frequency).toBe('PT5M');
      expect(alert.window_size).toBe('PT15M');
      expect(alert.scopes).toEqual([FACTORY.id]);
      expect(alert.action).toEqual([{ action_group_id: actionGroupReference(synth) }]);
      expect(alert.description).toMatch(/self-hosted integration runtime shir-contoso-sql/);
    });

    // Azure Monitor Baseline Alerts, services/DataFactory/factories/alerts.yaml: IntegrationRuntimeCpuPercentage,
    // Average > 95, severity 3, PT1M / PT5M; IntegrationRuntimeAvailableMemory, Average <= 5000000000 there, 1 GB here.
    // Split per node: averaged over the runtime, a node at 100 percent beside an idle one reads 50 and never fires.
    it.each([
      ['alert-contoso-sql-shir-cpu', 'IntegrationRuntimeCpuPercentage', 'GreaterThan', 95],
      ['alert-contoso-sql-shir-memory', 'IntegrationRuntimeAvailableMemory', 'LessThanOrEqual', 1_000_000_000],
    ] as const)("%s: the baseline's %s, average %s %d on each node of that runtime, severity 3, every minute over 5 minutes", (name, metric, operator, threshold) => {
      const synth = DEFAULT_FACTORY;
      const alert = resourceNamed(synth, METRIC_ALERT, name);
      expect(alert.criteria).toEqual([
        {
          metric_namespace: 'Microsoft.DataFactory/factories',
          metric_name: metric,
          aggregation: 'Average',
          operator,
          threshold,
          dimension: [
            { name: 'IntegrationRuntimeName', operator: 'Include', values: [SHIR] },
            { name: 'NodeName', operator: 'Include', values: ['*'] },
          ],
        },
      ]);
      expect(alert.description).toContain('the alert names the node');
      expect(alert.severity).toBe(3);
      expect(alert.frequency).toBe('PT1M');
      expect(alert.window_size).toBe('PT5M');
      expect(alert.scopes).toEqual([FACTORY.id]);
      expect(alert.action).toEqual([{ action_group_id: actionGroupReference(synth) }]);
      expect(alert.description).toContain(`self-hosted integration runtime ${SHIR}`);
      expect(alert.description).toContain(String(threshold));
    });

    it('the runtime CPU and memory alerts take their overrides, the threshold in the description too, and can be turned off', () => {
      const { stack } = withFactory({
        selfHostedIntegrationRuntimeName: SHIR,
        selfHostedRuntimeCpuAlert: { threshold: 85, severity: 2, windowMinutes: 15, evaluationFrequencyMinutes: 5 },
        selfHostedRuntimeMemoryAlert: { threshold: 500_000_000, enabled: false },
      });
      const synth = synthObject(stack);
      const cpu = resourceNamed(synth, METRIC_ALERT, 'alert-contoso-sql-shir-cpu');
      expect([cpu.criteria[0].threshold, cpu.severity, cpu.frequency, cpu.window_size]).toEqual([85, 2, 'PT5M', 'PT15M']);
      expect(cpu.description).toMatch(/more than 85 percent CPU/);
      const memory = resourceNamed(synth, METRIC_ALERT, 'alert-contoso-sql-shir-memory');
      expect([memory.criteria[0].threshold, memory.enabled]).toEqual([500_000_000, false]);
      expect(memory.description).toMatch(/500000000 bytes of memory free or less/);
    });

    it('has no offline alert without the self-hosted runtime name', () => {
      expect(resourceNames(AIRFLOW_ONLY_SYNTH, METRIC_ALERT)).toEqual([
        'alert-contoso-sql-airflow-dag-import-errors',
        'alert-contoso-sql-airflow-task-failures',
      ]);
      // And the missing pool log alert on the scheduler's log, which the factory's setting sends.
      expect(AIRFLOW_ONLY.monitoring.createdAlerts().map(({ name, kind }) => [name, kind])).toEqual([
        ['alert-contoso-sql-airflow-task-failures', 'metric'],
        ['alert-contoso-sql-airflow-dag-import-errors', 'metric'],
        ['alert-contoso-sql-airflow-missing-pool', 'log'],
      ]);
    });

    it('creates no Airflow alert and collects no Airflow log when the factory runs no managed Airflow', () => {
      const { stack, monitoring: construct } = withFactory({ selfHostedIntegrationRuntimeName: SHIR });
      const synth = synthObject(stack);
      expect(resourceNames(synth, METRIC_ALERT)).toEqual(['alert-contoso-sql-shir-cpu', 'alert-contoso-sql-shir-memory', 'alert-contoso-sql-shir-offline']);
      expect(construct.createdAlerts().map((alert) => alert.name)).toEqual(['alert-contoso-sql-shir-offline', 'alert-contoso-sql-shir-cpu', 'alert-contoso-sql-shir-memory']);
      expect(resourceNamed(synth, 'azurerm_monitor_diagnostic_setting', 'diag-adf-contoso-sql').enabled_log).toEqual([
        { category: 'ActivityRuns' },
        { category: 'PipelineRuns' },
        { category: 'TriggerRuns' },
      ]);
    });

    it('refuses Airflow alert options for a factory without a managed Airflow', () => {
      expect(() => withFactory({ airflowTaskFailuresAlert: { severity: 1 } })).toThrow(
        /^test\/monitoring: airflowTaskFailuresAlert given without airflowIntegrationRuntimeName: a factory without a managed Airflow gets no Airflow alerts/,
      );
    });

    it('watches only the named Airflow runtime', () => {
      for (const name of ['alert-contoso-sql-airflow-task-failures', 'alert-contoso-sql-airflow-dag-import-errors']) {
        expect(resourceNamed(AIRFLOW_ONLY_SYNTH, METRIC_ALERT, name).criteria[0].dimension).toEqual([
          { name: 'IntegrationRuntimeName', operator: 'Include', values: ['airflow-contoso-sql'] },
        ]);
      }
    });

    it('takes the minimum node count, timing and severity from the offline alert options', () => {
      const { stack } = withFactory({
        selfHostedIntegrationRuntimeName: SHIR,
        selfHostedRuntimeOfflineAlert: { threshold: 2, evaluationFrequencyMinutes: 1, windowMinutes: 5, severity: 0 },
      });
      const alert = resourceNamed(synthObject(stack), METRIC_ALERT, 'alert-contoso-sql-shir-offline');
      expect(alert.criteria[0].threshold).toBe(2);
      expect(alert.frequency).toBe('PT1M');
      expect(alert.window_size).toBe('PT5M');
      expect(alert.severity).toBe(0);
      expect(alert.description).toMatch(/^Fewer than 2 node\(s\)/);
    });

    it('accepts a one-day window', () => {
      const { stack } = withFactory({
        airflowIntegrationRuntimeName: AIRFLOW,
        airflowTaskFailuresAlert: { evaluationFrequencyMinutes: 60, windowMinutes: 1440 },
      });
      expect(Testing.synth(stack)).toHaveResourceWithProperties(MonitorMetricAlert, {
        name: 'alert-contoso-sql-airflow-task-failures',
        frequency: 'PT1H',
        window_size: 'P1D',
      });
    });

    it.each([
      [{ airflowIntegrationRuntimeName: AIRFLOW, airflowTaskFailuresAlert: { windowMinutes: 10 } }, /airflowTaskFailuresAlert\.windowMinutes must be one of 1, 5, 15, 30, 60, 360, 720, 1440 for a metric alert \(got 10\)/],
      [{ airflowIntegrationRuntimeName: AIRFLOW, airflowTaskFailuresAlert: { windowMinutes: 2880 } }, /airflowTaskFailuresAlert\.windowMinutes must be one of .* \(got 2880\)/],
      [{ airflowIntegrationRuntimeName: AIRFLOW, airflowDagImportErrorsAlert: { evaluationFrequencyMinutes: 10 } }, /airflowDagImportErrorsAlert\.evaluationFrequencyMinutes must be one of 1, 5, 15, 30, 60 for a metric alert \(got 10\)/],
      [{ airflowIntegrationRuntimeName: AIRFLOW, airflowDagImportErrorsAlert: { evaluationFrequencyMinutes: 30, windowMinutes: 15 } }, /airflowDagImportErrorsAlert\.windowMinutes \(15\) must be at least airflowDagImportErrorsAlert\.evaluationFrequencyMinutes \(30\)/],
      [{ selfHostedIntegrationRuntimeName: SHIR, selfHostedRuntimeOfflineAlert: { severity: SEVERITY_OUT_OF_RANGE } }, /selfHostedRuntimeOfflineAlert\.severity must be an integer from 0 to 4/],
      [{ selfHostedIntegrationRuntimeName: SHIR, selfHostedRuntimeOfflineAlert: { threshold: Number.NaN } }, /selfHostedRuntimeOfflineAlert\.threshold must be a finite number/],
      [{ selfHostedIntegrationRuntimeName: SHIR, selfHostedRuntimeCpuAlert: { windowMinutes: 10 } }, /selfHostedRuntimeCpuAlert\.windowMinutes must be one of 1, 5, 15, 30, 60, 360, 720, 1440 for a metric alert \(got 10\)/],
      [{ selfHostedIntegrationRuntimeName: SHIR, selfHostedRuntimeMemoryAlert: { severity: SEVERITY_OUT_OF_RANGE } }, /selfHostedRuntimeMemoryAlert\.severity must be an integer from 0 to 4/],
    ] as Array<[DataFactoryMonitoringProps, RegExp]>)('rejects %j with an error naming the option', (props, message) => {
      expect(() => withFactory(props)).toThrow(message);
    });
  });

  it('monitors one factory per facade', () => {
    const { monitoring: construct } = withFactory();
    expect(() => construct.monitorDataFactory(FACTORY)).toThrow(/monitorDataFactory\(\) may be called once/);
  });
});

describe('MigrationMonitoring facade', () => {
  it('chains, and createdAlerts() lists every alert with its kind, severity and resource', () => {
    const { monitoring: construct } = monitoring();
    const returned = construct
      .monitorMigrationEvents()
      .monitorDataFactory(FACTORY, { selfHostedIntegrationRuntimeName: SHIR, airflowIntegrationRuntimeName: AIRFLOW });
    expect(returned).toBe(construct);

    const alerts = construct.createdAlerts();
    expect(alerts.map(({ name, kind, severity }) => ({ name, kind, severity }))).toEqual([
      { name: 'alert-contoso-sql-migration-failed', kind: 'log', severity: 1 },
      { name: 'alert-contoso-sql-rollback-failed', kind: 'log', severity: 0 },
      { name: 'alert-contoso-sql-migration-running-long', kind: 'log', severity: 2 },
      { name: 'alert-contoso-sql-migration-stalled', kind: 'log', severity: 1 },
      { name: 'alert-contoso-sql-cutover-awaiting-approval', kind: 'log', severity: 3 },
      { name: 'alert-contoso-sql-cutover-postponed', kind: 'log', severity: 3 },
      { name: 'alert-contoso-sql-event-ingestion-errors', kind: 'log', severity: 1 },
      { name: 'alert-contoso-sql-airflow-task-failures', kind: 'metric', severity: 2 },
      { name: 'alert-contoso-sql-airflow-dag-import-errors', kind: 'metric', severity: 2 },
      { name: 'alert-contoso-sql-airflow-missing-pool', kind: 'log', severity: 1 },
      { name: 'alert-contoso-sql-shir-offline', kind: 'metric', severity: 1 },
      { name: 'alert-contoso-sql-shir-cpu', kind: 'metric', severity: 3 },
      { name: 'alert-contoso-sql-shir-memory', kind: 'metric', severity: 3 },
    ]);
    for (const alert of alerts) {
      if (alert.kind === 'prometheus') throw new Error(`${alert.name}: no Prometheus rule on this host`);
      expect(alert.resource).toBeInstanceOf(alert.kind === 'metric' ? MonitorMetricAlert : MonitorScheduledQueryRulesAlertV2);
      expect(alert.resource.nameInput).toBe(alert.name);
      expect(alert.resource.severityInput).toBe(alert.severity);
      expect(alert.description.length).toBeGreaterThan(0);
    }
  });

  it('sends every alert it creates to its action group', () => {
    const { stack, monitoring: construct } = monitoring();
    construct
      .monitorMigrationEvents()
      .monitorDataFactory(FACTORY, { selfHostedIntegrationRuntimeName: SHIR, airflowIntegrationRuntimeName: AIRFLOW });
    const synth = synthObject(stack);
    const actionGroup = actionGroupReference(synth);
    const metricAlerts = Object.values(resourcesOfType(synth, METRIC_ALERT));
    const logAlerts = Object.values(resourcesOfType(synth, 'azurerm_monitor_scheduled_query_rules_alert_v2')) as Array<Record<string, any>>;
    expect(metricAlerts.length + logAlerts.length).toBe(13);
    for (const config of metricAlerts) {
      expect(config.action).toEqual([{ action_group_id: actionGroup }]);
    }
    for (const config of logAlerts) {
      expect(config.action.action_groups).toEqual([actionGroup]);
    }
  });

  it('returns a copy from createdAlerts(), so callers cannot change the record', () => {
    const { monitoring: construct } = monitoring();
    construct.monitorMigrationEvents();
    const first = construct.createdAlerts() as unknown[];
    first.pop();
    expect(construct.createdAlerts()).toHaveLength(7);
  });
});
