import { Testing } from 'cdktf';
import { DatabaseMigrationStack, DatabaseMigrationStackProps } from '../../lib/database-migration-stack';
import { examplePlan } from './example-plan';
import { prepareStacks, synthObject, SynthesizedStack } from './test-stack';

/**
 * The release stack of a DatabaseMigrationStack, synthesized as `synthMigrationStack` (./migration-stack.ts) and
 * `app.synth()` do, every stack prepared first, for tests that read only the release stack: the first stack is
 * prepared (its outputs for the release stack registered) but not synthesized.
 */
export function synthReleaseStack(props: Partial<DatabaseMigrationStackProps> = {}): SynthesizedStack {
  const plan = props.plan ?? examplePlan();
  const stack = new DatabaseMigrationStack(Testing.app(), plan.name, { ...props, plan });
  prepareStacks([stack, ...stack.releaseStacks]);
  const [release] = stack.releaseStacks;
  if (release === undefined) throw new Error(`${plan.name}: no release stack (the host is ${stack.airflowHost.kind})`);
  return synthObject(release);
}
