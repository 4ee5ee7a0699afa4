/**
 * The README's and docs/'s lists of plan fields and event columns are read where they are written and checked against
 * their one source (the plan's JSON Schema, the events contract), so neither is a hand copy that can
 * drift: a field added to the schema with a default must be documented, a documented field must exist,
 * and a documented default must be the schema's. So are the default stacks' counts, resource names
 * and diagnostic settings ("What gets deployed", "Performance"), the alerts' severities and timings
 * and each host's diagnostic settings ("Monitoring"), the outputs of each host ("Outputs"), the roles assigned and the checks checkov
 * skips ("Security"), against what the stacks synthesize and the checkov settings; the plan the
 * README shows, against the example file it says it is; and what the machine needs, against the
 * Pythons the test scripts look for and the Terraform the validate step asks for; and the deploy
 * prerequisites, against the Terraform the stacks require and the kubelogin modes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { MIGRATION_EVENT_COLUMNS, MIGRATION_EVENTS_TABLE } from '../../lib/monitoring/migration-events';
import { loadMigrationPlan, migrationPlanJsonSchema, MigrationPlanError } from '../../lib/plan';
import { AIRFLOW_OF_HOST, examplePlanWith, synthMigrationStack } from '../helpers/migration-stack';
import { mergedStacks, SynthesizedStack } from '../helpers/test-stack';
import { stateBackendFromEnvironment } from '../../lib/state-backend';
import { examplePlan } from '../helpers/example-plan';
import { roleGrants } from '../security/role-inventory';
import { tableRows } from './readme-table';
import { REQUIRED_TERRAFORM_VERSION } from '../../lib/private/terraform-version';
import { KUBELOGIN_MODES } from '../../lib/hosts/kubernetes/kubernetes-host';

const ROOT = join(__dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const FABRIC_HOST_PAGE = readFileSync(join(ROOT, 'docs', 'fabric-host.md'), 'utf8');
/** The pages of docs/ the README's reference parts moved to. */
const page = (name: string) => readFileSync(join(ROOT, 'docs', name), 'utf8');
const PLAN_FIELDS_PAGE = page('migration-plan.md');
const CHANGES_PAGE = page('changing-the-plan.md');
const MONITORING_PAGE = page('monitoring.md');
const SECURITY_PAGE = page('security.md');
const VALIDATED_PAGE = page('validated-against.md');
const PERFORMANCE_PAGE = page('performance.md');
/** What the README and docs/performance.md say of the default stacks: the resource table, and their counts. */
const DEPLOYED_TEXT = `${README}\n${PERFORMANCE_PAGE}`;

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

describe("docs/migration-plan.md's plan field table", () => {
  const schema = migrationPlanJsonSchema() as SchemaNode;

  test("names only fields the schema has, documents every field with a default, and gives the schema's defaults", () => {
    const problems = fieldTableProblems(PLAN_FIELDS_PAGE, schema);
    expect(problems.compared).toBeGreaterThan(10);
    expect({ ...problems, compared: undefined }).toEqual({ unknown: [], undocumented: [], wrongDefaults: [] });
  });

  test('reports a field the schema lacks, a field left out and a default that differs', () => {
    const drifted = PLAN_FIELDS_PAGE.replace('| `databases[].timeoutMinutes` |', '| `databases[].timeoutSeconds` |')
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

/** The rows of the field table for one numeric field whose notes begin with its range (`| ... | 5-2865 |`): field, range written, schema's range. */
function documentedRanges(readme: string, schema: SchemaNode): Array<[string, string, string]> {
  const fields = schemaFields(schema);
  return tableRows(readme, '| field | default | notes |', 'plan field table').flatMap((line) => {
    const [fieldCell, , notes] = line.split(' | ').map((cell) => cell.replace(/^\| ?|\s?\|$/g, '').trim());
    const names = [...fieldCell.matchAll(/`([^`]+)`/g)].map((match) => match[1]);
    const range = /^(\d[\d,]*)-(\d[\d,]*)\b/.exec(notes);
    if (names.length !== 1 || !range) return [];
    const node = fields.get(names[0])?.find((candidate) => candidate.minimum !== undefined || candidate.maximum !== undefined);
    return [[names[0], `${range[1]}-${range[2]}`.replace(/,/g, ''), `${node?.minimum}-${node?.maximum}`] as [string, string, string]];
  });
}

describe("docs/migration-plan.md's field ranges", () => {
  const schema = migrationPlanJsonSchema() as SchemaNode;

  test("are the schema's, where a row of the field table begins its notes with one", () => {
    const ranges = documentedRanges(PLAN_FIELDS_PAGE, schema);
    expect(ranges.map(([field]) => field)).toEqual(
      expect.arrayContaining(['notifications.longRunningMinutes', 'concurrency.maxMigrationsPerService', 'concurrency.maxSqlStepsPerRuntime']),
    );
    expect(ranges.filter(([, written, actual]) => written !== actual)).toEqual([]);
  });

  test('a range that differs is seen', () => {
    const drifted = PLAN_FIELDS_PAGE.replace('| `60` | 5-2865 |', '| `60` | 5-2880 |');
    expect(documentedRanges(drifted, schema).find(([field]) => field === 'notifications.longRunningMinutes')).toEqual([
      'notifications.longRunningMinutes',
      '5-2880',
      '5-2865',
    ]);
  });
});

/** A test command as the README writes it: without npm's `-s`, npx and jest's `--ci`. */
function plainCommand(command: string): string {
  return command.replace(/^npx /, '').replace(/ -s /, ' ').replace(/ --ci\b/, '').trim();
}

/** The commands `npm test` runs (scripts/test-all.sh): the build, the steps, the background step. */
function testAllCommands(script: string): string[] {
  return [...script.matchAll(/^\s*(?:(?:build|background)_step=)?"[^"|]+\|([^"]+)"/gm)].map((match) => plainCommand(match[1]));
}

/** The README's `npm test` table: each row's command, and the step count its summary line gives. */
function documentedTestSteps(readme: string): { commands: string[]; summaryCount: number | undefined } {
  const commands = tableRows(readme, '| step | what it proves |', 'npm test step table').map((row) => backticked(cells(row)[0])[0]);
  const summary = /`test steps: (\d+) passed, 0 failed`/.exec(readme);
  return { commands, summaryCount: summary ? Number(summary[1]) : undefined };
}

describe("the README's npm test steps", () => {
  const script = readFileSync(join(ROOT, 'scripts', 'test-all.sh'), 'utf8');

  test('are the commands scripts/test-all.sh runs, one row each, and its summary counts them', () => {
    const { commands, summaryCount } = documentedTestSteps(README);
    expect([...commands].sort()).toEqual(testAllCommands(script).sort());
    expect(summaryCount).toBe(testAllCommands(script).length);
  });

  test('a step the script no longer runs, or a count that differs, is seen', () => {
    const drifted = README.replace('| `bash scripts/cdktn-test.sh` |', '| `bash scripts/cdktf-test.sh` |').replace('test steps: 12 passed', 'test steps: 11 passed');
    const { commands, summaryCount } = documentedTestSteps(drifted);
    expect(commands.filter((command) => !testAllCommands(script).includes(command))).toEqual(['bash scripts/cdktf-test.sh']);
    expect(summaryCount).toBe(11);
  });
});

/** The Python versions and the Terraform version the README's "What the machine needs" names. */
function documentedPrerequisites(readme: string): { pythons: string[]; terraform: string | undefined } {
  const paragraph = /^What the machine needs: [\s\S]*?\n\n/m.exec(readme)?.[0] ?? '';
  return {
    pythons: [...new Set([...paragraph.matchAll(/\b3\.\d+\b/g)].map((match) => match[0]))].sort(),
    terraform: /Terraform (\d+\.\d+) or later/.exec(paragraph)?.[1],
  };
}

describe("the README's account of what the machine needs", () => {
  const environments = readFileSync(join(ROOT, 'dags', 'airflow-environments.txt'), 'utf8');
  const pythonEnv = readFileSync(join(ROOT, 'scripts', 'python-env.sh'), 'utf8');
  // Each DAG test environment's Python (the third column), and those the scripts look for by version (checkov's).
  const pythons = [
    ...environments.split('\n').filter((line) => !/^\s*(#|$)/.test(line)).map((line) => line.trim().split(/\s+/)[2]),
    ...[...pythonEnv.matchAll(/find_python (\d+\.\d+)\)/g)].map((match) => match[1]),
  ];
  const terraform = /(\d+\.\d+) or later must be on PATH/.exec(readFileSync(join(ROOT, 'scripts', 'validate-terraform.ts'), 'utf8'))?.[1];

  test('names every Python the test scripts run and the Terraform validate asks for', () => {
    expect(documentedPrerequisites(README)).toEqual({ pythons: [...new Set(pythons)].sort(), terraform });
  });

  test('a Python left out, or another Terraform, is seen', () => {
    const drifted = README.replace('Python 3.12 and 3.8 (the DAG', 'Python 3.12 (the DAG').replace('(3.12; 3.8 for', '(3.12; for').replace('Terraform 1.11 or later on PATH', 'Terraform 1.5 or later on PATH');
    expect(documentedPrerequisites(drifted)).toEqual({ pythons: ['3.11', '3.12'], terraform: '1.5' });
  });
});

/** What the README's table of deploy prerequisites asks for: the Terraform, and the kubelogin modes it names with the default. */
function documentedDeployPrerequisites(readme: string): { terraform?: string; kubeloginModes: string[]; kubeloginDefault?: string } {
  const what = tableRows(readme, '| what | hosts | why |', 'table of deploy prerequisites').map((row) => cells(row)[0]);
  const kubelogin = what.find((cell) => cell.includes('`AIRFLOW_KUBELOGIN_MODE`')) ?? '';
  const modes = kubelogin.slice(kubelogin.indexOf('`AIRFLOW_KUBELOGIN_MODE`') + '`AIRFLOW_KUBELOGIN_MODE`'.length);
  return {
    terraform: what.map((cell) => /^Terraform \*\*(\d+\.\d+) or later\*\*/.exec(cell)?.[1]).find(Boolean),
    kubeloginModes: backticked(modes),
    kubeloginDefault: /`([^`]+)` \(the default\)/.exec(modes)?.[1],
  };
}

/** The default stacks (the Kubernetes host), synthesized once for the describes below, which only read them. */
let defaultStacks: ReturnType<typeof synthMigrationStack> | undefined;
const defaultKubernetesStacks = () => (defaultStacks ??= synthMigrationStack({ plan: examplePlanWith({}) }));

describe("the README's deploy prerequisites", () => {
  const { release } = defaultKubernetesStacks();
  /** The login the release stack's kubernetes provider runs kubelogin with. */
  const login = (() => {
    const args: string[] = (release!.provider as any).kubernetes[0].exec[0].args;
    return args[args.indexOf('--login') + 1];
  })();
  const actual = { terraform: /^>= (\d+\.\d+)\.0$/.exec(REQUIRED_TERRAFORM_VERSION)?.[1], kubeloginModes: [...KUBELOGIN_MODES], kubeloginDefault: login };

  test('ask for the Terraform the stacks require, and name every kubelogin mode with the one used by default', () => {
    expect(documentedDeployPrerequisites(README)).toEqual(actual);
  });

  test('another Terraform, a mode left out or another default is seen', () => {
    const drifted = README.replace('| Terraform **1.11 or later** |', '| Terraform **1.10 or later** |').replace(', `msi` or `azd` |', ' or `msi` |').replace('`azurecli` (the default)', '`azurecli`');
    expect(documentedDeployPrerequisites(drifted)).toEqual({ terraform: '1.10', kubeloginModes: ['azurecli', 'workloadidentity', 'spn', 'msi'], kubeloginDefault: undefined });
  });
});

/** The report the app prints for the plan file `plans/q3.yaml` under `folder`, as the README's reader runs it there. */
function appReport(folder: string): string {
  const cwd = process.cwd();
  process.chdir(folder);
  try {
    loadMigrationPlan('plans/q3.yaml');
  } catch (error) {
    if (error instanceof MigrationPlanError) return `${error.report()}\nNothing was synthesized.\n`;
    throw error;
  } finally {
    process.chdir(cwd);
  }
  throw new Error(`${folder}/plans/q3.yaml is a valid plan`);
}

describe("the README's example of a bad plan", () => {
  test('is what the app prints for one (__tests__/docs/fixtures/plans/q3.yaml), line and column included', () => {
    const example = /^A bad plan stops the synth [\s\S]*?^```text\n([\s\S]*?)^```$/m.exec(README)?.[1];
    expect(readFileSync(join(ROOT, 'main.ts'), 'utf8')).toContain('`${error.report()}\\nNothing was synthesized.\\n`');
    expect(example).toBe(appReport(join(__dirname, 'fixtures')));
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

/** The backticked words of a table cell. */
function backticked(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]);
}

/** The cells of a table row, trimmed. */
function cells(row: string): string[] {
  return row.split(' | ').map((cell) => cell.replace(/^\| ?|\s?\|$/g, '').trim());
}

/**
 * Settings of the plan's `airflow` section that no row of "Changing the plan after deploy" names in its
 * first cell (by the setting, or an object above it within its host's section): each must say what
 * Terraform does when it changes under a deployed stack.
 */
function airflowSettingsWithoutChangeRow(readme: string, schema: SchemaNode): string[] {
  const rows = tableRows(readme, '| change | what Terraform does | the DAG |', 'table of changes after deploy');
  const named = new Set(rows.flatMap((row) => backticked(cells(row)[0]).map((name) => name.split('.').pop()!)));
  const hostSections = new Set(['kubernetes', 'dataFactory', 'fabric', 'external']);
  return [...schemaFields(schema)]
    .filter(([path, nodes]) => path.startsWith('airflow.') && nodes.every((node) => node.properties === undefined))
    .map(([path]) => path)
    .filter((path) => !path.split('.').slice(1).map((part) => part.replace(/\[\]$/, '')).some((part) => !hostSections.has(part) && named.has(part)));
}

describe("docs/changing-the-plan.md's table of changes after deploy", () => {
  const schema = migrationPlanJsonSchema() as SchemaNode;

  test('has a row for every setting of the Airflow hosts', () => {
    expect(airflowSettingsWithoutChangeRow(CHANGES_PAGE, schema)).toEqual([]);
  });

  test('a setting left out is seen', () => {
    const drifted = CHANGES_PAGE.replace(/^\| `airflow\.kubernetes\.executor` .*\n/m, '');
    expect(airflowSettingsWithoutChangeRow(drifted, schema)).toEqual(['airflow.kubernetes.executor']);
  });
});

describe("docs/changing-the-plan.md's row of a new plan name", () => {
  const AZURERM = { AZURERM_BACKEND_RESOURCE_GROUP: 'rg-tfstate', AZURERM_BACKEND_STORAGE_ACCOUNT: 'sttfstate', AZURERM_BACKEND_CONTAINER: 'tfstate' };
  /** A backend setting and the variable that selects it. */
  const SETTINGS: Array<[string, NodeJS.ProcessEnv]> = [
    ['AZURERM_BACKEND_CONTAINER', AZURERM],
    ['AZURERM_BACKEND_KEY', { ...AZURERM, AZURERM_BACKEND_KEY: 'prod.tfstate' }],
    ['TFC_WORKSPACE', { TFC_ORGANIZATION: 'acme', TFC_WORKSPACE: 'prod' }],
  ];

  /** Where the main stack of the default plan, under `name`, keeps its state. */
  function stateOf(name: string, env: NodeJS.ProcessEnv): unknown {
    const { synth } = synthMigrationStack({ plan: { ...examplePlan(), name }, stateBackend: stateBackendFromEnvironment(env) });
    const { terraform } = synth as unknown as { terraform: { cloud?: unknown; backend?: unknown } };
    return terraform.cloud ?? terraform.backend;
  }

  test('names every backend variable that keeps one state whatever the name (a rename then meets the old deployment)', () => {
    const kept = SETTINGS.filter(([, env]) => JSON.stringify(stateOf('contoso-sql', env)) === JSON.stringify(stateOf('contoso-erp', env)));
    expect(kept.map(([variable]) => variable)).toEqual(['AZURERM_BACKEND_KEY', 'TFC_WORKSPACE']);
    const row = tableRows(CHANGES_PAGE, '| change | what Terraform does | the DAG |', 'table of changes after deploy').find((line) => cells(line)[0] === '`name`');
    expect(kept.map(([variable]) => variable).filter((variable) => !cells(row ?? '')[1]?.includes(`\`${variable}\``))).toEqual([]);
  });
});

/** `${azurerm_key_vault.X.name}` in a value, replaced by that resource's name in the stacks. */
function resolvedName(stacks: SynthesizedStack, value: string): string {
  return value.replace(/\$\{(\w+)\.(\w+)\.name\}/g, (whole, type: string, id: string) => String(stacks.resource[type]?.[id]?.name ?? whole));
}

/** A synthesized name as the README writes it: the plan name (also without hyphens) and the name hash as placeholders. */
function placeholders(name: string, planName: string, hash: string): string {
  return name.replaceAll(planName, '<name>').replaceAll(planName.replace(/-/g, ''), '<name>').replaceAll(hash, '<hash>');
}

/** What the README says of the default stacks, beside what they synthesize (`actual`). */
function deployedClaims(readme: string, each: readonly SynthesizedStack[], planName: string, hash: string) {
  const stacks = mergedStacks(...each);
  const countOf = (block: 'resource' | 'data') =>
    each.flatMap((stack) => Object.values(stack[block] ?? {})).reduce((sum, ofType) => sum + Object.keys(ofType).length, 0);
  const stated = /two stacks, (\d+) resources and (\d+) data sources/.exec(readme.replace(/\s+/g, ' '));
  // Every other mention of the count ("two stacks of 89 resources") must give the same.
  const otherCounts = [...readme.replace(/\s+/g, ' ').matchAll(/two stacks of (\d+) resources/g)].map((match) => Number(match[1]));
  const rows = tableRows(readme, '| resource | name | why |', 'table of deployed resources').map(cells);
  const alertRow = rows.find(([what]) => /log alerts \+/.test(what));
  const alertCounts = alertRow && /^(\d+) log alerts \+ (\d+) metric alert/.exec(alertRow[0]);
  const diagnosticSettings = Object.values(stacks.resource.azurerm_monitor_diagnostic_setting ?? {});
  return {
    resourcesAndDataSources: stated && [Number(stated[1]), Number(stated[2])],
    otherResourceCounts: otherCounts,
    alerts: alertCounts && [Number(alertCounts[1]), Number(alertCounts[2])],
    diagnosticSettings: rows.filter(([what]) => what.startsWith('diagnostic setting on')).flatMap(([, name]) => backticked(name)).sort(),
    actual: {
      resourcesAndDataSources: [countOf('resource'), countOf('data')],
      otherResourceCounts: otherCounts.map(() => countOf('resource')),
      alerts: ['azurerm_monitor_scheduled_query_rules_alert_v2', 'azurerm_monitor_metric_alert'].map((type) => Object.keys(stacks.resource[type] ?? {}).length),
      diagnosticSettings: diagnosticSettings.map((setting) => placeholders(resolvedName(stacks, String(setting.name)), planName, hash)).sort(),
    },
  };
}

/** Every `name`, `display_name` and `short_name` in the stacks' resources, references to other resources' names resolved. */
function synthesizedNames(each: readonly SynthesizedStack[]): Set<string> {
  const stacks = mergedStacks(...each);
  const names = new Set<string>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        if (['name', 'display_name', 'short_name'].includes(key) && typeof child === 'string') names.add(resolvedName(stacks, child));
        walk(child);
      }
    }
  };
  each.forEach((stack) => walk(stack.resource));
  return names;
}

/** A name as the table of deployed resources gives it, as a pattern: `<name>` the plan name (or without hyphens), `<hash>` hex digits, `<server>` a plan entry, `...` anything. */
function namePattern(documented: string, planName: string): RegExp {
  const escaped = documented.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(
    `^${escaped
      .replaceAll('<name>', `(${planName}|${planName.replace(/-/g, '')})`)
      .replaceAll('<hash>', '[0-9a-f]{4,}')
      .replaceAll('<server>', '[a-z0-9_]+')
      .replaceAll('\\.\\.\\.', '.+')}$`,
  );
}

/** The names the table of deployed resources gives that no synthesized resource has. */
function unknownDeployedNames(readme: string, names: Set<string>, planName: string): string[] {
  const documented = tableRows(readme, '| resource | name | why |', 'table of deployed resources').flatMap((row) => backticked(cells(row)[1] ?? ''));
  return documented.filter((name) => ![...names].some((synthesized) => namePattern(name, planName).test(synthesized)));
}

describe("the README's account of the default stacks (and docs/performance.md's counts)", () => {
  const plan = examplePlanWith({});
  const { synth, release } = defaultKubernetesStacks();
  const stacks = [synth, release!];
  const hash = /-([0-9a-f]{4})$/.exec(String(Object.values(synth.resource.azurerm_key_vault)[0].name))![1];

  test('gives their resource and data source counts, alert counts and every diagnostic setting by name', () => {
    const { actual, ...documented } = deployedClaims(DEPLOYED_TEXT, stacks, plan.name, hash);
    expect(documented).toEqual(actual);
  });

  test('gives in its table of deployed resources only names the stacks have', () => {
    const names = synthesizedNames(stacks);
    expect(unknownDeployedNames(README, names, plan.name)).toEqual([]);
    expect(unknownDeployedNames(README.replace('| `shir-<name>` |', '| `ir-<name>` |'), names, plan.name)).toEqual(['ir-<name>']);
  });

  test("names every role the default stack assigns, custom ones with their number of actions (the default plan's SqlMi target)", () => {
    const documented = tableRows(SECURITY_PAGE, '| principal | role | scope |', 'least-privilege table').map((row) => {
      const [, role] = cells(row);
      const actions = /\(custom, (\d+) actions/.exec(role);
      return `${backticked(role)[0].replace('<name>', plan.name)}${actions ? ` (${actions[1]} actions)` : ''}`;
    });
    const assigned = roleGrants(synth, plan).map((grant) => `${grant.role}${grant.customActions ? ` (${grant.customActions.length} actions)` : ''}`);
    expect([...new Set(documented)].sort()).toEqual([...new Set(assigned)].sort());
  });

  test('a count or a diagnostic setting that differs is seen', () => {
    const drifted = DEPLOYED_TEXT.replace(/two stacks, \d+ resources/, 'two stacks, 1 resources')
      .replace(/two stacks of \d+ resources/, 'two stacks of 2 resources')
      .replace('| 7 log alerts + 8 metric alerts', '| 8 log alerts + 8 metric alerts')
      .replace('`diag-aks-<name>`', '`diag-cluster-<name>`');
    const { actual, ...documented } = deployedClaims(drifted, stacks, plan.name, hash);
    expect(documented.resourcesAndDataSources![0]).toBe(1);
    expect(documented.otherResourceCounts).toEqual([2]);
    expect(documented.alerts).toEqual([8, 8]);
    expect(documented.diagnosticSettings).toContain('diag-cluster-<name>');
    expect(documented).not.toEqual(actual);
  });
});

/** An ISO 8601 duration as the README writes it ("5 min", "2 hours", "1 day", "2 days"). */
function readmeDuration(text: string): string | undefined {
  const match = /^(\d+) (min|hours|day|days)\b/.exec(text.trim());
  if (!match) return undefined;
  if (match[2] === 'hours') return `PT${match[1]}H`;
  return match[2] === 'min' ? `PT${match[1]}M` : `P${match[1]}D`;
}

/** The README's alert table rows of Azure Monitor alerts: short name, severity, frequency and window. */
function documentedAlertTimings(readme: string): Map<string, string> {
  const rows = tableRows(readme, '| alert | signal | condition | severity | frequency / window | hosts |', 'alert table').map(cells);
  return new Map(
    rows.flatMap(([names, , , severity, timing]) => {
      const [frequency, window] = timing.split(' / ').map(readmeDuration);
      return backticked(names)
        .filter((name) => name.startsWith('alert-<name>-'))
        .map((name) => [name.replace('alert-<name>-', ''), `severity ${severity}, ${frequency} / ${window}`] as const);
    }),
  );
}

/** Every Azure Monitor alert of every host's stack (cutover gates on), the same way. */
function synthesizedAlertTimings(synths: readonly SynthesizedStack[], planName: string): Map<string, string> {
  const timings = new Map<string, string>();
  for (const synth of synths) {
    for (const alert of Object.values(synth.resource.azurerm_monitor_scheduled_query_rules_alert_v2 ?? {})) {
      timings.set(String(alert.name).replace(`alert-${planName}-`, ''), `severity ${alert.severity}, ${alert.evaluation_frequency} / ${alert.window_duration}`);
    }
    for (const alert of Object.values(synth.resource.azurerm_monitor_metric_alert ?? {})) {
      timings.set(String(alert.name).replace(`alert-${planName}-`, ''), `severity ${alert.severity}, ${alert.frequency} / ${alert.window_size}`);
    }
  }
  return timings;
}

/** The README's outputs table: per host, each output and whether it is sensitive. */
function documentedOutputs(readme: string, host: string): Map<string, boolean> {
  const rows = tableRows(readme, '| output | host | sensitive | what |', 'outputs table').map(cells);
  return new Map(
    rows
      .filter(([, hosts]) => hosts === 'all' || hosts.split(/,\s*/).includes(host))
      .flatMap(([names, , sensitive]) => backticked(names).map((name) => [name, sensitive === 'yes'] as const)),
  );
}

/** A stack's own outputs (not cdktf's cross-stack ones) and whether each is sensitive. */
function synthesizedOutputs(synth: SynthesizedStack): Map<string, boolean> {
  return new Map(
    Object.entries(synth.output ?? {})
      .filter(([name]) => !name.startsWith('cross-stack-output-'))
      .map(([name, output]) => [name, output.sensitive === true] as const),
  );
}

/** docs/fabric-host.md's alert table: each alert's short name with the source file its row names. */
function fabricPageAlertRows(page: string): Array<[string, string]> {
  return tableRows(page, '| alert | fires when | source |', 'Fabric host alert table')
    .map(cells)
    .flatMap(([names, , source]) => backticked(names).map((name) => [name, backticked(source)[0]] as [string, string]));
}

const sorted = <K, V>(map: Map<K, V>) => [...map].sort(([a], [b]) => String(a).localeCompare(String(b)));

/** A diagnostic setting as `name: log categories / metrics`, each list sorted; a category group as `group <name>`. */
function diagnosticSetting(name: string, logs: readonly string[], metrics: readonly string[]): string {
  return `${name}: ${[...logs].sort().join(', ')} / ${[...metrics].sort().join(', ')}`;
}

/** The README's diagnostic settings table: the settings of one host. */
function documentedDiagnosticSettings(readme: string, host: string): string[] {
  return tableRows(readme, '| setting | on | logs | metrics | hosts | why |', 'diagnostic settings table')
    .map((row) => row.split('|').slice(1, -1).map((cell) => cell.trim()))
    .filter(([, , , , hosts]) => hosts === 'all' || hosts.split(/,\s*/).includes(host))
    .map(([name, , logs, metrics]) =>
      diagnosticSetting(
        backticked(name)[0],
        [...logs.matchAll(/(group )?`([^`]+)`/g)].map(([, group, category]) => `${group ?? ''}${category}`),
        backticked(metrics),
      ),
    )
    .sort();
}

/** The diagnostic settings of a host's stacks, named as the README names them. */
function synthesizedDiagnosticSettings(each: readonly SynthesizedStack[], planName: string): string[] {
  const stacks = mergedStacks(...each);
  const hash = /-([0-9a-f]{4})$/.exec(String(Object.values(stacks.resource.azurerm_key_vault)[0].name))![1];
  return Object.values(stacks.resource.azurerm_monitor_diagnostic_setting ?? {})
    .map((setting) =>
      diagnosticSetting(
        placeholders(resolvedName(stacks, String(setting.name)), planName, hash),
        ((setting.enabled_log ?? []) as { category?: string; category_group?: string }[]).map((log) => log.category ?? `group ${log.category_group}`),
        ((setting.enabled_metric ?? []) as { category: string }[]).map((metric) => metric.category),
      ),
    )
    .sort();
}

describe("the README's alerts and outputs, and docs/monitoring.md's diagnostic settings, of every host", () => {
  const hosts = Object.keys(AIRFLOW_OF_HOST) as (keyof typeof AIRFLOW_OF_HOST)[];
  // Cutover gates on, so the stacks hold the cutover alerts too.
  const plans = new Map(hosts.map((host) => [host, examplePlanWith(AIRFLOW_OF_HOST[host], { cutover: { maxConcurrent: 1 } })]));
  const built = new Map(hosts.map((host) => [host, synthMigrationStack({ plan: plans.get(host) })]));
  const synths = new Map(hosts.map((host) => [host, built.get(host)!.synth]));

  test.each(hosts)('list the diagnostic settings of the %s host with their log categories and metrics', (host) => {
    const { synth, release } = built.get(host)!;
    expect(documentedDiagnosticSettings(MONITORING_PAGE, host)).toEqual(synthesizedDiagnosticSettings(release ? [synth, release] : [synth], plans.get(host)!.name));
  });

  test('a diagnostic setting left out, or a category or host that differs, is seen', () => {
    const drifted = MONITORING_PAGE.replace(/^\| `diag-dcr-<name>` \|.*\n/m, '')
      .replace('| `kube-audit-admin`, `guard` |', '| `kube-audit`, `guard` |')
      .replace('| `Transaction` | dataFactory, external |', '| `Transaction` | dataFactory |');
    const { synth, release } = built.get('kubernetes')!;
    const kubernetes = synthesizedDiagnosticSettings([synth, release!], plans.get('kubernetes')!.name);
    expect(documentedDiagnosticSettings(drifted, 'kubernetes')).toEqual(
      kubernetes.filter((setting) => !setting.startsWith('diag-dcr-')).map((setting) => setting.replace('guard, kube-audit-admin', 'guard, kube-audit')),
    );
    expect(documentedDiagnosticSettings(drifted, 'external').filter((setting) => setting.startsWith('diag-dag-blobs'))).toEqual([]);
  });

  test("give each Azure Monitor alert's default severity, frequency and window", () => {
    expect(sorted(documentedAlertTimings(README))).toEqual(sorted(synthesizedAlertTimings([...synths.values()], plans.get('kubernetes')!.name)));
  });

  test('a timing that differs is seen', () => {
    const drifted = README.replace('| count > 0, per run | 1 | 5 min / 1 day |', '| count > 0, per run | 1 | 15 min / 1 day |');
    expect(documentedAlertTimings(drifted).get('migration-stalled')).toBe('severity 1, PT15M / P1D');
  });

  test('docs/fabric-host.md lists every alert of the Fabric host, each with the file that defines it', () => {
    const rows = fabricPageAlertRows(FABRIC_HOST_PAGE);
    expect(rows.map(([name]) => name).sort()).toEqual([...synthesizedAlertTimings([synths.get('fabric')!], plans.get('fabric')!.name).keys()].sort());
    expect(rows.filter(([name, source]) => !readFileSync(join(ROOT, source), 'utf8').includes(`-${name}\``))).toEqual([]);
  });

  test('an alert left out of docs/fabric-host.md is seen', () => {
    const drifted = FABRIC_HOST_PAGE.replace(/^\| `rollback-failed` \|.*\n/m, '');
    expect(fabricPageAlertRows(drifted).map(([name]) => name)).not.toContain('rollback-failed');
    expect(fabricPageAlertRows(drifted)).toHaveLength(fabricPageAlertRows(FABRIC_HOST_PAGE).length - 1);
  });

  test.each(hosts)('name the outputs of the %s host and whether each is sensitive', (host) => {
    expect(sorted(documentedOutputs(README, host))).toEqual(sorted(synthesizedOutputs(synths.get(host)!)));
  });

  test('an output missing from the table is seen', () => {
    const drifted = README.replace('`airflow_host_image`, ', '');
    expect(documentedOutputs(drifted, 'kubernetes').has('airflow_host_image')).toBe(false);
  });
});

/** The checks the README's Security tables say checkov skips: for every host (with the count the text gives), and per host. */
function documentedCheckovSkips(readme: string): { count: number | undefined; everyHost: string[]; perHost: Record<string, string[]> } {
  const checks = (cell: string) => [...cell.matchAll(/CKV2?_AZURE_\d+/g)].map((match) => match[0]);
  const count = /(\d+) checks are turned off for every host/.exec(readme.replace(/\s+/g, ' '));
  const perHost: Record<string, string[]> = {};
  for (const [hosts, checkCell] of tableRows(readme, '| host | check | why it is off |', 'per-host checkov table').map(cells)) {
    for (const host of hosts.split(/,\s*/)) perHost[host] = [...(perHost[host] ?? []), ...checks(checkCell)].sort();
  }
  return {
    count: count ? Number(count[1]) : undefined,
    everyHost: tableRows(readme, '| check | why it is off |', 'checkov table').flatMap((row) => checks(cells(row)[0])).sort(),
    perHost,
  };
}

describe("docs/security.md's checkov skips", () => {
  const everyHost = (parseYaml(readFileSync(join(ROOT, '.checkov.yaml'), 'utf8'))['skip-check'] as string[]).sort();
  const perHost = Object.fromEntries(
    Object.entries(parseYaml(readFileSync(join(ROOT, '.checkov-hosts.yaml'), 'utf8')) as Record<string, string[]>).map(([host, checks]) => [host, [...checks].sort()]),
  );

  test('are the checks .checkov.yaml and .checkov-hosts.yaml turn off, with their count', () => {
    expect(documentedCheckovSkips(SECURITY_PAGE)).toEqual({ count: everyHost.length, everyHost, perHost });
  });

  test('a check missing from a table, or a count that differs, is seen', () => {
    const drifted = SECURITY_PAGE.replace(/\n\| CKV_AZURE_117 \|.*/, '').replace(/\d+ checks are turned off for every host/, '9 checks are turned off for every host');
    const { count, everyHost: documented } = documentedCheckovSkips(drifted);
    expect(count).toBe(9);
    expect(everyHost.filter((check) => !documented.includes(check))).toEqual(['CKV_AZURE_117']);
  });
});

/** The YAML block of "The migration plan". */
function readmePlanBlock(readme: string): string {
  const section = readme.slice(readme.indexOf('\n## The migration plan\n'));
  return /```yaml\n([\s\S]*?)\n```/.exec(section)![1];
}

/**
 * Where the README's plan differs from the example file it says it is: `...` in an ARM id of the README
 * stands for the segments it shortens; comments and YAML style are free.
 */
function planDifferences(shown: unknown, file: unknown, path = ''): string[] {
  if (typeof shown === 'string' && shown.includes('...') && typeof file === 'string') {
    const pattern = new RegExp(`^${shown.split('...').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.+')}$`);
    return pattern.test(file) ? [] : [`${path}: README ${shown}, file ${file}`];
  }
  if (shown !== null && file !== null && typeof shown === 'object' && typeof file === 'object' && Array.isArray(shown) === Array.isArray(file)) {
    const keys = [...new Set([...Object.keys(shown), ...Object.keys(file)])];
    return keys.flatMap((key) => planDifferences((shown as any)[key], (file as any)[key], path === '' ? key : `${path}.${key}`));
  }
  return JSON.stringify(shown) === JSON.stringify(file) ? [] : [`${path}: README ${JSON.stringify(shown)}, file ${JSON.stringify(file)}`];
}

/** The sections of a YAML plan whose line says "these are the defaults", by path (`airflow.kubernetes`). */
function sectionsSaidDefault(yaml: string): string[] {
  const parents: Array<{ indent: number; key: string }> = [];
  const paths: string[] = [];
  for (const line of yaml.split('\n')) {
    const key = /^( *)([A-Za-z]\w*):/.exec(line);
    if (!key) continue;
    const indent = key[1].length;
    while (parents.length > 0 && parents[parents.length - 1].indent >= indent) parents.pop();
    parents.push({ indent, key: key[2] });
    if (line.includes('these are the defaults')) paths.push(parents.map((parent) => parent.key).join('.'));
  }
  return paths;
}

/** Where a section of `plan` differs from the schema's defaults of its fields. */
function nonDefaults(plan: any, path: string, fields: Map<string, SchemaNode[]>): string[] {
  const section = path.split('.').reduce((value, key) => value?.[key], plan) ?? {};
  return Object.entries<unknown>(section)
    .map(([key, value]) => [`${path}.${key}`, value, fields.get(`${path}.${key}`)?.find((node) => 'default' in node)?.default] as const)
    .filter(([, value, fallback]) => JSON.stringify(value) !== JSON.stringify(fallback))
    .map(([field, value, fallback]) => `${field}: ${JSON.stringify(value)}, default ${JSON.stringify(fallback)}`);
}

describe("the README's plan", () => {
  const file = parseYaml(readFileSync(join(ROOT, 'examples', 'three-databases.yaml'), 'utf8'));
  const fields = schemaFields(migrationPlanJsonSchema() as SchemaNode);

  test('gives the defaults where it says "these are the defaults"', () => {
    const block = readmePlanBlock(README);
    expect(sectionsSaidDefault(block)).toEqual(['airflow.kubernetes', 'concurrency']);
    expect(sectionsSaidDefault(block).flatMap((path) => nonDefaults(parseYaml(block), path, fields))).toEqual([]);
    expect(nonDefaults(parseYaml(block.replace('maxNodes: 4', 'maxNodes: 5')), 'airflow.kubernetes', fields)).toEqual(['airflow.kubernetes.maxNodes: 5, default 4']);
  });

  test('is examples/three-databases.yaml, the default plan, with its ARM ids shortened', () => {
    expect(README).toContain('That is `examples/three-databases.yaml` (with its ARM ids shortened here), the default plan');
    expect(planDifferences(parseYaml(readmePlanBlock(README)), file)).toEqual([]);
  });

  test('a field that differs from the file, or an id shortened to another, is seen', () => {
    const drifted = readmePlanBlock(README)
      .replace('maxMigrationsPerSourceServer: 2', 'maxMigrationsPerSourceServer: 3')
      .replace('managedInstances/mi-contoso-prod', 'managedInstances/mi-contoso');
    expect(planDifferences(parseYaml(drifted), file)).toEqual([
      'concurrency.maxMigrationsPerSourceServer: README 3, file 2',
      'targetServers.0.resourceId: README /subscriptions/.../resourceGroups/rg-data-prod/providers/Microsoft.Sql/managedInstances/mi-contoso, file /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data-prod/providers/Microsoft.Sql/managedInstances/mi-contoso-prod',
    ]);
  });
});

/** A version satisfies a constraint as Terraform reads the two forms the stacks use: exact, or `~> X.Y`. */
function satisfies(version: string, constraint: string): boolean {
  const pessimistic = /^~> (\d+)\.(\d+)$/.exec(constraint);
  if (!pessimistic) return version === constraint;
  const [major, minor] = version.split('.').map(Number);
  return major === Number(pessimistic[1]) && minor >= Number(pessimistic[2]);
}

/** What the "Validated against" table gets wrong about each provider: its pin in the stacks, and the prebuilt package that binds it. */
function providerTableProblems(readme: string, requiredProviders: Record<string, { version: string }>, requiredVersion: string): string[] {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  return tableRows(readme, '| provider | version | pinned by the stack |', 'provider table').flatMap((row) => {
    const [provider, versionCell, pinnedCell] = cells(row);
    const version = versionCell.split(' ')[0];
    const pinned = backticked(pinnedCell)[0];
    if (provider === 'Terraform CLI') {
      const minimum = /^required_version = "(>= [\d.]+)"$/.exec(pinned)?.[1];
      return minimum === requiredVersion ? [] : [`Terraform CLI: README ${pinned}, stacks required_version ${requiredVersion}`];
    }
    const name = provider.split('/')[1];
    const problems: string[] = [];
    const required = requiredProviders[name]?.version;
    if (pinned !== required) problems.push(`${provider}: README pins ${pinned}, the stacks ${required}`);
    if (required !== undefined && !satisfies(version, required)) problems.push(`${provider}: ${version} does not satisfy ${required}`);
    const binding = /what `(@cdktf\/provider-[a-z]+)` ([\d.]+) binds/.exec(pinnedCell);
    if (binding) {
      const [, pkg, pkgVersion] = binding;
      const bound = (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { cdktf: { provider: { version: string } } }).cdktf.provider.version;
      if (manifest.devDependencies[pkg] !== pkgVersion) problems.push(`${provider}: README ${pkg} ${pkgVersion}, package.json ${manifest.devDependencies[pkg]}`);
      if (bound !== version) problems.push(`${provider}: ${pkg} binds ${bound}, README ${version}`);
    }
    return problems;
  });
}

describe("docs/validated-against.md's provider versions", () => {
  const kubernetes = defaultKubernetesStacks();
  const fabric = synthMigrationStack({ plan: examplePlanWith(AIRFLOW_OF_HOST.fabric) }).synth;
  const stacks = [kubernetes.synth, kubernetes.release!, fabric];
  const requiredProviders = Object.assign({}, ...stacks.map((stack) => stack.terraform?.required_providers)) as Record<string, { version: string }>;
  const requiredVersions = [...new Set(stacks.map((stack) => String(stack.terraform?.required_version)))];

  test('are what the stacks pin and the prebuilt provider packages bind', () => {
    expect(requiredVersions).toHaveLength(1);
    expect(Object.keys(requiredProviders).sort()).toEqual(['azapi', 'azurerm', 'fabric', 'helm', 'kubernetes', 'time']);
    expect(providerTableProblems(VALIDATED_PAGE, requiredProviders, requiredVersions[0])).toEqual([]);
  });

  test('a pin, a binding or a version that differs is seen', () => {
    const drifted = VALIDATED_PAGE.replace('| `~> 2.7`:', '| `~> 2.8`:')
      .replace('| hashicorp/helm | 3.1.1 |', '| hashicorp/helm | 3.1.2 |')
      .replace('`@cdktf/provider-kubernetes` 12.1.1 binds', '`@cdktf/provider-kubernetes` 12.2.0 binds');
    expect(providerTableProblems(drifted, requiredProviders, requiredVersions[0])).toEqual([
      'azure/azapi: README pins ~> 2.8, the stacks ~> 2.7',
      'hashicorp/helm: 3.1.2 does not satisfy 3.1.1',
      'hashicorp/helm: @cdktf/provider-helm binds 3.1.1, README 3.1.2',
      'hashicorp/kubernetes: README @cdktf/provider-kubernetes 12.2.0, package.json 12.1.1',
    ]);
  });
});

/** Figures as both files write them, without thousands separators or a space before the unit (`1,261 tests` -> `1261tests`). */
function normalizedFigures(text: string): string {
  return text.replace(/(\d),(\d{3})/g, '$1$2').replace(/(\d) (s|MB|x|tests)\b/g, '$1$2');
}

/** The figures of the README's Performance table (its "measured" column) and run that bench/RESULTS.md's Targets table does not give. */
function performanceFiguresNotInResults(readme: string, results: string): string[] {
  const targets = normalizedFigures(results.slice(results.indexOf('## Targets'), results.indexOf('\n## ', results.indexOf('## Targets') + 1)));
  const measured = tableRows(readme, '| target | measured | status |', 'Performance table').map((row) => normalizedFigures(cells(row)[1]));
  const figures = measured.flatMap((cell) => cell.match(/\d+(?:\.\d+)?(?:s|MB|x)\b|\d+(?=tests)/g) ?? []);
  const missing = figures.filter((figure) => !new RegExp(`(?<![\\d.])${figure.replace('.', '\\.')}`).test(targets));
  const run = /The run `bench\/RESULTS\.md` holds \((\d{4}-\d\d-\d\d), ([0-9a-f]{7,})/.exec(readme);
  const generated = /on (\d{4}-\d\d-\d\d)T/.exec(results)?.[1];
  const commit = /^\| Commit \| ([0-9a-f]+) \|$/m.exec(results)?.[1];
  if (!run || run[1] !== generated || run[2] !== commit) missing.push(`run: README ${run?.[1]}, ${run?.[2]}; RESULTS.md ${generated}, ${commit}`);
  return missing;
}

describe("docs/performance.md's figures", () => {
  const results = readFileSync(join(ROOT, 'bench', 'RESULTS.md'), 'utf8');

  test('are those of the run bench/RESULTS.md holds (npm run bench rewrites it: then update docs/performance.md)', () => {
    expect(performanceFiguresNotInResults(PERFORMANCE_PAGE, results)).toEqual([]);
    // The table holds figures to compare: against results without any, each one is missing.
    expect(performanceFiguresNotInResults(PERFORMANCE_PAGE, '## Targets\n\n## Next\n').length).toBeGreaterThan(12);
  });

  test('a figure or a run that differs is seen', () => {
    // The synth row's figures and the run's date, each changed to one no run gave.
    const synthRow = /\| (\d+\.\d+) s vs (\d+\.\d+) s \((\d+\.\d+)x;/.exec(PERFORMANCE_PAGE)!;
    const run = /holds \((\d{4}-\d\d-\d\d), ([0-9a-f]+),/.exec(PERFORMANCE_PAGE)!;
    const drifted = PERFORMANCE_PAGE.replace(synthRow[0], `| 97.07 s vs ${synthRow[2]} s (9.38x;`).replace(run[0], `holds (1999-01-01, ${run[2]},`);
    expect(performanceFiguresNotInResults(drifted, results)).toEqual(['97.07s', '9.38x', `run: README 1999-01-01, ${run[2]}; RESULTS.md ${run[1]}, ${run[2]}`]);
  });
});

describe("the README's after-deploy step for the self-hosted runtimes", () => {
  const step = (/^2\. \*\*Self-hosted runtimes\*\*:[\s\S]*?(?=^3\. )/m.exec(README)?.[0] ?? '').replace(/\s+/g, ' ');

  test('registers each runtime on machines of its own: one runtime per machine, and DMS takes no Data Factory runtime', () => {
    // Microsoft: "You can install only one instance of a self-hosted integration runtime on any single
    // machine" (Data Factory) and "You can't use an existing self-hosted integration runtime created
    // from Azure Data Factory for database migrations with DMS" (DMS known limitations).
    expect(step).toContain('orchestration_self_hosted_runtime_auth_key');
    expect(step).toContain('migration_service_auth_key_1');
    expect(step).toMatch(/machines of its own/);
    expect(step).toMatch(/one self-hosted integration runtime/);
    expect(step).toMatch(/DMS cannot use a runtime registered to Data Factory/);
  });
});
