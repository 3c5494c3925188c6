#!/usr/bin/env bash
# Builds the browser UI into a static bundle the bridge serves (peerlink-bridge --ui DIR):
#   clients/web/build.sh [OUT_DIR]        (default: clients/web/dist)
# 1. TypeScript from proto/ with protoc-gen-es, through buf generate;
# 2. a type check (tsc; esbuild does not check types);
# 3. one minified bundle with esbuild: OUT_DIR/{index.html,style.css,app.js,app.js.map}.
# The npm tools come from make setup (PEERLINK_CACHE/web); nothing is fetched here, and nothing
# generated or built is written into the source tree except OUT_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$here/dist}
cache=${PEERLINK_CACHE:-$HOME/.cache/peerlink}
modules=$cache/web/node_modules
buf=$cache/npm/node_modules/.bin/buf
for tool in "$modules/.bin/protoc-gen-es" "$modules/.bin/tsc" "$modules/.bin/esbuild" "$buf"; do
  [ -x "$tool" ] || { echo "web build: $tool is missing: run make setup" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/peerlink-web.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -RL "$here/src" "$here/tsconfig.json" "$here/buf.gen.yaml" "$work/"
rm -rf "$work/src/gen"
ln -s "$modules" "$work/node_modules"
# buf reads the module from a real directory (Bazel's runfiles are symlinks).
cp -RL "$root/proto" "$work/proto"

(cd "$work" && PATH="$modules/.bin:$PATH" "$buf" generate proto --template buf.gen.yaml)
"$modules/.bin/tsc" -p "$work/tsconfig.json"
mkdir -p "$out"
"$modules/.bin/esbuild" "$work/src/main.ts" --bundle --minify --sourcemap --target=es2020 \
  --log-level=warning --outfile="$out/app.js"
cp "$work/src/index.html" "$work/src/style.css" "$out/"
echo "web build: $out ($(du -sh "$out/app.js" | cut -f1) app.js)"
