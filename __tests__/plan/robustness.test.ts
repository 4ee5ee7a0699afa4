/** Any input at all ends in a plan or a MigrationPlanError, never another exception. */
import { stringify as toYaml } from 'yaml';
import { loadMigrationPlan, MigrationPlanError, parseMigrationPlan } from '../../lib/plan';
import { withCpuMilliseconds } from '../helpers/cpu-time';
import { minimalPlan, planError, planFiles, problemsOf } from './plan-fixtures';

const files = planFiles();

describe('values that are not plans', () => {
  test.each([
    ['null', null, 'expected a mapping, got null'],
    ['undefined', undefined, 'missing required field'],
    ['a number', 42, 'expected a mapping, got a number (42)'],
    ['a string', 'name: x', 'expected a mapping, got a string ("name: x")'],
    ['a list', [minimalPlan()], 'expected a mapping, got a list'],
    ['a boolean', true, 'expected a mapping, got true'],
    ['a function', () => 1, 'expected a mapping, got a function'],
  ])('%s', (_, value, message) => {
    const error = planError(() => parseMigrationPlan(value));
    expect(error.problems).toEqual([{ path: '', message }]);
    expect(error.message).toBe(`<plan>: ${message}`);
  });

  test('the source name appears in messages', () => {
    expect(planError(() => parseMigrationPlan(null, 'request body')).message).toBe(
      'request body: expected a mapping, got null',
    );
  });

  test('an empty mapping lists every required field', () => {
    expect(problemsOf(() => parseMigrationPlan({})).map((p) => p.path)).toEqual([
      'name',
      'location',
      'notifications',
      'sourceServers',
      'targetServers',
      'databases',
    ]);
  });

  test('lists of the wrong things', () => {
    const plan = minimalPlan();
    plan.databases = [null, 'database_1', 7, []];
    plan.sourceServers = [{}];
    expect(problemsOf(() => parseMigrationPlan(plan)).map((p) => `${p.path}: ${p.message}`)).toEqual([
      'sourceServers[0].name: missing required field',
      'sourceServers[0].host: missing required field',
      'databases[0]: expected a mapping, got null',
      'databases[1]: expected a mapping, got a string ("database_1")',
      'databases[2]: expected a mapping, got a number (7)',
      'databases[3]: expected a mapping, got a list',
    ]);
  });
});

describe('hostile input', () => {
  test('__proto__ from JSON is an unknown field and pollutes nothing', () => {
    const value = JSON.parse(`{"__proto__": {"polluted": true}, "databases": [{"__proto__": {"isAdmin": true}}]}`);
    const problems = problemsOf(() => parseMigrationPlan(value));
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: '__proto__', message: expect.stringMatching(/^unknown field/) },
        { path: 'databases[0].__proto__', message: expect.stringMatching(/^unknown field/) },
      ]),
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  test.each([
    [
      'YAML',
      'plan.yaml',
      `${toYaml(minimalPlan())}__proto__:\n  polluted: true\nconstructor:\n  prototype:\n    polluted: true\n`,
    ],
    [
      'JSON',
      'plan.json',
      JSON.stringify(minimalPlan()).replace(
        /^\{/,
        '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, ',
      ),
    ],
  ])('__proto__ and constructor keys in a %s file', (_, name, text) => {
    const problems = planError(() => loadMigrationPlan(files.write(name, text))).problems;
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      expect.stringMatching(/^__proto__: unknown field/),
      expect.stringMatching(/^constructor: unknown field/),
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('keys named like Object.prototype members are unknown fields of the airflow section too', () => {
    const plan = { ...minimalPlan(), airflow: JSON.parse('{"__proto__": 1, "constructor": 2, "toString": 3}') };
    expect(problemsOf(() => parseMigrationPlan(plan)).map((p) => `${p.path}: ${p.message}`)).toEqual([
      'airflow.__proto__: unknown field (allowed: host, sqlAccess, kubernetes, dataFactory, fabric, external)',
      'airflow.constructor: unknown field (allowed: host, sqlAccess, kubernetes, dataFactory, fabric, external)',
      'airflow.toString: unknown field (allowed: host, sqlAccess, kubernetes, dataFactory, fabric, external)',
    ]);
  });

  test('huge strings are reported briefly and quickly', () => {
    const huge = 'x'.repeat(5_000_000);
    const plan = minimalPlan();
    plan.name = huge;
    plan.notifications.emails = [`${huge}@contoso.com`, huge];
    plan.databases[0].dependsOn = [huge];
    plan.databases[0].source.database = huge;
    plan.sourceServers[0].host = huge;
    plan.tags = { [huge]: huge };
    const [error, spent] = withCpuMilliseconds(() => planError(() => parseMigrationPlan(plan)));
    expect(spent).toBeLessThan(5000);
    expect(error.problems.map((p) => p.path)).toEqual([
      'name',
      'notifications.emails[0]',
      'notifications.emails[1]',
      'sourceServers[0].host',
      'databases[0].source.database',
      'databases[0].dependsOn[0]',
      // added last to the value, so listed last
      `tags["${'x'.repeat(59)}…"]`,
    ]);
    expect(error.message.length).toBeLessThan(3000);
  });

  test('a YAML alias bomb is refused', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...'bcdefgh'.split('').map((n, i) => `${n}: &${n} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`),
    ].join('\n');
    const error = planError(() => loadMigrationPlan(files.write('bomb.yaml', bomb)));
    expect(error.problems).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/^YAML aliases expand too far: .* "billion laughs"/), line: 3 }),
    ]);
  });

  test('YAML with deep nesting is a plan problem', () => {
    const error = planError(() =>
      loadMigrationPlan(files.write('deep.yaml', `tags: ${'['.repeat(5000)}${']'.repeat(5000)}\n`)),
    );
    expect(error).toBeInstanceOf(MigrationPlanError);
  });

  test('a value whose getter throws is a plan problem', () => {
    const plan = minimalPlan();
    Object.defineProperty(plan, 'location', {
      enumerable: true,
      get: () => {
        throw new Error('boom');
      },
    });
    expect(planError(() => parseMigrationPlan(plan)).problems).toEqual([
      { path: '', message: 'cannot read the plan: boom' },
    ]);
  });

  test('a cyclic value does not hang', () => {
    const plan = minimalPlan();
    plan.tags = plan;
    plan.databases[0].validation = plan.databases[0];
    expect(problemsOf(() => parseMigrationPlan(plan)).length).toBeGreaterThan(0);
  });
});

describe('several problems at once', () => {
  test('every kind of problem in one plan is reported in one error, one per line', () => {
    const plan = minimalPlan();
    plan.name = 'Bad Name';
    plan.notifications.emails = ['not-an-email'];
    plan.airflow = { version: '3.0.0' };
    plan.sourceServers.push({ name: 'sql01', host: 'sql01b.corp' });
    plan.databases.push(
      {
        name: 'database_2',
        source: { server: 'sql09', database: 'Hr' },
        target: { server: 'sqldb-prod' },
        mode: 'online',
        dependsOn: ['database_3'],
      },
      {
        name: 'database_3',
        source: { server: 'sql01', database: 'master' },
        target: { server: 'sqldb-prod' },
        dependson: [],
        dependsOn: ['database_2'],
      },
    );
    const error = planError(() => parseMigrationPlan(plan, 'plan.yaml'));
    expect(error.message.split('\n')).toEqual([
      'plan.yaml name: must be 3-16 lowercase letters, digits and single hyphens, start with a letter and not end with a hyphen (it prefixes Azure resource names such as kv-<name>-xxxx, at most 24 characters)',
      'plan.yaml notifications.emails[0]: must be an email address like name@example.com',
      'plan.yaml sourceServers[1].name: duplicate source server name "sql01" (also sourceServers[0])',
      'plan.yaml databases[1].source.server: unknown source server "sql09" (did you mean "sql01"? known: sql01)',
      'plan.yaml databases[1].mode: database_2 cannot migrate online: DMS migrates to Azure SQL Database (SqlDb) offline only; use mode: offline',
      'plan.yaml databases[1].dependsOn[0]: dependency cycle: database_2 -> database_3 -> database_2',
      'plan.yaml databases[2].source.database: is a system database (master, model, msdb, tempdb); only user databases can be migrated',
      'plan.yaml databases[2].dependson: unknown field (did you mean dependsOn?)',
      // The minimal plan has no airflow section: the one set here comes last in the document.
      'plan.yaml airflow.version: the stack no longer creates a Data Factory Airflow environment: Microsoft stopped the creation of new Workflow Orchestration Manager environments on 2026-01-01. Remove version, computeSize and extraNodes. Leave airflow out to run Airflow 3 on AKS (host: kubernetes, the default), or write host: dataFactory with dataFactory: { environmentId: <ARM id of your existing environment>, servicePrincipal: {...} } to keep an environment you already have, or host: fabric / host: external',
    ]);
    expect(error.problems).toHaveLength(9);
  });

  test('problems are frozen data', () => {
    const error = planError(() => parseMigrationPlan({}));
    expect(Object.isFrozen(error.problems)).toBe(true);
    expect(Object.isFrozen(error.problems[0])).toBe(true);
  });
});
