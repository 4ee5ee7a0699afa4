#!/usr/bin/env bash
# Rehearses a migration plan end to end in a local Apache Airflow 3.3, without Azure:
#   npm run rehearse [-- [plan.yaml] [--world DIR] [--summary FILE]]   (default plan: examples/three-databases.yaml)
#   MIGRATION_SIMULATE_FAILURE=database_2 npm run rehearse        DMS ends that migration Failed
#   MIGRATION_SIMULATE_MISMATCH=database_2 npm run rehearse       validation fails: that database rolls back
#   MIGRATION_SIMULATE_CRASH=database_1:cutover npm run rehearse -- --world w   the worker dies after that task;
#                                                                  run again with --world w to continue
# The real DAG code runs with MIGRATION_DRY_RUN=1 against the simulated world (DMS contract server,
# fake SQL engine; dags/migration_rehearsal): --world DIR keeps that world between runs (default: a
# new one, removed afterwards). Prints every migration event, each task's final state and the
# run's outcome; --summary FILE writes per database {outcome, target, source} as JSON.
# Exits 1 when the run fails (137 when the simulated crash killed it).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
plan="${MIGRATION_PLAN:-examples/three-databases.yaml}"
world="" summary=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --world) world="$2"; shift 2 ;;
    --summary) summary="$2"; shift 2 ;;
    -*) echo "unknown option $1 (use --world DIR, --summary FILE)" >&2; exit 2 ;;
    *) plan="$1"; shift ;;
  esac
done
# shellcheck source=python-env.sh
source "$repo_root/scripts/python-env.sh"
ensure_venv "$repo_root/.venv" "$(find_python 3.12)" "$repo_root/dags/requirements-airflow3.txt"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
world="$(realpath -m "${world:-$work/world}")"
mkdir -p "$world" "$work/bundle"
cd "$repo_root"
npm run --silent build
# The DAG reads the plan as the stack uploads it: rendered (defaults filled), its schema beside it.
node -e '
const { loadMigrationPlan, renderMigrationPlan, MigrationPlanError } = require("./dist/lib");
try { process.stdout.write(renderMigrationPlan(loadMigrationPlan(process.argv[1]))); }
catch (e) { if (!(e instanceof MigrationPlanError)) throw e; process.stderr.write(e.message + "\n"); process.exit(2); }
' "$plan" > "$work/bundle/migration_plan.json"
cp schema/migration-plan.schema.json "$work/bundle/migration_plan.schema.json"

export AIRFLOW_HOME="$work/airflow" AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__CORE__DAGS_FOLDER="$repo_root/dags" \
  AIRFLOW__CORE__UNIT_TEST_MODE=False MIGRATION_PLAN_PATH="$work/bundle/migration_plan.json" MIGRATION_DRY_RUN=1 \
  MIGRATION_SIMULATION_DIR="$world" MIGRATION_REHEARSAL_EVENTS_FILE="$work/events.jsonl"
python="$repo_root/.venv/bin/python"
"$repo_root/.venv/bin/airflow" db migrate >"$work/db.log" 2>&1 || { cat "$work/db.log" >&2; exit 1; }

echo "Rehearsing $plan in world $world${MIGRATION_SIMULATE_CRASH:+ (crashing after $MIGRATION_SIMULATE_CRASH)}"
status=0
"$python" "$repo_root/scripts/rehearsal_run.py" "$work/result.json" >"$work/run.log" 2>&1 || status=$?
"$python" "$repo_root/scripts/rehearsal_report.py" --events "$work/events.jsonl" --result "$work/result.json" \
  --plan "$work/bundle/migration_plan.json" --world "$world" ${summary:+--summary "$summary"} || [[ $status -ne 0 ]] || status=1
[[ $status -eq 137 ]] && echo "The worker was killed after ${MIGRATION_SIMULATE_CRASH:-?} (simulated crash); run again with --world $world to continue"
if [[ -n "${REHEARSAL_LOG:-}" ]]; then cp "$work/run.log" "$REHEARSAL_LOG"; else echo "Full Airflow log: rerun with REHEARSAL_LOG=<file> to keep it"; fi
exit "$status"
