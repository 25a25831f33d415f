#!/usr/bin/env bash
# Installs the Debian packages named on the command line that are not installed yet (one
# `apt-get update` and `apt-get install` for all of them); quiet and quick when all are there.
# Usage (as root): bash scripts/ensure-packages.sh PACKAGE...
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "all present: $*"
fi
