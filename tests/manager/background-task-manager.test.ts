import { ManualClock } from '../../src/core/clock';
import { InvalidInputError } from '../../src/core/errors';
import type { Logger } from '../../src/core/logger';
import {
  BackgroundTaskManager,
  MemoryRunExecutor,
  RunRegistry,
  createDefaultExecutor,
  resetDefaultExecutorFactory,
  setDefaultExecutorFactory,
  validateProgress,
  type Run,
  type RunExecutor,
  type TaskContext,
} from '../../src/manager';
import { deferred, makeRun, turns } from '../contract/legacy-app.helpers';

function recordingLogger(): Logger & { errors: Array<[string, Record<string, unknown> | undefined]> } {
  const errors: Array<[string, Record<string, unknown> | undefined]> = [];
  return { errors, error: (m, meta) => errors.push([m, meta]), warn: () => undefined, info: () => undefined, debug: () => undefined };
}

function setup(options: { concurrency?: number } = {}) {
  const clock = new ManualClock();
  const logger = recordingLogger();
  const registry = new RunRegistry({ clock });
  const executor = new MemoryRunExecutor(registry, { clock, logger, ...options });
  const manager = new BackgroundTaskManager(registry, { executor, clock });
  return { clock, logger, registry, executor, manager };
}

afterEach(() => resetDefaultExecutorFactory());

describe('BackgroundTaskManager: the mode seam', () => {
  it('new BackgroundTaskManager(registry) uses the in-memory executor by default', () => {
    const manager = new BackgroundTaskManager(new RunRegistry());
    expect(manager.executor).toBeInstanceOf(MemoryRunExecutor);
  });

  it('without an executor the manager asks the installed factory, handing it the registry, logger and clock', () => {
    const calls: unknown[][] = [];
    const fake: RunExecutor = { start: () => undefined, cancel: async () => false, waitAll: async () => undefined, activeRunIds: () => [], isActive: () => false };
    setDefaultExecutorFactory((...args) => {
      calls.push(args);
      return fake;
    });
    const registry = new RunRegistry();
    const clock = new ManualClock();
    const logger = recordingLogger();
    const manager = new BackgroundTaskManager(registry, { clock, logger });
    expect(manager.executor).toBe(fake);
    expect(calls).toEqual([[registry, { clock, logger }]]);
    resetDefaultExecutorFactory();
    expect(createDefaultExecutor(registry)).toBeInstanceOf(MemoryRunExecutor);
  });

  it('an executor passed in options wins over the factory', () => {
    setDefaultExecutorFactory(() => {
      throw new Error('must not be called');
    });
    const registry = new RunRegistry();
    const executor = new MemoryRunExecutor(registry);
    expect(new BackgroundTaskManager(registry, { executor }).executor).toBe(executor);
  });

  it('setDefaultExecutorFactory refuses something that is not a function', () => {
    expect(() => setDefaultExecutorFactory(42 as never)).toThrow(InvalidInputError);
  });
});

describe('BackgroundTaskManager: lifecycle in memory', () => {
  it('writes queued, running with startedAt, then completed with timings from the clock', async () => {
    const { clock, registry, manager } = setup();
    const began = deferred<void>();
    const finish = deferred<void>();
    const run = makeRun('life', { createdAt: new Date(clock.now()) });
    manager.startTask(run, async () => {
      began.resolve();
      await finish.promise;
    });
    expect(registry.getRun(run.runId)?.status).toBe('queued');
    await began.promise;
    expect(registry.getRun(run.runId)).toMatchObject({ status: 'running', startedAt: new Date(clock.now()) });
    clock.advance(2500);
    finish.resolve();
    await manager.waitAll();
    expect(registry.getRun(run.runId)).toMatchObject({
      status: 'completed',
      exitCode: 0,
      completedAt: new Date(clock.now()),
      durationSeconds: 2.5,
    });
  });

  it('a failure is logged with the run id and recorded, never rethrown', async () => {
    const { registry, manager, logger } = setup();
    const run = makeRun('fail');
    manager.startTask(run, async () => {
      throw new TypeError('bad row');
    });
    await expect(manager.waitAll()).resolves.toBeUndefined();
    expect(registry.getRun(run.runId)).toMatchObject({ status: 'failed', errorMessage: 'bad row', durationSeconds: 0 });
    expect(logger.errors).toEqual([['run failed', expect.objectContaining({ runId: run.runId, error: 'bad row' })]]);
  });

  it.each([
    ['an object with a message', { message: 'from an object' }, 'from an object'],
    ['undefined', undefined, 'undefined'],
    ['a number', 7, '7'],
    ['an Error without a message', new RangeError(), 'RangeError'],
  ])('a rejection with %s still yields an errorMessage', async (_label, reason, expected) => {
    const { registry, manager } = setup();
    const run = makeRun('odd-reason');
    manager.startTask(run, () => Promise.reject(reason));
    await manager.waitAll();
    expect(registry.getRun(run.runId)).toMatchObject({ status: 'failed', errorMessage: expected });
  });

  it('a run cancelled before it began gets completedAt and durationSeconds 0', async () => {
    const { registry, manager, clock } = setup();
    const run = makeRun('cancel-early');
    manager.startTask(run, async () => undefined);
    await expect(manager.cancelTask(run.runId)).resolves.toBe(true);
    expect(registry.getRun(run.runId)).toMatchObject({ status: 'cancelled', completedAt: new Date(clock.now()), durationSeconds: 0 });
    expect(registry.getRun(run.runId)?.startedAt).toBeUndefined();
  });

  it('a run cancelled while running gets the time it ran as durationSeconds', async () => {
    const { registry, manager, clock } = setup();
    const began = deferred<TaskContext>();
    const run = makeRun('cancel-running');
    manager.startTask(run, (ctx) => {
      began.resolve(ctx);
      return new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    });
    await began.promise;
    clock.advance(1000);
    await manager.cancelTask(run.runId);
    expect(registry.getRun(run.runId)).toMatchObject({ status: 'cancelled', durationSeconds: 1 });
  });

  it('the same run id may be started again once finished, and the old outcome is cleared', async () => {
    const { registry, manager } = setup();
    const run = makeRun('again');
    manager.startTask(run, async () => {
      throw new Error('first attempt');
    });
    await manager.waitAll();
    const previous = registry.getRun(run.runId) as Run;
    const second = deferred<void>();
    manager.startTask(previous, () => second.promise);
    const queued = registry.getRun(run.runId) as Run;
    expect(queued.status).toBe('queued');
    for (const field of ['errorMessage', 'completedAt', 'durationSeconds', 'startedAt', 'exitCode'] as const) {
      expect(queued[field]).toBeUndefined();
    }
    second.resolve();
    await manager.waitAll();
    expect(registry.getRun(run.runId)).toMatchObject({ status: 'completed', exitCode: 0 });
  });

  it('a run the application added to the registry itself is updated to queued, not refused', async () => {
    const { registry, manager } = setup();
    const run = makeRun('preadded');
    registry.addRun(run);
    manager.startTask(run, async () => undefined);
    await manager.waitAll();
    expect(registry.getRun(run.runId)?.status).toBe('completed');
  });

  it('a run without createdAt gets one from the clock; an invalid createdAt is refused', () => {
    const { registry, manager, clock } = setup();
    const run = makeRun('no-created', { createdAt: undefined });
    manager.startTask(run, async () => undefined);
    expect(registry.getRun(run.runId)?.createdAt).toEqual(new Date(clock.now()));
    expect(() => manager.startTask(makeRun('bad-created', { createdAt: new Date('nope') }), async () => undefined)).toThrow(/createdAt/);
    return manager.waitAll();
  });

  it('parameters must be a plain object: an array or null is refused naming parameters', () => {
    const { manager } = setup();
    expect(() => manager.startTask(makeRun('arr', { parameters: [] as never }), async () => undefined)).toThrow(/parameters/);
    expect(() => manager.startTask(makeRun('nul', { parameters: null as never }), async () => undefined)).toThrow(InvalidInputError);
    expect(() => manager.startTask(null as never, async () => undefined)).toThrow(/run/);
  });

  it('when the executor refuses a run, startTask throws and the run is recorded as failed, not left queued', () => {
    const registry = new RunRegistry();
    const executor: RunExecutor = {
      start: () => {
        throw new Error('database is locked');
      },
      cancel: async () => false,
      waitAll: async () => undefined,
      activeRunIds: () => [],
      isActive: () => false,
    };
    const manager = new BackgroundTaskManager(registry, { executor });
    const run = makeRun('refused');
    expect(() => manager.startTask(run, async () => undefined)).toThrow('database is locked');
    expect(registry.getRun(run.runId)).toMatchObject({ status: 'failed', errorMessage: 'database is locked' });
  });

  it('cancelTask with a non-string id resolves false', async () => {
    const { manager } = setup();
    await expect(manager.cancelTask(undefined as never)).resolves.toBe(false);
  });
});

describe('reportProgress', () => {
  it.each([
    [{ percent: -1 }, 'percent'],
    [{ percent: 100.5 }, 'percent'],
    [{ percent: Number.NaN }, 'percent'],
    [{ percent: '50' }, 'percent'],
    [{ itemsProcessed: -1 }, 'itemsProcessed'],
    [{ itemsProcessed: 1.5 }, 'itemsProcessed'],
    [{ itemsTotal: Number.POSITIVE_INFINITY }, 'itemsTotal'],
    [null, 'progress'],
  ])('%p is refused with InvalidInputError naming %s', (report, field) => {
    let caught: unknown;
    try {
      validateProgress(report as never);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidInputError);
    expect((caught as InvalidInputError).field).toBe(field);
  });

  it('accepts the bounds 0 and 100 and zero counts', () => {
    expect(validateProgress({ percent: 0, itemsProcessed: 0, itemsTotal: 0 })).toEqual({ progressPercent: 0, itemsProcessed: 0, itemsTotal: 0 });
    expect(validateProgress({ percent: 100 })).toEqual({ progressPercent: 100 });
  });

  it('an invalid report throws inside the work, which then fails unless it catches', async () => {
    const { registry, manager } = setup();
    const run = makeRun('bad-progress');
    manager.startTask(run, async (ctx) => ctx.reportProgress({ percent: 101 }));
    await manager.waitAll();
    expect(registry.getRun(run.runId)?.status).toBe('failed');
    expect(registry.getRun(run.runId)?.errorMessage).toMatch(/percent/);
  });

  it('progress reported after the run finished or was cancelled is ignored', async () => {
    const { registry, manager } = setup();
    let saved: TaskContext | undefined;
    const run = makeRun('late-progress');
    manager.startTask(run, async (ctx) => {
      saved = ctx;
      ctx.reportProgress({ percent: 10 });
    });
    await manager.waitAll();
    saved?.reportProgress({ percent: 90, itemsProcessed: 9 });
    expect(registry.getRun(run.runId)).toMatchObject({ status: 'completed', progressPercent: 10 });
    expect(registry.getRun(run.runId)?.itemsProcessed).toBeUndefined();
  });
});

describe('MemoryRunExecutor', () => {
  it('with a concurrency limit, runs beyond it wait in start order', async () => {
    const { manager, registry } = setup({ concurrency: 2 });
    const gates = [deferred<void>(), deferred<void>(), deferred<void>()];
    const order: number[] = [];
    const runs = gates.map((g, i) => {
      const run = makeRun(`limit-${i}`);
      manager.startTask(run, async () => {
        order.push(i);
        await g.promise;
      });
      return run;
    });
    await turns();
    expect(order).toEqual([0, 1]);
    expect(registry.getRun(runs[2].runId)?.status).toBe('queued');
    expect(manager.getActiveTaskCount()).toBe(3);
    gates[1].resolve();
    await turns();
    expect(order).toEqual([0, 1, 2]);
    gates[0].resolve();
    gates[2].resolve();
    await manager.waitAll();
    expect(manager.getActiveTaskCount()).toBe(0);
  });

  it('a backlog of thousands of waiting runs starts in start order; runs cancelled while waiting never run', async () => {
    const { manager, registry } = setup({ concurrency: 1 });
    const order: number[] = [];
    const ids: string[] = [];
    const start = (i: number) => {
      ids[i] = manager.startTask(makeRun(`backlog-${i}`), async () => {
        order.push(i);
        // Runs started while the backlog drains join its end.
        if (i === 1500) for (let j = 3000; j < 3100; j++) start(j);
      });
    };
    for (let i = 0; i < 3000; i++) start(i);
    const cancelled = [5, 1200, 2999];
    expect(await Promise.all(cancelled.map((i) => manager.cancelTask(ids[i]!)))).toEqual([true, true, true]);
    await manager.waitAll();
    const expected = Array.from({ length: 3100 }, (_, i) => i).filter((i) => !cancelled.includes(i));
    expect(order).toEqual(expected);
    for (const i of cancelled) expect(registry.getRun(ids[i]!)?.status).toBe('cancelled');
  });

  it('a work that first reads its signal after the run was cancelled finds it aborted', async () => {
    const { manager } = setup();
    const gate = deferred<void>();
    let aborted: boolean | undefined;
    const run = makeRun('late-signal');
    manager.startTask(run, async (ctx) => {
      await gate.promise;
      aborted = ctx.signal.aborted;
    });
    await turns();
    const cancelling = manager.cancelTask(run.runId);
    gate.resolve();
    expect(await cancelling).toBe(true);
    expect(aborted).toBe(true);
  });

  it('refuses a concurrency that is not a positive integer', () => {
    expect(() => new MemoryRunExecutor(new RunRegistry(), { concurrency: 0 })).toThrow(/concurrency/);
  });

  it('waitAll also waits for runs started while it was waiting', async () => {
    const { manager, registry } = setup();
    const child = makeRun('child');
    manager.startTask(makeRun('parent'), async () => {
      manager.startTask(child, async () => undefined);
    });
    await manager.waitAll();
    expect(registry.getRun(child.runId)?.status).toBe('completed');
  });

  it('leaves no timer or immediate behind after waitAll, so the process can exit', async () => {
    const { manager } = setup();
    const count = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;
    await turns();
    const baseline = count();
    for (let i = 0; i < 5; i += 1) manager.startTask(makeRun('exit'), async () => undefined);
    const cancelled = makeRun('exit-cancelled');
    manager.startTask(cancelled, async () => undefined);
    await manager.cancelTask(cancelled.runId);
    await manager.waitAll();
    await turns(1);
    expect(count()).toBeLessThanOrEqual(baseline);
  });
});
