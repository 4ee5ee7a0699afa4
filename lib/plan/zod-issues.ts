/**
 * Turns zod issues into plan problems worded for the person who wrote the plan: "missing
 * required field", "expected a list, got a mapping", one problem per unknown field with a hint.
 */
import { z } from 'zod';
import { quote } from './field-path';
import { closestMatch, listBriefly } from './suggest';

export interface IssueProblem {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** Per-parse error map: words the generic issues; messages set in the schema take precedence. */
export const describeIssue: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'missing required field';
      const hint = quoteHint(issue.expected, issue.input);
      return `expected ${describeExpected(issue.expected)}, got ${describeValue(issue.input)}${hint}`;
    }
    case 'invalid_value': {
      if (issue.input === undefined) return 'missing required field';
      const allowed = issue.values.map((v) => String(v));
      const got =
        typeof issue.input === 'string'
          ? ` (got ${quote(issue.input)}${didYouMean(issue.input, allowed)})`
          : ` (got ${describeValue(issue.input)})`;
      return `must be one of ${allowed.join(', ')}${got}`;
    }
    default:
      return undefined;
  }
};

export function issuesToProblems(issues: readonly z.core.$ZodIssue[], schema: z.ZodType): IssueProblem[] {
  return issues.flatMap((issue): IssueProblem[] => {
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = fieldsAt(schema, issue.path) ?? [];
        return issue.keys.map((key) => ({
          path: [...issue.path, key],
          message: `unknown field${unknownFieldHint(key, known)}`,
        }));
      }
      case 'invalid_key':
      case 'invalid_element':
        // A record key or map entry: the inner issues say what is wrong with it.
        return [{ path: issue.path, message: issue.issues.map((inner) => inner.message).join('; ') }];
      default:
        return [{ path: issue.path, message: issue.message }];
    }
  });
}

function unknownFieldHint(key: string, known: readonly string[]): string {
  const suggestion = closestMatch(key, known);
  if (suggestion !== undefined) return ` (did you mean ${suggestion}?)`;
  return known.length === 0 ? '' : ` (allowed: ${listBriefly(known, 12)})`;
}

function didYouMean(input: string, allowed: readonly string[]): string {
  const suggestion = closestMatch(input, allowed);
  return suggestion === undefined ? '' : `; did you mean ${suggestion}?`;
}

function describeExpected(expected: string): string {
  switch (expected) {
    case 'object':
    case 'record':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'int':
      return 'an integer';
    case 'boolean':
      return 'true or false';
    default:
      return `a ${expected}`;
  }
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `a string (${quote(value)})`;
    case 'number':
      return Number.isFinite(value) ? `a number (${value})` : `${value}`;
    case 'boolean':
      return String(value);
    case 'object':
      return 'a mapping';
    default:
      return `a ${typeof value}`;
  }
}

/** YAML reads `4711` or `true` as a number or a boolean; the fix for a string field is to quote it. */
function quoteHint(expected: string, input: unknown): string {
  if (expected !== 'string' || (typeof input !== 'number' && typeof input !== 'boolean')) return '';
  return `; quote it if it is text: "${String(input)}"`;
}

/** Field names of the object at `path`, in schema order; undefined when it is not an object. */
function fieldsAt(root: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let schema: z.ZodType | undefined = unwrap(root);
  for (const segment of path) {
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, z.ZodType>)[String(segment)];
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.ZodType;
    else return undefined;
    schema = schema === undefined ? undefined : unwrap(schema);
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : undefined;
}

/** Looks through the wrappers that do not change a value's shape. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodPipe) current = current.in as z.ZodType;
    else if (
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable ||
      current instanceof z.ZodReadonly
    ) {
      current = current.unwrap() as z.ZodType;
    } else return current;
  }
}
