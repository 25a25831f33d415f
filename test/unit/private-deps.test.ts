// Private dependencies: the pure parts of src/private-deps.ts (key decoding and checks, host lists,
// known_hosts, the ssh_config, failure explanations) and the secret scan helper
// (test/helpers/secret-scan.ts), which must be able to fail.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { UserError } from '../../src/errors';
import { userError } from '../helpers/user-error';
import {
  decodeCustomSshKey,
  explainInstallFailure,
  keyProblem,
  knownHostsFingerprints,
  parseHostList,
  parseKnownHosts,
  redactedIndexUrls,
  sshConfigText,
  sshSources,
} from '../../src/private-deps';
import { keySecrets, passwordSecrets, scanForSecrets } from '../helpers/secret-scan';

function sshString(s: string | Buffer): Buffer {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'latin1');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** An OpenSSH-format key whose header says cipher/kdf (the rest is filler: only the header is read). */
function opensshKey(cipher: string, kdf: string): string {
  const blob = Buffer.concat([Buffer.from('openssh-key-v1\0', 'latin1'), sshString(cipher), sshString(kdf), sshString(kdf === 'none' ? '' : Buffer.alloc(24, 7)), Buffer.from([0, 0, 0, 1]), sshString(Buffer.alloc(51, 3)), sshString(Buffer.alloc(160, 9))]);
  const b64 = blob.toString('base64').replace(/(.{70})/g, '$1\n').trimEnd();
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

const PLAIN = opensshKey('none', 'none');
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('CUSTOM_SSH_KEY decoding', () => {
  it('accepts base64 -w0 and wrapped base64, and ends the key with a newline', () => {
    expect(decodeCustomSshKey(b64(PLAIN))).toBe(PLAIN);
    const wrapped = b64(PLAIN).replace(/(.{76})/g, '$1\n');
    expect(wrapped).toContain('\n');
    expect(decodeCustomSshKey(`${wrapped}\n`)).toBe(PLAIN);
    expect(decodeCustomSshKey(b64(PLAIN.trimEnd()))).toBe(PLAIN);
    expect(decodeCustomSshKey(b64(PLAIN.replace(/\n/g, '\r\n')))).toBe(PLAIN);
  });

  it.each([
    ['a PEM key as it is', PLAIN, /holds a PEM key as it is/],
    ['not base64', 'this is not base64!', /not valid base64: a character that base64 does not use at position 19/],
    ['misplaced padding', 'QUJD=RA==', /misplaced padding/],
    ['empty', '   ', /holds nothing/],
  ])('rejects %s, without quoting the value', (_name, value, message) => {
    const e = userError(() => decodeCustomSshKey(value));
    expect(e.message).toMatch(message);
    expect(e.message).toContain('base64 -w0 < deploy_key');
    if (value.trim().length > 8) expect(e.message).not.toContain(value.trim().slice(0, 12));
  });
});

describe('key checks', () => {
  it('an unencrypted OpenSSH key and PKCS#8/PEM keys pass', () => {
    expect(keyProblem(PLAIN, 'CUSTOM_SSH_KEY')).toBeUndefined();
    expect(keyProblem('-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n', 'k')).toBeUndefined();
  });
  it.each([
    ['an OpenSSH key with a passphrase (aes256-ctr, bcrypt)', opensshKey('aes256-ctr', 'bcrypt'), /protected by a passphrase/],
    ['a PKCS#8 encrypted key', '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----\n', /protected by a passphrase/],
    ['a legacy PEM key with Proc-Type ENCRYPTED', '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nabc\n-----END RSA PRIVATE KEY-----\n', /protected by a passphrase/],
    ['a public key', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFNXpW9nWIGTGANdQy3Z0RZchdmYQGikXHeuUst89YHF me@host\n', /is a public key/],
    ['some text', 'hello world\n', /is not a private key/],
    ['a damaged OpenSSH key', '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n', /content is damaged/],
  ])('rejects %s', (_name, key, message) => {
    expect(keyProblem(key, 'CUSTOM_SSH_KEY')?.message).toMatch(message);
  });
});

describe('host lists', () => {
  it('parses names and addresses, trimmed, lower-cased, deduplicated', () => {
    expect(parseHostList(' github.com, GitLab.example.com ,127.0.0.1,::1,github.com', 'CUSTOM_SSH_KEY_HOSTS')).toEqual(['github.com', 'gitlab.example.com', '127.0.0.1', '::1']);
    expect(parseHostList('a.example\nb.example', 'hosts', /[,\n]/)).toEqual(['a.example', 'b.example']);
  });
  it.each([
    [undefined, /is empty/],
    ['', /is empty/],
    ['github.com,,gitlab.com', /Entry 2 .* is empty/],
    ['github.com,', /Entry 2 .* is empty/],
    ['git@github.com', /contains "@"/],
    ['github.com:2222', /has a port/],
    ['*.example.com', /is a pattern/],
    ['https://github.com/org', /contains "\/"|has a port/],
    ['git hub.com', /contains a space/],
    ['-bad.example', /not a valid host name/],
  ])('rejects %p', (value, message) => {
    expect(userError(() => parseHostList(value, 'CUSTOM_SSH_KEY_HOSTS')).message).toMatch(message);
  });
});

describe('known_hosts', () => {
  const line = '[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFNXpW9nWIGTGANdQy3Z0RZchdmYQGikXHeuUst89YHF';
  it('keeps lines, skips comments; fingerprints as ssh-keygen -lf', () => {
    expect(parseKnownHosts(`# scanned\n${line}\n\n`, 'CUSTOM_SSH_KNOWN_HOSTS')).toEqual([line]);
    expect(knownHostsFingerprints(line)).toEqual([expect.stringMatching(/^SHA256:[A-Za-z0-9+/]{43} \[127\.0\.0\.1\]:2222 \(ED25519\)$/)]);
  });
  it('rejects a malformed line and an empty value', () => {
    expect(userError(() => parseKnownHosts('github.com\n', 'CUSTOM_SSH_KNOWN_HOSTS')).message).toMatch(/Line 1 of CUSTOM_SSH_KNOWN_HOSTS is not a known_hosts line/);
    expect(userError(() => parseKnownHosts('# nothing\n', 'CUSTOM_SSH_KNOWN_HOSTS')).message).toMatch(/holds no known_hosts line/);
  });
});

describe('ssh_config', () => {
  it('configures exactly the listed hosts, pinned or accept-new, never "no"', () => {
    const text = sshConfigText(
      [
        { hosts: ['github.com', '127.0.0.1'], identityFile: '/tmp/d/key-1', pinned: true },
        { hosts: ['gitlab.example'], identityFile: '/tmp/d/key 2', pinned: false },
      ],
      '/tmp/d/known_hosts',
    );
    expect(text).toContain('Host github.com 127.0.0.1\n  IdentityFile "/tmp/d/key-1"\n  IdentitiesOnly yes\n  UserKnownHostsFile "/tmp/d/known_hosts"\n  StrictHostKeyChecking yes\n');
    expect(text).toContain('Host gitlab.example\n  IdentityFile "/tmp/d/key 2"');
    expect(text).toContain('StrictHostKeyChecking accept-new');
    expect(text).not.toMatch(/StrictHostKeyChecking no|Host \*/);
  });
});

describe('sources', () => {
  it('CUSTOM_SSH_KEY with hosts, pins from CUSTOM_SSH_KNOWN_HOSTS; an ssh binding', () => {
    const sources = sshSources(
      { CUSTOM_SSH_KEY: b64(PLAIN), CUSTOM_SSH_KEY_HOSTS: 'github.com', CUSTOM_SSH_KNOWN_HOSTS: 'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFNXpW9nWIGTGANdQy3Z0RZchdmYQGikXHeuUst89YHF' },
      [{ name: 'deploy', type: 'ssh', entries: { 'ssh-privatekey': PLAIN, hosts: 'gitlab.example\n' } }],
    );
    expect(sources.map((s) => [s.origin, s.hosts, s.knownHosts !== undefined])).toEqual([
      ['CUSTOM_SSH_KEY', ['github.com'], true],
      ["the ssh binding 'deploy'", ['gitlab.example'], false],
    ]);
  });
  it.each([
    [{ CUSTOM_SSH_KEY: b64(PLAIN) }, /CUSTOM_SSH_KEY_HOSTS is empty/],
    [{ CUSTOM_SSH_KEY_HOSTS: 'github.com' }, /set without CUSTOM_SSH_KEY/],
    [{ CUSTOM_SSH_KEY: b64(opensshKey('aes256-ctr', 'bcrypt')), CUSTOM_SSH_KEY_HOSTS: 'github.com' }, /protected by a passphrase/],
  ])('rejects %p', (env, message) => {
    expect(userError(() => sshSources(env, [])).message).toMatch(message);
  });
  it('an ssh binding without a key or hosts', () => {
    expect(userError(() => sshSources({}, [{ name: 'b', type: 'ssh', entries: { hosts: 'x.example' } }])).message).toMatch(/has no ssh-privatekey/);
    expect(userError(() => sshSources({}, [{ name: 'b', type: 'ssh', entries: { 'ssh-privatekey': PLAIN } }])).message).toMatch(/hosts file is empty/);
  });
});

describe('failure explanations', () => {
  const pipError = new UserError('Could not install the dependencies from requirements.txt', ['pip exited with code 1', '  × git clone --filter=blob:none --quiet ssh://pygit@127.0.0.1:2222/srv/git/p.git /tmp/x did not run successfully.']);
  const output = [
    "      Running command git clone --filter=blob:none --quiet 'ssh://pygit@127.0.0.1:2222/srv/git/p.git' /tmp/pip-req-build-x",
    '      pygit@127.0.0.1: Permission denied (publickey).',
    '      fatal: Could not read from remote repository.',
    '',
    '      Please make sure you have the correct access rights',
    '      and the repository exists.',
  ].join('\n');
  const sources = [{ origin: 'CUSTOM_SSH_KEY', hosts: ['127.0.0.1'], pinWith: 'CUSTOM_SSH_KNOWN_HOSTS', fingerprint: 'ED25519 SHA256:abc' }];

  it('authentication failure: names the host and the key, shows git, keeps pip', () => {
    const e = explainInstallFailure(pipError, output, { sources }) as UserError;
    expect(e.title).toBe('SSH authentication to 127.0.0.1 failed');
    expect(e.body.join('\n')).toContain('pygit@127.0.0.1: Permission denied (publickey).');
    expect(e.body.join('\n')).toContain('fatal: Could not read from remote repository.');
    expect(e.body.join('\n')).toContain('deploy key');
    expect(e.body.join('\n')).toContain('ED25519 SHA256:abc');
    expect(e.body).toEqual(expect.arrayContaining(pipError.body));
  });
  it('a host without a key says so', () => {
    const e = explainInstallFailure(pipError, output, { sources: [{ ...sources[0]!, hosts: ['github.com'] }] }) as UserError;
    expect(e.body.join('\n')).toContain('127.0.0.1 is not among the hosts an SSH key is configured for (github.com)');
    expect((explainInstallFailure(pipError, output, { sources: [] }) as UserError).body.join('\n')).toContain('No SSH key is configured');
  });
  it('host key verification failure', () => {
    const e = explainInstallFailure(pipError, "git clone 'ssh://pygit@127.0.0.1:2222/x'\nHost key verification failed.\nfatal: Could not read from remote repository.", { sources: [{ ...sources[0]!, knownHosts: 'x' }] }) as UserError;
    expect(e.title).toBe('The SSH host key of 127.0.0.1 is not trusted');
    expect(e.body.join('\n')).toContain('ssh-keyscan -p 2222 127.0.0.1');
  });
  it('401 from an index; anything else unchanged', () => {
    expect((explainInstallFailure(pipError, 'WARNING: 401 Client Error: Unauthorized for url: http://127.0.0.1/simple/six/', { sources: [] }) as UserError).title).toBe('The package index refused the credentials');
    expect(explainInstallFailure(pipError, 'ERROR: No matching distribution found for nope', { sources })).toBe(pipError);
    const internal = new Error('bug');
    expect(explainInstallFailure(internal, output, { sources })).toBe(internal);
  });
  it('index URLs are only ever shown redacted', () => {
    expect(redactedIndexUrls('https://user:s3cret@index.example/simple/ https://plain.example/simple/')).toEqual(['https://***:***@index.example/simple/']);
  });
});

describe('secret scan (test/helpers/secret-scan.ts)', () => {
  const pem = opensshKey('none', 'none');
  const secrets = [...keySecrets('deploy key', pem), ...passwordSecrets('index password', 'user', 'pw-0123456789')];
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secret-scan-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds nothing in clean files', async () => {
    fs.writeFileSync(path.join(dir, 'a.txt'), 'nothing to see '.repeat(10000));
    fs.writeFileSync(path.join(dir, 'b.gz'), gzipSync(Buffer.from('still nothing')));
    const r = await scanForSecrets({ secrets, roots: [dir], texts: { log: 'a log' } });
    expect(r.findings).toEqual([]);
    expect(r.files).toBe(2);
    expect(r.gunzipped).toBe(1);
  });

  it('finds any 32-character slice of the key, inside gzip, across chunk boundaries, in texts; skips excluded paths', async () => {
    const body = pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
    const slice = body.slice(40, 72);
    fs.writeFileSync(path.join(dir, 'layer-file'), `prefix ${slice} suffix`);
    const pad = Buffer.alloc(4 * 1024 * 1024 - 10, 0x61); // the slice straddles the 4 MiB read chunks
    fs.writeFileSync(path.join(dir, 'big'), Buffer.concat([pad, Buffer.from(slice), pad]));
    fs.writeFileSync(path.join(dir, 'blob'), gzipSync(Buffer.from(`tar-ish ${Buffer.from(pem).toString('base64').slice(100, 140)}`)));
    fs.mkdirSync(path.join(dir, 'env'));
    fs.writeFileSync(path.join(dir, 'env', 'CUSTOM_SSH_KEY'), pem);
    const r = await scanForSecrets({ secrets, roots: [dir], exclude: [path.join(dir, 'env')], texts: { 'build log': 'x pw-0123456789 y' } });
    expect(r.findings.map((f) => [path.basename(f.where), f.label]).sort()).toEqual(
      [
        ['big', 'deploy key (PEM body)'],
        ['blob (gunzipped)', 'deploy key (base64 of the key file)'],
        ['build log', 'index password'],
        ['layer-file', 'deploy key (PEM body)'],
      ].sort(),
    );
    expect(r.findings.find((f) => f.where.endsWith('big'))?.offset).toBe(pad.length);
  });

  it('windows shared with a reference key (the common header) are not searched; the rest is', async () => {
    const other = opensshKey('none', 'none').replace(/AwMDAw/g, 'BAQEBA'); // same header, other key bytes
    const mine = keySecrets('k', pem, undefined, other);
    const body = pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
    fs.writeFileSync(path.join(dir, 'header'), body.slice(0, 40));
    expect((await scanForSecrets({ secrets: mine, roots: [dir] })).findings).toEqual([]);
    expect((await scanForSecrets({ secrets: keySecrets('k', pem), roots: [dir] })).findings).toHaveLength(1);
  });

  it('a 31-character slice is not a finding (the window is 32)', async () => {
    const body = pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
    fs.writeFileSync(path.join(dir, 'f'), `${body.slice(10, 41)}`);
    expect((await scanForSecrets({ secrets, roots: [dir] })).findings).toEqual([]);
  });
});
