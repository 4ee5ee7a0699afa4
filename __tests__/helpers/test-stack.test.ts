import { Testing } from 'cdktf';
import { AIRFLOW_OF_HOST, examplePlanWith } from './migration-stack';
import { DatabaseMigrationStack } from '../../lib/database-migration-stack';
import { prepareStacks, synthObject } from './test-stack';

describe('synthObject', () => {
  // Kubernetes has two stacks (the release carries the DAG files); Fabric stages an asset and runs a local-exec step.
  test.each(['kubernetes', 'fabric'] as const)(
    'gives what Testing.synth writes, parsed, key for key in the same order (host %s, every stack)',
    (host) => {
      const stack = new DatabaseMigrationStack(Testing.app(), 'contoso-sql', { plan: examplePlanWith(AIRFLOW_OF_HOST[host]) });
      const stacks = [stack, ...stack.releaseStacks];
      prepareStacks(stacks);
      for (const each of stacks) {
        // cdktf's metadata is there to leave out, at the top and in every resource.
        expect(JSON.stringify(each.toTerraform())).toContain('"//"');
        expect(JSON.stringify(synthObject(each))).toBe(JSON.stringify(JSON.parse(Testing.synth(each))));
      }
    },
  );
});
