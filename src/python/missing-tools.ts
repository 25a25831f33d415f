// When pip fails because the build image lacks a tool (a C compiler for an sdist with C code, git
// for a `git+https://` requirement), pip's own words blame neither the image nor say what to do:
// "Cannot find command 'git'", or a compiler "failed: No such file or directory" deep inside a
// wheel build. This turns such a failure into an error about the build image and the builder
// that has the tool. Pure: the caller says which tools are on PATH; pip's output is the evidence.
import { UserError } from '../errors';

export interface BuildTools {
  /** A C compiler (`cc`, `gcc` or $CC) is on the build's PATH. */
  cc: boolean;
  /** `git` is on the build's PATH. */
  git: boolean;
}

const FULL_BUILDER_EXAMPLES =
  "a \"full\" builder: this project's builders/builder-full.toml, Paketo's paketobuildpacks/builder-jammy-full, or heroku/builder:24";

/** The compiler pip (setuptools, meson, cmake) tried to run and could not find, if it says so. */
function missingCompiler(lines: readonly string[]): string | undefined {
  const patterns = [
    /\[Errno 2\] No such file or directory: '([^']*(?:gcc|cc|clang|\+\+))'/,
    /command '([^']+)' failed: No such file or directory/,
    /unable to execute '([^']+)': No such file or directory/,
    /error: command '([^']+)' failed with exit (?:code|status) 127/,
    /\b(cc|gcc|c\+\+|g\+\+|clang)\b: (?:command )?not found/,
    /Unknown compiler\(s\): \[\['(\S+)'/,
    /No CMAKE_C_COMPILER could be found|C compiler .* is not able to compile|no acceptable C compiler found/,
  ];
  for (const line of lines) {
    for (const pattern of patterns) {
      const m = pattern.exec(line);
      if (m) return m[1] ?? 'cc';
    }
  }
  return undefined;
}

/** The projects pip names as failing to build ("Failed to build x y", "Failed building wheel for x"). */
function failedBuilds(lines: readonly string[]): string[] {
  const names = new Set<string>();
  for (const line of lines) {
    const wheel = /Failed building wheel for (\S+)/.exec(line);
    if (wheel) names.add(wheel[1]!);
    // "Failed to build a b" (not pip 25+'s "Failed to build installable wheels for some ...").
    const build = /^(?:ERROR: )?Failed to build (?!installable wheels)(.+)$/.exec(line.trim());
    if (build) for (const n of build[1]!.split(/[\s,]+/).filter(Boolean)) names.add(n);
  }
  return [...names];
}

/** The `git+...` requirement pip names, if any ("Collecting x@ git+https://..."). */
function gitRequirement(lines: readonly string[]): string | undefined {
  for (const line of lines) {
    const m = /(\S+\s*@\s*git\+\S+|git\+(?:https?|ssh|git|file):\/\/\S+)/.exec(line);
    if (m) return m[1]!.replace(/\/\/[^/@\s]*@/, '//***@');
  }
  return undefined;
}

/**
 * The error to show instead of pip's raw one when pip failed for want of a tool the build image
 * lacks, else undefined. `what` names what was being installed ("requirements.txt").
 */
export function missingBuildToolError(pipOutput: readonly string[], tools: BuildTools, what: string): UserError | undefined {
  if (!tools.git && pipOutput.some((l) => /Cannot find command 'git'/.test(l))) {
    const requirement = gitRequirement(pipOutput);
    return new UserError('The build image has no git', [
      `${what} has a requirement pip must fetch with git${requirement ? ` (${requirement})` : ''}, and this build image has no \`git\` command.`,
      'A git requirement needs a build image with git.',
      `Use a builder whose build image has git, e.g. ${FULL_BUILDER_EXAMPLES}; or depend on a released version from your package index (or a wheel in vendor/) instead of the git URL.`,
    ]);
  }
  if (!tools.cc) {
    const compiler = missingCompiler(pipOutput);
    const failed = failedBuilds(pipOutput);
    if (compiler !== undefined || failed.length > 0) {
      const packages = failed.length ? failed.join(', ') : 'a package';
      return new UserError('The build image has no C compiler', [
        `pip had to build ${packages} from source (no binary wheel for this Python and platform), and that needs a C compiler: ${
          compiler ? `pip ran \`${compiler}\`, which does not exist here` : 'the build failed'
        }. This build image has no \`cc\` or \`gcc\`.`,
        'Packages with C extensions that ship only an sdist need a build image with a C compiler and the -dev headers.',
        `Use a builder whose build image has a C compiler, e.g. ${FULL_BUILDER_EXAMPLES}; or pin a version of ${packages} that publishes a binary wheel for this Python.`,
      ]);
    }
  }
  return undefined;
}
