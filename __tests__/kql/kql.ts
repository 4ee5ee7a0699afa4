/**
 * Microsoft's own Kusto parser and semantic analyzer (`@kusto/language-service-next`, the
 * Kusto.Language library compiled to JavaScript), with the events table declared from the contract
 * file: a query that names a missing column, misuses a function or mixes types gets diagnostics
 * here instead of a rejected alert at `terraform apply`.
 */
import { MIGRATION_EVENT_COLUMNS, MIGRATION_EVENTS_TABLE } from '../../lib/monitoring/migration-events';

require('@kusto/language-service-next/bridge.js');
require('@kusto/language-service-next/Kusto.Language.Bridge.js');
/** `Kusto.Language` of the bridge: parser, syntax tree and analyzer. */
export const kusto = (globalThis as any).Kusto.Language;
const Kusto = kusto;
const { ScalarTypes, TableSymbol, ColumnSymbol, DatabaseSymbol } = Kusto.Symbols;

const SCALAR_TYPE: Record<string, unknown> = {
  boolean: ScalarTypes.Bool,
  dateTime: ScalarTypes.DateTime,
  dynamic: ScalarTypes.Dynamic,
  guid: ScalarTypes.Guid,
  int: ScalarTypes.Int,
  long: ScalarTypes.Long,
  real: ScalarTypes.Real,
  string: ScalarTypes.String,
};

const table = new TableSymbol.$ctor4(
  MIGRATION_EVENTS_TABLE,
  MIGRATION_EVENT_COLUMNS.map((column) => new ColumnSymbol(column.name, SCALAR_TYPE[column.tableType])),
);

/** The columns every Azure table has (Microsoft's table reference lists them on each table's page). */
const STANDARD_COLUMNS: Readonly<Record<string, string>> = {
  _BilledSize: 'real',
  _IsBillable: 'string',
  _ResourceId: 'string',
  SourceSystem: 'string',
  _SubscriptionId: 'string',
  TenantId: 'string',
  TimeGenerated: 'dateTime',
  Type: 'string',
};

function tableOf(name: string, columns: Readonly<Record<string, string>>): unknown {
  return new TableSymbol.$ctor4(name, Object.entries(columns).map(([column, type]) => new ColumnSymbol(column, SCALAR_TYPE[type])));
}

/**
 * The columns of the data collection rules' error table, as Microsoft's table reference gives them
 * (MicrosoftDocs/azure-monitor-docs `reference/tables/dcrlogerrors.md`).
 */
export const DCR_LOG_ERRORS_COLUMNS: Readonly<Record<string, string>> = {
  ...STANDARD_COLUMNS,
  ClientRequestId: 'string',
  CorrelationId: 'string',
  InputStreamId: 'string',
  Message: 'string',
  OperationName: 'string',
};
const dcrLogErrors = tableOf('DCRLogErrors', DCR_LOG_ERRORS_COLUMNS);
/**
 * The columns of Container Insights' container log table, as Microsoft's table reference gives them
 * (MicrosoftDocs/azure-monitor-docs `reference/tables/containerlogv2.md`).
 */
export const CONTAINER_LOG_V2_COLUMNS: Readonly<Record<string, string>> = {
  ...STANDARD_COLUMNS,
  Computer: 'string',
  ContainerId: 'string',
  ContainerName: 'string',
  KubernetesMetadata: 'dynamic',
  LogLevel: 'string',
  LogMessage: 'dynamic',
  LogSource: 'string',
  PodName: 'string',
  PodNamespace: 'string',
};
const containerLogV2 = tableOf('ContainerLogV2', CONTAINER_LOG_V2_COLUMNS);
/**
 * The columns of a Data Factory Airflow environment's scheduler log table, as Microsoft's table reference
 * gives them (MicrosoftDocs/azure-reference-other `azure-monitor-ref/tables/includes/adfairflowschedulerlogs-include.md`).
 */
export const ADF_AIRFLOW_SCHEDULER_LOGS_COLUMNS: Readonly<Record<string, string>> = {
  ...STANDARD_COLUMNS,
  Category: 'string',
  CorrelationId: 'string',
  DataFactoryName: 'string',
  IntegrationRuntimeName: 'string',
  Message: 'string',
  OperationName: 'string',
};
const adfAirflowSchedulerLogs = tableOf('ADFAirflowSchedulerLogs', ADF_AIRFLOW_SCHEDULER_LOGS_COLUMNS);
const workspace = Kusto.GlobalState.Default.WithDatabase(new DatabaseSymbol.ctor('workspace', [table, dcrLogErrors, containerLogV2, adfAirflowSchedulerLogs]));
/** A workspace Azure never logged a rule error into: it has no `DCRLogErrors` table yet (nor a container log). */
const workspaceWithoutRuleErrors = Kusto.GlobalState.Default.WithDatabase(new DatabaseSymbol.ctor('workspace', [table]));

function diagnosticsOf(query: string, state: unknown, severity?: string): string[] {
  const diagnostics = Kusto.KustoCode.ParseAndAnalyze(query, state).GetDiagnostics();
  const messages: string[] = [];
  for (let index = 0; index < diagnostics.Count; index++) {
    const diagnostic = diagnostics.getItem(index);
    if (severity === undefined || diagnostic.Severity === severity) messages.push(diagnostic.Message);
  }
  return messages;
}

/** The analyzer's messages about `query` (empty when it is valid against the events table, `DCRLogErrors`, `ContainerLogV2` and `ADFAirflowSchedulerLogs`). */
export function kqlDiagnostics(query: string): string[] {
  return diagnosticsOf(query, workspace);
}

/**
 * The analyzer's errors about `query` in a workspace without `DCRLogErrors` (one no rule error was
 * logged into yet), where Azure refuses an alert whose query does not resolve.
 */
export function kqlErrorsWithoutRuleErrorsTable(query: string): string[] {
  return diagnosticsOf(query, workspaceWithoutRuleErrors, 'Error');
}
