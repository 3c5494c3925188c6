#!/bin/sh
# Runs crosscheck.py with Debian's Python (standard library only).
set -eu
exec /usr/bin/python3 "$2" "$1"
