/** 1,000 databases load correctly from both file formats (timing is measured outside the tests). */
import { stringify as toYaml } from 'yaml';
import { loadMigrationPlan, migrationWaves, parseMigrationPlan, renderMigrationPlan } from '../../lib/plan';
import { planFiles, planWithDatabases } from './plan-fixtures';

const files = planFiles();

/** Ten independent chains of 100 databases, each link also depending on the head of its chain. */
function braidedPlan(): any {
  return planWithDatabases(1000, (i) => (i < 10 ? [] : [`db_${i - 10}`, ...(i >= 20 ? [`db_${i % 10}`] : [])]));
}

test.each([
  ['YAML', 'large.yaml', (value: unknown) => toYaml(value)],
  ['JSON', 'large.json', (value: unknown) => JSON.stringify(value, null, 2)],
])('a 1,000-database %s plan loads with every database and dependency', (_, name, serialize) => {
  const plan = loadMigrationPlan(files.write(name, serialize(braidedPlan())));
  expect(plan.databases).toHaveLength(1000);
  expect(plan.databases[999].dependsOn).toEqual(['db_989', 'db_9']);
  const waves = migrationWaves(plan);
  expect(waves).toHaveLength(100);
  expect(waves.every((wave) => wave.length === 10)).toBe(true);
  expect(waves[99]).toEqual(Array.from({ length: 10 }, (_, i) => `db_${990 + i}`));
});

test('a 1,000-database plan renders and round-trips', () => {
  const plan = parseMigrationPlan(braidedPlan());
  const rendered = renderMigrationPlan(plan);
  expect(JSON.parse(rendered).databases).toHaveLength(1000);
  expect(parseMigrationPlan(JSON.parse(rendered))).toEqual(plan);
});

test('a 1,000-database plan with a problem in every database reports all of them', () => {
  const plan = braidedPlan();
  plan.databases.forEach((db: any) => (db.mode = 'online'));
  const problems = (() => {
    try {
      parseMigrationPlan(plan);
    } catch (error) {
      return (error as { problems: unknown[] }).problems;
    }
    return [];
  })();
  expect(problems).toHaveLength(1000);
});
