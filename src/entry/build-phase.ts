// bin/build. A bundle of its own (build/build.js; an asset of the packaged executable), loaded by
// src/entry/main.ts only when the phase is build, so that bin/detect never compiles it: the lifecycle runs
// detect for every buildpack of every group, and compiling this much code was a third of its time.
import { buildContext } from '../cnb/context';
import { EXIT } from '../cnb/exit-codes';
import { build } from '../build';
import { toUserError } from '../explain';
import { readBuildpackInfo } from '../buildpack-info';
import { BUILD_SCRATCH_PREFIX, baseTmpdir, removalsFinished, removeStaleDirs, useBuildScratchAsTmpdir } from '../io/fs';
import { Log } from '../log';
import { buildpackDirFromExecutable, osRelease, runPhase } from './phase';

export function runBuild(): Promise<number> {
  const log = new Log();
  return runPhase(log, async () => {
    useBuildScratchAsTmpdir(); // before the context copies the env: every tool the build runs gets it
    await removeStaleDirs(baseTmpdir(), BUILD_SCRATCH_PREFIX); // a killed build's
    const ctx = buildContext(process.env, process.argv.slice(2), process.cwd(), buildpackDirFromExecutable(), osRelease());
    const info = await readBuildpackInfo(ctx.buildpackDir);
    try {
      await build(ctx, info, log);
    } finally {
      await removalsFinished(); // layers discarded by this build (src/io/fs.ts): gone before the exporter looks
    }
    return EXIT.OK;
  }, toUserError);
}
