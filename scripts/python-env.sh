# Shared by the scripts that need a Python virtual environment (source it; it defines functions and the uv pin).

_python_env_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# uv installs the environments: ~10x faster than pip (parallel downloads, no resolver run, a cache of
# its own). Pinned; installed on first use into .venv-uv with pip.
UV_VERSION=0.13.9

# ensure_venv DIR PYTHON REQUIREMENTS: (re)create DIR unless its stamp matches REQUIREMENTS' sha256.
# REQUIREMENTS is a full `pip freeze` (every transitive dependency pinned): it is installed exactly,
# without resolving (--no-deps), and `uv pip check` proves it consistent.
ensure_venv() {
  local venv="$1" python="$2" requirements="$3"
  local stamp="$venv/.requirements.sha256" wanted uv
  wanted="$(sha256sum "$requirements" | cut -d ' ' -f 1)"
  if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    return 0
  fi
  echo "Creating $(basename "$venv") from $(basename "$requirements") with $("$python" --version 2>&1)"
  local started=$SECONDS
  uv="$(uv_command)"
  rm -rf "$venv"
  # uv never removes the lock it takes to build a setuptools source distribution (uv-setuptools-<digest>.lock in the
  # temporary directory: three for a fresh Airflow environment, python-nvd3's, setproctitle's and unicodecsv's, while
  # its cache is empty): a temporary directory of its own, removed after.
  local uv_tmp
  uv_tmp="$(mktemp -d)"
  TMPDIR="$uv_tmp" "$uv" venv --quiet --python "$python" "$venv"
  TMPDIR="$uv_tmp" "$uv" pip install --quiet --python "$venv/bin/python" --no-deps -r "$requirements"
  TMPDIR="$uv_tmp" "$uv" pip check --quiet --python "$venv/bin/python"
  rm -rf "$uv_tmp"
  echo "$wanted" > "$stamp"  # written last: an interrupted install is redone next time
  echo "Virtual environment ready in $((SECONDS - started)) s"
}

# uv_command: the pinned uv, installed into .venv-uv on first use.
uv_command() {
  local tool="$_python_env_root/.venv-uv"
  if [[ "$("$tool/bin/uv" --version 2>/dev/null)" != "uv $UV_VERSION"* ]]; then
    rm -rf "$tool"
    python3 -m venv "$tool" >&2
    "$tool/bin/python" -m pip install --quiet --no-input --disable-pip-version-check "uv==$UV_VERSION" >&2
  fi
  echo "$tool/bin/uv"
}

# find_python MAJOR.MINOR: a python of that version (PATH first, then pyenv), or nothing.
find_python() {
  local version="$1" candidate
  for candidate in "python$version" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/"python$version"; do
    if "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))" 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 0
}

# airflow_environments: the rows of dags/airflow-environments.txt, comments dropped, one a line:
#   hosts airflow python venv requirements runtime marker db_command
airflow_environments() {
  grep -v '^[[:space:]]*\(#\|$\)' "$_python_env_root/dags/airflow-environments.txt"
}

# airflow_environment HOST: the row of the environment that host kind runs on (the first row when none lists it).
airflow_environment() {
  local row first=""
  while IFS= read -r row; do
    first="${first:-$row}"
    if [[ ",${row%%[[:space:]]*}," == *",$1,"* ]]; then
      echo "$row"
      return 0
    fi
  done < <(airflow_environments)
  echo "$first"
}

# python311: the interpreter the pinned requirements files were frozen with (PYTHON overrides).
python311() {
  local found="${PYTHON:-$(find_python 3.11)}"
  if [[ -z "$found" ]]; then
    echo "warning: no Python 3.11 found; the requirements were frozen on 3.11, trying $(python3 --version)" >&2
    found=python3
  fi
  echo "$found"
}
