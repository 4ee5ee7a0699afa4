#!/usr/bin/env bash
# Consumer test: uses the package the way a platform team does.
#   1. `npm pack` (prepack cleans and rebuilds dist/) into a temporary folder outside the repository (or the tarball
#      npm test's build step packed: CONSUMER_TARBALLS below);
#   2. a fresh project there installs the tarball beside the peer dependencies at the versions of
#      this repository's lockfile (cdktf, constructs, @cdktf/provider-azurerm, typescript, @types/node);
#   3. the consumer app (scripts/consumer-app: its own plan, the public API imported by package
#      name, the constructs also used one by one in its own stack) is type-checked strictly three times
#      (Node16 resolution through `exports` with every .d.ts checked; `cdktf init`'s CommonJS
#      config through `types`; that config with every .d.ts checked and the strictest flags), compiled
#      and run with the project as working directory (the four configurations, the ES module one's below among them,
#      in one `tsc --build`);
#      an ES module consumer (esm-consumer.mts) is type-checked with module nodenext and run: Node's
#      ESM loader must find every export of the CommonJS package by name;
#   4. check-synth.js checks the stacks: the DAG (config maps, blobs, the Fabric host's staged
#      upload files and uploader) equal to the files inside node_modules/<package>, the plan blob
#      equal to the consumer's plan, the expected resources;
#   5. one installed DAG file is changed and the app synthesized again from another working
#      directory: the blobs must follow the installed package, wherever the app runs;
#   6. the new project of docs/installing-from-your-registry.md, from that page inside the installed package (readme-project.js):
#      its cdktf.json, tsconfig.json, .gitignore and main.ts written verbatim, its setup commands run
#      but the installs, its app run as `cdktf synth` runs it, and what a user gets checked.
# Exit status non-zero on any failure. KEEP_CONSUMER_DIR=1 keeps the temporary folder.
# CONSUMER_PEERS replaces the peer dependency specs (space-separated `npm install` specs) and
# CONSUMER_OVERRIDES (JSON) becomes the project's `overrides`: scripts/cdktn-test.sh installs
# CDK Terrain through npm aliases that way.
# CONSUMER_TARBALLS names a folder where the tarball npm pack made is kept under a digest of the repository's files
# (tracked, and new ones not ignored: their paths and contents), and taken from instead of packing again while
# those files are the same. Unset, or outside a git checkout, the test packs.
# `consumer-test.sh --pack` only packs, into CONSUMER_TARBALLS, and stops: npm test's first step, whose prepack builds
# dist/ from nothing for the steps that read it, so that the consumer tests (this one, and CDK Terrain's) install that
# tarball instead of building the same dist/ again (12-14 s of CPU each).
set -euo pipefail

pack_only=""
if [[ "${1:-}" == --pack ]]; then
  pack_only=1
  [[ -n "${CONSUMER_TARBALLS:-}" ]] || { echo "consumer-test.sh --pack: set CONSUMER_TARBALLS to the folder the tarball goes to" >&2; exit 2; }
elif [[ $# -ne 0 ]]; then
  echo "usage: consumer-test.sh [--pack]" >&2
  exit 2
fi
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fixture="$repo_root/scripts/consumer-app"
label="${CONSUMER_LABEL:-consumer test}"
if [[ -n "$pack_only" ]]; then label="npm pack for the consumer tests"; fi
started=$SECONDS
step="setup"
phase_started=$SECONDS
timings=()

# shellcheck source=scratch-lib.sh
source "$repo_root/scripts/scratch-lib.sh"
drop_npm_project_env
export CHECKPOINT_DISABLE=1

work="$(mktemp -d "$(scratch_parent)/adm-consumer.XXXXXX")"
work="$(cd "$work" && pwd -P)"
cleanup() {
  local status=$?
  if [[ "${KEEP_CONSUMER_DIR:-}" == 1 ]]; then
    echo "$label: kept $work"
  elif [[ -d "$work" ]]; then
    rm -rf "$work"
  fi
  if [[ $status -ne 0 ]]; then
    echo "$label: FAILED at step '$step' after $((SECONDS - started)) s" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP


case "$work/" in
  "$(cd "$repo_root" && pwd -P)"/*) echo "$label: temporary folder $work is inside the repository" >&2; exit 1 ;;
esac

package_name="$(node -p 'require(process.argv[1]).name' "$repo_root/package.json")"
if [[ -n "${CONSUMER_PEERS:-}" ]]; then
  read -r -a peers <<< "$CONSUMER_PEERS"
else
  peers=(
    "cdktf@$(locked cdktf)"
    "constructs@$(locked constructs)"
    "@cdktf/provider-azurerm@$(locked @cdktf/provider-azurerm)"
    "@cdktf/provider-helm@$(locked @cdktf/provider-helm)"
    "@cdktf/provider-kubernetes@$(locked @cdktf/provider-kubernetes)"
    "@cdktf/provider-time@$(locked @cdktf/provider-time)"
  )
fi
tools=("typescript@$(locked typescript)" "@types/node@$(locked @types/node)")

# files_digest: a digest of the repository's files as they are (the paths and contents of the tracked ones and of new
# ones not ignored); nothing outside a git checkout. A file removed while it is read (the DAG tests run beside the
# consumer tests under npm test) stops nothing: the digest is of the files as they were read, and a tarball is reused
# only under a digest taken again, after packing, that is the same.
files_digest() {
  (
    cd "$repo_root" && git rev-parse --is-inside-work-tree >/dev/null 2>&1 || exit 0
    git ls-files -z --cached --others --exclude-standard |
      while IFS= read -r -d '' path; do if [[ -f "$path" ]]; then printf '%s\0' "$path"; fi; done |
      xargs -0 -r sha256sum 2>/dev/null | sha256sum | cut -c1-64
  ) || true
}

phase "npm pack"
digest="" kept_tarballs=() kept=""
if [[ -n "${CONSUMER_TARBALLS:-}" ]]; then digest="$(files_digest)"; fi
# --pack packs whatever was packed before: its prepack builds dist/ for the steps after it.
if [[ -n "$digest" && -z "$pack_only" ]]; then kept_tarballs=("$CONSUMER_TARBALLS/$digest"/*.tgz); fi
if [[ ${#kept_tarballs[@]} -eq 1 && -f "${kept_tarballs[0]}" ]]; then
  cp "${kept_tarballs[0]}" "$work/"
  echo "$(basename "${kept_tarballs[0]}"): the tarball npm pack made of these files earlier (CONSUMER_TARBALLS, files digest $digest)"
else
  (cd "$repo_root" && npm pack --pack-destination "$work" --loglevel=warn)
  # Kept only when packing changed none of the files the digest is of.
  if [[ -n "$digest" && "$(files_digest)" == "$digest" ]]; then
    rm -rf "${CONSUMER_TARBALLS:?}/$digest"
    mkdir -p "$CONSUMER_TARBALLS/$digest"
    cp "$work"/*.tgz "$CONSUMER_TARBALLS/$digest/"
    kept=1
  elif [[ -n "$pack_only" ]]; then
    echo "$label: packed, but not kept: the repository's files changed while npm pack ran, or this is no git checkout; the consumer tests pack again"
  fi
fi
tarballs=("$work"/*.tgz)
if [[ ${#tarballs[@]} -ne 1 || ! -f "${tarballs[0]}" ]]; then
  echo "$label: expected one tarball in $work, found: ${tarballs[*]}" >&2
  exit 1
fi
tarball="${tarballs[0]}"
listing="$(tar -tzf "$tarball")"
for required in package/dist/lib/index.js package/dist/lib/index.d.ts package/dags/migration_orchestration.py package/dags/requirements.txt; do
  if ! grep -qx "$required" <<< "$listing"; then
    echo "$label: $required is not in $(basename "$tarball")" >&2
    exit 1
  fi
done
echo "$(basename "$tarball"): $(wc -l <<< "$listing") files, $(du -k "$tarball" | cut -f1) kB"
if [[ -n "$pack_only" ]]; then
  phase done
  echo "$label: packed in $((SECONDS - started)) s${kept:+, kept in $CONSUMER_TARBALLS for the consumer tests}"
  exit 0
fi

phase "npm install"
app="$work/app"
mkdir "$app"
cp "$fixture/main.ts" "$fixture/tsconfig.json" "$fixture/tsconfig.node16.json" "$fixture/tsconfig.strict.json" "$fixture/tsconfig.esm.json" "$fixture/esm-consumer.mts" "$fixture/plan.yaml" "$fixture/check-synth.js" "$app/"
node -e '
  const manifest = { name: "consumer-app", version: "0.0.0", private: true, license: "UNLICENSED" };
  if (process.argv[2]) manifest.overrides = JSON.parse(process.argv[2]);
  require("node:fs").writeFileSync(process.argv[1], JSON.stringify(manifest, null, 2) + "\n");
' "$app/package.json" "${CONSUMER_OVERRIDES:-}"
cd "$app"
echo "installing $(basename "$tarball") ${peers[*]} ${tools[*]}"
npm install --prefer-offline --no-audit --no-fund --loglevel=error --save-exact "$tarball" "${peers[@]}" "${tools[@]}"
# Unmet or invalid peer dependencies make `npm ls` fail.
npm ls --depth=0 >/dev/null
node -e '
  const read = (name) => JSON.parse(require("node:fs").readFileSync(`node_modules/${name}/package.json`, "utf8"));
  const line = (name) => {
    const p = read(name);
    const provider = (p.cdktn || p.cdktf || {}).provider;
    return `${name} = ${p.name}@${p.version}${provider ? ` (${provider.name.split("/").pop()} ${provider.version})` : ""}`;
  };
  console.log(["cdktf", "constructs", "@cdktf/provider-azurerm"].map(line).join(", "));
'

phase "type-check and compile (one tsc --build: Node16, all declarations; CommonJS, all declarations, strictest; cdktf init; ES module, nodenext, all declarations)"
# One tsc --build of the four configurations, in this order: each is a program of its own, checked in full and its
# errors printed under its name (--verbose: "Building project .../tsconfig.strict.json"), but the declaration files they
# share are read and parsed once, in one warm compiler: 14 s of CPU instead of 22 s for four tsc runs. It goes on after a
# configuration with errors, so one run shows them all, and exits non-zero. Its .tsbuildinfo files go to out/.
node_modules/.bin/tsc --build --verbose tsconfig.node16.json tsconfig.strict.json tsconfig.json tsconfig.esm.json

phase "ES module consumer (run)"
node out/esm-consumer.mjs

phase "synth from $app"
node out/main.js

phase "check the stacks"
node check-synth.js "$package_name" plan.yaml

phase "synth from another directory after changing an installed DAG file"
marker="# consumer-test marker $RANDOM$RANDOM"
installed_dag="$app/node_modules/$package_name/dags/migration_orchestration_lib/__init__.py"
printf '%s\n' "$marker" >> "$installed_dag"
mkdir "$work/elsewhere"
(cd "$work/elsewhere" && MIGRATION_PLAN="$app/plan.yaml" CDKTF_OUTDIR="$work/elsewhere/out" node "$app/out/main.js")
plan_name="$(node -p 'require(process.argv[1]).loadMigrationPlan("plan.yaml").name' "$package_name")"
if ! grep -qF "$marker" "$work/elsewhere/out/stacks/$plan_name-airflow/cdk.tf.json"; then
  echo "$label: the changed DAG file in node_modules did not reach the synthesized DAG folder" >&2
  exit 1
fi
node check-synth.js "$package_name" plan.yaml "$work/elsewhere/out"

phase "the new project of docs/installing-from-your-registry.md (its files and commands, verbatim)"
mkdir "$work/readme-app"
ln -s "$app/node_modules" "$work/readme-app/node_modules"
node "$fixture/readme-project.js" "$package_name" "$work/readme-app"

phase "clean up"
cd /
if [[ "${KEEP_CONSUMER_DIR:-}" != 1 ]]; then rm -rf "$work"; fi

phase done
echo "$label: PASSED in $((SECONDS - started)) s (${timings[*]})"
