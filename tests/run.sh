#!/usr/bin/env bash
# Runs every Bazel test and ends with the line "N passed, N failed" (one count per test target
# and configuration).
#   tests/run.sh            the plain build, then the same tests under ASan+UBSan
#   tests/run.sh plain|asan only that configuration
set -uo pipefail
cd "$(dirname "$0")/.."
configs=${1:-plain asan}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
total_passed=0 total_failed=0 rc_all=0
for c in $configs; do
  args=()
  [ "$c" = asan ] && args=(--config=asan)
  echo "== tests: $c"
  bazel test "${args[@]}" //... 2>&1 | tee "$log" | grep -v 'linux-sandbox'
  rc=${PIPESTATUS[0]}
  passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
  failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|FLAKY|NO STATUS|INCOMPLETE)' "$log")
  # A build failure leaves tests unrun: count it so it cannot pass silently.
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  [ "$rc" -ne 0 ] && rc_all=1
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
done
echo "$total_passed passed, $total_failed failed"
[ "$rc_all" -eq 0 ] && [ "$total_failed" -eq 0 ]
