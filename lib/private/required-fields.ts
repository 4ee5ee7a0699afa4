/**
 * Props and arguments as plain JavaScript may pass them, with no type checker to stop a missing
 * one: named before they are read, not by a TypeError from inside the library. No imports, so
 * that `lib/plan` can use it too.
 */

/** The fields of `Props` a caller must give. */
export type RequiredField<Props> = { [Field in keyof Props]-?: undefined extends Props[Field] ? never : Field }[keyof Props];

/** An optional field whose object, when given, has required fields of its own. */
export interface IfGiven<Fields> {
  readonly ifGiven: Fields;
}

/**
 * What is checked of `Props`: every required field, `true` or (for an object) its own required
 * fields the same way; an optional field may name its object's required fields, checked when it is
 * given. The type checker sees that no required field is left out.
 */
export type RequiredFields<Props> = { readonly [Field in RequiredField<Props>]: true | FieldsOf<Props[Field]> } & {
  readonly [Field in Exclude<keyof Props, RequiredField<Props>>]?: IfGiven<FieldsOf<NonNullable<Props[Field]>>>;
};

/** A list's elements, each checked when the list is given as one (`<path>[<index>].<field>`). */
export interface EachElement<Fields> {
  readonly each: Fields;
}

type FieldsOf<Value> = Value extends readonly (infer Element)[] ? EachElement<RequiredFields<Element>> : RequiredFields<Value>;

export const isIfGiven = (rule: unknown): rule is IfGiven<object> => typeof rule === 'object' && rule !== null && 'ifGiven' in rule;

/** The smallest call's fields: the required ones. */
export const requiredNames = (required: object): string => Object.keys(required).filter((field) => !isIfGiven((required as Record<string, unknown>)[field])).join(', ');

/** Paths (`<path>.<field>.<field>`) of the required fields `value` lacks. */
export function missingFields(value: unknown, required: object, path: string): string[] {
  return Object.entries(required).flatMap(([field, rule]: [string, unknown]) => {
    const given = (value as Record<string, unknown>)[field];
    const optional = isIfGiven(rule);
    if (given == null) return optional ? [] : [`${path}.${field}`];
    const nested: unknown = optional ? rule.ifGiven : rule;
    if (typeof nested !== 'object' || nested === null) return [];
    if (!('each' in nested)) return missingFields(given, nested, `${path}.${field}`);
    if (!Array.isArray(given)) return [];
    const { each } = nested as EachElement<object>;
    return given.flatMap((element, index) => (element == null ? [`${path}.${field}[${index}]`] : missingFields(element, each, `${path}.${field}[${index}]`)));
  });
}

const kindOf = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

/**
 * The props object of an exported function: `<function> needs props (got <kind>)` or
 * `<function> is missing props.<a>.<b>`, each with the smallest call.
 */
export function requireFunctionProps<Props extends object>(
  name: string,
  props: Props | undefined,
  required: RequiredFields<Props>,
  smallestCall = `${name}({ ${requiredNames(required)} })`,
): Props {
  if (typeof props !== 'object' || props === null) throw new TypeError(`${name} needs props (got ${kindOf(props)}); the smallest call is ${smallestCall}`);
  const missing = missingFields(props, required, 'props');
  if (missing.length > 0) throw new TypeError(`${name} is missing ${missing.join(', ')}; the smallest call is ${smallestCall}`);
  return props;
}

/** One argument of an exported function: `<function> needs <what> (got <kind>); the smallest call is <call>`. */
export function requireArgument(name: string, value: unknown, accepts: (value: unknown) => boolean, what: string, smallestCall: string): void {
  if (!accepts(value)) throw new TypeError(`${name} needs ${what} (got ${kindOf(value)}); the smallest call is ${smallestCall}`);
}

/** A plan, or anything with its `databases` list, as `renderMermaidDiagram`, `migrationWaves` and `topologicalOrder` take it. */
export function requirePlanDatabases(name: string, plan: unknown): void {
  requireArgument(
    name,
    plan,
    (value) => typeof value === 'object' && value !== null && Array.isArray((value as { databases?: unknown }).databases),
    'a migration plan (an object with its databases)',
    `${name}(loadMigrationPlan('plan.yaml'))`,
  );
}

/** A plan's name, as the exported alert queries take it. */
export function requirePlanName(name: string, planName: unknown, smallestCall: string): void {
  requireArgument(name, planName, (value) => typeof value === 'string', "the plan's name, a string", smallestCall);
}

/** A number of minutes, as the exported alert queries take it. */
export const isMinutes = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value);

/** Freeze limits, as `sourceFrozenTooLongQuery` reads them. */
export const isFreezeLimits = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && (value as { limitMinutes?: unknown }).limitMinutes instanceof Map && Array.isArray((value as { writableDatabases?: unknown }).writableDatabases);
