import { createModeExecutor, closeModeExecutor, loadConfig, type ModeExecutor } from '../../src/compat';
import { openRunStore } from '../../src/compat/mode-executor';
import { SystemClock } from '../../src/core/clock';
import { createLogger } from '../../src/core/logger';
import { BackgroundTaskManager, RunRegistry, type Run } from '../../src/manager';
import type { SqliteTaskStore } from '../../src/queue/sqlite/store';
import { tempDb, type TempDb } from './helpers';

/** A legacy run record of module `moduleId`. */
export const reviewRun = (runId: string, moduleId = 'm'): Run => ({ runId, moduleId, moduleName: moduleId, status: 'queued', createdAt: new Date(), parameters: {} });

/** A sqlite-mode manager whose queue store the test holds (to watch or wrap its calls). */
export interface StoreManager {
  readonly registry: RunRegistry;
  readonly manager: BackgroundTaskManager;
  readonly executor: ModeExecutor;
  readonly store: SqliteTaskStore;
}

/**
 * Runs `body` with a sqlite-mode manager on `db` (fresh by default); `prepare` may wrap the store's
 * methods before the executor uses them. Closes the executor, and removes the folder when it made it.
 */
export async function withStoreManager(
  env: Record<string, string>,
  body: (m: StoreManager) => Promise<void>,
  options: { db?: TempDb; prepare?: (store: SqliteTaskStore) => void } = {},
): Promise<void> {
  const db = options.db ?? tempDb();
  const logger = createLogger('silent');
  const config = loadConfig({ TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_POLL_INTERVAL: '20ms', ...env, TASKBRIDGE_DB_PATH: db.dbPath }, {});
  const store = openRunStore(config, { clock: new SystemClock(), logger });
  options.prepare?.(store);
  const registry = new RunRegistry();
  const executor = createModeExecutor(config, registry, { logger, createStore: () => store });
  try {
    await body({ registry, executor, store, manager: new BackgroundTaskManager(registry, { executor, logger }) });
  } finally {
    await closeModeExecutor(executor);
    if (options.db === undefined) db.remove();
  }
}
