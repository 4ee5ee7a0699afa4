import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { parse } from 'yaml';
import { DatabaseMigrationStack, DatabaseMigrationStackProps } from '../../lib/database-migration-stack';
import { MigrationPlan, parseMigrationPlan } from '../../lib/plan';
import { examplePlan } from './example-plan';
import { CAPACITY_ID, ENVIRONMENT_ID, SERVICE_PRINCIPAL } from './host-fixtures';
import { prepareStacks, synthObject, SynthesizedStack } from './test-stack';


/** The `airflow:` section of each host as a test writes it. */
export const AIRFLOW_OF_HOST = {
  kubernetes: {},
  dataFactory: { host: 'dataFactory', dataFactory: { environmentId: ENVIRONMENT_ID, servicePrincipal: SERVICE_PRINCIPAL } },
  fabric: { host: 'fabric', fabric: { capacityId: CAPACITY_ID, servicePrincipal: SERVICE_PRINCIPAL } },
  external: { host: 'external' },
} as const;

let exampleDocument: Record<string, unknown> | undefined;

/** The default plan with another `airflow:` section (and other top-level sections replaced). */
export function examplePlanWith(airflow: unknown, sections: Record<string, unknown> = {}): MigrationPlan {
  exampleDocument ??= parse(readFileSync(join(__dirname, '..', '..', 'examples', 'three-databases.yaml'), 'utf8')) as Record<string, unknown>;
  const document = structuredClone(exampleDocument);
  Object.assign(document, sections, { airflow });
  return parseMigrationPlan(document, 'three-databases.yaml (test)');
}

/**
 * A DatabaseMigrationStack and its release stacks, synthesized the way `app.synth()` does: every
 * stack is prepared (cross-stack references registered) before any is synthesized. The release
 * stack, which carries the DAG files, is synthesized only when a test reads it.
 */
export function synthMigrationStack(
  props: Partial<DatabaseMigrationStackProps> = {},
): { stack: DatabaseMigrationStack; synth: SynthesizedStack; release?: SynthesizedStack } {
  const plan = props.plan ?? examplePlan();
  const stack = new DatabaseMigrationStack(Testing.app(), plan.name, { ...props, plan });
  prepareStacks([stack, ...stack.releaseStacks]);
  const [releaseStack] = stack.releaseStacks;
  let release: SynthesizedStack | undefined;
  return {
    stack,
    synth: synthObject(stack),
    get release() {
      return releaseStack === undefined ? undefined : (release ??= synthObject(releaseStack));
    },
  };
}
