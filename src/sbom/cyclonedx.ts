// CycloneDX 1.5 JSON (`<layer>.sbom.cdx.json`), through @cyclonedx/cyclonedx-library, the
// CycloneDX project's own model and serializer (it also ships the JSON schemas the tests validate
// against). No serial number and no timestamp, and fixed bom-refs, so the same layer gives the same bytes.
import type * as CycloneDX from '@cyclonedx/cyclonedx-library';
import { componentRef, sortedComponents, type LayerSbom, type SbomComponent } from './model';

let library: typeof CycloneDX | undefined;
/** Loaded on first use: evaluating the library is about 10 ms of a warm rebuild's ~150 ms of
 *  Node (profiled), and a build that reuses its layers writes no SBOM. */
function cyclonedx(): typeof CycloneDX {
  return (library ??= require('@cyclonedx/cyclonedx-library') as typeof CycloneDX);
}

export function cyclonedxJson(sbom: LayerSbom): string {
  const { Enums, Models, Serialize, Spec } = cyclonedx();
  const bom = new Models.Bom();
  bom.metadata.component = new Models.Component(Enums.ComponentType.Application, sbom.layer, { bomRef: `layer:${sbom.layer}`, description: `The ${sbom.layer} layer of ${sbom.buildpack.id}` });
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, sbom.buildpack.id, { version: sbom.buildpack.version, bomRef: `tool:${sbom.buildpack.id}` }));
  sortedComponents(sbom).forEach((c, i) => bom.components.add(component(c, i)));
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot5));
  return `${serializer.serialize(bom, { sortLists: true, space: 2 })}\n`;
}

function component(c: SbomComponent, i: number): CycloneDX.Models.Component {
  const { Enums, Models } = cyclonedx();
  const out = new Models.Component(c.type === 'application' ? Enums.ComponentType.Application : Enums.ComponentType.Library, c.name, {
    version: c.version,
    bomRef: componentRef(c, i),
    ...(c.purl ? { purl: c.purl } : {}),
    ...(c.cpes[0] ? { cpe: c.cpes[0] } : {}),
  });
  if (c.license.expression) out.licenses.add(new Models.LicenseExpression(c.license.expression));
  else for (const name of c.license.names) out.licenses.add(new Models.NamedLicense(name));
  if (c.sha256) out.hashes.set(Enums.HashAlgorithm['SHA-256'], c.sha256);
  for (const [k, v] of Object.entries(c.properties)) out.properties.add(new Models.Property(`python-cnb:${k}`, v));
  for (const cpe of c.cpes.slice(1)) out.properties.add(new Models.Property('python-cnb:cpe', cpe));
  if (c.location) out.properties.add(new Models.Property('python-cnb:location', c.location));
  return out;
}
