// The prebuilt SQLite release path: `npm run build-sqlite` on this machine (its own distro and arch)
// compiles the genuine amalgamation from the loopback mirror with the sqlite layer's code and
// writes the archive and its manifest entry; served by a second loopback mirror and listed through
// BP_PYTHON_MANIFEST, that archive installs through the real lifecycle with no compile, and both
// the `sqlite3` command and Python's sqlite3 module use it in the build.
// CFLAGS=-O0 keeps the compile to seconds (the user's CFLAGS come after the buildpack's -O2 and
// win, as in a build); a release leaves CFLAGS unset.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as TOML from '@iarna/toml';
import execa from 'execa';
import { parseOsRelease } from '../../src/cnb/context';
import { createScenario, layerPath, REPO_ROOT, runBuild } from '../helpers/lifecycle';
import { readFixtureIndex, startMirror, writeRuntimeManifest, type ManifestEntry, type Mirror } from '../helpers/mirror';

let mirror: Mirror;
let release: Mirror;
let out: string;
beforeAll(async () => {
  mirror = await startMirror();
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-release-'));
  fs.chmodSync(out, 0o755);
  release = await startMirror({ root: out });
});
afterAll(async () => {
  await mirror?.close();
  await release?.close();
  fs.rmSync(out, { recursive: true, force: true });
});

const host = parseOsRelease(fs.readFileSync('/etc/os-release', 'utf8'));
const arch = process.arch === 'x64' ? 'amd64' : process.arch;
const distro = `${host.name}-${host.version}`;

describe('npm run build-sqlite, then the prebuilt path', () => {
  let entry: ManifestEntry & { distros: Array<{ name: string; version: string }> };
  let archive: string;

  it('compiles the verified amalgamation and writes the archive and its manifest entry', async () => {
    const sqlite = readFixtureIndex(mirror.root).sqlite!;
    const started = Date.now();
    // Asynchronous: the mirror serving the source runs in this process.
    const r = await execa('npm', ['run', '--silent', 'build-sqlite', '--', '--distro', distro, '--out', out, '--uri-base', release.url, '--source', mirror.urlFor(sqlite.file)], {
      cwd: REPO_ROOT,
      env: { ...process.env, CFLAGS: '-O0' },
      reject: false,
      timeout: 10 * 60 * 1000,
    });
    const status = r.exitCode;
    process.stderr.write(`build-sqlite: ${Date.now() - started} ms\n`);
    expect({ status, output: status === 0 ? '' : `${r.stdout}\n${r.stderr}` }).toEqual({ status: 0, output: '' });
    expect(r.stdout).toMatch(/Downloaded and unpacked .* sha256 verified/);
    expect(r.stdout).toMatch(/Compiled SQLite 3\.52\.0 in/);

    const name = `sqlite-${sqlite.version}-${distro}-${arch}`;
    archive = path.join(out, `${name}.tar.gz`);
    const doc = TOML.parse(fs.readFileSync(path.join(out, `${name}.toml`), 'utf8')) as unknown as { dependencies: Array<typeof entry> };
    expect(doc.dependencies).toHaveLength(1);
    entry = doc.dependencies[0]!;
    const sha = createHash('sha256').update(fs.readFileSync(archive)).digest('hex');
    expect(entry).toMatchObject({
      id: 'sqlite',
      version: sqlite.version,
      os: 'linux',
      arch,
      distros: [{ name: host.name, version: host.version }],
      uri: `${release.url}/${name}.tar.gz`,
      checksum: `sha256:${sha}`,
      prefix: 'sqlite/',
      licenses: ['blessing'],
      'source-checksum': `sha256:${sqlite.sha256}`,
    });
    expect(entry.purl).toContain(`pkg:generic/sqlite@${sqlite.version}?arch=${arch}&distro=${distro}`);
    const listing = spawnSync('tar', ['-tzvf', archive], { encoding: 'utf8' }).stdout;
    for (const f of ['sqlite/lib/libsqlite3.so.3.52.0', 'sqlite/lib/libsqlite3.so.0 -> libsqlite3.so.3.52.0', 'sqlite/include/sqlite3.h', 'sqlite/include/sqlite3ext.h', 'sqlite/bin/sqlite3', 'sqlite/lib/pkgconfig/sqlite3.pc']) expect(listing).toContain(f);
    expect(listing).toMatch(/^\S+ 0\/0 .* 1980-01-01 /m); // normalized owner and mtime
  });

  it('installs through the lifecycle from the manifest with no compile; sqlite3 and Python use it', async () => {
    if (!entry) throw new Error('the release script did not run');
    const s = createScenario('sqlite-app', { sqlite: true });
    const manifest = path.join(s.root, 'manifest.toml');
    await writeRuntimeManifest(mirror, manifest, { versions: ['3.11'], extraEntries: [entry] });
    spawnSync('chmod', ['a+r', manifest]);
    s.setEnv('BP_PYTHON_MANIFEST', manifest);
    // What an app's build sees: the CLI and Python's sqlite3 module after the install.
    s.writeAppFile('bin/post_compile', '#!/bin/sh\nset -e\necho "cli: $(sqlite3 -version)"\npython -c "import sqlite3; print(\'module:\', sqlite3.sqlite_version)"\n', 0o755);
    release.clearLog();
    const r = await runBuild(s, { upTo: 'builder' });
    expect({ success: r.success, log: r.success ? '' : r.log }).toEqual({ success: true, log: '' });
    expect(r.buildLog).toMatch(new RegExp(`Downloading SQLite 3\\.52\\.0 \\(prebuilt for ${host.name} ${host.version}\\) from ${release.url}/`));
    expect(r.buildLog).toContain('Installed prebuilt SQLite 3.52.0');
    expect(r.buildLog).not.toMatch(/Compil(ing|ed) SQLite|No prebuilt SQLite/);
    expect(release.requests().filter((q) => q.path.endsWith('.tar.gz')).map((q) => q.status)).toEqual([200]);
    expect(r.buildLog).toMatch(/cli: 3\.52\.0 \d{4}-\d\d-\d\d /);
    expect(r.buildLog).toMatch(/module:\s+3\.52\.0\n/);
    expect(fs.readFileSync(path.join(layerPath(s, 'sqlite'), 'lib', 'pkgconfig', 'sqlite3.pc'), 'utf8')).toContain(`prefix=${layerPath(s, 'sqlite')}\n`);
  });
});
