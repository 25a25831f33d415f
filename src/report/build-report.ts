// The build report: a label on the exported image, `io.buildpacks.python-cnb.build` (JSON), so a
// platform can collect build data from the images it runs, as Heroku classic's build_data does.
// It comes from the analysis (the Python version and where it was requested, the package manager
// and its tool) and from src/trace.ts's layer events (each layer's decision, why, and how long a
// created layer took). Its shape is documented in the README ("Build report label"); `schema`
// changes when a field changes meaning.
import type { Analysis } from '../analysis';
import type { BuildpackInfo } from '../buildpack-info';
import { listen, type LayerDecisionEvent } from '../trace';

export const BUILD_REPORT_LABEL = 'io.buildpacks.python-cnb.build';

export interface LayerReport {
  name: string;
  /** reused: kept as restored; created: there was none; rebuilt: there was one, and it was replaced. */
  /** kept: unchanged launch-only layer that the exporter takes from the previous image (not restored). */
  decision: 'reused' | 'kept' | 'created' | 'rebuilt';
  /** Why it was rebuilt (the same sentences as the build log). */
  reasons: string[];
  /** From the decision to the layer's metadata being written (created and rebuilt layers only). */
  ms?: number;
}

export interface BuildReport {
  schema: 1;
  buildpack: { id: string; version: string };
  python: { version: string; requested: string | null; source: string };
  dependencies: { package_manager: string; tool: string; tool_version: string; packages: number } | null;
  layers: LayerReport[];
  durations_ms: { total: number };
}

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

/** The launch.toml label. */
export function reportLabel(report: BuildReport): { key: string; value: string } {
  return { key: BUILD_REPORT_LABEL, value: JSON.stringify(report) };
}
