#!/usr/bin/env bash
# Fills the local wheelhouse that test/helpers/package-index.ts serves as a PEP 503 index.
#
# Why: the integration tests must never reach the internet, yet the buildpack's real job is
# running pip. So this is the one step that talks to PyPI, once per machine; afterwards pip
# in every test resolves against a loopback index holding exactly the files listed here.
#
# Why each Python's own pip: wheels with C code differ per CPython minor (cp311 vs cp312) and
# per platform (manylinux tags for this machine's glibc and arch). Asking the interpreter the
# tests will use makes it pick the same files pip inside the build will pick.
#
# Why the requirement files pin whole closures: the index then holds one version of each
# project, so what a build downloads is predictable and tests can assert on it, and a CI
# machine that fills the index next month gets the same files as this one.
#
# Why the stamp: .ci/run calls this on every run. When the inputs (this script, the
# requirement files, the local packages, the Python versions) are unchanged and every file
# is still there, it exits in milliseconds without touching the network.
#
# Environment:
#   WHEELHOUSE          where to fill (default: <repo>/.cache/fixtures/wheelhouse)
#   FILL_INDEX_PYTHONS  CPython minors to fill for (default: "3.11 3.12")
#   PYENV_ROOT          where to find those interpreters (default: ~/.pyenv)
#   PIP_INDEX_URL etc.  honoured for the download, so CI can point at a PyPI mirror
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
wheelhouse=${WHEELHOUSE:-$repo/.cache/fixtures/wheelhouse}
requirements_dir=$repo/test/fixtures/requirements
packages_dir=$repo/test/fixtures/packages
read -r -a minors <<<"${FILL_INDEX_PYTHONS:-3.11 3.12}"
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
stamp=$wheelhouse/.complete

log() { printf 'fill-index: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The newest final release X.Y.Z of a minor under pyenv (no a1/rc/dev builds).
find_python() {
  local minor=$1 dir
  dir=$(find "$pyenv_root/versions" -mindepth 1 -maxdepth 1 -name "$minor.*" 2>/dev/null |
    grep -E "/${minor//./\\.}\.[0-9]+$" | sort -V | tail -n 1 || true)
  [[ -n $dir && -x $dir/bin/python3 ]] || die "no CPython $minor under $pyenv_root/versions (install it with: pyenv install $minor)"
  printf '%s\n' "$dir/bin/python3"
}

# Files that make up a local package's source, without build debris from manual tries.
package_sources() {
  find "$packages_dir" -type f \
    ! -path '*/__pycache__/*' ! -path '*.egg-info/*' ! -path '*/build/*' ! -path '*/dist/*' \
    ! -name '*.so' ! -name '*.pyc' -print0 | sort -z
}

pythons=()
for minor in "${minors[@]}"; do pythons+=("$(find_python "$minor")"); done
requirement_files=("$requirements_dir"/*.txt)
# The build tools the buildpack installs from the index by hash (Poetry, Pipenv: scripts/pin-tools.sh).
tool_files=("$repo"/requirements/*.txt)

# Everything the wheelhouse is a function of. The interpreter paths carry the patch version.
inputs_key=$(
  {
    sha256sum "${BASH_SOURCE[0]}" "${requirement_files[@]}" "${tool_files[@]}" | cut -d' ' -f1
    package_sources | xargs -0 sha256sum | sed "s|$packages_dir/||"
    printf '%s\n' "${pythons[@]}" "$(uname -m)"
  } | sha256sum | cut -d' ' -f1
)

stamp_is_current() {
  [[ -f $stamp ]] || return 1
  [[ $(head -n 1 "$stamp") == "key $inputs_key" ]] || return 1
  local file
  while read -r file; do [[ -f $wheelhouse/$file ]] || return 1; done < <(sed -n 's/^file //p' "$stamp")
}

if stamp_is_current; then
  log "wheelhouse is complete ($(grep -c '^file ' "$stamp") files in $wheelhouse); nothing to do"
  exit 0
fi

mkdir -p "$wheelhouse"
# The physical path: pip reports downloaded files by it, and the stale-file sweep below compares
# names relative to it (through a symlinked .cache, the logical path would mark every file stale).
wheelhouse=$(cd "$wheelhouse" && pwd -P)
# Two runs at once (two CI jobs in one checkout) would race on the same files.
exec 9>"$wheelhouse.lock"
if command -v flock >/dev/null; then flock 9; fi
if stamp_is_current; then log "wheelhouse was completed by another run"; exit 0; fi

started=$SECONDS
rm -f "$stamp"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. Download from PyPI (or the mirror pip is configured with). --only-binary: every pinned
#    project ships wheels, and an sdist slipping in would make a build compile C by surprise.
#    PIP_FIND_LINKS/PIP_NO_INDEX from the machine's config would let files bypass the index.
requirement_args=()
for file in "${requirement_files[@]}"; do requirement_args+=(-r "$file"); done
for python in "${pythons[@]}"; do
  log "downloading for $("$python" -c 'import platform; print("CPython", platform.python_version())') ..."
  env -u PIP_FIND_LINKS -u PIP_NO_INDEX -u PIP_REQUIRE_VIRTUALENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    "$python" -m pip download --quiet --only-binary=:all: --dest "$wheelhouse" "${requirement_args[@]}" ||
    die "pip download failed for $python (is PyPI reachable?)"
done

# 1b. The pinned build tools, exactly as the build installs them (--require-hashes --no-deps: each
#     file is hash-checked, one run per file since hash-checking mode covers a whole run).
for python in "${pythons[@]}"; do
  for file in "${tool_files[@]}"; do
    env -u PIP_FIND_LINKS -u PIP_NO_INDEX -u PIP_REQUIRE_VIRTUALENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
      "$python" -m pip download --quiet --only-binary=:all: --require-hashes --no-deps --dest "$wheelhouse" -r "$file" ||
      die "pip download of $(basename "$file") failed for $python (is PyPI reachable?)"
  done
done

# 2. Pack the local packages as sdists. Hand-made rather than `setup.py sdist`: the tarball
#    is then byte-for-byte reproducible (fixed mtimes, owners, order, gzip header), needs no
#    build tool on the host, and can be made for broken-sdist, whose setup.py cannot run.
#    The name follows PEP 625 (normalized, underscores), as current setuptools writes it.
"${pythons[0]}" - "$packages_dir" "$wheelhouse" >"$work/sdists" <<'PY'
import email.parser, gzip, io, os, re, sys, tarfile

packages_dir, wheelhouse = sys.argv[1], sys.argv[2]
MTIME = 1704067200  # 2024-01-01: zip (wheel) timestamps must be >= 1980
SKIP_DIRS = {"__pycache__", "build", "dist"}

for package in sorted(os.listdir(packages_dir)):
    src = os.path.join(packages_dir, package)
    with open(os.path.join(src, "PKG-INFO"), encoding="utf-8") as f:
        meta = email.parser.Parser().parse(f)
    stem = f"{re.sub(r'[-_.]+', '_', meta['Name']).lower()}-{meta['Version']}"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add(path, arcname):
            info = tar.gettarinfo(path, arcname)
            info.mtime, info.uid, info.gid, info.uname, info.gname = MTIME, 0, 0, "", ""
            info.mode = 0o755 if info.isdir() else 0o644
            if info.isdir():
                tar.addfile(info)
            else:
                with open(path, "rb") as f:
                    tar.addfile(info, f)
        add(src, stem)
        for root, dirs, files in os.walk(src):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
            rel = os.path.relpath(root, src)
            for d in dirs:
                add(os.path.join(root, d), os.path.normpath(os.path.join(stem, rel, d)))
            for name in sorted(files):
                if name.endswith((".pyc", ".so", ".o")):
                    continue
                add(os.path.join(root, name), os.path.normpath(os.path.join(stem, rel, name)))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
        gz.write(buf.getvalue())
    target = os.path.join(wheelhouse, stem + ".tar.gz")
    with open(target + ".tmp", "wb") as f:
        f.write(out.getvalue())
    os.replace(target + ".tmp", target)
    print(os.path.basename(target))
PY

# 3. Prove every set resolves offline from the wheelhouse alone, for every Python, exactly as
#    a build will ask for it; count each closure; and note which files are still needed, so
#    files left over from older pins are removed (they would change what pip resolves).
summary=()
for python in "${pythons[@]}"; do
  version=$("$python" -c 'import platform; print(platform.python_version())')
  for file in "${requirement_files[@]}"; do
    report=$work/report.json
    env PIP_CONFIG_FILE=/dev/null "$python" -m pip install --isolated --quiet --disable-pip-version-check \
      --dry-run --ignore-installed --no-index --find-links "$wheelhouse" --only-binary=:all: \
      --report "$report" -r "$file" ||
      die "$(basename "$file") does not resolve offline for CPython $version: a dependency is missing from the pins"
    "$python" - "$report" "$wheelhouse" >>"$work/needed" <<'PY'
import json, os, sys, urllib.parse, urllib.request
report = json.load(open(sys.argv[1]))
for item in report["install"]:
    path = urllib.request.url2pathname(urllib.parse.urlparse(item["download_info"]["url"]).path)
    print(os.path.relpath(path, sys.argv[2]))
PY
    count=$("$python" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["install"]))' "$report")
    summary+=("$(printf '%-22s CPython %-7s %3s packages' "$(basename "$file")" "$version" "$count")")
  done
done

for python in "${pythons[@]}"; do
  for file in "${tool_files[@]}"; do
    report=$work/report.json
    env PIP_CONFIG_FILE=/dev/null "$python" -m pip install --isolated --quiet --disable-pip-version-check \
      --dry-run --ignore-installed --no-index --find-links "$wheelhouse" --only-binary=:all: \
      --require-hashes --no-deps --report "$report" -r "$file" ||
      die "$(basename "$file") does not install offline for $python"
    "$python" -c 'import json, os, sys, urllib.parse, urllib.request
for item in json.load(open(sys.argv[1]))["install"]:
    print(os.path.relpath(urllib.request.url2pathname(urllib.parse.urlparse(item["download_info"]["url"]).path), sys.argv[2]))' "$report" "$wheelhouse" >>"$work/needed"
  done
done

sort -u "$work/needed" "$work/sdists" >"$work/keep"
while IFS= read -r -d '' path; do
  name=${path##*/}
  if ! grep -qxF "$name" "$work/keep"; then log "removing stale $name"; rm -f "$path"; fi
done < <(find "$wheelhouse" -maxdepth 1 -type f \( -name '*.whl' -o -name '*.tar.gz' -o -name '*.zip' \) -print0)

# The stamp goes last and atomically: an interrupted fill never looks complete.
{
  echo "key $inputs_key"
  sed 's/^/file /' "$work/keep"
} >"$stamp.tmp"
mv "$stamp.tmp" "$stamp"

printf '%s\n' "${summary[@]}" >&2
log "wheelhouse complete: $(wc -l <"$work/keep") files, $(du -sh "$wheelhouse" | cut -f1), $((SECONDS - started))s"
