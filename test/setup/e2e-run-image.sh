#!/usr/bin/env bash
# Makes the run image of the end-to-end tests (test/e2e/): a real, minimal Debian root filesystem
# (debootstrap --variant=minbase, from the Debian mirror this machine's apt uses) plus the shared
# libraries the CPython builds of the fixtures link dynamically, the build and run users, and the
# labels a CNB run image carries. Written as an OCI image layout (tag `latest`) with umoci; the
# tests push it to their loopback registry with skopeo.
#
# Usage (as root): test/setup/e2e-run-image.sh [DEST]   (default .cache/e2e/run-image; prints DEST)
# Cached: the debootstrap result is kept as .cache/e2e/rootfs-<stamp>.tar; both it and the image
# are remade only when this script, the suite or the mirror changes. Env: E2E_DEBIAN_MIRROR,
# E2E_DEBIAN_SUITE (default: the first URIs/deb line for bookworm in /etc/apt/sources.list*).
# Needs debootstrap, umoci (scripts/setup.sh installs both).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DEST="${1:-$ROOT/.cache/e2e/run-image}"
CACHE="$ROOT/.cache/e2e"
CNB_UID=1001 CNB_RUN_UID=1002 CNB_GID=1000
SUITE="${E2E_DEBIAN_SUITE:-bookworm}"

# What `ldd` of python3.X and lib-dynload/*.so (all but _tkinter) of the fixtures' CPython builds
# resolve outside minbase: OpenSSL (_ssl, _hashlib), SQLite, libffi (_ctypes), readline, ncurses
# (_curses), uuid, expat (pyexpat), nsl/tirpc (nis), crypt, and the compression libraries.
INCLUDE="libssl3,libsqlite3-0,libffi8,zlib1g,libbz2-1.0,liblzma5,libreadline8,libncursesw6,libtinfo6,libuuid1,libexpat1,libnsl2,libtirpc3,libcrypt1,netbase"

# shellcheck source=test/setup/run-image-lib.sh
. "$ROOT/test/setup/run-image-lib.sh"
MIRROR="${E2E_DEBIAN_MIRROR:-$(debian_mirror)}"
case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac

stamp="$( (cat "$0" "$ROOT/test/setup/run-image-lib.sh"; echo "$SUITE $MIRROR $arch") | sha256sum | cut -c1-16)"
if [ -f "$DEST/index.json" ] && [ "$(cat "$DEST/.stamp" 2>/dev/null || true)" = "$stamp" ]; then
  echo "$DEST"; exit 0
fi
[ "$(id -u)" = 0 ] || { echo "e2e-run-image.sh: must run as root (debootstrap, chown)" >&2; exit 1; }
for tool in debootstrap umoci; do
  command -v "$tool" >/dev/null || { echo "e2e-run-image.sh: $tool is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
done
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
# Another process may have made it while we waited for the lock.
if [ -f "$DEST/index.json" ] && [ "$(cat "$DEST/.stamp" 2>/dev/null || true)" = "$stamp" ]; then
  echo "$DEST"; exit 0
fi

work="$(mktemp -d "$CACHE/work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
tarball="$CACHE/rootfs-$stamp.tar"
if [ ! -f "$tarball" ]; then
  echo "e2e-run-image.sh: debootstrap --variant=minbase $SUITE from $MIRROR (once per machine)" >&2
  debootstrap_cached "$tarball" "$SUITE" "$MIRROR" "$arch" "$INCLUDE" "$work/debootstrap.log"
  for old in "$CACHE"/rootfs-*.tar; do [ "$old" = "$tarball" ] || rm -f "$old"; done
fi
mkdir -p "$rootfs"
tar -C "$rootfs" --numeric-owner -xpf "$tarball"
add_cnb_users "$rootfs"

publish_run_image "$rootfs" "$work" "$arch" "test/setup/e2e-run-image.sh (debootstrap --variant=minbase $SUITE)" "python-cnb e2e tests" "python-cnb.e2e" "$stamp" "$DEST"
