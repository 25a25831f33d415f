// Build: a table of contents. Read the inputs, analyse them (every input error is thrown there,
// before any download), then the layers in order, then launch.toml. Where each step lives is in
// src/README.md.
import * as path from 'node:path';
import { analyse, logAnalysis, type Analysis, type BuildInputs } from './analysis';
import type { BuildpackInfo } from './buildpack-info';
import { readBindings } from './cnb/bindings';
import { BuildEnv } from './cnb/build-env';
import { describeTarget, type BuildContext } from './cnb/context';
import type { LayerTypes } from './cnb/schemas';
import { writeLaunchToml } from './cnb/launch';
import { readBuildpackPlan } from './cnb/plan';
import { collectstaticReuseOff, runCollectstatic } from './django';
import { dropCollected } from './layers/collected-static';
import { rethrowExplained } from './explain';
import { runHook } from './hooks';
import { installNltkData } from './layers/nltk-data';
import { safeBuildEnv } from './unsafe-env';
import { applyPaketoNames, type PaketoNames } from './paketo-env';
import { startDebugLog, type DebugLog } from './report/debug-log';
import { reportLabel, startBuildReport, type BuildReportCollector } from './report/build-report';
import { reportForImage } from './layers/build-report';
import { chosenEntries, writeMissingSboms } from './sbom/layers';
import { configureDownloads, fetchText } from './io/download';
import { pathExists, readFile } from './io/fs';
import { installPython, prepareSourcePython } from './layers/python';
import { startSqlite } from './layers/sqlite';
import { writeWebConcurrency } from './layers/web-concurrency';
import { formatDuration, listing, type Log } from './log';
import { dropDependencyLayers, installDependencies, peekVenv } from './managers/install';
import { launchLayerTypes, logLayerReuse, withSourceRuntime } from './layers/reuse';
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
  // Paketo's names (src/paketo-env.ts): BP_CPYTHON_VERSION is read as BP_PYTHON_VERSION, the rest warned about.
  const paketo = applyPaketoNames(ctx.env);
  ctx = { ...ctx, env: paketo.env };
  // BP_LOG_LEVEL=DEBUG, and the build report label: both listen to src/trace.ts until the build ends.
  const debug = startDebugLog(ctx.env, log);
  const report = startBuildReport();
  try {
    await buildSteps(ctx, info, log, { paketo, debug, report, started });
  } finally {
    debug.stop();
    report.stop();
  }
}

/** What build() set up around the steps: the Paketo names read, the debug log, the report, the start time. */
interface Around {
  paketo: PaketoNames;
  debug: DebugLog;
  report: BuildReportCollector;
  started: number;
}

async function buildSteps(ctx: BuildContext, info: BuildpackInfo, log: Log, { paketo, debug, report, started }: Around): Promise<void> {
  const { a, bindings } = await readAndAnalyse(ctx, info, paketo, debug, log);
  let env = BuildEnv.forBuildSteps(ctx.env);
  // A Python compiled from source checks the compiler and headers first, before any download.
  const source = await prepareSourcePython({ layersDir: ctx.layersDir, entry: a.python.entry, target: ctx.target, env: env.toRecord() });
  const sqlite = startSqlite({ layersDir: ctx.layersDir, ...a.sqlite, target: ctx.target, mirrors: a.mirrors, env });
  const reuse = await planLayerReuse(ctx, a, source !== undefined, log);
  log.step(`Installing Python ${a.python.version}`);
  const toolsNeedBundledPip = a.dependencies !== undefined && a.dependencies.tool.id !== 'pip';
  const python = await installPython({ layersDir: ctx.layersDir, entry: a.python.entry, target: ctx.target, mirrors: a.mirrors, reuse: reuse.python, log, source, toolsNeedBundledPip });
  env = await sqlite.join(await env.withLayer(python.dir, python.env), log);
  await runHook('pre_compile', a.classic.hooks.pre_compile, { appDir: ctx.appDir, env: env.toRecord(), log });
  const deps = await installOrDropDependencies({ ctx, analysis: a, python, bindings, env, venvReuse: reuse.venv, log });
  env = deps.env;
  // The classic order after the install: nltk.txt, collectstatic, bin/post_compile.
  const nltk = await installNltkData({ layersDir: ctx.layersDir, appDir: ctx.appDir, nltk: a.classic.nltk, venvDir: deps.venvDir, env: env.toRecord(), log });
  if (nltk) env = await env.withLayer(nltk.dir, nltk.env);
  if (a.django && deps.venvDir) {
    const reuseOff = collectstaticReuseOff(env.toRecord(), { pre_compile: a.classic.hooks.pre_compile.run, post_compile: a.classic.hooks.post_compile.run });
    await runCollectstatic({ appDir: ctx.appDir, layersDir: ctx.layersDir, venvDir: deps.venvDir, env: env.toRecord(), optOutFile: a.classic.collectstaticOptOut, reuseOff, log });
  } else await dropCollected(ctx.layersDir);
  await runHook('post_compile', a.classic.hooks.post_compile, { appDir: ctx.appDir, env: env.toRecord(), log });
  await writeSboms(ctx.layersDir, info, a, debug);
  log.step('Process types');
  await writeWebConcurrency(ctx.layersDir);
  // The report of the build that made the image's layers: this one's, or the last one's when nothing changed (same image ID).
  const label = reportLabel(await reportForImage(ctx.layersDir, report.finish({ info, analysis: a, packages: deps.packages })));
  await writeLaunchToml(path.join(ctx.layersDir, 'launch.toml'), chooseProcesses(a.processes, deps.hasGunicorn, log), [label]);
  log.step(`Done (${formatDuration(Date.now() - started)})`);
}

/** Reads the app and every other input once, logs them, and analyses them (every input error is thrown here). */
async function readAndAnalyse(ctx: BuildContext, info: BuildpackInfo, paketo: PaketoNames, debug: DebugLog, log: Log): Promise<{ a: Analysis; bindings: BuildInputs['bindings'] }> {
  const inputs = await readInputs(ctx, info);
  logApp(inputs.app, ctx, log);
  for (const note of paketo.notes) log.info(note);
  for (const w of paketo.warnings) log.warning(w.title, w.body);
  const a = analyse(inputs);
  logAnalysis(a, log);
  debug.chosen(a);
  return { a, bindings: inputs.bindings };
}

/**
 * Which of the python and site-packages layers this build needs as files (src/layers/reuse.ts),
 * so how each is kept: the venv's fate is known before Python, which is needed only to create the
 * venv or to run a hook.
 */
async function planLayerReuse(ctx: BuildContext, a: Analysis, sourcePython: boolean, log: Log): Promise<{ python: { types: Required<LayerTypes>; keepInImage: boolean }; venv: { types: Required<LayerTypes>; keepInImage: boolean } }> {
  const needs = sourcePython ? withSourceRuntime(a.buildNeeds) : a.buildNeeds;
  const venvPlan = a.dependencies ? await peekVenv({ layersDir: ctx.layersDir, analysis: a, target: ctx.target, keepInImage: needs.venv.length === 0 }) : undefined;
  const pythonNeededNow = needs.python.length > 0 || (venvPlan !== undefined && venvPlan.action === 'create');
  logLayerReuse(needs, log);
  return {
    python: { types: launchLayerTypes(needs.python), keepInImage: !pythonNeededNow },
    venv: { types: launchLayerTypes(needs.venv), keepInImage: venvPlan?.action === 'keep' },
  };
}

/** The dependencies into the venv, or, for an app without any, the dependency layers of an earlier build removed. */
async function installOrDropDependencies(opts: Parameters<typeof installDependencies>[0]): Promise<{ venvDir?: string; hasGunicorn: boolean; packages?: number; env: BuildEnv }> {
  if (opts.analysis.dependencies) {
    const { dir, hasGunicorn, packages, env } = await installDependencies(opts);
    return { venvDir: dir, hasGunicorn, packages, env };
  }
  await dropDependencyLayers(opts.ctx.layersDir);
  return { hasGunicorn: false, env: opts.env };
}

/** Every layer's SBOM (src/sbom/): a reused layer's was restored with it, the others are written now. */
async function writeSboms(layersDir: string, info: BuildpackInfo, a: Analysis, debug: DebugLog): Promise<void> {
  const chosen = chosenEntries(a);
  const sboms = await writeMissingSboms(layersDir, { buildpack: info, python: chosen.python, entries: [chosen.tool, chosen.sqlite].filter((e) => e !== undefined) });
  debug.note(`SBOMs written for: ${sboms.join(', ') || '(none: every layer kept its own)'}`);
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
