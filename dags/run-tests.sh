#!/usr/bin/env bash
# Runs the DAG's pytest suite with real Apache Airflow 2.10.5 (called by `npm test`).
# The virtual environment (.venv at the repo root) is created on first use from
# dags/requirements-test.txt and reused while that file's sha256 matches the stamp inside it.
# Extra arguments go to pytest.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dags_dir="$repo_root/dags"
venv="$repo_root/.venv"
requirements="$dags_dir/requirements-test.txt"
stamp="$venv/.requirements-test.sha256"
python="${PYTHON:-python3}"

wanted="$(sha256sum "$requirements" | cut -d ' ' -f 1)"
if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
  if ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "warning: requirements-test.txt was frozen on Python 3.11; $("$python" --version) may not install it" >&2
  fi
  echo "Creating $venv from dags/requirements-test.txt (first run; takes about a minute)"
  started=$SECONDS
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --no-input --disable-pip-version-check -r "$requirements"
  echo "$wanted" > "$stamp"  # written last: an interrupted install is redone next time
  echo "Virtual environment ready in $((SECONDS - started)) s"
fi

cd "$dags_dir"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests "$@"
