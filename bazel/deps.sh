#!/usr/bin/env bash
# Builds wolfSSL (with QUIC) and ngtcp2 (with its wolfSSL crypto helper) from Debian bookworm's
# source packages into a cache prefix outside the work tree, which bazel/deps.bzl exposes as
# @peerlink_deps. Debian's binary packages cannot be used: libwolfssl lacks QUIC and libngtcp2
# has only the GnuTLS crypto backend.
#
# Idempotent: when the prefix holds a build of the pinned versions with the same flags (the
# stamp file) and it still verifies, this finishes in seconds and changes nothing.
#
# Environment:
#   PEERLINK_DEPS_PREFIX  install prefix (default $HOME/.cache/peerlink/deps); bazel/deps.bzl
#                         reads the same variable
#   PEERLINK_DEPS_SRC     where source packages are downloaded and built
#                         (default ${PEERLINK_CACHE:-$HOME/.cache/peerlink}/src)
#   PEERLINK_DEPS_FORCE=1 rebuild even when the stamp matches
# Needs root the first time only (adds a deb-src entry and runs apt-get update).
set -euo pipefail

readonly WOLFSSL_VERSION=5.5.4
readonly NGTCP2_VERSION=0.12.1
# Bump when the recipe changes in a way the flags below do not show.
readonly RECIPE=2

PREFIX=${PEERLINK_DEPS_PREFIX:-$HOME/.cache/peerlink/deps}
SRC=${PEERLINK_DEPS_SRC:-${PEERLINK_CACHE:-$HOME/.cache/peerlink}/src}
JOBS=$(nproc)

# -fPIC (via --with-pic) so the static archives link into PIE executables and shared objects.
readonly COMMON_CFLAGS="-O2 -g -fPIC"
readonly WOLFSSL_FLAGS="--enable-all --enable-quic --enable-aesni --enable-intelasm --enable-sp --enable-sp-asm \
--enable-harden --disable-examples --disable-crypttests --enable-static --disable-shared --with-pic"
readonly NGTCP2_FLAGS="--with-wolfssl --without-openssl --without-gnutls --without-boringssl \
--without-picotls --without-libnghttp3 --without-libev --without-jemalloc --enable-lib-only \
--enable-static --disable-shared --with-pic"

STAMP="$PREFIX/.peerlink-deps.stamp"
# Marks a prefix this script owns, so a rebuild may empty it (never a prefix it did not make).
OWNER="$PREFIX/.peerlink-deps"

log() { printf 'deps: %s\n' "$*"; }
die() {
  printf 'deps: ERROR: %s\n' "$*" >&2
  exit 1
}

expected_stamp() {
  printf 'recipe=%s\n' "$RECIPE"
  printf 'wolfssl=%s\nwolfssl_configure=%s\n' "$WOLFSSL_VERSION" "$WOLFSSL_FLAGS"
  printf 'ngtcp2=%s\nngtcp2_configure=%s\n' "$NGTCP2_VERSION" "$NGTCP2_FLAGS"
  printf 'cflags=%s\n' "$COMMON_CFLAGS"
}

# --- verification (cheap; runs on every invocation) ------------------------------------------

# Prints nothing and returns 0 when the prefix is usable; otherwise prints what is wrong.
verify() {
  local f problems=0
  if ! grep -qE '^#define WOLFSSL_QUIC\b' "$PREFIX/include/wolfssl/options.h" 2>/dev/null; then
    echo "WOLFSSL_QUIC is not defined in $PREFIX/include/wolfssl/options.h"
    problems=1
  fi
  for f in lib/libwolfssl.a lib/libngtcp2.a lib/libngtcp2_crypto_wolfssl.a \
    include/ngtcp2/ngtcp2.h include/ngtcp2/ngtcp2_crypto.h include/ngtcp2/ngtcp2_crypto_wolfssl.h; do
    if [[ ! -s "$PREFIX/$f" ]]; then
      echo "missing $PREFIX/$f"
      problems=1
    fi
  done
  ((problems == 0)) || return 1

  local tmp rc=0
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" RETURN
  cat >"$tmp/check.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_wolfssl.h>

int main(void) {
  if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
    fprintf(stderr, "wolfSSL_Init failed\n");
    return 1;
  }
  WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
  if (ctx == NULL) {
    fprintf(stderr, "wolfSSL_CTX_new(wolfTLSv1_3_client_method()) failed\n");
    return 1;
  }
  /* ABI: the library's idea of sizeof(ecc_key) must not exceed ours (options.h complete);
   * wc_ecc_init clears the whole struct as the library sees it. */
  struct {
    ecc_key key;
    unsigned char canary[512];
  } abi;
  memset(abi.canary, 0xa5, sizeof(abi.canary));
  if (wc_ecc_init(&abi.key) != 0) {
    fprintf(stderr, "wc_ecc_init failed\n");
    return 1;
  }
  wc_ecc_free(&abi.key);
  for (size_t i = 0; i < sizeof(abi.canary); i++) {
    if (abi.canary[i] != 0xa5) {
      fprintf(stderr, "options.h does not match the library: wolfSSL writes past sizeof(ecc_key)\n");
      return 1;
    }
  }
  if (ngtcp2_crypto_wolfssl_configure_client_context(ctx) != 0) {
    fprintf(stderr, "ngtcp2_crypto_wolfssl_configure_client_context failed\n");
    return 1;
  }
  const ngtcp2_info *info = ngtcp2_version(0);
  if (info == NULL) {
    fprintf(stderr, "ngtcp2_version(0) returned NULL\n");
    return 1;
  }
  printf("%s %s\n", LIBWOLFSSL_VERSION_STRING, info->version_str);
  wolfSSL_CTX_free(ctx);
  wolfSSL_Cleanup();
  return 0;
}
EOF
  if ! gcc -std=gnu11 -Wall -Wextra -Werror -I"$PREFIX/include" "$tmp/check.c" -o "$tmp/check" \
    -L"$PREFIX/lib" -lngtcp2_crypto_wolfssl -lngtcp2 -lwolfssl -lm -lpthread \
    >"$tmp/log" 2>&1; then
    echo "a test program using wolfSSL + ngtcp2_crypto_wolfssl does not compile or link:"
    sed 's/^/    /' "$tmp/log" | head -20
    return 1
  fi
  local out
  if ! out=$("$tmp/check" 2>&1); then
    echo "the wolfSSL + ngtcp2 test program fails: $out"
    return 1
  fi
  if [[ "$out" != "$WOLFSSL_VERSION $NGTCP2_VERSION" ]]; then
    echo "the prefix holds '$out', expected wolfSSL $WOLFSSL_VERSION and ngtcp2 $NGTCP2_VERSION"
    return 1
  fi
  # Every object must be position independent, or linking into a shared object fails.
  if ! gcc -shared -o "$tmp/pic.so" -Wl,--whole-archive "$PREFIX/lib/libwolfssl.a" \
    "$PREFIX/lib/libngtcp2.a" "$PREFIX/lib/libngtcp2_crypto_wolfssl.a" \
    -Wl,--no-whole-archive -lm -lpthread >"$tmp/log" 2>&1; then
    echo "the static archives are not position independent (cannot link into a shared object):"
    sed 's/^/    /' "$tmp/log" | head -10
    rc=1
  fi
  return $rc
}

# --- source packages ------------------------------------------------------------------------

# True when some apt source file already has a deb-src entry for bookworm.
have_deb_src() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    grep -qE '^[[:space:]]*deb-src[[:space:]].*[[:space:]]bookworm[[:space:]].*\bmain\b' "$f" &&
      return 0
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    # deb822: one stanza per paragraph; look for Types with deb-src and Suites with bookworm.
    awk 'BEGIN { RS = ""; IGNORECASE = 1; found = 0 }
         /(^|\n)Types:[^\n]*deb-src/ && /(^|\n)Suites:[^\n]*bookworm([ \t\n]|$)/ &&
         !/(^|\n)Enabled:[ \t]*no/ { found = 1 }
         END { exit !found }' "$f" && return 0
  done
  return 1
}

# The mirror URL that the existing binary sources use for bookworm main.
debian_mirror() {
  local f url
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    url=$(awk 'BEGIN { RS = "" }
      /(^|\n)Types:[^\n]*deb/ && /(^|\n)Suites:[^\n]*bookworm([ \t\n]|$)/ &&
      /(^|\n)Components:[^\n]*main/ && !/(^|\n)Enabled:[ \t]*no/ {
        n = split($0, lines, "\n")
        for (i = 1; i <= n; i++) if (lines[i] ~ /^URIs:/) {
          sub(/^URIs:[ \t]*/, "", lines[i]); split(lines[i], u, /[ \t]+/); print u[1]; exit
        }
      }' "$f")
    [[ -n "$url" ]] && {
      echo "$url"
      return 0
    }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    # deb [options] URL bookworm main ...
    url=$(sed -nE 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+bookworm[[:space:]].*\bmain\b.*/\2/p' "$f" | head -1)
    [[ -n "$url" ]] && {
      echo "$url"
      return 0
    }
  done
  return 1
}

ensure_deb_src() {
  if have_deb_src; then
    # The entry exists; fetch its index only if apt has never seen it.
    if ! apt-cache showsrc wolfssl 2>/dev/null | grep -q '^Package:'; then
      log "deb-src entry present but not indexed: apt-get update"
      apt-get update -qq || die "apt-get update failed"
    fi
    return 0
  fi
  local mirror file=/etc/apt/sources.list.d/peerlink-bookworm-src.sources
  mirror=$(debian_mirror) || die "no apt source for bookworm main found in /etc/apt/sources.list*; cannot derive a deb-src mirror"
  [[ -w /etc/apt/sources.list.d ]] || die "need root to add $file (deb-src for bookworm main)"
  log "adding deb-src for bookworm main ($mirror) in $file"
  cat >"$file" <<EOF
# Added by peerlink bazel/deps.sh: source packages for wolfSSL and ngtcp2.
Types: deb-src
URIs: $mirror
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  log "apt-get update"
  apt-get update -qq || die "apt-get update failed after adding $file"
}

# Debian version of source package $1 whose upstream version is $2; fails loudly otherwise.
debian_version() {
  local pkg=$1 want=$2 versions v up
  versions=$(apt-cache showsrc "$pkg" 2>/dev/null | awk '/^Version:/ { print $2 }')
  [[ -n "$versions" ]] || die "apt knows no source package '$pkg' (is deb-src for bookworm main set up?)"
  for v in $versions; do
    up=${v#*:}     # epoch
    up=${up%-*}    # Debian revision
    up=${up%%+*}   # +dfsg and similar repack suffixes
    if [[ "$up" == "$want" ]]; then
      echo "$v"
      return 0
    fi
  done
  die "Debian serves $pkg $(paste -sd' ' <<<"$versions"), not the pinned upstream $want; update the pin in bazel/deps.sh only after checking the new version builds"
}

# Downloads (once) and extracts source package $1 at Debian version $2 into a fresh dir $3.
fetch_source() {
  local pkg=$1 ver=$2 dir=$3 dsc
  dsc="$SRC/${pkg}_${ver#*:}.dsc"
  if [[ ! -f "$dsc" ]]; then
    log "downloading source package $pkg $ver"
    # apt warns that it downloads unsandboxed as root; only show its output when it fails.
    (cd "$SRC" && apt-get source -qq --download-only "$pkg=$ver") >"$SRC/$pkg-source.log" 2>&1 ||
      die "apt-get source $pkg=$ver failed: $(tail -5 "$SRC/$pkg-source.log")"
  fi
  [[ -f "$dsc" ]] || die "apt-get source did not produce $dsc"
  rm -rf "$dir"
  # apt already checked the files against the signed Release file; dpkg-source's own signature
  # check only warns here (no Debian keyring installed), so keep its chatter in the log.
  dpkg-source -x "$dsc" "$dir" >"$SRC/$pkg-extract.log" 2>&1 ||
    die "dpkg-source -x $dsc failed: $(tail -5 "$SRC/$pkg-extract.log")"
}

# --- builds ---------------------------------------------------------------------------------

# Every -D the library is compiled with must reach its users through options.h, or their view
# of wolfSSL's structs differs from the library's. 5.5.4's configure deliberately leaves out
# HAVE___UINT128_T (upstream fixed that later, wolfSSL PR 6965), which changes the sp_int digit
# size and so sizeof(ecc_key), RsaKey, ...: a caller's ecc_key on the stack is then too small
# and wc_ecc_init overruns it. Run in the configured wolfSSL tree, before make install.
complete_wolfssl_options_h() {
  local opts=wolfssl/options.h d name value block="" line
  for d in $(sed -n 's/^AM_CFLAGS = //p' Makefile | tr ' ' '\n' | sed -n 's/^-D//p' | sort -u); do
    name=${d%%=*}
    [[ "$name" == NDEBUG || "$name" == DEBUG ]] && continue
    grep -qE "^#define ${name}([[:space:]]|\$)" "$opts" && continue
    value=""
    [[ "$d" == *=* ]] && value=" ${d#*=}"
    block+="#undef  $name"$'\n'"#define $name$value"$'\n\n'
    log "wolfSSL options.h lacks -D$d the library is built with: adding it"
  done
  [[ -n "$block" ]] || return 0
  # Insert before the closing extern "C" block at the end of the file.
  line=$(grep -n '^#ifdef __cplusplus' "$opts" | tail -1 | cut -d: -f1)
  [[ -n "$line" ]] || die "unexpected layout of $opts"
  {
    head -n $((line - 1)) "$opts"
    printf '/* Added by peerlink bazel/deps.sh: the library is compiled with these. */\n%s' "$block"
    tail -n +"$line" "$opts"
  } >"$opts.new"
  mv "$opts.new" "$opts"
}

build_wolfssl() {
  local dir=$1
  log "building wolfSSL $WOLFSSL_VERSION ..."
  (
    cd "$dir"
    # Debian's source ships configure.ac but the generated files may be stale or absent.
    autoreconf -fi >"$SRC/wolfssl-autoreconf.log" 2>&1
    # shellcheck disable=SC2086
    CFLAGS="$COMMON_CFLAGS" ./configure --prefix="$PREFIX" $WOLFSSL_FLAGS \
      >"$SRC/wolfssl-configure.log" 2>&1
    complete_wolfssl_options_h
    make -j"$JOBS" >"$SRC/wolfssl-make.log" 2>&1
    make install >"$SRC/wolfssl-install.log" 2>&1
  ) || die "wolfSSL build failed; see the logs in $SRC/wolfssl-*.log"
}

build_ngtcp2() {
  local dir=$1
  log "building ngtcp2 $NGTCP2_VERSION ..."
  (
    cd "$dir"
    autoreconf -fi >"$SRC/ngtcp2-autoreconf.log" 2>&1
    # shellcheck disable=SC2086
    PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" CFLAGS="$COMMON_CFLAGS -I$PREFIX/include" \
      CPPFLAGS="-I$PREFIX/include" LDFLAGS="-L$PREFIX/lib" \
      ./configure --prefix="$PREFIX" $NGTCP2_FLAGS >"$SRC/ngtcp2-configure.log" 2>&1
    # configure quietly skips a backend it cannot find; we need this one.
    grep -qE 'libngtcp2_crypto_wolfssl:[[:space:]]*yes' "$SRC/ngtcp2-configure.log" || {
      echo "deps: ngtcp2 configure did not enable the wolfSSL crypto helper" >&2
      exit 1
    }
    make -j"$JOBS" >"$SRC/ngtcp2-make.log" 2>&1
    make install >"$SRC/ngtcp2-install.log" 2>&1
  ) || die "ngtcp2 build failed; see the logs in $SRC/ngtcp2-*.log"
}

# Empties the prefix before a rebuild, but only one this script created.
reset_prefix() {
  if [[ -d "$PREFIX" && ! -e "$OWNER" ]] && [[ -n "$(ls -A "$PREFIX")" ]]; then
    die "$PREFIX exists, is not empty and was not made by deps.sh; refusing to overwrite it"
  fi
  rm -rf "$PREFIX"
  mkdir -p "$PREFIX"
  echo "peerlink bazel/deps.sh owns this prefix" >"$OWNER"
}

main() {
  mkdir -p "$SRC"
  # Two engineers (or Bazel and make setup) may run this at once; build once.
  exec 9>"$SRC/.lock"
  flock 9

  local why
  if [[ "${PEERLINK_DEPS_FORCE:-0}" != 1 && -f "$STAMP" ]] &&
    diff -q <(grep -v '^debian_' "$STAMP") <(expected_stamp) >/dev/null; then
    if why=$(verify); then
      log "wolfSSL $WOLFSSL_VERSION + ngtcp2 $NGTCP2_VERSION up to date in $PREFIX"
      return 0
    fi
    log "prefix does not verify, rebuilding: $why"
  elif [[ -f "$STAMP" ]]; then
    log "versions, flags or recipe changed since the last build (or PEERLINK_DEPS_FORCE=1): rebuilding"
  fi

  ensure_deb_src
  local wver nver
  wver=$(debian_version wolfssl "$WOLFSSL_VERSION")
  nver=$(debian_version ngtcp2 "$NGTCP2_VERSION")

  reset_prefix
  fetch_source wolfssl "$wver" "$SRC/wolfssl"
  build_wolfssl "$SRC/wolfssl"
  fetch_source ngtcp2 "$nver" "$SRC/ngtcp2"
  build_ngtcp2 "$SRC/ngtcp2"

  log "verifying"
  why=$(verify) || die "the fresh build does not verify: $why"
  {
    expected_stamp
    printf 'debian_wolfssl=%s\ndebian_ngtcp2=%s\n' "$wver" "$nver"
  } >"$STAMP"
  rm -rf "$SRC/wolfssl" "$SRC/ngtcp2"
  log "done: wolfSSL $WOLFSSL_VERSION ($wver) + ngtcp2 $NGTCP2_VERSION ($nver) in $PREFIX"
}

main "$@"
