#!/usr/bin/env bash
# Runs the DAG's pytest suite (called by `npm test`) on the three Airflow versions the DAG supports:
#   1. everything, with Apache Airflow 3.3.2 (the Kubernetes host's) in .venv on Python 3.12;
#   2. the tests whose outcome depends on the Airflow version (DAG structure, operators, the
#      crash matrices and steps, rehearsals) with Apache Airflow 2.10.5 (Fabric's) in
#      .venv-airflow210 on Python 3.12 (the rest runs on the same Python in step 1);
#   3. the tests marked airflow26 with Apache Airflow 2.6.3 (Data Factory's) in .venv-airflow26 on
#      Python 3.8.
# Each environment is the full pip freeze of Airflow plus that host's runtime requirements
# (requirements.txt, requirements-fabric.txt, requirements-data-factory.txt: installing them is the
# proof they install on that Python) plus pytest. It is created on first use and reused while its
# file's sha256 matches the stamp inside it. A version whose Python is missing is skipped with a
# message; DAGS_SKIP_AIRFLOW210=1 / DAGS_SKIP_AIRFLOW26=1 skip one on purpose. Extra arguments go to
# the first run. Exits non-zero when any run fails.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dags_dir="$repo_root/dags"

# shellcheck source=../scripts/python-env.sh
source "$repo_root/scripts/python-env.sh"

status=0
run_version() {  # NAME VENV PYTHON_VERSION REQUIREMENTS PYTEST_ARGS...
  local name="$1" venv="$2" version="$3" requirements="$4" python started
  shift 4
  python="$(find_python "$version")"
  if [[ -z "$python" ]]; then
    echo "Skipping $name: no Python $version on this machine"
    return 0
  fi
  ensure_venv "$venv" "$python" "$requirements"
  echo "$name / Python $version: pytest $*"
  started=$SECONDS
  (cd "$dags_dir" && "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@") || status=$?
  echo "$name: $((SECONDS - started)) s"
}

run_version "Apache Airflow 3.3.2" "$repo_root/.venv" 3.12 "$dags_dir/requirements-airflow3.txt" tests "$@"
if [[ "${DAGS_SKIP_AIRFLOW210:-0}" != "1" ]]; then
  run_version "Apache Airflow 2.10.5" "$repo_root/.venv-airflow210" 3.12 "$dags_dir/requirements-airflow210.txt" \
    tests/test_dag_structure.py tests/test_operators.py tests/test_crash_matrix.py tests/test_steps.py tests/test_rehearsal.py \
    -m "airflow26 or airflow210" -k "not data_factory"  # SQL access does not depend on the Airflow version
fi
if [[ "${DAGS_SKIP_AIRFLOW26:-0}" != "1" ]]; then
  run_version "Apache Airflow 2.6.3" "$repo_root/.venv-airflow26" 3.8 "$dags_dir/requirements-airflow26.txt" tests -m airflow26
fi
exit "$status"
