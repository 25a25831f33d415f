// Buildpack Plan (read by build). The Build Plan detect writes is
// in build-plan.ts, away from the zod schemas here.
// Spec: https://github.com/buildpacks/spec/blob/buildpack/v0.10/buildpack.md#buildpack-plan-toml.
// The lifecycle hands build EVERY requirement of every requirer for each name we provide,
// duplicates included; merging them is our job.
import { BuildpackPlan, type PlanRequire } from './schemas';
import { readTomlAs } from './toml';
import { pathExists } from '../io/fs';

export async function readBuildpackPlan(file: string): Promise<BuildpackPlan> {
  if (!(await pathExists(file))) return { entries: [] };
  return readTomlAs(BuildpackPlan, file);
}

/** The entries of the Buildpack Plan with this name, in the order the lifecycle gave them. */
export function entriesNamed(plan: BuildpackPlan, name: string): PlanRequire[] {
  return plan.entries.filter((e) => e.name === name);
}
