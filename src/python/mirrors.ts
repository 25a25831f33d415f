// Dependency mirrors, compatible with Paketo's (packit postal/internal/dependency_mirror.go):
//   BP_DEPENDENCY_MIRROR=<uri>                  every download
//   BP_DEPENDENCY_MIRROR_<HOST>=<uri>           downloads from HOST ("__" -> "-", "_" -> ".", any case)
//   a service binding of type dependency-mirror with files `default` and `<hostname>`
// The mirror replaces the original "scheme://host"; a "{originalHost}" placeholder in it is replaced
// by the original host, so https://mirror.corp/{originalHost} serves
// https://mirror.corp/github.com/astral-sh/.... Host-specific settings win over the default, env
// over the binding. Like Paketo we accept https:// and file:// mirrors, and additionally plain
// http:// on a loopback address (local caches, tests); plain http to anywhere else is refused
// because the sha256 check alone should not be the only thing standing between a build and a MITM.
import { UserError } from '../errors';
import type { Env } from '../cnb/context';

export interface MirrorConfig {
  default?: string;
  byHost: Record<string, string>;
  /** Where the settings came from, for the log. */
  origin: string;
}

export function mirrorsFromEnv(env: Env): MirrorConfig | undefined {
  const byHost: Record<string, string> = {};
  let def: string | undefined;
  for (const [key, value] of Object.entries(env)) {
    if (!value) continue;
    if (key === 'BP_DEPENDENCY_MIRROR') def = value.trim();
    else if (key.startsWith('BP_DEPENDENCY_MIRROR_')) {
      const host = key.slice('BP_DEPENDENCY_MIRROR_'.length).replace(/__/g, '-').replace(/_/g, '.').toLowerCase();
      byHost[host] = value.trim();
    }
  }
  if (def === undefined && Object.keys(byHost).length === 0) return undefined;
  return { default: def, byHost, origin: 'BP_DEPENDENCY_MIRROR*' };
}

export function mirrorsFromBinding(entries: Record<string, string>, bindingName: string): MirrorConfig {
  const { default: def, ...byHost } = Object.fromEntries(Object.entries(entries).map(([k, v]) => [k.toLowerCase(), v.trim()]));
  return { default: def, byHost, origin: `the dependency-mirror binding "${bindingName}"` };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The URL to download instead of `uri`, or `uri` itself when no mirror applies. */
export function applyMirror(uri: string, configs: ReadonlyArray<MirrorConfig | undefined>): { url: string; via?: string } {
  const original = new URL(uri);
  // A file:// artifact (an offline package's vendored copy) is already local: never mirrored.
  if (original.protocol === 'file:') return { url: uri };
  for (const config of configs) {
    if (!config) continue;
    const mirror = config.byHost[original.hostname] ?? config.default;
    if (!mirror) continue;
    let m: URL;
    try {
      m = new URL(mirror.replace('{originalHost}', original.host));
    } catch {
      throw new UserError('Invalid dependency mirror', [`${config.origin} sets the mirror "${mirror}", which is not a URL.`, 'Expected for example https://mirror.example.com/{originalHost}']);
    }
    if (!(m.protocol === 'https:' || m.protocol === 'file:' || (m.protocol === 'http:' && isLoopback(m.hostname)))) {
      throw new UserError('Invalid dependency mirror', [`${config.origin} sets the mirror "${mirror}".`, 'Mirrors must use https:// or file:// (or http:// on a loopback address).']);
    }
    const base = m.href.replace(/\/+$/, '');
    return { url: `${base}${original.pathname}${original.search}`, via: config.origin };
  }
  return { url: uri };
}
