// Points a scenario at the loopback sources every build here uses instead of the internet: the
// runtime mirror through an operator manifest (BP_PYTHON_MANIFEST) and the package index through
// pip's env (PIP_INDEX_URL, PIP_TRUSTED_HOST: pip only caches downloads from https or trusted hosts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Scenario } from './lifecycle';
import { repositoryBuildpack } from './buildpack-manifest';
import { startMirror, writeRuntimeManifest, type ManifestEntry, type Mirror, type RuntimeManifestOptions } from './mirror';
import { startPackageIndex, type PackageIndex } from './package-index';

export async function useLoopbackSources(s: Scenario, sources: { mirror: Mirror; index?: PackageIndex }, manifestOptions: RuntimeManifestOptions = {}): Promise<string> {
  const manifest = path.join(s.root, 'manifest.toml');
  await writeRuntimeManifest(sources.mirror, manifest, manifestOptions);
  fs.chmodSync(manifest, 0o644); // read by the build user
  s.setEnv('BP_PYTHON_MANIFEST', manifest);
  if (sources.index) for (const [k, v] of Object.entries(sources.index.pipEnv())) s.setEnv(k, v);
  return manifest;
}

/** The loopback mirror and index for one test file: started before its tests, stopped after. */
export function loopbackSourcesForSuite(): { mirror: Mirror; index: PackageIndex } {
  const sources = {} as { mirror: Mirror; index: PackageIndex };
  beforeAll(async () => {
    [sources.mirror, sources.index] = await Promise.all([startMirror(), startPackageIndex()]);
  });
  afterAll(async () => {
    await Promise.all([sources.mirror?.close(), sources.index?.close()]);
  });
  return sources;
}

/**
 * The buildpack's own `kind = "source"` python entry for a version (python.org URL and sha256), for
 * `arch` (default: this machine's). buildpack.toml lists 3.9.2 from source for arm64 only, since amd64
 * has a prebuilt archive; tests of the source build on amd64 list it for amd64 in their manifest.
 */
export function sourceRuntimeEntry(version: string, arch: string = process.arch === 'arm64' ? 'arm64' : 'amd64'): ManifestEntry {
  const entry = repositoryBuildpack().manifest.dependencies.find((d) => d.id === 'python' && d.version === version && d.kind === 'source');
  if (!entry) throw new Error(`buildpack.toml has no kind = "source" entry for ${version}`);
  return { ...(entry as ManifestEntry), arch };
}
