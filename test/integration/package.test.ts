// The packaged buildpack (npm run package, scripts/package.mjs), read back with tools this project
// did not write: skopeo (the .cnb as an OCI archive, and the image pushed to a docker-registry
// started here on 127.0.0.1), tar and umoci (the layer's files, owners, modes and times). Then the
// unpacked image's buildpack builds an app through the real lifecycle with Node.js made unreachable
// (test/helpers/lifecycle.ts withoutNodeIfPackaged), as on a builder image without Node.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as TOML from '@iarna/toml';
import { createScenario, nodeBinaries, REPO_ROOT, runBuild, runDetector, withoutNodeIfPackaged } from '../helpers/lifecycle';
import { startMirror, writeRuntimeManifest, type Mirror } from '../helpers/mirror';
import { startPackageIndex, type PackageIndex } from '../helpers/package-index';
import { freePort } from '../helpers/registry';

const ID = 'python-cnb/python';
const VERSION = (TOML.parse(fs.readFileSync(path.join(REPO_ROOT, 'buildpack.toml'), 'utf8')) as { buildpack: { version: string } }).buildpack.version;
const PREFIX = `cnb/buildpacks/python-cnb_python/${VERSION}`;

function sh(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): string {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}


/** Debian's docker-registry (distribution v2) with a temp config on 127.0.0.1:<port>. */
async function startRegistry(dir: string): Promise<{ address: string; stop(): Promise<void> }> {
  const port = await freePort();
  const config = path.join(dir, 'registry.yml');
  fs.writeFileSync(
    config,
    ['version: 0.1', 'log:', '  level: warn', 'storage:', '  filesystem:', `    rootdirectory: ${dir}/storage`, 'http:', `  addr: 127.0.0.1:${port}`, ''].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v2/`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    address: `127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

let work: string;
let registry: Awaited<ReturnType<typeof startRegistry>>;
let packageLog: string;
let cnb: string;
let ref: string;
const savedNoNode = process.env.TEST_NO_NODE;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'python-cnb-package-test-'));
  fs.chmodSync(work, 0o755); // the build user (uid 1001) runs the unpacked buildpack from here
  registry = await startRegistry(work);
  ref = `${registry.address}/python-cnb:${VERSION}`;
  // amd64 only: this file checks the single-arch image (arm64.test.ts checks both and the index).
  packageLog = sh(process.execPath, [path.join(REPO_ROOT, 'scripts', 'package.mjs'), '--arch', 'amd64', '--out', path.join(work, 'dist'), '--publish', ref], { cwd: REPO_ROOT });
  cnb = path.join(work, 'dist', `python-cnb_python-${VERSION}.cnb`);
}, 300_000);

afterAll(async () => {
  if (savedNoNode === undefined) delete process.env.TEST_NO_NODE;
  else process.env.TEST_NO_NODE = savedNoNode;
  await registry?.stop();
  if (work && process.env.KEEP_SCENARIOS !== '1') fs.rmSync(work, { recursive: true, force: true });
});

interface Inspect {
  Digest: string;
  Architecture: string;
  Os: string;
  Labels: Record<string, string>;
  Layers: string[];
}

function checkLabels(labels: Record<string, string>, diffID: string): void {
  const meta = JSON.parse(labels['io.buildpacks.buildpackage.metadata']!);
  expect(meta).toMatchObject({ id: ID, version: VERSION, targets: [{ os: 'linux', arch: 'amd64' }] });
  const layers = JSON.parse(labels['io.buildpacks.buildpack.layers']!);
  expect(Object.keys(layers)).toEqual([ID]);
  expect(Object.keys(layers[ID])).toEqual([VERSION]);
  expect(layers[ID][VERSION]).toMatchObject({ api: '0.10', layerDiffID: diffID, targets: [{ os: 'linux', arch: 'amd64' }], name: 'Python' });
}

describe('npm run package', () => {
  it('writes the buildpack dir (buildpack.toml, requirements/ and bin/ only), with one executable and two symlinks to it', () => {
    const bp = path.join(work, 'dist', 'buildpack');
    expect(fs.readdirSync(bp).sort()).toEqual(['bin', 'buildpack.toml', 'requirements']);
    expect(fs.readdirSync(path.join(bp, 'requirements')).sort()).toEqual(['pipenv.txt', 'poetry.txt']);
    expect(fs.readdirSync(path.join(bp, 'bin')).sort()).toEqual(['build', 'detect', 'main']);
    expect(fs.readlinkSync(path.join(bp, 'bin', 'detect'))).toBe('main');
    expect(fs.readlinkSync(path.join(bp, 'bin', 'build'))).toBe('main');
    expect(fs.readFileSync(path.join(bp, 'bin', 'main')).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(packageLog).toMatch(/bin\/main\s+\d+\.\d MiB/);
  });

  it('the .cnb is an uncompressed tar of an OCI layout that skopeo reads, with pack\'s labels', () => {
    const names = sh('tar', ['-tf', cnb]).split('\n').filter(Boolean);
    expect(names).toEqual(expect.arrayContaining(['oci-layout', 'index.json']));
    const inspect = JSON.parse(sh('skopeo', ['inspect', `oci-archive:${cnb}`])) as Inspect;
    expect(inspect).toMatchObject({ Architecture: 'amd64', Os: 'linux' });
    expect(inspect.Layers).toHaveLength(1);
    const config = JSON.parse(sh('skopeo', ['inspect', '--config', `oci-archive:${cnb}`])) as { rootfs: { diff_ids: string[] } };
    expect(config.rootfs.diff_ids).toHaveLength(1);
    checkLabels(inspect.Labels, config.rootfs.diff_ids[0]!);
  });

  it('the image pushed with --publish is in the registry, identical to the .cnb', () => {
    const local = JSON.parse(sh('skopeo', ['inspect', `oci-archive:${cnb}`])) as Inspect;
    const remote = JSON.parse(sh('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`])) as Inspect;
    expect(remote.Digest).toBe(local.Digest);
    expect(remote.Layers).toEqual(local.Layers);
    const config = JSON.parse(sh('skopeo', ['inspect', '--tls-verify=false', '--config', `docker://${ref}`])) as { rootfs: { diff_ids: string[] } };
    checkLabels(remote.Labels, config.rootfs.diff_ids[0]!);
  });

  describe('the layer, unpacked from the registry image', () => {
    let rootfs: string;
    let listing: string[];
    beforeAll(() => {
      const layout = path.join(work, 'pulled');
      sh('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${layout}:${VERSION}`]);
      const bundle = path.join(work, 'bundle');
      sh('umoci', ['unpack', '--image', `${layout}:${VERSION}`, bundle]);
      fs.chmodSync(bundle, 0o755);
      rootfs = path.join(bundle, 'rootfs');
      const manifest = JSON.parse(sh('skopeo', ['inspect', '--raw', `oci:${layout}:${VERSION}`])) as { layers: Array<{ digest: string }> };
      const blob = path.join(layout, 'blobs', 'sha256', manifest.layers[0]!.digest.slice('sha256:'.length));
      listing = sh('tar', ['--numeric-owner', '--full-time', '-tvzf', blob], { env: { ...process.env, TZ: 'UTC' } }).split('\n').filter(Boolean);
    });

    it('holds exactly /cnb/buildpacks/python-cnb_python/<version>/{buildpack.toml,bin/{main,detect,build},requirements/{pipenv,poetry}.txt}', () => {
      const files = listing.map((l) => l.split(/\s+/)[5]!.replace(/^\//, '').replace(/\/$/, ''));
      expect(files.filter((f) => f.startsWith(`${PREFIX}/`)).sort()).toEqual(
        ['bin', 'bin/build', 'bin/detect', 'bin/main', 'buildpack.toml', 'requirements', 'requirements/pipenv.txt', 'requirements/poetry.txt'].map((f) => `${PREFIX}/${f}`),
      );
      expect(fs.readlinkSync(path.join(rootfs, PREFIX, 'bin', 'detect'))).toBe('main');
      expect(fs.readlinkSync(path.join(rootfs, PREFIX, 'bin', 'build'))).toBe('main');
    });

    it('is normalized as pack does: uid/gid 0, mtime 1980-01-01T00:00:01Z, 0755 dirs and executables, 0644 files', () => {
      for (const line of listing) {
        const [mode, owner, , date, time, name] = line.split(/\s+/);
        expect(`${name} ${owner}`).toBe(`${name} 0/0`);
        expect(`${name} ${date} ${time}`).toBe(`${name} 1980-01-01 00:00:01`);
        if (mode!.startsWith('d')) expect(`${name} ${mode}`).toBe(`${name} drwxr-xr-x`);
        else if (mode!.startsWith('l')) expect(name).toMatch(/bin\/(detect|build)$/);
        else if (name!.endsWith('bin/main')) expect(mode).toBe('-rwxr-xr-x');
        else expect(`${name} ${mode}`).toBe(`${name} -rw-r--r--`);
      }
    });

    it('its buildpack.toml is the project\'s, declaring only the packaged target', () => {
      const toml = TOML.parse(fs.readFileSync(path.join(rootfs, PREFIX, 'buildpack.toml'), 'utf8')) as Record<string, any>;
      expect(toml.api).toBe('0.10');
      expect(toml.buildpack).toMatchObject({ id: ID, version: VERSION });
      expect(toml.targets).toEqual([{ os: 'linux', arch: 'amd64' }]);
      expect((toml.metadata.dependencies as Array<{ id: string }>).some((d) => d.id === 'python')).toBe(true);
    });

    describe('builds through the real lifecycle with no node reachable', () => {
      let mirror: Mirror;
      let index: PackageIndex;
      beforeAll(async () => {
        process.env.TEST_NO_NODE = '1';
        [mirror, index] = await Promise.all([startMirror(), startPackageIndex()]);
      });
      afterAll(async () => {
        await Promise.all([mirror?.close(), index?.close()]);
      });

      it('node is really unreachable in a phase (by PATH and by absolute path)', () => {
        expect(nodeBinaries()).toContain(fs.realpathSync(process.execPath));
        const [command, args] = withoutNodeIfPackaged(['sh', ['-c', `node --version; ${process.execPath} --version; echo done`]]);
        const r = spawnSync(command, args, { encoding: 'utf8' });
        expect(r.stdout).not.toMatch(/v\d+\.\d+/);
        expect(r.stdout).toContain('done');
      });

      it('detect and build pass (flask-app: CPython, pip and the requirements installed)', async () => {
        const s = createScenario('flask-app', { buildpackDir: path.join(rootfs, PREFIX) });
        const detected = await runDetector(s);
        expect(detected.exitCode).toBe(0);
        expect(detected.output).toContain('Python app detected');
        const manifest = path.join(s.root, 'manifest.toml');
        await writeRuntimeManifest(mirror, manifest);
        fs.chmodSync(manifest, 0o644);
        s.setEnv('BP_PYTHON_MANIFEST', manifest);
        for (const [k, v] of Object.entries(index.pipEnv())) s.setEnv(k, v);
        const r = await runBuild(s);
        expect(r.log).not.toMatch(/node: (not found|Permission denied)/);
        expect(r.success).toBe(true);
        expect(r.buildLog).toMatch(/Installed 8 packages in/);
      });
    });
  });
});
