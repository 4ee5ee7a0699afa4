/**
 * Events the Logs Ingestion API refuses mid-run (the publisher role removed, the stream or a column
 * changed) raise an alert within minutes, from Azure's own record of the rule's errors, instead of
 * "migration stalled" half an hour later.
 */
import { Testing } from 'cdktf';
import { MonitorDiagnosticSetting } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting';
import { DatabaseMigrationStack } from '../../lib/database-migration-stack';
import { eventIngestionErrorsQuery } from '../../lib/monitoring/event-ingestion-errors';
import { examplePlan } from '../helpers/example-plan';
import { onlyLogicalId, reference, resourceNamed, SynthesizedStack, synthObject } from '../helpers/test-stack';
import { monitoring } from './monitoring-test-stack';

const LOG_ALERT = 'azurerm_monitor_scheduled_query_rules_alert_v2';
const RULE = 'azurerm_monitor_data_collection_rule';
const ALERT_NAME = 'alert-contoso-sql-event-ingestion-errors';

function withEvents(props: Parameters<typeof monitoring>[0] = {}) {
  const built = monitoring(props);
  built.monitoring.monitorMigrationEvents();
  return { ...built, synth: synthObject(built.stack) };
}

describe('the events rule error log and its alert', () => {
  const { stack, monitoring: construct, synth } = withEvents();
  const ruleId = reference(RULE, onlyLogicalId(synth, RULE));

  it("sends the rule's LogErrors category to the workspace's DCRLogErrors table, as diag-dcr-<name>", () => {
    expect(Testing.synth(stack)).toHaveResourceWithProperties(MonitorDiagnosticSetting, {
      name: 'diag-dcr-contoso-sql',
      target_resource_id: ruleId,
      log_analytics_workspace_id: reference('azurerm_log_analytics_workspace', onlyLogicalId(synth, 'azurerm_log_analytics_workspace')),
      enabled_log: [{ category: 'LogErrors' }],
    });
  });

  it('sets no destination type, which a rule (resource-specific table only) does not keep: no change on every plan', () => {
    expect(resourceNamed(synth, 'azurerm_monitor_diagnostic_setting', 'diag-dcr-contoso-sql')).not.toHaveProperty('log_analytics_destination_type');
  });

  it("fires on any error Azure logged of this rule, every 5 minutes over 2 hours, severity 1, per operation and stream, through the action group", () => {
    const alert = resourceNamed(synth, LOG_ALERT, ALERT_NAME);
    expect(alert.criteria).toEqual([
      {
        query: eventIngestionErrorsQuery(ruleId),
        time_aggregation_method: 'Count',
        operator: 'GreaterThan',
        threshold: 0,
        dimension: ['OperationName', 'InputStreamId'].map((name) => ({ name, operator: 'Include', values: ['*'] })),
      },
    ]);
    expect(alert.criteria[0].query).toMatch(/^union isfuzzy=true DCRLogErrors, \(datatable\(.*\)\[\]\)\n/);
    expect(alert.criteria[0].query).toContain(`\n| where _ResourceId =~ "${ruleId}"`);
    expect(alert).toMatchObject({
      severity: 1,
      evaluation_frequency: 'PT5M',
      window_duration: 'PT2H',
      auto_mitigation_enabled: true,
      enabled: true,
      action: { action_groups: [reference('azurerm_monitor_action_group', onlyLogicalId(synth, 'azurerm_monitor_action_group'))] },
    });
  });

  it('tells the person notified what to check: the role on the rule, the token, the stream, the endpoint', () => {
    const { description } = resourceNamed(synth, LOG_ALERT, ALERT_NAME);
    expect(description).toMatch(/403, the Airflow identity lost Monitoring Metrics Publisher on the rule/);
    expect(description).toMatch(/401, its token \(federated credential, client id\)/);
    expect(description).toMatch(/400, the stream Custom-MigrationEvents_CL or a column the rule no longer declares/);
    expect(description).toMatch(/A malformed URL's 404 is not logged: a wrong MIGRATION_EVENTS_RULE_ID, MIGRATION_EVENTS_STREAM or MIGRATION_EVENTS_ENDPOINT/);
  });

  it('is listed by createdAlerts()', () => {
    expect(construct.createdAlerts().find((alert) => alert.name === ALERT_NAME)).toMatchObject({ kind: 'log', severity: 1, window: 'PT2H' });
  });

  it("sends a given workspace the rule's errors, where the alert reads them", () => {
    const workspace = {
      id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-shared/providers/Microsoft.OperationalInsights/workspaces/log-shared',
      name: 'log-shared',
      location: 'westeurope',
    };
    const shared = withEvents({ workspace }).synth;
    expect(resourceNamed(shared, 'azurerm_monitor_diagnostic_setting', 'diag-dcr-contoso-sql').log_analytics_workspace_id).toBe(workspace.id);
    expect(resourceNamed(shared, LOG_ALERT, ALERT_NAME).scopes).toEqual([workspace.id]);
  });
});

describe('DatabaseMigrationStackProps.monitoring.eventIngestionErrorsAlert', () => {
  function synthesize(eventIngestionErrorsAlert: object | undefined, alertDefaults?: object): SynthesizedStack {
    const stack = new DatabaseMigrationStack(Testing.app(), 'contoso-sql', { plan: examplePlan(), monitoring: { eventIngestionErrorsAlert, alertDefaults } });
    return JSON.parse(Testing.synth(stack)) as SynthesizedStack;
  }

  it('is in the stack by default and takes its severity, threshold and enabled from the override', () => {
    const name = `alert-${examplePlan().name}-event-ingestion-errors`;
    expect(resourceNamed(synthesize(undefined), LOG_ALERT, name)).toMatchObject({ severity: 1, enabled: true });
    const alert = resourceNamed(synthesize({ severity: 2, threshold: 3, enabled: false }), LOG_ALERT, name);
    expect(alert).toMatchObject({ severity: 2, enabled: false, criteria: [expect.objectContaining({ threshold: 3 })] });
  });

  it('refuses a one-minute frequency at synth, naming the prop: Azure cannot evaluate its union every minute', () => {
    expect(() => synthesize({ evaluationFrequencyMinutes: 1, windowMinutes: 5 })).toThrow(
      /eventIngestionErrorsAlert\.evaluationFrequencyMinutes must be more than 1 for its query: .* does not support union \("One-minute frequency isn't supported for this query"\)/,
    );
  });

  it('takes the facade defaults like every other alert', () => {
    const alert = resourceNamed(synthesize(undefined, { runbookUrl: 'https://wiki.contoso.example/events' }), LOG_ALERT, `alert-${examplePlan().name}-event-ingestion-errors`);
    expect(alert.description).toMatch(/Runbook: https:\/\/wiki\.contoso\.example\/events$/);
    expect(alert.action.custom_properties).toEqual({ runbookUrl: 'https://wiki.contoso.example/events' });
  });
});
