/**
 * The example plans (examples/), changed the ways people get a plan wrong: a value of another type
 * at any field, a field left out or added, odd text and numbers, repeated and colliding names,
 * self-dependencies and loops, YAML anchors, merge keys, second documents, tabs, a BOM, CRLF and CR line endings, JSON
 * comments and trailing commas, and, for a plan given in code, undefined fields, throwing getters,
 * frozen objects and class instances. Every outcome is a plan or a MigrationPlanError whose problems
 * say what is wrong in the plan author's words: never zod's own phrasing ("Too big: expected array to
 * have <=20 items"), a JavaScript message, `undefined` or `[object Object]` (user text quoted in a
 * message aside), and syntax errors with a line. Fixed seed: the same cases on every run.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { Testing } from 'cdktf';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { DatabaseMigrationStack } from '../../lib/database-migration-stack';
import { loadMigrationPlan, MigrationPlanError, parseMigrationPlan, type MigrationPlan } from '../../lib/plan';
import { anyCodePoint } from './code-points';
import { expectDeepEqual, expectWellFormed, outcomeOf, runs } from './outcomes';
import { allPaths, clone, getAt, setAt, type FieldPath } from './plan-paths';

const EXAMPLES_DIR = join(__dirname, '..', '..', 'examples');
const EXAMPLES = readdirSync(EXAMPLES_DIR)
  .filter((file) => /\.(ya?ml|json)$/.test(file))
  .map((file) => {
    const text = readFileSync(join(EXAMPLES_DIR, file), 'utf8');
    return { file, text, document: extname(file) === '.json' ? JSON.parse(text) : parseYaml(text) };
  });

/** Fixed unless FC_SEED replays another run (outcomes.ts). */
const seeded = (numRuns: number) => ({ seed: 51, ...runs(numRuns) });

/**
 * Words that are not the plan's: zod's default messages, JavaScript's, and values printed by
 * mistake. Quoted user text is taken out first (a tag value may well say "undefined").
 */
const NOT_OUR_WORDS = [
  /\b(Too (big|small)|Invalid (input|option|string|number|key|value|element|discriminator)|Unrecognized keys?)\b/,
  /\breceived\b/,
  /\bundefined\b/,
  /\[object \w+\]/,
  /Maximum call stack|Cannot read propert|is not a function|is not iterable/,
  /expected a mapping, got a mapping|expected a list, got a list/,
];

function expectPlainWords(error: MigrationPlanError, source: string): void {
  expectWellFormed(error, source, { fieldPaths: false });
  for (const problem of error.problems) {
    const ownText = problem.message.replace(/"(?:[^"\\]|\\.)*"/g, '"…"');
    const foreign = NOT_OUR_WORDS.find((words) => words.test(ownText));
    if (foreign !== undefined) throw new Error(`not in the plan author's words (${foreign}): ${problem.path}: ${problem.message}`);
    if (/syntax error/.test(problem.message)) expect(problem.line).toBeGreaterThanOrEqual(1);
  }
}

function expectPlanOrPlainError(load: () => MigrationPlan, source: string): void {
  const outcome = outcomeOf(load);
  if ('error' in outcome) expectPlainWords(outcome.error, source);
}

const example = fc.constantFrom(...EXAMPLES);

/** Values people write by mistake, and a few only code can give. */
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('', ' ', 'NaN', 'Infinity', '-0', '0x1F', '1e999', 'null', 'true', 'no', '~', '\u0000', '\ufeff', '\t', 'ü', '😀'),
  fc.constantFrom(0, -1, 0.5, 1e21, -1e21, Number.MAX_SAFE_INTEGER + 2, NaN, Infinity, true, false, null, [], {}),
  fc.string({ unit: anyCodePoint, maxLength: 12 }),
  fc.string({ maxLength: 3 }).map((text) => text.repeat(400)),
  fc.jsonValue({ maxDepth: 2 }),
);

type Mutation = (document: any) => fc.Arbitrary<any>;

const pathsOf = (document: any): FieldPath[] => allPaths(document).map(({ path }) => path);
const objectPaths = (document: any): FieldPath[] => [
  [],
  ...allPaths(document)
    .filter(({ value }) => typeof value === 'object' && value !== null && !Array.isArray(value))
    .map(({ path }) => path),
];
const changed = (document: any, change: (copy: any) => void) => {
  const copy = clone(document);
  change(copy);
  return copy;
};

const VALUE_MUTATIONS: Record<string, Mutation> = {
  otherValue: (document) =>
    fc.tuple(fc.constantFrom(...pathsOf(document)), oddValue).map(([path, value]) => changed(document, (copy) => setAt(copy, path, value))),
  sameValueAsText: (document) =>
    fc.constantFrom(...pathsOf(document)).map((path) => changed(document, (copy) => setAt(copy, path, JSON.stringify(getAt(copy, path))))),
  wrappedInList: (document) =>
    fc.constantFrom(...pathsOf(document)).map((path) => changed(document, (copy) => setAt(copy, path, [getAt(copy, path)]))),
  repeatedList: (document) =>
    fc
      .constantFrom(...allPaths(document).filter(({ value }) => Array.isArray(value) && value.length > 0).map(({ path }) => path))
      // Past the limits of 20 credentials and 200 IP ranges (1,000 emails: plain-words.test.ts).
      .chain((path) => fc.constantFrom(2, 21, 201).map((times) => ({ path, times })))
      .map(({ path, times }) => changed(document, (copy) => setAt(copy, path, Array(times).fill(getAt(copy, path)).flat()))),
  removed: (document) =>
    fc.constantFrom(...pathsOf(document)).map((path) => changed(document, (copy) => setAt(copy, path, undefined, true))),
  setUndefined: (document) =>
    fc.constantFrom(...pathsOf(document)).map((path) => changed(document, (copy) => setAt(copy, path, undefined))),
  unknownKey: (document) =>
    fc
      .tuple(
        fc.constantFrom(...objectPaths(document)),
        fc.oneof(fc.constantFrom('<<', '', ' ', 'Name', 'dependson', '__proto__', 'constructor', 'toString'), fc.string({ unit: anyCodePoint, maxLength: 8 })),
        oddValue,
      )
      .map(([path, key, value]) => changed(document, (copy) => setAt(copy, [...path, key], value))),
  collidingName: (document) => {
    const names = allPaths(document).filter(({ path, value }) => path.at(-1) === 'name' && typeof value === 'string');
    return fc
      .tuple(fc.constantFrom(...names), fc.constantFrom(...names), fc.constantFrom((s: string) => s, (s: string) => s.toUpperCase(), (s: string) => `${s} `, (s: string) => s.replace(/[-_]/g, (c) => (c === '-' ? '_' : '-'))))
      .map(([to, from, spell]) => changed(document, (copy) => setAt(copy, to.path, spell(String(from.value)))));
  },
  dependencyLoop: (document) =>
    fc
      .tuple(fc.nat({ max: document.databases.length - 1 }), fc.nat({ max: document.databases.length - 1 }))
      .map(([from, to]) =>
        changed(document, (copy) => {
          copy.databases[from].dependsOn = [...(copy.databases[from].dependsOn ?? []), copy.databases[to].name];
          copy.databases[to].dependsOn = [...(copy.databases[to].dependsOn ?? []), copy.databases[from].name];
        }),
      ),
  severalAtOnce: (document) =>
    fc
      .array(fc.tuple(fc.constantFrom(...pathsOf(document)), oddValue), { minLength: 2, maxLength: 6 })
      .map((edits) => changed(document, (copy) => edits.forEach(([path, value]) => getAt(copy, path.slice(0, -1)) instanceof Object && setAt(copy, path, value)))),
};

describe('example plans changed by hand, given as a value', () => {
  test.each(Object.keys(VALUE_MUTATIONS))('%s: a plan or a MigrationPlanError in plain words', (name) => {
    fc.assert(
      fc.property(
        example.chain(({ document }) => VALUE_MUTATIONS[name](document)),
        (document) => expectPlanOrPlainError(() => parseMigrationPlan(document), '<plan>'),
      ),
      seeded(60),
    );
  });
});

/**
 * repeatedList and otherValue sample a few fields, and with this seed miss the limits without a message of their own:
 * 20 federated credentials and a 600-character subject are one field each of one example (200 IP ranges are in none:
 * plain-words.test.ts). So every list and every text of every example, past them, once.
 */
describe('every list and text of every example past its limits', () => {
  const fields = EXAMPLES.flatMap(({ document }) => allPaths(document).map(({ path, value }) => ({ document, path, value })));
  // 201 copies of a list of mappings (databases) make a plan of hundreds of databases, seconds of work: only 21.
  const pastLimits = (value: unknown): unknown[] => {
    if (Array.isArray(value) && value.length > 0)
      return (value.some((item) => typeof item === 'object') ? [21] : [21, 201]).map((times) => Array(times).fill(value).flat());
    return typeof value === 'string' && value !== '' ? [value.repeat(Math.ceil(601 / value.length))] : [];
  };

  test('a plan or a MigrationPlanError in plain words', () => {
    for (const { document, path, value } of fields)
      for (const longer of pastLimits(value))
        expectPlanOrPlainError(() => parseMigrationPlan(changed(document, (copy) => setAt(copy, path, longer))), '<plan>');
  });
});

/** What only a plan built in code can be: getters, frozen objects, class instances, Maps. */
const throwingGetter = (): never => {
  throw new Error('not loaded yet');
};

const CODE_SHAPES: Record<string, (value: unknown) => unknown> = {
  throwingGetter: (value) => value,
  frozen: (value) => Object.freeze(value),
  classInstance: (value) => (typeof value === 'object' && value !== null ? Object.assign(new (class Settings {})(), value) : value),
  nullPrototype: (value) => (typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.assign(Object.create(null), value) : value),
  map: (value) => (typeof value === 'object' && value !== null && !Array.isArray(value) ? new Map(Object.entries(value)) : value),
  boxed: (value) => (typeof value === 'string' || typeof value === 'number' ? Object(value) : value),
};

describe('example plans given in code', () => {
  test('each field a getter that throws, frozen, a class instance, a Map or a boxed value: a plan or a MigrationPlanError in plain words', () => {
    fc.assert(
      fc.property(
        example.chain(({ document }) =>
          fc.tuple(fc.constant(document), fc.constantFrom(...pathsOf(document)), fc.constantFrom(...Object.keys(CODE_SHAPES))),
        ),
        ([document, path, shape]) => {
          const copy = clone(document);
          const value = getAt(copy, path);
          if (shape === 'throwingGetter') {
            Object.defineProperty(getAt(copy, path.slice(0, -1)), path.at(-1)!, { enumerable: true, get: throwingGetter });
          } else setAt(copy, path, CODE_SHAPES[shape](value));
          expectPlanOrPlainError(() => parseMigrationPlan(copy), '<plan>');
        },
      ),
      seeded(150),
    );
  });

  test('a broken plan stops the stack with the MigrationPlanError, naming props.plan', () => {
    fc.assert(
      fc.property(
        example.chain(({ document }) => VALUE_MUTATIONS.otherValue(document)),
        (document) => {
          let thrown: unknown;
          try {
            parseMigrationPlan(document);
            return;
          } catch {
            // Only a plan the loader refuses is of interest: the stack must refuse it the same way.
          }
          try {
            new DatabaseMigrationStack(Testing.app(), 'stack', { plan: document });
          } catch (error) {
            thrown = error;
          }
          if (!(thrown instanceof MigrationPlanError)) throw new Error(`expected a MigrationPlanError, got ${String(thrown)}`);
          expectPlainWords(thrown, 'props.plan');
        },
      ),
      seeded(25),
    );
  });
});

let directory: string;
let files = 0;
beforeAll(() => (directory = mkdtempSync(join(tmpdir(), 'plan-examples-'))));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function loadText(extension: string, text: string): void {
  const file = join(directory, `plan-${files++}${extension}`);
  writeFileSync(file, text);
  try {
    expectPlanOrPlainError(() => loadMigrationPlan(file), file);
  } finally {
    unlinkSync(file);
  }
}

/** Edits to a plan file's text, at one of its lines. */
type TextEdit = (lines: string[], at: number) => string[];

const indentOf = (line: string) => /^ */.exec(line)![0];
const keyOf = (line: string) => /^\s*(?:- )?([A-Za-z]\w*):/.exec(line)?.[1];

const YAML_EDITS: Record<string, TextEdit> = {
  repeatedLine: (lines, at) => [...lines.slice(0, at + 1), lines[at], ...lines.slice(at + 1)],
  droppedLine: (lines, at) => lines.filter((_, i) => i !== at),
  tabIndent: (lines, at) => lines.map((line, i) => (i === at ? line.replace(/^ {2}/, '\t') : line)),
  tabAfterColon: (lines, at) => lines.map((line, i) => (i === at ? line.replace(': ', ':\t') : line)),
  anchorAndAlias: (lines, at) => {
    const key = keyOf(lines[at]);
    if (key === undefined) return lines;
    const anchored = lines.map((line, i) => (i === at ? line.replace(`${key}:`, `${key}: &a`) : line));
    return [...anchored, `${key}: *a`];
  },
  danglingAlias: (lines, at) => lines.map((line, i) => (i === at ? line.replace(/: \S.*$/, ': *missing') : line)),
  mergeKey: (lines, at) => [...lines.slice(0, at + 1), `${indentOf(lines[at])}<<: {}`, ...lines.slice(at + 1)],
  secondDocument: (lines, at) => [...lines.slice(0, at), '---', ...lines.slice(at)],
  bom: (lines) => [`\ufeff${lines[0]}`, ...lines.slice(1)],
  cutShort: (lines, at) => lines.slice(0, at),
  crlf: (lines) => [lines.join('\r\n')],
  controlCharacter: (lines, at) => lines.map((line, i) => (i === at ? `${line}\u0007` : line)),
  deeplyNested: (lines, at) => {
    const key = keyOf(lines[at]);
    return key === undefined ? lines : [...lines, `${key}x: ${'['.repeat(3000)}${']'.repeat(3000)}`];
  },
};

const JSON_EDITS: Record<string, (text: string, at: number) => string> = {
  lineComment: (text, at) => `${text.slice(0, text.indexOf('\n', at) + 1)}// a comment\n${text.slice(text.indexOf('\n', at) + 1)}`,
  trailingComma: (text) => text.replace(/(\S)(\s*\n\s*[}\]])/, '$1,$2'),
  singleQuotes: (text, at) => text.slice(0, at) + text.slice(at).replace('"', "'"),
  repeatedKey: (text, at) => {
    const match = /\n(\s*)("\w+": [^{[\n]+?),?\n/.exec(text.slice(at));
    return match === null ? text : text.replace(match[0], `\n${match[1]}${match[2]},\n${match[1]}${match[2]},\n`);
  },
  nothing: () => '',
  twoDocuments: (text) => `${text}\n${text}`,
};

describe('example plan files changed by hand', () => {
  const yamlExamples = EXAMPLES.filter(({ file }) => file.endsWith('.yaml'));
  const jsonExamples = EXAMPLES.filter(({ file }) => file.endsWith('.json'));

  test.each(Object.keys(YAML_EDITS))('YAML, %s: a plan or a MigrationPlanError in plain words, syntax errors with a line', (name) => {
    fc.assert(
      fc.property(
        fc.constantFrom(...yamlExamples).chain(({ text }) => {
          const lines = text.split('\n');
          return fc.nat({ max: lines.length - 1 }).map((at) => YAML_EDITS[name](lines, at).join('\n'));
        }),
        (text) => loadText('.yaml', text),
      ),
      seeded(25),
    );
  });

  test('YAML, any edit, with CRLF or CR line endings (classic Mac): the outcome with LF, problems at the same lines', () => {
    const outcomeIn = (text: string) => {
      const file = join(directory, `plan-${files++}.yaml`);
      writeFileSync(file, text);
      try {
        const outcome = outcomeOf(() => loadMigrationPlan(file));
        return 'plan' in outcome ? outcome.plan : outcome.error.problems.map(({ path, line, column }) => ({ path, line, column }));
      } finally {
        unlinkSync(file);
      }
    };
    fc.assert(
      fc.property(
        fc.constantFrom(...yamlExamples),
        fc.constantFrom(...Object.keys(YAML_EDITS).filter((name) => name !== 'crlf')),
        fc.nat(),
        fc.constantFrom('\r\n', '\r'),
        ({ text }, name, at, lineBreak) => {
          const lines = text.split('\n');
          const edited = YAML_EDITS[name](lines, at % lines.length).join('\n');
          expectDeepEqual(outcomeIn(edited.replace(/\n/g, lineBreak)), outcomeIn(edited));
        },
      ),
      seeded(40),
    );
  });

  test.each(Object.keys(JSON_EDITS))('JSON, %s: a MigrationPlanError in plain words with a line', (name) => {
    fc.assert(
      fc.property(
        fc.constantFrom(...jsonExamples).chain(({ text }) => fc.nat({ max: text.length - 1 }).map((at) => JSON_EDITS[name](text, at))),
        (text) => loadText('.json', text),
      ),
      seeded(15),
    );
  });
});
