#!/usr/bin/env python3
"""Generate the runtime manifest ([[metadata.dependencies]]) at the end of buildpack.toml.

Why a generator: the manifest is a few hundred hand-copyable lines of URLs and checksums.
Copying them by hand invites typos in exactly the field (the sha256) that protects users,
so the block is derived from checked-in data and a `--check` mode lets CI prove that
buildpack.toml still matches that data.

Inputs (paths relative to the repository root, which sits beside ../shared):
  ../shared/data/python-build-standalone/cpython-linux.json   required; see its README.md
  ../shared/data/cpython-source/cpython-source.json           optional; adds `source` and
      `source-checksum` (python.org tarballs) for the versions it lists, so the buildpack
      can build from source where no prebuilt archive fits.
  ../shared/data/sqlite/sqlite-source.json                     optional; adds the `sqlite`
      entries (the official amalgamation release, compiled by the sqlite layer).
  The same cpython-source.json also gives the entries of kind "source" (SOURCE_BUILDS below):
      2.7.18, 3.6.13, 3.7.10 for amd64 and arm64, 3.8.8 and 3.9.2 for arm64. A source
      entry has no arch (it builds anywhere); a prebuilt entry would add `arch`, `distros`
      and a `prefix` holding lib/ include/ bin/ (see src/python/sqlite-build.ts).

Output: everything below the marker line at the end of buildpack.toml is replaced; the
text above it (including the marker) is kept byte-for-byte, because humans own it. The
block is a pure function of the inputs (no clock, no environment), so running the script
twice changes nothing, and the header names the sha256 of each input so a reviewer can
tell which data a manifest came from.

Selection (why these versions):
  * stable releases only: pre-releases must never be picked by "3.14" or a default;
  * every patch of 3.10-3.14 for amd64 and arm64: apps pin exact patches and a missing one
    is a build failure;
  * for the end-of-life 3.8 and 3.9 only the newest patch, plus 3.9.2 and 3.8.8, the exact
    versions the classic Heroku buildpack documents (they exist only as x86_64 zstd "full"
    archives, whose install lives under python/install/).

Usage:
  python3 scripts/generate-manifest.py            # rewrite buildpack.toml
  python3 scripts/generate-manifest.py --check    # exit 1 if buildpack.toml is out of date
"""

import argparse
import hashlib
import json
import os
import sys
import urllib.parse

MARKER = "# (python-build-standalone archives) and appended below this line."

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PBS = os.path.join(REPO_ROOT, "..", "shared", "data", "python-build-standalone", "cpython-linux.json")
DEFAULT_SOURCE = os.path.join(REPO_ROOT, "..", "shared", "data", "cpython-source", "cpython-source.json")
DEFAULT_SQLITE = os.path.join(REPO_ROOT, "..", "shared", "data", "sqlite", "sqlite-source.json")
DEFAULT_BUILDPACK = os.path.join(REPO_ROOT, "buildpack.toml")

# End of life per minor: the buildpack's one table, src/python/end-of-life.json (the build warns on
# and refuses versions past it, so it must be exact).
with open(os.path.join(REPO_ROOT, "src", "python", "end-of-life.json"), encoding="utf-8") as _f:
    EOL = {tuple(int(p) for p in minor.split(".")): f"{day}T00:00:00Z" for minor, day in json.load(_f)["minors"].items()}

ALL_PATCHES_MINORS = {(3, 10), (3, 11), (3, 12), (3, 13), (3, 14)}
NEWEST_ONLY_MINORS = {(3, 8), (3, 9)}
# Documented by the classic Heroku Python buildpack; kept so apps that pin them still build.
EXTRA_VERSIONS = {"3.9.2", "3.8.8"}

# Entries of kind "source": the python layer compiles these python.org tarballs where no prebuilt
# archive exists (python-build-standalone has no 2.7, 3.6 or 3.7, and 3.8.8 / 3.9.2 only for
# x86_64). Value: the arches it is listed for (one entry each, so that an operator manifest that
# replaces an arch's python entries replaces these too), and which tarball: the one Debian's archive also
# carries byte-for-byte as its .orig tarball where known (2.7.18's .tgz, 3.9.2's .tar.xz), so the
# sources can be checked against a second origin; otherwise the .tgz (no xz needed).
SOURCE_BUILDS = {
    "3.9.2": (["arm64"], "tar_xz"),
    "3.8.8": (["arm64"], "tgz"),
    "3.7.10": (["amd64", "arm64"], "tgz"),
    "3.6.13": (["amd64", "arm64"], "tgz"),
    "2.7.18": (["amd64", "arm64"], "tgz"),
}

ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
ARCH_ORDER = {"amd64": 0, "arm64": 1}


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def toml_str(value):
    # TOML basic strings share JSON's escapes for the ASCII we emit; refuse anything else
    # rather than risk writing a manifest the buildpack cannot parse.
    if not isinstance(value, str) or not value.isascii():
        raise ValueError(f"unexpected value for TOML string: {value!r}")
    return json.dumps(value)


def select(entries):
    stable = [e for e in entries if not e.get("prerelease")]
    newest = {}
    for e in stable:
        key = (e["major"], e["minor"], e["arch"])
        if key not in newest or (e["patch"] > newest[key]["patch"]):
            newest[key] = e
    chosen = []
    for e in stable:
        minor = (e["major"], e["minor"])
        if e["arch"] not in ARCH:
            continue
        if minor in ALL_PATCHES_MINORS:
            chosen.append(e)
        elif minor in NEWEST_ONLY_MINORS:
            if newest[(e["major"], e["minor"], e["arch"])] is e or e["version"] in EXTRA_VERSIONS:
                chosen.append(e)
    seen = set()
    for e in chosen:
        key = (e["version"], e["arch"])
        if key in seen:
            raise SystemExit(f"duplicate artifact for {key} in input")
        seen.add(key)
    chosen.sort(key=lambda e: (-e["major"], -e["minor"], -e["patch"], ARCH_ORDER[ARCH[e["arch"]]]))
    return chosen


def load_sources(path):
    if not path or not os.path.exists(path):
        return {}, {}, None
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    out = {}
    by_version = {}
    for s in data.get("sources", []):
        by_version[s["version"]] = s
        # The .tgz is the format pyenv and the classic buildpack use; prefer it.
        tgz = s.get("tgz") or s.get("tar_xz")
        if tgz:
            out[s["version"]] = tgz
    return out, by_version, sha256_file(path)


def render_source_builds(by_version):
    lines = []
    for version, arch, fmt in ((v, a, f) for v, (arches, f) in SOURCE_BUILDS.items() for a in arches):
        s = by_version.get(version)
        if not s or not s.get(fmt):
            if by_version:
                raise SystemExit(f"cpython-source.json has no {fmt} for {version}")
            continue
        url, sha = s[fmt]["url"], s[fmt]["sha256"].lower()
        if not url.startswith("https://www.python.org/"):
            raise SystemExit(f"refusing a source url not on python.org for {version}: {url}")
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise SystemExit(f"bad sha256 for the {version} source: {sha}")
        major, minor = (int(x) for x in version.split(".")[:2])
        lines.extend(python_entry(version, "source", arch, url, sha, f"Python-{version}/", EOL[(major, minor)]))
    return lines


def python_entry(version, kind, arch, url, sha, prefix, eol):
    """The lines of one python [[metadata.dependencies]] entry (kind None: a prebuilt archive)."""
    fields = [("id", "python"), ("name", "CPython"), ("version", version)]
    if kind:
        fields.append(("kind", kind))
    fields += [
        ("arch", arch),
        ("os", "linux"),
        ("uri", url),
        ("checksum", "sha256:" + sha),
        ("prefix", prefix),
        ("purl", f"pkg:generic/cpython@{version}?download_url={urllib.parse.quote(url, safe='')}"),
    ]
    lines = ["", "[[metadata.dependencies]]"] + [f"{k} = {toml_str(v)}" for k, v in fields]
    lines.append(f"cpes = [{toml_str(f'cpe:2.3:a:python:python:{version}:*:*:*:*:*:*:*')}]")
    lines.append('licenses = ["PSF-2.0"]')
    lines.append(f"deprecation_date = {toml_str(eol)}")
    return lines


def load_sqlite(path):
    if not path or not os.path.exists(path):
        return [], None
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return data.get("sources", []), sha256_file(path)


def render_sqlite(sources):
    lines = []
    for s in sources:
        version, url, sha = s["version"], s["url"], s["sha256"].lower()
        if not url.startswith("https://"):
            raise SystemExit(f"refusing non-https url for sqlite {version}: {url}")
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise SystemExit(f"bad sha256 for sqlite {version}: {sha}")
        top = s.get("top_dir") or url.rsplit("/", 1)[-1].removesuffix(".tar.gz") + "/"
        lines.append("")
        lines.append("[[metadata.dependencies]]")
        # No arch: the amalgamation source compiles on every target. The license is SPDX
        # "blessing" (SQLite's public-domain dedication with its blessing).
        fields = [
            ("id", "sqlite"),
            ("name", "SQLite"),
            ("version", version),
            ("os", "linux"),
            ("uri", url),
            ("checksum", "sha256:" + sha),
            ("prefix", top),
            ("purl", f"pkg:generic/sqlite@{version}?download_url={urllib.parse.quote(url, safe='')}"),
        ]
        for k, v in fields:
            lines.append(f"{k} = {toml_str(v)}")
        lines.append(f"cpes = [{toml_str(f'cpe:2.3:a:sqlite:sqlite:{version}:*:*:*:*:*:*:*')}]")
        lines.append('licenses = ["blessing"]')
    return lines


def render(entries, sources, pbs_sha, source_sha, sqlite_sources=(), sqlite_sha=None, source_builds=None):
    lines = []
    header = (
        "# Generated by scripts/generate-manifest.py from "
        f"python-build-standalone/cpython-linux.json (sha256 {pbs_sha})"
    )
    if source_sha:
        header += f" and cpython-source/cpython-source.json (sha256 {source_sha})"
    if sqlite_sha:
        header += f" and sqlite/sqlite-source.json (sha256 {sqlite_sha})"
    lines.append(header + ". Do not edit by hand: rerun the script.")
    for e in entries:
        version = e["version"]
        url = e["url"]
        if not url.startswith("https://"):
            raise SystemExit(f"refusing non-https url for {version}: {url}")
        sha = e["sha256"].lower()
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise SystemExit(f"bad sha256 for {version} {e['arch']}: {sha}")
        eol = EOL.get((e["major"], e["minor"]))
        if eol is None:
            raise SystemExit(f"no end-of-life date known for {e['major']}.{e['minor']}")
        lines.extend(python_entry(version, None, ARCH[e["arch"]], url, sha, e["archive_prefix"], eol))
        src = sources.get(version)
        if src:
            lines.append(f"source = {toml_str(src['url'])}")
            lines.append(f"source-checksum = {toml_str('sha256:' + src['sha256'].lower())}")
    lines.extend(render_source_builds(source_builds or {}))
    lines.extend(render_sqlite(sqlite_sources))
    return "\n".join(lines) + "\n"


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if buildpack.toml is out of date")
    p.add_argument("--input", default=DEFAULT_PBS)
    p.add_argument("--source", default=DEFAULT_SOURCE, help="cpython-source.json (optional)")
    p.add_argument("--sqlite", default=DEFAULT_SQLITE, help="sqlite-source.json (optional)")
    p.add_argument("--buildpack", default=DEFAULT_BUILDPACK)
    args = p.parse_args(argv)

    with open(args.input, encoding="utf-8") as f:
        pbs = json.load(f)
    pbs_sha = sha256_file(args.input)
    sources, source_builds, source_sha = load_sources(args.source)
    sqlite_sources, sqlite_sha = load_sqlite(args.sqlite)
    block = render(select(pbs["entries"]), sources, pbs_sha, source_sha, sqlite_sources, sqlite_sha, source_builds)

    with open(args.buildpack, "rb") as f:
        current = f.read().decode("utf-8")
    idx = current.find(MARKER)
    if idx < 0:
        raise SystemExit(f"marker line not found in {args.buildpack}: {MARKER!r}")
    end = current.find("\n", idx)
    head = current if end < 0 else current[: end + 1]
    if end < 0:
        head += "\n"
    wanted = head + "\n" + block

    if args.check:
        if current != wanted:
            print(f"{args.buildpack} is out of date: run python3 scripts/generate-manifest.py", file=sys.stderr)
            return 1
        print(f"{args.buildpack} is up to date")
        return 0
    if current != wanted:
        tmp = args.buildpack + ".tmp"
        with open(tmp, "wb") as f:
            f.write(wanted.encode("utf-8"))
        os.replace(tmp, args.buildpack)
        print(f"wrote {block.count('[[metadata.dependencies]]')} entries to {args.buildpack}")
    else:
        print(f"{args.buildpack} already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
