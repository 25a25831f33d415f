// Service bindings (https://github.com/buildpacks/spec/blob/main/extensions/bindings.md and the
// Kubernetes Service Binding spec): each binding is a directory under $SERVICE_BINDING_ROOT (or
// <platform>/bindings) holding a `type` file and one file per entry. Values are secrets: callers
// must never log them.
import * as path from 'node:path';
import { listDir, readSmallFile } from '../io/fs';
import type { Env } from './context';

export interface Binding {
  name: string;
  type: string;
  provider?: string;
  entries: Record<string, string>;
}

export async function readBindings(platformDir: string, env: Env): Promise<Binding[]> {
  const root = env.SERVICE_BINDING_ROOT || path.join(platformDir, 'bindings');
  const out: Binding[] = [];
  for (const dir of await listDir(root)) {
    if (dir.kind !== 'dir') continue;
    const entries: Record<string, string> = {};
    for (const f of await listDir(path.join(root, dir.name))) {
      if (f.kind !== 'file' || f.name.startsWith('.')) continue;
      const read = await readSmallFile(path.join(root, dir.name, f.name));
      if (read.ok) entries[f.name] = read.bytes.toString('utf8');
    }
    const { type, provider, ...rest } = entries;
    if (type) out.push({ name: dir.name, type: type.trim().toLowerCase(), provider: provider?.trim(), entries: rest });
  }
  return out;
}

export function bindingsOfType(bindings: readonly Binding[], type: string): Binding[] {
  return bindings.filter((b) => b.type === type);
}
