// The pure decisions of a CPython source build (src/python/source-plan.ts), the summary parser of
// source-build.ts, and the version resolution's choice between a prebuilt archive and a source entry.
import type { Dependency } from '../../src/python/manifest';
import { resolvePython } from '../../src/python/resolve';
import { modulesNotBuilt } from '../../src/runtime/source-build';
import { configureArgs, headerChecks, isSourceEntry, missingPrerequisites, parseConfigureFlags, removableAfterInstall, sourceBuildKey, modulesToCheck, testSuitesInSource, withoutOptimizedBytecodePasses } from '../../src/python/source-plan';
import { repositoryBuildpack } from '../helpers/buildpack-manifest';
import { userError } from '../helpers/user-error';
import { forTarget } from '../../src/python/manifest';

describe('BP_PYTHON_CONFIGURE_FLAGS', () => {
  it('passes configure options and variables on, in order', () => {
    expect(parseConfigureFlags(undefined)).toEqual([]);
    expect(parseConfigureFlags('  --enable-optimizations   --with-lto CFLAGS=-O3 --without-doc-strings ')).toEqual(['--enable-optimizations', '--with-lto', 'CFLAGS=-O3', '--without-doc-strings']);
  });

  it.each(['--prefix=/usr', '--prefix', '--exec-prefix=/opt', '--libdir=/lib64', '--bindir=/x', 'DESTDIR=/tmp/x'])('refuses %s, which would move the install, with a titled error', (flag) => {
    const e = userError(() => parseConfigureFlags(`--enable-ipv6 ${flag}`));
    expect(e.title).toBe('BP_PYTHON_CONFIGURE_FLAGS would move the Python install');
    expect(e.body.join('\n')).toContain(`"${flag}"`);
    expect(e.body.join('\n')).not.toContain('"--enable-ipv6"');
  });

  it('refuses ensurepip (the buildpack installs its own pinned pip) and words that are not configure options', () => {
    expect(userError(() => parseConfigureFlags('--with-ensurepip=install')).title).toBe('BP_PYTHON_CONFIGURE_FLAGS asks for ensurepip');
    const odd = userError(() => parseConfigureFlags('--enable-shared ; rm -rf / -O3'));
    expect(odd.title).toBe('Invalid BP_PYTHON_CONFIGURE_FLAGS');
    expect(odd.body[0]).toContain('";", "rm", "-rf", "/" and "-O3"');
  });
});

describe('configure arguments', () => {
  it('prefix at the layer, a shared libpython found through $ORIGIN/../lib, no ensurepip; user flags last', () => {
    const args = configureArgs('3.9.2', '/layers/x/python', ['--with-lto']);
    expect(args[0]).toBe('--prefix=/layers/x/python');
    expect(args).toEqual(expect.arrayContaining(['--enable-shared', '--without-ensurepip', 'LDFLAGS=-Wl,-rpath,\\$$ORIGIN/../lib']));
    expect(args[args.length - 1]).toBe('--with-lto');
    expect(args).not.toContain('--enable-unicode=ucs4');
    expect(args).not.toContain('--with-system-ffi');
    expect(args).not.toContain('--enable-optimizations');
  });

  it('Python 2.7 is the wide-unicode build (cp27mu wheels); before 3.7 the system libffi is asked for', () => {
    expect(configureArgs('2.7.18', '/p', [])).toEqual(expect.arrayContaining(['--enable-unicode=ucs4', '--with-system-ffi']));
    expect(configureArgs('3.6.13', '/p', [])).toContain('--with-system-ffi');
    expect(configureArgs('3.6.13', '/p', [])).not.toContain('--enable-unicode=ucs4');
    expect(configureArgs('3.7.10', '/p', [])).not.toContain('--with-system-ffi');
  });

  it('the key part names the compiler and the flags, so a change of either recompiles', () => {
    const a = sourceBuildKey('gcc (Debian 12.2.0-14) 12.2.0', []);
    expect(a).toBe('source; gcc (Debian 12.2.0-14) 12.2.0; flags: (none)');
    expect(sourceBuildKey('gcc (Debian 12.2.0-14) 12.2.0', ['--with-lto'])).not.toBe(a);
    expect(sourceBuildKey('clang version 16.0.6', [])).not.toBe(a);
  });
});

describe('prerequisites', () => {
  it('zlib, OpenSSL and libffi are required; lzma only for 3.x, uuid from 3.7', () => {
    const names = (v: string, required: boolean) => headerChecks(v).filter((h) => h.required === required).map((h) => h.header);
    expect(names('3.9.2', true)).toEqual(['zlib.h', 'openssl/ssl.h', 'ffi.h']);
    expect(names('3.9.2', false)).toEqual(expect.arrayContaining(['bzlib.h', 'sqlite3.h', 'readline/readline.h', 'lzma.h', 'uuid/uuid.h']));
    expect(names('2.7.18', false)).not.toContain('lzma.h');
    expect(names('3.6.13', false)).not.toContain('uuid/uuid.h');
  });

  it('the error names exactly what is missing, the packages that have it, and the builders that do', () => {
    const [, ssl] = headerChecks('2.7.18');
    const e = missingPrerequisites('2.7.18', { tools: ['make'], headers: [ssl!] });
    expect(e.title).toBe('The build image cannot compile Python 2.7.18');
    const text = e.body.join('\n');
    expect(text).toContain('Missing programs: `make`.');
    expect(text).toContain('Missing headers: openssl/ssl.h (OpenSSL: ssl, hashlib');
    expect(text).toContain('packages make and libssl-dev');
    expect(text).toMatch(/"full" build image.*paketobuildpacks\/builder-jammy-full.*heroku\/builder:24/);
    expect(text).not.toContain('zlib');
  });

  it('the modules checked after the install: ssl first, lzma only for 3.x', () => {
    expect(modulesToCheck('3.9.2')[0]).toBe('ssl');
    expect(modulesToCheck('3.9.2')).toContain('lzma');
    expect(modulesToCheck('2.7.18')).not.toContain('lzma');
  });

  it('the test suites are removed after the install', () => {
    expect(removableAfterInstall('3.9.2')).toEqual(expect.arrayContaining(['lib/python3.9/test', 'lib/python3.9/lib2to3/tests', 'lib/python3.9/ctypes/test']));
    expect(removableAfterInstall('2.7.18')).toEqual(expect.arrayContaining(['lib/python2.7/test', 'lib/python2.7/bsddb/test']));
  });

  it('and from the source tree before it, so the install neither copies nor byte-compiles them', () => {
    expect(testSuitesInSource()).toEqual(expect.arrayContaining(['Lib/test', 'Lib/lib2to3/tests', 'Lib/ctypes/test', 'Lib/lib-tk/test']));
    expect(testSuitesInSource().every((p) => p.startsWith('Lib/'))).toBe(true);
  });
});

describe("make install's -O/-OO byte-compile passes", () => {
  // The libinstall recipes of CPython 3.9's and 2.7's Makefile.pre.in, as configure writes them.
  const py39 = [
    'libinstall:\tbuild_all $(srcdir)/Modules/xxmodule.c',
    '\t-PYTHONPATH=$(DESTDIR)$(LIBDEST) $(RUNSHARED) \\',
    '\t\t$(PYTHON_FOR_BUILD) -Wi $(DESTDIR)$(LIBDEST)/compileall.py \\',
    "\t\t-j0 -d $(LIBDEST) -f \\",
    "\t\t-x 'bad_coding|badsyntax|site-packages|lib2to3/tests/data' \\",
    '\t\t$(DESTDIR)$(LIBDEST)',
    '\t-PYTHONPATH=$(DESTDIR)$(LIBDEST) $(RUNSHARED) \\',
    '\t\t$(PYTHON_FOR_BUILD) -Wi -O $(DESTDIR)$(LIBDEST)/compileall.py \\',
    "\t\t-j0 -d $(LIBDEST) -f \\",
    '\t\t$(DESTDIR)$(LIBDEST)',
    '\t-PYTHONPATH=$(DESTDIR)$(LIBDEST) $(RUNSHARED) \\',
    '\t\t$(PYTHON_FOR_BUILD) -Wi -OO $(DESTDIR)$(LIBDEST)/compileall.py \\',
    '\t\t$(DESTDIR)$(LIBDEST)',
    '\t-PYTHONPATH=$(DESTDIR)$(LIBDEST)  $(RUNSHARED) \\',
    '\t\t$(PYTHON_FOR_BUILD) -Wi -O $(DESTDIR)$(LIBDEST)/compileall.py \\',
    '\t\t-x badsyntax $(DESTDIR)$(LIBDEST)/site-packages',
    '\t-PYTHONPATH=$(DESTDIR)$(LIBDEST) $(RUNSHARED) \\',
    '\t\t$(PYTHON_FOR_BUILD) -m lib2to3.pgen2.driver $(DESTDIR)$(LIBDEST)/lib2to3/Grammar.txt',
  ].join('\n');
  const py27 = '\t-PYTHONPATH=$(DESTDIR)$(LIBDEST) $(RUNSHARED) \\\n\t\t$(PYTHON_FOR_BUILD) -Wi -tt -O $(DESTDIR)$(LIBDEST)/compileall.py \\\n\t\t-d $(LIBDEST) -f \\\n';

  it('become `true`; the plain pass, the grammar and every other line stay as they were', () => {
    const { text, skipped } = withoutOptimizedBytecodePasses(py39);
    expect(skipped).toBe(3);
    const before = py39.split('\n');
    const after = text.split('\n');
    expect(after).toHaveLength(before.length);
    const changed = after.map((l, i) => (l === before[i] ? null : [before[i], l])).filter(Boolean);
    expect(changed).toEqual([
      ['\t\t$(PYTHON_FOR_BUILD) -Wi -O $(DESTDIR)$(LIBDEST)/compileall.py \\', '\t\ttrue -Wi -O $(DESTDIR)$(LIBDEST)/compileall.py \\'],
      ['\t\t$(PYTHON_FOR_BUILD) -Wi -OO $(DESTDIR)$(LIBDEST)/compileall.py \\', '\t\ttrue -Wi -OO $(DESTDIR)$(LIBDEST)/compileall.py \\'],
      ['\t\t$(PYTHON_FOR_BUILD) -Wi -O $(DESTDIR)$(LIBDEST)/compileall.py \\', '\t\ttrue -Wi -O $(DESTDIR)$(LIBDEST)/compileall.py \\'],
    ]);
  });

  it("Python 2.7's recipe (-tt -O) too; a Makefile without such passes is unchanged", () => {
    expect(withoutOptimizedBytecodePasses(py27)).toEqual({ text: py27.replace('$(PYTHON_FOR_BUILD)', 'true'), skipped: 1 });
    const plain = 'all:\n\t$(PYTHON_FOR_BUILD) -Wi $(DESTDIR)$(LIBDEST)/compileall.py -o 0 -o 1 -o 2\n';
    expect(withoutOptimizedBytecodePasses(plain)).toEqual({ text: plain, skipped: 0 });
  });
});

describe("CPython's summary at the end of make", () => {
  it('lists the modules without headers and the ones that failed', () => {
    const tail = [
      'running build_scripts',
      'Python build finished successfully!',
      'The necessary bits to build these optional modules were not found:',
      '_tkinter              _uuid                 nis',
      'To find the necessary bits, look in setup.py in detect_modules() for the module\'s name.',
      '',
      'Failed to build these modules:',
      '_ssl',
      '',
      'running build_scripts',
    ];
    expect(modulesNotBuilt(tail)).toEqual({ missing: ['_tkinter', '_uuid', 'nis'], failed: ['_ssl'] });
    expect(modulesNotBuilt(['Python build finished successfully!'])).toEqual({ missing: [], failed: [] });
  });
});

describe('manifest and resolution', () => {
  const own = repositoryBuildpack().manifest;

  it('lists 2.7.18, 3.6.13, 3.7.10 from source for both arches, 3.8.8 and 3.9.2 from source for arm64 only', () => {
    const sources = (arch: string) => forTarget(own, 'python', { os: 'linux', arch }).filter(isSourceEntry).map((d) => d.version);
    expect(sources('amd64')).toEqual(['3.7.10', '3.6.13', '2.7.18']);
    expect(sources('arm64')).toEqual(['3.9.2', '3.8.8', '3.7.10', '3.6.13', '2.7.18']);
    for (const d of own.dependencies.filter(isSourceEntry)) {
      expect(d.uri).toMatch(new RegExp(`^https://www\\.python\\.org/ftp/python/${d.version}/Python-${d.version}\\.(tgz|tar\\.xz)$`));
      expect(d.prefix).toBe(`Python-${d.version}/`);
      expect(d.deprecation_date).toBeDefined();
    }
  });

  const request = (spec: string) => [{ spec, kind: 'version' as const, source: 'runtime.txt' as const, origin: 'runtime.txt' }];
  const resolve = (arch: string, spec: string) => resolvePython({ requests: request(spec), constraints: [], available: forTarget(own, 'python', { os: 'linux', arch }), arch, today: new Date('2026-12-01') });

  it('a prebuilt archive wins where one exists for the arch; the source entry is the fallback', () => {
    const amd = resolve('amd64', '3.9.2');
    expect(isSourceEntry(amd.entry)).toBe(false);
    const arm = resolve('arm64', '3.9.2');
    expect(isSourceEntry(arm.entry)).toBe(true);
    expect(arm.notes.join('\n')).toContain('Python 3.9.2 has no prebuilt archive for arm64: it will be compiled from its python.org source');
    const py27 = resolve('amd64', '2.7.18');
    expect(py27.entry.uri).toBe('https://www.python.org/ftp/python/2.7.18/Python-2.7.18.tgz');
  });

  it('of two entries of one version, the prebuilt one is chosen whatever the manifest order', () => {
    const base = { id: 'python', version: '3.7.10', os: 'linux', arch: 'amd64', checksum: `sha256:${'a'.repeat(64)}` };
    const source: Dependency = { ...base, uri: 'https://www.python.org/ftp/python/3.7.10/Python-3.7.10.tgz', kind: 'source' };
    const prebuilt: Dependency = { ...base, uri: 'https://example.com/cpython-3.7.10.tar.gz' };
    for (const available of [[source, prebuilt], [prebuilt, source]]) {
      expect(resolvePython({ requests: request('3.7'), constraints: [], available, arch: 'amd64', today: new Date('2026-12-01') }).entry).toBe(prebuilt);
    }
  });
});
