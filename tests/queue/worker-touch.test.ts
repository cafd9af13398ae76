import { ManualClock } from '../../src/core/clock';
import { HandlerRegistry } from '../../src/queue/handler-registry';
import { DEFAULT_STALE_AFTER_MS } from '../../src/queue/metrics';
import type { TaskStore } from '../../src/queue/types';
import { Worker } from '../../src/queue/worker';
import { gate, MemoryLogger, openStore, tempDir } from './worker-helpers';

/**
 * `stats`, `health` and the metrics call a worker stale when its row was not refreshed for 60 s (by
 * default). A worker refreshes it at least every 20 s, however long its heartbeat interval. Timers
 * are jest's fake ones, moved in step with the store's ManualClock, so nothing waits for real time.
 */
describe('worker row refresh', () => {
  let cleanup: () => void;
  let clock: ManualClock;
  let store: TaskStore;
  let registry: HandlerRegistry;
  let workers: Worker[];
  /** Ends the handlers of a test; opened after each test too, so a failed one still stops. */
  let finish: { promise: Promise<void>; open: () => void };

  beforeEach(() => {
    // Promise plumbing (nextTick, setImmediate) stays real; the worker's intervals and polls are faked.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    clock = new ManualClock();
    store = openStore(tmp.dir, { clock });
    registry = new HandlerRegistry();
    workers = [];
    finish = gate();
    registry.register('job', () => finish.promise);
  });

  afterEach(async () => {
    finish.open();
    for (const w of workers) {
      let stopped = false;
      void w.stop({ timeout: 0 }).then(() => (stopped = true));
      // stop()'s deadline is a fake timer too: move fake time until it resolved.
      while (!stopped) await jest.advanceTimersByTimeAsync(10);
    }
    await store.close();
    cleanup();
    jest.useRealTimers();
  });

  function worker(leaseDuration: string): Worker {
    const w = new Worker(store, registry, { clock, logger: new MemoryLogger(), workerId: 'w-long', leaseDuration, pollInterval: { min: '50ms', max: '2s' } });
    workers.push(w);
    return w;
  }

  /** Moves the worker's timers and the store's clock on together. */
  async function advance(ms: number): Promise<void> {
    clock.advance(ms);
    await jest.advanceTimersByTimeAsync(ms);
  }

  /** How long ago, by the store's clock, the worker row was refreshed. */
  async function rowAge(): Promise<number> {
    const [row] = await store.listWorkers();
    return clock.now() - row!.lastSeenAt.getTime();
  }

  it.each([
    ['with no task', false],
    ['while a task runs', true],
  ])('a worker with a 10-minute lease (heartbeat 200 s) refreshes its row at least every 20 s %s, so it never looks stale', async (_what, busy) => {
    const w = worker('10m');
    expect(w.options.heartbeatMs).toBe(200_000);
    await w.start();
    if (busy) {
      await store.enqueue({ type: 'job' });
      await advance(100);
      expect(w.activeCount).toBe(1);
    }
    for (let elapsed = 0; elapsed < 600_000; elapsed += 5_000) {
      await advance(5_000);
      expect(await rowAge()).toBeLessThanOrEqual(20_000);
      expect(await rowAge()).toBeLessThanOrEqual(DEFAULT_STALE_AFTER_MS);
    }
  });

  it('a short heartbeat still refreshes the row at every beat', async () => {
    const w = worker('3s');
    await w.start();
    await advance(1_000);
    expect(await rowAge()).toBe(0);
  });

  it('stop() leaves no timer behind', async () => {
    const w = worker('10m');
    await w.start();
    await advance(25_000);
    await w.stop({ timeout: 0 });
    expect(jest.getTimerCount()).toBe(0);
  });
});
