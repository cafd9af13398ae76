import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ManualClock } from '../../src/core/clock';
import { InvalidOptionError } from '../../src/core/errors';
import { metrics } from '../../src/queue/metrics';
import { renderPrometheus } from '../../src/queue/prometheus';
import { SqliteMetricsSource } from '../../src/queue/sqlite/stats';
import { createSqliteTaskStore, type SqliteTaskStore } from '../../src/queue/store-factory';
import { createStrategy } from '../../src/strategies';

const silent = { error() {}, warn() {}, info() {}, debug() {} };
const fifo = createStrategy('fifo');

describe('metrics()', () => {
  let dir: string;
  let clock: ManualClock;
  let store: SqliteTaskStore;
  let db: Database.Database;
  const figures = (staleAfterMs?: number) => metrics({ store, source: new SqliteMetricsSource(db), clock, staleAfterMs });

  /** Claims the next task, lets `ms` pass on the clock, then completes (or fails) it. */
  async function process(ms: number, outcome: 'complete' | 'fail' = 'complete'): Promise<void> {
    const [claimed] = await store.claim({ workerId: 'w1', limit: 1, leaseMs: 600_000, strategy: fifo });
    if (!claimed) throw new Error('nothing to claim');
    clock.advance(ms);
    if (outcome === 'complete') expect(await store.complete(claimed.task.id, claimed.token, null)).toBe(true);
    else await store.fail(claimed.task.id, claimed.token, { message: 'nope' });
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-metrics-'));
    clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
    store = createSqliteTaskStore({ path: path.join(dir, 'q.db'), clock, logger: silent });
    db = new Database(path.join(dir, 'q.db'));
  });
  afterEach(async () => {
    db.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an empty queue reports zeros and nulls, not errors', async () => {
    const m = await figures();
    expect(m.counts.total).toBe(0);
    expect(m.throughput).toMatchObject({ windowMinutes: 60, completedInWindow: 0, averagePerMinute: 0 });
    expect(m.oldestQueuedAgeMs).toBeNull();
    expect(m.processingTimeMs).toEqual({ samples: 0, p50: null, p95: null, p99: null });
    expect(m.retryRate).toBe(0);
    expect(m.workers).toEqual({ active: 0, stale: 0, list: [] });
  });

  it('processing-time percentiles are nearest-rank over the tasks completed in the last hour', async () => {
    await store.enqueueBatch(Array.from({ length: 100 }, (_, i) => ({ type: i % 2 ? 'odd' : 'even', payload: i })));
    for (let i = 1; i <= 100; i++) await process(i * 10);
    const m = await figures();
    expect(m.processingTimeMs).toEqual({ samples: 100, p50: 500, p95: 950, p99: 990 });
    expect(m.counts.byType).toMatchObject({ odd: { completed: 50 }, even: { completed: 50 } });
    expect(m.throughput.completedInWindow).toBe(100);
  });

  it('throughput counts completions per minute; older than an hour falls out of the window', async () => {
    await store.enqueueBatch(Array.from({ length: 6 }, () => ({ type: 't' })));
    await process(1000); // finishes at 12:00:01, which is 61 minutes before the reading below
    clock.advance(60 * 60_000);
    await process(1000);
    await process(1000);
    clock.advance(2 * 60_000);
    await process(1000);
    const m = await figures();
    expect(m.throughput.completedInWindow).toBe(3);
    const buckets = m.throughput.completedPerMinute;
    expect(buckets).toHaveLength(60);
    expect(buckets[59]).toBe(1);
    expect(buckets.slice(0, 59).reduce((a, b) => a + b, 0)).toBe(2);
    expect(m.processingTimeMs.samples).toBe(3);
  });

  it('every windowed figure covers the span of the per-minute buckets: completed and finished agree at the window edges', async () => {
    await store.enqueueBatch(Array.from({ length: 2 }, () => ({ type: 't' })));
    await process(10); // finishes exactly one hour before the first reading
    clock.advance(3_600_000);
    let m = await figures();
    expect([m.throughput.completedInWindow, m.finishedInWindow, m.processingTimeMs.samples]).toEqual([0, 0, 0]);

    // A window that is not whole minutes is rounded up to them, for every figure alike.
    await process(10);
    clock.advance(100_000);
    m = await metrics({ store, source: new SqliteMetricsSource(db), clock, windowMs: 90_000 });
    expect(m.throughput.windowMinutes).toBe(2);
    expect([m.throughput.completedInWindow, m.finishedInWindow, m.processingTimeMs.samples]).toEqual([1, 1, 1]);
  });

  it.each<[string, Partial<{ staleAfterMs: unknown; windowMs: unknown }>, RegExp]>([
    ['staleAfterMs', { staleAfterMs: Number.NaN }, /accepted: a non-negative number of milliseconds/],
    ['staleAfterMs', { staleAfterMs: -1 }, /accepted: a non-negative number of milliseconds/],
    ['windowMs', { windowMs: 0 }, /accepted: a number of milliseconds greater than 0/],
    ['windowMs', { windowMs: Number.POSITIVE_INFINITY }, /accepted: a number of milliseconds greater than 0/],
    ['windowMs', { windowMs: '1h' }, /accepted: a number of milliseconds greater than 0/],
  ])('refuses a bad %s with InvalidOptionError naming it, the value and what is accepted', async (field, bad, accepted) => {
    const call = metrics({ store, source: new SqliteMetricsSource(db), clock, ...bad } as Parameters<typeof metrics>[0]);
    await expect(call).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(call).rejects.toMatchObject({ code: 'TASKBRIDGE_INVALID_OPTION', field, message: expect.stringMatching(accepted) });
  });

  it('oldest queued age counts from when a task became ready; delayed tasks do not count until due', async () => {
    await store.enqueue({ type: 't' });
    await store.enqueue({ type: 't', delay: '1h' });
    clock.advance(90_000);
    expect((await figures()).oldestQueuedAgeMs).toBe(90_000);
    await process(0);
    expect((await figures()).oldestQueuedAgeMs).toBeNull();
    clock.advance(3_600_000);
    expect((await figures()).oldestQueuedAgeMs).toBe(90_000);
  });

  it('retry rate is the share of tasks finished in the window that needed more than one attempt; dead tasks count', async () => {
    await store.enqueue({ type: 'a', maxAttempts: 2, backoff: { base: 0, jitter: 0 } });
    await store.enqueue({ type: 'b', maxAttempts: 1 });
    await store.enqueue({ type: 'c' });
    await process(10, 'fail'); // a: retry scheduled
    await process(10, 'fail'); // b: dead at once
    await process(10); // c
    await process(10); // a, second attempt
    const m = await figures();
    expect(m.finishedInWindow).toBe(3);
    expect(m.retryRate).toBeCloseTo(1 / 3);
    expect(m.deadInWindow).toBe(1);
  });

  it('a worker without a heartbeat past staleAfter is stale, and its leases are visible', async () => {
    const info = { pid: 1, hostname: 'h', queue: 'default', concurrency: 1, strategy: 'fifo', capabilities: {} };
    await store.registerWorker({ ...info, workerId: 'w1' });
    await store.registerWorker({ ...info, workerId: 'w2' });
    await store.enqueue({ type: 't' });
    await store.claim({ workerId: 'w1', limit: 1, leaseMs: 30_000, strategy: fifo });
    clock.advance(45_000);
    await store.touchWorker('w2');
    const m = await figures(40_000);
    expect(m.workers.active).toBe(1);
    expect(m.workers.stale).toBe(1);
    const w1 = m.workers.list.find((w) => w.workerId === 'w1')!;
    expect(w1).toMatchObject({ stale: true, leases: { active: 0, expired: 1 } });
  });

  it('counts the leases of every owner, also of a worker that stopped and unregistered while its task stayed leased', async () => {
    await store.enqueue({ type: 't' });
    await store.enqueue({ type: 't' });
    // No worker row for either owner: a worker that stopped past its deadline unregistered itself.
    await store.claim({ workerId: 'gone', limit: 1, leaseMs: 30_000, strategy: fifo });
    clock.advance(20_000);
    await store.claim({ workerId: 'also-gone', limit: 1, leaseMs: 30_000, strategy: fifo });
    clock.advance(15_000);
    const m = await figures();
    expect(m.workers.list).toEqual([]);
    const text = await renderPrometheus(m);
    expect(text).toContain('taskbridge_leases{state="active"} 1');
    expect(text).toContain('taskbridge_leases{state="expired"} 1');
    expect(m.leases).toEqual({ active: 1, expired: 1 });
  });

  it('renders as Prometheus text with one gauge per figure', async () => {
    await store.enqueue({ type: 'email', queue: 'mail' });
    const text = await renderPrometheus(await figures(), { databaseBytes: 4096, walBytes: 0 });
    expect(text).toContain('taskbridge_tasks{status="queued"} 1');
    expect(text).toContain('taskbridge_tasks_by_queue{queue="mail",status="queued"} 1');
    expect(text).toContain('taskbridge_database_bytes 4096');
    expect(text).toContain('# TYPE taskbridge_retry_rate gauge');
    // No sample for quantiles nobody measured.
    expect(text).not.toMatch(/^taskbridge_processing_time_seconds\{/m);
  });

  it('SqliteMetricsSource.open reads a database file through a connection of its own', async () => {
    await store.enqueue({ type: 't' });
    const source = SqliteMetricsSource.open(path.join(dir, 'q.db'));
    try {
      expect((await metrics({ store, source, clock })).counts.byStatus.queued).toBe(1);
    } finally {
      source.close();
    }
  });
});
