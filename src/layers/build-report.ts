// The `build-report` layer (cache only, never in the image): the build report the image carries,
// kept for the next build, which labels its image with that same report when it changed nothing
// (src/report/build-report.ts, reportOfImage), so that an unchanged app rebuilds to the same
// image ID. It holds no files: the report is the layer's metadata.
// Spec: a cache = true layer's <layer>.toml [metadata] is restored with it,
// https://github.com/buildpacks/spec/blob/buildpack/v0.10/buildpack.md#layer-types
import * as path from 'node:path';
import { LayerContentMetadata } from '../cnb/schemas';
import { parseTomlAs, writeTomlAs } from '../cnb/toml';
import { makeDir, readSmallFile } from '../io/fs';
import { parseStoredReport, reportOfImage, type BuildReport } from '../report/build-report';

const NAME = 'build-report';

async function storedReport(layersDir: string): Promise<BuildReport | undefined> {
  const tomlPath = path.join(layersDir, `${NAME}.toml`);
  const read = await readSmallFile(tomlPath);
  if (!read.ok) return undefined;
  try {
    return parseStoredReport(parseTomlAs(LayerContentMetadata, read.bytes.toString('utf8'), tomlPath).metadata?.report);
  } catch {
    return undefined;
  }
}

/** The report for this build's image (this build's, or the previous one when nothing changed),
 *  stored for the next build. */
export async function reportForImage(layersDir: string, fresh: BuildReport): Promise<BuildReport> {
  const report = reportOfImage(fresh, await storedReport(layersDir));
  await makeDir(path.join(layersDir, NAME));
  await writeTomlAs(LayerContentMetadata, path.join(layersDir, `${NAME}.toml`), {
    types: { build: false, launch: false, cache: true },
    metadata: { report: JSON.stringify(report) },
  });
  return report;
}
