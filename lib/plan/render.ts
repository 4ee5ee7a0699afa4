/** Writes `migration_plan.json`, the document the Airflow DAG reads. */
import { isValidatedPlan, parseMigrationPlan } from './parse';
import type { MigrationPlan } from './types';

/**
 * The plan as JSON in the input schema with every default filled in: keys in schema order
 * (tags sorted), 2-space indent, trailing newline, so equal plans give byte-identical files (and blob hashes).
 * A plan that did not come from `parseMigrationPlan`/`loadMigrationPlan` (built by hand, or a
 * changed copy) is validated first, so it cannot produce a file the DAG would reject.
 *
 * @throws MigrationPlanError when the plan is not valid
 */
export function renderMigrationPlan(plan: MigrationPlan): string {
  // Plans from the parser are deeply frozen and already valid: validating them again cost ~50 ms for 1,000 databases.
  const valid = isValidatedPlan(plan) ? plan : parseMigrationPlan(plan, '<rendered plan>');
  return `${JSON.stringify(valid, null, 2)}\n`;
}
