import { createLogger } from '../../src/core/logger';
import { checkParityWithFile, closeModeExecutor, createModeExecutor, loadConfig, RoutingRunExecutor, rolloutBucket, RUN_QUEUE } from '../../src/compat';
import { BackgroundTaskManager, RunRegistry, type Run, type TaskContext } from '../../src/manager';
import { openMirrorStore } from '../../src/queue/sqlite/mirror-store';
import { ManualClock, SystemClock } from '../../src/core/clock';
import { runRequest } from '../../src/compat/run-payload';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { tempDb, until, withModeManager, type ModeManager } from './helpers';

const run = (runId: string, moduleId: string): Run => ({ runId, moduleId, moduleName: moduleId, status: 'queued', createdAt: new Date(), parameters: { n: 1 } });

/**
 * Leaves `r` in the queue file as a process that is gone left it: started there (its canary sent
 * the run to the queue), not pinned (its module has a handler), and owned by no live worker.
 */
async function leftByGoneProcess(dbPath: string, r: Run): Promise<void> {
  const store = createSqliteTaskStore({ path: dbPath });
  store.enqueueSync(runRequest(r, 'gone', { maxAttempts: 3, retryFailures: false, backoff: undefined }, false));
  await store.close();
}

/** A run id this process's canary at `percent` sends to the rest side (its bucket is not below the percent). */
function restSideId(prefix: string, percent: number): string {
  return Array.from({ length: 1000 }, (_, i) => `${prefix}-${i}`).find((id) => rolloutBucket(id) >= percent)!;
}

/** A handler that runs until its signal aborts, counting its calls and aborts. */
function heldHandler(): { calls: () => number; aborted: () => number; handler: (r: Run, ctx: TaskContext) => Promise<void> } {
  let calls = 0;
  let aborted = 0;
  return {
    calls: () => calls,
    aborted: () => aborted,
    handler: (_r, ctx) => new Promise<void>((resolve) => {
      calls += 1;
      ctx.signal.addEventListener('abort', () => {
        aborted += 1;
        resolve();
      });
    }),
  };
}

/** Runs `body` with a canary (sqlite mode with routing options) on a temp database. */
function withCanary(overrides: Record<string, string>, body: (m: ModeManager<RoutingRunExecutor>) => Promise<void>): Promise<void> {
  return withModeManager<RoutingRunExecutor>({ TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_POLL_INTERVAL: '20ms', ...overrides }, body);
}

describe('canary routing', () => {
  it('the rollout bucket is a stable hash of the runId in 0..99', () => {
    expect(rolloutBucket('run-1')).toBe(rolloutBucket('run-1'));
    const buckets = new Set(Array.from({ length: 2000 }, (_, i) => rolloutBucket(`r${i}`)));
    expect(Math.min(...buckets)).toBe(0);
    expect(Math.max(...buckets)).toBe(99);
  });

  it('by module: only listed modules go to the queue, the rest run in memory and the app sees no difference', async () => {
    await withCanary({ TASKBRIDGE_SQLITE_MODULES: 'reports' }, async ({ db, registry, executor, manager }) => {
      expect(executor).toBeInstanceOf(RoutingRunExecutor);
      manager.startTask(run('a', 'reports'), async () => 'ok');
      manager.startTask(run('b', 'emails'), async () => 'ok');
      await manager.waitAll();
      expect(executor.routeOf('a')).toBe('queue');
      expect(executor.routeOf('b')).toBe('rest');
      expect(registry.getRun('a')?.status).toBe('completed');
      expect(registry.getRun('b')?.status).toBe('completed');
      const store = openMirrorStore(db.dbPath, new SystemClock());
      expect(store.listQueue(RUN_QUEUE).map((r) => r.key)).toEqual(['a']);
      store.close();
    });
  });

  it('by percent: runs whose bucket is below the percent go to the queue, the same way every time', async () => {
    await withCanary({ TASKBRIDGE_ROLLOUT_PERCENT: '30' }, async ({ registry, executor, manager }) => {
      const ids = Array.from({ length: 60 }, (_, i) => `p-${i}`);
      for (const id of ids) manager.startTask(run(id, 'm'), async () => undefined);
      await manager.waitAll();
      for (const id of ids) {
        expect(executor.routeOf(id)).toBe(rolloutBucket(id) < 30 ? 'queue' : 'rest');
        expect(registry.getRun(id)?.status).toBe('completed');
      }
      const queued = ids.filter((id) => executor.routeOf(id) === 'queue').length;
      expect(queued).toBeGreaterThan(5);
      expect(queued).toBeLessThan(40);
    });
  });

  it('a run the queue held is recovered by the queue side only: cancelTask aborts it and it stays cancelled', async () => {
    const db = tempDb();
    await leftByGoneProcess(db.dbPath, run('left', 'reports'));
    await withModeManager<RoutingRunExecutor>({ TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_SQLITE_MODULES: 'reports', TASKBRIDGE_POLL_INTERVAL: '20ms' }, async ({ manager, registry }) => {
      let calls = 0;
      let aborted = false;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      manager.registerHandler('reports', async (_run, ctx) => {
        calls += 1;
        ctx.signal.addEventListener('abort', () => {
          aborted = true;
          release();
        });
        await gate;
      });
      try {
        await until(() => calls === 1, 'the recovered run to start');
        const cancelled = manager.cancelTask('left');
        expect(aborted).toBe(true);
        expect(await cancelled).toBe(true);
      } finally {
        release();
      }
      await manager.waitAll();
      expect(calls).toBe(1);
      expect(registry.getRun('left')?.status).toBe('cancelled');
    }, db);
  });

  it('a run id whose run here went to the rest side and ended, recovered by the queue side from a gone process, is cancelled there', async () => {
    // This process sends half the runs to the queue; the gone one (a later deploy at 100 %) sent this one.
    const env = { TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_SQLITE_MODULES: 'reports', TASKBRIDGE_ROLLOUT_PERCENT: '50', TASKBRIDGE_POLL_INTERVAL: '20ms' };
    const id = restSideId('again', 50);
    await withModeManager<RoutingRunExecutor>(env, async ({ db, registry, executor, manager }) => {
      manager.startTask(run(id, 'reports'), async () => undefined);
      await manager.waitAll();
      expect(registry.getRun(id)?.status).toBe('completed');
      await leftByGoneProcess(db.dbPath, run(id, 'reports'));
      const held = heldHandler();
      manager.registerHandler('reports', held.handler);
      try {
        await until(() => held.calls() === 1, 'the recovered run to start');
        // The route still names the side of the run started here, which has ended.
        expect(executor.routeOf(id)).toBe('rest');
        expect(manager.isTaskActive(id)).toBe(true);
        const cancelled = manager.cancelTask(id);
        expect(held.aborted()).toBe(1);
        expect(await cancelled).toBe(true);
        await manager.waitAll();
        expect(held.calls()).toBe(1);
        expect(registry.getRun(id)?.status).toBe('cancelled');
        expect(manager.isTaskActive(id)).toBe(false);
      } finally {
        // A failed expectation must not leave the held run for close to wait on.
        await Promise.all(executor.activeRunIds().map((r) => executor.queueSide.cancel(r)));
      }
    });
  });

  /** What {@link claimedWhileRestRuns} set up: the held handler, the claimed task, and the two runs' releases. */
  interface ClaimedWhileRestRuns {
    held: ReturnType<typeof heldHandler>;
    theirs: number;
    other: ReturnType<typeof createSqliteTaskStore>;
    releaseRest(): void;
    releaseOwn(): void;
  }

  /**
   * A canary at 50 % runs `id` on its rest side and a run of its own on its queue side (so its queue
   * worker is busy and claiming), with the module's handler registered; then another process
   * (other canary settings, e.g. a later deploy at 100 %) starts `id` on the queue, unpinned, with
   * parameters { n: 2 }, and this process's queue worker claims it. Cleans up after `body`.
   */
  async function claimedWhileRestRuns(id: string, env: Record<string, string>, body: (m: ModeManager<RoutingRunExecutor>, c: ClaimedWhileRestRuns) => Promise<void>): Promise<void> {
    const own = Array.from({ length: 1000 }, (_, i) => `own-${i}`).find((r) => rolloutBucket(r) < 50)!;
    const canary = { TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_SQLITE_MODULES: 'reports', TASKBRIDGE_ROLLOUT_PERCENT: '50', TASKBRIDGE_POLL_INTERVAL: '20ms', ...env };
    await withModeManager<RoutingRunExecutor>(canary, async (m) => {
      const { db, registry, executor, manager } = m;
      const held = heldHandler();
      manager.registerHandler('reports', held.handler);
      let releaseRest!: () => void;
      let releaseOwn!: () => void;
      manager.startTask(run(id, 'reports'), () => new Promise<void>((resolve) => (releaseRest = resolve)));
      manager.startTask(run(own, 'reports'), () => new Promise<void>((resolve) => (releaseOwn = resolve)));
      const other = createSqliteTaskStore({ path: db.dbPath });
      try {
        await until(() => registry.getRun(id)?.status === 'running' && registry.getRun(own)?.status === 'running', 'both runs to start');
        expect([executor.routeOf(id), executor.routeOf(own)]).toEqual(['rest', 'queue']);
        const theirs = other.enqueueSync(runRequest({ ...run(id, 'reports'), parameters: { n: 2 } }, 'other-live-process', { maxAttempts: 3, retryFailures: false, backoff: undefined }, false)).task.id;
        await until(() => other.getSync(theirs)?.status === 'running', 'the queue side to claim the other process\'s run');
        await body(m, { held, theirs, other, releaseRest, releaseOwn });
      } finally {
        releaseRest?.();
        releaseOwn?.();
        await Promise.all(executor.activeRunIds().map((r) => executor.queueSide.cancel(r)));
        await other.close();
      }
    });
  }

  it('a run of an id active on the rest side, claimed by the queue side from a live process, waits for the rest run to end', async () => {
    const id = restSideId('claimed', 50);
    await claimedWhileRestRuns(id, {}, async ({ registry, executor, manager }, { held, theirs, other, releaseRest, releaseOwn }) => {
      // Claimed, but not begun: the registry's one record of the id still follows the rest run.
      expect(held.calls()).toBe(0);
      expect(registry.getRun(id)).toMatchObject({ status: 'running', parameters: { n: 1 } });
      expect(executor.queueSide.isActive(id)).toBe(false);
      releaseRest();
      await until(() => held.calls() === 1, 'the claimed run to begin once the rest run ended');
      expect(registry.getRun(id)).toMatchObject({ status: 'running', parameters: { n: 2 } });
      expect(await manager.cancelTask(id)).toBe(true);
      releaseOwn();
      await manager.waitAll();
      expect(held.calls()).toBe(1);
      expect(registry.getRun(id)?.status).toBe('cancelled');
      expect(other.getSync(theirs)?.status).toBe('cancelled');
    });
  });

  it('a claimed run waiting for the rest run ends cancelled, never begun, when its own process cancels it', async () => {
    const id = restSideId('waits', 50);
    await claimedWhileRestRuns(id, { TASKBRIDGE_LEASE: '300ms' }, async ({ registry, manager }, { held, theirs, other, releaseRest, releaseOwn }) => {
      expect(other.cancelSync(theirs)).toBe('cancel-requested');
      // The next heartbeat (a third of the lease) sees the request and ends the wait.
      await until(() => other.getSync(theirs)?.status === 'cancelled', 'the waiting claim to end cancelled');
      expect(held.calls()).toBe(0);
      expect(registry.getRun(id)).toMatchObject({ status: 'running', parameters: { n: 1 } });
      releaseRest();
      releaseOwn();
      await manager.waitAll();
      expect(registry.getRun(id)?.status).toBe('completed');
      expect(held.calls()).toBe(0);
    });
  });

  it("a gone process's run of an id active on the rest side is recovered by the queue side only once the rest run ended", async () => {
    const env = { TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_SQLITE_MODULES: 'reports', TASKBRIDGE_ROLLOUT_PERCENT: '50', TASKBRIDGE_POLL_INTERVAL: '20ms' };
    const id = restSideId('twice', 50);
    await withModeManager<RoutingRunExecutor>(env, async ({ db, registry, executor, manager }) => {
      let release!: () => void;
      manager.startTask(run(id, 'reports'), () => new Promise<void>((resolve) => (release = resolve)));
      const held = heldHandler();
      try {
        await until(() => registry.getRun(id)?.status === 'running', 'the rest-side run to start');
        expect(executor.routeOf(id)).toBe('rest');
        await leftByGoneProcess(db.dbPath, run(id, 'reports'));
        // One registry record cannot follow two runs: the queue's run of the id waits.
        manager.registerHandler('reports', held.handler);
        expect(executor.queueSide.isActive(id)).toBe(false);
        expect(manager.getActiveTaskIds()).toEqual([id]);
        release();
        await until(() => registry.getRun(id)?.status === 'completed', 'the rest-side run to end');
        // The next look (any registerHandler, or the one every lease) recovers it.
        manager.registerHandler('reports', held.handler);
        await until(() => held.calls() === 1, 'the recovered run to start');
        expect(executor.queueSide.isActive(id)).toBe(true);
        expect(registry.getRun(id)?.status).toBe('running');
        const cancelled = manager.cancelTask(id);
        expect(held.aborted()).toBe(1);
        expect(await cancelled).toBe(true);
        await manager.waitAll();
        expect(registry.getRun(id)?.status).toBe('cancelled');
        expect(manager.getActiveTaskIds()).toEqual([]);
      } finally {
        release?.();
        await Promise.all([executor.queueSide.cancel(id), executor.restSide.cancel(id)]);
      }
    });
  });

  it('the route map forgets finished runs, while active runs started before and after a prune are still cancelled through their side', async () => {
    await withCanary({ TASKBRIDGE_SQLITE_MODULES: 'reports' }, async ({ registry, executor, manager }) => {
      const aborted = new Set<string>();
      /** Work that runs until cancelled, noting its abort. */
      const untilCancelled = (id: string) => (ctx: TaskContext) => new Promise<void>((resolve) => {
        ctx.signal.addEventListener('abort', () => {
          aborted.add(id);
          resolve();
        });
      });
      manager.startTask(run('held-queue-before', 'reports'), untilCancelled('held-queue-before'));
      manager.startTask(run('held-rest-before', 'emails'), untilCancelled('held-rest-before'));
      try {
        // Finished runs in batches, each settled before the next starts: far more than the prune floor.
        const finished: string[] = [];
        for (let batch = 0; batch < 30; batch++) {
          const ids = Array.from({ length: 100 }, (_, i) => `done-${batch}-${i}`);
          for (const id of ids) manager.startTask(run(id, 'emails'), async () => undefined);
          await until(() => ids.every((id) => registry.getRun(id)?.status === 'completed'), `batch ${batch} to complete`);
          finished.push(...ids);
        }
        const remembered = finished.filter((id) => executor.routeOf(id) !== undefined).length;
        // Bounded by what may pile up between two prunes, not by the 3,000 runs started.
        expect(remembered).toBeLessThanOrEqual(1024);
        expect(executor.routeOf('done-0-0')).toBeUndefined();
        // A run id started again after its route was dropped is routed by the new start.
        manager.startTask(run('done-0-1', 'reports'), untilCancelled('done-0-1'));
        manager.startTask(run('held-rest-after', 'emails'), untilCancelled('held-rest-after'));
        const held = ['held-queue-before', 'held-rest-before', 'done-0-1', 'held-rest-after'];
        expect(held.map((id) => executor.routeOf(id))).toEqual(['queue', 'rest', 'queue', 'rest']);
        await until(() => held.every((id) => registry.getRun(id)?.status === 'running'), 'the held runs to start');
        for (const id of held) expect(await manager.cancelTask(id)).toBe(true);
        await manager.waitAll();
        expect([...aborted].sort()).toEqual([...held].sort());
        for (const id of held) expect(registry.getRun(id)?.status).toBe('cancelled');
      } finally {
        // A failed expectation must not leave held runs for close to wait on.
        await Promise.all(executor.activeRunIds().map((id) => manager.cancelTask(id)));
      }
    });
  });

  it('parity reports no mismatch for queue-side runs whose claim and start times differ', async () => {
    const db = tempDb();
    const clock = new ManualClock();
    const registry = new RunRegistry();
    const config = loadConfig({ TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_SQLITE_MODULES: 'reports', TASKBRIDGE_CONCURRENCY: '1', TASKBRIDGE_POLL_INTERVAL: '20ms' }, {});
    const executor = createModeExecutor(config, registry, { clock, logger: createLogger('silent') });
    const manager = new BackgroundTaskManager(registry, { executor, clock, logger: createLogger('silent') });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    try {
      manager.startTask(run('first', 'reports'), () => gate);
      // Concurrency 1 prefetches one more: 'second' is claimed now and starts when 'first' ends.
      manager.startTask(run('second', 'reports'), async () => undefined);
      manager.startTask(run('memory-side', 'emails'), async () => undefined);
      const store = createSqliteTaskStore({ path: db.dbPath, clock });
      try {
        await until(async () => (await store.getByIdempotencyKey(RUN_QUEUE, 'second'))?.status === 'running', "'second' to be claimed");
      } finally {
        await store.close();
      }
      clock.advance(1_000);
      release();
      await manager.waitAll();
      expect(registry.getRun('second')?.status).toBe('completed');
      const report = checkParityWithFile(registry, db.dbPath, {}, clock);
      expect(report.mismatches).toEqual([]);
      expect(report.checked).toBe(3);
    } finally {
      release();
      await closeModeExecutor(executor);
      db.remove();
    }
  });
});
