/**
 * What Azure Monitor refuses in a log search alert's query fails at synth, naming the prop and the
 * rule (MicrosoftDocs/azure-monitor-docs `alerts/alerts-create-log-alert-rule.md`, `alerts/alerts-log-query.md`,
 * `logs/cross-workspace-query.md`); what it takes, a column named `take` or `limit` among them, is not refused.
 */
import { CustomLogAlertProps } from '../../lib/monitoring/custom-alerts';
import { checkLogAlertQuery, checkOneMinuteQuery } from '../../lib/private/log-alert-query';
import { resourceNamed, resourcesOfType, synthObject } from '../helpers/test-stack';
import { monitoring, PLAN_DATABASES } from './monitoring-test-stack';

const LOG_ALERT = 'azurerm_monitor_scheduled_query_rules_alert_v2';

function customLogAlert(query: string, evaluationFrequencyMinutes = 5): CustomLogAlertProps {
  return { kind: 'log', severity: 3, description: 'Steps of interest.', query, evaluationFrequencyMinutes, windowMinutes: 5 };
}

/** The synthesized rule of a custom log alert on `query`. */
function createdRule(query: string, evaluationFrequencyMinutes = 5): any {
  const { stack, monitoring: construct } = monitoring();
  construct.addAlert('steps', customLogAlert(query, evaluationFrequencyMinutes));
  return resourceNamed(synthObject(stack), LOG_ALERT, 'alert-contoso-sql-steps');
}

describe('a one-minute log alert on a column named take or limit', () => {
  it.each([
    ['T\n| extend limit = 5'],
    ['T | extend\n    limit = 5'],
    ['T | project take, x'],
    ['T | project\n    take,\n    x'],
    ['T | where (limit > 3)'],
    ['T | where x > 1 and (take < 2)'],
    ["T | extend ['limit'] = 5 | where ['take'] > 1"],
    ['T | summarize count() by limit'],
    ['T | where ago(1h) < TimeGenerated | project-away take'],
    ['let limit = 5;\nT | where x < limit'],
  ])('is created: %j reads take or limit as a column, as Kusto does', (query) => {
    expect(createdRule(query, 1).evaluation_frequency).toBe('PT1M');
  });

  it.each([
    ['T | fork (take 5) (where x > 1)', 'take'],
    ['T | mv-apply y to typeof(long) on (take 1)', 'take'],
    ['T | partition hint.strategy=native by x (limit 1)', 'limit'],
    ['T | facet by a with (take 1)', 'take'],
    ['T | where x in (U | take 1)', 'take'],
  ])('is refused for %j, where take or limit starts a subquery (%s)', (query, operation) => {
    const { monitoring: construct } = monitoring();
    expect(() => construct.addAlert('steps', customLogAlert(query, 1))).toThrow(
      `customAlerts.steps.evaluationFrequencyMinutes must be more than 1 for its query: Azure runs a one-minute log alert through a rewritten query that does not support ${operation}`,
    );
  });
});

describe('log alert queries Azure refuses at any frequency', () => {
  it.each([
    ['T | evaluate pivot(Status)', /customAlerts\.steps\.query must not use pivot\(\): log search alert rule queries don't support bag_unpack\(\), pivot\(\) and narrow\(\)/],
    ['T | evaluate bag_unpack(Properties) | where x > 1', /must not use bag_unpack\(\)/],
    ['T | evaluate hint.distribution = per_node narrow()', /must not use narrow\(\)/],
    [
      'let window = 1h;\nT | where TimeGenerated > ago(window)',
      /customAlerts\.steps\.query must call ago\(\) with a timespan literal such as ago\(15m\) \(got ago\(window\)\): log search alert rule queries support ago\(\) with timespan literals only/,
    ],
    ['T | where TimeGenerated > ago(2 * 1h)', /\(got ago\(2 \* 1h\)\)/],
    ['T | where TimeGenerated > ago(totimespan("1h"))', /\(got ago\(totimespan\("1h"\)\)\)/],
    ['T | where TimeGenerated > ago(0x1d)', /\(got ago\(0x1d\)\)/],
    ['T | where TimeGenerated > ago(1e3ms)', /\(got ago\(1e3ms\)\)/],
    ['T | summarize AggregatedValue = count() by x', /customAlerts\.steps\.query must not use AggregatedValue: it is a reserved word in log search alert rule queries/],
    ["T | extend ['AggregatedValue'] = 1", /must not use AggregatedValue/],
    ['search "error" | count', /customAlerts\.steps\.query must not use search: Azure does not support log search alert rules that use search or union \*/],
    ['T | search "error"', /must not use search/],
    ['union withsource=SourceTable * | where x > 1', /must not use union \*/],
    ['union isfuzzy=true *', /must not use union \*/],
    [
      'let ws = "00000000-0000-0000-0000-000000000001";\nworkspace(ws).Heartbeat',
      /customAlerts\.steps\.query must name its resource with a string literal \(got workspace\(ws\)\): a cross-resource reference can't be parameterized/,
    ],
  ])('refuses %j', (query, message) => {
    const { monitoring: construct } = monitoring();
    expect(() => construct.addAlert('steps', customLogAlert(query))).toThrow(message);
  });

  const workspaces = (count: number): string[] => Array.from({ length: count }, (_, index) => `workspace("ws-${index}").Heartbeat`);

  it('refuses a query on more than 100 workspaces or apps', () => {
    const { monitoring: construct } = monitoring();
    expect(() => construct.addAlert('steps', customLogAlert(`union ${[...workspaces(100), 'app("app-1").requests'].join(', ')}`))).toThrow(
      /customAlerts\.steps\.query names 101 workspaces or apps: a query may include at most 100/,
    );
  });

  it('takes a query on 100 workspaces and apps, each counted once', () => {
    expect(createdRule(`union ${[...workspaces(99), 'app("app-1").requests', 'workspace("ws-0").Perf'].join(', ')}`).criteria[0].query).toContain('app("app-1")');
  });

  it('counts a workspace once however its name is quoted or cased', () => {
    const spellings = Array.from({ length: 100 }, (_, index) => [`workspace("WS-${index}").Perf`, `workspace('ws-${index}').Heartbeat`, `workspace(@"Ws-${index}").Event`]);
    const query = `union ${spellings.flat().join(', ')}`;
    expect(createdRule(query).criteria[0].query).toBe(query);
  });

  it.each([
    ['T | where TimeGenerated > ago(15m) and TimeGenerated < ago(time(1m)) and x > ago(2days)'],
    ['T | where Message has "search" and Kind != "union *" // evaluate pivot(x), AggregatedValue, ago(window)'],
    ['T | extend Pivot = pivot, Narrow = 1 | project d = Properties["AggregatedValue"], e = Properties.AggregatedValue'],
    ['union isfuzzy=true T, (datatable(x: long)[])'],
    ['union Sec*, Perf | where x > 1'],
    ['T | where t > ago(2millisec) and t > ago(5microsec) and t > ago(1micro) and t > ago(3micros) and t > ago(9nanosec) and t > ago(1nanoseconds)'],
    ["let Hits = datatable(search: string, n: long)['a', 1];\nHits | where n > 0"],
    ["let Recent = view(search: string) { T | where Message has ['search'] };\nRecent('x') | count"],
    ["declare query_parameters(search: string = 'x');\nT | where Message has ['search']"],
    ['union workspace("ws-1").Perf, workspace("ws-1").Heartbeat, resource("/subscriptions/x/resourceGroups/rg").Heartbeat'],
  ])('takes %j', (query) => {
    expect(createdRule(query).criteria[0].query).toBe(query);
  });

  it('refuses a rule whose query and description exceed 64 KB, the limit on all its properties together', () => {
    const { monitoring: construct } = monitoring();
    const query = `T | where Database in (${Array.from({ length: 7000 }, (_, index) => `"database-${index}"`).join(', ')})`;
    expect(() => construct.addAlert('steps', customLogAlert(query))).toThrow(
      /customAlerts\.steps: its query, display name, description, dimensions and runbook link take \d+ bytes, more than the 64 KB \(65536 bytes\) Azure allows for all of a log search alert rule's properties together/,
    );
  });
});

describe('checkOneMinuteQuery', () => {
  it.each([
    ['union isfuzzy=true DCRLogErrors, (datatable(s: string)[])', 'union'],
    ['T\n| where x > 1\n| take 10', 'take'],
    ['T | limit 5', 'limit'],
    ['search "error"', 'search'],
    ['let a = T;\nunion a, U', 'union'],
    ['let errors = union A, B;\nerrors | count', 'union'],
    ['let hits = search "error";\nhits | count', 'search'],
    ['let v = view() { union A, B };\nv | count', 'union'],
    ['T | where ingestion_time() > ago(5m)', 'ingestion_time()'],
    ['adx("https://help.kusto.windows.net/Samples").StormEvents', 'adx()'],
  ])('refuses a one-minute alert on %j, which Azure cannot rewrite (%s)', (query, operation) => {
    expect(() => checkOneMinuteQuery('someAlert', 1, query)).toThrow(
      `someAlert.evaluationFrequencyMinutes must be more than 1 for its query: Azure runs a one-minute log alert through a rewritten query that does not support ${operation}`,
    );
  });

  it('takes such a query at any other frequency', () => {
    expect(() => checkOneMinuteQuery('someAlert', 5, 'union A, B | take 1')).not.toThrow();
  });

  it('reads no string literal or comment as an operation', () => {
    const query = 'T | where PlanName == "union-take" and Message != \'search \\\' limit\' // take 1\n| summarize Limits = count() by limitless';
    expect(() => checkOneMinuteQuery('someAlert', 1, query)).not.toThrow();
  });

  it.each([
    ['T | where Path == @"C:\\dumps\\" | where Message has "| take 1"'],
    ["T | where Path == @'C:\\dumps\\' | where Message has '| take 1'"],
    ['T | where Message == ```line one\n| take 1```'],
    ['T | where Message == h"secret | take 1"'],
  ])('reads no verbatim, multi-line or obfuscated string literal as an operation: %j', (query) => {
    expect(() => checkOneMinuteQuery('someAlert', 1, query)).not.toThrow();
  });
});

describe('checkLogAlertQuery', () => {
  it('names the prop it was given', () => {
    expect(() => checkLogAlertQuery('migrationStalledAlert', 'T | evaluate pivot(x)')).toThrow(/^migrationStalledAlert\.query must not use pivot\(\)/);
  });
});

describe('the built-in log alerts', () => {
  const { stack, monitoring: construct } = monitoring();
  construct.monitorMigrationEvents({ migrationStalledAlert: {}, databases: PLAN_DATABASES });
  const queries: Record<string, string> = Object.fromEntries(
    Object.values(resourcesOfType(synthObject(stack), LOG_ALERT)).map((alert: any) => [alert.name, alert.criteria[0].query]),
  );

  it('are all read here', () => {
    expect(Object.keys(queries).sort()).toEqual(
      [
        'cutover-awaiting-approval',
        'cutover-postponed',
        'event-ingestion-errors',
        'migration-failed',
        'migration-running-long',
        'migration-stalled',
        'rollback-failed',
        'source-frozen-too-long',
      ].map((name) => `alert-contoso-sql-${name}`),
    );
  });

  it('follow every rule Azure sets for a log search alert query', () => {
    for (const [name, query] of Object.entries(queries)) {
      expect(() => checkLogAlertQuery(name, query)).not.toThrow();
    }
  });

  it('take a one-minute frequency, except the event ingestion errors alert, whose query is a union', () => {
    const refusedAtOneMinute = Object.entries(queries)
      .filter(([name, query]) => {
        try {
          checkOneMinuteQuery(name, 1, query);
          return false;
        } catch {
          return true;
        }
      })
      .map(([name]) => name);
    expect(refusedAtOneMinute).toEqual(['alert-contoso-sql-event-ingestion-errors']);
  });
});
