import { join } from 'node:path';
import { ManualClock } from '../../src/core/clock';
import { HandlerRegistry } from '../../src/queue/handler-registry';
import { createSqliteTaskStore, type SqliteTaskStore } from '../../src/queue/store-factory';
import { Worker } from '../../src/queue/worker';
import { fifo } from '../../src/strategies';
import { SILENT, report, tempDir, waitFor } from './harness';
import { checkInvariant } from './invariant';

const HOUR = 3_600_000;

describe('clock trouble', () => {
  let dir: string;
  let cleanup: () => void;
  let store: SqliteTaskStore;
  let clock: ManualClock;
  const T0 = Date.UTC(2026, 2, 1, 12);

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    clock = new ManualClock(T0);
    store = createSqliteTaskStore({ path: join(dir, 'queue.db'), clock, logger: SILENT });
  });
  afterEach(async () => {
    await store.close();
    cleanup();
  });

  const claim = (workerId: string, leaseMs = 30_000) => store.claimSync({ workerId, limit: 10, leaseMs, strategy: fifo });

  it('a lease is never taken before the instant it was granted until, whichever way the clock jumps', () => {
    const { task } = store.enqueueSync({ type: 'work' });
    const [held] = claim('a');
    expect(held!.task.leaseExpiresAt!.getTime()).toBe(T0 + 30_000);

    clock.advance(-HOUR); // the clock steps back an hour (NTP, VM resume) ...
    expect(claim('b')).toEqual([]);
    expect(store.heartbeatSync(task.id, held!.token, 30_000)).toBe('extended'); // ... and a heartbeat runs then
    clock.set(T0 + 10_000); // ... and the clock comes back
    expect(claim('b')).toEqual([]);
    expect(store.getSync(task.id)).toMatchObject({ status: 'running', leaseOwner: 'a' });
    clock.set(T0 + 29_999);
    expect(claim('b')).toEqual([]);

    // A forward jump past the lease does expire it: a wall-clock lease cannot tell a jump from time passing.
    clock.set(T0 + 30_000);
    const [taken] = claim('b');
    expect(taken).toMatchObject({ task: { id: task.id, attempts: 2, leaseOwner: 'b' } });
    expect(store.completeSync(task.id, held!.token)).toBe(false);
  });

  it('a delayed task is neither lost nor run early when the clock jumps back and forth', () => {
    const { task } = store.enqueueSync({ type: 'work', delay: '10m' });
    clock.advance(-HOUR);
    expect(claim('a')).toEqual([]);
    clock.set(T0 + 10 * 60_000 - 1);
    expect(claim('a')).toEqual([]);
    clock.advance(2 * HOUR);
    clock.advance(-2 * HOUR + 1); // back to exactly the instant it becomes due
    const [c] = claim('a');
    expect(c!.task.id).toBe(task.id);
    expect(store.completeSync(task.id, c!.token, 'ok')).toBe(true);
  });

  it('a retry scheduled before a backward jump still runs after its backoff, once the clock catches up', () => {
    const { task } = store.enqueueSync({ type: 'work', backoff: { base: '1m', jitter: 0 } });
    const [c] = claim('a');
    expect(store.failSync(task.id, c!.token, { message: 'boom' })).toBe('retry-scheduled');
    clock.advance(-HOUR);
    expect(claim('a')).toEqual([]);
    clock.set(T0 + 60_000);
    const [again] = claim('a');
    expect(again).toMatchObject({ task: { id: task.id, attempts: 2 } });
  });

  it('a worker on a jumping clock completes every task once, and nothing is lost', async () => {
    const ids = store.enqueueBatchSync(Array.from({ length: 60 }, (_, i) => ({ type: 'work', payload: { i }, ...(i % 3 === 0 ? { delay: `${i}s` } : {}) })))
      .map((r) => r.task.id);
    const runs = join(dir, 'runs.txt');
    const registry = new HandlerRegistry().register('work', async (_p, ctx) => {
      require('node:fs').appendFileSync(runs, `${ctx.taskId} start\n`);
      await new Promise((r) => setImmediate(r));
      require('node:fs').appendFileSync(runs, `${ctx.taskId} done\n`);
    });
    const worker = new Worker(store, registry, { clock, logger: SILENT, leaseDuration: '30s', heartbeatInterval: '5ms', pollInterval: { min: '1ms', max: '5ms' } });
    await worker.start();
    let jumps = 0;
    try {
      await waitFor(() => {
        // Backwards by up to an hour, forwards by up to 30 s: net time moves on, a second at a time.
        clock.advance(jumps % 4 === 3 ? -Math.floor(Math.random() * HOUR) : 1000 + Math.floor(Math.random() * 29_000));
        jumps++;
        if (jumps % 4 === 3) clock.advance(HOUR);
        return store.countsSync().byStatus.completed === 60;
      }, 20_000, 'all 60 completed');
    } finally {
      await worker.stop();
    }
    const inv = checkInvariant({ dbPath: join(dir, 'queue.db'), accepted: ids, runFiles: [runs] });
    expect(inv.problems).toEqual([]);
    report('clock trouble', { tasks: 60, faults: jumps, lost: inv.lost, doubleRuns: inv.doubleRuns });
  });
});
