/**
 * fast-check arbitraries for migration plan documents: valid plans of every size and shape the
 * plan reference allows, and the odd strings that broken ones are made of.
 */
import fc from 'fast-check';
import { anyCodePoint } from './code-points';

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = LOWER.toUpperCase();
const DIGITS = '0123456789';
const LETTERS = LOWER + UPPER;
const ALNUM = LETTERS + DIGITS;

function stringFrom(alphabet: string, minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...alphabet), minLength, maxLength });
}

function joined(...parts: fc.Arbitrary<string>[]): fc.Arbitrary<string> {
  return fc.tuple(...parts).map((strings) => strings.join(''));
}

/** `word`, all lower case or all upper case: ARM ids are case-insensitive. */
function anyCase(word: string): fc.Arbitrary<string> {
  return fc.constantFrom(word, word.toLowerCase(), word.toUpperCase());
}

const SYSTEM_DATABASES = ['master', 'model', 'msdb', 'tempdb'];

/**
 * The documented rule for SQL database names: 1-128 characters without [ ] ' " or control
 * characters (C0 and C1), not only whitespace, no whitespace at either end, not a system database.
 */
export function isValidSqlDatabaseName(name: string): boolean {
  return (
    name.length >= 1 &&
    name.length <= 128 &&
    !/[[\]'"\u0000-\u001f\u007f-\u009f]/.test(name) &&
    name.trim() !== '' &&
    name === name.trim() &&
    !SYSTEM_DATABASES.includes(name.toLowerCase())
  );
}

export const planName = joined(
  stringFrom(LOWER, 1, 1),
  stringFrom(`${LOWER}${DIGITS}-`, 1, 14).map((middle) => middle.replace(/-+/g, '-')),
  stringFrom(LOWER + DIGITS, 1, 1),
);

const location = fc.oneof(
  fc.constantFrom('westeurope', 'swedencentral', 'eastus2', 'uksouth'),
  joined(stringFrom(LOWER, 1, 1), stringFrom(LOWER + DIGITS, 1, 20)),
);

const guid = fc.tuple(fc.uuid(), fc.boolean()).map(([id, upper]) => (upper ? id.toUpperCase() : id));

/** RFC 5321 caps a whole address at 254 characters. */
const email = fc.emailAddress().filter((address) => address.length <= 64); // an Azure Monitor action group's limit

export const serverName = joined(
  stringFrom(LOWER, 1, 1),
  stringFrom(`${LOWER}${DIGITS}-`, 0, 30),
  stringFrom(LOWER + DIGITS, 1, 1),
);

export const databaseName = joined(stringFrom(LETTERS, 1, 1), stringFrom(`${ALNUM}_`, 0, 63));

export const connectionId = stringFrom(`${ALNUM}_-`, 1, 107);

const secretName = stringFrom(`${ALNUM}-`, 1, 127);

const host = fc
  .tuple(
    fc.oneof(fc.domain(), fc.ipV4(), stringFrom(ALNUM, 1, 15)),
    fc.option(joined(fc.constant('\\'), stringFrom(`${LETTERS}_`, 1, 1), stringFrom(`${ALNUM}_$#`, 0, 15))),
  )
  .map(([name, instance]) => name + (instance ?? ''))
  // A host name of at most 254 characters, and an instance name of at most 16 after the backslash.
  .filter((name) => name.length <= 254 + 17);

const uncPath = fc
  .tuple(
    fc.oneof(fc.domain(), stringFrom(`${ALNUM}-`, 1, 15)),
    fc.array(stringFrom(`${ALNUM} _-$.éü漢`, 1, 20), { minLength: 1, maxLength: 4 }),
    fc.boolean(),
  )
  .map(([server, folders, trailing]) => `\\\\${server}\\${folders.join('\\')}${trailing ? '\\' : ''}`);

const resourceGroup = joined(stringFrom(`${ALNUM}_.()-`, 0, 40), stringFrom(`${ALNUM}_()-`, 1, 1));

function armId(provider: string, type: string, name: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(anyCase('subscriptions'), guid, anyCase('resourceGroups'), resourceGroup, anyCase('providers'))
    .chain(([subscriptions, subscription, groups, group, providers]) =>
      fc
        .tuple(anyCase(provider), anyCase(type), name)
        .map(([p, t, n]) => `/${subscriptions}/${subscription}/${groups}/${group}/${providers}/${p}/${t}/${n}`),
    );
}

const sqlResourceName = joined(
  stringFrom(LOWER + DIGITS, 1, 1),
  stringFrom(`${LOWER}${DIGITS}-`, 0, 61),
  stringFrom(LOWER + DIGITS, 1, 1),
);

export type Kind = 'SqlMi' | 'SqlDb' | 'SqlVm';

const resourceIdOf: Record<Kind, fc.Arbitrary<string>> = {
  SqlMi: armId('Microsoft.Sql', 'managedInstances', sqlResourceName),
  SqlDb: armId('Microsoft.Sql', 'servers', sqlResourceName),
  SqlVm: armId(
    'Microsoft.SqlVirtualMachine',
    'sqlVirtualMachines',
    joined(stringFrom(ALNUM, 1, 1), stringFrom(`${ALNUM}_.-`, 0, 63)),
  ),
};

const storageAccountId = armId('Microsoft.Storage', 'storageAccounts', stringFrom(LOWER + DIGITS, 3, 24));

const sqlIdentifier = joined(stringFrom(`${LETTERS}_@#`, 1, 1), stringFrom(`${ALNUM}_@#$`, 0, 20));
const tableName = joined(sqlIdentifier, fc.constant('.'), sqlIdentifier);

/** Database names in any script: SQL Server takes nearly anything in a delimited identifier. */
export const sqlDatabaseName = fc
  .oneof(
    stringFrom(`${ALNUM}_ -`, 1, 30),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
    fc.string({ unit: anyCodePoint, minLength: 1, maxLength: 30 }),
  )
  .filter(isValidSqlDatabaseName);

// Tag limits count UTF-8 bytes (azurerm): keys 128 (a storage account's), values 256.
const fitsBytes = (text: string, bytes: number) => Buffer.byteLength(text, 'utf8') <= bytes;
const tagKey = fc.oneof(
  fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 20 })
    .filter((key) => !/[<>%&\\?/]/.test(key) && key !== '__proto__' && fitsBytes(key, 128)),
  fc.constantFrom('cost-center', 'owner', 'constructor', 'toString', 'hasOwnProperty', 'k'.repeat(128), 'é'.repeat(64)),
);
const tagValue = fc
  .oneof(
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    fc.string({ unit: anyCodePoint, maxLength: 30 }),
    fc.constantFrom('v'.repeat(256), 'é'.repeat(128)),
  )
  .filter((value) => fitsBytes(value, 256));

const tags = fc.uniqueArray(fc.tuple(tagKey, tagValue), { maxLength: 50, selector: ([key]) => key }).map((entries) => {
  const result: Record<string, string> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return result;
});

const distinct = (keys: readonly string[]) => new Set(keys).size === keys.length;

/** Adds `value` under `key` when `present` (optional fields present or absent). */
function maybe<T>(present: boolean | undefined, key: string, value: T): Record<string, T> {
  return present ? { [key]: value } : {};
}

const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

const sourceServerDraft = fc.record({
  host,
  port: optional(fc.integer({ min: 1, max: 65535 })),
  authentication: optional(fc.constantFrom('SqlAuthentication', 'WindowsAuthentication')),
  connectionId: optional(connectionId),
  connectionStringSecretName: optional(secretName),
  backupFileShare: fc.record({ path: uncPath, connectionId }),
  shareEvenIfUnneeded: fc.boolean(),
});

const targetServerDraft = fc
  .record({ kind: fc.constantFrom<Kind>('SqlMi', 'SqlDb', 'SqlVm'), connectionId: optional(connectionId) })
  .chain((draft) => resourceIdOf[draft.kind].map((resourceId) => ({ ...draft, resourceId })));

const databaseDraft = fc.record({
  sourceServer: fc.nat(),
  targetServer: fc.nat(),
  sourceDatabase: sqlDatabaseName,
  targetDatabase: optional(sqlDatabaseName),
  statesKind: fc.boolean(),
  mode: optional(fc.constantFrom('online', 'offline')),
  /** singleUser only where the target allows it (not SqlDb). */
  sourceFreeze: optional(fc.constantFrom('readOnly', 'singleUser')),
  /** true only where the target allows it (SqlDb). */
  allowSourceWritesDuringCopy: optional(fc.boolean()),
  /** Dependencies, as picks among the databases placed before this one. */
  dependencyPicks: fc.array(fc.nat(), { maxLength: 4 }),
  dependsOnPrevious: fc.boolean(),
  writeEmptyDependsOn: fc.boolean(),
  validation: optional(
    fc.record(
      {
        rowCounts: fc.boolean(),
        checksums: fc.boolean(),
        tables: fc.array(tableName, { minLength: 1, maxLength: 5 }),
      },
      { requiredKeys: [] },
    ),
  ),
  timeoutMinutes: optional(fc.integer({ min: 10, max: 10080 })),
});

/** Any size in range, small ones more often: big plans cost more and rarely find more. */
function databaseCount(min: number, max: number): fc.Arbitrary<number> {
  const small = Math.max(min, Math.min(max, 12));
  return fc.oneof(
    { arbitrary: fc.integer({ min, max: small }), weight: 3 },
    { arbitrary: fc.integer({ min, max }), weight: 1 },
  );
}

export interface PlanShape {
  readonly minDatabases?: number;
  readonly maxDatabases?: number;
}

/**
 * Valid plan documents as people write them (only what JSON can hold): 1-60 databases with a
 * random acyclic dependency graph (each database depends only on databases placed before it in
 * a random permutation), SqlMi/SqlDb/SqlVm targets with modes they support, the backup settings
 * SqlMi and SqlVm need, and every optional field either written or left to its default.
 */
export function validPlanDocument({ minDatabases = 1, maxDatabases = 60 }: PlanShape = {}): fc.Arbitrary<any> {
  return fc
    .record({
      name: planName,
      location,
      tags: optional(tags),
      emails: fc.uniqueArray(email, { minLength: 1, maxLength: 4, selector: (address) => address.toLowerCase() }),
      longRunningMinutes: optional(fc.integer({ min: 5, max: 2865 })),
      sqlAccess: optional(fc.constantFrom('direct', 'dataFactory')),
      maxNodes: optional(fc.integer({ min: 1, max: 1000 })),
      concurrency: optional(
        fc.record(
          {
            maxMigrationsPerService: fc.integer({ min: 1, max: 40 }),
            maxMigrationsPerSourceServer: fc.integer({ min: 1, max: 40 }),
            maxSqlStepsPerRuntime: fc.integer({ min: 1, max: 100 }),
          },
          { requiredKeys: [] },
        ),
      ),
      // One entry per SQL Server (host and port, letter case aside) and per target resource.
      sourceServers: fc
        .uniqueArray(fc.tuple(serverName, sourceServerDraft), { minLength: 1, maxLength: 4, selector: ([name]) => name })
        .filter((servers) => distinct(servers.map(([, { host, port }]) => `${host.toLowerCase().replace(/\\mssqlserver$/, '')},${port ?? 1433}`))),
      targetServers: fc
        .uniqueArray(fc.tuple(serverName, targetServerDraft), { minLength: 1, maxLength: 4, selector: ([name]) => name })
        .filter((servers) => distinct(servers.map(([, { resourceId }]) => resourceId.toLowerCase()))),
      backupStorage: fc.record({ storageAccountResourceId: storageAccountId, connectionId }),
      backupStorageEvenIfUnneeded: fc.boolean(),
      databases: databaseCount(minDatabases, maxDatabases).chain((count) =>
        fc.tuple(
          fc.uniqueArray(
            fc.tuple(databaseName, databaseDraft).filter(([name]) => name !== 'run_outcome'),
            { minLength: count, maxLength: count, selector: ([name]) => name.toLowerCase() },
          ),
          fc.shuffledSubarray([...Array(count).keys()], { minLength: count, maxLength: count }),
        ),
      ),
    })
    // Each server its own Airflow connection and connection string secret (Key Vault names, letter case aside).
    .filter(
      (draft) =>
        distinct(
          [
            ...draft.sourceServers.map(([name, server]) => server.connectionId ?? `mssql_source_${name.replace(/-/g, '_')}`),
            ...draft.targetServers.map(([name, server]) => server.connectionId ?? `mssql_target_${name.replace(/-/g, '_')}`),
            draft.backupStorage.connectionId,
          ].map((id) => id.toLowerCase()),
        ) &&
        distinct(draft.sourceServers.map(([name, server]) => (server.connectionStringSecretName ?? `${name}-connection-string`).toLowerCase())) &&
        // The storage key not in a backup share's connection.
        draft.sourceServers.every(([, server]) => server.backupFileShare.connectionId.toLowerCase() !== draft.backupStorage.connectionId.toLowerCase()),
    )
    .map((draft) => {
      const [databaseDrafts, order] = draft.databases;
      const targetKinds = draft.targetServers.map(([, server]) => server.kind);
      const restoresFromBackup = (kind: Kind) => kind !== 'SqlDb';
      const sourcesNeedingShare = new Set<number>();
      const sourceNames = new Set<string>();
      const targetNames = new Set<string>();

      const databases = databaseDrafts.map(([name, db], index) => {
        const sourceIndex = db.sourceServer % draft.sourceServers.length;
        const targetIndex = db.targetServer % draft.targetServers.length;
        const kind = targetKinds[targetIndex];
        if (restoresFromBackup(kind)) sourcesNeedingShare.add(sourceIndex);

        // Nor can two migrate the same source database, or land in the same target database
        // (names compare without letter case and trailing spaces).
        let sourceDatabase = db.sourceDatabase;
        const readsFrom = () => `${sourceIndex}/${sourceDatabase.toLowerCase().trimEnd()}`;
        for (let attempt = 0; sourceNames.has(readsFrom()); attempt++) sourceDatabase = `${db.sourceDatabase}_${attempt}`;
        sourceNames.add(readsFrom());
        let targetDatabase = db.targetDatabase;
        const landsIn = () => `${targetIndex}/${(targetDatabase ?? sourceDatabase).toLowerCase().trimEnd()}`;
        for (let attempt = 0; targetNames.has(landsIn()); attempt++) targetDatabase = `${name}_${attempt}`;
        targetNames.add(landsIn());

        const position = order.indexOf(index);
        const placedBefore = (pick: number) => order[pick % position];
        const dependencies =
          position === 0
            ? []
            : [...db.dependencyPicks.map(placedBefore), ...(db.dependsOnPrevious ? [order[position - 1]] : [])];
        const dependsOn = [...new Set(dependencies)].map((i) => databaseDrafts[i][0]);

        return {
          name,
          source: { server: draft.sourceServers[sourceIndex][0], database: sourceDatabase },
          target: withoutUndefined({
            server: draft.targetServers[targetIndex][0],
            database: targetDatabase,
            kind: db.statesKind ? kind : undefined,
          }),
          ...maybe(db.mode !== undefined, 'mode', kind === 'SqlDb' ? 'offline' : db.mode),
          ...maybe(db.sourceFreeze !== undefined, 'sourceFreeze', kind === 'SqlDb' ? 'readOnly' : db.sourceFreeze),
          ...maybe(
            db.allowSourceWritesDuringCopy !== undefined,
            'allowSourceWritesDuringCopy',
            kind === 'SqlDb' && db.allowSourceWritesDuringCopy,
          ),
          ...maybe(dependsOn.length > 0 || db.writeEmptyDependsOn, 'dependsOn', dependsOn),
          ...maybe(db.validation !== undefined, 'validation', db.validation),
          ...maybe(db.timeoutMinutes !== undefined, 'timeoutMinutes', db.timeoutMinutes),
        };
      });

      const needsBackupStorage = sourcesNeedingShare.size > 0;
      return withoutUndefined({
        name: draft.name,
        location: draft.location,
        tags: draft.tags,
        notifications: withoutUndefined({ emails: draft.emails, longRunningMinutes: draft.longRunningMinutes }),
        airflow: withoutUndefined({
          sqlAccess: draft.sqlAccess,
          kubernetes: draft.maxNodes === undefined ? undefined : { minNodes: 1, maxNodes: draft.maxNodes },
        }),
        // Through Data Factory the SQL steps at once are each SQL pipeline's concurrency, at most 50.
        concurrency:
          draft.sqlAccess === 'dataFactory' && draft.concurrency?.maxSqlStepsPerRuntime !== undefined
            ? { ...draft.concurrency, maxSqlStepsPerRuntime: Math.min(draft.concurrency.maxSqlStepsPerRuntime, 50) }
            : draft.concurrency,
        sourceServers: draft.sourceServers.map(([name, { backupFileShare, shareEvenIfUnneeded, ...server }], index) =>
          withoutUndefined({
            name,
            ...server,
            backupFileShare: sourcesNeedingShare.has(index) || shareEvenIfUnneeded ? backupFileShare : undefined,
          }),
        ),
        targetServers: draft.targetServers.map(([name, server]) =>
          withoutUndefined({
            name,
            kind: server.kind,
            resourceId: server.resourceId,
            connectionId: server.connectionId,
          }),
        ),
        backupStorage: needsBackupStorage || draft.backupStorageEvenIfUnneeded ? draft.backupStorage : undefined,
        databases,
      });
    });
}

/** Strings that break parsers and logs: unicode, bidi marks, control characters, prototype names, injection. */
export const oddString: fc.Arbitrary<string> = fc.oneof(
  // The ones that have found bugs, more often than their share of the list below.
  { arbitrary: fc.constantFrom('__proto__', 'constructor', 'line\nbreak', 'x'.repeat(100_000)), weight: 1 },
  fc.constantFrom(
    '',
    ' ',
    '\t',
    '\n',
    ' padded ',
    '\u200f',
    'abc\u202edcba',
    '\u200b',
    '😀',
    'db_😀',
    'e\u0301',
    'İstanbul',
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'null',
    'NaN',
    "x'; DROP TABLE users; --",
    'Robert"); DROP TABLE Students;--',
    '1 OR 1=1',
    '[dbo]',
    '../../etc/passwd',
    '..\\..\\windows\\system32',
    '\u0000',
    'a\u0000b',
    '\u001b[31mred',
    '\r\nfake: line',
    'line\nbreak',
    '\ud800',
    '${jndi:ldap://x}',
    '{{7*7}}',
    'x'.repeat(100_000),
  ),
  fc.string({ unit: anyCodePoint, maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), maxLength: 20 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 200, maxLength: 2000 }),
);
