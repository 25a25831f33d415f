/** Jest globalTeardown of the pack project: stops the registry and podman's API socket, and
 *  removes any bridge interface or CNI iptables chain (scripts/pack-env.sh stop). */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export default async function globalTeardown(): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const r = spawnSync('bash', [path.resolve(__dirname, '..', '..', 'scripts', 'pack-env.sh'), 'stop'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/pack-env.sh stop failed: ${r.stdout}${r.stderr}`);
}
