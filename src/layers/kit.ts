// What every layer shares: the target part of a cache key, the cache hit and miss lines (so the
// log reads the same for every layer), and fetching a verified archive into a layer.
//   - Using cached Python 3.12.1
//   - Discarding cached Python 3.12.1 since:
//     - the Python version changed from 3.12.1 to 3.13.9
import type { Target } from '../cnb/context';
import type { LayerDecision, LayerKey } from '../cnb/layer';
import { rethrowExplained } from '../explain';
import { downloadVerified } from '../io/download';
import { compressionOf, extractTar, type ExtractStats } from '../io/extract';
import { makeDir, removePath } from '../io/fs';
import { formatBytes, formatDuration, type Log } from '../log';
import { sha256Of, type Dependency } from '../python/manifest';
import { applyMirror, type MirrorConfig } from '../python/mirrors';

/** The key fields that say which machine a layer was built for. */
export function targetKey(target: Target): { arch: string; distro_name: string; distro_version: string } {
  return { arch: target.arch, distro_name: target.distroName ?? 'unknown', distro_version: target.distroVersion ?? 'unknown' };
}

export function logCacheHit(log: Log, what: string): void {
  log.info(`Using cached ${what}`);
}

export function logCacheMiss(log: Log, what: string, d: Exclude<LayerDecision, { action: 'reuse' }>, label?: (cached: LayerKey) => string | undefined): void {
  if (d.action === 'keep') return; // not a miss: the layers that can be kept say so themselves
  if (d.cause === 'new') {
    log.info(`No cached ${what}`);
    return;
  }
  const cached = 'cached' in d && d.cached && label ? label(d.cached) : undefined;
  log.info(`Discarding cached ${cached ? `${what} ${cached}` : what} since:`);
  for (const r of d.reasons) log.detail(r);
}

/** Downloads `entry` (through any mirror), verifies its sha256 while streaming, and unpacks the
 *  entries under `prefix` into `dest`; a failed attempt leaves `dest` empty. */
export async function fetchIntoLayer(
  entry: Dependency,
  dest: string,
  opts: { prefix: string; what: string; mirrors: ReadonlyArray<MirrorConfig | undefined>; log: Log; leaveOut?: (rel: string) => string | undefined },
): Promise<{ bytes: number; files: number; leftOut: ExtractStats['leftOut'] }> {
  const { log } = opts;
  const { url, via } = applyMirror(entry.uri, opts.mirrors);
  log.info(`Downloading ${opts.what} from ${url}${via ? ` (mirror from ${via})` : ''}`);
  let files = 0;
  let leftOut: ExtractStats['leftOut'] = {};
  // A failed download is said here, where it is known what was being fetched (a layer's API throws
  // the titled UserError, as every step does).
  const result = await downloadVerified(
    url,
    sha256Of(entry),
    async (body) => {
      ({ files, leftOut } = await extractTar(body, dest, { compression: compressionOf(entry.uri), prefix: opts.prefix, leaveOut: opts.leaveOut }));
    },
    {
      reset: async () => {
        await removePath(dest);
        await makeDir(dest);
      },
      onRetry: ({ attempt, reason, delayMs }) => log.detail(`Attempt ${attempt} failed (${reason}); retrying in ${formatDuration(delayMs)}`),
    },
  ).catch(rethrowExplained);
  const seconds = Math.max(result.ms, 1) / 1000;
  log.info(`Downloaded and unpacked ${formatBytes(result.bytes)} in ${formatDuration(result.ms)} (${formatBytes(result.bytes / seconds)}/s), ${files} files, sha256 verified`);
  return { bytes: result.bytes, files, leftOut };
}
