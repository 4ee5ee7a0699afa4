/**
 * Alert props given in code, field by field, as plain JavaScript may pass them: the per-signal
 * options (`migrationStalledAlert`, `sourceFrozenTooLongAlert` and the rest) and custom alerts
 * (`customAlerts`, `addAlert`, `monitorCustom`). A string for a number, an unknown field, a query
 * that is no string, an operator Azure does not know: each named by its path, never a TypeError,
 * a silent default or a refusal at apply. Valid edge values and tokens Terraform takes still pass.
 */
import { Fn, ref, Testing, Token } from 'cdktf';
import { DatabaseMigrationStack, DatabaseMigrationStackProps } from '../../lib/database-migration-stack';
import { MigrationMonitoring } from '../../lib/monitoring/migration-monitoring';
import { examplePlan } from '../helpers/example-plan';
import { resourceNamed, synthObject } from '../helpers/test-stack';
import { FACTORY, monitoring, PIPELINE_FAILURES_ALERT } from './monitoring-test-stack';

const LOG_ALERT = { kind: 'log', severity: 1, description: 'A step took over an hour.', query: 'MigrationEvents_CL | where DurationSeconds > 3600' } as const;

/** The default plan, loaded once for every stack below (the loader deep-freezes plans: a stack cannot change it for the next). */
const PLAN = examplePlan();

function stackError(monitoringOptions: unknown): string | undefined {
  const plan = PLAN;
  try {
    new DatabaseMigrationStack(Testing.app(), plan.name, { plan, monitoring: monitoringOptions as DatabaseMigrationStackProps['monitoring'] });
    return undefined;
  } catch (error) {
    expect((error as Error).constructor).toBe(Error);
    return (error as Error).message;
  }
}

describe('DatabaseMigrationStackProps.monitoring, field by field', () => {
  const wrong = 'contoso-sql: DatabaseMigrationStack: props.monitoring.';
  const missing = 'contoso-sql: DatabaseMigrationStack is missing props.monitoring.';
  test.each([
    // The two alerts that may also be false: once unchecked, a string was read at synth or ignored.
    [{ migrationStalledAlert: { silentMinutes: '30' } }, `${wrong}migrationStalledAlert.silentMinutes must be a number (got the string "30")`],
    [{ migrationStalledAlert: { autoMitigate: 'false' } }, `${wrong}migrationStalledAlert.autoMitigate must be true or false (got the string "false")`],
    [{ migrationStalledAlert: { severty: 0 } }, `${wrong}migrationStalledAlert.severty is an unknown field (did you mean severity?)`],
    [{ migrationStalledAlert: true }, `${wrong}migrationStalledAlert must be an object or false (got the boolean true)`],
    [{ migrationStalledAlert: { severity: Token.asNumber(ref('var.severity')) } }, `${wrong}migrationStalledAlert.severity must be a number, which is read at synth, not a token (got a number token (Token.asNumber))`],
    [{ sourceFrozenTooLongAlert: { graceMinutes: '15' } }, `${wrong}sourceFrozenTooLongAlert.graceMinutes must be a number (got the string "15")`],
    [{ sourceFrozenTooLongAlert: { windowMinutes: '2880' } }, `${wrong}sourceFrozenTooLongAlert.windowMinutes must be a number (got the string "2880")`],
    [{ sourceFrozenTooLongAlert: { enabled: 'no' } }, `${wrong}sourceFrozenTooLongAlert.enabled must be true or false (got the string "no")`],
    [{ sourceFrozenTooLongAlert: 'off' }, `${wrong}sourceFrozenTooLongAlert must be an object or false (got the string "off")`],
    // Typos in the other alerts' options and in the options' own names.
    [{ migrationFailedAlert: { severty: 0 } }, `${wrong}migrationFailedAlert.severty is an unknown field (did you mean severity?)`],
    [{ migrationFailedAlrt: { severity: 0 } }, `${wrong}migrationFailedAlrt is an unknown field (did you mean migrationFailedAlert?)`],
    [{ alertDefaults: { autoMitgate: false } }, `${wrong}alertDefaults.autoMitgate is an unknown field (did you mean autoMitigate?)`],
    // Custom alerts: each by the fields of its kind.
    [{ customAlerts: { slow: { ...LOG_ALERT, query: 42 } } }, `${wrong}customAlerts.slow.query must be a string (got the number 42)`],
    [{ customAlerts: { slow: { ...LOG_ALERT, severity: '1' } } }, `${wrong}customAlerts.slow.severity must be a number (got the string "1")`],
    [{ customAlerts: { slow: { ...LOG_ALERT, autoMitigate: 'false' } } }, `${wrong}customAlerts.slow.autoMitigate must be true or false (got the string "false")`],
    [{ customAlerts: { slow: { ...LOG_ALERT, severty: 1 } } }, `${wrong}customAlerts.slow.severty is an unknown field (did you mean severity?)`],
    [{ customAlerts: { slow: { ...LOG_ALERT, operator: 'GreaterThen' } } }, `${wrong}customAlerts.slow.operator must be one of 'Equal', 'GreaterThan', 'GreaterThanOrEqual', 'LessThan', 'LessThanOrEqual' (got the string "GreaterThen"; did you mean 'GreaterThan'?)`],
    [{ customAlerts: { slow: { ...LOG_ALERT, dimensions: 'Database' } } }, `${wrong}customAlerts.slow.dimensions must be a list (got the string "Database")`],
    [{ customAlerts: { slow: { ...LOG_ALERT, dimensions: [{ name: 'Database', operator: 'include', values: ['*'] }] } } }, `${wrong}customAlerts.slow.dimensions[0].operator must be one of 'Include', 'Exclude' (got the string "include"; did you mean 'Include'?)`],
    [{ customAlerts: { slow: { ...LOG_ALERT, kind: 'logs' } } }, `${wrong}customAlerts.slow.kind must be one of 'log', 'metric' (got the string "logs"; did you mean 'log'?)`],
    [{ customAlerts: { slow: 'MigrationEvents_CL' } }, `${wrong}customAlerts.slow must be an object (got the string "MigrationEvents_CL")`],
    [{ customAlerts: { failures: { ...PIPELINE_FAILURES_ALERT, threshold: '0' } } }, `${wrong}customAlerts.failures.threshold must be a number (got the string "0")`],
    [{ customAlerts: { failures: { ...PIPELINE_FAILURES_ALERT, aggregation: 'Sum' } } }, `${wrong}customAlerts.failures.aggregation must be one of 'Average', 'Count', 'Minimum', 'Maximum', 'Total' (got the string "Sum")`],
    [{ customAlerts: { failures: { ...PIPELINE_FAILURES_ALERT, query: 'AzureMetrics' } } }, `${wrong}customAlerts.failures.query is an unknown field (allowed: `],
  ])('%j is named', (given, message) => {
    expect(stackError(given)).toContain(message);
  });

  test.each([
    [{ customAlerts: { slow: { severity: 1, description: 'd', query: 'T' } } }, `${missing}customAlerts.slow.kind`],
    [{ customAlerts: { failures: { ...PIPELINE_FAILURES_ALERT, resource: undefined } } }, `${missing}customAlerts.failures.resource`],
    [{ customAlerts: { slow: { kind: 'log', severity: 1, description: 'd' } } }, `${missing}customAlerts.slow.query`],
  ])('%j names the missing field', (given, message) => {
    expect(stackError(given)).toContain(message);
  });

  test('a field of another type, spread in (TypeScript checks no excess field of a spread), is named with how to fix it', () => {
    const teamDefaults = { runbookUrl: 'https://wiki.contoso.example/migration', team: 'dba' };
    expect(stackError({ migrationFailedAlert: { ...teamDefaults, severity: 0 } })).toBe(
      `${wrong}migrationFailedAlert.team is an unknown field (allowed: severity, evaluationFrequencyMinutes, windowMinutes, threshold, description, runbookUrl, enabled, autoMitigate); ` +
        'remove it, also from an object spread into props.monitoring.migrationFailedAlert',
    );
  });

  test('the value checks after the kinds keep their messages', () => {
    expect(stackError({ migrationStalledAlert: { silentMinutes: -5 } })).toBe(
      'contoso-sql/Monitoring: migrationStalledAlert.silentMinutes must be a whole number of minutes, at least 1 (got -5)',
    );
    expect(stackError({ sourceFrozenTooLongAlert: { graceMinutes: 1.5 } })).toBe(
      'contoso-sql/Monitoring: sourceFrozenTooLongAlert.graceMinutes must be a whole number of minutes, 0 or more (got 1.5)',
    );
    expect(stackError({ customAlerts: { slow: { ...LOG_ALERT, severity: 5 } } })).toBe('contoso-sql/Monitoring: customAlerts.slow.severity must be an integer from 0 to 4 (got 5)');
    expect(stackError({ customAlerts: { slow: { ...LOG_ALERT, evaluationFrequencyMinutes: 7 } } })).toMatch(/customAlerts\.slow\.evaluationFrequencyMinutes must be one of 1, 5, 10/);
  });

  test('documented edge values and tokens Terraform takes pass', () => {
    const edge = {
      alertDefaults: { enabled: true, autoMitigate: true, runbookUrl: Token.asString(ref('var.runbook')) },
      migrationFailedAlert: { severity: 0, evaluationFrequencyMinutes: 1, windowMinutes: 360, threshold: Token.asNumber(ref('var.threshold')) },
      rollbackFailedAlert: { severity: 4, evaluationFrequencyMinutes: 1440, windowMinutes: 2880, autoMitigate: false, description: Token.asString(ref('var.description')) },
      // One more than the DAG's heartbeat interval (15 minutes).
      migrationStalledAlert: { silentMinutes: 16 },
      sourceFrozenTooLongAlert: { graceMinutes: 0, windowMinutes: 2880, enabled: false },
      customAlerts: {
        slow: {
          ...LOG_ALERT,
          severity: 4,
          timeAggregationMethod: 'Maximum',
          metricMeasureColumn: 'DurationSeconds',
          operator: 'GreaterThanOrEqual',
          dimensions: [{ name: 'Database', operator: 'Exclude', values: ['Sales'] }],
          threshold: 3600,
        },
        failures: { ...PIPELINE_FAILURES_ALERT, severity: 0, operator: 'GreaterThanOrEqual', evaluationFrequencyMinutes: 1, windowMinutes: 1440, resource: { id: Token.asString(ref('var.factory_id')) } },
      },
    } as const;
    expect(stackError(edge)).toBeUndefined();
    expect(stackError({ migrationStalledAlert: false, sourceFrozenTooLongAlert: false })).toBeUndefined();
  });
});

describe('MigrationMonitoring methods, field by field', () => {
  const facadeError = (call: (facade: MigrationMonitoring) => unknown): string | undefined => {
    try {
      call(monitoring().monitoring);
      return undefined;
    } catch (error) {
      expect((error as Error).constructor).toBe(Error);
      return (error as Error).message;
    }
  };
  // Plain JavaScript: no type checker between the caller and the method.
  type Untyped = (...args: unknown[]) => unknown;
  const untyped = (facade: MigrationMonitoring, method: keyof MigrationMonitoring) => (facade[method] as Untyped).bind(facade);

  test.each([
    ['addAlert without the alert', (m: MigrationMonitoring) => untyped(m, 'addAlert')('slow', undefined), 'test/monitoring: addAlert is missing customAlerts.slow'],
    ['addAlert with a query of numbers', (m: MigrationMonitoring) => untyped(m, 'addAlert')('slow', { ...LOG_ALERT, query: 42 }), 'test/monitoring: addAlert: customAlerts.slow.query must be a string (got the number 42)'],
    ['addAlert with a metric alert without its resource', (m: MigrationMonitoring) => untyped(m, 'addAlert')('f', { ...PIPELINE_FAILURES_ALERT, resource: undefined }), 'test/monitoring: addAlert is missing customAlerts.f.resource'],
    ['monitorCustom with a string', (m: MigrationMonitoring) => untyped(m, 'monitorCustom')('slow'), 'test/monitoring: monitorCustom: customAlerts must be an object (got the string "slow")'],
    [
      'monitorMigrationEvents with silentMinutes a string',
      (m: MigrationMonitoring) => untyped(m, 'monitorMigrationEvents')({ migrationStalledAlert: { silentMinutes: '30' } }),
      'test/monitoring: monitorMigrationEvents: props.migrationStalledAlert.silentMinutes must be a number (got the string "30")',
    ],
    [
      'monitorMigrationEvents with an eventsTable of neither kind',
      (m: MigrationMonitoring) => untyped(m, 'monitorMigrationEvents')({ eventsTable: 'shared' }),
      `test/monitoring: monitorMigrationEvents: props.eventsTable must be one of 'create', 'existing' (got the string "shared")`,
    ],
    [
      'monitorMigrationEvents with a typo',
      (m: MigrationMonitoring) => untyped(m, 'monitorMigrationEvents')({ sourceFrozenTooLongAlert: { graceMinute: 5 } }),
      'test/monitoring: monitorMigrationEvents: props.sourceFrozenTooLongAlert.graceMinute is an unknown field (did you mean graceMinutes?)',
    ],
    [
      'monitorDataFactory with autoMitigate a string',
      (m: MigrationMonitoring) => untyped(m, 'monitorDataFactory')(FACTORY, { selfHostedIntegrationRuntimeName: 'shir', selfHostedRuntimeOfflineAlert: { autoMitigate: 'false' } }),
      'test/monitoring: monitorDataFactory: props.selfHostedRuntimeOfflineAlert.autoMitigate must be true or false (got the string "false")',
    ],
    [
      'monitorDataFactoryAirflow with airflowLogs a string',
      (m: MigrationMonitoring) => untyped(m, 'monitorDataFactoryAirflow')({ factoryId: FACTORY.id, environmentName: 'airflow' }, { airflowLogs: 'false' }),
      'test/monitoring: monitorDataFactoryAirflow: props.airflowLogs must be true or false (got the string "false")',
    ],
  ] as const)('%s is named', (_name, call, message) => {
    expect(facadeError(call)).toBe(message);
  });

  test.each([
    // Metric alerts: frequency 1 to 60, window 1 to 1440; log alerts: frequency 1 to 1440, window 1 to 2880 (alert-timing.ts).
    ['metric', 1, 1],
    ['metric', 60, 60],
    ['metric', 60, 1440],
    ['log', 1, 1],
    ['log', 1440, 1440],
    ['log', 1440, 2880],
  ] as const)('a custom %s alert every %d minutes over %d passes', (kind, evaluationFrequencyMinutes, windowMinutes) => {
    const alert = kind === 'metric' ? PIPELINE_FAILURES_ALERT : LOG_ALERT;
    // Azure supports no auto-resolving log alert evaluated less often than every 12 hours.
    const timing = { evaluationFrequencyMinutes, windowMinutes, autoMitigate: evaluationFrequencyMinutes <= 720 };
    expect(facadeError((facade) => facade.addAlert('edge', { ...alert, ...timing }))).toBeUndefined();
  });

  test('a dimension whose values are a list token (Token.asList, Fn.concat) hands it to Terraform, as before the check', () => {
    const { stack, monitoring: facade } = monitoring();
    facade.addAlert('slow', { ...LOG_ALERT, dimensions: [{ name: 'Database', operator: 'Include', values: Token.asList(ref('var.databases')) }] });
    facade.addAlert('failures', { ...PIPELINE_FAILURES_ALERT, dimensions: [{ name: 'Name', operator: 'Include', values: Fn.concat([['Copy'], Token.asList(ref('var.pipelines'))]) }] });
    const synthesized = synthObject(stack);
    const logAlert = resourceNamed(synthesized, 'azurerm_monitor_scheduled_query_rules_alert_v2', 'alert-contoso-sql-slow') as { criteria: { dimension: unknown[] }[] };
    expect(logAlert.criteria[0].dimension).toEqual([{ name: 'Database', operator: 'Include', values: '${var.databases}' }]);
    const metricAlert = resourceNamed(synthesized, 'azurerm_monitor_metric_alert', 'alert-contoso-sql-failures') as { criteria: { dimension: unknown[] }[] };
    expect(metricAlert.criteria[0].dimension).toEqual([{ name: 'Name', operator: 'Include', values: '${concat(["Copy"], var.pipelines)}' }]);
  });

  test('a custom alert with a query token and operator token passes them to Terraform', () => {
    const { stack, monitoring: facade } = monitoring();
    facade.addAlert('from-file', { ...LOG_ALERT, query: Token.asString(ref('var.query')), operator: Token.asString(ref('var.operator')) as 'GreaterThan' });
    const alert = resourceNamed(synthObject(stack), 'azurerm_monitor_scheduled_query_rules_alert_v2', 'alert-contoso-sql-from-file') as { criteria: { query: string; operator: string }[] };
    expect(alert.criteria[0]).toMatchObject({ query: '${var.query}', operator: '${var.operator}' });
  });
});
