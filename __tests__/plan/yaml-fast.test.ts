/**
 * The fast YAML path (js-yaml, `readYamlQuickly`) against the `yaml` library (`parseYamlSource`):
 * whenever the fast path answers, `yaml` reads the same value (same keys in the same order), and
 * `loadMigrationPlan` gives the same plan, or the same error to the letter, as reading with `yaml`
 * alone did before the fast path existed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { dump as jsYamlDump } from 'js-yaml';
import { stringify as toYaml, type ToStringOptions } from 'yaml';
import {
  loadMigrationPlan,
  MigrationPlanError,
  migrationPlanSchema,
  parseMigrationPlan,
  renderMigrationPlan,
  type MigrationPlan,
} from '../../lib/plan';
import { validatePlan } from '../../lib/plan/parse';
import { readYamlQuickly } from '../../lib/plan/yaml-fast';
import { parseYamlSource } from '../../lib/plan/yaml-source';
import { oddString, validPlanDocument } from '../properties/arbitraries';
import { EXAMPLE_PLAN, managedInstancePlan, minimalPlan, planFiles, planWithDatabases } from './plan-fixtures';

const files = planFiles();

/** Keys in order, all the way down: deep equality alone ignores key order, which plans keep. */
function keyOrder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(keyOrder);
  if (typeof value !== 'object' || value === null) return null;
  return Object.keys(value).map((key) => [key, keyOrder((value as Record<string, unknown>)[key])]);
}

/**
 * When the fast path answers, `yaml` must read the same value without errors. Returns whether
 * the fast path answered.
 */
function expectAgreement(text: string): boolean {
  const quick = readYamlQuickly(text);
  if (quick === undefined) return false;
  const slow = parseYamlSource(text);
  if (!slow.ok) {
    const problems = slow.problems.map((p) => p.message).join('\n');
    throw new Error(`js-yaml read ${JSON.stringify(text)}, but yaml refuses it:\n${problems}`);
  }
  if (!isDeepStrictEqual(quick.value, slow.value)) expect(quick.value).toStrictEqual(slow.value);
  expect(keyOrder(quick.value)).toEqual(keyOrder(slow.value));
  return true;
}

type Outcome = { plan: MigrationPlan } | { error: string };

function outcome(load: () => MigrationPlan): Outcome {
  try {
    return { plan: load() };
  } catch (error) {
    if (!(error instanceof MigrationPlanError)) throw error;
    return { error: error.message };
  }
}

/** How `loadMigrationPlan` read YAML before the fast path: `yaml` only. */
function loadWithYamlOnly(path: string): MigrationPlan {
  const source = parseYamlSource(readFileSync(path, 'utf8'));
  if (!source.ok) throw new MigrationPlanError(path, source.problems);
  return validatePlan(source.value, path, source.locate);
}

/**
 * `loadMigrationPlan` gives what reading with `yaml` alone gives: the same plan or the same message.
 * (`yaml` reports a stack overflow at a column that depends on how deep the stack already was.)
 */
function expectSameLoad(text: string): Outcome {
  const path = files.write('plan.yaml', text);
  const actual = outcome(() => loadMigrationPlan(path));
  const expected = outcome(() => loadWithYamlOnly(path));
  if ('plan' in actual && 'plan' in expected) {
    if (!isDeepStrictEqual(actual.plan, expected.plan)) expect(actual.plan).toStrictEqual(expected.plan);
    expect(keyOrder(actual.plan)).toEqual(keyOrder(expected.plan));
  } else if ('error' in expected && expected.error.includes('Maximum call stack size exceeded')) {
    const withoutColumns = (result: Outcome) => ('error' in result ? result.error.replace(/:\d+:\d+:/g, ':') : result);
    expect(withoutColumns(actual)).toEqual(withoutColumns(expected));
  } else {
    expect(actual).toEqual(expected);
  }
  return actual;
}

/** The YAML documents the other plan tests write, and the plan files in the repository. */
const FIXTURES: readonly (readonly [string, string])[] = [
  ['examples/three-databases.yaml', readFileSync(EXAMPLE_PLAN, 'utf8')],
  ['scripts/consumer-app/plan.yaml', readFileSync(join(__dirname, '..', '..', 'scripts', 'consumer-app', 'plan.yaml'), 'utf8')],
  ['minimal plan', toYaml(minimalPlan())],
  ['managed-instance plan', toYaml(managedInstancePlan())],
  ['plan with dependencies', toYaml(planWithDatabases(30, (i) => (i === 0 ? [] : [`db_${i - 1}`])))],
  ['syntax error', 'name: contoso\nlocation: westeurope\ntags: [a, b\nnotifications: {}\n'],
  ['tab indentation', 'name: contoso\nsourceServers:\n\t- name: sql01\n'],
  ['duplicate key', toYaml(minimalPlan()).replace('location: westeurope\n', 'location: westeurope\nlocation: northeurope\n')],
  ['several documents', `${toYaml(minimalPlan())}---\nname: other\n`],
  ['empty', ''],
  ['only a comment', '# nothing here\n'],
  ['missing top-level field', toYaml({ ...minimalPlan(), databases: undefined })],
  ['bad name', toYaml({ ...minimalPlan(), name: 'X' })],
  [
    'positions',
    [
      'name: contoso-sql',
      'location: westeurope',
      'notifications:',
      '  emails: [dba@contoso.com, not-an-email]',
      'airflow:',
      '  servicePrincipal:',
      '    clientId: 11111111-2222-3333-4444-555555555555',
      '    objectId: 66666666-7777-8888-9999-000000000000',
      'sourceServers:',
      '  - name: sql01',
      '    host: sql01.corp',
      'targetServers:',
      '  - name: sqldb-prod',
      '    kind: SqlDb',
      '    resourceId: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Sql/servers/one',
      'databases:',
      '  - name: database_1',
      '    source: { server: sql01, database: Sales }',
      '    target: { server: sqldb-prod }',
      '  - name: database_2',
      '    source:',
      '      server: sql01',
      '    target: { server: sqldb-prod }',
      '    dependson: [database_1]',
      '    dependsOn: [database_1, database_9]',
      '',
    ].join('\n'),
  ],
  [
    '__proto__ and constructor keys',
    `${toYaml(minimalPlan())}__proto__:\n  polluted: true\nconstructor:\n  prototype:\n    polluted: true\n`,
  ],
  [
    'alias bomb',
    [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...'bcdefgh'.split('').map((n, i) => `${n}: &${n} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`),
    ].join('\n'),
  ],
  ['deep nesting', `tags: ${'['.repeat(5000)}${']'.repeat(5000)}\n`],
];

describe('fixtures', () => {
  test.each(FIXTURES)('%s: the same value, and the same plan or error', (_, text) => {
    expectAgreement(text);
    expectSameLoad(text);
  });

  test.each([
    ['examples/three-databases.yaml', readFileSync(EXAMPLE_PLAN, 'utf8')],
    ['a generated plan', toYaml(managedInstancePlan())],
    ['1,000 databases', toYaml(planWithDatabases(1000, (i) => (i < 10 ? [] : [`db_${i - 10}`])))],
  ])('plans as people write them take the fast path: %s', (_, text) => {
    expect(expectAgreement(text)).toBe(true);
  });
});

describe('where js-yaml and yaml differ', () => {
  // Each case: the fast path answers ('fast', and then must agree with yaml) or leaves it to yaml ('slow').
  test.each([
    // YAML 1.2 core schema, as yaml reads it (js-yaml's CORE_SCHEMA reads several of these differently).
    ['yes/no/on/off are strings', 'a: [yes, no, on, off, y, n, Yes, NO]', 'fast'],
    ['booleans', 'a: [true, True, TRUE, false, False, FALSE, tRue]', 'fast'],
    ['nulls', 'a: [~, null, Null, NULL, nULL, ""]\nb:', 'fast'],
    ['integers', 'a: [0, -0, +12, 007, 0o17, 0x1F, 0X1F, 12345678901234567890]', 'fast'],
    ['not integers in YAML 1.2 (numbers for js-yaml)', 'a: [0b101, -0x1F, +0o7, 1_000, 0o8]', 'fast'],
    ['floats', 'a: [1.5, 1., .5, +.5, -.5e3, 1e3, 1E+3, .inf, -.Inf, +.INF, .nan, .NaN]', 'fast'],
    ['not floats', 'a: [1.5.5, 1e, .e3, 1:20, 2001-12-14, .Inf2]', 'fast'],
    ['quoted scalars stay strings', 'a: ["1", \'true\', "null", "0o17", "\\u00e9\\x41\\/"]', 'fast'],
    ['numbers and booleans as keys', '1: a\n1.50: b\ntrue: c\n0x10: d\n.inf: e', 'fast'],
    ['__proto__ as a key is an own property', '__proto__: {a: 1}\ntags:\n  __proto__: x\n  toString: y', 'fast'],
    ['merge key << is an ordinary key in YAML 1.2', '<<: {a: 1}\nb: 2', 'fast'],
    ['CRLF line ends', 'a: 1\r\nb:\r\n  - x\r\n  - y # c\r\n', 'fast'],
    ['BOM at the start', '\ufeffa: 1\nb: x', 'defer'],
    ['BOM before a sequence (yaml reads [null])', '\ufeff- {}', 'defer'],
    ['document start and end markers', '---\na: 1\n...\n', 'fast'],
    ['document start with a comment', '--- # plan\na: 1\n', 'fast'],
    ['very long strings', `a: ${'x'.repeat(100_000)}\nb: '${'y '.repeat(1000)}'`, 'fast'],
    ['plain scalars with indicators inside', 'a: x#y\nb: R&D * 2?\nc: a-b, c:d\nd: "it\'s"', 'fast'],
    ['flow collections on one line', 'a: {b: [1, 2], c: {d: e}, f}\ng: [{h: 1}, [i], j: k]', 'fast'],
    ['JSON on one line', '{"a":{"b":[1,2,{"c":null}]},"d":"e"}', 'fast'],
    ['null keys ("" for yaml, "null" for js-yaml)', 'tags:\n  null: x', 'slow'],
    ['~ key', 'tags:\n  ~: x', 'slow'],
    ['empty key in a flow mapping', 'tags: {: x}', 'slow'],
    ['collection key ("[ a ]" for yaml, "a" for js-yaml)', '[a]: x', 'slow'],
    ['mapping key', '{a: 1}: x', 'slow'],
    ['collection key without a value in a flow mapping', 'tags: {a, [b]}', 'slow'],
    ['explicit key', '? a\n: b', 'slow'],
    ['anchor and alias', 'a: &x 1\nb: *x', 'slow'],
    ['tag', 'a: !!str 1', 'slow'],
    ['binary tag', 'a: !!binary aGk=', 'slow'],
    ['%YAML 1.1 (yes is true for yaml)', '%YAML 1.1\n---\na: yes', 'slow'],
    ['tab', 'a:\tb', 'slow'],
    ['duplicate keys', 'a: 1\na: 2', 'slow'],
    ['1 and "1" (duplicates for js-yaml only)', '1: a\n"1": b', 'slow'],
    ['several documents', 'a: 1\n---\nb: 2', 'slow'],
    ['a scalar over several lines', 'a: "x\n  y"\nb: c', 'slow'],
    ['a badly indented quoted scalar (accepted by js-yaml)', 'a:\n  key: \'x\n  \'', 'slow'],
    ['a block scalar', 'a: |\n  x\n  y\n', 'slow'],
    ['a flow collection over several lines', 'a: [1,\n  2]', 'slow'],
    ['a badly indented flow collection (accepted by js-yaml)', 'a:\n  b: [1\n, 2]', 'slow'],
    ['comment right after a flow collection (an error for yaml)', '{"":null}# end', 'slow'],
    ['content after the document start (an error for yaml)', '--- a: 1', 'slow'],
    ['---- is a string for yaml', '----', 'slow'],
    ['empty sequence entry followed by a less indented one', 'a:\n  -\n - b\n', 'slow'],
    ['a key more than 1024 characters before its colon (an error for yaml)', `tags:\n  "${'\\x41'.repeat(300)}": x`, 'slow'],
    ['an escape beyond U+10FFFF (an error for yaml)', 'a: "\\U00110000"', 'slow'],
    ['escapes', 'a: "\\U0010FFFF \\U0001F600 \\ud800 \\N\\_\\L\\P \\e\\a\\v\\0 \\/ \\x41"', 'fast'],
    ['a Windows path is not an escape', 'path: \\\\files01\\Users\\x', 'fast'],
    ['an empty block scalar', 'a: |', 'slow'],
    ['a reserved indicator', 'a: `x', 'slow'],
    ['control character', 'a: "\u0001"', 'slow'],
    ['NEL', 'a: x\u0085y', 'slow'],
    ['lone CR', 'a: 1\rb: 2', 'slow'],
    ['not a mapping (then not a plan: yaml reads it again to report that)', '- a\n- b', 'fast'],
    ['empty', '', 'slow'],
  ])('%s', (_, text, path) => {
    expect(expectAgreement(text)).toBe(path === 'fast');
  });

  test('values as yaml reads them', () => {
    const quick = (text: string) => readYamlQuickly(text)?.value;
    expect(quick('a: [yes, no, on, off]')).toEqual({ a: ['yes', 'no', 'on', 'off'] });
    expect(quick('a: [0o17, 0x1F, 0b101, -0, +.5, .inf, ~]')).toEqual({ a: [15, 31, '0b101', -0, 0.5, Infinity, null] });
    expect(quick('a: [-0x1F, 1_000, +0o7]')).toEqual({ a: ['-0x1F', '1_000', '+0o7'] });
    const proto = quick('tags:\n  __proto__: x') as { tags: object };
    expect(Object.getPrototypeOf(proto.tags)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(proto.tags, '__proto__')?.value).toBe('x');
    expect(quick('<<: {a: 1}')).toEqual({ '<<': { a: 1 } });
  });
});

describe('loading: the same plans and messages as with yaml alone', () => {
  test('__proto__ as a tag key is reported at tags.__proto__ with its line', () => {
    const text = `${toYaml(minimalPlan())}tags:\n  owner: me\n  __proto__: x\n`;
    const lines = text.split('\n');
    expect(readYamlQuickly(text)).toBeDefined();
    const result = expectSameLoad(text);
    expect(result).toEqual({
      error: expect.stringContaining(
        `:${lines.indexOf('  __proto__: x') + 1}:3 tags.__proto__: tag key "__proto__" is not supported`,
      ),
    });
  });

  test.each([
    ['non-string keys are unknown fields', `${toYaml(minimalPlan())}1: x\ntrue: y\n`],
    ['non-string tag keys are tag keys', `${toYaml(minimalPlan())}tags: {1: one, true: yes, 0x10: hex}\n`],
    ['a null tag key', `${toYaml(minimalPlan())}tags:\n  null: x\n`],
    ['a merge key', `${toYaml(minimalPlan())}<<: {location: northeurope}\n`],
    ['a hexadecimal port', toYaml(minimalPlan()).replace('host: sql01.corp.contoso.com', 'host: h\n    port: 0x599')],
    ['a binary port (a string in YAML 1.2)', toYaml(minimalPlan()).replace('host: sql01.corp.contoso.com', 'host: h\n    port: 0b1')],
    ['a negative zero timeout', toYaml(minimalPlan()).replace('server: sqldb-prod\n', 'server: sqldb-prod\n    timeoutMinutes: -0\n')],
    ['yes as a boolean field', toYaml(minimalPlan()).replace('server: sqldb-prod\n', 'server: sqldb-prod\n    validation: {checksums: yes}\n')],
    ['a YAML 1.1 document', `%YAML 1.1\n---\n${toYaml(minimalPlan())}`],
    ['CRLF', toYaml(managedInstancePlan()).replace(/\n/g, '\r\n')],
    ['BOM', `\ufeff${toYaml(managedInstancePlan())}`],
  ])('%s', (_, text) => {
    expectSameLoad(text);
  });
});

/** The ways people and tools write YAML. */
const yamlOptions: fc.Arbitrary<ToStringOptions> = fc.record(
  {
    indent: fc.integer({ min: 1, max: 4 }),
    lineWidth: fc.constantFrom(0, 40, 80),
    defaultStringType: fc.constantFrom('PLAIN', 'PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE', 'BLOCK_LITERAL'),
    defaultKeyType: fc.constantFrom(null, 'PLAIN', 'QUOTE_DOUBLE'),
    collectionStyle: fc.constantFrom('any', 'any', 'block', 'flow'),
    indentSeq: fc.boolean(),
  } as const,
  { requiredKeys: [] },
);

function serialized(document: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.oneof(
        fc.tuple(document, yamlOptions).map(([value, options]) => toYaml(value, options)),
        fc
          .tuple(document, fc.constantFrom(-1, -1, 1, 2, 3), fc.boolean())
          .map(([value, flowLevel, forceQuotes]) => jsYamlDump(value, { flowLevel, forceQuotes, lineWidth: -1 })),
        document.map((value) => JSON.stringify(value)),
      ),
      fc.constantFrom('', '', '---\n', '# plan\n', '\ufeff'),
      fc.boolean(),
      fc.boolean(),
    )
    .map(([text, start, crlf, comments]) => {
      const decorated = start + (comments ? text.replace(/\n/g, ' # note\n') : text);
      return crlf ? decorated.replace(/\n/g, '\r\n') : decorated;
    });
}

/** Damage where YAML is most fragile: indentation, punctuation, line breaks. */
function damaged(text: string): fc.Arbitrary<string> {
  const at = fc.nat({ max: text.length });
  const lineStart = (i: number) => text.lastIndexOf('\n', i - 1) + 1;
  const noise = fc.constantFrom(
    ...['{', '}', '[', ']', ':', ',', '"', "'", '\n', '- ', ': ', '---\n', '#', ' #', '|', '~', 'null: '],
    ...['\n  ', '\n- ', '-\n', 'x: 1\n', ': x', '0o1', '\r\n', '&a ', '*a', '!!str ', '? '],
  );
  return fc.oneof(
    fc.tuple(at, noise).map(([i, n]) => text.slice(0, i) + n + text.slice(i)),
    at.map((end) => text.slice(0, end)),
    fc.tuple(at, fc.nat({ max: 20 })).map(([start, length]) => text.slice(0, start) + text.slice(start + length)),
    fc.tuple(at, fc.integer({ min: 1, max: 4 })).map(([i, n]) => {
      const start = lineStart(i);
      return text.slice(0, start) + ' '.repeat(n) + text.slice(start);
    }),
    at.map((i) => {
      const start = lineStart(i);
      return text[start] === ' ' ? text.slice(0, start) + text.slice(start + 1) : text;
    }),
  );
}

/** Plans of people who write plain values (the arbitraries' odd e-mail addresses mostly take the slow path). */
const plainPlan = fc.integer({ min: 1, max: 8 }).map((count) => {
  const plan = planWithDatabases(count, (i) => (i === 0 ? [] : [`db_${i - 1}`]));
  plan.tags = { owner: 'platform', 'cost-center': '4711' };
  return plan;
});

/** A plan with one value (or key) replaced by something odd: numbers, YAML keywords, strange strings. */
function withOddValue(plan: fc.Arbitrary<any>): fc.Arbitrary<any> {
  const odd = fc.oneof(
    fc.constantFrom('yes', 'off', '0o17', '0x1F', '0b1', '-0', '+.5', '.inf', '~', 'null', '<<', '__proto__', '1e3'),
    oddString.filter((value) => value.length < 200),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
  );
  return fc.tuple(plan, odd, fc.nat(), fc.boolean()).map(([document, value, pick, asKey]) => {
    const copy = structuredClone(document);
    const holders: [Record<string, unknown>, string][] = [];
    const visit = (node: unknown) => {
      if (typeof node !== 'object' || node === null) return;
      for (const key of Object.keys(node)) {
        holders.push([node as Record<string, unknown>, key]);
        visit((node as Record<string, unknown>)[key]);
      }
    };
    visit(copy);
    const [holder, key] = holders[pick % holders.length];
    if (asKey && !Array.isArray(holder) && typeof value === 'string') {
      const moved = holder[key];
      delete holder[key];
      Object.defineProperty(holder, value, { value: moved, enumerable: true, writable: true, configurable: true });
    } else {
      holder[key] = value;
    }
    return copy;
  });
}

/** Any YAML-ish value: the scalars where YAML 1.2 and js-yaml's schemas part, nested a little. */
const anyDocument = fc.letrec((tie) => {
  const scalarText = fc.oneof(
    fc.constantFrom('', ' ', 'null', '~', 'True', 'yes', '-0', '0o17', '0x1F', '0b1', '+.5', '.NaN', '1_000', '1e3'),
    fc.constantFrom('a: b', 'a #b', '#x', '- x', '[x]', "'", '"', '\\', 'a\nb', ' lead', 'trail ', '---', '...'),
    fc.string({ unit: fc.constantFrom(...' -:,[]{}"\'#|>\n\\~.01eExab'), maxLength: 15 }),
    fc.string({ maxLength: 10 }),
  );
  return {
    value: fc.oneof(
      { depthSize: 'small' },
      scalarText,
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      tie('list'),
      tie('map'),
    ),
    list: fc.array(tie('value'), { maxLength: 4 }),
    map: fc.dictionary(scalarText, tie('value'), { maxKeys: 4 }),
  };
}).map;

describe('generated documents', () => {
  test('generated plans: the same value from both readers', () => {
    let fast = 0;
    fc.assert(
      fc.property(serialized(fc.oneof(plainPlan, validPlanDocument({ maxDatabases: 6 }))), (text) => {
        if (expectAgreement(text)) fast++;
      }),
      { numRuns: 200 },
    );
    // Not vacuous: most plain plans take the fast path.
    expect(fast).toBeGreaterThan(40);
  });

  test('generated plans with odd values, and damaged: the same value, and the same plan or error', () => {
    const documents = serialized(withOddValue(fc.oneof(plainPlan, validPlanDocument({ maxDatabases: 4 }))));
    fc.assert(
      fc.property(fc.oneof(documents, documents.chain(damaged)), (text) => {
        expectAgreement(text);
        expectSameLoad(text);
      }),
      { numRuns: 200 },
    );
  });

  test('any YAML-ish document, whole or damaged: the same value from both readers', () => {
    const documents = serialized(anyDocument);
    fc.assert(
      fc.property(fc.oneof(documents, documents.chain(damaged), documents.chain(damaged).chain(damaged)), (text) => {
        expectAgreement(text);
      }),
      { numRuns: 300 },
    );
  });
});

describe('renderMigrationPlan validates only plans that did not come from the parser', () => {
  afterEach(() => jest.restoreAllMocks());

  test('a parsed plan is rendered without a second validation', () => {
    const plan = loadMigrationPlan(EXAMPLE_PLAN);
    const safeParse = jest.spyOn(migrationPlanSchema, 'safeParse');
    const rendered = renderMigrationPlan(plan);
    expect(safeParse).not.toHaveBeenCalled();
    expect(parseMigrationPlan(JSON.parse(rendered))).toEqual(plan);
  });

  test('a copy (even an unchanged one) is validated', () => {
    const plan = parseMigrationPlan(managedInstancePlan());
    const safeParse = jest.spyOn(migrationPlanSchema, 'safeParse');
    const copy = { ...plan };
    expect(renderMigrationPlan(copy)).toBe(renderMigrationPlan(plan));
    expect(safeParse).toHaveBeenCalledTimes(1);
  });

  test('parsed plans are frozen all the way down, so they cannot change after validation', () => {
    const plan = parseMigrationPlan({ ...managedInstancePlan(), tags: { owner: 'me' } });
    const unfrozen: string[] = [];
    const visit = (value: unknown, path: string) => {
      if (typeof value !== 'object' || value === null) return;
      if (!Object.isFrozen(value)) unfrozen.push(path);
      for (const [key, child] of Object.entries(value)) visit(child, `${path}.${key}`);
    };
    visit(plan, 'plan');
    expect(unfrozen).toEqual([]);
  });
});
