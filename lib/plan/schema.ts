/**
 * `migrationPlanSchema`: the single definition of a valid plan. The document shape, then the
 * cross-field checks (run even when the shape has problems, so one pass reports everything),
 * then the derived defaults. `MigrationPlan` (types.ts) is its output type.
 */
import { z } from 'zod';
import { fillDerivedDefaults } from './derived-defaults';
import { planDocumentSchema } from './document-schema';
import { checkPlanSemantics } from './semantic-checks';

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
    (value, context) =>
      checkPlanSemantics(value, (path, message) => context.addIssue({ code: 'custom', path: [...path], message })),
    { when: () => true },
  )
  .transform(fillDerivedDefaults);

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
