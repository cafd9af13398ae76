import { HandlerRegistry } from '../../src/queue/handler-registry';
import type { TaskStore } from '../../src/queue/types';
import { Worker } from '../../src/queue/worker';
import { advanceUntil, gate, MemoryLogger, useWorkerStore } from './worker-helpers';

describe('worker stop', () => {
  // A real store on a fresh temp folder per test, closed and removed after it.
  const ctx = useWorkerStore();

  // docs/worker.md: "When it resolves the worker holds no timer or listener."
  it('past its deadline, stop() leaves no outcome write retry behind: no store call after it resolves', async () => {
    const { store } = ctx;
    // Fake timers (promise plumbing stays real): the check below moves time far past every retry
    // delay of a write (20 + 40 + 80 + 160 ms), so a retry that survived stop() fires before it on
    // any machine, however slow.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const registry = new HandlerRegistry().register('job', async () => 'ok');
      let completes = 0;
      const busy = Object.create(store) as TaskStore;
      busy.complete = async () => {
        completes++;
        throw Object.assign(new Error('database is locked'), { retryable: true });
      };
      Object.assign(busy, { completeMany: undefined, completeAndClaim: undefined });
      const w = new Worker(busy, registry, { logger: new MemoryLogger(), pollInterval: { min: '5ms', max: '5ms' } });
      await w.start();
      await store.enqueue({ type: 'job' });
      await advanceUntil(() => completes === 1, 'the first complete');
      let stopped = false;
      void w.stop({ timeout: 0 }).then(() => (stopped = true));
      // stop()'s deadline is a fake timer too.
      await advanceUntil(() => stopped, 'stop() to resolve');
      const atStop = completes;
      expect(jest.getTimerCount()).toBe(0);
      await jest.advanceTimersByTimeAsync(60_000);
      expect(completes).toBe(atStop);
    } finally {
      jest.useRealTimers();
    }
  });

  it('stop() twice on a worker that never started makes no store call and stays stopped', async () => {
    const { store } = ctx;
    const calls: string[] = [];
    const spy = Object.create(store) as TaskStore;
    spy.unregisterWorker = async (id) => {
      calls.push(`unregister ${id}`);
      return store.unregisterWorker(id);
    };
    const w = new Worker(spy, new HandlerRegistry(), { logger: new MemoryLogger() });
    await w.stop();
    const again = w.stop();
    expect(w.status).toBe('stopped');
    await again;
    expect(w.status).toBe('stopped');
    expect(calls).toEqual([]);
  });

  it.each([
    ['a duration instead of the options object', '10s', 'stop options'],
    ['null', null, 'stop options'],
    ['a misspelt key', { timout: '10s' }, 'stop option timout'],
  ])('stop() refuses %s with a typed error naming it, and keeps running', async (_what, options, field) => {
    const { store } = ctx;
    const w = new Worker(store, new HandlerRegistry(), { logger: new MemoryLogger() });
    await w.start();
    try {
      expect(() => w.stop(options as never)).toThrow(expect.objectContaining({ code: 'TASKBRIDGE_INVALID_OPTION', field }));
      expect(w.status).toBe('running');
    } finally {
      await w.stop({ timeout: 0 });
    }
  });

  it('stop() while start() is registering the worker: the claim loop never runs, nothing is claimed', async () => {
    const { store } = ctx;
    const registry = new HandlerRegistry().register('job', async () => 'ok');
    await store.enqueue({ type: 'job' });
    const registered = gate();
    let claims = 0;
    const slow = Object.create(store) as TaskStore;
    slow.registerWorker = async (info) => {
      await registered.promise;
      return store.registerWorker(info);
    };
    slow.claim = async (request) => {
      claims++;
      return store.claim(request);
    };
    const w = new Worker(slow, registry, { logger: new MemoryLogger() });
    const started = w.start();
    const stopped = w.stop();
    registered.open();
    await started;
    await stopped;
    expect(w.status).toBe('stopped');
    expect(claims).toBe(0);
    expect(await store.listWorkers()).toEqual([]);
  });
});
