/** Validates an already-parsed plan value and returns it typed, with every default filled. */
import { errorMessage, MigrationPlanError, type PlanProblem } from './errors';
import { formatFieldPath, holdsInvisible, quote } from './field-path';
import { ONE_DOCUMENT } from './rules';
import { migrationPlanSchema } from './schema';
import { deepFreeze } from '../private/deep-freeze';
import type { SourceLocator } from './source-text';
import type { MigrationPlan } from './types';
import { describeIssue, issuesToProblems, type IssueProblem } from './zod-issues';

/**
 * Validates a parsed plan (for example from `JSON.parse`) and returns it with defaults filled in,
 * deeply frozen.
 *
 * @param source names the plan in messages
 * @throws MigrationPlanError listing every problem
 */
export function parseMigrationPlan(value: unknown, source = '<plan>'): MigrationPlan {
  return validatePlan(value, source);
}

/**
 * Plans this module validated and froze, with the file (or name) each came from. They cannot
 * change, so `renderMigrationPlan` need not validate them again; anything else (built by hand, or a
 * copy with changes) it still validates.
 */
const validatedPlans = new WeakMap<MigrationPlan, string>();

export const isValidatedPlan = (plan: MigrationPlan): boolean => validatedPlans.has(plan);

/**
 * The file (or name) a validated plan came from, for messages about it after loading (the stack
 * validates a plan given otherwise as `props.plan`).
 */
export const planSource = (plan: MigrationPlan): string => validatedPlans.get(plan) ?? 'props.plan';

/**
 * @param locate maps field paths to file positions when the value came from a file
 * @param found problems found reading the file that left the value usable (repeated keys), reported with the plan's
 */
export function validatePlan(value: unknown, file: string, locate?: SourceLocator, found: readonly PlanProblem[] = []): MigrationPlan {
  let result: ReturnType<typeof migrationPlanSchema.safeParse>;
  let dropped: IssueProblem[];
  try {
    result = migrationPlanSchema.safeParse(value, { ...ONE_DOCUMENT, error: describeIssue });
    // zod words its issues (describeIssue, reading the values) when `error` is first read.
    if (!result.success) void result.error.issues;
    dropped = protoTagKey(value);
  } catch (error) {
    // Only exotic inputs get here (getters that throw, revoked proxies): still a plan problem.
    throw new MigrationPlanError(file, [...found, { path: '', message: `cannot read the plan: ${errorMessage(error)}` }]);
  }
  if (result.success && dropped.length === 0 && found.length === 0) {
    const plan: MigrationPlan = deepFreeze(result.data);
    validatedPlans.set(plan, file);
    return plan;
  }
  const issues = [...(result.success ? [] : issuesToProblems(result.error.issues, migrationPlanSchema)), ...dropped];
  // From a file, MigrationPlanError sorts by line; without one, the value's own order is the next best.
  const ordered = locate === undefined ? sortByDocumentOrder(value, issues) : issues;
  const problems = ordered.map(
    ({ path, message }): PlanProblem => ({ path: formatFieldPath(path), message: showInvisible(message, value, path), ...locate?.(path) }),
  );
  throw new MigrationPlanError(file, [...found, ...problems]);
}

/**
 * A rule's message does not repeat the value, so "must be an Azure region short name such as
 * westeurope" for `westeurope` and a no-break space pasted after it would leave the user staring at
 * a value that looks right: such a value is shown, escaped, unless the message quotes it already or
 * is about such characters (a SQL database name's whitespace and control characters).
 */
const SPEAKS_OF_INVISIBLE = /whitespace|control character/;

function showInvisible(message: string, root: unknown, path: readonly PropertyKey[]): string {
  let value = root;
  try {
    for (const segment of path) value = (value as Record<PropertyKey, unknown> | null | undefined)?.[segment];
  } catch {
    return message; // a getter that throws (a plan given in code): its problem is worded already
  }
  if (typeof value !== 'string' || !holdsInvisible(value) || message.includes(quote(value)) || SPEAKS_OF_INVISIBLE.test(message)) return message;
  return `${message} (got ${quote(value)}, which holds a character that does not show)`;
}

/** zod skips a `__proto__` record key without a word, so such a tag would vanish (whatever its value). */
function protoTagKey(value: unknown): IssueProblem[] {
  const tags = (value as { tags?: unknown } | null | undefined)?.tags;
  if (typeof tags !== 'object' || tags === null || !Object.hasOwn(tags, '__proto__')) return [];
  return [{ path: ['tags', '__proto__'], message: 'tag key "__proto__" is not supported' }];
}

/** Problems in the order a reader meets their fields in the value (keys in insertion order, missing fields last). */
function sortByDocumentOrder(root: unknown, problems: readonly IssueProblem[]): IssueProblem[] {
  const keyed = problems.map((problem) => ({ problem, position: positionIn(root, problem.path) }));
  keyed.sort(({ position: a }, { position: b }) => {
    const differs = a.findIndex((index, i) => i < b.length && index !== b[i]);
    return differs === -1 ? a.length - b.length : a[differs] - b[differs];
  });
  return keyed.map(({ problem }) => problem);
}

/** Indices of the keys and items along `path`; a field missing from the value comes last in its parent. */
function positionIn(root: unknown, path: readonly PropertyKey[]): number[] {
  const position: number[] = [];
  let node = root;
  for (const segment of path) {
    let index = -1;
    if (Array.isArray(node) && typeof segment === 'number') index = segment;
    else if (typeof node === 'object' && node !== null) index = Object.keys(node).indexOf(String(segment));
    if (index === -1) return [...position, Number.MAX_SAFE_INTEGER];
    position.push(index);
    node = (node as Record<string, unknown>)[String(segment)];
  }
  return position;
}
