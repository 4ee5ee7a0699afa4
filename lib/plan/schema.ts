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

// Compile-time guards: the schema and the documented interface in types.ts cannot drift apart.
// The schema's output must be a MigrationPlan, and both must have the same fields (optional ones too).
type SchemaOutput = z.output<typeof migrationPlanSchema>;
const schemaOutputIsMigrationPlan = (plan: SchemaOutput): MigrationPlan => plan;
const sameFields: NoFieldsIn<SymmetricDifference<FieldPaths<SchemaOutput>, FieldPaths<MigrationPlan>>> = 'same fields';
void schemaOutputIsMigrationPlan;
void sameFields;

/** Every field path of T, e.g. `.databases[].target.kind`. */
type FieldPaths<T, Prefix extends string = ''> = T extends readonly (infer Item)[]
  ? FieldPaths<Item, `${Prefix}[]`>
  : T extends object
  ? { [K in keyof T & string]-?: `${Prefix}.${K}` | FieldPaths<NonNullable<T[K]>, `${Prefix}.${K}`> }[keyof T & string]
  : never;

type SymmetricDifference<A, B> = Exclude<A, B> | Exclude<B, A>;

/** `'same fields'` when Paths is empty; otherwise a type whose error message names the differing fields. */
type NoFieldsIn<Paths> = [Paths] extends [never] ? 'same fields' : { fieldsInOnlyOneOfSchemaAndTypes: Paths };

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
