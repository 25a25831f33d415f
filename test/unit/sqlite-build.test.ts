import { decideLayer } from '../../src/cnb/layer';
import { sqliteEnv, sqliteLayer } from '../../src/layers/sqlite';
import { Dependency, forTarget } from '../../src/python/manifest';
import {
  archivePrefix,
  buildOptionsKey,
  chooseSqliteEntry,
  compileSteps,
  compilerFrom,
  isPrebuilt,
  pkgConfigFile,
  relocatePkgConfig,
  SQLITE_COMPILE_OPTIONS,
  sqliteWanted,
} from '../../src/layers/sqlite/plan';
import { applyLayers } from '../../src/cnb/env';

const SHA = 'f6b50b0c103392af32a8be15b2b9d25959de9a00a70c3979128aafeaa5338b3f';
const source = Dependency.parse({ id: 'sqlite', version: '3.52.0', uri: 'https://sqlite.org/2026/sqlite-autoconf-3520000.tar.gz', checksum: `sha256:${SHA}` });
const prebuilt = (arch: string, name: string, version: string) =>
  Dependency.parse({ id: 'sqlite', version: '3.52.0', uri: `https://example.com/sqlite-3.52.0-${name}${version}-${arch}.tar.gz`, checksum: `sha256:${'1'.repeat(64)}`, arch, distros: [{ name, version }], prefix: 'sqlite/' });

describe('sqliteWanted (BP_PYTHON_SQLITE)', () => {
  it.each<[string | undefined, { wanted: boolean; explicit: boolean }]>([
    [undefined, { wanted: true, explicit: false }],
    ['', { wanted: true, explicit: false }],
    ['true', { wanted: true, explicit: true }],
    ['TRUE', { wanted: true, explicit: true }],
    ['1', { wanted: true, explicit: true }],
    ['false', { wanted: false, explicit: true }],
    [' False ', { wanted: false, explicit: true }],
    ['0', { wanted: false, explicit: true }],
  ])('%p', (value, expected) => {
    expect(sqliteWanted({ BP_PYTHON_SQLITE: value })).toEqual(expected);
  });
  it('anything else is a clear error', () => {
    expect(() => sqliteWanted({ BP_PYTHON_SQLITE: 'maybe' })).toThrow(/Invalid BP_PYTHON_SQLITE[\s\S]*"maybe"/);
  });
});

describe('choosing the entry', () => {
  const target = { os: 'linux', arch: 'amd64', distroName: 'debian', distroVersion: '12' };
  const manifest = { dependencies: [source, prebuilt('amd64', 'ubuntu', '24.04'), prebuilt('arm64', 'debian', '12'), prebuilt('amd64', 'debian', '12')], defaults: {} };
  it('a prebuilt archive for this arch and distro beats the source', () => {
    const chosen = chooseSqliteEntry(forTarget(manifest, 'sqlite', target));
    expect(chosen?.uri).toContain('debian12-amd64');
    expect(isPrebuilt(chosen!)).toBe(true);
  });
  it('no prebuilt archive for the distro: the source (no arch) is used', () => {
    const chosen = chooseSqliteEntry(forTarget(manifest, 'sqlite', { ...target, distroName: 'fedora', distroVersion: '40' }));
    expect(chosen).toBe(source);
    expect(isPrebuilt(source)).toBe(false);
  });
  it('the newest version wins', () => {
    const older = Dependency.parse({ ...source, version: '3.9.10' });
    expect(chooseSqliteEntry([older, source])?.version).toBe('3.52.0');
    expect(chooseSqliteEntry([])).toBeUndefined();
  });
  it('archive prefix: the entry says, else derived from the tarball name', () => {
    expect(archivePrefix(source)).toBe('sqlite-autoconf-3520000/');
    expect(archivePrefix({ ...source, prefix: 'x/' })).toBe('x/');
  });
});

describe('compiler and command lines', () => {
  it('cc by default; CC may carry a launcher; CFLAGS come after our -O2', () => {
    expect(compilerFrom({})).toMatchObject({ command: 'cc', prefixArgs: [], shown: 'cc', cflags: [] });
    const c = compilerFrom({ CC: 'ccache  gcc', CFLAGS: '-O3 -march=x86-64-v2', LDFLAGS: '-Wl,-z,now' });
    expect(c).toMatchObject({ command: 'ccache', prefixArgs: ['gcc'], shown: 'CC=ccache gcc' });
    const steps = compileSteps(c, '3.52.0', '/tmp/out');
    expect(steps.library[0]).toBe('gcc');
    expect(steps.library.indexOf('-O3')).toBeGreaterThan(steps.library.indexOf('-O2'));
    expect(steps.library).toEqual(expect.arrayContaining(['-shared', '-fPIC', '-Wl,-soname,libsqlite3.so.0', '-o', '/tmp/out/lib/libsqlite3.so.3.52.0', '-DSQLITE_ENABLE_FTS5', '-Wl,-z,now']));
    expect(steps.shellObject).toEqual(expect.arrayContaining(['-c', 'shell.c', '-o', 'shell.o', '-O2']));
    expect(steps.shellLink).toEqual(expect.arrayContaining(['shell.o', '-L/tmp/out/lib', '-lsqlite3', '-Wl,-rpath,$ORIGIN/../lib']));
  });
  it('the options name what distributions enable', () => {
    for (const o of ['FTS3', 'FTS3_PARENTHESIS', 'FTS4', 'FTS5', 'RTREE', 'GEOPOLY', 'MATH_FUNCTIONS', 'COLUMN_METADATA', 'DBSTAT_VTAB', 'UNLOCK_NOTIFY', 'LOAD_EXTENSION']) {
      expect(SQLITE_COMPILE_OPTIONS).toContain(`-DSQLITE_ENABLE_${o}`);
    }
    expect(SQLITE_COMPILE_OPTIONS).toEqual(expect.arrayContaining(['-DSQLITE_SECURE_DELETE', '-DSQLITE_MAX_VARIABLE_NUMBER=250000']));
  });
  it('the build key changes with CC, CFLAGS, LDFLAGS and nothing else', () => {
    const base = buildOptionsKey(compilerFrom({}));
    expect(buildOptionsKey(compilerFrom({ PATH: '/x' }))).toBe(base);
    expect(buildOptionsKey(compilerFrom({ CC: 'clang' }))).not.toBe(base);
    expect(buildOptionsKey(compilerFrom({ CFLAGS: '-g' }))).not.toBe(base);
    expect(buildOptionsKey(compilerFrom({ LDFLAGS: '-s' }))).not.toBe(base);
    expect(base).toMatch(/^source:[0-9a-f]{16}$/);
  });
});

describe('pkg-config and env', () => {
  it('the .pc file has the layer as its prefix', () => {
    const pc = pkgConfigFile('/layers/x/sqlite', '3.52.0');
    expect(pc).toMatch(/^prefix=\/layers\/x\/sqlite$/m);
    expect(pc).toContain('Version: 3.52.0');
    expect(pc).toContain('Libs: -L${libdir} -lsqlite3');
    expect(pc).toContain('Cflags: -I${includedir}');
    expect(relocatePkgConfig('prefix=/usr/local\nlibdir=${prefix}/lib\n', '/l')).toBe('prefix=/l\nlibdir=${prefix}/lib\n');
  });
  it('the layer env adds PKG_CONFIG_PATH for build only (the lifecycle does bin, lib, include)', () => {
    expect(sqliteEnv('/l/sqlite').files()).toEqual([
      { file: 'env.build/PKG_CONFIG_PATH.prepend', content: '/l/sqlite/lib/pkgconfig' },
      { file: 'env.build/PKG_CONFIG_PATH.delim', content: ':' },
    ]);
  });
  it('the sqlite layer in the build env (BuildEnv.withLayer): what our own pip needs', () => {
    expect(applyLayers({ PATH: '/usr/bin', CPATH: '/py/include' }, [{ dir: '/l/sqlite', env: sqliteEnv('/l/sqlite'), hasBin: true, hasLib: true, hasInclude: true }], 'build')).toEqual({
      PATH: '/l/sqlite/bin:/usr/bin',
      CPATH: '/l/sqlite/include:/py/include',
      LIBRARY_PATH: '/l/sqlite/lib',
      LD_LIBRARY_PATH: '/l/sqlite/lib',
      PKG_CONFIG_PATH: '/l/sqlite/lib/pkgconfig',
    });
  });
  it('cache reasons read well', () => {
    const key = { sqlite_version: '3.52.0', artifact_sha256: SHA, arch: 'amd64', distro_name: 'debian', distro_version: '12', build: 'source:aaaa' };
    const d = decideLayer(sqliteLayer, { ...key, sqlite_version: '3.51.0', build: 'prebuilt' }, true, key);
    expect(d.action === 'create' && 'reasons' in d ? d.reasons : []).toEqual(['the SQLite version changed from 3.51.0 to 3.52.0', 'it was a prebuilt archive and is now compiled from source']);
  });
});
