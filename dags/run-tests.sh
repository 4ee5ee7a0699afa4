#!/usr/bin/env bash
# Runs the DAG's tests (called by `npm test`), each property at the cheapest level that proves it:
#   0. the test plans are what the TypeScript renderer writes today (dags/tests/plans/render.mjs);
#   1. everything, in the first environment of dags/airflow-environments.txt (Apache Airflow 3.3,
#      the Kubernetes host's);
#   2. in each other environment, the tests of its pytest marker: -m airflow210 (Fabric's Airflow)
#      runs what depends on the Airflow version (DAG structure, operators, rehearsals with a
#      failure and with deferral) and the Data Factory SQL path's contract and the crash matrix's
#      Data Factory rows; not the other task-driver matrices (on the Data Factory path too), which
#      hand every Airflow the same task-instance stand-in;
#      -m airflow26 (Data Factory's, on Python 3.8) runs imports and structure, operators, a
#      rehearsal with a failure, the DMS gateway's REST transport, SQL access through
#      azure-mgmt-datafactory 9.2.0 and a Data Factory crash path; -m airflow31 (the oldest Airflow 3
#      the DAG loads on) runs the DAG's import and structure, operators, rehearsals with a failure
#      and with deferral, and human-in-the-loop approval, which that Airflow defers to HITLTrigger
#      where 3.3 parks the task.
# Each environment is the full pip freeze of Airflow plus that host's runtime requirements (the
# table's runtime column: installing them is the proof they install on that Python) plus pytest,
# created on first use (scripts/python-env.sh) and reused while its file's sha256 matches the
# stamp inside it. A version whose Python is missing is skipped with a message; DAGS_SKIP_<MARKER>=1
# (DAGS_SKIP_AIRFLOW210=1, ...) skips one on purpose. The runs go in parallel (most of their time
# is spent waiting on the simulated servers and on reschedules; DAGS_SERIAL=1 runs them one after
# another); each one's output is printed when it ends. Extra arguments go to the first run.
# Exits non-zero when any step fails.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dags_dir="$repo_root/dags"
# Python may cache bytecode: every run imports Airflow afresh, and recompiling it costs seconds.
unset PYTHONDONTWRITEBYTECODE

# shellcheck source=../scripts/python-env.sh
source "$repo_root/scripts/python-env.sh"

status=0
echo "Test plans rendered by lib/plan: node dags/tests/plans/render.mjs --check"
(cd "$repo_root" && npm run --silent build && node dags/tests/plans/render.mjs --check) || status=1

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
runs=()
# run_version NAME VENV PYTHON_VERSION REQUIREMENTS PYTEST_ARGS...: starts one pytest run; its
# output goes to $logs/N.log and its exit code to $logs/N.code.
run_version() {
  local name="$1" venv="$2" version="$3" requirements="$4" python
  shift 4
  python="$(find_python "$version")"
  if [[ -z "$python" ]]; then
    echo "Skipping $name: no Python $version on this machine"
    return 0
  fi
  ensure_venv "$venv" "$python" "$requirements"
  local run="$logs/${#runs[@]}"
  runs+=("$run")
  (
    started=$SECONDS
    echo "$name / Python $version: pytest $*"
    code=0
    (cd "$dags_dir" && nice -n "${run_niceness:-0}" "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@") || code=$?
    times >"$run.times" # its children's CPU (the second line), read from a file: a pipeline's subshell has no children
    echo "$name: $((SECONDS - started)) s, $(awk 'NR == 2 { split($0, t, /[ms ]+/); printf "%.0f", t[1] * 60 + t[2] + t[3] * 60 + t[4] }' "$run.times") s of CPU"
    echo "$code" >"$run.code"
  ) >"$run.log" 2>&1 &
  [[ "${DAGS_SERIAL:-0}" != "1" ]] || wait
}

mapfile -t environments < <(airflow_environments)
for environment in "${environments[@]}"; do
  read -r _ airflow python_version venv requirements _ marker _ <<<"$environment"
  if [[ "$marker" == "-" ]]; then
    # Three workers on two cores: the suite waits about half its time (dag.test()'s idle second, the simulated
    # servers, real-time cutover windows), so a third overlaps those waits: alone, 361 s against 535 s on two, the
    # CPU the same (~530 s); worksteal hands a worker left with the slow tail's tests to an idle one.
    # At a lower priority: the other runs are one process each, and the longest of them (Data Factory's) ended npm test
    # alone, 48 s after every other step (a fresh clone's npm test at 6ed0a1d: 857 s; this run 758 s, the Node steps
    # 809 s, that one 836 s); yielding to the others when both want a core lets them keep pace while this one fills the
    # gaps (at 5c6295a: 823 s, this run the longest, 807 s; Data Factory's 676 s, the Node steps ~640 s).
    run_niceness=5 run_version "Apache Airflow $airflow" "$repo_root/$venv" "$python_version" "$dags_dir/$requirements" tests -n 3 --dist worksteal "$@"
    continue
  fi
  skip="DAGS_SKIP_${marker^^}"
  if [[ "${!skip:-0}" != "1" ]]; then
    run_version "Apache Airflow $airflow" "$repo_root/$venv" "$python_version" "$dags_dir/$requirements" tests -m "$marker"
  fi
done
wait
for run in "${runs[@]}"; do
  cat "$run.log"
  [[ "$(cat "$run.code" 2>/dev/null)" == "0" ]] || status=1
done
exit "$status"
