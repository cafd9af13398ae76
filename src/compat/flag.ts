import { setDefaultExecutorFactory, type ExecutorFactory } from '../manager/executor-provider';
import { loadConfig, type ConfigInput } from './config';
import { createModeExecutor } from './mode-executor';

/**
 * The executor factory that honours the flag: each `new BackgroundTaskManager(registry)` reads
 * TASKBRIDGE_* from the environment (and `overrides`) at construction and gets the executor of that
 * mode. A wrong value throws ConfigError from the constructor, so a misconfigured process stops at
 * start-up instead of running in an unintended mode.
 */
export function flagExecutorFactory(overrides: ConfigInput = {}): ExecutorFactory {
  return (registry, context) =>
    createModeExecutor(loadConfig(overrides, process.env), registry, { clock: context?.clock, logger: context?.logger });
}

/**
 * Installs {@link flagExecutorFactory} as the default of `new BackgroundTaskManager(registry)`.
 * The package root calls it on import, so legacy code honours the flag without changes.
 */
export function installFlagExecutorFactory(overrides: ConfigInput = {}): void {
  setDefaultExecutorFactory(flagExecutorFactory(overrides));
}
