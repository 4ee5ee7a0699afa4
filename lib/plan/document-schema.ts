/**
 * The shape of a plan document as people write it: types, formats, ranges and the defaults
 * that do not depend on other fields. Cross-field rules live in `semantic-checks.ts`; `schema.ts`
 * joins the two and fills the defaults derived from other fields.
 */
import { z } from 'zod';
import { holdsCredential } from '../private/secret-variables';
import { airflowSchema } from './airflow-schema';
import { databaseCutoverSchema, planCutoverSchema } from './cutover-schema';
import {
  DEFAULT_TIMEOUT_MINUTES,
  integerBetween,
  matching,
  MIGRATION_MODES,
  ONE_DOCUMENT,
  STORAGE_ACCOUNT_ID,
  TARGET_KINDS,
  TARGET_RESOURCE_ID,
  TIMEOUT_MINUTES,
} from './rules';

/**
 * Airflow's Key Vault secrets backend reads connection `<id>` from the secret
 * `airflow-connections-<id with _ replaced by ->`, so ids must fit a secret name (127 characters).
 */
const connectionId = matching(
  /^[A-Za-z0-9_-]{1,107}$/,
  'must be 1-107 letters, digits, underscores and hyphens (an Airflow connection id, stored in Key Vault as airflow-connections-<id>)',
);

const serverName = matching(
  /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/,
  'must be 2-32 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen',
);

const SQL_DATABASE_NAME = /^[^\[\]'"\u0000-\u001f\u007f-\u009f]{1,128}$/;
/**
 * The same names without whitespace at either end (what `String.prototype.trim` strips, spelled out so
 * Python's `re` reads it alike), for the JSON Schema: editors and the DAG's validator see the rules below too.
 */
const EDGE = `[^\\[\\]'"\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]`;
const TRIMMED_SQL_DATABASE_NAME = `^${EDGE}(?:[^\\[\\]'"\\u0000-\\u001f\\u007f-\\u009f]{0,126}${EDGE})?$`;
const SYSTEM_DATABASES = ['master', 'model', 'msdb', 'tempdb'];
const sqlDatabaseName = matching(SQL_DATABASE_NAME, 'must be 1-128 characters without [ ] \' " or control characters')
  // The DAG refuses blank names, so such a plan would deploy and then fail to import.
  // (Empty, or blank with control characters, is already the pattern's problem.)
  .refine((name) => name.trim() !== '' || !SQL_DATABASE_NAME.test(name), { error: 'must not be only whitespace' })
  // SQL Server ignores trailing spaces when it compares names ('Sales ' is Sales), and a leading one is
  // invisible in every message: both would name a database other than the one the person sees.
  .refine((name) => name === name.trim() || name.trim() === '' || !SQL_DATABASE_NAME.test(name), {
    error: 'must not begin or end with whitespace (SQL Server ignores trailing spaces in names: "Sales " is Sales)',
  })
  .refine((name) => !SYSTEM_DATABASES.includes(name.toLowerCase()), {
    error: `is a system database (${SYSTEM_DATABASES.join(', ')}); only user databases can be migrated`,
  })
  .meta({ pattern: TRIMMED_SQL_DATABASE_NAME });

/** RFC 5322 "lite": dot-atom local part, hostname labels, a dot in the domain. */
const EMAIL =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const emailRule = 'must be an email address like name@example.com';

export const notificationsSchema = z
  .strictObject({
    // Azure Monitor's limits for an action group: 1,000 email receivers, 64 characters an address.
    emails: z
      .array(
        z
          .string()
          .max(64, { error: 'must be at most 64 characters, the longest email address an Azure Monitor action group takes' })
          // One problem for an address too long: its pattern is judged only where it fits (and stays in the JSON Schema).
          .refine((address) => address.length > 64 || EMAIL.test(address), { error: emailRule })
          .meta({ pattern: EMAIL.source }),
      )
      .min(1, { error: 'needs at least one email address' })
      .max(1000, { error: 'an Azure Monitor action group takes at most 1,000 email receivers' })
      .describe('Email receivers of the `migration-alerts` action group (at least one).'),
    // The running-long alert is a log alert: it looks back at most two days, less its 15-minute evaluation frequency.
    longRunningMinutes: integerBetween(5, 2865)
      .default(60)
      .describe('A migration running longer than this (minutes) raises a severity-2 alert.'),
  })
  .describe('Who hears about failures and slow migrations.');

const concurrencySchema = z
  .strictObject({
    // Microsoft recommends up to 10 concurrent database migrations per self-hosted integration runtime
    // node (MicrosoftDocs/azure-docs articles/dms/migration-using-azure-data-studio.md), which scales out to 4 nodes.
    maxMigrationsPerService: integerBetween(1, 40)
      .default(10)
      .describe(
        'DMS migrations in flight at once on the migration service and its self-hosted integration runtime. Default 10: Microsoft recommends up to 10 concurrent migrations per runtime node (a runtime scales out to 4 nodes).',
      ),
    maxMigrationsPerSourceServer: integerBetween(1, 40)
      .default(2)
      .describe(
        "Migrations in flight at once from one source SQL Server. Default 2: they share the server's disks, network and backup share with its live workload, and offline ones freeze its databases.",
      ),
    // Each SQL step is one job on the runtime, whose per-node job limit follows the machine's size
    // (MicrosoftDocs/azure-docs articles/data-factory/monitor-integration-runtime.md).
    maxSqlStepsPerRuntime: integerBetween(1, 100)
      .default(4)
      .describe(
        "SQL steps (preflight, freeze, final backup, validation, rollback) at once through Data Factory's self-hosted integration runtime. Default 4: each is a pipeline run taking one of the runtime's concurrent jobs, whose limit Data Factory sets from the machine's size; steps beyond it queue and delay freezes and cutovers. At most 50 with airflow.sqlAccess dataFactory (each SQL pipeline's concurrency, which azurerm caps at 50).",
      ),
  })
  .describe('How much runs at once: per migration service, per source server, per self-hosted runtime.');

const sourceServerSchema = z
  .strictObject({
    name: serverName.describe('Logical name used by databases[].source.server: lowercase letters, digits, hyphens.'),
    host: matching(
      /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?(?:\\[A-Za-z_][A-Za-z0-9_$#]{0,15})?$/,
      'must be a host name or IP address, optionally followed by \\<instance>',
    ).describe('Host name (or host\\instance) as seen from the self-hosted integration runtime.'),
    port: integerBetween(1, 65535).default(1433).describe('TCP port of the SQL Server.'),
    authentication: z
      .enum(['SqlAuthentication', 'WindowsAuthentication'])
      .default('SqlAuthentication')
      .describe('How DMS logs in to the SQL Server.'),
    connectionId: connectionId
      .optional()
      .describe(
        'Airflow connection (stored in Key Vault as airflow-connections-<id>) with the login DMS and validation use on this server. Default: mssql_source_<name with - replaced by _>.',
      ),
    connectionStringSecretName: matching(
      /^[0-9a-zA-Z-]{1,127}$/,
      'must be 1-127 letters, digits and hyphens (a Key Vault secret name)',
    )
      .optional()
      .describe(
        'Key Vault secret holding the connection string of the Data Factory SQL Server linked service. Default: <name>-connection-string.',
      ),
    backupFileShare: z
      .strictObject({
        path: matching(
          /^\\\\[^\\/\s]+(?:\\[^\\/\u0000-\u001f]+)+\\?$/,
          'must be a UNC path like \\\\fileserver\\share\\folder',
        ).describe('UNC path, for example \\\\fileserver\\backups\\sql01.'),
        connectionId: connectionId.describe("Airflow connection with the share's user and password."),
      })
      .optional()
      .describe(
        "SMB share where the server's backups are written (SqlMi and SqlVm targets restore from it). Required when a database of this server goes to SqlMi or SqlVm.",
      ),
  })
  .describe('A SQL Server that databases move from.');

const targetServerSchema = z
  .strictObject({
    name: serverName.describe('Logical name used by databases[].target.server.'),
    kind: z
      .enum(TARGET_KINDS)
      .describe(
        'SqlMi (managed instance), SqlDb (Azure SQL Database) or SqlVm (SQL Server on a VM): decides how DMS migrates and which resourceId shape is expected.',
      ),
    // Any of the three id shapes; which one must match the kind is a cross-field check.
    resourceId: matching(
      new RegExp(
        Object.values(TARGET_RESOURCE_ID)
          .map(({ pattern }) => `(?:${pattern.source})`)
          .join('|'),
      ),
      `must be the ARM id of a SQL managed instance, logical server or SQL virtual machine, e.g. ${TARGET_RESOURCE_ID.SqlMi.example}`,
    ).describe(
      'ARM id of the target: .../Microsoft.Sql/managedInstances/<mi> (SqlMi), .../Microsoft.Sql/servers/<server> (SqlDb), .../Microsoft.SqlVirtualMachine/sqlVirtualMachines/<vm> (SqlVm).',
    ),
    connectionId: connectionId
      .optional()
      .describe(
        'Airflow connection with the login used for validation (and, for SqlDb, by DMS). Default: mssql_target_<name with - replaced by _>.',
      ),
  })
  .describe('An Azure SQL Managed Instance, logical server or SQL VM that databases move to.');

const backupStorageSchema = z.strictObject({
  storageAccountResourceId: matching(
    STORAGE_ACCOUNT_ID.pattern,
    `must be a storage account ARM id: ${STORAGE_ACCOUNT_ID.example}`,
  ).describe('ARM id of the storage account (.../Microsoft.Storage/storageAccounts/<name>).'),
  connectionId: connectionId.describe('Airflow connection whose password is the account key DMS needs.'),
});

const validationSchema = z.strictObject({
  rowCounts: z
    .boolean()
    .default(true)
    .describe('Compare the row count of every validated table between source and target.'),
  checksums: z.boolean().default(false).describe('Compare table checksums (slower, stronger).'),
  // Regular SQL identifiers only, so the DAG can quote them safely.
  tables: z
    .array(
      matching(
        /^[A-Za-z_@#][A-Za-z0-9_@#$]{0,127}\.[A-Za-z_@#][A-Za-z0-9_@#$]{0,127}$/,
        'must be schema.table with regular SQL identifiers, e.g. dbo.Orders',
      ),
    )
    .min(1, { error: 'list at least one table, or leave tables out to compare every user table' })
    .optional()
    .describe('Tables to compare, as schema.table. Default: every user table of the source database.'),
});

const databaseSchema = z
  .strictObject({
    name: matching(
      /^[A-Za-z][A-Za-z0-9_]{0,63}$/,
      'must be 1-64 letters, digits and underscores, starting with a letter (it becomes an Airflow task-group id)',
    )
      // The DAG's last task has that id: its DAG would fail to import, every database of the plan with it.
      .refine((name) => name !== 'run_outcome', { error: "must not be run_outcome, the id of the DAG's last task" })
      .describe('Letters, digits and underscores; unique; becomes the Airflow task-group id.'),
    source: z
      .strictObject({
        server: z.string().describe('Name of an entry in sourceServers.'),
        database: sqlDatabaseName.describe('Database name on that server.'),
      })
      .describe('Where the database comes from.'),
    target: z
      .strictObject({
        server: z.string().describe('Name of an entry in targetServers.'),
        database: sqlDatabaseName.optional().describe('Database name on the target. Default: the source name.'),
        kind: z.enum(TARGET_KINDS).optional().describe('Filled in from the target server; if given it must match.'),
      })
      .describe('Where the database goes.'),
    mode: z
      .enum(MIGRATION_MODES)
      .optional()
      .describe(
        'Online (the source stays live, cutover at the end) or offline (one copy). Default: online for SqlMi and SqlVm, offline for SqlDb (which supports nothing else).',
      ),
    sourceFreeze: z
      .enum(['readOnly', 'singleUser'])
      .default('readOnly')
      .describe(
        'How the source database is frozen before the final backup (SqlDb: before the copy): readOnly (reads go on, writes fail) or singleUser (read-only, and every other connection is closed). SqlDb allows only readOnly: DMS copies through its own connections to the source.',
      ),
    allowSourceWritesDuringCopy: z
      .boolean()
      .default(false)
      .describe(
        'SqlDb only: true keeps the source writable while DMS copies it (no downtime, but writes made during the copy are not migrated); false freezes the source for the copy.',
      ),
    dependsOn: z
      .array(z.string())
      .default([])
      .describe('Databases that must finish (validated) before this one starts.'),
    validation: validationSchema
      .default(validationSchema.parse({}, ONE_DOCUMENT))
      .describe('How the migrated database is checked before dependents start.'),
    timeoutMinutes: TIMEOUT_MINUTES.default(DEFAULT_TIMEOUT_MINUTES)
      .describe('The DAG gives up waiting (and rolls back) after this.'),
    cutover: databaseCutoverSchema.optional(),
  })
  .describe('One database to move.');

// azurerm counts a tag's bytes (UTF-8), and limits a storage account's keys (the dataFactory and external hosts' DAG storage) to 128.
// The lengths in characters are there for the JSON Schema; the bytes are checked only where they fit.
const atMostBytes = (schema: z.ZodString, bytes: number, error: string) =>
  schema.max(bytes, { error }).refine((text) => text.length > bytes || Buffer.byteLength(text, 'utf8') <= bytes, { error });
const tagsSchema = z
  .record(
    atMostBytes(
      matching(/^[^<>%&\\?/]+$/, 'tag key must not be empty or contain < > % & \\ ? /'),
      128,
      'tag key must be at most 128 bytes in UTF-8 (the limit on storage accounts, which the dataFactory and external hosts create)',
    ),
    atMostBytes(z.string(), 256, 'must be at most 256 bytes in UTF-8').refine((value) => !holdsCredential(value), {
      // Microsoft: "Tags are stored as plain text. Never add sensitive values to tags." (azure-resource-manager/management/tag-resources.md)
      error:
        'holds a credential: Azure keeps tags in plain text, shown with the resource, in cost reports and deployment histories, and the stack writes them into the synthesized JSON and the Terraform state; keep it in Key Vault and tag with its name',
    }),
  )
  .refine((tags) => Object.keys(tags).length <= 50, { error: 'Azure allows at most 50 tags per resource' })
  .default({})
  .describe('Tags on every resource the stack creates.');

export const planDocumentSchema = z
  .strictObject({
    // It prefixes CAF resource names with length limits: kv-<name>-<4> and st<name without hyphens><4>,
    // each at most 24 characters.
    name: matching(
      /^(?!.*--)[a-z][a-z0-9-]{1,14}[a-z0-9]$/,
      'must be 3-16 lowercase letters, digits and single hyphens, start with a letter and not end with a hyphen (it prefixes Azure resource names such as kv-<name>-xxxx, at most 24 characters)',
    ).describe('Lowercase letters, digits and hyphens (3-16); names the stack and prefixes Azure resource names.'),
    location: matching(
      /^[a-z][a-z0-9]+$/,
      'must be an Azure region short name such as westeurope (lowercase letters and digits)',
    ).describe('Azure region of everything the stack creates, for example westeurope.'),
    tags: tagsSchema,
    notifications: notificationsSchema,
    airflow: airflowSchema,
    concurrency: concurrencySchema.default(concurrencySchema.parse({}, ONE_DOCUMENT)),
    cutover: planCutoverSchema.prefault({}),
    sourceServers: z
      .array(sourceServerSchema)
      .min(1, { error: 'needs at least one source server' })
      .describe('SQL Servers that databases move from (at least one).'),
    targetServers: z
      .array(targetServerSchema)
      .min(1, { error: 'needs at least one target server' })
      .describe('Azure SQL targets that databases move to (at least one).'),
    backupStorage: backupStorageSchema
      .optional()
      .describe('Storage account where DMS stages backups. Required when any database goes to SqlMi or SqlVm.'),
    databases: z
      .array(databaseSchema)
      .min(1, { error: 'needs at least one database' })
      .describe('The databases to move (at least one); dependsOn orders them.'),
  })
  .describe('A migration: what moves, from where, to where, in which order.');

export type PlanDocument = z.output<typeof planDocumentSchema>;
