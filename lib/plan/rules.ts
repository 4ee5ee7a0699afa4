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
export function defaultMode(kind: TargetKind): (typeof MIGRATION_MODES)[number] {
  return kind === 'SqlDb' ? 'offline' : 'online';
}

/** A string matching `pattern`, or the problem `rule`. */
export function matching(pattern: RegExp, rule: string): z.ZodString {
  return z.string().regex(pattern, { error: rule });
}

export function integerBetween(min: number, max: number): z.ZodNumber {
  const error = `must be an integer from ${min} to ${max}`;
  return z.number().int({ error }).min(min, { error }).max(max, { error });
}

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
