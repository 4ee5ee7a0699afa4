/**
 * A small JSON Schema validator for exactly the keywords the plan schema uses, so the tests can
 * check plan files against the committed schema without a validator dependency. It refuses
 * keywords it does not implement (`unsupportedKeywords`), so a zod upgrade that starts emitting
 * something new fails loudly instead of being skipped.
 *
 * The keywords are also the ones that mean the same in draft-07 and 2020-12: VS Code's YAML
 * extension (yaml-language-server) checks schemas against the draft-07 meta-schema and validates
 * documents with draft-07 semantics, whatever `$schema` says. Patterns run with the `u` flag, as
 * editors run them.
 */

export type JsonSchema = { readonly [keyword: string]: unknown };

export interface SchemaError {
  /** JSON pointer of the offending value in the document, e.g. `/databases/0/mode`. */
  readonly path: string;
  readonly keyword: string;
  readonly message: string;
}

const SIMPLE_TYPES = ['array', 'boolean', 'integer', 'null', 'number', 'object', 'string'];

/** Keyword -> check of its value's shape, as the draft-07 meta-schema has it. */
const KEYWORD_SHAPES: Readonly<Record<string, (value: unknown) => boolean>> = {
  $schema: isString,
  $id: isString,
  title: isString,
  description: isString,
  default: () => true,
  type: (value) =>
    (isString(value) && SIMPLE_TYPES.includes(value)) ||
    (Array.isArray(value) && value.length > 0 && value.every((t) => isString(t) && SIMPLE_TYPES.includes(t))),
  enum: (value) => Array.isArray(value) && value.length > 0,
  const: () => true,
  properties: (value) => isObject(value) && Object.values(value).every(isSchema),
  required: (value) =>
    Array.isArray(value) && value.every(isString) && new Set(value).size === value.length,
  additionalProperties: isSchema,
  propertyNames: isSchema,
  // A single schema: the array (tuple) form means different things in draft-07 and 2020-12.
  items: isObject,
  minItems: isNonNegativeInteger,
  maxItems: isNonNegativeInteger,
  minLength: isNonNegativeInteger,
  maxLength: isNonNegativeInteger,
  minimum: isNumber,
  maximum: isNumber,
  // Numbers in both drafts (booleans were draft-04).
  exclusiveMinimum: isNumber,
  exclusiveMaximum: isNumber,
  pattern: (value) => isString(value) && compiles(value),
  anyOf: isSchemaList,
  allOf: isSchemaList,
  oneOf: isSchemaList,
};

/** Every keyword used anywhere in `schema` that this validator (and draft-07) does not know, with its location. */
export function unsupportedKeywords(schema: JsonSchema): string[] {
  return walkSchemas(schema).flatMap(([pointer, node]) =>
    Object.keys(node)
      .filter((keyword) => !Object.hasOwn(KEYWORD_SHAPES, keyword))
      .map((keyword) => `${pointer}/${keyword}`),
  );
}

/** Keywords whose value does not have the shape the draft-07 meta-schema requires. */
export function malformedKeywords(schema: JsonSchema): string[] {
  return walkSchemas(schema).flatMap(([pointer, node]) =>
    Object.entries(node)
      .filter(([keyword, value]) => Object.hasOwn(KEYWORD_SHAPES, keyword) && !KEYWORD_SHAPES[keyword](value))
      .map(([keyword]) => `${pointer}/${keyword}`),
  );
}

/** Every subschema with its JSON pointer inside the schema, the root first. */
export function walkSchemas(schema: JsonSchema, pointer = '#'): [string, JsonSchema][] {
  const found: [string, JsonSchema][] = [[pointer, schema]];
  const visit = (child: unknown, childPointer: string) => {
    if (isObject(child)) found.push(...walkSchemas(child, childPointer));
  };
  for (const [name, child] of Object.entries(asObject(schema.properties))) visit(child, `${pointer}/properties/${name}`);
  for (const keyword of ['items', 'additionalProperties', 'propertyNames']) visit(schema[keyword], `${pointer}/${keyword}`);
  for (const keyword of ['anyOf', 'allOf', 'oneOf']) {
    const list = schema[keyword];
    if (Array.isArray(list)) list.forEach((child, i) => visit(child, `${pointer}/${keyword}/${i}`));
  }
  return found;
}

/** Every way `value` breaks `schema`; empty when it is valid. */
export function validate(schema: JsonSchema | boolean, value: unknown, path = ''): SchemaError[] {
  if (schema === true) return [];
  if (schema === false) return [{ path, keyword: 'false', message: 'no value is allowed here' }];
  const unsupported = Object.keys(schema).filter((keyword) => !Object.hasOwn(KEYWORD_SHAPES, keyword));
  if (unsupported.length > 0) throw new Error(`validator does not implement ${unsupported.join(', ')}`);

  const errors: SchemaError[] = [];
  const fail = (keyword: string, message: string) => errors.push({ path, keyword, message });

  if (schema.type !== undefined) {
    const types = (Array.isArray(schema.type) ? schema.type : [schema.type]) as string[];
    if (!types.some((type) => hasType(value, type))) {
      fail('type', `must be ${types.join(' or ')}`);
      return errors; // the other keywords would only repeat it
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((option) => deepEqual(option, value)))
    fail('enum', `must be one of ${JSON.stringify(schema.enum)}`);
  if ('const' in schema && !deepEqual(schema.const, value)) fail('const', `must be ${JSON.stringify(schema.const)}`);

  if (typeof value === 'string') {
    const length = [...value].length; // code points, as JSON Schema counts
    if (typeof schema.minLength === 'number' && length < schema.minLength) fail('minLength', `shorter than ${schema.minLength}`);
    if (typeof schema.maxLength === 'number' && length > schema.maxLength) fail('maxLength', `longer than ${schema.maxLength}`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value))
      fail('pattern', `does not match ${schema.pattern}`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) fail('minimum', `less than ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) fail('maximum', `more than ${schema.maximum}`);
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum)
      fail('exclusiveMinimum', `not more than ${schema.exclusiveMinimum}`);
    if (typeof schema.exclusiveMaximum === 'number' && value >= schema.exclusiveMaximum)
      fail('exclusiveMaximum', `not less than ${schema.exclusiveMaximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) fail('minItems', `fewer than ${schema.minItems} items`);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) fail('maxItems', `more than ${schema.maxItems} items`);
    if (isSchema(schema.items)) value.forEach((item, i) => errors.push(...validate(schema.items as JsonSchema, item, `${path}/${i}`)));
  }
  if (isObject(value)) {
    const properties = asObject(schema.properties) as Record<string, JsonSchema>;
    for (const name of (schema.required as string[] | undefined) ?? [])
      if (!Object.hasOwn(value, name)) fail('required', `missing required property "${name}"`);
    for (const [name, child] of Object.entries(value)) {
      const childPath = `${path}/${escapePointer(name)}`;
      if (isSchema(schema.propertyNames)) {
        const nameErrors = validate(schema.propertyNames as JsonSchema, name, childPath);
        if (nameErrors.length > 0)
          errors.push({ path: childPath, keyword: 'propertyNames', message: `property name "${name}" is not allowed` });
      }
      if (Object.hasOwn(properties, name)) errors.push(...validate(properties[name], child, childPath));
      else if (schema.additionalProperties === false)
        errors.push({ path: childPath, keyword: 'additionalProperties', message: `unknown property "${name}"` });
      else if (isSchema(schema.additionalProperties))
        errors.push(...validate(schema.additionalProperties as JsonSchema | boolean, child, childPath));
    }
  }
  if (Array.isArray(schema.allOf)) for (const part of schema.allOf) errors.push(...validate(part, value, path));
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((part) => validate(part, value, path).length === 0))
    fail('anyOf', 'matches none of the alternatives');
  if (Array.isArray(schema.oneOf) && schema.oneOf.filter((part) => validate(part, value, path).length === 0).length !== 1)
    fail('oneOf', 'must match exactly one alternative');
  return errors;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isObject(value);
    case 'null':
      return value === null;
    default:
      return typeof value === type;
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function escapePointer(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isNonNegativeInteger(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSchema(value: unknown): boolean {
  return typeof value === 'boolean' || isObject(value);
}

function isSchemaList(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0 && value.every(isSchema);
}

function asObject(value: unknown): Record<string, unknown> {
  return isObject(value) ? value : {};
}
