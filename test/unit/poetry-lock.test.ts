// poetry.lock freshness during analysis (src/managers/poetry-lock.ts): the content-hash computed
// as the pinned Poetry computes it. The expected hashes are Poetry 2.5.1's own
// (Locker._get_content_hash on these documents, with and without [dependency-groups]).
import { parseToml } from '../../src/cnb/toml';
import { poetryContentHash, poetryLockFreshness, pythonJsonDumps } from '../../src/managers/poetry-lock';

// The poetry-flask fixture: a [tool.poetry]-only project (the legacy keys hashed, null when absent).
const TOOL_POETRY = `[tool.poetry]
package-mode = false

[tool.poetry.dependencies]
python = "^3.11"
flask = "3.1.3"
gunicorn = "27.0.1"

[tool.poetry.group.dev.dependencies]
python-dotenv = "1.2.4"

[[tool.poetry.source]]
name = "loopback"
url = "http://127.0.0.1:9/simple/"
priority = "primary"
`;
// PEP 621 [project] with [dependency-groups], non-ASCII names and an inline table.
const PEP621 = `[project]
name = "café-app"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["flask==3.1.3", "naïve-pkg>=1 ; python_version < '3.12'"]

[project.optional-dependencies]
extra = ["requests"]

[dependency-groups]
dev = ["pytest", { include-group = "lint" }]
lint = ["ruff"]

[tool.poetry]
package-mode = true

[tool.poetry.group.test.dependencies]
coverage = { version = "*", optional = true, extras = ["toml"] }

[build-system]
requires = ["poetry-core>=2"]
build-backend = "poetry.core.masonry.api"
`;
// Keys out of order, an astral character and an extras table.
const UNICODE = `[tool.poetry]
name = "x"

[tool.poetry.dependencies]
python = "^3.11"
emoji = { version = "1.0", markers = "platform_machine == '\\u00e9😀'" }
"z-pkg" = "*"
"A-pkg" = "*"

[tool.poetry.extras]
all = ["emoji"]
`;

describe('Poetry content-hash', () => {
  it('is what Poetry 2.5.1 computes, with and without [dependency-groups]', () => {
    expect(poetryContentHash(parseToml(TOOL_POETRY))).toBe('2c65f1b62cd27019b4725add5e51904a65bdfc0379117de788a974add91b3061');
    expect(poetryContentHash(parseToml(PEP621))).toBe('3f333ec794df5f98e0c8807106e08a6161f82d3bce26888cba12dbafec99bc0c');
    expect(poetryContentHash(parseToml(PEP621), false)).toBe('328044b407eef8d55fd5f3437a7ea539d0e7a13517eae44430ea9069eba218ab');
    expect(poetryContentHash(parseToml(UNICODE))).toBe('b88256084098af235744d86f4f20ae2a4a3db5552a0487919f14c1940c54d6ac');
  });

  it("prints JSON as Python's json.dumps(sort_keys=True): separators, ASCII escapes, code point order", () => {
    expect(pythonJsonDumps({ b: [true, null], a: 'é😀\u007f"\n' })).toBe('{"a": "\\u00e9\\ud83d\\ude00\\u007f\\"\\n", "b": [true, null]}');
    expect(pythonJsonDumps({})).toBe('{}');
  });

  it('a lock made from another pyproject.toml is stale; the same one, or the hash without groups, is fresh', () => {
    const pyproject = parseToml(PEP621);
    expect(poetryLockFreshness(pyproject, { metadata: { 'content-hash': '3f333ec794df5f98e0c8807106e08a6161f82d3bce26888cba12dbafec99bc0c' } })).toEqual({ state: 'fresh' });
    expect(poetryLockFreshness(pyproject, { metadata: { 'content-hash': '328044b407eef8d55fd5f3437a7ea539d0e7a13517eae44430ea9069eba218ab' } })).toEqual({ state: 'fresh' });
    const changed = parseToml(PEP621.replace('"flask==3.1.3"', '"flask==3.1.2"'));
    expect(poetryLockFreshness(changed, { metadata: { 'content-hash': '3f333ec794df5f98e0c8807106e08a6161f82d3bce26888cba12dbafec99bc0c' } })).toMatchObject({ state: 'stale', locked: '3f333ec794df5f98e0c8807106e08a6161f82d3bce26888cba12dbafec99bc0c' });
  });

  it('undecidable cases are left to Poetry: no content-hash, or numbers and dates in the hashed parts', () => {
    expect(poetryLockFreshness(parseToml(TOOL_POETRY), { metadata: {} })).toEqual({ state: 'unknown' });
    const withNumber = parseToml('[tool.poetry.dependencies]\npython = 3.0\n');
    expect(poetryContentHash(withNumber)).toBeUndefined();
    expect(poetryLockFreshness(withNumber, { metadata: { 'content-hash': 'x' } })).toEqual({ state: 'unknown' });
  });
});
