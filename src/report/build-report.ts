// The build report: a label on the exported image, `io.buildpacks.python-cnb.build` (JSON), so a
// platform can collect build data from the images it runs, as Heroku classic's build_data does.
// It comes from the analysis (the Python version and where it was requested, the package manager
// and its tool) and from src/trace.ts's layer events (each layer's decision, why, and how long a
// created layer took). Its shape is documented in the README ("Build report label"); `schema`
// changes when a field changes meaning.
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import type { Analysis } from '../analysis';
import type { BuildpackInfo } from '../buildpack-info';
import { listen, type LayerDecisionEvent } from '../trace';

export const BUILD_REPORT_LABEL = 'io.buildpacks.python-cnb.build';

// One shape for the label and for the report a later build reads back (parseStoredReport).
const LayerReportShape = z.object({
  name: z.string(),
  /** reused: kept as restored; kept: an unchanged launch-only layer the exporter takes from the
   *  previous image (not restored); created: there was none; rebuilt: there was one, and it was replaced. */
  decision: z.enum(['reused', 'kept', 'created', 'rebuilt']),
  /** Why it was rebuilt (the same sentences as the build log). */
  reasons: z.array(z.string()),
  /** From the decision to the layer's metadata being written (created and rebuilt layers only). */
  ms: z.number().optional(),
});
export type LayerReport = z.infer<typeof LayerReportShape>;

const BuildReportShape = z.object({
  schema: z.literal(1),
  buildpack: z.object({ id: z.string(), version: z.string() }),
  python: z.object({ version: z.string(), requested: z.string().nullable(), source: z.string() }),
  dependencies: z.object({ package_manager: z.string(), tool: z.string(), tool_version: z.string(), packages: z.number() }).nullable(),
  layers: z.array(LayerReportShape),
  durations_ms: z.object({ total: z.number() }),
});
export type BuildReport = z.infer<typeof BuildReportShape>;

/** Collects layer events from now on; `finish` builds the report. */
export interface BuildReportCollector {
  finish(input: ReportInput): BuildReport;
  stop(): void;
}

export function startBuildReport(now: () => number = Date.now): BuildReportCollector {
  const started = now();
  const layers = new Map<string, { event: LayerDecisionEvent; at: number; ms?: number }>();
  const stop = listen({
    layerDecision: (event) => layers.set(event.layer, { event, at: now() }),
    layerCommit: ({ layer }) => {
      const l = layers.get(layer);
      if (l && l.event.decision.action === 'create') l.ms = now() - l.at;
    },
  });
  return {
    finish: (input) => {
      stop();
      return buildReport(input, [...layers.values()].map(({ event, ms }) => layerReport(event, ms)), now() - started);
    },
    stop,
  };
}

export interface ReportInput {
  info: Pick<BuildpackInfo, 'id' | 'version'>;
  analysis: Pick<Analysis, 'python' | 'dependencies'>;
  /** Distributions in the venv (undefined when there are no dependencies). */
  packages?: number;
}

export function buildReport(input: ReportInput, layers: LayerReport[], totalMs: number): BuildReport {
  const { python, dependencies } = input.analysis;
  const tool = dependencies?.tool;
  return {
    schema: 1,
    buildpack: { id: input.info.id, version: input.info.version },
    python: { version: python.version, requested: python.request?.spec ?? null, source: python.request?.origin ?? 'default' },
    dependencies: dependencies && tool ? { package_manager: dependencies.manager.kind, tool: tool.id, tool_version: tool.version, packages: input.packages ?? 0 } : null,
    layers,
    durations_ms: { total: totalMs },
  };
}

export function layerReport(e: LayerDecisionEvent, ms?: number): LayerReport {
  const d = e.decision;
  if (d.action === 'reuse') return { name: e.layer, decision: 'reused', reasons: [] };
  if (d.action === 'keep') return { name: e.layer, decision: 'kept', reasons: [] };
  if (d.cause === 'new') return { name: e.layer, decision: 'created', reasons: [], ...(ms !== undefined ? { ms } : {}) };
  return { name: e.layer, decision: 'rebuilt', reasons: [...d.reasons], ...(ms !== undefined ? { ms } : {}) };
}

/**
 * The report the image gets (pure). The label is part of the image's config, so a label that
 * changed on every build would change the image ID of a build that changed nothing (a new config
 * layer, and `pack build` of an unchanged app would not be "the same image"). When this build
 * created or rebuilt no layer and made the same Python, dependencies and set of layers as the
 * build whose report the image carries, the image is that build's image: it keeps that report
 * (its decisions and durations are those of the build that made the layers). Any change gives
 * this build's own report.
 */
export function reportOfImage(fresh: BuildReport, previous: BuildReport | undefined): BuildReport {
  if (!previous) return fresh;
  const changedLayers = fresh.layers.some((l) => l.decision === 'created' || l.decision === 'rebuilt');
  const names = (r: BuildReport) => r.layers.map((l) => l.name).sort();
  const same =
    isDeepStrictEqual(fresh.buildpack, previous.buildpack) &&
    isDeepStrictEqual(fresh.python, previous.python) &&
    isDeepStrictEqual(fresh.dependencies, previous.dependencies) &&
    isDeepStrictEqual(names(fresh), names(previous));
  return !changedLayers && same ? previous : fresh;
}

/** A report stored by an earlier build (JSON); undefined when missing, unreadable or of another shape. */
export function parseStoredReport(json: unknown): BuildReport | undefined {
  if (typeof json !== 'string') return undefined;
  try {
    const parsed = BuildReportShape.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The launch.toml label. */
export function reportLabel(report: BuildReport): { key: string; value: string } {
  return { key: BUILD_REPORT_LABEL, value: JSON.stringify(report) };
}
