#!/usr/bin/env bash
# Pins the build tools that are installed from PyPI as a closure of wheels (Poetry, Pipenv) into
# requirements/<tool>.txt: every package at one version, with the sha256 of every file PyPI has for
# it, for every Python the buildpack supports (a universal resolution: markers kept). The build
# installs that file with `pip install --require-hashes --no-deps`, so the index (PyPI, a mirror, a
# tampered proxy) cannot change what runs: any other file fails the hash check.
#
# The versions come from buildpack.toml ([metadata] poetry-version, pipenv-version). Run this after
# changing one, review the diff, commit both. `--check` regenerates into a temporary directory and
# fails when the committed files differ (CI can run it; it needs PyPI).
#
# Environment: UV (a uv binary; default: uv on PATH, else the one unpacked from the test fixtures'
# pinned uv wheel), UV_INDEX_URL etc. for a PyPI mirror.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$repo/requirements
check=false
[[ ${1:-} == --check ]] && check=true

die() { printf 'pin-tools: error: %s\n' "$*" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

uv=${UV:-$(command -v uv || true)}
if [[ -z $uv ]]; then
  wheel=$(find "$repo/.cache/fixtures/runtimes/uv" -name 'uv-*x86_64*.whl' 2>/dev/null | head -n 1)
  [[ -n $wheel ]] || die "no uv: set UV, put uv on PATH, or run scripts/setup.sh"
  python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); open(sys.argv[2], "wb").write(z.read(next(n for n in z.namelist() if n.endswith(".data/scripts/uv"))))' "$wheel" "$work/uv"
  chmod +x "$work/uv"
  uv=$work/uv
fi

# The pinned version of a tool, from buildpack.toml's [metadata] <tool>-version.
pinned() {
  python3 - "$repo/buildpack.toml" "$1" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'^%s-version\s*=\s*"([^"]+)"' % re.escape(sys.argv[2]), text, re.M)
print(m.group(1) if m else "")
PY
}

target=$out
$check && target=$work/out
mkdir -p "$target"
for tool in poetry pipenv; do
  version=$(pinned "$tool")
  [[ -n $version ]] || die "buildpack.toml has no [metadata] $tool-version"
  printf '%s==%s\n' "$tool" "$version" >"$work/$tool.in"
  # --universal: one file for every Python (3.10+) and platform; --no-header: no paths or dates in it.
  UV_CACHE_DIR=$work/cache "$uv" pip compile --quiet --universal --python-version 3.10 --generate-hashes \
    --no-header --no-annotate --output-file "$target/$tool.txt" "$work/$tool.in"
  sed -i "1i # $tool $version and its dependencies, pinned with every file's sha256 by scripts/pin-tools.sh (do not edit)." "$target/$tool.txt"
  printf 'pin-tools: %s %s: %s packages\n' "$tool" "$version" "$(grep -c '^[a-z0-9]' "$target/$tool.txt")" >&2
done

if $check; then
  diff -ru "$out" "$target" >&2 || die "requirements/ is not what scripts/pin-tools.sh makes from buildpack.toml: run it and commit the result"
  printf 'pin-tools: requirements/ is current\n' >&2
fi
