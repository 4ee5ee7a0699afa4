#!/usr/bin/env bash
# Scans the synthesized stacks of each Airflow host's example plan with checkov (called by `npm
# test`): the default plan and examples/sql-database.json for the Kubernetes host (both its stacks),
# and the Data Factory, external and Fabric hosts' examples. scripts/checkov_scan.py judges the
# result: no failed check that is not turned off (.checkov.yaml for every host, .checkov-hosts.yaml
# for one), and no skip whose check no longer fails, so the skip lists cannot go stale.
# The virtual environment (.venv-checkov at the repo root) is created on first use from
# scripts/requirements-checkov.txt and reused while that file's sha256 matches the stamp inside it.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.venv-checkov"
requirements="$repo_root/scripts/requirements-checkov.txt"
# host=plan[,plan]: the plans whose stacks stand for that host.
host_plans=(
  kubernetes=examples/three-databases.yaml,examples/sql-database.json
  dataFactory=examples/data-factory-host.yaml
  external=examples/external-host.yaml
  fabric=examples/fabric-host.yaml
)

# No calls home: no update check, no Prisma Cloud guideline download.
export CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE

# shellcheck source=python-env.sh
source "$repo_root/scripts/python-env.sh"
ensure_venv "$venv" "$(python311)" "$requirements"

cd "$repo_root"
# The example plans are the repository's: the app reads a relative MIGRATION_PLAN from INIT_CWD, the folder npm
# run test:checkov was typed in.
unset INIT_CWD
"$venv/bin/python" -m unittest --quiet scripts/test_checkov_scan.py

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# What checkov and the synth write to the temporary directory goes with the scratch folder: checkov's HCL parser
# (lark) leaves a grammar cache file there (.lark_cache_*.tmp), which makes no difference to the scan's time (10 s
# with it, 9-10 s without), and npm test counts it as left behind.
export TMPDIR="$scratch"
# Built unless the caller just built (npm test passes --built): stale JavaScript would scan yesterday's constructs.
[[ "${1:-}" == --built ]] || npm run --silent build
groups=()
for entry in "${host_plans[@]}"; do
  host="${entry%%=*}"
  stack_dirs=()
  IFS=',' read -ra plans <<<"${entry#*=}"
  for plan in "${plans[@]}"; do
    out="$scratch/synth/$(basename "$plan")"
    mkdir -p "$out"
    if ! CDKTF_OUTDIR="$out" MIGRATION_PLAN="$plan" node --max-semi-space-size=2 dist/app.js >"$scratch/synth.log" 2>&1; then
      cat "$scratch/synth.log" >&2
      echo "error: $plan did not synthesize" >&2
      exit 1
    fi
    stack_dirs+=("$out"/stacks/*)
  done
  groups+=("$host=$(IFS=','; echo "${stack_dirs[*]}")")
done

started=$SECONDS
# What `checkov --version` prints, without checkov's start-up (~10 s of CPU).
echo "checkov $("$venv/bin/python" -c 'from checkov.version import version; print(version)') on the stacks of ${#host_plans[@]} hosts"
status=0
"$venv/bin/python" scripts/checkov_scan.py "$venv/bin/checkov" .checkov.yaml .checkov-hosts.yaml "${groups[@]}" || status=$?
echo "checkov scan: $((SECONDS - started)) s"
exit "$status"
