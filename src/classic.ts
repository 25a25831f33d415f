// The classic buildpack's files, decided purely from the app snapshot (src/project.ts reads them):
// the build hooks (bin/pre_compile, bin/post_compile), nltk.txt, the collectstatic opt-out file,
// a manage.py below the root, committed virtual environments. Bad input (a hook that is a
// directory, a malformed nltk.txt) is thrown here, in the analysis, before any download.
import { createHash } from 'node:crypto';
import { UserError, printable } from './errors';
import { planHook, type HookName, type HookPlan } from './hooks';
import type { Log } from './log';
import type { AppSnapshot } from './project';

export interface ClassicPlan {
  hooks: Readonly<Record<HookName, HookPlan>>;
  /** nltk.txt's package ids and the file's sha256 (the nltk-data layer's key); undefined without nltk.txt. */
  nltk?: { ids: string[]; sha256: string };
  collectstaticOptOut: boolean;
  nestedManagePy: readonly string[];
  committedVenvs: readonly string[];
}

export function classicPlan(app: AppSnapshot): ClassicPlan {
  const files = app.classic ?? { hooks: {}, collectstaticOptOut: false, nestedManagePy: [], committedVenvs: [] };
  return {
    hooks: { pre_compile: planHook('pre_compile', files.hooks.pre_compile), post_compile: planHook('post_compile', files.hooks.post_compile) },
    nltk: nltkRequest(app),
    collectstaticOptOut: files.collectstaticOptOut,
    nestedManagePy: files.nestedManagePy,
    committedVenvs: files.committedVenvs,
  };
}

/** What the plan says before anything is installed: committed venvs (a warning), a nested manage.py. */
export function logClassic(plan: ClassicPlan, log: Log): void {
  const venvs = committedVenvWarning(plan.committedVenvs);
  if (venvs) log.warning(venvs.title, venvs.body);
  if (plan.nestedManagePy.length) log.info(`Found ${plan.nestedManagePy.join(', ')}; collectstatic runs only for a manage.py in the app root`);
}

function nltkRequest(app: AppSnapshot): ClassicPlan['nltk'] {
  const read = app.files['nltk.txt'];
  if (!read) return undefined;
  if (!read.ok) throw new UserError('nltk.txt cannot be read', [`nltk.txt ${read.problem}.`, 'Make nltk.txt a small text file listing NLTK package ids, or remove it.']);
  return { ids: parseNltkTxt(read.bytes.toString('utf8')), sha256: createHash('sha256').update(read.bytes).digest('hex') };
}

/** NLTK package ids are plain names ("punkt", "stopwords", "omw-1.4"). */
const CORPUS_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** nltk.txt (pure): corpus ids, one or more per line (whitespace-separated, as the classic
 *  buildpack passed them to the downloader); `#` comments and blank lines ignored; duplicates once. */
export function parseNltkTxt(text: string): string[] {
  const ids: string[] = [];
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    for (const id of line.split(/[\s,]+/).filter(Boolean)) {
      if (!CORPUS_ID.test(id)) {
        throw new UserError('Invalid corpus name in nltk.txt', [
          `nltk.txt line ${i + 1}: "${printable(raw.trim())}" has "${printable(id)}", which is not an NLTK package id.`,
          'Expected NLTK data package ids such as "punkt" or "stopwords", one per line (`#` starts a comment).',
          'See https://www.nltk.org/nltk_data/ for the ids, and fix nltk.txt.',
        ]);
      }
      if (!ids.includes(id)) ids.push(id);
    }
  });
  return ids;
}

/** The warning for committed venvs (pure). */
export function committedVenvWarning(dirs: readonly string[]): UserError | undefined {
  if (dirs.length === 0) return undefined;
  const shown = dirs.map((d) => `${d}/`);
  return new UserError(`The app contains a virtual environment: ${shown.join(', ')}`, [
    `${shown.join(' and ')} ${dirs.length > 1 ? 'were' : 'was'} committed with the app. The buildpack never uses ${dirs.length > 1 ? 'them' : 'it'}: the app runs with the venv in the site-packages layer, built from your dependency files for the image's Python.`,
    `${dirs.length > 1 ? 'They are' : 'It is'} still shipped in the image as app files (dead weight, with paths and binaries from another machine).`,
    `Remove ${shown.join(' and ')} from the repository and list ${dirs.length > 1 ? 'them' : 'it'} in .gitignore, or exclude ${dirs.length > 1 ? 'them' : 'it'} from the build (pack: \`[io.buildpacks] exclude\` in project.toml).`,
  ]);
}
