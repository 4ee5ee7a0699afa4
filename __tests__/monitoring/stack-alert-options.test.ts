/**
 * A stack user changes alerts from `DatabaseMigrationStackProps` alone, without rebuilding the
 * stack from its constructs (#13.3).
 */
import { Testing } from 'cdktf';
import { DatabaseMigrationStack, DatabaseMigrationStackProps } from '../../lib/database-migration-stack';
import { examplePlan } from '../helpers/example-plan';
import { onlyLogicalId, reference, resourceNamed, SynthesizedStack } from '../helpers/test-stack';

const LOG_ALERT = 'azurerm_monitor_scheduled_query_rules_alert_v2';

function synthesize(monitoring: DatabaseMigrationStackProps['monitoring']): { stack: DatabaseMigrationStack; synth: SynthesizedStack } {
  const stack = new DatabaseMigrationStack(Testing.app(), 'contoso-sql', { plan: examplePlan(), monitoring });
  return { stack, synth: JSON.parse(Testing.synth(stack)) as SynthesizedStack };
}

describe('DatabaseMigrationStackProps.monitoring', () => {
  const { stack, synth } = synthesize({
    alertDefaults: { runbookUrl: 'https://wiki.contoso.example/migration' },
    migrationFailedAlert: { severity: 0 },
    rollbackFailedAlert: { evaluationFrequencyMinutes: 1, windowMinutes: 5 },
    cutoverAwaitingApprovalAlert: { severity: 2 },
    customAlerts: {
      'slow-steps': {
        kind: 'log',
        severity: 3,
        description: 'A step took over an hour.',
        query: 'MigrationEvents_CL | where Status == "Succeeded" and DurationSeconds > 3600',
      },
    },
  });
  const name = stack.plan.name;

  it("changes the failure alert's severity", () => {
    expect(resourceNamed(synth, LOG_ALERT, `alert-${name}-migration-failed`).severity).toBe(0);
    expect(resourceNamed(synth, LOG_ALERT, `alert-${name}-migration-running-long`).severity).toBe(2);
  });

  it('passes the rollback alert its overrides', () => {
    expect(resourceNamed(synth, LOG_ALERT, `alert-${name}-rollback-failed`)).toMatchObject({ severity: 0, evaluation_frequency: 'PT1M' });
  });

  it('passes the cutover alerts their overrides', () => {
    expect(resourceNamed(synth, LOG_ALERT, `alert-${name}-cutover-awaiting-approval`).severity).toBe(2);
    expect(resourceNamed(synth, LOG_ALERT, `alert-${name}-cutover-postponed`).severity).toBe(3);
  });

  it('adds a custom log alert on the workspace, through the action group, after the events table', () => {
    const alert = resourceNamed(synth, LOG_ALERT, `alert-${name}-slow-steps`);
    expect(alert).toMatchObject({
      severity: 3,
      scopes: [reference('azurerm_log_analytics_workspace', onlyLogicalId(synth, 'azurerm_log_analytics_workspace'))],
      action: expect.objectContaining({
        action_groups: [reference('azurerm_monitor_action_group', onlyLogicalId(synth, 'azurerm_monitor_action_group'))],
      }),
      depends_on: [`azurerm_log_analytics_workspace_table_custom_log.${onlyLogicalId(synth, 'azurerm_log_analytics_workspace_table_custom_log')}`],
    });
    expect(alert.criteria[0].query).toMatch(/DurationSeconds > 3600/);
  });

  it('applies the alert defaults to every alert, built-in and custom', () => {
    for (const alert of stack.monitoring.createdAlerts()) {
      expect(alert.description).toMatch(/Runbook: https:\/\/wiki\.contoso\.example\/migration$/);
    }
    expect(stack.monitoring.createdAlerts().map((alert) => alert.name)).toContain(`alert-${name}-slow-steps`);
  });

  it('adds the stalled alert when asked, and refuses a bad option naming it', () => {
    const stalled = synthesize({ migrationStalledAlert: { silentMinutes: 45 } });
    expect(resourceNamed(stalled.synth, LOG_ALERT, `alert-${name}-migration-stalled`).criteria[0].query).toMatch(/ago\(45m\)/);
    expect(() => synthesize({ migrationFailedAlert: { windowMinutes: 7 } })).toThrow(/migrationFailedAlert\.windowMinutes must be one of/);
  });
});

describe('DatabaseMigrationStackProps.monitoring with a value an alert refuses', () => {
  it.each<[DatabaseMigrationStackProps['monitoring'], string]>([
    // A value from JavaScript or a configuration file, which the type would not let through.
    [{ migrationFailedAlert: { severity: 7 } } as unknown as DatabaseMigrationStackProps['monitoring'], 'contoso-sql/Monitoring: migrationFailedAlert.severity must be an integer from 0 to 4 (got 7)'],
    [{ rollbackFailedAlert: { windowMinutes: 7 } }, 'contoso-sql/Monitoring: rollbackFailedAlert.windowMinutes'],
    [{ migrationStalledAlert: { silentMinutes: 0 } }, 'contoso-sql/Monitoring: migrationStalledAlert.silentMinutes must be a whole number of minutes'],
    [{ sourceFrozenTooLongAlert: { graceMinutes: -1 } }, 'contoso-sql/Monitoring: sourceFrozenTooLongAlert.graceMinutes must be a whole number of minutes'],
    [
      { customAlerts: { 'migration-failed': { kind: 'log', severity: 3, description: 'd', query: 'MigrationEvents_CL' } } },
      'contoso-sql/Monitoring: customAlerts.migration-failed: an alert named "alert-contoso-sql-migration-failed" exists already',
    ],
  ])('names the monitoring construct before the option, as the other prop checks do: %j', (monitoring, message) => {
    expect(() => synthesize(monitoring)).toThrow(message);
  });
});
