/**
 * The committed JSON Schema (`schema/migration-plan.schema.json`): it is exactly what the generator
 * produces from the validator's zod definition, editors can use it, it agrees with the validator on
 * the example plans and on plans broken in one place, and every rendered plan (`migration_plan.json`,
 * which the DAG validates against it) is valid under it with every default written out.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { loadMigrationPlan, migrationPlanSchema, parseMigrationPlan, renderMigrationPlan } from '../../lib/plan';
import { SCHEMA_PATH, schemaFileText } from '../../scripts/generate-schema';
import { validPlanDocument } from '../properties/arbitraries';
import { managedInstancePlan, minimalPlan, planWithDatabases } from '../plan/plan-fixtures';
import {
  malformedKeywords,
  unsupportedKeywords,
  validate,
  validateAsDraft07,
  walkSchemas,
  type JsonSchema,
} from './json-schema-checks';

const REPO = join(__dirname, '..', '..');
const SCHEMA_FILE = join(REPO, SCHEMA_PATH);
const EXAMPLES = join(REPO, 'examples');
const PLAN_EXTENSIONS = ['.yaml', '.yml', '.json'];

const committedText = readFileSync(SCHEMA_FILE, 'utf8');
const schema = JSON.parse(committedText) as JsonSchema;

const examples = readdirSync(EXAMPLES)
  .filter((file) => PLAN_EXTENSIONS.includes(extname(file)))
  .map((file) => join(EXAMPLES, file));

function readDocument(file: string): any {
  const text = readFileSync(file, 'utf8');
  return extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
}

/** Plain JSON, as an editor sees the document (no `undefined` members). */
function asJson(value: unknown): any {
  return JSON.parse(JSON.stringify(value));
}

describe('schema/migration-plan.schema.json', () => {
  test('is what `npm run schema` generates from the zod definition now (run it after changing the plan schema)', () => {
    expect(committedText).toBe(schemaFileText());
  });

  test('names itself: $schema, an absolute $id, title and description', () => {
    expect(Object.keys(schema).slice(0, 4)).toEqual(['$schema', '$id', 'title', 'description']);
    expect(schema.$schema).toMatch(/^https?:\/\/json-schema\.org\/(draft\/2020-12\/schema|draft-07\/schema#?)$/);
    expect(schema.$id).toMatch(/^[a-z][a-z0-9+.-]*:[^#\s]+$/i);
    expect(schema.title).toBe('Migration plan');
    expect(schema.description).toMatch(/checked when the plan is loaded/);
  });

  test('uses only keywords that mean the same in draft-07, which VS Code YAML understands, shaped as draft-07 requires', () => {
    expect(unsupportedKeywords(schema)).toEqual([]);
    expect(malformedKeywords(schema)).toEqual([]);
  });

  test('describes every field for editor hovers', () => {
    const undocumented = walkSchemas(schema)
      .filter(([pointer]) => /\/properties\/[^/]+$/.test(pointer))
      .filter(([, node]) => typeof node.description !== 'string' || node.description === '')
      .map(([pointer]) => pointer);
    expect(undocumented).toEqual([]);
  });

  test('requires what the validator requires and rejects unknown fields at every level', () => {
    const database = (schema.properties as any).databases.items;
    expect(schema.required).toEqual(['name', 'location', 'notifications', 'sourceServers', 'targetServers', 'databases']);
    expect(database.required).toEqual(['name', 'source', 'target']);
    const openObjects = walkSchemas(schema)
      .filter(([, node]) => node.type === 'object' && node.properties !== undefined)
      .filter(([, node]) => node.additionalProperties !== false)
      .map(([pointer]) => pointer);
    expect(openObjects).toEqual([]);
  });
});

describe.each(examples)('example %s', (file) => {
  test('points editors at the schema on its first line (YAML)', () => {
    if (extname(file) === '.json') return; // JSON plans are strict objects: no "$schema" member; editors map them by settings
    const firstLine = readFileSync(file, 'utf8').split('\n')[0];
    const match = /^# yaml-language-server: \$schema=(\S+)$/.exec(firstLine);
    expect(match?.[1]).toBe('../schema/migration-plan.schema.json');
    expect(resolve(EXAMPLES, match![1])).toBe(SCHEMA_FILE);
  });

  test('is valid against the schema and loads', () => {
    expect(validate(schema, readDocument(file))).toEqual([]);
    expect(validateAsDraft07(schema, readDocument(file))).toEqual([]);
    expect(() => loadMigrationPlan(file)).not.toThrow();
  });
});

describe('the schema agrees with the validator', () => {
  test('accepts plans the validator accepts: minimal, managed instance, and every default written out', () => {
    const plans = {
      minimal: minimalPlan(),
      managedInstance: managedInstancePlan(),
      rendered: JSON.parse(renderMigrationPlan(loadMigrationPlan(examples[0]))),
    };
    for (const [name, plan] of Object.entries(plans)) {
      expect({ name, zod: migrationPlanSchema.safeParse(plan).success }).toEqual({ name, zod: true });
      expect({ name, errors: validate(schema, asJson(plan)) }).toEqual({ name, errors: [] });
    }
  });

  // Each breaks a valid plan in one place; editors and the validator must both reject it, at that place.
  const broken: [string, (plan: any) => void, string, string][] = [
    ['a missing required field', (plan) => delete plan.location, '', 'required'],
    ['a plan name with spaces', (plan) => (plan.name = 'Contoso SQL'), '/name', 'pattern'],
    ['a misspelled field', (plan) => (plan.databases[0].databse = 'Sales'), '/databases/0/databse', 'additionalProperties'],
    ['an unknown mode', (plan) => (plan.databases[0].mode = 'sometimes'), '/databases/0/mode', 'enum'],
    ['a timeout below the minimum', (plan) => (plan.databases[0].timeoutMinutes = 5), '/databases/0/timeoutMinutes', 'minimum'],
    ['a fractional timeout', (plan) => (plan.databases[0].timeoutMinutes = 60.5), '/databases/0/timeoutMinutes', 'type'],
    ['no email receivers', (plan) => (plan.notifications.emails = []), '/notifications/emails', 'minItems'],
    ['a port given as text', (plan) => (plan.sourceServers[0].port = '1433'), '/sourceServers/0/port', 'type'],
    ['a target kind in the wrong case', (plan) => (plan.targetServers[0].kind = 'SqlDB'), '/targetServers/0/kind', 'enum'],
    ['a bracket in a database name', (plan) => (plan.databases[0].source.database = 'Sales]'), '/databases/0/source/database', 'pattern'],
    ['a database name ending with a space', (plan) => (plan.databases[0].source.database = 'Sales '), '/databases/0/source/database', 'pattern'],
    ['a target database name beginning with a no-break space', (plan) => (plan.databases[0].target.database = '\u00a0Sales'), '/databases/0/target/database', 'pattern'],
    ['a database name of spaces only', (plan) => (plan.databases[0].source.database = '   '), '/databases/0/source/database', 'pattern'],
    ['a slash in a tag key', (plan) => (plan.tags = { 'cost/center': '4711' }), '/tags/cost~1center', 'propertyNames'],
    ['a tag value too long', (plan) => (plan.tags = { owner: 'x'.repeat(257) }), '/tags/owner', 'maxLength'],
  ];

  test.each(broken)('rejects %s', (_, breakPlan, path, keyword) => {
    const plan = minimalPlan();
    breakPlan(plan);
    expect(migrationPlanSchema.safeParse(plan).success).toBe(false);
    expect(validate(schema, asJson(plan))).toEqual([expect.objectContaining({ path, keyword })]);
    expect(validateAsDraft07(schema, asJson(plan))).toEqual(validate(schema, asJson(plan)));
  });
});

describe('rendered plans (migration_plan.json, what the DAG validates against the schema)', () => {
  const rendered = (plan: unknown) => JSON.parse(renderMigrationPlan(parseMigrationPlan(plan)));

  test('the example plans, fixtures and generated plans are valid under both drafts', () => {
    const plans = [
      ...examples.map((file) => JSON.parse(renderMigrationPlan(loadMigrationPlan(file)))),
      rendered(minimalPlan()),
      rendered(managedInstancePlan()),
      rendered(planWithDatabases(200, (i) => (i === 0 ? [] : [`db_${i - 1}`]))),
      ...fc.sample(validPlanDocument({ maxDatabases: 12 }), { numRuns: 40, seed: 13 }).map(rendered),
    ];
    for (const plan of plans) {
      expect({ plan: plan.name, errors: validate(schema, plan) }).toEqual({ plan: plan.name, errors: [] });
      expect({ plan: plan.name, errors: validateAsDraft07(schema, plan) }).toEqual({ plan: plan.name, errors: [] });
    }
  });

  test('hold every field that has a default, with its value', () => {
    const plan = rendered(minimalPlan());
    const withDefaults = walkSchemas(schema)
      // Only the section of the plan's host (kubernetes here) is filled in.
      .filter(([pointer]) => !/\/airflow\/properties\/(dataFactory|fabric|external)\//.test(pointer))
      .filter(([pointer, node]) => 'default' in node && /\/properties\/[^/]+$/.test(pointer))
      .map(([pointer]) => pointer.replace(/^#/, '').replace(/\/properties\//g, '/').replace(/\/items/g, '/0'));
    expect(withDefaults.length).toBeGreaterThan(15);
    expect(withDefaults.filter((pointer) => valueAt(plan, pointer) === undefined)).toEqual([]);
    expect(plan.concurrency).toEqual({ maxMigrationsPerService: 10, maxMigrationsPerSourceServer: 2, maxSqlStepsPerRuntime: 4 });
    expect(plan.databases[0]).toMatchObject({ sourceFreeze: 'readOnly', allowSourceWritesDuringCopy: false });
  });

  test.each([
    ['an unknown freeze', (plan: any) => (plan.databases[0].sourceFreeze = 'frozen'), '/databases/0/sourceFreeze', 'enum'],
    ['a field the DAG does not know', (plan: any) => (plan.concurrency.maxPools = 3), '/concurrency/maxPools', 'additionalProperties'],
    ['a zero concurrency', (plan: any) => (plan.concurrency.maxSqlStepsPerRuntime = 0), '/concurrency/maxSqlStepsPerRuntime', 'minimum'],
    ['a flag given as text', (plan: any) => (plan.databases[0].allowSourceWritesDuringCopy = 'false'), '/databases/0/allowSourceWritesDuringCopy', 'type'],
  ])('a planted bad document fails: %s', (_, plant, path, keyword) => {
    const plan = rendered(minimalPlan());
    plant(plan);
    expect(validate(schema, plan)).toEqual([expect.objectContaining({ path, keyword })]);
    expect(validateAsDraft07(schema, plan)).toEqual([expect.objectContaining({ path, keyword })]);
  });
});

describe('the schema checks themselves', () => {
  test('find keywords outside what both drafts share, and a tuple items', () => {
    const schema = { type: 'object', if: { type: 'string' }, properties: { a: { items: [{}], $defs: {} } } };
    expect(unsupportedKeywords(schema)).toEqual(['#/if', '#/properties/a/items', '#/properties/a/$defs']);
  });

  test('find keyword values the draft-07 meta-schema refuses', () => {
    expect(malformedKeywords({ type: 'object', properties: { a: { minimum: '5' } } })).toEqual([
      '#/properties/a/minimum must be number',
    ]);
    expect(malformedKeywords({ type: 'thing' })).not.toEqual([]);
  });
});

function valueAt(document: unknown, pointer: string): unknown {
  return pointer
    .split('/')
    .slice(1)
    .reduce<any>((value, key) => (value === undefined ? undefined : value[key]), document);
}
