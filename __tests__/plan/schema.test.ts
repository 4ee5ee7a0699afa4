/** The zod schema is the single definition: the validator uses it and the JSON Schema for editors comes from it. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { migrationPlanJsonSchema, migrationPlanSchema } from '../../lib/plan';
import { EXAMPLE_PLAN, minimalPlan } from './plan-fixtures';

type JsonSchema = {
  type?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  required?: string[];
  pattern?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
};

/** Every schema node with its path, e.g. `databases[].source.server`. */
function nodes(schema: JsonSchema, path = ''): [string, JsonSchema][] {
  const children: [string, JsonSchema][] = [];
  for (const [key, child] of Object.entries(schema.properties ?? {}))
    children.push(...nodes(child, path ? `${path}.${key}` : key));
  if (schema.items) children.push(...nodes(schema.items, `${path}[]`));
  if (typeof schema.additionalProperties === 'object')
    children.push(...nodes(schema.additionalProperties, `${path}{}`));
  if (schema.propertyNames) children.push(...nodes(schema.propertyNames, `${path}{key}`));
  return [[path, schema], ...children];
}

describe('migrationPlanSchema', () => {
  test('parses a plan by itself, with the same result as parseMigrationPlan', () => {
    const result = migrationPlanSchema.safeParse(minimalPlan());
    expect(result.success).toBe(true);
    expect(result.data?.databases[0].target.kind).toBe('SqlDb');
    expect(migrationPlanSchema.safeParse({ ...minimalPlan(), name: 'X' }).success).toBe(false);
  });

  test('reports cross-field problems through zod too', () => {
    const plan = minimalPlan();
    plan.databases[0].dependsOn = ['database_1'];
    const result = migrationPlanSchema.safeParse(plan);
    expect(result.error?.issues).toEqual([
      expect.objectContaining({
        path: ['databases', 0, 'dependsOn', 0],
        message: 'database_1 cannot depend on itself',
      }),
    ]);
  });
});

describe('migrationPlanJsonSchema', () => {
  const schema = migrationPlanJsonSchema() as JsonSchema;

  test('is plain JSON for draft 2020-12', () => {
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
    expect(schema).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      title: 'Migration plan',
    });
  });

  test('describes the input: defaults optional, required fields required', () => {
    expect(schema.required).toEqual([
      'name',
      'location',
      'notifications',
      'sourceServers',
      'targetServers',
      'databases',
    ]);
    const database = schema.properties!.databases.items!;
    expect(database.required).toEqual(['name', 'source', 'target']);
    expect(database.properties!.timeoutMinutes.default).toBe(720);
    expect(database.properties!.mode.enum).toEqual(['online', 'offline']);
    expect(schema.properties!.airflow.properties!.host.enum).toEqual(['kubernetes', 'dataFactory', 'fabric', 'external']);
  });

  test('every object is closed and every field is documented', () => {
    const all = nodes(schema);
    const objects = all.filter(([, node]) => node.type === 'object' && node.properties);
    expect(objects.length).toBeGreaterThan(10);
    for (const [path, node] of objects) expect([path, node.additionalProperties]).toEqual([path, false]);
    const undocumented = all
      .filter(([path]) => path !== '' && !path.endsWith('[]') && !path.endsWith('{}') && !path.endsWith('{key}'))
      .filter(([, node]) => !node.description)
      .map(([path]) => path);
    expect(undocumented).toEqual([]);
  });

  test('patterns work without regex flags, as JSON Schema validators read them', () => {
    const patterns = nodes(schema).filter(([, node]) => node.pattern !== undefined);
    expect(patterns.length).toBeGreaterThan(10);
    const example = parseYaml(readFileSync(EXAMPLE_PLAN, 'utf8'));
    const valueAt = (path: string): unknown[] =>
      path.split('.').reduce<unknown[]>(
        (values, key) => {
          const field = key.replace(/\[\]$/, '');
          const next = values
            .map((v) => (v as Record<string, unknown> | undefined)?.[field])
            .filter((v) => v !== undefined);
          return key.endsWith('[]') ? next.flat() : next;
        },
        [example],
      );
    for (const [path, node] of patterns) {
      const regex = new RegExp(node.pattern!, 'u');
      for (const value of valueAt(path)) expect([path, regex.test(String(value))]).toEqual([path, true]);
    }
  });

  test('is what z.toJSONSchema gives for the input side', () => {
    const { title, ...generated } = migrationPlanJsonSchema();
    expect(title).toBe('Migration plan');
    expect(generated).toEqual(z.toJSONSchema(migrationPlanSchema, { io: 'input' }));
  });
});
