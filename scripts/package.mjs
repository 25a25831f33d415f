// npm run package [-- --offline [--versions 3.11,3.12] [--manifest FILE] [--offline-root DIR]] [--publish REF] [--out DIR]
//
// Packages the buildpack for builders that have no Node.js (Paketo's and Heroku's build images):
//
//   <out>/buildpack[-offline]/            the buildpack directory: buildpack.toml, requirements/ and bin/ only
//       bin/main                          ONE self-contained executable (Node single executable
//                                         application: the Node 20 runtime, the main.js bundle
//                                         and, as an asset, build.js: see scripts/bundle.mjs)
//       bin/detect -> main, bin/build -> main   symlinks; src/entry/main.ts picks the phase from the name
//       dependencies/<sha256>/<file>      (--offline) every vendored manifest artifact
//   <out>/python-cnb_python-<version>[-offline].cnb
//                                         the buildpackage: an uncompressed tar of an OCI image
//                                         layout (distribution.md), one gzip layer holding
//                                         /cnb/buildpacks/python-cnb_python/<version>/, with the
//                                         io.buildpacks.buildpackage.metadata and
//                                         io.buildpacks.buildpack.layers labels pack writes
//   --publish REF                         copies that image to a registry with skopeo
//                                         (plain HTTP, --dest-tls-verify=false, only for a
//                                         loopback registry: localhost, 127.x.x.x, [::1])
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
const TOML = require('@iarna/toml');
const tar = require('tar-stream');

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const POSTJECT = 'postject@1.0.0-alpha.6';
const MTIME = new Date('1980-01-01T00:00:01Z');
const GOARCH = { x64: 'amd64', arm64: 'arm64' };

// -- arguments ---------------------------------------------------------------------------------

function usage(message) {
  if (message) console.error(`package: ${message}`);
  console.error('usage: npm run package -- [--out DIR] [--arch amd64] [--node NODE_BINARY] [--code-cache] [--publish REGISTRY/REPO:TAG]\n' +
    '                          [--offline [--versions 3.11,3.12] [--manifest BP_PYTHON_MANIFEST_FILE] [--offline-root DIR]]');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { out: path.join(REPO, 'dist'), arch: 'amd64', node: process.execPath, codeCache: false, offline: false, versions: undefined, manifest: undefined, offlineRoot: undefined, publish: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
    if (a === '--out') o.out = path.resolve(value());
    else if (a === '--arch') o.arch = value();
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
  if (o.arch !== 'amd64' && o.arch !== 'arm64') usage(`--arch must be amd64 or arm64, not ${o.arch}`);
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

async function makeExecutable(o, work, target) {
  const { main: js, build: buildJs } = await bundle(work, { minify: true });
  const nodeArch = elfArch(o.node);
  if (nodeArch !== o.arch) {
    throw new Error(
      `${o.node} is ${nodeArch ?? 'not an ELF binary'}, not linux/${o.arch}. ` +
        (o.arch === 'arm64'
          ? 'A linux/arm64 package needs a linux/arm64 Node 20 binary (node-v20.x-linux-arm64/bin/node, the same version as this Node) to inject the bundle into: pass it with --node.'
          : 'Pass a linux/amd64 Node 20 binary with --node.'),
    );
  }
  if (!fs.readFileSync(o.node).includes(SEA_FUSE)) throw new Error(`${o.node} has no single executable application fuse (${SEA_FUSE}): use an official Node 20 build.`);
  // A V8 code cache (--code-cache) is only valid for this very Node binary and arch, and V8 does not
  // write it reproducibly (two runs, two digests): off by default, so a package is reproducible.
  const native = o.codeCache && GOARCH[process.arch] === o.arch && path.resolve(o.node) === path.resolve(process.execPath);
  const blob = path.join(work, 'main.blob');
  const config = path.join(work, 'sea-config.json');
  // Relative paths, run from the work dir: the blob records the main script's path as given.
  fs.writeFileSync(config, JSON.stringify({ main: 'main.js', output: 'main.blob', disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: native, assets: { 'build.js': 'build.js' } }));
  run(process.execPath, ['--experimental-sea-config', config], { cwd: work });
  fs.copyFileSync(o.node, target);
  fs.chmodSync(target, 0o755);
  // Debug info is 10+ MiB of the Node binary and never used at run time.
  const strip = spawnSync('strip', ['--strip-debug', target], { stdio: 'ignore' });
  if (strip.status !== 0) console.warn('package: strip not available, the executable keeps its debug info');
  postject([target, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);
  return { js, jsBytes: fs.statSync(js).size + fs.statSync(buildJs).size, native };
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

async function writeBuildpackage(o, descriptor, bpDir, work, cnbFile) {
  const { id, version, homepage, name } = descriptor.buildpack;
  const escaped = id.replace(/\//g, '_');
  const prefix = `/cnb/buildpacks/${escaped}/${version}`;
  const layerFile = path.join(work, 'layer.tar.gz');
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
  const blobDesc = (mediaType, buf) => ({ mediaType, digest: `sha256:${createHash('sha256').update(buf).digest('hex')}`, size: buf.length });
  const configDesc = blobDesc('application/vnd.oci.image.config.v1+json', config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: configDesc,
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: layer.size }],
  }));
  const manifestDesc = blobDesc('application/vnd.oci.image.manifest.v1+json', manifest);
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ ...manifestDesc, platform: { os: 'linux', architecture: o.arch }, annotations: { 'org.opencontainers.image.ref.name': version } }],
  }));

  // The .cnb: an uncompressed tar of the OCI image layout.
  const pack = tar.pack();
  const done = pipeline(pack, fs.createWriteStream(cnbFile));
  const h = (name, extra) => ({ name, uid: 0, gid: 0, mtime: MTIME, mode: 0o644, ...extra });
  const add = (name, buf) => new Promise((resolve, reject) => pack.entry(h(name), buf, (e) => (e ? reject(e) : resolve())));
  await add('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  await add('index.json', index);
  await new Promise((resolve, reject) => pack.entry(h('blobs', { type: 'directory', mode: 0o755 }), (e) => (e ? reject(e) : resolve())));
  await new Promise((resolve, reject) => pack.entry(h('blobs/sha256', { type: 'directory', mode: 0o755 }), (e) => (e ? reject(e) : resolve())));
  const blobName = (digest) => `blobs/sha256/${digest.slice('sha256:'.length)}`;
  await add(blobName(configDesc.digest), config);
  await add(blobName(manifestDesc.digest), manifest);
  await new Promise((resolve, reject) => {
    const sink = pack.entry(h(blobName(layer.digest), { size: layer.size }), (e) => (e ? reject(e) : resolve()));
    pipeline(fs.createReadStream(layerFile), sink).catch(reject);
  });
  pack.finalize();
  await done;
  return { labels, layer, manifestDigest: manifestDesc.digest };
}

// -- main ----------------------------------------------------------------------------------------

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const descriptor = TOML.parse(fs.readFileSync(path.join(REPO, 'buildpack.toml'), 'utf8'));
  const { id, version } = descriptor.buildpack;
  const escaped = id.replace(/\//g, '_');
  const suffix = o.offline ? '-offline' : '';
  const bpDir = path.join(o.out, `buildpack${suffix}`);
  const cnbFile = path.join(o.out, `${escaped}-${version}${suffix}.cnb`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'python-cnb-package-'));
  try {
    fs.mkdirSync(o.out, { recursive: true });
    fs.rmSync(bpDir, { recursive: true, force: true });
    fs.mkdirSync(path.join(bpDir, 'bin'), { recursive: true });

    const exe = path.join(bpDir, 'bin', 'main');
    const made = await makeExecutable(o, work, exe);
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
    if (GOARCH[process.arch] === o.arch) smokeTest(bpDir);

    const pkg = await writeBuildpackage(o, descriptor, bpDir, work, cnbFile);
    console.log(`packaged ${id} ${version} for linux/${o.arch}${o.offline ? ' (offline)' : ''} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    console.log(`  bundle          ${mib(made.jsBytes)} (two JavaScript files: main.js, build.js${made.native ? ', V8 code cache' : ''})`);
    console.log(`  bin/main        ${mib(fs.statSync(exe).size)} (bin/detect, bin/build -> main)`);
    if (dependencies) console.log(`  dependencies/   ${mib(treeSize(path.join(bpDir, 'dependencies')))} (${dependencies.length} artifacts)`);
    console.log(`  ${path.relative(process.cwd(), bpDir) || bpDir}/  ${mib(treeSize(bpDir))}`);
    console.log(`  ${path.relative(process.cwd(), cnbFile)}  ${mib(fs.statSync(cnbFile).size)} (layer ${mib(pkg.layer.size)} gzip, diffID ${pkg.layer.diffID.slice(0, 19)}…)`);

    if (o.publish) {
      // Plain HTTP only for a registry on this machine; anything else keeps TLS verification.
      const tls = isLoopbackRegistry(o.publish) ? ['--dest-tls-verify=false'] : [];
      run('skopeo', ['copy', '--quiet', ...tls, `oci-archive:${cnbFile}`, `docker://${o.publish}`]);
      console.log(`  published ${o.publish} (${pkg.manifestDigest})`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`package: ${e.message}`);
  process.exit(1);
});
