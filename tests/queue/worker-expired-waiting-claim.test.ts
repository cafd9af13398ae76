import { ManualClock } from '../../src/core/clock';
import { StoreBusyError } from '../../src/core/errors';
import { HandlerRegistry } from '../../src/queue/handler-registry';
import type { TaskStore } from '../../src/queue/types';
import { Worker } from '../../src/queue/worker';
import { gate, MemoryLogger, openStore, tempDir, waitFor } from './worker-helpers';

/**
 * A prefetched claim that waited past the lease the worker knows of never starts (the store may
 * have given the task to another worker). When nobody did, the task is still `running` under this
 * worker's token: dropped without a write, the next claim took it back as a failed attempt
 * ("lease expired on attempt 1 of 1"), so a task that never ran lost an attempt, and with
 * `maxAttempts: 1` died unrun. A release is fenced by the token, so it hands the task back only
 * while it is still this worker's, and does nothing once another claim took it.
 */
describe('a waiting claim dropped past its lease is handed back when still held', () => {
  let cleanup: () => void;
  let clock: ManualClock;
  let store: TaskStore;
  let workers: Worker[];
  let failBeats: boolean;
  let failedBeats: number;
  /** The real store, with heartbeats that fail (busy) while `failBeats` is set. */
  let flaky: TaskStore;

  beforeEach(() => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    clock = new ManualClock();
    store = openStore(tmp.dir, { clock });
    workers = [];
    failBeats = false;
    failedBeats = 0;
    flaky = Object.create(store) as TaskStore;
    flaky.heartbeat = async (taskId, token, leaseMs) => {
      if (failBeats) {
        failedBeats++;
        throw new StoreBusyError('heartbeat', new Error('SQLITE_BUSY: database is locked'));
      }
      return store.heartbeat(taskId, token, leaseMs);
    };
  });

  afterEach(async () => {
    for (const w of workers) await w.stop({ timeout: 0 });
    await store.close();
    cleanup();
  });

  it('a never-started task keeps its attempt and runs once the store answers again (maxAttempts 1)', async () => {
    const open = gate();
    const started: number[] = [];
    const registry = new HandlerRegistry().register<{ wait: boolean }>('job', async (payload, ctx) => {
      started.push(ctx.taskId);
      if (payload.wait) await open.promise;
    });
    const [first, second] = (await store.enqueueBatch([
      { type: 'job', payload: { wait: true } },
      { type: 'job', payload: { wait: false }, maxAttempts: 1 },
    ])).map((r) => r.task.id);
    const logger = new MemoryLogger();
    const w = new Worker(flaky, registry, {
      clock, logger, concurrency: 1, prefetch: 1, pollInterval: { min: '5ms', max: '20ms' }, leaseDuration: '30s', heartbeatInterval: '10ms',
    });
    workers.push(w);
    await w.start();
    await waitFor(async () => (await store.counts()).byStatus.running === 2 && started.length === 1, 'first running, second waiting');
    failBeats = true;
    await waitFor(() => failedBeats > 0, 'a failed heartbeat');
    // Past the lease granted at claim, with no heartbeat through: the worker's account of the
    // waiting claim ran out. No other worker exists, so the store still has it under this one.
    clock.advance(30_001);
    failBeats = false;
    open.open();
    await waitFor(async () => ['completed', 'failed'].includes((await store.get(second!))!.status), 'the second task to finish');
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'warn', message: expect.stringMatching(/waited past its lease/), meta: expect.objectContaining({ taskId: second }) }));
    expect(await store.get(second!)).toMatchObject({ status: 'completed', attempts: 1, lastError: null });
    expect(started.filter((id) => id === second)).toEqual([second]);
    await waitFor(async () => (await store.get(first!))!.status === 'completed', 'the first task to complete');
  });
});
