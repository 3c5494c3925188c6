#!/usr/bin/env bash
# Runs a NAT lab script with Debian's Python (it sees python3-grpcio; another python3 on PATH
# may not). The lab needs root for network namespaces and nftables: when not root, the test
# says so and passes as skipped; as root (CI), it runs and its result counts.
#   run_py.sh [--any-user] SCRIPT ARGS...   (--any-user: the script does not need root)
set -euo pipefail
. tests/test_home.sh
needs_root=1
if [ "${1:-}" = --any-user ]; then
  needs_root=0
  shift
fi
if [ "$needs_root" = 1 ] && [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: the NAT lab needs root (network namespaces, nftables); running as uid $(id -u)"
  exit 0
fi
export PATH="$PATH:/usr/sbin:/sbin"
export PYTHONDONTWRITEBYTECODE=1
script=$1
shift
export PYTHONPATH="$(dirname "$script")${PYTHONPATH:+:$PYTHONPATH}"
exec /usr/bin/python3 -u "$script" "$@"
