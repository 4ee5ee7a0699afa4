/**
 * One-off measurements behind the fix proposals for the synth app (bench/analysis.md).
 * Run after `npm run bench` (needs dist/ and bench/.work/plans/):
 *
 *   node bench/experiments/app_costs.cjs
 *
 * 1. What cdktf's synth-time validation costs: the same app with App({ skipValidation }) on and
 *    off, alternating, in separate processes. The only validation that does real work here is
 *    ValidateTerraformVersion, added by the terraform_data resource (cdktf DataResource) of
 *    ManagedAirflowEnvironment: it runs `terraform version` in a child process.
 * 2. Import cost of zod and yaml in a fresh process.
 * 3. The plan pipeline on the 1,000-database plan, in-process, warm (median of 7):
 *    YAML parsers, validation, rendering (which validates again), loading YAML vs JSON.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { readFileSync, writeFileSync, mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { performance } = require('node:perf_hooks');

const root = join(__dirname, '..', '..');
const plans = join(root, 'bench', '.work', 'plans');
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const scratch = mkdtempSync(join(tmpdir(), 'bench-exp-'));

// 1. skipValidation, alternating.
const app = join(scratch, 'app.cjs');
writeFileSync(
  app,
  `const { App } = require(${JSON.stringify(require.resolve('cdktf', { paths: [root] }))});
const lib = require(${JSON.stringify(join(root, 'dist', 'lib'))});
const plan = lib.loadMigrationPlan(${JSON.stringify(join(root, 'examples', 'three-databases.yaml'))});
const app = new App({ skipValidation: process.env.SKIP === '1', outdir: process.env.OUT });
new lib.DatabaseMigrationStack(app, plan.name, { plan, stateBackend: { type: 'local' } });
app.synth();
`,
);
const wall = { validate: [], skip: [] };
for (let i = 0; i < 12; i++) {
  for (const mode of i % 2 ? ['validate', 'skip'] : ['skip', 'validate']) {
    const t0 = process.hrtime.bigint();
    const result = spawnSync(process.execPath, [app], { env: { ...process.env, SKIP: mode === 'skip' ? '1' : '0', OUT: join(scratch, `out-${i}-${mode}`) } });
    if (result.status !== 0) throw new Error(String(result.stderr));
    wall[mode].push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}
console.log(`app with cdktf validations: ${median(wall.validate).toFixed(0)} ms, with skipValidation: ${median(wall.skip).toFixed(0)} ms (medians of 12, alternating)`);

// 2. Import costs, each in a fresh process.
for (const id of ['zod', 'yaml', 'cdktf']) {
  const times = [];
  for (let i = 0; i < 5; i++) {
    const r = spawnSync(process.execPath, ['-e', `const t=performance.now();require(${JSON.stringify(require.resolve(id, { paths: [root] }))});const n=Object.keys(require.cache).length;console.log(performance.now()-t, n)`]);
    const [ms, files] = String(r.stdout).trim().split(' ').map(Number);
    times.push(ms);
    if (i === 4) console.log(`require('${id}'): ${median(times).toFixed(0)} ms, ${files - 1} files`);
  }
}

// 3. Plan pipeline, 1,000 databases.
const YAML = require(require.resolve('yaml', { paths: [root] }));
const { parseYamlSource } = require(join(root, 'dist', 'lib', 'plan', 'yaml-source'));
const { validatePlan } = require(join(root, 'dist', 'lib', 'plan', 'parse'));
const { loadMigrationPlan, renderMigrationPlan } = require(join(root, 'dist', 'lib', 'plan'));
const yamlFile = join(plans, 'plan-1000.yaml');
const jsonFile = join(plans, 'gen-1000.json');
const text = readFileSync(yamlFile, 'utf8');
const time = (name, fn) => {
  const first = performance.now();
  fn();
  const cold = performance.now() - first;
  const xs = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    fn();
    xs.push(performance.now() - t0);
  }
  console.log(`${name.padEnd(62)} first ${cold.toFixed(0).padStart(4)} ms, then median ${median(xs).toFixed(0).padStart(4)} ms`);
};
console.log(`1,000-database plan: ${(text.length / 1024).toFixed(0)} KiB of YAML`);
time('yaml parseDocument + toJS, as parseYamlSource does', () => parseYamlSource(text));
time('yaml.parse (no Document kept)', () => YAML.parse(text));
time('yaml Parser alone (lexer + CST, no Document)', () => [...new YAML.Parser().parse(text)].length);
try {
  const jsYaml = require(require.resolve('js-yaml', { paths: [root] }));
  time(`js-yaml ${require(require.resolve('js-yaml/package.json', { paths: [root] })).version}.load (a dev dependency here; comparison only)`, () => jsYaml.load(text));
} catch {
  console.log('js-yaml not installed: skipped');
}
const value = YAML.parse(text);
time('validatePlan (zod schema + semantic checks + freeze)', () => validatePlan(value, 'plan'));
const plan = validatePlan(value, 'plan');
time('renderMigrationPlan (validates again, then orders keys)', () => renderMigrationPlan(plan));
time('loadMigrationPlan(YAML file)', () => loadMigrationPlan(yamlFile));
time('loadMigrationPlan(same plan as JSON file)', () => loadMigrationPlan(jsonFile));
