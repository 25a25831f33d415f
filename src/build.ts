// Build: orchestration only. Analyse the app up front (bad input fails before any download),
// then the layers in order, then launch.toml. Each layer lives in src/layers/<name>.ts.
import * as path from 'node:path';
import type { BuildContext } from './cnb/context';
import { describeTarget } from './cnb/context';
import { writeLaunchToml } from './cnb/launch';
import { entriesNamed, readBuildpackPlan } from './cnb/plan';
import { PLAN } from './detect';
import { Log, listing } from './log';
import { analyseProject, describeEntry, readApp, type Project } from './project';
import type { BuildpackInfo } from './buildpack-info';

export async function build(ctx: BuildContext, info: BuildpackInfo, log: Log): Promise<void> {
  const started = Date.now();
  log.title(`${info.name} buildpack ${info.version}`);

  const plan = await readBuildpackPlan(ctx.buildpackPlanPath);
  const app = await readApp(ctx.appDir);

  log.step('Reading the app');
  log.info(`Target: ${describeTarget(ctx.target)}`);
  log.info(`App files: ${app.entries.length ? listing(app.entries.map((e) => describeEntry(e.name, e.kind)).slice(0, 30)) : '(none)'}${app.entries.length > 30 ? ` and ${app.entries.length - 30} more` : ''}`);
  const project = analyseProject(app, ctx.env);
  logProject(project, log);
  const requirers = entriesNamed(plan, PLAN.python);
  log.info(`Buildpack Plan: ${plan.entries.length ? listing(plan.entries.map((e) => `${e.name}${e.metadata?.version ? ` ${String(e.metadata.version)}` : ''}`)) : '(empty)'}${requirers.length > 1 ? ` (${requirers.length} requirements for python)` : ''}`);

  await writeLaunchToml(path.join(ctx.layersDir, 'launch.toml'), []);
  log.step(`Done (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

function logProject(project: Project, log: Log): void {
  const [chosen, ...others] = project.versionRequests;
  if (chosen) {
    log.info(`Python version ${chosen.spec} requested by ${chosen.origin}`);
    for (const other of others) {
      log.detail(`${other.origin} asks for ${other.spec}${other.spec === chosen.spec ? '' : `; ${chosen.origin} takes precedence`}`);
    }
  } else {
    log.info('No Python version requested (no BP_PYTHON_VERSION, runtime.txt, .python-version, Pipfile, Pipfile.lock or pyproject.toml requires-python)');
  }
  for (const w of project.versionWarnings) log.warning(w.title, w.body);
  const deps = project.dependencies;
  if (deps.manager) {
    log.info(`Dependencies: ${deps.manager.kind} (${deps.reason})`);
    if (deps.ignored.length) log.detail(`Also present but not used: ${listing(deps.ignored)} (see the README's precedence)`);
  } else {
    log.info(`Dependencies: none to install (${deps.reason})`);
  }
}
