/**
 * The missing pool alert of the Kubernetes host, run over scheduler log lines as Container Insights
 * stores them (`ContainerLogV2`): it fires on the line the scheduler writes for a task of a pool that
 * does not exist, naming the pool, and not on the scheduler's other lines about pools.
 *
 * The lines are the real ones: `SchedulerJobRunner`'s own logger writing the scheduler's message
 * (`scheduler_job_runner.py`, "Tasks using non-existent pool '%s' will not be scheduled") under the
 * logging setup of Airflow 3.3.2 (structlog's console renderer) and of Airflow 2.10.5 (the classic
 * format), as the scheduler container prints them to stdout.
 */
import { dataFactoryMissingPoolAlert, dataFactoryMissingPoolQuery, missingPoolAlert, missingPoolQuery } from '../../lib/monitoring/missing-pool';
import { kqlDiagnostics, kqlErrorsWithoutRuleErrorsTable } from './kql';
import { runKql } from './kql-engine';

const T0 = Date.parse('2026-12-01T08:00:00Z');
const MINUTE = 60_000;

const AIRFLOW_3_3_MISSING =
  "2026-12-01T08:00:00.351433Z [warning  ] Tasks using non-existent pool 'database_migration_sql' will not be scheduled " +
  '[airflow.jobs.scheduler_job_runner.SchedulerJobRunner] loc=scheduler_job_runner.py:788';
const AIRFLOW_2_10_MISSING =
  "[2026-12-01T08:00:00.281+0000] {scheduler_job_runner.py:451} WARNING - Tasks using non-existent pool 'database_migration_admission' will not be scheduled";
/** Lines of a healthy scheduler that name pools. */
const NORMAL_LINES = [
  '2026-12-01T08:00:00.871264Z [info     ] Not scheduling since there are 0 open slots in pool database_migration_admission ' +
    '[airflow.jobs.scheduler_job_runner.SchedulerJobRunner] loc=scheduler_job_runner.py:814',
  '[2026-12-01T08:00:00.282+0000] {scheduler_job_runner.py:475} INFO - Not scheduling since there are 0 open slots in pool database_migration_sql',
  '2026-12-01T08:00:01.100000Z [info     ] 1 tasks up for execution: <TaskInstance: migrate_databases.preflight scheduled__2026-12-01 [scheduled]>',
];

const CLUSTER = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-contoso-sql/providers/Microsoft.ContainerService/managedClusters/aks-contoso-sql';
const OTHER_CLUSTER = CLUSTER.replace(/contoso-sql/g, 'fabrikam-sql');

type LogRow = { TimeGenerated: number; _ResourceId: string; PodNamespace: string; PodName: string; ContainerName: string; LogMessage: unknown };

/** The alert query's rows over `rows` of `table` (columns: the first row's), five minutes after T0. */
function runOver(query: string, table: string, rows: readonly object[]): Record<string, unknown>[] {
  return runKql(query, { tables: { [table]: { columns: Object.keys(rows[0] ?? {}), rows: rows as any } }, now: T0 + 5 * MINUTE });
}

// Azure holds resource ids in lowercase here.
const SCHEDULER_ROW: Omit<LogRow, 'LogMessage'> = { TimeGenerated: T0, _ResourceId: CLUSTER.toLowerCase(), PodNamespace: 'airflow', PodName: 'airflow-scheduler-7d9f-abcde', ContainerName: 'scheduler' };
const schedulerLine = (message: unknown, overrides: Partial<LogRow> = {}): LogRow => ({ ...SCHEDULER_ROW, LogMessage: message, ...overrides });
const alertRows = (rows: LogRow[], namespace = 'airflow') => runOver(missingPoolQuery(CLUSTER, namespace), 'ContainerLogV2', rows);

describe('"Airflow pool missing" on the Kubernetes host', () => {
  it('analyzes cleanly against ContainerLogV2, and resolves in a workspace that has no ContainerLogV2 yet, so Azure creates it', () => {
    expect(kqlDiagnostics(missingPoolQuery(CLUSTER, 'airflow'))).toEqual([]);
    expect(kqlErrorsWithoutRuleErrorsTable(missingPoolQuery(CLUSTER, 'airflow'))).toEqual([]);
    expect(missingPoolAlert('contoso-sql', CLUSTER, 'airflow').query).toBe(missingPoolQuery(CLUSTER, 'airflow'));
  });

  it("fires on the scheduler's non-existent pool line of Airflow 3.3 and of Airflow 2.10, once per pool, naming it", () => {
    const rows = [
      schedulerLine(AIRFLOW_3_3_MISSING),
      schedulerLine(AIRFLOW_3_3_MISSING, { TimeGenerated: T0 + MINUTE }),
      schedulerLine(AIRFLOW_2_10_MISSING),
    ];
    expect(alertRows(rows)).toEqual([
      { Pool: 'database_migration_sql', Lines: 2, LastLoggedAt: T0 + MINUTE },
      { Pool: 'database_migration_admission', Lines: 1, LastLoggedAt: T0 },
    ]);
  });

  it('reads a line logged as JSON too (LogMessage is then an object)', () => {
    const json = { event: "Tasks using non-existent pool 'database_migration_sql' will not be scheduled", level: 'warning', logger: 'airflow.jobs.scheduler_job_runner.SchedulerJobRunner' };
    expect(alertRows([schedulerLine(json)])).toEqual([{ Pool: 'database_migration_sql', Lines: 1, LastLoggedAt: T0 }]);
  });

  it("keeps quiet on a healthy scheduler's lines about pools, full ones included", () => {
    expect(alertRows(NORMAL_LINES.map((line) => schedulerLine(line)))).toEqual([]);
  });

  it("reads only the scheduler container of the release's namespace in its own cluster (a shared workspace holds other plans' clusters)", () => {
    const elsewhere = [
      schedulerLine(AIRFLOW_3_3_MISSING, { _ResourceId: OTHER_CLUSTER.toLowerCase() }),
      schedulerLine(AIRFLOW_3_3_MISSING, { PodNamespace: 'other-airflow' }),
      schedulerLine(AIRFLOW_3_3_MISSING, { ContainerName: 'scheduler-log-groomer' }),
    ];
    expect(alertRows(elsewhere)).toEqual([]);
    expect(alertRows(elsewhere, 'other-airflow')).toEqual([{ Pool: 'database_migration_sql', Lines: 1, LastLoggedAt: T0 }]);
    expect(alertRows([schedulerLine(AIRFLOW_3_3_MISSING, { _ResourceId: CLUSTER })])).toHaveLength(1);
  });
});

/**
 * The same alert on an adopted Data Factory environment, over its scheduler's log as the factory's
 * diagnostic setting stores it (`ADFAirflowSchedulerLogs`). Its Airflow is 2.6.3, whose scheduler
 * writes the same message (`scheduler_job_runner.py` line 420 in 2.6.3) under the classic format.
 * Microsoft does not document what `Message` holds: the formatted line or the message alone; both fire.
 */
describe('"Airflow pool missing" on the Data Factory host', () => {
  const FACTORY = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-shared/providers/Microsoft.DataFactory/factories/adf-shared';
  const OTHER_FACTORY = FACTORY.replace('adf-shared', 'adf-fabrikam');
  const AIRFLOW_2_6_MISSING =
    "[2026-12-01T08:00:00.281+0000] {scheduler_job_runner.py:420} WARNING - Tasks using non-existent pool 'database_migration_sql' will not be scheduled";
  const MESSAGE_ONLY = "Tasks using non-existent pool 'database_migration_admission' will not be scheduled";
  const HEALTHY_2_6 = [
    '[2026-12-01T08:00:00.282+0000] {scheduler_job_runner.py:431} INFO - Not scheduling since there are 0 open slots in pool database_migration_sql',
    "[2026-12-01T08:00:00.283+0000] {scheduler_job_runner.py:411} INFO - 1 tasks up for execution:\n\t<TaskInstance: migrate_databases.preflight manual__2026-12-01 [scheduled]>",
  ];

  type SchedulerLogRow = { TimeGenerated: number; _ResourceId: string; IntegrationRuntimeName: string; DataFactoryName: string; Category: string; Message: string };
  const LOG_ROW: Omit<SchedulerLogRow, 'Message'> = { TimeGenerated: T0, _ResourceId: FACTORY.toUpperCase(), IntegrationRuntimeName: 'airflow-prod', DataFactoryName: 'ADF-SHARED', Category: 'AirflowSchedulerLogs' };
  const logRow = (message: string, overrides: Partial<SchedulerLogRow> = {}): SchedulerLogRow => ({ ...LOG_ROW, Message: message, ...overrides });
  const rowsOf = (rows: SchedulerLogRow[], environment = 'airflow-prod') => runOver(dataFactoryMissingPoolQuery(FACTORY, environment), 'ADFAirflowSchedulerLogs', rows);

  it('analyzes cleanly against ADFAirflowSchedulerLogs, and resolves in a workspace without the table yet, so Azure creates it', () => {
    expect(kqlDiagnostics(dataFactoryMissingPoolQuery(FACTORY, 'airflow-prod'))).toEqual([]);
    expect(kqlErrorsWithoutRuleErrorsTable(dataFactoryMissingPoolQuery(FACTORY, 'airflow-prod'))).toEqual([]);
    expect(dataFactoryMissingPoolAlert('contoso-sql', FACTORY, 'airflow-prod')).toMatchObject({
      name: 'alert-contoso-sql-airflow-missing-pool',
      optionsProp: 'missingPoolAlert',
      query: dataFactoryMissingPoolQuery(FACTORY, 'airflow-prod'),
      dimensions: [{ name: 'Pool', operator: 'Include', values: ['*'] }],
    });
  });

  it("fires on the 2.6.3 scheduler's line, whole or as the message alone, once per pool, naming it", () => {
    const rows = [logRow(AIRFLOW_2_6_MISSING), logRow(AIRFLOW_2_6_MISSING, { TimeGenerated: T0 + MINUTE }), logRow(MESSAGE_ONLY)];
    expect(rowsOf(rows)).toEqual([
      { Pool: 'database_migration_sql', Lines: 2, LastLoggedAt: T0 + MINUTE },
      { Pool: 'database_migration_admission', Lines: 1, LastLoggedAt: T0 },
    ]);
  });

  it("keeps quiet on a healthy scheduler's lines about pools", () => {
    expect(rowsOf(HEALTHY_2_6.map((line) => logRow(line)))).toEqual([]);
  });

  it("reads only this environment of this factory (a factory may run others, a workspace hold other plans' factories)", () => {
    const elsewhere = [logRow(AIRFLOW_2_6_MISSING, { _ResourceId: OTHER_FACTORY }), logRow(AIRFLOW_2_6_MISSING, { IntegrationRuntimeName: 'airflow-test' })];
    expect(rowsOf(elsewhere)).toEqual([]);
    expect(rowsOf(elsewhere, 'airflow-test')).toEqual([{ Pool: 'database_migration_sql', Lines: 1, LastLoggedAt: T0 }]);
  });
});
