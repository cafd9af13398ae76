import { closeModeExecutor, createModeExecutor, loadConfig, planRollback, RUN_QUEUE, type ModeExecutor } from '../../src/compat';
import { ManualClock, SystemClock, type Clock } from '../../src/core/clock';
import { createLogger } from '../../src/core/logger';
import { BackgroundTaskManager, RunRegistry, type Run } from '../../src/manager';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { statusReached, tempDb, until, type TempDb } from './helpers';

const logger = createLogger('silent');
const run = (runId: string): Run => ({ runId, moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: new Date(), parameters: { n: 1 } });

/** A sqlite-mode manager on `db`, as one application process builds it. */
function sqliteManager(db: TempDb, env: Record<string, string> = {}, clock: Clock = new SystemClock()): { executor: ModeExecutor; registry: RunRegistry; manager: BackgroundTaskManager } {
  const registry = new RunRegistry();
  const config = loadConfig({ TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_POLL_INTERVAL: '20ms', ...env }, {});
  const executor = createModeExecutor(config, registry, { clock, logger });
  return { executor, registry, manager: new BackgroundTaskManager(registry, { executor, clock, logger }) };
}

/** Work that ends when its run is cancelled. */
const untilAborted = (ctx: { signal: AbortSignal }): Promise<void> => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve()));

describe('sqlite mode: a run id started again while its previous task is still settling', () => {
  it('cancelled and started again twice within one millisecond, the last start runs its work', async () => {
    const db = tempDb();
    // The clock does not move: every start below happens at the same millisecond, as in a quick double "restart".
    const { executor, registry, manager } = sqliteManager(db, {}, new ManualClock(Date.now()));
    try {
      const running = statusReached(registry, 'r', 'running');
      manager.startTask(run('r'), untilAborted);
      await running;
      // The running first task is still stopping while the run id is started and cancelled again.
      const firstCancel = manager.cancelTask('r');
      manager.startTask(run('r'), async () => {
        throw new Error('the second start was cancelled before it began: its work must never run');
      });
      const secondCancel = manager.cancelTask('r');
      let ran = false;
      manager.startTask(run('r'), async () => {
        ran = true;
      });
      expect(await firstCancel).toBe(true);
      expect(await secondCancel).toBe(true);
      await manager.waitAll();
      expect(ran).toBe(true);
      expect(registry.getRun('r')).toMatchObject({ status: 'completed', exitCode: 0 });
    } finally {
      await closeModeExecutor(executor);
      db.remove();
    }
  });

  /**
   * Process A runs 'r', whose work ignores its signal until released; the user cancels 'r' and starts
   * it again while the first task is still running, then a deploy stops A before the new run began.
   */
  async function restartedThenStopped(db: TempDb, other: ReturnType<typeof createSqliteTaskStore>): Promise<void> {
    const a = sqliteManager(db);
    a.manager.registerHandler('m', async () => {
      throw new Error("process A's handler must not run: A only has runs with closures");
    });
    let releaseFirst!: () => void;
    const running = statusReached(a.registry, 'r', 'running');
    a.manager.startTask(run('r'), () => new Promise<void>((r) => (releaseFirst = r)));
    await running;
    const cancelled = a.manager.cancelTask('r');
    let secondRan = false;
    a.manager.startTask(run('r'), async () => {
      secondRan = true;
    });
    const closing = closeModeExecutor(a.executor);
    releaseFirst();
    expect(await cancelled).toBe(true);
    await closing;
    expect(secondRan).toBe(false);
    const rows = other.listSync({ queue: RUN_QUEUE, type: 'm' }).map((t) => t.status).sort();
    expect(rows).toEqual(['cancelled', 'queued']);
  }

  it('a run started again and left queued at shutdown is taken over by the next process under its own run id', async () => {
    const db = tempDb();
    const other = createSqliteTaskStore({ path: db.dbPath, logger });
    try {
      await restartedThenStopped(db, other);
      // Process B, the next release, registers the module's handler and takes the run over.
      const b = sqliteManager(db);
      try {
        const seen: string[] = [];
        b.manager.registerHandler('m', async (r) => {
          seen.push(r.runId);
        });
        expect(b.manager.getActiveTaskIds()).toEqual(['r']);
        await b.manager.waitAll();
        expect(seen).toEqual(['r']);
        expect(b.registry.getRecentRuns().map((r) => [r.runId, r.status])).toEqual([['r', 'completed']]);
      } finally {
        await closeModeExecutor(b.executor);
      }
    } finally {
      await other.close();
      db.remove();
    }
  });

  it('the rollback report and a rollback take such a run over under its run id', async () => {
    const db = tempDb();
    const other = createSqliteTaskStore({ path: db.dbPath, logger });
    try {
      await restartedThenStopped(db, other);
      expect(planRollback(db.dbPath, { handledModules: ['m'] }).takeOver).toEqual(['r']);
      const registry = new RunRegistry();
      const executor = createModeExecutor(loadConfig({ TASKBRIDGE_MODE: 'memory', TASKBRIDGE_DB_PATH: db.dbPath }, {}), registry, { logger });
      try {
        const manager = new BackgroundTaskManager(registry, { executor, logger });
        const seen: string[] = [];
        manager.registerHandler('m', async (r) => {
          seen.push(r.runId);
        });
        expect(manager.getActiveTaskIds()).toEqual(['r']);
        await manager.waitAll();
        expect(seen).toEqual(['r']);
        expect(registry.getRecentRuns().map((r) => [r.runId, r.status])).toEqual([['r', 'completed']]);
      } finally {
        await closeModeExecutor(executor);
      }
    } finally {
      await other.close();
      db.remove();
    }
  });

  it('another process that shares the run claims its new task: it runs it as the same run, and the old task does not overwrite it', async () => {
    const db = tempDb();
    const other = createSqliteTaskStore({ path: db.dbPath, logger });
    // Two replicas of one application on one file; both start the same run id (a schedule both keep).
    const p = sqliteManager(db);
    const q = sqliteManager(db, { TASKBRIDGE_CONCURRENCY: '1' });
    try {
      // Q's capacity (one running, one claimed ahead) is taken by runs only Q can run (no handler): P claims the rest.
      let releaseQ!: () => void;
      const qHeld = new Promise<void>((r) => (releaseQ = r));
      q.manager.startTask({ ...run('q1'), moduleId: 'q-only' }, () => qHeld);
      q.manager.startTask({ ...run('q2'), moduleId: 'q-only' }, () => qHeld);
      await until(() => other.listSync({ queue: RUN_QUEUE, type: 'q-only', status: 'running' }).length === 2, "Q's two runs to be claimed");
      const handled: string[] = [];
      p.manager.registerHandler('m', async (r) => {
        handled.push(r.runId);
      });
      q.manager.registerHandler('m', async (r) => {
        handled.push(`q:${r.runId}`);
      });
      let failFirst!: () => void;
      const pRunning = statusReached(p.registry, 'r', 'running');
      p.manager.startTask(run('r'), () => new Promise<void>((_, reject) => (failFirst = () => reject(new Error('the first run, cancelled from Q, ends')))));
      q.manager.startTask(run('r'), async () => {
        throw new Error("Q's closure of the first run: P claimed the task, so it never runs");
      });
      await pRunning;
      // Q's user cancels the shared run and starts it again while P still runs the first task.
      const cancelled = q.manager.cancelTask('r');
      let secondInQ = false;
      q.manager.startTask(run('r'), async () => {
        secondInQ = true;
      });
      // P claims the new task (Q has no free slot) and runs it with its handler, as run 'r'.
      await until(() => handled.length > 0, "P's handler to run the new task");
      expect(handled).toEqual(['r']);
      await until(() => p.registry.getRun('r')?.status === 'completed', 'P to record the new run completed');
      // The first task's work ends now, in P, long after the run was started again: its failure is history.
      failFirst();
      releaseQ();
      expect(await cancelled).toBe(true);
      await q.manager.waitAll();
      await p.manager.waitAll();
      expect(secondInQ).toBe(false);
      expect(p.registry.getRecentRuns().map((r) => [r.runId, r.status])).toEqual([['r', 'completed']]);
      expect(q.registry.getRun('r')?.status).toBe('completed');
    } finally {
      await closeModeExecutor(q.executor);
      await closeModeExecutor(p.executor);
      await other.close();
      db.remove();
    }
  });
});
