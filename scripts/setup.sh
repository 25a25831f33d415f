#!/usr/bin/env bash
# Installs what the tests, the benchmark and the demo need on a fresh Debian machine of this kind
# (root; Node 20, Go and the pyenv CPythons present). Idempotent and quick when all is there.
#   1. system packages (apt)        2. npm ci
#   3. the real CNB lifecycle (scripts/install-lifecycle.sh), the build/run users, the run image
#   4. fixtures: CPython archives for the loopback mirror (test/setup/prepare-runtimes.sh), python.org
#      source tarballs from Debian's archive (test/setup/cpython-sources.sh), and the
#      loopback package index (test/setup/fill-index.sh; the only step that reaches PyPI)
#   5. arm64 under emulation (scripts/setup-arm64.sh): qemu-user-static, libc6:arm64, binfmt_misc
#      and the arm64 runtime fixture, for the arm64 package's smoke test and tests
# The two downloads of step 4 (sources, package index) wait on the network, the rest on the CPU:
# they run in the background from step 3 on (log: .cache/setup/downloads.log), and the setup
# waits for them at the end (about 90 s less on a fresh machine).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export DEBIAN_FRONTEND=noninteractive
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
SECONDS=0
step() { printf '\n==> %s  [%ss]\n' "$*" "$SECONDS"; }

step "system packages"
PACKAGES=(ca-certificates git openssh-client openssh-server patchelf skopeo umoci docker-registry debootstrap debian-archive-keyring zstd binutils util-linux xz-utils curl gcc libc6-dev pkg-config)
bash scripts/ensure-packages.sh "${PACKAGES[@]}"
for tool in node npm go python3 setpriv; do
  command -v "$tool" >/dev/null || { echo "setup: $tool is required on PATH (see Dockerfile.test)" >&2; exit 1; }
done
echo "node $(node --version), $(go version | cut -d' ' -f3), $(python3 --version 2>&1)"

step "npm ci"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  echo "node_modules is up to date"
fi

step "in the background: CPython sources (Debian's copies of python.org's tarballs), package index"
mkdir -p .cache/setup
DOWNLOADS_LOG=.cache/setup/downloads.log
( bash test/setup/cpython-sources.sh && bash test/setup/fill-index.sh ) >"$DOWNLOADS_LOG" 2>&1 &
downloads=$!
# On any failure below, the background downloads stop too.
trap 'kill "$downloads" 2>/dev/null || true' EXIT

step "lifecycle, users, run image"
bash scripts/install-lifecycle.sh
bash test/setup/users.sh
bash test/setup/run-image.sh

step "fixtures: runtime archives"
bash test/setup/prepare-runtimes.sh
step "arm64 emulation and fixture"
bash scripts/setup-arm64.sh

step "waiting for the background downloads"
status=0
wait "$downloads" || status=$?
trap - EXIT
cat "$DOWNLOADS_LOG"
if [ "$status" -ne 0 ]; then
  echo "setup: the CPython sources or the package index failed (exit $status); see above" >&2
  exit "$status"
fi
step "setup done"
