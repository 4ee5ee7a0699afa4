/**
 * `migrationPlanSchema`: the single definition of a valid plan. The document shape, then the
 * cross-field checks (run even when the shape has problems, so one pass reports everything),
 * then the defaults that depend on other fields. `MigrationPlan` (types.ts) is its output type.
 */
import { z } from 'zod';
import { checkCutover, planLevelCutover, resolveCutover } from './cutover-schema';
import { planDocumentSchema, type PlanDocument } from './document-schema';
import { defaultConnectionId, defaultConnectionStringSecretName, defaultMode } from './rules';
import { checkPlanSemantics, reportTo } from './semantic-checks';

/**
 * The zod schema of a plan document, for composing it into other zod schemas. Parsing with it
 * checks what {@link parseMigrationPlan} checks and outputs a {@link MigrationPlan} with every
 * default filled in (not frozen, and zod's issues instead of a {@link MigrationPlanError}).
 * `z.input<typeof migrationPlanSchema>` is the document as people write it.
 *
 * @displayType ZodType<MigrationPlan>
 */
export const migrationPlanSchema = planDocumentSchema
  .superRefine(
    (value, context) => {
      const report = reportTo(context);
      checkPlanSemantics(value, report);
      checkCutover(value, report);
    },
    { when: () => true },
  )
  .transform(fillDerivedDefaults);

/**
 * Connection ids from server names, the target kind from the target server, the mode from the
 * kind. zod runs this only on documents that passed every check, so every reference resolves.
 */
function fillDerivedDefaults(document: PlanDocument) {
  const kindOfServer = new Map(document.targetServers.map((server) => [server.name, server.kind]));
  return {
    ...document,
    // Sorted, so equal plans render identically whatever the order they were written in.
    tags: Object.fromEntries(Object.entries(document.tags).sort(([a], [b]) => (a < b ? -1 : 1))),
    sourceServers: document.sourceServers.map(
      ({ connectionId: id, connectionStringSecretName: secret, backupFileShare, ...server }) => ({
        ...server,
        connectionId: id ?? defaultConnectionId('source', server.name),
        connectionStringSecretName: secret ?? defaultConnectionStringSecretName(server.name),
        ...(backupFileShare && { backupFileShare }),
      }),
    ),
    targetServers: document.targetServers.map((server) => ({
      ...server,
      connectionId: server.connectionId ?? defaultConnectionId('target', server.name),
    })),
    cutover: planLevelCutover(document.cutover),
    // Keys in schema order, as zod outputs them: the rendered plan is this object as JSON.
    databases: document.databases.map(({ name, source, target, mode, cutover, ...rest }) => {
      const kind = target.kind ?? kindOfServer.get(target.server)!;
      return {
        name,
        source,
        target: { server: target.server, database: target.database ?? source.database, kind },
        mode: mode ?? defaultMode(kind),
        ...rest,
        cutover: resolveCutover(document.cutover, cutover, document.airflow.host),
      };
    }),
  };
}

/**
 * The JSON Schema of plan files, for editors. It describes the input side (what people write,
 * with defaults optional); cross-field rules such as references and cycles are not expressible
 * there and are checked by `parseMigrationPlan` / `loadMigrationPlan` only.
 */
export function migrationPlanJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(migrationPlanSchema, { io: 'input', target: 'draft-2020-12' }),
    title: 'Migration plan',
  };
}
