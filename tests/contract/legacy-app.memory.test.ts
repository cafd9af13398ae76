import { createLogger } from '../../src/core/logger';
import { BackgroundTaskManager, RunRegistry, resetDefaultExecutorFactory } from '../../src/manager';
import { runLegacyAppSuite } from './legacy-app.suite';

// memory mode is the built-in default: the legacy constructor, no executor passed, no flag read.
runLegacyAppSuite('memory', async () => {
  resetDefaultExecutorFactory();
  const registry = new RunRegistry();
  const manager = new BackgroundTaskManager(registry, { logger: createLogger('silent') });
  return { manager, registry, teardown: async () => undefined };
});
