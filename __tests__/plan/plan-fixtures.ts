/** Shared test data and helpers for the plan tests: a valid plan document to break in one place at a time. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MigrationPlanError, type PlanProblem } from '../../lib/plan';

export const EXAMPLE_PLAN = join(__dirname, '..', '..', 'examples', 'three-databases.yaml');

const SUBSCRIPTION = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data';
export const MI_ID = `${SUBSCRIPTION}/providers/Microsoft.Sql/managedInstances/mi-one`;
export const SQL_SERVER_ID = `${SUBSCRIPTION}/providers/Microsoft.Sql/servers/sql-one`;
export const SQL_VM_ID = `${SUBSCRIPTION}/providers/Microsoft.SqlVirtualMachine/sqlVirtualMachines/vm-one`;
export const STORAGE_ID = `${SUBSCRIPTION}/providers/Microsoft.Storage/storageAccounts/stbackups`;

/** The problem of a SQL database name beginning or ending with whitespace. */
export const EDGE_WHITESPACE = 'must not begin or end with whitespace (SQL Server ignores trailing spaces in names: "Sales " is Sales)';

/** A plain, mutable plan document (as JSON.parse would give) with only the required fields. */
export function minimalPlan(): any {
  return {
    name: 'contoso-sql',
    location: 'westeurope',
    notifications: { emails: ['dba@contoso.com'] },
    sourceServers: [{ name: 'sql01', host: 'sql01.corp.contoso.com' }],
    targetServers: [{ name: 'sqldb-prod', kind: 'SqlDb', resourceId: SQL_SERVER_ID }],
    databases: [
      { name: 'database_1', source: { server: 'sql01', database: 'Sales' }, target: { server: 'sqldb-prod' } },
    ],
  };
}

/** A plan with a managed-instance target, which needs backup storage and a backup share. */
export function managedInstancePlan(): any {
  const plan = minimalPlan();
  plan.sourceServers[0].backupFileShare = { path: '\\\\files01\\backups\\sql01', connectionId: 'smb_files01' };
  plan.targetServers = [{ name: 'mi-prod', kind: 'SqlMi', resourceId: MI_ID }];
  plan.backupStorage = { storageAccountResourceId: STORAGE_ID, connectionId: 'backup_storage_key' };
  plan.databases[0].target.server = 'mi-prod';
  return plan;
}

/** `count` databases on one SqlDb server, named db_0 ... */
export function planWithDatabases(count: number, dependsOn: (index: number) => string[] = () => []): any {
  const plan = minimalPlan();
  plan.databases = Array.from({ length: count }, (_, i) => ({
    name: `db_${i}`,
    source: { server: 'sql01', database: `Db${i}` },
    target: { server: 'sqldb-prod' },
    dependsOn: dependsOn(i),
  }));
  return plan;
}

/** Runs `action`, which must throw a MigrationPlanError, and returns the error. */
export function planError(action: () => unknown): MigrationPlanError {
  try {
    action();
  } catch (error) {
    if (error instanceof MigrationPlanError) return error;
    throw new Error(`expected a MigrationPlanError, got ${String(error)}`);
  }
  throw new Error('expected a MigrationPlanError, but nothing was thrown');
}

export function problemsOf(action: () => unknown): readonly PlanProblem[] {
  return planError(action).problems;
}

/** The problems at exactly `path`, as `path: message` strings for readable failures. */
export function problemsAt(problems: readonly PlanProblem[], path: string): string[] {
  return problems.filter((p) => p.path === path).map((p) => `${p.path}: ${p.message}`);
}

/** A temporary directory for plan files, removed after the test file. */
export function planFiles(): { write(name: string, text: string): string; dir(): string } {
  let directory: string | undefined;
  afterAll(() => {
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  });
  const dir = (): string => (directory ??= mkdtempSync(join(tmpdir(), 'plan-test-')));
  return {
    dir,
    write(name, text) {
      const path = join(dir(), name);
      writeFileSync(path, text);
      return path;
    },
  };
}
