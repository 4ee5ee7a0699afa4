/** Generated valid plans make a stack, and the DAG gets exactly the rendered plan. */
import { Testing } from 'cdktf';
import fc from 'fast-check';
import { DatabaseMigrationStack } from '../../lib/database-migration-stack';
import { parseMigrationPlan, renderMigrationPlan } from '../../lib/plan';
import { synthStacks } from '../helpers/test-stack';
import { minimalPlan } from '../plan/plan-fixtures';
import { validPlanDocument } from './arbitraries';
import { runs } from './outcomes';

describe('stacks from valid generated plans', () => {
  test('the synthesized stacks deliver exactly the rendered plan to the DAG folder (the Kubernetes host: a config map)', () => {
    fc.assert(
      fc.property(validPlanDocument(), (document) => {
        const plan = parseMigrationPlan(document);
        const stack = new DatabaseMigrationStack(Testing.app(), plan.name, { plan });
        const [, release] = synthStacks(stack, ...stack.releaseStacks);
        const maps = Object.values<any>(release.resource.kubernetes_config_map_v1 ?? {});
        const planFiles = maps.flatMap((map) => (map.data?.['migration_plan.json'] === undefined ? [] : [map.data['migration_plan.json']]));
        expect(planFiles).toEqual([renderMigrationPlan(plan)]);
      }),
      runs(15),
    );
  });

  // Counterexample found by the property above (fixed in the plan's limits).
  test('the longest the plan accepts is one the stack can alert on', () => {
    const plan = minimalPlan();
    plan.notifications.longRunningMinutes = 2865;
    const parsed = parseMigrationPlan(plan);
    expect(() => Testing.synth(new DatabaseMigrationStack(Testing.app(), parsed.name, { plan: parsed }))).not.toThrow();
  });
});
