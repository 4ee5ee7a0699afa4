#!/usr/bin/env node
/**
 * The benchmark (issue 6): `npm run bench` (full) or `npm run bench:smoke` (CI size).
 *
 *   node bench/run.mjs [--smoke] [--reps N] [--out FILE]
 *
 * Everything is measured side by side in the same run: each round runs every case once, in an
 * order rotated from round to round, and the tables report medians (and min-max) over rounds and
 * ratios of medians. Peak memory is process.resourceUsage().maxRSS of every node process, recorded
 * by bench/maxrss.cjs (preloaded through NODE_OPTIONS), so /usr/bin/time is not needed.
 *
 * Full: 5 rounds of synth/app cases; plans of 3, 100 and 1,000 databases; DagBag parse of the
 * example, 3, 100 and 1,000 database plans (5 rounds); a rehearsal of the 100-database plan;
 * `npx jest` twice; CPU profiles and phase timings. Writes bench/RESULTS.md.
 * Smoke: 1 round, the default and 3-database plans only, no warm-up round and no informational
 * rows for the synth commands, no rehearsal, no jest, no profiles.
 * Writes bench/.work/RESULTS-smoke.md (the committed results are left alone) and prints the tables.
 *
 * Exits non-zero when a measured command fails (the numbers would be meaningless), never because
 * a target is missed: targets are reported, not enforced.
 *
 * Generated plans, the reference app, outputs and logs go to bench/.work/ (git-ignored).
 * The DAG part needs the first environment of dags/airflow-environments.txt (Apache Airflow 3.3):
 * when its python cannot import airflow, it is created by `bash dags/run-tests.sh --collect-only -q`
 * with the other environments skipped (DAGS_SKIP_<MARKER>=1; the test runner's own venv logic).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarizeProfile } from './cpuprofile.mjs';
import { describeShape, writePlan } from './gen-plan.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const WORK = join(BENCH, '.work');
const require = createRequire(import.meta.url);
// The app as cdktf runs it (cdktf.json's `app`, which `npm run synth` runs too): node with its flags, then dist/app.js (which
// runs dist/app-bundle.js, the esbuild bundle of main.ts that `npm run build` writes, from V8's code cache after the first run).
const APP_COMMAND = JSON.parse(readFileSync(join(ROOT, 'cdktf.json'), 'utf8')).app.split(' ');
const [APP_NODE, ...APP_ARGS] = APP_COMMAND;
const APP_NODE_FLAGS = APP_ARGS.slice(0, -1);
const APP_MAIN = APP_ARGS[APP_ARGS.length - 1];

// ---------------------------------------------------------------- options

const argv = process.argv.slice(2);
const SMOKE = argv.includes('--smoke');
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const REPS = Number(option('--reps', SMOKE ? 1 : 5));
// A run of the app takes well under a second and varies by a tenth between runs: three times the rounds.
const APP_REPS = SMOKE ? REPS : 3 * REPS;
const OUT = option('--out', SMOKE ? join(WORK, 'RESULTS-smoke.md') : join(BENCH, 'RESULTS.md'));
const SIZES = SMOKE ? [3] : [3, 100, 1000];
const REHEARSAL_SIZE = 100;
const JEST_RUNS = 2;

const TARGETS = {
  synthRatio: 1.5,
  appRatio: 2,
  appMemoryMb: 120,
  largePlanRatio: 1.5,
  dagExampleSeconds: 1,
  dagLargeSeconds: 10,
  jestSeconds: 30,
};

const started = Date.now();
const log = (message) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);

// ---------------------------------------------------------------- helpers

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmtS = (ms) => (ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`);
const fmtMb = (kb) => (kb == null ? 'n/a' : `${(kb / 1024).toFixed(0)} MB`);
const fmtX = (ratio) => `${ratio.toFixed(2)}x`;
const spread = (values, fmt) => (values.length > 1 ? `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}` : '–');

/** Environment without anything that would change what the app synthesizes or where. */
function cleanEnv(extra = {}) {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(MIGRATION_|TFC_|AZURERM_BACKEND_|CDKTF_|AIRFLOW__|NODE_OPTIONS$|BENCH_)/.test(name)) continue;
    env[name] = value;
  }
  // No update checks or telemetry over the network, in the CLI nor in terraform.
  return { ...env, CHECKPOINT_DISABLE: '1', DISABLE_VERSION_CHECK: '1', ...extra };
}

let runCounter = 0;
/**
 * Runs a command once; returns wall ms, peak RSS (kB) of the largest node process, exit status.
 * Throws on failure unless allowFailure.
 */
function measure(name, command, args, { cwd = ROOT, env = {}, allowFailure = false, timeoutMs = 30 * 60 * 1000, killSignal = 'SIGTERM' } = {}) {
  const rssFile = join(WORK, 'rss', `${++runCounter}.txt`);
  const preload = join(BENCH, 'maxrss.cjs');
  const fullEnv = cleanEnv({ ...env, BENCH_MAXRSS_FILE: rssFile, NODE_OPTIONS: `--require "${preload}"` });
  const t0 = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd, env: fullEnv, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: timeoutMs, killSignal });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const processes = existsSync(rssFile)
    ? readFileSync(rssFile, 'utf8').trim().split('\n').filter(Boolean).map((line) => {
        const [pid, kb, ...script] = line.split(' ');
        return { pid: Number(pid), kb: Number(kb), script: script.join(' ') };
      })
    : [];
  const status = result.status ?? (result.signal ? `signal ${result.signal}` : 'error');
  const out = { name, ms, status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', rssKb: processes.length ? Math.max(...processes.map((p) => p.kb)) : null, processes };
  writeFileSync(join(WORK, 'logs', `${runCounter}-${name.replace(/[^\w.-]+/g, '_')}.log`), `$ ${command} ${args.join(' ')}\n# cwd ${cwd}\n# status ${status}, ${ms.toFixed(0)} ms\n--- stdout\n${out.stdout}\n--- stderr\n${out.stderr}\n`);
  if (status !== 0 && !allowFailure) {
    throw new Error(`${name}: \`${command} ${args.join(' ')}\` failed (${status}):\n${(result.stderr || result.error?.message || '').slice(-3000)}`);
  }
  return out;
}

function capture(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', cwd: ROOT, ...options });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

// ---------------------------------------------------------------- preparation

function prepare() {
  rmSync(join(WORK, 'rss'), { recursive: true, force: true });
  rmSync(join(WORK, 'logs'), { recursive: true, force: true });
  rmSync(join(WORK, 'out'), { recursive: true, force: true });
  for (const dir of ['rss', 'logs', 'out', 'plans', 'profiles']) mkdirSync(join(WORK, dir), { recursive: true });

  log('npm run build (untimed; the library is needed to validate and render the plans)');
  measure('build', 'npm', ['run', '--silent', 'build']);
  const planLib = require(join(ROOT, 'dist', 'lib', 'plan'));

  const plans = [{ id: 'default', label: 'default plan (examples/three-databases.yaml)', yaml: join(ROOT, 'examples', 'three-databases.yaml') }];
  for (const size of SIZES) plans.push({ id: `gen-${size}`, label: `generated, ${size.toLocaleString('en')} databases`, yaml: join(WORK, 'plans', `plan-${size}.yaml`), size });
  for (const plan of plans) {
    if (plan.size) writePlan(plan.size, plan.yaml);
    const loaded = planLib.loadMigrationPlan(plan.yaml); // throws with every problem if the generator is wrong
    plan.json = join(WORK, 'plans', `${plan.id}.json`);
    writeFileSync(plan.json, planLib.renderMigrationPlan(loaded));
    plan.shape = describeShape(loaded);
    plan.databases = loaded.databases.length;
    plan.bytes = statSync(plan.yaml).size;
    plan.waves = planLib.migrationWaves(loaded).length;
  }
  log(`plans: ${plans.map((p) => `${p.id} (${p.databases} databases)`).join(', ')}`);

  const refDir = join(WORK, 'ref');
  rmSync(refDir, { recursive: true, force: true });
  cpSync(join(BENCH, 'reference'), refDir, { recursive: true });
  return { plans, refDir };
}

/** dags/airflow-environments.txt: the DAG's local Airflow environments (venv, pytest marker), the bench's first. */
function airflowEnvironments() {
  const rows = readFileSync(join(ROOT, 'dags', 'airflow-environments.txt'), 'utf8').split('\n');
  return rows
    .filter((line) => line.trim() && !line.trimStart().startsWith('#'))
    .map((line) => line.trim().split(/\s+/))
    .map((columns) => ({ venv: columns[3], marker: columns[6] }));
}

function ensureVenv() {
  const [first, ...others] = airflowEnvironments();
  const python = join(ROOT, first.venv, 'bin', 'python');
  const works = () => existsSync(python) && spawnSync(python, ['-c', 'import airflow'], { cwd: ROOT, stdio: 'ignore', env: cleanEnv() }).status === 0;
  if (works()) return { python, created: false };
  const skips = Object.fromEntries(others.map(({ marker }) => [`DAGS_SKIP_${marker.toUpperCase()}`, '1']));
  log(`${first.venv} missing or without airflow: creating it with \`${Object.keys(skips).map((name) => `${name}=1`).join(' ')} bash dags/run-tests.sh --collect-only -q\``);
  const result = spawnSync('bash', ['dags/run-tests.sh', '--collect-only', '-q'], {
    cwd: ROOT,
    env: cleanEnv(skips),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (!works()) throw new Error(`could not create ${first.venv} (run-tests.sh exited ${result.status})`);
  return { python, created: true };
}

// ---------------------------------------------------------------- cases

function synthCases(refDir) {
  const out = (tag) => join(WORK, 'out', `${tag}-${runCounter + 1}`);
  return [
    {
      id: 'npm-synth',
      label: '`npm run synth` (default plan: incremental tsc build, app bundle, app)',
      run: () => measure('npm-synth', 'npm', ['run', 'synth'], { env: { CDKTF_OUTDIR: out('npm-synth') } }),
    },
    {
      id: 'ref-cli',
      label: 'reference: `npx cdktf synth` of the one-resource app',
      run: () => measure('ref-cli', 'npx', ['--no-install', 'cdktf', 'synth', '--output', out('ref-cli')], { cwd: refDir }),
    },
    {
      id: 'project-cli',
      info: true,
      label: '`npx cdktf synth` of this project (no build; info)',
      run: () => measure('project-cli', 'npx', ['--no-install', 'cdktf', 'synth', '--output', out('project-cli')]),
    },
  ];
}

function appCases(refDir, allPlans) {
  let plans = allPlans;
  const outdir = (tag) => {
    const dir = join(WORK, 'out', `${tag}-${runCounter + 1}`);
    return dir;
  };
  const cases = [
    { id: 'ref-app', label: 'reference app (`node ref.js`)', run: () => measure('ref-app', 'node', ['ref.js'], { cwd: refDir, env: { CDKTF_OUTDIR: outdir('ref-app') } }) },
    {
      // The same app as tsc compiled it, one module at a time: what the bundle saves.
      id: 'app-unbundled',
      info: true,
      label: `app unbundled (\`${[APP_NODE, ...APP_NODE_FLAGS, 'dist/main.js'].join(' ')}\`, tsc's output, default plan; info)`,
      run: () => measure('app-unbundled', APP_NODE, [...APP_NODE_FLAGS, 'dist/main.js'], { env: { CDKTF_OUTDIR: outdir('app-unbundled') } }),
    },
  ];
  const large = plans.find((p) => p.size === 1000);
  if (large) {
    // The same 1,000-database plan as JSON (the rendered file is valid input): the format the
    // README recommends for very large plans, on which the 1,000-database targets are judged.
    const asJson = { ...large, id: 'gen-1000-json', label: 'generated, 1,000 databases, as JSON (the recommended format at this size)', yaml: large.json };
    plans = [...plans, asJson];
  }
  for (const plan of plans) {
    cases.push({
      id: `app-${plan.id}`,
      label: `app, ${plan.label}`,
      plan,
      run: () => {
        const dir = outdir(`app-${plan.id}`);
        const result = measure(`app-${plan.id}`, APP_NODE, APP_ARGS, { env: { MIGRATION_PLAN: plan.yaml, CDKTF_OUTDIR: dir } });
        const file = readdirSync(join(dir, 'stacks')).map((stack) => join(dir, 'stacks', stack, 'cdk.tf.json'))[0];
        result.outputBytes = statSync(file).size;
        return result;
      },
    });
  }
  return cases;
}

/** Runs every case once per round (rotating the order), after one untimed warm-up round. */
function rounds(cases, reps, title, warmUp = true) {
  const results = Object.fromEntries(cases.map((c) => [c.id, []]));
  if (warmUp) {
    log(`${title}: warm-up round`);
    for (const c of cases) c.run();
  }
  for (let r = 0; r < reps; r++) {
    const order = cases.map((_, i) => cases[(i + r) % cases.length]);
    for (const c of order) results[c.id].push(c.run());
    log(`${title}: round ${r + 1}/${reps} done`);
    rmSync(join(WORK, 'out'), { recursive: true, force: true });
    mkdirSync(join(WORK, 'out'));
  }
  return results;
}

function stats(runs) {
  const ms = runs.map((r) => r.ms);
  const rss = runs.map((r) => r.rssKb).filter((v) => v != null);
  return { ms, medianMs: median(ms), rss, medianRssKb: rss.length ? median(rss) : null, runs };
}

// ---------------------------------------------------------------- DAG

function dagParse(python, plans, reps, profileId) {
  const args = [join(BENCH, 'dag_timing.py'), 'parse', '--dag-file', join(ROOT, 'dags', 'migration_orchestration.py'), '--reps', String(reps)];
  for (const plan of plans) args.push('--plan', `${plan.id}=${plan.json}`);
  if (profileId) args.push('--profile', profileId);
  log(`DAG: DagBag parse, ${reps} round(s) of ${plans.map((p) => p.id).join(', ')}${profileId ? `, cProfile of ${profileId}` : ''}`);
  const result = measure('dag-parse', python, args, { env: {} });
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

/**
 * Information, not a target: one that fails or outlasts its 30 minutes (on a loaded machine: about 20 of CPU
 * when idle) is reported as such and makes the bench exit non-zero, after every other figure is written.
 * SIGKILL: Airflow's SIGTERM handler lets dag.test() carry on for many more minutes.
 */
function dagRehearsal(python, plan) {
  log(`DAG: rehearsal (MIGRATION_DRY_RUN=1, dag.test()) of ${plan.id}; takes minutes`);
  const args = [join(BENCH, 'dag_timing.py'), 'rehearsal', '--dag-dir', join(ROOT, 'dags'), '--plan', plan.json];
  const result = measure('dag-rehearsal', python, args, { env: {}, allowFailure: true, killSignal: 'SIGKILL' });
  if (result.status !== 0) return { failed: `${result.status} after ${fmtS(result.ms)}`, wallMs: result.ms };
  return { ...JSON.parse(result.stdout.trim().split('\n').pop()), wallMs: result.ms };
}

// ---------------------------------------------------------------- jest

function jestRuns(runs) {
  const results = [];
  for (let i = 0; i < runs; i++) {
    log(`jest: run ${i + 1}/${runs}`);
    const json = join(WORK, `jest-${i + 1}.json`);
    const result = measure(`jest-${i + 1}`, 'npx', ['--no-install', 'jest', '--ci', '--silent', '--json', `--outputFile=${json}`], { allowFailure: true });
    const report = existsSync(json) ? JSON.parse(readFileSync(json, 'utf8')) : undefined;
    results.push({ ...result, report });
  }
  return results;
}

// ---------------------------------------------------------------- profiles

const PHASE_FUNCTIONS = [
  'loadMigrationPlan', 'parseYamlSource', 'validatePlan', 'renderMigrationPlan', 'loadDagBundle',
  'DatabaseMigrationStack', 'synth', 'runAllValidations', 'toTerraform', 'writeFileSync', 'require',
];

function profiles(plans, refDir) {
  const out = {};
  {
    const dir = join(WORK, 'profiles', 'reference');
    rmSync(dir, { recursive: true, force: true });
    measure('cpu-prof-reference', 'node', ['--cpu-prof', `--cpu-prof-dir=${dir}`, 'ref.js'], { cwd: refDir, env: { CDKTF_OUTDIR: join(WORK, 'out', 'prof-reference') } });
    const file = join(dir, readdirSync(dir).find((f) => f.endsWith('.cpuprofile')));
    out.reference = { file: relative(ROOT, file), ...summarizeProfile(file, PHASE_FUNCTIONS) };
  }
  for (const plan of plans) {
    const dir = join(WORK, 'profiles', plan.id);
    rmSync(dir, { recursive: true, force: true });
    measure(`cpu-prof-${plan.id}`, APP_NODE, [...APP_NODE_FLAGS, '--cpu-prof', `--cpu-prof-dir=${dir}`, APP_MAIN], { env: { MIGRATION_PLAN: plan.yaml, CDKTF_OUTDIR: join(WORK, 'out', `prof-${plan.id}`) } });
    const file = join(dir, readdirSync(dir).find((f) => f.endsWith('.cpuprofile')));
    out[plan.id] = { file: relative(ROOT, file), ...summarizeProfile(file, PHASE_FUNCTIONS) };
  }
  return out;
}

function phaseTimings(plans, reps) {
  const out = {};
  for (const plan of plans) {
    const runs = [];
    for (let i = 0; i < reps; i++) {
      const result = measure(`phases-${plan.id}`, 'node', [join(BENCH, 'phases.cjs')], { env: { MIGRATION_PLAN: plan.yaml, CDKTF_OUTDIR: join(WORK, 'out', `phases-${plan.id}-${i}`) } });
      runs.push(JSON.parse(result.stdout.trim().split('\n').pop()));
    }
    out[plan.id] = runs[0].phases.map(([name], i) => [name, median(runs.map((r) => r.phases[i][1]))]);
  }
  return out;
}

// ---------------------------------------------------------------- report

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

function machineInfo(python) {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    nproc: capture('nproc') ?? String(os.availableParallelism?.() ?? cpus.length),
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    npm: capture('npm', ['--version']),
    python: python ? capture(python, ['--version']) : undefined,
    commit: capture('git', ['rev-parse', '--short', 'HEAD']),
    dirty: (capture('git', ['status', '--porcelain', '--untracked-files=no']) ?? '').length > 0,
    loadBefore: os.loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}

function report(ctx) {
  const { info, synth, apps, plans, dag, rehearsal, jest, prof, phases, venv } = ctx;
  const lines = [];
  const push = (...text) => lines.push(...text);
  const status = (ok) => (ok ? '**met**' : '**not met**');

  const s = Object.fromEntries(Object.entries(synth).map(([id, runs]) => [id, stats(runs)]));
  const a = Object.fromEntries(Object.entries(apps).map(([id, runs]) => [id, stats(runs)]));
  const ref = a['ref-app'];
  const def = a['app-default'];
  const large = a['app-gen-1000'];
  // Very large plans are recommended as JSON (README): the 1,000-database targets are judged on the
  // JSON plan, with the same plan as YAML beside it.
  const largeJson = a['app-gen-1000-json'];
  const parse = (id) => dag.parses[id] && { ms: dag.parses[id].map((p) => p.seconds * 1000), warmMs: dag.parses[id].map((p) => p.warm_seconds * 1000), tasks: dag.parses[id][0].tasks, rssMb: median(dag.parses[id].map((p) => p.max_rss_mb)) };

  push(`# Benchmark results${SMOKE ? ' (smoke: smallest size)' : ''}`, '');
  push(`Generated by \`${SMOKE ? 'npm run bench:smoke' : 'npm run bench'}\` (bench/run.mjs) on ${info.date}; ${REPS} timed round(s) (${APP_REPS} for the app alone) after an untimed warm-up round${SMOKE ? ' (none for the synth commands in smoke mode)' : ''}, cases interleaved in an order rotated every round; medians, with min–max. Ratios are ratios of medians measured in the same run. Machine load is shown below: on a busy machine absolute times grow, ratios much less.`, '');
  push(table(['Machine', ''], [
    ['CPUs (nproc)', `${info.nproc} × ${info.cpu}`],
    ['Memory', info.memory],
    ['OS', info.os],
    ['Node / npm', `${info.node} / ${info.npm}`],
    ['Python / Airflow', `${info.python ?? 'n/a'} / ${dag?.airflow ?? 'n/a'}${venv?.created ? ' (its venv created by this run)' : ''}`],
    ['Commit', `${info.commit}${info.dirty ? ' + uncommitted changes in the tree' : ''}`],
    ['Load average (1/5/15 min) before / after', `${info.loadBefore} / ${info.loadAfter}`],
    ['Benchmark wall time', `${((Date.now() - started) / 1000).toFixed(0)} s`],
  ]), '');

  // Targets
  const rows = [];
  const synthRatio = s['npm-synth'].medianMs / s['ref-cli'].medianMs;
  rows.push(['`npm run synth` ≤ 1.5× reference `cdktf synth`', `${fmtS(s['npm-synth'].medianMs)} vs ${fmtS(s['ref-cli'].medianMs)}`, fmtX(synthRatio), status(synthRatio <= TARGETS.synthRatio)]);
  const appRatio = def.medianMs / ref.medianMs;
  rows.push(['app ≤ 2× reference app (wall time)', `${fmtS(def.medianMs)} vs ${fmtS(ref.medianMs)}`, fmtX(appRatio), status(appRatio <= TARGETS.appRatio)]);
  const memoryMet = (result) => (result.medianRssKb / 1024 <= TARGETS.appMemoryMb ? 'met' : 'not met');
  rows.push([
    `app ≤ 120 MB peak RSS (default plan${large ? '; 1,000 databases in brackets' : ''})`,
    `${fmtMb(def.medianRssKb)}${large ? ` (1,000 databases: ${fmtMb(largeJson.medianRssKb)} as JSON, ${fmtMb(large.medianRssKb)} as YAML)` : ''} vs reference ${fmtMb(ref.medianRssKb)}`,
    fmtX(def.medianRssKb / ref.medianRssKb),
    `${status(def.medianRssKb / 1024 <= TARGETS.appMemoryMb)}${large ? ` (1,000: ${memoryMet(largeJson)} as JSON, ${memoryMet(large)} as YAML)` : ''}`,
  ]);
  if (large) {
    const r = largeJson.medianMs / def.medianMs;
    const ryaml = large.medianMs / def.medianMs;
    rows.push([
      '1,000-database plan ≤ 1.5× default plan (app time; JSON, as recommended for very large plans)',
      `JSON ${fmtS(largeJson.medianMs)}, YAML ${fmtS(large.medianMs)} vs ${fmtS(def.medianMs)}`,
      `JSON ${fmtX(r)}; YAML ${fmtX(ryaml)}`,
      `${status(r <= TARGETS.largePlanRatio)} (YAML: ${ryaml <= TARGETS.largePlanRatio ? 'met' : 'not met'})`,
    ]);
  } else rows.push(['1,000-database plan ≤ 1.5× default plan (app time)', 'not run (smoke)', '', 'skipped']);
  const pe = parse('default');
  rows.push(['DAG file parses in < 1 s (example plan)', fmtS(median(pe.ms)), '', status(median(pe.ms) < TARGETS.dagExampleSeconds * 1000)]);
  const pl = parse('gen-1000');
  rows.push(['DAG file parses in < 10 s (1,000 databases)', pl ? fmtS(median(pl.ms)) : 'not run (smoke)', '', pl ? status(median(pl.ms) < TARGETS.dagLargeSeconds * 1000) : 'skipped']);
  if (jest?.length) {
    const jm = median(jest.map((j) => j.ms));
    const rep = jest[0].report;
    const counts = rep ? ` (${rep.numPassedTests}/${rep.numTotalTests} tests passed${rep.success ? '' : ', suite failing'})` : '';
    rows.push(['jest suite < 30 s', `${fmtS(jm)} median of ${jest.length}${counts}`, '', status(jm < TARGETS.jestSeconds * 1000)]);
  } else rows.push(['jest suite < 30 s', 'not run (smoke)', '', 'skipped']);
  push('## Targets', '', table(['Target', 'Measured (median)', 'Ratio', 'Status'], rows), '');
  if (REPS < 3) push(`With ${REPS} round(s) these are single samples on a noisy machine: a check that everything runs, not a verdict on the targets (that is \`npm run bench\`).`, '');

  // Synth
  push('## `npm run synth` against the reference `cdktf synth`', '');
  push('Peak RSS is that of the largest node process of the command (tsc, the cdktf CLI or the app).', '');
  push(table(['Command', 'Median', 'Min–max', 'Peak RSS', '× reference'], Object.entries(s).map(([id, v]) => [
    ctx.synthLabels[id], fmtS(v.medianMs), spread(v.ms, fmtS), fmtMb(v.medianRssKb), fmtX(v.medianMs / s['ref-cli'].medianMs),
  ])), '');

  // Apps
  push(`## The app alone (\`${APP_COMMAND.join(' ')}\`) against the reference app (\`node ref.js\`)`, '');
  push(table(['Case', 'Databases', 'Median', 'Min–max', '× reference app', '× default plan', 'Peak RSS', 'cdk.tf.json'], Object.entries(a).map(([id, v]) => [
    ctx.appLabels[id], ctx.appPlans[id]?.databases ?? '–', fmtS(v.medianMs), spread(v.ms, fmtS), fmtX(v.medianMs / ref.medianMs), id === 'ref-app' ? '–' : fmtX(v.medianMs / def.medianMs), fmtMb(v.medianRssKb), v.runs[0].outputBytes ? `${(v.runs[0].outputBytes / 1024).toFixed(0)} KiB` : '–',
  ])), '');
  if (large && largeJson) {
    push(
      `**Write very large plans as JSON.** The same 1,000-database plan takes ${fmtS(largeJson.medianMs)} and ${fmtMb(largeJson.medianRssKb)} as JSON ` +
        `(${fmtX(largeJson.medianMs / def.medianMs)} the default plan) against ${fmtS(large.medianMs)} and ${fmtMb(large.medianRssKb)} as YAML ` +
        `(${fmtX(large.medianMs / def.medianMs)}): YAML is read by \`yaml\`, JSON by \`JSON.parse\`, with the same checks and messages (file, line, column, field path).`,
      '',
    );
  }

  push('### Generated plans', '');
  push(table(['Plan', 'Databases', 'Dependencies', 'Waves', 'Longest chain', 'Max fan-in', 'Max fan-out', 'SqlMi / SqlDb / SqlVm', 'Online', 'YAML size'], plans.map((p) => [
    p.id, p.databases, p.shape.dependencies, p.waves, p.shape.longestPath, p.shape.maxFanIn, p.shape.maxFanOut, `${p.shape.kinds.SqlMi ?? 0} / ${p.shape.kinds.SqlDb ?? 0} / ${p.shape.kinds.SqlVm ?? 0}`, p.shape.online, `${(p.bytes / 1024).toFixed(0)} KiB`,
  ])), '');

  // DAG
  push('## The DAG', '');
  push(`DagBag parse of \`dags/migration_orchestration.py\` with MIGRATION_PLAN_PATH at the rendered plan, each parse in a forked child of a process that already imported Airflow and its DAG processor (as the scheduler does; that one-time import took ${fmtS(dag.airflow_import_seconds * 1000)} here). "Re-parse" is a second DagBag in the same child, with \`migration_orchestration_lib\` already imported.`, '');
  push(table(['Plan', 'Databases', 'Tasks', 'Parse (median)', 'Min–max', 'Re-parse', 'RSS of the parse process'], plans.filter((p) => dag.parses[p.id]).map((p) => {
    const v = parse(p.id);
    return [p.id, p.databases, v.tasks, fmtS(median(v.ms)), spread(v.ms, fmtS), fmtS(median(v.warmMs)), `${v.rssMb.toFixed(0)} MB`];
  })), '');
  if (rehearsal?.failed) {
    push(`Rehearsal of the ${REHEARSAL_SIZE}-database plan (MIGRATION_DRY_RUN=1, \`dag.test()\`): **did not finish** (${rehearsal.failed}; its log: \`bench/.work/logs/*-dag-rehearsal.log\`).`, '');
  } else if (rehearsal) {
    const states = Object.entries(rehearsal.task_states).map(([k, v]) => `${v} ${k}`).join(', ');
    push(`Rehearsal of the ${REHEARSAL_SIZE}-database plan (MIGRATION_DRY_RUN=1, \`dag.test()\`, SQLite metadata DB): **${fmtS(rehearsal.test_seconds * 1000)}** for \`dag.test()\` (run state **${rehearsal.state}**; ${rehearsal.tasks} tasks: ${states}), of which ${fmtS(rehearsal.test_cpu_seconds * 1000)} CPU and ${fmtS(rehearsal.slept_seconds * 1000)} in ${rehearsal.slept_calls} one-second sleeps of \`dag.test()\` waiting for rescheduled sensors; metadata DB creation ${fmtS(rehearsal.db_init_seconds * 1000)}, DAG build ${fmtS(rehearsal.build_seconds * 1000)}, whole process ${fmtS(rehearsal.wallMs)}, peak RSS ${rehearsal.max_rss_mb.toFixed(0)} MB.`, '');
    if (rehearsal.state !== 'success') push('The rehearsal run did not succeed: see "Where the time goes" for why; its time is the time to that outcome, not of a full migration.', '');
  } else push('Rehearsal: not run (smoke).', '');

  // Jest
  if (jest?.length) {
    push('## jest', '');
    push(table(['Run', 'Wall time', 'Peak RSS (largest process)', 'Tests'], jest.map((j, i) => [i + 1, fmtS(j.ms), fmtMb(j.rssKb), j.report ? `${j.report.numPassedTests} passed, ${j.report.numFailedTests} failed` : 'no report'])), '');
    const rep = jest[jest.length - 1].report;
    if (rep) {
      const files = rep.testResults.map((t) => [(t.endTime - t.startTime), relative(ROOT, t.name), t.assertionResults.length]).sort((x, y) => y[0] - x[0]);
      const sum = files.reduce((total, f) => total + f[0], 0);
      push(`Slowest test files (last run; their times add up to ${fmtS(sum)}: more than the wall time when jest runs files in parallel workers):`, '');
      push(table(['File', 'Time', 'Tests'], files.slice(0, 8).map(([ms, name, n]) => [name, fmtS(ms), n])), '');
      const tests = rep.testResults.flatMap((t) => t.assertionResults.map((x) => [x.duration ?? 0, relative(ROOT, t.name), x.fullName ?? x.title])).sort((x, y) => y[0] - x[0]);
      push('Slowest tests:', '');
      push(table(['Test', 'File', 'Time'], tests.slice(0, 8).map(([ms, file, title]) => [title.replace(/\|/g, '\\|'), file, fmtS(ms)])), '');
    }
  }

  // Where the time goes
  push('## Where the time goes', '');
  if (phases) {
    push('### App phases (bench/phases.cjs: the steps of main.ts timed one by one, on the unbundled modules; medians)', '');
    const ids = Object.keys(phases);
    push(table(['Phase', ...ids], phases[ids[0]].map(([name], i) => [name, ...ids.map((id) => `${phases[id][i][1].toFixed(0)} ms`)])), '');
  }
  if (prof) {
    const ids = Object.keys(prof);
    push('### CPU profiles (`node --cpu-prof`): the reference app against the app', '');
    push('Self time by package, and inclusive time of selected functions (`require` = all module loading below the entry script; `runAllValidations` includes cdktf running `terraform version`):', '');
    const categories = [...new Set(ids.flatMap((id) => prof[id].byCategory.slice(0, 8).map(([n]) => n)))];
    const cell = (list, name) => {
      const found = list.find(([n]) => n === name);
      return found ? `${found[1].toFixed(0)} ms` : '–';
    };
    push(table(['', ...ids.map((id) => (id === 'reference' ? 'reference app' : `app, ${id} plan`))], [
      ['**total sampled**', ...ids.map((id) => `**${prof[id].totalMs.toFixed(0)} ms**`)],
      ...categories.map((name) => [name, ...ids.map((id) => cell(prof[id].byCategory, name))]),
      ...PHASE_FUNCTIONS.map((name) => [`\`${name}\` (inclusive)`, ...ids.map((id) => cell(prof[id].inclusive.filter(([, ms]) => ms > 0), name))]),
    ]), '');
    for (const [id, p] of Object.entries(prof)) {
      if (id === 'reference') continue;
      push(`### CPU profile of the app, ${id} plan (\`node --cpu-prof ${APP_MAIN}\`, ${p.totalMs.toFixed(0)} ms sampled)`, '');
      push('Top functions by self time:', '');
      push(table(['Function', 'Self time'], p.byFunction.slice(0, 10).map(([n, ms]) => [`\`${n}\``, `${ms.toFixed(0)} ms`])), '');
    }
  }
  if (dag.profile) {
    push(`### cProfile of the DAG parse, ${dag.profile.plan} plan (${fmtS(dag.profile.seconds * 1000)} under the profiler)`, '');
    push('```', dag.profile.profile.cumulative.trim().split('\n').filter((l) => l.trim()).slice(0, 32).join('\n'), '```', '');
    push('```', dag.profile.profile.tottime.trim().split('\n').filter((l) => l.trim()).slice(3, 20).join('\n'), '```', '');
  }
  const analysis = join(BENCH, 'analysis.md');
  if (SMOKE) push('Profiles and the analysis are part of the full run only (`npm run bench`, bench/RESULTS.md).', '');
  else if (existsSync(analysis)) push(readFileSync(analysis, 'utf8').trim(), '');
  return lines.join('\n');
}

// ---------------------------------------------------------------- main

function main() {
  mkdirSync(WORK, { recursive: true });
  log(`${SMOKE ? 'smoke' : 'full'} benchmark, ${REPS} round(s); results to ${relative(ROOT, OUT)}`);
  const venv = ensureVenv();
  const info = machineInfo(venv.python);
  const { plans, refDir } = prepare();

  // Smoke: only the two commands the target compares, and no warm-up round (the build above
  // already warmed tsc and the disk cache); the informational rows cost 10-20 s more.
  const synthList = synthCases(refDir).filter((c) => !(SMOKE && c.info));
  const synth = rounds(synthList, REPS, 'synth', !SMOKE);
  const appList = appCases(refDir, plans).filter((c) => !(SMOKE && c.info));
  const apps = rounds(appList, APP_REPS, 'app');

  const dagPlans = plans; // default + generated sizes
  const dag = dagParse(venv.python, dagPlans, REPS, SMOKE ? undefined : 'gen-1000');
  const rehearsal = SMOKE ? undefined : dagRehearsal(venv.python, plans.find((p) => p.size === REHEARSAL_SIZE));
  const jest = SMOKE ? undefined : jestRuns(JEST_RUNS);
  let prof;
  let phases;
  if (!SMOKE) {
    log('profiles and phase timings of the app');
    const profiled = plans.filter((p) => p.id === 'default' || p.size === 1000);
    prof = profiles(profiled, refDir);
    phases = phaseTimings(profiled, 3);
  }
  info.loadAfter = os.loadavg().map((l) => l.toFixed(2)).join(' ');

  const markdown = report({
    info, synth, apps, plans, dag, rehearsal, jest, prof, phases, venv,
    synthLabels: Object.fromEntries(synthList.map((c) => [c.id, c.label])),
    appLabels: Object.fromEntries(appList.map((c) => [c.id, c.label])),
    appPlans: Object.fromEntries(appList.filter((c) => c.plan).map((c) => [c.id, c.plan])),
  });
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${markdown}\n`);
  if (SMOKE) process.stdout.write(`${markdown}\n`);
  log(`wrote ${relative(ROOT, OUT)} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (rehearsal?.failed) {
    log(`FAILED: the DAG rehearsal did not finish (${rehearsal.failed}); every other figure is in ${relative(ROOT, OUT)}`);
    process.exitCode = 1;
  }
}

try {
  main();
} catch (error) {
  log(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
  log(`logs of every command: ${relative(ROOT, join(WORK, 'logs'))}/`);
  process.exit(1);
}
