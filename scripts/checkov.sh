#!/usr/bin/env bash
# Scans the synthesized stacks of the default plan with checkov (called by `npm test`): the first
# stack and the Kubernetes host's release stack (cdktf.out/stacks/contoso-sql and contoso-sql-airflow).
# The virtual environment (.venv-checkov at the repo root) is created on first use from
# scripts/requirements-checkov.txt and reused while that file's sha256 matches the stamp inside it.
# Fails on any failed check, and on any skip in .checkov.yaml whose check no longer fails (or does
# not exist in the pinned checkov), so the skip list cannot go stale.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.venv-checkov"
requirements="$repo_root/scripts/requirements-checkov.txt"
config="$repo_root/.checkov.yaml"
stack_dirs=(cdktf.out/stacks/contoso-sql cdktf.out/stacks/contoso-sql-airflow)

# No calls home: no update check, no Prisma Cloud guideline download.
export CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE

# shellcheck source=python-env.sh
source "$repo_root/scripts/python-env.sh"
ensure_venv "$venv" "$(python311)" "$requirements"

cd "$repo_root"
# Always the default plan, freshly built: a stale cdk.tf.json would scan yesterday's constructs.
rm -rf cdktf.out/stacks
MIGRATION_PLAN='' npm run --silent synth >/dev/null 2>&1
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# checkov 3.3.30's JSON parser reads every top-level block as `{label: body}` and fails on the
# unlabelled `removed` block (which holds no resource): it scans copies without that block.
for stack_dir in "${stack_dirs[@]}"; do
  if [[ ! -f "$stack_dir/cdk.tf.json" ]]; then
    echo "error: $stack_dir/cdk.tf.json was not synthesized" >&2
    exit 1
  fi
  mkdir -p "$scratch/stacks/$(basename "$stack_dir")"
  "$venv/bin/python" -c '
import json, sys
stack = json.load(open(sys.argv[1]))
stack.pop("removed", None)
json.dump(stack, open(sys.argv[2], "w"), indent=2)
' "$stack_dir/cdk.tf.json" "$scratch/stacks/$(basename "$stack_dir")/cdk.tf.json"
done
scanned="$scratch/stacks"

version="$("$venv/bin/checkov" --version)"
echo "checkov $version on ${stack_dirs[*]}"
started=$SECONDS
report="$scratch/report.txt"
status=0
"$venv/bin/checkov" --framework terraform_json -d "$scanned" --config-file "$config" --compact --quiet \
  | tee "$report" || status=$?

# Every skipped check must exist and still fail without its skip. Run from an empty directory:
# checkov would otherwise pick up .checkov.yaml (and its skips) from the working directory.
skips="$("$venv/bin/python" -c 'import sys, yaml; print(",".join(yaml.safe_load(open(sys.argv[1]))["skip-check"]))' "$config")"
stale="$(
  mkdir "$scratch/empty" && cd "$scratch/empty" &&
    { "$venv/bin/checkov" --framework terraform_json -d "$scanned" --skip-download --check "$skips" -o json --quiet || true; } |
    "$venv/bin/python" -c '
import json, sys
report = json.load(sys.stdin)
reports = report if isinstance(report, list) else [report]
failing = {c["check_id"] for r in reports for c in r.get("results", {}).get("failed_checks", [])}
unparsed = sum(r.get("summary", {}).get("parsing_errors", 0) for r in reports)
stale = [s for s in sys.argv[1].split(",") if s not in failing]
# A file checkov cannot parse yields no findings at all: that must not pass as clean.
print(" ".join(stale + (["(%d parsing errors)" % unparsed] if unparsed else [])))
' "$skips"
)"
elapsed=$((SECONDS - started))

summary="$(grep -E '^Passed checks: [0-9]+, Failed checks: [0-9]+' "$report" | tail -n 1 || true)"
if [[ -z "$summary" ]]; then
  echo "error: checkov printed no summary (exit $status)" >&2
  exit 1
fi
if [[ -n "$stale" ]]; then
  echo "error: .checkov.yaml skips that no longer fail or do not exist in checkov $version, or a stack checkov could not parse: $stale" >&2
  status=1
fi
skip_count="$(tr ',' '\n' <<<"$skips" | grep -c .)"
if [[ -z "$stale" ]]; then
  verdict="each verified to still fail without its skip"
else
  verdict="stale: $stale"
fi
echo "checkov $version: $summary (+ $skip_count checks turned off in .checkov.yaml, $verdict); ${elapsed} s"
exit "$status"
