import { OWNER_CAPABILITY, RUN_QUEUE, SqliteRunExecutor } from '../../src/compat';
import { needsRead } from '../../src/compat/remote-sync';
import { createRunEntry } from '../../src/compat/run-entry';
import { BackgroundTaskManager, RunRegistry, type Run } from '../../src/manager';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { fifo } from '../../src/strategies';
import { until, withModeManager } from './helpers';
import { within } from './process-helpers';

const run = (runId: string): Run => ({ runId, moduleId: 'm', moduleName: 'm', status: 'queued', createdAt: new Date(), parameters: {} });

describe('following runs through the store (sqlite mode)', () => {
  it('a pinned run not started here is read only while the worker has a free slot', () => {
    const pinned = createRunEntry('a', 1, 'm', async () => undefined, true);
    const shared = createRunEntry('b', 2, 'm', async () => undefined, false);
    expect(needsRead(pinned, true)).toBe(false);
    expect(needsRead(pinned, false)).toBe(true);
    expect(needsRead(shared, true)).toBe(true);
    pinned.local = true;
    expect(needsRead(pinned, false)).toBe(false);
  });

  /** A sqlite-mode manager at concurrency 1 on a temp file, and a second connection standing for another process. */
  async function withManager(env: Record<string, string>, body: (m: { manager: BackgroundTaskManager; registry: RunRegistry; other: ReturnType<typeof createSqliteTaskStore> }) => Promise<void>): Promise<void> {
    await withModeManager({ TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_CONCURRENCY: '1', ...env }, async ({ db, manager, registry }) => {
      const other = createSqliteTaskStore({ path: db.dbPath });
      try {
        await body({ manager, registry, other });
      } finally {
        await other.close();
      }
    });
  }

  /** Starts 'busy', which holds the manager's only slot until the returned function is called. */
  function holdTheSlot(manager: BackgroundTaskManager): () => void {
    let release!: () => void;
    const blocker = new Promise<void>((r) => (release = r));
    manager.startTask(run('busy'), () => blocker);
    return release;
  }

  /**
   * 'busy' holds the only slot, 'prefetched' is claimed behind it and 'x' waits in the queue, where
   * another process can take it. Returns the release of 'busy'.
   */
  async function xQueuedBehindBusy(manager: BackgroundTaskManager, registry: RunRegistry, other: ReturnType<typeof createSqliteTaskStore>): Promise<() => void> {
    const release = holdTheSlot(manager);
    manager.startTask(run('prefetched'), async () => undefined);
    manager.startTask(run('x'), async () => undefined);
    await until(() => registry.getRun('busy')?.status === 'running', 'the first run to start');
    await until(async () => (await other.getByIdempotencyKey(RUN_QUEUE, 'prefetched'))?.status === 'running', 'the second run to be claimed (prefetched)');
    return release;
  }

  it('a queued run cancelled by another process settles once the worker has a free slot', async () => {
    await withManager({ TASKBRIDGE_POLL_INTERVAL: '20ms' }, async ({ manager, registry, other }) => {
      const release = holdTheSlot(manager);
      // Concurrency 1 prefetches one more run: 'prefetched' is claimed, 'later' stays queued.
      manager.startTask(run('prefetched'), async () => undefined);
      manager.startTask(run('later'), async () => undefined);
      await until(() => registry.getRun('busy')?.status === 'running', 'the first run to start');
      const task = await other.getByIdempotencyKey(RUN_QUEUE, 'later');
      expect(other.cancelSync(task!.id)).toBe('cancelled');
      release();
      await manager.waitAll();
      expect(registry.getRun('busy')?.status).toBe('completed');
      expect(registry.getRun('prefetched')?.status).toBe('completed');
      expect(registry.getRun('later')?.status).toBe('cancelled');
    });
  });

  it('a run cancelled while another process runs it can be started again at once: the cancel resolves and the new run runs', async () => {
    await withManager({ TASKBRIDGE_POLL_INTERVAL: '20ms' }, async ({ manager, registry, other }) => {
      const release = await xQueuedBehindBusy(manager, registry, other);
      // Another process's worker takes 'x' (it offers this executor's owner, as a handler would let it).
      const owner = (manager.executor as SqliteRunExecutor).owner;
      const [claimed] = other.claimSync({ workerId: 'other', limit: 1, leaseMs: 60_000, strategy: fifo, capabilities: { [OWNER_CAPABILITY]: owner } });
      expect(claimed?.task.idempotencyKey).toBe('x');
      const firstCancel = manager.cancelTask('x');
      let ranAgain = false;
      manager.startTask(run('x'), async () => {
        ranAgain = true;
      });
      // The other process sees the cancel request and stops.
      expect(other.acknowledgeCancelSync(claimed!.task.id, claimed!.token)).toBe(true);
      release();
      await expect(within(firstCancel, 'the first cancel to resolve', 15_000)).resolves.toBe(true);
      await manager.waitAll();
      expect(ranAgain).toBe(true);
      expect(registry.getRun('x')?.status).toBe('completed');
      expect(other.getSync(claimed!.task.id)?.status).toBe('cancelled');
    });
  });

  it('recovery does not adopt the fresh task of a run started again here as a second run', async () => {
    await withManager({ TASKBRIDGE_POLL_INTERVAL: '20ms' }, async ({ manager, registry, other }) => {
      let handled = 0;
      const handler = async () => {
        handled += 1;
      };
      manager.registerHandler('m', handler);
      const release = await xQueuedBehindBusy(manager, registry, other);
      // Another process that registered the module's handler takes 'x'.
      const [claimed] = other.claimSync({ workerId: 'other', limit: 1, leaseMs: 60_000, strategy: fifo });
      expect(claimed?.task.idempotencyKey).toBe('x');
      const firstCancel = manager.cancelTask('x');
      let ranAgain = false;
      manager.startTask(run('x'), async () => {
        ranAgain = true;
      });
      // Recovery runs (here on registerHandler; also every lease period) while the new task waits.
      manager.registerHandler('m', handler);
      expect(other.acknowledgeCancelSync(claimed!.task.id, claimed!.token)).toBe(true);
      release();
      expect(await firstCancel).toBe(true);
      await manager.waitAll();
      expect(ranAgain).toBe(true);
      expect(handled).toBe(0);
      expect(registry.getRun('x')?.status).toBe('completed');
      expect(registry.getRecentRuns().map((r) => r.runId).sort()).toEqual(['busy', 'prefetched', 'x']);
    });
  });

  it('cancelling a run the worker prefetched ends it at once: it never runs, the queue records cancelled', async () => {
    // A lease of an hour puts the next heartbeat 20 minutes away: the cancel must not wait for one.
    await withManager({ TASKBRIDGE_LEASE: '1h' }, async ({ manager, registry, other }) => {
      const release = holdTheSlot(manager);
      let ran = false;
      manager.startTask(run('prefetched'), async () => {
        ran = true;
      });
      await until(() => registry.getRun('busy')?.status === 'running', 'the first run to start');
      const task = await other.getByIdempotencyKey(RUN_QUEUE, 'prefetched');
      await until(() => other.getSync(task!.id)?.status === 'running', 'the second run to be claimed (prefetched)');
      // Resolves while 'busy' still blocks the only slot, without waiting for a heartbeat.
      expect(await manager.cancelTask('prefetched')).toBe(true);
      expect(registry.getRun('prefetched')?.status).toBe('cancelled');
      await until(() => other.getSync(task!.id)?.status === 'cancelled', 'the queue to record the cancel');
      release();
      await manager.waitAll();
      expect(ran).toBe(false);
      expect(registry.getRun('busy')?.status).toBe('completed');
      expect(other.getSync(task!.id)).toMatchObject({ status: 'cancelled', attempts: 1 });
    });
  });

  it('cancelling a run another process has just completed resolves false and the registry shows it completed', async () => {
    // A poll every 10 minutes: the cancel comes before this manager reads the completion from the store.
    await withManager({ TASKBRIDGE_POLL_INTERVAL: '10m' }, async ({ manager, registry, other }) => {
      const release = await xQueuedBehindBusy(manager, registry, other);
      const owner = (manager.executor as SqliteRunExecutor).owner;
      const [claimed] = other.claimSync({ workerId: 'other', limit: 1, leaseMs: 60_000, strategy: fifo, capabilities: { [OWNER_CAPABILITY]: owner } });
      expect(claimed?.task.idempotencyKey).toBe('x');
      expect(other.completeSync(claimed!.task.id, claimed!.token)).toBe(true);
      expect(await manager.cancelTask('x')).toBe(false);
      expect(registry.getRun('x')).toMatchObject({ status: 'completed', exitCode: 0 });
      expect(manager.isTaskActive('x')).toBe(false);
      release();
      await manager.waitAll();
      expect(registry.getRun('x')?.status).toBe('completed');
    });
  });
});
