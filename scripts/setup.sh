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

step "lifecycle, users, run image"
bash scripts/install-lifecycle.sh
bash test/setup/users.sh
bash test/setup/run-image.sh

step "fixtures: runtime archives"
bash test/setup/prepare-runtimes.sh
step "fixtures: CPython sources (Debian's copies of python.org's tarballs)"
bash test/setup/cpython-sources.sh
step "fixtures: package index"
bash test/setup/fill-index.sh
step "arm64 emulation and fixture"
bash scripts/setup-arm64.sh
step "setup done"
