import { join } from 'node:path';
import { loadMigrationPlan, MigrationPlan } from '../../lib/plan';

let loaded: MigrationPlan | undefined;

/**
 * The default plan (`examples/three-databases.yaml`), loaded through the public loader once per test
 * file: the loader's plans are deep-frozen, so every test can share it.
 */
export function examplePlan(): MigrationPlan {
  loaded ??= loadMigrationPlan(join(__dirname, '..', '..', 'examples', 'three-databases.yaml'));
  return loaded;
}
