#!/usr/bin/env bash
# Makes the tiny run image the integration tests export onto: an OCI image layout (tag `latest`)
# with one small layer (/etc/passwd and /etc/group with the build and run users, /etc/os-release
# of this machine, /tmp, /workspace) and the labels a CNB run image carries. The exporter only
# needs a base to put the app's layers on; its distro labels tell the lifecycle the target
# (CNB_TARGET_DISTRO_NAME/VERSION), so they are taken from this machine, where the build runs.
# The end-to-end tests that start the image need a real rootfs and make their own.
#
# Usage: test/setup/run-image.sh [DEST]   (default .cache/run-image; prints DEST)
# Idempotent: rebuilt only when this script or /etc/os-release changed. Needs umoci.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DEST="${1:-$ROOT/.cache/run-image}"
CNB_UID=1001 CNB_RUN_UID=1002 CNB_GID=1000
stamp="$( (cat "$0" "$ROOT/test/setup/run-image-lib.sh" /etc/os-release; uname -m) | sha256sum | cut -c1-16)"
if [ -f "$DEST/index.json" ] && [ "$(cat "$DEST/.stamp" 2>/dev/null || true)" = "$stamp" ]; then
  echo "$DEST"; exit 0
fi
command -v umoci >/dev/null || { echo "run-image.sh: umoci is not installed (apt-get install umoci)" >&2; exit 1; }
case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs/etc" "$rootfs/tmp" "$rootfs/workspace" "$rootfs/home/cnb-run"
chmod 1777 "$rootfs/tmp"
cat > "$rootfs/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/bin/sh
cnb:x:$CNB_UID:$CNB_GID::/home/cnb:/bin/sh
cnb-run:x:$CNB_RUN_UID:$CNB_GID::/home/cnb-run:/bin/sh
PASSWD
cat > "$rootfs/etc/group" <<GROUP
root:x:0:
cnb:x:$CNB_GID:
GROUP
cp /etc/os-release "$rootfs/etc/os-release"
chown "$CNB_RUN_UID:$CNB_GID" "$rootfs/home/cnb-run" "$rootfs/workspace"

# shellcheck source=test/setup/run-image-lib.sh
. "$ROOT/test/setup/run-image-lib.sh"
publish_run_image "$rootfs" "$work" "$arch" "test/setup/run-image.sh" "python-cnb tests" "python-cnb.tests" "$stamp" "$DEST"
