// The environment our own build steps run with (python, pip, uv, the C compiler, manage.py): one
// immutable value threaded through the layers, as the lifecycle would build it for a later
// buildpack. Each installed layer is added with withLayer (its bin/, lib/, include/, pkgconfig/ when
// they exist, then its env files); the platform's secrets are taken out once, in forBuildSteps.
import * as path from 'node:path';
import { isDirectory } from '../io/fs';
import type { Env } from './context';
import { applyLayers, type LayerEnv } from './env';

/** Secrets the platform passes only for the private-dependency setup (src/private-deps.ts): pip,
 *  uv, build backends, manage.py and the SQLite compiler never see them. */
export const SECRET_ENV: readonly string[] = ['CUSTOM_SSH_KEY', 'CUSTOM_SSH_KNOWN_HOSTS'];

export class BuildEnv {
  private constructor(private readonly vars: Readonly<Record<string, string>>) {}

  /** The platform env without the secrets: what every build step starts from. */
  static forBuildSteps(env: Env): BuildEnv {
    return BuildEnv.from(env).without(SECRET_ENV);
  }

  static from(env: Env): BuildEnv {
    const vars: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) if (v !== undefined) vars[k] = v;
    return new BuildEnv(vars);
  }

  without(names: readonly string[]): BuildEnv {
    const vars = { ...this.vars };
    for (const name of names) delete vars[name];
    return new BuildEnv(vars);
  }

  /** Plain variables on top (later wins). */
  with(vars: Readonly<Record<string, string>>): BuildEnv {
    return new BuildEnv({ ...this.vars, ...vars });
  }

  /** The layer applied as the lifecycle applies it: its standard directories, then its env files. */
  async withLayer(dir: string, env: LayerEnv): Promise<BuildEnv> {
    const [hasBin, hasLib, hasInclude, hasPkgconfig] = await Promise.all(['bin', 'lib', 'include', 'pkgconfig'].map((d) => isDirectory(path.join(dir, d))));
    return new BuildEnv(applyLayers(this.vars, [{ dir, env, hasBin, hasLib, hasInclude, hasPkgconfig }], 'build'));
  }

  get(name: string): string | undefined {
    return this.vars[name];
  }

  toRecord(): Record<string, string> {
    return { ...this.vars };
  }
}
