import { HandlerRegistry } from '../../src/queue/handler-registry';
import { Worker } from '../../src/queue/worker';
import { gate, waitFor, useWorkerStore } from './worker-helpers';

// A handler may return any thenable (query builders, other promise libraries), and not every one
// keeps the Promises/A+ rules: the worker must settle each attempt exactly once whatever it does.
describe('worker: what a handler returns', () => {
  const env = useWorkerStore();

  function start(registry: HandlerRegistry, prefetch = 0): Promise<void> {
    const w = new Worker(env.store, registry, { logger: env.logger, concurrency: 1, prefetch, pollInterval: { min: '5ms', max: '20ms' } });
    env.workers.push(w);
    return w.start();
  }

  it('a thenable whose then() throws fails the attempt and frees its slot', async () => {
    const registry = new HandlerRegistry()
      .register('bad', () => ({ then() { throw new Error('then() blew up'); } }))
      .register('good', () => 'ok');
    await start(registry);
    const bad = (await env.store.enqueue({ type: 'bad', maxAttempts: 1 })).task;
    await waitFor(async () => (await env.store.get(bad.id))!.status === 'failed', 'the bad attempt to fail');
    expect((await env.store.get(bad.id))!.lastError).toBe('then() blew up');
    const good = (await env.store.enqueue({ type: 'good' })).task;
    await waitFor(async () => (await env.store.get(good.id))!.status === 'completed', 'the next task to run');
    expect(env.workers[0]!.activeCount).toBe(0);
  });

  it.each([
    ['a revoked Proxy', () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    }],
    ['an object whose retryable getter throws', () => ({ get retryable(): boolean { throw new Error('getter'); } })],
  ])('a rejection with %s fails the attempt with a message and frees its slot', async (_label, reason) => {
    const registry = new HandlerRegistry()
      .register('odd', () => Promise.reject(reason()))
      .register('good', () => 'ok');
    await start(registry);
    const odd = (await env.store.enqueue({ type: 'odd', maxAttempts: 1 })).task;
    await waitFor(async () => (await env.store.get(odd.id))!.status === 'failed', 'the odd attempt to fail');
    expect((await env.store.get(odd.id))!.lastError).toMatch(/\S/);
    const good = (await env.store.enqueue({ type: 'good' })).task;
    await waitFor(async () => (await env.store.get(good.id))!.status === 'completed', 'the next task to run');
    expect(env.workers[0]!.activeCount).toBe(0);
  });

  it('a thenable that calls back twice settles once: concurrency still holds', async () => {
    const open = gate();
    let running = 0;
    let most = 0;
    const registry = new HandlerRegistry()
      .register('twice', () => ({ then(ok: (v: unknown) => void, fail: (e: unknown) => void) { ok('first'); fail(new Error('second')); } }))
      .register('slow', async () => {
        most = Math.max(most, ++running);
        await open.promise;
        running--;
      });
    await start(registry, 1);
    const twice = (await env.store.enqueue({ type: 'twice' })).task;
    await waitFor(async () => (await env.store.get(twice.id))!.status === 'completed', 'the thenable task');
    expect((await env.store.get(twice.id))!.result).toBe('first');
    await env.store.enqueueBatch([{ type: 'slow' }, { type: 'slow' }]);
    // Both claimed (one prefetched): a claim starts at admission when a handler slot is free, so by now it would have.
    await waitFor(async () => (await env.store.counts()).byStatus.running === 2, 'both slow tasks claimed');
    expect(env.workers[0]!.running()).toHaveLength(1);
    expect(most).toBe(1);
    open.open();
    await waitFor(async () => (await env.store.counts()).byStatus.completed === 3, 'all completed');
    expect(most).toBe(1);
  });
});
