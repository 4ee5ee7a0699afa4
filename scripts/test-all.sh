#!/usr/bin/env bash
# `npm test`: every check of the project, in order. Each step runs even when an earlier one failed,
# so one run shows every problem; the closing line counts the steps and the exit code is non-zero
# when any failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

steps=(
  "lint|npm run -s lint"
  "typecheck|npm run -s typecheck"
  "jest (unit suite)|npx jest --ci"
  "jest (property-based plan tests, package contents)|npx jest --ci -c jest.slow.config.js"
  "diagram in README is current|npm run -s diagram -- --out README.md --check"
  "terraform validate with the real providers|npm run -s validate"
  "DAG tests (Airflow 2.10.5 and 2.6.3)|bash dags/run-tests.sh"
  "checkov|bash scripts/checkov.sh"
  "consumer test (packed tarball)|bash scripts/consumer-test.sh"
  "CDK Terrain|bash scripts/cdktn-test.sh"
)

passed=0
failed=()
report=()
for step in "${steps[@]}"; do
  name="${step%%|*}"
  command="${step#*|}"
  echo
  echo "=== $name: $command"
  started=$SECONDS
  if bash -c "$command"; then
    passed=$((passed + 1))
    report+=("  ok    $name ($((SECONDS - started)) s)")
  else
    failed+=("$name")
    report+=("  FAIL  $name ($((SECONDS - started)) s)")
  fi
done

echo
echo "=== summary"
printf '%s\n' "${report[@]}"
echo "test steps: ${passed} passed, ${#failed[@]} failed"
[[ ${#failed[@]} -eq 0 ]]
