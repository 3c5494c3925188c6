#!/usr/bin/env bash
# Runs a Python test with Debian's interpreter (it sees python3-grpcio; another python3 on PATH
# may not).
set -euo pipefail
. tests/test_home.sh
export PYTHONPATH="$(dirname "$1")${PYTHONPATH:+:$PYTHONPATH}"
exec /usr/bin/python3 -u "$@"
