#!/usr/bin/env bash
# `npm test`: every check of the project. Each step runs even when an earlier one failed, so one
# run shows every problem; the closing line counts the steps and the exit code is non-zero when
# any failed.
#
# The library is built once, first: the steps that read dist/ (the DAG tests' plan check, the
# diagram, validate) then run it as it is, and no two builds write dist/ at the same time. The DAG
# tests start next and run beside the Node steps, so the two halves share the machine instead of
# queueing; their output is printed in one piece when they end. TEST_ALL_SEQUENTIAL=1 runs
# everything in order.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The steps name the repository's files (the diagram's --out README.md): read from here, not from the folder npm
# test was typed in (INIT_CWD, which the app and scripts read paths from).
unset INIT_CWD

build_step="build|npm run -s build"
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
trap 'rm -rf "$cpu_dir"' EXIT
# run_measured FILE COMMAND: runs COMMAND and writes the CPU seconds (user + system) of everything it ran and waited for
# to FILE: the machine has few cores and the steps share them, so a step's CPU, not its wall time, says what it costs.
run_measured() {
  (
    bash -c "$2"
    status=$?
    times >"$1.times" # not in a pipeline: a pipeline's subshell has no children of its own
    cpu_seconds <"$1.times" >"$1"
    exit "$status"
  )
}
# cpu_seconds: the children's user + system seconds from the output of `times`.
cpu_seconds() { awk 'NR == 2 { split($0, t, /[ms ]+/); printf "%.0f\n", t[1] * 60 + t[2] + t[3] * 60 + t[4] }'; }
record() { # name status seconds cpu-file
  local cpu=""
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
run_measured "$cpu_dir/build" "${build_step#*|}"
record "${build_step%%|*}" $? $((SECONDS - started)) "$cpu_dir/build"

background_name="${background_step%%|*}"
background_log="$cpu_dir/background.log"
background_started=$SECONDS
if [[ "${TEST_ALL_SEQUENTIAL:-0}" == 1 ]]; then
  steps+=("$background_step")
  background_pid=""
else
  echo "=== $background_name: ${background_step#*|} (in the background; its output follows the other steps)"
  run_measured "$cpu_dir/background" "${background_step#*|}" >"$background_log" 2>&1 &
  background_pid=$!
fi

for index in "${!steps[@]}"; do
  step="${steps[$index]}"
  name="${step%%|*}"
  echo
  echo "=== $name: ${step#*|}"
  started=$SECONDS
  run_measured "$cpu_dir/step-$index" "${step#*|}"
  record "$name" $? $((SECONDS - started)) "$cpu_dir/step-$index"
done

if [[ -n "$background_pid" ]]; then
  wait "$background_pid"
  status=$?
  echo
  echo "=== $background_name: ${background_step#*|}"
  cat "$background_log"
  record "$background_name" "$status" $((SECONDS - background_started)) "$cpu_dir/background"
fi

echo
times >"$cpu_dir/all.times"
echo "=== summary (${SECONDS} s, $(cpu_seconds <"$cpu_dir/all.times") s of CPU)"
printf '%s\n' "${report[@]}"
echo "test steps: ${passed} passed, ${#failed[@]} failed"
[[ ${#failed[@]} -eq 0 ]]
