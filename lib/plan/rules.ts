/**
 * What Azure, Airflow and SQL Server accept, in one place. Patterns avoid regex flags so that
 * the JSON Schema generated from the plan schema (which keeps only the pattern source) checks
 * exactly what the validator checks.
 */
export const TARGET_KINDS = ['SqlMi', 'SqlDb', 'SqlVm'] as const;
type TargetKind = (typeof TARGET_KINDS)[number];
export const MIGRATION_MODES = ['online', 'offline'] as const;
export const SQL_AUTHENTICATIONS = ['SqlAuthentication', 'WindowsAuthentication'] as const;
/** READ_ONLY lets readers go on; SINGLE_USER closes every other connection. */
export const SOURCE_FREEZES = ['readOnly', 'singleUser'] as const;

/** Target kinds that DMS restores from backups (a file share and a staging storage account). */
export const BACKUP_RESTORE_KINDS: readonly TargetKind[] = ['SqlMi', 'SqlVm'];

/** DMS migrations to Azure SQL Database are offline only. */
export function defaultMode(kind: TargetKind): (typeof MIGRATION_MODES)[number] {
  return kind === 'SqlDb' ? 'offline' : 'online';
}

export const DEFAULTS = {
  longRunningMinutes: 60,
  timeoutMinutes: 720,
  port: 1433,
  authentication: 'SqlAuthentication',
  sourceFreeze: 'readOnly',
  allowSourceWritesDuringCopy: false,
  concurrency: {
    // Microsoft recommends up to 10 concurrent database migrations per self-hosted integration
    // runtime node (MicrosoftDocs/azure-docs articles/dms/migration-using-azure-data-studio.md).
    maxMigrationsPerService: 10,
    // One server's migrations share its disks, network and backup share with its live workload.
    maxMigrationsPerSourceServer: 2,
    // Each SQL step is one job on the runtime, whose per-node job limit follows the machine's size
    // (MicrosoftDocs/azure-docs articles/data-factory/monitor-integration-runtime.md).
    maxSqlStepsPerRuntime: 4,
  },
} as const;

export const LIMITS = {
  // The running-long alert is a log alert: it looks back at most two days, less its 15-minute evaluation frequency.
  longRunningMinutes: { min: 5, max: 2865 },
  timeoutMinutes: { min: 10, max: 10080 },
  port: { min: 1, max: 65535 },
  // A DMS self-hosted runtime scales out to 4 nodes of 10 recommended migrations each.
  migrationsAtOnce: { min: 1, max: 40 },
  sqlStepsAtOnce: { min: 1, max: 100 },
  tags: 50,
  tagKeyLength: 512,
  tagValueLength: 256,
  emailLength: 254,
  sqlDatabaseNameLength: 128,
} as const;

/** A regex source matching `word` in any letter case, e.g. `[Ss][Qq][Ll]`. */
export function anyCase(word: string): string {
  return word.replace(/[A-Za-z]/g, (c) => `[${c.toUpperCase()}${c.toLowerCase()}]`).replace(/\./g, '\\.');
}

const GUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
/** Resource group names: 1-90 of letters, digits, `_ . - ( )`, not ending with a period. */
const RESOURCE_GROUP = '[-\\w.()]{0,89}[-\\w()]';

export function armIdPattern(provider: string, type: string, name: string): RegExp {
  return new RegExp(
    `^/${anyCase('subscriptions')}/${GUID}/${anyCase('resourceGroups')}/${RESOURCE_GROUP}` +
      `/${anyCase('providers')}/${anyCase(provider)}/${anyCase(type)}/${name}$`,
  );
}

export const GUID_PATTERN = new RegExp(`^${GUID}$`);

/** What each target kind's `resourceId` must look like. */
export const TARGET_RESOURCE_ID: Readonly<Record<TargetKind, { pattern: RegExp; example: string }>> = {
  SqlMi: {
    pattern: armIdPattern('Microsoft.Sql', 'managedInstances', '[a-z0-9][a-z0-9-]{0,61}[a-z0-9]'),
    example: '/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Sql/managedInstances/<name>',
  },
  SqlDb: {
    pattern: armIdPattern('Microsoft.Sql', 'servers', '[a-z0-9][a-z0-9-]{0,61}[a-z0-9]'),
    example: '/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Sql/servers/<name>',
  },
  SqlVm: {
    pattern: armIdPattern('Microsoft.SqlVirtualMachine', 'sqlVirtualMachines', '[A-Za-z0-9][-\\w.]{0,63}'),
    example:
      '/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.SqlVirtualMachine/sqlVirtualMachines/<name>',
  },
};

/** Any of the three target id shapes; which one must match the kind is a cross-field check. */
export const ANY_TARGET_RESOURCE_ID = new RegExp(
  Object.values(TARGET_RESOURCE_ID)
    .map(({ pattern }) => `(?:${pattern.source})`)
    .join('|'),
);

export const STORAGE_ACCOUNT_ID = {
  pattern: armIdPattern('Microsoft.Storage', 'storageAccounts', '[a-z0-9]{3,24}'),
  example: '/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<name>',
};

/**
 * Plan names prefix CAF resource names with length limits: `kv-<name>-<4>` <= 24 and
 * `st<name without hyphens><4>` <= 24, so at most 16 characters.
 */
export const PLAN_NAME = {
  pattern: /^(?!.*--)[a-z][a-z0-9-]{1,14}[a-z0-9]$/,
  rule:
    'must be 3-16 lowercase letters, digits and single hyphens, start with a letter and not end with a hyphen ' +
    '(it prefixes Azure resource names such as kv-<name>-xxxx, at most 24 characters)',
};

/** Databases become Airflow task-group ids and Python identifiers in the DAG. */
export const DATABASE_NAME = {
  pattern: /^[A-Za-z][A-Za-z0-9_]{0,63}$/,
  rule: 'must be 1-64 letters, digits and underscores, starting with a letter (it becomes an Airflow task-group id)',
};

export const SERVER_NAME = {
  pattern: /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/,
  rule: 'must be 2-32 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen',
};

export const SQL_DATABASE_NAME = {
  pattern: /^[^\[\]'"\u0000-\u001f\u007f-\u009f]{1,128}$/,
  rule: 'must be 1-128 characters without [ ] \' " or control characters',
};

export const SYSTEM_DATABASES: readonly string[] = ['master', 'model', 'msdb', 'tempdb'];

/**
 * Airflow's Key Vault secrets backend reads connection `<id>` from the secret
 * `airflow-connections-<id with _ replaced by ->`, so ids must fit a secret name (127 characters).
 */
export const CONNECTION_ID = {
  pattern: /^[A-Za-z0-9_-]{1,107}$/,
  rule: 'must be 1-107 letters, digits, underscores and hyphens (an Airflow connection id, stored in Key Vault as airflow-connections-<id>)',
};

export const SECRET_NAME = {
  pattern: /^[0-9a-zA-Z-]{1,127}$/,
  rule: 'must be 1-127 letters, digits and hyphens (a Key Vault secret name)',
};

export const LOCATION = {
  pattern: /^[a-z][a-z0-9]+$/,
  rule: 'must be an Azure region short name such as westeurope (lowercase letters and digits)',
};

export const TAG_KEY = {
  pattern: /^[^<>%&\\?/]{1,512}$/,
  rule: 'must be 1-512 characters without < > % & \\ ? /',
};

/** RFC 5322 "lite": dot-atom local part, hostname labels, a dot in the domain. */
export const EMAIL = {
  pattern:
    /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/,
  rule: 'must be an email address like name@example.com',
};

/** A host name or IP address, optionally with a named instance (`host\instance`). */
export const SQL_HOST = {
  pattern: /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?(?:\\[A-Za-z_][A-Za-z0-9_$#]{0,15})?$/,
  rule: 'must be a host name or IP address, optionally followed by \\<instance>',
};

export const UNC_PATH = {
  pattern: /^\\\\[^\\/\s]+(?:\\[^\\/\u0000-\u001f]+)+\\?$/,
  rule: 'must be a UNC path like \\\\fileserver\\share\\folder',
};

/** Regular SQL identifiers only, so the DAG can quote them safely. */
export const TABLE_NAME = {
  pattern: /^[A-Za-z_@#][A-Za-z0-9_@#$]{0,127}\.[A-Za-z_@#][A-Za-z0-9_@#$]{0,127}$/,
  rule: 'must be schema.table with regular SQL identifiers, e.g. dbo.Orders',
};
