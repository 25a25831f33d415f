// Property-based tests (fast-check) for every parser of user input: runtime.txt, .python-version,
// BP_PYTHON_VERSION, Pipfile, Pipfile.lock, pyproject.toml, poetry.lock, uv.lock, requirements
// files, Procfile, the operator manifest, Buildpack Plan constraints, and the whole analysis over
// an app made of such files. The invariant: the parser returns a value or throws the project's
// UserError (a version parser may return one), within a time bound, with a bounded message.
//
// `npm test` runs each property with a fixed seed and FUZZ_RUNS (default 150) inputs; the long
// mode is `npm run fuzz` (FUZZ_RUNS=100000, see bench/README.md). FUZZ_SEED picks another seed.
import fc from 'fast-check';
import { analyse, type BuildInputs } from '../../src/analysis';
import { parseToml } from '../../src/cnb/toml';
import { UserError } from '../../src/errors';
import { detect } from '../../src/detect';
import type { AppSnapshot } from '../../src/project';
import { parseProcfile, procfileProcesses } from '../../src/processes';
import { logicalLines, pipfileHash, pipfileLockToRequirements, referencedFiles, unpinnedRequirements } from '../../src/python/dependencies';
import { parseOperatorManifest } from '../../src/python/manifest';
import { checkProjectFile } from '../../src/python/project-files';
import { resolvePython, satisfiesConstraint } from '../../src/python/resolve';
import { fromEnv, fromPipfile, fromPipfileLock, fromPyproject, fromPythonVersionFile, fromRuntimeTxt } from '../../src/python/version-request';
import { AMD64, buildpackDependencies, repositoryBuildpack } from '../helpers/buildpack-manifest';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const SEED = Number(process.env.FUZZ_SEED ?? 17);
/** Per call; generous for a loaded CI machine (the TOML parser reads ~300 KB/s there), far below what a superlinear parser takes. */
const BOUND_MS = Number(process.env.FUZZ_BOUND_MS ?? 5000);
const settings = { seed: SEED, numRuns: RUNS };
if (RUNS > 1000) jest.setTimeout(6 * 3600_000);

/** The invariant, for one call. */
function holds(f: () => unknown): void {
  const started = performance.now();
  let error: unknown;
  try {
    const r = f();
    if (r && typeof r === 'object' && 'error' in r) error = (r as { error: unknown }).error;
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - started;
  if (ms > BOUND_MS) throw new Error(`took ${Math.round(ms)} ms (bound ${BOUND_MS} ms)`);
  if (error === undefined) return;
  if (!(error instanceof UserError)) throw error;
  if (error.message.length > 4000) throw new Error(`a ${error.message.length}-character message: ${error.message.slice(0, 200)}`);
}

/** Text made of the tokens a format uses, mixed with arbitrary characters (including control and astral ones). */
function soup(tokens: readonly string[], maxLength = 40): fc.Arbitrary<string> {
  const token = fc.constantFrom(...tokens);
  // Now and then one token tens of thousands of times: what makes a backtracking pattern or a
  // quadratic loop show (a line of 400,000 "=" once hung the build).
  const run = fc.tuple(token, fc.integer({ min: 1000, max: 60_000 })).map(([t, n]) => t.repeat(Math.ceil(n / Math.max(t.length, 1))));
  return fc.array(fc.oneof({ weight: 40, arbitrary: token }, { weight: 10, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) }, { weight: 1, arbitrary: run }), { maxLength }).map((parts) => parts.join(''));
}
const bytes = (text: fc.Arbitrary<string>) => fc.oneof({ weight: 5, arbitrary: text.map((t) => Buffer.from(t)) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) });

const NUM = ['3', '12', '0', '9', '10', '99999999999999999999', '007', '-1', '1e3'];
const VERSIONISH = [...NUM, '.', '.x', '.*', 'python-', 'python', 'pypy3.10', 'system', ' ', '\t', '\n', '\r\n', '#', '\uFEFF', '\0', 'a', 'rc1', '==', '>=', '<', '~=', '!=', ',', '^', '~', '||', ' - ', '*', '!', '+local'];
const TOML = ['[', ']', '[[', ']]', '=', '"', "'", '"""', '{', '}', ',', '\n', ' ', '#', 'true', '1', '1979-05-27', '-', '.', 'requires', 'python_version', 'python_full_version', 'packages', 'dev-packages', 'source', 'project', 'requires-python', 'dependencies', 'build-system', 'package', 'name', 'version', 'metadata', 'defaults', 'python', 'dependencies', 'id', 'uri', 'checksum', 'sha256:', 'arch', 'amd64', '"3.12"', '">=3.10"', '"flask"', '\\u0000', '\\'];
const JSON_TOKENS = ['{', '}', '[', ']', ':', ',', '"', 'null', 'true', '1', '"_meta"', '"default"', '"develop"', '"requires"', '"sources"', '"version"', '"hashes"', '"==1.0"', '"sha256:"', '\n', '"\\u0000"'];
const REQUIREMENTS = ['flask', 'Django', '[async]', '==', '===', '>=', '~=', '!=', '1.0', '.*', ',', ';', ' python_version < "3.12"', ' --hash=sha256:abc', '-r ', '-c ', '--requirement=', '--constraint ', 'base.txt', 'dev.txt', 'requirements.txt', '/etc/passwd', '../x.txt', '-e .', '.', 'git+https://x/y.git', ' @ ', 'https://x/y.whl', '#', ' ', '\\\n', '\n', '\r\n', '\t', '='];
/** The characters requirement patterns turn on, for the repetition property (fewer, so each is likelier). */
const REPEATABLE_REQUIREMENTS = ['=', '==', 'flask', ' ', ',', '*', '[', ']', '#', '-r', '\\\n', ';', '@'];
const PROCFILE = ['web', 'worker', 'release', ':', ': ', 'gunicorn app:app', '$PORT', '&&', '"', "'", '#', ' ', '\t', '\n', '\r\n', '\0', '\uFEFF', 'a b', '-', '_', 'é'];

describe('version files and settings', () => {
  it('runtime.txt', () => fc.assert(fc.property(bytes(soup(VERSIONISH)), (b) => holds(() => fromRuntimeTxt(b))), settings));
  it('.python-version', () => fc.assert(fc.property(bytes(soup(VERSIONISH, 60)), (b) => holds(() => fromPythonVersionFile(b))), settings));
  it('BP_PYTHON_VERSION', () => fc.assert(fc.property(soup(VERSIONISH, 12), (v) => holds(() => fromEnv(v))), settings));
});

describe('TOML and JSON project files', () => {
  it('Pipfile (version and hash)', () =>
    fc.assert(
      fc.property(bytes(soup(TOML, 80)), (b) =>
        holds(() => {
          const r = fromPipfile(b);
          if (!('error' in r)) {
            pipfileHash(parseToml(b.toString('utf8'), 'Pipfile')); // parsed fine above: must hash fine
          }
          return r;
        }),
      ),
      settings,
    ));
  it('pyproject.toml (requires-python and the schema)', () =>
    fc.assert(
      fc.property(fc.oneof(bytes(soup(TOML, 80)), soup(VERSIONISH, 20).map((spec) => Buffer.from(`[project]\nrequires-python = ${JSON.stringify(spec)}\n`))), (b) => {
        holds(() => fromPyproject(b));
        holds(() => checkProjectFile('pyproject.toml', b.toString('utf8')));
      }),
      settings,
    ));
  it('uv.lock and poetry.lock', () =>
    fc.assert(
      fc.property(soup(TOML, 80), (t) => {
        holds(() => checkProjectFile('uv.lock', t));
        holds(() => checkProjectFile('poetry.lock', t));
      }),
      settings,
    ));
  const lockValue = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    fc.record({
      _meta: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ requires: fc.jsonValue({ maxDepth: 2 }), sources: fc.jsonValue({ maxDepth: 2 }) })),
      default: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.dictionary(soup(REQUIREMENTS, 3), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.record({ version: fc.oneof(soup(VERSIONISH, 4), fc.jsonValue({ maxDepth: 1 })), hashes: fc.jsonValue({ maxDepth: 2 }), extras: fc.jsonValue({ maxDepth: 2 }), markers: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] })))),
    }, { requiredKeys: [] }),
  );
  it('Pipfile.lock (version and conversion)', () =>
    fc.assert(
      fc.property(fc.oneof(lockValue.map((v) => JSON.stringify(v) ?? ''), soup(JSON_TOKENS, 60)), fc.boolean(), (text, dev) => {
        holds(() => fromPipfileLock(Buffer.from(text)));
        holds(() => {
          const r = pipfileLockToRequirements(text, dev);
          // Whatever is accepted becomes one requirements line per package: nothing smuggled in.
          const lines = [...r.hashed, ...r.other];
          if (lines.some((l) => /[\r\n]/.test(l))) throw new Error(`extra lines in ${JSON.stringify(lines)}`);
          return r;
        });
      }),
      settings,
    ));
  it('the operator manifest (BP_PYTHON_MANIFEST)', () => fc.assert(fc.property(soup(TOML, 100), (t) => holds(() => parseOperatorManifest(t, 'manifest.toml'))), settings));
});

describe('requirements files and the Procfile', () => {
  it('requirements', () =>
    fc.assert(
      fc.property(soup(REQUIREMENTS, 60), (t) => {
        holds(() => unpinnedRequirements(t));
        holds(() => referencedFiles('requirements.txt', t));
        holds(() => logicalLines(t));
      }),
      settings,
    ));
  it('Procfile', () => fc.assert(fc.property(soup(PROCFILE, 60), (t) => holds(() => procfileProcesses(parseProcfile(t)))), settings));
});

describe('pathological repetition: one token tens of thousands of times between two others', () => {
  const repeated = (tokens: readonly string[]) =>
    fc.tuple(fc.constantFrom(...tokens), fc.constantFrom(...tokens), fc.integer({ min: 10_000, max: 100_000 }), fc.constantFrom(...tokens)).map(([before, t, n, after]) => `${before}${t.repeat(Math.ceil(n / Math.max(t.length, 1)))}${after}`);
  const cases: Array<[string, readonly string[], (text: string) => unknown]> = [
    ['requirements (unpinned)', REPEATABLE_REQUIREMENTS, unpinnedRequirements],
    ['requirements (includes)', REPEATABLE_REQUIREMENTS, (t) => referencedFiles('requirements.txt', t)],
    ['runtime.txt', VERSIONISH, (t) => fromRuntimeTxt(Buffer.from(t))],
    ['.python-version', VERSIONISH, (t) => fromPythonVersionFile(Buffer.from(t))],
    ['requires-python', VERSIONISH, (t) => fromPyproject(Buffer.from(`[project]\nrequires-python = ${JSON.stringify(t)}\n`))],
    ['a plan constraint', VERSIONISH, (t) => satisfiesConstraint('3.12.1', t)],
    ['Procfile', PROCFILE, (t) => parseProcfile(t)],
    ['Pipfile.lock', JSON_TOKENS, (t) => pipfileLockToRequirements(t, true)],
    ['pyproject.toml', TOML, (t) => checkProjectFile('pyproject.toml', t)],
  ];
  it.each(cases)('%s', (_what, tokens, parse) => fc.assert(fc.property(repeated(tokens), (t) => holds(() => parse(t))), settings));
});

describe('Buildpack Plan constraints', () => {
  const python = buildpackDependencies('python');
  it('constraints from other buildpacks', () =>
    fc.assert(
      fc.property(fc.array(soup(VERSIONISH, 10), { maxLength: 3 }), (constraints) => {
        for (const c of constraints) holds(() => satisfiesConstraint('3.12.1', c));
        holds(() => resolvePython({ requests: [], constraints: constraints.map((constraint) => ({ constraint, origin: 'a buildpack plan requirement' })), available: python, arch: 'amd64', today: new Date('2026-12-01') }));
      }),
      settings,
    ));
});

describe('the whole analysis over an app of fuzzed files', () => {
  const FILES = ['requirements.txt', 'base.txt', 'dev.txt', 'runtime.txt', '.python-version', 'Pipfile', 'Pipfile.lock', 'pyproject.toml', 'poetry.lock', 'uv.lock', 'setup.py', 'Procfile', 'manage.py', 'app.py'];
  const content = (name: string): fc.Arbitrary<string> => {
    if (name.endsWith('.txt') && name !== 'runtime.txt') return soup(REQUIREMENTS, 30);
    if (name === 'Procfile') return soup(PROCFILE, 30);
    if (name === 'Pipfile.lock') return soup(JSON_TOKENS, 30);
    if (name === 'runtime.txt' || name === '.python-version') return soup(VERSIONISH, 10);
    return soup(TOML, 40);
  };
  const app: fc.Arbitrary<AppSnapshot> = fc
    .uniqueArray(fc.constantFrom(...FILES), { minLength: 1, maxLength: 6 })
    .chain((names) => fc.tuple(fc.constant(names), fc.tuple(...names.map(content))))
    .map(([names, texts]) => ({
      entries: names.map((name) => ({ name, kind: 'file' as const })),
      files: Object.fromEntries(names.map((n, i) => [n, { ok: true as const, bytes: Buffer.from(texts[i]!) }])),
      vendoredWheels: [],
      wsgiPackages: [],
    }));
  const env = fc.record({ BP_PYTHON_VERSION: soup(VERSIONISH, 6), BP_PIPENV_DEV: fc.constantFrom('true', 'false', 'yes'), BP_PYTHON_SQLITE: fc.constantFrom('true', 'false', 'maybe') }, { requiredKeys: [] });
  const plan = fc.array(fc.record({ version: soup(VERSIONISH, 8), 'version-source': fc.constantFrom('other-buildpack', 'runtime.txt') }), { maxLength: 2 });

  it('detect never throws; the build analysis returns or throws a UserError', () => {
    const { manifest, metadata } = repositoryBuildpack();
    fc.assert(
      fc.property(app, env, plan, (snapshot, e, requirements) => {
        detect(snapshot, e); // detect leaves every diagnosis to build: it never throws
        const input: BuildInputs = {
          app: snapshot,
          env: e,
          target: AMD64,
          plan: { entries: requirements.map((metadata) => ({ name: 'python', metadata })) },
          manifest,
          bindings: [],
          pins: { pip: String(metadata['pip-version']), uv: String(metadata['uv-version']) },
          today: new Date('2026-12-01'),
        };
        holds(() => analyse(input));
      }),
      settings,
    );
  });
});

