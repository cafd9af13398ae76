import { SystemClock, type Clock } from '../../core/clock';
import { MAX_TIMER_MS, parseDuration, type Duration } from '../../core/duration';
import { InvalidOptionError } from '../../core/errors';
import { createLogger, type Logger } from '../../core/logger';
import { MathRandom, type RandomSource } from '../../core/random';
import { TaskEvents } from '../events';
import { MAX_LEASE_MS } from '../validation';

/**
 * The lease a claim gets when it names no `leaseMs`. A `Worker` always names its own
 * (`leaseDuration`, default 30s), so this is for code that claims from the store directly.
 */
export interface LeaseDefaults {
  /** Lease length from claim time. Default `'30s'`. */
  lease?: Duration;
}

/** Every option of the SQLite store, in one place. */
export interface SqliteStoreOptions {
  /** Database file, or `':memory:'`. Parent folders are created; a new file gets mode 0600. */
  path: string;
  /** `'NORMAL'` (default: durable across process crashes) or `'FULL'` (also across power loss, slower). */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long a statement waits for another connection's write lock, at most 2^31-1 ms. Default `'5s'`. */
  busyTimeout?: Duration;
  /** Page cache per connection in KiB. Default 32768 (32 MiB). */
  cacheSizeKb?: number;
  leaseDefaults?: LeaseDefaults;
  /**
   * WAL pages after which a commit checkpoints the WAL into the file. Default 10000 (about 40 MiB):
   * SQLite's 1000 makes every few hundredth claim pay a checkpoint with fsync, which dominates p99.
   */
  walAutocheckpointPages?: number;
  /** Largest accepted payload as UTF-8 JSON. Default 1 MiB. */
  maxPayloadBytes?: number;
  clock?: Clock;
  logger?: Logger;
  /** Jitter of backoff delays and weighted-random draws. */
  random?: RandomSource;
  /** Where state changes are announced after they commit. */
  events?: TaskEvents;
}

/** Options with every default applied. */
export interface ResolvedSqliteStoreOptions {
  readonly path: string;
  readonly synchronous: 'NORMAL' | 'FULL';
  readonly busyTimeoutMs: number;
  readonly cacheSizeKb: number;
  readonly walAutocheckpointPages: number;
  readonly leaseMs: number;
  readonly maxPayloadBytes: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: RandomSource;
  readonly events: TaskEvents;
}

/** The store's default `maxPayloadBytes` (1 MiB), which sqlite mode's queue uses. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

const KNOWN = [
  'path', 'synchronous', 'busyTimeout', 'cacheSizeKb', 'walAutocheckpointPages', 'leaseDefaults', 'maxPayloadBytes', 'clock', 'logger', 'random', 'events',
];

function requireMethod(field: string, value: unknown, method: string): void {
  if (value === null || typeof value !== 'object' || typeof (value as Record<string, unknown>)[method] !== 'function') {
    throw new InvalidOptionError(field, value, `an object with a ${method}() method`);
  }
}

/**
 * Validates store options and applies defaults.
 * @throws InvalidOptionError naming the option, its value and what is accepted
 */
export function resolveSqliteStoreOptions(options: SqliteStoreOptions): ResolvedSqliteStoreOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', options, 'an object { path, ... }');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) throw new InvalidOptionError(`options.${key}`, (options as unknown as Record<string, unknown>)[key], `one of ${KNOWN.join(', ')}`);
  }
  if (typeof options.path !== 'string' || options.path.trim() === '' || options.path.includes('\0')) {
    throw new InvalidOptionError('path', options.path, "a file path or ':memory:'");
  }
  const synchronous = options.synchronous ?? 'NORMAL';
  if (synchronous !== 'NORMAL' && synchronous !== 'FULL') {
    throw new InvalidOptionError('synchronous', options.synchronous, "'NORMAL' or 'FULL'");
  }
  const busyTimeoutMs = options.busyTimeout === undefined ? 5000 : parseDuration('busyTimeout', options.busyTimeout);
  // SQLite's busy_timeout is a C int: the pragma reads a larger value as 0 (or 1e300 as 1), i.e. no wait at all.
  if (busyTimeoutMs > MAX_TIMER_MS) {
    throw new InvalidOptionError('busyTimeout', options.busyTimeout, `a duration from 0 to ${MAX_TIMER_MS} ms (about 24.8 days)`);
  }
  const cacheSizeKb = options.cacheSizeKb ?? 32768;
  if (!Number.isInteger(cacheSizeKb) || cacheSizeKb < 64 || cacheSizeKb > 16 * 1024 * 1024) {
    throw new InvalidOptionError('cacheSizeKb', options.cacheSizeKb, 'an integer from 64 to 16777216 (KiB)');
  }
  const walAutocheckpointPages = options.walAutocheckpointPages ?? 10_000;
  if (!Number.isInteger(walAutocheckpointPages) || walAutocheckpointPages < 0 || walAutocheckpointPages > 10_000_000) {
    throw new InvalidOptionError('walAutocheckpointPages', options.walAutocheckpointPages, 'an integer from 0 (never) to 10000000');
  }
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1 || maxPayloadBytes > 512 * 1024 * 1024) {
    throw new InvalidOptionError('maxPayloadBytes', options.maxPayloadBytes, 'an integer from 1 to 536870912 (bytes)');
  }
  let leaseMs = 30_000;
  if (options.leaseDefaults !== undefined) {
    const ld = options.leaseDefaults;
    if (ld === null || typeof ld !== 'object') throw new InvalidOptionError('leaseDefaults', ld, 'an object { lease? }');
    for (const key of Object.keys(ld)) {
      if (key !== 'lease') throw new InvalidOptionError(`leaseDefaults.${key}`, (ld as Record<string, unknown>)[key], 'lease');
    }
    if (ld.lease !== undefined) leaseMs = parseDuration('leaseDefaults.lease', ld.lease);
    if (leaseMs < 1 || leaseMs > MAX_LEASE_MS) throw new InvalidOptionError('leaseDefaults.lease', ld.lease, `a duration from 1 ms to ${MAX_LEASE_MS} ms (365 days)`);
  }
  if (options.clock !== undefined) requireMethod('clock', options.clock, 'now');
  if (options.random !== undefined) requireMethod('random', options.random, 'next');
  if (options.logger !== undefined) requireMethod('logger', options.logger, 'warn');
  if (options.events !== undefined && !(options.events instanceof TaskEvents)) {
    throw new InvalidOptionError('events', options.events, 'a TaskEvents instance');
  }
  return {
    path: options.path,
    synchronous,
    busyTimeoutMs,
    cacheSizeKb,
    walAutocheckpointPages,
    leaseMs,
    maxPayloadBytes,
    clock: options.clock ?? new SystemClock(),
    logger: options.logger ?? createLogger('warn'),
    random: options.random ?? new MathRandom(),
    events: options.events ?? new TaskEvents(),
  };
}
