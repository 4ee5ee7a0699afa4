/**
 * An ES module consumer of the CommonJS package: TypeScript resolves its types through `exports`
 * (module nodenext), and Node's ESM loader must find every export by name (cjs-module-lexer reads
 * them from dist/lib/index.js), else `import { X }` fails at load in a team's ESM app.
 */
import { createRequire } from 'node:module';
import * as library from '@platform/azure-db-migration';
import { DatabaseMigrationStack, loadMigrationPlan, type MigrationPlan } from '@platform/azure-db-migration';
import schema from '@platform/azure-db-migration/schema/migration-plan.schema.json' with { type: 'json' };
import manifest from '@platform/azure-db-migration/package.json' with { type: 'json' };

const required: Record<string, unknown> = createRequire(import.meta.url)('@platform/azure-db-migration');
const unnamed = Object.keys(required).filter((name) => !(name in library));
if (unnamed.length > 0) {
  process.stderr.write(`ESM consumer: exports an ES module cannot import by name: ${unnamed.join(', ')}\n`);
  process.exit(1);
}
const plan: MigrationPlan = loadMigrationPlan('plan.yaml');
if (typeof DatabaseMigrationStack !== 'function' || schema.title === undefined || manifest.name !== '@platform/azure-db-migration') {
  process.stderr.write('ESM consumer: the package, its schema or its package.json did not load as ES modules\n');
  process.exit(1);
}
console.log(`ESM consumer: ${Object.keys(required).length} exports by name, plan ${plan.name}, schema "${schema.title}", ${manifest.name}@${manifest.version}`);
