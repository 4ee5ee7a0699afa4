/**
 * What Azure and DMS accept, for the document schema and the cross-field checks alike, and the
 * zod building blocks that state a rule once with its message. Patterns avoid regex flags so that
 * the JSON Schema generated from the plan schema (which keeps only the pattern source) checks
 * exactly what the validator checks.
 */
import { z } from 'zod';

export const TARGET_KINDS = ['SqlMi', 'SqlDb', 'SqlVm'] as const;
type TargetKind = (typeof TARGET_KINDS)[number];
export const MIGRATION_MODES = ['online', 'offline'] as const;

/** Target kinds that DMS restores from backups (a file share and a staging storage account). */
export const BACKUP_RESTORE_KINDS: readonly TargetKind[] = ['SqlMi', 'SqlVm'];

/** DMS migrations to Azure SQL Database are offline only. */
export const defaultMode = (kind: TargetKind) => (kind === 'SqlDb' ? 'offline' : 'online');

/** A server's Airflow connection unless the plan names one: `mssql_<side>_<name with - as _>`. */
export const defaultConnectionId = (side: 'source' | 'target', server: string) => `mssql_${side}_${server.replace(/-/g, '_')}`;
/** A source server's Data Factory connection string secret unless the plan names one. */
export const defaultConnectionStringSecretName = (server: string) => `${server}-connection-string`;

/**
 * Parse options for a schema that checks one document per process (a plan, a contract): zod would
 * otherwise compile each object schema into a function (`new Function`) on first use, which costs
 * more than it saves for one document. Same results and issues; only the fast path is skipped.
 */
export const ONE_DOCUMENT = { jitless: true } as const;

/** A mapped copy of T: a zod-derived shape with a name TypeDoc shows (JSON Schema and docs/migration-plan.md describe its fields). */
export type Named<T> = { [K in keyof T]: T[K] };

/** A string matching `pattern`, or the problem `rule`. */
export const matching = (pattern: RegExp, rule: string) => z.string().regex(pattern, { error: rule });

export function integerBetween(min: number, max: number): z.ZodNumber {
  const error = `must be an integer from ${min} to ${max}`;
  return z.number().int({ error }).min(min, { error }).max(max, { error });
}

/**
 * Most runs of one Data Factory pipeline at once: azurerm_data_factory_pipeline's `concurrency` is
 * `validation.IntBetween(1, 50)` (azurerm 4.55; `terraform validate` refuses 51).
 */
export const MAX_PIPELINE_CONCURRENCY = 50;

/** How long a database's steps may wait, in minutes; after `await_cutover`, counted from its end. */
export const TIMEOUT_MINUTES = integerBetween(10, 10080);
export const DEFAULT_TIMEOUT_MINUTES = 720;

/** A regex source matching `word` in any letter case, e.g. `[Ss][Qq][Ll]`. */
export function anyCase(word: string): string {
  return word.replace(/[A-Za-z]/g, (c) => `[${c.toUpperCase()}${c.toLowerCase()}]`).replace(/\./g, '\\.');
}

const GUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
export const GUID_PATTERN = new RegExp(`^${GUID}$`);
/** Resource group names: 1-90 of letters, digits, `_ . - ( )`, not ending with a period. */
const RESOURCE_GROUP = '[-\\w.()]{0,89}[-\\w()]';

/** The pattern of an ARM resource id (`name`: what follows the type) and an example for messages. */
export function armId(provider: string, type: string, name: string, exampleName = '<name>') {
  const scope = `/${anyCase('subscriptions')}/${GUID}/${anyCase('resourceGroups')}/${RESOURCE_GROUP}`;
  return {
    pattern: new RegExp(`^${scope}/${anyCase('providers')}/${anyCase(provider)}/${anyCase(type)}/${name}$`),
    example: `/subscriptions/<guid>/resourceGroups/<rg>/providers/${provider}/${type}/${exampleName}`,
  };
}

/**
 * An Azure VM size by Microsoft's naming convention ("Azure virtual machine sizes naming conventions"):
 * `Standard_` then family, vCPUs, constrained vCPUs after a hyphen (Standard_E4-2ds_v5), features and
 * version joined by `_`. A pattern, not a list: a size released later passes.
 */
export const VM_SIZE = { pattern: /^Standard_[A-Za-z0-9][A-Za-z0-9_-]{1,39}$/, rule: 'an Azure VM size such as Standard_D4ds_v5' } as const;

/** A storage account (3-24 lowercase letters and digits): the plan's `backupStorage` and the constructs' backup storage. */
export const STORAGE_ACCOUNT_ID = armId('Microsoft.Storage', 'storageAccounts', '[a-z0-9]{3,24}');

/** A subnet of a virtual network: the plan's `airflow.kubernetes` subnets and the Kubernetes host's. */
export const SUBNET_ID = armId(
  'Microsoft.Network',
  'virtualNetworks',
  `[-\\w.]{2,64}/${anyCase('subnets')}/[-\\w.]{1,80}`,
  '<vnet>/subnets/<subnet>',
);

const SQL_SERVER_NAME = '[a-z0-9][a-z0-9-]{0,61}[a-z0-9]';
/** What each target kind's `resourceId` must look like. */
export const TARGET_RESOURCE_ID: Readonly<Record<TargetKind, ReturnType<typeof armId>>> = {
  SqlMi: armId('Microsoft.Sql', 'managedInstances', SQL_SERVER_NAME),
  SqlDb: armId('Microsoft.Sql', 'servers', SQL_SERVER_NAME),
  SqlVm: armId('Microsoft.SqlVirtualMachine', 'sqlVirtualMachines', '[A-Za-z0-9][-\\w.]{0,63}'),
};
