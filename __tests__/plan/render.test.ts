import { loadMigrationPlan, parseMigrationPlan, renderMigrationPlan, type MigrationPlan } from '../../lib/plan';
import { KNOWN_FIELDS } from '../properties/plan-paths';
import { EXAMPLE_PLAN, managedInstancePlan, planError } from './plan-fixtures';

function fullPlan(): MigrationPlan {
  const input = managedInstancePlan();
  input.tags = { owner: 'platform', 'cost-center': '4711' };
  input.databases[0].validation = { rowCounts: false, checksums: true, tables: ['dbo.Orders', 'sales.Lines'] };
  input.databases.push({
    name: 'database_2',
    source: { server: 'sql01', database: 'Hr' },
    target: { server: 'mi-prod', database: 'HumanResources', kind: 'SqlMi' },
    mode: 'offline',
    dependsOn: ['database_1'],
  });
  return parseMigrationPlan(input);
}

describe('renderMigrationPlan', () => {
  test('2-space indent, trailing newline, keys in schema order', () => {
    const rendered = renderMigrationPlan(loadMigrationPlan(EXAMPLE_PLAN));
    expect(rendered.endsWith('}\n')).toBe(true);
    expect(rendered.split('\n')[1]).toBe('  "name": "contoso-sql",');
    const json = JSON.parse(rendered);
    // The example writes every object the plan has: each renders all its documented fields, in that order.
    expect(Object.keys(json)).toEqual(KNOWN_FIELDS['']);
    expect(Object.keys(json.concurrency)).toEqual(KNOWN_FIELDS.concurrency);
    expect(Object.keys(json.databases[0])).toEqual(KNOWN_FIELDS['databases[]']);
    expect(Object.keys(json.databases[0].target)).toEqual(KNOWN_FIELDS['databases[].target']);
    expect(Object.keys(json.sourceServers[0])).toEqual(KNOWN_FIELDS['sourceServers[]']);
  });

  test('round-trips a plan with every optional field', () => {
    const plan = fullPlan();
    const json = JSON.parse(renderMigrationPlan(plan));
    expect(json.databases[0].validation.tables).toEqual(['dbo.Orders', 'sales.Lines']);
    expect(parseMigrationPlan(json)).toEqual(plan);
  });

  test('the same plan renders the same bytes whatever the key order of its input', () => {
    const plan = fullPlan();
    const reversed = reverseKeys(JSON.parse(JSON.stringify(plan)));
    expect(renderMigrationPlan(parseMigrationPlan(reversed))).toBe(renderMigrationPlan(plan));
  });

  test('is stable across render -> parse -> render', () => {
    const once = renderMigrationPlan(fullPlan());
    expect(renderMigrationPlan(parseMigrationPlan(JSON.parse(once)))).toBe(once);
  });

  test('refuses a hand-built plan the DAG would reject', () => {
    const plan = fullPlan();
    const broken = { ...plan, databases: [{ ...plan.databases[0], dependsOn: ['nope'] }] };
    expect(planError(() => renderMigrationPlan(broken)).message).toBe(
      '<rendered plan> databases[0].dependsOn[0]: unknown database "nope" (known: database_1)',
    );
  });
});

function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([key, child]) => [key, reverseKeys(child)]),
  );
}
