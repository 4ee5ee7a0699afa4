/**
 * Counterexamples found by fuzzing the example plans (__tests__/properties/example-mutations.test.ts):
 * each problem in the plan author's words, where the file has a position, one problem per mistake.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { parse as parseYaml } from 'yaml';
import { loadMigrationPlan, parseMigrationPlan } from '../../lib/plan';
import { EXAMPLE_PLAN, minimalPlan, planFiles, problemsOf } from './plan-fixtures';

const files = planFiles();
const example = (name: string): any => parseYaml(readFileSync(join(__dirname, '..', '..', 'examples', name), 'utf8'));
const listed = (value: unknown) => problemsOf(() => parseMigrationPlan(value)).map((p) => `${p.path}: ${p.message}`);

describe('limits without a message of their own', () => {
  test('more than 20 federated credentials: the limit in words, not zod\'s "Too big: expected array to have <=20 items"', () => {
    const plan = example('external-host.yaml');
    const [credential] = plan.airflow.external.federatedCredentials;
    plan.airflow.external.federatedCredentials = Array.from({ length: 21 }, (_, i) => ({ ...credential, name: `workers-${i}`, subject: `s${i}` }));
    expect(listed(plan)).toEqual(['airflow.external.federatedCredentials: must list at most 20 items (got 21)']);
  });

  test('a subject longer than 600 characters', () => {
    const plan = example('external-host.yaml');
    plan.airflow.external.federatedCredentials[0].subject = 's'.repeat(601);
    expect(listed(plan)).toEqual(['airflow.external.federatedCredentials[0].subject: must be at most 600 characters (got 601)']);
  });

  test('more than 200 authorized IP ranges', () => {
    const plan = parseYaml(readFileSync(EXAMPLE_PLAN, 'utf8'));
    plan.airflow.kubernetes.authorizedIpRanges = Array.from({ length: 201 }, (_, i) => `10.${i}.0.0/16`);
    expect(listed(plan)).toEqual(['airflow.kubernetes.authorizedIpRanges: must list at most 200 items (got 201)']);
  });
});

describe('a string where a list is expected, or a list where a string is', () => {
  test.each([
    ['databases', ''],
    ['sourceServers', ''],
    ['notifications.emails', 'x'.repeat(1001)],
  ])('%s: only the wrong type, not also a length zod measured on the wrong type ("needs at least one ...")', (field, value) => {
    const plan = minimalPlan();
    const [parent, key] = field.includes('.') ? [plan.notifications, 'emails'] : [plan, field];
    parent[key] = value;
    const shown = JSON.stringify(value.length > 60 ? `${value.slice(0, 59)}…` : value);
    // A list of strings (emails) gets the brackets that make one value a list, shortened as the value is; a list of mappings does not.
    const hint = field === 'notifications.emails' ? `; one value is a list too: [${shown}]` : '';
    expect(listed(plan)).toEqual([`${field}: expected a list, got a string (${shown})${hint}`]);
  });

  test('a long string for federatedCredentials is not also "Too big: expected string to have <=20 characters"', () => {
    const plan = example('external-host.yaml');
    plan.airflow.external.federatedCredentials = 'x'.repeat(30);
    expect(listed(plan)).toEqual([`airflow.external.federatedCredentials: expected a list, got a string ("${'x'.repeat(30)}")`]);
  });

  test('an empty list for a credential\'s subject is not also "must not be empty"', () => {
    const plan = example('external-host.yaml');
    plan.airflow.external.federatedCredentials[0].subject = [];
    expect(listed(plan)).toEqual(['airflow.external.federatedCredentials[0].subject: expected a string, got a list']);
  });
});

describe('objects given in code that look like what is expected', () => {
  test.each([
    ['a Map', new Map([['owner', 'dba']]), 'expected a mapping, got a Map object'],
    ['a Date', new Date(0), 'expected a mapping, got a Date object'],
    ['an Error', new Error('x'), 'expected a mapping, got an Error object'],
    ['a class instance', new (class Tags {})(), 'expected a mapping, got a Tags object'],
  ])('%s as tags is not "expected a mapping, got a mapping"', (_, tags, message) => {
    expect(listed({ ...minimalPlan(), tags })).toEqual([`tags: ${message}`]);
  });

  test('a String object as the location, a Set as the emails', () => {
    const plan = minimalPlan();
    plan.location = new String('westeurope');
    plan.notifications.emails = new Set(plan.notifications.emails);
    expect(listed(plan)).toEqual(['location: expected a string, got a String object', 'notifications.emails: expected a list, got a Set object']);
  });
});

describe('a getter that throws something other than an Error', () => {
  test.each([
    ['undefined', undefined],
    ['an object', { code: 7 }],
    ['an Error without a message', new TypeError()],
  ])('throwing %s: the message says so, not "undefined" or "[object Object]"', (_, thrown) => {
    const plan = minimalPlan();
    Object.defineProperty(plan, 'location', {
      enumerable: true,
      get: () => {
        throw thrown;
      },
    });
    const [problem] = problemsOf(() => parseMigrationPlan(plan));
    expect(problem.message).toBe(
      `cannot read the plan: ${thrown instanceof Error ? 'TypeError' : 'something other than an Error'} was thrown, without a message`,
    );
  });
});

const throwing = (): never => {
  throw new Error('not loaded yet');
};

describe('a value given in code that throws when asked what it is', () => {
  test.each([
    ['a Proxy whose traps throw', () => new Proxy({}, { getPrototypeOf: throwing, get: throwing })],
    ['an object whose constructor getter throws', () => Object.create({ get constructor() { return throwing(); } })],
  ])('%s, where text is expected: a mapping', (_, make) => {
    const plan: any = minimalPlan();
    plan.location = make();
    expect(listed(plan)).toEqual(['location: expected a string, got a mapping']);
  });

  test('a revoked Proxy: a plan problem, not a TypeError', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const plan: any = minimalPlan();
    plan.location = proxy;
    expect(listed(plan)).toEqual([expect.stringMatching(/^: cannot read the plan: Cannot perform 'IsArray' on a proxy that has been revoked$/)]);
  });
});

describe('what was thrown, in its own words', () => {
  test.each([
    ['a number', 42, '42'],
    ['an Error of another realm (a vm context)', runInNewContext('new RangeError("settings not loaded")'), 'settings not loaded'],
  ])('a getter throwing %s: its words', (_, thrown, words) => {
    const plan = minimalPlan();
    Object.defineProperty(plan, 'location', {
      enumerable: true,
      get: () => {
        throw thrown;
      },
    });
    expect(problemsOf(() => parseMigrationPlan(plan))[0].message).toBe(`cannot read the plan: ${words}`);
  });

  test("a file Node cannot read: Node's words (its fs errors are of another realm in Jest's sandbox)", () => {
    // (A symbolic link loop, which this was, has words of its own now: load.test.ts.)
    const tooLong = join(files.dir(), `${'x'.repeat(300)}.yaml`);
    expect(problemsOf(() => loadMigrationPlan(tooLong))[0].message).toMatch(/^cannot read file: ENAMETOOLONG: name too long/);
  });
});

describe('YAML mistakes the reader finds late', () => {
  test('an alias without its anchor has the line and column of the alias', () => {
    const text = readFileSync(EXAMPLE_PLAN, 'utf8').replace('location: westeurope', 'location: *region');
    const line = text.split('\n').indexOf('location: *region') + 1;
    expect(problemsOf(() => loadMigrationPlan(files.write('dangling-alias.yaml', text)))).toEqual([
      { path: '', message: 'cannot read YAML: Unresolved alias (the anchor must be set before the alias): region', line, column: 11 },
    ]);
  });

  test('nesting too deep for the reader is named so, not "Maximum call stack size exceeded"', () => {
    const text = `tags: ${'{a: '.repeat(2000)}1${'}'.repeat(2000)}\n`;
    const [problem] = problemsOf(() => loadMigrationPlan(files.write('too-deep.yaml', text)));
    expect(problem).toEqual(expect.objectContaining({ path: '', message: 'YAML syntax error: nested too deeply: a plan is a few levels deep', line: 1 }));
  });

  test('a null key (~) is an unknown field with its line', () => {
    const text = readFileSync(EXAMPLE_PLAN, 'utf8').replace('location: westeurope', 'location: westeurope\n~: x');
    const line = text.split('\n').indexOf('~: x') + 1;
    expect(problemsOf(() => loadMigrationPlan(files.write('null-key.yaml', text)))).toEqual([
      expect.objectContaining({ path: '[""]', message: expect.stringMatching(/^unknown field/), line, column: 1 }),
    ]);
  });
});

describe('an airflow host left empty (host: with nothing after it)', () => {
  test('is one problem, not also "applies to host dataFactory only, but host is kubernetes"', () => {
    const text = readFileSync(join(__dirname, '..', '..', 'examples', 'data-factory-host.yaml'), 'utf8');
    expect(text).toMatch(/^ {2}host: dataFactory\b.*$/m);
    const file = files.write('empty-host.yaml', text.replace(/^ {2}host: dataFactory\b.*$/m, '  host:'));
    expect(problemsOf(() => loadMigrationPlan(file)).map((p) => `${p.path}: ${p.message}`)).toEqual([
      'airflow.host: must be one of kubernetes, dataFactory, fabric, external (got null)',
    ]);
  });
});

describe('characters that do not show (a no-break or zero-width space pasted from a chat or a wiki page)', () => {
  test('a value a rule refuses is shown escaped, as the message would otherwise name a value that looks right', () => {
    const plan = minimalPlan();
    plan.location = 'westeurope\u00a0';
    plan.name = 'contoso\u200b-sql';
    plan.databases[0].source.database = 'Sales';
    expect(listed(plan)).toEqual([
      'name: must be 3-16 lowercase letters, digits and single hyphens, start with a letter and not end with a hyphen (it prefixes Azure resource names such as kv-<name>-xxxx, at most 24 characters) (got "contoso\\u200b-sql", which holds a character that does not show)',
      'location: must be an Azure region short name such as westeurope (lowercase letters and digits) (got "westeurope\\u00a0", which holds a character that does not show)',
    ]);
  });

  test('a name quoted in a message and a key in a field path show them escaped, once', () => {
    const plan = minimalPlan();
    plan.databases[0].source.server = 'sql01\u200b';
    plan.databases[0]['mode\u00a0'] = 'offline';
    plan.tags = { 'owner\u2060': 'platform\u{e0001}' };
    expect(listed(plan)).toEqual([
      'databases[0].source.server: unknown source server "sql01\\u200b" (did you mean "sql01"? known: sql01)',
      'databases[0]["mode\\u00a0"]: unknown field (did you mean mode?)',
    ]);
  });
});
