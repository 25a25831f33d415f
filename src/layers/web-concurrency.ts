// The `web-concurrency` layer (launch only): an exec.d program that sets WEB_CONCURRENCY when the
// container starts, from the cgroup CPU and memory limits, unless the user set it. gunicorn (and
// uvicorn, hypercorn) read it as their worker count. It runs on the RUN image, which has no Node
// and maybe no bash, so it is a POSIX sh script. exec.d output is TOML on file descriptor 3.
// Spec: https://github.com/buildpacks/spec/blob/buildpack/v0.10/buildpack.md#execd
// Written when the script changes; otherwise the image keeps its layer by metadata alone (launch
// only, so the restorer brings back only its TOML: src/cnb/layer.ts, "keep"), and a warm build
// neither writes nor re-tars it.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeLayerEnv, LayerEnv } from '../cnb/env';
import { defineLayer, openLayer, stringKey } from '../cnb/layer';

export const webConcurrencyLayer = defineLayer({
  name: 'web-concurrency',
  types: { build: false, launch: true, cache: false },
  key: stringKey(['script_version'] as const),
  reasons: { script_version: (a, b) => `the script changed from ${a} to ${b}` },
});

/** Workers = 2 x CPUs + 1, at most one per 256 MiB of memory, at least 1 (Heroku's rule of thumb). */
export const WEB_CONCURRENCY_SCRIPT = `#!/bin/sh
# Set by python-cnb: WEB_CONCURRENCY from the container's CPU and memory limits (cgroup v2, v1).
[ -n "\${WEB_CONCURRENCY:-}" ] && exit 0
cg="\${PYTHON_CNB_CGROUP_ROOT:-/sys/fs/cgroup}"
cpus=""
if [ -r $cg/cpu.max ]; then
  read -r quota period < $cg/cpu.max
  [ "$quota" != "max" ] && [ -n "$period" ] && cpus=$(( (quota + period - 1) / period ))
elif [ -r $cg/cpu/cpu.cfs_quota_us ] && [ -r $cg/cpu/cpu.cfs_period_us ]; then
  quota=$(cat $cg/cpu/cpu.cfs_quota_us); period=$(cat $cg/cpu/cpu.cfs_period_us)
  [ "$quota" -gt 0 ] 2>/dev/null && cpus=$(( (quota + period - 1) / period ))
fi
[ -z "$cpus" ] && cpus=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
mem=""
if [ -r $cg/memory.max ]; then
  mem=$(cat $cg/memory.max)
elif [ -r $cg/memory/memory.limit_in_bytes ]; then
  mem=$(cat $cg/memory/memory.limit_in_bytes)
fi
workers=$(( cpus * 2 + 1 ))
case "$mem" in
  ''|max|*[!0-9]*) ;;
  *) bymem=$(( mem / 268435456 )); [ "$bymem" -lt "$workers" ] && workers=$bymem ;;
esac
[ "$workers" -lt 1 ] && workers=1
printf 'WEB_CONCURRENCY = "%s"\\nWEB_CONCURRENCY_SET_BY = "python-cnb"\\n' "$workers" >&3
`;

export async function writeWebConcurrency(layersDir: string): Promise<void> {
  const layer = await openLayer(layersDir, webConcurrencyLayer, { script_version: '1' }, { keepInImage: true });
  if (layer.decision.action === 'create') {
    const script = path.join(layer.dir, 'exec.d', 'web-concurrency');
    await fsp.mkdir(path.dirname(script), { recursive: true });
    await fsp.writeFile(script, WEB_CONCURRENCY_SCRIPT, { mode: 0o755 });
    await fsp.chmod(script, 0o755);
    await writeLayerEnv(layer.dir, LayerEnv.empty());
    await layer.commit();
  }
}
