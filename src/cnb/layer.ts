// The layer cache state machine: one place decides whether a restored layer is kept or rebuilt.
// Spec: https://github.com/buildpacks/spec/blob/buildpack/v0.10/buildpack.md#layer-types and
// ../shared/reference/cnb-spec.md section 3. What matters:
// - A restored <layer>.toml holds [metadata] only: the lifecycle strips [types], so [types] is
//   rewritten on every build, or the layer is silently dropped.
// - Metadata round-trips through JSON (integers come back as floats), so keys are strings only.
// - Contents may be missing while metadata is present (the restorer deletes both when the image
//   and cache disagree, but a cache-only layer can lose its dir): "missing" always means "recreate".
// - Metadata is written last, only after the install succeeded, so an interrupted build never leaves
//   a layer whose metadata claims it is complete.
// - A launch layer that is not cached comes back as its <layer>.toml alone (the restorer writes it
//   from the previous image's io.buildpacks.lifecycle.metadata label). Writing that TOML again with
//   launch = true and no <layer>/ directory makes the exporter reuse the previous image's layer
//   as it is ("keep"): nothing is unpacked, tarred or hashed. Only for layers the build does not
//   need as files (src/layers/reuse.ts decides which).
import * as path from 'node:path';
import { z } from 'zod';
import { isDirectory, makeDir, pathExists, readSmallFile, removeInBackground, removePath } from '../io/fs';
import { trace } from '../trace';
import { LayerContentMetadata, type LayerTypes } from './schemas';
import { parseTomlAs, writeTomlAs } from './toml';

/** A cache key: every field a string (see the JSON round trip above). */
export type LayerKey = Record<string, string>;

export interface LayerDefinition<K extends LayerKey> {
  /** Directory name under the buildpack's layers dir. Never build/launch/store, no '.'. */
  name: string;
  types: Required<LayerTypes>;
  /** The key's schema; `.strict()`, so metadata from another buildpack version does not match. */
  key: z.ZodType<K>;
  /** One human reason per key field, for the log: "the Python version changed from 3.12.1 to 3.13.9". */
  reasons: { [F in keyof K]: (cached: string, wanted: string) => string };
}

export type LayerDecision =
  | { action: 'reuse'; cached: LayerKey }
  /** Unchanged, in the previous image, not restored and not needed as files: only its TOML is written. */
  | { action: 'keep'; cached: LayerKey }
  | { action: 'create'; cause: 'new' }
  | { action: 'create'; cause: 'changed'; cached: LayerKey; reasons: string[] }
  | { action: 'create'; cause: 'unreadable-metadata' | 'missing-contents' | 'forced'; reasons: string[]; cached?: LayerKey };

export function defineLayer<K extends LayerKey>(def: LayerDefinition<K>): LayerDefinition<K> {
  if (['build', 'launch', 'store'].includes(def.name) || def.name.includes('.')) {
    throw new Error(`invalid layer name ${def.name}`); // spec: reserved names; '.' confuses SBOM lookup
  }
  return def;
}

/**
 * Pure decision. `restored` is the [metadata] table of the restored <layer>.toml (undefined when
 * there was none, null when it could not be parsed); `contentsPresent` says if <layer>/ exists.
 */
export function decideLayer<K extends LayerKey>(
  def: LayerDefinition<K>,
  restored: Record<string, unknown> | undefined | null,
  contentsPresent: boolean,
  wanted: K,
  force?: string,
  /** The build does not need the files: an unchanged layer that was not restored is kept in the image. */
  keepInImage = false,
): LayerDecision {
  if (restored === undefined) return { action: 'create', cause: 'new' };
  if (restored === null) return { action: 'create', cause: 'unreadable-metadata', reasons: ['its layer metadata could not be read'] };
  const parsed = def.key.safeParse(restored);
  if (!parsed.success) {
    return { action: 'create', cause: 'unreadable-metadata', reasons: ['its layer metadata is in an older or unknown format'] };
  }
  const cached = parsed.data as K;
  const reasons: string[] = [];
  for (const field of Object.keys(def.reasons) as Array<keyof K & string>) {
    if (cached[field] !== wanted[field]) reasons.push(def.reasons[field](cached[field] as string, wanted[field] as string));
  }
  if (reasons.length > 0) return { action: 'create', cause: 'changed', cached, reasons };
  if (force) return { action: 'create', cause: 'forced', cached, reasons: [force] };
  if (!contentsPresent && keepInImage) return { action: 'keep', cached };
  if (!contentsPresent) return { action: 'create', cause: 'missing-contents', cached, reasons: ['the cached files were not restored'] };
  return { action: 'reuse', cached };
}

export interface LayerHandle<K extends LayerKey> {
  readonly name: string;
  readonly dir: string;
  readonly decision: LayerDecision;
  /** The key changed and the restored contents stay, to be updated (OpenLayerOptions.updatable):
   *  the old metadata is gone, so the layer is incomplete until commit(). */
  readonly updating: boolean;
  /** Writes <layer>.toml with [types] and the key as [metadata] (plus `facts`: fields of the
   *  metadata that describe the contents and are not compared). Call after a successful install. */
  commit(facts?: LayerKey): Promise<void>;
}

export interface OpenLayerOptions {
  /** A reason to recreate the layer even though its key matches (BP_PYTHON_FORCE_REINSTALL). */
  force?: string;
  /** This build's [types], when they depend on the build (default: the definition's). */
  types?: Required<LayerTypes>;
  /** The build does not need the layer's files: keep an unchanged one in the image (see the top). */
  keepInImage?: boolean;
  /** Whether a restored layer whose key changed may be updated in place, given its cached key
   *  (the venv after a dependency change, src/layers/site-packages.ts); else it is recreated. */
  updatable?: (cached: LayerKey) => boolean;
}

/** The [types] of a layer kept in the image: launch only (no files for later buildpacks, not cached). */
const KEPT_TYPES: Required<LayerTypes> = { build: false, launch: true, cache: false };

function layerToml(layersDir: string, name: string): string {
  return path.join(layersDir, `${name}.toml`);
}

async function readRestoredMetadata(tomlPath: string): Promise<Record<string, unknown> | undefined | null> {
  if (!(await pathExists(tomlPath))) return undefined;
  const read = await readSmallFile(tomlPath);
  if (!read.ok) return null;
  try {
    return parseTomlAs(LayerContentMetadata, read.bytes.toString('utf8'), tomlPath).metadata ?? {};
  } catch {
    return null;
  }
}

/**
 * Reads what the restorer left, decides, and acts: on reuse it rewrites [types] at once (the
 * contents are already complete); on create it deletes the old metadata first, then the old
 * contents, and hands back an empty directory whose metadata is written by `commit()`.
 */
export async function openLayer<K extends LayerKey>(
  layersDir: string,
  def: LayerDefinition<K>,
  wanted: K,
  options: OpenLayerOptions = {},
): Promise<LayerHandle<K>> {
  const dir = path.join(layersDir, def.name);
  const tomlPath = layerToml(layersDir, def.name);
  const restored = await readRestoredMetadata(tomlPath);
  const decision = decideLayer(def, restored, await isDirectory(dir), wanted, options.force, options.keepInImage);
  trace.layerDecision({ layer: def.name, restored, wanted, decision });
  const types = options.types ?? def.types;
  const write = (t: Required<LayerTypes>, metadata: Record<string, unknown>) => writeTomlAs(LayerContentMetadata, tomlPath, { types: t, metadata: def.key.parse(metadata) as LayerKey });
  const commit = async (facts: LayerKey = {}) => {
    await write(types, { ...wanted, ...facts });
    trace.layerCommit({ layer: def.name });
  };
  if (decision.action === 'reuse') {
    // The cached metadata first: it carries the facts of the kept contents (the key fields are equal).
    await write(types, { ...decision.cached, ...wanted });
  } else if (decision.action === 'keep') {
    if (!types.launch) throw new Error(`layer ${def.name} is not a launch layer: it cannot be kept in the image`);
    await write(KEPT_TYPES, { ...decision.cached, ...wanted });
  }
  const updating = decision.action === 'create' && decision.cause === 'changed' && (await isDirectory(dir)) && (options.updatable?.(decision.cached) ?? false);
  if (decision.action === 'create') {
    await removePath(tomlPath);
    await removeStaleSboms(layersDir, def.name);
    if (!updating) {
      await removeInBackground(dir);
      await makeDir(dir);
    }
  }
  return { name: def.name, dir, decision, updating, commit };
}

/** The decision openLayer would take, without acting on it (what a later step needs, known early;
 *  prerequisites checked before any download). */
export async function peekLayer<K extends LayerKey>(layersDir: string, def: LayerDefinition<K>, wanted: K, options: OpenLayerOptions = {}): Promise<LayerDecision> {
  const restored = await readRestoredMetadata(layerToml(layersDir, def.name));
  return decideLayer(def, restored, await isDirectory(path.join(layersDir, def.name)), wanted, options.force, options.keepInImage);
}

/** Deletes a layer we no longer want (metadata first), e.g. sqlite after BP_PYTHON_SQLITE=false. */
export async function dropLayer(layersDir: string, name: string): Promise<boolean> {
  const tomlPath = layerToml(layersDir, name);
  const existed = (await pathExists(tomlPath)) || (await pathExists(path.join(layersDir, name)));
  await removePath(tomlPath);
  await removeStaleSboms(layersDir, name);
  await removePath(path.join(layersDir, name));
  return existed;
}

async function removeStaleSboms(layersDir: string, name: string): Promise<void> {
  await Promise.all(['cdx', 'spdx', 'syft'].map((ext) => removePath(path.join(layersDir, `${name}.sbom.${ext}.json`))));
}

/** A string key from its field names: `stringKey(['python_version', 'arch'])`. `facts`: optional
 *  fields that describe the contents (kept with them, never compared: they have no reasons). */
export function stringKey<F extends string>(fields: readonly F[], facts: readonly string[] = []): z.ZodType<Record<F, string>> {
  const shape = Object.fromEntries([...fields.map((f) => [f, z.string()]), ...facts.map((f) => [f, z.string().optional()])]) as Record<string, z.ZodTypeAny>;
  return z.object(shape).strict() as unknown as z.ZodType<Record<F, string>>;
}
