// How every layer words a cache miss, so the log reads the same for all of them:
//   - Discarding cached Python 3.12.1 since:
//     - the Python version changed from 3.12.1 to 3.13.9
import type { LayerDecision, LayerKey } from '../cnb/layer';
import type { Log } from '../log';

export function logCacheMiss(log: Log, what: string, d: Exclude<LayerDecision, { action: 'reuse' }>, label?: (cached: LayerKey) => string | undefined): void {
  if (d.cause === 'new') {
    log.info(`No cached ${what}`);
    return;
  }
  const cached = 'cached' in d && d.cached && label ? label(d.cached) : undefined;
  log.info(`Discarding cached ${cached ? `${what} ${cached}` : what} since:`);
  for (const r of d.reasons) log.detail(r);
}
