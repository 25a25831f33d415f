// Syft JSON (`<layer>.sbom.syft.json`). Syft publishes no library outside Go, so this is the
// minimal document its JSON schema requires (16.1.13: `artifacts` with id, name, version, type,
// foundBy, locations, licenses, language, cpes and purl; `artifactRelationships`, `source`,
// `distro`, `descriptor`, `schema`), written by hand; the README ("SBOM") documents the shape.
import { createHash } from 'node:crypto';
import { sortedComponents, type LayerSbom, type SbomComponent } from './model';

export const SYFT_SCHEMA_VERSION = '16.1.13';

export function syftJson(sbom: LayerSbom): string {
  const doc = {
    artifacts: sortedComponents(sbom).map((c) => artifact(c)),
    artifactRelationships: [],
    source: { id: stableId(`layer:${sbom.layer}`), name: sbom.layer, version: '', type: 'directory', metadata: { path: sbom.layer } },
    distro: {},
    descriptor: { name: sbom.buildpack.id, version: sbom.buildpack.version },
    schema: { version: SYFT_SCHEMA_VERSION, url: `https://raw.githubusercontent.com/anchore/syft/main/schema/json/schema-${SYFT_SCHEMA_VERSION}.json` },
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function artifact(c: SbomComponent) {
  const pypi = c.purl?.startsWith('pkg:pypi/') ?? false;
  const licenses = c.license.expression
    ? [{ value: c.license.expression, spdxExpression: c.license.expression, type: 'declared', urls: [], locations: [] }]
    : c.license.names.map((name) => ({ value: name, spdxExpression: '', type: 'declared', urls: [], locations: [] }));
  return {
    id: stableId(`${c.purl ?? c.name}@${c.version}`),
    name: c.name,
    version: c.version,
    type: pypi ? 'python' : 'binary',
    foundBy: 'python-cnb',
    locations: c.location ? [{ path: c.location, accessPath: c.location }] : [],
    licenses,
    language: pypi ? 'python' : '',
    cpes: c.cpes.map((cpe) => ({ cpe, source: 'python-cnb' })),
    purl: c.purl ?? '',
  };
}

/** Syft ids are opaque strings; a digest of what identifies the artifact keeps them stable. */
function stableId(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
