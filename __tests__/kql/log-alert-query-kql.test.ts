/**
 * The log alert query checks read a query as Microsoft's parser (`@kusto/language-service-next`)
 * does: `take`/`limit`, `search` and `union` are operators where its syntax tree has those operators,
 * and columns elsewhere; a plugin is what `evaluate` calls; an `ago()` argument is a timespan literal
 * where the tree has one.
 */
import { findings } from '../../lib/private/log-alert-query';
import { resourcesOfType, synthObject } from '../helpers/test-stack';
import { monitoring, PLAN_DATABASES } from '../monitoring/monitoring-test-stack';
import { kusto } from './kql';

const kindName = (node: any): string => kusto.Syntax.SyntaxKind.$names[node.Kind];

/** What the parser's tree says, in the terms of `findings` (rule and text), in text order. */
function parsedUses(query: string): string[] {
  const uses: { at: number; use: string }[] = [];
  const visit = (node: any): void => {
    const kind = kindName(node);
    if (kind === 'TakeOperator') uses.push({ at: node.TextStart, use: `oneMinute ${node.GetChild(0).Text}` });
    if (kind === 'UnionOperator') uses.push({ at: node.TextStart, use: 'oneMinute union' });
    if (kind === 'SearchOperator') uses.push({ at: node.TextStart, use: 'oneMinute search' }, { at: node.TextStart, use: 'search search' });
    if (kind === 'FunctionCallExpression') {
      const name: string = node.Name.SimpleName;
      const parent = node.Parent && kindName(node.Parent);
      if (parent === 'EvaluateOperator') {
        if (['bag_unpack', 'pivot', 'narrow'].includes(name)) uses.push({ at: node.TextStart, use: `plugin ${name}()` });
      } else if (name === 'ingestion_time' || name === 'adx') {
        uses.push({ at: node.TextStart, use: `oneMinute ${name}()` });
      } else if (name === 'ago') {
        const args = node.ArgumentList.Expressions;
        if (!(args.Count === 1 && kindName(args.getItem(0).Element) === 'TimespanLiteralExpression')) uses.push({ at: node.TextStart, use: 'ago' });
      }
    }
    for (let index = 0; index < node.ChildCount; index++) {
      const child = node.GetChild(index);
      if (child) visit(child);
    }
  };
  visit(kusto.KustoCode.Parse(query).Syntax);
  return uses.sort((a, b) => a.at - b.at).map(({ use }) => use);
}

function checkedUses(query: string): string[] {
  return findings(query)
    .filter((finding) => ['oneMinute', 'search', 'plugin', 'ago'].includes(finding.rule))
    .map((finding) => (finding.rule === 'ago' ? 'ago' : `${finding.rule} ${finding.text}`));
}

const BUILT_IN_QUERIES: string[] = (() => {
  const { stack, monitoring: construct } = monitoring();
  construct.monitorMigrationEvents({ migrationStalledAlert: {}, databases: PLAN_DATABASES });
  return Object.values(resourcesOfType(synthObject(stack), 'azurerm_monitor_scheduled_query_rules_alert_v2')).map((alert: any) => alert.criteria[0].query);
})();

const QUERIES: string[] = [
  'T\n| extend limit = 5',
  'T | extend\n    limit = 5',
  'T | project take, x',
  'T | where (limit > 3)',
  'T | where x > 1 and (take < 2)',
  "T | extend ['limit'] = 5 | where ['take'] > 1",
  'T | summarize count() by limit',
  'T | project-away take | take 3',
  'let limit = 5;\nT | where x < limit | limit 10',
  'T | take limit',
  'T | fork (take 5) (where x > 1 | limit 3)',
  'T | mv-apply y to typeof(long) on (take 1)',
  'T | partition hint.strategy=native by x (limit 1)',
  'T | facet by a with (take 1)',
  'T | where x in (U | take 1)',
  'union isfuzzy=true DCRLogErrors, (datatable(s: string)[])',
  'let errors = union A, B;\nerrors | count',
  'let hits = search "error";\nhits | count',
  'let v = view() { union A, B };\nv | count',
  'T | search "x" | join (union A, (search in (B) "y")) on k',
  'T | where ingestion_time() > ago(5m) and t > ago(time(1d)) and t > ago(2days) and t > ago(-1d) and t > ago(w)',
  'T | where t > ago(2millisec) and t > ago(5microsec) and t > ago(1micro) and t > ago(3micros) and t > ago(9nanosec) and t > ago(1nanoseconds)',
  'T | where t > ago(0x1d) and t > ago(1e3ms) and t > ago(2mins) and t > ago(2ns) and t > ago(2D)',
  "let Hits = datatable(search: string, n: long)['a', 1];\nHits | where n > 0",
  "let Recent = view(search: string) { T | where Message has ['search'] };\nRecent('x') | count",
  "declare query_parameters(search: string = 'x');\nT | where Message has ['search']",
  'externaldata(search: string) [h@"https://example.com/a.csv"] | count',
  'adx("https://help.kusto.windows.net/Samples").StormEvents | take 1',
  'T | evaluate pivot(Status) | evaluate hint.distribution = per_node bag_unpack(d) | extend Pivot = pivot',
  'T | where Message has "| take 1" and Path == @"C:\\dumps\\" // | take 1\n| where m == ```\n| take 1```',
  ...BUILT_IN_QUERIES,
];

describe('the log alert query checks and Microsoft\'s parser', () => {
  it.each(QUERIES)('see the same operators in %j', (query) => {
    expect(checkedUses(query)).toEqual(parsedUses(query));
  });
});
