#!/usr/bin/env node
/**
 * A new user's project, made as docs/installing-from-your-registry.md says, from that page inside
 * the installed package (what a registry user reads):
 *   node readme-project.js <package name> <project folder>
 * The folder must exist and reach the installed packages (`node_modules`). The script writes the
 * section's cdktf.json, tsconfig.json, .gitignore and main.ts verbatim, runs every command of its
 * setup block but those that install packages (`npm init`, `npm install`, the `.npmrc` line: the
 * caller installed the tarball instead), then runs cdktf.json's `app` as the cdktf CLI does (a shell
 * in the project folder) and checks what a user gets: the stacks of the copied plan with their state
 * in the project root, a staging folder a killed synth left removed, the synth warnings printed, that state ignored by git, Terraform Cloud's `cloud` blocks from TFC_*, an empty
 * MIGRATION_PLAN taken as unset, a bad plan refused with the app's report (file, count, field), a
 * bad AIRFLOW_KUBELOGIN_MODE under that name, and a valid plan the constructs refuse (too large for the
 * config maps) with their message: no stack trace and nothing written for any of them.
 * Exits 1 on any failure.
 */
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } = require('node:fs');
const { hostname } = require('node:os');
const { join } = require('node:path');

const [packageName, project] = process.argv.slice(2);
if (!packageName || !project) {
  process.stderr.write('usage: node readme-project.js <package name> <project folder>\n');
  process.exit(2);
}
const PAGE = join('docs', 'installing-from-your-registry.md');
const TITLE = '# Installing from your registry';
const failures = [];
function check(condition, message) {
  if (!condition) failures.push(message);
  return Boolean(condition);
}
function fail(message) {
  process.stderr.write(`README project: ${message}\n`);
  process.exit(1);
}

const pagePath = join(project, 'node_modules', ...packageName.split('/'), PAGE);
if (!existsSync(pagePath)) fail(`the package ships no ${PAGE}`);
const section = readFileSync(pagePath, 'utf8');
if (!section.startsWith(`${TITLE}\n`)) fail(`${pagePath} does not start with "${TITLE}"`);

/** The fenced blocks of the section: language and text. */
const blocks = [...section.matchAll(/^```(\w*)[^\n]*\n([\s\S]*?)^```\s*$/gm)].map(([, language, text]) => ({ language, text }));
/** The one block that `matches`, or a failure naming what is missing. */
function theBlock(what, matches) {
  const found = blocks.filter(matches);
  if (found.length !== 1) fail(`${PAGE} has ${found.length} blocks of ${what}, expected one`);
  return found[0].text;
}
const jsonWith = (key) => (block) => block.language === 'json' && new RegExp(`^\\s*"${key}"\\s*:`, 'm').test(block.text);
const files = {
  'cdktf.json': theBlock('cdktf.json (```json with "app")', jsonWith('app')),
  'tsconfig.json': theBlock('tsconfig.json (```json with "compilerOptions")', jsonWith('compilerOptions')),
  '.gitignore': theBlock('.gitignore (```gitignore)', (block) => block.language === 'gitignore'),
  'main.ts': theBlock('main.ts (```ts with synthesizeApp()', (block) => block.language === 'ts' && block.text.includes('synthesizeApp(')),
};
const setup = theBlock('the setup commands (```bash with npm install)', (block) => block.language === 'bash' && block.text.includes('npm install'));

for (const [name, text] of Object.entries(files)) writeFileSync(join(project, name), text);
const commands = setup.replace(/\\\n/g, ' ').split('\n').filter((line) => line.trim() !== '');
const installs = (command) => /\bnpm (init|install|i)\b|\.npmrc/.test(command);
for (const command of commands.filter((line) => !installs(line))) {
  console.log(`$ ${command}`);
  execFileSync('bash', ['-euo', 'pipefail', '-c', command], { cwd: project, stdio: 'inherit' });
}

/** Runs cdktf.json's app (or `command`) as `cdktf synth` does: a shell in the project folder. */
const app = JSON.parse(files['cdktf.json']).app;
// The variants after the first run skip the app's build step (`npx tsc && ...`), which the first run proved: seconds each.
const rerun = app.includes('&&') ? app.slice(app.lastIndexOf('&&') + 2).trim() : app;
function runApp(environment, command = rerun) {
  const env = { ...process.env, ...environment };
  for (const name of Object.keys(env)) if (/^(TFC_|AZURERM_BACKEND_|AIRFLOW_KUBELOGIN_MODE$|CDKTF_OUTDIR$)/.test(name) && !(name in environment)) delete env[name];
  return spawnSync(command, { cwd: project, env, shell: true, encoding: 'utf8' });
}
const readStack = (outdir, name) => JSON.parse(readFileSync(join(project, outdir, 'stacks', name, 'cdk.tf.json'), 'utf8'));

const planName = require(require.resolve(packageName, { paths: [project] })).loadMigrationPlan(join(project, 'plans/q3.yaml')).name;
const stacks = [planName, `${planName}-airflow`];

// What a synth killed outright (SIGKILL) left: a staging folder whose process is gone. The app's synth removes it.
const ended = spawnSync(process.execPath, ['-e', '']).pid;
const killed = join(project, 'cdktf.out', '.synth-Killed');
mkdirSync(join(killed, 'stacks'), { recursive: true });
writeFileSync(join(killed, '.synth-owner.json'), JSON.stringify({ pid: ended, host: hostname(), createdAt: Date.now() }));

console.log(`$ ${app}`);
const local = runApp({}, app);
check(!existsSync(killed), `${app} kept the staging folder a killed synth left (cdktf.out/.synth-Killed): it does not synthesize as npm run synth does`);
check(/^Warning: /m.test(local.stderr), `${app} printed no synth warnings under plain node: ${JSON.stringify(local.stderr)}`);
if (!check(local.status === 0, `${app} exited ${local.status}: ${local.stderr}`)) {
  process.stderr.write(`README project: ${failures.join('\n')}\n`);
  process.exit(1);
}
for (const stack of stacks) {
  const path = readStack('cdktf.out', stack).terraform?.backend?.local?.path;
  check(path === `../../../terraform.${stack}.tfstate`, `stack ${stack}: local state at ${path}, not the project root's terraform.${stack}.tfstate`);
}

execFileSync('git', ['init', '-q'], { cwd: project });
const ignored = (path) => spawnSync('git', ['check-ignore', '-q', path], { cwd: project }).status === 0;
for (const path of [`terraform.${planName}.tfstate`, `terraform.${planName}.tfstate.backup`, `cdktf.out/stacks/${planName}/cdk.tf.json`, 'node_modules', 'main.js']) {
  check(ignored(path), `.gitignore does not keep ${path} out of git`);
}
for (const path of ['main.ts', 'plans/q3.yaml', 'cdktf.json', 'tsconfig.json', 'package.json']) check(!ignored(path), `.gitignore keeps ${path} out of git`);

const cloud = runApp({ TFC_ORGANIZATION: 'acme', TFC_WORKSPACE: 'prod', CDKTF_OUTDIR: 'tfc.out' });
if (check(cloud.status === 0, `TFC_ORGANIZATION=acme TFC_WORKSPACE=prod ${rerun} exited ${cloud.status}: ${cloud.stderr}`)) {
  const [first, second] = stacks.map((stack) => readStack('tfc.out', stack));
  check(
    JSON.stringify(first.terraform.cloud) === JSON.stringify({ organization: 'acme', workspaces: { name: 'prod' } }),
    `stack ${planName}: cloud block ${JSON.stringify(first.terraform.cloud)}`,
  );
  check(second.terraform.cloud?.workspaces?.name === 'prod-airflow', `stack ${planName}-airflow: cloud block ${JSON.stringify(second.terraform.cloud)}`);
  const remote = Object.values(second.data?.terraform_remote_state ?? {});
  check(
    remote.length === 1 && remote[0].backend === 'remote' && remote[0].config?.workspaces?.name === 'prod',
    `stack ${planName}-airflow: reads ${JSON.stringify(remote)}, not workspace prod's state`,
  );
}

const unset = runApp({ MIGRATION_PLAN: '', CDKTF_OUTDIR: 'unset.out' });
check(unset.status === 0 && existsSync(join(project, 'unset.out', 'stacks', planName)), `MIGRATION_PLAN= ${rerun} (empty, as unset) exited ${unset.status}: ${unset.stderr}`);

/** A mistake the app refuses: exit status non-zero, no stack trace, no output folder; `what` names the case. */
function refused(what, result, outdir) {
  check(result.status !== 0, `${what}: ${rerun} exited 0`);
  check(!/^\s+at /m.test(result.stderr), `${what}: a stack trace in ${JSON.stringify(result.stderr)}`);
  check(!existsSync(join(project, outdir)), `${what}: wrote ${outdir}/ (${existsSync(join(project, outdir)) && readdirSync(join(project, outdir), { recursive: true }).join(', ')})`);
}

writeFileSync(join(project, 'plans', 'broken.yaml'), 'name: Broken_Name\nlocation: westeurope\n');
const broken = runApp({ MIGRATION_PLAN: 'plans/broken.yaml', CDKTF_OUTDIR: 'broken.out' });
refused('a bad plan', broken, 'broken.out');
// The report `npm run synth` prints: the file and how many problems, then a line per problem.
check(/^Invalid migration plan plans\/broken\.yaml \(\d+ problems?\):\n/.test(broken.stderr), `a bad plan: no header "Invalid migration plan plans/broken.yaml (N problems):" first in ${JSON.stringify(broken.stderr)}`);
check(/^plans\/broken\.yaml:1:1 name: /m.test(broken.stderr), `a bad plan: no line naming plans/broken.yaml:1:1 name in ${JSON.stringify(broken.stderr)}`);

const kubelogin = runApp({ AIRFLOW_KUBELOGIN_MODE: 'SPN', CDKTF_OUTDIR: 'kubelogin.out' });
refused('AIRFLOW_KUBELOGIN_MODE=SPN', kubelogin, 'kubelogin.out');
check(/AIRFLOW_KUBELOGIN_MODE "SPN"/.test(kubelogin.stderr) && !/kubeloginMode/.test(kubelogin.stderr), `AIRFLOW_KUBELOGIN_MODE=SPN: not named as the variable in ${JSON.stringify(kubelogin.stderr)}`);

// A valid plan the constructs refuse once synthesizeApp has made the output folder: too large for the config maps.
const large = JSON.parse(readFileSync(join(project, 'node_modules', ...packageName.split('/'), 'examples', 'sql-database.json'), 'utf8'));
large.databases = Array.from({ length: 1500 }, (_, i) => ({ name: `db_${i}`, source: { server: 'sql02', database: `Db${i}` }, target: { server: 'sqldb-crm' } }));
writeFileSync(join(project, 'plans', 'large.json'), JSON.stringify(large));
const tooLarge = runApp({ MIGRATION_PLAN: 'plans/large.json', CDKTF_OUTDIR: 'large.out' });
refused('a plan too large for the config maps', tooLarge, 'large.out');
check(/DAG file migration_plan\.json is \d+ bytes; a config map holds at most/.test(tooLarge.stderr), `a plan too large for the config maps: no message naming migration_plan.json in ${JSON.stringify(tooLarge.stderr)}`);

if (failures.length > 0) {
  process.stderr.write(`README project: ${failures.length} failure(s):\n${failures.map((failure) => `  ${failure}`).join('\n')}\n`);
  process.exit(1);
}
console.log(`README project: stacks ${stacks.join(', ')}; .gitignore, Terraform Cloud, unset plan, bad plan, bad kubelogin mode and a plan too large checked`);
