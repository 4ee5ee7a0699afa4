/**
 * An adopted Data Factory Airflow environment's alerts and `Airflow*` logs go through the plan's
 * monitoring (#13 review): listed by createdAlerts(), overridable, a clashing name caught at synth,
 * kept at their Terraform state through `moved` blocks; their overrides refused on other hosts.
 */
import { DatabaseMigrationStackProps } from '../../lib/database-migration-stack';
import { AIRFLOW_LOG_CATEGORIES, airflowDagImportErrorsAlert, airflowTaskFailuresAlert } from '../../lib/monitoring/data-factory-signals';
import { ENVIRONMENT_ID } from '../helpers/host-fixtures';
import { AIRFLOW_OF_HOST, examplePlanWith, synthMigrationStack } from '../helpers/migration-stack';
import { resourcesOfType, resourcesSnapshot, synthObject } from '../helpers/test-stack';
import { monitoring } from './monitoring-test-stack';

const FACTORY_ID = ENVIRONMENT_ID.split('/integrationRuntimes/')[0];
const METRIC_ALERT = 'azurerm_monitor_metric_alert';
const DIAGNOSTIC_SETTING = 'azurerm_monitor_diagnostic_setting';

function dataFactoryStack(props: Partial<DatabaseMigrationStackProps> = {}) {
  return synthMigrationStack({ plan: examplePlanWith(AIRFLOW_OF_HOST.dataFactory), ...props });
}

describe('MigrationMonitoring.monitorDataFactoryAirflow', () => {
  it('sends the five Airflow* log categories of the factory to the workspace and watches the environment by name', () => {
    const { stack, monitoring: construct } = monitoring();
    const made = construct.monitorDataFactoryAirflow({ factoryId: FACTORY_ID, environmentName: 'airflow-prod' });
    const synth = synthObject(stack);
    const [setting] = Object.values(resourcesOfType(synth, DIAGNOSTIC_SETTING)) as any[];
    expect(setting).toMatchObject({ name: 'diag-contoso-sql-airflow', target_resource_id: FACTORY_ID, log_analytics_destination_type: 'Dedicated' });
    expect(setting.enabled_log.map((log: { category: string }) => log.category)).toEqual([...AIRFLOW_LOG_CATEGORIES]);
    expect(made.alerts.map((alert) => alert.name)).toEqual(['alert-contoso-sql-airflow-task-failures', 'alert-contoso-sql-airflow-dag-import-errors']);
    expect(made.missingPoolAlert?.name).toBe('alert-contoso-sql-airflow-missing-pool');
    expect(construct.createdAlerts()).toEqual([...made.alerts, made.missingPoolAlert]);
    for (const alert of Object.values(resourcesOfType(synth, METRIC_ALERT)) as any[]) {
      expect(alert.criteria[0].dimension).toEqual([{ name: 'IntegrationRuntimeName', operator: 'Include', values: ['airflow-prod'] }]);
    }
  });

  it('leaves the diagnostic setting out when asked, and takes the alert overrides', () => {
    const { stack, monitoring: construct } = monitoring();
    construct.monitorDataFactoryAirflow({ factoryId: FACTORY_ID, environmentName: 'airflow-prod' }, { airflowLogs: false, airflowDagImportErrorsAlert: { severity: 1 } });
    const synth = synthObject(stack);
    expect(resourcesOfType(synth, DIAGNOSTIC_SETTING)).toEqual({});
    expect(construct.createdAlerts().map(({ name, severity }) => [name, severity])).toEqual([
      ['alert-contoso-sql-airflow-task-failures', 2],
      ['alert-contoso-sql-airflow-dag-import-errors', 1],
    ]);
  });

  it("watches the environment's scheduler log for a missing pool, on its own factory and by its name, with the facade's defaults", () => {
    const { stack, monitoring: construct } = monitoring({ alertDefaults: { runbookUrl: 'https://wiki.contoso.example/pools', autoMitigate: false } });
    construct.monitorDataFactoryAirflow({ factoryId: FACTORY_ID, environmentName: 'airflow-prod' }, { missingPoolAlert: { severity: 0 } });
    const [alert] = Object.values(resourcesOfType(synthObject(stack), 'azurerm_monitor_scheduled_query_rules_alert_v2')) as any[];
    expect(alert).toMatchObject({ name: 'alert-contoso-sql-airflow-missing-pool', severity: 0, auto_mitigation_enabled: false, description: expect.stringContaining('Runbook: https://wiki.contoso.example/pools') });
    expect(alert.criteria[0].query).toContain('union isfuzzy=true ADFAirflowSchedulerLogs');
    expect(alert.criteria[0].query).toContain(`| where _ResourceId =~ "${FACTORY_ID}" and IntegrationRuntimeName =~ "airflow-prod"`);
    expect(alert.criteria[0].dimension.map((dimension: { name: string }) => dimension.name)).toEqual(['Pool']);
  });

  it('makes no missing pool alert without the Airflow logs, and refuses its override there, saying why', () => {
    const { monitoring: construct } = monitoring();
    expect(construct.monitorDataFactoryAirflow({ factoryId: FACTORY_ID, environmentName: 'airflow-prod' }, { airflowLogs: false }).missingPoolAlert).toBeUndefined();
    expect(() =>
      monitoring().monitoring.monitorDataFactoryAirflow({ factoryId: FACTORY_ID, environmentName: 'airflow-prod' }, { airflowLogs: false, missingPoolAlert: { severity: 0 } }),
    ).toThrow(/^test\/monitoring: missingPoolAlert given with airflowLogs false: the missing pool alert reads the scheduler's log \(ADFAirflowSchedulerLogs\)/);
  });
});

/**
 * The table each `Airflow*` category writes to with a resource-specific (`Dedicated`) destination,
 * as Microsoft lists it (MicrosoftDocs/azure-reference-other
 * `azure-monitor-ref/supported-logs/includes/microsoft-datafactory-factories-logs-include.md`): all
 * but the DAG processing logs carry an `ADF` prefix, so a category is not always a table's name.
 */
const AIRFLOW_LOG_TABLE: Record<string, string> = {
  AirflowDagProcessingLogs: 'AirflowDagProcessingLogs',
  AirflowSchedulerLogs: 'ADFAirflowSchedulerLogs',
  AirflowTaskLogs: 'ADFAirflowTaskLogs',
  AirflowWebLogs: 'ADFAirflowWebLogs',
  AirflowWorkerLogs: 'ADFAirflowWorkerLogs',
};

describe("the Airflow alerts' descriptions", () => {
  it('send the on-call to workspace tables that exist (each category by its resource-specific table)', () => {
    expect(Object.keys(AIRFLOW_LOG_TABLE)).toEqual([...AIRFLOW_LOG_CATEGORIES]);
    const tables = Object.values(AIRFLOW_LOG_TABLE);
    for (const alert of [airflowTaskFailuresAlert('contoso-sql', 'airflow-prod'), airflowDagImportErrorsAlert('contoso-sql', 'airflow-prod')]) {
      const named = alert.description.match(/\b\w*Airflow\w*Logs\b/g) ?? [];
      expect(named.length).toBeGreaterThan(0);
      for (const table of named) expect(tables).toContain(table);
    }
  });
});

describe('the Data Factory host, through the plan monitoring', () => {
  const { stack, synth } = dataFactoryStack();

  it("lists the environment's Airflow alerts in createdAlerts()", () => {
    expect(stack.monitoring.createdAlerts().map((alert) => alert.name)).toEqual(
      expect.arrayContaining(['alert-contoso-sql-airflow-task-failures', 'alert-contoso-sql-airflow-dag-import-errors']),
    );
  });

  it('moves the alerts and the diagnostic setting from the addresses the host gave them, so an upgrade replaces nothing', () => {
    // The operator role's assignments and the SQL pipelines' private endpoints move too (their own tests): only the monitoring's here.
    const others = ['azurerm_role_assignment.', 'azurerm_data_factory_managed_private_endpoint.'];
    const moved = ((synth as any).moved as { from: string; to: string }[]).filter(({ from }) => !others.some((type) => from.startsWith(type)));
    const current = (type: string, name: string) =>
      `${type}.${Object.entries(resourcesOfType(synth, type)).find(([, config]) => config.name === name)![0]}`;
    // The addresses the host's own resources had before they moved to the monitoring construct.
    expect(moved).toEqual(
      expect.arrayContaining([
        { from: 'azurerm_monitor_metric_alert.AirflowHost_AirflowTaskFailuresAlert_40984017', to: current(METRIC_ALERT, 'alert-contoso-sql-airflow-task-failures') },
        { from: 'azurerm_monitor_metric_alert.AirflowHost_AirflowDagImportErrorsAlert_62AFBD21', to: current(METRIC_ALERT, 'alert-contoso-sql-airflow-dag-import-errors') },
        { from: 'azurerm_monitor_diagnostic_setting.AirflowHost_AirflowLogs_9A185D8A', to: current(DIAGNOSTIC_SETTING, 'diag-contoso-sql-airflow') },
      ]),
    );
    expect(moved).toHaveLength(3);
    expect(moved.every(({ to }) => to.includes('.Monitoring_'))).toBe(true);
  });

  it('applies the stack alert defaults and overrides to them', () => {
    const overridden = dataFactoryStack({
      monitoring: { airflowTaskFailuresAlert: { severity: 1 }, alertDefaults: { runbookUrl: 'https://wiki.contoso.example/airflow' } },
    });
    const alerts = overridden.stack.monitoring.createdAlerts();
    expect(alerts.find((alert) => alert.name.endsWith('-airflow-task-failures'))).toMatchObject({
      severity: 1,
      description: expect.stringContaining('Runbook: https://wiki.contoso.example/airflow'),
    });
  });

  it('catches a custom alert with the name of an Airflow alert at synth, not at apply', () => {
    expect(() =>
      dataFactoryStack({
        monitoring: {
          customAlerts: {
            'airflow-task-failures': { kind: 'log', severity: 3, description: 'mine', query: 'MigrationEvents_CL | where Status == "Failed"' },
          },
        },
      }),
    ).toThrow(/customAlerts\.airflow-task-failures: an alert named "alert-contoso-sql-airflow-task-failures" exists already/);
  });

  it('snapshots the Airflow alerts and the diagnostic setting of the adopted environment (those resources only)', () => {
    const snapshot = resourcesSnapshot(synth, [METRIC_ALERT, DIAGNOSTIC_SETTING]);
    expect(snapshot).toMatchSnapshot();
  });
});

describe('Airflow alert overrides on a host without them', () => {
  it.each(['kubernetes', 'fabric', 'external'] as const)('are refused on %s, naming the options and the host', (host) => {
    expect(() =>
      synthMigrationStack({ plan: examplePlanWith(AIRFLOW_OF_HOST[host]), monitoring: { airflowTaskFailuresAlert: { severity: 1 }, airflowDagImportErrorsAlert: {} } }),
    ).toThrow(
      `contoso-sql: monitoring.airflowTaskFailuresAlert, monitoring.airflowDagImportErrorsAlert: the plan's Airflow host is ${host}, which has no such alert`,
    );
  });

  it('are taken on dataFactory', () => {
    expect(() => dataFactoryStack({ monitoring: { airflowDagImportErrorsAlert: { severity: 1 } } })).not.toThrow();
  });

  it.each(['fabric', 'external'] as const)("refuses the missing pool alert's override on %s, which sends no scheduler log, saying which hosts do", (host) => {
    expect(() => synthMigrationStack({ plan: examplePlanWith(AIRFLOW_OF_HOST[host]), monitoring: { missingPoolAlert: { severity: 0 } } })).toThrow(
      `contoso-sql: monitoring.missingPoolAlert: the plan's Airflow host is ${host}, which has no such alert ` +
        "(only airflow.host kubernetes and dataFactory send the Airflow scheduler's log to Azure Monitor); remove the override",
    );
  });

  it('names both reasons when metric and log alert overrides are foreign', () => {
    expect(() =>
      synthMigrationStack({ plan: examplePlanWith(AIRFLOW_OF_HOST.fabric), monitoring: { airflowTaskFailuresAlert: {}, missingPoolAlert: {} } }),
    ).toThrow(
      "contoso-sql: monitoring.airflowTaskFailuresAlert, monitoring.missingPoolAlert: the plan's Airflow host is fabric, which has no such alert " +
        '(only airflow.host dataFactory, an adopted Data Factory environment, reports Airflow metrics to Azure Monitor; ' +
        "only airflow.host kubernetes and dataFactory send the Airflow scheduler's log to Azure Monitor); remove the override",
    );
  });
});
