import { App } from 'cdktf';
import { DatabaseMigrationStack, loadMigrationPlan, MigrationPlanError } from './lib';

/** The default plan mirrors the original recipe; MIGRATION_PLAN selects another. */
const DEFAULT_PLAN = 'examples/three-databases.yaml';

function main(): void {
  const planPath = process.env.MIGRATION_PLAN || DEFAULT_PLAN;
  let plan;
  try {
    plan = loadMigrationPlan(planPath);
  } catch (error) {
    if (error instanceof MigrationPlanError) {
      // A user mistake: the message names file, field and problem; a stack trace would only hide it.
      process.stderr.write(`${error.message}\nNothing was synthesized.\n`);
      process.exit(1);
    }
    throw error;
  }
  const app = new App();
  new DatabaseMigrationStack(app, plan.name, { plan });
  app.synth();
}

main();
