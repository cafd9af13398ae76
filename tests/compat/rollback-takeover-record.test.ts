import { closeModeExecutor, createModeExecutor, loadConfig, RUN_QUEUE } from '../../src/compat';
import { createLogger } from '../../src/core/logger';
import { BackgroundTaskManager, RunRegistry, type Run } from '../../src/manager';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { tempDb } from './helpers';

const logger = createLogger('silent');

describe('rollback takeover of a run id the registry already holds', () => {
  it("the taken-over run's record starts clean: no error, progress or exit code of the earlier run, the file's parameters", async () => {
    const db = tempDb();
    try {
      // The queue file holds 'nightly' unfinished (its sqlite-mode process died), with its own parameters.
      const store = createSqliteTaskStore({ path: db.dbPath, logger });
      store.enqueueSync({ type: 'm', queue: RUN_QUEUE, idempotencyKey: 'nightly', payload: { parameters: { day: 'from-file' }, run: { moduleName: 'Nightly', createdAt: new Date().toISOString() } } });
      await store.close();

      const registry = new RunRegistry();
      const executor = createModeExecutor(loadConfig({ TASKBRIDGE_MODE: 'memory', TASKBRIDGE_DB_PATH: db.dbPath }, {}), registry, { logger });
      const manager = new BackgroundTaskManager(registry, { executor, logger });
      try {
        // This process already ran 'nightly' in memory, and it failed halfway.
        const earlier: Run = { runId: 'nightly', moduleId: 'm', moduleName: 'Nightly', status: 'queued', createdAt: new Date(), parameters: { day: 'in-memory' } };
        manager.startTask(earlier, async (ctx) => {
          ctx.reportProgress({ percent: 50, itemsProcessed: 5, itemsTotal: 10 });
          throw new Error('the earlier run broke');
        });
        await manager.waitAll();
        expect(registry.getRun('nightly')).toMatchObject({ status: 'failed', errorMessage: 'the earlier run broke', progressPercent: 50 });

        // The handler is registered late (on first use of the module): it takes the file's run over.
        const seen: unknown[] = [];
        manager.registerHandler('m', async (r) => {
          seen.push(r.parameters);
        });
        expect(registry.getRun('nightly')).toMatchObject({ status: 'queued', parameters: { day: 'from-file' } });
        expect(registry.getRun('nightly')?.errorMessage).toBeUndefined();
        await manager.waitAll();
        expect(seen).toEqual([{ day: 'from-file' }]);
        const done = registry.getRun('nightly')!;
        expect(done).toMatchObject({ status: 'completed', exitCode: 0 });
        expect([done.errorMessage, done.progressPercent, done.itemsProcessed, done.itemsTotal]).toEqual([undefined, undefined, undefined, undefined]);
      } finally {
        await closeModeExecutor(executor);
      }
    } finally {
      db.remove();
    }
  });
});
