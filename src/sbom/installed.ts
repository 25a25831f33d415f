// What is really installed in a venv (or a tool layer): one entry per *.dist-info directory of its
// site-packages, from the distribution's own METADATA (name, version, license fields) and RECORD.
// This is what the SBOM lists and the build report counts: the install's outcome, not a reading of
// the app's requirement files.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { listDir, readSmallFile } from '../io/fs';

export interface InstalledDistribution {
  name: string;
  version: string;
  /** PEP 639 License-Expression, when the distribution gives one. */
  licenseExpression?: string;
  /** The free-text License field (first line), when there is no expression. */
  licenseText?: string;
  /** "License :: OSI Approved :: MIT License" classifiers, without the "License :: " part. */
  licenseClassifiers: string[];
  /** Files the RECORD lists with a sha256 (path relative to site-packages, hex digest). */
  files: Array<{ path: string; sha256: string }>;
  /** sha256 of the RECORD itself: one digest over every installed file's digest. */
  recordSha256?: string;
  /** The dist-info directory, relative to the layer. */
  distInfo: string;
}

/** The site-packages directories of a layer: lib/python3.X/site-packages (a venv or PYTHONUSERBASE). */
export async function sitePackagesDirs(layerDir: string): Promise<string[]> {
  const lib = path.join(layerDir, 'lib');
  return (await listDir(lib)).filter((e) => e.kind === 'dir' && /^python3\.\d+$/.test(e.name)).map((e) => path.join(lib, e.name, 'site-packages'));
}

export async function readInstalledDistributions(layerDir: string): Promise<InstalledDistribution[]> {
  const found: InstalledDistribution[] = [];
  for (const site of await sitePackagesDirs(layerDir)) {
    for (const e of await listDir(site)) {
      if (e.kind !== 'dir' || !e.name.endsWith('.dist-info')) continue;
      const metadata = await readSmallFile(path.join(site, e.name, 'METADATA'));
      if (!metadata.ok) continue;
      const record = await readSmallFile(path.join(site, e.name, 'RECORD'));
      const dist = parseMetadata(metadata.bytes.toString('utf8'));
      if (!dist) continue;
      found.push({
        ...dist,
        files: record.ok ? parseRecord(record.bytes.toString('utf8')) : [],
        ...(record.ok ? { recordSha256: createHash('sha256').update(record.bytes).digest('hex') } : {}),
        distInfo: path.relative(layerDir, path.join(site, e.name)),
      });
    }
  }
  return found.sort((a, b) => normalizeName(a.name).localeCompare(normalizeName(b.name)));
}

/** The header block of a core metadata file (RFC 822 style; the body after the first blank line is the description). */
export function parseMetadata(text: string): Omit<InstalledDistribution, 'files' | 'distInfo' | 'recordSha256'> | undefined {
  const headers: Array<[string, string]> = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if (/^[ \t]/.test(line) && headers.length) continue; // a folded continuation (a long License text): the first line is kept
    const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
    if (m) headers.push([m[1]!.toLowerCase(), m[2]!.trim()]);
  }
  const get = (k: string) => headers.find(([h]) => h === k)?.[1];
  const name = get('name');
  const version = get('version');
  if (!name || !version) return undefined;
  const licenseText = get('license');
  return {
    name,
    version,
    ...(get('license-expression') ? { licenseExpression: get('license-expression') } : {}),
    ...(licenseText && licenseText !== 'UNKNOWN' ? { licenseText } : {}),
    licenseClassifiers: headers.filter(([h, v]) => h === 'classifier' && v.startsWith('License :: ')).map(([, v]) => v.slice('License :: '.length)),
  };
}

/** RECORD lines "path,sha256=<urlsafe base64, no padding>,size" -> hex digests. */
export function parseRecord(text: string): Array<{ path: string; sha256: string }> {
  const files: Array<{ path: string; sha256: string }> = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^(.*),sha256=([A-Za-z0-9_-]+),\d*$/.exec(line);
    if (!m) continue;
    const file = m[1]!.replace(/^"(.*)"$/, '$1');
    files.push({ path: file, sha256: Buffer.from(m[2]!, 'base64url').toString('hex') });
  }
  return files;
}

/** PEP 503 normalized name, as purls and indexes spell it. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** How many distributions a venv holds (the *.dist-info directories; no file is read). */
export async function countInstalledPackages(layerDir: string): Promise<number> {
  let n = 0;
  for (const site of await sitePackagesDirs(layerDir)) n += (await listDir(site)).filter((e) => e.kind === 'dir' && e.name.endsWith('.dist-info')).length;
  return n;
}
