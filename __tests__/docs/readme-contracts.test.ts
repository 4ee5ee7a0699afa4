/**
 * The README's lists of plan fields and event columns are read from the README and checked against
 * their one source (the plan's JSON Schema, the events contract), so neither is a hand copy that can
 * drift: a field added to the schema with a default must be documented, a documented field must exist,
 * and a documented default must be the schema's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { MIGRATION_EVENT_COLUMNS, MIGRATION_EVENTS_TABLE } from '../../lib/monitoring/migration-events';
import { migrationPlanJsonSchema } from '../../lib/plan';
import { tableRows } from './readme-table';

const README = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

type SchemaNode = { [key: string]: any };

/** Every property path of a JSON Schema (`databases[].mode`), with its node; `anyOf`/`oneOf` branches merged. */
function schemaFields(schema: SchemaNode): Map<string, SchemaNode[]> {
  const fields = new Map<string, SchemaNode[]>();
  const walk = (node: SchemaNode | undefined, path: string) => {
    if (!node || typeof node !== 'object') return;
    if (path !== '') fields.set(path, [...(fields.get(path) ?? []), node]);
    for (const branch of [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])]) walk(branch, path);
    for (const [name, child] of Object.entries<SchemaNode>(node.properties ?? {})) walk(child, path === '' ? name : `${path}.${name}`);
    if (node.items) walk(node.items, `${path}[]`);
  };
  walk(schema, '');
  return fields;
}

/** One row of the README's field table: the fields it names and the default it gives each. */
interface FieldRow {
  readonly fields: string[];
  /** The documented default per field, when the row gives one literal for it. */
  readonly defaults: Map<string, unknown>;
}

/**
 * The `| field | default | notes |` table. A first cell names a full path, then siblings of its last
 * part (`sourceServers[].port` / `authentication`); defaults line up with the ` / `-separated fields.
 */
function fieldTable(readme: string): FieldRow[] {
  return tableRows(readme, '| field | default | notes |', 'plan field table').map((line) => {
    const [fieldCell, defaultCell] = line.split('|').slice(1, 3).map((cell) => cell.trim());
    const segments = fieldCell.split(' / ').map((segment) => [...segment.matchAll(/`([^`]+)`/g)].map((match) => match[1]));
    const [first] = segments[0];
    const parent = first.includes('.') ? first.slice(0, first.lastIndexOf('.') + 1) : '';
    const full = (name: string) => (name === first ? name : `${parent}${name}`);
    const defaults = new Map<string, unknown>();
    const defaultParts = defaultCell.split(' / ');
    segments.forEach((names, index) => {
      const literal = defaultParts.length === segments.length ? /^`([^`]+)`$/.exec(defaultParts[index]) : null;
      if (literal && names.length === 1) defaults.set(full(names[0]), parseYaml(literal[1]));
    });
    return { fields: segments.flat().map(full), defaults };
  });
}

/** What the field table gets wrong against the schema. */
function fieldTableProblems(readme: string, schema: SchemaNode): { unknown: string[]; undocumented: string[]; wrongDefaults: string[]; compared: number } {
  const fields = schemaFields(schema);
  const rows = fieldTable(readme);
  const documented = rows.flatMap((row) => row.fields);
  const covered = (path: string) => documented.some((field) => path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[]`));
  // An object whose fields are documented one by one needs no row of its own.
  const withDefault = [...fields].filter(([, nodes]) => nodes.some((node) => 'default' in node && node.properties === undefined)).map(([path]) => path);
  // Defaults derived at load (connection ids, the mode per target kind) are not in the schema: only schema defaults compare.
  const schemaDefault = (field: string) => fields.get(field)?.find((node) => 'default' in node);
  const compared = rows.flatMap((row) => [...row.defaults]).filter(([field]) => schemaDefault(field) !== undefined);
  return {
    unknown: documented.filter((field) => !fields.has(field)),
    undocumented: withDefault.filter((path) => !covered(path)),
    wrongDefaults: compared
      .filter(([field, value]) => JSON.stringify(value) !== JSON.stringify(schemaDefault(field)!.default))
      .map(([field, value]) => `${field}: README ${JSON.stringify(value)}, schema ${JSON.stringify(schemaDefault(field)!.default)}`),
    compared: compared.length,
  };
}

/** The columns the README lists for the events table, or undefined when it lists none. */
function documentedEventColumns(readme: string): string[] | undefined {
  const listed = new RegExp(`\`${MIGRATION_EVENTS_TABLE}\` \\(\`([^\`]+)\`\\)`).exec(readme.replace(/\n/g, ' '));
  return listed?.[1].split(/,\s*/);
}

describe("the README's plan field table", () => {
  const schema = migrationPlanJsonSchema() as SchemaNode;

  test("names only fields the schema has, documents every field with a default, and gives the schema's defaults", () => {
    const problems = fieldTableProblems(README, schema);
    expect(problems.compared).toBeGreaterThan(10);
    expect({ ...problems, compared: undefined }).toEqual({ unknown: [], undocumented: [], wrongDefaults: [] });
  });

  test('reports a field the schema lacks, a field left out and a default that differs', () => {
    const drifted = README.replace('| `databases[].timeoutMinutes` |', '| `databases[].timeoutSeconds` |')
      .replace('| `concurrency.maxSqlStepsPerRuntime` | `4` |', '| `concurrency.maxSqlStepsPerRuntime` | `8` |')
      .replace(/^\| `databases\[\]\.sourceFreeze` .*\n/m, '');
    expect({ ...fieldTableProblems(drifted, schema), compared: undefined }).toEqual({
      unknown: ['databases[].timeoutSeconds'],
      undocumented: ['databases[].sourceFreeze', 'databases[].timeoutMinutes'],
      wrongDefaults: ['concurrency.maxSqlStepsPerRuntime: README 8, schema 4'],
    });
  });

  test('is read as it is written (a row with a parent path and siblings)', () => {
    const row = fieldTable('| field | default | notes |\n|---|---|---|\n| `a.b[].c` / `d` | `1` / `x` | n |\n\nafter')[0];
    expect(row.fields).toEqual(['a.b[].c', 'a.b[].d']);
    expect([...row.defaults]).toEqual([['a.b[].c', 1], ['a.b[].d', 'x']]);
  });
});

describe("the README's events table columns", () => {
  test('are the columns of the events contract, in its order', () => {
    expect(documentedEventColumns(README)).toEqual(MIGRATION_EVENT_COLUMNS.map((column) => column.name));
  });

  test('a column missing from the README is seen', () => {
    expect(documentedEventColumns(README.replace('TargetKind, ', ''))).not.toEqual(MIGRATION_EVENT_COLUMNS.map((column) => column.name));
  });
});
