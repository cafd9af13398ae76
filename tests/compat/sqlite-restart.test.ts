import type { ModeExecutor } from '../../src/compat';
import type { Run } from '../../src/manager';
import { statusReached, until, withModeManager, type ModeManager } from './helpers';

const run = (runId: string): Run => ({ runId, moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: new Date(), parameters: {} });

/** Runs `body` with a sqlite-mode manager on a temp database, polling every 20 ms. */
function withSqliteManager(body: (m: ModeManager) => Promise<void>): Promise<void> {
  return withModeManager({ TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_POLL_INTERVAL: '20ms' }, body);
}

/** The members of the sqlite executor's queue store these tests reach into. */
interface QueueStore {
  cancelSync(id: number): string;
  listSync(filter: object): { status: string }[];
}

function queueStore(executor: ModeExecutor): QueueStore {
  return (executor as unknown as { o: { store: QueueStore } }).o.store;
}

/** Makes the queue store's cancel write fail as a full or locked database fails it (`refuse`), or work again (`allow`). */
function cancelWrites(executor: ModeExecutor): { refuse(message: string, code: string): void; allow(): void } {
  const store = queueStore(executor);
  const realCancel = store.cancelSync.bind(store);
  return {
    refuse: (message, code) => {
      store.cancelSync = () => {
        throw Object.assign(new Error(message), { code });
      };
    },
    allow: () => {
      store.cancelSync = realCancel;
    },
  };
}

/** Lets the executor serve: its worker claims what the queue still holds as queued; waits until no task of module m is queued or running. */
async function serveUntilSettled(executor: ModeExecutor, label: string): Promise<void> {
  (executor as unknown as { serve(): void }).serve();
  const store = queueStore(executor);
  await until(() => store.listSync({ type: 'm' }).every((t) => t.status !== 'queued' && t.status !== 'running'), label);
}

describe('sqlite mode: a run id started again right after it settled', () => {
  it('runs the new work when the run id is restarted as soon as the registry shows it completed', async () => {
    await withSqliteManager(async ({ registry, manager }) => {
      const done = statusReached(registry, 'r1', 'completed');
      manager.startTask(run('r1'), async () => 'first');
      await done;
      let secondRan = false;
      manager.startTask(run('r1'), async () => {
        secondRan = true;
      });
      await manager.waitAll();
      expect(secondRan).toBe(true);
      expect(registry.getRun('r1')?.status).toBe('completed');
    });
  });

  it('runs the new work when the run id is restarted as soon as cancelTask of the running run resolved', async () => {
    await withSqliteManager(async ({ registry, manager }) => {
      const running = statusReached(registry, 'r2', 'running');
      manager.startTask(run('r2'), (ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(undefined))));
      await running;
      expect(await manager.cancelTask('r2')).toBe(true);
      let secondRan = false;
      manager.startTask(run('r2'), async () => {
        secondRan = true;
      });
      await manager.waitAll();
      expect(secondRan).toBe(true);
      expect(registry.getRun('r2')?.status).toBe('completed');
    });
  });
});

describe('sqlite mode: a cancellation the queue could not record', () => {
  it('a run cancelled before it began never runs and stays cancelled, even when the store refused the cancel write', async () => {
    await withSqliteManager(async ({ registry, executor, manager }) => {
      let handlerRan = false;
      manager.registerHandler('m', async () => {
        handlerRan = true;
      });
      const cancels = cancelWrites(executor);
      cancels.refuse('database or disk is full', 'SQLITE_FULL');
      let workRan = false;
      manager.startTask(run('c1'), async () => {
        workRan = true;
      });
      expect(await manager.cancelTask('c1')).toBe(true);
      cancels.allow();
      await manager.waitAll();
      await serveUntilSettled(executor, 'the task to leave the queue');
      expect(workRan).toBe(false);
      expect(handlerRan).toBe(false);
      expect(registry.getRun('c1')?.status).toBe('cancelled');
    });
  });

  it('the run id started again after such a cancellation runs its new work', async () => {
    await withSqliteManager(async ({ registry, executor, manager }) => {
      const cancels = cancelWrites(executor);
      cancels.refuse('database is locked', 'SQLITE_BUSY');
      let first = false;
      manager.startTask(run('c2'), async () => {
        first = true;
      });
      expect(await manager.cancelTask('c2')).toBe(true);
      cancels.allow();
      let second = false;
      manager.startTask(run('c2'), async () => {
        second = true;
      });
      await manager.waitAll();
      expect(first).toBe(false);
      expect(second).toBe(true);
      expect(registry.getRun('c2')?.status).toBe('completed');
    });
  });
  it('recovery leaves alone a restarted run whose second cancellation the store also refused', async () => {
    await withSqliteManager(async ({ registry, executor, manager }) => {
      let handlerRan = false;
      const handler = async () => {
        handlerRan = true;
      };
      manager.registerHandler('m', handler);
      const cancels = cancelWrites(executor);
      let workRan = false;
      const work = async () => {
        workRan = true;
      };
      cancels.refuse('database is locked', 'SQLITE_BUSY');
      manager.startTask(run('c3'), work);
      expect(await manager.cancelTask('c3')).toBe(true);
      // Started again: the first task is cancelled now and the run gets a fresh task (a suffixed key)...
      cancels.allow();
      manager.startTask(run('c3'), work);
      // ...whose cancellation the store refuses too, so it is still queued when recovery looks.
      cancels.refuse('database is locked', 'SQLITE_BUSY');
      expect(await manager.cancelTask('c3')).toBe(true);
      cancels.allow();
      manager.registerHandler('m', handler);
      await serveUntilSettled(executor, 'the tasks to leave the queue');
      expect(workRan).toBe(false);
      expect(handlerRan).toBe(false);
      expect(registry.getRecentRuns().map((r) => [r.runId, r.status])).toEqual([['c3', 'cancelled']]);
    });
  });
});
