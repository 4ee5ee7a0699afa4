/** Generated valid plans make a stack, and the DAG gets exactly the rendered plan. */
import { Testing } from 'cdktf';
import fc from 'fast-check';
import { DatabaseMigrationStack } from '../../lib/database-migration-stack';
import { parseMigrationPlan, renderMigrationPlan } from '../../lib/plan';
import { minimalPlan } from '../plan/plan-fixtures';
import { validPlanDocument } from './arbitraries';
import { runs } from './outcomes';

describe('stacks from valid generated plans', () => {
  test('the synthesized stack uploads exactly the rendered plan', () => {
    fc.assert(
      fc.property(validPlanDocument(), (document) => {
        const plan = parseMigrationPlan(document);
        const stack = new DatabaseMigrationStack(Testing.app(), plan.name, { plan });
        const synthesized = JSON.parse(Testing.synth(stack));
        const blobs = Object.values<any>(synthesized.resource.azurerm_storage_blob ?? {});
        const planBlobs = blobs.filter((blob) => blob.name === 'dags/migration_plan.json');
        expect(planBlobs).toHaveLength(1);
        expect(planBlobs[0].source_content).toBe(renderMigrationPlan(plan));
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
