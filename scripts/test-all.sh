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
record() { # name status seconds
  if [[ "$2" -eq 0 ]]; then
    passed=$((passed + 1))
    report+=("  ok    $1 ($3 s)")
  else
    failed+=("$1")
    report+=("  FAIL  $1 ($3 s)")
  fi
}

echo "=== build: npm run -s build"
started=$SECONDS
npm run -s build
record "build" $? $((SECONDS - started))

background_name="${background_step%%|*}"
background_log="$(mktemp)"
trap 'rm -f "$background_log"' EXIT
background_started=$SECONDS
if [[ "${TEST_ALL_SEQUENTIAL:-0}" == 1 ]]; then
  steps+=("$background_step")
  background_pid=""
else
  echo "=== $background_name: ${background_step#*|} (in the background; its output follows the other steps)"
  bash -c "${background_step#*|}" >"$background_log" 2>&1 &
  background_pid=$!
fi

for step in "${steps[@]}"; do
  name="${step%%|*}"
  echo
  echo "=== $name: ${step#*|}"
  started=$SECONDS
  bash -c "${step#*|}"
  record "$name" $? $((SECONDS - started))
done

if [[ -n "$background_pid" ]]; then
  wait "$background_pid"
  status=$?
  echo
  echo "=== $background_name: ${background_step#*|}"
  cat "$background_log"
  record "$background_name" "$status" $((SECONDS - background_started))
fi

echo
echo "=== summary (${SECONDS} s)"
printf '%s\n' "${report[@]}"
echo "test steps: ${passed} passed, ${#failed[@]} failed"
[[ ${#failed[@]} -eq 0 ]]
