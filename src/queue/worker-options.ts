import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { SystemClock, type Clock } from '../core/clock';
import { MAX_TIMER_MS, parseDuration, type Duration } from '../core/duration';
import { InvalidOptionError } from '../core/errors';
import { createLogger, type Logger } from '../core/logger';
import { assertStrategy, createStrategy } from '../strategies';
import type { Strategy } from '../strategies/types';
import { TaskEvents } from './events';
import type { Capabilities } from './types';
import { refuseUnknownKeys } from '../core/options';
import { ENQUEUE_DEFAULTS, MAX_LEASE_MS, validateCapabilities, validateName } from './validation';

/** Idle polling: the delay starts at `min` after an empty claim and doubles up to `max`. */
export interface PollIntervalOptions {
  /** Default `'50ms'`. */
  min?: Duration;
  /** Default `'2s'`. */
  max?: Duration;
}

/** Options of a {@link Worker}. Every key is validated; an unknown key is refused. */
export interface WorkerOptions {
  /** Default `${hostname}:${pid}:${random}`; must be unique among live workers. */
  workerId?: string;
  /** Queue to claim from. Default `'default'`. */
  queue?: string;
  /** Handlers running at once, integer 1..10,000. Default 10. */
  concurrency?: number;
  /**
   * Claimed tasks a worker may hold beyond `concurrency`, waiting in claim order to start the
   * moment a handler settles, integer 0..10,000. Default 0. It lets the next task start without
   * waiting for a claim transaction, and lets a claim carry more tasks, at the price that a task
   * enqueued later (even of a higher priority) waits behind up to `prefetch` claimed ones. Waiting
   * tasks are leased and heartbeated like running ones; `stop()` hands them back unstarted.
   */
  prefetch?: number;
  /** Claim order: a Strategy object or a built-in name. Default `'fifo'`. */
  strategy?: Strategy | string;
  /** What this worker offers; it claims only tasks whose `requires` these satisfy. Default `{}`. */
  capabilities?: Capabilities;
  /** Lease length from claim and from every heartbeat. Default `'30s'`. */
  leaseDuration?: Duration;
  /** Time between heartbeats; must be shorter than the lease. Default a third of the lease. */
  heartbeatInterval?: Duration;
  /** Idle polling backoff. Default `{ min: '50ms', max: '2s' }`. */
  pollInterval?: PollIntervalOptions;
  /** Default deadline of `stop()`. Default `'30s'`. */
  shutdownTimeout?: Duration;
  /**
   * Stamps when each handler started, for log lines and `Worker.running()`, and keeps the worker's
   * own account of each lease (claim time plus the lease, moved on by answered heartbeats), past
   * which a prefetched claim never starts. Default the system clock. Poll, heartbeat and timeout
   * timers are real timers; the store grants and takes back leases by its own clock.
   */
  clock?: Clock;
  /** Default a winston logger at level `warn`. */
  logger?: Logger;
  /** The store's `TaskEvents`, when given: an `enqueued` event in this process wakes an idle worker at once. */
  events?: TaskEvents;
}

/** Validated worker options, durations in ms. */
export interface ResolvedWorkerOptions {
  readonly workerId: string;
  readonly queue: string;
  readonly concurrency: number;
  readonly prefetch: number;
  readonly strategy: Strategy;
  readonly capabilities: Capabilities;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly pollMinMs: number;
  readonly pollMaxMs: number;
  readonly shutdownTimeoutMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events: TaskEvents | undefined;
}

const KEYS: ReadonlySet<string> = new Set([
  'workerId', 'queue', 'concurrency', 'prefetch', 'strategy', 'capabilities', 'leaseDuration', 'heartbeatInterval',
  'pollInterval', 'shutdownTimeout', 'clock', 'logger', 'events',
]);
const POLL_KEYS: ReadonlySet<string> = new Set(['min', 'max']);
const MAX_CONCURRENCY = 10_000;

function positiveDuration(field: string, value: Duration | undefined, fallback: number, max = MAX_TIMER_MS): number {
  if (value === undefined) return fallback;
  const parsed = parseDuration(field, value);
  if (parsed <= 0 || parsed > max) {
    throw new InvalidOptionError(field, value, `a duration greater than 0 and at most ${max} ms, e.g. 500 or '30s'`);
  }
  return parsed;
}

function resolveStrategy(value: unknown): Strategy {
  if (value === undefined) return createStrategy('fifo');
  if (typeof value === 'string') return createStrategy(value);
  const kind = (value as { kind?: unknown } | null)?.kind;
  if (typeof value !== 'object' || (kind !== 'ordered' && kind !== 'level-picking')) {
    throw new InvalidOptionError('strategy', value, "a Strategy object (kind 'ordered' or 'level-picking') or a built-in name such as 'fifo'");
  }
  // The full shape now, so a malformed custom strategy is refused here rather than by every claim.
  assertStrategy('strategy', value);
  return value;
}

function resolveCapabilities(value: unknown): Capabilities {
  // The store's own rule, so a worker never offers what its claims would refuse.
  return value === undefined ? {} : Object.freeze({ ...validateCapabilities('capabilities', value) });
}

function requireMethods<T>(field: string, value: unknown, methods: readonly string[], fallback: () => T): T {
  if (value === undefined) return fallback();
  const ok = value !== null && typeof value === 'object' && methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
  if (!ok) throw new InvalidOptionError(field, value, `an object with methods ${methods.join(', ')}`);
  return value as T;
}

function resolveEvents(value: unknown): TaskEvents | undefined {
  // The store's rule. Another emitter's on() (Node's returns the emitter) gives stop() no unsubscribe to call.
  if (value === undefined || value instanceof TaskEvents) return value;
  throw new InvalidOptionError('events', value, 'a TaskEvents instance, the one given to the store');
}

/** A shutdown deadline: 0 (abort at once) up to the longest timer delay. */
export function shutdownTimeout(field: string, value: Duration): number {
  const parsed = parseDuration(field, value);
  if (parsed > MAX_TIMER_MS) throw new InvalidOptionError(field, value, `a duration of at most ${MAX_TIMER_MS} ms, e.g. '30s'`);
  return parsed;
}

/** How long `stop()` waits for running handlers unless told otherwise. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;

const STOP_KEYS: ReadonlySet<string> = new Set(['timeout']);

/**
 * The deadline of one `stop()` call: its `timeout`, else the worker's `shutdownTimeout`.
 * @throws InvalidOptionError for options that are not an object, an unknown key or a bad timeout
 */
export function stopTimeout(options: unknown, fallbackMs: number): number {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('stop options', options, "an object { timeout? }, e.g. { timeout: '10s' }");
  }
  refuseUnknownKeys('stop option ', options, STOP_KEYS);
  const timeout = (options as { timeout?: Duration }).timeout;
  return timeout === undefined ? fallbackMs : shutdownTimeout('timeout', timeout);
}

/** The default worker id: unique per process and per worker within it. */
export function defaultWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/**
 * Validates worker options and fills in the defaults.
 * @throws InvalidOptionError naming the field, the value and what is accepted
 */
export function resolveWorkerOptions(options: WorkerOptions = {}): ResolvedWorkerOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('worker options', options, `an object with keys ${[...KEYS].join(', ')}`);
  }
  refuseUnknownKeys('worker option ', options, KEYS);
  const concurrency = options.concurrency === undefined ? 10 : options.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw new InvalidOptionError('concurrency', options.concurrency, `an integer from 1 to ${MAX_CONCURRENCY}`);
  }
  const prefetch = options.prefetch === undefined ? 0 : options.prefetch;
  if (!Number.isInteger(prefetch) || prefetch < 0 || prefetch > MAX_CONCURRENCY) {
    throw new InvalidOptionError('prefetch', options.prefetch, `an integer from 0 to ${MAX_CONCURRENCY}`);
  }
  const leaseMs = positiveDuration('leaseDuration', options.leaseDuration, 30_000, MAX_LEASE_MS);
  const heartbeatMs = positiveDuration('heartbeatInterval', options.heartbeatInterval, Math.min(MAX_TIMER_MS, Math.max(1, Math.floor(leaseMs / 3))));
  if (heartbeatMs >= leaseMs) {
    // Without a heartbeatInterval the default is at least 1 ms, so it is the lease that is too short.
    if (options.heartbeatInterval === undefined) {
      throw new InvalidOptionError('leaseDuration', options.leaseDuration, 'a duration of at least 2 ms, so a heartbeat fits in it');
    }
    throw new InvalidOptionError('heartbeatInterval', options.heartbeatInterval, `a duration shorter than leaseDuration (${leaseMs} ms)`);
  }
  const poll = options.pollInterval === undefined ? {} : options.pollInterval;
  if (poll === null || typeof poll !== 'object') {
    throw new InvalidOptionError('pollInterval', poll, "an object { min, max } of durations, e.g. { min: '50ms', max: '2s' }");
  }
  refuseUnknownKeys('pollInterval.', poll, POLL_KEYS);
  const pollMinMs = positiveDuration('pollInterval.min', poll.min, 50);
  const pollMaxMs = positiveDuration('pollInterval.max', poll.max, Math.max(2_000, pollMinMs));
  if (pollMaxMs < pollMinMs) {
    throw new InvalidOptionError('pollInterval.max', poll.max, `a duration not shorter than pollInterval.min (${pollMinMs} ms)`);
  }
  return {
    // The store's rules for names, so registerWorker and claims accept what construction did.
    workerId: options.workerId === undefined ? defaultWorkerId() : validateName('workerId', options.workerId),
    queue: options.queue === undefined ? ENQUEUE_DEFAULTS.queue : validateName('queue', options.queue),
    concurrency,
    prefetch,
    strategy: resolveStrategy(options.strategy),
    capabilities: resolveCapabilities(options.capabilities),
    leaseMs,
    heartbeatMs,
    pollMinMs,
    pollMaxMs,
    shutdownTimeoutMs: options.shutdownTimeout === undefined ? DEFAULT_SHUTDOWN_TIMEOUT_MS : shutdownTimeout('shutdownTimeout', options.shutdownTimeout),
    clock: requireMethods<Clock>('clock', options.clock, ['now'], () => new SystemClock()),
    logger: requireMethods<Logger>('logger', options.logger, ['error', 'warn', 'info', 'debug'], () => createLogger('warn')),
    events: resolveEvents(options.events),
  };
}
