// A Python that must be compiled from source, on a build image that cannot compile it: through the
// real lifecycle, with a PATH that hides the compiler and make, or whose compiler sees no OpenSSL or
// libffi headers. The build stops with one titled error naming exactly what is missing and where
// to get it, BEFORE any download (the mirrors' logs stay empty) and without a python layer. Cheap:
// nothing is compiled.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createScenario, readLayerToml, runBuild, type Scenario } from '../helpers/lifecycle';
import { startMirror, type Mirror } from '../helpers/mirror';
import { sourceRuntimeEntry, useLoopbackSources } from '../helpers/sources';

let mirror: Mirror;
let tools: string;
beforeAll(async () => {
  mirror = await startMirror();
  tools = fs.mkdtempSync(path.join(os.tmpdir(), 'python-cnb-hidden-tools-'));
  fs.chmodSync(tools, 0o755);
});
afterAll(async () => {
  await mirror.close();
  fs.rmSync(tools, { recursive: true, force: true });
});

const COMPILERS = /^(cc|c89|c99|gcc|make|gmake|clang|tcc|(x86_64|aarch64)-linux-gnu-gcc)(-[\d.]+)?$/;

/** A directory of links to every program on this machine's PATH except C compilers and make. */
function pathWithoutCompilers(dir: string): string {
  fs.mkdirSync(dir, { mode: 0o755 });
  for (const from of (process.env.PATH ?? '').split(':').filter((d) => d && fs.existsSync(d))) {
    for (const name of fs.readdirSync(from)) {
      const link = path.join(dir, name);
      if (COMPILERS.test(name) || fs.existsSync(link)) continue;
      fs.symlinkSync(path.join(from, name), link);
    }
  }
  return dir;
}

async function scenario(): Promise<Scenario> {
  const s = createScenario('source-python-2.7.18');
  await useLoopbackSources(s, { mirror }, { extraEntries: [sourceRuntimeEntry('2.7.18')] });
  s.setEnv('BP_DEPENDENCY_MIRROR_WWW_PYTHON_ORG', mirror.url); // were anything fetched, it would be logged here
  mirror.clearLog();
  return s;
}

describe('building Python from source on an image that cannot', () => {
  it('no compiler and no make on PATH: a titled error naming both, before any download', async () => {
    const s = await scenario();
    s.setEnv('PATH', pathWithoutCompilers(path.join(tools, 'no-cc')));
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(false);
    expect(r.buildLog).toMatch(/Error: The build image cannot compile Python 2\.7\.18/);
    expect(r.buildLog).toContain('Missing programs: `cc (a C compiler)` and `make`.');
    expect(r.buildLog).toMatch(/"full" build image/);
    expect(r.buildLog).toMatch(/packages gcc libc6-dev and make/);
    expect(r.buildLog).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect(mirror.requests()).toEqual([]);
    expect(readLayerToml(s, 'python')).toBeUndefined();
  });

  it('a compiler that finds no OpenSSL or libffi headers: a titled error naming exactly those, before any download', async () => {
    const s = await scenario();
    // The image's compiler, made blind to every header directory but one holding zlib.h.
    const bin = pathWithoutCompilers(path.join(tools, 'blind-cc'));
    const include = path.join(tools, 'include');
    fs.mkdirSync(include, { mode: 0o755 });
    fs.writeFileSync(path.join(include, 'zlib.h'), '/* a stand-in: only its presence is probed */\n');
    const gcc = spawnSync('sh', ['-c', 'command -v gcc'], { encoding: 'utf8' }).stdout.trim();
    fs.writeFileSync(path.join(bin, 'cc'), `#!/bin/sh\nexec ${gcc} -nostdinc -isystem ${include} "$@"\n`, { mode: 0o755 });
    fs.symlinkSync(spawnSync('sh', ['-c', 'command -v make'], { encoding: 'utf8' }).stdout.trim(), path.join(bin, 'make'));
    s.setEnv('PATH', bin);
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(false);
    expect(r.buildLog).toMatch(/Error: The build image cannot compile Python 2\.7\.18/);
    expect(r.buildLog).toMatch(/Missing headers: openssl\/ssl\.h \(OpenSSL: ssl, hashlib[^;]*\); ffi\.h \(libffi: ctypes\)\./);
    expect(r.buildLog).toMatch(/packages libssl-dev and libffi-dev/);
    expect(r.buildLog).not.toMatch(/Missing programs/);
    expect(r.buildLog).not.toMatch(/zlib\.h/);
    expect(mirror.requests()).toEqual([]);
    expect(readLayerToml(s, 'python')).toBeUndefined();
  });

  it('BP_PYTHON_CONFIGURE_FLAGS that would move the prefix: a titled error before any download', async () => {
    const s = await scenario();
    s.setEnv('BP_PYTHON_CONFIGURE_FLAGS', '--enable-ipv6 --prefix=/usr/local');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(false);
    expect(r.buildLog).toMatch(/Error: BP_PYTHON_CONFIGURE_FLAGS would move the Python install[\s\S]*"--prefix=\/usr\/local"/);
    expect(mirror.requests()).toEqual([]);
  });
});
