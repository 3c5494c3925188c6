#!/usr/bin/env bash
# Runs a browser test of the UI: run_ui.sh PROGRAM ARGS... (node, or Debian's python3 for the
# lab half). Tools get their $HOME inside the test (test_home.sh); node finds the npm packages
# make setup installed (PEERLINK_CACHE/web); the UI bundle is built fresh from the sources in
# the runfiles, so the test always exercises the code under review.
set -euo pipefail
. tests/test_home.sh
export NODE_PATH=$PEERLINK_CACHE/web/node_modules
[ -d "$NODE_PATH/playwright-core" ] || { echo "run_ui: $NODE_PATH has no playwright-core: run make setup" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "run_ui: /usr/bin/chromium is missing: run make setup" >&2; exit 1; }
export PEERLINK_UI_DIR=${TEST_TMPDIR:-$(mktemp -d)}/ui
bash clients/web/build.sh "$PEERLINK_UI_DIR"
# The lab half: ip and nft live in sbin; its Python library sits in tests/lab.
export PATH="$PATH:/usr/sbin:/sbin" PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH="$PWD/tests/lab${PYTHONPATH:+:$PYTHONPATH}"
exec "$@"
