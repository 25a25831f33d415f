// Checks of the SBOM documents the buildpack writes (src/sbom/), for unit and lifecycle tests, and
// the reader of an exported image's SBOM layer.
// CycloneDX: the JSON schema of its spec version, as @cyclonedx/cyclonedx-library ships it (strict
// validator, ajv). SPDX 2.3 and Syft: no npm package carries their JSON schemas (and the tests
// fetch nothing from GitHub), so these check the fields each format's spec requires and the
// shape our readers rely on; they say so in their names.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import * as tar from 'tar-stream';

/** The schema errors of a CycloneDX 1.5 JSON document (null: valid). */
export async function cyclonedxSchemaErrors(json: string): Promise<unknown> {
  return new Validation.JsonStrictValidator(Spec.Version.v1dot5).validate(json);
}

const SPDX_DOC_FIELDS = ['spdxVersion', 'dataLicense', 'SPDXID', 'name', 'documentNamespace', 'creationInfo'];
const SPDX_PACKAGE_FIELDS = ['name', 'SPDXID', 'downloadLocation'];

/** SPDX 2.3 required fields (spec clauses 6 and 7) and reference syntax; [] when they hold. */
export function spdxRequiredFieldProblems(doc: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const f of SPDX_DOC_FIELDS) if (!(f in doc)) problems.push(`document lacks ${f}`);
  if (doc.spdxVersion !== 'SPDX-2.3') problems.push(`spdxVersion is ${String(doc.spdxVersion)}`);
  if (doc.dataLicense !== 'CC0-1.0') problems.push('dataLicense must be CC0-1.0');
  const info = doc.creationInfo as { created?: string; creators?: string[] } | undefined;
  if (!info?.created || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(info.created)) problems.push('creationInfo.created is not YYYY-MM-DDThh:mm:ssZ');
  if (!info?.creators?.length || !info.creators.every((c) => /^(Tool|Person|Organization): /.test(c))) problems.push('creationInfo.creators');
  const ids = new Set<string>();
  for (const p of (doc.packages ?? []) as Array<Record<string, unknown>>) {
    for (const f of SPDX_PACKAGE_FIELDS) if (!(f in p)) problems.push(`package ${String(p.name)} lacks ${f}`);
    if (!/^SPDXRef-[A-Za-z0-9.-]+$/.test(String(p.SPDXID))) problems.push(`bad SPDXID ${String(p.SPDXID)}`);
    ids.add(String(p.SPDXID));
    for (const c of (p.checksums ?? []) as Array<{ algorithm: string; checksumValue: string }>) if (c.algorithm !== 'SHA256' || !/^[0-9a-f]{64}$/.test(c.checksumValue)) problems.push(`bad checksum in ${String(p.name)}`);
  }
  for (const r of (doc.relationships ?? []) as Array<Record<string, string>>) if (r.spdxElementId !== 'SPDXRef-DOCUMENT' || !ids.has(r.relatedSpdxElement!)) problems.push(`dangling relationship ${JSON.stringify(r)}`);
  return problems;
}

/** The fields Syft's JSON decoder reads (schema 16); [] when they hold. */
export function syftShapeProblems(doc: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const f of ['artifacts', 'artifactRelationships', 'source', 'distro', 'descriptor', 'schema']) if (!(f in doc)) problems.push(`document lacks ${f}`);
  for (const a of (doc.artifacts ?? []) as Array<Record<string, unknown>>) {
    for (const f of ['id', 'name', 'version', 'type', 'foundBy', 'locations', 'licenses', 'language', 'cpes', 'purl']) if (!(f in a)) problems.push(`artifact ${String(a.name)} lacks ${f}`);
  }
  return problems;
}

/**
 * The SBOM layer of an image in an OCI layout: the lifecycle's metadata label names its diffID
 * (`sbom.sha`); its files are <layers>/sbom/{launch,build}/<buildpack>/<layer>/sbom.<ext>.json.
 * Returns each file under sbom/launch/ by "<buildpack>/<layer>/sbom.<ext>.json".
 */
export async function readImageSboms(image: { path: string; manifest: { layers: Array<{ digest: string }> }; config: unknown; lifecycleMetadata?: Record<string, unknown> }): Promise<Record<string, string>> {
  const sha = (image.lifecycleMetadata?.sbom as { sha?: string } | undefined)?.sha;
  if (!sha) throw new Error('the image has no SBOM layer (io.buildpacks.lifecycle.metadata has no sbom.sha)');
  const diffIds = (image.config as { rootfs?: { diff_ids?: string[] } }).rootfs?.diff_ids ?? [];
  const index = diffIds.indexOf(sha);
  const layer = image.manifest.layers[index];
  if (index < 0 || !layer) throw new Error(`no image layer has diffID ${sha}`);
  let bytes = fs.readFileSync(path.join(image.path, 'blobs', ...layer.digest.split(':')));
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  const files: Record<string, string> = {};
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      const m = /(?:^|\/)sbom\/launch\/(.+\/sbom\.[a-z]+\.json)$/.exec(header.name);
      if (m && header.type === 'file') files[m[1]!] = Buffer.concat(chunks).toString('utf8');
      next();
    });
    stream.resume();
  });
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
    extract.end(bytes);
  });
  return files;
}
