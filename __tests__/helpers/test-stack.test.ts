import { Testing } from 'cdktf';
import { AIRFLOW_OF_HOST, examplePlanWith } from './migration-stack';
import { DatabaseMigrationStack } from '../../lib/database-migration-stack';
import { synthObject } from './test-stack';

describe('synthObject', () => {
  test.each(Object.keys(AIRFLOW_OF_HOST) as (keyof typeof AIRFLOW_OF_HOST)[])(
    'gives what Testing.synth writes, parsed, key for key in the same order (host %s, every stack)',
    (host) => {
      const stack = new DatabaseMigrationStack(Testing.app(), 'contoso-sql', { plan: examplePlanWith(AIRFLOW_OF_HOST[host]) });
      const stacks = [stack, ...stack.releaseStacks];
      stacks.forEach((each) => each.prepareStack());
      for (const each of stacks) {
        // cdktf's metadata is there to leave out, at the top and in every resource.
        expect(JSON.stringify(each.toTerraform())).toContain('"//"');
        expect(JSON.stringify(synthObject(each))).toBe(JSON.stringify(JSON.parse(Testing.synth(each))));
      }
    },
  );
});
