// A Python that must be compiled from source, on a build image that cannot compile it: through the
// real lifecycle, with no compiler (CC names none), or with a PATH whose compiler sees no OpenSSL or
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

async function scenario(): Promise<Scenario> {
  const s = createScenario('source-python-2.7.18');
  await useLoopbackSources(s, { mirror }, { extraEntries: [sourceRuntimeEntry('2.7.18')] });
  s.setEnv('BP_DEPENDENCY_MIRROR_WWW_PYTHON_ORG', mirror.url); // were anything fetched, it would be logged here
  mirror.clearLog();
  return s;
}

describe('building Python from source on an image that cannot', () => {
  it('no C compiler: a titled error naming it, before any download', async () => {
    const s = await scenario();
    // The lifecycle puts a platform PATH in front of the image's own, so a compiler cannot be hidden
    // by PATH alone; CC naming one that does not exist is the same to the buildpack.
    s.setEnv('CC', '/nonexistent/bin/cc');
    const r = await runBuild(s, { upTo: 'builder' });
    expect(r.success).toBe(false);
    expect(r.buildLog).toMatch(/Error: The build image cannot compile Python 2\.7\.18/);
    expect(r.buildLog).toContain('Missing programs: `CC=/nonexistent/bin/cc (the C compiler)`.');
    expect(r.buildLog).toMatch(/"full" build image/);
    expect(r.buildLog).toMatch(/packages gcc libc6-dev/);
    expect(r.buildLog).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect(mirror.requests()).toEqual([]);
    expect(readLayerToml(s, 'python')).toBeUndefined();
  });

  it('a compiler that finds no OpenSSL or libffi headers: a titled error naming exactly those, before any download', async () => {
    const s = await scenario();
    // The image's compiler, made blind to every header directory but one holding zlib.h, first on
    // PATH (the lifecycle puts the platform's PATH in front of the image's).
    const bin = path.join(tools, 'blind-cc');
    fs.mkdirSync(bin, { mode: 0o755 });
    const include = path.join(tools, 'include');
    fs.mkdirSync(include, { mode: 0o755 });
    fs.writeFileSync(path.join(include, 'zlib.h'), '/* a stand-in: only its presence is probed */\n');
    const gcc = spawnSync('sh', ['-c', 'command -v gcc'], { encoding: 'utf8' }).stdout.trim();
    fs.writeFileSync(path.join(bin, 'cc'), `#!/bin/sh\nexec ${gcc} -nostdinc -isystem ${include} "$@"\n`, { mode: 0o755 });
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
