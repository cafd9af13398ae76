import v8 from 'node:v8';
import vm from 'node:vm';
import { createModeExecutor, flagExecutorFactory, loadConfig, RUN_QUEUE, shutdownModeExecutors } from '../../src/compat';
import { createLogger } from '../../src/core/logger';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { BackgroundTaskManager, RunRegistry, resetDefaultExecutorFactory, setDefaultExecutorFactory, type Run } from '../../src/manager';
import { tempDb } from './helpers';

// A full collection on demand: the only way to tell "unreachable" from "kept" without timing.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const run = (runId: string): Run => ({ runId, moduleId: 'm', moduleName: 'M', status: 'queued', createdAt: new Date(), parameters: { big: 'x'.repeat(1000) } });

/** Builds a manager as legacy code does, runs one run to the end, and hands back only weak references. */
async function shortLivedManager(): Promise<{ registry: WeakRef<RunRegistry>; manager: WeakRef<BackgroundTaskManager> }> {
  const registry = new RunRegistry();
  const manager = new BackgroundTaskManager(registry);
  manager.startTask(run('r1'), async () => undefined);
  await manager.waitAll();
  expect(registry.getRun('r1')?.status).toBe('completed');
  return { registry: new WeakRef(registry), manager: new WeakRef(manager) };
}

async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 5 && ref.deref() !== undefined; i++) {
    // Let pending callbacks (setImmediate drains) release what they hold, then collect.
    await new Promise((r) => setImmediate(r));
    gc();
  }
  return ref.deref() === undefined;
}

describe('memory mode: managers the application drops', () => {
  afterEach(async () => {
    resetDefaultExecutorFactory();
    await shutdownModeExecutors();
  });

  it('a manager built with new BackgroundTaskManager(registry) and then dropped is garbage, with its registry and runs', async () => {
    const db = tempDb();
    try {
      // The flag as an application leaves it after a rollback: memory mode, the queue file's path.
      setDefaultExecutorFactory(flagExecutorFactory({ TASKBRIDGE_MODE: 'memory', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_LOG_LEVEL: 'silent' }));
      const refs = await shortLivedManager();
      expect(await collected(refs.manager)).toBe(true);
      expect(await collected(refs.registry)).toBe(true);
    } finally {
      db.remove();
    }
  });

  it('a memory-mode manager that registered a handler (it opened the queue file) is still closed by shutdownModeExecutors', async () => {
    const db = tempDb();
    try {
      // A queue file with one waiting run of module m, as a sqlite-mode process leaves it.
      const queue = createSqliteTaskStore({ path: db.dbPath, logger: createLogger('silent') });
      queue.enqueueSync({ type: 'm', queue: RUN_QUEUE, idempotencyKey: 'waiting', payload: { parameters: {}, run: { moduleName: 'M', createdAt: new Date().toISOString() } } });
      await queue.close();
      const registry = new RunRegistry();
      const executor = createModeExecutor(loadConfig({ TASKBRIDGE_MODE: 'memory', TASKBRIDGE_DB_PATH: db.dbPath }, {}), registry, { logger: createLogger('silent') });
      const manager = new BackgroundTaskManager(registry, { executor });
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      // Taking over opens the file: from then on shutdown must wait for the run and close the file.
      manager.registerHandler('m', () => held);
      expect(manager.getActiveTaskIds()).toEqual(['waiting']);
      let closed = false;
      const shutdown = shutdownModeExecutors().then(() => (closed = true));
      await new Promise((r) => setImmediate(r));
      expect(closed).toBe(false);
      release();
      await shutdown;
      expect(registry.getRun('waiting')?.status).toBe('completed');
    } finally {
      db.remove();
    }
  });
});
