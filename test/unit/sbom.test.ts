// The SBOM documents (src/sbom/): each format from one layer description, valid for its format,
// the same bytes every time, and written only for the layers that lack them.
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cyclonedxJson } from '../../src/sbom/cyclonedx';
import type { LayerSbom } from '../../src/sbom/model';
import { distributionComponent, entryComponent, runtimeLibraryComponents, writeMissingSboms } from '../../src/sbom/layers';
import { spdxJson } from '../../src/sbom/spdx';
import { syftJson } from '../../src/sbom/syft';
import { cyclonedxSchemaErrors, spdxSchemaErrors, syftSchemaErrors } from '../helpers/sbom';

const cpython = {
  id: 'python',
  name: 'CPython',
  version: '3.12.4',
  uri: 'https://example.invalid/cpython-3.12.4.tar.gz',
  checksum: `sha256:${'a'.repeat(64)}`,
  purl: 'pkg:generic/cpython@3.12.4',
  cpes: ['cpe:2.3:a:python:python:3.12.4:*:*:*:*:*:*:*'],
  licenses: ['PSF-2.0'],
};
const flask = distributionComponent({ name: 'Flask', version: '3.1.3', licenseText: 'BSD-3-Clause', licenseClassifiers: ['OSI Approved :: BSD License'], files: [], recordSha256: 'b'.repeat(64), distInfo: 'lib/python3.12/site-packages/flask-3.1.3.dist-info' });
const markupsafe = distributionComponent({ name: 'MarkupSafe', version: '3.0.2', licenseExpression: 'BSD-3-Clause', licenseClassifiers: [], files: [], distInfo: 'lib/python3.12/site-packages/markupsafe-3.0.2.dist-info' });
const sbom: LayerSbom = {
  layer: 'python',
  buildpack: { id: 'python-cnb/python', version: '0.1.0' },
  components: [entryComponent(cpython, 'application', 'bin/python3'), ...runtimeLibraryComponents({ sqlite: '3.45.3', openssl: 'OpenSSL 3.0.15 3 Sep 2024' }, '3.12.4'), markupsafe, flask],
};

describe('SBOM documents', () => {
  it('CycloneDX passes the CycloneDX 1.5 JSON schema (strict) and carries purl, cpe, license and the artifact sha256', async () => {
    const json = cyclonedxJson(sbom);
    expect(await cyclonedxSchemaErrors(json)).toBeNull();
    const doc = JSON.parse(json);
    expect(doc.specVersion).toBe('1.5');
    const py = doc.components.find((c: { name: string }) => c.name === 'CPython');
    expect(py).toMatchObject({ version: '3.12.4', purl: 'pkg:generic/cpython@3.12.4', cpe: cpython.cpes[0], hashes: [{ alg: 'SHA-256', content: 'a'.repeat(64) }], licenses: [{ expression: 'PSF-2.0' }] });
    expect(doc.components.map((c: { name: string; version: string }) => `${c.name} ${c.version}`).sort()).toEqual(['CPython 3.12.4', 'Flask 3.1.3', 'MarkupSafe 3.0.2', 'OpenSSL 3.0.15', 'SQLite 3.45.3']);
    expect(doc.components.find((c: { name: string }) => c.name === 'Flask').purl).toBe('pkg:pypi/flask@3.1.3');
  });

  it('a broken CycloneDX document fails the schema (the check can fail)', async () => {
    const doc = JSON.parse(cyclonedxJson(sbom));
    doc.components[0].hashes = [{ alg: 'SHA-256', content: 'not hex' }];
    expect(await cyclonedxSchemaErrors(JSON.stringify(doc))).not.toBeNull();
  });

  it('SPDX 2.3 passes the SPDX 2.3 JSON schema: one package per component, purl and CPE references', () => {
    const doc = JSON.parse(spdxJson(sbom));
    expect(spdxSchemaErrors(doc)).toEqual([]);
    const { creationInfo: _dropped, ...withoutCreationInfo } = doc;
    expect(spdxSchemaErrors(withoutCreationInfo)).toEqual([expect.objectContaining({ keyword: 'required', params: { missingProperty: 'creationInfo' } })]);
    const py = doc.packages.find((p: { name: string }) => p.name === 'CPython');
    expect(py.checksums).toEqual([{ algorithm: 'SHA256', checksumValue: 'a'.repeat(64) }]);
    expect(py.externalRefs).toEqual([
      { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:generic/cpython@3.12.4' },
      { referenceCategory: 'SECURITY', referenceType: 'cpe23Type', referenceLocator: cpython.cpes[0] },
    ]);
    expect(doc.packages).toHaveLength(5);
  });

  it('Syft passes the Syft 16.1.13 JSON schema, python artifacts typed python', () => {
    const doc = JSON.parse(syftJson(sbom));
    expect(syftSchemaErrors(doc)).toEqual([]);
    delete doc.artifacts[0].purl;
    expect(syftSchemaErrors(doc)).toEqual([expect.objectContaining({ keyword: 'required', params: { missingProperty: 'purl' } })]);
    expect(doc.artifacts.find((a: { name: string }) => a.name === 'Flask')).toMatchObject({ type: 'python', language: 'python', purl: 'pkg:pypi/flask@3.1.3' });
  });

  it('the same layer gives the same bytes', () => {
    const reordered = { ...sbom, components: [...sbom.components].reverse() };
    expect([cyclonedxJson(reordered), spdxJson(reordered), syftJson(reordered)]).toEqual([cyclonedxJson(sbom), spdxJson(sbom), syftJson(sbom)]);
  });

  it('the runtime report: versions it cannot read are left out', () => {
    expect(runtimeLibraryComponents({ sqlite: 'x', openssl: 'LibreSSL 3.8.2' }, '3.12.4')).toEqual([]);
  });
});

describe('writeMissingSboms', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sbom-test-'));
  });
  afterEach(() => fsp.rm(dir, { recursive: true, force: true }));

  it('writes the three documents for a layer with metadata and contents, once; a lost one is rewritten identically', async () => {
    const info = path.join(dir, 'site-packages', 'lib', 'python3.12', 'site-packages', 'idna-3.10.dist-info');
    await fsp.mkdir(info, { recursive: true });
    await fsp.writeFile(path.join(info, 'METADATA'), 'Name: idna\nVersion: 3.10\nLicense-Expression: BSD-3-Clause\n');
    await fsp.writeFile(path.join(dir, 'site-packages.toml'), '[metadata]\n');
    await fsp.mkdir(path.join(dir, 'pip')); // no pip.toml: not ours to describe
    const sources = { buildpack: { id: 'python-cnb/python', version: '0.1.0' }, python: cpython, entries: [] };
    expect(await writeMissingSboms(dir, sources)).toEqual(['site-packages']);
    const files = (await fsp.readdir(dir)).filter((f) => f.includes('.sbom.')).sort();
    expect(files).toEqual(['site-packages.sbom.cdx.json', 'site-packages.sbom.spdx.json', 'site-packages.sbom.syft.json']);
    const before = await fsp.readFile(path.join(dir, 'site-packages.sbom.cdx.json'), 'utf8');
    expect(JSON.parse(before).components.map((c: { purl: string }) => c.purl)).toEqual(['pkg:pypi/idna@3.10']);
    expect(await writeMissingSboms(dir, sources)).toEqual([]);
    await fsp.rm(path.join(dir, 'site-packages.sbom.cdx.json'));
    expect(await writeMissingSboms(dir, sources)).toEqual(['site-packages']);
    expect(await fsp.readFile(path.join(dir, 'site-packages.sbom.cdx.json'), 'utf8')).toBe(before);
  });
});
