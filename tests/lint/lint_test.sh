#!/usr/bin/env bash
# Style gates that run with every `make test`: clang-format on every C file in git, and
# `buf lint` on the protos. Runs against the source tree (tagged local: unsandboxed).
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
cd "$root"
. tests/test_home.sh
buf=${PEERLINK_CACHE:-$HOME/.cache/peerlink}/npm/node_modules/.bin/buf
case "${1:-}" in
format)
  files=$(git ls-files '*.c' '*.h')
  [ -n "$files" ] || { echo "no C files found in $root" >&2; exit 1; }
  # shellcheck disable=SC2086
  clang-format --dry-run --Werror $files
  echo "clang-format: $(wc -w <<<"$files") files clean"
  ;;
buf)
  "$buf" lint proto
  echo "buf lint: clean"
  ;;
layers)
  /usr/bin/python3 tests/lint/layers_test.py "$root"
  ;;
*)
  echo "usage: lint_test.sh format|buf|layers" >&2
  exit 2
  ;;
esac
