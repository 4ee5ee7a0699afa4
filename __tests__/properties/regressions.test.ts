/** Counterexamples the property tests found, kept as plain examples. */
import { stringify as toYaml } from 'yaml';
import { loadMigrationPlan, migrationWaves, parseMigrationPlan } from '../../lib/plan';
import { minimalPlan, planError, planFiles, planWithDatabases } from '../plan/plan-fixtures';

const files = planFiles();

describe('names from the plan in messages', () => {
  test('a database name with a line break cannot add a line to the error', () => {
    const plan = planWithDatabases(3, (i) => (i === 0 ? ['db_1'] : i === 1 ? ['line\nbreak'] : ['db_0']));
    plan.databases[2].name = 'line\nbreak';
    plan.databases.push({ ...plan.databases[2], name: 'self\nish', dependsOn: ['self\nish'] });
    plan.databases[3].source = { server: 'sql01', database: 'Other' };
    const error = planError(() => parseMigrationPlan(plan));
    expect(error.message.split('\n')).toHaveLength(error.problems.length);
    expect(error.problems.map((p) => p.message)).toEqual(
      expect.arrayContaining([
        'dependency cycle: db_0 -> db_1 -> "line\\nbreak" -> db_0',
        '"self\\nish" cannot depend on itself',
      ]),
    );
  });

  test('a huge database name is cut short in every message', () => {
    const huge = `x${'y'.repeat(1_000_000)}`;
    const plan = planWithDatabases(2, (i) => (i === 0 ? [huge] : []));
    plan.databases[1].name = huge;
    plan.databases[1].dependsOn = [huge];
    plan.databases[1].mode = 'online';
    const error = planError(() => parseMigrationPlan(plan));
    expect(error.problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['databases[1].mode', 'databases[1].dependsOn[0]']),
    );
    for (const problem of error.problems) expect(problem.message.length).toBeLessThan(300);
  });

  test('migrationWaves quotes unknown names too', () => {
    const databases = [{ name: 'a', dependsOn: ['b\nc'] }] as never;
    expect(() => migrationWaves({ databases })).toThrow('databases[0].dependsOn[0]: unknown database "b\\nc"');
  });
});

describe('a tag named __proto__', () => {
  test.each([
    ['a string', '"x"'],
    ['a mapping', '{"polluted": true}'],
  ])('with %s as its value is a problem, not silently dropped', (_, value) => {
    const plan = minimalPlan();
    plan.tags = JSON.parse(`{"owner": "dba", "__proto__": ${value}}`);
    expect(planError(() => parseMigrationPlan(plan)).problems).toEqual([
      { path: 'tags.__proto__', message: 'tag key "__proto__" is not supported' },
    ]);
  });

  test('in a YAML file, with its line', () => {
    const text = toYaml({ ...minimalPlan(), tags: { owner: 'dba' } }).replace(
      'owner: dba',
      'owner: dba\n  __proto__: x',
    );
    const file = files.write('proto-tag.yaml', text);
    const line = text.split('\n').indexOf('  __proto__: x') + 1;
    expect(planError(() => loadMigrationPlan(file)).problems).toEqual([
      { path: 'tags.__proto__', message: 'tag key "__proto__" is not supported', line, column: 3 },
    ]);
  });
});

describe('notifications.longRunningMinutes', () => {
  test('longer is a plan problem, not an exception from the stack', () => {
    const plan = minimalPlan();
    plan.notifications.longRunningMinutes = 2866;
    expect(planError(() => parseMigrationPlan(plan)).problems).toEqual([
      { path: 'notifications.longRunningMinutes', message: 'must be an integer from 5 to 2865' },
    ]);
  });
});

describe('YAML keys that are collections', () => {
  test('are refused at their line, without a warning for programmers on the terminal', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const text = `${toYaml(minimalPlan())}? [a, b]\n: c\n`;
      const file = files.write('complex-key.yaml', text);
      expect(planError(() => loadMigrationPlan(file)).problems).toEqual([
        { path: '', message: 'a key must be a name, not a list', line: text.split('\n').indexOf('? [a, b]') + 1, column: 3 },
      ]);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });
});

describe('SQL database names the DAG would refuse', () => {
  test.each([
    ['spaces', '   ', 'must not be only whitespace'],
    ['an ideographic space', '\u3000', 'must not be only whitespace'],
    ['a C1 control character (NEL)', '\u0085', 'must be 1-128 characters without [ ] \' " or control characters'],
  ])('a name of %s is a plan problem, not a DAG import error after deploying', (_, name, message) => {
    const plan = minimalPlan();
    plan.databases[0].source.database = name;
    expect(planError(() => parseMigrationPlan(plan)).problems).toEqual([
      { path: 'databases[0].source.database', message },
    ]);
  });

  test('a tab alone is reported once, as a control character', () => {
    const plan = minimalPlan();
    plan.databases[0].target.database = '\t';
    expect(planError(() => parseMigrationPlan(plan)).problems).toEqual([
      {
        path: 'databases[0].target.database',
        message: 'must be 1-128 characters without [ ] \' " or control characters',
      },
    ]);
  });
});

describe('JSON files with nothing in them', () => {
  test('a line break alone is empty, at line 1 column 1', () => {
    expect(planError(() => loadMigrationPlan(files.write('newline.json', '\n'))).problems).toEqual([
      { path: '', message: 'JSON syntax error: the file is empty', line: 1, column: 1 },
    ]);
  });
});
