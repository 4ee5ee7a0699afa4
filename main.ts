import { App } from 'cdktf';
import { IConstruct } from 'constructs';
// Deep imports, not './lib': the package root loads every construct and host, and the app pays for each module it loads.
import { DatabaseMigrationStack } from './lib/database-migration-stack';
import { KubeloginMode, kubeloginModeFromEnvironment } from './lib/hosts/kubernetes/kubernetes-host';
import { MigrationPlanError } from './lib/plan/errors';
import { loadMigrationPlan } from './lib/plan/load';
import type { MigrationPlan } from './lib/plan/types';
import { OUTPUT_FOLDER_CONTEXT, OutputObstacle, StagedOutput } from './lib/private/staged-output';
import { synthWarnings } from './lib/private/synth-warnings';
import { skipTokenCreationStacks } from './lib/private/token-creation-stacks';
import { StateBackend, StateBackendConfigurationError, stateBackendFromEnvironment } from './lib/state-backend';

/** The default plan mirrors the original recipe; MIGRATION_PLAN selects another. */
const DEFAULT_PLAN = 'examples/three-databases.yaml';

function loadPlanOrExit(path: string): MigrationPlan {
  try {
    return loadMigrationPlan(path);
  } catch (error) {
    if (error instanceof MigrationPlanError) {
      // A user mistake: the message names file, field and problem; a stack trace would only hide it.
      process.stderr.write(`${error.report()}\nNothing was synthesized.\n`);
      process.exit(1);
    }
    throw error;
  }
}

function stateBackendOrExit(): StateBackend {
  try {
    return stateBackendFromEnvironment(process.env);
  } catch (error) {
    if (error instanceof StateBackendConfigurationError) {
      process.stderr.write(`Invalid state backend settings: ${error.message}\nNothing was synthesized.\n`);
      process.exit(1);
    }
    throw error;
  }
}

function kubeloginModeOrExit(): KubeloginMode | undefined {
  try {
    return kubeloginModeFromEnvironment(process.env);
  } catch (error) {
    if (error instanceof Error && error.constructor === Error) {
      process.stderr.write(`${error.message}\nNothing was synthesized.\n`);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * The staging folder the app synthesizes into (lib/private/staged-output.ts): the output folder is
 * written only once the synth completed, so a synth stopped part way leaves it as it was. The staging
 * folder goes whatever ends the process (an exit, an uncaught error, Ctrl-C, the cdktf CLI's abort).
 */
function stageOrExit(outdir: string): StagedOutput {
  let output: StagedOutput;
  try {
    output = StagedOutput.begin(outdir);
  } catch (error) {
    exitIfUnwritable(outdir, error, 'Nothing was synthesized.');
    throw error;
  }
  process.on('exit', () => output.discard());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));
  return output;
}

/**
 * The app with the stack `build` adds to it, writing into the staging folder; the constructs name
 * paths from the output folder. The constructs refuse what a valid plan cannot deploy (a plan too
 * large for a host's config maps) with a plain Error naming the construct: a message for the user.
 * A TypeError and the like is a bug, and keeps its stack trace.
 */
function stackOrExit(output: StagedOutput, build: (app: App) => DatabaseMigrationStack): { app: App; stack: DatabaseMigrationStack } {
  const app = new App({ outdir: output.staging, context: { [OUTPUT_FOLDER_CONTEXT]: output.outputFolder } });
  try {
    return { app, stack: build(app) };
  } catch (error) {
    exitIfMistake(error);
    throw error;
  }
}

/** A plain Error is a construct's or cdktf's message for the user (a validation, an error annotation); the stack trace would only hide it. */
function exitIfMistake(error: unknown): void {
  if (error instanceof Error && error.constructor === Error) {
    process.stderr.write(`Cannot synthesize the migration plan: ${error.message}\nNothing was synthesized.\n`);
    process.exit(1);
  }
}

/**
 * An output folder that cannot be written (a file of that name, a folder another user made, as a
 * container run as root does) is the machine's state, not a bug: Node's error names the path and
 * what failed, and the stack trace under it would only hide it.
 */
function exitIfUnwritable(outdir: string, error: unknown, outcome: string): void {
  const { code, syscall } = (error ?? {}) as NodeJS.ErrnoException;
  if (!(error instanceof Error) || typeof code !== 'string' || typeof syscall !== 'string') return;
  process.stderr.write(`Cannot write the output folder ${outdir}: ${error.message}\n${outcome}\n`);
  process.exit(1);
}

/** `app.synth()` into the staging folder, which it writes stack by stack: a failure here leaves the output folder as it was. */
function synthOrExit(app: App, output: StagedOutput): void {
  try {
    app.synth();
  } catch (error) {
    exitIfUnwritable(output.outputFolder, error, 'Nothing was synthesized.');
    exitIfMistake(error);
    throw error;
  }
}

/** The move into the output folder, checked first: an obstacle found by the checks leaves it as it was. */
function publishOrExit(output: StagedOutput): void {
  try {
    output.publish();
  } catch (error) {
    if (error instanceof OutputObstacle) {
      process.stderr.write(`Cannot write the output folder ${output.outputFolder}: ${error.message}\nNothing was synthesized.\n`);
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

/** `npm run synth -- plans/q3.yaml` would otherwise synthesize the default plan, silently. */
function refuseArguments(args: readonly string[]): void {
  if (args.length === 0) return;
  const plan = args.find((arg) => /\.(ya?ml|json)$/i.test(arg)) ?? '<file>';
  process.stderr.write(
    `The app takes no arguments (got ${args.join(' ')}): select the plan with MIGRATION_PLAN=${plan} npm run synth\nNothing was synthesized.\n`,
  );
  process.exit(1);
}

function main(): void {
  refuseArguments(process.argv.slice(2));
  skipTokenCreationStacks();
  // Blank is unset, and the ends are trimmed, as for every variable the app reads (a CI variable's trailing space or line break).
  const plan = loadPlanOrExit(process.env.MIGRATION_PLAN?.trim() || DEFAULT_PLAN);
  const stateBackend = stateBackendOrExit();
  const kubeloginMode = kubeloginModeOrExit();
  const outdir = process.env.CDKTF_OUTDIR ?? 'cdktf.out';
  const output = stageOrExit(outdir);
  const { app, stack } = stackOrExit(output, (app) => new DatabaseMigrationStack(app, plan.name, { plan, stateBackend, kubeloginMode }));
  synthOrExit(app, output);
  // app.synth() never yields, so a Ctrl-C or the CLI's abort during it waits for the event loop: let it turn
  // before publishing, so an interrupted synth exits (130, 143) with the output folder as it was.
  setImmediate(() => {
    publishOrExit(output);
    report(app, plan, stateBackend, outdir, stack);
  });
}

/** Warnings, then what was synthesized where. */
function report(app: App, plan: MigrationPlan, stateBackend: StateBackend, outdir: string, stack: DatabaseMigrationStack): void {
  printWarnings(app);
  const where = stateBackend.type === 'terraformCloud' ? `Terraform Cloud ${stateBackend.organization}/${stateBackend.workspace}` : stateBackend.type;
  process.stdout.write(
    `Synthesized stack ${plan.name} (${plan.databases.length} database${plan.databases.length === 1 ? '' : 's'}, Airflow host ${plan.airflow.host}, state: ${where}) into ${outdir}/stacks/${plan.name}\n`,
  );
  for (const release of stack.releaseStacks) {
    process.stdout.write(`Synthesized stack ${release.node.id}, to apply after ${plan.name}, into ${outdir}/stacks/${release.node.id}\n`);
  }
}

main();
