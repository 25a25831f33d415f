// requirements.txt: `pip install --requirement requirements.txt`, so -r/-c includes, `-e .`,
// --hash, extras, markers and URLs all work as with pip. The key covers requirements.txt, every
// file it pulls in with -r/-c, and the project's metadata (for `-e .`).
import { UserError } from '../errors';
import { listing } from '../log';
import { isInsideApp } from '../project';
import { referencedFiles, unpinnedRequirements } from '../python/dependencies';
import { appFile, projectFiles, type Manager } from './manager';
import { pipInstallCommon, runPip, syncWithPip, withVendoredWheels } from './pip-runner';

export const pip: Manager = {
  kind: 'pip',
  tool: 'pip',
  inputs(app, manager) {
    // Breadth-first over -r/-c references, each file once, in discovery order (a fixed order).
    const files: Array<{ name: string; bytes: Buffer }> = [];
    const queue: Array<[string, string | undefined]> = [['requirements.txt', undefined]];
    const seen = new Set<string>();
    let unpinned: string[] = [];
    const includes = new Map<string, string[]>();
    while (queue.length) {
      const [name, by] = queue.shift()!;
      if (seen.has(name)) continue;
      seen.add(name);
      if (!isInsideApp(name)) throw new UserError('Requirements file outside the app', [`${by} refers to ${name}, which is outside the app directory.`, 'Keep every requirements file inside the app.']);
      const bytes = appFile(app, name, by);
      files.push({ name, bytes });
      const text = bytes.toString('utf8');
      unpinned = [...unpinned, ...unpinnedRequirements(text)];
      includes.set(name, referencedFiles(name, text));
      for (const ref of includes.get(name)!) queue.push([ref, name]);
    }
    const loop = includeLoop(includes, 'requirements.txt');
    if (loop) {
      throw new UserError('Requirements files include each other', [
        `${loop.join(' -> ')}: following these -r/-c lines never ends, so pip cannot read the requirements.`,
        `Remove the line in ${loop[loop.length - 2]} that includes ${loop[loop.length - 1]}, so that no file includes itself again.`,
      ]);
    }
    // `-e .` or `.` in requirements.txt installs the project itself: its metadata counts too.
    const label = files.length > 1 ? `requirements.txt (and ${listing(files.slice(1).map((f) => f.name))})` : 'requirements.txt';
    return withVendoredWheels({ manager, files: [...files, ...projectFiles(app)], switches: [], label, warnings: [], unpinned, vendoredWheels: [] }, app);
  },
  install: (step) => runPip(step, [...pipInstallCommon(step.inputs), '--requirement', 'requirements.txt']),
  sync: (step) => syncWithPip(step, ['--requirement', 'requirements.txt']),
};

/** The first chain of includes that comes back to a file on it (a -> b -> a), or undefined. */
export function includeLoop(includes: ReadonlyMap<string, readonly string[]>, root: string): string[] | undefined {
  const done = new Set<string>();
  const visit = (name: string, chain: string[]): string[] | undefined => {
    if (chain.includes(name)) return [...chain.slice(chain.indexOf(name)), name];
    if (done.has(name)) return undefined;
    for (const next of includes.get(name) ?? []) {
      const loop = visit(next, [...chain, name]);
      if (loop) return loop;
    }
    done.add(name);
    return undefined;
  };
  return visit(root, []);
}
