#!/usr/bin/env bash
# Rehearses a migration plan end to end in a local Apache Airflow of its host's version, without
# Azure, in the environment dags/airflow-environments.txt names for that host (dags/run-tests.sh's).
#   npm run rehearse [-- [plan.yaml] [--world DIR] [--summary FILE]]   (default plan: examples/three-databases.yaml)
#   MIGRATION_SIMULATE_FAILURE=database_2 npm run rehearse        DMS ends that migration Failed
#   MIGRATION_SIMULATE_MISMATCH=database_2 npm run rehearse       validation fails: that database rolls back
#   MIGRATION_SIMULATE_CRASH=database_1:cutover npm run rehearse -- --world w   the worker dies after that task;
#                                                                  run again with --world w to continue
# The real DAG code runs with MIGRATION_DRY_RUN=1 against the simulated world (DMS contract server,
# fake SQL engine, fake Data Factory pipeline-run API for `sqlAccess: dataFactory`;
# dags/migration_rehearsal): --world DIR keeps that world between runs (default: a new one, removed
# afterwards). Prints every migration event, each task's final state and the run's outcome;
# --summary FILE writes per database {outcome, target, source} as JSON.
# Exits 1 when the run fails or a database did not migrate (137 when the simulated crash killed it).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Paths the caller gives (arguments, MIGRATION_PLAN) are relative to where the command was typed:
# INIT_CWD under npm, which runs scripts in the repository (npm --prefix <clone> run rehearse --
# plans/q3.yaml from an app's folder), else the working directory; the default plan is the repository's.
caller="${INIT_CWD:-$PWD}"
from_caller() { if [[ "$1" == /* || "$caller" -ef "$repo_root" ]]; then printf '%s' "$1"; else printf '%s/%s' "$caller" "$1"; fi; }
plan="examples/three-databases.yaml"
# MIGRATION_PLAN as npm run synth and npm run diagram read it (lib/private/caller-path.ts): ends trimmed (a CI
# variable's line break), blank as unset, a relative path from the caller's folder.
shopt -s extglob
plan_variable="${MIGRATION_PLAN:-}"
plan_variable="${plan_variable##+([[:space:]])}"
plan_variable="${plan_variable%%+([[:space:]])}"
if [[ -n "$plan_variable" ]]; then plan="$(from_caller "$plan_variable")"; fi
world="" summary=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --world | --summary)
      [[ $# -ge 2 && -n "$2" ]] || { echo "$1 needs a value (use --world DIR, --summary FILE)" >&2; exit 2; }
      if [[ "$1" == --world ]]; then world="$(from_caller "$2")"; else summary="$(from_caller "$2")"; fi
      shift 2 ;;
    -*) echo "unknown option $1 (use --world DIR, --summary FILE)" >&2; exit 2 ;;
    *) plan="$(from_caller "$1")"; shift ;;
  esac
done
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
catch (e) { if (!(e instanceof MigrationPlanError)) throw e; process.stderr.write(e.report() + "\nNothing was rehearsed.\n"); process.exit(2); }
' "$plan" > "$work/bundle/migration_plan.json"
cp schema/migration-plan.schema.json "$work/bundle/migration_plan.schema.json"
host="$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).airflow.host' "$work/bundle/migration_plan.json")"
# shellcheck source=python-env.sh
source "$repo_root/scripts/python-env.sh"
read -r _ airflow python_version venv requirements _ _ create_db <<<"$(airflow_environment "$host")"
base_python="$(find_python "$python_version")"
[[ -n "$base_python" ]] || { echo "The $host host runs Python $python_version: none found on this machine" >&2; exit 2; }
ensure_venv "$repo_root/$venv" "$base_python" "$repo_root/dags/$requirements"
unset PYTHONDONTWRITEBYTECODE  # Airflow imports faster from cached bytecode

export AIRFLOW_HOME="$work/airflow" AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__CORE__DAGS_FOLDER="$repo_root/dags" \
  AIRFLOW__CORE__UNIT_TEST_MODE=False MIGRATION_PLAN_PATH="$work/bundle/migration_plan.json" MIGRATION_DRY_RUN=1 \
  MIGRATION_SIMULATION_DIR="$world" MIGRATION_REHEARSAL_EVENTS_FILE="$work/events.jsonl"
python="$repo_root/$venv/bin/python"
# shellcheck disable=SC2086 # two words: the subcommand
"$repo_root/$venv/bin/airflow" $create_db >"$work/db.log" 2>&1 || { cat "$work/db.log" >&2; exit 1; }

echo "Rehearsing $plan ($host host: Apache Airflow $airflow, Python $python_version) in world $world${MIGRATION_SIMULATE_CRASH:+ (crashing after $MIGRATION_SIMULATE_CRASH)}"
status=0
"$python" "$repo_root/scripts/rehearsal_run.py" "$work/result.json" >"$work/run.log" 2>&1 || status=$?
if [[ $status -eq 2 ]] && grep -q '^rehearsal refused: ' "$work/run.log"; then
  grep '^rehearsal refused: ' "$work/run.log" >&2
  exit 2
fi
"$python" "$repo_root/scripts/rehearsal_report.py" --events "$work/events.jsonl" --result "$work/result.json" \
  --plan "$work/bundle/migration_plan.json" --world "$world" ${summary:+--summary "$summary"} || [[ $status -ne 0 ]] || status=1
[[ $status -eq 137 ]] && echo "The worker was killed after ${MIGRATION_SIMULATE_CRASH:-?} (simulated crash); run again with --world $world to continue"
if [[ -n "${REHEARSAL_LOG:-}" ]]; then cp "$work/run.log" "$(from_caller "$REHEARSAL_LOG")"; else echo "Full Airflow log: rerun with REHEARSAL_LOG=<file> to keep it"; fi
exit "$status"
