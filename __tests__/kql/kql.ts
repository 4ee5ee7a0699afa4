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

/**
 * The columns of the data collection rules' error table, as Microsoft's table reference gives them
 * (MicrosoftDocs/azure-monitor-docs `reference/tables/dcrlogerrors.md`).
 */
export const DCR_LOG_ERRORS_COLUMNS: Readonly<Record<string, string>> = {
  _BilledSize: 'real',
  ClientRequestId: 'string',
  CorrelationId: 'string',
  InputStreamId: 'string',
  _IsBillable: 'string',
  Message: 'string',
  OperationName: 'string',
  _ResourceId: 'string',
  SourceSystem: 'string',
  _SubscriptionId: 'string',
  TenantId: 'string',
  TimeGenerated: 'dateTime',
  Type: 'string',
};
const dcrLogErrors = new TableSymbol.$ctor4(
  'DCRLogErrors',
  Object.entries(DCR_LOG_ERRORS_COLUMNS).map(([name, type]) => new ColumnSymbol(name, SCALAR_TYPE[type])),
);
const workspace = Kusto.GlobalState.Default.WithDatabase(new DatabaseSymbol.ctor('workspace', [table, dcrLogErrors]));
/** A workspace Azure never logged a rule error into: it has no `DCRLogErrors` table yet. */
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

/** The analyzer's messages about `query` (empty when it is valid against the events table and `DCRLogErrors`). */
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
