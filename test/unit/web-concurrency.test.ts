import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WEB_CONCURRENCY_SCRIPT } from '../../src/layers/web-concurrency';

// The exec.d script runs on the run image with sh; here with a fake cgroup tree. exec.d writes TOML to fd 3.
function run(files: Record<string, string>, env: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cgroup-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  const script = path.join(dir, 'web-concurrency');
  writeFileSync(script, WEB_CONCURRENCY_SCRIPT, { mode: 0o755 });
  try {
    return spawnSync('sh', ['-c', `"${script}" 3>&1`], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', PYTHON_CNB_CGROUP_ROOT: dir, ...env } }).stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true }); // nothing left in the temp dir
  }
}

describe('WEB_CONCURRENCY exec.d', () => {
  it('2 x CPUs + 1 from cgroup v2 cpu.max', () => {
    expect(run({ 'cpu.max': '400000 100000\n', 'memory.max': 'max\n' })).toBe('WEB_CONCURRENCY = "9"\nWEB_CONCURRENCY_SET_BY = "python-cnb"\n');
  });
  it('capped at one worker per 256 MiB', () => {
    expect(run({ 'cpu.max': '400000 100000\n', 'memory.max': `${512 * 1024 * 1024}\n` })).toContain('WEB_CONCURRENCY = "2"');
  });
  it('at least one', () => {
    expect(run({ 'cpu.max': '100000 100000\n', 'memory.max': `${100 * 1024 * 1024}\n` })).toContain('WEB_CONCURRENCY = "1"');
  });
  it('cgroup v1', () => {
    expect(run({ 'cpu/cpu.cfs_quota_us': '200000\n', 'cpu/cpu.cfs_period_us': '100000\n', 'memory/memory.limit_in_bytes': `${8 * 1024 ** 3}\n` })).toContain('WEB_CONCURRENCY = "5"');
  });
  it('a user value wins: nothing is set', () => {
    expect(run({ 'cpu.max': 'max 100000\n' }, { WEB_CONCURRENCY: '3' })).toBe('');
  });
});
