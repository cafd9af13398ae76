import fs from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { describeValue, InvalidOptionError, PayloadTooLargeError } from '../core/errors';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../queue/sqlite/options';
import { MAX_TIME_MS, assertJsonSize } from '../queue/validation';
import { decimalInteger, parseJsonArg, splitKeyValue } from './common';

/**
 * Parses one `--requires key=value` (repeatable) into the requirements gathered so far. The store
 * takes string values only, so every value stays the text typed (`--requires gpus=2` requires the
 * string "2"), without surrounding spaces as `--capabilities` reads it.
 */
export function parseRequirementArg(value: string, previous: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const pair = splitKeyValue(value);
  if (pair === undefined) throw new InvalidArgumentError(`expected key=value with a non-empty key, got ${describeValue(value)}`);
  const [key, text] = pair;
  if (previous !== undefined && Object.hasOwn(previous, key)) {
    throw new InvalidArgumentError(`expected each key once, got ${describeValue(key)} again (already ${describeValue(previous[key])})`);
  }
  // A computed key defines an own property even for "__proto__", which a plain assignment would drop.
  return { ...previous, [key]: text };
}

const RUN_AT_ACCEPTED =
  `an ISO 8601 date-time with a time zone (2026-11-23T10:00:00Z, 2026-11-23T11:00:00+01:00) or epoch milliseconds as a decimal integer from 0 to ${MAX_TIME_MS}`;

// Date.parse alone reads zone-less text in the machine's zone, "Nov 23 2026", and 2026-02-30 (as March 2).
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

/**
 * Parses `--run-at`: an ISO 8601 date-time with a time zone, or epoch milliseconds. Text without a
 * zone is refused rather than read in the local zone: the same command would schedule another
 * instant on a machine set to another zone. Fractions finer than a millisecond are cut off.
 * @returns milliseconds since the epoch
 */
export function parseRunAtArg(value: string): number {
  // One message for every refusal, so each says what is accepted whatever part was wrong.
  const refused = (why = ''): InvalidArgumentError => new InvalidArgumentError(`expected ${RUN_AT_ACCEPTED}, got ${describeValue(value)}${why}`);
  const epoch = decimalInteger(value);
  if (epoch !== undefined) {
    if (epoch < 0 || epoch > MAX_TIME_MS) throw refused();
    return epoch;
  }
  const m = ISO_DATE_TIME.exec(value.trim());
  if (m === null) throw refused();
  const [, year, month, day, hour, minute, second = '0', fraction = '', zulu, sign, offsetHours, offsetMinutes] = m;
  if (zulu === undefined && sign === undefined) {
    throw refused(': add Z or an offset such as +01:00 (a time without a zone means another instant in every zone)');
  }
  const fields = [year, month, day, hour, minute, second].map(Number) as [number, number, number, number, number, number];
  const local = new Date(0);
  local.setUTCFullYear(fields[0], fields[1] - 1, fields[2]);
  local.setUTCHours(fields[3], fields[4], fields[5], Number(fraction.padEnd(3, '0').slice(0, 3)));
  const offset = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes));
  // Date rolls 2026-02-30 over to March 2 and 24:00 to the next day: a field out of range shows as a different read-back.
  const readBack = [local.getUTCFullYear(), local.getUTCMonth() + 1, local.getUTCDate(), local.getUTCHours(), local.getUTCMinutes(), local.getUTCSeconds()];
  const ms = local.getTime() - offset * 60_000;
  if (readBack.some((n, i) => n !== fields[i]) || Number(offsetHours ?? 0) > 23 || Number(offsetMinutes ?? 0) > 59) {
    throw refused(': no such date or time');
  }
  // Four-digit years end in 9999, far below MAX_TIME_MS: only the start of the epoch bounds them.
  if (ms < 0) throw refused(': before 1970-01-01T00:00:00Z');
  return ms;
}

/**
 * Refuses two flags that set the same thing, given together (`--payload` and `--payload-file`,
 * `--delay` and `--run-at`), before anything is read or stored.
 * @throws InvalidOptionError naming the `second` flag with its value, and both flags as what is accepted
 */
export function refuseTogether(first: string, firstValue: unknown, second: string, secondValue: unknown): void {
  if (firstValue !== undefined && secondValue !== undefined) {
    throw new InvalidOptionError(second, secondValue, `either ${first} or ${second}, not both`);
  }
}

const PAYLOAD_LIMIT = DEFAULT_MAX_PAYLOAD_BYTES;
const PAYLOAD_FILE_ACCEPTED = `a readable file, or - for stdin, holding one JSON value as UTF-8 text of at most ${PAYLOAD_LIMIT} bytes (the store's payload limit)`;
const PAYLOAD_ACCEPTED = `one JSON value taking at most ${PAYLOAD_LIMIT} bytes as stored (compact JSON in UTF-8, the store's payload limit)`;

/**
 * Parses `--payload`: one JSON value, refused when its JSON as stored is over the store's payload
 * limit, so the command fails as bad usage before the database is opened rather than in the store.
 * @throws InvalidArgumentError for text that is not JSON (commander reports it as bad usage)
 * @throws InvalidOptionError naming `--payload`, the value, what is accepted and the size as stored
 */
export function parsePayloadArg(value: string): unknown {
  const payload = parseJsonArg(value);
  assertStorableSize(payload, (why) => new InvalidOptionError('--payload', value, `${PAYLOAD_ACCEPTED}; ${why}`));
  return payload;
}

/**
 * The store's own rule on a payload's size (its JSON as stored), applied to a parsed payload: numbers
 * can grow when written back (1e21 is stored as 1e+21), so the text as typed or read is not enough.
 */
function assertStorableSize(payload: unknown, refuse: (why: string) => Error): void {
  try {
    assertJsonSize('payload', JSON.stringify(payload), PAYLOAD_LIMIT);
  } catch (error) {
    if (!(error instanceof PayloadTooLargeError)) throw error;
    throw refuse(`its JSON takes ${error.bytes} bytes as stored`);
  }
}

/**
 * Reads the payload of `--payload-file`: the JSON value in the file, or in stdin for `-`. At most
 * the store's payload limit is read, so a huge file or an endless stream is refused without being
 * held in memory. A UTF-8 byte order mark is skipped, as JSON parsers may.
 * @throws InvalidOptionError naming `--payload-file`, the path, what is accepted and why it was
 *   refused: missing, a folder, unreadable, empty, not UTF-8, not JSON, or too large
 */
export async function readPayloadFile(file: string): Promise<unknown> {
  const refuse = (why: string): InvalidOptionError => new InvalidOptionError('--payload-file', file, `${PAYLOAD_FILE_ACCEPTED}; ${why}`);
  const bytes = await readAtMost(file, PAYLOAD_LIMIT, refuse);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw refuse('it is not UTF-8 text');
  }
  if (text.trim() === '') throw refuse('it is empty');
  let payload: unknown;
  try {
    payload = JSON.parse(text) as unknown;
  } catch (error) {
    throw refuse(`it is not JSON (${(error as Error).message})`);
  }
  assertStorableSize(payload, refuse);
  return payload;
}

async function readAtMost(file: string, limit: number, refuse: (why: string) => Error): Promise<Buffer> {
  if (file !== '-') {
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw refuse(code === 'ENOENT' || code === 'ENOTDIR' ? 'there is no such file' : `it cannot be inspected (${code ?? 'error'})`);
    }
    if (stat.isDirectory()) throw refuse('it is a folder');
    if (stat.isFile() && stat.size > limit) throw refuse(`it holds ${stat.size} bytes`);
  }
  const stream = file === '-' ? process.stdin : fs.createReadStream(file);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      size += buffer.length;
      // A pipe, a device or a file still growing: no size up front, so stop once past the limit.
      if (size > limit) throw refuse(`it holds more than ${limit} bytes`);
      chunks.push(buffer);
    }
  } catch (error) {
    if (error instanceof InvalidOptionError) throw error;
    throw refuse(`it cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  } finally {
    if (file !== '-') stream.destroy();
  }
  return Buffer.concat(chunks);
}
