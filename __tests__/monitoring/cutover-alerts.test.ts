/** People are told when a cutover waits for an approver or did not happen in its window (issue 14). */
import { MigrationEventsMonitoringProps } from '../../lib/monitoring/migration-events-monitoring';
import { onlyLogicalId, reference, resourceNamed, synthObject } from '../helpers/test-stack';
import { monitoring } from './monitoring-test-stack';

const LOG_ALERT = 'azurerm_monitor_scheduled_query_rules_alert_v2';
const TABLE = 'azurerm_log_analytics_workspace_table_custom_log';

function alertsWith(events: MigrationEventsMonitoringProps = {}) {
  const built = monitoring();
  built.monitoring.monitorMigrationEvents(events);
  const synth = synthObject(built.stack);
  return {
    synth,
    approval: resourceNamed(synth, LOG_ALERT, 'alert-contoso-sql-cutover-awaiting-approval'),
    postponed: resourceNamed(synth, LOG_ALERT, 'alert-contoso-sql-cutover-postponed'),
  };
}

describe('"cutover awaiting approval" alert', () => {
  it('asks every 5 minutes over 30 for databases whose latest cutover report is AwaitingApproval, severity 3, one alert per database and message', () => {
    const { synth, approval } = alertsWith();
    expect(approval).toMatchObject({
      display_name: 'contoso-sql: cutover awaiting approval',
      severity: 3,
      evaluation_frequency: 'PT5M',
      window_duration: 'PT30M',
      auto_mitigation_enabled: true,
      enabled: true,
      action: { action_groups: [reference('azurerm_monitor_action_group', onlyLogicalId(synth, 'azurerm_monitor_action_group'))] },
      depends_on: [`${TABLE}.${onlyLogicalId(synth, TABLE)}`],
    });
    expect(approval.criteria).toEqual([
      {
        query: [
          'MigrationEvents_CL | where PlanName == "contoso-sql"',
          '| where Phase == "await_cutover" and Status !in ("Started", "Running")',
          '| summarize arg_max(TimeGenerated, Status, Message) by RunId, Database',
          '| where Status == "AwaitingApproval"',
          '| project Database, Message, RunId, LastAskedAt = TimeGenerated',
        ].join('\n'),
        time_aggregation_method: 'Count',
        operator: 'GreaterThan',
        threshold: 0,
        dimension: [
          { name: 'Database', operator: 'Include', values: ['*'] },
          { name: 'Message', operator: 'Include', values: ['*'] },
        ],
      },
    ]);
    expect(approval.description).toMatch(/waits for an approver.+the window, who may approve and where.+resolves by itself/);
  });

  it('takes its options like every alert', () => {
    const { approval } = alertsWith({ cutoverAwaitingApprovalAlert: { severity: 2, windowMinutes: 60, runbookUrl: 'https://wiki.contoso.example/cutover' } });
    expect(approval).toMatchObject({ severity: 2, window_duration: 'PT1H', action: { custom_properties: { runbookUrl: 'https://wiki.contoso.example/cutover' } } });
  });

  it('refuses a window that may miss every heartbeat of a waiting database', () => {
    expect(() => alertsWith({ cutoverAwaitingApprovalAlert: { windowMinutes: 15 } })).toThrow(
      /cutoverAwaitingApprovalAlert\.windowMinutes \(15\) must be at least 20: the DAG re-emits a waiting database's "AwaitingApproval" event every 15 minutes at most/,
    );
  });
});

describe('"cutover postponed" alert', () => {
  it('tells of every rejection and missed window, severity 3, per database, status, step and message', () => {
    const { postponed } = alertsWith();
    expect(postponed).toMatchObject({ severity: 3, evaluation_frequency: 'PT5M', window_duration: 'PT15M', auto_mitigation_enabled: true });
    expect(postponed.criteria[0].query).toBe(
      ['MigrationEvents_CL | where PlanName == "contoso-sql"', '| where Status in ("Rejected", "WindowMissed")', '| project TimeGenerated, Database, Status, Phase, Message, RunId'].join('\n'),
    );
    // The step says whether the run waits for the next window itself (await_cutover) or ended (a new run must be triggered).
    expect(postponed.criteria[0].dimension.map((dimension: { name: string }) => dimension.name)).toEqual(['Database', 'Status', 'Phase', 'Message']);
    expect(postponed.description).toMatch(/Nothing was rolled back: the database keeps replicating/);
    expect(postponed.description).toMatch(/Phase await_cutover: this run waits for the next window itself\. Phase start_migration \(a SqlDb copy\), freeze_source, final_backup, cutover or rollback: the run ended for that database; trigger the DAG again/);
  });

  it('can be turned off', () => {
    expect(alertsWith({ cutoverPostponedAlert: { enabled: false } }).postponed.enabled).toBe(false);
  });
});
