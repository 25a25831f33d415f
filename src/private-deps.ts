// Private dependencies: what the dependency install needs to reach private git repositories over
// SSH and private package indexes over HTTPS, without any secret reaching a layer, layer metadata,
// launch.toml, the cache, the image or the log.
//
// Sources (all optional):
// - CUSTOM_SSH_KEY (base64 of a private key; `base64 -w0` or wrapped) + CUSTOM_SSH_KEY_HOSTS
//   (comma-separated host names), the classic buildpack's interface; CUSTOM_SSH_KNOWN_HOSTS
//   (known_hosts lines) pins the hosts' keys, else they are trusted on first use (accept-new) and
//   the accepted fingerprints are logged with how to pin them.
// - a binding of type `ssh`: `ssh-privatekey` (the key as it is, or base64), `hosts`, optional
//   `known_hosts` (pins).
// - a binding of type `netrc` (`.netrc` or `netrc`) -> NETRC; of type `pip` (`pip.conf`) ->
//   PIP_CONFIG_FILE. PIP_INDEX_URL / PIP_EXTRA_INDEX_URL with `user:password@` pass through as they
//   are; only their redacted form is ever logged.
//
// Every secret file goes into ONE private directory under os.tmpdir() (mode 0700, files 0600),
// outside every layer and outside the app, which is removed when the install ends, whether it
// succeeds or fails (and, as a last resort, when the process exits or is signalled). git reaches
// ssh through GIT_SSH_COMMAND="ssh -F <our ssh_config>": a `Host` block for exactly the listed
// hosts (IdentityFile, IdentitiesOnly, UserKnownHostsFile in the private dir, StrictHostKeyChecking
// yes or accept-new, never no), nothing for other hosts, and ~/.ssh is never read or written.
import { createHash } from 'node:crypto';
import { rmSync, promises as fsp } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Binding } from './cnb/bindings';
import { bindingsOfType } from './cnb/bindings';
import type { Env } from './cnb/context';
import { UserError } from './errors';
import { redactUrl } from './redact';
import { run, which } from './io/exec';
import { baseTmpdir, readSmallFile, removeStaleDirs } from './io/fs';
import { Log, listing } from './log';

export const SECRETS_DIR_PREFIX = 'python-cnb-secrets-';

/** One SSH key and the hosts it is for. */
export interface SshSource {
  /** Where it came from, for messages: "CUSTOM_SSH_KEY" or "the ssh binding 'deploy'". */
  origin: string;
  /** The OpenSSH/PEM private key text (ends with a newline). */
  key: string;
  hosts: string[];
  /** known_hosts lines that pin the hosts' keys; undefined: trust on first use. */
  knownHosts?: string;
  /** Where to tell the user to put known_hosts lines. */
  pinWith: string;
}

// -- pure parts ---------------------------------------------------------------------------------

/** CUSTOM_SSH_KEY: base64 of the key, `base64 -w0` or wrapped (whitespace ignored). Never quotes the value. */
export function decodeCustomSshKey(value: string, name = 'CUSTOM_SSH_KEY'): string {
  const trimmed = value.trim();
  const how = `Set ${name} to the base64 encoding of the private key file, for example the output of: base64 -w0 < deploy_key (wrapped base64 works too).`;
  if (!trimmed) throw new UserError(`${name} is empty`, [`${name} is set but holds nothing.`, how]);
  if (trimmed.startsWith('-----BEGIN')) {
    throw new UserError(`${name} is not base64`, [`${name} holds a PEM key as it is, not its base64 encoding.`, how]);
  }
  const compact = trimmed.replace(/\s+/g, '');
  const bad = trimmed.search(/[^A-Za-z0-9+/=\s]/);
  const padding = compact.indexOf('=');
  if (bad >= 0 || (padding >= 0 && !/^={1,2}$/.test(compact.slice(padding))) || compact.length % 4 === 1) {
    const where = bad >= 0 ? `a character that base64 does not use at position ${bad + 1}` : 'misplaced padding or a truncated value';
    throw new UserError(`${name} is not base64`, [`${name} (${compact.length} characters) is not valid base64: ${where}.`, how]);
  }
  const text = Buffer.from(compact, 'base64').toString('utf8').replace(/\r\n/g, '\n');
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** Why a key cannot be used (pure checks; `ssh-keygen -y` confirms at build time), or undefined. */
export function keyProblem(key: string, origin: string): UserError | undefined {
  const fix = `Use the private half of a key pair made without a passphrase, for example: ssh-keygen -t ed25519 -N '' -f deploy_key (then add deploy_key.pub to the repository as a deploy key).`;
  if (/^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-\S+|sk-\S+) AAAA/m.test(key) && !/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(key)) {
    return new UserError(`${origin} is a public key`, [`${origin} holds a public key (the .pub file); the build needs the private key.`, fix]);
  }
  const begin = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----/.exec(key);
  if (!begin) return new UserError(`${origin} is not a private key`, [`${origin} decodes to something that is not a private key (no "-----BEGIN ... PRIVATE KEY-----" line).`, fix]);
  const encrypted = keyProblemEncrypted(origin);
  if (begin[1] === 'ENCRYPTED ' || /^Proc-Type: 4,ENCRYPTED/m.test(key)) return encrypted;
  if (begin[1] === 'OPENSSH ') {
    const body = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(key)?.[1]?.replace(/\s+/g, '') ?? '';
    const blob = Buffer.from(body, 'base64');
    const magic = Buffer.from('openssh-key-v1\0', 'latin1');
    if (blob.length < magic.length + 8 || !blob.subarray(0, magic.length).equals(magic)) {
      return new UserError(`${origin} is not a private key`, [`${origin} has an OpenSSH key header but its content is damaged (it does not start with openssh-key-v1).`, fix]);
    }
    let at = magic.length;
    const str = (): string => {
      const len = blob.readUInt32BE(at);
      const s = blob.subarray(at + 4, at + 4 + len).toString('latin1');
      at += 4 + len;
      return s;
    };
    try {
      const cipher = str();
      const kdf = str();
      if (cipher !== 'none' || kdf !== 'none') return encrypted;
    } catch {
      return new UserError(`${origin} is not a private key`, [`${origin} has an OpenSSH key header but its content is truncated.`, fix]);
    }
  }
  return undefined;
}

const LABEL = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/;

/** CUSTOM_SSH_KEY_HOSTS / a binding's `hosts`: host names or IP addresses, comma (or line) separated. */
export function parseHostList(value: string | undefined, origin: string, separators: RegExp = /,/): string[] {
  const example = `${origin} lists the hosts the key is for, comma-separated, for example "github.com,gitlab.example.com".`;
  if (value === undefined || value.trim() === '') {
    throw new UserError(`${origin} is empty`, [`An SSH key is configured, but ${origin} names no host, so it would be used nowhere.`, example]);
  }
  const parts = value.trim().split(separators).map((p) => p.trim());
  const hosts: string[] = [];
  parts.forEach((p, i) => {
    const problem = hostProblem(p);
    if (problem) throw new UserError(`Malformed host in ${origin}`, [`Entry ${i + 1} of ${origin} ("${p.slice(0, 80)}") ${problem}.`, example]);
    if (!hosts.includes(p.toLowerCase())) hosts.push(p.toLowerCase());
  });
  return hosts;
}

function hostProblem(h: string): string | undefined {
  if (h === '') return 'is empty (two separators in a row, or one at an end)';
  if (net.isIP(h)) return undefined;
  if (/\s/.test(h)) return 'contains a space';
  if (h.includes('@')) return 'contains "@": list the host name only (the user comes from the requirement URL)';
  if (/^[^:]+:\d+$/.test(h)) return 'has a port: list the host name only (the port comes from the requirement URL, and the key is used for every port of the host)';
  if (/[*?!]/.test(h)) return 'is a pattern: list each host by its name';
  if (h.includes('/')) return 'contains "/": list the host name, not a URL';
  const name = h.endsWith('.') ? h.slice(0, -1) : h;
  if (name.length > 253 || !name.split('.').every((l) => LABEL.test(l))) return 'is not a valid host name';
  return undefined;
}

/** Validates known_hosts text (lines of `hosts keytype base64`, comments and markers allowed). */
export function parseKnownHosts(text: string, origin: string): string[] {
  const lines: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    const [hostsField, type, key] = fields[0]?.startsWith('@') ? fields.slice(1) : fields;
    if (!hostsField || !type || !key || !/^[A-Za-z0-9+/]+={0,2}$/.test(key) || !/^[a-z0-9@.-]+$/.test(type)) {
      throw new UserError(`Malformed line in ${origin}`, [`Line ${i + 1} of ${origin} is not a known_hosts line ("<host> <key type> <base64 key>").`, 'Take the lines from the output of: ssh-keyscan <host> (or ssh-keyscan -p <port> <host>), after checking them.']);
    }
    lines.push(line);
  });
  if (!lines.length) throw new UserError(`${origin} is empty`, [`${origin} is set but holds no known_hosts line.`, 'Take the lines from the output of: ssh-keyscan <host>, after checking them; or unset it to trust the hosts on first use.']);
  return lines;
}

/** `ssh-keygen -lf` for known_hosts lines: "SHA256:... [host]:port (ED25519)". */
export function knownHostsFingerprints(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const fields = raw.trim().split(/\s+/);
    const [hostsField, type, key] = fields[0]?.startsWith('@') ? fields.slice(1) : fields;
    if (!hostsField || !type || !key || hostsField.startsWith('#')) continue;
    const digest = createHash('sha256').update(Buffer.from(key, 'base64')).digest('base64').replace(/=+$/, '');
    out.push(`SHA256:${digest} ${hostsField} (${type.replace(/^ssh-/, '').replace(/^ecdsa-sha2-.*/, 'ECDSA').toUpperCase()})`);
  }
  return out;
}

/** The fingerprint of an OpenSSH public key line ("ssh-ed25519 AAAA... comment"). */
export function publicKeyFingerprint(publicKey: string): string {
  const [type, key] = publicKey.trim().split(/\s+/);
  const digest = createHash('sha256').update(Buffer.from(key ?? '', 'base64')).digest('base64').replace(/=+$/, '');
  return `${(type ?? '').replace(/^ssh-/, '').replace(/^ecdsa-sha2-.*/, 'ECDSA').toUpperCase()} SHA256:${digest}`;
}

function quoteConfigPath(p: string): string {
  return `"${p.replace(/(["\\])/g, '\\$1')}"`;
}

/** The ssh_config: one block per key, for exactly its hosts; nothing for any other host. */
export function sshConfigText(blocks: ReadonlyArray<{ hosts: string[]; identityFile: string; pinned: boolean }>, knownHostsFile: string): string {
  const lines = ['# Written by python-cnb for the dependency install; removed when the install ends.'];
  for (const b of blocks) {
    lines.push(
      `Host ${b.hosts.join(' ')}`,
      `  IdentityFile ${quoteConfigPath(b.identityFile)}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${quoteConfigPath(knownHostsFile)}`,
      `  StrictHostKeyChecking ${b.pinned ? 'yes' : 'accept-new'}`,
      '  BatchMode yes',
      '  PasswordAuthentication no',
      '  KbdInteractiveAuthentication no',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Shell-quotes one word for GIT_SSH_COMMAND (git runs it through sh). */
function shQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Credentials in a URL-list variable, redacted ("http://***:***@host/simple/"). */
export function redactedIndexUrls(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(/\s+/)
    .filter((u) => /\/\/[^/@\s]*@/.test(u))
    .map((u) => redactUrl(u));
}

const GIT_LINE = /Permission denied|fatal:|Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|Offending .* key|No [A-Z0-9]+ host key is known|Could not read from remote repository|make sure you have the correct access rights|and the repository exists|Connection refused|Could not resolve hostname|Connection timed out/;

export interface FailureContext {
  sources: ReadonlyArray<Pick<SshSource, 'origin' | 'hosts' | 'knownHosts' | 'pinWith'> & { fingerprint?: string }>;
}

/**
 * A clearer error for a failed install whose output shows an SSH problem (authentication, host
 * key) or a refused index login. Keeps pip's own lines. Returns the error unchanged otherwise.
 */
export function explainInstallFailure(error: unknown, output: string, ctx: FailureContext): unknown {
  if (!(error instanceof UserError)) return error;
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const gitLines = [...new Set(lines.filter((l) => GIT_LINE.test(l)))].slice(0, 10);
  const pipPart = ['', ...error.body];
  const denied = lines.map((l) => /^(?:(\S+)@)?(\S+?): Permission denied \(([^)]*)\)/.exec(l)).find(Boolean);
  const hostKeyFailed = lines.some((l) => /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No [A-Z0-9]+ host key is known/.test(l));
  const url = lines.map((l) => /ssh:\/\/(?:[^@/\s'"]+@)?(\[[^\]]+\]|[^:/\s'"]+)(?::(\d+))?/.exec(l)).find(Boolean);
  const host = (denied?.[2] ?? url?.[1] ?? '').replace(/^\[|\]$/g, '').toLowerCase();
  const port = url?.[2];
  const source = ctx.sources.find((s) => s.hosts.includes(host));
  const configured = ctx.sources.flatMap((s) => s.hosts);
  const notListed = !ctx.sources.length
    ? ['No SSH key is configured. Set CUSTOM_SSH_KEY (the private key, base64) and CUSTOM_SSH_KEY_HOSTS, or add a binding of type ssh (ssh-privatekey, hosts).']
    : [`${host} is not among the hosts an SSH key is configured for (${listing(configured)}), so no key was offered to it: add it to CUSTOM_SSH_KEY_HOSTS (or the ssh binding's hosts).`];
  if (denied) {
    return new UserError(`SSH authentication to ${host} failed`, [
      `git could not fetch a requirement over SSH: ${host} did not accept ${source ? `the key from ${source.origin}${source.fingerprint ? ` (${source.fingerprint})` : ''}` : 'any key'}. What git reported:`,
      ...gitLines.map((l) => `  ${l}`),
      '',
      ...(source
        ? [`Check that the public half of that key is a deploy key of the repository on ${host} (read access is enough) or an authorized key of the user in the requirement URL, and that ${source.origin} holds the matching private key.`]
        : notListed),
      ...pipPart,
    ]);
  }
  if (hostKeyFailed) {
    const scan = `ssh-keyscan ${port ? `-p ${port} ` : ''}${host}`;
    return new UserError(`The SSH host key of ${host} is not trusted`, [
      `ssh refused to connect to ${host}: its host key is not the pinned one, or no key is known for it. What git reported:`,
      ...gitLines.map((l) => `  ${l}`),
      '',
      ...(source?.knownHosts
        ? [`The host keys are pinned by ${source.pinWith}. If the server's key changed legitimately, replace its line there with the checked output of: ${scan}`]
        : source
          ? [`Pin the host key with ${source.pinWith} (the checked output of: ${scan}).`]
          : notListed),
      ...pipPart,
    ]);
  }
  if (lines.some((l) => /\b401\b.*(Unauthori[sz]ed|Error|Credentials)|HTTP error 401/.test(l))) {
    return new UserError('The package index refused the credentials', [
      'The package index answered 401 Unauthorized: it needs credentials, and the ones given were missing or wrong.',
      'Give them in PIP_INDEX_URL (https://user:password@host/simple/, percent-encoding special characters), or with a binding of type netrc (.netrc) or pip (pip.conf). They are never logged.',
      ...pipPart,
    ]);
  }
  return error;
}

// -- the build step -----------------------------------------------------------------------------

export interface PrivateDependencies {
  /** Env additions for the install (no secret values, only paths): GIT_SSH_COMMAND, GIT_TERMINAL_PROMPT, PATH (an ssh wrapper first; from the env given), NETRC, PIP_CONFIG_FILE. */
  env: Record<string, string>;
  /** The log to give the install: writes through, and keeps the output to explain a failure. */
  log: Log;
  /** For `.catch`: rethrows an install failure, explained when it is an SSH or index login problem. */
  rethrow: (error: unknown) => never;
  /** For `.finally`: logs accepted host keys (TOFU), removes the private directory. Idempotent. */
  cleanup: () => Promise<void>;
}

async function bindingFile(root: string, b: Binding, names: string[]): Promise<string | undefined> {
  for (const n of names) {
    if (b.entries[n] !== undefined) return b.entries[n];
    // readBindings skips dotfiles (`.netrc`): read it here.
    const read = await readSmallFile(path.join(root, b.name, n));
    if (read.ok) return read.bytes.toString('utf8');
  }
  return undefined;
}

/** The SSH keys the platform configured (validated; no file written yet). */
export function sshSources(env: Env, bindings: readonly Binding[]): SshSource[] {
  const out: SshSource[] = [];
  const key = env.CUSTOM_SSH_KEY;
  const hosts = env.CUSTOM_SSH_KEY_HOSTS;
  const known = env.CUSTOM_SSH_KNOWN_HOSTS;
  if (key !== undefined) {
    const pem = decodeCustomSshKey(key);
    const problem = keyProblem(pem, 'CUSTOM_SSH_KEY');
    if (problem) throw problem;
    out.push({ origin: 'CUSTOM_SSH_KEY', key: pem, hosts: parseHostList(hosts, 'CUSTOM_SSH_KEY_HOSTS'), ...(known !== undefined ? { knownHosts: parseKnownHosts(known, 'CUSTOM_SSH_KNOWN_HOSTS').join('\n') + '\n' } : {}), pinWith: 'CUSTOM_SSH_KNOWN_HOSTS' });
  } else if (hosts !== undefined) {
    throw new UserError('CUSTOM_SSH_KEY_HOSTS is set without CUSTOM_SSH_KEY', ['CUSTOM_SSH_KEY_HOSTS names the hosts for an SSH key, but CUSTOM_SSH_KEY (the private key, base64) is not set.', 'Set CUSTOM_SSH_KEY (base64 -w0 < deploy_key), or unset CUSTOM_SSH_KEY_HOSTS.']);
  } else if (known !== undefined) {
    throw new UserError('CUSTOM_SSH_KNOWN_HOSTS is set without CUSTOM_SSH_KEY', ['CUSTOM_SSH_KNOWN_HOSTS pins host keys for CUSTOM_SSH_KEY, which is not set.', 'Set CUSTOM_SSH_KEY and CUSTOM_SSH_KEY_HOSTS, or unset CUSTOM_SSH_KNOWN_HOSTS.']);
  }
  for (const b of bindingsOfType(bindings, 'ssh')) {
    const origin = `the ssh binding '${b.name}'`;
    const raw = b.entries['ssh-privatekey'];
    if (raw === undefined || raw.trim() === '') throw new UserError(`${origin} has no ssh-privatekey`, [`A binding of type ssh needs a file ssh-privatekey holding the private key (and hosts; known_hosts to pin host keys).`]);
    const pem = raw.trim().startsWith('-----BEGIN') ? `${raw.replace(/\r\n/g, '\n').trimEnd()}\n` : decodeCustomSshKey(raw, `${origin}'s ssh-privatekey`);
    const problem = keyProblem(pem, `${origin}'s ssh-privatekey`);
    if (problem) throw problem;
    const knownHosts = b.entries.known_hosts;
    out.push({
      origin,
      key: pem,
      hosts: parseHostList(b.entries.hosts, `${origin}'s hosts file`, /[,\n]/),
      ...(knownHosts !== undefined ? { knownHosts: parseKnownHosts(knownHosts, `${origin}'s known_hosts`).join('\n') + '\n' } : {}),
      pinWith: `a known_hosts file in ${origin}`,
    });
  }
  return out;
}

/** `env` is the install's env (its PATH is extended with the ssh wrapper); `bindings` as read by readBindings. */
export async function preparePrivateDependencies(opts: { env: Env; bindings: readonly Binding[]; platformDir: string; log: Log; tmpDir?: string }): Promise<PrivateDependencies> {
  const { env, log } = opts;
  const plainEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) plainEnv[k] = v;
  const ssh = sshSources(env, opts.bindings);
  const netrcBindings = bindingsOfType(opts.bindings, 'netrc');
  const pipBindings = bindingsOfType(opts.bindings, 'pip');
  const bindingRoot = env.SERVICE_BINDING_ROOT || path.join(opts.platformDir, 'bindings');

  const output: string[] = [];
  let outputSize = 0;
  const tapped = new Log((t) => {
    log.write(t);
    output.push(t);
    outputSize += t.length;
    while (outputSize > 256 * 1024 && output.length > 1) outputSize -= output.shift()!.length;
  });
  const failure: FailureContext = { sources: ssh };
  const rethrow = (e: unknown): never => {
    throw explainInstallFailure(e, output.join(''), failure);
  };

  for (const [name, redacted] of [['PIP_INDEX_URL', redactedIndexUrls(env.PIP_INDEX_URL)], ['PIP_EXTRA_INDEX_URL', redactedIndexUrls(env.PIP_EXTRA_INDEX_URL)]] as const) {
    if (redacted.length) log.info(`Private index: ${name} carries credentials (${listing(redacted)}; never logged)`);
  }
  // The TMPDIR the build was given, not the build's scratch inside it: a killed build's secrets
  // must be found there by the next build.
  const tmpDir = opts.tmpDir ?? baseTmpdir();
  // A build killed with SIGKILL (no exit handler runs) leaves its private directory behind; the
  // next build removes it before it writes its own. The directory names its owner's pid, so a
  // build running beside this one keeps its directory.
  const stale = await removeStaleSecretDirs(tmpDir);
  if (stale.length) log.detail(`Removed ${stale.length === 1 ? 'the private directory' : `${stale.length} private directories`} of a build that was killed (${listing(stale)})`);
  if (!ssh.length && !netrcBindings.length && !pipBindings.length) {
    return { env: {}, log: tapped, rethrow, cleanup: async () => undefined };
  }

  const dir = await fsp.mkdtemp(path.join(tmpDir, `${SECRETS_DIR_PREFIX}${process.pid}-`));
  await fsp.chmod(dir, 0o700);
  // Last resort for a process that ends before `cleanup` (the normal path) runs.
  const removeNow = () => rmSync(dir, { recursive: true, force: true });
  const onSignal = (signal: NodeJS.Signals) => {
    removeNow();
    process.removeListener(signal, onSignal);
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.once('exit', removeNow);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  let cleaned = false;
  const knownHostsFile = path.join(dir, 'known_hosts');
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    try {
      const tofu = ssh.filter((s) => !s.knownHosts);
      if (tofu.length) {
        const pinned = new Set(ssh.flatMap((s) => (s.knownHosts ?? '').split('\n').filter(Boolean)));
        const read = await readSmallFile(knownHostsFile);
        const accepted = read.ok ? read.bytes.toString('utf8').split('\n').filter((l) => l.trim() && !pinned.has(l.trim())) : [];
        if (accepted.length) {
          log.info('Host keys accepted on first use (not verified):');
          for (const f of knownHostsFingerprints(accepted.join('\n'))) log.detail(f);
          log.warning('SSH host keys were trusted on first use', [
            `The host keys above were accepted without verification, because ${listing(tofu.map((s) => s.pinWith))} ${tofu.length === 1 ? 'is' : 'are'} not set.`,
            'To pin them (a changed key then fails the build instead of being trusted), check the fingerprints with the server\'s owner and set ' + listing(tofu.map((s) => s.pinWith)) + ' to these lines:',
            ...accepted.map((l) => `  ${l}`),
          ]);
        }
      }
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
      process.removeListener('exit', removeNow);
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', onSignal);
      log.detail(`Removed the private directory ${dir}`);
    }
  };

  try {
    const out: Record<string, string> = {};
    if (ssh.length) {
      const sshPath = await which('ssh', plainEnv);
      const gitPath = await which('git', plainEnv);
      if (!sshPath || !gitPath) {
        throw new UserError(`${listing([...(gitPath ? [] : ['git']), ...(sshPath ? [] : ['ssh'])])} not found in the build image`, [`An SSH key is configured (${listing(ssh.map((s) => s.origin))}), but the build image has no ${gitPath ? 'ssh' : 'git'} on PATH, so git+ssh:// requirements cannot be fetched.`, 'Use a build image with git and an OpenSSH client (openssh-client).']);
      }
      const blocks: Array<{ hosts: string[]; identityFile: string; pinned: boolean }> = [];
      const keygen = await which('ssh-keygen', plainEnv);
      for (const [i, s] of ssh.entries()) {
        const keyFile = path.join(dir, `key-${i + 1}`);
        await fsp.writeFile(keyFile, s.key, { mode: 0o600 });
        let fingerprint = '';
        if (keygen) {
          const pub = await run(keygen, ['-y', '-P', '', '-f', keyFile], { env: plainEnv, keepLines: 20 });
          const said = pub.tail.filter((l) => l.trim() && !/^(ssh-|ecdsa-|sk-)/.test(l)).map((l) => l.replace(keyFile, '<key>'));
          if (pub.exitCode !== 0) {
            if (said.some((l) => /passphrase/i.test(l))) throw keyProblemEncrypted(s.origin);
            throw new UserError(`${s.origin} is not a usable private key`, [`ssh-keygen could not read the key: ${said.join(' ') || `exit ${pub.exitCode}`}.`, "Use the private half of a key pair made without a passphrase, for example: ssh-keygen -t ed25519 -N '' -f deploy_key."]);
          }
          const line = pub.tail.find((l) => /^(ssh-|ecdsa-|sk-)/.test(l));
          if (line) fingerprint = publicKeyFingerprint(line);
        }
        (s as SshSource & { fingerprint?: string }).fingerprint = fingerprint || undefined;
        blocks.push({ hosts: s.hosts, identityFile: keyFile, pinned: s.knownHosts !== undefined });
        log.info(`SSH key from ${s.origin}${fingerprint ? ` (${fingerprint})` : ''} for ${listing(s.hosts)}; host keys ${s.knownHosts ? `pinned by ${s.pinWith}` : 'trusted on first use'}`);
      }
      await fsp.writeFile(knownHostsFile, ssh.map((s) => s.knownHosts ?? '').join(''), { mode: 0o600 });
      const config = path.join(dir, 'ssh_config');
      await fsp.writeFile(config, sshConfigText(blocks, knownHostsFile), { mode: 0o600 });
      if (env.GIT_SSH_COMMAND) log.detail('GIT_SSH_COMMAND from the platform is replaced for the install');
      // BatchMode for every host, as pip's own default: never a prompt.
      out.GIT_SSH_COMMAND = `${shQuote(sshPath)} -F ${shQuote(config)} -o BatchMode=yes`;
      out.GIT_TERMINAL_PROMPT = '0';
      // pip run with --no-input (as the buildpack runs it) replaces GIT_SSH_COMMAND with its own
      // "ssh -oBatchMode=yes" for every git command (pip/_internal/vcs/git.py), which would drop
      // our -F. So `ssh` itself, first on PATH for the install, is a wrapper in the private dir
      // that adds -F: whoever runs `ssh` gets our configuration (and still only for the listed hosts).
      const binDir = path.join(dir, 'bin');
      await fsp.mkdir(binDir, { mode: 0o700 });
      await fsp.writeFile(path.join(binDir, 'ssh'), `#!/bin/sh\nexec ${shQuote(sshPath)} -F ${shQuote(config)} "$@"\n`, { mode: 0o700 });
      out.PATH = plainEnv.PATH ? `${binDir}:${plainEnv.PATH}` : binDir;
    }
    if (netrcBindings.length) {
      const parts: string[] = [];
      for (const b of netrcBindings) {
        const text = await bindingFile(bindingRoot, b, ['.netrc', 'netrc']);
        if (text === undefined || !text.trim()) throw new UserError(`The netrc binding '${b.name}' has no .netrc`, [`A binding of type netrc needs a file .netrc (or netrc) in the netrc format: machine <host> login <user> password <password>.`]);
        parts.push(text.endsWith('\n') ? text : `${text}\n`);
      }
      const file = path.join(dir, 'netrc');
      await fsp.writeFile(file, parts.join(''), { mode: 0o600 });
      out.NETRC = file;
      log.info(`Index credentials: netrc from the binding${netrcBindings.length > 1 ? 's' : ''} ${listing(netrcBindings.map((b) => `'${b.name}'`))} (NETRC; never logged)`);
    }
    if (pipBindings.length) {
      const [b, ...others] = pipBindings;
      const text = await bindingFile(bindingRoot, b!, ['pip.conf']);
      if (text === undefined) throw new UserError(`The pip binding '${b!.name}' has no pip.conf`, ['A binding of type pip needs a file pip.conf (pip\'s configuration format, for example [global] index-url = https://user:password@host/simple/).']);
      const file = path.join(dir, 'pip.conf');
      await fsp.writeFile(file, text, { mode: 0o600 });
      out.PIP_CONFIG_FILE = file;
      log.info(`pip configuration from the binding '${b!.name}' (PIP_CONFIG_FILE; never logged)`);
      if (others.length) log.warning('More than one pip binding', [`Only '${b!.name}' is used; ${listing(others.map((o) => `'${o.name}'`))} ${others.length === 1 ? 'is' : 'are'} ignored.`]);
    }
    log.detail(`Secrets are in the private directory ${dir} (outside the layers and the app; removed when the install ends)`);
    return { env: out, log: tapped, rethrow, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** Removes the private directories in `tmpDir` whose build process is gone; returns their names. */
export function removeStaleSecretDirs(tmpDir: string): Promise<string[]> {
  return removeStaleDirs(tmpDir, SECRETS_DIR_PREFIX);
}

/**
 * The private-dependency setup as one scope around the install: `work` gets the env additions and
 * the log to use; an SSH or index login failure is explained; the private directory is removed
 * however `work` ends.
 */
export async function withPrivateDependencies<T>(
  opts: { env: Env; bindings: readonly Binding[]; platformDir: string; log: Log; tmpDir?: string },
  work: (env: Record<string, string>, log: Log) => Promise<T>,
): Promise<T> {
  const setup = await preparePrivateDependencies(opts);
  try {
    return await work(setup.env, setup.log);
  } catch (e) {
    return setup.rethrow(e);
  } finally {
    await setup.cleanup();
  }
}

function keyProblemEncrypted(origin: string): UserError {
  return new UserError(`${origin} is protected by a passphrase`, [`The private key in ${origin} is encrypted with a passphrase, which a build cannot type.`, "Use a key made without a passphrase (ssh-keygen -t ed25519 -N '' -f deploy_key), or remove it from a copy: ssh-keygen -p -N '' -f copy_of_key"]);
}
