import { basename, join } from 'node:path';
import { z } from 'zod';
import { ONE_DOCUMENT } from '../plan/rules';
import { findPackageRoot, readContract } from '../private/package-root';

/**
 * The one definition of the migration events, shared with the DAG's writer
 * (`dags/migration_orchestration_lib/events.py` reads the same file, which ships in the DAG bundle).
 */
export const MIGRATION_EVENTS_CONTRACT_FILE = join('dags', 'migration_orchestration_lib', 'contracts', 'migration_events.json');

const named = z.object({ name: z.string().min(1), description: z.string().min(1) }).strict();

/** One kind of event: a phase and a status, of one target kind where it says so. */
const eventOfKind = z
  .object({ phase: z.string(), status: z.string(), targetKind: z.enum(['SqlMi', 'SqlDb', 'SqlVm']).optional(), description: z.string().min(1) })
  .strict();

/** The `<alert>` of a built-in log alert `alert-<plan>-<alert>`. */
const alertName = z.string().regex(/^[a-z]+(?:-[a-z]+)*$/);

/** azurerm 4.55 validates these case-sensitively: the table says `dateTime`, a DCR stream `datetime`. */
const contractSchema = z
  .object({
    $comment: z.string().optional(),
    table: z.string().regex(/_CL$/, 'custom tables end in _CL'),
    stream: z.string().regex(/^Custom-/, 'custom streams start with Custom-'),
    columns: z
      .array(
        z
          .object({
            name: z.string().min(1),
            tableType: z.enum(['boolean', 'dateTime', 'dynamic', 'guid', 'int', 'long', 'real', 'string']),
            streamType: z.enum(['boolean', 'datetime', 'dynamic', 'int', 'long', 'real', 'string']),
            description: z.string().min(1),
          })
          .strict(),
      )
      .min(1),
    phases: z.array(named).min(1),
    statuses: z.array(named.extend({ alert: alertName.optional(), alertInPhase: z.record(z.string(), alertName).optional() })).min(1),
    sourceFrozen: z
      .object({ description: z.string().min(1), starts: z.array(eventOfKind).min(1), ends: z.array(eventOfKind).min(1) })
      .strict(),
    heartbeat: z
      .object({ status: z.string(), maxIntervalMinutes: z.number().int().positive(), description: z.string() })
      .strict(),
  })
  .strict()
  .superRefine((contract, context) => {
    if (!contract.statuses.some((status) => status.name === contract.heartbeat.status)) {
      context.addIssue({ code: 'custom', path: ['heartbeat', 'status'], message: `"${contract.heartbeat.status}" is not one of the statuses` });
    }
    const phases = contract.phases.map((phase) => phase.name);
    contract.statuses.forEach((status, index) => {
      for (const phase of Object.keys(status.alertInPhase ?? {}).filter((name) => !phases.includes(name))) {
        context.addIssue({ code: 'custom', path: ['statuses', index, 'alertInPhase', phase], message: `"${phase}" is not one of the phases` });
      }
    });
    const statuses = contract.statuses.map((status) => status.name);
    for (const edge of ['starts', 'ends'] as const) {
      contract.sourceFrozen[edge].forEach((event, index) => {
        if (!phases.includes(event.phase)) {
          context.addIssue({ code: 'custom', path: ['sourceFrozen', edge, index, 'phase'], message: `"${event.phase}" is not one of the phases` });
        }
        if (!statuses.includes(event.status)) {
          context.addIssue({ code: 'custom', path: ['sourceFrozen', edge, index, 'status'], message: `"${event.status}" is not one of the statuses` });
        }
      });
    }
  });

/** The parsed contract file. */
export type MigrationEventsContract = z.infer<typeof contractSchema>;

/** One column of the events table, with the type each consumer spells (checked when the contract is read). */
export interface MigrationEventColumn {
  /** Column name, for example `Status`. */
  readonly name: string;
  /** Type as a custom table spells it (`dateTime`). */
  readonly tableType: string;
  /** Type as a data collection rule's stream spells it (`datetime`). */
  readonly streamType: string;
  /** What the column holds. */
  readonly description: string;
}

/** Reads and checks the contract file (from this package's install unless `packageRoot` is given). */
export function loadMigrationEventsContract(packageRoot: string = findPackageRoot()): MigrationEventsContract {
  const { path: file, document } = readContract(basename(MIGRATION_EVENTS_CONTRACT_FILE), packageRoot);
  const result = contractSchema.safeParse(document, ONE_DOCUMENT);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`${file} is not a valid migration events contract:\n${problems.join('\n')}`);
  }
  return result.data;
}
