/** What every call into the plan loader may end in, checked the same way by each property. */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { MigrationPlanError, type MigrationPlan } from '../../lib/plan';
import { isSelfOrParent } from './plan-paths';

export type Outcome = { readonly plan: MigrationPlan } | { readonly error: MigrationPlanError };

/**
 * A single load taking this much CPU time counts as a hang (generated plans, 100 KB strings
 * included, take milliseconds). CPU time, not the clock: on a busy machine a load may wait seconds
 * for a core.
 */
export const HANG_MS = 2000;

/** Runs the loader: a plan or a MigrationPlanError, anything else (TypeError, RangeError, ...) fails the property. */
export function outcomeOf(load: () => MigrationPlan): Outcome {
  const started = process.cpuUsage();
  let outcome: Outcome;
  try {
    outcome = { plan: load() };
  } catch (error) {
    if (!(error instanceof MigrationPlanError)) {
      const shown = error instanceof Error ? error.stack ?? error.message : String(error);
      throw new Error(`expected a plan or a MigrationPlanError, got ${shown}`);
    }
    outcome = { error };
  }
  const { user, system } = process.cpuUsage(started);
  const elapsed = (user + system) / 1000;
  if (elapsed > HANG_MS) throw new Error(`the loader took ${Math.round(elapsed)} ms of CPU time`);
  return outcome;
}

export function planErrorOf(load: () => MigrationPlan): MigrationPlanError {
  const outcome = outcomeOf(load);
  if ('plan' in outcome) throw new Error('expected a MigrationPlanError, but the plan was accepted');
  return outcome.error;
}

/**
 * The error lists at least one problem, each with a message, one line per problem starting
 * with the source name (so user text cannot forge or hide lines), each message of bounded length
 * whatever the input size.
 */
export function expectWellFormed(error: MigrationPlanError, source: string, { fieldPaths = true } = {}): void {
  expect(error.file).toBe(source);
  expect(error.problems.length).toBeGreaterThan(0);
  for (const problem of error.problems) {
    expect(typeof problem.path).toBe('string');
    if (fieldPaths) expect(problem.path).not.toBe('');
    expect(problem.message.trim()).not.toBe('');
    expect(problem.message.length).toBeLessThan(5000);
  }
  const lines = error.message.split('\n');
  expect(lines).toHaveLength(error.problems.length);
  for (const line of lines) expect(line.startsWith(source)).toBe(true);
}

/** Some problem sits at `path` (or a parent of it) and says `message`. */
export function expectProblemAt(error: MigrationPlanError, path: string, message: RegExp): void {
  const found = error.problems.some((problem) => isSelfOrParent(problem.path, path) && message.test(problem.message));
  if (!found) {
    const listed = error.problems.map((p) => `  ${p.path}: ${p.message.slice(0, 300)}`).join('\n');
    throw new Error(`expected a problem at ${path} (or a parent) matching ${message}, got:\n${listed}`);
  }
}

/** Deep equality without jest's diffing cost on the (common) passing path. */
export function expectDeepEqual(actual: unknown, expected: unknown): void {
  if (!isDeepStrictEqual(actual, expected)) expect(actual).toStrictEqual(expected);
}

/** How long shrinking a failure may take before the smallest case found so far is reported. */
export const SHRINK_TIME_LIMIT_MS = 30_000;

/**
 * fc.assert parameters: all `numRuns` cases, however slow the machine (a time box on the cases
 * would pass a property on fewer of them, silently), and a time box on shrinking only, so that
 * shrinking a failure found in a big plan cannot stall the suite (it then reports the smallest
 * case found so far). A failure prints `{ seed: S, path: "P", endOnFailure: true }`:
 * `FC_SEED=S FC_PATH=P npx jest -c jest.slow.config.js <test file> -t '<test name>'` replays that
 * case, `FC_SEED=S` alone runs the same cases again.
 */
export function runs(numRuns: number, environment: NodeJS.ProcessEnv = process.env): fc.Parameters<unknown> {
  return { numRuns, ...replayOf(environment), plugins: [timeBoxOnShrinking(SHRINK_TIME_LIMIT_MS)] };
}

function replayOf({ FC_SEED: seed, FC_PATH: path }: NodeJS.ProcessEnv): fc.Parameters<unknown> {
  if (seed === undefined) {
    if (path !== undefined) throw new Error('FC_PATH replays a failure of the seed FC_SEED: set both, as the failure printed them');
    return {};
  }
  if (!/^-?\d+$/.test(seed) || !Number.isSafeInteger(Number(seed))) {
    throw new Error(`FC_SEED must be the integer a failure printed as "seed", got ${JSON.stringify(seed)}`);
  }
  if (path === undefined) return { seed: Number(seed) };
  if (!/^\d+(:\d+)*$/.test(path)) {
    throw new Error(`FC_PATH must be the numbers a failure printed as "path" (such as 12:0:3), got ${JSON.stringify(path)}`);
  }
  return { seed: Number(seed), path, endOnFailure: true };
}

/**
 * Interrupts a property `limitMs` after its first failure: shrinking stops and fast-check reports
 * the smallest failing case found so far, still as a failure.
 */
export function timeBoxOnShrinking(limitMs: number): fc.Plugin<unknown> {
  return () => {
    let deadline: number | undefined;
    const note = <Result>(result: Result): Result => {
      if (deadline === undefined && result !== null && !fc.PreconditionFailure.isFailure(result)) {
        deadline = performance.now() + limitMs;
      }
      return result;
    };
    return {
      decorateRun: (nestedRun) => (value) => {
        if (deadline !== undefined && performance.now() >= deadline) return new fc.PreconditionFailure(true);
        const result = nestedRun(value);
        return result instanceof Promise ? result.then(note) : note(result);
      },
    };
  };
}
