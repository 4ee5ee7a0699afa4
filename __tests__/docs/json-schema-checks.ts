/**
 * Checks of the plan's JSON Schema and of documents against it, with ajv. VS Code's YAML extension
 * (yaml-language-server) checks schemas against the draft-07 meta-schema and validates documents
 * with draft-07 semantics, whatever `$schema` says; so the schema may use only keywords that mean
 * the same in draft-07 and 2020-12, and documents are validated under both drafts. Patterns run
 * with the `u` flag, as editors run them (ajv's default).
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';

export type JsonSchema = { readonly [keyword: string]: unknown };

export interface SchemaError {
  /** JSON pointer of the offending value in the document, e.g. `/databases/0/mode`. */
  readonly path: string;
  readonly keyword: string;
  readonly message: string;
}

/** Keywords that mean the same in draft-07 and 2020-12 (`items` only as a single schema). */
const SHARED_KEYWORDS = new Set([
  ...['$schema', '$id', 'title', 'description', 'default', 'type', 'enum', 'const'],
  ...['properties', 'required', 'additionalProperties', 'propertyNames', 'items', 'minItems', 'maxItems'],
  ...['minLength', 'maxLength', 'pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
  ...['anyOf', 'allOf', 'oneOf'],
]);

/** Every keyword used in `schema` that does not mean the same in both drafts, with its location. */
export function unsupportedKeywords(schema: JsonSchema): string[] {
  return walkSchemas(schema).flatMap(([pointer, node]) =>
    Object.keys(node)
      .filter((keyword) => !SHARED_KEYWORDS.has(keyword) || (keyword === 'items' && !isObject(node.items)))
      .map((keyword) => `${pointer}/${keyword}`),
  );
}

/** Where `schema` breaks the draft-07 meta-schema, as editors check it. */
export function malformedKeywords(schema: JsonSchema): string[] {
  const { $schema, ...asDraft07 } = schema;
  const ajv = new Ajv({ strict: false });
  if (ajv.validateSchema(asDraft07)) return [];
  return (ajv.errors ?? []).map((error) => `#${error.instancePath} ${error.message ?? error.keyword}`);
}

/** Every subschema with its JSON pointer inside the schema, the root first. */
export function walkSchemas(schema: JsonSchema, pointer = '#'): [string, JsonSchema][] {
  const found: [string, JsonSchema][] = [[pointer, schema]];
  const visit = (child: unknown, childPointer: string) => {
    if (isObject(child)) found.push(...walkSchemas(child, childPointer));
  };
  for (const [name, child] of Object.entries(isObject(schema.properties) ? schema.properties : {})) {
    visit(child, `${pointer}/properties/${name}`);
  }
  for (const keyword of ['items', 'additionalProperties', 'propertyNames']) visit(schema[keyword], `${pointer}/${keyword}`);
  for (const keyword of ['anyOf', 'allOf', 'oneOf']) {
    const list = schema[keyword];
    if (Array.isArray(list)) list.forEach((child, i) => visit(child, `${pointer}/${keyword}/${i}`));
  }
  return found;
}

const validators = new WeakMap<JsonSchema, { draft2020: ValidateFunction; draft07: ValidateFunction }>();

function validatorsOf(schema: JsonSchema) {
  let compiled = validators.get(schema);
  if (compiled === undefined) {
    const { $schema, ...asDraft07 } = schema;
    compiled = {
      draft2020: new Ajv2020({ strict: false, allErrors: true }).compile(schema),
      draft07: new Ajv({ strict: false, allErrors: true }).compile(asDraft07),
    };
    validators.set(schema, compiled);
  }
  return compiled;
}

/** Every way `value` breaks `schema` read as 2020-12; empty when it is valid. */
export function validate(schema: JsonSchema, value: unknown): SchemaError[] {
  return errorsOf(validatorsOf(schema).draft2020, value);
}

/** The same, read as draft-07 (as VS Code's YAML extension reads it). */
export function validateAsDraft07(schema: JsonSchema, value: unknown): SchemaError[] {
  return errorsOf(validatorsOf(schema).draft07, value);
}

function errorsOf(validator: ValidateFunction, value: unknown): SchemaError[] {
  if (validator(value)) return [];
  return (validator.errors ?? [])
    .filter((error) => error.propertyName === undefined) // the propertyNames error that follows says it
    .map((error) => ({ path: pathOf(error), keyword: error.keyword, message: error.message ?? error.keyword }));
}

/** ajv points at the object for a bad or unknown property name; point at the property. */
function pathOf({ instancePath, keyword, params }: ErrorObject): string {
  const name =
    keyword === 'additionalProperties' ? params.additionalProperty : keyword === 'propertyNames' ? params.propertyName : undefined;
  return name === undefined ? instancePath : `${instancePath}/${String(name).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
