#!/usr/bin/env bash
# Runs a Node test with the npm packages make setup installed (bazel/npm/package.json) and a
# $HOME of the test's own. Node 18 or later.
set -euo pipefail
. tests/test_home.sh
export NODE_PATH="$PEERLINK_CACHE/npm/node_modules"
[ -d "$NODE_PATH/nice-grpc-web" ] || { echo "npm test clients missing: run make setup" >&2; exit 1; }
exec node "$@"
