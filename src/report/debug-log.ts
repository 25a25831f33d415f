// BP_LOG_LEVEL=DEBUG (Paketo's switch; BP_DEBUG as libcnb's): the build log also says every cache
// decision with every key field (cached and wanted), every command line with its duration and exit
// status, the names (never the values) of the platform env, and the manifest entries chosen.
// Everything comes from src/trace.ts's events, so no step logs for it; off, nothing listens and the
// log is byte-for-byte the default one.
//
//   [debug] Layer python: create (changed)
//   [debug]   python_version: cached 3.11.6, wanted 3.11.7
//   [debug] Ran /layers/.../python3 -m venv --without-pip /layers/.../site-packages: exit 0 in 41ms
import type { Analysis } from '../analysis';
import type { Env } from '../cnb/context';
import type { LayerKey } from '../cnb/layer';
import { formatDuration, type Log } from '../log';
import type { Dependency } from '../python/manifest';
import { sha256Of } from '../python/manifest';
import { redactUrl } from '../redact';
import { chosenEntries } from '../sbom/layers';
import { listen, type CommandEvent, type LayerDecisionEvent } from '../trace';

const PREFIX = '[debug] ';
/** Longer arguments (an inline script) are shown by their length: the log is for reading. */
const MAX_ARG = 160;

/** BP_LOG_LEVEL=debug (any case), or BP_DEBUG set to anything but an explicit off. */
export function debugWanted(env: Env): boolean {
  if ((env.BP_LOG_LEVEL ?? '').trim().toLowerCase() === 'debug') return true;
  const flag = (env.BP_DEBUG ?? '').trim().toLowerCase();
  return flag !== '' && !['0', 'false', 'no', 'off'].includes(flag);
}

export interface DebugLog {
  /** The manifest entries the analysis chose (Python, the wheel-pinned tool, SQLite). */
  chosen(a: Analysis): void;
  /** A debug line of the step's own. */
  note(text: string): void;
  stop(): void;
}

const OFF: DebugLog = { chosen: () => undefined, note: () => undefined, stop: () => undefined };

export function startDebugLog(env: Env, log: Log): DebugLog {
  if (!debugWanted(env)) return OFF;
  const say = (line: string) => log.write(`${PREFIX}${line}\n`);
  const names = Object.keys(env).filter((k) => env[k] !== undefined).sort();
  say(`Debug log on (${env.BP_LOG_LEVEL ? `BP_LOG_LEVEL=${env.BP_LOG_LEVEL}` : 'BP_DEBUG'})`);
  say(`Platform env names (values not shown): ${names.join(', ') || '(none)'}`);
  const stop = listen({
    command: (e) => say(commandLine(e)),
    layerDecision: (e) => layerLines(e).forEach(say),
  });
  return {
    chosen(a) {
      const chosen = chosenEntries(a);
      const entries: Array<[string, Dependency | undefined]> = [['Python', chosen.python], ['build tool', chosen.tool], ['SQLite', chosen.sqlite]];
      for (const [what, entry] of entries) if (entry) say(`Manifest entry for ${what}: ${manifestEntryLine(entry)}`);
      const tool = a.dependencies?.tool;
      if (tool && !chosen.tool) say(`Build tool: ${tool.id} ${tool.version}, pinned by requirements/${tool.id}.txt`);
    },
    note: say,
    stop,
  };
}

export function manifestEntryLine(entry: Dependency): string {
  return `id ${entry.id}, version ${entry.version}, uri ${redactUrl(entry.uri)}, sha256 ${sha256Of(entry)}`;
}

/** "Ran <command> <args> (cwd <dir>): exit 0 in 1.2s", URLs without credentials, long args by length. */
export function commandLine(e: CommandEvent): string {
  const shown = [e.command, ...e.args].map(showArg).join(' ');
  return `Ran ${shown}${e.cwd ? ` (cwd ${e.cwd})` : ''}: exit ${e.exitCode} in ${formatDuration(e.ms)}`;
}

function showArg(arg: string): string {
  if (arg.length > MAX_ARG || arg.includes('\n')) return `<${arg.length} characters>`;
  const clean = arg.includes('://') ? redactUrl(arg) : arg;
  return /^[\w@%+=:,./-]+$/.test(clean) ? clean : `'${clean.replace(/'/g, `'\\''`)}'`;
}

/** The decision, then one line per key field with the cached and the wanted value. */
export function layerLines(e: LayerDecisionEvent): string[] {
  const d = e.decision;
  const cause = d.action === 'create' ? ` (${d.cause})` : '';
  const cached: Record<string, unknown> = e.restored ?? {};
  const lines = [`Layer ${e.layer}: ${d.action}${cause}${e.restored === undefined ? ', no cached metadata' : e.restored === null ? ', cached metadata unreadable' : ''}`];
  const fields = [...new Set([...Object.keys(e.wanted), ...Object.keys(cached)])];
  for (const f of fields) lines.push(`  ${f}: ${fieldValues(cached[f], e.wanted, f, e.restored != null)}`);
  if (d.action === 'create' && 'reasons' in d) for (const r of d.reasons) lines.push(`  why: ${r}`);
  return lines;
}

function fieldValues(cached: unknown, wanted: LayerKey, field: string, hadCache: boolean): string {
  const want = field in wanted ? wanted[field]! : '(not in the key)';
  if (!hadCache) return `wanted ${want}`;
  const was = cached === undefined ? '(absent)' : typeof cached === 'string' ? cached : JSON.stringify(cached);
  return was === want ? `${want} (unchanged)` : `cached ${was}, wanted ${want}`;
}
