import ms from 'ms';
import { InvalidOptionError } from './errors';

/** A duration: milliseconds as a number, or an `ms` string such as `'30s'`, `'5m'`, `'7d'`. */
export type Duration = number | string;

/**
 * The longest delay a Node timer honours, 2^31-1 ms (~24.8 days): a longer one fires after 1 ms.
 * Also the largest busy_timeout SQLite holds (a C int).
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const ACCEPTED = "a non-negative number of milliseconds or a duration string such as '500ms', '30s', '5m', '7d'";

/**
 * Parses a duration option into whole milliseconds.
 * @param field the option's name, used in the error message
 * @throws InvalidOptionError when the value is not a finite non-negative duration
 */
export function parseDuration(field: string, value: Duration): number {
  let result: number | undefined;
  if (typeof value === 'number') {
    result = value;
  } else if (typeof value === 'string' && value.trim() !== '') {
    const trimmed = value.trim();
    // ms() reads a bare number string as milliseconds; anything it cannot parse is undefined.
    result = ms(trimmed as ms.StringValue) as number | undefined;
  }
  if (typeof result !== 'number' || !Number.isFinite(result) || result < 0) {
    throw new InvalidOptionError(field, value, ACCEPTED);
  }
  return Math.round(result);
}

/** Like {@link parseDuration} but passes `undefined` through. */
export function parseOptionalDuration(field: string, value: Duration | undefined): number | undefined {
  return value === undefined ? undefined : parseDuration(field, value);
}
