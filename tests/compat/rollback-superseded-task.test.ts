import { closeModeExecutor, createModeExecutor, loadConfig, RUN_QUEUE } from '../../src/compat';
import { runRequest } from '../../src/compat/run-payload';
import { createLogger } from '../../src/core/logger';
import { BackgroundTaskManager, RunRegistry, type Run } from '../../src/manager';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { tempDb } from './helpers';

const logger = createLogger('silent');
const policy = { maxAttempts: 3, retryFailures: false, backoff: undefined };

describe('rollback takeover of a run id with two unfinished tasks', () => {
  // A sqlite-mode process started 'nightly' again while its previous task was still unfinished
  // (a restart re-issuing its jobs, a failOrphan refused while the old lease held): the newer task
  // is the run, under a suffixed key, its payload naming the run id. Then it died.
  it('takes over the newer task only, once, and ends the older one as superseded', async () => {
    const db = tempDb();
    const store = createSqliteTaskStore({ path: db.dbPath, logger });
    try {
      const run = (n: number): Run => ({ runId: 'nightly', moduleId: 'm', moduleName: 'Nightly', status: 'queued', createdAt: new Date(), parameters: { n } });
      const older = store.enqueueSync(runRequest(run(1), 'gone', policy, false)).task;
      const newer = store.enqueueSync(runRequest(run(2), 'gone', policy, false, 'nightly#gone-1')).task;

      const registry = new RunRegistry();
      const executor = createModeExecutor(loadConfig({ TASKBRIDGE_MODE: 'memory', TASKBRIDGE_DB_PATH: db.dbPath }, {}), registry, { logger });
      const manager = new BackgroundTaskManager(registry, { executor, logger });
      const seen: unknown[] = [];
      try {
        manager.registerHandler('m', async (r) => {
          seen.push(r.parameters);
        });
        await manager.waitAll();
        // A second look (as the one every lease period) finds nothing left to run.
        manager.registerHandler('m', async (r) => {
          seen.push(r.parameters);
        });
        await manager.waitAll();
      } finally {
        await closeModeExecutor(executor);
      }
      expect(seen).toEqual([{ n: 2 }]);
      expect(registry.getRun('nightly')).toMatchObject({ status: 'completed', parameters: { n: 2 } });
      expect(store.getSync(newer.id)?.status).toBe('completed');
      expect(store.getSync(older.id)).toMatchObject({ status: 'failed', lastError: expect.stringContaining(`superseded by task ${newer.id}`) });
      expect(store.getSync(older.id)?.queue).toBe(RUN_QUEUE);
    } finally {
      await store.close();
      db.remove();
    }
  });
});
