// launch.toml. Spec: https://github.com/buildpacks/spec/blob/buildpack/v0.10/buildpack.md#launchtoml-toml
// It is never restored, so it is written on every build. Since Buildpack API 0.9 a process's
// `command` is an array exec'd directly (no shell); see src/processes.ts for how we keep $PORT working.
import { LaunchToml, type Process } from './schemas';
import { writeTomlAs } from './toml';

export async function writeLaunchToml(file: string, processes: Process[], labels: Array<{ key: string; value: string }> = []): Promise<void> {
  await writeTomlAs(LaunchToml, file, { ...(labels.length ? { labels } : {}), ...(processes.length ? { processes } : {}) });
}
