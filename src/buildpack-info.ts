// The buildpack's own descriptor (buildpack.toml), read from CNB_BUILDPACK_DIR.
import * as path from 'node:path';
import { BuildpackDescriptor } from './cnb/schemas';
import { readTomlAs } from './cnb/toml';

export interface BuildpackInfo {
  id: string;
  name: string;
  version: string;
  metadata: Record<string, unknown>;
}

export async function readBuildpackInfo(buildpackDir: string): Promise<BuildpackInfo> {
  const d = await readTomlAs(BuildpackDescriptor, path.join(buildpackDir, 'buildpack.toml'));
  return { id: d.buildpack.id, name: d.buildpack.name, version: d.buildpack.version, metadata: d.metadata ?? {} };
}
