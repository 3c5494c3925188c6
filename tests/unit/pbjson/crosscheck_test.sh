#!/bin/sh
# Runs crosscheck.py with Debian's Python (the one with python3-protobuf).
set -eu
exec /usr/bin/python3 "$2" "$1" "$3" "$4"
