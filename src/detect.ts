// Detect: pass on any Python signal, fail (100) otherwise; never error on odd input.
// Spec: https://github.com/buildpacks/spec/blob/buildpack/v0.10/buildpack.md#detection
// Pure: an app snapshot and the env in, a verdict and a build plan out.
import type { Env } from './cnb/context';
import type { BuildPlan } from './cnb/schemas';
import { withPaketoAliases } from './paketo-env';
import { chooseDependencies, PYTHON_SIGNAL_FILES, pythonSignals, versionSources, type AppSnapshot } from './project';

export const PLAN = { python: 'python', sitePackages: 'site-packages' } as const;

export type DetectResult = { pass: true; signals: string[]; plan: BuildPlan } | { pass: false; lookedFor: string[] };

export function detect(app: AppSnapshot, env: Env): DetectResult {
  const signals = pythonSignals(app);
  if (signals.length === 0) return { pass: false, lookedFor: [...PYTHON_SIGNAL_FILES, '*.py in the app root'] };

  // Paketo's convention for version metadata, so Paketo-style buildpacks can read it too.
  // Only a cleanly parsed top source goes in; a malformed one is build's to report.
  const top = versionSources(app, withPaketoAliases(env))[0];
  const python = {
    name: PLAN.python,
    metadata: {
      ...(top && 'request' in top ? { version: top.request.spec, 'version-source': top.request.source } : {}),
      build: true,
      launch: true,
    },
  };
  const hasDependencies = chooseDependencies(app).manager !== undefined;
  // The lifecycle fails a group in which a buildpack provides a name nobody requires, so we provide
  // site-packages only when we require it ourselves, and offer an [[or]] alternative that provides
  // it for a later buildpack (a start-command buildpack, say) that requires it.
  const plan: BuildPlan = hasDependencies
    ? {
        provides: [{ name: PLAN.python }, { name: PLAN.sitePackages }],
        requires: [python, { name: PLAN.sitePackages, metadata: { build: true, launch: true } }],
      }
    : {
        provides: [{ name: PLAN.python }],
        requires: [python],
        or: [{ provides: [{ name: PLAN.python }, { name: PLAN.sitePackages }], requires: [python] }],
      };
  return { pass: true, signals, plan };
}
