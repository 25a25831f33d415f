// The dependency manifest: [[metadata.dependencies]] in buildpack.toml (Paketo's schema), plus an
// operator's own manifest named by BP_PYTHON_MANIFEST ([[dependencies]] in the same schema), whose
// entries replace ours for the ids and arches it lists. Pure apart from `loadOperatorManifest`.
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { UserError } from '../errors';
import { parseToml } from '../cnb/toml';
import { redactUrl } from '../redact';
import { toUserError } from '../explain';

const Sha256 = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" followed by 64 lowercase hex digits');

export const Dependency = z
  .object({
    id: z.string(),
    name: z.string().optional(),
    version: z.string(),
    uri: z.string().url(),
    checksum: Sha256,
    os: z.string().optional(),
    arch: z.string().optional(),
    /**
     * Our field: "source" for a python.org source tarball that the python layer compiles (where no
     * prebuilt archive exists for the target); absent for a prebuilt archive.
     */
    kind: z.enum(['archive', 'source']).optional(),
    /** Our field: the directory inside the archive that holds the install ("python/", "python/install/"). */
    prefix: z.string().optional(),
    /** Prebuilt artifacts for one distro only (e.g. a compiled SQLite): { name, version }. */
    distros: z.array(z.object({ name: z.string(), version: z.string().optional() })).optional(),
    purl: z.string().optional(),
    cpes: z.array(z.string()).optional(),
    licenses: z.array(z.string()).optional(),
    /** A tool wheel's Requires-Python, from its METADATA (src/managers/tool-choice.ts picks the pip that admits the runtime). */
    'requires-python': z.string().optional(),
    // TOML datetimes parse as Date; quoted strings stay strings. Either is accepted.
    deprecation_date: z.union([z.string(), z.date()]).optional(),
    source: z.string().optional(),
    'source-checksum': Sha256.optional(),
  })
  .passthrough();
export type Dependency = z.infer<typeof Dependency>;

export interface Manifest {
  dependencies: Dependency[];
  /** Default versions by dependency id (an operator manifest's [defaults] table). */
  defaults: Record<string, string>;
}

function parseDependencies(list: unknown, where: string): Dependency[] {
  const parsed = z.array(z.unknown()).safeParse(list ?? []);
  if (!parsed.success) throw new UserError(`Invalid dependency manifest ${where}`, [`Expected an array of [[dependencies]] tables.`]);
  return parsed.data.map((raw, i) => {
    const r = Dependency.safeParse(raw);
    if (r.success) return r.data;
    const issue = r.error.issues[0]!;
    throw new UserError(`Invalid dependency manifest ${where}`, [
      `Entry ${i + 1} (${JSON.stringify((raw as { id?: unknown })?.id ?? '?')} ${JSON.stringify((raw as { version?: unknown })?.version ?? '?')}): ${issue.path.join('.') || 'entry'} ${issue.message}.`,
      'Each entry needs id, version, uri and checksum = "sha256:<hex>", and may have os, arch, kind ("source" for a source tarball to compile), prefix, purl, cpes, licenses, deprecation_date.',
    ]);
  });
}

/** The buildpack's own manifest, from buildpack.toml's [metadata]. */
export function buildpackManifest(metadata: Record<string, unknown>): Manifest {
  return { dependencies: parseDependencies(metadata.dependencies, 'in buildpack.toml'), defaults: {} };
}

/** An operator manifest: a TOML document with [[dependencies]] and an optional [defaults] table. */
export function parseOperatorManifest(text: string, where: string): Manifest {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text, where);
  } catch (e) {
    throw new UserError('BP_PYTHON_MANIFEST is not valid TOML', [`${where}: ${(e as Error).message}`, 'Expected [[dependencies]] tables in the schema of buildpack.toml [[metadata.dependencies]].']);
  }
  const defaults = z.record(z.string()).safeParse(doc.defaults ?? {});
  if (!defaults.success) throw new UserError('Invalid [defaults] in BP_PYTHON_MANIFEST', [`${where}: [defaults] values must be strings, e.g. python = "3.12".`]);
  return { dependencies: parseDependencies(doc.dependencies, `in ${where}`), defaults: defaults.data };
}

/**
 * For every (id, arch) the operator manifest lists, its entries REPLACE the buildpack's: an operator
 * who hosts their own CPython builds gets exactly those (an air-gapped site must never fall back to
 * an upstream URL it cannot reach). Ids and arches it does not list keep the buildpack's entries.
 */
export function mergeManifests(operator: Manifest | undefined, own: Manifest): Manifest {
  if (!operator) return own;
  const key = (d: Dependency) => `${d.id} ${d.arch ?? '*'}`;
  const replaced = new Set(operator.dependencies.map(key));
  const shadowed = (d: Dependency) => replaced.has(key(d)) || replaced.has(`${d.id} *`);
  return { dependencies: [...operator.dependencies, ...own.dependencies.filter((d) => !shadowed(d))], defaults: { ...own.defaults, ...operator.defaults } };
}

/** Entries of this id that run on the target (an entry without arch or os runs anywhere). */
export function forTarget(manifest: Manifest, id: string, target: { os: string; arch: string; distroName?: string; distroVersion?: string }): Dependency[] {
  return manifest.dependencies.filter(
    (d) =>
      d.id === id &&
      (!d.os || d.os === target.os) &&
      (!d.arch || d.arch === target.arch) &&
      (!d.distros || d.distros.some((x) => x.name === target.distroName && (!x.version || x.version === target.distroVersion))),
  );
}

export function sha256Of(d: Dependency): string {
  return d.checksum.slice('sha256:'.length);
}

export function deprecationDate(d: Dependency): Date | undefined {
  if (d.deprecation_date === undefined) return undefined;
  const date = d.deprecation_date instanceof Date ? d.deprecation_date : new Date(d.deprecation_date);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * BP_PYTHON_MANIFEST: a path, a file:// URL or an http(s):// URL. Every form is read by
 * `io.fetchText`, which caps the size and reads a local path only when it is a regular file (a
 * FIFO or a device must not block the build).
 */
export async function loadOperatorManifest(location: string | undefined, io: { fetchText(url: string): Promise<string> }): Promise<Manifest | undefined> {
  if (!location?.trim()) return undefined;
  const where = redactUrl(location.trim());
  const real = location.trim();
  let text: string;
  try {
    text = await io.fetchText(/^(https?|file):\/\//i.test(real) ? real : pathToFileURL(path.resolve(real)).href);
  } catch (e) {
    const shown = toUserError(e);
    if (shown instanceof UserError) throw new UserError('Could not read BP_PYTHON_MANIFEST', [`BP_PYTHON_MANIFEST is ${where}.`, ...shown.body]);
    throw new UserError('Could not read BP_PYTHON_MANIFEST', [`BP_PYTHON_MANIFEST is ${where}, which could not be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`, 'Set it to a readable TOML file path or an http(s) URL.']);
  }
  return parseOperatorManifest(text, where);
}
