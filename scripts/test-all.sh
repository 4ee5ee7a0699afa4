#!/usr/bin/env bash
# `npm test`: every check of the project. Each step runs even when an earlier one failed, so one
# run shows every problem; the closing line counts the steps and the exit code is non-zero when
# any failed.
#
# The library is built once, first, by `npm pack` (its prepack builds dist/ from nothing): the steps that read dist/
# (the DAG tests' plan check, the diagram, validate) then run it as it is, no two builds write dist/ at the same time,
# and the consumer and CDK Terrain tests install that tarball (CONSUMER_TARBALLS below) instead of packing, and so
# building, again. The DAG
# tests start next and run beside the Node steps, so the two halves share the machine instead of
# queueing; their output is printed in one piece when they end. TEST_ALL_SEQUENTIAL=1 runs
# everything in order.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The steps name the repository's files (the diagram's --out README.md): read from here, not from the folder npm
# test was typed in (INIT_CWD, which the app and scripts read paths from).
unset INIT_CWD

build_step="build (npm pack)|bash scripts/consumer-test.sh --pack"
background_step="DAG tests (Airflow 3.3, 3.1, 2.10.5 and 2.6.3)|bash dags/run-tests.sh"
steps=(
  "lint|npm run -s lint"
  "typecheck|npm run -s typecheck"
  "API reference (TypeDoc, warnings as errors)|npm run -s docs"
  "jest (unit suite)|npx jest --ci"
  "jest (property-based plan tests, KQL, package contents, README and docs/ TypeScript blocks, Fabric uploader)|npx jest --ci -c jest.slow.config.js"
  "diagram in README is current|node dist/scripts/diagram.js --out README.md --check"
  "terraform validate with the real providers|node dist/scripts/validate.js"
  "checkov|bash scripts/checkov.sh --built"
  "consumer test (packed tarball)|bash scripts/consumer-test.sh"
  "CDK Terrain|bash scripts/cdktn-test.sh"
)

passed=0
failed=()
report=()
cpu_dir="$(mktemp -d)"
# Each step's temporary files in a folder of its own (its TMPDIR), all in one folder for the run, made where the
# consumer and CDK Terrain tests make their scratch folders when run alone (scratch-lib.sh: $TMPDIR if set, else
# /dev/shm when it has room, else /tmp), so they install where they did. Each step removes what it makes; the summary
# names what a passing step left in its folder and fails (its "temporary files:" line), and keeps a failed
# step's folder for whoever reads the failure. jest's cache stays where jest keeps it when run alone (jest.config.js
# reads JEST_CACHE_DIRECTORY): in each step's folder it would begin cold every run (6 s more for the unit suite).
# shellcheck source=scratch-lib.sh
source scripts/scratch-lib.sh
JEST_CACHE_DIRECTORY="$(node -p "require('jest-config').defaults.cacheDirectory" 2>/dev/null)" && export JEST_CACHE_DIRECTORY
run_tmp="$(mktemp -d "$(scratch_parent)/adm-npm-test.XXXXXX")"
# The tarball the build step packs, for the consumer and CDK Terrain tests while the repository's files are the same
# (consumer-test.sh's CONSUMER_TARBALLS): one npm pack, whose prepack builds the library from nothing, not three.
export CONSUMER_TARBALLS="$run_tmp/tarballs"
keep_run_tmp=""
trap 'rm -rf "$cpu_dir"; [[ -n "$keep_run_tmp" ]] || rm -rf "$run_tmp"' EXIT
step_tmp_dirs=() # "name|folder|status" for each step, in the order they ended
# step_tmpdir ID: a new empty folder for one step's TMPDIR.
step_tmpdir() { mkdir "$run_tmp/$1" && echo "$run_tmp/$1"; }
# run_measured FILE TMPDIR COMMAND: runs COMMAND with TMPDIR and writes the CPU seconds (user + system) of everything it
# ran and waited for to FILE: the machine has few cores and the steps share them, so a step's CPU, not its wall time,
# says what it costs.
run_measured() {
  (
    export TMPDIR="$2"
    bash -c "$3"
    status=$?
    times >"$1.times" # not in a pipeline: a pipeline's subshell has no children of its own
    cpu_seconds <"$1.times" >"$1"
    exit "$status"
  )
}
# cpu_seconds: the children's user + system seconds from the output of `times`.
cpu_seconds() { awk 'NR == 2 { split($0, t, /[ms ]+/); printf "%.0f\n", t[1] * 60 + t[2] + t[3] * 60 + t[4] }'; }
record() { # name status seconds cpu-file [tmpdir]
  local cpu=""
  [[ -z "${5:-}" ]] || step_tmp_dirs+=("$1|$5|$2")
  [[ -s "${4:-}" ]] && cpu=", $(cat "$4") s of CPU"
  if [[ "$2" -eq 0 ]]; then
    passed=$((passed + 1))
    report+=("  ok    $1 ($3 s$cpu)")
  else
    failed+=("$1")
    report+=("  FAIL  $1 ($3 s$cpu)")
  fi
}

echo "=== ${build_step%%|*}: ${build_step#*|}"
started=$SECONDS
build_tmp="$(step_tmpdir build)"
run_measured "$cpu_dir/build" "$build_tmp" "${build_step#*|}"
record "${build_step%%|*}" $? $((SECONDS - started)) "$cpu_dir/build" "$build_tmp"

background_name="${background_step%%|*}"
background_log="$cpu_dir/background.log"
background_started=$SECONDS
if [[ "${TEST_ALL_SEQUENTIAL:-0}" == 1 ]]; then
  steps+=("$background_step")
  background_pid=""
else
  echo "=== $background_name: ${background_step#*|} (in the background; its output follows the other steps)"
  background_tmp="$(step_tmpdir background)"
  run_measured "$cpu_dir/background" "$background_tmp" "${background_step#*|}" >"$background_log" 2>&1 &
  background_pid=$!
fi

for index in "${!steps[@]}"; do
  step="${steps[$index]}"
  name="${step%%|*}"
  echo
  echo "=== $name: ${step#*|}"
  started=$SECONDS
  step_tmp="$(step_tmpdir "step-$index")"
  run_measured "$cpu_dir/step-$index" "$step_tmp" "${step#*|}"
  record "$name" $? $((SECONDS - started)) "$cpu_dir/step-$index" "$step_tmp"
done

if [[ -n "$background_pid" ]]; then
  wait "$background_pid"
  status=$?
  echo
  echo "=== $background_name: ${background_step#*|}"
  cat "$background_log"
  record "$background_name" "$status" $((SECONDS - background_started)) "$cpu_dir/background" "$background_tmp"
fi

# What the steps left in their temporary folders (scratch-lib.sh's left_in).
left_behind=()
kept=()
for entry in "${step_tmp_dirs[@]}"; do
  IFS='|' read -r name folder status <<<"$entry"
  left="$(left_in "$folder")"
  if [[ -z "$left" ]]; then
    continue
  elif [[ "$status" -ne 0 ]]; then
    kept+=("$folder")
  else
    left_behind+=("$name left $left")
  fi
done
if [[ ${#left_behind[@]} -eq 0 ]]; then
  temporary_files="temporary files: none left behind"
else
  temporary_files="temporary files: FAIL: $(IFS=';'; echo "${left_behind[*]}" | sed 's/;/; /g'); each step must remove what it makes"
fi
if [[ ${#kept[@]} -ne 0 ]]; then
  keep_run_tmp=1
  echo
  echo "The failed steps' temporary files are kept for reading their failures; remove them when done: ${kept[*]}"
  for entry in "${step_tmp_dirs[@]}"; do
    IFS='|' read -r _ folder _ <<<"$entry"
    [[ " ${kept[*]} " == *" $folder "* ]] || rm -rf "$folder"
  done
  rm -rf "$CONSUMER_TARBALLS"
fi

echo
times >"$cpu_dir/all.times"
echo "=== summary (${SECONDS} s, $(cpu_seconds <"$cpu_dir/all.times") s of CPU)"
printf '%s\n' "${report[@]}"
echo "test steps: ${passed} passed, ${#failed[@]} failed"
echo "$temporary_files"
[[ ${#failed[@]} -eq 0 && ${#left_behind[@]} -eq 0 ]]
