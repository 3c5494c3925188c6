# Sourced by every test wrapper that runs a tool we did not write (buf, npm, Python, later a
# browser). Those tools keep caches and state under $HOME, and under Bazel's sandbox the real
# $HOME is read-only (and on a developer's machine it holds whatever happened to be there), so a
# test that uses it passes or fails by accident. The project's own cache (make setup's buf, the
# bootstrapped libraries) is found first through the real $HOME; then HOME points into this
# test's own temporary directory.
export PEERLINK_CACHE=${PEERLINK_CACHE:-${HOME:-/root}/.cache/peerlink}
if [ -n "${TEST_TMPDIR:-}" ]; then
  export HOME="$TEST_TMPDIR/home"
  export XDG_CACHE_HOME="$HOME/.cache" XDG_CONFIG_HOME="$HOME/.config"
  export BUF_CACHE_DIR="$XDG_CACHE_HOME/buf"
  mkdir -p "$BUF_CACHE_DIR" "$XDG_CONFIG_HOME"
fi
