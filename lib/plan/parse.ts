/** Validates an already-parsed plan value and returns it typed, with every default filled. */
import { deepFreeze } from './deep-freeze';
import { sortByDocumentOrder } from './document-order';
import { MigrationPlanError, type PlanProblem } from './errors';
import { formatFieldPath } from './field-path';
import { migrationPlanSchema } from './schema';
import type { SourceLocator } from './source-positions';
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

/** @param locate maps field paths to file positions when the value came from a file */
export function validatePlan(value: unknown, file: string, locate?: SourceLocator): MigrationPlan {
  let checked: Checked;
  try {
    checked = check(value);
  } catch (error) {
    // Only exotic inputs get here (getters that throw, revoked proxies): still a plan problem.
    const reason = error instanceof Error ? error.message : String(error);
    throw new MigrationPlanError(file, [{ path: '', message: `cannot read the plan: ${reason}` }]);
  }
  if (checked.plan !== undefined) return checked.plan;

  const { result, dropped } = checked;
  const issues = [...(result.success ? [] : issuesToProblems(result.error.issues, migrationPlanSchema)), ...dropped];
  // From a file, MigrationPlanError sorts by line; without one, the value's own order is the next best.
  const ordered = locate === undefined ? sortByDocumentOrder(value, issues, (issue) => issue.path) : issues;
  const problems = ordered.map(
    ({ path, message }): PlanProblem => ({ path: formatFieldPath(path), message, ...locate?.(path) }),
  );
  throw new MigrationPlanError(file, problems);
}

/**
 * The plan when `value` is a valid one, exactly as `validatePlan` would return it; undefined
 * when it has problems (which the caller then reports with `validatePlan`, positions and all).
 */
export function planIfValid(value: unknown): MigrationPlan | undefined {
  try {
    return check(value).plan;
  } catch {
    return undefined;
  }
}

/**
 * Plans this module validated and froze. They cannot change, so `renderMigrationPlan` need not
 * validate them again; anything else (built by hand, or a copy with changes) it still validates.
 */
const validatedPlans = new WeakSet<MigrationPlan>();

export function isValidatedPlan(plan: MigrationPlan): boolean {
  return validatedPlans.has(plan);
}

type Checked =
  | { readonly plan: MigrationPlan }
  | {
      readonly plan?: undefined;
      readonly result: ReturnType<typeof migrationPlanSchema.safeParse>;
      readonly dropped: IssueProblem[];
    };

/** @throws whatever reading an exotic value throws */
function check(value: unknown): Checked {
  const result = migrationPlanSchema.safeParse(value, { error: describeIssue });
  const dropped = protoTagKey(value);
  if (!result.success || dropped.length > 0) return { result, dropped };
  const plan = deepFreeze(result.data);
  validatedPlans.add(plan);
  return { plan };
}

/** zod skips a `__proto__` record key without a word, so such a tag would vanish (whatever its value). */
function protoTagKey(value: unknown): IssueProblem[] {
  const tags = (value as { tags?: unknown } | null | undefined)?.tags;
  if (typeof tags !== 'object' || tags === null || !Object.hasOwn(tags, '__proto__')) return [];
  return [{ path: ['tags', '__proto__'], message: 'tag key "__proto__" is not supported' }];
}
