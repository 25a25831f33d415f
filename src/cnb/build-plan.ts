// The Build Plan detect writes to $CNB_BUILD_PLAN_PATH.
// Spec: https://github.com/buildpacks/spec/blob/buildpack/v0.10/buildpack.md#build-plan-toml
// Written with plainToml: detect loads neither the TOML library nor zod (schemas.ts builds every
// schema when it loads). The plan comes from our own code, typed as the BuildPlan schema's type;
// test/unit/cnb-files.test.ts checks every plan detect makes against that schema.
import type { BuildPlan } from './schemas';
import { plainToml } from './toml';
import { writeFileAtomic } from '../io/fs';

export async function writeBuildPlan(file: string, plan: BuildPlan): Promise<void> {
  await writeFileAtomic(file, plainToml(plan));
}
