#!/usr/bin/env node
/**
 * The DAG tests' plans are the TypeScript renderer's output (the DAG reads nothing else), never
 * written by hand:
 *
 *   npm run build && node dags/tests/plans/render.mjs           write them
 *   npm run build && node dags/tests/plans/render.mjs --check   exit 1 naming each one that differs (run-tests.sh)
 *
 * Sources: the examples the tests rehearse, and bench/gen-plan.mjs's 300-database plan (the
 * structure and parse tests' large estate). Beside them, the pools file the Kubernetes host mounts
 * into the chart's database-migration job for the default plan, and the external host's output
 * airflow_pools_import for it (`airflow pools import` reads both; test_pools_import.py imports them).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePlan } from '../../../bench/gen-plan.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const require = createRequire(import.meta.url);
const { loadMigrationPlan, parseMigrationPlan, renderMigrationPlan } = require(join(root, 'dist', 'lib'));
const { airflowPools } = require(join(root, 'dist', 'lib', 'hosts', 'airflow-pools'));
const { poolsImportFile } = require(join(root, 'dist', 'lib', 'private', 'kubernetes', 'pools-import'));
const { poolsImportValue } = require(join(root, 'dist', 'lib', 'private', 'setup-outputs'));

const PLANS = {
  'three_databases.json': () => loadMigrationPlan(join(root, 'examples', 'three-databases.yaml')),
  'fabric_host.json': () => loadMigrationPlan(join(root, 'examples', 'fabric-host.yaml')),
  'data_factory_host.json': () => loadMigrationPlan(join(root, 'examples', 'data-factory-host.yaml')),
  'cutover_windows.json': () => loadMigrationPlan(join(root, 'examples', 'cutover-windows.yaml')),
  'generated_300.json': () => parseMigrationPlan(generatePlan(300), 'bench/gen-plan.mjs 300'),
};

/** Files written from a plan, beside the rendered plans. */
const FROM_PLANS = {
  'three_databases.pools.json': () => poolsImportFile(airflowPools(PLANS['three_databases.json']().concurrency)),
  // As `terraform output -json airflow_pools_import` prints it (its formatting aside).
  'external_host.pools_import.json': () => `${JSON.stringify(poolsImportValue(airflowPools(PLANS['three_databases.json']().concurrency)), null, 2)}\n`,
};

const check = process.argv.includes('--check');
const stale = [];
const files = { ...Object.fromEntries(Object.entries(PLANS).map(([file, load]) => [file, () => renderMigrationPlan(load())])), ...FROM_PLANS };
for (const [file, write] of Object.entries(files)) {
  const path = join(here, file);
  const rendered = write();
  if (!check) writeFileSync(path, rendered);
  else if (readText(path) !== rendered) stale.push(relative(root, path));
}
if (stale.length > 0) {
  console.error(`Not what lib/ writes today: ${stale.join(', ')}.\nRegenerate: npm run build && node dags/tests/plans/render.mjs`);
  process.exit(1);
}

function readText(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
