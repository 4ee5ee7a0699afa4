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
const workspace = Kusto.GlobalState.Default.WithDatabase(new DatabaseSymbol.ctor('workspace', [table]));

/** The analyzer's messages about `query` (empty when it is valid against the events table). */
export function kqlDiagnostics(query: string): string[] {
  const diagnostics = Kusto.KustoCode.ParseAndAnalyze(query, workspace).GetDiagnostics();
  const messages: string[] = [];
  for (let index = 0; index < diagnostics.Count; index++) {
    messages.push(diagnostics.getItem(index).Message);
  }
  return messages;
}
