#!/usr/bin/env bash
# make fuzz: builds every libFuzzer target with clang (ASan+UBSan) in a separate Bazel output
# base and runs each for a bounded time on a copy of its seed corpus.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
cache=${PEERLINK_CACHE:-$HOME/.cache/peerlink}
bazel_fuzz=(bazel --output_base="$cache/bazel-fuzz")
targets=$("${bazel_fuzz[@]}" query 'attr(tags, "fuzz", //tests/fuzz/...)' 2>/dev/null)
# --symlink_prefix=/: leave the bazel-* links of the normal build alone.
"${bazel_fuzz[@]}" build --symlink_prefix=/ --repo_env=CC=clang --config=fuzz $targets
bin=$("${bazel_fuzz[@]}" info --repo_env=CC=clang --config=fuzz bazel-bin 2>/dev/null)
failed=0
for t in $targets; do
  name=${t##*:}
  work=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
  echo "fuzz: $name for ${seconds}s"
  if ! "$bin/tests/fuzz/$name" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$work/crash-" "$work" >"$work/log" 2>&1; then
    echo "fuzz: $name FAILED; log and crash input in $work" >&2
    tail -30 "$work/log" >&2
    failed=1
  else
    grep -E 'stat::number_of_executed_units|cov:' "$work/log" | tail -2
    rm -rf "$work"
  fi
done
exit $failed
