// Build: a table of contents. Read the inputs, analyse them (every input error is thrown there,
// before any download), then the layers in order, then launch.toml. Where each step lives is in
// src/README.md.
import * as path from 'node:path';
import { analyse, logAnalysis, type BuildInputs } from './analysis';
import type { BuildpackInfo } from './buildpack-info';
import { readBindings } from './cnb/bindings';
import { BuildEnv } from './cnb/build-env';
import { describeTarget, type BuildContext } from './cnb/context';
import { writeLaunchToml } from './cnb/launch';
import { readBuildpackPlan } from './cnb/plan';
import { runCollectstatic } from './django';
import { rethrowExplained } from './explain';
import { runHook } from './hooks';
import { installNltkData } from './layers/nltk-data';
import { safeBuildEnv } from './unsafe-env';
import { configureDownloads, fetchText } from './io/download';
import { pathExists, readFile } from './io/fs';
import { installPython, prepareSourcePython } from './layers/python';
import { startSqlite } from './layers/sqlite';
import { writeWebConcurrency } from './layers/web-concurrency';
import { formatDuration, listing, type Log } from './log';
import { dropDependencyLayers, installDependencies } from './managers/install';
import { TOOL_IDS } from './managers/manager';
import { chooseProcesses } from './processes';
import { describeEntry, readAppForBuild, type AppSnapshot } from './project';
import { buildpackManifest, loadOperatorManifest, mergeManifests } from './python/manifest';

export async function build(ctx: BuildContext, info: BuildpackInfo, log: Log): Promise<void> {
  const started = Date.now();
  log.title(`${info.name} buildpack ${info.version}`);
  // Platform env vars that would make Python or an installer act elsewhere (src/unsafe-env.ts):
  // removed with a warning, or rejected before anything is read or downloaded.
  ctx = { ...ctx, env: safeBuildEnv(ctx.env, log) };
  const inputs = await readInputs(ctx, info);
  logApp(inputs.app, ctx, log);
  const a = analyse(inputs);
  logAnalysis(a, log);

  let env = BuildEnv.forBuildSteps(ctx.env);
  // A Python compiled from source checks the compiler and headers first, before any download.
  const source = await prepareSourcePython({ layersDir: ctx.layersDir, entry: a.python.entry, target: ctx.target, env: env.toRecord() });
  const sqlite = startSqlite({ layersDir: ctx.layersDir, ...a.sqlite, target: ctx.target, mirrors: a.mirrors, env });
  log.step(`Installing Python ${a.python.version}`);
  const python = await installPython({ layersDir: ctx.layersDir, entry: a.python.entry, target: ctx.target, mirrors: a.mirrors, log, source });
  env = await sqlite.join(await env.withLayer(python.dir, python.env), log);
  await runHook('pre_compile', a.classic.hooks.pre_compile, { appDir: ctx.appDir, env: env.toRecord(), log });

  let venvDir: string | undefined;
  if (a.dependencies) {
    ({ venvDir, env } = await installDependencies({ ctx, analysis: a, python, bindings: inputs.bindings, env, log }));
  } else {
    await dropDependencyLayers(ctx.layersDir);
  }
  // The classic order after the install: nltk.txt, collectstatic, bin/post_compile.
  const nltk = await installNltkData({ layersDir: ctx.layersDir, appDir: ctx.appDir, nltk: a.classic.nltk, venvDir, env: env.toRecord(), log });
  if (nltk) env = await env.withLayer(nltk.dir, nltk.env);
  if (a.django && venvDir) await runCollectstatic({ appDir: ctx.appDir, venvDir, env: env.toRecord(), optOutFile: a.classic.collectstaticOptOut, log });
  await runHook('post_compile', a.classic.hooks.post_compile, { appDir: ctx.appDir, env: env.toRecord(), log });

  log.step('Process types');
  const hasGunicorn = await pathExists(path.join(ctx.layersDir, 'site-packages', 'bin', 'gunicorn'));
  await writeWebConcurrency(ctx.layersDir);
  await writeLaunchToml(path.join(ctx.layersDir, 'launch.toml'), chooseProcesses(a.processes, hasGunicorn, log));
  log.step(`Done (${formatDuration(Date.now() - started)})`);
}

/** All the reading the analysis needs, in one place (the app once, the plan, the manifests, the bindings). */
async function readInputs(ctx: BuildContext, info: BuildpackInfo): Promise<BuildInputs> {
  const plan = await readBuildpackPlan(ctx.buildpackPlanPath);
  const app = await readAppForBuild(ctx.appDir);
  // The download limits come first: BP_PYTHON_MANIFEST may itself be a download.
  configureDownloads(ctx.env);
  const operator = await loadOperatorManifest(ctx.env.BP_PYTHON_MANIFEST, { fetchText: (url) => fetchText(url).catch(rethrowExplained) });
  const manifest = mergeManifests(operator, buildpackManifest(info.metadata));
  const bindings = await readBindings(ctx.platformDir, ctx.env);
  const pins = Object.fromEntries(TOOL_IDS.map((id) => [id, String(info.metadata[`${id}-version`] ?? '')]));
  // Poetry and Pipenv are pinned by requirements/<tool>.txt in the buildpack (scripts/pin-tools.sh).
  const toolRequirements: Partial<Record<'poetry' | 'pipenv', Buffer>> = {};
  for (const id of ['poetry', 'pipenv'] as const) {
    const file = path.join(ctx.buildpackDir, 'requirements', `${id}.txt`);
    if (await pathExists(file)) toolRequirements[id] = await readFile(file);
  }
  const toolRequiresPython = { poetry: String(info.metadata['poetry-requires-python'] ?? ''), pipenv: String(info.metadata['pipenv-requires-python'] ?? '') };
  return { app, env: ctx.env, target: ctx.target, plan, manifest, operator, bindings, pins, toolRequirements, toolRequiresPython, today: new Date() };
}

function logApp(app: AppSnapshot, ctx: BuildContext, log: Log): void {
  log.step('Reading the app');
  log.info(`Target: ${describeTarget(ctx.target)}`);
  const shown = app.entries.map((e) => describeEntry(e.name, e.kind));
  log.info(`App files: ${shown.length ? listing(shown.slice(0, 30)) : '(none)'}${shown.length > 30 ? ` and ${shown.length - 30} more` : ''}`);
}
