/** The one error type for every mistake in a plan, listing all problems at once. */
import { types } from 'node:util';

/** One thing wrong with a plan. */
export interface PlanProblem {
  /** Field path such as `databases[2].dependsOn[0]`; empty for the file or the document as a whole. */
  readonly path: string;
  /** What is wrong, for example `unknown database "database_9"`. */
  readonly message: string;
  /**
   * 1-based line in the plan file, when known.
   * @default - unknown: the plan did not come from a file, or the problem has no position
   */
  readonly line?: number;
  /**
   * 1-based column in the plan file, when known.
   * @default - unknown, like `line`
   */
  readonly column?: number;
}

/**
 * Thrown by {@link loadMigrationPlan} and {@link parseMigrationPlan} for an invalid plan. Its
 * message has one `file:line:column field.path: message` line per problem; {@link MigrationPlanError.report}
 * puts the file and the count of problems before them.
 */
export class MigrationPlanError extends Error {
  /** Every problem found, sorted by position in the file (problems without one come last). */
  readonly problems: readonly PlanProblem[];
  /** The plan file as given to `loadMigrationPlan`, or the `source` name given to `parseMigrationPlan`. */
  readonly file: string;

  constructor(file: string, problems: readonly PlanProblem[]) {
    const sorted = Object.freeze(
      sortByPosition(dedupe(problems)).map((p) => Object.freeze({ ...p, message: oneLine(p.message) })),
    );
    super(sorted.map((problem) => formatProblem(file, problem)).join('\n'));
    this.name = 'MigrationPlanError';
    this.file = file;
    this.problems = sorted;
  }

  /**
   * What to print for the user: a header naming the file and how many problems, then the message's
   * line per problem. The package's own app (`npm run synth`) prints it so.
   */
  report(): string {
    const count = this.problems.length;
    return `Invalid migration plan ${this.file} (${count} problem${count === 1 ? '' : 's'}):\n${this.message}`;
  }
}

const PRIMITIVES = new Set(['string', 'number', 'boolean', 'bigint', 'symbol']);

/**
 * What was thrown, in words: a getter in a plan given in code may throw anything (undefined, `{}`, 42).
 * An Error of another realm (Node's fs errors inside Jest's sandbox, a vm context) is no `instanceof Error`.
 */
export function errorMessage(error: unknown): string {
  const isError = error instanceof Error || types.isNativeError(error);
  const message = isError ? error.message : PRIMITIVES.has(typeof error) ? String(error) : '';
  return message !== '' ? message : `${isError ? error.name : 'something other than an Error'} was thrown, without a message`;
}

/**
 * One problem, one line: a library's message may quote the text after the error, line breaks and
 * all (`yaml`'s "Invalid escape sequence \U" quotes the next eight characters); they are escaped.
 */
const oneLine = (message: string) =>
  message.replace(/[\n\r\u2028\u2029]/g, (lineBreak) =>
    lineBreak === '\n' ? '\\n' : lineBreak === '\r' ? '\\r' : `\\u${lineBreak.charCodeAt(0).toString(16)}`,
  );

/** `file:line:col field.path: message`, leaving out what is unknown. */
function formatProblem(file: string, problem: PlanProblem): string {
  const location = problem.line === undefined ? file : `${file}:${problem.line}:${problem.column ?? 1}`;
  return problem.path === '' ? `${location}: ${problem.message}` : `${location} ${problem.path}: ${problem.message}`;
}

function sortByPosition(problems: readonly PlanProblem[]): PlanProblem[] {
  // Array.prototype.sort is stable, so problems without a position keep the order they were found in.
  return [...problems].sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
}

function dedupe(problems: readonly PlanProblem[]): PlanProblem[] {
  const seen = new Set<string>();
  return problems.filter(({ path, message }) => {
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
