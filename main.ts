// Deep imports, not './lib': the package root loads every construct and host, and the app pays for each module it loads.
import { DatabaseMigrationStack } from './lib/database-migration-stack';
import { deployerPrincipalIdFromEnvironment } from './lib/deployer-principal';
import { kubeloginModeFromEnvironment } from './lib/hosts/kubernetes/kubernetes-host';
import { MigrationPlanError } from './lib/plan/errors';
import { loadMigrationPlan } from './lib/plan/load';
import type { MigrationPlan } from './lib/plan/types';
import { planFileFromEnvironment } from './lib/private/caller-path';
import { skipTokenCreationStacks } from './lib/private/token-creation-stacks';
import { StateBackend, StateBackendConfigurationError, stateBackendFromEnvironment } from './lib/state-backend';
import { synthesizeApp } from './lib/synthesize-app';

/**
 * The default plan mirrors the original recipe, read from the working directory (the repository's, where npm runs the
 * script); MIGRATION_PLAN selects another, a relative path read from where the command was typed (INIT_CWD), as
 * npm run rehearse and npm run diagram read it.
 */
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

/** A variable's value (`read` from the environment), or its mistake (a plain Error naming it) printed, and exit 1. */
function variableOrExit<T>(read: (env: NodeJS.ProcessEnv) => T): T {
  try {
    return read(process.env);
  } catch (error) {
    if (error instanceof Error && error.constructor === Error) {
      process.stderr.write(`${error.message}\nNothing was synthesized.\n`);
      process.exit(1);
    }
    throw error;
  }
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
  const plan = loadPlanOrExit(planFileFromEnvironment(process.env) ?? DEFAULT_PLAN);
  const stateBackend = stateBackendOrExit();
  const kubeloginMode = variableOrExit(kubeloginModeFromEnvironment);
  const deployerPrincipalId = variableOrExit(deployerPrincipalIdFromEnvironment);
  const outdir = process.env.CDKTF_OUTDIR ?? 'cdktf.out';
  void synthesizeApp((app) => new DatabaseMigrationStack(app, plan.name, { plan, stateBackend, kubeloginMode, deployerPrincipalId }), { outdir }).then((stack) =>
    report(plan, stateBackend, outdir, stack),
  );
}

/** What was synthesized where (after the warnings, which synthesizeApp printed). */
function report(plan: MigrationPlan, stateBackend: StateBackend, outdir: string, stack: DatabaseMigrationStack): void {
  const where = stateBackend.type === 'terraformCloud' ? `Terraform Cloud ${stateBackend.organization}/${stateBackend.workspace}` : stateBackend.type;
  process.stdout.write(
    `Synthesized stack ${plan.name} (${plan.databases.length} database${plan.databases.length === 1 ? '' : 's'}, Airflow host ${plan.airflow.host}, state: ${where}) into ${outdir}/stacks/${plan.name}\n`,
  );
  for (const release of stack.releaseStacks) {
    process.stdout.write(`Synthesized stack ${release.node.id}, to apply after ${plan.name}, into ${outdir}/stacks/${release.node.id}\n`);
  }
}

main();
