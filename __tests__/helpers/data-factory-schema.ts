import Ajv, { ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Data Factory's published API description (the vendored subset of Azure/azure-rest-api-specs,
 * `vendor/azure-rest-api-specs/datafactory`) as a JSON Schema ajv can check pipelines against.
 *
 * Swagger 2.0 to JSON Schema, the way AutoRest reads it:
 * - `type: object` with nothing else is "any value" (how the spec writes "string or Expression");
 * - a `$ref` to a definition with a `discriminator` means one of its concrete subtypes, chosen by
 *   the `type` property (`x-ms-discriminator-value`, else the definition's name); a subtype's
 *   `allOf` names its parent directly;
 * - `$ref`s across the two files resolve by definition name; a definition that is not vendored is
 *   "any value" and is listed in `unresolved`.
 */
const SPEC_DIR = join(__dirname, '..', '..', 'vendor', 'azure-rest-api-specs', 'datafactory');
const SPEC_FILES = ['entityTypes/Pipeline.json', 'datafactory.json'];

type Schema = Record<string, any>;

export interface DataFactorySchema {
  /** Every vendored definition, converted, plus one `<Base>__anyOf` per polymorphic base. */
  readonly definitions: Record<string, Schema>;
  /** Definitions referred to but not vendored (read as any value). */
  readonly unresolved: readonly string[];
}

export function dataFactorySchema(): DataFactorySchema {
  const swagger: Record<string, Schema> = {};
  for (const file of SPEC_FILES) {
    const definitions = JSON.parse(readFileSync(join(SPEC_DIR, file), 'utf8')).definitions as Record<string, Schema>;
    for (const [name, definition] of Object.entries(definitions)) {
      if (swagger[name]) {
        throw new Error(`definition ${name} is in two vendored files`);
      }
      swagger[name] = definition;
    }
  }
  const parents = new Map<string, string>();
  for (const [name, definition] of Object.entries(swagger)) {
    for (const part of definition.allOf ?? []) {
      parents.set(name, refName(part.$ref));
    }
  }
  const unresolved = new Set<string>();
  const convert = (node: any, inheritance = false): any => {
    if (Array.isArray(node)) {
      return node.map((item) => convert(item));
    }
    if (node === null || typeof node !== 'object') {
      return node;
    }
    if (node.$ref) {
      const name = refName(node.$ref);
      if (!swagger[name]) {
        unresolved.add(name);
        return {};
      }
      return { $ref: `#/definitions/${!inheritance && swagger[name].discriminator ? `${name}__anyOf` : name}` };
    }
    const converted: Schema = {};
    for (const [key, value] of Object.entries(node)) {
      if (key.startsWith('x-ms-') || key === 'discriminator' || key === 'format' || key === 'readOnly') {
        continue;
      }
      if (key === 'properties' || key === 'definitions') {
        converted[key] = Object.fromEntries(Object.entries(value as Schema).map(([k, v]) => [k, convert(v)]));
      } else if (key === 'allOf') {
        converted[key] = (value as any[]).map((part) => convert(part, true));
      } else if (key === 'items' || key === 'additionalProperties') {
        converted[key] = convert(value);
      } else {
        converted[key] = value;
      }
    }
    const anyValue = converted.type === 'object' && !converted.properties && !converted.additionalProperties && !converted.allOf;
    return anyValue ? (converted.description ? { description: converted.description } : {}) : converted;
  };
  const definitions: Record<string, Schema> = {};
  for (const [name, definition] of Object.entries(swagger)) {
    definitions[name] = convert(definition);
  }
  for (const [name, definition] of Object.entries(swagger)) {
    if (definition.discriminator) {
      definitions[`${name}__anyOf`] = polymorphic(name, swagger, parents);
    }
  }
  return { definitions, unresolved: [...unresolved].sort() };
}

/** A validator for one definition (for example `Pipeline`); errors as `path: message` lines. */
export function definitionValidator(schema: DataFactorySchema, definition: string): (value: unknown) => string[] {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate: ValidateFunction = ajv.compile({ $ref: `#/definitions/${definition}`, definitions: schema.definitions });
  return (value: unknown) => (validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message}`));
}

function polymorphic(base: string, swagger: Record<string, Schema>, parents: Map<string, string>): Schema {
  const isParent = new Set(parents.values());
  // AutoRest: a subtype without x-ms-discriminator-value is known by its definition name.
  const concrete = Object.entries(swagger)
    .filter(([name]) => !isParent.has(name) && descendsFrom(name, base, parents))
    .map(([name, definition]) => ({ name, value: (definition['x-ms-discriminator-value'] as string | undefined) ?? name }));
  return {
    type: 'object',
    required: ['type'],
    properties: { type: { enum: concrete.map((c) => c.value) } },
    allOf: concrete.map((c) => ({
      if: { properties: { type: { const: c.value } } },
      then: { $ref: `#/definitions/${c.name}` },
    })),
  };
}

function descendsFrom(name: string, base: string, parents: Map<string, string>): boolean {
  for (let current = parents.get(name); current; current = parents.get(current)) {
    if (current === base) {
      return true;
    }
  }
  return false;
}

function refName(ref: string): string {
  return ref.slice(ref.lastIndexOf('/') + 1);
}
