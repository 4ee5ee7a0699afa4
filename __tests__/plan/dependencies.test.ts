/** dependsOn: references, cycles, and the waves the DAG runs. */
import { migrationWaves, parseMigrationPlan, topologicalOrder, type MigrationPlan } from '../../lib/plan';
import { planError, planWithDatabases, problemsOf } from './plan-fixtures';

/** A plan whose databases a, b, c, ... have the given dependencies. */
function planWith(dependencies: Record<string, string[]>): any {
  const names = Object.keys(dependencies);
  const plan = planWithDatabases(names.length);
  plan.databases.forEach((db: any, i: number) => {
    db.name = names[i];
    db.dependsOn = dependencies[names[i]];
  });
  return plan;
}

function problemLines(plan: unknown): string[] {
  return problemsOf(() => parseMigrationPlan(plan)).map((p) => `${p.path}: ${p.message}`);
}

describe('dependsOn entries', () => {
  test('unknown, self and duplicate dependencies, each its own problem', () => {
    expect(problemLines(planWith({ a: ['a', 'b', 'b', 'x'], b: [] }))).toEqual([
      'databases[0].dependsOn[0]: a cannot depend on itself',
      'databases[0].dependsOn[2]: duplicate dependency "b"',
      'databases[0].dependsOn[3]: unknown database "x" (known: a, b)',
    ]);
  });

  test('an unknown dependency that looks like a typo gets a hint', () => {
    expect(problemLines(planWith({ sales: [], reporting: ['Sales'] }))).toEqual([
      'databases[1].dependsOn[0]: unknown database "Sales" (did you mean "sales"? known: sales, reporting)',
    ]);
  });

  test('the list of known databases stays short in big plans', () => {
    const plan = planWithDatabases(30, (i) => (i === 29 ? ['nope'] : []));
    expect(problemLines(plan)).toEqual([
      'databases[29].dependsOn[0]: unknown database "nope" (known: db_0, db_1, db_2, db_3, db_4, db_5, db_6, db_7, … (22 more))',
    ]);
  });
});

describe('dependency cycles', () => {
  test('a two-database cycle prints the loop', () => {
    expect(problemLines(planWith({ a: ['b'], b: ['a'] }))).toEqual([
      'databases[0].dependsOn[0]: dependency cycle: a -> b -> a',
    ]);
  });

  test('a longer cycle starts at its first database in plan order and follows dependsOn', () => {
    expect(problemLines(planWith({ x: [], c: ['a'], a: ['x', 'b'], b: ['c'] }))).toEqual([
      'databases[1].dependsOn[0]: dependency cycle: c -> a -> b -> c',
    ]);
  });

  test('each distinct cycle is reported once', () => {
    expect(problemLines(planWith({ a: ['b'], b: ['a'], c: ['d'], d: ['e'], e: ['c'], f: ['a'] }))).toEqual([
      'databases[0].dependsOn[0]: dependency cycle: a -> b -> a',
      'databases[2].dependsOn[0]: dependency cycle: c -> d -> e -> c',
    ]);
  });

  test('databases entangled in the same loop are named', () => {
    expect(problemLines(planWith({ a: ['b'], b: ['a', 'c'], c: ['b'] }))).toEqual([
      'databases[0].dependsOn[0]: dependency cycle: a -> b -> a (in the same loop: c)',
    ]);
  });

  test('cycles and other problems are reported together', () => {
    expect(problemLines(planWith({ a: ['b', 'a'], b: ['a', 'zz'] }))).toEqual([
      'databases[0].dependsOn[0]: dependency cycle: a -> b -> a',
      'databases[0].dependsOn[1]: a cannot depend on itself',
      'databases[1].dependsOn[1]: unknown database "zz" (known: a, b)',
    ]);
  });

  test('a cycle closed by a dependency of the last of 1,000 databases', () => {
    const plan = planWithDatabases(1000, (i) => (i === 0 ? ['db_999'] : [`db_${i - 1}`]));
    const problems = problemsOf(() => parseMigrationPlan(plan));
    expect(problems).toHaveLength(1);
    expect(problems[0].path).toBe('databases[0].dependsOn[0]');
    expect(problems[0].message).toMatch(/^dependency cycle: db_0 -> db_999 -> db_998 -> .* -> db_1 -> db_0$/);
    expect(problems[0].message.split(' -> ')).toHaveLength(1001);
  });
});

describe('migrationWaves and topologicalOrder', () => {
  const parse = (dependencies: Record<string, string[]>): MigrationPlan => parseMigrationPlan(planWith(dependencies));

  test('independent databases form one wave in plan order', () => {
    const plan = parse({ c: [], a: [], b: [] });
    expect(migrationWaves(plan)).toEqual([['c', 'a', 'b']]);
    expect(topologicalOrder(plan)).toEqual(['c', 'a', 'b']);
  });

  test('a diamond', () => {
    const plan = parse({ top: ['left', 'right'], left: ['base'], right: ['base'], base: [] });
    expect(migrationWaves(plan)).toEqual([['base'], ['left', 'right'], ['top']]);
    expect(topologicalOrder(plan)).toEqual(['base', 'left', 'right', 'top']);
  });

  test('a database waits for its slowest dependency', () => {
    const plan = parse({ a: [], b: ['a'], c: ['b'], d: ['a', 'c'], e: [] });
    expect(migrationWaves(plan)).toEqual([['a', 'e'], ['b'], ['c'], ['d']]);
  });

  test('every database comes after its dependencies', () => {
    const plan = parse({ f: ['e', 'a'], e: ['d'], d: [], c: ['f', 'b'], b: [], a: ['b'] });
    const order = topologicalOrder(plan);
    expect([...order].sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    for (const db of plan.databases) {
      for (const dep of db.dependsOn) expect(order.indexOf(dep)).toBeLessThan(order.indexOf(db.name));
    }
  });

  test('a hand-built plan with a cycle or an unknown dependency is refused', () => {
    const plan = parse({ a: [], b: [] });
    const cyclic = {
      databases: [
        { ...plan.databases[0], dependsOn: ['b'] },
        { ...plan.databases[1], dependsOn: ['a'] },
      ],
    };
    expect(planError(() => migrationWaves(cyclic)).message).toBe('<plan> databases: dependency cycle: a -> b -> a');
    const dangling = { databases: [{ ...plan.databases[0], dependsOn: ['ghost'] }] };
    expect(planError(() => topologicalOrder(dangling)).message).toBe(
      '<plan> databases[0].dependsOn[0]: unknown database "ghost"',
    );
  });
});

describe('1,000 databases', () => {
  test('a chain parses into 1,000 waves', () => {
    const plan = parseMigrationPlan(planWithDatabases(1000, (i) => (i === 0 ? [] : [`db_${i - 1}`])));
    const waves = migrationWaves(plan);
    expect(waves).toHaveLength(1000);
    expect(waves[999]).toEqual(['db_999']);
    expect(topologicalOrder(plan)).toEqual(plan.databases.map((db) => db.name));
  });

  test('stacked diamonds parse into the expected waves', () => {
    // db_0 fans out to db_1..db_3, which join into db_4, which fans out again, and so on.
    const plan = parseMigrationPlan(
      planWithDatabases(1000, (i) => {
        if (i === 0) return [];
        const join = Math.floor((i - 1) / 4) * 4;
        return i % 4 === 0 ? [`db_${i - 3}`, `db_${i - 2}`, `db_${i - 1}`] : [`db_${join}`];
      }),
    );
    const waves = migrationWaves(plan);
    expect(waves).toHaveLength(1 + 2 * 249 + 1);
    expect(waves[0]).toEqual(['db_0']);
    expect(waves[1]).toEqual(['db_1', 'db_2', 'db_3']);
    expect(waves[2]).toEqual(['db_4']);
    expect(waves[waves.length - 1]).toEqual(['db_997', 'db_998', 'db_999']);
    expect(waves.flat()).toHaveLength(1000);
  });
});
