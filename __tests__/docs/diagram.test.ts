/**
 * renderMermaidDiagram and `npm run diagram`. No Mermaid parser is installed, so the tests read the
 * output with a strict parser of the few statements the renderer may emit: any other line, an
 * unescaped character in a label or a node outside a wave fails.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withFullDisk } from '../helpers/full-disk';
import fc from 'fast-check';
import {
  loadMigrationPlan,
  migrationWaves,
  MigrationPlanError,
  parseMigrationPlan,
  renderMermaidDiagram,
  type DatabaseMigration,
  type MigrationMode,
  type MigrationPlan,
  type TargetKind,
} from '../../lib/plan';
import { escapeLabel } from '../../lib/plan/diagram';
import { BEGIN_MARKER, END_MARKER, markdownBlock, parseArguments, run } from '../../scripts/diagram';
import { EXAMPLE_PLAN, managedInstancePlan, planWithDatabases } from '../plan/plan-fixtures';
import { anyCodePoint } from '../properties/code-points';
import { runs } from '../properties/outcomes';

const ID = '[A-Za-z][A-Za-z0-9_]*';
/** What a label may contain: no quote, `#` only in entity codes, `<` only in line breaks. */
const SAFE_LABEL = /^(?:[^"#<>&:;%`\\[\]{}|\u0000-\u001f]|#\d+;|<br\/>)*$/u;

interface Diagram {
  readonly direction: string;
  readonly waves: { id: string; title: string; members: string[] }[];
  /** Node id -> label lines, entity codes decoded. */
  readonly labels: Map<string, string[]>;
  readonly edges: string[];
  readonly classDefs: Map<string, string>;
  readonly classMembers: Map<string, string[]>;
}

/** Parses the renderer's Mermaid subset, throwing on anything else. */
function parseDiagram(source: string): Diagram {
  expect(source.endsWith('\n')).toBe(true);
  const lines = source.slice(0, -1).split('\n');
  const header = new RegExp('^flowchart (LR|TB)$').exec(lines[0]);
  if (!header) throw new Error(`bad header: ${lines[0]}`);
  const diagram: Diagram = {
    direction: header[1],
    waves: [],
    labels: new Map(),
    edges: [],
    classDefs: new Map(),
    classMembers: new Map(),
  };
  let wave: Diagram['waves'][number] | undefined;
  for (const line of lines.slice(1)) {
    let match: RegExpExecArray | null;
    if ((match = new RegExp(`^  subgraph (${ID})\\["([^"]*)"\\]$`).exec(line)) && !wave) {
      wave = { id: match[1], title: match[2], members: [] };
      diagram.waves.push(wave);
    } else if (line === '    direction TB' && wave) {
      continue;
    } else if ((match = new RegExp(`^    (${ID})\\["([^"]*)"\\]$`).exec(line)) && wave) {
      const [, id, label] = match;
      if (!SAFE_LABEL.test(label)) throw new Error(`unsafe label: ${label}`);
      if (diagram.labels.has(id)) throw new Error(`node ${id} defined twice`);
      diagram.labels.set(id, label.split('<br/>').map(decodeEntities));
      wave.members.push(id);
    } else if (line === '  end' && wave) {
      wave = undefined;
    } else if ((match = new RegExp(`^  (${ID}) --> (${ID})$`).exec(line)) && !wave) {
      diagram.edges.push(`${match[1]} --> ${match[2]}`);
    } else if ((match = new RegExp(`^  classDef (${ID}) ((?:[a-z-]+:[^,;:]+,)*[a-z-]+:[^,;:]+)$`).exec(line)) && !wave) {
      diagram.classDefs.set(match[1], match[2]);
    } else if ((match = new RegExp(`^  class (${ID}(?:,${ID})*) (${ID})$`).exec(line)) && !wave) {
      diagram.classMembers.set(match[2], match[1].split(','));
    } else {
      throw new Error(`unexpected line: ${JSON.stringify(line)}`);
    }
  }
  if (wave) throw new Error(`subgraph ${wave.id} is not closed`);
  for (const edge of diagram.edges) {
    for (const id of edge.split(' --> ')) if (!diagram.labels.has(id)) throw new Error(`edge to undefined node ${id}`);
  }
  return diagram;
}

function decodeEntities(text: string): string {
  return text.replace(/#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)));
}

const idOf = (name: string) => `db_${name}`;

function expectedEdges(plan: Pick<MigrationPlan, 'databases'>): string[] {
  return plan.databases.flatMap((db) => db.dependsOn.map((dep) => `${idOf(dep)} --> ${idOf(db.name)}`));
}

/** A database for diagrams built without the validator (to test what validation would reject too). */
function database(name: string, overrides: Partial<DatabaseMigration> = {}): DatabaseMigration {
  return {
    name,
    source: { server: 'sql01', database: name },
    target: { server: 'mi-prod', database: name, kind: 'SqlMi' },
    mode: 'online',
    sourceFreeze: 'readOnly',
    allowSourceWritesDuringCopy: false,
    dependsOn: [],
    validation: { rowCounts: true, checksums: false },
    timeoutMinutes: 720,
    cutover: { windows: [], expectedMinutes: 30, approval: { required: false, approvers: [], channel: 'hitl' } },
    ...overrides,
  };
}

describe('renderMermaidDiagram on the example plan', () => {
  const plan = loadMigrationPlan(EXAMPLE_PLAN);
  const diagram = parseDiagram(renderMermaidDiagram(plan));

  test('is a left-to-right flowchart with one subgraph per wave, in wave order', () => {
    expect(diagram.direction).toBe('LR');
    expect(diagram.waves.map(({ id, title }) => [id, title])).toEqual([
      ['wave_1', 'Wave 1'],
      ['wave_2', 'Wave 2'],
    ]);
    expect(diagram.waves.map((wave) => wave.members)).toEqual([
      ['db_database_1', 'db_database_2'],
      ['db_database_3'],
    ]);
  });

  test('labels each database with its name, source, target and mode', () => {
    expect(diagram.labels.get('db_database_3')).toEqual([
      'database_3',
      'from sql01/Reporting',
      'to SqlMi mi-prod/Reporting',
      'offline',
    ]);
  });

  test('draws exactly the dependency arrows, from dependency to dependent', () => {
    expect(diagram.edges).toEqual(['db_database_1 --> db_database_3', 'db_database_2 --> db_database_3']);
  });

  test('styles nodes by target kind and mode, defining only the classes it uses', () => {
    expect([...diagram.classDefs.keys()]).toEqual(['SqlMi', 'online', 'offline']);
    expect(diagram.classMembers).toEqual(
      new Map([
        ['SqlMi', ['db_database_1', 'db_database_2', 'db_database_3']],
        ['online', ['db_database_1', 'db_database_2']],
        ['offline', ['db_database_3']],
      ]),
    );
    expect(diagram.classDefs.get('offline')).toMatch(/stroke-dasharray/);
  });
});

describe('renderMermaidDiagram', () => {
  test('one wave per dependency level: a chain, a diamond and an independent database', () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'lonely'];
    const deps: Record<string, string[]> = { a: [], b: ['a'], c: ['a'], d: ['b', 'c'], e: ['d'], lonely: [] };
    const plan = planWithDatabases(names.length);
    plan.databases.forEach((db: any, i: number) => Object.assign(db, { name: names[i], dependsOn: deps[names[i]] }));
    const parsed = parseMigrationPlan(plan);
    const diagram = parseDiagram(renderMermaidDiagram(parsed));
    expect(diagram.waves.map((wave) => wave.members)).toEqual([
      ['db_a', 'db_lonely'],
      ['db_b', 'db_c'],
      ['db_d'],
      ['db_e'],
    ]);
    expect(diagram.edges).toEqual(expectedEdges(parsed));
    expect(diagram.classMembers.get('SqlDb')).toHaveLength(6);
    expect(diagram.classMembers.get('offline')).toHaveLength(6);
    expect(diagram.classDefs.has('SqlMi')).toBe(false);
  });

  test('escapes the characters Mermaid would misread in a validated plan, and they decode back', () => {
    const plan = managedInstancePlan();
    plan.databases[0].source.database = 'Sales #1 <EU> & Ops: 50%; a|b {x} `y` Ümlaut 売上 😀';
    plan.databases[0].target.database = 'style:#ff0;classDef x fill:#000';
    const parsed = parseMigrationPlan(plan);
    const source = renderMermaidDiagram(parsed);
    const diagram = parseDiagram(source);
    expect(diagram.labels.get('db_database_1')).toEqual([
      'database_1',
      `from sql01/${parsed.databases[0].source.database}`,
      'to SqlMi mi-prod/style:#ff0;classDef x fill:#000',
      'online',
    ]);
    expect(source).toContain('#35;1 #60;EU#62; #38; Ops#58; 50#37;#59;');
  });

  test('escapes quotes and brackets too, for plans built without the validator', () => {
    const diagram = parseDiagram(
      renderMermaidDiagram({
        databases: [database('odd', { source: { server: 'sql01', database: 'a"b[c]d\'e\\f\nnext' } })],
      }),
    );
    expect(diagram.labels.get('db_odd')?.[1]).toBe('from sql01/a"b[c]d\'e\\f\nnext');
  });

  test('prefixes node ids, so databases named like Mermaid keywords or edge markers are plain nodes', () => {
    const names = ['end', 'graph', 'subgraph', 'flowchart', 'style', 'class', 'classDef', 'click', 'default', 'o', 'x'];
    const databases = names.map((name, i) => database(name, { dependsOn: i === 0 ? [] : [names[i - 1]] }));
    const diagram = parseDiagram(renderMermaidDiagram({ databases }));
    expect([...diagram.labels.keys()]).toEqual(names.map(idOf));
    expect(diagram.waves).toHaveLength(names.length);
    expect(diagram.edges).toEqual(expectedEdges({ databases }));
  });

  test('draws a repeated dependency once', () => {
    const databases = [database('a'), database('b', { dependsOn: ['a', 'a'] })];
    expect(parseDiagram(renderMermaidDiagram({ databases })).edges).toEqual(['db_a --> db_b']);
  });

  test('refuses names that cannot be node ids and plans with unknown or circular dependencies', () => {
    expect(() => renderMermaidDiagram({ databases: [database('bad name')] })).toThrow(/not a valid identifier/);
    expect(() => renderMermaidDiagram({ databases: [database('a', { dependsOn: ['ghost'] })] })).toThrow(
      MigrationPlanError,
    );
    const loop = [database('a', { dependsOn: ['b'] }), database('b', { dependsOn: ['a'] })];
    expect(() => renderMermaidDiagram({ databases: loop })).toThrow(/dependency cycle: a -> b -> a/);
  });

  test('property: any acyclic plan gives its waves, exactly its dependency arrows, and one kind and mode class per node', () => {
    const kinds: TargetKind[] = ['SqlMi', 'SqlDb', 'SqlVm'];
    const modes: MigrationMode[] = ['online', 'offline'];
    const arbitraryPlan = fc
      .integer({ min: 1, max: 15 })
      .chain((count) =>
        fc.record({
          // Database i may depend on any database before it in this order, so the graph is acyclic.
          dependsOn: fc.tuple(...Array.from({ length: count }, (_, i) => fc.subarray(Array.from({ length: i }, (_, j) => j)))),
          order: fc.shuffledSubarray(Array.from({ length: count }, (_, i) => i), { minLength: count }),
          kinds: fc.array(fc.constantFrom(...kinds), { minLength: count, maxLength: count }),
          modes: fc.array(fc.constantFrom(...modes), { minLength: count, maxLength: count }),
          sourceNames: fc.array(fc.string({ unit: anyCodePoint, minLength: 1, maxLength: 12 }), { minLength: count, maxLength: count }),
        }),
      )
      .map(({ dependsOn, order, kinds: kindOf, modes: modeOf, sourceNames }) => ({
        databases: order.map((i) =>
          database(`db${i}`, {
            source: { server: 'sql01', database: sourceNames[i] },
            target: { server: 'target-1', database: `T${i}`, kind: kindOf[i] },
            mode: modeOf[i],
            dependsOn: dependsOn[i].map((j) => `db${j}`),
          }),
        ),
      }));

    fc.assert(
      fc.property(arbitraryPlan, (plan) => {
        const diagram = parseDiagram(renderMermaidDiagram(plan));
        expect(diagram.waves.map((wave) => wave.members)).toEqual(migrationWaves(plan).map((wave) => wave.map(idOf)));
        expect(diagram.waves.map((wave) => wave.title)).toEqual(diagram.waves.map((_, i) => `Wave ${i + 1}`));
        expect([...diagram.edges].sort()).toEqual(expectedEdges(plan).sort());
        for (const db of plan.databases) {
          const id = idOf(db.name);
          const classes = [...diagram.classMembers].filter(([, members]) => members.includes(id)).map(([name]) => name);
          expect(classes.sort()).toEqual([db.target.kind, db.mode].sort());
          expect(diagram.labels.get(id)).toEqual([
            db.name,
            `from sql01/${db.source.database}`,
            `to ${db.target.kind} target-1/${db.target.database}`,
            db.mode,
          ]);
        }
      }),
      runs(100),
    );
  });
});

describe('escapeLabel', () => {
  test('keeps readable text readable', () => {
    expect(escapeLabel('Sales_2024 (EU) v1.2/x-y')).toBe('Sales_2024 (EU) v1.2/x-y');
  });

  test('property: the result is safe inside a quoted Mermaid label and decodes to the input', () => {
    const character = fc.oneof(
      fc.constantFrom(...'#"<>&:;%`[]{}|\\\n\t0123 aZ'.split('')),
      fc.string({ unit: anyCodePoint, minLength: 1, maxLength: 1 }),
    );
    fc.assert(
      fc.property(fc.string({ unit: character, maxLength: 40 }), (text) => {
        const escaped = escapeLabel(text);
        expect(escaped).toMatch(SAFE_LABEL);
        expect(escaped).not.toContain('<');
        expect(decodeEntities(escaped)).toBe(text);
      }),
      runs(500),
    );
  });
});

describe('npm run diagram (scripts/diagram.ts)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'diagram-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function runDiagram(args: string[], env: NodeJS.ProcessEnv = {}) {
    let stdout = '';
    let stderr = '';
    const code = run(args, env, {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
    });
    return { code, stdout, stderr };
  }

  const exampleBlock = markdownBlock(loadMigrationPlan(EXAMPLE_PLAN));

  test('prints the Markdown block of the plan named by MIGRATION_PLAN or by argument', () => {
    expect(exampleBlock).toBe(`\`\`\`mermaid\n${renderMermaidDiagram(loadMigrationPlan(EXAMPLE_PLAN))}\`\`\`\n`);
    expect(runDiagram([], { MIGRATION_PLAN: EXAMPLE_PLAN })).toEqual({ code: 0, stdout: exampleBlock, stderr: '' });
    expect(runDiagram([EXAMPLE_PLAN])).toEqual({ code: 0, stdout: exampleBlock, stderr: '' });
  });

  test('reads MIGRATION_PLAN as npm run synth does: ends trimmed (a CI variable\'s line break), blank as unset', () => {
    expect(runDiagram([], { MIGRATION_PLAN: ` ${EXAMPLE_PLAN}\n` })).toEqual({ code: 0, stdout: exampleBlock, stderr: '' });
    expect(parseArguments([], { MIGRATION_PLAN: ' ' }).planFile).toBe(parseArguments([], {}).planFile);
  });

  test("reads the plan (MIGRATION_PLAN or argument) and --out from where the command was typed (INIT_CWD), as npm run synth and rehearse do (was: from the repository's folder)", () => {
    // As npm run diagram typed in `dir`: npm runs the script in the repository, INIT_CWD names `dir`.
    mkdirSync(join(dir, 'plans'));
    copyFileSync(EXAMPLE_PLAN, join(dir, 'plans', 'q3.yaml'));
    const typed = { INIT_CWD: dir };
    expect(runDiagram([], { ...typed, MIGRATION_PLAN: 'plans/q3.yaml' })).toEqual({ code: 0, stdout: exampleBlock, stderr: '' });
    expect(runDiagram(['plans/q3.yaml'], typed)).toEqual({ code: 0, stdout: exampleBlock, stderr: '' });
    expect(runDiagram(['plans/q3.yaml', '--out', 'plan.md'], typed)).toEqual({
      code: 0,
      stdout: `Wrote the diagram of ${join(dir, 'plans', 'q3.yaml')} in ${join(dir, 'plan.md')}\n`,
      stderr: '',
    });
    expect(readFileSync(join(dir, 'plan.md'), 'utf8')).toBe(`${BEGIN_MARKER}\n${exampleBlock}${END_MARKER}\n`);
    // A plan not found names where it was looked for; an absolute path is taken as it is; the default plan is the repository's.
    expect(runDiagram(['plans/q4.yaml'], typed).stderr).toMatch(new RegExp(`^Invalid migration plan ${join(dir, 'plans', 'q4.yaml')} `));
    expect(parseArguments([EXAMPLE_PLAN], typed).planFile).toBe(EXAMPLE_PLAN);
    expect(parseArguments([], typed).planFile).toBe(parseArguments([], {}).planFile);
    // Typed in the working directory (npm run diagram at the repository's root), or without npm: the paths as typed.
    expect(parseArguments(['plans/q3.yaml', '--out', 'plan.md'], { INIT_CWD: dir }, dir)).toMatchObject({ planFile: 'plans/q3.yaml', out: 'plan.md' });
    expect(parseArguments(['plans/q3.yaml'], {}, dir).planFile).toBe('plans/q3.yaml');
  });

  test('--out writes a marked section, replaces only that section later, and --check tells whether it is current', () => {
    const out = join(dir, 'plan.md');
    expect(runDiagram([EXAMPLE_PLAN, '--out', out]).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(`${BEGIN_MARKER}\n${exampleBlock}${END_MARKER}\n`);

    writeFileSync(out, `# Title\n\n${BEGIN_MARKER}\nold diagram\n${END_MARKER}\n\nMore text.\n`);
    expect(runDiagram([EXAMPLE_PLAN, '--out', out, '--check'])).toMatchObject({
      code: 1,
      stderr: `The diagram in ${out} is out of date: run npm run diagram -- ${EXAMPLE_PLAN} --out ${out}\n`,
    });
    expect(runDiagram([EXAMPLE_PLAN, '--out', out])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Wrote/) });
    expect(readFileSync(out, 'utf8')).toBe(`# Title\n\n${BEGIN_MARKER}\n${exampleBlock}${END_MARKER}\n\nMore text.\n`);
    expect(runDiagram([EXAMPLE_PLAN, '--out', out, '--check'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(runDiagram([EXAMPLE_PLAN, '--out', out])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Unchanged/) });
  });

  test('--out leaves a file without markers alone', () => {
    const out = join(dir, 'README.md');
    writeFileSync(out, '# Hand-written\n');
    expect(runDiagram([EXAMPLE_PLAN, '--out', out])).toMatchObject({ code: 1, stderr: expect.stringContaining(BEGIN_MARKER) });
    expect(readFileSync(out, 'utf8')).toBe('# Hand-written\n');
  });

  test('--out stopped by a full disk leaves the file as it was, says so, and leaves nothing beside it (was: the file cut short)', () => {
    const out = join(dir, 'README.md');
    const before = `# Title\n\n${BEGIN_MARKER}\nold diagram\n${END_MARKER}\n\n${'More text.\n'.repeat(100)}`;
    writeFileSync(out, before);
    expect(withFullDisk(() => runDiagram([EXAMPLE_PLAN, '--out', out]))).toEqual({ code: 1, stdout: '', stderr: `Cannot write ${out}: ENOSPC: no space left on device, write\nIt is as it was.\n` });
    expect(readFileSync(out, 'utf8')).toBe(before);
    expect(readdirSync(dir)).toEqual(['README.md']);
  });

  test('--out keeps the permissions of the file it replaces, whatever the umask (was: a group-writable README lost group write under umask 022)', () => {
    const out = join(dir, 'README.md');
    writeFileSync(out, `${BEGIN_MARKER}\nold diagram\n${END_MARKER}\n`);
    chmodSync(out, 0o664);
    const umask = process.umask(0o022);
    try {
      expect(runDiagram([EXAMPLE_PLAN, '--out', out]).code).toBe(0);
    } finally {
      process.umask(umask);
    }
    expect(readFileSync(out, 'utf8')).toContain(exampleBlock);
    expect(statSync(out).mode & 0o7777).toBe(0o664);
  });

  test('an invalid plan is reported by file and field, without a stack trace', () => {
    const plan = join(dir, 'bad.yaml');
    writeFileSync(plan, readFileSync(EXAMPLE_PLAN, 'utf8').replace('mode: offline', 'mode: sometimes'));
    const result = runDiagram([plan]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Invalid migration plan .*bad\.yaml \(1 problem\):\n.*databases\[2\]\.mode/);
    expect(result.stdout).toBe('');
  });

  test.each([
    [['--out'], /--out needs a file name/],
    [['--check'], /--check compares with the file given by --out/],
    [['--verbose'], /unknown option --verbose/],
    [['a.yaml', 'b.yaml'], /one plan file at a time/],
  ])('usage errors exit 2: %j', (args, message) => {
    const result = runDiagram(args);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/Usage: npm run diagram/);
  });
});
