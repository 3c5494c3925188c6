#!/usr/bin/env bash
# make fresh-check: the README's two commands on a brand-new, minimal Debian bookworm machine.
#
# A green `make test` on a developer's machine can hide a missing set-up step: a package that
# was once pulled in as a Recommends, a cache in $HOME. This builds a minimal bookworm root with
# `debootstrap --variant=minbase` (the base is cached as a tarball between runs), clones the
# current commit into it, and runs as root there: `make test` (must end "N passed, 0 failed"),
# `make build`, then the CI example (clients/examples/ci_pair.sh: a rendezvous and two agents,
# paired, a datagram each way) to see the built programs answer. Everything it mounts is
# unmounted and the root deleted in a trap, even when a step fails.
#
# What the root receives from this machine is only the network's part, not the project's:
# the apt mirror list and apt settings, DNS, the CA bundle and npm's settings (this workplace
# reaches its registries through them). Everything else must come from `make setup`.
#
#   tests/fresh/run.sh            (root; ~25-40 minutes: base, packages, bootstrap, two builds)
#   FRESH_KEEP=1 tests/fresh/run.sh   keep the root afterwards (for a look; mounts still go)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${PEERLINK_FRESH_CACHE:-/var/cache/peerlink-fresh}
work=${PEERLINK_FRESH_WORK:-/var/tmp/peerlink-fresh.$$}
base_tar=$cache/bookworm-minbase.tar.gz
root=$work/root
t_all=$(date +%s)

die() { echo "fresh-check: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mounts)"
commit=$(git -C "$repo" rev-parse HEAD)
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
  echo "fresh-check: note: uncommitted changes are NOT part of the check (it clones $commit)"
fi

step_t=0
step() { step_t=$(date +%s); echo "== fresh-check: $*"; }
took() { echo "== fresh-check: $1: $(($(date +%s) - step_t)) s"; times_log+=("$1: $(($(date +%s) - step_t)) s"); }
times_log=()

# --- teardown: stop what runs inside, unmount everything below the root, delete it ---------
mounted=()
teardown() {
  local rc=$?
  set +e
  if [ -d "$root" ]; then
    # Bazel's server and anything else still running with its root inside ours.
    for p in /proc/[0-9]*; do
      [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -KILL "${p#/proc/}" 2>/dev/null
    done
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
      umount -R "${mounted[$i]}" 2>/dev/null || umount -R -l "${mounted[$i]}"
    done
    if grep -q " $root" /proc/mounts; then
      echo "fresh-check: still mounted below $root:" >&2
      grep " $root" /proc/mounts >&2
      rc=1
    elif [ "${FRESH_KEEP:-0}" != 1 ]; then
      rm -rf "$work"
    fi
  fi
  echo "== fresh-check: times: ${times_log[*]:-none}; total $(($(date +%s) - t_all)) s"
  [ "$rc" = 0 ] && echo "fresh-check: PASSED" || echo "fresh-check: FAILED (rc=$rc)"
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# --- 1. the base root (cached) ------------------------------------------------------------
mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources \
  2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
if [ ! -s "$base_tar" ]; then
  step "debootstrap --variant=minbase bookworm from $mirror"
  command -v debootstrap >/dev/null ||
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap; }
  mkdir -p "$cache" "$work"
  debootstrap --variant=minbase bookworm "$work/base" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; die "debootstrap failed"; }
  rm -rf "$work/base/var/cache/apt/archives/"*.deb
  tar -C "$work/base" -czf "$base_tar.tmp" . && mv "$base_tar.tmp" "$base_tar"
  rm -rf "$work/base"
  took "base root"
fi
step "unpack the base root into $root"
mkdir -p "$root"
tar -C "$root" -xzf "$base_tar"
took "unpack"

# --- 2. the network's part ------------------------------------------------------------------
cp /etc/resolv.conf "$root/etc/resolv.conf"
# Apt: the same mirrors (bookworm, -updates, -security as a normal install has) and settings.
rm -f "$root/etc/apt/sources.list"
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
  [ -f "$f" ] && cp "$f" "$root/etc/apt/sources.list.d/$(basename "$f" .list).${f##*.}"
done
for f in /etc/apt/apt.conf.d/*; do
  grep -qiE 'proxy|Check-Valid|Check-Date|IndexTargets' "$f" && cp "$f" "$root/etc/apt/apt.conf.d/"
done
# The CA bundle this machine reaches the registries through, as an extra local CA so that
# installing ca-certificates in the root keeps it; and npm's settings (cafile).
ca=$(npm config get cafile 2>/dev/null || true)
[ -n "$ca" ] && [ "$ca" != null ] && [ -f "$ca" ] || ca=/etc/ssl/certs/ca-certificates.crt
mkdir -p "$root/usr/local/share/ca-certificates" "$root$(dirname "$ca")"
cp "$ca" "$root/usr/local/share/ca-certificates/host-network.crt"
cp "$ca" "$root$ca"
for f in /etc/npmrc /usr/etc/npmrc; do
  [ -f "$f" ] && mkdir -p "$root$(dirname "$f")" && cp "$f" "$root$f"
done

# --- 3. mounts ------------------------------------------------------------------------------
mnt() { # mnt TYPE|--rbind SRC DST
  mkdir -p "$3"
  if [ "$1" = --rbind ]; then mount --rbind "$2" "$3" && mount --make-rslave "$3"
  else mount -t "$1" "$2" "$3"; fi
  mounted+=("$3")
}
# The root must be a mount point of its own: `ip netns exec` (the NAT lab) remounts "/" as a
# slave, which fails on a plain directory.
mount --bind "$root" "$root" && mount --make-private "$root"
mounted+=("$root")
mnt proc proc "$root/proc"
mnt --rbind /sys "$root/sys"
mnt --rbind /dev "$root/dev"
mnt tmpfs tmpfs "$root/run"
[ -e "$root/dev/pts/ptmx" ] || { mnt devpts devpts "$root/dev/pts"; }

# --- 4. the clone ---------------------------------------------------------------------------
git clone -q --no-local "$repo" "$root/src/peerlink"
git -C "$root/src/peerlink" checkout -q "$commit"

in_root() { # runs a shell command in the root as a new user's login would
  chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    ${NODE_EXTRA_CA_CERTS:+NODE_EXTRA_CA_CERTS=$ca} \
    /bin/bash -c "$1"
}

# --- 5. the README's commands ---------------------------------------------------------------
# A minimal Debian has no make; a new user installs it (and had git to clone): that is all.
step "apt-get install make (the only thing a new user brings)"
in_root 'apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends make >/dev/null' ||
  die "could not install make in the root"
took "make"

step "make test (in the root; log: $work/make-test.log)"
set +e
in_root 'cd /src/peerlink && make test' >"$work/make-test.log" 2>&1
rc=$?
set -e
took "make test"
tail -1 "$work/make-test.log"
summary=$(tail -1 "$work/make-test.log")
if [ $rc -ne 0 ] || ! grep -qE '^[0-9]+ passed, 0 failed$' <<<"$summary"; then
  grep -E '(FAILED|TIMEOUT|NO STATUS)' "$work/make-test.log" | head -20 >&2
  FRESH_KEEP=1
  die "make test failed in the fresh root (rc=$rc, log kept in $work/make-test.log)"
fi

step "make build"
in_root 'cd /src/peerlink && make build' >"$work/make-build.log" 2>&1 ||
  { tail -20 "$work/make-build.log"; die "make build failed"; }
took "make build"

step "the built programs answer (clients/examples/ci_pair.sh)"
out=$(in_root 'cd /src/peerlink && bash clients/examples/ci_pair.sh bin') ||
  die "ci_pair.sh failed: $out"
echo "$out"
grep -q '"datagram":"delivered"' <<<"$out" || die "the demo programs did not deliver a datagram"
took "programs"
