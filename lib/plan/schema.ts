/**
 * `migrationPlanSchema`: the single definition of a valid plan. The document shape, then the
 * cross-field checks (run even when the shape has problems, so one pass reports everything),
 * then the derived defaults. Its output is exactly a `MigrationPlan`.
 */
import { z } from 'zod';
import { fillDerivedDefaults } from './derived-defaults';
import { planDocumentSchema } from './document-schema';
import { checkPlanSemantics } from './semantic-checks';
import type { MigrationPlan } from './types';

export const migrationPlanSchema = planDocumentSchema
  .superRefine(
    (value, context) =>
      checkPlanSemantics(value, (path, message) => context.addIssue({ code: 'custom', path: [...path], message })),
    { when: () => true },
  )
  .transform(fillDerivedDefaults);

// Compile-time guard: the schema and the documented interface in types.ts cannot drift apart.
const schemaOutputIsMigrationPlan = (plan: z.output<typeof migrationPlanSchema>): MigrationPlan => plan;
void schemaOutputIsMigrationPlan;

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
