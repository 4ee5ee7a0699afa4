/**
 * The shape of a plan document as people write it: types, formats, ranges and the defaults
 * that do not depend on other fields. Cross-field rules live in `semantic-checks.ts`, defaults
 * derived from other fields in `derived-defaults.ts`; `schema.ts` joins the three.
 */
import { z } from 'zod';
import { airflowSchema } from './airflow-schema';
import * as rules from './rules';

interface NamedPattern {
  readonly pattern: RegExp;
  readonly rule: string;
}

function matching({ pattern, rule }: NamedPattern): z.ZodString {
  return z.string().regex(pattern, { error: rule });
}

function integerBetween({ min, max }: { readonly min: number; readonly max: number }): z.ZodNumber {
  const error = `must be an integer from ${min} to ${max}`;
  return z.number().int({ error }).min(min, { error }).max(max, { error });
}

const connectionId = matching(rules.CONNECTION_ID);

const sqlDatabaseName = matching(rules.SQL_DATABASE_NAME)
  // The DAG refuses blank names, so such a plan would deploy and then fail to import.
  // (Empty, or blank with control characters, is already the pattern's problem.)
  .refine((name) => name.trim() !== '' || !rules.SQL_DATABASE_NAME.pattern.test(name), {
    error: 'must not be only whitespace',
  })
  .refine((name) => !rules.SYSTEM_DATABASES.includes(name.toLowerCase()), {
    error: `is a system database (${rules.SYSTEM_DATABASES.join(', ')}); only user databases can be migrated`,
  });

const targetKind = z.enum(rules.TARGET_KINDS);

export const notificationsSchema = z
  .strictObject({
    emails: z
      .array(
        z
          .string()
          .max(rules.LIMITS.emailLength, { error: rules.EMAIL.rule })
          .regex(rules.EMAIL.pattern, { error: rules.EMAIL.rule }),
      )
      .min(1, { error: 'needs at least one email address' })
      .meta({ description: 'Email receivers of the `migration-alerts` action group (at least one).' }),
    longRunningMinutes: integerBetween(rules.LIMITS.longRunningMinutes)
      .default(rules.DEFAULTS.longRunningMinutes)
      .meta({ description: 'A migration running longer than this (minutes) raises a severity-2 alert.' }),
  })
  .meta({ description: 'Who hears about failures and slow migrations.' });

const concurrencyDefaults = rules.DEFAULTS.concurrency;

export const concurrencySchema = z
  .strictObject({
    maxMigrationsPerService: integerBetween(rules.LIMITS.migrationsAtOnce)
      .default(concurrencyDefaults.maxMigrationsPerService)
      .meta({
        description:
          'DMS migrations in flight at once on the migration service and its self-hosted integration runtime. Default 10: Microsoft recommends up to 10 concurrent migrations per runtime node (a runtime scales out to 4 nodes).',
      }),
    maxMigrationsPerSourceServer: integerBetween(rules.LIMITS.migrationsAtOnce)
      .default(concurrencyDefaults.maxMigrationsPerSourceServer)
      .meta({
        description:
          "Migrations in flight at once from one source SQL Server. Default 2: they share the server's disks, network and backup share with its live workload, and offline ones freeze its databases.",
      }),
    maxSqlStepsPerRuntime: integerBetween(rules.LIMITS.sqlStepsAtOnce)
      .default(concurrencyDefaults.maxSqlStepsPerRuntime)
      .meta({
        description:
          "SQL steps (preflight, freeze, final backup, validation, rollback) at once through Data Factory's self-hosted integration runtime. Default 4: each is a pipeline run taking one of the runtime's concurrent jobs, whose limit Data Factory sets from the machine's size; steps beyond it queue and delay freezes and cutovers.",
      }),
  })
  .meta({ description: 'How much runs at once: per migration service, per source server, per self-hosted runtime.' });

export const backupFileShareSchema = z
  .strictObject({
    path: matching(rules.UNC_PATH).meta({ description: 'UNC path, for example \\\\fileserver\\backups\\sql01.' }),
    connectionId: connectionId.meta({ description: "Airflow connection with the share's user and password." }),
  })
  .meta({ description: 'SMB share with full and log backups.' });

export const sourceServerSchema = z
  .strictObject({
    name: matching(rules.SERVER_NAME).meta({
      description: 'Logical name used by databases[].source.server: lowercase letters, digits, hyphens.',
    }),
    host: matching(rules.SQL_HOST).meta({
      description: 'Host name (or host\\instance) as seen from the self-hosted integration runtime.',
    }),
    port: integerBetween(rules.LIMITS.port)
      .default(rules.DEFAULTS.port)
      .meta({ description: 'TCP port of the SQL Server.' }),
    authentication: z
      .enum(rules.SQL_AUTHENTICATIONS)
      .default(rules.DEFAULTS.authentication)
      .meta({ description: 'How DMS logs in to the SQL Server.' }),
    connectionId: connectionId.optional().meta({
      description:
        'Airflow connection (stored in Key Vault as airflow-connections-<id>) with the login DMS and validation use on this server. Default: mssql_source_<name with - replaced by _>.',
    }),
    connectionStringSecretName: matching(rules.SECRET_NAME).optional().meta({
      description:
        'Key Vault secret holding the connection string of the Data Factory SQL Server linked service. Default: <name>-connection-string.',
    }),
    backupFileShare: backupFileShareSchema.optional().meta({
      description:
        "SMB share where the server's backups are written (SqlMi and SqlVm targets restore from it). Required when a database of this server goes to SqlMi or SqlVm.",
    }),
  })
  .meta({ description: 'A SQL Server that databases move from.' });

export const targetServerSchema = z
  .strictObject({
    name: matching(rules.SERVER_NAME).meta({ description: 'Logical name used by databases[].target.server.' }),
    kind: targetKind.meta({
      description:
        'SqlMi (managed instance), SqlDb (Azure SQL Database) or SqlVm (SQL Server on a VM): decides how DMS migrates and which resourceId shape is expected.',
    }),
    resourceId: z
      .string()
      .regex(rules.ANY_TARGET_RESOURCE_ID, {
        error:
          'must be the ARM id of a SQL managed instance, logical server or SQL virtual machine, e.g. ' +
          rules.TARGET_RESOURCE_ID.SqlMi.example,
      })
      .meta({
        description:
          'ARM id of the target: .../Microsoft.Sql/managedInstances/<mi> (SqlMi), .../Microsoft.Sql/servers/<server> (SqlDb), .../Microsoft.SqlVirtualMachine/sqlVirtualMachines/<vm> (SqlVm).',
      }),
    connectionId: connectionId.optional().meta({
      description:
        'Airflow connection with the login used for validation (and, for SqlDb, by DMS). Default: mssql_target_<name with - replaced by _>.',
    }),
  })
  .meta({ description: 'An Azure SQL Managed Instance, logical server or SQL VM that databases move to.' });

export const backupStorageSchema = z
  .strictObject({
    storageAccountResourceId: z
      .string()
      .regex(rules.STORAGE_ACCOUNT_ID.pattern, {
        error: `must be a storage account ARM id: ${rules.STORAGE_ACCOUNT_ID.example}`,
      })
      .meta({ description: 'ARM id of the storage account (.../Microsoft.Storage/storageAccounts/<name>).' }),
    connectionId: connectionId.meta({ description: 'Airflow connection whose password is the account key DMS needs.' }),
  })
  .meta({ description: 'Storage account where DMS stages backups for SqlMi and SqlVm targets.' });

export const validationSchema = z
  .strictObject({
    rowCounts: z
      .boolean()
      .default(true)
      .meta({ description: 'Compare the row count of every validated table between source and target.' }),
    checksums: z.boolean().default(false).meta({ description: 'Compare table checksums (slower, stronger).' }),
    tables: z
      .array(matching(rules.TABLE_NAME))
      .min(1, { error: 'list at least one table, or leave tables out to compare every user table' })
      .optional()
      .meta({ description: 'Tables to compare, as schema.table. Default: every user table of the source database.' }),
  })
  .meta({ description: 'What "migrated correctly" means for one database.' });

export const databaseSchema = z
  .strictObject({
    name: matching(rules.DATABASE_NAME).meta({
      description: 'Letters, digits and underscores; unique; becomes the Airflow task-group id.',
    }),
    source: z
      .strictObject({
        server: z.string().meta({ description: 'Name of an entry in sourceServers.' }),
        database: sqlDatabaseName.meta({ description: 'Database name on that server.' }),
      })
      .meta({ description: 'Where the database comes from.' }),
    target: z
      .strictObject({
        server: z.string().meta({ description: 'Name of an entry in targetServers.' }),
        database: sqlDatabaseName
          .optional()
          .meta({ description: 'Database name on the target. Default: the source name.' }),
        kind: targetKind.optional().meta({ description: 'Filled in from the target server; if given it must match.' }),
      })
      .meta({ description: 'Where the database goes.' }),
    mode: z.enum(rules.MIGRATION_MODES).optional().meta({
      description:
        'Online (the source stays live, cutover at the end) or offline (one copy). Default: online for SqlMi and SqlVm, offline for SqlDb (which supports nothing else).',
    }),
    sourceFreeze: z
      .enum(rules.SOURCE_FREEZES)
      .default(rules.DEFAULTS.sourceFreeze)
      .meta({
        description:
          'How the source database is frozen before the final backup (SqlDb: before the copy): readOnly (reads go on, writes fail) or singleUser (every other connection is closed). SqlDb allows only readOnly: DMS copies through its own connections to the source.',
      }),
    allowSourceWritesDuringCopy: z
      .boolean()
      .default(rules.DEFAULTS.allowSourceWritesDuringCopy)
      .meta({
        description:
          'SqlDb only: true keeps the source writable while DMS copies it (no downtime, but writes made during the copy are not migrated); false freezes the source for the copy.',
      }),
    dependsOn: z
      .array(z.string())
      .default([])
      .meta({ description: 'Databases that must finish (validated) before this one starts.' }),
    validation: validationSchema
      .default({ rowCounts: true, checksums: false })
      .meta({ description: 'How the migrated database is checked before dependents start.' }),
    timeoutMinutes: integerBetween(rules.LIMITS.timeoutMinutes)
      .default(rules.DEFAULTS.timeoutMinutes)
      .meta({ description: 'The DAG gives up waiting (and rolls back) after this.' }),
  })
  .meta({ description: 'One database to move.' });

export const tagsSchema = z
  .record(
    z.string().regex(rules.TAG_KEY.pattern, { error: `tag key ${rules.TAG_KEY.rule}` }),
    z.string().max(rules.LIMITS.tagValueLength, { error: `must be at most ${rules.LIMITS.tagValueLength} characters` }),
  )
  .refine((tags) => Object.keys(tags).length <= rules.LIMITS.tags, {
    error: `Azure allows at most ${rules.LIMITS.tags} tags per resource`,
  })
  .default({})
  .meta({ description: 'Tags on every resource the stack creates.' });

export const planDocumentSchema = z
  .strictObject({
    name: matching(rules.PLAN_NAME).meta({
      description: 'Lowercase letters, digits and hyphens (3-16); names the stack and prefixes Azure resource names.',
    }),
    location: matching(rules.LOCATION).meta({
      description: 'Azure region of everything the stack creates, for example westeurope.',
    }),
    tags: tagsSchema,
    notifications: notificationsSchema,
    airflow: airflowSchema,
    concurrency: concurrencySchema.default(concurrencyDefaults),
    sourceServers: z
      .array(sourceServerSchema)
      .min(1, { error: 'needs at least one source server' })
      .meta({ description: 'SQL Servers that databases move from (at least one).' }),
    targetServers: z
      .array(targetServerSchema)
      .min(1, { error: 'needs at least one target server' })
      .meta({ description: 'Azure SQL targets that databases move to (at least one).' }),
    backupStorage: backupStorageSchema.optional().meta({
      description: 'Storage account where DMS stages backups. Required when any database goes to SqlMi or SqlVm.',
    }),
    databases: z
      .array(databaseSchema)
      .min(1, { error: 'needs at least one database' })
      .meta({ description: 'The databases to move (at least one); dependsOn orders them.' }),
  })
  .meta({ description: 'A migration: what moves, from where, to where, in which order.' });

export type PlanDocument = z.output<typeof planDocumentSchema>;
