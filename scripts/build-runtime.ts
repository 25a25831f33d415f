// `npm run build-runtime -- <version> [--arch amd64|arm64] [--out DIR] [--uri-base URL]`
//
// For operators, so that production builds never compile: compiles CPython <version> from the
// verified python.org source that buildpack.toml lists (a `kind = "source"` entry) with the SAME
// code as the python layer (src/runtime/source-build.ts: preflight, configure, make, install,
// test suites removed), on this machine, for this machine's arch and distro (the result links the
// distro's OpenSSL, libffi, SQLite... dynamically; run it in the build image the builder uses).
// Writes to --out (default dist/runtimes):
//   cpython-<version>-<arch>-<distro>-install_only.tar.gz   python/bin, python/lib, python/include, ...
//   cpython-<version>-<arch>-<distro>-install_only.toml     its [[dependencies]] entry
// Host the archive at --uri-base (default: file:// of --out) and add the entry to the manifest that
// BP_PYTHON_MANIFEST names (or serve it through BP_DEPENDENCY_MIRROR). The offline package can
// carry such archives. Downloads honour BP_DEPENDENCY_MIRROR(_<HOST>) like a build does.
import { promises as fsp } from 'node:fs';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { targetFrom, type Target } from '../src/cnb/context';
import { BuildpackDescriptor } from '../src/cnb/schemas';
import { parseTomlAs } from '../src/cnb/toml';
import { UserError } from '../src/errors';
import { configureDownloads } from '../src/io/download';
import { removePath } from '../src/io/fs';
import { formatBytes, formatDuration, Log } from '../src/log';
import { buildpackManifest, type Dependency } from '../src/python/manifest';
import { mirrorsFromEnv } from '../src/python/mirrors';
import { packRuntimeArchive, relocatableScripts, runtimeArchiveEntry, runtimeArchiveName } from '../src/python/runtime-archive';
import { compilePython, planSourceBuild, preflightSourceBuild } from '../src/runtime/source-build';
import { isSourceEntry } from '../src/python/source-plan';

const REPO = path.resolve(__dirname, '..');

interface Args {
  version: string;
  arch?: string;
  out: string;
  uriBase?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Partial<Args> = { out: path.join(REPO, 'dist', 'runtimes') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (!v) throw new UserError(`${a} needs a value`, ['Usage: npm run build-runtime -- <version> [--arch amd64|arm64] [--out DIR] [--uri-base URL]']);
      return v;
    };
    if (a === '--arch') args.arch = value();
    else if (a === '--out') args.out = path.resolve(value());
    else if (a === '--uri-base') args.uriBase = value().replace(/\/+$/, '');
    else if (!a.startsWith('-') && !args.version) args.version = a;
    else throw new UserError(`Unknown argument ${a}`, ['Usage: npm run build-runtime -- <version> [--arch amd64|arm64] [--out DIR] [--uri-base URL]']);
  }
  if (!args.version) throw new UserError('Which Python version?', ['Usage: npm run build-runtime -- <version> [--arch amd64|arm64] [--out DIR] [--uri-base URL]', 'For example: npm run build-runtime -- 2.7.18']);
  return args as Args;
}

/** The buildpack's source entry for the version (the tarball is the same for every arch). */
export function sourceEntryFor(dependencies: readonly Dependency[], version: string, arch: string): Dependency {
  const sources = dependencies.filter((d) => d.id === 'python' && isSourceEntry(d) && d.version === version);
  const entry = sources.find((d) => d.arch === arch) ?? sources[0];
  if (!entry) {
    const known = [...new Set(dependencies.filter((d) => d.id === 'python' && isSourceEntry(d)).map((d) => d.version))];
    throw new UserError(`No python.org source for Python ${version} in buildpack.toml`, [`buildpack.toml lists sources (kind = "source") for ${known.join(', ')}.`, 'Add the version to ../shared/data/cpython-source/cpython-source.json and SOURCE_BUILDS in scripts/generate-manifest.py, then rerun it.']);
  }
  return entry;
}

async function main(): Promise<void> {
  const log = new Log();
  const args = parseArgs(process.argv.slice(2));
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  const target: Target = targetFrom(env, readFileSync('/etc/os-release', 'utf8'));
  if (args.arch && args.arch !== target.arch) {
    throw new UserError(`Cannot build for ${args.arch} on ${target.arch}`, ['The runtime is compiled natively with this machine\'s compiler and libraries.', `Run the command on an ${args.arch} machine (in the build image of the builder that will use it).`]);
  }
  const metadata = parseTomlAs(BuildpackDescriptor, readFileSync(path.join(REPO, 'buildpack.toml'), 'utf8')).metadata ?? {};
  const source = sourceEntryFor(buildpackManifest(metadata).dependencies, args.version, target.arch);
  configureDownloads(env);

  log.title(`Building CPython ${source.version} for ${target.arch} (${target.distroName ?? '?'} ${target.distroVersion ?? ''})`);
  const plan = await planSourceBuild(env);
  const preflight = await preflightSourceBuild(source, env);
  const staging = await fsp.mkdtemp(path.join(os.tmpdir(), 'python-cnb-runtime-'));
  try {
    const prefix = path.join(staging, 'python');
    await fsp.mkdir(prefix);
    const started = Date.now();
    await compilePython({ entry: source, prefix, plan, preflight, env, mirrors: [mirrorsFromEnv(env)], log });
    const scripts = await relocatableScripts(prefix, source.version);
    if (scripts.length) log.info(`Made ${scripts.join(', ')} relocatable (a /bin/sh trampoline instead of the build prefix in the shebang)`);
    await fsp.mkdir(args.out, { recursive: true });
    const name = runtimeArchiveName(source.version, target);
    const file = path.join(args.out, name);
    const { sha256, bytes } = await packRuntimeArchive(prefix, file);
    const uri = `${args.uriBase ?? pathToFileURL(args.out).href}/${name}`;
    const eol = source.deprecation_date instanceof Date ? source.deprecation_date.toISOString() : source.deprecation_date;
    const toml = runtimeArchiveEntry({ source, target, uri, sha256, deprecationDate: eol });
    await fsp.writeFile(file.replace(/\.tar\.gz$/, '.toml'), toml);
    log.step(`Wrote ${file} (${formatBytes(bytes)}, sha256 ${sha256}) in ${formatDuration(Date.now() - started)}`);
    log.step(`Its entry (also in ${path.basename(file, '.tar.gz')}.toml), for BP_PYTHON_MANIFEST:`);
    process.stdout.write(`\n${toml}`);
  } finally {
    await removePath(staging);
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    if (e instanceof UserError) {
      new Log().error(e.title, e.body);
      process.exit(1);
    }
    console.error(e);
    process.exit(2);
  });
}
