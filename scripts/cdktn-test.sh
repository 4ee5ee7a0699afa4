#!/usr/bin/env bash
# CDK Terrain test: HashiCorp archived CDKTF on 2025-12-10; its maintained fork CDK Terrain
# (`cdktn`, `@cdktn/provider-azurerm`) is a package rename. This proves the library survives the
# move, without touching the repository:
#   1. copies the sources a fresh clone has (lib, __tests__, examples, the DAG package, the build scripts, configs,
#      package.json and package-lock.json) into a scratch folder;
#   2. rewrites package.json there: `cdktf` -> npm:cdktn, `@cdktf/provider-azurerm` ->
#      npm:@cdktn/provider-azurerm (the library and its tests keep importing `cdktf`), the real
#      `cdktn` beside it (the fork's provider requires `cdktn`), constructs inside cdktn's peer
#      range, an override that lets the provider use that cdktn, overrides that give the helm,
#      kubernetes and time providers (which declare the peer cdktf ^0.21) the aliased cdktf, and
#      no cdktf-cli (jest needs no CLI);
#      `npm install` (prefer-offline) keeps every other locked version;
#   3. type-checks the library, main.ts and the construct tests against the fork's declarations (not the plan's tests,
#      which import neither cdktf nor a provider: the typecheck step checks them; their fixtures, which the construct
#      tests import, are checked with those);
#   4. runs the construct, host, monitoring, upgrade-contract, lock (security/protection) and token-creation-stack jest tests
#      (the fork skips those stacks by its own switch, in both copies) with --ci (not the plan's: lib/plan
#      imports neither cdktf nor a provider, so they would prove on the fork only what the unit suite does; nor, for that
#      reason, those of the folders above that load no cdktf, constructs or provider: fork_neutral_tests below; no snapshot
#      is written; the upgrade contract proves the fork gives every stateful resource the address cdktf gives it). The
#      recorded snapshots are compared as they are: they hold only the alert and diagnostic-setting
#      resources, as objects, so neither the azurerm version a provider package binds nor the
#      layout of `Testing.synth`'s JSON is in them;
#   5. runs the README's `npm run synth` there (tsc, the app bundle, the app) and checks both default stacks are written;
#   6. runs scripts/consumer-test.sh with the packed library installed beside the fork through
#      aliases, the way docs/cdk-terrain.md tells users to switch (skip with CDKTN_SKIP_CONSUMER=1); under npm test
#      it installs the tarball npm test's build step packed, while the repository's files are the same (CONSUMER_TARBALLS).
# Versions can be overridden: CDKTN_VERSION, CDKTN_PROVIDER_AZURERM_VERSION, CDKTN_CONSTRUCTS_VERSION.
# KEEP_CDKTN_DIR=1 keeps the scratch folder. Exit status non-zero on any failure.
set -euo pipefail

# CDK Terrain 0.24.0 is the only release; @cdktn/provider-azurerm 16.1.0 (the only release) binds
# hashicorp/azurerm 4.73.0 (the cdktf one, 14.23.1, binds 4.55.0) and declares the peer
# cdktn ^0.23.0; cdktn 0.24.0 declares the peer constructs >=10.6.0 <10.8.0.
cdktn_version="${CDKTN_VERSION:-0.24.0}"
provider_version="${CDKTN_PROVIDER_AZURERM_VERSION:-16.1.0}"
constructs_version="${CDKTN_CONSTRUCTS_VERSION:-10.7.2}"
test_paths=(__tests__/constructs __tests__/hosts __tests__/monitoring __tests__/upgrade __tests__/security/protection.test.ts __tests__/scripts/token-creation-stacks.test.ts)
# The test files of those folders that load neither cdktf, constructs nor a provider (the library's pure functions: the
# DAG bundle's digests, pool and alert timing arithmetic, schema checks): on the fork they would prove only what the unit
# suite does. __tests__/scripts/cdktn-copied-files.test.ts checks that none of them loads one.
fork_neutral_tests=(__tests__/constructs/dag-bundle.test.ts __tests__/constructs/sql-pipelines-schema.test.ts __tests__/constructs/staged-output.test.ts __tests__/constructs/text-digests.test.ts __tests__/hosts/airflow-plan.test.ts __tests__/hosts/airflow-pools.test.ts __tests__/hosts/postgres-root-cas.test.ts __tests__/monitoring/alert-timing.test.ts)

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
label="cdktn test"
started=$SECONDS
step="setup"
phase_started=$SECONDS
timings=()

# shellcheck source=scratch-lib.sh
source "$repo_root/scripts/scratch-lib.sh"
drop_npm_project_env
export CHECKPOINT_DISABLE=1

scratch="$(mktemp -d "$(scratch_parent)/adm-cdktn.XXXXXX")"
remover=""
cleanup() {
  local status=$?
  if [[ -n "$remover" ]]; then
    wait "$remover" || true
  elif [[ "${KEEP_CDKTN_DIR:-}" == 1 ]]; then
    echo "cdktn test: kept $scratch"
  elif [[ -d "$scratch" ]]; then
    rm -rf "$scratch"
  fi
  if [[ $status -ne 0 ]]; then echo "cdktn test: FAILED at step '$step' after $((SECONDS - started)) s" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP


phase "copy sources"
# What a fresh clone has (tracked files and new ones that are not ignored), limited to what the
# tests need: no dist/, cdktf.out/, .venv/, __pycache__ or DAG tests (but the golden webserver_config.py the sign-in test compares).
wanted='^(lib/|__tests__/|examples/|schema/|vendor/|dags/migration_rehearsal/fixtures/|dags/tests/fixtures/entra_webserver_config\.py$|dags/migration_orchestration\.py$|dags/deployed\.airflowignore$|dags/migration_orchestration_lib/|dags/requirements(-fabric|-data-factory)?\.txt$|dags/airflow-environments\.txt$|main\.ts$|tsconfig[^/]*\.json$|jest\.(config|suites|transform|runtime|tmpdir)\.js$|package(-lock)?\.json$|cdktf\.json$|scripts/consumer-app/plan\.yaml$|scripts/[^/]+\.(ts|mjs|cjs)$)'
if git -C "$repo_root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$repo_root" && git ls-files -z --cached --others --exclude-standard) |
    while IFS= read -r -d '' path; do
      if [[ -f "$repo_root/$path" && "$path" =~ $wanted && "$path" != */__pycache__/* ]]; then printf '%s\0' "$path"; fi
    done |
    (cd "$repo_root" && tar --null -T - -cf -) | tar -xf - -C "$scratch"
else
  (cd "$repo_root" && find . -path ./node_modules -prune -o -path './.venv*' -prune -o -path ./dist -prune -o -type f -print0) |
    while IFS= read -r -d '' path; do
      path="${path#./}"
      if [[ "$path" =~ $wanted && "$path" != */__pycache__/* ]]; then printf '%s\0' "$path"; fi
    done |
    (cd "$repo_root" && tar --null -T - -cf -) | tar -xf - -C "$scratch"
fi
for required in package.json package-lock.json jest.config.js jest.transform.js dags/migration_orchestration.py lib/index.ts; do
  [[ -f "$scratch/$required" ]] || { echo "cdktn test: $required was not copied" >&2; exit 1; }
done

phase "switch to CDK Terrain (npm aliases)"
node - "$scratch/package.json" "$cdktn_version" "$provider_version" "$constructs_version" <<'NODE'
const fs = require('node:fs');
const [file, cdktn, provider, constructs] = process.argv.slice(2);
const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
const dev = manifest.devDependencies;
for (const name of ['cdktf', '@cdktf/provider-azurerm', 'constructs']) {
  if (!dev[name]) throw new Error(`devDependencies.${name} is missing: the switch below would not test anything`);
}
dev.cdktf = `npm:cdktn@${cdktn}`;
dev['@cdktf/provider-azurerm'] = `npm:@cdktn/provider-azurerm@${provider}`;
dev.cdktn = cdktn;
dev.constructs = constructs;
delete dev['cdktf-cli'];
// @cdktn/provider-azurerm 16.1.0 declares the peer cdktn ^0.23.0, which no published cdktn has
// with 0.24.0 out: let it use the cdktn installed here. The helm, kubernetes and time providers
// (@cdktf/*) declare the peer cdktf ^0.21: give them the aliased cdktf, so one construct library loads.
manifest.overrides = { ...manifest.overrides, cdktn: `$cdktn` };
for (const name of ['@cdktf/provider-helm', '@cdktf/provider-kubernetes', '@cdktf/provider-time']) {
  if (!dev[name]) throw new Error(`devDependencies.${name} is missing`);
  manifest.overrides[name] = { cdktf: dev.cdktf };
}
fs.writeFileSync(file, JSON.stringify(manifest, null, 2) + '\n');
console.log(`cdktf -> ${dev.cdktf}, @cdktf/provider-azurerm -> ${dev['@cdktf/provider-azurerm']}, cdktn ${cdktn}, constructs ${constructs}`);
NODE

phase "npm install"
cd "$scratch"
npm install --prefer-offline --no-audit --no-fund --loglevel=error
npm ls --depth=0 >/dev/null
node - "$repo_root" <<'NODE'
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const read = (root, name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8'));
const binding = (p) => (p.cdktn || p.cdktf || {}).provider || {};
const core = read('.', 'cdktf');
const provider = read('.', '@cdktf/provider-azurerm');
const problems = [];
if (core.name !== 'cdktn') problems.push(`node_modules/cdktf is ${core.name}, not cdktn`);
if (provider.name !== '@cdktn/provider-azurerm') problems.push(`node_modules/@cdktf/provider-azurerm is ${provider.name}`);
// The fork's provider must load the same cdktn release the library gets as `cdktf`.
const providerCore = JSON.parse(readFileSync(require.resolve('cdktn/package.json', { paths: [join('node_modules', '@cdktf', 'provider-azurerm')] }), 'utf8'));
if (providerCore.version !== core.version) problems.push(`the provider loads cdktn ${providerCore.version}, the library ${core.version}`);
const azurerm = binding(provider).version;
if (!/^4\./.test(azurerm || '')) problems.push(`@cdktn/provider-azurerm binds azurerm ${azurerm}, not 4.x`);
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
const original = binding(read(process.argv[2], '@cdktf/provider-azurerm')).version;
console.log(`cdktf = ${core.name}@${core.version}; @cdktf/provider-azurerm = ${provider.name}@${provider.version} (azurerm ${azurerm}; the repository's binds ${original})`);
NODE

phase "type-check against CDK Terrain"
cat > tsconfig.cdktn.json <<'JSON'
{
  "extends": "./tsconfig.json",
  "compilerOptions": { "noEmit": true },
  "include": [
    "main.ts",
    "lib/**/*.ts",
    "__tests__/setup.ts",
    "__tests__/skip-token-creation-stacks.ts",
    "__tests__/helpers/**/*.ts",
    "__tests__/constructs/**/*.ts",
    "__tests__/hosts/**/*.ts",
    "__tests__/security/**/*.ts",
    "__tests__/monitoring/**/*.ts",
    "__tests__/upgrade/**/*.ts"
  ]
}
JSON
node_modules/.bin/tsc -p tsconfig.cdktn.json

phase "jest ${test_paths[*]}"
# jest's cache in the scratch folder, which goes with it: the copy is in a new folder each run, so no later run reads
# its cache, and in jest's default cache folder (jest_<uid> in the temporary directory) each run added one (5.3 MB).
node_modules/.bin/jest --ci --updateSnapshot=false --silent --cacheDirectory "$scratch/.jest-cache" --testPathIgnorePatterns /node_modules/ "${fork_neutral_tests[@]}" -- "${test_paths[@]}"

phase "npm run synth (the README's command) on CDK Terrain"
CDKTF_OUTDIR="$scratch/cdktf.out" npm run -s synth
node - "$scratch/cdktf.out" <<'NODE'
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const out = process.argv[2];
const stacks = Object.values(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).stacks);
const written = stacks.filter((stack) => existsSync(join(out, stack.synthesizedStackPath)));
if (stacks.length !== 2 || written.length !== 2) {
  console.error(`npm run synth on CDK Terrain wrote ${written.length} of ${stacks.length} stacks; the default plan has 2`);
  process.exit(1);
}
console.log(`npm run synth on CDK Terrain wrote ${written.map((stack) => stack.name).join(' and ')}`);
NODE

cd "$repo_root"
if [[ "${KEEP_CDKTN_DIR:-}" != 1 ]]; then
  # Deleting ~400 MB of node_modules is slow on some disks: overlap it with the consumer test.
  rm -rf "$scratch" &
  remover=$!
fi

if [[ "${CDKTN_SKIP_CONSUMER:-}" != 1 ]]; then
  phase "consumer test with CDK Terrain"
  CONSUMER_LABEL="cdktn consumer test" \
    CONSUMER_PEERS="cdktf@npm:cdktn@$cdktn_version cdktn@$cdktn_version @cdktf/provider-azurerm@npm:@cdktn/provider-azurerm@$provider_version constructs@$constructs_version @cdktf/provider-helm@$(locked @cdktf/provider-helm) @cdktf/provider-kubernetes@$(locked @cdktf/provider-kubernetes) @cdktf/provider-time@$(locked @cdktf/provider-time)" \
    CONSUMER_OVERRIDES="{\"cdktn\": \"$cdktn_version\", \"@cdktf/provider-helm\": {\"cdktf\": \"npm:cdktn@$cdktn_version\"}, \"@cdktf/provider-kubernetes\": {\"cdktf\": \"npm:cdktn@$cdktn_version\"}, \"@cdktf/provider-time\": {\"cdktf\": \"npm:cdktn@$cdktn_version\"}}" \
    bash scripts/consumer-test.sh
fi

phase "clean up"
if [[ -n "$remover" ]]; then
  wait "$remover"
  remover=""
fi

phase done
echo "cdktn test: PASSED in $((SECONDS - started)) s (cdktn $cdktn_version, @cdktn/provider-azurerm $provider_version, constructs $constructs_version; ${timings[*]})"
