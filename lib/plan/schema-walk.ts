/**
 * Navigating the zod schema by field path (public zod API only): which fields an object
 * allows (for "did you mean" hints) and in which order (for rendering).
 */
import { z } from 'zod';

/** The schema of the value at `path`, looking through defaults, optionals and pipes. */
export function schemaAt(root: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let schema: z.ZodType | undefined = unwrap(root);
  for (const segment of path) {
    if (schema === undefined) return undefined;
    schema = childSchema(schema, segment);
  }
  return schema;
}

/** The (unwrapped) schema of one field or item of a value described by `schema`. */
export function childSchema(schema: z.ZodType, segment: PropertyKey): z.ZodType | undefined {
  let child: z.ZodType | undefined;
  if (schema instanceof z.ZodObject) child = (schema.shape as Record<string, z.ZodType>)[String(segment)];
  else if (schema instanceof z.ZodArray) child = schema.element as z.ZodType;
  else if (schema instanceof z.ZodRecord) child = schema.valueType as z.ZodType;
  return child === undefined ? undefined : unwrap(child);
}

/** Field names of the object at `path`, in schema order; undefined when it is not an object. */
export function fieldsAt(root: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  const schema = schemaAt(root, path);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : undefined;
}

/** Looks through the wrappers that do not change a value's shape. */
export function unwrap(schema: z.ZodType): z.ZodType {
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
