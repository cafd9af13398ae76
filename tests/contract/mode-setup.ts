import { closeModeExecutor, createModeExecutor, loadConfig, type ConfigInput } from '../../src/compat';
import { createLogger } from '../../src/core/logger';
import { BackgroundTaskManager, RunRegistry } from '../../src/manager';
import { tempDb } from '../compat/helpers';

/**
 * A legacy-app fixture in one mode: a manager built exactly as the flag would build it, on a temp
 * database of its own, torn down (executor closed, files removed) after the test.
 */
export function modeSetup(mode: 'shadow' | 'sqlite', extra: ConfigInput = {}) {
  return async () => {
    const db = tempDb();
    const registry = new RunRegistry();
    const config = loadConfig({ TASKBRIDGE_MODE: mode, TASKBRIDGE_DB_PATH: db.dbPath, ...extra }, {});
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
  };
}
