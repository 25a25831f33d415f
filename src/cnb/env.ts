// Layer environment files.
// Spec: https://github.com/buildpacks/spec/blob/buildpack/v0.10/buildpack.md#environment-variable-modification-rules
//   <layer>/env/ (build and launch), env.build/, env.launch/, env.launch/<process>/;
//   NAME.override | NAME.default | NAME.prepend | NAME.append, and NAME.delim for prepend/append.
// Values are used verbatim by the lifecycle (a trailing newline would become part of the value),
// and `.prepend`/`.append` have NO default delimiter, so a `.delim` file is always written with them.
import * as path from 'node:path';
import { writeFileAtomic, removePath } from '../io/fs';
import type { Env } from './context';

export type EnvScope = 'all' | 'build' | 'launch' | { process: string };
export type EnvAction = 'override' | 'default' | 'prepend' | 'append';

export interface EnvEntry {
  name: string;
  action: EnvAction;
  value: string;
  delim?: string;
  scope: EnvScope;
}

/** An immutable list of env modifications for one layer. */
export class LayerEnv {
  private constructor(readonly entries: readonly EnvEntry[]) {}

  static empty(): LayerEnv {
    return new LayerEnv([]);
  }

  private add(entry: EnvEntry): LayerEnv {
    if (/[=\s/]/.test(entry.name) || entry.name === '') throw new Error(`invalid environment variable name: ${JSON.stringify(entry.name)}`);
    return new LayerEnv([...this.entries, entry]);
  }

  override(name: string, value: string, scope: EnvScope = 'all'): LayerEnv {
    return this.add({ name, action: 'override', value, scope });
  }

  default(name: string, value: string, scope: EnvScope = 'all'): LayerEnv {
    return this.add({ name, action: 'default', value, scope });
  }

  prepend(name: string, value: string, delim: string = path.delimiter, scope: EnvScope = 'all'): LayerEnv {
    return this.add({ name, action: 'prepend', value, delim, scope });
  }

  append(name: string, value: string, delim: string = path.delimiter, scope: EnvScope = 'all'): LayerEnv {
    return this.add({ name, action: 'append', value, delim, scope });
  }

  /** The files to write, relative to the layer directory (pure; used by writeLayerEnv and tests). */
  files(): Array<{ file: string; content: string }> {
    const out = new Map<string, string>();
    for (const e of this.entries) {
      const dir = scopeDir(e.scope);
      out.set(path.join(dir, `${e.name}.${e.action}`), e.value);
      if (e.delim !== undefined) out.set(path.join(dir, `${e.name}.delim`), e.delim);
    }
    return [...out].map(([file, content]) => ({ file, content }));
  }
}

function scopeDir(scope: EnvScope): string {
  if (scope === 'all') return 'env';
  if (scope === 'build') return 'env.build';
  if (scope === 'launch') return 'env.launch';
  return path.join('env.launch', scope.process);
}

/** Replaces the layer's env directories with exactly these files. */
export async function writeLayerEnv(layerDir: string, env: LayerEnv): Promise<void> {
  await Promise.all(['env', 'env.build', 'env.launch'].map((d) => removePath(path.join(layerDir, d))));
  for (const { file, content } of env.files()) await writeFileAtomic(path.join(layerDir, file), content);
}

/** Which of the directories the lifecycle puts on search paths by itself a layer has. */
export interface LayerDirs {
  hasBin?: boolean;
  hasLib?: boolean;
  hasInclude?: boolean;
  hasPkgconfig?: boolean;
}

/**
 * What a process started now (inside our own build) sees once these layers are applied, the way
 * the lifecycle would apply them for a later buildpack: the layer's bin/, lib/, include/ and
 * pkgconfig/ first, then its env files. The lifecycle applies a layer's env only after our
 * bin/build exits, so our own calls to python and pip need this. Layers are applied in the given
 * order (ascending layer name, as the lifecycle does), each one's prepends going in front of the
 * previous ones. The pure kernel of BuildEnv.withLayer (src/cnb/build-env.ts).
 */
export function applyLayers(base: Env, layers: ReadonlyArray<{ dir: string; env: LayerEnv } & LayerDirs>, phase: 'build' | 'launch'): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  const prepend = (name: string, value: string, delim: string) => {
    env[name] = env[name] ? `${value}${delim}${env[name]}` : value;
  };
  for (const layer of layers) {
    if (layer.hasBin) prepend('PATH', path.join(layer.dir, 'bin'), path.delimiter);
    if (layer.hasLib) {
      prepend('LD_LIBRARY_PATH', path.join(layer.dir, 'lib'), path.delimiter);
      if (phase === 'build') prepend('LIBRARY_PATH', path.join(layer.dir, 'lib'), path.delimiter);
    }
    if (layer.hasInclude && phase === 'build') prepend('CPATH', path.join(layer.dir, 'include'), path.delimiter);
    if (layer.hasPkgconfig && phase === 'build') prepend('PKG_CONFIG_PATH', path.join(layer.dir, 'pkgconfig'), path.delimiter);
    for (const e of layer.env.entries) {
      const applies = e.scope === 'all' || e.scope === phase;
      if (!applies) continue;
      if (e.action === 'override') env[e.name] = e.value;
      else if (e.action === 'default') env[e.name] ??= e.value;
      else if (e.action === 'prepend') prepend(e.name, e.value, e.delim ?? '');
      else env[e.name] = env[e.name] ? `${env[e.name]}${e.delim ?? ''}${e.value}` : e.value;
    }
  }
  return env;
}
