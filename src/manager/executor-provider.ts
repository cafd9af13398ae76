import type { Clock } from '../core/clock';
import { InvalidInputError } from '../core/errors';
import type { Logger } from '../core/logger';
import { MemoryRunExecutor } from './memory-executor';
import type { RunRegistry } from './run-registry';
import type { RunExecutor } from './types';

/** What the manager knows when it asks for a default executor; every field is optional. */
export interface ExecutorFactoryContext {
  /** The logger handed to the manager, if any. */
  logger?: Logger;
  /** The clock handed to the manager, if any. */
  clock?: Clock;
}

/**
 * Builds the executor of a `BackgroundTaskManager` constructed without one. The second argument is
 * additive: a factory written as `(registry) => executor` fits too.
 */
export type ExecutorFactory = (registry: RunRegistry, context: ExecutorFactoryContext) => RunExecutor;

const memoryFactory: ExecutorFactory = (registry, context) => new MemoryRunExecutor(registry, context);

let currentFactory: ExecutorFactory = memoryFactory;

/**
 * Installs the factory that `new BackgroundTaskManager(registry)` uses when no executor is passed.
 * This is the mode seam: `src/compat` installs a factory that reads the TASKBRIDGE_MODE flag, so the
 * legacy constructor honours the flag while `src/manager` never imports compat.
 */
export function setDefaultExecutorFactory(factory: ExecutorFactory): void {
  if (typeof factory !== 'function') {
    throw new InvalidInputError('factory', factory, 'a function (registry, context) => RunExecutor');
  }
  currentFactory = factory;
}

/** Restores the built-in default: the in-memory executor (legacy behaviour, `memory` mode). */
export function resetDefaultExecutorFactory(): void {
  currentFactory = memoryFactory;
}

/** Builds an executor with the currently installed factory. */
export function createDefaultExecutor(registry: RunRegistry, context: ExecutorFactoryContext = {}): RunExecutor {
  return currentFactory(registry, context);
}
