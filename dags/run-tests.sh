#!/usr/bin/env bash
# Runs the DAG's pytest suite (called by `npm test`):
#   1. everything, with real Apache Airflow 2.10.5 (Fabric's version) in .venv on Python 3.11;
#   2. the tests marked airflow26 (DAG structure and rehearsals) with Apache Airflow 2.6.3
#      (Data Factory's version) in .venv-airflow26 on Python 3.8, when a Python 3.8 exists.
#      Set DAGS_SKIP_AIRFLOW26=1 to skip it.
# Each virtual environment is created on first use from its pinned requirements file and reused
# while that file's sha256 matches the stamp inside it. Extra arguments go to the first pytest run.
# Exits non-zero when either run fails.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dags_dir="$repo_root/dags"

# shellcheck source=../scripts/python-env.sh
source "$repo_root/scripts/python-env.sh"

ensure_venv "$repo_root/.venv" "$(python311)" "$dags_dir/requirements-test.txt"

cd "$dags_dir"
status=0
"$repo_root/.venv/bin/python" -m pytest -q -p no:cacheprovider tests "$@" || status=$?

if [[ "${DAGS_SKIP_AIRFLOW26:-0}" != "1" ]]; then
  python38="$(find_python 3.8)"
  if [[ -z "$python38" ]]; then
    echo "Skipping the Apache Airflow 2.6.3 check: no Python 3.8 on this machine"
  else
    echo "Apache Airflow 2.6.3 / Python 3.8: tests marked airflow26"
    ensure_venv "$repo_root/.venv-airflow26" "$python38" "$dags_dir/requirements-airflow26.txt"
    "$repo_root/.venv-airflow26/bin/python" -m pytest -q -p no:cacheprovider tests -m airflow26 || status=$?
  fi
fi
exit "$status"
