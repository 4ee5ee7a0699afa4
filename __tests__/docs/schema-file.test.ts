/**
 * The committed JSON Schema (`schema/migration-plan.schema.json`): it is exactly what the generator
 * produces from the validator's zod definition, editors can use it, and it agrees with the
 * validator on the example plans and on plans broken in one place.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadMigrationPlan, migrationPlanSchema, renderMigrationPlan } from '../../lib/plan';
import { SCHEMA_PATH, schemaFileText } from '../../scripts/generate-schema';
import { managedInstancePlan, minimalPlan } from '../plan/plan-fixtures';
import { malformedKeywords, unsupportedKeywords, validate, walkSchemas, type JsonSchema } from './json-schema-subset';

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
    expect(schema.required).toEqual(['name', 'location', 'notifications', 'airflow', 'sourceServers', 'targetServers', 'databases']);
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
    ['a slash in a tag key', (plan) => (plan.tags = { 'cost/center': '4711' }), '/tags/cost~1center', 'propertyNames'],
    ['a tag value too long', (plan) => (plan.tags = { owner: 'x'.repeat(257) }), '/tags/owner', 'maxLength'],
  ];

  test.each(broken)('rejects %s', (_, breakPlan, path, keyword) => {
    const plan = minimalPlan();
    breakPlan(plan);
    expect(migrationPlanSchema.safeParse(plan).success).toBe(false);
    expect(validate(schema, asJson(plan))).toEqual([expect.objectContaining({ path, keyword })]);
  });
});
