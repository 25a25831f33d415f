// Where each archive entry really lands, decided before anything is written. Pure: the extractor
// keeps this model of everything it has created under the destination (which starts empty), and
// asks it, entry by entry in archive order, for the entry's canonical path: every directory on it
// resolved through the links the archive made earlier, as the kernel would, with the destination
// as a hard boundary. A path that would leave the destination, however many links it goes through
// (`a/x -> ..`, then `a/x/y -> ..`, ...), is refused, as is a link whose target would. The writer
// then only ever receives canonical paths: no component of them is a symlink, so the kernel's own
// resolution of the path cannot differ from the model's. One mechanism instead of string rules.
import * as path from 'node:path';

type Node = { kind: 'dir' } | { kind: 'file' } | { kind: 'symlink'; target: string };

/** Why an entry was refused: the extractor turns it into the titled "Unsafe archive" error. */
export class ArchiveRefusal extends Error {}

export interface TreeLimits {
  /** Longest entry path (bytes) inside the destination. */
  maxPathBytes: number;
  /** Longest symlink target (bytes). */
  maxLinkBytes: number;
  /** Most entries the archive may create (bounds inodes and this model's memory). */
  maxEntries: number;
}

export const DEFAULT_TREE_LIMITS: TreeLimits = { maxPathBytes: 1024, maxLinkBytes: 1024, maxEntries: 100_000 };

/** Linux gives up after 40 links in one lookup (ELOOP); so do we. */
const MAX_HOPS = 40;
const NAME_MAX = 255;
const PATH_MAX = 4096;
/** Components one resolution may walk (links included) before it is refused as a loop. */
const MAX_STEPS = 4096;

/** How a path resolves: its canonical components, or why it cannot be used. */
type Resolution = { parts: string[] } | { escapes: true } | { loop: true } | { notDir: string };

export class ArchiveTree {
  private readonly nodes = new Map<string, Node>();
  private entries = 0;

  constructor(private readonly limits: TreeLimits = DEFAULT_TREE_LIMITS) {}

  /**
   * A directory entry: the canonical directories to create (outermost first; empty when they
   * all exist). A symlink in the last place is followed, as `mkdir -p` does.
   */
  directory(rel: string): string[] {
    return this.makeDirs(this.canonical(rel, rel, true));
  }

  /**
   * A regular file, hard link or symlink entry: its canonical path and the directories to create
   * first. Replacing an earlier file or symlink is allowed (the writer removes it); replacing a
   * directory is not.
   */
  leaf(rel: string, kind: 'file' | 'symlink', linkTarget?: string): { path: string; dirs: string[] } {
    this.count();
    const dirParts = this.canonical(path.posix.dirname(rel), rel, true);
    const name = path.posix.basename(rel);
    const key = [...dirParts, name].join('/');
    if (this.nodes.get(key)?.kind === 'dir') throw new ArchiveRefusal('would replace a directory the archive made earlier');
    if (kind === 'symlink') {
      const target = linkTarget ?? '';
      if (Buffer.byteLength(target) > this.limits.maxLinkBytes) throw new ArchiveRefusal(`is a link whose target is longer than ${this.limits.maxLinkBytes} bytes`);
      if (target === '' || target.includes('\0')) throw new ArchiveRefusal('is a link with an empty or binary target');
      if (path.posix.isAbsolute(target)) throw new ArchiveRefusal('is a link pointing outside the destination (an absolute target)');
      if ('escapes' in this.resolve(dirParts, target, true)) throw new ArchiveRefusal('is a link pointing outside the destination');
    }
    const dirs = this.makeDirs(dirParts);
    this.nodes.set(key, kind === 'symlink' ? { kind, target: linkTarget! } : { kind });
    return { path: key, dirs };
  }

  /** The canonical path of an earlier regular file, for a hard link to it; refused otherwise. */
  hardLinkSource(rel: string): string {
    const dirParts = this.canonical(path.posix.dirname(rel), rel, true);
    const key = [...dirParts, path.posix.basename(rel)].join('/');
    if (this.nodes.get(key)?.kind !== 'file') throw new ArchiveRefusal('is a hard link to something that is not a regular file the archive put in the destination earlier');
    return key;
  }

  /**
   * After the last entry: every symlink must still resolve inside. A later entry can change what
   * an earlier link means (`d/..` once `d` became a link), so the check at creation is not enough.
   */
  linksLeavingRoot(): string[] {
    const out: string[] = [];
    for (const [key, node] of this.nodes) {
      if (node.kind !== 'symlink') continue;
      const r = this.resolve(key.split('/').slice(0, -1), node.target, true);
      if ('escapes' in r) out.push(`${key} -> ${node.target}`);
    }
    return out;
  }

  /** Components of `rel` (a directory path) resolved to canonical ones; throws when unusable. */
  private canonical(rel: string, entry: string, followLast: boolean): string[] {
    if (Buffer.byteLength(entry) > this.limits.maxPathBytes) throw new ArchiveRefusal(`has a path longer than ${this.limits.maxPathBytes} bytes`);
    if (entry.split('/').some((p) => Buffer.byteLength(p) > NAME_MAX)) throw new ArchiveRefusal(`has a name longer than ${NAME_MAX} bytes`);
    if (rel === '.' || rel === '') return [];
    const r = this.resolve([], rel, followLast);
    if ('escapes' in r) throw new ArchiveRefusal('leads outside the destination through links the archive made');
    if ('loop' in r) throw new ArchiveRefusal(`goes through more than ${MAX_HOPS} links or ${MAX_STEPS} path components (a link loop)`);
    const notDir = 'notDir' in r ? r.notDir : this.nodes.get(r.parts.join('/'))?.kind === 'file' ? r.parts.join('/') : undefined;
    if (notDir !== undefined || !('parts' in r)) throw new ArchiveRefusal(`goes through "${notDir}", which is a file, as if it were a directory`);
    return r.parts;
  }

  /**
   * Resolves `rel` from the canonical directory `base` with the kernel's rules: `..` goes up one
   * real directory, a symlink is replaced by its target (relative to the link's directory). A
   * component that does not exist yet is taken as a directory to be made.
   */
  private resolve(base: readonly string[], rel: string, followLast: boolean): Resolution {
    const stack = [...base];
    // The canonical key of each prefix of `stack`, kept beside it: one lookup per component
    // without joining the whole path again.
    const keys = stack.map((_, i) => stack.slice(0, i + 1).join('/'));
    // Pending components, last one first, so that following a link is a push, not a copy; without
    // "" and "." so that "is this the last component" is a length check.
    const components = (text: string) => text.split('/').filter((p) => p !== '' && p !== '.').reverse();
    const todo = components(rel);
    let hops = 0;
    // Bounded work per entry whatever the links: 40 hops of 1,024-byte targets are at most ~20,000
    // components, and a canonical path longer than PATH_MAX could not be created anyway.
    for (let steps = 0; todo.length; steps++) {
      if (steps > MAX_STEPS) return { loop: true };
      const part = todo.pop()!;
      if (part === '..') {
        if (stack.length === 0) return { escapes: true };
        stack.pop();
        keys.pop();
        continue;
      }
      if (Buffer.byteLength(part) > NAME_MAX) return { notDir: part.slice(0, 40) };
      const key = keys.length ? `${keys[keys.length - 1]}/${part}` : part;
      if (key.length > PATH_MAX) return { loop: true };
      stack.push(part);
      keys.push(key);
      const node = this.nodes.get(key);
      const last = todo.length === 0;
      if (node?.kind === 'symlink' && (followLast || !last)) {
        if (++hops > MAX_HOPS) return { loop: true };
        stack.pop();
        keys.pop();
        if (path.posix.isAbsolute(node.target)) return { escapes: true };
        todo.push(...components(node.target));
      } else if (node?.kind === 'file' && !last) {
        return { notDir: key };
      }
    }
    return { parts: stack };
  }

  private makeDirs(parts: readonly string[]): string[] {
    const made: string[] = [];
    for (let i = 1; i <= parts.length; i++) {
      const key = parts.slice(0, i).join('/');
      if (this.nodes.has(key)) continue;
      this.count();
      this.nodes.set(key, { kind: 'dir' });
      made.push(key);
    }
    return made;
  }

  private count(): void {
    if (++this.entries > this.limits.maxEntries) throw new ArchiveRefusal(`is beyond the limit of ${this.limits.maxEntries} entries`);
  }
}
