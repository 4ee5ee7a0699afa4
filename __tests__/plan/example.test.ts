import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import {
  loadMigrationPlan,
  migrationWaves,
  parseMigrationPlan,
  renderMigrationPlan,
  topologicalOrder,
  type MigrationPlan,
} from '../../lib/plan';
import { EXAMPLE_PLAN } from './plan-fixtures';

describe('the default plan (examples/three-databases.yaml)', () => {
  let plan: MigrationPlan;
  beforeAll(() => {
    plan = loadMigrationPlan(EXAMPLE_PLAN);
  });

  test('loads cleanly with its own values', () => {
    expect(plan.name).toBe('contoso-sql');
    expect(plan.location).toBe('westeurope');
    expect(plan.tags).toEqual({ owner: 'platform-team', 'cost-center': '4711' });
    expect(plan.notifications.emails).toEqual(['dba-oncall@contoso.com']);
    expect(plan.databases.map((db) => db.name)).toEqual(['database_1', 'database_2', 'database_3']);
    expect(plan.databases.map((db) => db.mode)).toEqual(['online', 'online', 'offline']);
    expect(plan.databases[2].validation).toEqual({ rowCounts: true, checksums: true });
  });

  test('has its defaults filled in', () => {
    expect(plan.airflow).toMatchObject({ host: 'kubernetes', sqlAccess: 'direct', kubernetes: { executor: 'CeleryExecutor' } });
    expect(plan.sourceServers[0]).toMatchObject({
      port: 1433,
      authentication: 'SqlAuthentication',
      connectionId: 'mssql_source_sql01',
      connectionStringSecretName: 'sql01-connection-string',
    });
    expect(plan.targetServers[0].connectionId).toBe('mssql_target_mi_prod');
    expect(plan.databases[0]).toMatchObject({
      target: { server: 'mi-prod', database: 'Sales', kind: 'SqlMi' },
      dependsOn: [],
      validation: { rowCounts: true, checksums: false },
      timeoutMinutes: 720,
    });
  });

  test('runs database_1 and database_2 in parallel, database_3 after both', () => {
    expect(plan.databases[2].dependsOn).toEqual(['database_1', 'database_2']);
    expect(migrationWaves(plan)).toEqual([['database_1', 'database_2'], ['database_3']]);
    expect(topologicalOrder(plan)).toEqual(['database_1', 'database_2', 'database_3']);
  });

  test('renders migration_plan.json that round-trips', () => {
    const rendered = renderMigrationPlan(plan);
    const json = JSON.parse(rendered);
    expect(json.databases[2].dependsOn).toEqual(['database_1', 'database_2']);
    expect(json.databases[0].target).toEqual({ server: 'mi-prod', database: 'Sales', kind: 'SqlMi' });
    expect(parseMigrationPlan(json)).toEqual(plan);
  });

  test('loads to the same plan as parsing the YAML value directly', () => {
    const value = parseYaml(readFileSync(EXAMPLE_PLAN, 'utf8'));
    expect(parseMigrationPlan(value)).toEqual(plan);
  });

  test('is deeply frozen', () => {
    expect(Object.isFrozen(plan)).toBe(true);
    expect(Object.isFrozen(plan.databases[2].dependsOn)).toBe(true);
    expect(Object.isFrozen(plan.sourceServers[0].backupFileShare)).toBe(true);
    expect(() => (plan.databases as unknown as unknown[]).push({})).toThrow(TypeError);
  });
});
