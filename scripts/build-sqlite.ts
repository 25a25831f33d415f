// npm run build-sqlite -- --distro debian-12 [--arch amd64] [--out dist/sqlite] [--uri-base URL] [--source URL]
//
// The release path of the prebuilt SQLite archives (README "SQLite"): compiles the amalgamation
// named by buildpack.toml's sqlite source entry with the sqlite layer's own code
// (compileSqliteInto in src/layers/sqlite/: the same download, sha256 check, cc command lines and
// smoke test as a build without a prebuilt archive), and writes
//   <out>/sqlite-<version>-<distro>-<version>-<arch>.tar.gz   lib/ include/ bin/ under sqlite/
//   <out>/sqlite-<version>-<distro>-<version>-<arch>.toml     its manifest entry ([[dependencies]],
//       usable as is as BP_PYTHON_MANIFEST; the same fields go into buildpack.toml's
//       [[metadata.dependencies]] for a release): arch, distros, uri, sha256, prefix, purl, cpes,
//       licenses, and the source it was compiled from.
// It builds for the machine it runs on only (the archive links against that distro's glibc), so a
// release runs it once per target (Debian 12, Ubuntu 22.04 and 24.04; amd64 and arm64) on that
// target; --distro and --arch must match the host, which is checked.
//   --uri-base   where the archive will be served (default: file://<out>); the entry's uri is
//                <uri-base>/<archive name>
//   --source     fetch the amalgamation from this URL instead (a mirror); its sha256 must still be
//                the one buildpack.toml lists
// CC, CFLAGS and LDFLAGS apply as in a build (a release leaves them unset).
// Deterministic: tar members sorted, owner 0:0, mtime 1980-01-01T00:00:01Z, gzip without a name or
// time, so the same compiler gives the same archive.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseToml, stringifyToml } from '../src/cnb/toml';
import { parseOsRelease } from '../src/cnb/context';
import { UserError } from '../src/errors';
import { compileSqliteInto } from '../src/layers/sqlite';
import { chooseSqliteEntry, isPrebuilt, relocatePkgConfig } from '../src/layers/sqlite/plan';
import { Log } from '../src/log';
import { buildpackManifest, sha256Of, type Dependency } from '../src/python/manifest';

/** The checkout: the nearest directory above this script (or its bundle) with a buildpack.toml. */
function findRepo(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'buildpack.toml'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no buildpack.toml above ${from}`);
  }
}
const REPO = findRepo(__dirname);
const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };
/** Archive entries live under this directory (the entry's `prefix`). */
const PREFIX = 'sqlite/';

interface Options {
  distroName: string;
  distroVersion: string;
  arch: string;
  out: string;
  uriBase?: string;
  source?: string;
}

function usage(message: string): never {
  process.stderr.write(`build-sqlite: ${message}\nusage: npm run build-sqlite -- --distro <name>-<version> [--arch amd64|arm64] [--out DIR] [--uri-base URL] [--source URL]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (!['--distro', '--arch', '--out', '--uri-base', '--source'].includes(flag)) usage(`unknown argument ${flag}`);
    const value = argv[++i];
    if (value === undefined) usage(`${flag} needs a value`);
    values[flag.slice(2)] = value;
  }
  const distro = /^([a-z]+)-(\d+(?:\.\d+)?)$/.exec(values.distro ?? '');
  if (!distro) usage('--distro is required, as <name>-<version>: debian-12, ubuntu-22.04, ubuntu-24.04');
  return {
    distroName: distro[1]!,
    distroVersion: distro[2]!,
    arch: values.arch ?? GOARCH[process.arch] ?? process.arch,
    out: path.resolve(values.out ?? path.join(REPO, 'dist', 'sqlite')),
    uriBase: values['uri-base']?.replace(/\/+$/, ''),
    source: values.source,
  };
}

/** The host must be the target: the compiled library links against the host's C library. */
function checkHost(o: Options): void {
  const host = parseOsRelease(fs.readFileSync('/etc/os-release', 'utf8'));
  const arch = GOARCH[process.arch] ?? process.arch;
  if (host.name !== o.distroName || host.version !== o.distroVersion || arch !== o.arch) {
    throw new UserError('This machine is not the target', [
      `Asked for ${o.distroName} ${o.distroVersion} ${o.arch}; this machine is ${host.name ?? '?'} ${host.version ?? '?'} ${arch}.`,
      'The archive links against the C library of the machine that compiles it: run the script on each target (a CI job per distro and arch).',
    ]);
  }
}

/** The amalgamation source entry of buildpack.toml (the newest, if there are several). */
function sourceEntry(): Dependency {
  const doc = parseToml(fs.readFileSync(path.join(REPO, 'buildpack.toml'), 'utf8'), 'buildpack.toml') as { metadata?: Record<string, unknown> };
  const sources = buildpackManifest(doc.metadata ?? {}).dependencies.filter((d) => d.id === 'sqlite' && !isPrebuilt(d));
  const entry = chooseSqliteEntry(sources);
  if (!entry) throw new UserError('No SQLite source in buildpack.toml', ['buildpack.toml lists no sqlite entry without `distros` (the amalgamation release) to compile.']);
  return entry;
}

function tarGz(parent: string, top: string, file: string): void {
  const tar = spawnSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@315532801', '--format=gnu', '-C', parent, '-cf', '-', top], { maxBuffer: 1 << 30 });
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr.toString()}`);
  const gz = spawnSync('gzip', ['-n', '-9'], { input: tar.stdout, maxBuffer: 1 << 30 });
  if (gz.status !== 0) throw new Error(`gzip failed: ${gz.stderr.toString()}`);
  fs.writeFileSync(file, gz.stdout);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  checkHost(o);
  const source = sourceEntry();
  const compileFrom: Dependency = o.source ? { ...source, uri: o.source } : source;
  const log = new Log((t) => process.stdout.write(t));
  log.title(`Prebuilt SQLite ${source.version} for ${o.distroName} ${o.distroVersion} ${o.arch}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'build-sqlite-'));
  try {
    const dir = path.join(work, PREFIX);
    fs.mkdirSync(dir);
    // CC, CFLAGS and LDFLAGS are honoured as in a build (after the buildpack's -O2 and options).
    const passed = Object.fromEntries(['CC', 'CFLAGS', 'LDFLAGS'].flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : [])));
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...passed };
    await compileSqliteInto(dir, { entry: compileFrom, env, mirrors: [], log });
    // The .pc file names this scratch directory; the sqlite layer rewrites prefix= on install,
    // and a fixed placeholder keeps the archive the same from run to run.
    const pc = path.join(dir, 'lib', 'pkgconfig', 'sqlite3.pc');
    fs.writeFileSync(pc, relocatePkgConfig(fs.readFileSync(pc, 'utf8'), '/sqlite'));

    const name = `sqlite-${source.version}-${o.distroName}-${o.distroVersion}-${o.arch}`;
    fs.mkdirSync(o.out, { recursive: true });
    const archive = path.join(o.out, `${name}.tar.gz`);
    tarGz(work, PREFIX.replace(/\/$/, ''), archive);
    const sha = createHash('sha256').update(fs.readFileSync(archive)).digest('hex');
    const uri = o.uriBase ? `${o.uriBase}/${name}.tar.gz` : pathToFileURL(archive).href;
    const entry = {
      id: 'sqlite',
      name: 'SQLite',
      version: source.version,
      os: 'linux',
      arch: o.arch,
      distros: [{ name: o.distroName, version: o.distroVersion }],
      uri,
      checksum: `sha256:${sha}`,
      prefix: PREFIX,
      purl: `pkg:generic/sqlite@${source.version}?arch=${o.arch}&distro=${o.distroName}-${o.distroVersion}&download_url=${encodeURIComponent(uri)}`,
      cpes: source.cpes ?? [`cpe:2.3:a:sqlite:sqlite:${source.version}:*:*:*:*:*:*:*`],
      licenses: source.licenses ?? ['blessing'],
      source: source.uri,
      'source-checksum': `sha256:${sha256Of(source)}`,
    };
    const toml = `# Written by scripts/build-sqlite.ts: a prebuilt SQLite for ${o.distroName} ${o.distroVersion} ${o.arch}.\n${stringifyToml({ dependencies: [entry] })}`;
    fs.writeFileSync(path.join(o.out, `${name}.toml`), toml);
    log.info(`Wrote ${archive} (${(fs.statSync(archive).size / 1024 / 1024).toFixed(1)} MiB, sha256 ${sha})`);
    log.info(`Wrote ${path.join(o.out, `${name}.toml`)} (its manifest entry)`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  if (e instanceof UserError) {
    process.stderr.write(`build-sqlite: ${e.title}\n${e.body.join('\n')}\n`);
  } else {
    process.stderr.write(`build-sqlite: ${(e as Error).stack ?? String(e)}\n`);
  }
  process.exit(1);
});
