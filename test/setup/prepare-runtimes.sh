#!/usr/bin/env bash
# Build the runtime fixtures the integration tests serve from a loopback mirror
# (test/helpers/mirror.ts), so no test ever downloads CPython from GitHub.
#
# Why real interpreters: the buildpack's python layer must extract, relocate and run a
# genuine CPython. python-build-standalone archives cannot be fetched here (no GitHub), so
# we repackage the pyenv interpreters of this machine in the same layout:
#   python/bin/python3.X (+ python3, python symlinks), python/lib/python3.X/, include/,
#   lib/pkgconfig/, lib/libpython3.X.so* (pyenv builds are shared), pip in site-packages,
#   ensurepip/_bundled.
# Differences from the real archives, on purpose or unavoidable:
#   * RUNPATH is set to $ORIGIN/../lib so the copy runs from any prefix (as PBS's does);
#   * the shared libraries the interpreter and its extension modules need beyond glibc
#     (libssl/libcrypto, libsqlite3, libffi, readline, ncurses/tinfo, nsl/tirpc, uuid, expat,
#     crypt, the compression libraries) are copied from this machine into python/lib/ with
#     RUNPATH $ORIGIN, so the tree runs on a minimal run image as PBS's does (PBS links them
#     statically); _tkinter (Tk, X11) is left out of that, as a server image has no display;
#   * the build-time prefix (/root/.pyenv/versions/3.X.Y) is LEFT in _sysconfigdata_*.py,
#     config-3.X-*/Makefile, bin/python3.X-config and the .pc files: PBS leaves `/install`
#     there and the buildpack's installer must rewrite it, so the fixtures must exercise it.
#     Each index entry lists those text files ("build_prefix_files");
#   * the test suite and libpython3.X.a are dropped (size), debug info is stripped;
#   * console scripts (pip, pydoc) get PBS's relocatable /bin/sh trampoline instead of
#     pyenv's absolute shebang, because that is what real archives ship.
# The 3.6 and 3.7 interpreters (the classic lines the buildpack compiles from source, since
# python-build-standalone has none) are packed too, as stand-ins for an operator's archive of them
# (npm run build-runtime), and listed apart in index.json ("classic_runtimes"), so that only a test
# that names one serves it.
# One version (3.11) is also packed as a zstd "full" archive (install under
# python/install/, with PYTHON.json, build/ and licenses/ beside it) for the full-archive
# code path that 3.8.8 / 3.9.2 need.
#
# Also fetched (from package registries only): the pinned pip and uv wheels for the pip and
# uv layers (PyPI; uv's for this machine's arch) and the SQLite autoconf tarball for the sqlite layer (inside the npm package
# sqlite3@6.0.1, byte-identical to sqlite.org's file).
#
# Output: .cache/fixtures/runtimes/ (gitignored) with index.json describing every file.
# Idempotent: each artifact has a sidecar <file>.json written last; an artifact whose
# sidecar exists with the current FORMAT is not rebuilt, so a second run takes a second.
# Deterministic: sorted tar members, numeric root owner, clamped mtimes, gzip -n, zstd -T1,
# so the same interpreter gives the same sha256 on every run.
#
# Usage: test/setup/prepare-runtimes.sh [--force] [--no-verify]
#   PYENV_ROOT           where the interpreters are (default /root/.pyenv or $HOME/.pyenv)
#   RUNTIMES_OUT         output dir (default <repo>/.cache/fixtures/runtimes)
set -euo pipefail

# Bump when the archive layout changes: sidecars with another FORMAT are rebuilt.
FORMAT=4
# The pip wheels are buildpack.toml's (one per Python line; read below): each is fetched and its
# sha256 checked against the manifest, so the mirror serves every pip the buildpack may choose.
# buildpack.toml's uv-version and its linux/amd64 wheel.
UV_VERSION=0.13.9
UV_WHEEL=uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
UV_SHA256=d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19
SQLITE_NPM=sqlite3@6.0.1
SQLITE_TARBALL=sqlite-autoconf-3520000.tar.gz
SQLITE_VERSION=3.52.0
SQLITE_SHA256=f6b50b0c103392af32a8be15b2b9d25959de9a00a70c3979128aafeaa5338b3f
FULL_MINOR=3.11

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${RUNTIMES_OUT:-$REPO/.cache/fixtures/runtimes}
if [[ -z ${PYENV_ROOT:-} ]]; then
  if [[ -d /root/.pyenv ]]; then PYENV_ROOT=/root/.pyenv; else PYENV_ROOT=$HOME/.pyenv; fi
fi
FORCE=0
VERIFY=1
for arg in "$@"; do
  case $arg in
    --force) FORCE=1 ;;
    --no-verify) VERIFY=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

# A Python for the small JSON chores; any python3 will do (the system's or pyenv's).
HOSTPY=$(command -v python3 || true)
[[ -n $HOSTPY ]] || { echo "prepare-runtimes: python3 is required" >&2; exit 1; }
for tool in patchelf zstd strip tar gzip sha256sum; do
  command -v "$tool" >/dev/null || { echo "prepare-runtimes: $tool is required (apt-get install patchelf zstd binutils)" >&2; exit 1; }
done

log() { printf '[prepare-runtimes] %s\n' "$*" >&2; }

mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

TAR_DET=(--sort=name --owner=0 --group=0 --numeric-owner --format=gnu)

# sidecar_ok FILE: the artifact and its sidecar exist and were made by this FORMAT.
sidecar_ok() {
  [[ $FORCE == 0 && -f $OUT/$1 && -f $OUT/$1.json ]] &&
    "$HOSTPY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d.get("format")==int(sys.argv[2]) else 1)' "$OUT/$1.json" "$FORMAT"
}

# write_sidecar FILE JSON-FRAGMENT-FILE: adds sha256/size/format and writes <file>.json last,
# so an interrupted run never leaves a sidecar for a partial artifact.
write_sidecar() {
  local file=$1 extra=$2
  "$HOSTPY" - "$OUT/$file" "$file" "$extra" "$FORMAT" <<'PY'
import hashlib, json, os, sys
path, name, extra, fmt = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
h = hashlib.sha256()
with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
d = json.load(open(extra))
d.update({"file": name, "sha256": h.hexdigest(), "size": os.path.getsize(path), "format": fmt})
tmp = path + ".json.tmp"
with open(tmp, "w") as f:
    json.dump(d, f, indent=2, sort_keys=True)
    f.write("\n")
os.replace(tmp, path + ".json")
PY
}

# Rewrite an absolute "#!<prefix>/bin/python..." shebang into PBS's trampoline, which finds
# the interpreter next to the script wherever the tree is extracted.
relocate_script() {
  local script=$1 exe=$2 first
  first=$(head -n1 "$script")
  [[ $first == "#!"*python* ]] || return 0
  local body
  body=$(tail -n +2 "$script")
  {
    printf '#!/bin/sh\n'
    printf '%s\n' "'''exec' \"\$(dirname -- \"\$(realpath -- \"\$0\")\")\"/'$exe' \"\$0\" \"\$@\""
    printf "' '''\n"
    printf '%s\n' "$body"
  } >"$script.new"
  chmod --reference="$script" "$script.new"
  touch -r "$script" "$script.new"
  mv "$script.new" "$script"
}

# stage_runtime SRC VERSION DEST: copy a pyenv install into DEST/python in PBS's layout.
stage_runtime() {
  local src=$1 version=$2 dest=$3
  local minor=${version%.*}
  local py=$dest/python
  mkdir -p "$py/bin" "$py/lib/python$minor/site-packages"
  cp -a "$src/include" "$py/"
  cp -a "$src/lib/pkgconfig" "$py/lib/"
  local lib
  for lib in "$src"/lib/libpython3*.so*; do
    if [[ -e $lib ]]; then cp -a "$lib" "$py/lib/"; fi
  done
  # The stdlib without its test suites, third-party packages and the 25-65 MB static lib.
  tar -C "$src/lib" -cf - \
    --exclude="python$minor/site-packages" \
    --exclude="python$minor/test" \
    --exclude="python$minor/idlelib/idle_test" \
    --exclude="python$minor/lib2to3/tests" \
    --exclude="python$minor/distutils/tests" \
    --exclude="python$minor/ctypes/test" \
    --exclude="python$minor/unittest/test" \
    --exclude="python$minor/tkinter/test" \
    --exclude="python$minor/sqlite3/test" \
    --exclude="python$minor/config-$minor-*/libpython*.a" \
    "python$minor" | tar -C "$py/lib" -xf -
  # pip only: pyenv's site-packages also holds whatever was installed into it later, and
  # the machine's own .pth hooks, none of which a real archive has.
  local sp=$src/lib/python$minor/site-packages item
  for item in "$sp"/README.txt "$sp"/pip "$sp"/pip-*.dist-info; do
    if [[ -e $item ]]; then cp -a "$item" "$py/lib/python$minor/site-packages/"; fi
  done
  # bin: the interpreter, its config script and pip/pydoc entry points.
  cp -a "$src/bin/python$minor" "$src/bin/python$minor-config" "$py/bin/"
  ln -s "python$minor" "$py/bin/python3"
  ln -s "python$minor" "$py/bin/python"
  ln -s "python$minor-config" "$py/bin/python3-config"
  for item in pip pip3 "pip$minor" pydoc3 "pydoc$minor"; do
    if [[ -f $src/bin/$item && ! -L $src/bin/$item ]]; then
      cp -a "$src/bin/$item" "$py/bin/"
      relocate_script "$py/bin/$item" "python$minor"
    elif [[ -L $src/bin/$item ]]; then
      cp -a "$src/bin/$item" "$py/bin/"
    fi
  done
  # ELF files: drop debug info (size), then point RUNPATH inside the tree.
  local elf
  while IFS= read -r -d '' elf; do
    if head -c4 "$elf" | grep -q $'\x7fELF'; then
      local ref
      ref=$(mktemp "$WORK/ref.XXXXXX")
      touch -r "$elf" "$ref"
      chmod u+w "$elf"
      strip --strip-debug "$elf"
      case $elf in
        "$py/bin/"*) patchelf --set-rpath '$ORIGIN/../lib' "$elf" ;;
        "$py/lib/libpython"*) patchelf --set-rpath '$ORIGIN' "$elf" ;;
        */lib-dynload/*) patchelf --set-rpath '$ORIGIN/../..' "$elf" ;;
        *) if readelf -d "$elf" 2>/dev/null | grep -q -E 'RPATH|RUNPATH'; then patchelf --set-rpath '$ORIGIN' "$elf"; fi ;;
      esac
      touch -r "$ref" "$elf"
      rm -f "$ref"
    fi
  done < <(find "$py" -type f \( -path "$py/bin/*" -o -name '*.so' -o -name '*.so.*' \) -print0)
  bundle_libraries "$py"
}

# The libraries every Linux image has: glibc's own (and the dynamic loader, the vDSO).
GLIBC_LIBS='^(linux-vdso|ld-linux[^ ]*|libc|libm|libpthread|libdl|librt|libutil|libresolv|libanl|libBrokenLocale|libmvec|libnss_[a-z]+)\.so'

# external_libraries FILE...: "soname path" of each library they load from outside glibc,
# transitively (ldd), libpython excluded (it is in the tree).
external_libraries() {
  ldd "$@" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | grep -Ev "$GLIBC_LIBS" | grep -v '^libpython' | sort -u
}

# bundle_libraries PY: copies the external libraries of PY's interpreter, libpython and
# lib-dynload modules (all but _tkinter) into PY/lib, each with RUNPATH $ORIGIN, and records
# them in PY/lib/BUNDLED_LIBRARIES.txt (soname, Debian package).
bundle_libraries() {
  local py=$1 soname from pkg
  local elves=()
  mapfile -t elves < <(find "$py/bin" "$py/lib" -maxdepth 3 -type f \( -path '*/bin/python3*' -o -name 'libpython*.so*' -o -path '*/lib-dynload/*.so' \) ! -name '_tkinter*' | LC_ALL=C sort)
  : >"$py/lib/BUNDLED_LIBRARIES.txt"
  while read -r soname from; do
    [[ -n $soname ]] || continue
    cp -L "$from" "$py/lib/$soname"
    chmod 0755 "$py/lib/$soname"
    patchelf --set-rpath '$ORIGIN' "$py/lib/$soname"
    # dpkg knows a file by the path its package ships (/lib or /usr/lib: usrmerge), so by name.
    pkg=$(dpkg -S "*/$(basename "$(realpath "$from")")" 2>/dev/null | head -1 | cut -d: -f1 || true)
    printf '%s %s\n' "$soname" "${pkg:-unknown}" >>"$py/lib/BUNDLED_LIBRARIES.txt"
  done < <(external_libraries "${elves[@]}")
  touch -r "$py/lib/python"*/os.py "$py/lib/BUNDLED_LIBRARIES.txt" "$py"/lib/*.so.* 2>/dev/null || true
}

# tar_mtime DIR: the newest mtime among the files copied from the install, .pyc excluded
# (any later import may write one into the pyenv tree). Clamping every entry to it makes
# the archive independent of when this script ran, while untouched .py files keep their
# own mtimes, which their .pyc files record and check.
tar_mtime() {
  find "$1" -type f ! -name '*.pyc' -printf '%T@\n' | sort -n | tail -n1 | cut -d. -f1
}

# verify_runtime ARCHIVE COMPRESSION PREFIX VERSION: extract into a fresh directory (not
# where it was built) and prove the interpreter runs from there, with ssl, sqlite3 and pip.
verify_runtime() {
  local archive=$1 compression=$2 prefix=$3 version=$4
  local dir
  dir=$(mktemp -d /tmp/prepare-runtimes-verify.XXXXXX)
  if [[ $compression == zstd ]]; then
    zstd -q -d -c "$archive" | tar -C "$dir" -xf -
  else
    tar -C "$dir" -xzf "$archive"
  fi
  local home=$dir/${prefix%/}
  local out
  if ! out=$(cd "$dir" && env -i PATH=/usr/bin:/bin LANG=C.UTF-8 "$home/bin/python3" -c '
import sys, ssl, sqlite3, json, ctypes, readline, lzma, bz2, zlib, uuid, pyexpat
print(sys.version.replace("\n", " "))
print(sys.prefix)
print(ssl.OPENSSL_VERSION)
print(sqlite3.sqlite_version)
libs = sorted({l.split()[-1] for l in open("/proc/self/maps") if "libpython" in l})
print(json.dumps(libs))
' 2>&1); then
    echo "$out" >&2
    rm -rf "$dir"
    return 1
  fi
  local got_version got_prefix libs
  got_version=$(sed -n 1p <<<"$out" | cut -d' ' -f1)
  got_prefix=$(sed -n 2p <<<"$out")
  libs=$(sed -n 5p <<<"$out")
  local ok=1
  [[ $got_version == "$version" ]] || { log "FAIL $archive: version $got_version, want $version"; ok=0; }
  [[ $(realpath "$got_prefix") == $(realpath "$home") ]] || { log "FAIL $archive: sys.prefix $got_prefix, want $home"; ok=0; }
  [[ $libs == *"$dir"* || $libs == "[]" ]] || { log "FAIL $archive: libpython loaded from outside the tree: $libs"; ok=0; }
  # Beyond glibc, every library must come from the tree (as on a minimal run image).
  local outside
  outside=$(find "$home" -type f \( -path '*/bin/python3*' -o -name '*.so' -o -name '*.so.*' \) ! -name '_tkinter*' -print0 |
    xargs -0 ldd 2>/dev/null | awk '$2 == "=>" {print $1, $3}' | grep -Ev "$GLIBC_LIBS" | grep -v " $dir/" | sort -u || true)
  [[ -z $outside ]] || { log "FAIL $archive: libraries loaded from outside the tree: $(tr '\n' ' ' <<<"$outside")"; ok=0; }
  if ! env -i PATH=/usr/bin:/bin "$home/bin/pip3" --version >/dev/null 2>&1; then
    log "FAIL $archive: bin/pip3 does not run"; ok=0
  fi
  rm -rf "$dir"
  [[ $ok == 1 ]] || return 1
  log "verified $(basename "$archive"): Python $got_version, $(sed -n 3p <<<"$out"), SQLite $(sed -n 4p <<<"$out")"
}

build_runtime() {
  local src=$1 version=$2
  local minor=${version%.*}
  local file=cpython-$version-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz
  local full=cpython-$version-x86_64-unknown-linux-gnu-pgo+lto-full.tar.zst
  local want_full=0
  [[ $minor == "$FULL_MINOR" ]] && want_full=1
  if sidecar_ok "$file" && { [[ $want_full == 0 ]] || sidecar_ok "$full"; }; then
    return 0
  fi
  log "packing $version from $src"
  local stage=$WORK/$version
  rm -rf "$stage"
  mkdir -p "$stage"
  stage_runtime "$src" "$version" "$stage"

  local shared=false
  if [[ -n $(compgen -G "$stage/python/lib/libpython$minor*.so*") ]] &&
    readelf -d "$stage/python/bin/python$minor" | grep -q "NEEDED.*libpython"; then
    shared=true
  fi
  # Where the build prefix survives, in text files (the installer must rewrite these);
  # paths are relative to the archive's prefix, so they hold for the full archive too.
  local meta=$WORK/$version.meta.json
  (cd "$stage/python" && grep -rlIF -- "$src" . | sed 's,^\./,,' | LC_ALL=C sort) >"$WORK/$version.prefixfiles" || true
  "$HOSTPY" - "$version" "$shared" "$src" "$WORK/$version.prefixfiles" "$meta" <<'PY'
import json, sys
version, shared, src, files, out = sys.argv[1:]
json.dump({
    "version": version, "arch": "amd64", "os": "linux",
    "shared": shared == "true",
    "build_prefix": src,
    "build_prefix_files": [l.strip() for l in open(files) if l.strip()],
}, open(out, "w"))
PY

  local mtime
  mtime=$(tar_mtime "$stage/python")
  local tmp=$OUT/.$file.partial
  tar -C "$stage" "${TAR_DET[@]}" --mtime="@$mtime" --clamp-mtime -cf - python | gzip -n -6 >"$tmp"
  mv "$tmp" "$OUT/$file"
  if [[ $VERIFY == 1 ]]; then
    verify_runtime "$OUT/$file" gzip python/ "$version" || { rm -f "$OUT/$file"; exit 1; }
  fi
  "$HOSTPY" -c 'import json,sys; d=json.load(open(sys.argv[1])); d.update(prefix="python/", compression="gzip", flavor="install_only_stripped"); json.dump(d, open(sys.argv[1],"w"))' "$meta"
  write_sidecar "$file" "$meta"

  if [[ $want_full == 1 ]]; then
    # python-build-standalone's "full" layout: the install one level down, build
    # artefacts and metadata beside it.
    local fullroot=$WORK/$version-full
    mkdir -p "$fullroot/python/build/lib" "$fullroot/python/licenses"
    mv "$stage/python" "$fullroot/python/install"
    cp -a "$src/lib/python$minor/LICENSE.txt" "$fullroot/python/licenses/LICENSE.cpython.txt"
    printf 'Object files and static libraries of the build live here in real full archives.\n' \
      >"$fullroot/python/build/lib/README.txt"
    "$HOSTPY" - "$version" "$minor" >"$fullroot/python/PYTHON.json" <<'PY'
import json, sys
version, minor = sys.argv[1], sys.argv[2]
print(json.dumps({
    "version": "7",
    "target_triple": "x86_64-unknown-linux-gnu",
    "optimizations": "pgo+lto",
    "python_tag": "cp" + minor.replace(".", ""),
    "python_version": version,
    "python_major_minor_version": minor,
    "python_exe": f"install/bin/python{minor}",
    "python_paths": {"stdlib": f"install/lib/python{minor}", "include": f"install/include/python{minor}"},
    "licenses": ["Python-2.0", "CNRI-Python"],
    "license_path": "licenses/LICENSE.cpython.txt",
}, indent=2, sort_keys=True))
PY
    touch -d "@$mtime" "$fullroot/python/PYTHON.json" "$fullroot/python/build/lib/README.txt" \
      "$fullroot/python/licenses/LICENSE.cpython.txt"
    tmp=$OUT/.$full.partial
    tar -C "$fullroot" "${TAR_DET[@]}" --mtime="@$mtime" --clamp-mtime -cf - python | zstd -q -T1 -10 -c >"$tmp"
    mv "$tmp" "$OUT/$full"
    if [[ $VERIFY == 1 ]]; then
      verify_runtime "$OUT/$full" zstd python/install/ "$version" || { rm -f "$OUT/$full"; exit 1; }
    fi
    "$HOSTPY" -c 'import json,sys; d=json.load(open(sys.argv[1])); d.update(prefix="python/install/", compression="zstd", flavor="full"); json.dump(d, open(sys.argv[1],"w"))' "$meta"
    write_sidecar "$full" "$meta"
    rm -rf "$fullroot"
  fi
  rm -rf "$stage"
}

# fetch_wheel <id> <version> <wheel file name> <sha256>: one pinned wheel, no dependencies.
fetch_wheel() {
  local id=$1 version=$2 wheel=$3 sha=$4
  local file=$id/$wheel
  sidecar_ok "$file" && return 0
  log "downloading $id $version from the package index"
  mkdir -p "$OUT/$id" "$WORK/$id"
  # Any interpreter with pip can download a wheel: the host's, else the newest pyenv one.
  local pip_py=$HOSTPY v
  if ! "$pip_py" -m pip --version >/dev/null 2>&1; then
    for v in "${versions[@]}"; do pip_py=$PYENV_ROOT/versions/$v/bin/python3; done
  fi
  "$pip_py" -m pip download --disable-pip-version-check -q --no-deps --only-binary=:all: \
    --platform manylinux2014_x86_64 -d "$WORK/$id" "$id==$version"
  mv "$WORK/$id/$wheel" "$OUT/$file"
  local got
  got=$(sha256sum "$OUT/$file" | cut -d' ' -f1)
  if [[ $got != "$sha" ]]; then
    rm -f "$OUT/$file"
    echo "prepare-runtimes: $wheel sha256 $got, want $sha" >&2
    exit 1
  fi
  printf '{"id": "%s", "version": "%s"}' "$id" "$version" >"$WORK/$id.meta.json"
  write_sidecar "$file" "$WORK/$id.meta.json"
}

fetch_sqlite() {
  local file=sqlite/$SQLITE_TARBALL
  sidecar_ok "$file" && return 0
  log "fetching $SQLITE_TARBALL from the npm package $SQLITE_NPM"
  mkdir -p "$OUT/sqlite" "$WORK/npm"
  (cd "$WORK/npm" && npm pack --silent "$SQLITE_NPM" >/dev/null 2>&1)
  tar -C "$WORK/npm" -xzf "$WORK"/npm/sqlite3-*.tgz "package/deps/$SQLITE_TARBALL"
  local got
  got=$(sha256sum "$WORK/npm/package/deps/$SQLITE_TARBALL" | cut -d' ' -f1)
  if [[ $got != "$SQLITE_SHA256" ]]; then
    echo "prepare-runtimes: $SQLITE_TARBALL sha256 $got, want $SQLITE_SHA256" >&2
    exit 1
  fi
  mv "$WORK/npm/package/deps/$SQLITE_TARBALL" "$OUT/$file"
  printf '{"id": "sqlite", "version": "%s", "prefix": "%s/"}' "$SQLITE_VERSION" "${SQLITE_TARBALL%.tar.gz}" >"$WORK/sqlite.meta.json"
  write_sidecar "$file" "$WORK/sqlite.meta.json"
}

start=$SECONDS
versions=()
for dir in "$PYENV_ROOT"/versions/3.*; do
  v=$(basename "$dir")
  [[ $v =~ ^3\.(6|7|8|9|10|11|12|13)\.[0-9]+$ ]] || continue
  [[ -x $dir/bin/python${v%.*} ]] || continue
  versions+=("$v")
done
[[ ${#versions[@]} -gt 0 ]] || { echo "prepare-runtimes: no CPython 3.6-3.13 under $PYENV_ROOT/versions" >&2; exit 1; }

for v in "${versions[@]}"; do
  build_runtime "$PYENV_ROOT/versions/$v" "$v"
done
# "<version> <wheel file name> <sha256>" for every pip in buildpack.toml, and its pip-version (the default).
PIP_VERSION=$("$HOSTPY" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["metadata"]["pip-version"])' "$REPO/buildpack.toml")
while read -r version wheel sha; do
  fetch_wheel pip "$version" "$wheel" "$sha"
done < <("$HOSTPY" - "$REPO/buildpack.toml" <<'PY'
import sys, tomllib, urllib.parse
for d in tomllib.load(open(sys.argv[1], "rb"))["metadata"]["dependencies"]:
    if d["id"] == "pip":
        print(d["version"], urllib.parse.unquote(d["uri"].rsplit("/", 1)[1]), d["checksum"].removeprefix("sha256:"))
PY
)
fetch_wheel uv "$UV_VERSION" "$UV_WHEEL" "$UV_SHA256"
fetch_sqlite

# index.json: assembled from the sidecars every run (cheap), newest version first.
"$HOSTPY" - "$OUT" "$PIP_VERSION" "${versions[@]}" <<'PY'
import glob, json, os, sys
out, pip_default = sys.argv[1], sys.argv[2]
wanted = set(sys.argv[3:])
runtimes, classic, pips, uv, sqlite = [], [], [], None, None
for side in sorted(glob.glob(os.path.join(out, "**", "*.json"), recursive=True)):
    if os.path.basename(side) == "index.json":
        continue
    d = json.load(open(side))
    d.pop("format", None)
    if d.get("id") == "pip":
        pips.append(d)
    elif d.get("id") == "uv":
        uv = d
    elif d.get("id") == "sqlite":
        sqlite = d
    elif d.get("version") in wanted:
        # 3.6 and 3.7: lines python-build-standalone never built, which the buildpack compiles from
        # source. Listed apart, so that only a test that names one serves it (as an operator's
        # archive): every other manifest stays without them, as the buildpack's own is.
        (classic if d["version"].split(".")[:2] in (["3", "6"], ["3", "7"]) else runtimes).append(d)
def key(d):
    return (tuple(-int(p) for p in d["version"].split(".")), d["compression"] != "gzip")
runtimes.sort(key=key)
classic.sort(key=key)
index = {
    "schema": 1,
    "about": "Fixture artifacts made by test/setup/prepare-runtimes.sh and served by test/helpers/mirror.ts. "
             "'file' is relative to this directory; 'build_prefix_files' are relative to the entry's 'prefix' inside the archive.",
    "runtimes": runtimes,
    "classic_runtimes": classic,
    # pip: the default (buildpack.toml pip-version); pips: every pinned pip, one per Python line.
    "pip": next((d for d in pips if d["version"] == pip_default), None),
    "pips": pips,
    "uv": uv,
    "sqlite": sqlite,
}
tmp = os.path.join(out, "index.json.tmp")
with open(tmp, "w") as f:
    json.dump(index, f, indent=2, sort_keys=True)
    f.write("\n")
os.replace(tmp, os.path.join(out, "index.json"))
PY
log "ready in $((SECONDS - start))s: $OUT/index.json (${versions[*]})"
