import { ManualClock } from '../../src/core/clock';
import { StoreBusyError } from '../../src/core/errors';
import { HandlerRegistry } from '../../src/queue/handler-registry';
import type { ClaimedTask, TaskStore } from '../../src/queue/types';
import { Worker } from '../../src/queue/worker';
import type { WorkerOptions } from '../../src/queue/worker-options';
import { gate, MemoryLogger, openStore, tempDir, waitFor } from './worker-helpers';

/**
 * The worker's own lease clock: a prefetched claim waits for a slot while heartbeats keep its lease.
 * When heartbeats fail with store errors (not `lost`), the worker must not start it after the lease
 * it knows of ran out, because the store may have given the task to another worker meanwhile.
 */
describe('worker lease clock', () => {
  let cleanup: () => void;
  let clock: ManualClock;
  let store: TaskStore;
  let registry: HandlerRegistry;
  let logger: MemoryLogger;
  let workers: Worker[];
  /** Heartbeats the store answered, and those refused with a busy error while `failBeats` is set. */
  let beats: { answered: number; failed: number };
  let failBeats: boolean;
  /** The store the worker talks to: the real one, with heartbeats that fail while `failBeats` is set. */
  let flaky: TaskStore;

  beforeEach(() => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    clock = new ManualClock();
    logger = new MemoryLogger();
    store = openStore(tmp.dir, { clock });
    registry = new HandlerRegistry();
    workers = [];
    beats = { answered: 0, failed: 0 };
    failBeats = false;
    flaky = Object.create(store) as TaskStore;
    flaky.heartbeat = async (taskId, token, leaseMs) => {
      if (failBeats) {
        beats.failed++;
        throw new StoreBusyError('heartbeat', new Error('SQLITE_BUSY: database is locked'));
      }
      const outcome = await store.heartbeat(taskId, token, leaseMs);
      beats.answered++;
      return outcome;
    };
  });

  afterEach(async () => {
    for (const w of workers) await w.stop({ timeout: 0 });
    await store.close();
    cleanup();
  });

  function worker(options: WorkerOptions = {}): Worker {
    const w = new Worker(flaky, registry, {
      clock, logger, concurrency: 1, prefetch: 1, pollInterval: { min: '5ms', max: '20ms' }, leaseDuration: '30s', heartbeatInterval: '10ms', ...options,
    });
    workers.push(w);
    return w;
  }

  /** Another worker's claim, at the store's clock: it takes back every lease that ran out. */
  const claimElsewhere = (w: Worker): Promise<ClaimedTask[]> =>
    store.claim({ workerId: 'other', limit: 10, leaseMs: 600_000, strategy: w.options.strategy, types: ['job'] });

  /** Runs the handler of each task once per start, recording the start; every start waits for `open`. */
  function recordStarts(open: Promise<void>): number[] {
    const started: number[] = [];
    registry.register<{ quick?: boolean } | null>('job', async (payload, ctx) => {
      started.push(ctx.taskId);
      if (!payload?.quick) await open;
    });
    return started;
  }

  it('a prefetched claim whose lease ran out while heartbeats failed is dropped unstarted, and the worker that took it back runs it alone', async () => {
    const open = gate();
    const started = recordStarts(open.promise);
    const [first, second] = (await store.enqueueBatch([{ type: 'job' }, { type: 'job' }])).map((r) => r.task.id);
    const w = worker();
    await w.start();
    await waitFor(async () => (await store.counts()).byStatus.running === 2, 'both claimed, the second waiting');
    failBeats = true;
    await waitFor(() => beats.failed > 0, 'a failed heartbeat');
    // Past the lease granted at claim; no heartbeat got through, so the store takes both back.
    clock.advance(30_001);
    const stolen = await claimElsewhere(w);
    expect(stolen.map((c) => c.task.id).sort()).toEqual([first, second]);
    open.open();
    await waitFor(() => w.activeCount === 0 && !w.full && w.running().length === 0, 'the worker to let go of both claims');
    expect(started).toEqual([first]);
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'warn', message: expect.stringMatching(/waited past its lease/), meta: expect.objectContaining({ taskId: second }) }));
    // Not started here; its release is fenced by the old token, so the other worker's lease is untouched.
    expect(await store.get(second!)).toMatchObject({ status: 'running', leaseOwner: 'other', attempts: 2 });
  });

  it('heartbeats the store answered move the known lease on, so a claim that waits longer than one lease still starts', async () => {
    const open = gate();
    const started = recordStarts(open.promise);
    const [first, second] = (await store.enqueueBatch([{ type: 'job' }, { type: 'job' }])).map((r) => r.task.id);
    const w = worker();
    await w.start();
    await waitFor(async () => (await store.counts()).byStatus.running === 2, 'both claimed');
    clock.advance(20_000);
    const answered = beats.answered;
    // Both claims heartbeated at least once after the clock moved: leases now run to 50 s at least.
    await waitFor(() => beats.answered >= answered + 4, 'heartbeats at 20 s');
    clock.advance(20_000);
    open.open();
    await waitFor(async () => (await store.counts()).byStatus.completed === 2, 'both completed');
    expect(started).toEqual([first, second]);
  });

  it('a claim carried by a completion batch keeps the same lease clock: waiting past it, it is dropped unstarted', async () => {
    const open = gate();
    const started = recordStarts(open.promise);
    const [quick, slow, carried] = (await store.enqueueBatch([
      { type: 'job', payload: { quick: true } }, { type: 'job' }, { type: 'job' },
    ])).map((r) => r.task.id);
    const w = worker();
    await w.start();
    // The loop claims quick and slow; quick's completion carries the claim of the third task,
    // which waits behind slow.
    await waitFor(async () => (await store.get(quick!))?.status === 'completed' && (await store.get(carried!))?.status === 'running', 'the carried claim');
    expect(started).toEqual([quick, slow]);
    failBeats = true;
    await waitFor(() => beats.failed > 0, 'a failed heartbeat');
    clock.advance(30_001);
    const stolen = await claimElsewhere(w);
    expect(stolen.map((c) => c.task.id).sort()).toEqual([slow, carried]);
    open.open();
    await waitFor(() => w.activeCount === 0 && !w.full && w.running().length === 0, 'the worker to let go of every claim');
    expect(started).toEqual([quick, slow]);
    expect(await store.get(carried!)).toMatchObject({ status: 'running', leaseOwner: 'other', attempts: 2 });
  });
});
