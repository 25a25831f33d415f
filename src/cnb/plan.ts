// Buildpack Plan (read by build) and build.toml (written by build). The Build Plan detect writes is
// in build-plan.ts, away from the zod schemas here.
// Spec: https://github.com/buildpacks/spec/blob/buildpack/v0.10/buildpack.md#buildpack-plan-toml.
// The lifecycle hands build EVERY requirement of every requirer for each name we provide,
// duplicates included; merging them is our job.
import { BuildpackPlan, BuildToml, type PlanRequire } from './schemas';
import { readTomlAs, writeTomlAs } from './toml';
import { pathExists } from '../io/fs';

export async function readBuildpackPlan(file: string): Promise<BuildpackPlan> {
  if (!(await pathExists(file))) return { entries: [] };
  return readTomlAs(BuildpackPlan, file);
}

/** The entries of the Buildpack Plan with this name, in the order the lifecycle gave them. */
export function entriesNamed(plan: BuildpackPlan, name: string): PlanRequire[] {
  return plan.entries.filter((e) => e.name === name);
}

/** Leaves entries for the next buildpack that provides them ([[unmet]] in build.toml). */
export async function writeBuildToml(file: string, unmet: string[]): Promise<void> {
  await writeTomlAs(BuildToml, file, unmet.length ? { unmet: unmet.map((name) => ({ name })) } : {});
}
