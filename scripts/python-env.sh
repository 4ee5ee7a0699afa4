# Shared by the scripts that need a Python virtual environment (source it; it defines functions only).

# ensure_venv DIR PYTHON REQUIREMENTS: (re)create DIR unless its stamp matches REQUIREMENTS' sha256.
ensure_venv() {
  local venv="$1" python="$2" requirements="$3"
  local stamp="$venv/.requirements.sha256" wanted
  wanted="$(sha256sum "$requirements" | cut -d ' ' -f 1)"
  if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    return 0
  fi
  echo "Creating $(basename "$venv") from $(basename "$requirements") with $("$python" --version 2>&1)"
  local started=$SECONDS
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --no-input --disable-pip-version-check -r "$requirements"
  echo "$wanted" > "$stamp"  # written last: an interrupted install is redone next time
  echo "Virtual environment ready in $((SECONDS - started)) s"
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

# python311: the interpreter the pinned requirements files were frozen with (PYTHON overrides).
python311() {
  local found="${PYTHON:-$(find_python 3.11)}"
  if [[ -z "$found" ]]; then
    echo "warning: no Python 3.11 found; the requirements were frozen on 3.11, trying $(python3 --version)" >&2
    found=python3
  fi
  echo "$found"
}
