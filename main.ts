import { existsSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { App, Manifest } from 'cdktf';
import { IConstruct } from 'constructs';
// Deep imports, not './lib': the package root loads every construct and host, and the app pays for each module it loads.
import { DatabaseMigrationStack } from './lib/database-migration-stack';
import { KubeloginMode, kubeloginModeFromEnvironment } from './lib/hosts/kubernetes/kubernetes-host';
import { MigrationPlanError } from './lib/plan/errors';
import { loadMigrationPlan } from './lib/plan/load';
import type { MigrationPlan } from './lib/plan/types';
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
 * The app with the stack `build` adds to it. The constructs refuse what a valid plan cannot deploy
 * (a plan too large for a host's config maps) with a plain Error naming the construct: a message
 * for the user, and nothing left written: `new App()` makes the output folder and its stacks/, so
 * those it made are removed again (still empty, as nothing is synthesized before `app.synth()`). A
 * TypeError and the like is a bug, and keeps its stack trace.
 */
function stackOrExit(build: (app: App) => DatabaseMigrationStack): { app: App; stack: DatabaseMigrationStack } {
  const outdir = process.env.CDKTF_OUTDIR ?? 'cdktf.out';
  const made = [join(outdir, Manifest.stacksFolder), outdir].filter((folder) => !existsSync(folder));
  let app: App;
  try {
    app = new App({ outdir });
  } catch (error) {
    exitIfUnwritable(outdir, error, 'Nothing was synthesized.');
    throw error;
  }
  try {
    return { app, stack: build(app) };
  } catch (error) {
    if (error instanceof Error && error.constructor === Error) {
      process.stderr.write(`Cannot synthesize the migration plan: ${error.message}\nNothing was synthesized.\n`);
      for (const folder of made) rmdirSync(folder);
      process.exit(1);
    }
    throw error;
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

/** `app.synth()`, which writes the stacks one after another; a folder it cannot write stops it part way. */
function synthOrExit(app: App): void {
  try {
    app.synth();
  } catch (error) {
    exitIfUnwritable(app.outdir, error, 'What it holds may be part of this synth: synthesize again once it can be written.');
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
  const { app, stack } = stackOrExit((app) => new DatabaseMigrationStack(app, plan.name, { plan, stateBackend, kubeloginMode }));
  synthOrExit(app);
  printWarnings(app);
  const where = stateBackend.type === 'terraformCloud' ? `Terraform Cloud ${stateBackend.organization}/${stateBackend.workspace}` : stateBackend.type;
  process.stdout.write(
    `Synthesized stack ${plan.name} (${plan.databases.length} database${plan.databases.length === 1 ? '' : 's'}, Airflow host ${plan.airflow.host}, state: ${where}) into ${app.outdir}/stacks/${plan.name}\n`,
  );
  for (const release of stack.releaseStacks) {
    process.stdout.write(`Synthesized stack ${release.node.id}, to apply after ${plan.name}, into ${app.outdir}/stacks/${release.node.id}\n`);
  }
}

main();
