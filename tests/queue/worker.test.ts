import { clearTimeout as clearRealTimeout, setTimeout as setRealTimeout } from 'node:timers';
import { ManualClock } from '../../src/core/clock';
import { NonRetryableError, TaskTimeoutError } from '../../src/core/errors';
import { TaskEvents } from '../../src/queue/events';
import { HandlerRegistry, type HandlerContext } from '../../src/queue/handler-registry';
import type { BatchCompletingStore, CompletingClaimStore, TaskStore } from '../../src/queue/types';
import { Worker } from '../../src/queue/worker';
import type { WorkerOptions } from '../../src/queue/worker-options';
import { LeaseLostError, TaskCancelledError, WorkerStoppedError } from '../../src/queue/worker-types';
import { advanceUntil, gate, MemoryLogger, openStore, tempDir, waitFor } from './worker-helpers';

/**
 * Waits for `promise` for at most 20 s of real time: node:timers is not replaced by jest's fake
 * timers, so the bound holds while fake time stands still. It only turns a hang into a failure.
 */
async function inRealTime<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setRealTimeout(() => reject(new Error(`timed out after 20 s waiting for ${what}`)), 20_000);
  });
  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    clearRealTimeout(timer);
  }
}

describe('worker', () => {
  let cleanup: () => void;
  let clock: ManualClock;
  let events: TaskEvents;
  let store: TaskStore;
  let registry: HandlerRegistry;
  let logger: MemoryLogger;
  let workers: Worker[];

  beforeEach(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    clock = new ManualClock();
    events = new TaskEvents();
    logger = new MemoryLogger();
    store = openStore(tmp.dir, { clock, events });
    registry = new HandlerRegistry();
    workers = [];
  });

  afterEach(async () => {
    for (const w of workers) await w.stop({ timeout: 0 });
    await store.close();
    cleanup();
  });

  function worker(options: WorkerOptions = {}): Worker {
    const w = new Worker(store, registry, {
      clock, events, logger, pollInterval: { min: '5ms', max: '20ms' }, leaseDuration: '30s', heartbeatInterval: '10ms', ...options,
    });
    workers.push(w);
    return w;
  }

  const status = async (id: number): Promise<string | undefined> => (await store.get(id))?.status;

  it('runs a handler with its payload and context and stores the result', async () => {
    const seen: HandlerContext<{ n: number }>[] = [];
    registry.register<{ n: number }>('double', async (payload, ctx) => {
      seen.push(ctx);
      return { doubled: payload.n * 2 };
    });
    await worker().start();
    const { task } = await store.enqueue({ type: 'double', payload: { n: 21 } });
    await waitFor(async () => (await status(task.id)) === 'completed', 'completion');
    expect((await store.get(task.id))?.result).toEqual({ doubled: 42 });
    expect(seen[0]).toMatchObject({ taskId: task.id, attempt: 1 });
    expect(seen[0]!.task.payload).toEqual({ n: 21 });
    expect(seen[0]!.signal.aborted).toBe(false);
  });

  it('retries a failed attempt and completes on the next one', async () => {
    let calls = 0;
    registry.register('flaky', async (_p, ctx) => {
      calls++;
      if (ctx.attempt === 1) throw new Error('first attempt fails');
      return 'ok';
    });
    const w = worker();
    await w.start();
    const { task } = await store.enqueue({ type: 'flaky', maxAttempts: 3 });
    await waitFor(async () => (await store.get(task.id))?.lastError === 'first attempt fails', 'first failure');
    clock.advance(3_600_000); // past any backoff delay
    w.notify();
    await waitFor(async () => (await status(task.id)) === 'completed', 'retry');
    expect(calls).toBe(2);
    expect((await store.get(task.id))?.attempts).toBe(2);
  });

  it('fails at once on a non-retryable error and records non-Error throws', async () => {
    registry.register('bad', async () => {
      throw new NonRetryableError('payload is unusable');
    });
    registry.register('weird', async () => {
      throw 'a plain string'; // eslint-disable-line no-throw-literal
    });
    await worker().start();
    const bad = (await store.enqueue({ type: 'bad', maxAttempts: 5 })).task;
    const weird = (await store.enqueue({ type: 'weird', maxAttempts: 1 })).task;
    await waitFor(async () => (await status(bad.id)) === 'failed' && (await status(weird.id)) === 'failed', 'both dead');
    expect(await store.get(bad.id)).toMatchObject({ attempts: 1, lastError: 'payload is unusable' });
    expect((await store.get(weird.id))?.lastError).toContain('a plain string');
  });

  it('never runs more handlers at once than its concurrency', async () => {
    const release = gate();
    let active = 0;
    let peak = 0;
    registry.register('slow', async () => {
      active++;
      peak = Math.max(peak, active);
      await release.promise;
      active--;
    });
    const w = worker({ concurrency: 3 });
    await w.start();
    await store.enqueueBatch(Array.from({ length: 10 }, () => ({ type: 'slow' })));
    await waitFor(() => active === 3, 'three running');
    const running = await store.list({ status: 'running', order: 'asc' });
    expect(running).toHaveLength(3);
    expect(w.running()).toEqual(running.map((t) => expect.objectContaining({ taskId: t.id, attempt: 1, startedAt: clock.now(), state: 'running' })));
    release.open();
    await waitFor(async () => (await store.list({ status: 'completed', limit: 100 })).length === 10, 'all done');
    expect(peak).toBe(3);
  });

  it('claims only the types it has handlers for', async () => {
    registry.register('mine', async () => 'done');
    await worker().start();
    const other = (await store.enqueue({ type: 'theirs' })).task;
    const mine = (await store.enqueue({ type: 'mine' })).task;
    await waitFor(async () => (await status(mine.id)) === 'completed', 'mine');
    expect(await status(other.id)).toBe('queued');
  });

  it('times out an attempt, records the failure without waiting, and keeps the slot until the handler returns', async () => {
    const handlerDone = gate();
    let signal: AbortSignal | undefined;
    registry.register('stuck', async (_p, ctx) => {
      signal = ctx.signal;
      await handlerDone.promise; // ignores its signal on purpose
    });
    const w = worker({ concurrency: 1 });
    await w.start();
    const { task } = await store.enqueue({ type: 'stuck', timeout: 30, maxAttempts: 1 });
    await waitFor(async () => (await status(task.id)) === 'failed', 'timeout recorded');
    expect((await store.get(task.id))?.lastError).toBe(new TaskTimeoutError(30).message);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(TaskTimeoutError);
    expect(w.activeCount).toBe(1);
    handlerDone.open();
    await waitFor(() => w.activeCount === 0, 'slot freed');
    expect(await status(task.id)).toBe('failed');
  });

  it('aborts a running task cancelled through the store and acknowledges the cancel', async () => {
    let reason: unknown;
    registry.register('long', (_p, ctx) => new Promise((resolve) => {
      ctx.signal.addEventListener('abort', () => {
        reason = ctx.signal.reason;
        resolve('stopped early');
      });
    }));
    await worker().start();
    const { task } = await store.enqueue({ type: 'long' });
    await waitFor(async () => (await status(task.id)) === 'running', 'running');
    expect(await store.cancel(task.id)).toBe('cancel-requested');
    await waitFor(async () => (await status(task.id)) === 'cancelled', 'cancelled');
    expect(reason).toBeInstanceOf(TaskCancelledError);
  });

  it('a worker that lost its lease cannot complete the task; its result is dropped', async () => {
    const finish = gate<string>();
    registry.register('job', () => finish.promise);
    const w = worker({ leaseDuration: '1s', heartbeatInterval: '500ms' });
    await w.start();
    const { task } = await store.enqueue({ type: 'job' });
    await waitFor(async () => (await status(task.id)) === 'running', 'running');
    // No macrotask runs between these two lines, so no heartbeat can slip in before the takeover.
    clock.advance(2_000);
    const [stolen] = await store.claim({ workerId: 'other', limit: 1, leaseMs: 60_000, strategy: w.options.strategy, types: ['job'] });
    expect(stolen?.task.id).toBe(task.id);
    finish.open('late result');
    await waitFor(() => w.activeCount === 0, 'first handler settled');
    expect(await store.get(task.id)).toMatchObject({ status: 'running', leaseOwner: 'other', result: null });
    expect(await store.complete(task.id, stolen!.token, 'winner')).toBe(true);
    expect((await store.get(task.id))?.result).toBe('winner');
  });

  it('graceful stop waits for running handlers, then aborts those past the deadline', async () => {
    // Fake timers (promise plumbing stays real): stop()'s 300 ms deadline is a timer, so it passes
    // only when the test moves time. The quick handler, released after stop() began, then finishes
    // inside the deadline on any machine, and the stuck one is aborted at the deadline, not before.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const quick = gate();
    let stuckSignal: AbortSignal | undefined;
    registry.register('quick', () => quick.promise);
    registry.register('stuck', (_p, ctx) => {
      stuckSignal = ctx.signal;
      return new Promise(() => undefined); // never settles
    });
    const w = worker({ concurrency: 2 });
    let stopped = false;
    try {
      await w.start();
      const q = (await store.enqueue({ type: 'quick' })).task;
      const s = (await store.enqueue({ type: 'stuck' })).task;
      await advanceUntil(() => w.activeCount === 2, 'both running');
      const quickCompleted = new Promise<void>((resolve) => {
        events.on('completed', ({ task }) => {
          if (task.id === q.id) resolve();
        });
      });
      void w.stop({ timeout: '300ms' }).then(() => (stopped = true));
      quick.open();
      // Fake time stands still meanwhile: the deadline cannot have passed when the completion lands.
      await inRealTime(quickCompleted, "the quick task's completion");
      expect(await status(q.id)).toBe('completed');
      await jest.advanceTimersByTimeAsync(299);
      expect(stopped).toBe(false); // still waiting for the stuck handler
      expect(stuckSignal?.aborted).toBe(false);
      await advanceUntil(() => stopped, 'stop() to resolve once its deadline passed', 10);
      expect(w.status).toBe('stopped');
      expect(await status(q.id)).toBe('completed');
      expect(stuckSignal?.reason).toBeInstanceOf(WorkerStoppedError);
      expect(await store.get(s.id)).toMatchObject({ status: 'running' }); // its lease will expire
      expect(await store.listWorkers()).toEqual([]);
    } finally {
      // On a failure above, stop the worker under the same fake timers that hold its deadline.
      quick.open();
      void w.stop({ timeout: 0 }).then(() => (stopped = true));
      await advanceUntil(() => stopped, 'stop() to resolve');
      jest.useRealTimers();
    }
  });

  it('graceful stop hands back claims it had not started', async () => {
    registry.register('job', async () => 'ran');
    const claimGate = gate();
    let claimStarted = false;
    const slowClaims: TaskStore = Object.create(store);
    slowClaims.claim = async (request) => {
      claimStarted = true;
      const claimed = await store.claim(request);
      await claimGate.promise;
      return claimed;
    };
    const w = new Worker(slowClaims, registry, { clock, logger, pollInterval: { min: '5ms', max: '5ms' } });
    workers.push(w);
    const ids = (await store.enqueueBatch([{ type: 'job' }, { type: 'job' }])).map((r) => r.task.id);
    await w.start();
    await waitFor(() => claimStarted, 'claim in flight');
    const stopped = w.stop();
    claimGate.open();
    await stopped;
    for (const id of ids) expect(await store.get(id)).toMatchObject({ status: 'queued', attempts: 0 });
  });

  describe('prefetch', () => {
    it('holds up to concurrency + prefetch claims, runs concurrency at a time, in claim order', async () => {
      const started: number[] = [];
      const open = gate();
      registry.register('job', async (_p, ctx) => {
        started.push(ctx.taskId);
        await open.promise;
      });
      const ids = (await store.enqueueBatch(Array.from({ length: 5 }, () => ({ type: 'job' })))).map((r) => r.task.id);
      const w = worker({ concurrency: 1, prefetch: 2 });
      await w.start();
      await waitFor(async () => (await store.counts()).byStatus.running === 3, 'three claims');
      expect(started).toEqual([ids[0]]);
      expect(w.running().map((r) => r.taskId)).toEqual([ids[0]]);
      expect(w.activeCount).toBe(1);
      expect(w.full).toBe(true);
      expect((await store.counts()).byStatus.queued).toBe(2);
      open.open();
      await waitFor(async () => (await store.counts()).byStatus.completed === 5, 'all completed');
      expect(started).toEqual(ids);
    });

    it('stop() hands prefetched tasks back unstarted, attempt not counted', async () => {
      const open = gate();
      let runs = 0;
      registry.register('job', async () => {
        runs++;
        await open.promise;
      });
      const ids = (await store.enqueueBatch(Array.from({ length: 3 }, () => ({ type: 'job' })))).map((r) => r.task.id);
      const w = worker({ concurrency: 1, prefetch: 2 });
      await w.start();
      await waitFor(async () => (await store.counts()).byStatus.running === 3, 'three claims');
      // A deadline far beyond the test's own steps: the handler released below must finish within it.
      const stopped = w.stop({ timeout: 20_000 });
      // Stopping: the running handler gets its deadline; the waiting ones are handed back at once.
      await waitFor(async () => (await store.counts()).byStatus.queued === 2, 'hand-back');
      open.open();
      await stopped;
      expect(runs).toBe(1);
      expect(await store.get(ids[0]!)).toMatchObject({ status: 'completed' });
      for (const id of ids.slice(1)) expect(await store.get(id)).toMatchObject({ status: 'queued', attempts: 0 });
    });

    it('a prefetched task cancelled in the store is acknowledged at the next heartbeat and never runs', async () => {
      const open = gate();
      const ran: number[] = [];
      registry.register('job', async (_p, ctx) => {
        ran.push(ctx.taskId);
        await open.promise;
      });
      const [first, second] = (await store.enqueueBatch([{ type: 'job' }, { type: 'job' }])).map((r) => r.task.id);
      const w = worker({ concurrency: 1, prefetch: 1 });
      await w.start();
      await waitFor(async () => (await store.counts()).byStatus.running === 2, 'both claimed');
      expect(await store.cancel(second!)).toBe('cancel-requested');
      await waitFor(async () => (await status(second!)) === 'cancelled', 'cancel acknowledged');
      open.open();
      await waitFor(async () => (await status(first!)) === 'completed', 'first completed');
      expect(ran).toEqual([first]);
    });

    it('cancelWaiting() ends a waiting task at once; a running or unknown task is not waiting', async () => {
      const open = gate();
      registry.register('job', async () => {
        await open.promise;
      });
      const [first, second] = (await store.enqueueBatch([{ type: 'job' }, { type: 'job' }])).map((r) => r.task.id);
      const w = worker({ concurrency: 1, prefetch: 1, heartbeatInterval: '10s' });
      await w.start();
      await waitFor(async () => (await store.counts()).byStatus.running === 2, 'both claimed');
      expect(w.cancelWaiting(first!)).toBe(false);
      expect(w.cancelWaiting(999)).toBe(false);
      await store.cancel(second!);
      expect(w.cancelWaiting(second!)).toBe(true);
      await waitFor(async () => (await status(second!)) === 'cancelled', 'cancel acknowledged');
      open.open();
      await waitFor(async () => (await status(first!)) === 'completed', 'first completed');
    });
  });

  it('logs store errors in the loop and keeps going with backoff', async () => {
    registry.register('job', async () => 'ok');
    let failures = 0;
    const flaky: TaskStore = Object.create(store);
    flaky.claim = async (request) => {
      if (failures < 3) {
        failures++;
        throw Object.assign(new Error('database is locked'), { retryable: true });
      }
      return store.claim(request);
    };
    const w = new Worker(flaky, registry, { clock, logger, pollInterval: { min: '5ms', max: '20ms' } });
    workers.push(w);
    const { task } = await store.enqueue({ type: 'job' });
    await w.start();
    await waitFor(async () => (await status(task.id)) === 'completed', 'completion after errors');
    const warnings = logger.lines.filter((l) => l.message.includes('claim loop error'));
    expect(warnings).toHaveLength(3);
    expect(warnings.map((l) => l.meta?.retryInMs)).toEqual([5, 10, 20]);
  });

  it('wakes at once on an enqueue in the same process instead of waiting for the next poll', async () => {
    registry.register('job', async () => 'ok');
    const w = worker({ pollInterval: { min: '1h', max: '1h' } });
    await w.start();
    await waitFor(() => (w as unknown as { sleeper: { waitingFor?: string } }).sleeper.waitingFor === 'idle', 'idle');
    const { task } = await store.enqueue({ type: 'job' });
    // The next poll is an hour away: any bound well under that tells woken from polled.
    await waitFor(async () => (await status(task.id)) === 'completed', 20_000, 'woken by the enqueue');
  });

  it('registers itself while running and extends leases with one heartbeat timer', async () => {
    const finish = gate();
    registry.register('job', () => finish.promise);
    const w = worker({ workerId: 'w-1', leaseDuration: '10s', heartbeatInterval: '10ms', capabilities: { region: 'us' } });
    await w.start();
    expect(await store.listWorkers()).toEqual([expect.objectContaining({ workerId: 'w-1', capabilities: { region: 'us' } })]);
    const { task } = await store.enqueue({ type: 'job' });
    await waitFor(async () => (await status(task.id)) === 'running', 'running');
    const firstExpiry = (await store.get(task.id))!.leaseExpiresAt!.getTime();
    clock.advance(5_000);
    await waitFor(async () => (await store.get(task.id))!.leaseExpiresAt!.getTime() > firstExpiry, 'lease extended');
    finish.open();
    await waitFor(async () => (await status(task.id)) === 'completed', 'completed');
  });

  it('aborts the signal with LeaseLostError when a heartbeat finds the lease taken over', async () => {
    let reason: unknown;
    registry.register('job', (_p, ctx) => new Promise((resolve) => {
      ctx.signal.addEventListener('abort', () => {
        reason = ctx.signal.reason;
        resolve('too late');
      });
    }));
    const w = worker({ leaseDuration: '1s', heartbeatInterval: '10ms' });
    await w.start();
    const { task } = await store.enqueue({ type: 'job' });
    await waitFor(async () => (await status(task.id)) === 'running', 'running');
    clock.advance(60_000);
    const [stolen] = await store.claim({ workerId: 'other', limit: 1, leaseMs: 600_000, strategy: w.options.strategy, types: ['job'] });
    expect(stolen?.task.id).toBe(task.id);
    await waitFor(() => reason !== undefined, 'abort');
    expect(reason).toBeInstanceOf(LeaseLostError);
    await waitFor(() => w.activeCount === 0, 'settled');
    expect(await store.get(task.id)).toMatchObject({ status: 'running', leaseOwner: 'other' });
  });

  it('fails the task without retrying when the store refuses the handler result', async () => {
    registry.register('odd', async () => ({ when: 10n }));
    await worker().start();
    const { task } = await store.enqueue({ type: 'odd', maxAttempts: 3 });
    await waitFor(async () => (await status(task.id)) === 'failed', 'dead');
    const dead = (await store.get(task.id))!;
    expect(dead.attempts).toBe(1);
    expect(dead.lastError).toContain("result could not be stored");
  });

  it('a store error on complete that is not about the result does not kill the task: the lease expires and it runs again', async () => {
    let runs = 0;
    registry.register('job', async () => ++runs);
    // A raw SQLite error that guard() does not mark retryable (an I/O error, SQLITE_PROTOCOL under
    // heavy WAL contention): it says nothing about the task, whose handler succeeded.
    let failures = 1;
    const flaky = Object.create(store) as TaskStore;
    flaky.complete = async (...args) => {
      if (failures-- > 0) throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' });
      return store.complete(...args);
    };
    (flaky as { completeMany?: unknown }).completeMany = undefined;
    const w = new Worker(flaky, registry, { clock, logger, leaseDuration: '30s', heartbeatInterval: '10ms', pollInterval: { min: '5ms', max: '5ms' } });
    workers.push(w);
    await w.start();
    const { task } = await store.enqueue({ type: 'job', maxAttempts: 3 });
    await waitFor(() => runs === 1 && w.activeCount === 0, 'first run settled');
    expect(await store.get(task.id)).toMatchObject({ status: 'running', attempts: 1 });
    clock.advance(30_001);
    await waitFor(async () => (await status(task.id)) === 'completed', 'completed on the next attempt');
    expect(runs).toBe(2);
    expect((await store.get(task.id))!.attempts).toBe(2);
  });

  it('records progress under the lease', async () => {
    const finish = gate();
    registry.register('job', async (_p, ctx) => {
      expect(await ctx.reportProgress({ percent: 50 })).toBe(true);
      await finish.promise;
    });
    await worker().start();
    const { task } = await store.enqueue({ type: 'job' });
    await waitFor(async () => (await store.get(task.id))?.progress?.percent === 50, 'progress');
    finish.open();
    await waitFor(async () => (await status(task.id)) === 'completed', 'completed');
  });

  it('completes tasks that settle together in one completeMany call when the store offers it', async () => {
    registry.register('noop', async () => 'ok');
    const batches: number[] = [];
    const batching = Object.create(store) as TaskStore & BatchCompletingStore & Partial<CompletingClaimStore>;
    batching.completeAndClaim = undefined; // the plain batching capability only
    batching.completeMany = async (items) => {
      batches.push(items.length);
      return Promise.all(items.map((i) => store.complete(i.taskId, i.token, i.result)));
    };
    await store.enqueueBatch(Array.from({ length: 20 }, () => ({ type: 'noop' })));
    const w = new Worker(batching, registry, { clock, logger, concurrency: 20, pollInterval: { min: '5ms', max: '5ms' } });
    workers.push(w);
    await w.start();
    await waitFor(async () => (await store.list({ status: 'completed', limit: 100 })).length === 20, 'all completed');
    expect(batches[0]).toBe(20);
  });

  it('a busy worker completes a batch and claims the next one in the same store call', async () => {
    const ran = new Map<number, number>();
    registry.register('noop', async (_p, ctx) => {
      ran.set(ctx.taskId, (ran.get(ctx.taskId) ?? 0) + 1);
    });
    const calls = { claim: 0, completeAndClaim: 0, carried: 0 };
    const combined = Object.create(store) as TaskStore & CompletingClaimStore;
    combined.claim = async (request) => {
      calls.claim++;
      return store.claim(request);
    };
    combined.completeAndClaim = async (items, request) => {
      calls.completeAndClaim++;
      const result = await (store as unknown as CompletingClaimStore).completeAndClaim(items, request);
      calls.carried += result.claimed.length;
      return result;
    };
    await store.enqueueBatch(Array.from({ length: 100 }, () => ({ type: 'noop' })));
    const w = new Worker(combined, registry, { clock, logger, concurrency: 10, pollInterval: { min: '5ms', max: '5ms' } });
    workers.push(w);
    await w.start();
    await waitFor(async () => (await store.counts()).byStatus.completed === 100, 'all completed');
    expect([...ran.values()].every((n) => n === 1) && ran.size === 100).toBe(true);
    // The first claim comes from the loop; after that every full batch carries the next claim.
    expect(calls.carried).toBeGreaterThanOrEqual(80);
    expect(calls.claim).toBeLessThanOrEqual(3);
  });

  it('hands back tasks claimed along with a completion batch when stop() began meanwhile', async () => {
    registry.register('noop', async () => undefined);
    let stopping: Promise<void> | undefined;
    const combined = Object.create(store) as TaskStore & CompletingClaimStore;
    combined.completeAndClaim = async (items, request) => {
      const result = await (store as unknown as CompletingClaimStore).completeAndClaim(items, request);
      if (result.claimed.length > 0 && stopping === undefined) {
        // The deadline is not what this test checks: a generous one, so a stall cannot end stop()
        // before this batch's slots are released and its carried claims handed back.
        stopping = w.stop({ timeout: 20_000 });
        await new Promise((resolve) => setImmediate(resolve));
      }
      return result;
    };
    await store.enqueueBatch(Array.from({ length: 30 }, () => ({ type: 'noop' })));
    const w = new Worker(combined, registry, { clock, logger, concurrency: 10, pollInterval: { min: '5ms', max: '5ms' } });
    workers.push(w);
    await w.start();
    await waitFor(async () => stopping !== undefined, 'a carried claim');
    await stopping;
    const counts = (await store.counts()).byStatus;
    expect(counts.running).toBe(0);
    expect(counts.completed).toBe(10);
    expect(counts.queued).toBe(20);
    // Handed back, not failed: the carried claims' attempts were not counted.
    for (const task of await store.list({ status: 'queued', limit: 100 })) expect(task.attempts).toBe(0);
  });

  it('claims only tasks whose requirements its capabilities satisfy', async () => {
    registry.register('job', async () => 'ok');
    await worker({ capabilities: { region: 'us' } }).start();
    const eu = (await store.enqueue({ type: 'job', requires: { region: 'eu' } })).task;
    const us = (await store.enqueue({ type: 'job', requires: { region: 'us' } })).task;
    const any = (await store.enqueue({ type: 'job' })).task;
    await waitFor(async () => (await status(us.id)) === 'completed' && (await status(any.id)) === 'completed', 'us and any');
    expect(await status(eu.id)).toBe('queued');
  });
});
