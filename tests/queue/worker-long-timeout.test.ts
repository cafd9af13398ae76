import { ManualClock } from '../../src/core/clock';
import { HandlerRegistry } from '../../src/queue/handler-registry';
import type { TaskStore } from '../../src/queue/types';
import { Worker } from '../../src/queue/worker';
import { MemoryLogger, openStore, tempDir, waitFor } from './worker-helpers';

// Node clamps a setTimeout delay above 2^31 - 1 ms (about 24.8 days) to 1 ms, so a long attempt
// limit must not reach setTimeout as is. The handler waits on a 50 ms timer armed after the
// worker's: timers fire in expiry order, so a clamped 1 ms timeout always fires first.
describe('worker: attempt limits longer than a timer can hold', () => {
  let cleanup: () => void;
  let store: TaskStore;
  let worker: Worker | undefined;

  beforeEach(() => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    store = openStore(tmp.dir, { clock: new ManualClock() });
  });

  afterEach(async () => {
    await worker?.stop({ timeout: 0 });
    await store.close();
    cleanup();
  });

  it.each([
    ['the task', { type: 'long', timeout: '30d' }, undefined],
    ['the handler', { type: 'long' }, '30d'],
  ])('a 30-day timeout set on %s does not abort the handler at once', async (_where, request, handlerTimeout) => {
    const aborted: boolean[] = [];
    const registry = new HandlerRegistry().register('long', async (_payload, ctx) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      aborted.push(ctx.signal.aborted);
      return 'done';
    }, handlerTimeout === undefined ? {} : { timeout: handlerTimeout });
    worker = new Worker(store, registry, { logger: new MemoryLogger(), pollInterval: { min: '5ms', max: '20ms' } });
    await worker.start();
    const { task } = await store.enqueue(request);
    await waitFor(async () => ['completed', 'failed', 'queued'].includes((await store.get(task.id))!.status) && aborted.length > 0, 'the attempt to end');
    const after = (await store.get(task.id))!;
    expect(aborted).toEqual([false]);
    expect(after.status).toBe('completed');
    expect(after.attempts).toBe(1);
    expect(after.lastError).toBeNull();
  });

  it('stop() refuses a deadline no timer can hold instead of aborting the handlers after 1 ms', async () => {
    const registry = new HandlerRegistry().register('t', async () => 'done');
    worker = new Worker(store, registry, { logger: new MemoryLogger(), pollInterval: { min: '5ms', max: '20ms' } });
    await worker.start();
    expect(() => worker!.stop({ timeout: '30d' })).toThrow(expect.objectContaining({ code: 'TASKBRIDGE_INVALID_OPTION', field: 'timeout' }));
    expect(worker.status).toBe('running');
  });
});
