/** Every query the stack deploys is valid KQL against the contract's events table. */
import { migrationWorkbookContent, workbookQueries } from '../../lib/monitoring/migration-workbook';
import { migrationEventsSource } from '../../lib/monitoring/migration-events';
import { kqlDiagnostics, kqlErrorsWithoutRuleErrorsTable } from './kql';
import { formatDropdown, workbookParameter } from './workbook-parameters';
import { logAlertQueries } from '../helpers/test-stack';
import { monitoring, PLAN_DATABASES } from '../monitoring/monitoring-test-stack';

const WORKBOOK_QUERIES = workbookQueries('contoso-sql');

/** Workbook parameters are replaced by the workbook before the query runs: here the run dropdown's All. */
function asWorkbookRunsIt(query: string): string {
  const runIds = formatDropdown(workbookParameter(migrationWorkbookContent('contoso-sql'), 'RunId'), 'all', ['scheduled__1']);
  return query.replace(/\{TimeRange\}/g, '> ago(1d)').replace(/\{RunId\}/g, runIds);
}

/** The queries of every alert on the events (failed, rollback failed, running long, stalled, source frozen too long, awaiting approval, postponed) and on the rule's errors. */
function alertQueries(longRunningMinutes: number): string[] {
  const { stack, monitoring: construct } = monitoring();
  construct.monitorMigrationEvents({ longRunningMinutes, migrationStalledAlert: {}, databases: PLAN_DATABASES });
  return logAlertQueries(stack);
}

describe('KQL of the alerts and the workbook', () => {
  it.each([60, 2865])('the log alerts analyze cleanly (longRunningMinutes %i)', (longRunningMinutes) => {
    const queries = alertQueries(longRunningMinutes);
    expect(queries).toHaveLength(8);
    expect(queries.map((query) => kqlDiagnostics(query))).toEqual(queries.map(() => []));
  });

  it('the log alerts resolve in a workspace Azure never logged a rule error into (no DCRLogErrors table yet), so Azure creates them', () => {
    const queries = alertQueries(60);
    expect(queries.map((query) => kqlErrorsWithoutRuleErrorsTable(query))).toEqual(queries.map(() => []));
  });

  it.each(Object.entries(WORKBOOK_QUERIES))('the workbook panel "%s" analyzes cleanly', (_name, query) => {
    expect(kqlDiagnostics(asWorkbookRunsIt(query))).toEqual([]);
  });

  it('reads one plan\'s events through a valid string literal, whatever the name holds', () => {
    expect(kqlDiagnostics(`${migrationEventsSource('contoso-sql')} | count`)).toEqual([]);
    expect(kqlDiagnostics(`${migrationEventsSource('odd "name" \\ here')} | count`)).toEqual([]);
  });

  it('reports an unknown column, a misplaced aggregate and a type mismatch (the check can fail)', () => {
    expect(kqlDiagnostics('MigrationEvents_CL | where Stat == "Failed"')).toEqual([
      expect.stringMatching(/'Stat' does not refer to any known column/),
    ]);
    expect(kqlDiagnostics('MigrationEvents_CL | extend Started = minif(TimeGenerated, true)')).toEqual([
      expect.stringMatching(/aggregate function 'minif' is not allowed in this context/),
    ]);
    expect(kqlDiagnostics('MigrationEvents_CL | where TimeGenerated - DurationSeconds < ago(1h)').length).toBeGreaterThan(0);
    expect(kqlDiagnostics('DCRLogErrors | where InputStream == "Custom-MigrationEvents_CL"')).toEqual([
      expect.stringMatching(/'InputStream' does not refer to any known column/),
    ]);
    expect(kqlErrorsWithoutRuleErrorsTable('DCRLogErrors | count')).toEqual([
      expect.stringMatching(/'DCRLogErrors' does not refer to any known table/),
    ]);
  });
});
