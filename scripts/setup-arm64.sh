#!/usr/bin/env bash
# Lets this amd64 machine run the linux/arm64 buildpack (test/integration/arm64.test.ts, the smoke
# test of `npm run package`) under user-mode emulation. Idempotent; seconds when all is there.
#   1. the arm64 apt lists (dpkg --add-architecture arm64)
#   2. Debian's qemu-user-static and binfmt-support, and the arm64 C and C++ runtime the official
#      Node binary links to (libc6:arm64, libstdc++6:arm64: multiarch, beside the amd64 ones)
#   3. binfmt_misc: mounted, with qemu-aarch64 registered (the kernel then runs arm64 ELF files,
#      and the programs they start, through qemu; the P flag keeps argv[0], from which the
#      executable picks its phase)
#   4. the arm64 runtime fixture (test/setup/prepare-runtime-arm64.sh)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DEBIAN_FRONTEND=noninteractive

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "adding the arm64 architecture to apt"
  dpkg --add-architecture arm64
  apt-get update -qq
fi
# Mounted first, so that qemu-user-static's install registers its formats right away.
binfmt=/proc/sys/fs/binfmt_misc
mounted=true
if [ ! -e "$binfmt/register" ] && ! mount -t binfmt_misc binfmt_misc "$binfmt"; then mounted=false; fi
bash "$ROOT/scripts/ensure-packages.sh" qemu-user-static binfmt-support libc6:arm64 libstdc++6:arm64
if [ "$mounted" = false ]; then
  echo "setup-arm64: cannot mount binfmt_misc (a container without privileges?): the arm64 tests will say so" >&2
  exit 0
fi
if [ ! -e "$binfmt/qemu-aarch64" ]; then
  # binfmt-support registers qemu's formats at boot or package install; do it now otherwise.
  update-binfmts --enable qemu-aarch64 || update-binfmts --import qemu-aarch64
fi
echo "binfmt_misc: qemu-aarch64 $(head -1 "$binfmt/qemu-aarch64"), $(grep '^flags' "$binfmt/qemu-aarch64")"

bash "$ROOT/test/setup/prepare-runtime-arm64.sh"
