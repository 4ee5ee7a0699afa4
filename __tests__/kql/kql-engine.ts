/**
 * Runs the alert queries over events a test writes, so a test can say "this alert fires for that
 * history" instead of only "this query is valid". Microsoft's parser (`@kusto/language-service-next`)
 * reads the query; this file evaluates its syntax tree for the operators and functions the
 * deployed queries use, with Kusto's semantics for them (nulls skipped by aggregates, `arg_max`
 * keeping the row of the largest value, a left outer join keeping unmatched rows with empty right
 * columns). Anything else throws, so a query that grows past this subset fails loudly here.
 *
 * Values: strings, numbers, booleans, arrays, null; datetimes and timespans are milliseconds.
 */
import { kusto } from './kql';

type Value = string | number | boolean | null | Value[];
type Row = Record<string, Value>;

/** Rows and their columns (an empty result still has its columns, as a join needs). */
export interface KqlTable {
  readonly columns: readonly string[];
  readonly rows: readonly Row[];
}

/** The database the queries run against: each table, and the time `now()` returns. */
export interface KqlWorld {
  readonly tables: Readonly<Record<string, KqlTable>>;
  readonly now: number;
}

const Syntax = kusto.Syntax;
const kindName = (node: any): string => Syntax.SyntaxKind.$names[node.Kind];

/** The elements of a syntax list, separators dropped. */
function items(list: any): any[] {
  const result: any[] = [];
  for (let index = 0; list && index < list.ChildCount; index++) {
    const child = list.GetChild(index);
    result.push(kindName(child) === 'SeparatedElement' ? child.GetChild(0) : child);
  }
  return result;
}

const MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

function timespan(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(d|h|ms|m|s)$/.exec(text);
  if (!match) throw new Error(`kql-engine: unsupported timespan ${text}`);
  return Number(match[1]) * MS[match[2]];
}

function literal(node: any): Value {
  const text: string = node.Token.Text;
  switch (kindName(node)) {
    case 'StringLiteralExpression':
      return text.startsWith('"') ? JSON.parse(text) : text.slice(1, -1);
    case 'LongLiteralExpression':
    case 'RealLiteralExpression':
      return Number(text);
    case 'BooleanLiteralExpression':
      return text === 'true';
    case 'TimespanLiteralExpression':
      return timespan(text);
    case 'DateTimeLiteralExpression': {
      const inner = /^datetime\((.*)\)$/.exec(text)![1].trim();
      return inner === 'null' ? null : Date.parse(inner.endsWith('Z') ? inner : `${inner}Z`);
    }
    default:
      throw new Error(`kql-engine: unsupported literal ${kindName(node)}`);
  }
}

const isNull = (value: Value): boolean => value === null || value === undefined;
const truthy = (value: Value): boolean => value === true;

function compare(a: Value, b: Value): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return (a as number) - (b as number);
}

/** Scalar expression over one row (`row` undefined inside aggregates' own arguments is never the case). */
function scalar(node: any, row: Row, world: KqlWorld): Value {
  const kind = kindName(node);
  if (kind.endsWith('LiteralExpression')) return literal(node);
  switch (kind) {
    case 'NameReference': {
      const name: string = node.SimpleName;
      if (!(name in row)) throw new Error(`kql-engine: no column ${name}`);
      return row[name];
    }
    case 'ParenthesizedExpression':
      return scalar(node.Expression, row, world);
    case 'FunctionCallExpression':
      return call(node.Name.SimpleName, items(node.ArgumentList.Expressions), row, world);
    case 'InExpression':
    case 'NotInExpression': {
      const value = scalar(node.Left, row, world);
      const found = items(node.Right.Expressions).some((item) => scalar(item, row, world) === value);
      return kind === 'InExpression' ? found : !found;
    }
    case 'AndExpression':
      return truthy(scalar(node.Left, row, world)) && truthy(scalar(node.Right, row, world));
    case 'OrExpression':
      return truthy(scalar(node.Left, row, world)) || truthy(scalar(node.Right, row, world));
  }
  const left = scalar(node.Left, row, world);
  const right = scalar(node.Right, row, world);
  if (kind === 'EqualExpression') return left === right;
  if (kind === 'NotEqualExpression') return left !== right;
  // `=~`: strings equal but for case.
  if (kind === 'EqualTildeExpression') return String(left ?? '').toLowerCase() === String(right ?? '').toLowerCase();
  // `contains`: a substring, but for case.
  if (kind === 'ContainsExpression') return String(left ?? '').toLowerCase().includes(String(right ?? '').toLowerCase());
  if (isNull(left) || isNull(right)) return null;
  switch (kind) {
    case 'LessThanExpression':
      return compare(left, right) < 0;
    case 'LessThanOrEqualExpression':
      return compare(left, right) <= 0;
    case 'GreaterThanExpression':
      return compare(left, right) > 0;
    case 'GreaterThanOrEqualExpression':
      return compare(left, right) >= 0;
    case 'AddExpression':
      return (left as number) + (right as number);
    case 'SubtractExpression':
      return (left as number) - (right as number);
    case 'MultiplyExpression':
      return (left as number) * (right as number);
    case 'DivideExpression':
      return (left as number) / (right as number);
  }
  throw new Error(`kql-engine: unsupported expression ${kind}`);
}

const DATETIME_PARTS: Record<string, number> = { minute: MS.m, hour: MS.h, day: MS.d, second: MS.s };

function call(name: string, args: any[], row: Row, world: KqlWorld): Value {
  const value = (index: number): Value => scalar(args[index], row, world);
  switch (name) {
    case 'case': {
      for (let index = 0; index + 1 < args.length; index += 2) {
        if (truthy(value(index))) return value(index + 1);
      }
      return value(args.length - 1);
    }
    case 'isnull':
      return isNull(value(0));
    case 'isnotnull':
      return !isNull(value(0));
    case 'not':
      return !truthy(value(0));
    case 'now':
      return world.now;
    case 'ago':
      return world.now - (value(0) as number);
    case 'datetime_diff': {
      const unit = DATETIME_PARTS[value(0) as string];
      return Math.floor(((value(1) as number) - (value(2) as number)) / unit);
    }
    case 'isempty':
      return isNull(value(0)) || value(0) === '';
    case 'isnotempty':
      return !isNull(value(0)) && value(0) !== '';
    case 'tostring': {
      // A dynamic string is its text; a dynamic object or array its JSON.
      const dynamic = value(0);
      return isNull(dynamic) ? '' : typeof dynamic === 'string' ? dynamic : JSON.stringify(dynamic);
    }
    case 'extract': {
      // The patterns used are RE2 and JavaScript alike (no lookaround, no backreference); no match is an empty string.
      const match = new RegExp(value(0) as string).exec(String(value(2) ?? ''));
      return match?.[value(1) as number] ?? '';
    }
    case 'array_length':
      return (value(0) as Value[]).length;
    case 'strcat_array':
      return (value(0) as Value[]).join(value(1) as string);
    case 'round': {
      const digits = args.length > 1 ? (value(1) as number) : 0;
      return Math.round((value(0) as number) * 10 ** digits) / 10 ** digits;
    }
  }
  throw new Error(`kql-engine: unsupported function ${name}()`);
}

/** The columns one aggregate makes. */
function aggregateColumns(node: any): string[] {
  if (kindName(node) === 'SimpleNamedExpression') return [node.Name.SimpleName];
  return items(node.ArgumentList.Expressions).map((arg) => arg.SimpleName as string);
}

/** One aggregate over a group: its output columns. */
function aggregate(node: any, group: readonly Row[], world: KqlWorld): Row {
  const named = kindName(node) === 'SimpleNamedExpression';
  const expression = named ? node.Expression : node;
  if (kindName(expression) !== 'FunctionCallExpression') throw new Error('kql-engine: summarize takes function calls');
  const name: string = expression.Name.SimpleName;
  const args = items(expression.ArgumentList.Expressions);
  const of = (index: number) => group.map((row) => scalar(args[index], row, world));
  const where = (index: number) => group.map((row) => truthy(scalar(args[index], row, world)));
  const output = (result: Value): Row => {
    if (!named) throw new Error(`kql-engine: name the ${name}() column`);
    return { [node.Name.SimpleName]: result };
  };
  const present = (values: Value[]) => values.filter((v) => !isNull(v));
  const extreme = (values: Value[], sign: number): Value =>
    present(values).reduce<Value>((best, v) => (best === null || sign * compare(v, best) > 0 ? v : best), null);
  switch (name) {
    case 'count':
      return output(group.length);
    case 'countif':
      return output(where(0).filter(Boolean).length);
    case 'min':
      return output(extreme(of(0), -1));
    case 'max':
      return output(extreme(of(0), 1));
    case 'minif':
    case 'maxif': {
      const keep = where(1);
      return output(extreme(of(0).filter((_, i) => keep[i]), name === 'minif' ? -1 : 1));
    }
    case 'sum':
      return output(present(of(0)).reduce<number>((total, v) => total + (v as number), 0));
    case 'sumif': {
      const keep = where(1);
      return output(present(of(0).filter((_, i) => keep[i])).reduce<number>((total, v) => total + (v as number), 0));
    }
    case 'make_set_if': {
      const keep = where(1);
      return output([...new Set(of(0).filter((_, i) => keep[i]))]);
    }
    case 'arg_max': {
      if (named) throw new Error('kql-engine: arg_max names its columns itself');
      const keys = of(0);
      let best = -1;
      keys.forEach((key, index) => {
        if (!isNull(key) && (best < 0 || compare(key, keys[best]) > 0)) best = index;
      });
      return Object.fromEntries(args.map((arg) => [arg.SimpleName, best < 0 ? null : scalar(arg, group[best], world)]));
    }
  }
  throw new Error(`kql-engine: unsupported aggregate ${name}()`);
}

function columnName(node: any): string {
  if (kindName(node) === 'SimpleNamedExpression') return node.Name.SimpleName;
  if (kindName(node) === 'NameReference') return node.SimpleName;
  throw new Error('kql-engine: name every computed column');
}

function namedValue(node: any, row: Row, world: KqlWorld): [string, Value] {
  const expression = kindName(node) === 'SimpleNamedExpression' ? node.Expression : node;
  return [columnName(node), scalar(expression, row, world)];
}

function summarize(op: any, table: KqlTable, world: KqlWorld): KqlTable {
  const by = op.ByClause ? items(op.ByClause.Expressions) : [];
  const groups = new Map<string, { keys: Row; rows: Row[] }>();
  for (const row of table.rows) {
    const keys = Object.fromEntries(by.map((node) => namedValue(node, row, world)));
    const id = JSON.stringify(keys);
    if (!groups.has(id)) groups.set(id, { keys, rows: [] });
    groups.get(id)!.rows.push(row);
  }
  return {
    columns: [...by.map(columnName), ...items(op.Aggregates).flatMap(aggregateColumns)],
    rows: [...groups.values()].map(({ keys, rows: group }) =>
      Object.assign({}, keys, ...items(op.Aggregates).map((node) => aggregate(node, group, world))),
    ),
  };
}

function join(op: any, left: KqlTable, world: KqlWorld, lets: Map<string, KqlTable>): KqlTable {
  const parameters = items(op.Parameters).map((parameter) => `${parameter.Name.SimpleName}=${parameter.Expression.Token.Text}`);
  if (parameters.join() !== 'kind=leftouter') throw new Error(`kql-engine: only join kind=leftouter (got ${parameters.join()})`);
  const right = tabular(op.Expression, world, lets);
  const keys = items(op.ConditionClause.Expressions).map((key) => key.SimpleName as string);
  const outputName = (column: string) => (left.columns.includes(column) ? `${column}1` : column);
  const renamed = (row: Row): Row => Object.fromEntries(right.columns.map((column) => [outputName(column), row[column] ?? null]));
  return {
    columns: [...left.columns, ...right.columns.map(outputName)],
    rows: left.rows.flatMap((row) => {
      const matches = right.rows.filter((candidate) => keys.every((key) => candidate[key] === row[key]));
      return matches.length === 0 ? [{ ...row, ...renamed({}) }] : matches.map((match) => ({ ...row, ...renamed(match) }));
    }),
  };
}

function sort(op: any, rows: readonly Row[], world: KqlWorld): Row[] {
  const orders = items(op.Expressions).map((node) => ({
    expression: node.Expression,
    descending: !node.Ordering || kindName(node.Ordering.AscOrDescKeyword) !== 'AscKeyword',
  }));
  return [...rows].sort((a, b) => {
    for (const { expression, descending } of orders) {
      const order = compare(scalar(expression, a, world), scalar(expression, b, world));
      if (order !== 0) return descending ? -order : order;
    }
    return 0;
  });
}

function pipe(op: any, table: KqlTable, world: KqlWorld, lets: Map<string, KqlTable>): KqlTable {
  const { columns, rows } = table;
  switch (kindName(op)) {
    case 'FilterOperator':
      return { columns, rows: rows.filter((row) => truthy(scalar(op.Condition, row, world))) };
    case 'ExtendOperator':
      return {
        columns: [...new Set([...columns, ...items(op.Expressions).map(columnName)])],
        rows: rows.map((row) => {
          const extended = { ...row };
          for (const node of items(op.Expressions)) {
            const [name, value] = namedValue(node, extended, world);
            extended[name] = value;
          }
          return extended;
        }),
      };
    case 'ProjectOperator':
      return {
        columns: items(op.Expressions).map(columnName),
        rows: rows.map((row) => Object.fromEntries(items(op.Expressions).map((node) => namedValue(node, row, world)))),
      };
    case 'SummarizeOperator':
      return summarize(op, table, world);
    case 'SortOperator':
      return { columns, rows: sort(op, rows, world) };
    case 'JoinOperator':
      return join(op, table, world, lets);
  }
  throw new Error(`kql-engine: unsupported operator ${kindName(op)}`);
}

/** `union [isfuzzy=true] A, B`: every leg's rows, the columns of all legs; a fuzzy union skips a table that does not exist. */
function union(op: any, world: KqlWorld, lets: Map<string, KqlTable>): KqlTable {
  const fuzzy = items(op.Parameters).some((parameter) => parameter.Name.SimpleName === 'isfuzzy' && literal(parameter.Expression) === true);
  const legs = items(op.Expressions)
    .filter((leg) => !(fuzzy && kindName(leg) === 'NameReference' && !lets.has(leg.SimpleName) && !world.tables[leg.SimpleName]))
    .map((leg) => tabular(leg, world, lets));
  const columns = [...new Set(legs.flatMap((leg) => leg.columns))];
  const rows = legs.flatMap((leg) => leg.rows.map((row) => Object.fromEntries(columns.map((column) => [column, row[column] ?? null]))));
  return { columns, rows };
}

function tabular(node: any, world: KqlWorld, lets: Map<string, KqlTable>): KqlTable {
  switch (kindName(node)) {
    case 'NameReference': {
      const name: string = node.SimpleName;
      const table = lets.get(name) ?? world.tables[name];
      if (!table) throw new Error(`kql-engine: no table ${name}`);
      return table;
    }
    case 'ParenthesizedExpression':
      return tabular(node.Expression, world, lets);
    case 'UnionOperator':
      return union(node, world, lets);
    case 'DataTableExpression':
      if (node.Values.ChildCount > 0) throw new Error('kql-engine: unsupported datatable with values');
      return { columns: items(node.Schema.Columns).map((column) => column.Name.SimpleName), rows: [] };
    case 'PipeExpression':
      return pipe(node.Operator, tabular(node.Expression, world, lets), world, lets);
  }
  throw new Error(`kql-engine: unsupported tabular expression ${kindName(node)}`);
}

/** The minutes of an alert's `window_duration` or `evaluation_frequency` (ISO 8601: days, hours, minutes). */
export function isoMinutes(duration: string): number {
  const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/.exec(duration);
  if (!match) throw new Error(`not an ISO 8601 duration of days, hours and minutes: ${duration}`);
  return Number(match[1] ?? 0) * 1440 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}

/** Each query's syntax tree, parsed once: a replay runs one query at many times (evaluation reads the tree, never changes it). */
const parsed = new Map<string, any>();

function parse(query: string): any {
  let code = parsed.get(query);
  if (!code) {
    code = kusto.KustoCode.Parse(query);
    const errors = code.GetDiagnostics();
    if (errors.Count > 0) throw new Error(`kql-engine: ${errors.getItem(0).Message}`);
    parsed.set(query, code);
  }
  return code;
}

/** The rows `query` returns in `world`; throws on a syntax error or on KQL outside the subset. */
export function runKql(query: string, world: KqlWorld): Row[] {
  const code = parse(query);
  const lets = new Map<string, KqlTable>();
  let result: KqlTable | undefined;
  for (const statement of items(code.Syntax.Statements)) {
    if (kindName(statement) === 'LetStatement') {
      lets.set(statement.Name.SimpleName, tabular(statement.Expression, world, lets));
    } else {
      result = tabular(statement.Expression, world, lets);
    }
  }
  if (!result) throw new Error('kql-engine: the query has no result statement');
  return [...result.rows];
}
