import { UserError } from '../../src/errors';

/** The UserError that `fn` throws (anything else is rethrown; no error fails the test). */
export function userError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error('expected a UserError');
}
