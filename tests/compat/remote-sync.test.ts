import fs from 'node:fs';
import { OWNER_CAPABILITY, RUN_QUEUE, SqliteRunExecutor } from '../../src/compat';
import { needsRead, syncRemoteRuns, type RemoteSyncDeps } from '../../src/compat/remote-sync';
import { createRunEntry, type RunEntry } from '../../src/compat/run-entry';
import { runRequest } from '../../src/compat/run-payload';
import { DatabaseReplacedError, StoreBusyError } from '../../src/core/errors';
import { BackgroundTaskManager, RunRegistry, type Run } from '../../src/manager';
import type { SqliteTaskStore } from '../../src/queue/sqlite/store';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { fifo } from '../../src/strategies';
import { thrownBy } from '../support/thrown';
import { MemoryLogger } from '../queue/worker-helpers';
import { tempDb, until, withModeManager } from './helpers';
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

  it('a run another process completes while every slot here is busy is settled by the poll, and the prefetched run stays queued', async () => {
    await withManager({ TASKBRIDGE_POLL_INTERVAL: '20ms' }, async ({ manager, registry, other }) => {
      // A registered handler makes the module's runs unpinned: any process may run them.
      manager.registerHandler('m', async () => undefined);
      const release = await xQueuedBehindBusy(manager, registry, other);
      const [claimed] = other.claimSync({ workerId: 'other', limit: 1, leaseMs: 60_000, strategy: fifo });
      expect(claimed?.task.idempotencyKey).toBe('x');
      expect(other.completeSync(claimed!.task.id, claimed!.token)).toBe(true);
      await until(() => registry.getRun('x')?.status === 'completed', 'the poll to settle x');
      expect(registry.getRun('x')).toMatchObject({ exitCode: 0, completedAt: expect.any(Date) });
      expect(manager.isTaskActive('x')).toBe(false);
      // Claimed by this process's worker but not begun: the poll saw it running and left it queued.
      expect(registry.getRun('prefetched')?.status).toBe('queued');
      release();
      await manager.waitAll();
      expect(registry.getRun('prefetched')?.status).toBe('completed');
    });
  });
});

describe('one poll of the runs not executing here (syncRemoteRuns on a real store)', () => {
  const policy = { maxAttempts: 1, retryFailures: false, backoff: undefined };

  interface Rig {
    store: SqliteTaskStore;
    /** A second connection standing for another process. */
    other: SqliteTaskStore;
    registry: RunRegistry;
    logger: MemoryLogger;
    deps: RemoteSyncDeps;
    entry(runId: string): RunEntry;
    /** Runs ended by deps.storeLost. */
    lost: string[];
  }

  /** Runs of module 'm' queued as sqlite mode queues them (unpinned), their records and entries; this process's worker is 'here'. */
  async function withRig(runIds: readonly string[], body: (rig: Rig) => void | Promise<void>): Promise<void> {
    const db = tempDb();
    const logger = new MemoryLogger();
    const store = createSqliteTaskStore({ path: db.dbPath, logger });
    const other = createSqliteTaskStore({ path: db.dbPath, logger: new MemoryLogger() });
    try {
      const registry = new RunRegistry();
      const runs = runIds.map(run);
      const tasks = store.enqueueBatchSync(runs.map((r) => runRequest(r, 'owner', policy, false)));
      const entries = new Map(runs.map((r, i) => {
        registry.addRun(r);
        return [r.runId, createRunEntry(r.runId, tasks[i]!.task.id, 'm', undefined, false)] as const;
      }));
      const lost: string[] = [];
      const deps: RemoteSyncDeps = {
        store, registry, logger, workerSaturated: false,
        update: (runId, patch) => void registry.updateRun(runId, patch),
        settle: (e) => {
          e.done = true;
          e.resolve();
        },
        leasedHere: (task) => task.leaseOwner === 'here',
        storeLost: (e) => {
          lost.push(e.runId);
          e.done = true;
        },
      };
      await body({ store, other, registry, logger, deps, lost, entry: (runId) => entries.get(runId)! });
    } finally {
      other.closeSync();
      store.closeSync();
      db.remove();
    }
  }

  const poll = (rig: Rig, runIds: readonly string[]) => syncRemoteRuns(runIds.map(rig.entry), rig.deps);
  const claimFor = (store: SqliteTaskStore, workerId: string) => store.claimSync({ workerId, limit: 1, leaseMs: 60_000, strategy: fifo })[0]!;

  it('reads a backlog of queued runs in one store read, not with a point read per run', async () => {
    const ids = Array.from({ length: 2_000 }, (_, i) => `r${i}`);
    await withRig(ids, (rig) => {
      const pointReads = jest.spyOn(rig.store, 'getSync');
      const batchReads = jest.spyOn(rig.store, 'taskStatesSync');
      poll(rig, ids);
      // Before: 2,000 getSync calls, each a statement and a whole Task (its payload parsed), every poll.
      expect(pointReads).toHaveBeenCalledTimes(0);
      expect(batchReads).toHaveBeenCalledTimes(1);
      expect(rig.registry.getRunsByStatus('queued')).toHaveLength(ids.length);
      expect(ids.filter((id) => rig.entry(id).done)).toEqual([]);
    });
  });

  it('settles runs another process finished with their outcome; one cancelled here settles without it', async () => {
    await withRig(['done', 'failed', 'cancelled', 'waiting'], (rig) => {
      const [done, failed, cancelled] = ['done', 'failed', 'cancelled'].map(() => claimFor(rig.other, 'elsewhere'));
      expect([done, failed, cancelled].map((c) => c.task.idempotencyKey)).toEqual(['done', 'failed', 'cancelled']);
      expect(rig.other.completeSync(done!.task.id, done!.token)).toBe(true);
      expect(rig.other.failSync(failed!.task.id, failed!.token, { message: 'boom', retryable: false })).toBe('dead');
      expect(rig.other.completeSync(cancelled!.task.id, cancelled!.token)).toBe(true);
      rig.entry('cancelled').cancelled = true;
      rig.registry.updateRun('cancelled', { status: 'cancelled' });
      poll(rig, ['done', 'failed', 'cancelled', 'waiting']);
      expect(['done', 'failed', 'cancelled', 'waiting'].map((id) => rig.entry(id).done)).toEqual([true, true, true, false]);
      expect(rig.registry.getRun('done')).toMatchObject({ status: 'completed', exitCode: 0, startedAt: expect.any(Date), completedAt: expect.any(Date) });
      expect(rig.registry.getRun('failed')).toMatchObject({ status: 'failed', errorMessage: 'boom', completedAt: expect.any(Date) });
      expect(rig.registry.getRun('cancelled')?.status).toBe('cancelled');
      expect(rig.registry.getRun('waiting')?.status).toBe('queued');
    });
  });

  it('shows a run running in another process as running; one claimed here and not begun stays queued', async () => {
    await withRig(['elsewhere', 'prefetched', 'waiting'], (rig) => {
      claimFor(rig.other, 'elsewhere');
      claimFor(rig.store, 'here');
      poll(rig, ['elsewhere', 'prefetched', 'waiting']);
      expect(rig.registry.getRun('elsewhere')).toMatchObject({ status: 'running', startedAt: expect.any(Date) });
      expect(rig.registry.getRun('prefetched')?.status).toBe('queued');
      expect(rig.registry.getRun('waiting')?.status).toBe('queued');
      expect(['elsewhere', 'prefetched', 'waiting'].some((id) => rig.entry(id).done)).toBe(false);
    });
  });

  it('a read the store refuses (busy) changes nothing and is logged; the next poll reads again', async () => {
    await withRig(['done', 'waiting'], (rig) => {
      const c = claimFor(rig.other, 'elsewhere');
      expect(rig.other.completeSync(c.task.id, c.token)).toBe(true);
      // Another process held the lock past the busy timeout for this one read (a real lock cannot
      // keep a WAL reader out): the store's own method runs from the next call on.
      const read = rig.store.taskStatesSync.bind(rig.store);
      let refusals = 1;
      rig.store.taskStatesSync = (...args) => {
        if (refusals-- > 0) throw new StoreBusyError('taskStates');
        return read(...args);
      };
      poll(rig, ['done', 'waiting']);
      expect(rig.entry('done').done).toBe(false);
      expect(rig.registry.getRun('done')?.status).toBe('queued');
      expect(rig.lost).toEqual([]);
      expect(rig.logger.lines).toContainEqual(expect.objectContaining({ level: 'warn', message: 'could not read the runs from the queue' }));
      poll(rig, ['done', 'waiting']);
      expect(rig.entry('done').done).toBe(true);
      expect(rig.registry.getRun('done')).toMatchObject({ status: 'completed', exitCode: 0 });
    });
  });

  it('a lost store (file replaced) ends every run the poll follows, and none executing here', async () => {
    await withRig(['a', 'b', 'running-here'], (rig) => {
      rig.entry('running-here').local = true;
      const file = rig.store.options.path;
      fs.writeFileSync(`${file}.other`, 'not a database '.repeat(1000));
      fs.renameSync(`${file}.other`, file);
      expect(thrownBy(() => rig.store.verifyFileSync())).toBeInstanceOf(DatabaseReplacedError);
      poll(rig, ['a', 'b', 'running-here']);
      expect(rig.lost).toEqual(['a', 'b']);
    });
  });
});
