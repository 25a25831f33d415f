/**
 * Shared setup of the end-to-end files: one loopback registry (with the e2e run image pushed to
 * it), the runtime mirror and the package index per file, and a scenario per fixture app whose
 * builds export to that registry. See test/helpers/image.ts for how images are built and started.
 */
import * as path from 'node:path';
import { createScenario, type Scenario } from '../helpers/lifecycle';
import { startMirror, type Mirror } from '../helpers/mirror';
import { useLoopbackSources } from '../helpers/sources';
import { startPackageIndex, type PackageIndex } from '../helpers/package-index';
import { startRegistry, type Registry } from '../helpers/registry';
export { layerLines } from '../helpers/image';
import { IS_ROOT, pullImage, pushRunImage, runRegistryBuild, type PulledImage, type RegistryBuildResult } from '../helpers/image';

/** `describe` when the e2e tier can run here (root: chroot, mount namespaces), else `describe.skip`. */
export const describeE2E: jest.Describe = IS_ROOT ? describe : describe.skip;
if (!IS_ROOT) process.stderr.write('e2e: skipped (needs root for unshare/chroot/umoci unpack)\n');

export interface E2E {
  registry: Registry;
  mirror: Mirror;
  index: PackageIndex;
  runImage: string;
  /** A scenario for a fixture app (or an absolute app dir) with the mirror's manifest and the index's pip env. */
  scenario(fixture: string): Promise<Scenario>;
  /** Builds the scenario and exports it to <registry>/<repo>:latest (timeoutMs: per phase, default 10 minutes). */
  build(s: Scenario, repo: string, timeoutMs?: number): Promise<RegistryBuildResult>;
  /** Pulls and unpacks <registry>/<repo>:latest into the scenario's workspace (<root>/image-<n>). */
  pull(s: Scenario, repo: string): PulledImage;
  close(): Promise<void>;
}

export async function startE2E(): Promise<E2E> {
  const [registry, mirror, index] = await Promise.all([startRegistry(), startMirror(), startPackageIndex()]);
  const runImage = pushRunImage(registry);
  let pulls = 0;
  return {
    registry,
    mirror,
    index,
    runImage,
    async scenario(fixture) {
      const s = createScenario(fixture);
      await useLoopbackSources(s, { mirror, index });
      return s;
    },
    build(s, repo, timeoutMs) {
      return runRegistryBuild(s, { registry, image: registry.ref(repo), runImage, timeoutMs });
    },
    pull(s, repo) {
      return pullImage(registry.ref(repo), path.join(s.root, `image-${++pulls}`));
    },
    async close() {
      await Promise.all([registry.close(), mirror.close(), index.close()]);
    },
  };
}
