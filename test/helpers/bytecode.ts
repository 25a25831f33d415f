/**
 * What a tree's bytecode is, read from the files themselves (PEP 552 header: magic, flags, then
 * either mtime + size or the source hash), for tests of the python layer's finishing step.
 *
 *   pycCensus(dir) -> counts of .pyc by invalidation mode and level, and the .py with no .pyc
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface PycCensus {
  /** Plain (level 0) .pyc by header flags: 0 timestamp, 1 unchecked-hash, 3 checked-hash. */
  timestamp: string[];
  uncheckedHash: string[];
  checkedHash: string[];
  /** *.opt-1.pyc and *.opt-2.pyc. */
  optimized: string[];
  /** .py files (not symlinks) with no level-0 .pyc beside them in __pycache__. */
  withoutPyc: string[];
}

export function pycCensus(root: string): PycCensus {
  const census: PycCensus = { timestamp: [], uncheckedHash: [], checkedHash: [], optimized: [], withoutPyc: [] };
  const walk = (dir: string): void => {
    const cacheDir = path.join(dir, '__pycache__');
    const cached = new Set(fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : []);
    // <stem>.<implementation tag>.pyc, e.g. json.cpython-311.pyc
    const hasPyc = (stem: string) => [...cached].some((c) => c.startsWith(`${stem}.`) && /^[a-z]+-\d+\.pyc$/.test(c.slice(stem.length + 1)));
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      const rel = path.relative(root, full);
      if (e.isDirectory()) walk(full);
      else if (/\.opt-[12]\.pyc$/.test(e.name)) census.optimized.push(rel);
      else if (e.name.endsWith('.pyc')) {
        const fd = fs.openSync(full, 'r');
        const header = Buffer.alloc(8);
        fs.readSync(fd, header, 0, 8, 0);
        fs.closeSync(fd);
        const flags = header.readUInt32LE(4);
        (flags === 0 ? census.timestamp : flags === 1 ? census.uncheckedHash : census.checkedHash).push(rel);
      } else if (e.isFile() && e.name.endsWith('.py') && !hasPyc(e.name.slice(0, -3))) census.withoutPyc.push(rel);
    }
  };
  walk(root);
  return census;
}
