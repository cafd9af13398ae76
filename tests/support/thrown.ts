import { InvalidOptionError } from '../../src/core/errors';

/**
 * What `fn` throws, or undefined when it returns: for tests that check the error's class, code and
 * message one by one (jest's toThrow checks one of them at a time).
 */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** The InvalidOptionError `fn` throws; fails the test when it throws anything else or returns. */
export function refused(fn: () => unknown): InvalidOptionError {
  const err = thrownBy(fn);
  expect(err).toBeInstanceOf(InvalidOptionError);
  return err as InvalidOptionError;
}
