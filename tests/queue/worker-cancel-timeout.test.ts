import { HandlerRegistry } from '../../src/queue/handler-registry';
import { Worker } from '../../src/queue/worker';
import { TaskCancelledError } from '../../src/queue/worker-types';
import { advanceUntil, gate, MemoryLogger, useWorkerStore } from './worker-helpers';

/**
 * A cancel asked for while a handler runs aborts its signal; the task ends (cancelled) when the
 * handler returns. A handler that ignores its signal is what a task `timeout` exists for: the
 * cancel must not switch that limit off, or the task stays `running` (heartbeated) for as long as
 * the handler hangs, where without the cancel it would have ended at its timeout.
 */
describe('a cancel requested while a handler runs keeps the attempt timeout', () => {
  // A real store on a fresh temp folder per test, closed and removed after it.
  const ctx = useWorkerStore();

  it('a handler that ignores its signal after a cancel still ends the task at its timeout, as cancelled', async () => {
    const { store } = ctx;
    // Fake timers (promise plumbing stays real): heartbeat, timeout and poll timers move only when
    // the test moves them, so the order "heartbeat sees the cancel, then the timeout passes" holds
    // on any machine.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const hang = gate();
    let signal: AbortSignal | undefined;
    const registry = new HandlerRegistry().register('stuck', async (_p, ctx) => {
      signal = ctx.signal;
      await hang.promise; // ignores its signal on purpose
    });
    const w = new Worker(store, registry, {
      logger: new MemoryLogger(), concurrency: 1, pollInterval: { min: '5ms', max: '5ms' }, leaseDuration: '30s', heartbeatInterval: '10ms',
    });
    try {
      await w.start();
      const { task } = await store.enqueue({ type: 'stuck', timeout: '1s', maxAttempts: 3 });
      await advanceUntil(() => signal !== undefined, 'the handler to start');
      expect(await store.cancel(task.id)).toBe('cancel-requested');
      await advanceUntil(() => signal!.aborted, 'a heartbeat to see the cancel');
      expect(signal!.reason).toBeInstanceOf(TaskCancelledError);
      // Well past the 1 s timeout: the attempt is over, whatever the handler does.
      await jest.advanceTimersByTimeAsync(5_000);
      expect(await store.get(task.id)).toMatchObject({ status: 'cancelled' });
      // The slot stays taken until the handler returns, as for any timed-out attempt.
      expect(w.activeCount).toBe(1);
      hang.open();
      await advanceUntil(() => w.activeCount === 0, 'the slot to free');
      expect(await store.get(task.id)).toMatchObject({ status: 'cancelled', attempts: 1 });
    } finally {
      hang.open();
      let stopped = false;
      void w.stop({ timeout: 0 }).then(() => (stopped = true));
      await advanceUntil(() => stopped, 'stop() to resolve');
      jest.useRealTimers();
    }
  });
});
