# Shared by the scripts that build throwaway projects (consumer test, CDK Terrain test). Source it.

# An `npm run` parent exports its project as npm_config_local_prefix / npm_package_*: drop them
# so nothing in the throwaway project can fall back on the repository.
drop_npm_project_env() {
  local name
  while read -r name; do unset "$name"; done < <(compgen -e | grep -E '^npm_(config_local_prefix|package_|lifecycle_)' || true)
}

# Scratch space: $TMPDIR if set; else /dev/shm when it has room (a RAM disk: installing and
# deleting a few hundred MB of node_modules there takes seconds instead of half a minute); else /tmp.
scratch_parent() {
  if [[ -n "${TMPDIR:-}" ]]; then
    echo "$TMPDIR"
  elif [[ -d /dev/shm && -w /dev/shm ]] && (( $(df -Pk /dev/shm | awk 'NR == 2 { print $4 }') > 3 * 1024 * 1024 )); then
    echo /dev/shm
  else
    echo /tmp
  fi
}

# left_in FOLDER: what a step left in its temporary folder, as npm test's summary names it: the count, then the count of
# each name with mkdtemp's random part as *, the five most common ("3 (2 cdktf.outdir.*, 1 tmp.*)"); nothing when it
# left nothing. pytest's pytest-of-<user>, which a passing DAG test run leaves empty (dags/pytest.ini:
# tmp_path_retention_policy = failed), is not counted.
left_in() {
  local names
  names="$(find "$1" -mindepth 1 -maxdepth 1 ! \( -name 'pytest-of-*' -empty \) -printf '%f\n' | sort)"
  [[ -n "$names" ]] || return 0
  echo "$(wc -l <<<"$names") ($(sed -E 's/([.-])[A-Za-z0-9_]{6,}(\.[a-z]{1,4})?$/\1*\2/' <<<"$names" | sort | uniq -c | sort -k1,1nr -k2 | head -5 |
    awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }'))"
}

# phase NAME: closes the timing of the current step (globals step, phase_started, timings, label).
phase() {
  if [[ "$step" != setup ]]; then timings+=("$step $((SECONDS - phase_started))s"); fi
  step="$1"
  phase_started=$SECONDS
  echo "== $label: $step"
}

# locked PACKAGE: the version of PACKAGE in the repository's package-lock.json (needs $repo_root).
locked() {
  node -e '
    const lock = require(process.argv[1]);
    const entry = lock.packages && lock.packages["node_modules/" + process.argv[2]];
    if (!entry || !entry.version) { console.error("not in package-lock.json: " + process.argv[2]); process.exit(1); }
    console.log(entry.version);
  ' "$repo_root/package-lock.json" "$1"
}
