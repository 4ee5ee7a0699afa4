/**
 * Turns zod issues into plan problems worded for the person who wrote the plan: "missing
 * required field", "expected a list, got a mapping", one problem per unknown field with a hint.
 */
import { z } from 'zod';
import { RETIRED_FIELDS } from './airflow-schema';
import { formatFieldPath, quote } from './field-path';
import { closestMatch, listBriefly } from './suggest';

export interface IssueProblem {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

const EXPECTED = new Map([
  ['object', 'a mapping'],
  ['record', 'a mapping'],
  ['array', 'a list'],
  ['int', 'an integer'],
  ['boolean', 'true or false'],
]);

/** Per-parse error map: words the generic issues; messages set in the schema take precedence. */
export const describeIssue: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'too_big' || issue.code === 'too_small') return describeSize(issue);
  if (issue.code !== 'invalid_type' && issue.code !== 'invalid_value' && issue.code !== 'invalid_union') return undefined;
  if (issue.input === undefined) return 'missing required field';
  if (issue.code !== 'invalid_value') {
    // A union (an approver: a string or a mapping) refuses a value of none of its options' kinds.
    const kinds = issue.code === 'invalid_union' ? optionKinds(issue.inst) : [issue.expected];
    // YAML reads `4711` or `true` as a number or a boolean; the fix for a string field is to quote it.
    const quoteIt = kinds.includes('string') && ['number', 'boolean'].includes(typeof issue.input);
    // `dependsOn: database_1`, `emails: dba@contoso.com`: one value where a list belongs (written so YAML and JSON both read it).
    const listIt = issue.code === 'invalid_type' && issue.expected === 'array' && typeof issue.input === 'string' && !issue.input.includes(',') && listOfStrings(issue.inst);
    const hint = quoteIt
      ? `; quote it if it is text: "${String(issue.input)}"`
      : listIt ? `; one value is a list too: [${quote(issue.input as string)}]` : '';
    const expected = kinds.map((kind) => EXPECTED.get(kind) ?? `a ${kind}`).join(' or ');
    return `expected ${expected}, got ${describeValue(issue.input)}${hint}`;
  }
  const values = issue.values.map(String);
  const allowed = values.join(', ');
  if (typeof issue.input !== 'string') return `must be one of ${allowed} (got ${describeValue(issue.input)})`;
  const suggestion = closestMatch(issue.input, values);
  return `must be one of ${allowed} (got ${quote(issue.input)}${suggestion ? `; did you mean ${suggestion}?` : ''})`;
};

/** The kinds of value a union accepts: `string`, `object`. */
function optionKinds(schema: unknown): string[] {
  const options = (schema as { _zod?: { def?: { options?: z.ZodType[] } } } | undefined)?._zod?.def?.options ?? [];
  return options.map(({ _zod: { def } }) => def.type);
}

/** Whether the schema that refused a value is a list of strings (a list of mappings is not fixed by brackets). */
function listOfStrings(schema: unknown): boolean {
  const element = (schema as { _zod?: { def?: { element?: { _zod?: { def?: { type?: string } } } } } } | undefined)?._zod?.def?.element;
  return element?._zod?.def?.type === 'string';
}

/** A limit without a message of its own: `must list at most 20 items (got 21)`. */
function describeSize(issue: z.core.$ZodRawIssue<z.core.$ZodIssueTooBig | z.core.$ZodIssueTooSmall>): string {
  const [limit, bound] =
    issue.code === 'too_big'
      ? [issue.maximum, issue.inclusive === false ? 'less than' : 'at most']
      : [issue.minimum, issue.inclusive === false ? 'more than' : 'at least'];
  const { input } = issue;
  const counted = typeof input === 'string' || Array.isArray(input);
  const size = counted ? `${limit} ${typeof input === 'string' ? 'characters' : 'items'} (got ${input.length})` : `${limit}`;
  return `must ${counted && typeof input !== 'string' ? 'list' : 'be'} ${issue.exact ? 'exactly' : bound} ${size}`;
}

/**
 * Issues as plan problems. zod checks the length of a string or list even where the other was
 * expected (`databases: ""`): only the wrong type is reported there, not "needs at least one database".
 */
export function issuesToProblems(issues: readonly z.core.$ZodIssue[], schema: z.ZodType): IssueProblem[] {
  const wrongType = new Set(issues.filter(({ code }) => code === 'invalid_type').map(({ path }) => formatFieldPath(path)));
  const lengthOfWrongType = (issue: z.core.$ZodIssue) =>
    (issue.code === 'too_big' || issue.code === 'too_small') && wrongType.has(formatFieldPath(issue.path));
  return issues.filter((issue) => !lengthOfWrongType(issue)).flatMap(({ path, ...issue }): IssueProblem[] => {
    if (issue.code === 'unrecognized_keys') {
      const known = fieldsAt(schema, path);
      return issue.keys.map((key) => ({
        path: [...path, key],
        message:
          RETIRED_FIELDS.get(formatFieldPath([...path, key])) ??
          (key === '<<' ? MERGE_KEY : `unknown field${fieldHint(key, known)}`),
      }));
    }
    // A value of one option's kind (an approver's mapping without its id): that option's issues say what is wrong.
    if (issue.code === 'invalid_union') {
      const ofItsKind = issue.errors.filter((option) => !option.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0));
      if (ofItsKind.length === 1) {
        return issuesToProblems(ofItsKind[0]!.map((inner) => ({ ...inner, path: [...path, ...inner.path] })), schema);
      }
    }
    // A merge key in a record (tags): whatever zod says of the key or its value.
    if (path.at(-1) === '<<') return [{ path, message: MERGE_KEY }];
    // A record key or map entry: the inner issues say what is wrong with it.
    const inner = issue.code === 'invalid_key' || issue.code === 'invalid_element' ? issue.issues : undefined;
    return [{ path, message: inner?.map(({ message }) => message).join('; ') ?? issue.message }];
  });
}

/** Plans are YAML 1.2, which has no merge keys: `<<` would otherwise read as an unknown field of that name. */
const MERGE_KEY = 'YAML merge keys (<<) are not supported: write the fields out (an alias such as *name can still repeat a whole mapping)';

function fieldHint(key: string, known: readonly string[]): string {
  const suggestion = closestMatch(key, known);
  if (suggestion !== undefined) return ` (did you mean ${suggestion}?)`;
  return known.length === 0 ? '' : ` (allowed: ${listBriefly(known, 12)})`;
}

function describeValue(value: unknown): string {
  if (value === null || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `a string (${quote(value)})`;
  if (typeof value === 'number') return Number.isFinite(value) ? `a number (${value})` : `${value}`;
  if (typeof value !== 'object') return `a ${typeof value}`;
  const kind = objectKind(value);
  if (kind === 'Object' || !/^[A-Z]\w*$/.test(kind ?? '')) return 'a mapping';
  return `${/^[AEIOU]/.test(kind!) ? 'an' : 'a'} ${kind} object`;
}

/**
 * A Map, Date, String or class instance given in code is not the mapping (or text) it may look like.
 * Reading what it is may throw (a Proxy's trap, a `constructor` getter): such a value is just a
 * mapping, its problem worded as any other's.
 */
function objectKind(value: object): string | undefined {
  try {
    const prototype: unknown = Object.getPrototypeOf(value);
    const tag = Object.prototype.toString.call(value).slice('[object '.length, -1);
    return tag !== 'Object' || prototype === null || prototype === Object.prototype ? tag : (prototype as object).constructor?.name;
  } catch {
    return undefined;
  }
}

/** Field names of the object at `path`, in schema order (none when it is not an object). */
function fieldsAt(root: z.ZodType, path: readonly PropertyKey[]): string[] {
  let schema = unwrap(root);
  for (const segment of path) {
    schema = objectOption(schema);
    if (schema instanceof z.ZodObject) schema = unwrap(schema.shape[String(segment)]);
    else if (schema instanceof z.ZodArray) schema = unwrap(schema.element as z.ZodType);
    else return [];
  }
  schema = objectOption(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/** The one mapping a union accepts (an approver's `{ id, name }`), else the schema itself. */
function objectOption(schema: z.ZodType): z.ZodType {
  if (!(schema instanceof z.ZodUnion)) return schema;
  const objects = (schema.options as z.ZodType[]).map(unwrap).filter((option) => option instanceof z.ZodObject);
  return objects.length === 1 ? objects[0]! : schema;
}

/** Looks through the wrappers that do not change a value's shape: defaults, optional, pipes. */
function unwrap(schema: z.ZodType): z.ZodType {
  const { innerType, in: input } = schema._zod.def as { innerType?: z.ZodType; in?: z.ZodType };
  const inner = innerType ?? input;
  return inner === undefined ? schema : unwrap(inner);
}
