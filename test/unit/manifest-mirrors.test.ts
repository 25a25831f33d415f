import { buildpackManifest, forTarget, mergeManifests, parseOperatorManifest } from '../../src/python/manifest';
import { applyMirror, mirrorsFromBinding, mirrorsFromEnv } from '../../src/python/mirrors';
import { parseTomlAs } from '../../src/cnb/toml';
import { BuildpackDescriptor } from '../../src/cnb/schemas';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const entry = (version: string, arch = 'amd64', uri = `https://github.com/astral-sh/pbs/${version}.tar.gz`) => `[[dependencies]]\nid = "python"\nversion = "${version}"\narch = "${arch}"\nuri = "${uri}"\nchecksum = "sha256:${'b'.repeat(64)}"\n`;

describe('manifest', () => {
  const own = buildpackManifest(parseTomlAs(BuildpackDescriptor, readFileSync(path.join(__dirname, '..', '..', 'buildpack.toml'), 'utf8')).metadata ?? {});

  it('the generated buildpack.toml manifest is valid and covers both arches, 3.9.2 and 3.8.8', () => {
    const versions = (arch: string) => forTarget(own, 'python', { os: 'linux', arch }).map((d) => d.version);
    expect(versions('amd64')).toEqual(expect.arrayContaining(['3.9.2', '3.8.8']));
    expect(versions('arm64').length).toBeGreaterThan(10);
    const old = own.dependencies.find((d) => d.version === '3.9.2');
    expect(old?.prefix).toBe('python/install/');
    expect(old?.uri).toMatch(/\.tar\.zst$/);
  });

  it("an operator manifest's entries replace ours for the ids and arches it lists", () => {
    const op = parseOperatorManifest(`[defaults]\npython = "3.11"\n${entry('3.11.7')}`, 'op.toml');
    const merged = mergeManifests(op, own);
    expect(forTarget(merged, 'python', { os: 'linux', arch: 'amd64' }).map((d) => d.version)).toEqual(['3.11.7']);
    expect(forTarget(merged, 'python', { os: 'linux', arch: 'arm64' }).length).toBeGreaterThan(10);
    expect(merged.defaults.python).toBe('3.11');
  });

  it('a bad entry names itself and the field', () => {
    expect(() => parseOperatorManifest(`[[dependencies]]\nid = "python"\nversion = "3.11.7"\nuri = "https://x/y.tgz"\nchecksum = "md5:abc"\n`, 'op.toml')).toThrow(/Invalid dependency manifest/);
    expect(() => parseOperatorManifest('[[dependencies]\n', 'op.toml')).toThrow(/not valid TOML/);
  });

  it('distro-specific entries only match that distro', () => {
    const m = parseOperatorManifest(`${entry('3.52.0')}[[dependencies.distros]]\nname = "ubuntu"\nversion = "24.04"\n`, 'op');
    expect(forTarget(m, 'python', { os: 'linux', arch: 'amd64', distroName: 'ubuntu', distroVersion: '24.04' })).toHaveLength(1);
    expect(forTarget(m, 'python', { os: 'linux', arch: 'amd64', distroName: 'debian', distroVersion: '12' })).toHaveLength(0);
  });
});

describe('dependency mirrors (Paketo-compatible)', () => {
  const uri = 'https://github.com/astral-sh/python-build-standalone/releases/download/x/cpython.tar.gz';
  it('default mirror with {originalHost}', () => {
    expect(applyMirror(uri, [mirrorsFromEnv({ BP_DEPENDENCY_MIRROR: 'https://mirror.corp/{originalHost}' })]).url).toBe('https://mirror.corp/github.com/astral-sh/python-build-standalone/releases/download/x/cpython.tar.gz');
  });
  it('host-specific mirror wins over the default; "_" is "." and "__" is "-"', () => {
    const env = { BP_DEPENDENCY_MIRROR: 'https://all.corp', BP_DEPENDENCY_MIRROR_GITHUB_COM: 'https://gh.corp/base', BP_DEPENDENCY_MIRROR_MY__HOST_ORG: 'file:///srv/mirror' };
    expect(applyMirror(uri, [mirrorsFromEnv(env)]).url).toBe('https://gh.corp/base/astral-sh/python-build-standalone/releases/download/x/cpython.tar.gz');
    expect(applyMirror('https://my-host.org/a/b.tgz', [mirrorsFromEnv(env)]).url).toBe('file:///srv/mirror/a/b.tgz');
    expect(applyMirror('https://other.org/a.tgz', [mirrorsFromEnv(env)]).url).toBe('https://all.corp/a.tgz');
  });
  it('env wins over the binding; the binding applies alone', () => {
    const binding = mirrorsFromBinding({ default: 'https://b.corp\n', 'github.com': 'https://gh-b.corp' }, 'mirror');
    expect(applyMirror(uri, [undefined, binding]).url).toMatch(/^https:\/\/gh-b\.corp\/astral-sh/);
    expect(applyMirror(uri, [mirrorsFromEnv({ BP_DEPENDENCY_MIRROR: 'https://env.corp' }), binding]).url).toMatch(/^https:\/\/env\.corp\//);
  });
  it('no mirror: the original URL', () => expect(applyMirror(uri, [mirrorsFromEnv({})])).toEqual({ url: uri }));
  it('plain http is refused unless it is loopback', () => {
    expect(() => applyMirror(uri, [mirrorsFromEnv({ BP_DEPENDENCY_MIRROR: 'http://mirror.corp' })])).toThrow(/https:\/\/ or file:\/\//);
    expect(applyMirror(uri, [mirrorsFromEnv({ BP_DEPENDENCY_MIRROR: 'http://127.0.0.1:8080' })]).url).toMatch(/^http:\/\/127\.0\.0\.1:8080\/astral-sh/);
  });
});
