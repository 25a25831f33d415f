#!/usr/bin/env bash
# Build the linux/arm64 runtime fixture the arm64 tests serve from a loopback mirror
# (test/integration/arm64.test.ts runs the packaged arm64 executable under qemu-user-static).
#
# Why Debian's CPython: python-build-standalone's aarch64 archives cannot be fetched here (no
# GitHub) and this machine has no arm64 pyenv, but Debian ships CPython for arm64 as .debs that
# apt verifies against the archive's signed Release file. We repackage bookworm's python3.11 in
# python-build-standalone's install_only layout, as test/setup/prepare-runtimes.sh does for the
# amd64 pyenv interpreters:
#   python/bin/python3.11 (+ python3, python), python/lib/python3.11/ (stdlib, lib-dynload),
#   pip (the pinned wheel, unpacked) in python/lib/python3.11/site-packages.
# Differences from Debian's packages, on purpose:
#   * the shared libraries the interpreter and its extension modules need beyond glibc are taken
#     from Debian's arm64 .debs into python/lib/ (RUNPATH $ORIGIN, set with patchelf), so the tree
#     needs only glibc (libc6:arm64), as PBS's archives do;
#   * Debian's site module looks for packages in dist-packages only; upstream CPython (and so
#     PBS) in lib/python3.11/site-packages, where the archive's pip is: dist-packages is a
#     relative link to site-packages;
#   * the test suites and _tkinter are not included (python3.11's separate packages), nor
#     Debian's absolute links into /etc (sitecustomize.py), nor its PEP 668 EXTERNALLY-MANAGED
#     marker (a runtime archive is not the system's Python).
# The build prefix /usr stays in the _sysconfigdata files: the buildpack's installer rewrites it.
#
# Needs: the arm64 apt lists (dpkg --add-architecture arm64; apt-get update), patchelf, and for the
# check at the end qemu-user-static with binfmt_misc and libc6:arm64 (scripts/setup.sh installs them).
# Output: .cache/fixtures/runtimes-arm64/ (gitignored): the archive, its sidecar <file>.json (sha256,
# the .debs and their sha256), pip/<wheel> and index.json (test/helpers/mirror.ts's schema).
# Idempotent: nothing is rebuilt while the sidecar of the current FORMAT exists.
#
# Usage: test/setup/prepare-runtime-arm64.sh [--force]
set -euo pipefail

FORMAT=4
MINOR=3.11
PYTHON_DEBS=(python3.11-minimal libpython3.11-minimal libpython3.11-stdlib)
# Every library the interpreter and lib-dynload load beyond glibc, with what those load in turn.
LIBRARY_DEBS=(zlib1g libexpat1 libssl3 libffi8 libsqlite3-0 libbz2-1.0 liblzma5 libcrypt1 libdb5.3
  libncursesw6 libtinfo6 libreadline8 libuuid1 libnsl2 libtirpc3 libgssapi-krb5-2 libkrb5-3
  libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1)
TRIPLE=aarch64-unknown-linux-gnu

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${RUNTIMES_ARM64_OUT:-$REPO/.cache/fixtures/runtimes-arm64}
AMD64_FIXTURES=$REPO/.cache/fixtures/runtimes
FORCE=0
[[ ${1:-} == --force ]] && FORCE=1

log() { printf '[prepare-runtime-arm64] %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }
for tool in apt-get dpkg-deb patchelf readelf python3 sha256sum; do
  command -v "$tool" >/dev/null || fail "$tool is required"
done
dpkg --print-foreign-architectures | grep -qx arm64 ||
  fail "no arm64 apt lists: dpkg --add-architecture arm64 && apt-get update (scripts/setup.sh does)"

start=$SECONDS
mkdir -p "$OUT/pip"
WORK=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# pip: the same pinned wheel the amd64 fixtures serve (prepare-runtimes.sh downloads it).
pip_json=$AMD64_FIXTURES/index.json
[[ -f $pip_json ]] || fail "no $pip_json: run test/setup/prepare-runtimes.sh first"
read -r PIP_FILE PIP_VERSION < <(python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["pip"]; print(p["file"], p["version"])' "$pip_json")
cmp -s "$AMD64_FIXTURES/$PIP_FILE" "$OUT/$PIP_FILE" || cp -p "$AMD64_FIXTURES/$PIP_FILE" "$OUT/$PIP_FILE"

version=$(apt-cache show --no-all-versions python3.11-minimal:arm64 | sed -n 's/^Version: \([0-9.]*\).*/\1/p' | head -1)
[[ $version =~ ^3\.11\.[0-9]+$ ]] || fail "cannot read python3.11's version for arm64 from apt (got '$version')"
FILE=cpython-$version-$TRIPLE-install_only.tar.gz

built=0
if [[ $FORCE == 1 || ! -f $OUT/$FILE.json ]] || ! grep -q "\"format\": $FORMAT," "$OUT/$FILE.json"; then
  built=1
  log "packing Debian's python3.11 $version (arm64) from deb.debian.org"
  (cd "$WORK" && apt-get download -qq "${PYTHON_DEBS[@]/%/:arm64}" "${LIBRARY_DEBS[@]/%/:arm64}" 2>&1 | { grep -v '^W: Download is performed unsandboxed' >&2 || true; }) ||
    fail "apt-get download failed"
  root=$WORK/root
  for deb in "$WORK"/*.deb; do dpkg-deb -x "$deb" "$root"; done

  py=$WORK/stage/python
  mkdir -p "$py/bin" "$py/lib"
  cp -a "$root/usr/bin/python$MINOR" "$py/bin/"
  ln -s "python$MINOR" "$py/bin/python3"
  ln -s "python$MINOR" "$py/bin/python"
  cp -a "$root/usr/lib/python$MINOR" "$py/lib/"
  rm -rf "$py/lib/python$MINOR/test" "$py/lib/python$MINOR/lib-dynload/"_test*.so "$py/lib/python$MINOR/lib-dynload/"_xxtestfuzz*.so
  # Debian's links into /etc (sitecustomize.py -> /etc/python3.11/): a runtime archive holds none,
  # and the buildpack rightly refuses an archive with a link out of its tree.
  find "$py" -type l -lname '/*' -print -delete | sed 's/^/  dropped the absolute link /' >&2
  # PEP 668's marker: Debian's pip must not touch the system's Python; a runtime archive is no
  # system Python (PBS ships none), and the build installs pip with the runtime's own pip.
  rm -f "$py/lib/python$MINOR/EXTERNALLY-MANAGED"
  # Upstream's site-packages (see above), where pip goes: Debian's site module (frozen into the
  # interpreter, so not to be patched) reads lib/python3.11/dist-packages, made a link to it.
  ln -s site-packages "$py/lib/python$MINOR/dist-packages"
  mkdir -p "$py/lib/python$MINOR/site-packages"
  python3 -m zipfile -e "$OUT/$PIP_FILE" "$py/lib/python$MINOR/site-packages"

  # Libraries: follow NEEDED from the interpreter and every extension module, transitively;
  # glibc's own stay the system's.
  GLIBC='^(ld-linux-aarch64\.so\.1|libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libutil\.so\.1|libresolv\.so\.2)$'
  : >"$py/lib/BUNDLED_LIBRARIES.txt"
  queue=("$py/bin/python$MINOR" "$py/lib/python$MINOR/lib-dynload/"*.so)
  declare -A seen=()
  while ((${#queue[@]})); do
    elf=${queue[0]}
    queue=("${queue[@]:1}")
    while read -r soname; do
      [[ $soname =~ $GLIBC || -n ${seen[$soname]:-} ]] && continue
      seen[$soname]=1
      from=$(find "$root/lib/aarch64-linux-gnu" "$root/usr/lib/aarch64-linux-gnu" -maxdepth 1 -name "$soname" 2>/dev/null | head -1)
      [[ -n $from ]] || fail "$soname (needed by $(basename "$elf")) is in none of the downloaded .debs: add its package to LIBRARY_DEBS"
      cp -L "$from" "$py/lib/$soname"
      chmod 0755 "$py/lib/$soname"
      patchelf --set-rpath '$ORIGIN' "$py/lib/$soname"
      printf '%s\n' "$soname" >>"$py/lib/BUNDLED_LIBRARIES.txt"
      queue+=("$py/lib/$soname")
    done < <(readelf -d "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  done
  patchelf --set-rpath '$ORIGIN/../lib' "$py/bin/python$MINOR"
  for so in "$py/lib/python$MINOR/lib-dynload/"*.so; do
    if readelf -d "$so" | grep -q NEEDED; then patchelf --set-rpath '$ORIGIN/../..' "$so"; fi
  done
  sort -o "$py/lib/BUNDLED_LIBRARIES.txt" "$py/lib/BUNDLED_LIBRARIES.txt"

  # Deterministic: sorted members, root owner, every mtime clamped to the python deb's date.
  mtime=$(stat -c %Y "$root/usr/bin/python$MINOR")
  tar -C "$WORK/stage" --sort=name --owner=0 --group=0 --numeric-owner --format=gnu --mtime="@$mtime" --clamp-mtime -cf - python |
    gzip -n -6 >"$OUT/.$FILE.partial"
  mv "$OUT/.$FILE.partial" "$OUT/$FILE"
  python3 - "$OUT/$FILE" "$version" "$FORMAT" "$WORK" <<'PY'
import glob, hashlib, json, os, sys
path, version, fmt, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sha = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
d = {
    "version": version, "arch": "arm64", "os": "linux", "file": os.path.basename(path),
    "sha256": sha(path), "size": os.path.getsize(path), "format": fmt,
    "prefix": "python/", "compression": "gzip", "flavor": "install_only_stripped", "shared": False,
    "build_prefix": "/usr", "build_prefix_files": [f"lib/python{version.rsplit('.', 1)[0]}/" + os.path.basename(f) for f in sorted(glob.glob(os.path.join(work, "stage/python/lib/python*/_sysconfigdata_*.py")))],
    "debs": [{"file": os.path.basename(p), "sha256": sha(p)} for p in sorted(glob.glob(os.path.join(work, "*.deb")))],
}
with open(path + ".json.tmp", "w") as f:
    json.dump(d, f, indent=2, sort_keys=True)
    f.write("\n")
os.replace(path + ".json.tmp", path + ".json")
PY
fi

# index.json in test/helpers/mirror.ts's schema: this runtime and pip.
python3 - "$OUT" "$FILE" "$PIP_FILE" "$PIP_VERSION" <<'PY'
import hashlib, json, os, sys
out, file, pip_file, pip_version = sys.argv[1:]
runtime = json.load(open(os.path.join(out, file + ".json")))
runtime.pop("format", None)
pip_path = os.path.join(out, pip_file)
index = {
    "schema": 1,
    "about": "The linux/arm64 fixture made by test/setup/prepare-runtime-arm64.sh from Debian's arm64 python3.11, served by test/helpers/mirror.ts.",
    "runtimes": [runtime],
    "pip": {"id": "pip", "version": pip_version, "file": pip_file, "sha256": hashlib.sha256(open(pip_path, "rb").read()).hexdigest(), "size": os.path.getsize(pip_path)},
    "uv": None,
    "sqlite": None,
}
with open(os.path.join(out, "index.json.tmp"), "w") as f:
    json.dump(index, f, indent=2, sort_keys=True)
    f.write("\n")
os.replace(os.path.join(out, "index.json.tmp"), os.path.join(out, "index.json"))
PY

# The check of a new archive: extracted elsewhere, the arm64 interpreter runs (under qemu here) with
# ssl, sqlite3, ctypes and pip, and loads nothing beyond glibc from outside its tree.
if [[ $built == 0 ]]; then
  log "up to date: $FILE"
elif [[ -f /proc/sys/fs/binfmt_misc/qemu-aarch64 && -e /lib/ld-linux-aarch64.so.1 ]]; then
  check=$(mktemp -d /tmp/prepare-runtime-arm64.XXXXXX)
  tar -C "$check" -xzf "$OUT/$FILE"
  # No user site (root's ~/.local could hold a pip); pip must be the tree's own.
  if ! got=$(cd "$check" && env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME=/nonexistent PYTHONNOUSERSITE=1 "$check/python/bin/python3" -c '
import platform, ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid, pyexpat, decimal, sys, pip
outside = sorted({l.split()[-1] for l in open("/proc/self/maps") if ".so" in l and not l.split()[-1].startswith(sys.argv[1])} - {""})
assert pip.__file__.startswith(sys.argv[1]), pip.__file__
print(platform.machine(), platform.python_version(), ssl.OPENSSL_VERSION.split()[1], sqlite3.sqlite_version, pip.__version__, " ".join(outside))
' "$check/" 2>&1); then
    rm -rf "$check"
    fail "the arm64 interpreter does not run from $FILE: $got"
  fi
  rm -rf "$check"
  read -r machine pyver openssl sqlite pipver outside <<<"$got"
  [[ $machine == aarch64 && $pyver == "$version" && $pipver == "$PIP_VERSION" ]] || fail "unexpected interpreter: $got"
  if [[ -n $outside ]] && grep -qvE '(ld-linux-aarch64|libc|libm)\.so' <<<"${outside// /$'\n'}"; then fail "loads libraries from outside its tree: $outside"; fi
  log "verified $FILE under qemu: $machine Python $pyver, OpenSSL $openssl, SQLite $sqlite, pip $pipver"
else
  log "not verified: no qemu-aarch64 binfmt or no libc6:arm64 (scripts/setup.sh installs them)"
fi
log "ready in $((SECONDS - start))s: $OUT/index.json"
