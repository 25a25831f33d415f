/**
 * Jest globalSetup of the pack project: brings the pack tier up to date (scripts/setup-pack.sh:
 * engine config, pack, images, builders with the current dist/ buildpack; quick when nothing
 * changed), then starts the loopback registry and podman's API socket for the tests
 * (scripts/pack-env.sh start; global-teardown.ts stops them). Not root: nothing (the tests skip).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

function run(script: string, args: string[], what: string): void {
  const started = Date.now();
  const r = spawnSync('bash', [path.join(REPO_ROOT, script), ...args], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${what} failed (bash ${script} ${args.join(' ')}, exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  process.stderr.write(`globalSetup (pack): ${what} in ${Date.now() - started} ms\n`);
}

export default async function globalSetup(): Promise<void> {
  if (process.getuid?.() !== 0) return;
  run('scripts/setup-pack.sh', [], 'setting up the pack tier');
  run('scripts/pack-env.sh', ['start'], 'starting the registry and the podman API socket');
}
