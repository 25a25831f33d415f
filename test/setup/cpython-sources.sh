#!/usr/bin/env bash
# Fetches genuine python.org CPython source tarballs for the source-build tests, without reaching
# python.org: Debian's package archive carries them byte-for-byte as the .orig tarballs of its
# python2.7 and python3.9 packages (bullseye pool). Each is checked against python.org's sha256 (the
# one in buildpack.toml's `kind = "source"` entries) and stored under its python.org path, so the
# loopback mirror (test/helpers/mirror.ts) serves it at the URL the manifest names:
#   .cache/fixtures/cpython-source/ftp/python/2.7.18/Python-2.7.18.tgz    (python2.7_2.7.18.orig.tar.gz)
#   .cache/fixtures/cpython-source/ftp/python/3.9.2/Python-3.9.2.tar.xz   (python3.9_3.9.2.orig.tar.xz)
#
# Usage: test/setup/cpython-sources.sh   (idempotent: a file already there with the right sum is kept)
#   CPYTHON_SOURCES_OUT   output dir (default <repo>/.cache/fixtures/cpython-source)
#   DEBIAN_POOL           Debian archive base (default: the mirror this machine's apt uses)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${CPYTHON_SOURCES_OUT:-$ROOT/.cache/fixtures/cpython-source}"
# shellcheck source=test/setup/run-image-lib.sh
. "$ROOT/test/setup/run-image-lib.sh"
POOL="${DEBIAN_POOL:-$(debian_mirror)}"
POOL="${POOL%/}"

# python.org path | Debian pool path | sha256 (python.org's, as in buildpack.toml)
SOURCES=(
  "ftp/python/2.7.18/Python-2.7.18.tgz|pool/main/p/python2.7/python2.7_2.7.18.orig.tar.gz|da3080e3b488f648a3d7a4560ddee895284c3380b11d6de75edb986526b9a814"
  "ftp/python/3.9.2/Python-3.9.2.tar.xz|pool/main/p/python3.9/python3.9_3.9.2.orig.tar.xz|3c2034c54f811448f516668dce09d24008a0716c3a794dd8639b5388cbde247d"
)

log() { printf '[cpython-sources] %s\n' "$*" >&2; }

for line in "${SOURCES[@]}"; do
  IFS='|' read -r target pool sha <<<"$line"
  dest="$OUT/$target"
  if [ -f "$dest" ] && [ "$(sha256sum "$dest" | cut -d' ' -f1)" = "$sha" ]; then
    log "ok $target"
    continue
  fi
  mkdir -p "$(dirname "$dest")"
  tmp="$(mktemp "$(dirname "$dest")/.download.XXXXXX")"
  trap 'rm -f "$tmp"' EXIT
  log "fetching $POOL/$pool"
  curl -fsSL --retry 3 --max-time 600 -o "$tmp" "$POOL/$pool"
  got="$(sha256sum "$tmp" | cut -d' ' -f1)"
  if [ "$got" != "$sha" ]; then
    echo "cpython-sources: $POOL/$pool has sha256 $got, expected python.org's $sha" >&2
    exit 1
  fi
  chmod 644 "$tmp"
  mv "$tmp" "$dest"
  trap - EXIT
  log "verified $target (sha256 $sha, byte-identical to python.org's)"
done
