// Checks of the SBOM documents the buildpack writes (src/sbom/), for unit and lifecycle tests, and
// the reader of an exported image's SBOM layer. Each format is validated against its JSON schema:
// CycloneDX 1.5 as @cyclonedx/cyclonedx-library ships it (its strict validator, ajv); SPDX 2.3 and
// Syft 16.1.13 from test/fixtures/schemas/ (copies from the anchore/syft Go module, see the README there).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import Ajv, { type ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import * as tar from 'tar-stream';

const SCHEMAS = path.join(__dirname, '..', 'fixtures', 'schemas');

/** The schema errors of a CycloneDX 1.5 JSON document (null: valid). */
export async function cyclonedxSchemaErrors(json: string): Promise<unknown> {
  return new Validation.JsonStrictValidator(Spec.Version.v1dot5).validate(json);
}

function compile(file: string, draft2020: boolean): ValidateFunction {
  const ajv = draft2020 ? new Ajv2020({ strict: false, allErrors: true }) : new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(JSON.parse(fs.readFileSync(path.join(SCHEMAS, file), 'utf8')));
}

let spdx: ValidateFunction | undefined;
let syft: ValidateFunction | undefined;

/** The SPDX 2.3 JSON schema's errors ([] when valid). */
export function spdxSchemaErrors(doc: unknown): unknown[] {
  spdx ??= compile('spdx-schema-2.3.json', false);
  return spdx(doc) ? [] : [...(spdx.errors ?? [])];
}

/** The Syft JSON schema's errors ([] when valid). */
export function syftSchemaErrors(doc: unknown): unknown[] {
  syft ??= compile('syft-schema-16.1.13.json', true);
  return syft(doc) ? [] : [...(syft.errors ?? [])];
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
