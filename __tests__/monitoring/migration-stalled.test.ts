import { TerraformStack, Testing } from 'cdktf';
import { LogAnalyticsWorkspaceTableCustomLog } from '@cdktf/provider-azurerm/lib/log-analytics-workspace-table-custom-log';
import { MonitorScheduledQueryRulesAlertV2 } from '@cdktf/provider-azurerm/lib/monitor-scheduled-query-rules-alert-v2';
import { createLogAlert } from '../../lib/monitoring/alerts';
import {
  DEFAULT_STALLED_AFTER_MINUTES,
  defaultStalledWindowMinutes,
  migrationStalledAlert,
  migrationStalledQuery,
} from '../../lib/monitoring/migration-stalled';
import { testStack } from '../helpers/test-stack';
import { LATEST_RUN_EVENTS_OF_CONTOSO_SQL } from './monitoring-test-stack';

function eventsTable(stack: TerraformStack): LogAnalyticsWorkspaceTableCustomLog {
  return new LogAnalyticsWorkspaceTableCustomLog(stack, 'events', {
    name: 'MigrationEvents_CL',
    workspaceId: 'workspace-id',
    column: [{ name: 'TimeGenerated', type: 'dateTime' }],
  });
}

describe('migration stalled alert', () => {
  describe('query', () => {
    it('finds runs silent for the given minutes with a database whose latest event is not an end', () => {
      expect(migrationStalledQuery('contoso-sql', 30).split('\n')).toEqual([
        ...LATEST_RUN_EVENTS_OF_CONTOSO_SQL,
        'events',
        '| summarize arg_max(TimeGenerated, IsEnd) by RunId, Database',
        '| summarize LastEventAt = max(TimeGenerated), InFlight = make_set_if(Database, not(IsEnd)) by RunId',
        '| where array_length(InFlight) > 0 and LastEventAt < ago(30m)',
        '| project RunId, LastEventAt, SilentMinutes = datetime_diff("minute", now(), LastEventAt), DatabasesInFlight = strcat_array(InFlight, ", ")',
      ]);
    });

    it('takes the silence from its argument', () => {
      expect(migrationStalledQuery('contoso-sql', 45)).toContain('LastEventAt < ago(45m)');
      expect(migrationStalledQuery('contoso-sql', 45)).not.toContain('ago(30m)');
    });

    it('judges silence per run (any database counts as a sign of life), in-flight per database', () => {
      const lines = migrationStalledQuery('contoso-sql', 30).split('\n');
      expect(lines.findIndex((line) => line.includes('by RunId, Database'))).toBeLessThan(
        lines.findIndex((line) => line.endsWith('by RunId')),
      );
    });
  });

  describe('definition', () => {
    const { stack } = testStack();
    const table = eventsTable(stack);
    const window = defaultStalledWindowMinutes(DEFAULT_STALLED_AFTER_MINUTES) as number;
    const definition = migrationStalledAlert('contoso-sql', DEFAULT_STALLED_AFTER_MINUTES, window, table);

    it('is a severity 1 count of stalled runs, one alert per run naming its databases in flight, evaluated every 5 minutes over a day', () => {
      expect(definition).toMatchObject({
        name: 'alert-contoso-sql-migration-stalled',
        severity: 1,
        evaluationFrequencyMinutes: 5,
        windowMinutes: 1440,
        timeAggregationMethod: 'Count',
        operator: 'GreaterThan',
        threshold: 0,
        dimensions: ['RunId', 'DatabasesInFlight'].map((name) => ({ name, operator: 'Include', values: ['*'] })),
        dependsOn: [table],
      });
      expect(definition.query).toBe(migrationStalledQuery('contoso-sql', 30));
    });

    it('widens the default window for a long silence, and has none beyond two days', () => {
      expect(defaultStalledWindowMinutes(30)).toBe(1440);
      expect(defaultStalledWindowMinutes(1000)).toBe(2880);
      expect(defaultStalledWindowMinutes(1500)).toBeUndefined();
    });

    it.each<[string, number, number, RegExp]>([
      ['zero minutes', 0, 1440, /silentMinutes must be a whole number of minutes, at least 1 \(got 0\)/],
      ['a fraction', 2.5, 1440, /silentMinutes must be a whole number/],
      ['a silence a healthy run also keeps (the heartbeat interval)', 15, 1440, /silentMinutes \(15\) must be more than 15: a healthy run waiting on DMS writes its "Running" heartbeat only that often/],
      ['a silence as long as the window', 60, 60, /silentMinutes \(60\) must be less than migrationStalledAlert\.windowMinutes \(60\)/],
    ])('refuses %s', (_, silent, windowMinutes, message) => {
      expect(() => migrationStalledAlert('contoso-sql', silent, windowMinutes, table)).toThrow(message);
    });

    it('becomes a scheduled query alert on the workspace through the shared alert factory', () => {
      const target = { scope: stack, resourceGroupName: 'rg', location: 'westeurope', actionGroupId: 'ag-id', defaults: {} };
      createLogAlert(target, 'workspace-id', definition);
      expect(Testing.synth(stack)).toHaveResourceWithProperties(MonitorScheduledQueryRulesAlertV2, {
        name: 'alert-contoso-sql-migration-stalled',
        severity: 1,
        evaluation_frequency: 'PT5M',
        window_duration: 'P1D',
        criteria: [
          expect.objectContaining({
            query: migrationStalledQuery('contoso-sql', 30),
            dimension: ['RunId', 'DatabasesInFlight'].map((name) => ({ name, operator: 'Include', values: ['*'] })),
          }),
        ],
      });
    });
  });
});
