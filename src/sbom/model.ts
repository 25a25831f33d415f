// The one description of a layer's contents that the three SBOM formats are written from
// (src/sbom/cyclonedx.ts, spdx.ts, syft.ts). Pure data: what is installed, never how it was found.

export interface SbomLicense {
  /** An SPDX license expression (the manifest's ids, or a distribution's License-Expression). */
  expression?: string;
  /** Free-text names (a License field, a trove classifier) when there is no expression. */
  names: string[];
}

export interface SbomComponent {
  name: string;
  version: string;
  /** CycloneDX's type: the runtime is an application, what it runs libraries. */
  type: 'application' | 'library';
  purl?: string;
  cpes: string[];
  license: SbomLicense;
  /** The sha256 of the artifact this component was installed from (a manifest entry's). */
  sha256?: string;
  /** Where it lives in the layer (a dist-info directory, bin/python3). */
  location?: string;
  /** Extra facts, as `python-cnb:<name>` properties (the RECORD's sha256, "bundled in CPython"). */
  properties: Record<string, string>;
}

export interface LayerSbom {
  /** The layer's name: the document's subject. */
  layer: string;
  buildpack: { id: string; version: string };
  components: SbomComponent[];
}

/** The components of a document, in one stable order (a rebuild writes the same bytes). */
export function sortedComponents(sbom: LayerSbom): SbomComponent[] {
  return [...sbom.components].sort((a, b) => (a.purl ?? a.name).localeCompare(b.purl ?? b.name) || a.version.localeCompare(b.version));
}

/** A stable identifier per component within a document. */
export function componentRef(c: SbomComponent, i: number): string {
  return c.purl ?? `component-${i}-${c.name}@${c.version}`;
}

/** Build timestamps are the exporter's (1980-01-01T00:00:01Z, as SOURCE_DATE_EPOCH): the SBOM does not date the build either. */
export const SBOM_CREATED = '1980-01-01T00:00:01Z';
