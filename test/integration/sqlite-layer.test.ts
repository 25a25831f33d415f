// The sqlite layer. First through installSqlite itself on a temp layers dir (the genuine
// sqlite-autoconf-3520000.tar.gz from the loopback mirror, the machine's real cc), then through the
// real lifecycle once build.ts runs it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as TOML from '@iarna/toml';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';
import { BuildEnv } from '../../src/cnb/build-env';
import { installSqlite, removeSqliteLayer, sqliteEnv } from '../../src/layers/sqlite';
import { Log } from '../../src/log';
import { Dependency } from '../../src/python/manifest';
import { createScenario, layerPath, readLayerToml, runBuild, type Scenario } from '../helpers/lifecycle';
import { readFixtureIndex, startMirror, writeRuntimeManifest, type Mirror } from '../helpers/mirror';

let mirror: Mirror;
beforeAll(async () => {
  mirror = await startMirror();
});
afterAll(() => mirror.close());

const VERSION = '3.52.0';
const target = { os: 'linux', arch: 'amd64', distroName: 'debian', distroVersion: '12' };
const sqliteIndex = () => readFixtureIndex(mirror.root).sqlite!;
const sqliteDownloads = () => mirror.requests().filter((r) => r.path.includes('sqlite-autoconf')).map((r) => r.path);

function sourceEntry(fault?: Parameters<Mirror['urlFor']>[1]): Dependency {
  const s = sqliteIndex();
  return Dependency.parse({ id: 'sqlite', version: s.version, uri: mirror.urlFor(s.file, fault), checksum: `sha256:${s.sha256}`, prefix: s.prefix });
}

const tmpDirs: string[] = [];
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});
function tempLayers(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-layer-'));
  tmpDirs.push(d);
  return d;
}

function capture(): { log: Log; text: () => string } {
  let out = '';
  return { log: new Log((t) => (out += t)), text: () => out };
}

function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.tmpdir(), LANG: 'C.UTF-8', ...extra };
}

/** Compiles and runs a C program against the layer through pkg-config, as a package build would. */
function compileAgainst(layerDir: string): { stdout: string; stderr: string; status: number | null } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-c-'));
  tmpDirs.push(dir);
  fs.writeFileSync(path.join(dir, 'v.c'), '#include <stdio.h>\n#include <sqlite3.h>\nint main(void){printf("%s %s\\n", sqlite3_libversion(), SQLITE_VERSION);return 0;}\n');
  const env = { ...baseEnv(), PKG_CONFIG_PATH: path.join(layerDir, 'lib', 'pkgconfig') };
  const flags = spawnSync('pkg-config', ['--cflags', '--libs', 'sqlite3'], { env, encoding: 'utf8' });
  if (flags.status !== 0) return { stdout: '', stderr: flags.stderr, status: flags.status };
  const cc = spawnSync('cc', ['v.c', '-o', 'v', ...flags.stdout.trim().split(/\s+/)], { cwd: dir, env, encoding: 'utf8' });
  if (cc.status !== 0) return cc;
  // At launch and for later build steps the lifecycle puts the layer's lib/ on LD_LIBRARY_PATH.
  return spawnSync(path.join(dir, 'v'), [], { env: { ...env, LD_LIBRARY_PATH: path.join(layerDir, 'lib') }, encoding: 'utf8' });
}

describe('installSqlite on a temp layers dir', () => {
  it('compiles the genuine amalgamation into a working layer, then reuses it', async () => {
    const layers = tempLayers();
    const first = capture();
    mirror.clearLog();
    const r = await installSqlite({ layersDir: layers, entry: sourceEntry(), target, mirrors: [], env: baseEnv(), log: first.log, explicitlyRequested: false });
    expect(r).toMatchObject({ status: 'installed', version: VERSION, dir: path.join(layers, 'sqlite') });
    expect(first.text()).toMatch(/Downloaded and unpacked [\d.]+ MiB in .*sha256 verified/);
    expect(first.text()).toMatch(/Compiling SQLite 3\.52\.0 with cc \(-O2; library and CLI in parallel\)/);
    expect(first.text()).toMatch(/Compiled SQLite 3\.52\.0 in (?:\d+m )?[\d.]+m?s \(FTS3, FTS4, FTS5, JSON, RTREE/);
    expect(sqliteDownloads()).toHaveLength(1);
    const dir = r.dir!;
    expect(fs.readlinkSync(path.join(dir, 'lib', 'libsqlite3.so'))).toBe('libsqlite3.so.0');
    expect(fs.readlinkSync(path.join(dir, 'lib', 'libsqlite3.so.0'))).toBe('libsqlite3.so.3.52.0');
    for (const f of ['include/sqlite3.h', 'include/sqlite3ext.h', 'bin/sqlite3']) expect(fs.existsSync(path.join(dir, f))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'lib', 'pkgconfig', 'sqlite3.pc'), 'utf8')).toContain(`prefix=${dir}\n`);
    expect(fs.readFileSync(path.join(dir, 'env.build', 'PKG_CONFIG_PATH.prepend'), 'utf8')).toBe(path.join(dir, 'lib', 'pkgconfig'));
    // The CLI finds its own library through RUNPATH $ORIGIN/../lib, even with the system's on the machine.
    const v = spawnSync(path.join(dir, 'bin', 'sqlite3'), ['--version'], { encoding: 'utf8' });
    expect(v.stdout).toMatch(/^3\.52\.0 /);
    const opts = spawnSync(path.join(dir, 'bin', 'sqlite3'), [':memory:', 'pragma compile_options;'], { encoding: 'utf8' }).stdout;
    for (const o of ['ENABLE_FTS5', 'ENABLE_RTREE', 'ENABLE_GEOPOLY', 'ENABLE_MATH_FUNCTIONS', 'ENABLE_COLUMN_METADATA', 'MAX_VARIABLE_NUMBER=250000']) expect(opts).toContain(o);
    expect(compileAgainst(dir).stdout.trim()).toBe('3.52.0 3.52.0');
    const toml = TOML.parse(fs.readFileSync(path.join(layers, 'sqlite.toml'), 'utf8'));
    expect(toml).toEqual({
      types: { build: true, launch: true, cache: true },
      metadata: { sqlite_version: VERSION, artifact_sha256: sqliteIndex().sha256, arch: 'amd64', distro_name: 'debian', distro_version: '12', build: expect.stringMatching(/^source:/) },
    });
    // BuildEnv.withLayer: a C extension build in our own process sees the headers with no flags at all.
    const ownEnv = (await BuildEnv.from(baseEnv()).withLayer(dir, sqliteEnv(dir))).toRecord();
    const hdr = spawnSync('sh', ['-c', 'echo "#include <sqlite3.h>" | cc -E -x c - | grep -m1 -o "[^\\"]*sqlite3.h"'], { env: ownEnv, encoding: 'utf8' });
    expect(hdr.stdout.trim()).toBe(path.join(dir, 'include', 'sqlite3.h'));

    const second = capture();
    mirror.clearLog();
    const again = await installSqlite({ layersDir: layers, entry: sourceEntry(), target, mirrors: [], env: baseEnv(), log: second.log, explicitlyRequested: false });
    expect(again.status).toBe('reused');
    expect(second.text()).toContain('Using cached SQLite 3.52.0');
    expect(second.text()).not.toContain('Compil');
    expect(sqliteDownloads()).toEqual([]);

    // A changed CFLAGS recompiles, and says why. -O0: the recompile proves the key, not the code,
    // and unoptimised it takes a fraction of an optimised compile of the amalgamation.
    const third = capture();
    const changed = await installSqlite({ layersDir: layers, entry: sourceEntry(), target, mirrors: [], env: baseEnv({ CFLAGS: '-O0' }), log: third.log, explicitlyRequested: false });
    expect(changed.status).toBe('installed');
    expect(third.text()).toContain('Discarding cached SQLite 3.52.0 since:');
    expect(third.text()).toContain('the compiler settings changed');
    expect(third.text()).toContain('with cc (-O2, CFLAGS=-O0;');

    const drop = capture();
    await removeSqliteLayer(layers, drop.log);
    expect(drop.text()).toContain('removed the cached SQLite layer');
    expect(fs.existsSync(path.join(layers, 'sqlite'))).toBe(false);
    expect(fs.existsSync(path.join(layers, 'sqlite.toml'))).toBe(false);
  });

  it('no compiler: a warning and a skipped layer by default, an error when asked for', async () => {
    const layers = tempLayers();
    const soft = capture();
    const env = baseEnv({ CC: 'no-such-cc-xyz' });
    const r = await installSqlite({ layersDir: layers, entry: sourceEntry(), target, mirrors: [], env, log: soft.log, explicitlyRequested: false });
    expect(r).toEqual({ status: 'skipped' });
    expect(soft.text()).toMatch(/! Warning: No C compiler: SQLite was not installed[\s\S]*CC=no-such-cc-xyz is not on PATH/);
    expect(fs.existsSync(path.join(layers, 'sqlite'))).toBe(false);
    expect(fs.existsSync(path.join(layers, 'sqlite.toml'))).toBe(false);
    await expect(installSqlite({ layersDir: layers, entry: sourceEntry(), target, mirrors: [], env, log: capture().log, explicitlyRequested: true })).rejects.toThrow(
      /No C compiler to build SQLite[\s\S]*BP_PYTHON_SQLITE=true[\s\S]*CC=no-such-cc-xyz is not on PATH/,
    );
    expect(fs.existsSync(path.join(layers, 'sqlite.toml'))).toBe(false);
  });

  it('a compile failure shows the compiler output and leaves nothing behind', async () => {
    const layers = tempLayers();
    const e = await installSqlite({ layersDir: layers, entry: sourceEntry(), target, mirrors: [], env: baseEnv({ CFLAGS: '-fno-such-flag-xyz' }), log: capture().log, explicitlyRequested: false }).catch((x) => x);
    expect(String(e)).toMatch(/SQLite failed to compile[\s\S]*cc exited with code 1[\s\S]*-fno-such-flag-xyz[\s\S]*CFLAGS=-fno-such-flag-xyz/);
    expect(fs.existsSync(path.join(layers, 'sqlite'))).toBe(false);
    expect(fs.existsSync(path.join(layers, 'sqlite.toml'))).toBe(false);
  });

  it('a corrupted archive fails with the checksum message', async () => {
    const layers = tempLayers();
    await expect(installSqlite({ layersDir: layers, entry: sourceEntry('corrupt'), target, mirrors: [], env: baseEnv(), log: capture().log, explicitlyRequested: false })).rejects.toThrow(/Checksum mismatch/);
    expect(fs.existsSync(path.join(layers, 'sqlite.toml'))).toBe(false);
    expect(fs.existsSync(path.join(layers, 'sqlite'))).toBe(false);
  });

  it('a prebuilt entry for this distro is unpacked as is, its pkg-config pointed at the layer', async () => {
    const work = tempLayers();
    const archive = path.join(work, 'sqlite-prebuilt.tar.gz');
    const pack = tar.pack();
    pack.entry({ name: 'sqlite/include/sqlite3.h' }, '#define SQLITE_VERSION "3.52.0"\n');
    pack.entry({ name: 'sqlite/lib/libsqlite3.so.3.52.0', mode: 0o755 }, 'not really a library');
    pack.entry({ name: 'sqlite/lib/pkgconfig/sqlite3.pc' }, 'prefix=/build/sqlite\nlibdir=${prefix}/lib\nName: SQLite\nVersion: 3.52.0\n');
    pack.entry({ name: 'sqlite/bin/sqlite3', mode: 0o755 }, '#!/bin/sh\necho "3.52.0 2026-03-06 prebuilt"\n');
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack.pipe(zlib.createGzip())) chunks.push(c as Buffer);
    fs.writeFileSync(archive, Buffer.concat(chunks));
    const sha = require('node:crypto').createHash('sha256').update(fs.readFileSync(archive)).digest('hex');
    const entry = Dependency.parse({ id: 'sqlite', version: VERSION, uri: `file://${archive}`, checksum: `sha256:${sha}`, arch: 'amd64', distros: [{ name: 'debian', version: '12' }], prefix: 'sqlite/' });
    const layers = path.join(work, 'layers');
    fs.mkdirSync(layers);
    const out = capture();
    const r = await installSqlite({ layersDir: layers, entry, target, mirrors: [], env: baseEnv({ CC: 'no-such-cc-xyz' }), log: out.log, explicitlyRequested: true });
    expect(r.status).toBe('installed');
    expect(out.text()).toContain('Installed prebuilt SQLite 3.52.0');
    expect(out.text()).not.toContain('Compil');
    expect(fs.readFileSync(path.join(r.dir!, 'lib', 'pkgconfig', 'sqlite3.pc'), 'utf8')).toMatch(new RegExp(`^prefix=${r.dir}$`, 'm'));
    expect(fs.readlinkSync(path.join(r.dir!, 'lib', 'libsqlite3.so.0'))).toBe('libsqlite3.so.3.52.0');
    expect(TOML.parse(fs.readFileSync(path.join(layers, 'sqlite.toml'), 'utf8')).metadata).toMatchObject({ build: 'prebuilt' });
  });
});

// ---------------------------------------------------------------------------------------------
// Through the real lifecycle (build.ts runs the layer after Python and before the dependencies).

async function lifecycleScenario(fixture = 'sqlite-app', options: Parameters<typeof writeRuntimeManifest>[2] = {}): Promise<Scenario> {
  const s = createScenario(fixture, { sqlite: true });
  const manifest = path.join(s.root, 'manifest.toml');
  await writeRuntimeManifest(mirror, manifest, { versions: ['3.11'], ...options });
  spawnSync('chmod', ['a+r', manifest]);
  s.setEnv('BP_PYTHON_MANIFEST', manifest);
  return s;
}

function cli(s: Scenario, ...args: string[]) {
  return spawnSync(path.join(layerPath(s, 'sqlite'), 'bin', 'sqlite3'), args, { encoding: 'utf8' });
}

const NO_STACK = /^\s+at .+\(.+:\d+:\d+\)$/m;

describe('sqlite layer through the lifecycle', () => {
  it('compiles SQLite 3.52.0 on the first build, reuses it on a warm rebuild, and removes it with BP_PYTHON_SQLITE=false', async () => {
    const s = await lifecycleScenario();
    // Unoptimised: this test is about the layer through the lifecycle (download, cache, export,
    // removal), not the code; the default -O2 compile is the test above's (and the pack tier's).
    s.setEnv('CFLAGS', '-O0');
    mirror.clearLog();
    const first = await runBuild(s);
    expect(first.success).toBe(true);
    expect(first.buildLog).toContain('- Installing SQLite3');
    expect(first.buildLog).toContain('No cached SQLite');
    expect(first.buildLog).toMatch(/Downloading SQLite 3\.52\.0 source from http:\/\/127\.0\.0\.1:\d+\/sqlite\/sqlite-autoconf-3520000\.tar\.gz/);
    expect(first.buildLog).toMatch(/Downloaded and unpacked 3\.1 MiB in .*sha256 verified/);
    expect(first.buildLog).toMatch(/No prebuilt SQLite for \w+ [\d.]+ amd64 in the manifest; compiling it from source \(once: the layer is cached\)/);
    expect(first.buildLog).toMatch(/Compiling SQLite 3\.52\.0 with cc \(-O2, CFLAGS=-O0; library and CLI in parallel\)/);
    expect(first.buildLog).toMatch(/Compiled SQLite 3\.52\.0 in (?:\d+m )?[\d.]+m?s \(FTS3, FTS4, FTS5, JSON, RTREE, GEOPOLY, math functions/);
    expect(sqliteDownloads()).toHaveLength(1);
    expect(first.exportLog).toMatch(/Adding layer 'python-cnb\/python:sqlite'/);

    // The layer: the CLI, the library through pkg-config, and the metadata.
    expect(cli(s, '--version').stdout).toMatch(/^3\.52\.0 \d{4}-\d\d-\d\d /);
    expect(cli(s, ':memory:', "select json_extract('{\"a\":[1,2]}', '$.a[1]'), sqlite_compileoption_used('ENABLE_FTS5');").stdout.trim()).toBe('2|1');
    const c = compileAgainst(layerPath(s, 'sqlite'));
    expect(c.stderr).toBe('');
    expect(c.stdout.trim()).toBe('3.52.0 3.52.0');
    expect(readLayerToml(s, 'sqlite')).toEqual({
      types: { build: true, launch: true, cache: true },
      metadata: { sqlite_version: VERSION, artifact_sha256: sqliteIndex().sha256, arch: 'amd64', distro_name: expect.any(String), distro_version: expect.any(String), build: expect.stringMatching(/^source:[0-9a-f]{16}$/) },
    });
    expect(fs.readFileSync(path.join(layerPath(s, 'sqlite'), 'lib', 'pkgconfig', 'sqlite3.pc'), 'utf8')).toContain(`prefix=${layerPath(s, 'sqlite')}\n`);

    // Warm rebuild: nothing downloaded, nothing compiled, the exporter reuses the layer.
    mirror.clearLog();
    const second = await runBuild(s);
    expect(second.success).toBe(true);
    expect(second.buildLog).toContain('Using cached SQLite 3.52.0');
    expect(second.buildLog).not.toMatch(/Compil(ing|ed) SQLite/);
    expect(second.buildLog).not.toContain('Downloading SQLite');
    expect(sqliteDownloads()).toEqual([]);
    expect(second.exportLog).toMatch(/Reusing layer 'python-cnb\/python:sqlite'/);
    expect(cli(s, '--version').stdout).toMatch(/^3\.52\.0 /);
    process.stdout.write(`sqlite timing: builder phase ${first.phases.builder!.durationMs}ms first build (${/Compiled SQLite 3\.52\.0 in (.+?) \(/.exec(first.buildLog)?.[1]} compiling), ${second.phases.builder!.durationMs}ms warm rebuild\n`);

    // BP_PYTHON_SQLITE=false: the restored layer is removed, and the image has none.
    s.setEnv('BP_PYTHON_SQLITE', 'false');
    const off = await runBuild(s);
    expect(off.success).toBe(true);
    expect(off.buildLog).toContain('Skipping SQLite (BP_PYTHON_SQLITE=false); removed the cached SQLite layer');
    expect(readLayerToml(s, 'sqlite')).toBeUndefined();
    expect(fs.existsSync(layerPath(s, 'sqlite'))).toBe(false);
    expect(off.exportLog).not.toMatch(/python-cnb\/python:sqlite/);
  });

  it('BP_PYTHON_SQLITE=false on a first build: no sqlite layer, no download', async () => {
    const s = await lifecycleScenario();
    s.setEnv('BP_PYTHON_SQLITE', 'false');
    mirror.clearLog();
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(true);
    expect(r.buildLog).toContain('Skipping SQLite (BP_PYTHON_SQLITE=false)');
    expect(sqliteDownloads()).toEqual([]);
    expect(readLayerToml(s, 'sqlite')).toBeUndefined();
    expect(fs.existsSync(layerPath(s, 'sqlite'))).toBe(false);
  });

  it('a corrupted source archive fails the build with the checksum message and leaves no layer', async () => {
    const s = await lifecycleScenario('sqlite-app', { uriFor: (file) => mirror.urlFor(file, file.startsWith('sqlite/') ? 'corrupt' : undefined) });
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(false);
    expect(r.failedPhase).toBe('builder');
    expect(r.buildLog).toMatch(/Error: Checksum mismatch[\s\S]*sqlite-autoconf-3520000\.tar\.gz does not have the expected sha256[\s\S]*Expected: f6b50b0c/);
    expect(r.buildLog).not.toMatch(NO_STACK);
    expect(readLayerToml(s, 'sqlite')).toBeUndefined();
    expect(fs.existsSync(layerPath(s, 'sqlite'))).toBe(false);
  });

  it('a compiler that fails (CC from the platform env): its output in the error, no layer', async () => {
    const s = await lifecycleScenario();
    s.writeAppFile('tools/failing-cc', '#!/bin/sh\necho "failing-cc: refusing to compile (args: $*)" >&2\nexit 3\n', 0o755);
    s.setEnv('CC', path.join(s.appDir, 'tools', 'failing-cc'));
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(false);
    expect(r.failedPhase).toBe('builder');
    expect(r.buildLog).toMatch(/Error: SQLite failed to compile[\s\S]*failing-cc exited with code 3 while compiling the library \(sqlite3\.c\)[\s\S]*failing-cc: refusing to compile \(args: -O2 -fPIC -shared/);
    expect(r.buildLog).toContain('or set BP_PYTHON_SQLITE=false to skip SQLite');
    expect(r.buildLog).not.toMatch(NO_STACK);
    expect(readLayerToml(s, 'sqlite')).toBeUndefined();
    expect(fs.existsSync(layerPath(s, 'sqlite'))).toBe(false);
  });

  it('an invalid CFLAGS flag: gcc\'s own message in the error, no layer', async () => {
    const s = await lifecycleScenario();
    s.setEnv('CFLAGS', '-fno-such-flag-xyz');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(false);
    expect(r.buildLog).toMatch(/Error: SQLite failed to compile[\s\S]*cc exited with code 1[\s\S]*unrecognized command[- ]line option '-fno-such-flag-xyz'/);
    expect(readLayerToml(s, 'sqlite')).toBeUndefined();
  });

  it('no C compiler: a warning and no layer by default; an error naming it with BP_PYTHON_SQLITE=true', async () => {
    const s = await lifecycleScenario();
    s.setEnv('CC', '/nonexistent/bin/cc');
    const soft = await runBuild(s, { upTo: 'builder' });
    expect(soft.success).toBe(true);
    expect(soft.buildLog).toMatch(/! Warning: No C compiler: SQLite was not installed[\s\S]*CC=\/nonexistent\/bin\/cc is not on PATH/);
    expect(readLayerToml(s, 'sqlite')).toBeUndefined();
    expect(fs.existsSync(layerPath(s, 'sqlite'))).toBe(false);

    s.setEnv('BP_PYTHON_SQLITE', 'true');
    const hard = await runBuild(s, { upTo: 'builder' });
    expect(hard.success).toBe(false);
    expect(hard.buildLog).toMatch(/Error: No C compiler to build SQLite[\s\S]*BP_PYTHON_SQLITE=true asks for SQLite[\s\S]*CC=\/nonexistent\/bin\/cc is not on PATH/);
    expect(readLayerToml(s, 'sqlite')).toBeUndefined();
  });

  it('an invalid BP_PYTHON_SQLITE fails before any download', async () => {
    const s = await lifecycleScenario();
    s.setEnv('BP_PYTHON_SQLITE', 'sometimes');
    mirror.clearLog();
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(false);
    expect(r.buildLog).toMatch(/Error: Invalid BP_PYTHON_SQLITE[\s\S]*"sometimes"/);
    expect(mirror.requests()).toEqual([]);
  });
});
