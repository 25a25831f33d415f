// Process types for launch.toml: the app's Procfile, or an obvious default web process.
// Since Buildpack API 0.9 a process command is exec'd without a shell, so each Procfile line runs
// through `bash -c` (as Heroku's Procfile CNB does) to keep $PORT, && and quoting working.
import type { Process } from './cnb/schemas';
import { UserError, printable } from './errors';
import type { Log } from './log';

export interface ProcfileEntry {
  type: string;
  command: string;
}

const TYPE = /^[A-Za-z0-9_-]+$/;

/** Parses a Procfile (pure): `type: command` lines; comments, blank lines and CRLF are fine. */
export function parseProcfile(text: string): ProcfileEntry[] {
  const entries: ProcfileEntry[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `Procfile line ${i + 1}: "${printable(line)}"`;
    const m = /^([^:\s]+)\s*:(.*)$/.exec(line);
    if (!m) {
      throw new UserError('Invalid line in Procfile', [where, 'Each line must be `<process type>: <command>`, for example `web: gunicorn app:app --bind 0.0.0.0:$PORT`.']);
    }
    const [, type, rest] = m as unknown as [string, string, string];
    if (!TYPE.test(type)) {
      throw new UserError('Invalid process type in Procfile', [where, `"${printable(type)}" is not a valid process type: use letters, digits, "_" and "-" only.`]);
    }
    const command = rest.trim();
    if (command === '') throw new UserError('Empty command in Procfile', [where, `The process type "${printable(type)}" has no command.`]);
    if (command.includes('\0')) {
      // The launcher execs `bash -c <command>`: a NUL byte cannot be in an argument, so the
      // process would build fine and then fail at every start ("direct exec: invalid argument").
      throw new UserError('NUL byte in a Procfile command', [where, `The command of "${printable(type)}" contains a NUL byte (shown as \uFFFD), which no program can receive as an argument.`, 'Remove it: save the Procfile as plain UTF-8 text.']);
    }
    if (entries.some((e) => e.type === type)) {
      throw new UserError('Duplicate process type in Procfile', [where, `"${printable(type)}" is declared more than once. Keep one line per process type.`]);
    }
    entries.push({ type, command });
  });
  return entries;
}

/** launch.toml processes; `web` (or the only process) is the default, as on Heroku. */
export function procfileProcesses(entries: readonly ProcfileEntry[]): Process[] {
  const defaultType = entries.some((e) => e.type === 'web') ? 'web' : entries.length === 1 ? entries[0]!.type : undefined;
  return entries.map((e) => ({ type: e.type, command: ['bash', '-c'], args: [e.command], default: e.type === defaultType }));
}

export interface AppShape {
  hasGunicorn: boolean;
  /** Django project package names: directories holding wsgi.py, when manage.py exists. */
  djangoProjects: string[];
  /** Modules among app.py / wsgi.py / main.py that define a Flask `app`. */
  flaskModules: string[];
}

/** The default web process when the app makes it obvious; undefined (and why) otherwise. */
export function defaultWebProcess(shape: AppShape): { process?: Process; reason: string } {
  const bind = '--bind 0.0.0.0:${PORT:-8080}';
  const web = (line: string): Process => ({ type: 'web', command: ['bash', '-c'], args: [`exec ${line}`], default: true });
  if (!shape.hasGunicorn) return { reason: 'gunicorn is not among the dependencies' };
  if (shape.djangoProjects.length === 1) return { process: web(`gunicorn ${shape.djangoProjects[0]}.wsgi ${bind}`), reason: `Django project "${shape.djangoProjects[0]}" (manage.py and ${shape.djangoProjects[0]}/wsgi.py) with gunicorn` };
  if (shape.djangoProjects.length > 1) return { reason: `more than one Django wsgi.py (${shape.djangoProjects.join(', ')})` };
  if (shape.flaskModules.length >= 1) {
    const module = shape.flaskModules[0]!;
    return { process: web(`gunicorn ${module}:app ${bind}`), reason: `a Flask app object in ${module}.py with gunicorn` };
  }
  return { reason: 'no Django project or Flask `app` found' };
}

/** Does this Python source define a Flask app object named `app`? (a pure, textual check) */
export function definesFlaskApp(source: string): boolean {
  return /^app\s*=\s*(flask\.)?Flask\(/m.test(source);
}

/** The processes for launch.toml: the Procfile's, else an obvious default web process (logged, with how to override it). */
export function chooseProcesses(plan: { procfile?: readonly ProcfileEntry[]; defaultAllowed: boolean; djangoProjects: string[]; flaskModules: string[] }, hasGunicorn: boolean, log: Log): Process[] {
  if (plan.procfile) {
    log.info(`Procfile declares types -> ${plan.procfile.length ? plan.procfile.map((e) => e.type).join(', ') : '(none)'}`);
    return procfileProcesses(plan.procfile);
  }
  log.info('No Procfile');
  if (!plan.defaultAllowed) {
    log.info('No default web process: BP_PYTHON_DEFAULT_PROCESS=false');
    return [];
  }
  const choice = defaultWebProcess({ hasGunicorn, djangoProjects: plan.djangoProjects, flaskModules: plan.flaskModules });
  if (choice.process) {
    log.info(`Default web process: ${choice.process.args?.[0]} (${choice.reason})`);
    log.detail('Override it with a Procfile (web: <command>), or set BP_PYTHON_DEFAULT_PROCESS=false');
    return [choice.process];
  }
  log.info(`No default web process (${choice.reason}). Add a Procfile, for example: web: gunicorn app:app --bind 0.0.0.0:$PORT`);
  return [];
}
