import { ManualClock } from '../../src/core/clock';
import { StoreBusyError } from '../../src/core/errors';
import { TaskEvents } from '../../src/queue/events';
import { HandlerRegistry } from '../../src/queue/handler-registry';
import { createSqliteTaskStore, type SqliteTaskStore } from '../../src/queue/store-factory';
import type { TaskStore } from '../../src/queue/types';
import { Worker } from '../../src/queue/worker';
import { fifo } from '../../src/strategies/ordered';
import { gate, MemoryLogger, openStore, tempDir, waitFor } from './worker-helpers';

/**
 * One batch may name a task twice with different tokens: a worker that still runs an attempt whose
 * lease its own next claim took back (heartbeats failing, event loop stalled past the lease) runs
 * the new attempt beside the old, and both may settle in the same turn. Only the current token can
 * be held. Without a 'completed' listener the batch was deduplicated by id alone, keeping the first
 * item: the stale token, so the current attempt's completion was dropped as "lease lost" and the
 * task stayed running until that lease expired too, then ran again.
 */
describe('a completion batch naming one task under two tokens', () => {
  describe.each([
    ['without a completed listener', false],
    ['with a completed listener', true],
  ])('the store, %s', (_name, listening) => {
    let cleanup: () => void;
    let store: SqliteTaskStore;
    let clock: ManualClock;

    beforeEach(() => {
      const tmp = tempDir('taskbridge-');
      cleanup = tmp.cleanup;
      clock = new ManualClock();
      const events = new TaskEvents();
      if (listening) events.on('completed', () => undefined);
      store = createSqliteTaskStore({ path: `${tmp.dir}/q.db`, clock, events, logger: new MemoryLogger() });
    });

    afterEach(async () => {
      await store.close();
      cleanup();
    });

    /** A task claimed once, its lease expired and taken back, and claimed again: [stale, current]. */
    function reclaimed(): { id: number; stale: number; current: number } {
      const { task } = store.enqueueSync({ type: 't' });
      const [first] = store.claimSync({ workerId: 'w', limit: 1, leaseMs: 1_000, strategy: fifo });
      clock.advance(1_001);
      const [second] = store.claimSync({ workerId: 'w', limit: 1, leaseMs: 60_000, strategy: fifo });
      expect(second!.task.id).toBe(task.id);
      return { id: task.id, stale: first!.token, current: second!.token };
    }

    it('completeMany: the stale item is lost, the current one completes the task', () => {
      const { id, stale, current } = reclaimed();
      const held = store.completeManySync([{ taskId: id, token: stale, result: 'old' }, { taskId: id, token: current, result: 'new' }]);
      expect(held).toEqual([false, true]);
      expect(store.getSync(id)).toMatchObject({ status: 'completed', result: 'new' });
    });

    it('completeMany: the current item first, then the stale one, reports the same way', () => {
      const { id, stale, current } = reclaimed();
      const held = store.completeManySync([{ taskId: id, token: current, result: 'new' }, { taskId: id, token: stale, result: 'old' }]);
      expect(held).toEqual([true, false]);
      expect(store.getSync(id)).toMatchObject({ status: 'completed', result: 'new' });
    });

    it('completeAndClaim: the current item completes the task', () => {
      const { id, stale, current } = reclaimed();
      const { held } = store.completeAndClaimSync(
        [{ taskId: id, token: stale, result: 'old' }, { taskId: id, token: current, result: 'new' }],
        { workerId: 'w', limit: 1, leaseMs: 60_000, strategy: fifo, types: ['t'] },
      );
      expect(held).toEqual([false, true]);
      expect(store.getSync(id)).toMatchObject({ status: 'completed', result: 'new' });
    });
  });

  it('a worker whose own claim took back and re-ran a task completes the new attempt', async () => {
    const tmp = tempDir('taskbridge-');
    const clock = new ManualClock();
    const store = openStore(tmp.dir, { clock });
    let failBeats = false;
    let failedBeats = 0;
    const flaky = Object.create(store) as TaskStore;
    flaky.heartbeat = async (taskId, token, leaseMs) => {
      if (failBeats) {
        failedBeats++;
        throw new StoreBusyError('heartbeat', new Error('SQLITE_BUSY: database is locked'));
      }
      return store.heartbeat(taskId, token, leaseMs);
    };
    const open = gate();
    const attempts: number[] = [];
    const registry = new HandlerRegistry().register('job', async (_p, ctx) => {
      attempts.push(ctx.attempt);
      await open.promise;
      return ctx.attempt;
    });
    const w = new Worker(flaky, registry, {
      clock, logger: new MemoryLogger(), concurrency: 2, pollInterval: { min: '5ms', max: '5ms' }, leaseDuration: '30s', heartbeatInterval: '10ms',
    });
    try {
      await w.start();
      const { task } = await store.enqueue({ type: 'job' });
      await waitFor(() => attempts.length === 1, 'the first attempt');
      failBeats = true;
      await waitFor(() => failedBeats > 0, 'a failed heartbeat');
      // The lease runs out with no heartbeat through; the worker's own next claim (it has a free
      // slot) takes the task back and runs it again while the first attempt still runs.
      clock.advance(30_001);
      await waitFor(() => attempts.length === 2, 'the second attempt');
      failBeats = false;
      open.open(); // both attempts settle in the same turn: one completion batch
      // A slot frees only once its outcome write settled.
      await waitFor(() => w.activeCount === 0, 'both attempts and their writes to settle');
      expect(await store.get(task.id)).toMatchObject({ status: 'completed', attempts: 2, result: 2 });
    } finally {
      await w.stop({ timeout: 0 });
      await store.close();
      tmp.cleanup();
    }
  });
});
