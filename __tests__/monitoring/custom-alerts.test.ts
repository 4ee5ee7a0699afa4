import { MonitorMetricAlert } from '@cdktf/provider-azurerm/lib/monitor-metric-alert';
import { MonitorScheduledQueryRulesAlertV2 } from '@cdktf/provider-azurerm/lib/monitor-scheduled-query-rules-alert-v2';
import { CustomAlertProps, CustomLogAlertProps } from '../../lib/monitoring/custom-alerts';
import { DATA_FACTORY_METRIC_NAMESPACE, DataFactoryMetric } from '../../lib/monitoring/data-factory-signals';
import { migrationFailedAlert, migrationFailedQuery } from '../../lib/monitoring/migration-events';
import { onlyLogicalId, reference, resourceNamed, synthObject } from '../helpers/test-stack';
import { FACTORY, monitoring, PIPELINE_FAILURES_ALERT } from './monitoring-test-stack';

const LOG_ALERT = 'azurerm_monitor_scheduled_query_rules_alert_v2';
const METRIC_ALERT = 'azurerm_monitor_metric_alert';
const TABLE = 'azurerm_log_analytics_workspace_table_custom_log';

const SLOW_STEPS: CustomLogAlertProps = {
  kind: 'log',
  severity: 3,
  description: 'A step took over an hour.',
  query: 'MigrationEvents_CL | where Status == "Succeeded" and DurationSeconds > 3600',
};

describe('MigrationMonitoring.addAlert', () => {
  it('adds a log alert on the workspace with the defaults of the built-in alerts, through the action group', () => {
    const { stack, monitoring: construct } = monitoring();
    const created = construct.addAlert('slow-steps', SLOW_STEPS);
    const synth = synthObject(stack);
    const alert = resourceNamed(synth, LOG_ALERT, 'alert-contoso-sql-slow-steps');
    expect(alert).toMatchObject({
      display_name: 'contoso-sql: slow-steps',
      description: 'A step took over an hour.',
      severity: 3,
      evaluation_frequency: 'PT5M',
      window_duration: 'PT5M',
      enabled: true,
      auto_mitigation_enabled: true,
      skip_query_validation: false,
      scopes: [reference('azurerm_log_analytics_workspace', onlyLogicalId(synth, 'azurerm_log_analytics_workspace'))],
      action: { action_groups: [reference('azurerm_monitor_action_group', onlyLogicalId(synth, 'azurerm_monitor_action_group'))] },
    });
    expect(alert.criteria).toEqual([
      { query: SLOW_STEPS.query, time_aggregation_method: 'Count', operator: 'GreaterThan', threshold: 0 },
    ]);
    expect(alert.depends_on).toBeUndefined();
    expect(created).toMatchObject({ kind: 'log', name: 'alert-contoso-sql-slow-steps', severity: 3, window: 'PT5M' });
    expect(created.resource).toBeInstanceOf(MonitorScheduledQueryRulesAlertV2);
    expect(construct.createdAlerts()).toEqual([created]);
  });

  it("returns a metric or a log alert, never a Prometheus rule: code reading its resource's severity compiles (npm run typecheck)", () => {
    const { monitoring: construct } = monitoring();
    const created = construct.addAlert('slow-steps', SLOW_STEPS);
    const severity: number | undefined = created.resource.severityInput;
    expect(severity).toBe(3);
  });

  it('makes a log alert wait for the events table once monitorMigrationEvents() made it', () => {
    const { stack, monitoring: construct } = monitoring();
    construct.monitorMigrationEvents().addAlert('slow-steps', SLOW_STEPS);
    const synth = synthObject(stack);
    expect(resourceNamed(synth, LOG_ALERT, 'alert-contoso-sql-slow-steps').depends_on).toEqual([`${TABLE}.${onlyLogicalId(synth, TABLE)}`]);
  });

  it('adds a metric alert on the given resource', () => {
    const { stack, monitoring: construct } = monitoring();
    const created = construct.addAlert('pipeline-failures', { ...PIPELINE_FAILURES_ALERT, windowMinutes: 60 });
    const alert = resourceNamed(synthObject(stack), METRIC_ALERT, 'alert-contoso-sql-pipeline-failures');
    expect(alert).toMatchObject({ scopes: [FACTORY.id], severity: 2, frequency: 'PT5M', window_size: 'PT1H' });
    expect(alert.criteria).toEqual([
      {
        metric_namespace: 'Microsoft.DataFactory/factories',
        metric_name: 'PipelineFailedRuns',
        aggregation: 'Total',
        operator: 'GreaterThan',
        threshold: 0,
      },
    ]);
    expect(created.resource).toBeInstanceOf(MonitorMetricAlert);
  });

  it('follows the facade-wide defaults unless the alert says otherwise', () => {
    const { stack, monitoring: construct } = monitoring({
      alertDefaults: { enabled: false, autoMitigate: false, runbookUrl: 'https://wiki.contoso.example/migration' },
    });
    construct.addAlert('slow-steps', SLOW_STEPS);
    construct.addAlert('slow-steps-enabled', { ...SLOW_STEPS, enabled: true });
    const synth = synthObject(stack);
    expect(resourceNamed(synth, LOG_ALERT, 'alert-contoso-sql-slow-steps')).toMatchObject({
      enabled: false,
      auto_mitigation_enabled: false,
      description: 'A step took over an hour. Runbook: https://wiki.contoso.example/migration',
      action: expect.objectContaining({ custom_properties: { runbookUrl: 'https://wiki.contoso.example/migration' } }),
    });
    expect(resourceNamed(synth, LOG_ALERT, 'alert-contoso-sql-slow-steps-enabled').enabled).toBe(true);
  });

  it('puts a warning and a critical threshold on one signal as two alerts (a built-in definition spreads in)', () => {
    const { stack, monitoring: construct } = monitoring();
    construct.monitorMigrationEvents();
    const failed = migrationFailedAlert('contoso-sql', construct.eventIngestion.table);
    construct.monitorCustom({
      'migration-failed-many': { kind: 'log', ...failed, severity: 0, threshold: 5, windowMinutes: 60 },
    });
    const synth = synthObject(stack);
    const builtIn = resourceNamed(synth, LOG_ALERT, 'alert-contoso-sql-migration-failed');
    const critical = resourceNamed(synth, LOG_ALERT, 'alert-contoso-sql-migration-failed-many');
    expect([builtIn.severity, critical.severity]).toEqual([1, 0]);
    expect([builtIn.criteria[0].threshold, critical.criteria[0].threshold]).toEqual([0, 5]);
    expect(critical.criteria[0].query).toBe(migrationFailedQuery('contoso-sql'));
    expect(critical.criteria[0].dimension).toEqual(builtIn.criteria[0].dimension);
    expect(critical.window_duration).toBe('PT1H');
    expect(construct.createdAlerts().map((alert) => alert.name)).toEqual([
      'alert-contoso-sql-migration-failed',
      'alert-contoso-sql-rollback-failed',
      'alert-contoso-sql-migration-running-long',
      'alert-contoso-sql-migration-stalled',
      'alert-contoso-sql-cutover-awaiting-approval',
      'alert-contoso-sql-cutover-postponed',
      'alert-contoso-sql-event-ingestion-errors',
      'alert-contoso-sql-migration-failed-many',
    ]);
  });

  it('chains monitorCustom() and adds every entry', () => {
    const { monitoring: construct } = monitoring();
    const offline = {
      kind: 'metric',
      resource: FACTORY,
      description: 'Self-hosted integration runtime nodes missing.',
      metricNamespace: DATA_FACTORY_METRIC_NAMESPACE,
      metricName: DataFactoryMetric.INTEGRATION_RUNTIME_AVAILABLE_NODES,
      aggregation: 'Average',
      operator: 'LessThan',
    } as const;
    const alerts: Record<string, CustomAlertProps> = {
      'shir-degraded': { ...offline, severity: 2, threshold: 2 },
      'shir-down': { ...offline, severity: 0, threshold: 1 },
    };
    expect(construct.monitorCustom(alerts)).toBe(construct);
    expect(construct.createdAlerts().map(({ name, severity }) => ({ name, severity }))).toEqual([
      { name: 'alert-contoso-sql-shir-degraded', severity: 2 },
      { name: 'alert-contoso-sql-shir-down', severity: 0 },
    ]);
  });

  it.each<[string, string, CustomAlertProps, RegExp]>([
    ['a name Azure names cannot carry', 'Slow Steps', SLOW_STEPS, /^test\/monitoring: customAlerts\.Slow Steps: an alert name must be lowercase letters, digits and inner hyphens/],
    ['a window Azure refuses', 'slow', { ...SLOW_STEPS, windowMinutes: 7 }, /^test\/monitoring: customAlerts\.slow\.windowMinutes must be one of .* for a log alert \(got 7\)/],
    ['an aggregation without its column', 'slow', { ...SLOW_STEPS, timeAggregationMethod: 'Average' }, /^test\/monitoring: customAlerts\.slow\.metricMeasureColumn is required: timeAggregationMethod Average aggregates a column/],
    ['a name a built-in alert has', 'migration-failed', SLOW_STEPS, /^test\/monitoring: customAlerts\.migration-failed: an alert named "alert-contoso-sql-migration-failed" exists already/],
    // "Stateful alert rules with a frequency of more than 12 hours are not supported" (azure-monitor-docs, alerts-create-log-alert-rule.md).
    [
      'a log alert that resolves itself but runs once a day',
      'slow',
      { ...SLOW_STEPS, evaluationFrequencyMinutes: 1440, windowMinutes: 1440 },
      /^test\/monitoring: customAlerts\.slow\.autoMitigate must be false when customAlerts\.slow\.evaluationFrequencyMinutes is more than 720 \(got 1440\)/,
    ],
  ])('refuses %s', (_what, name, alert, message) => {
    const { monitoring: construct } = monitoring();
    construct.monitorMigrationEvents();
    expect(() => construct.addAlert(name, alert)).toThrow(message);
  });

  it('accepts a daily log alert that does not resolve itself (autoMitigate false)', () => {
    const { stack, monitoring: construct } = monitoring();
    construct.addAlert('daily-steps', { ...SLOW_STEPS, evaluationFrequencyMinutes: 1440, windowMinutes: 1440, autoMitigate: false });
    expect(resourceNamed(synthObject(stack), LOG_ALERT, 'alert-contoso-sql-daily-steps')).toMatchObject({
      evaluation_frequency: 'P1D',
      auto_mitigation_enabled: false,
    });
  });

  it('refuses a second alert of the same name', () => {
    const { monitoring: construct } = monitoring();
    construct.addAlert('slow-steps', SLOW_STEPS);
    expect(() => construct.addAlert('slow-steps', { ...SLOW_STEPS, severity: 0 })).toThrow(
      /an alert named "alert-contoso-sql-slow-steps" exists already; give each alert its own name/,
    );
  });
});
