/** One field at a time: types, required and unknown fields, formats and ranges. */
import { parseMigrationPlan, type PlanProblem } from '../../lib/plan';
import { EDGE_WHITESPACE, MI_ID, managedInstancePlan, minimalPlan, problemsOf, SQL_SERVER_ID, SQL_VM_ID, STORAGE_ID } from './plan-fixtures';

/** The problems of the minimal plan after `change`, as `path: message` lines. */
function problemsAfter(change: (plan: any) => void, base: () => any = minimalPlan): string[] {
  const plan = base();
  change(plan);
  return problemsOf(() => parseMigrationPlan(plan)).map((p: PlanProblem) => `${p.path}: ${p.message}`);
}

test('the minimal plan is valid', () => {
  expect(() => parseMigrationPlan(minimalPlan())).not.toThrow();
  expect(() => parseMigrationPlan(managedInstancePlan())).not.toThrow();
});

describe('types and required fields', () => {
  test.each([
    ['name', (p: any) => delete p.name],
    ['notifications', (p: any) => delete p.notifications],
    ['notifications.emails', (p: any) => delete p.notifications.emails],
    ['sourceServers[0].host', (p: any) => delete p.sourceServers[0].host],
    ['targetServers[0].kind', (p: any) => delete p.targetServers[0].kind],
    ['databases[0].source.database', (p: any) => delete p.databases[0].source.database],
    ['databases[0].target', (p: any) => delete p.databases[0].target],
  ])('missing %s', (path, change) => {
    expect(problemsAfter(change)).toEqual([`${path}: missing required field`]);
  });

  test.each([
    ['location', 42, 'expected a string, got a number (42); quote it if it is text: "42"'],
    ['tags', ['a'], 'expected a mapping, got a list'],
    ['databases', { database_1: {} }, 'expected a list, got a mapping'],
    ['sourceServers', 'sql01', 'expected a list, got a string ("sql01")'],
    ['notifications', null, 'expected a mapping, got null'],
  ])('%s of the wrong type', (field, value, message) => {
    expect(problemsAfter((p) => (p[field] = value))).toEqual([`${field}: ${message}`]);
  });

  test('a tag value that YAML read as a number gets a hint to quote it', () => {
    expect(problemsAfter((p) => (p.tags = { 'cost-center': 4711 }))).toEqual([
      'tags["cost-center"]: expected a string, got a number (4711); quote it if it is text: "4711"',
    ]);
  });

  test.each([
    [
      'validation.rowCounts',
      (p: any) => (p.databases[0].validation = { rowCounts: 'yes' }),
      'expected true or false, got a string ("yes")',
    ],
    ['timeoutMinutes', (p: any) => (p.databases[0].timeoutMinutes = '60'), 'expected a number, got a string ("60")'],
    [
      'dependsOn',
      (p: any) => (p.databases[0].dependsOn = 'database_2'),
      // One name where a list of names belongs: the brackets that make it one (YAML and JSON alike).
      'expected a list, got a string ("database_2"); one value is a list too: ["database_2"]',
    ],
    [
      'dependsOn',
      (p: any) => (p.databases[0].dependsOn = 'database_2, database_3'),
      'expected a list, got a string ("database_2, database_3")',
    ],
  ])('databases[0].%s of the wrong type', (field, change, message) => {
    expect(problemsAfter(change)).toEqual([`databases[0].${field}: ${message}`]);
  });
});

describe('unknown fields', () => {
  test('a typo gets a "did you mean" hint', () => {
    expect(
      problemsAfter((p) => {
        p.databases[0].dependson = [];
        p.notifications.longRunningMinuts = 30;
      }),
    ).toEqual([
      'notifications.longRunningMinuts: unknown field (did you mean longRunningMinutes?)',
      'databases[0].dependson: unknown field (did you mean dependsOn?)',
    ]);
  });

  test('an unrelated field lists what is allowed', () => {
    expect(problemsAfter((p) => (p.backupStorage = { storageAccountResourceId: STORAGE_ID, connectionId: 'key', secret: 'hunter2' }))).toEqual([
      'backupStorage.secret: unknown field (allowed: storageAccountResourceId, connectionId)',
    ]);
  });

  test('every unknown field is its own problem', () => {
    expect(problemsAfter((p) => Object.assign(p, { owner: 'x', region: 'y' }))).toEqual([
      'owner: unknown field (allowed: name, location, tags, notifications, airflow, concurrency, cutover, sourceServers, targetServers, backupStorage, databases)',
      'region: unknown field (allowed: name, location, tags, notifications, airflow, concurrency, cutover, sourceServers, targetServers, backupStorage, databases)',
    ]);
  });
});

describe('databases', () => {
  test.each([
    ['missing', (p: any) => delete p.databases, 'missing required field'],
    ['empty', (p: any) => (p.databases = []), 'needs at least one database'],
  ])('%s databases', (_, change, message) => {
    expect(problemsAfter(change)).toEqual([`databases: ${message}`]);
  });

  test('empty sourceServers and targetServers', () => {
    expect(
      problemsAfter((p) => {
        p.sourceServers = [];
        p.targetServers = [];
      }),
    ).toEqual(['sourceServers: needs at least one source server', 'targetServers: needs at least one target server']);
  });
});

describe('names Azure or Airflow would reject', () => {
  const planNameRule =
    'must be 3-16 lowercase letters, digits and single hyphens, start with a letter and not end with a hyphen ' +
    '(it prefixes Azure resource names such as kv-<name>-xxxx, at most 24 characters)';

  test.each(['abc', 'contoso-sql', 'a1-b2-c3', 'abcdefghijklmnop'])('plan name %s is accepted', (name) => {
    expect(parseMigrationPlan({ ...minimalPlan(), name }).name).toBe(name);
  });

  test.each(['ab', 'abcdefghijklmnopq', 'Contoso', '1contoso', 'contoso-', 'con--toso', 'con_toso', 'con toso', ''])(
    'plan name %j is rejected',
    (name) => {
      expect(problemsAfter((p) => (p.name = name))).toEqual([`name: ${planNameRule}`]);
    },
  );

  test.each(['database_1', 'Sales', 'a', 'A'.repeat(64)])('database name %s is accepted', (name) => {
    expect(() =>
      parseMigrationPlan({ ...minimalPlan(), databases: [{ ...minimalPlan().databases[0], name }] }),
    ).not.toThrow();
  });

  test.each(['1db', '_db', 'sales-db', 'sales.db', 'sales db', 'A'.repeat(65), ''])(
    'database name %j is rejected',
    (name) => {
      expect(problemsAfter((p) => (p.databases[0].name = name))).toEqual([
        'databases[0].name: must be 1-64 letters, digits and underscores, starting with a letter (it becomes an Airflow task-group id)',
      ]);
    },
  );

  test.each(['Sql01', 'sql01-', '1sql', 's', 'sql_01', `s${'q'.repeat(32)}`])('server name %j is rejected', (name) => {
    const problems = problemsAfter((p) => {
      p.sourceServers[0].name = name;
      p.databases[0].source.server = name;
    });
    expect(problems).toEqual([
      'sourceServers[0].name: must be 2-32 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen',
    ]);
  });

  test.each([
    ['master', 'is a system database (master, model, msdb, tempdb); only user databases can be migrated'],
    ['TempDB', 'is a system database (master, model, msdb, tempdb); only user databases can be migrated'],
    ['Sales[1]', 'must be 1-128 characters without [ ] \' " or control characters'],
    ["O'Brien", 'must be 1-128 characters without [ ] \' " or control characters'],
    ['line\nbreak', 'must be 1-128 characters without [ ] \' " or control characters'],
    ['x'.repeat(129), 'must be 1-128 characters without [ ] \' " or control characters'],
    ['', 'must be 1-128 characters without [ ] \' " or control characters'],
    ['Sales ', EDGE_WHITESPACE],
    [' Sales', EDGE_WHITESPACE],
    ['Sales\u3000', EDGE_WHITESPACE],
    ['master ', EDGE_WHITESPACE],
  ])('SQL database name %j', (database, message) => {
    expect(problemsAfter((p) => (p.databases[0].source.database = database))).toEqual([
      `databases[0].source.database: ${message}`,
    ]);
    expect(problemsAfter((p) => (p.databases[0].target.database = database))).toEqual([
      `databases[0].target.database: ${message}`,
    ]);
  });

  test('SQL database names may hold spaces, dots and hyphens', () => {
    const plan = parseMigrationPlan({
      ...minimalPlan(),
      databases: [{ ...minimalPlan().databases[0], source: { server: 'sql01', database: 'Sales Archive-2020.v2' } }],
    });
    expect(plan.databases[0].target.database).toBe('Sales Archive-2020.v2');
  });

  test.each(['has space', 'slash/no', 'dotted.id', 'x'.repeat(108), ''])('connection id %j', (connectionId) => {
    expect(problemsAfter((p) => (p.sourceServers[0].connectionId = connectionId))).toEqual([
      'sourceServers[0].connectionId: must be 1-107 letters, digits, underscores and hyphens (an Airflow connection id, stored in Key Vault as airflow-connections-<id>)',
    ]);
  });

  test.each(['under_score', 'dot.ted', 'x'.repeat(128)])('Key Vault secret name %j', (name) => {
    expect(problemsAfter((p) => (p.sourceServers[0].connectionStringSecretName = name))).toEqual([
      'sourceServers[0].connectionStringSecretName: must be 1-127 letters, digits and hyphens (a Key Vault secret name)',
    ]);
  });

  test.each(['West Europe', 'westeurope ', 'WestEurope', 'w', 'west-europe'])('location %j', (location) => {
    expect(problemsAfter((p) => (p.location = location))).toEqual([
      'location: must be an Azure region short name such as westeurope (lowercase letters and digits)',
    ]);
  });

  test.each(['sql01 .corp', 'sql01.corp\\', 'sql01\\in stance', '-sql01', ''])('host %j', (host) => {
    expect(problemsAfter((p) => (p.sourceServers[0].host = host))).toEqual([
      'sourceServers[0].host: must be a host name or IP address, optionally followed by \\<instance>',
    ]);
  });

  test.each(['sql01.corp.contoso.com', '10.0.0.4', 'sql01\\SQLEXPRESS', 'SQL01'])('host %s is accepted', (host) => {
    expect(() => parseMigrationPlan({ ...minimalPlan(), sourceServers: [{ name: 'sql01', host }] })).not.toThrow();
  });
});

describe('tags', () => {
  test('keys without forbidden characters, keys up to 128 and values up to 256 bytes as azurerm counts them, at most 50', () => {
    const keyTooLong = 'tag key must be at most 128 bytes in UTF-8 (the limit on storage accounts, which the dataFactory and external hosts create)';
    expect(
      problemsAfter((p) => {
        p.tags = {
          ok: 'fine',
          'a/b': 'x',
          'what?': 'y',
          ['k'.repeat(129)]: 'z',
          ['é'.repeat(65)]: 'z',
          ['k'.repeat(128)]: 'fits',
          long: 'v'.repeat(257),
          wide: 'é'.repeat(129),
          full: 'é'.repeat(128),
        };
      }),
    ).toEqual([
      'tags["a/b"]: tag key must not be empty or contain < > % & \\ ? /',
      'tags["what?"]: tag key must not be empty or contain < > % & \\ ? /',
      `tags["${'k'.repeat(59)}…"]: ${keyTooLong}`,
      `tags["${'é'.repeat(59)}…"]: ${keyTooLong}`,
      'tags.long: must be at most 256 bytes in UTF-8',
      'tags.wide: must be at most 256 bytes in UTF-8',
    ]);
    const fiftyOne = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`tag${i}`, 'v']));
    expect(problemsAfter((p) => (p.tags = fiftyOne))).toEqual(['tags: Azure allows at most 50 tags per resource']);
  });

  // Azure keeps tags in plain text, readable with the resource, in cost reports and deployment histories (was: accepted).
  test('no credential in a value: it would be on every resource, in the synthesized JSON and the state', () => {
    const why =
      'holds a credential: Azure keeps tags in plain text, shown with the resource, in cost reports and deployment histories, and the stack writes them into the synthesized JSON and the Terraform state; keep it in Key Vault and tag with its name';
    expect(
      problemsAfter((p) => {
        p.tags = {
          owner: 'platform-team',
          dashboard: 'https://streports.blob.core.windows.net/runs?sv=2022-11-02&sp=r&sig=AbCdEfGhIjKlMnOpQrStUvWx%3D',
          login: 'Server=sql01;User ID=sa;Password=Hunter2!;',
          docs: 'https://contoso.sharepoint.com/sites/migration',
        };
      }),
    ).toEqual([`tags.dashboard: ${why}`, `tags.login: ${why}`]);
  });
});

describe('notifications', () => {
  test.each([
    'dba',
    'dba@contoso',
    '@contoso.com',
    'dba@@contoso.com',
    'd ba@contoso.com',
    'dba@contoso..com',
    '.dba@contoso.com',
    'dba@-contoso.com',
  ])('email %j is rejected', (email) => {
    expect(problemsAfter((p) => (p.notifications.emails = ['ok@contoso.com', email]))).toEqual([
      'notifications.emails[1]: must be an email address like name@example.com',
    ]);
  });

  test.each(['dba@contoso.com', 'first.last+alerts@mail.contoso.co.uk', "o'brien@contoso.com", 'x@a-b.io'])(
    'email %s is accepted',
    (email) => {
      expect(parseMigrationPlan({ ...minimalPlan(), notifications: { emails: [email] } }).notifications.emails).toEqual(
        [email],
      );
    },
  );

  test("within an action group's limits: 1,000 addresses of at most 64 characters", () => {
    const longest = `${'a'.repeat(52)}@contoso.com`;
    expect(parseMigrationPlan({ ...minimalPlan(), notifications: { emails: [longest] } }).notifications.emails).toEqual([longest]);
    expect(problemsAfter((p) => (p.notifications.emails = [`a${longest}`]))).toEqual([
      'notifications.emails[0]: must be at most 64 characters, the longest email address an Azure Monitor action group takes',
    ]);
    const addresses = (count: number) => Array.from({ length: count }, (_, i) => `dba${i}@contoso.com`);
    expect(parseMigrationPlan({ ...minimalPlan(), notifications: { emails: addresses(1000) } }).notifications.emails).toHaveLength(1000);
    expect(problemsAfter((p) => (p.notifications.emails = addresses(1001)))).toEqual([
      'notifications.emails: an Azure Monitor action group takes at most 1,000 email receivers',
    ]);
  });

  test('at least one email, each once', () => {
    expect(problemsAfter((p) => (p.notifications.emails = []))).toEqual([
      'notifications.emails: needs at least one email address',
    ]);
    expect(problemsAfter((p) => (p.notifications.emails = ['a@contoso.com', 'A@Contoso.com']))).toEqual([
      'notifications.emails[1]: duplicate email address (also notifications.emails[0])',
    ]);
  });
});

// The airflow section (hosts, SQL access, what cannot work): __tests__/hosts/airflow-plan.test.ts.

describe('numeric ranges', () => {
  test.each([
    ['airflow.kubernetes.maxNodes', (p: any, v: number) => (p.airflow = { kubernetes: { minNodes: 0, maxNodes: v } }), 1, 1000],
    ['notifications.longRunningMinutes', (p: any, v: number) => (p.notifications.longRunningMinutes = v), 5, 2865],
    ['databases[0].timeoutMinutes', (p: any, v: number) => (p.databases[0].timeoutMinutes = v), 10, 10080],
    ['sourceServers[0].port', (p: any, v: number) => (p.sourceServers[0].port = v), 1, 65535],
    ['concurrency.maxMigrationsPerService', (p: any, v: number) => (p.concurrency = { maxMigrationsPerService: v }), 1, 40],
    [
      'concurrency.maxMigrationsPerSourceServer',
      (p: any, v: number) => (p.concurrency = { maxMigrationsPerSourceServer: v }),
      1,
      40,
    ],
    ['concurrency.maxSqlStepsPerRuntime', (p: any, v: number) => (p.concurrency = { maxSqlStepsPerRuntime: v }), 1, 100],
  ])('%s must be an integer in range', (path, set, min, max) => {
    const message = `${path}: must be an integer from ${min} to ${max}`;
    for (const bad of [min - 1, max + 1, min + 0.5]) {
      expect(problemsAfter((p) => set(p, bad))).toEqual([message]);
    }
    for (const good of [min, max]) {
      const plan = minimalPlan();
      set(plan, good);
      expect(() => parseMigrationPlan(plan)).not.toThrow();
    }
  });

  test('NaN and infinities are not numbers a plan can hold', () => {
    expect(problemsAfter((p) => (p.sourceServers[0].port = Infinity))).toEqual([
      'sourceServers[0].port: expected a number, got Infinity',
    ]);
  });
});

describe('Azure resource ids', () => {
  test.each([
    ['SqlMi', MI_ID],
    ['SqlDb', SQL_SERVER_ID],
    ['SqlVm', SQL_VM_ID],
    ['SqlDb', SQL_SERVER_ID.replace('resourceGroups', 'resourcegroups').replace('Microsoft.Sql', 'microsoft.sql')],
  ])('a %s target with id %s is accepted', (kind, resourceId) => {
    const plan = managedInstancePlan();
    plan.targetServers = [{ name: 'target', kind, resourceId }];
    plan.databases[0].target.server = 'target';
    expect(parseMigrationPlan(plan).targetServers[0].resourceId).toBe(resourceId);
  });

  test.each([
    ['not an id', 'mi-contoso-prod'],
    ['no subscription GUID', MI_ID.replace('00000000-0000-0000-0000-000000000000', 'my-subscription')],
    ['another resource type', MI_ID.replace('Microsoft.Sql/managedInstances', 'Microsoft.Compute/virtualMachines')],
    ['a database, not the server', `${SQL_SERVER_ID}/databases/sales`],
    ['trailing slash', `${MI_ID}/`],
  ])('target resource id: %s', (_, resourceId) => {
    expect(problemsAfter((p) => (p.targetServers[0].resourceId = resourceId), managedInstancePlan)).toEqual([
      'targetServers[0].resourceId: must be the ARM id of a SQL managed instance, logical server or SQL virtual machine, ' +
        'e.g. /subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Sql/managedInstances/<name>',
    ]);
  });

  test('the backup storage id must be a storage account', () => {
    expect(problemsAfter((p) => (p.backupStorage.storageAccountResourceId = MI_ID), managedInstancePlan)).toEqual([
      'backupStorage.storageAccountResourceId: must be a storage account ARM id: ' +
        '/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<name>',
    ]);
  });

  test('kind must be one of the three target kinds', () => {
    expect(problemsAfter((p) => (p.targetServers[0].kind = 'SqlMI'))).toEqual([
      'targetServers[0].kind: must be one of SqlMi, SqlDb, SqlVm (got "SqlMI"; did you mean SqlMi?)',
    ]);
  });
});

describe('backup share and validation tables', () => {
  test('the backup share path must be a UNC path', () => {
    expect(
      problemsAfter((p) => (p.sourceServers[0].backupFileShare.path = 'C:\\backups'), managedInstancePlan),
    ).toEqual(['sourceServers[0].backupFileShare.path: must be a UNC path like \\\\fileserver\\share\\folder']);
  });

  test('tables are schema.table with regular identifiers, at least one when given', () => {
    expect(
      problemsAfter(
        (p) =>
          (p.databases[0].validation = { tables: ['dbo.Orders', 'Orders', 'dbo.Order Lines', 'a.b.c', 'dbo.[x]'] }),
      ),
    ).toEqual([
      'databases[0].validation.tables[1]: must be schema.table with regular SQL identifiers, e.g. dbo.Orders',
      'databases[0].validation.tables[2]: must be schema.table with regular SQL identifiers, e.g. dbo.Orders',
      'databases[0].validation.tables[3]: must be schema.table with regular SQL identifiers, e.g. dbo.Orders',
      'databases[0].validation.tables[4]: must be schema.table with regular SQL identifiers, e.g. dbo.Orders',
    ]);
    expect(problemsAfter((p) => (p.databases[0].validation = { tables: [] }))).toEqual([
      'databases[0].validation.tables: list at least one table, or leave tables out to compare every user table',
    ]);
  });
});

describe('concurrency and the source freeze', () => {
  test('an unknown concurrency field lists the known ones', () => {
    expect(problemsAfter((p) => (p.concurrency = { maxMigrationsPerServer: 5 }))).toEqual([
      'concurrency.maxMigrationsPerServer: unknown field (allowed: maxMigrationsPerService, maxMigrationsPerSourceServer, maxSqlStepsPerRuntime)',
    ]);
  });

  test('sourceFreeze is readOnly or singleUser', () => {
    expect(problemsAfter((p) => (p.databases[0].sourceFreeze = 'single_user'))).toEqual([
      'databases[0].sourceFreeze: must be one of readOnly, singleUser (got "single_user"; did you mean singleUser?)',
    ]);
  });

  test('allowSourceWritesDuringCopy is true or false', () => {
    expect(problemsAfter((p) => (p.databases[0].allowSourceWritesDuringCopy = 'yes'))).toEqual([
      'databases[0].allowSourceWritesDuringCopy: expected true or false, got a string ("yes")',
    ]);
  });
});
