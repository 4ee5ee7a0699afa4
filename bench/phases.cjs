/**
 * The steps of main.ts, timed one by one on tsc's unbundled output (dist/main.js's modules; the
 * app cdktf runs is their bundle, dist/app-bundle.js run by dist/app.js, which loads faster but cannot be cut into phases): prints one JSON line of
 * { phases: [[name, ms]...], totalMs, maxRssKb }. Same plan (MIGRATION_PLAN) and output
 * directory (CDKTF_OUTDIR) handling as the app; run with plain `node bench/phases.cjs`.
 * "startup" is the time from process start to the first line of this script.
 */
'use strict';
const { performance } = require('node:perf_hooks');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const phases = [];
let last = performance.now();
phases.push(['node startup', last]);
function mark(name) {
  const now = performance.now();
  phases.push([name, now - last]);
  last = now;
}

const { App } = require('cdktf');
mark("require('cdktf')");
require(path.join(root, 'dist/lib/private/token-creation-stacks')).skipTokenCreationStacks();
const planLib = require(path.join(root, 'dist/lib/plan'));
mark('require dist/lib/plan (yaml, zod, schema)');
const lib = require(path.join(root, 'dist/lib'));
mark('require rest of dist/lib (constructs, provider classes)');
const plan = planLib.loadMigrationPlan(process.env.MIGRATION_PLAN || path.join(root, 'examples/three-databases.yaml'));
mark('loadMigrationPlan (read, parse, validate)');
const stateBackend = lib.stateBackendFromEnvironment(process.env);
const app = new App();
new lib.DatabaseMigrationStack(app, plan.name, { plan, stateBackend });
mark('new DatabaseMigrationStack (incl. render plan, DAG bundle)');
app.synth();
mark('app.synth() (resolve tokens, write cdk.tf.json)');
let warnings = 0;
for (const construct of app.node.findAll()) {
  for (const entry of construct.node.metadata) if (entry.type === '@cdktf/warn') warnings++;
}
mark('collect warnings');
process.stdout.write(
  `${JSON.stringify({ phases, totalMs: performance.now(), maxRssKb: process.resourceUsage().maxRSS, warnings })}\n`,
);
