/** Rules across fields: unique names, server references, target kinds, modes and backups. */
import { parseMigrationPlan, type PlanProblem } from '../../lib/plan';
import { EDGE_WHITESPACE, managedInstancePlan, MI_ID, minimalPlan, problemsOf, SQL_SERVER_ID, SQL_VM_ID } from './plan-fixtures';

function problemsAfter(change: (plan: any) => void, base: () => any = minimalPlan): string[] {
  const plan = base();
  change(plan);
  return problemsOf(() => parseMigrationPlan(plan)).map((p: PlanProblem) => `${p.path}: ${p.message}`);
}

/** Adds database_2, a copy of database_1 from another source database. */
function secondDatabase(plan: any, overrides: object = {}): void {
  const first = structuredClone(plan.databases[0]);
  plan.databases.push({ ...first, name: 'database_2', source: { ...first.source, database: 'Hr' }, ...overrides });
}

describe('unique names', () => {
  test('duplicate database names', () => {
    expect(problemsAfter((p) => secondDatabase(p, { name: 'database_1' }))).toEqual([
      'databases[1].name: duplicate database name "database_1" (also databases[0])',
    ]);
  });

  test('database names differing only in letter case', () => {
    // The DAG keys Airflow Variables by the name (migration_migrated__<plan>__<database>, ...), which a
    // metadata database on MySQL with its usual collations compares without case: one record for two.
    expect(problemsAfter((p) => secondDatabase(p, { name: 'Database_1' }))).toEqual([
      'databases[1].name: duplicate database name "Database_1" letter case aside ' +
        "(the DAG's Airflow Variables are keyed by it, and may compare keys without case) (also databases[0])",
    ]);
  });

  test("a database may not take the id of the DAG's last task", () => {
    // Its task group and run_outcome would share an id: DuplicateTaskIdFound, the DAG fails to import.
    expect(problemsAfter((p) => (p.databases[0].name = 'run_outcome'))).toEqual([
      "databases[0].name: must not be run_outcome, the id of the DAG's last task",
    ]);
  });

  test('one server under two entries', () => {
    // Until a preflight reads which SQL Server an entry reaches, the DAG counts maxMigrationsPerSourceServer
    // per entry, and the source claims (dags source_claims.py) refuse a database under two entries only at the
    // second one's preflight; it judges the room for restores into one target per entry.
    const sourceWhy =
      'the DAG counts concurrency per entry until a preflight reads which server the entry reaches, and a database under both would be refused only at its second preflight';
    const targetWhy =
      'the DAG judges the room for restores per entry, and two databases could migrate into one target database under both';
    expect(
      problemsAfter((p) => {
        p.sourceServers.push({ name: 'sql01-hr', host: 'SQL01.corp.contoso.com\\MSSQLSERVER', port: 1433 });
        p.targetServers.push({ ...p.targetServers[0], name: 'sqldb-hr', resourceId: SQL_SERVER_ID.replace('Microsoft.Sql', 'microsoft.sql') });
        secondDatabase(p, { source: { server: 'sql01-hr', database: 'Sales' }, target: { server: 'sqldb-hr' } });
      }),
    ).toEqual([
      `sourceServers[1].host: names the same SQL Server as sourceServers[0]: ${sourceWhy}; give the server one entry`,
      `targetServers[1].resourceId: is the same target as targetServers[0]: ${targetWhy}; give the server one entry`,
    ]);
    const otherInstances = minimalPlan();
    otherInstances.sourceServers.push({ name: 'sql01-hr', host: 'sql01.corp.contoso.com\\HR' });
    otherInstances.sourceServers.push({ name: 'sql01-port', host: 'sql01.corp.contoso.com', port: 14330 });
    expect(parseMigrationPlan(otherInstances).sourceServers.map((s) => s.name)).toEqual(['sql01', 'sql01-hr', 'sql01-port']);
  });

  test("each server its own connection and connection string secret, defaults included, letter case aside", () => {
    const hostWhy = "the DAG reaches a server at its connection's host, so both would read one server; give each its own";
    const secretWhy = "Data Factory reaches a source server through its secret's connection string, so both would reach one server; give each its own";
    expect(
      problemsAfter((p) => {
        p.sourceServers.push({ name: 'sql02', host: 'sql02.corp.contoso.com', connectionId: 'MSSQL_SOURCE_SQL01', connectionStringSecretName: 'sql01-connection-string' });
        p.sourceServers.push({ name: 'sql03', host: 'sql03.corp.contoso.com', connectionId: 'mssql_target_sqldb_prod' });
      }),
    ).toEqual([
      `sourceServers[1].connectionId: "MSSQL_SOURCE_SQL01" is also the connection of sourceServers[0]: ${hostWhy}`,
      `sourceServers[1].connectionStringSecretName: "sql01-connection-string" is also the connection string secret of sourceServers[0]: ${secretWhy}`,
      `sourceServers[2].connectionId: "mssql_target_sqldb_prod" is also the connection of targetServers[0]: ${hostWhy}`,
    ]);
    // A name written first that a later server takes by default is where the problem is.
    expect(
      problemsAfter((p) => {
        p.sourceServers[0].connectionId = 'mssql_source_sql02';
        p.sourceServers.push({ name: 'sql02', host: 'sql02.corp.contoso.com' });
      }),
    ).toEqual([`sourceServers[0].connectionId: "mssql_source_sql02" is also the connection of sourceServers[1]: ${hostWhy}`]);
    expect(problemsAfter((p) => (p.backupStorage.connectionId = 'mssql_source_sql01'), managedInstancePlan)).toEqual([
      `backupStorage.connectionId: "mssql_source_sql01" is also the connection of sourceServers[0]: ${hostWhy}`,
    ]);
    // The storage key and a share's account in one connection: DMS would get the share's password as the key.
    expect(problemsAfter((p) => (p.backupStorage.connectionId = 'SMB_FILES01'), managedInstancePlan)).toEqual([
      `backupStorage.connectionId: "SMB_FILES01" is also the connection of sourceServers[0].backupFileShare: DMS reads the share's user and password from one and the storage account key from the other, so one of them would be wrong; give each its own`,
    ]);
    // One account for the backup shares of two servers is fine: the DAG reads no host from it.
    const sharedShare = managedInstancePlan();
    sharedShare.sourceServers.push({ name: 'sql02', host: 'sql02.corp.contoso.com', backupFileShare: sharedShare.sourceServers[0].backupFileShare });
    expect(parseMigrationPlan(sharedShare).sourceServers.map((s) => s.connectionId)).toEqual(['mssql_source_sql01', 'mssql_source_sql02']);
  });

  test('duplicate source and target server names', () => {
    expect(
      problemsAfter((p) => {
        p.sourceServers.push({ name: 'sql01', host: 'other.corp' });
        p.targetServers.push({ ...p.targetServers[0], resourceId: SQL_SERVER_ID.replace('sql-one', 'sql-two') });
      }),
    ).toEqual([
      'sourceServers[1].name: duplicate source server name "sql01" (also sourceServers[0])',
      'targetServers[1].name: duplicate target server name "sqldb-prod" (also targetServers[0])',
    ]);
  });

  test('two databases cannot migrate into the same target database', () => {
    expect(problemsAfter((p) => secondDatabase(p, { target: { server: 'sqldb-prod', database: 'SALES' } }))).toEqual([
      'databases[1].target: database_2 and database_1 (databases[0]) both migrate into "SALES" on target server "sqldb-prod"',
    ]);
    expect(problemsAfter((p) => secondDatabase(p, { target: { server: 'sqldb-prod', database: 'Sales ' } }))).toEqual([
      'databases[1].target: database_2 and database_1 (databases[0]) both migrate into "Sales " on target server "sqldb-prod"',
      `databases[1].target.database: ${EDGE_WHITESPACE}`,
    ]); // SQL Server compares names without trailing spaces
    const renamed = minimalPlan();
    secondDatabase(renamed, { target: { server: 'sqldb-prod', database: 'Sales2' } });
    expect(parseMigrationPlan(renamed).databases.map((db) => db.target.database)).toEqual(['Sales', 'Sales2']);
  });

  test('two databases cannot migrate the same source database', () => {
    const why = "a rollback of one would make it writable beside the other's target: migrate it once";
    expect(
      problemsAfter((p) => secondDatabase(p, { source: { server: 'sql01', database: 'SALES' }, target: { server: 'sqldb-prod', database: 'Sales2' } })),
    ).toEqual([
      `databases[1].source: database_2 and database_1 (databases[0]) both migrate source database "SALES" of source server "sql01"; ${why}`,
    ]);
    expect(problemsAfter((p) => secondDatabase(p, { source: { server: 'sql01', database: 'Sales  ' }, target: { server: 'sqldb-prod', database: 'Sales2' } }))).toEqual([
      expect.stringMatching(/^databases\[1\]\.source: database_2 and database_1 \(databases\[0\]\) both migrate source database "Sales  "/),
      `databases[1].source.database: ${EDGE_WHITESPACE}`,
    ]);
    const otherServer = minimalPlan();
    otherServer.sourceServers.push({ name: 'sql02', host: 'sql02.corp' });
    secondDatabase(otherServer, { source: { server: 'sql02', database: 'Sales' }, target: { server: 'sqldb-prod', database: 'Sales2' } });
    expect(parseMigrationPlan(otherServer).databases.map((db) => db.source.server)).toEqual(['sql01', 'sql02']);
  });

  test('a source and a target server may share a name', () => {
    const plan = minimalPlan();
    plan.targetServers[0].name = 'sql01';
    plan.databases[0].target.server = 'sql01';
    expect(parseMigrationPlan(plan).targetServers[0].connectionId).toBe('mssql_target_sql01');
  });
});

describe('server references', () => {
  test('unknown source server, with a hint', () => {
    expect(problemsAfter((p) => (p.databases[0].source.server = 'sql1'))).toEqual([
      'databases[0].source.server: unknown source server "sql1" (did you mean "sql01"? known: sql01)',
    ]);
  });

  test('unknown target server', () => {
    expect(problemsAfter((p) => (p.databases[0].target.server = 'mi-prod'))).toEqual([
      'databases[0].target.server: unknown target server "mi-prod" (known: sqldb-prod)',
    ]);
  });

  test('target.kind, if given, must match the server', () => {
    expect(problemsAfter((p) => (p.databases[0].target.kind = 'SqlMi'))).toEqual([
      'databases[0].target.kind: is SqlMi but target server "sqldb-prod" is SqlDb; leave kind out or make them match',
    ]);
    const plan = minimalPlan();
    plan.databases[0].target.kind = 'SqlDb';
    expect(parseMigrationPlan(plan).databases[0].target.kind).toBe('SqlDb');
  });

  test("a target's resource id must be of its kind", () => {
    expect(problemsAfter((p) => (p.targetServers[0].resourceId = MI_ID))).toEqual([
      'targetServers[0].resourceId: is the id of a SqlMi target but kind is SqlDb, which needs ' +
        '/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Sql/servers/<name>',
    ]);
    expect(problemsAfter((p) => (p.targetServers[0].resourceId = SQL_SERVER_ID), managedInstancePlan)).toEqual([
      'targetServers[0].resourceId: is the id of a SqlDb target but kind is SqlMi, which needs ' +
        '/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Sql/managedInstances/<name>',
    ]);
  });
});

describe('modes', () => {
  test('online to Azure SQL Database is an error', () => {
    expect(problemsAfter((p) => (p.databases[0].mode = 'online'))).toEqual([
      'databases[0].mode: database_1 cannot migrate online: DMS migrates to Azure SQL Database (SqlDb) offline only; use mode: offline',
    ]);
  });

  test('the default mode is offline for SqlDb, online for SqlMi and SqlVm', () => {
    expect(parseMigrationPlan(minimalPlan()).databases[0].mode).toBe('offline');
    expect(parseMigrationPlan(managedInstancePlan()).databases[0].mode).toBe('online');
    const vm = managedInstancePlan();
    vm.targetServers[0] = { name: 'mi-prod', kind: 'SqlVm', resourceId: SQL_VM_ID };
    expect(parseMigrationPlan(vm).databases[0].mode).toBe('online');
  });

  test('an unknown mode', () => {
    expect(problemsAfter((p) => (p.databases[0].mode = 'Offline'))).toEqual([
      'databases[0].mode: must be one of online, offline (got "Offline"; did you mean offline?)',
    ]);
  });
});

describe('the source while DMS copies or restores', () => {
  test('a SqlDb migration may keep its source writable during the copy', () => {
    const plan = minimalPlan();
    plan.databases[0].allowSourceWritesDuringCopy = true;
    expect(parseMigrationPlan(plan).databases[0].allowSourceWritesDuringCopy).toBe(true);
  });

  test.each([
    ['SqlMi', MI_ID],
    ['SqlVm', SQL_VM_ID],
  ])('a %s migration may not: it restores backups', (kind, resourceId) => {
    const change = (p: any) => {
      p.targetServers[0] = { name: 'mi-prod', kind, resourceId };
      p.databases[0].allowSourceWritesDuringCopy = true;
    };
    expect(problemsAfter(change, managedInstancePlan)).toEqual([
      `databases[0].allowSourceWritesDuringCopy: applies to SqlDb targets only: ${kind} restores backups, and only a SqlDb migration copies from the running source; leave it out or set it to false`,
    ]);
  });

  test('a SqlDb source cannot be frozen as singleUser: DMS reads it through its own connections', () => {
    expect(problemsAfter((p) => (p.databases[0].sourceFreeze = 'singleUser'))).toEqual([
      'databases[0].sourceFreeze: database_1 cannot freeze its source as singleUser: DMS copies to SqlDb through its own connections to the source, which SINGLE_USER would shut out; use readOnly',
    ]);
    const plan = managedInstancePlan();
    plan.databases[0].sourceFreeze = 'singleUser';
    expect(parseMigrationPlan(plan).databases[0].sourceFreeze).toBe('singleUser');
  });
});

describe('backups for SqlMi and SqlVm targets', () => {
  test('plan-level backupStorage is required, naming the databases that need it', () => {
    expect(problemsAfter((p) => delete p.backupStorage, managedInstancePlan)).toEqual([
      'backupStorage: missing: database database_1 goes to SqlMi/SqlVm, which DMS restores from backups staged in a storage account',
    ]);
  });

  test("the source server's backupFileShare is required, naming the databases that need it", () => {
    expect(
      problemsAfter((p) => {
        delete p.sourceServers[0].backupFileShare;
        secondDatabase(p);
      }, managedInstancePlan),
    ).toEqual([
      'sourceServers[0].backupFileShare: missing: databases database_1, database_2 go from this server to SqlMi/SqlVm, ' +
        "which restores from the server's backups on an SMB share",
    ]);
  });

  test('SqlVm targets need them too; SqlDb targets do not', () => {
    expect(
      problemsAfter((p) => {
        p.targetServers.push({ name: 'vm-prod', kind: 'SqlVm', resourceId: SQL_VM_ID });
        secondDatabase(p, { target: { server: 'vm-prod' } });
      }),
    ).toEqual([
      'sourceServers[0].backupFileShare: missing: database database_2 goes from this server to SqlMi/SqlVm, ' +
        "which restores from the server's backups on an SMB share",
      'backupStorage: missing: database database_2 goes to SqlMi/SqlVm, which DMS restores from backups staged in a storage account',
    ]);
    expect(() => parseMigrationPlan(minimalPlan())).not.toThrow();
  });

  test('only source servers that feed a SqlMi or SqlVm target need a share', () => {
    const plan = managedInstancePlan();
    plan.sourceServers.push({ name: 'sql02', host: 'sql02.corp' });
    plan.targetServers.push({ name: 'sqldb-prod', kind: 'SqlDb', resourceId: SQL_SERVER_ID });
    secondDatabase(plan, { source: { server: 'sql02', database: 'Hr' }, target: { server: 'sqldb-prod' } });
    expect(parseMigrationPlan(plan).databases.map((db) => db.target.kind)).toEqual(['SqlMi', 'SqlDb']);
  });
});
