/**
 * Every ```ts block of the README and of the pages in docs/ compiles against the public API, as a consumer gets it: the
 * package name maps to `lib/index.ts` (nothing under `lib/private/` is reachable by name), and all
 * blocks are type-checked in one TypeScript program with the project's compiler options. A block
 * that imports from the package keeps its own import; one that does not gets an import of the
 * package exports it names. The free variables the README's blocks take as given (`app`, `stack`,
 * `plan`, ...) are declared once, with their real types, in `PREAMBLE`. A block that is not meant to
 * compile says so in its fence (```ts fragment); any other word after `ts` fails the test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from 'cdktf';
import * as ts from 'typescript';
import * as library from '../../lib';
import { synthObject, testStack, warningsOf } from '../helpers/test-stack';

const REPO = join(__dirname, '..', '..');
const PACKAGE_NAME: string = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).name;
const ENTRY = join(REPO, 'lib', 'index.ts');

/**
 * The free variables of the README's blocks, as a team's own code would have them. Global, so a
 * block that declares one of these names itself (`const plan = loadMigrationPlan(...)`) shadows it.
 */
const PREAMBLE = `
import type { App, TerraformStack } from 'cdktf';
import type { IKeyVault, ILogAnalyticsWorkspace, IResourceGroup, MigrationPlan } from '${PACKAGE_NAME}';
declare global {
  /** The cdktf app. */
  const app: App;
  /** A team's own stack. */
  const stack: TerraformStack;
  /** A loaded migration plan, and two more for the two-plans-in-one-workspace example. */
  const plan: MigrationPlan;
  const q3: MigrationPlan;
  const q4: MigrationPlan;
  /** What a team already has: the constructs take these references. */
  const resourceGroup: IResourceGroup;
  const existingWorkspace: ILogAnalyticsWorkspace;
  const teamVault: IKeyVault;
  const tenantId: string;
  const subscriptionId: string;
}
export {};
`;

/** The word after `ts` in a fence that marks a block as not meant to compile. */
const FRAGMENT_MARKER = 'fragment';

/** One ```ts block: its Markdown file, the line of its first code line there, its fence's info string, its code. */
interface TsBlock {
  readonly file: string;
  readonly line: number;
  readonly info: string;
  readonly code: string;
}

/**
 * The TypeScript blocks of a Markdown text (fences of three or more backticks or tildes, indented
 * up to three spaces as in a list; the indentation is removed from the code).
 */
function tsBlocks(file: string, markdown: string): TsBlock[] {
  const lines = markdown.split('\n');
  const blocks: TsBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const open = /^( {0,3})(`{3,}|~{3,})\s*(\S*)\s*(.*)$/.exec(lines[index]);
    if (!open) continue;
    const [, indent, fence, language, rest] = open;
    const close = new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`);
    let end = index + 1;
    while (end < lines.length && !close.test(lines[end])) end++;
    if (['ts', 'typescript'].includes(language.toLowerCase())) {
      const code = lines.slice(index + 1, end).map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line.trimStart()));
      blocks.push({ file, line: index + 2, info: rest.trim(), code: code.join('\n') });
    }
    index = end;
  }
  return blocks;
}

/** The blocks to compile, the fragments to skip, and the blocks whose fence says neither. */
function classify(blocks: readonly TsBlock[]): { compiled: TsBlock[]; fragments: TsBlock[]; unmarked: string[] } {
  return {
    compiled: blocks.filter((block) => block.info === ''),
    fragments: blocks.filter((block) => block.info === FRAGMENT_MARKER),
    unmarked: blocks
      .filter((block) => block.info !== '' && block.info !== FRAGMENT_MARKER)
      .map((block) => `${block.file}:${block.line - 1}: \`\`\`ts ${block.info} (compile it, or mark it \`\`\`ts ${FRAGMENT_MARKER})`),
  };
}

/** The names `lib/index.ts` exports (it names each one: no `export *`, see docs/public-api.test.ts). */
function packageExports(): Set<string> {
  const source = ts.createSourceFile(ENTRY, readFileSync(ENTRY, 'utf8'), ts.ScriptTarget.ES2022);
  const names = new Set<string>();
  for (const statement of source.statements) {
    if (!ts.isExportDeclaration(statement)) continue;
    if (!statement.exportClause || !ts.isNamedExports(statement.exportClause)) throw new Error(`${ENTRY}: ${statement.getText(source)} names no exports`);
    for (const element of statement.exportClause.elements) names.add(element.name.text);
  }
  return names;
}

/** Whether a block imports from the package itself. */
function importsPackage(source: ts.SourceFile): boolean {
  return source.statements.some(
    (statement) => ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier) && statement.moduleSpecifier.text === PACKAGE_NAME,
  );
}

/** The package exports a block names (not as a property), less those it declares itself. */
function exportsNamed(source: ts.SourceFile, exported: ReadonlySet<string>): string[] {
  const declared = new Set(
    source.statements.flatMap((statement) => {
      if (ts.isVariableStatement(statement)) return statement.declarationList.declarations.map((declaration) => declaration.name.getText(source));
      const name = (statement as { name?: ts.Node }).name;
      return name && ts.isIdentifier(name) ? [name.text] : [];
    }),
  );
  const used = new Set<string>();
  const visit = (node: ts.Node) => {
    const isPropertyName = ts.isPropertyAccessExpression(node.parent) && node.parent.name === node;
    if (ts.isIdentifier(node) && !isPropertyName && exported.has(node.text) && !declared.has(node.text)) used.add(node.text);
    node.forEachChild(visit);
  };
  source.forEachChild(visit);
  return [...used].sort();
}

/** The project's compiler options, with the package name mapped to its entry and no unused-name checks (blocks illustrate). */
function compilerOptions(): ts.CompilerOptions {
  const config = ts.readConfigFile(join(REPO, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, REPO);
  return {
    ...options,
    noEmit: true,
    declaration: false,
    sourceMap: false,
    noUnusedLocals: false,
    noUnusedParameters: false,
    types: ['node'],
    paths: { [PACKAGE_NAME]: [ENTRY] },
  };
}

/**
 * Type-checks the blocks, of one Markdown file or several, in one program, and returns each problem
 * as `<file>:<line>: TS<code>: <message>`, the line being the Markdown file's. Only the blocks' own
 * diagnostics (and the preamble's) count: the library is checked by `npm run typecheck`.
 */
function snippetDiagnostics(blocks: readonly TsBlock[]): string[] {
  const exported = packageExports();
  // Under the repository, so that `cdktf`, `constructs` and the providers resolve from its node_modules.
  const folder = join(REPO, '__markdown_snippets__');
  const files = new Map<string, { text: string; block?: TsBlock; headerLines: number }>([[join(folder, 'preamble.ts'), { text: PREAMBLE, headerLines: 0 }]]);
  for (const block of blocks) {
    const path = join(folder, `${block.file.replace(/[^\w.-]/g, '_')}-line-${block.line}.ts`);
    const source = ts.createSourceFile(path, block.code, ts.ScriptTarget.ES2022, true);
    const names = importsPackage(source) ? [] : exportsNamed(source, exported);
    // `export {}` makes every block a module of its own, so two blocks may declare the same name.
    const header = [names.length > 0 ? `import { ${names.join(', ')} } from '${PACKAGE_NAME}';` : '', 'export {};'];
    files.set(path, { text: `${header.join('\n')}\n${block.code}\n`, block, headerLines: header.length });
  }

  const options = compilerOptions();
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (path) => files.has(path) || fileExists(path);
  host.readFile = (path) => files.get(path)?.text ?? readFile(path);
  host.getSourceFile = (path, languageVersion, ...rest) => {
    const file = files.get(path);
    return file ? ts.createSourceFile(path, file.text, languageVersion, true) : getSourceFile(path, languageVersion, ...rest);
  };
  const program = ts.createProgram([...files.keys()], options, host);

  const message = (diagnostic: ts.Diagnostic) => `TS${diagnostic.code}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
  const problems = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()].map((diagnostic) => `compiler: ${message(diagnostic)}`);
  for (const [path, { block, headerLines }] of files) {
    const source = program.getSourceFile(path)!;
    for (const diagnostic of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
      const fileLine = source.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line;
      const where = block ? `${block.file}:${block.line + fileLine - headerLines}` : `preamble:${fileLine + 1}`;
      problems.push(`${where}: ${message(diagnostic)}`);
    }
  }
  return problems;
}

/**
 * A Markdown file with a block that must not compile (the README's own-stack example before
 * `planName` was added to `dagEnvironment`), a fragment, and a block whose fence says neither.
 */
const BROKEN_FILE = 'broken-example.md';
const BROKEN_MARKDOWN = [
  '# Example',
  '',
  '```ts',
  "const dms = MigrationService.fromMigrationServiceId('/subscriptions/.../dms');",
  'const environment = dagEnvironment({',
  '  tenantId, subscriptionId, migrationService: dms, keyVault: teamVault,',
  '});',
  '```',
  '',
  '```ts fragment',
  'props: { plan },',
  '```',
  '',
  '   ```typescript draft',
  '   const x = 1;',
  '   ```',
].join('\n');

/** The README and the pages of docs/ its reference parts moved to (the API reference's start page apart, below). */
const DOCUMENTS = ['README.md', ...readdirSync(join(REPO, 'docs')).filter((name) => name.endsWith('.md') && name !== 'api-overview.md').map((name) => `docs/${name}`)];
const readme = classify(DOCUMENTS.flatMap((path) => tsBlocks(path, readFileSync(join(REPO, path), 'utf8'))));
/** The API reference's start page (TypeDoc's index), the other page a new user copies code from. */
const apiOverview = classify(tsBlocks('docs/api-overview.md', readFileSync(join(REPO, 'docs', 'api-overview.md'), 'utf8')));
const broken = classify(tsBlocks(BROKEN_FILE, BROKEN_MARKDOWN));

// One program for the README's blocks and the broken example's: the second program would cost as much again.
let problems: string[];
beforeAll(() => {
  problems = snippetDiagnostics([...readme.compiled, ...apiOverview.compiled, ...broken.compiled]);
});

describe('the README and docs/ TypeScript blocks', () => {
  test('are found (the stack props, two plans in one workspace, the constructs in your own stack)', () => {
    expect(readme.compiled.length + readme.fragments.length + readme.unmarked.length).toBeGreaterThanOrEqual(3);
  });

  test('each says whether it compiles: no fence word other than `fragment`', () => {
    expect(readme.unmarked).toEqual([]);
  });

  test("docs/api-overview.md's blocks are checked with them", () => {
    expect(apiOverview.compiled.length).toBeGreaterThanOrEqual(1);
    expect(apiOverview.unmarked).toEqual([]);
  });

  test('compile against the public API', () => {
    expect(problems.filter((problem) => !problem.startsWith(`${BROKEN_FILE}:`))).toEqual([]);
  });
});

describe('the Markdown block check', () => {
  test('reads each block with its line and fence word, and names the block whose fence says neither', () => {
    expect(tsBlocks(BROKEN_FILE, BROKEN_MARKDOWN).map(({ line, info }) => [line, info])).toEqual([
      [4, ''],
      [11, FRAGMENT_MARKER],
      [15, 'draft'],
    ]);
    expect(broken.fragments.map(({ line }) => line)).toEqual([11]);
    expect(broken.unmarked).toEqual([`${BROKEN_FILE}:14: \`\`\`ts draft (compile it, or mark it \`\`\`ts ${FRAGMENT_MARKER})`]);
  });

  test('names the line and the diagnostic of a block that does not compile (dagEnvironment without planName)', () => {
    const found = problems.filter((problem) => problem.startsWith(`${BROKEN_FILE}:`));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^broken-example\.md:5: TS2345: .*Property 'planName' is missing/s);
  });
});

/**
 * The README blocks a team copies whole, run as it would, not only type-checked: the package import
 * maps to lib/, `plans/q3.yaml` to the external host's example plan (whose `sqlAccess: dataFactory`
 * is that host's default), and PREAMBLE's free variables get real values (`q3` and `q4` two example
 * plans of different names). Each must build and pass the checks the constructs run at synth, with
 * no warning but those the plans' own settings draw.
 */
describe('the README and docs/ blocks a team copies whole', () => {
  const guid = '00000000-0000-0000-0000-000000000000';
  const example = (file: string) => join(REPO, 'examples', file);
  const packageAsInstalled = {
    ...library,
    loadMigrationPlan: (path: string) => library.loadMigrationPlan(path === 'plans/q3.yaml' ? example('external-host.yaml') : path),
  };

  /** What every construct's synth-time checks say, as `app.synth()` runs them (`app.node.validate()` runs the app's own only). */
  const validationErrors = (app: App) => app.node.findAll().flatMap((construct) => construct.node.validate());

  /** Runs the README block that contains `marker`, with PREAMBLE's free variables; returns its app and stack. */
  function runBlock(marker: string) {
    const blocks = readme.compiled.filter((candidate) => candidate.code.includes(marker));
    expect(blocks).toHaveLength(1);
    // As the type check has it: a block that does not import from the package gets the exports it names.
    const source = ts.createSourceFile('block.ts', blocks[0].code, ts.ScriptTarget.ES2022, true);
    const names = importsPackage(source) ? [] : exportsNamed(source, packageExports());
    const code = `${names.length > 0 ? `import { ${names.join(', ')} } from '${PACKAGE_NAME}';\n` : ''}${blocks[0].code}`;
    const commonJs = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
    const { app, stack, resourceGroup } = testStack();
    const given = {
      app,
      stack,
      plan: library.loadMigrationPlan(example('three-databases.yaml')),
      q3: library.loadMigrationPlan(example('three-databases.yaml')),
      q4: library.loadMigrationPlan(example('cutover-windows.yaml')),
      resourceGroup,
      existingWorkspace: { id: `/subscriptions/${guid}/resourceGroups/rg-team/providers/Microsoft.OperationalInsights/workspaces/log-team`, name: 'log-team' },
      teamVault: { id: `/subscriptions/${guid}/resourceGroups/rg-team/providers/Microsoft.KeyVault/vaults/kv-team`, name: 'kv-team', vaultUri: 'https://kv-team.vault.azure.net/' },
      tenantId: guid,
      subscriptionId: guid,
    };
    const requireInBlock = (name: string): unknown => {
      if (name === PACKAGE_NAME) return packageAsInstalled;
      // A provider's class by deep path (README, "Provider classes are imported by deep path"), from the package a team installs beside the library.
      if (name.startsWith('@cdktf/provider-azurerm/lib/')) return jest.requireActual(name);
      throw new Error(`the block requires ${name}, not the package or a provider class`);
    };
    // In a block of its own, so that a name the block declares (`const plan = ...`) shadows the given one, as in the type check.
    new Function('require', 'exports', ...Object.keys(given), `{\n${commonJs}\n}`)(requireInBlock, {}, ...Object.values(given));
    return { app, stack };
  }

  test('"Using the constructs in your own stack" builds a stack that passes the synth-time checks, on the external host example plan', () => {
    const { app, stack } = runBlock('new ExternalAirflowHost(');
    expect(validationErrors(app)).toEqual([]);
    expect(warningsOf(stack)).toEqual([]);
    const synth = synthObject(stack);
    expect(Object.keys(synth.resource.azurerm_data_factory_pipeline ?? {}).length).toBeGreaterThan(0);
    // The plan's one database freezes its source (SqlVm): the stack would alert on a freeze lasting too long, and so must the block.
    const alerts = Object.values(synth.resource.azurerm_monitor_scheduled_query_rules_alert_v2 ?? {}).map((alert) => alert.name);
    expect(alerts).toContain('alert-contoso-ext-source-frozen-too-long');
  });

  test('"Two plans in one workspace" builds both plans\' stacks on the shared workspace', () => {
    const { app } = runBlock("eventsTable: 'existing'");
    expect(validationErrors(app)).toEqual([]);
    const planStacks = app.node.children.map((child) => child.node.id).filter((id) => id !== 'test');
    expect(planStacks).toEqual(expect.arrayContaining(['contoso-sql', 'contoso-cutover']));
  });

  test('the monitoring options of DatabaseMigrationStackProps build the stack', () => {
    const { app } = runBlock('customAlerts: {');
    expect(validationErrors(app)).toEqual([]);
    expect(app.node.children.map((child) => child.node.id)).toContain('contoso-sql');
  });
});
