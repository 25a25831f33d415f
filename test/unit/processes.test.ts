import { defaultWebProcess, definesFlaskApp, parseProcfile, procfileProcesses } from '../../src/processes';

describe('Procfile', () => {
  it('parses types with or without a space, comments, blank lines and CRLF', () => {
    const entries = parseProcfile('# processes\r\nweb: gunicorn app:app --bind 0.0.0.0:$PORT\r\n\r\nworker:python worker.py && echo done\n');
    expect(entries).toEqual([
      { type: 'web', command: 'gunicorn app:app --bind 0.0.0.0:$PORT' },
      { type: 'worker', command: 'python worker.py && echo done' },
    ]);
  });
  it('runs each line through bash -c; web is the default', () => {
    expect(procfileProcesses(parseProcfile('web: a\nworker: b\n'))).toEqual([
      { type: 'web', command: ['bash', '-c'], args: ['a'], default: true },
      { type: 'worker', command: ['bash', '-c'], args: ['b'], default: false },
    ]);
    expect(procfileProcesses(parseProcfile('release: x\n'))[0]?.default).toBe(true);
  });
  it.each([
    ['web gunicorn app:app\n', /Invalid line in Procfile[\s\S]*line 1: "web gunicorn app:app"/],
    ['web:\n', /Empty command in Procfile[\s\S]*"web" has no command/],
    ['web: a\nweb: b\n', /Duplicate process type in Procfile[\s\S]*line 2: "web: b"/],
    ['we.b: a\n', /Invalid process type[\s\S]*"we\.b"/],
  ])('%j is a clear error quoting the line', (text, pattern) => {
    expect(() => parseProcfile(text)).toThrow(pattern);
  });
});

describe('default web process', () => {
  it('Django with gunicorn', () => {
    expect(defaultWebProcess({ hasGunicorn: true, djangoProjects: ['mysite'], flaskModules: [] }).process?.args).toEqual(['exec gunicorn mysite.wsgi --bind 0.0.0.0:${PORT:-8080}']);
  });
  it('Flask with gunicorn', () => {
    expect(defaultWebProcess({ hasGunicorn: true, djangoProjects: [], flaskModules: ['app'] }).process?.args).toEqual(['exec gunicorn app:app --bind 0.0.0.0:${PORT:-8080}']);
  });
  it('none without gunicorn, or when ambiguous', () => {
    expect(defaultWebProcess({ hasGunicorn: false, djangoProjects: ['a'], flaskModules: [] })).toEqual({ reason: 'gunicorn is not among the dependencies' });
    expect(defaultWebProcess({ hasGunicorn: true, djangoProjects: ['a', 'b'], flaskModules: [] }).process).toBeUndefined();
  });
  it('finds a Flask app object', () => {
    expect(definesFlaskApp('from flask import Flask\napp = Flask(__name__)\n')).toBe(true);
    expect(definesFlaskApp('import flask\napp = flask.Flask(__name__)\n')).toBe(true);
    expect(definesFlaskApp('application = make()\n')).toBe(false);
  });
});
