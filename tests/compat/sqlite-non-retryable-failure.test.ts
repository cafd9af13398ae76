import { closeModeExecutor, createModeExecutor, loadConfig } from '../../src/compat';
import { createLogger } from '../../src/core/logger';
import { BackgroundTaskManager, RunRegistry, type Run } from '../../src/manager';
import { tempDb } from './helpers';

const silent = createLogger('silent');
const run = (runId: string): Run => ({ runId, moduleId: 'sync', moduleName: 'Sync', status: 'queued', createdAt: new Date(), parameters: {} });

describe('sqlite mode, retryFailures: a failure the error itself says is not retryable', () => {
  it('is final at once, as the queue records it: the registry never shows the run queued for a retry that will not come', async () => {
    const db = tempDb();
    const registry = new RunRegistry();
    const config = loadConfig({ TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_POLL_INTERVAL: '20ms' }, {});
    const executor = createModeExecutor(config, registry, { logger: silent });
    const manager = new BackgroundTaskManager(registry, { executor, logger: silent });
    try {
      manager.registerHandler('sync', async () => undefined, { maxAttempts: 3, retryFailures: true, backoff: { base: '10ms', jitter: 0 } });
      const states: string[] = [];
      registry.subscribe((r) => {
        if (r.runId === 'r1') states.push(r.errorMessage === undefined ? r.status : `${r.status}: ${r.errorMessage}`);
      });
      let calls = 0;
      manager.startTask(run('r1'), async () => {
        calls += 1;
        // Client libraries mark such errors (the AWS SDK's `retryable: false`, a TaskbridgeError's own flag).
        throw Object.assign(new Error('AccessDenied: the credentials were refused'), { retryable: false });
      });
      await manager.waitAll();
      expect(calls).toBe(1);
      expect(states).toEqual(['queued', 'running', 'failed: AccessDenied: the credentials were refused']);
    } finally {
      await closeModeExecutor(executor);
      db.remove();
    }
  });
});
