import { join } from 'node:path';
import { loadMigrationPlan, MigrationPlan } from '../../lib/plan';

/** The default plan (`examples/three-databases.yaml`), loaded through the public loader. */
export function examplePlan(): MigrationPlan {
  return loadMigrationPlan(join(__dirname, '..', '..', 'examples', 'three-databases.yaml'));
}
