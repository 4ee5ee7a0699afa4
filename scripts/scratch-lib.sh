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
