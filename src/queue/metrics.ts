import type { Clock } from '../core/clock';
import { InvalidOptionError } from '../core/errors';
import type { TaskCounts, TaskStore, WorkerRecord } from './types';

/** Running tasks of one lease owner: leases still valid, and leases past expiry not yet taken back. */
export interface LeaseCounts {
  readonly active: number;
  readonly expired: number;
}

/**
 * Read-only aggregate queries a backend answers in its own query language (the SQLite one is
 * `SqliteMetricsSource`). Times are ms since the epoch.
 */
export interface MetricsSource {
  /** Completed tasks per minute over [since, until), oldest minute first. */
  completedPerMinute(since: number, until: number): number[];
  /** Earliest run-after time among queued tasks that are ready at `now`; null when none is. */
  oldestReadyRunAfter(now: number): number | null;
  /** Nearest-rank quantiles (0..1) of processing time (finish - start) of tasks completed since `since`. */
  processingTimes(since: number, quantiles: readonly number[]): { samples: number; values: (number | null)[] };
  /** Tasks finished (completed or dead) since `since`, and how many of them took more than one attempt. */
  finishedAndRetried(since: number): { finished: number; retried: number };
  /** Tasks that went dead since `since`. */
  deadSince(since: number): number;
  /** Running tasks by lease owner (worker id). */
  leasesByOwner(now: number): Record<string, LeaseCounts>;
}

/** A registered worker as `stats` shows it. */
export interface WorkerStatus extends WorkerRecord {
  /** No heartbeat for longer than `staleAfterMs`: the process probably died or hangs. */
  readonly stale: boolean;
  readonly leases: LeaseCounts;
}

/** Every figure of `taskbridge stats`. */
export interface QueueMetrics {
  readonly generatedAt: Date;
  readonly counts: TaskCounts;
  readonly throughput: {
    /** Length of the window in minutes (60 by default). */
    readonly windowMinutes: number;
    /** Completed tasks per minute, oldest minute first; the last entry is the current, partial minute. */
    readonly completedPerMinute: readonly number[];
    readonly completedInWindow: number;
    readonly averagePerMinute: number;
  };
  /** How long the longest-waiting ready task has waited since it became ready, ms; null when none waits. */
  readonly oldestQueuedAgeMs: number | null;
  /** Processing time (start of the successful attempt to completion) of tasks completed in the window. */
  readonly processingTimeMs: { readonly samples: number; readonly p50: number | null; readonly p95: number | null; readonly p99: number | null };
  /** Of the tasks finished in the window, the share that needed more than one attempt (0 when none finished). */
  readonly retryRate: number;
  readonly finishedInWindow: number;
  /** Tasks that went dead in the window. */
  readonly deadInWindow: number;
  readonly workers: { readonly active: number; readonly stale: number; readonly list: readonly WorkerStatus[] };
  /**
   * Running tasks by lease state, over every lease owner: also those of owners without a worker row
   * (a worker that stopped past its deadline unregistered, but its abandoned tasks stay leased).
   */
  readonly leases: LeaseCounts;
}

/** Dependencies and settings of {@link metrics}. */
export interface MetricsOptions {
  store: TaskStore;
  source: MetricsSource;
  clock: Clock;
  /** A worker without a heartbeat for this long is stale. Default 60,000 ms (two default leases). */
  staleAfterMs?: number;
  /**
   * Throughput/latency/retry window, rounded up to whole minutes (the per-minute buckets). Default
   * 3,600,000 ms (the last hour); at most 30 days.
   */
  windowMs?: number;
}

/** Default heartbeat age after which a worker counts as stale. */
export const DEFAULT_STALE_AFTER_MS = 60_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** Longest accepted window: the per-minute buckets are an array, one entry a minute. */
const MAX_WINDOW_MS = 30 * 24 * HOUR_MS;

/**
 * The heartbeat age after which a worker is stale: DEFAULT_STALE_AFTER_MS when left out.
 * `now - lastSeen > NaN` is false for any age, so a NaN here would have called every worker active.
 * @throws InvalidOptionError naming staleAfterMs, the value and what is accepted
 */
export function resolveStaleAfterMs(value: number | undefined): number {
  if (value === undefined) return DEFAULT_STALE_AFTER_MS;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidOptionError('staleAfterMs', value, 'a non-negative number of milliseconds');
  }
  return value;
}

function resolveWindowMs(value: number | undefined): number {
  if (value === undefined) return HOUR_MS;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_WINDOW_MS) {
    throw new InvalidOptionError('windowMs', value, `a number of milliseconds greater than 0 and at most ${MAX_WINDOW_MS} (30 days)`);
  }
  return value;
}

/**
 * Computes the figures `taskbridge stats` prints and Prometheus exports. Time windows come from the
 * injected clock, so the result is reproducible under a ManualClock.
 * @throws InvalidOptionError for a staleAfterMs or windowMs outside what is accepted
 */
export async function metrics(options: MetricsOptions): Promise<QueueMetrics> {
  const { store, source, clock } = options;
  const windowMs = resolveWindowMs(options.windowMs);
  const staleAfterMs = resolveStaleAfterMs(options.staleAfterMs);
  const now = clock.now();
  // Minute buckets aligned so the last one ends just after `now`, which therefore counts. Every
  // windowed figure starts where the first bucket does: with a window of its own (now - windowMs)
  // a task finished in the uncovered part of a partial minute, or exactly windowMs ago, counted as
  // finished but not as completed.
  const since = now + 1 - Math.ceil(windowMs / MINUTE_MS) * MINUTE_MS;
  const [counts, workers] = await Promise.all([store.counts(), store.listWorkers()]);

  const perMinute = source.completedPerMinute(since, now + 1);
  const completedInWindow = perMinute.reduce((a, b) => a + b, 0);
  const oldest = source.oldestReadyRunAfter(now);
  const times = source.processingTimes(since, [0.5, 0.95, 0.99]);
  const { finished, retried } = source.finishedAndRetried(since);
  const leases = source.leasesByOwner(now);

  const list: WorkerStatus[] = workers.map((w) => ({
    ...w,
    stale: now - w.lastSeenAt.getTime() > staleAfterMs,
    // Own entries only: an id such as `constructor` or `__proto__` would find Object.prototype's member.
    leases: Object.hasOwn(leases, w.workerId) ? leases[w.workerId]! : { active: 0, expired: 0 },
  }));
  const stale = list.filter((w) => w.stale).length;
  return {
    generatedAt: new Date(now),
    counts,
    throughput: {
      windowMinutes: perMinute.length,
      completedPerMinute: perMinute,
      completedInWindow,
      averagePerMinute: perMinute.length === 0 ? 0 : completedInWindow / perMinute.length,
    },
    oldestQueuedAgeMs: oldest === null ? null : Math.max(0, now - oldest),
    processingTimeMs: { samples: times.samples, p50: times.values[0] ?? null, p95: times.values[1] ?? null, p99: times.values[2] ?? null },
    retryRate: finished === 0 ? 0 : retried / finished,
    finishedInWindow: finished,
    deadInWindow: source.deadSince(since),
    workers: { active: list.length - stale, stale, list },
    leases: Object.values(leases).reduce((sum, l) => ({ active: sum.active + l.active, expired: sum.expired + l.expired }), { active: 0, expired: 0 }),
  };
}
