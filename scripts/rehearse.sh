#!/usr/bin/env bash
# Rehearses a migration plan end to end in a local Apache Airflow 2.10.5, without Azure:
#   npm run rehearse [-- plan.yaml]                      (default: examples/three-databases.yaml)
#   MIGRATION_SIMULATE_FAILURE=database_2 npm run rehearse
# The DAG runs with MIGRATION_DRY_RUN=1 (simulated DMS, SQL Server and ingestion, real DAG code);
# prints every migration event, each task's final state and the run's outcome. Exits 1 when the run fails.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
plan="${1:-${MIGRATION_PLAN:-examples/three-databases.yaml}}"
# shellcheck source=python-env.sh
source "$repo_root/scripts/python-env.sh"
ensure_venv "$repo_root/.venv" "$(python311)" "$repo_root/dags/requirements-test.txt"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$repo_root"
npm run --silent build
# The DAG reads the plan as the stack uploads it: validated, defaults filled (invalid plans stop here).
node -e '
const { loadMigrationPlan, renderMigrationPlan, MigrationPlanError } = require("./dist/lib");
try { process.stdout.write(renderMigrationPlan(loadMigrationPlan(process.argv[1]))); }
catch (e) { if (!(e instanceof MigrationPlanError)) throw e; process.stderr.write(e.message + "\n"); process.exit(2); }
' "$plan" > "$work/migration_plan.json"

export AIRFLOW_HOME="$work/airflow" AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__CORE__DAGS_FOLDER="$repo_root/dags" \
  AIRFLOW__CORE__UNIT_TEST_MODE=False MIGRATION_PLAN_PATH="$work/migration_plan.json" MIGRATION_DRY_RUN=1 \
  MIGRATION_SIMULATION_DIR="$work/simulation"
airflow="$repo_root/.venv/bin/airflow"
"$airflow" db migrate >"$work/db.log" 2>&1 || { cat "$work/db.log" >&2; exit 1; }

echo "Rehearsing $plan${MIGRATION_SIMULATE_FAILURE:+ (failing: $MIGRATION_SIMULATE_FAILURE)}"
status=0
"$airflow" dags test database_migration_orchestration >"$work/run.log" 2>&1 || status=$?
"$repo_root/.venv/bin/python" "$repo_root/scripts/rehearsal_report.py" "$work/run.log" || status=$?
echo "Full Airflow log: rerun with REHEARSAL_LOG=<file> to keep it"
[[ -n "${REHEARSAL_LOG:-}" ]] && cp "$work/run.log" "$REHEARSAL_LOG"
exit "$status"
