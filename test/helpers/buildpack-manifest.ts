// The repository's buildpack.toml as the build reads it: its manifest and its pins.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { BuildpackDescriptor } from '../../src/cnb/schemas';
import { parseTomlAs } from '../../src/cnb/toml';
import { buildpackManifest, forTarget, type Dependency, type Manifest } from '../../src/python/manifest';

export const AMD64 = { os: 'linux', arch: 'amd64', distroName: 'ubuntu', distroVersion: '24.04' };

let cached: { manifest: Manifest; metadata: Record<string, unknown> } | undefined;

export function repositoryBuildpack(): { manifest: Manifest; metadata: Record<string, unknown> } {
  if (!cached) {
    const metadata = parseTomlAs(BuildpackDescriptor, readFileSync(path.join(__dirname, '..', '..', 'buildpack.toml'), 'utf8')).metadata ?? {};
    cached = { manifest: buildpackManifest(metadata), metadata };
  }
  return cached;
}

/** The manifest's entries of one id for linux/amd64. */
export function buildpackDependencies(id: string): Dependency[] {
  return forTarget(repositoryBuildpack().manifest, id, AMD64);
}
