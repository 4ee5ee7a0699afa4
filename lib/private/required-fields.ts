/**
 * Props and arguments as plain JavaScript may pass them, with no type checker to stop a missing
 * one or one of the wrong kind: named before they are read, not by a TypeError from inside the
 * library or a stack synthesized from a string read as a list. Its one import (`lib/plan/suggest`)
 * imports nothing, so that `lib/plan` can use it too.
 */
import { closestMatch, listBriefly } from '../plan/suggest';

/**
 * What a field holds, as JavaScript sees it at run time. `construct`: a construct (a stack, a
 * host's monitoring). Tokens pass where their type allows one: cdktf encodes string, number and
 * list tokens as strings, numbers and arrays, and an `IResolvable` (`Lazy.anyValue`, ...) passes
 * as a string, a number or a list handed on as it is (`ListToken`). `object`: an object the construct reads at synth (its
 * keys, its fields), so a token standing for one is refused by name. `map`: an object the
 * construct hands to Terraform as it is (tags, a request body), or a token standing for one: cdktf
 * returns the `any` of `Fn.merge`, `Fn.tomap`, `Fn.lookup` ... as a string token. `listOrMap`: a
 * list or an object handed to Terraform as it is (AzAPI's `responseExportValues`), or a token. `numberReadAtSynth`:
 * a number the construct checks or computes with at synth (a range, an alert's timing), so a number token, which
 * stands for a value known only at apply, is refused by name.
 */
export type Kind = 'string' | 'number' | 'numberReadAtSynth' | 'boolean' | 'object' | 'map' | 'listOrMap' | 'function' | 'construct';

/** The kinds a TypeScript type allows (a union allows each of its members' kinds); a list has none: its rule is `EachElement`. */
export type KindOf<Value> = Value extends string
  ? 'string'
  : Value extends number
    ? 'number' | 'numberReadAtSynth'
    : Value extends boolean
      ? 'boolean'
      : Value extends readonly unknown[]
        ? never
        : Value extends (...args: never[]) => unknown
          ? 'function'
          : Value extends Readonly<Record<string, unknown>>
            ? 'object' | 'map' | 'construct'
            : 'object' | 'construct';

/** `listOrMap` for a type that is a list or an object and neither alone (`string[] | Record<string, string>`). */
type ListOrMapOf<Value> = [Value] extends [readonly unknown[] | Readonly<Record<string, unknown>>]
  ? [Value] extends [readonly unknown[]]
    ? never
    : [Value] extends [Readonly<Record<string, unknown>>]
      ? never
      : 'listOrMap'
  : never;

/** The fields of `Props` a caller must give. */
export type RequiredField<Props> = { [Field in keyof Props]-?: undefined extends Props[Field] ? never : Field }[keyof Props];

/** An optional field, checked when it is given: its kind, or its object's own fields. */
export interface IfGiven<Rule> {
  readonly ifGiven: Rule;
}

/**
 * What is checked of `Props`: every required field, by its kind or (for an object or a list of
 * objects) by its own fields the same way; an optional field may be listed too, checked when it is
 * given. The type checker sees that no required field is left out and that each kind is one the
 * field's type allows.
 */
export type RequiredFields<Props> = { readonly [Field in RequiredField<Props>]: RuleOf<Props[Field]> } & {
  readonly [Field in Exclude<keyof Props, RequiredField<Props>>]?: IfGiven<RuleOf<NonNullable<Props[Field]>>>;
};

/**
 * What a list of strings or numbers may be besides a list of its elements: cdktf's list functions
 * (`Fn.concat`, `Fn.flatten`, ...) return a string token, `Token.asList` a list of one encoded
 * string, `Lazy.anyValue` an `IResolvable`. `passedOn`: the construct hands the list to Terraform as
 * it is, so each of them is accepted. `readAtSynth`: the construct reads the elements at synth (one
 * resource each, a check of each, ...), which a token does not have, so each is refused by name.
 */
export type ListToken = 'passedOn' | 'readAtSynth';

type ScalarKind = 'string' | 'number' | 'numberReadAtSynth' | 'boolean';

/**
 * A list's elements, each checked (its kind, or its fields) when the list is given as one
 * (`<path>[<index>].<field>`). A list of strings or numbers states what a list token does; a list
 * of objects is always read at synth (its elements' fields), so a list token is refused by name.
 */
export type EachElement<Rule> =
  | { readonly each: Extract<Rule, ScalarKind>; readonly listToken: ListToken }
  | { readonly each: Exclude<Rule, ScalarKind>; readonly listToken?: never };

type RuleOf<Value> = KindOf<Value> | ListOrMapOf<Value> | FieldsOf<Value> | OneOfOf<Value> | OrFalseOf<Value> | CheckedBy;

/** A field checked by a function of its own (a union told apart by a field, as custom alerts by `kind`), into the same problems. */
export interface CheckedBy {
  readonly checkedBy: (value: unknown, path: string, problems: FieldProblems) => void;
}

/** A string of a few values (`'Include' | 'Exclude'`): one of them, or a token, which the construct hands to Terraform as it is. */
export interface OneOf<Value extends string> {
  readonly oneOf: readonly Value[];
}

type OneOfOf<Value> = [Value] extends [string] ? (string extends Value ? never : OneOf<Value>) : never;

/** A field that is an object or `false` (an alert left out): `false` passes, anything else is checked by `orFalse`. */
export interface OrFalse<Rule> {
  readonly orFalse: Rule;
}

type OrFalseOf<Value> = [false] extends [Value] ? ([Exclude<Value, false>] extends [object] ? OrFalse<FieldsOf<Exclude<Value, false>>> : never) : never;

/** The key `onlyListed` marks a rule with: the object's fields are the listed ones and no others. */
const ONLY_LISTED: unique symbol = Symbol('onlyListed');

/**
 * `rule`, with a field it does not list named as unknown (`<path>.severty is an unknown field (did you
 * mean severity?)`) instead of ignored: for options objects, where a typo would silently leave the default.
 */
export function onlyListed<Rule extends object>(rule: Rule): Rule {
  return { ...rule, [ONLY_LISTED]: true };
}

type FieldsOf<Value> = Value extends readonly (infer Element)[] ? EachElement<RuleOf<Element>> : Value extends object ? RequiredFields<Value> : never;

/** An optional field of one kind: `preventDestroy: IF_GIVEN.boolean`. */
export const IF_GIVEN = {
  string: { ifGiven: 'string' },
  number: { ifGiven: 'number' },
  numberReadAtSynth: { ifGiven: 'numberReadAtSynth' },
  boolean: { ifGiven: 'boolean' },
  object: { ifGiven: 'object' },
  map: { ifGiven: 'map' },
  listOrMap: { ifGiven: 'listOrMap' },
} as const;

export const isIfGiven = (rule: unknown): rule is IfGiven<unknown> => typeof rule === 'object' && rule !== null && 'ifGiven' in rule;

/** The smallest call's fields: the required ones. */
export const requiredNames = (required: object): string => Object.keys(required).filter((field) => !isIfGiven((required as Record<string, unknown>)[field])).join(', ');

/** cdktf's `Tokenization.isResolvable`, without importing cdktf. */
const isResolvable = (value: unknown): boolean => typeof value === 'object' && value !== null && typeof (value as { resolve?: unknown }).resolve === 'function';

/** `Construct.isConstruct` of the constructs library, without importing it. */
const isConstruct = (value: unknown): boolean => typeof value === 'object' && value !== null && Symbol.for('constructs.Construct') in value;

const isPlainObject = (value: unknown): boolean => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A string holding a cdktf string token (`${TfToken[TOKEN.<n>]}`, cdktf's encoding), without importing cdktf. */
const isTokenString = (value: unknown): boolean => typeof value === 'string' && value.includes('${TfToken[');

/** What `Token.asList` returns: a list of one string holding cdktf's list token (`#{TfToken[TOKEN.<n>]}`). */
const isEncodedList = (value: unknown): boolean => Array.isArray(value) && value.length === 1 && typeof value[0] === 'string' && value[0].includes('#{TfToken[');

/** What `Token.asNumber` returns: a double whose top 16 bits are cdktf's marker 0xfdff (its `extractTokenDouble`). */
function isNumberToken(value: unknown): boolean {
  if (typeof value !== 'number') return false;
  const words = new Uint32Array(new Float64Array([value]).buffer);
  return words[1] >>> 16 === 0xfdff;
}

/** What `Token.asStringMap` (`asAnyMap`, `asNumberMap` ...) returns: an object whose key holds cdktf's map token (`&{TfToken[TOKEN.<n>]}`). */
const isMapToken = (value: unknown): boolean => isPlainObject(value) && Object.keys(value as object).some((key) => key.includes('&{TfToken['));

/** An `IResolvable` that is no construct (a construct may stand for a reference by its fields). */
const isResolvableValue = (value: unknown): boolean => isResolvable(value) && !isConstruct(value);

/** How a message names a cdktf token (`a list token (Token.asList)`), or undefined for a value that is none. */
export function tokenNamed(value: unknown): string | undefined {
  if (isTokenString(value)) return "a string token (Token.asString, or cdktf's functions: Fn.concat, Fn.merge ...)";
  if (isNumberToken(value)) return 'a number token (Token.asNumber)';
  if (isEncodedList(value)) return 'a list token (Token.asList)';
  if (isMapToken(value)) return 'a map token (Token.asStringMap ...)';
  if (isResolvableValue(value)) return 'an IResolvable';
  return undefined;
}

const ACCEPTS: { readonly [Of in Kind]: (value: unknown) => boolean } = {
  string: (value) => typeof value === 'string' || isResolvable(value),
  number: (value) => typeof value === 'number' || isResolvable(value),
  numberReadAtSynth: (value) => typeof value === 'number',
  boolean: (value) => typeof value === 'boolean',
  object: isPlainObject,
  map: (value) => isPlainObject(value) || isTokenString(value),
  listOrMap: (value) => Array.isArray(value) || isPlainObject(value) || isTokenString(value),
  function: (value) => typeof value === 'function',
  construct: isConstruct,
};

const A_KIND: { readonly [Of in Kind]: string } = {
  string: 'a string',
  number: 'a number',
  numberReadAtSynth: 'a number',
  boolean: 'true or false',
  object: 'an object',
  map: 'an object',
  listOrMap: 'a list or an object',
  function: 'a function',
  construct: 'a construct',
};

/** What was given instead, as a message names it: `the string "30"`, `a list`, `null`. */
function given(value: unknown): string {
  if (value === null) return 'null';
  const token = tokenNamed(value);
  if (token) return token;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 59)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `the ${typeof value} ${String(value)}`;
  if (typeof value === 'object' && isConstruct(value)) return 'a construct';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** What a field's value is wrong in: the fields it lacks (`<path>.<field>`) and the fields of the wrong kind (`<path>.<field> must be ...`). */
export interface FieldProblems {
  readonly missing: string[];
  readonly wrongKind: string[];
}

/** The required fields `value` lacks, and the given fields (listed ones, nested ones too) of the wrong kind. */
export function fieldProblems(value: unknown, required: object, path: string, problems: FieldProblems = { missing: [], wrongKind: [] }): FieldProblems {
  for (const [field, listed] of Object.entries(required) as [string, unknown][]) {
    const fieldValue = (value as Record<string, unknown>)[field];
    const fieldPath = `${path}.${field}`;
    const optional = isIfGiven(listed);
    if (fieldValue == null) {
      if (!optional) problems.missing.push(fieldPath);
      continue;
    }
    checkRule(fieldValue, optional ? listed.ifGiven : listed, fieldPath, problems);
  }
  if (ONLY_LISTED in required) {
    const known = Object.keys(required);
    for (const [field, fieldValue] of Object.entries(value as object)) {
      if (fieldValue === undefined || Object.hasOwn(required, field)) continue;
      const suggestion = closestMatch(field, known);
      // TypeScript checks no excess field of a variable or a spread, so the field may have come with an object of another type.
      const fix = suggestion === undefined ? `allowed: ${listBriefly(known, 12)}); remove it, also from an object spread into ${path}` : `did you mean ${suggestion}?)`;
      problems.wrongKind.push(`${path}.${field} is an unknown field (${fix}`);
    }
  }
  return problems;
}

/** A token where the construct reads the value at synth (an object's keys or fields, a number's range), which a token does not have. */
const tokenReadAtSynth = (path: string, what: string, value: unknown): string => `${path} must be ${what}, which is read at synth, not a token (got ${given(value)})`;

/** Kinds whose value the construct reads at synth: a token is named as one. */
const READ_AT_SYNTH: ReadonlySet<Kind> = new Set<Kind>(['object', 'numberReadAtSynth']);

/** `value` checked by `rule` (a kind, or an object rule), its problems added to `problems`. */
export function checkRule(value: unknown, rule: unknown, path: string, problems: FieldProblems): void {
  if (typeof rule === 'string') {
    if (READ_AT_SYNTH.has(rule as Kind) && tokenNamed(value)) problems.wrongKind.push(tokenReadAtSynth(path, A_KIND[rule as Kind], value));
    else if (!ACCEPTS[rule as Kind](value)) problems.wrongKind.push(`${path} must be ${A_KIND[rule as Kind]} (got ${given(value)})`);
    return;
  }
  if (typeof rule !== 'object' || rule === null) return;
  if ('checkedBy' in rule) {
    (rule as CheckedBy).checkedBy(value, path, problems);
    return;
  }
  if ('oneOf' in rule) {
    const values = (rule as OneOf<string>).oneOf;
    if (!isResolvable(value) && !isTokenString(value) && !values.includes(value as string)) {
      // A value in the wrong letter case or with a typo ('Readonly', 'GreaterThen') is named with the one it likely meant.
      const meant = typeof value === 'string' ? closestMatch(value, values) : undefined;
      const guess = meant === undefined ? '' : `; did you mean '${meant}'?`;
      problems.wrongKind.push(`${path} must be one of ${values.map((one) => `'${one}'`).join(', ')} (got ${given(value)}${guess})`);
    }
    return;
  }
  if ('orFalse' in rule) {
    if (value === false) return;
    if (typeof value === 'object') checkRule(value, (rule as OrFalse<unknown>).orFalse, path, problems);
    else problems.wrongKind.push(`${path} must be an object or false (got ${given(value)})`);
    return;
  }
  if (!('each' in rule)) {
    // A token has none of the fields the construct reads: named as a token, not as each field missing.
    if (tokenNamed(value)) problems.wrongKind.push(tokenReadAtSynth(path, 'an object', value));
    else if (!isPlainObject(value)) problems.wrongKind.push(`${path} must be an object (got ${given(value)})`);
    else fieldProblems(value, rule, path, problems);
    return;
  }
  const { each, listToken } = rule as { each: unknown; listToken?: ListToken };
  if (isTokenString(value) || isEncodedList(value) || isResolvableValue(value)) {
    if (listToken !== 'passedOn') problems.wrongKind.push(`${path} must be a list of its elements, which are read at synth, not a list token (got ${given(value)})`);
    return;
  }
  if (!Array.isArray(value)) {
    problems.wrongKind.push(`${path} must be a list (got ${given(value)})`);
    return;
  }
  value.forEach((element, index) => {
    if (element == null) problems.missing.push(`${path}[${index}]`);
    else checkRule(element, each, `${path}[${index}]`, problems);
  });
}

const kindOf = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

/**
 * The props object of an exported function: `<function> needs props (got <kind>)` or
 * `<function> is missing props.<a>.<b>`, each with the smallest call, or
 * `<function>: props.<a> must be <kind> (got <what>)`.
 */
export function requireFunctionProps<Props extends object>(
  name: string,
  props: Props | undefined,
  required: RequiredFields<Props>,
  smallestCall = `${name}({ ${requiredNames(required)} })`,
): Props {
  if (typeof props !== 'object' || props === null) throw new TypeError(`${name} needs props (got ${kindOf(props)}); the smallest call is ${smallestCall}`);
  const { missing, wrongKind } = fieldProblems(props, required, 'props');
  if (missing.length > 0) throw new TypeError(`${name} is missing ${missing.join(', ')}; the smallest call is ${smallestCall}`);
  if (wrongKind.length > 0) throw new TypeError(`${name}: ${wrongKind.join('; ')}`);
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
