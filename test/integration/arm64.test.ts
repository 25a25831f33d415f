// linux/arm64: `npm run package` (scripts/package.mjs) makes the buildpack for amd64 and arm64 and,
// with --publish, an image index of both; then the arm64 executable itself runs here under
// user-mode emulation (Debian's qemu-user-static through binfmt_misc, libc6:arm64; scripts/setup.sh
// installs them): bin/detect on fixture apps, and bin/build through version resolution, the install
// of an arm64 CPython (test/setup/prepare-runtime-arm64.sh: Debian's arm64 python3.11 in
// python-build-standalone's layout, served by the loopback mirror), pip and a pip install from the
// loopback index. The lifecycle has no arm64 binary here, so the phases are called as the lifecycle
// calls them: CNB_* variables, a layers dir, a buildpack plan.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as TOML from '@iarna/toml';
import { DETECT_EXPECTATIONS } from '../fixtures/detect-expectations';
import { fixtureDir, REPO_ROOT } from '../helpers/lifecycle';
import { startMirror, writeRuntimeManifest, type Mirror } from '../helpers/mirror';
import { startPackageIndex, type PackageIndex } from '../helpers/package-index';
import { startRegistry, type Registry } from '../helpers/registry';

const VERSION = (TOML.parse(fs.readFileSync(path.join(REPO_ROOT, 'buildpack.toml'), 'utf8')) as { buildpack: { version: string } }).buildpack.version;
const ARM64_FIXTURES = path.join(REPO_ROOT, '.cache', 'fixtures', 'runtimes-arm64');
const ELF_MACHINE: Record<number, string> = { 0x3e: 'amd64', 0xb7: 'arm64' };
// Emulated, each detect costs seconds: one fixture per kind of signal and verdict, not all of them
// (the amd64 executable runs every fixture in detect.test.ts). ARM64_DETECT_ALL=1 runs them all.
const DETECT_FIXTURES = process.env.ARM64_DETECT_ALL === '1'
  ? Object.keys(DETECT_EXPECTATIONS).filter((f) => fs.existsSync(fixtureDir(f)))
  : ['runtime-txt', 'python-version-file', 'pipenv', 'poetry', 'uv', 'pyproject-project', 'bp-python-version-env', 'script-only', 'node-app'];

function sh(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): string {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

function elfArch(file: string): string | undefined {
  const head = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, 20, 0);
  fs.closeSync(fd);
  return head.readUInt32BE(0) === 0x7f454c46 ? ELF_MACHINE[head.readUInt16LE(18)] : undefined;
}

/** What keeps this machine from running linux/arm64 executables, or undefined when it can. */
function emulationMissing(): string | undefined {
  let binfmt = '';
  try {
    binfmt = fs.readFileSync('/proc/sys/fs/binfmt_misc/qemu-aarch64', 'utf8');
  } catch {
    return 'no qemu-aarch64 entry in /proc/sys/fs/binfmt_misc (apt-get install qemu-user-static binfmt-support, with binfmt_misc mounted)';
  }
  if (!binfmt.startsWith('enabled')) return 'the qemu-aarch64 binfmt_misc entry is disabled';
  if (!fs.existsSync('/lib/ld-linux-aarch64.so.1')) return 'no arm64 C library (dpkg --add-architecture arm64; apt-get install libc6:arm64 libstdc++6:arm64)';
  if (!fs.existsSync(path.join(ARM64_FIXTURES, 'index.json'))) return `no arm64 runtime fixture in ${ARM64_FIXTURES} (test/setup/prepare-runtime-arm64.sh)`;
  return undefined;
}

/**
 * A phase of the packaged buildpack as the lifecycle runs it: no node on PATH, only CNB_* and `env`.
 * Asynchronous: the mirror and the index it downloads from answer from this process.
 */
function runPhase(bpDir: string, phase: 'detect' | 'build', cwd: string, env: Record<string, string>): Promise<{ status: number | null; output: string; ms: number }> {
  const started = Date.now();
  const child = spawn(path.join(bpDir, 'bin', phase), [], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: '/usr/bin:/bin', HOME: os.tmpdir(), LANG: 'C.UTF-8', CNB_BUILDPACK_DIR: bpDir, CNB_APP_DIR: cwd, ...env },
  });
  let output = '';
  child.stdout.on('data', (d) => (output += String(d)));
  child.stderr.on('data', (d) => (output += String(d)));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output, ms: Date.now() - started }));
  });
}

let work: string;
let dist: string;
let registry: Registry;
let ref: string;
let packageLog: string;
const missing = emulationMissing();

beforeAll(async () => {
  if (missing) throw new Error(`This machine cannot run linux/arm64 executables: ${missing}. bash scripts/setup.sh sets it all up.`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'python-cnb-arm64-test-'));
  dist = path.join(work, 'dist');
  registry = await startRegistry();
  ref = registry.ref('python-cnb', VERSION);
  packageLog = sh(process.execPath, [path.join(REPO_ROOT, 'scripts', 'package.mjs'), '--out', dist, '--publish', ref], { cwd: REPO_ROOT });
}, 600_000);

afterAll(async () => {
  await registry?.close();
  if (work && process.env.KEEP_SCENARIOS !== '1') fs.rmSync(work, { recursive: true, force: true });
});

describe('npm run package, both arches', () => {
  const cnbOf = (arch: string) => path.join(dist, `python-cnb_python-${VERSION}${arch === 'amd64' ? '' : `-${arch}`}.cnb`);
  const bpOf = (arch: string) => path.join(dist, arch === 'amd64' ? 'buildpack' : `buildpack-${arch}`);

  it.each(['amd64', 'arm64'])('makes a %s buildpack dir whose executable and buildpack.toml are for that arch, and its .cnb', (arch) => {
    expect(elfArch(path.join(bpOf(arch), 'bin', 'main'))).toBe(arch);
    expect(fs.readlinkSync(path.join(bpOf(arch), 'bin', 'detect'))).toBe('main');
    const toml = TOML.parse(fs.readFileSync(path.join(bpOf(arch), 'buildpack.toml'), 'utf8')) as { targets: unknown };
    expect(toml.targets).toEqual([{ os: 'linux', arch }]);
    const inspect = JSON.parse(sh('skopeo', ['inspect', `oci-archive:${cnbOf(arch)}`])) as { Architecture: string; Labels: Record<string, string> };
    expect(inspect.Architecture).toBe(arch);
    expect(JSON.parse(inspect.Labels['io.buildpacks.buildpackage.metadata']!).targets).toEqual([{ os: 'linux', arch }]);
    expect(packageLog).toContain(`packaged python-cnb/python ${VERSION} for linux/${arch}`);
  });

  it('ran the smoke test of the arm64 executable emulated', () => {
    expect(packageLog).toMatch(/for linux\/arm64[\s\S]*smoke test\s+bin\/detect passed \(emulated\)/);
  });

  it('--publish pushes an image index whose amd64 and arm64 manifests are the two .cnb images', () => {
    const index = JSON.parse(sh('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`])) as {
      mediaType: string;
      manifests: Array<{ digest: string; platform: { os: string; architecture: string } }>;
    };
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((m) => m.platform)).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ]);
    for (const [i, arch] of ['amd64', 'arm64'].entries()) {
      const local = JSON.parse(sh('skopeo', ['inspect', `oci-archive:${cnbOf(arch)}`])) as { Digest: string };
      expect(`${arch} ${index.manifests[i]!.digest}`).toBe(`${arch} ${local.Digest}`);
    }
  });
});

describe('the arm64 executable under qemu', () => {
  const bp = () => path.join(dist, 'buildpack-arm64');

  describe.each(DETECT_FIXTURES)('bin/detect on fixture %s', (fixture) => {
    it('answers what detect-expectations.ts says', async () => {
      const expected = DETECT_EXPECTATIONS[fixture]!;
      const root = fs.mkdtempSync(path.join(work, `detect-${fixture}-`));
      const platform = path.join(root, 'platform');
      fs.mkdirSync(path.join(platform, 'env'), { recursive: true });
      for (const [k, v] of Object.entries(expected.env ?? {})) fs.writeFileSync(path.join(platform, 'env', k), v);
      const plan = path.join(root, 'plan.toml');
      // The lifecycle puts <platform>/env/* in the environment of a buildpack without clear-env.
      const r = await runPhase(bp(), 'detect', fixtureDir(fixture), { CNB_PLATFORM_DIR: platform, CNB_BUILD_PLAN_PATH: plan, ...expected.env });
      const context = `${fixture}: exit ${r.status}\n${r.output}`;
      if (!expected.pass) {
        expect({ context, status: r.status }).toEqual({ context, status: 100 });
        expect(r.output).toContain('No Python app found');
        return;
      }
      expect({ context, status: r.status }).toEqual({ context, status: 0 });
      const requires = (TOML.parse(fs.readFileSync(plan, 'utf8')) as { requires?: Array<{ name: string; metadata?: Record<string, unknown> }> }).requires ?? [];
      const python = requires.find((q) => q.name === 'python');
      expect(python?.metadata?.version).toBe(expected.version);
      expect(python?.metadata?.['version-source']).toBe(expected.versionSource);
      expect(requires.some((q) => q.name === 'site-packages')).toBe(expected.sitePackages);
    });
  });

  describe('bin/build', () => {
    let mirror: Mirror;
    let index: PackageIndex;
    let root: string;
    let layers: string;
    let result: Awaited<ReturnType<typeof runPhase>>;
    beforeAll(async () => {
      [mirror, index] = await Promise.all([startMirror({ root: ARM64_FIXTURES }), startPackageIndex()]);
      root = fs.mkdtempSync(path.join(work, 'build-'));
      const app = path.join(root, 'app');
      layers = path.join(root, 'layers');
      const platform = path.join(root, 'platform');
      for (const d of [app, layers, path.join(platform, 'env')]) fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(app, '.python-version'), '3.11\n');
      fs.writeFileSync(path.join(app, 'requirements.txt'), 'gunicorn==27.0.1\n');
      fs.writeFileSync(path.join(app, 'app.py'), 'def app(environ, start_response):\n    start_response("200 OK", [])\n    return [b"ok"]\n');
      // Detect's plan, as the lifecycle hands it to build (requires -> entries).
      const detectPlan = path.join(root, 'detect-plan.toml');
      const detected = await runPhase(bp(), 'detect', app, { CNB_PLATFORM_DIR: platform, CNB_BUILD_PLAN_PATH: detectPlan });
      if (detected.status !== 0) throw new Error(`bin/detect exited ${detected.status}: ${detected.output}`);
      const requires = (TOML.parse(fs.readFileSync(detectPlan, 'utf8')) as { requires: TOML.JsonMap[] }).requires;
      const plan = path.join(root, 'plan.toml');
      fs.writeFileSync(plan, TOML.stringify({ entries: requires } as unknown as TOML.JsonMap));
      const manifest = await writeRuntimeManifest(mirror, path.join(root, 'manifest.toml'));
      result = await runPhase(bp(), 'build', app, {
        CNB_LAYERS_DIR: layers,
        CNB_PLATFORM_DIR: platform,
        CNB_BP_PLAN_PATH: plan,
        CNB_TARGET_OS: 'linux',
        CNB_TARGET_ARCH: 'arm64',
        BP_PYTHON_MANIFEST: manifest,
        BP_PYTHON_SQLITE: 'false',
        ...index.pipEnv(),
      });
      // What emulation costs, step by step (CI's log keeps it).
      const steps = result.output.split('\n').filter((l) => /Installed|Downloaded|Done \(/.test(l));
      process.stdout.write(`arm64 bin/build under qemu: ${(result.ms / 1000).toFixed(1)}s, load ${os.loadavg()[0]!.toFixed(1)}\n${steps.join('\n')}\n`);
    }, 900_000);
    afterAll(async () => {
      await Promise.all([mirror?.close(), index?.close()]);
    });

    it('succeeds, resolving 3.11 from .python-version to the arm64 runtime of the manifest', () => {
      expect({ status: result.status, output: result.output }).toEqual({ status: 0, output: expect.stringContaining('3.11.2') });
      expect(result.output).toMatch(/\.python-version/);
      const runtime = JSON.parse(fs.readFileSync(path.join(ARM64_FIXTURES, 'index.json'), 'utf8')).runtimes[0] as { file: string; arch: string };
      expect(runtime.arch).toBe('arm64');
      expect(mirror.requests().map((q) => `${q.path} ${q.status}`)).toContain(`/${runtime.file} 200`);
    });

    it('installed that arm64 CPython in the python layer, and it runs', () => {
      const python = path.join(layers, 'python', 'bin', 'python3');
      expect(elfArch(fs.realpathSync(python))).toBe('arm64');
      const out = sh(python, ['-c', 'import platform, ssl, sqlite3; print(platform.machine(), platform.python_version())'], { env: { PATH: '/usr/bin:/bin' } });
      expect(out.trim()).toBe('aarch64 3.11.2');
    });

    it('installed the requirements with pip into the venv, importable by the arm64 interpreter', () => {
      expect(result.output).toMatch(/Installed \d+ packages? in/);
      const venvPython = path.join(layers, 'site-packages', 'bin', 'python');
      const out = sh(venvPython, ['-c', 'import gunicorn, platform; print(gunicorn.__version__, platform.machine())'], { env: { PATH: '/usr/bin:/bin' } });
      expect(out.trim()).toBe('27.0.1 aarch64');
    });
  });
});
