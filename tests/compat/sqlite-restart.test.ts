import { closeModeExecutor, createModeExecutor, loadConfig } from '../../src/compat';
import { createLogger } from '../../src/core/logger';
import { BackgroundTaskManager, RunRegistry, type Run } from '../../src/manager';
import { tempDb, until } from './helpers';

const run = (runId: string): Run => ({ runId, moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: new Date(), parameters: {} });

function sqliteManager(dbPath: string) {
  const registry = new RunRegistry();
  const config = loadConfig({ TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: dbPath, TASKBRIDGE_POLL_INTERVAL: '20ms' }, {});
  const executor = createModeExecutor(config, registry, { logger: createLogger('silent') });
  const manager = new BackgroundTaskManager(registry, { executor, logger: createLogger('silent') });
  return { registry, executor, manager };
}

function statusReached(registry: RunRegistry, runId: string, status: Run['status']): Promise<void> {
  return new Promise((resolve) => {
    const off = registry.subscribe((r) => {
      if (r.runId === runId && r.status === status) {
        off();
        resolve();
      }
    });
  });
}

describe('sqlite mode: a run id started again right after it settled', () => {
  it('runs the new work when the run id is restarted as soon as the registry shows it completed', async () => {
    const db = tempDb();
    const { registry, executor, manager } = sqliteManager(db.dbPath);
    try {
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
    } finally {
      await closeModeExecutor(executor);
      db.remove();
    }
  });

  it('runs the new work when the run id is restarted as soon as cancelTask of the running run resolved', async () => {
    const db = tempDb();
    const { registry, executor, manager } = sqliteManager(db.dbPath);
    try {
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
    } finally {
      await closeModeExecutor(executor);
      db.remove();
    }
  });
});

describe('sqlite mode: a cancellation the queue could not record', () => {
  it('a run cancelled before it began never runs and stays cancelled, even when the store refused the cancel write', async () => {
    const db = tempDb();
    const { registry, executor, manager } = sqliteManager(db.dbPath);
    try {
      let handlerRan = false;
      manager.registerHandler('m', async () => {
        handlerRan = true;
      });
      const store = (executor as unknown as { o: { store: { cancelSync(id: number): string } } }).o.store;
      const realCancel = store.cancelSync.bind(store);
      store.cancelSync = () => {
        throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      };
      let workRan = false;
      manager.startTask(run('c1'), async () => {
        workRan = true;
      });
      expect(await manager.cancelTask('c1')).toBe(true);
      store.cancelSync = realCancel;
      await manager.waitAll();
      // A serving worker claims what the queue still holds as queued; wait until the task is done with.
      (executor as unknown as { serve(): void }).serve();
      const queued = (store as unknown as { listSync(f: object): { status: string }[] });
      await until(() => queued.listSync({ type: 'm' }).every((t) => t.status !== 'queued' && t.status !== 'running'), 'the task to leave the queue');
      expect(workRan).toBe(false);
      expect(handlerRan).toBe(false);
      expect(registry.getRun('c1')?.status).toBe('cancelled');
    } finally {
      await closeModeExecutor(executor);
      db.remove();
    }
  });

  it('the run id started again after such a cancellation runs its new work', async () => {
    const db = tempDb();
    const { registry, executor, manager } = sqliteManager(db.dbPath);
    try {
      const store = (executor as unknown as { o: { store: { cancelSync(id: number): string } } }).o.store;
      const realCancel = store.cancelSync.bind(store);
      store.cancelSync = () => {
        throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      };
      let first = false;
      manager.startTask(run('c2'), async () => {
        first = true;
      });
      expect(await manager.cancelTask('c2')).toBe(true);
      store.cancelSync = realCancel;
      let second = false;
      manager.startTask(run('c2'), async () => {
        second = true;
      });
      await manager.waitAll();
      expect(first).toBe(false);
      expect(second).toBe(true);
      expect(registry.getRun('c2')?.status).toBe('completed');
    } finally {
      await closeModeExecutor(executor);
      db.remove();
    }
  });
  it('recovery leaves alone a restarted run whose second cancellation the store also refused', async () => {
    const db = tempDb();
    const { registry, executor, manager } = sqliteManager(db.dbPath);
    try {
      let handlerRan = false;
      const handler = async () => {
        handlerRan = true;
      };
      manager.registerHandler('m', handler);
      const store = (executor as unknown as { o: { store: { cancelSync(id: number): string } } }).o.store;
      const realCancel = store.cancelSync.bind(store);
      const refuse = () => {
        throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      };
      let workRan = false;
      const work = async () => {
        workRan = true;
      };
      store.cancelSync = refuse;
      manager.startTask(run('c3'), work);
      expect(await manager.cancelTask('c3')).toBe(true);
      // Started again: the first task is cancelled now and the run gets a fresh task (a suffixed key)...
      store.cancelSync = realCancel;
      manager.startTask(run('c3'), work);
      // ...whose cancellation the store refuses too, so it is still queued when recovery looks.
      store.cancelSync = refuse;
      expect(await manager.cancelTask('c3')).toBe(true);
      store.cancelSync = realCancel;
      manager.registerHandler('m', handler);
      (executor as unknown as { serve(): void }).serve();
      const queued = store as unknown as { listSync(f: object): { status: string }[] };
      await until(() => queued.listSync({ type: 'm' }).every((t) => t.status !== 'queued' && t.status !== 'running'), 'the tasks to leave the queue');
      expect(workRan).toBe(false);
      expect(handlerRan).toBe(false);
      expect(registry.getRecentRuns().map((r) => [r.runId, r.status])).toEqual([['c3', 'cancelled']]);
    } finally {
      await closeModeExecutor(executor);
      db.remove();
    }
  });
});
