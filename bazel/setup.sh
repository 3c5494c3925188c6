#!/usr/bin/env bash
# make setup: everything peerlink needs on a fresh Debian bookworm machine, idempotently.
#   1. Debian packages (bazel/packages.txt)
#   2. npm test tools (bazel/npm/package.json: buf, the bridge's test clients) into the cache,
#      and the browser UI's packages (clients/web/package.json) into cache/web
#   3. wolfSSL + ngtcp2 from Debian's source packages (bazel/deps.sh)
# A second run checks and changes nothing, in seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${PEERLINK_CACHE:-$HOME/.cache/peerlink}
mkdir -p "$cache"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- 1. Debian packages -----------------------------------------------------------------
wanted=$(grep -v '^\s*#' "$here/packages.txt" | grep -v '^\s*$')
missing=()
for p in $wanted; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- 2. npm test tools ------------------------------------------------------------------
# Installed again whenever package.json changed (its hash is kept beside the install), so a new
# dependency arrives with the next make setup; buf's version is checked too, in case the cache
# was damaged.
npm_dir="$cache/npm"
buf_version=$(sed -n 's/.*"@bufbuild\/buf": "\(.*\)".*/\1/p' "$here/npm/package.json")
npm_hash=$(sha256sum "$here/npm/package.json" | cut -d' ' -f1)
if [ "$(cat "$npm_dir/.package.json.sha256" 2>/dev/null || true)" != "$npm_hash" ] ||
   [ "$("$npm_dir/node_modules/.bin/buf" --version 2>/dev/null || true)" != "$buf_version" ]; then
  echo "setup: installing npm test tools (bazel/npm/package.json) into $npm_dir"
  mkdir -p "$npm_dir"
  cp "$here/npm/package.json" "$npm_dir/package.json"
  (cd "$npm_dir" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  got=$("$npm_dir/node_modules/.bin/buf" --version)
  [ "$got" = "$buf_version" ] || { echo "setup: buf is $got, wanted $buf_version" >&2; exit 1; }
  echo "$npm_hash" >"$npm_dir/.package.json.sha256"
fi

# --- 2b. the browser UI's npm packages (clients/web/package.json, exact versions) ----------
# The UI build (esbuild, tsc, protoc-gen-es) and its browser test (playwright-core).
web_dir="$cache/web"
web_pkg="$here/../clients/web/package.json"
if ! cmp -s "$web_pkg" "$web_dir/installed.json" ||
   ! (cd "$web_dir" && npm ls --depth=0 >/dev/null 2>&1); then
  echo "setup: installing the web UI's npm packages"
  mkdir -p "$web_dir"
  cp "$web_pkg" "$web_dir/package.json"
  (cd "$web_dir" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  (cd "$web_dir" && npm ls --depth=0 >/dev/null) || { echo "setup: web UI packages incomplete" >&2; exit 1; }
  cp "$web_pkg" "$web_dir/installed.json"
fi

# --- 3. wolfSSL + ngtcp2 ----------------------------------------------------------------
"$here/deps.sh"

echo "setup: ok (cache: $cache)"
