/**
 * docs/constructs.md's table of `DatabaseMigrationStackProps` is read against the interface as declared in
 * lib/database-migration-stack.ts (the TypeScript parser): a prop added, removed or renamed without
 * its row, a type renamed, or a default other than the prop's `@default` is seen.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';
import { tableRows } from './readme-table';

const ROOT = join(__dirname, '..', '..');
const CONSTRUCTS_PAGE = readFileSync(join(ROOT, 'docs', 'constructs.md'), 'utf8');
const PROPS_FILE = join(ROOT, 'lib', 'database-migration-stack.ts');
const PROPS_SOURCE = readFileSync(PROPS_FILE, 'utf8');
const HEADER = '| prop | type | default | what it does | more |';

interface Prop {
  readonly name: string;
  /** The declared type, where it is a plain name (`string`, `ResourceLock`); a row gives it as its first code span. */
  readonly type?: string;
  /** `required`, or the `@default` text; undefined for an optional prop without one. */
  readonly default?: string;
}

/** A default as both sides write it: code spans as plain text, a description's leading `- ` dropped. */
function normalized(text: string): string {
  return text.replace(/\\\|/g, '|').replace(/`/g, '').replace(/\s+/g, ' ').replace(/^- /, '').trim();
}

function declaredProps(source: string): Prop[] {
  const file = ts.createSourceFile(PROPS_FILE, source, ts.ScriptTarget.ES2022, true);
  const props = file.statements.find(
    (statement): statement is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(statement) && statement.name.text === 'DatabaseMigrationStackProps',
  );
  if (!props) throw new Error(`${PROPS_FILE} declares no DatabaseMigrationStackProps`);
  return props.members.filter(ts.isPropertySignature).map((member) => {
    const tag = ts.getJSDocTags(member).find((candidate) => candidate.tagName.text === 'default');
    const type = member.type?.getText(file) ?? '';
    const documented = tag && normalized(ts.getTextOfJSDocComment(tag.comment) ?? '');
    return { name: member.name.getText(file), type: /^[\w.]+$/.test(type) ? type : undefined, default: member.questionToken ? documented : 'required' };
  });
}

/** The table's rows: the prop, the first code span of its type, and its default. */
function documentedProps(readme: string): Prop[] {
  return tableRows(readme, HEADER, 'table of the stack props').map((line) => {
    const [name, type, defaultCell] = line.split(/(?<!\\)\|/).slice(1, 4).map((cell) => cell.trim());
    return { name: name.replace(/`/g, ''), type: /`([^`]+)`/.exec(type)?.[1], default: normalized(defaultCell) };
  });
}

/** What the table gets wrong against the interface. */
function stackPropsTableProblems(readme: string, source: string): string[] {
  const declared = new Map(declaredProps(source).map((prop) => [prop.name, prop]));
  const documented = documentedProps(readme);
  const problems: string[] = [];
  for (const row of documented) {
    const prop = declared.get(row.name);
    if (!prop) {
      problems.push(`row ${row.name}: DatabaseMigrationStackProps has no such prop`);
      continue;
    }
    if (prop.default === undefined) problems.push(`${row.name}: optional without a @default`);
    else if (row.default !== prop.default) problems.push(`${row.name}: default "${row.default}" in docs/constructs.md, "${prop.default}" declared`);
    if (prop.type !== undefined && row.type !== prop.type) problems.push(`${row.name}: type ${row.type} in docs/constructs.md, ${prop.type} declared`);
  }
  const rowNames = documented.map((row) => row.name);
  problems.push(...rowNames.filter((name, index) => rowNames.indexOf(name) !== index).map((name) => `${name}: more than one row`));
  problems.push(...[...declared.keys()].filter((name) => !rowNames.includes(name)).map((name) => `${name}: no row in docs/constructs.md`));
  return problems;
}

describe("docs/constructs.md's table of DatabaseMigrationStackProps", () => {
  test('has a row for every prop, each with its declared type and its @default', () => {
    expect(declaredProps(PROPS_SOURCE).length).toBeGreaterThan(10);
    expect(stackPropsTableProblems(CONSTRUCTS_PAGE, PROPS_SOURCE)).toEqual([]);
  });

  test('a prop added or a row left out, renamed, of another type or with another default is seen', () => {
    const drifted = CONSTRUCTS_PAGE.replace(/^\| `kubeloginMode` \|.*\n/m, '')
      .replace('| `resourceGroupName` | `string` | `rg-<plan name>` |', '| `resourceGroupName` | `string` | `rg-<name>` |')
      .replace('| `lock` | `ResourceLock`', '| `locks` | `ResourceLock`')
      .replace('| `eventsTable` | `MigrationEventsTable`', '| `eventsTable` | `string`');
    const added = PROPS_SOURCE.replace('  readonly kubeloginMode?: KubeloginMode;', '  readonly kubeloginMode?: KubeloginMode;\n  /** New. @default 1 */\n  readonly replicas?: number;');
    expect(stackPropsTableProblems(drifted, added)).toEqual([
      'resourceGroupName: default "rg-<name>" in docs/constructs.md, "rg-<plan name>" declared',
      'eventsTable: type string in docs/constructs.md, MigrationEventsTable declared',
      'row locks: DatabaseMigrationStackProps has no such prop',
      'lock: no row in docs/constructs.md',
      'kubeloginMode: no row in docs/constructs.md',
      'replicas: no row in docs/constructs.md',
    ]);
  });

  test('a default changed in the declaration alone is seen', () => {
    const changed = PROPS_SOURCE.replace('@default `rg-<plan name>`', '@default `rg-<plan name>-migration`');
    expect(stackPropsTableProblems(CONSTRUCTS_PAGE, changed)).toEqual(['resourceGroupName: default "rg-<plan name>" in docs/constructs.md, "rg-<plan name>-migration" declared']);
  });
});
