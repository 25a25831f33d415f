// Which launch layers the build needs as files, and so how they are kept between builds (pure).
//
// A cached layer is restored (unpacked: the restorer hashes and writes every file) and tarred
// again by the exporter on every build; a launch layer that is not cached comes back as its
// metadata alone, and when nothing changed the exporter keeps the previous image's layer without
// touching its files (src/cnb/layer.ts, "keep"). The python layer and the venv are most of what a
// build would restore (72% of the files of a warm Flask and of a warm Django rebuild, issue 20),
// so they are cached only for apps whose every build runs something from them:
//   - the venv (site-packages): Django's collectstatic, bin/post_compile, nltk.txt (the NLTK
//     downloader runs from the venv), a later buildpack that requires site-packages at build;
//   - Python: the same, plus bin/pre_compile and a later buildpack that requires python at build.
// For every other app both are launch-only: a warm or app-code-only rebuild restores neither and
// the exporter re-tars neither; a build whose dependencies changed fetches the runtime again
// (verified, as on a cold build) and installs the venv from the cached wheels (pip-cache), which is
// what a cached venv would have cost anyway, since any change recreates the venv from empty.
import { entriesNamed } from '../cnb/plan';
import type { BuildpackPlan, LayerTypes } from '../cnb/schemas';
import { collectstaticDisabled } from '../django';
import type { ClassicPlan } from '../classic';
import type { Env } from '../cnb/context';
import { listing, type Log } from '../log';
import { PLAN } from '../detect';

/** Why each layer is needed as files in every build (empty: it is not). */
export interface BuildNeeds {
  venv: string[];
  python: string[];
}

/**
 * Whether another buildpack asked for `name` at build. The lifecycle hands us every requirement of
 * a name we provide; our own detect requires python, and site-packages when the app has
 * dependencies, each once with build = true, so any further build = true entry is another's.
 */
function othersNeedAtBuild(plan: BuildpackPlan, name: string, oursRequired: boolean): boolean {
  const atBuild = entriesNamed(plan, name).filter((e) => e.metadata?.build === true).length;
  return atBuild > (oursRequired ? 1 : 0);
}

export function buildNeeds(input: { django: boolean; classic: ClassicPlan; env: Env; plan: BuildpackPlan; hasDependencies: boolean }): BuildNeeds {
  const venv: string[] = [];
  if (input.django && !collectstaticDisabled(input.env, input.classic.collectstaticOptOut)) venv.push('Django\'s collectstatic (manage.py)');
  if (input.classic.hooks.post_compile.run) venv.push('bin/post_compile');
  if (input.classic.nltk) venv.push('nltk.txt');
  if (othersNeedAtBuild(input.plan, PLAN.sitePackages, input.hasDependencies)) venv.push('a later buildpack requires site-packages at build');
  const python = [...venv];
  if (input.classic.hooks.pre_compile.run) python.push('bin/pre_compile');
  if (othersNeedAtBuild(input.plan, PLAN.python, true)) python.push('a later buildpack requires python at build');
  return { venv, python };
}

/** A Python compiled from source stays cached (build and cache), so that it compiles once, not on
 *  every build that changes the dependencies. */
export function withSourceRuntime(needs: BuildNeeds): BuildNeeds {
  return { ...needs, python: [...needs.python, 'on a Python compiled from source (cached, so that it compiles once)'] };
}

/**
 * [types] of a launch layer (python, site-packages): build and cache when every build needs its
 * files, else launch only. Not build: the restorer (lifecycle 0.21) restores the metadata of a
 * launch layer only when it is not a build layer ("Not restoring metadata ..., marked as
 * build=true, cache=false"), and a later buildpack that wants the files says so in the plan.
 */
export function launchLayerTypes(neededBy: readonly string[]): Required<LayerTypes> {
  return neededBy.length > 0 ? { build: true, launch: true, cache: true } : { build: false, launch: true, cache: false };
}

/** The log's detail line for a layer kept in the image. */
export const KEPT_NOTE = 'unchanged and not needed by this build: the image keeps its layer as it is (not restored, not packed again)';

/** One line for the log: how the python and site-packages layers are kept, and why. */
export function logLayerReuse(needs: BuildNeeds, log: Log): void {
  if (needs.python.length === 0) {
    log.info('Nothing in this build runs from Python or the venv after the install: both are kept in the image while unchanged, not in the build cache');
    return;
  }
  const cached = needs.venv.length > 0 ? 'Python and the venv are' : 'Python is';
  log.info(`${cached} cached for every build, since the build runs ${listing(needs.python)}`);
}
