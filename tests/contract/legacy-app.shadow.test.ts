import { createLogger } from '../../src/core/logger';
import { closeModeExecutor, loadConfig, createModeExecutor } from '../../src/compat';
import { BackgroundTaskManager, RunRegistry } from '../../src/manager';
import { tempDb } from '../compat/helpers';
import { runLegacyAppSuite } from './legacy-app.suite';

// shadow mode: the same suite, only the flag differs (a temp database per test).
runLegacyAppSuite('shadow', async () => {
  const db = tempDb();
  const registry = new RunRegistry();
  const config = loadConfig({ TASKBRIDGE_MODE: 'shadow', TASKBRIDGE_DB_PATH: db.dbPath }, {});
  const executor = createModeExecutor(config, registry, { logger: createLogger('silent') });
  const manager = new BackgroundTaskManager(registry, { executor, logger: createLogger('silent') });
  return {
    manager,
    registry,
    teardown: async () => {
      await closeModeExecutor(executor);
      db.remove();
    },
  };
});
