import { HandlerRegistry } from '../../src/queue/handler-registry';
import type { TaskStore } from '../../src/queue/types';
import { Worker } from '../../src/queue/worker';
import { gate, MemoryLogger, useWorkerStore, waitFor } from './worker-helpers';

// docs/worker.md: `activeCount` counts started tasks whose slot is not free yet, `running()` lists
// started tasks; a prefetched task that ends without starting is in neither.
describe('worker counts', () => {
  const env = useWorkerStore();

  it('a waiting task cancelled before it started is not counted as active while its cancel is written', async () => {
    const open = gate();
    const registry = new HandlerRegistry().register('job', () => open.promise);
    const ackWritten = gate<boolean>();
    const slowAck = Object.create(env.store) as TaskStore;
    slowAck.acknowledgeCancel = () => ackWritten.promise;
    const [, second] = (await env.store.enqueueBatch([{ type: 'job' }, { type: 'job' }])).map((r) => r.task.id);
    const w = new Worker(slowAck, registry, { logger: new MemoryLogger(), concurrency: 1, prefetch: 1, heartbeatInterval: '10s' });
    env.workers.push(w);
    await w.start();
    await waitFor(async () => (await env.store.counts()).byStatus.running === 2, 'both claimed');
    await env.store.cancel(second!);
    expect(w.cancelWaiting(second!)).toBe(true);
    expect(w.running()).toHaveLength(1);
    expect(w.activeCount).toBe(1);
    ackWritten.open(await env.store.acknowledgeCancel(second!, (await env.store.get(second!))!.leaseToken));
    open.open();
  });
});
