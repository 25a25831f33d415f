// poetry.lock: not supported yet (the next manager to arrive; it will be this one file).
import { UserError } from '../errors';
import type { Manager } from './manager';

export const poetry: Manager = {
  kind: 'poetry',
  tool: 'pip',
  inputs() {
    throw new UserError('Poetry projects are not supported yet', [
      'The app has poetry.lock, and this buildpack does not install with Poetry yet.',
      'Export a requirements.txt from the lock (poetry export -f requirements.txt > requirements.txt) and commit it; requirements.txt takes precedence.',
    ]);
  },
  install: () => Promise.reject(new Error('poetry: no install')),
};
