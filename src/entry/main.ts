// The one entry point. bin/detect and bin/build are the same program (a link to bin/main in the
// repository, a copy of the packaged executable otherwise); the name it was called by picks the
// phase. This is the only place that calls process.exit.
//
// Two bundles: this file with detect (build/main.js, the executable's main script) and the build
// phase (build/build.js, an asset of the executable), loaded only for build. V8 compiles a whole
// script before running any of it, and detect runs for every buildpack of every group on every
// build: it should compile the little it needs.
import { isBuiltin } from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { detectContext } from '../cnb/context';
import { EXIT } from '../cnb/exit-codes';
import { writeBuildPlan } from '../cnb/build-plan';
import { detect } from '../detect';
import { Log, listing } from '../log';
import { buildpackDirFromExecutable, osRelease, runPhase } from './phase';
import { readApp } from '../project';

type Phase = 'detect' | 'build';
type BuildPhase = typeof import('./build-phase');

/** Set by scripts/bundle.mjs; absent when the sources run as they are (ts-jest). */
declare const __BUILDPACK_BUNDLED__: boolean | undefined;

export function phaseFromName(argv0: string, argv1: string | undefined): Phase | undefined {
  for (const candidate of [argv0, argv1]) {
    const base = candidate ? path.basename(candidate) : '';
    if (base === 'detect' || base === 'build') return base;
  }
  return undefined;
}

async function runDetect(log: Log): Promise<number> {
  const ctx = detectContext(process.env, process.argv.slice(2), process.cwd(), buildpackDirFromExecutable(), osRelease());
  const app = await readApp(ctx.appDir);
  const result = detect(app, ctx.env);
  if (!result.pass) {
    // The lifecycle shows detect output only at debug level (`pack build -v`).
    log.step(`No Python app found in ${ctx.appDir}: looked for ${listing(result.lookedFor)}`);
    return EXIT.DETECT_FAILED;
  }
  await writeBuildPlan(ctx.buildPlanPath, result.plan);
  log.step(`Python app detected (${listing(result.signals)})`);
  return EXIT.OK;
}

/**
 * The executable's `require` loads built-in modules only, and for any other name Node prints a
 * warning ("Currently the require() provided to the main script embedded into single-executable
 * applications only supports loading built-in modules") to stderr, i.e. into the user's build log.
 * The bundle asks for a few optional packages at load (the CycloneDX library probes ajv, libxmljs2
 * and xmlbuilder2, which we do not ship), so it gets a require that fails for those as a missing
 * module does, silently.
 */
function builtinOnlyRequire(id: string): unknown {
  if (isBuiltin(id)) return require(id);
  throw Object.assign(new Error(`Cannot find module '${id}' (not bundled in the executable)`), { code: 'MODULE_NOT_FOUND' });
}

/**
 * The build phase's module: the packaged executable's asset build.js (a single executable
 * application's require loads only Node's builtins, which is all the bundle needs: see builtinOnlyRequire), else
 * build/build.js beside this bundle, else (from source) src/entry/build-phase.ts.
 * https://nodejs.org/docs/latest-v20.x/api/single-executable-applications.html#assets
 */
function loadBuildPhase(): BuildPhase {
  const sea = require('node:sea') as typeof import('node:sea');
  if (sea.isSea()) {
    const module = { exports: {} as BuildPhase };
    const wrapper = vm.compileFunction(sea.getAsset('build.js', 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], { filename: 'build.js' });
    wrapper(module.exports, builtinOnlyRequire, module, 'build.js', __dirname);
    return module.exports;
  }
  const bundled = typeof __BUILDPACK_BUNDLED__ !== 'undefined';
  // A computed path, so that esbuild leaves this require to run time instead of bundling the build
  // phase into this file.
  return require(path.join(__dirname, bundled ? 'build.js' : 'build-phase')) as BuildPhase;
}

export async function main(): Promise<number> {
  const phase = phaseFromName(process.argv0, process.argv[1]);
  const log = new Log();
  // The build phase reports its own errors; this runPhase only catches a failure to load it.
  if (phase === 'build') return runPhase(log, () => loadBuildPhase().runBuild());
  if (!phase) {
    log.error('Unknown phase', [`This program was called as "${process.argv0}". Call it as bin/detect or bin/build (the CNB lifecycle does).`]);
    return EXIT.INTERNAL_ERROR;
  }
  return runPhase(log, () => runDetect(log));
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    () => {
      process.exitCode = EXIT.INTERNAL_ERROR;
    },
  );
}
