// Typed inputs of bin/detect and bin/build, from the CNB_* environment the lifecycle provides.
// Spec: https://github.com/buildpacks/spec/blob/buildpack/v0.10/buildpack.md#detection (inputs)
// The deprecated positional arguments are the fallback: detect gets <platform> <plan>,
// build gets <layers> <platform> <plan> (the lifecycle still passes them).
import * as path from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

/** CNB_TARGET_*: set by the lifecycle since Buildpack API 0.10 (distro only when known). */
export interface Target {
  os: string;
  arch: string;
  archVariant?: string;
  distroName?: string;
  distroVersion?: string;
}

export interface DetectContext {
  phase: 'detect';
  appDir: string;
  platformDir: string;
  buildpackDir: string;
  buildPlanPath: string;
  target: Target;
  env: Env;
}

export interface BuildContext {
  phase: 'build';
  appDir: string;
  layersDir: string;
  platformDir: string;
  buildpackDir: string;
  buildpackPlanPath: string;
  target: Target;
  env: Env;
}

export class ContextError extends Error {
  override name = 'ContextError';
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new ContextError(`${what} is not set: bin/detect and bin/build must be run by the CNB lifecycle`);
  return value;
}

const NODE_TO_GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' };

/** Parses /etc/os-release content (used only when the lifecycle did not say the distro). */
export function parseOsRelease(text: string): { name?: string; version?: string } {
  const get = (key: string) => {
    const m = new RegExp(`^${key}=(.*)$`, 'm').exec(text);
    return m ? m[1]!.trim().replace(/^["']|["']$/g, '') : undefined;
  };
  return { name: get('ID'), version: get('VERSION_ID') };
}

export function targetFrom(env: Env, osRelease?: string): Target {
  const fallback = osRelease ? parseOsRelease(osRelease) : {};
  return {
    os: env.CNB_TARGET_OS || 'linux',
    arch: env.CNB_TARGET_ARCH || NODE_TO_GOARCH[process.arch] || process.arch,
    archVariant: env.CNB_TARGET_ARCH_VARIANT || undefined,
    distroName: env.CNB_TARGET_DISTRO_NAME || fallback.name,
    distroVersion: env.CNB_TARGET_DISTRO_VERSION || fallback.version,
  };
}

export function detectContext(env: Env, args: readonly string[], cwd: string, buildpackDir: string, osRelease?: string): DetectContext {
  return {
    phase: 'detect',
    appDir: env.CNB_APP_DIR || cwd,
    platformDir: required(env.CNB_PLATFORM_DIR || args[0], 'CNB_PLATFORM_DIR'),
    buildpackDir: env.CNB_BUILDPACK_DIR || buildpackDir,
    buildPlanPath: required(env.CNB_BUILD_PLAN_PATH || args[1], 'CNB_BUILD_PLAN_PATH'),
    target: targetFrom(env, osRelease),
    env,
  };
}

export function buildContext(env: Env, args: readonly string[], cwd: string, buildpackDir: string, osRelease?: string): BuildContext {
  return {
    phase: 'build',
    appDir: env.CNB_APP_DIR || cwd,
    layersDir: path.resolve(required(env.CNB_LAYERS_DIR || args[0], 'CNB_LAYERS_DIR')),
    platformDir: required(env.CNB_PLATFORM_DIR || args[1], 'CNB_PLATFORM_DIR'),
    buildpackDir: env.CNB_BUILDPACK_DIR || buildpackDir,
    buildpackPlanPath: required(env.CNB_BP_PLAN_PATH || args[2], 'CNB_BP_PLAN_PATH'),
    target: targetFrom(env, osRelease),
    env,
  };
}

/** "linux/amd64 (debian 12)" for logs. */
export function describeTarget(t: Target): string {
  const arch = t.archVariant ? `${t.arch}/${t.archVariant}` : t.arch;
  const distro = t.distroName ? ` (${t.distroName}${t.distroVersion ? ` ${t.distroVersion}` : ''})` : '';
  return `${t.os}/${arch}${distro}`;
}
