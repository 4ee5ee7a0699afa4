/**
 * The READMEs and docs/ point readers at files of this repository and at their own headings, and the
 * code's messages at parts of them by title (dags/README "What preflight refuses"). A file moved or
 * renamed, or a heading reworded, leaves a link, a path or a title that leads nowhere; these tests
 * find each one.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { anchorOf } from './readme-table';

const ROOT = join(__dirname, '..', '..');

/** The top folders of the repository whose backticked paths in a document must exist (from the root or the document's folder). */
const REPOSITORY_FOLDERS = ['lib', 'scripts', '__tests__', 'examples', 'schema', 'bench', 'dags', 'docs'] as const;

/** The pages of docs/, every one read: a page added there is checked without being listed. */
const DOCS_PAGES = readdirSync(join(ROOT, 'docs'))
  .filter((name) => name.endsWith('.md'))
  .map((name) => `docs/${name}`);

/** The documents read, and the top folders whose backticked paths in each must exist. */
const DOCUMENTS: Record<string, readonly string[]> = {
  'README.md': REPOSITORY_FOLDERS,
  ...Object.fromEntries(DOCS_PAGES.map((page) => [page, REPOSITORY_FOLDERS])),
  // `docs/...` there are Microsoft's documentation paths.
  'dags/README.md': ['lib', 'scripts', '__tests__', 'examples', 'schema', 'bench', 'tests', 'migration_orchestration_lib', 'migration_rehearsal'],
};

/**
 * The README's headings before its reference parts moved to docs/ (each kept as a short part that links
 * to its page), so that links people saved still land on something meaningful.
 */
const FORMER_README_ANCHORS = [
  'the-two-commands', 'the-migration-plan', 'what-gets-deployed', 'deploying', 'changing-the-plan-after-deploy', 'upgrading-the-library',
  'outputs', 'terraform-state', 'running-in-terraform-cloud', 'where-airflow-runs', 'monitoring', 'when-an-alert-fires',
  'running-the-runbooks-airflow-steps', 'security', 'two-plans-in-one-workspace', 'using-the-constructs-in-your-own-stack', 'the-dag',
  'where-this-departs-from-the-original-recipe', 'validated-against', 'installing-from-your-registry', 'switching-to-cdk-terrain',
  'api-reference', 'performance', 'development',
];

/**
 * The README's parts that are now a short stub whose text lives on a docs/ page: a reference by title
 * (`README, Security`) would send a reader, during an incident too, to a stub instead of the text.
 */
const MOVED_README_PARTS: Readonly<Record<string, string>> = {
  Security: 'docs/security.md',
  'Two plans in one workspace': 'docs/security.md',
  'Changing the plan after deploy': 'docs/changing-the-plan.md',
  'Upgrading the library': 'docs/upgrading.md',
  'Running in Terraform Cloud': 'docs/terraform-cloud.md',
  'Using the constructs in your own stack': 'docs/constructs.md',
  'Validated against': 'docs/validated-against.md',
  'Installing from your registry': 'docs/installing-from-your-registry.md',
  'Switching to CDK Terrain': 'docs/cdk-terrain.md',
  'API reference': 'docs/api-reference.md',
  Performance: 'docs/performance.md',
};

/** Paths the documents name that no checkout holds: written at synth or build, or in the deployed Airflow. */
const GENERATED = new Set([
  'dags/migration_plan.json', // the rendered plan, in the DAG bundle
  'dags/migration_plan.schema.json', // its schema beside it, in the bundle
  'dags/fabric_upload_manifest.json', // the Fabric uploader's list, in the Fabric job
  'docs/api/', // npm run docs
  'docs/api/index.html',
]);

/** A document without its fenced code blocks (a `#` comment there is no heading). */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
}

function headingAnchors(markdown: string): Set<string> {
  return new Set([...prose(markdown).matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchorOf(match[1])));
}

/** A path relative to the repository root, as `read` would find it, or undefined where it does not exist. */
type Exists = (path: string) => boolean;

const onDisk: Exists = (path) => {
  if (!path.includes('*')) return existsSync(join(ROOT, path));
  // A glob such as `lib/hosts/fabric/*.mjs`: some file of its folder matches.
  const folder = dirname(path);
  const pattern = new RegExp(`^${path.slice(folder.length + 1).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  return existsSync(join(ROOT, folder)) && readdirSync(join(ROOT, folder)).some((name) => pattern.test(name));
};

/** Every link of `document` to a file or heading of the repository that leads nowhere. */
function brokenLinks(document: string, text: string, read: (path: string) => string | undefined, exists: Exists): string[] {
  const broken: string[] = [];
  for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target)) continue;
    const [path, anchor] = target.split('#');
    const file = path === '' ? document : normalize(join(dirname(document), path));
    if (path !== '' && !exists(file)) {
      broken.push(`${target}: no file ${file}`);
      continue;
    }
    if (anchor !== undefined && file.endsWith('.md') && !headingAnchors(read(file) ?? '').has(anchor)) {
      broken.push(`${target}: no heading #${anchor} in ${file}`);
    }
  }
  return broken;
}

/** Every backticked path of `document` under one of `folders` that no checkout holds. */
function missingPaths(document: string, text: string, folders: readonly string[], exists: Exists): string[] {
  const paths = [...text.matchAll(/`([A-Za-z0-9_.][\w.*/-]*\/[\w.*/-]*)`/g)].map((match) => match[1]);
  return [
    ...new Set(
      paths
        .filter((path) => folders.includes(path.split('/')[0]))
        .filter((path) => !GENERATED.has(path) && !exists(path) && !exists(normalize(join(dirname(document), path)))),
    ),
  ];
}

const readDocument = (path: string) => (existsSync(join(ROOT, path)) ? readFileSync(join(ROOT, path), 'utf8') : undefined);

/** The `npm run <script>` commands of a text (`npm run -s diagram`, `npm --prefix <clone> run rehearse`) whose script package.json lacks. */
function unknownScripts(text: string, scripts: Record<string, string>): string[] {
  const named = [...text.matchAll(/\bnpm (?:--prefix \S+ )?run (?:-s )?([\w:-]+)/g)].map((match) => match[1]);
  return [...new Set(named.filter((name) => !(name in scripts)))];
}

/** The pytest functions of `dags/tests`, by name. */
function dagTestNames(): Set<string> {
  const folder = join(ROOT, 'dags', 'tests');
  const sources = readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((path) => path.endsWith('.py'));
  return new Set(sources.flatMap((path) => [...readFileSync(join(folder, path), 'utf8').matchAll(/^\s*(?:async )?def (test_\w+)\(/gm)].map((match) => match[1])));
}

/** The backticked DAG test names (`test_...`, `<file>.py::test_...`) of a text that no function of `dags/tests` has. */
function missingDagTests(text: string, tests: ReadonlySet<string>): string[] {
  return [...new Set([...text.matchAll(/`(?:[\w/.-]+\.py::)?(test_\w+)`/g)].map((match) => match[1]))].filter((name) => !tests.has(name));
}

/** The documents a text may point into by a part's title, as the text names them. */
const TITLED_DOCUMENTS: ReadonlyArray<[RegExp, string]> = [
  ...DOCS_PAGES.map((page): [RegExp, string] => [new RegExp(page.replace(/[./]/g, '\\$&')), page]),
  [/dags\/README(?:\.md)?/, 'dags/README.md'],
  [/(?<![\w/])README(?:\.md)?/, 'README.md'],
];

/**
 * Every `<document>, "<title>"` (also `<document> "<title>"`, `` `<document>`, "<title>" ``, `the README's "<title>"`)
 * in `text` whose title is no heading, bold lead (`**title**`) or first table cell of that document.
 */
function missingTitles(text: string, read: (path: string) => string | undefined): string[] {
  const missing: string[] = [];
  for (const [pattern, document] of TITLED_DOCUMENTS) {
    // A comment or docstring may wrap the title onto the next line.
    const reference = new RegExp(`${pattern.source}(?:\`|'s)?,?\\s"([^"]{3,80})"`, 'g');
    const target = read(document) ?? '';
    for (const [, wrapped] of text.matchAll(reference)) {
      const title = wrapped.replace(/\s+/g, ' ');
      const escaped = title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const found = new RegExp(`^(?:#{1,6} ${escaped}$|.*\\*\\*${escaped}\\.?\\*\\*|\\| ${escaped} \\|)`, 'm').test(target);
      if (!found) missing.push(`${document}, "${title}"`);
    }
  }
  return missing;
}

/** Every reference of `text` to a README part by its title (`README, Security`, `the README's "Performance"`) whose text moved to a docs/ page. */
function movedPartReferences(text: string): string[] {
  const titles = Object.keys(MOVED_README_PARTS).map((title) => title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  const reference = new RegExp(`(?<![\\w/])README(?:\\.md)?(?:\`|'s)?,?\\s+"?(${titles})\\b`, 'g');
  return [...text.matchAll(reference)].map(([, title]) => `README, "${title}": name ${MOVED_README_PARTS[title]}`);
}

/** The files whose text may point into the documents: the documents, the examples and the code whose messages do. */
function pointingFiles(): string[] {
  const under = (folder: string, pattern: RegExp): string[] =>
    readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
      .filter((path) => pattern.test(path) && !path.split('/').includes('node_modules'))
      .map((path) => join(folder, path));
  return [
    ...Object.keys(DOCUMENTS),
    'main.ts',
    ...under('examples', /\.(ya?ml|json)$/),
    ...under('lib', /\.(ts|mjs)$/),
    ...under('scripts', /\.(ts|mjs|cjs|sh|py)$/),
    ...under('dags/migration_orchestration_lib', /\.py$/),
    'dags/migration_orchestration.py',
  ];
}

describe('links and paths in the READMEs and docs/', () => {
  test.each(Object.keys(DOCUMENTS))('%s links only to files and headings that exist', (document) => {
    expect(brokenLinks(document, readDocument(document)!, readDocument, onDisk)).toEqual([]);
  });

  test.each(Object.entries(DOCUMENTS))('%s names only repository paths that exist', (document, folders) => {
    expect(missingPaths(document, readDocument(document)!, folders, onDisk)).toEqual([]);
  });

  test.each(Object.keys(DOCUMENTS))('%s names only npm scripts package.json has', (document) => {
    const { scripts } = JSON.parse(readDocument('package.json')!) as { scripts: Record<string, string> };
    expect(unknownScripts(readDocument(document)!, scripts)).toEqual([]);
    expect(unknownScripts('`npm run -s diagram`, `npm run synth`, `npm run deploy`, `npm --prefix <clone> run rehearse`', scripts)).toEqual(['deploy']);
  });

  test.each(Object.keys(DOCUMENTS))('%s names only DAG tests that exist', (document) => {
    expect(missingDagTests(readDocument(document)!, dagTestNames())).toEqual([]);
  });

  test('a DAG test named but renamed is seen', () => {
    const text =
      '`test_a_step_failing_on_a_migration_dms_still_copies_after_a_failed_arm_operation_does_not_say_it_ended`, `test_a_waiting_step_that_never_was`, ' +
      '`dags/tests/test_dag_structure.py::test_a_dependency_added_or_removed_changes_only_the_dependents_preflight_edges`, `test_steps.py::test_renamed_since`';
    expect(missingDagTests(text, dagTestNames())).toEqual(['test_a_waiting_step_that_never_was', 'test_renamed_since']);
  });

  test('the documents, the examples and the code name only parts of the documents that exist ("What preflight refuses")', () => {
    const files = pointingFiles();
    expect(files.length).toBeGreaterThan(100);
    const missing = files.flatMap((file) => missingTitles(readDocument(file)!, readDocument).map((reference) => `${file}: ${reference}`));
    expect(missing).toEqual([]);
  });

  test('a part named by a title no heading, bold lead or table row has is seen', () => {
    const text =
      'see dags/README "What preflight refuses", `dags/README.md`, "What the DAG forgets", the README\'s "When an alert fires", ' +
      'docs/fabric-host.md, "The identity the DAG runs as" and dags/README, "A task marked success by hand establishes nothing"; ' +
      'README, "Running the\nrunbook\'s commands" and README, "Running the\nrunbook\'s Airflow steps" wrapped in a docstring';
    expect(missingTitles(text, readDocument)).toEqual([
      'docs/fabric-host.md, "The identity the DAG runs as"',
      'dags/README.md, "What the DAG forgets"',
      'README.md, "Running the runbook\'s commands"',
    ]);
  });

  test('the documents, the examples and the code name the page a moved README part lives on, not its stub', () => {
    const references = pointingFiles().flatMap((file) => movedPartReferences(readDocument(file)!).map((reference) => `${file}: ${reference}`));
    expect(references).toEqual([]);
    const readme = prose(readDocument('README.md')!);
    for (const [title, page] of Object.entries(MOVED_README_PARTS)) {
      const part = new RegExp(`^#{2,3} ${title}\\n([\\s\\S]*?)(?=^#{2,3} |(?![\\s\\S]))`, 'm').exec(readme);
      expect([title, part?.[1].includes(`](${page}`)]).toEqual([title, true]);
    }
  });

  test('a reference by title to a README part that moved is seen', () => {
    const text =
      'a known trade-off: README, Security; see the README\'s Security section, README "Performance" and README.md, "Upgrading the library"; ' +
      'not dags/README "Events", README, "When an alert fires", the README\'s runbook nor [Security](security.md)';
    expect(movedPartReferences(text)).toEqual([
      'README, "Security": name docs/security.md',
      'README, "Security": name docs/security.md',
      'README, "Performance": name docs/performance.md',
      'README, "Upgrading the library": name docs/upgrading.md',
    ]);
  });

  test('every page of docs/ is linked from the README, which keeps the headings its parts had before they moved there', () => {
    const readme = readDocument('README.md')!;
    const linked = new Set([...prose(readme).matchAll(/\]\((docs\/[\w.-]+\.md)(?:#[^)]*)?\)/g)].map((match) => match[1]));
    expect(DOCS_PAGES.filter((page) => !linked.has(page))).toEqual([]);
    expect(FORMER_README_ANCHORS.filter((anchor) => !headingAnchors(readme).has(anchor))).toEqual([]);
  });

  test("every page of docs/ is linked from the README's first screen, the bullets under The two commands", () => {
    const section = /^## The two commands\n([\s\S]*?)^## /m.exec(prose(readDocument('README.md')!))?.[1] ?? '';
    const bullets = (/^- \*\*[\s\S]*?(?=\n\n)/m.exec(section)?.[0] ?? '');
    const linked = new Set([...bullets.matchAll(/\]\((docs\/[\w.-]+\.md)(?:#[^)]*)?\)/g)].map((match) => match[1]));
    expect(DOCS_PAGES.filter((page) => !linked.has(page))).toEqual([]);
  });

  test("a link of a docs/ page is read from docs/: the README's and the page's own headings, a sibling page", () => {
    const text = [
      '# Security',
      '## Two plans in one workspace',
      'See [deploying](../README.md#deploying), [gone](../README.md#policy-scan), [plans](#two-plans-in-one-workspace),',
      '[roles](permissions.md), [root path](docs/permissions.md), [limits](monitoring.md#known-limits-of-source-frozen-too-long)',
      'and [nothing](monitoring.md#nope).',
    ].join('\n');
    expect(brokenLinks('docs/security.md', text, (path) => (path === 'docs/security.md' ? text : readDocument(path)), onDisk)).toEqual([
      '../README.md#policy-scan: no heading #policy-scan in README.md',
      'docs/permissions.md: no file docs/docs/permissions.md',
      'monitoring.md#nope: no heading #nope in docs/monitoring.md',
    ]);
  });

  test('a link to a missing file or heading, and a path that moved, are seen', () => {
    const text = [
      '# Title',
      '## Where Airflow runs',
      'See [hosts](#where-airflow-runs), [gone](#where-airflow-ran), [fabric](docs/fabric-host.md#limits),',
      '[old](docs/fabric.md), [site](https://example.com/#x) and `lib/monitoring/alerts.ts`, `lib/monitoring/alarms.ts`, `lib/hosts/fabric/*.mjs`.',
      '```bash',
      '# [not a link](nowhere.md) in a code block',
      '```',
    ].join('\n');
    expect(brokenLinks('README.md', text, (path) => (path === 'README.md' ? text : readDocument(path)), onDisk)).toEqual([
      '#where-airflow-ran: no heading #where-airflow-ran in README.md',
      'docs/fabric.md: no file docs/fabric.md',
    ]);
    expect(missingPaths('README.md', text, DOCUMENTS['README.md'], onDisk)).toEqual(['lib/monitoring/alarms.ts']);
  });
});
