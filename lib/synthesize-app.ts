import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { App } from 'cdktf';
import { IConstruct } from 'constructs';
import { MigrationPlanError } from './plan/errors';
import { isFileSystemError } from './private/file-system-error';
import { requireArgument } from './private/required-fields';
import { OUTPUT_FOLDER_CONTEXT, OutputObstacle, StagedOutput } from './private/staged-output';
import { synthWarnings } from './private/synth-warnings';
import { StateBackendConfigurationError } from './state-backend';

/** Options of {@link synthesizeApp}. */
export interface SynthesizeAppOptions {
  /**
   * The output folder, which Terraform runs in.
   * @default `CDKTF_OUTDIR` (the cdktf CLI sets it), else `cdktf.out`, as `new App()`
   */
  readonly outdir?: string;
}

/**
 * The synth of an app's `main.ts`, as `npm run synth` does it: `build` adds the stacks to a new
 * `App`, which writes them into a staging folder inside the output folder
 * (`<outdir>/.synth-XXXXXX`), moved into the output folder only once every stack was written: a
 * synth stopped part way (a mistake, a full disk, Ctrl-C) leaves the output folder as it was. A
 * mistake exits the process with status 1 and a message, without a stack trace: a plan's problems
 * (`MigrationPlanError.report()`), `Invalid state backend settings: ...`, a construct's refusal (a
 * plain `Error`: `Cannot synthesize the migration plan: ...`), an output folder the app cannot
 * write (Node's words). Any other error (a bug) rejects the promise, with its stack trace. SIGINT and SIGTERM exit 130
 * and 143 with the output folder as it was. Under plain `node` it prints the synth warnings, which
 * the cdktf CLI prints itself.
 *
 * `build` may be async (a plan fetched first): the stacks are synthesized once its promise resolves.
 * The process handlers it adds (exit, SIGINT, SIGTERM) go once its promise settles; call it as the
 * app's last statement, once: a second call while an earlier one is synthesizing into the same output
 * folder (two stacks files each calling it) exits with status 1 and `synthesizeApp was called again
 * ...`, naming the one call to make instead, and the output folder stays as it was. Both would have
 * published there, whichever finished last replacing `manifest.json`, which then named only its own
 * stacks. Calls one after another (each awaited) publish one after another, as two synths do.
 *
 * @param build adds the stacks to the app; what it returns (or its promise resolves to), the promise resolves to.
 * @returns resolves once the output folder holds the synthesized stacks.
 */
export function synthesizeApp<T>(build: (app: App) => T, options: SynthesizeAppOptions = {}): Promise<Awaited<T>> {
  // Plain JavaScript may call it without one: say so before the output folder is touched.
  requireArgument('synthesizeApp', build, (value) => typeof value === 'function', 'a function that adds the stacks to the app', SMALLEST_CALL);
  const outdir = options.outdir ?? process.env.CDKTF_OUTDIR ?? 'cdktf.out';
  exitIfSynthesizing(outdir);
  const staged = stageOrExit(outdir);
  let app: App;
  let built: T;
  try {
    // cdktf's App throws too (CDKTF_CONTEXT_JSON that is not JSON): the staging folder and the mark go with it.
    app = new App({ outdir: staged.output.staging, context: { [OUTPUT_FOLDER_CONTEXT]: staged.output.outputFolder } });
    built = build(app);
  } catch (error) {
    // A bug rejects the promise, as one in an async build does: a caller's catch sees it (a mistake exits here still).
    return new Promise<never>(() => giveUp(staged, error));
  }
  // An async build adds its stacks after it returns: synthesized before its promise resolved, they were missing from the output.
  if (isPromiseLike(built)) {
    return Promise.resolve(built).then(
      (value) => synthesizeAndPublish(app, staged, value),
      (error: unknown) => giveUp(staged, error),
    );
  }
  return synthesizeAndPublish(app, staged, built as Awaited<T>);
}

function synthesizeAndPublish<T>(app: App, staged: Staged, built: T): Promise<T> {
  // Into the staging folder, stack by stack: a failure here leaves the output folder as it was.
  try {
    app.synth();
  } catch (error) {
    return new Promise<never>(() => giveUp(staged, error, () => exitIfUnwritable(staged.output.outputFolder, error, NOTHING_SYNTHESIZED)));
  }
  // app.synth() never yields, so a Ctrl-C or the CLI's abort during it waits for the event loop: let it turn
  // before publishing, so an interrupted synth exits (130, 143) with the output folder as it was.
  return new Promise((resolve, reject) =>
    setImmediate(() => {
      try {
        publishOrExit(staged.output);
        staged.release();
        printWarnings(app);
        resolve(built);
      } catch (error) {
        // A bug after the staging folder went (or while publishing): the promise rejects, as any other failure.
        staged.output.discard();
        staged.release();
        reject(error);
      }
    }),
  );
}

/**
 * Removes the staging folder, the handlers and the output folder's mark, then a mistake (or what `exitIfOther`
 * exits for) exits with its message; anything else (a bug) is thrown on. Removed first: a `process.exit` that
 * does not end the process (a test's mock that throws) would otherwise leave the mark, refusing the next call.
 */
function giveUp(staged: Staged, error: unknown, exitIfOther: () => void = () => {}): never {
  staged.output.discard();
  staged.release();
  exitIfOther();
  exitIfMistake(error);
  throw error;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

const NOTHING_SYNTHESIZED = 'Nothing was synthesized.';
const SMALLEST_CALL = 'synthesizeApp((app) => new DatabaseMigrationStack(app, plan.name, { plan }))';

/** The output folders (real paths) a call of this process is synthesizing into, until its promise settles. */
const synthesizing = new Set<string>();

/** A folder's real path (a link or `..` in it resolved), or its absolute path while it does not exist. */
function folderKey(folder: string): string {
  try {
    return realpathSync(folder);
  } catch {
    return resolve(folder);
  }
}

/**
 * A second call while an earlier one synthesizes into the same output folder is the app's mistake:
 * it exits before staging anything, and the earlier call, which has not published yet, is discarded by
 * its exit handler.
 */
function exitIfSynthesizing(outdir: string): void {
  if (!synthesizing.has(folderKey(outdir))) return;
  process.stderr.write(
    `synthesizeApp was called again while an earlier call was still synthesizing into ${outdir}: both would publish there, ` +
      'the manifest.json of the last to finish naming only its own stacks. Call synthesizeApp once, with a build that adds every stack: ' +
      "synthesizeApp((app) => { new DatabaseMigrationStack(app, first.name, { plan: first }); new DatabaseMigrationStack(app, second.name, { plan: second }); })\n" +
      `${NOTHING_SYNTHESIZED}\n`,
  );
  process.exit(1);
}

/**
 * The staging folder the app synthesizes into (lib/private/staged-output.ts). It goes whatever ends
 * the process (an exit, an uncaught error, Ctrl-C, the cdktf CLI's abort).
 */
function stageOrExit(outdir: string): Staged {
  let output: StagedOutput;
  try {
    output = StagedOutput.begin(outdir);
  } catch (error) {
    exitIfUnwritable(outdir, error, NOTHING_SYNTHESIZED);
    throw error;
  }
  const discard = () => output.discard();
  const exitOnSigint = () => process.exit(130);
  const exitOnSigterm = () => process.exit(143);
  process.on('exit', discard);
  process.once('SIGINT', exitOnSigint);
  process.once('SIGTERM', exitOnSigterm);
  const key = folderKey(output.outputFolder);
  synthesizing.add(key);
  const release = () => {
    synthesizing.delete(key);
    process.off('exit', discard);
    process.off('SIGINT', exitOnSigint);
    process.off('SIGTERM', exitOnSigterm);
  };
  return { output, release };
}

/** The staging folder, and how to take away the process handlers that remove it and the output folder's mark (once published or discarded). */
interface Staged {
  readonly output: StagedOutput;
  readonly release: () => void;
}

/**
 * A user's mistake: a plan's problems, a state backend's settings, or a plain Error, which is a
 * construct's or cdktf's message for the user (a validation, an error annotation, a plan too large for
 * a host's config maps). A TypeError and the like is a bug, and keeps its stack trace.
 */
function exitIfMistake(error: unknown): void {
  let message: string;
  if (error instanceof MigrationPlanError) message = error.report();
  else if (error instanceof StateBackendConfigurationError) message = `Invalid state backend settings: ${error.message}`;
  else if (error instanceof Error && error.constructor === Error) message = `Cannot synthesize the migration plan: ${error.message}`;
  else return;
  process.stderr.write(`${message}\n${NOTHING_SYNTHESIZED}\n`);
  process.exit(1);
}

/**
 * An output folder that cannot be written (a file of that name, a folder another user made, as a
 * container run as root does) is the machine's state, not a bug: Node's error names the path and
 * what failed, and the stack trace under it would only hide it.
 */
function exitIfUnwritable(outdir: string, error: unknown, outcome: string): void {
  if (!isFileSystemError(error)) return;
  process.stderr.write(`Cannot write the output folder ${outdir}: ${error.message}\n${outcome}\n`);
  process.exit(1);
}

/** The move into the output folder, checked first: an obstacle found by the checks leaves it as it was. */
function publishOrExit(output: StagedOutput): void {
  try {
    output.publish();
  } catch (error) {
    if (error instanceof OutputObstacle) {
      process.stderr.write(`Cannot write the output folder ${output.outputFolder}: ${error.message}\n${NOTHING_SYNTHESIZED}\n`);
      process.exit(1);
    }
    // Checked, then refused (another process in between): what moved is part of this synth.
    exitIfUnwritable(output.outputFolder, error, 'What it holds may be part of this synth: synthesize again once it can be written.');
    throw error;
  }
}

/**
 * Synth warnings (weakened defaults, retired services); cdktf's CLI prints them, plain node does not.
 * Under the CLI (`cdktf synth`, `deploy`, `diff`), which runs the app with
 * CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS set, printing them too would show each twice, this copy
 * logged as an `[ERROR]` (the CLI's label for the app's stderr).
 */
function printWarnings(root: IConstruct): void {
  if (process.env.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS !== undefined) return;
  for (const warning of synthWarnings(root)) process.stderr.write(`Warning: ${warning}\n`);
}
