// zod schemas for the files of the CNB buildpack interface (Buildpack API 0.10).
// Spec: https://github.com/buildpacks/spec/blob/buildpack/v0.10/buildpack.md#data-format
import { z } from 'zod';

/** buildpack.toml; [metadata] is ours and validated separately (see python/manifest.ts). */
export const BuildpackDescriptor = z.object({
  api: z.string().regex(/^\d+\.\d+$/, 'must be a string such as "0.10"'),
  buildpack: z.object({
    id: z.string().regex(/^[A-Za-z0-9./-]+$/),
    version: z.string().regex(/^\d+\.\d+\.\d+$/),
    name: z.string(),
    homepage: z.string().optional(),
    description: z.string().optional(),
    keywords: z.array(z.string()).optional(),
    licenses: z.array(z.object({ type: z.string().optional(), uri: z.string().optional() })).optional(),
    'clear-env': z.boolean().optional(),
    'sbom-formats': z.array(z.string()).optional(),
  }),
  targets: z
    .array(
      z.object({
        os: z.string(),
        arch: z.string().optional(),
        variant: z.string().optional(),
        distros: z.array(z.object({ name: z.string(), version: z.string().optional() })).optional(),
      }),
    )
    .optional(),
  metadata: z.record(z.unknown()).optional(),
});
export type BuildpackDescriptor = z.infer<typeof BuildpackDescriptor>;

/** Plan metadata is free-form; our own requirements use the Paketo convention. */
const PlanMetadata = z.record(z.unknown());

/** The build plan detect writes to $CNB_BUILD_PLAN_PATH. */
const Provide = z.object({ name: z.string() }).strict();
const Require = z.object({ name: z.string(), metadata: PlanMetadata.optional() }).strict();
const PlanPairing = z.object({ provides: z.array(Provide).optional(), requires: z.array(Require).optional() });
export const BuildPlan = PlanPairing.extend({ or: z.array(PlanPairing).optional() }).strict();
export type BuildPlan = z.infer<typeof BuildPlan>;
export type PlanRequire = z.infer<typeof Require>;

/** The Buildpack Plan build reads from $CNB_BP_PLAN_PATH: every requirement of every requirer,
 *  for each name we provide, duplicates included. */
export const BuildpackPlan = z.object({
  entries: z.array(z.object({ name: z.string(), metadata: PlanMetadata.optional() })).default([]),
});
export type BuildpackPlan = z.infer<typeof BuildpackPlan>;

export const LayerTypes = z
  .object({ build: z.boolean().optional(), launch: z.boolean().optional(), cache: z.boolean().optional() })
  .strict();
export type LayerTypes = z.infer<typeof LayerTypes>;

/** <layers>/<layer>.toml. Restored files hold [metadata] only: the lifecycle strips [types]. */
export const LayerContentMetadata = z
  .object({ types: LayerTypes.optional(), metadata: z.record(z.unknown()).optional() })
  .strict();
export type LayerContentMetadata = z.infer<typeof LayerContentMetadata>;

export const ProcessType = z.string().regex(/^[A-Za-z0-9._-]+$/, 'process types are made of letters, digits, ".", "_" and "-"');

/** launch.toml: since Buildpack API 0.9 `command` is an array and is exec'd without a shell. */
export const Process = z
  .object({
    type: ProcessType,
    command: z.array(z.string()).min(1),
    args: z.array(z.string()).optional(),
    default: z.boolean().optional(),
    'working-dir': z.string().optional(),
  })
  .strict();
export type Process = z.infer<typeof Process>;

export const LaunchToml = z
  .object({
    labels: z.array(z.object({ key: z.string(), value: z.string() }).strict()).optional(),
    processes: z.array(Process).optional(),
    slices: z.array(z.object({ paths: z.array(z.string()) }).strict()).optional(),
  })
  .strict()
  .refine((l) => (l.processes ?? []).filter((p) => p.default).length <= 1, 'at most one process may be the default');
export type LaunchToml = z.infer<typeof LaunchToml>;

