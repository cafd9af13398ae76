import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { dbPathOf, envValue } from '../compat/config';
import { parseDuration } from '../core/duration';
import { describeValue, InvalidOptionError, TaskbridgeError } from '../core/errors';
import { INTERVAL_ACCEPTED, parseInterval } from '../queue/maintenance/scheduler';
import { isMemoryPath } from '../queue/sqlite/connection';

/** Documented exit codes of the `taskbridge` command. */
export const EXIT = {
  /** The command did what was asked (for `health`: the queue is healthy; for `parity`: no mismatch). */
  OK: 0,
  /** The command ran but failed, or found a problem it was asked to look for. */
  FAILURE: 1,
  /** The command line was wrong: unknown command or option, missing or malformed argument. */
  USAGE: 2,
} as const;

/** A command line that parsed but makes no sense (bad JSON, negative limit, ...): exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * A command that ran and must report failure (exit 1) after it has already printed its findings,
 * e.g. `health` on an unhealthy database. Nothing more is printed for it.
 */
export class ReportedFailure extends Error {
  constructor(message = 'failure reported') {
    super(message);
    this.name = 'ReportedFailure';
  }
}

/** Options every command accepts (declared on the program, read with optsWithGlobals). */
export interface GlobalOptions {
  db?: string;
  json?: boolean;
}

/**
 * Default database path: TASKBRIDGE_DB_PATH, else ./data/taskbridge.db relative to the working
 * directory. Read by the library's own rule (an empty variable is unset; a path it refuses is
 * refused here too), so the CLI always opens the file the application opens.
 * @throws ConfigError (exit 2) for a value the library refuses, e.g. one with surrounding whitespace
 */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  return dbPathOf(envValue(env, 'TASKBRIDGE_DB_PATH'));
}

/** The resolved global options of a command: the absolute database path and the output mode. */
export interface CommandContext {
  readonly dbPath: string;
  readonly json: boolean;
}

/** Reads the global options from a subcommand (commander keeps them on the parent). */
export function contextOf(command: Command): CommandContext {
  const opts = command.optsWithGlobals<GlobalOptions>();
  const raw = opts.db ?? defaultDbPath();
  // ':memory:' names SQLite's in-memory database, not a file in the working directory.
  return { dbPath: isMemoryPath(raw) ? raw : path.resolve(raw), json: opts.json === true };
}

/** Writes one JSON document to stdout (the `--json` output of every command). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Writes human-readable lines to stdout. */
export function printLines(...lines: string[]): void {
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * Runs a long-running command with SIGINT and SIGTERM listened for from its first line: until a
 * listener exists, a signal ends the process by the signal, with nothing closed. Once `command`
 * settles, a later signal has its default effect again.
 * @param command gets the first SIGINT or SIGTERM since the start, which may settle before
 *   `command` reaches the point where it waits for one
 */
export async function untilStopped<T>(command: (stopRequested: Promise<NodeJS.Signals>) => Promise<T>): Promise<T> {
  let on: (signal: NodeJS.Signals) => void = () => undefined;
  const stopListening = (): void => {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  };
  const requested = new Promise<NodeJS.Signals>((resolve) => {
    on = (signal) => {
      stopListening();
      resolve(signal);
    };
  });
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  try {
    return await command(requested);
  } finally {
    stopListening();
  }
}

/** Maps an error to the documented exit code: usage mistakes 2, everything else 1. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || error instanceof InvalidArgumentError) return EXIT.USAGE;
  // Values the user typed that the queue refuses (priority out of range, unknown strategy) are usage errors too.
  if (error instanceof TaskbridgeError && USAGE_CODES.has(error.code)) return EXIT.USAGE;
  return EXIT.FAILURE;
}

const USAGE_CODES = new Set(['TASKBRIDGE_INVALID_OPTION', 'TASKBRIDGE_INVALID_INPUT', 'TASKBRIDGE_UNKNOWN_STRATEGY', 'TASKBRIDGE_INVALID_CONFIG']);

// ---- argument parsers for commander (they throw InvalidArgumentError, which commander reports as usage) ----

/**
 * The decimal integer `value` spells, or undefined. Number() alone also reads '0x10', '1e3', '0b1'
 * and ' ' (as 0), and rounds past 2^53, so `show 9007199254740993` would have shown another task.
 */
export function decimalInteger(value: string): number | undefined {
  const text = value.trim();
  if (!/^-?\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parses a non-negative integer option such as `--limit` or `--priority`. */
export function parseNonNegativeInt(value: string): number {
  const n = decimalInteger(value);
  if (n === undefined || n < 0) {
    throw new InvalidArgumentError(`expected a non-negative decimal integer, got ${describeValue(value)}`);
  }
  return n;
}

/** Parses a positive integer option such as `--concurrency` or `--port`. */
export function parsePositiveInt(value: string): number {
  const n = parseNonNegativeInt(value);
  if (n === 0) throw new InvalidArgumentError('expected an integer of at least 1, got 0');
  return n;
}

/** A parser for an integer option within [min, max], such as `list --limit` (1..10000). */
export function parseIntInRange(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = decimalInteger(value);
    if (n === undefined || n < min || n > max) {
      throw new InvalidArgumentError(`expected a decimal integer from ${min} to ${max}, got ${describeValue(value)}`);
    }
    return n;
  };
}

/** Parses a task id argument. */
export function parseTaskId(value: string): number {
  const n = decimalInteger(value);
  if (n === undefined || n < 1) throw new InvalidArgumentError(`expected a numeric task id from 1 to ${Number.MAX_SAFE_INTEGER}, got ${describeValue(value)}`);
  return n;
}

/** Parses a JSON option such as `--payload`. */
export function parseJsonArg(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    throw new InvalidArgumentError(`expected JSON, got ${describeValue(value)} (${(error as Error).message})`);
  }
}

/** Parses an `ms` duration option such as `--delay 5m` into milliseconds. */
export function parseDurationArg(value: string): number {
  try {
    return parseDuration('duration', value);
  } catch {
    throw new InvalidArgumentError(`expected a duration such as 30s, 5m, 7d, got ${describeValue(value)}`);
  }
}

/**
 * Parses a maintenance interval (`--checkpoint-every`, `--cleanup-every`, `--backup-every`) by the
 * scheduler's rule ({@link parseInterval}), refused here as bad usage before anything is opened.
 */
export function parseIntervalArg(value: string): number {
  const ms = parseDurationArg(value);
  try {
    return parseInterval('interval', ms);
  } catch (error) {
    if (!(error instanceof InvalidOptionError)) throw error;
    // Commander names the flag; the scheduler's words say what it accepts.
    throw new InvalidArgumentError(`expected ${INTERVAL_ACCEPTED}, got ${describeValue(value)}`);
  }
}

/**
 * A parser for a path option that must not be blank (`--db "$DB"` with DB unset, `--backup-dir ""`):
 * blank would resolve to the working directory. `what` says what is expected, e.g. 'a folder path'.
 */
export function parseNonBlankArg(what: string): (value: string) => string {
  return (value) => {
    if (value.trim() === '') throw new InvalidArgumentError(`expected ${what}, got ${describeValue(value)}`);
    return value;
  };
}

/**
 * Splits one `key=value` at its first `=`, without the spaces around key and value: the one rule
 * for a worker's `--capabilities` and a task's `--requires`, so a pair typed alike on both sides
 * matches. Undefined when there is no `=` or the key is empty.
 */
export function splitKeyValue(text: string): [key: string, value: string] | undefined {
  const eq = text.indexOf('=');
  const key = eq > 0 ? text.slice(0, eq).trim() : '';
  return key === '' ? undefined : [key, text.slice(eq + 1).trim()];
}

/** Parses `--capabilities k=v,k2=v2` into a record; a key given twice keeps its last value. */
export function parseCapabilities(value: string): Record<string, string> {
  const pairs: [string, string][] = [];
  for (const part of value.split(',')) {
    if (part.trim() === '') continue;
    const pair = splitKeyValue(part);
    if (pair === undefined) throw new InvalidArgumentError(`expected k=v pairs separated by commas, got ${describeValue(part)}`);
    pairs.push(pair);
  }
  // fromEntries defines own properties: an assignment of "__proto__" would set the prototype and drop the key.
  return Object.fromEntries(pairs);
}
