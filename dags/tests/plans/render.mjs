#!/usr/bin/env node
/**
 * The DAG tests' plans are the TypeScript renderer's output (the DAG reads nothing else), never
 * written by hand:
 *
 *   npm run build && node dags/tests/plans/render.mjs           write them
 *   npm run build && node dags/tests/plans/render.mjs --check   exit 1 naming each one that differs (run-tests.sh)
 *
 * Sources: the examples the tests rehearse, and bench/gen-plan.mjs's 300-database plan (the
 * structure and parse tests' large estate).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePlan } from '../../../bench/gen-plan.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const { loadMigrationPlan, parseMigrationPlan, renderMigrationPlan } = createRequire(import.meta.url)(join(root, 'dist', 'lib'));

const PLANS = {
  'three_databases.json': () => loadMigrationPlan(join(root, 'examples', 'three-databases.yaml')),
  'fabric_host.json': () => loadMigrationPlan(join(root, 'examples', 'fabric-host.yaml')),
  'data_factory_host.json': () => loadMigrationPlan(join(root, 'examples', 'data-factory-host.yaml')),
  'generated_300.json': () => parseMigrationPlan(generatePlan(300), 'bench/gen-plan.mjs 300'),
};

const check = process.argv.includes('--check');
const stale = [];
for (const [file, load] of Object.entries(PLANS)) {
  const path = join(here, file);
  const rendered = renderMigrationPlan(load());
  if (!check) writeFileSync(path, rendered);
  else if (readText(path) !== rendered) stale.push(relative(root, path));
}
if (stale.length > 0) {
  console.error(`Not what renderMigrationPlan writes today: ${stale.join(', ')}.\nRegenerate: npm run build && node dags/tests/plans/render.mjs`);
  process.exit(1);
}

function readText(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
