#!/usr/bin/env bash
# Measures what upgrading from earlier versions to this tree changes, as docs/upgrading.md reports
# it: usage `bash scripts/measure-upgrade.sh <commit>...`.
# Each commit is checked out in a git worktree beside this tree (removed at the end) that shares its
# node_modules (synthesis loads only the runtime dependencies; say so if a commit's package-lock.json
# differs in one of them). Its app (main.ts, bundled with esbuild) synthesizes each of its example
# plans, and the default plan with a target of each kind; this tree's app synthesizes the same plan
# files. __tests__/upgrade/measure-upgrade.ts compares the two (replacements, destroys, changed arguments).
# Output under $MEASURE_OUT (default: a new temporary folder): <commit>/{before,after}/<plan>/ and
# <commit>.txt, which is also printed.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${MEASURE_OUT:-$(mktemp -d)}"
esbuild="$repo_root/node_modules/.bin/esbuild"
# The local state backend, as the examples are documented; no backend variable of the caller's.
unset AZURERM_BACKEND_RESOURCE_GROUP AZURERM_BACKEND_STORAGE_ACCOUNT AZURERM_BACKEND_CONTAINER AZURERM_BACKEND_KEY AIRFLOW_KUBELOGIN_MODE

# The app finds the DAG from its own file, so each tree's bundle goes in that tree's dist/.
bundle() {
  (cd "$1" && "$esbuild" main.ts --bundle --platform=node --target=node20 --log-level=error --outfile=dist/measure-app.js)
}

# synth <tree> <plan file> <output folder>: a plan the version refuses leaves the folder empty.
synth() {
  (cd "$1" && MIGRATION_PLAN="$2" CDKTF_OUTDIR="$3" node dist/measure-app.js >/dev/null 2>"$3.stderr") || echo "  $1 refused $2: $(head -c 300 "$3.stderr")" >&2
}

# A commit that fails half-way leaves no worktree behind.
trap 'rm -f "$repo_root/dist/measure-app.js"; for tree in "$out"/worktree-*; do [ -d "$tree" ] && git -C "$repo_root" worktree remove --force "$tree"; done; true' EXIT

"$esbuild" "$repo_root/__tests__/upgrade/measure-upgrade.ts" --bundle --platform=node --target=node20 --log-level=error --outfile="$out/measure-upgrade.js"
bundle "$repo_root"

for commit in "$@"; do
  tree="$out/worktree-$commit"
  git -C "$repo_root" worktree add -q --detach "$tree" "$commit"
  ln -s "$repo_root/node_modules" "$tree/node_modules"
  bundle "$tree"
  plans="$out/$commit/plans"
  mkdir -p "$plans"
  cp "$tree"/examples/*.yaml "$tree"/examples/*.json "$plans/"
  (cd "$repo_root" && node "$out/measure-upgrade.js" variant "$plans/three-databases.yaml" "$plans/every-target-kind.yaml")
  for plan in "$plans"/*; do
    name="$(basename "$plan")"
    mkdir -p "$out/$commit/before/$name" "$out/$commit/after/$name"
    synth "$tree" "$plan" "$out/$commit/before/$name"
    synth "$repo_root" "$plan" "$out/$commit/after/$name"
  done
  git -C "$repo_root" worktree remove --force "$tree"
  node "$out/measure-upgrade.js" compare "$out/$commit/before" "$out/$commit/after" | tee "$out/$commit.txt"
done
