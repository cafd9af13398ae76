import { parseDuration, parseOptionalDuration } from '../../src/core/duration';
import { InvalidOptionError } from '../../src/core/errors';

describe('parseDuration', () => {
  it.each([
    [1500, 1500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['7d', 604_800_000],
    ['250ms', 250],
    ['1.5h', 5_400_000],
    ['100', 100],
    [0, 0],
  ])('reads %p as %p ms', (input, expected) => {
    expect(parseDuration('lease', input)).toBe(expected);
  });

  it.each([['soon'], [''], ['-5m'], [-1], [Number.NaN], [Number.POSITIVE_INFINITY], [null], [{}]])(
    'refuses %p with an error naming the field, the value and what is accepted',
    (input) => {
      let caught: unknown;
      try {
        parseDuration('backoff.base', input as never);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(InvalidOptionError);
      const message = (caught as Error).message;
      expect(message).toContain('backoff.base');
      expect(message).toContain("'30s'");
      expect((caught as InvalidOptionError).code).toBe('TASKBRIDGE_INVALID_OPTION');
    },
  );

  it('passes undefined through when optional', () => {
    expect(parseOptionalDuration('timeout', undefined)).toBeUndefined();
    expect(parseOptionalDuration('timeout', '1s')).toBe(1000);
  });
});
