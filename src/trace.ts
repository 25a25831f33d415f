// The build's trace: what the IO edge and the layer cache did, as events, for the readers that want
// them (the debug log, src/report/debug-log.ts; the build report label, src/report/build-report.ts).
// The emitters (io/exec.ts, cnb/layer.ts) stay ignorant of who listens, and with no listener (detect,
// unit tests) an event costs one empty loop, so the default build log is unchanged.
import type { LayerDecision, LayerKey } from './cnb/layer';

/** A command line that ran: args as given (src/io/exec.ts keeps secrets out of args). */
export interface CommandEvent {
  command: string;
  args: readonly string[];
  cwd?: string;
  exitCode: number;
  ms: number;
}

/** A layer's cache decision: the key it was restored with (undefined: none; null: unreadable) and the one wanted. */
export interface LayerDecisionEvent {
  layer: string;
  restored: Record<string, unknown> | undefined | null;
  wanted: LayerKey;
  decision: LayerDecision;
}

/** A created layer's metadata was written: the layer is complete. */
export interface LayerCommitEvent {
  layer: string;
}

export interface TraceListener {
  command?(e: CommandEvent): void;
  layerDecision?(e: LayerDecisionEvent): void;
  layerCommit?(e: LayerCommitEvent): void;
}

const listeners = new Set<TraceListener>();

/** Starts listening; the returned function stops. */
export function listen(listener: TraceListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export const trace = {
  command(e: CommandEvent): void {
    for (const l of listeners) l.command?.(e);
  },
  layerDecision(e: LayerDecisionEvent): void {
    for (const l of listeners) l.layerDecision?.(e);
  },
  layerCommit(e: LayerCommitEvent): void {
    for (const l of listeners) l.layerCommit?.(e);
  },
};
