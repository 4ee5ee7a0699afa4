/** Every default the schema documents (lib/plan/document-schema.ts, docs/migration-plan.md's field table), filled in by parsing. */
import { parseMigrationPlan } from '../../lib/plan';
import { managedInstancePlan, minimalPlan } from './plan-fixtures';

describe('defaults', () => {
  const plan = parseMigrationPlan(minimalPlan());

  test('plan level', () => {
    expect(plan.tags).toEqual({});
    expect(plan.notifications.longRunningMinutes).toBe(60);
    expect(plan.airflow).toEqual({
      host: 'kubernetes',
      sqlAccess: 'direct',
      kubernetes: { nodeVmSize: 'Standard_D4ds_v5', minNodes: 1, maxNodes: 4, executor: 'CeleryExecutor', secretRotation: 1 },
    });
    expect(plan.concurrency).toEqual({ maxMigrationsPerService: 10, maxMigrationsPerSourceServer: 2, maxSqlStepsPerRuntime: 4 });
    expect(plan).not.toHaveProperty('backupStorage');
  });

  test('source servers', () => {
    expect(plan.sourceServers[0]).toEqual({
      name: 'sql01',
      host: 'sql01.corp.contoso.com',
      port: 1433,
      authentication: 'SqlAuthentication',
      connectionId: 'mssql_source_sql01',
      connectionStringSecretName: 'sql01-connection-string',
    });
  });

  test('connection ids replace hyphens with underscores', () => {
    const input = minimalPlan();
    input.sourceServers[0].name = 'sql-east-01';
    input.databases[0].source.server = 'sql-east-01';
    const parsed = parseMigrationPlan(input);
    expect(parsed.sourceServers[0].connectionId).toBe('mssql_source_sql_east_01');
    expect(parsed.sourceServers[0].connectionStringSecretName).toBe('sql-east-01-connection-string');
    expect(parsed.targetServers[0].connectionId).toBe('mssql_target_sqldb_prod');
  });

  test('databases', () => {
    expect(plan.databases[0]).toEqual({
      name: 'database_1',
      source: { server: 'sql01', database: 'Sales' },
      target: { server: 'sqldb-prod', database: 'Sales', kind: 'SqlDb' },
      mode: 'offline',
      sourceFreeze: 'readOnly',
      allowSourceWritesDuringCopy: false,
      dependsOn: [],
      validation: { rowCounts: true, checksums: false },
      timeoutMinutes: 720,
      cutover: { windows: [], expectedMinutes: 30, approval: { required: false, approvers: [], channel: 'hitl' } },
    });
  });

  test('a partial validation block keeps what is given', () => {
    const input = minimalPlan();
    input.databases[0].validation = { checksums: true, tables: ['dbo.Orders'] };
    expect(parseMigrationPlan(input).databases[0].validation).toEqual({
      rowCounts: true,
      checksums: true,
      tables: ['dbo.Orders'],
    });
  });

  test('a partial concurrency block keeps what is given', () => {
    const input = minimalPlan();
    input.concurrency = { maxMigrationsPerSourceServer: 1 };
    expect(parseMigrationPlan(input).concurrency).toEqual({
      maxMigrationsPerService: 10,
      maxMigrationsPerSourceServer: 1,
      maxSqlStepsPerRuntime: 4,
    });
  });

  test('given values win over defaults', () => {
    const input = managedInstancePlan();
    Object.assign(input.sourceServers[0], {
      port: 14330,
      authentication: 'WindowsAuthentication',
      connectionId: 'sql01_login',
      connectionStringSecretName: 'sql01-cs',
    });
    input.targetServers[0].connectionId = 'mi_login';
    Object.assign(input.databases[0], { mode: 'offline', timeoutMinutes: 60, sourceFreeze: 'singleUser' });
    input.databases[0].target.database = 'SalesNew';
    input.airflow = { sqlAccess: 'dataFactory', kubernetes: { maxNodes: 8 } };
    input.notifications.longRunningMinutes = 90;
    const parsed = parseMigrationPlan(input);
    expect(parsed.sourceServers[0]).toMatchObject({
      port: 14330,
      authentication: 'WindowsAuthentication',
      connectionId: 'sql01_login',
      connectionStringSecretName: 'sql01-cs',
    });
    expect(parsed.targetServers[0].connectionId).toBe('mi_login');
    expect(parsed.databases[0]).toMatchObject({
      mode: 'offline',
      timeoutMinutes: 60,
      sourceFreeze: 'singleUser',
      target: { database: 'SalesNew', kind: 'SqlMi' },
    });
    expect(parsed.airflow).toMatchObject({ sqlAccess: 'dataFactory', kubernetes: { minNodes: 1, maxNodes: 8 } });
    expect(parsed.notifications.longRunningMinutes).toBe(90);
  });

  test('parsing does not change its input', () => {
    const input = minimalPlan();
    const copy = structuredClone(input);
    parseMigrationPlan(input);
    expect(input).toEqual(copy);
  });
});
