// A CPython of one minor on the host (pyenv's), for the host-side tools that make locks at test
// time (`uv lock`, `poetry lock`), as a developer would before committing.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function hostPython(minor = '3.11'): string {
  const root = process.env.PYENV_ROOT ?? path.join(os.homedir(), '.pyenv');
  const v = fs.readdirSync(path.join(root, 'versions')).find((d) => d.startsWith(`${minor}.`) && /^\d+\.\d+\.\d+$/.test(d));
  if (!v) throw new Error(`no CPython ${minor} under ${root}/versions`);
  return path.join(root, 'versions', v, 'bin', 'python3');
}
