// SPDX 2.3 JSON (`<layer>.sbom.spdx.json`). No npm package models SPDX 2.3 documents, so this is
// written by hand, after the SPDX 2.3 specification's JSON serialization: one package per
// component, DESCRIBES from the document, purls and CPEs as external references. The namespace
// is derived from the content, and `created` is the exporter's fixed date, so the bytes are stable.
import { createHash } from 'node:crypto';
import { sortedComponents, SBOM_CREATED, type LayerSbom, type SbomComponent } from './model';

export function spdxJson(sbom: LayerSbom): string {
  const components = sortedComponents(sbom);
  const packages = components.map((c, i) => spdxPackage(c, i));
  const body = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${sbom.buildpack.id} layer ${sbom.layer}`,
    creationInfo: { created: SBOM_CREATED, creators: [`Tool: ${sbom.buildpack.id}-${sbom.buildpack.version}`] },
    packages,
    relationships: packages.map((p) => ({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: p.SPDXID })),
  };
  const digest = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 32);
  // documentNamespace: a unique URI per document (SPDX 2.3 §6.5); it is never dereferenced.
  const doc = { ...body, documentNamespace: `https://python-cnb.invalid/spdx/${encodeURIComponent(sbom.buildpack.id)}/${sbom.layer}/${digest}` };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function spdxPackage(c: SbomComponent, i: number) {
  const externalRefs = [
    ...(c.purl ? [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: c.purl }] : []),
    ...c.cpes.map((cpe) => ({ referenceCategory: 'SECURITY', referenceType: 'cpe23Type', referenceLocator: cpe })),
  ];
  const facts = Object.entries(c.properties).map(([k, v]) => `${k}: ${v}`);
  return {
    name: c.name,
    SPDXID: `SPDXRef-Package-${i}-${c.name.replace(/[^A-Za-z0-9.-]/g, '-')}`,
    versionInfo: c.version,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    ...(c.sha256 ? { checksums: [{ algorithm: 'SHA256', checksumValue: c.sha256 }] } : {}),
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: c.license.expression ?? 'NOASSERTION',
    ...(!c.license.expression && c.license.names.length ? { licenseComments: `Declared as: ${c.license.names.join('; ')}` } : {}),
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: c.type === 'application' ? 'APPLICATION' : 'LIBRARY',
    ...(externalRefs.length ? { externalRefs } : {}),
    ...(facts.length || c.location ? { comment: [...(c.location ? [`location: ${c.location}`] : []), ...facts].join('\n') } : {}),
  };
}
