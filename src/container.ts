import 'reflect-metadata';
import { Container } from 'inversify';
import { SystemClock, type Clock } from './core/clock';
import { createLogger, type Logger } from './core/logger';
import { MathRandom } from './core/random';
import { TYPES } from './core/tokens';
import { loadConfig, type ConfigInput, type TaskbridgeConfig } from './compat/config';
import { closeModeExecutor, createModeExecutor, openRunStore } from './compat/mode-executor';
import { BackgroundTaskManager } from './manager/background-task-manager';
import { RunRegistry } from './manager/run-registry';
import { HandlerRegistry } from './queue/handler-registry';
import type { SqliteTaskStore } from './queue/sqlite/store';
import { StrategyFactory } from './strategies';
import type { Strategy } from './strategies/types';

/** What {@link shutdown} must release, per container. */
const closers = new WeakMap<Container, Array<() => Promise<void>>>();

function onShutdown(container: Container, closer: () => Promise<void>): void {
  closers.get(container)?.push(closer);
}

/** Builds a TaskStore on the configured file with the container's clock and logger. */
export type TaskStoreFactory = () => SqliteTaskStore;

/**
 * Builds the inversify container with every service behind its TYPES token. Values are built by
 * factories (`toDynamicValue`), so no class needs decorators; every service is a singleton that
 * is only built when first resolved (memory mode never opens a database file).
 *
 * Resolving `TYPES.BackgroundTaskManager` gives a manager whose executor follows the flag: the
 * `config` object, then the environment (same keys, the object wins). Tests may rebind
 * `TYPES.Clock` (or Logger, Random) before the first resolve.
 * @throws ConfigError at once for an unknown key or value
 */
export function createContainer(config: ConfigInput = {}): Container {
  const resolved = loadConfig(config, process.env);
  const container = new Container();
  closers.set(container, []);

  container.bind<TaskbridgeConfig>(TYPES.Config).toConstantValue(resolved);
  container.bind<Clock>(TYPES.Clock).toDynamicValue(() => new SystemClock()).inSingletonScope();
  container.bind<Logger>(TYPES.Logger).toDynamicValue(() => createLogger(resolved.logLevel)).inSingletonScope();
  container.bind(TYPES.Random).toDynamicValue(() => new MathRandom()).inSingletonScope();
  container.bind(TYPES.StrategyFactory).toDynamicValue(() => new StrategyFactory()).inSingletonScope();
  container
    .bind<Strategy>(TYPES.Strategy)
    .toDynamicValue((ctx) => ctx.get<StrategyFactory>(TYPES.StrategyFactory).create(resolved.strategy))
    .inSingletonScope();
  container.bind(TYPES.HandlerRegistry).toDynamicValue(() => new HandlerRegistry()).inSingletonScope();

  container.bind<TaskStoreFactory>(TYPES.TaskStoreFactory).toDynamicValue((ctx) => () =>
    openRunStore(resolved, { clock: ctx.get<Clock>(TYPES.Clock), logger: ctx.get<Logger>(TYPES.Logger), random: ctx.get(TYPES.Random) }),
  ).inSingletonScope();
  container
    .bind<SqliteTaskStore>(TYPES.TaskStore)
    .toDynamicValue((ctx) => {
      const store = ctx.get<TaskStoreFactory>(TYPES.TaskStoreFactory)();
      onShutdown(container, () => store.close());
      return store;
    })
    .inSingletonScope();

  container
    .bind<RunRegistry>(TYPES.RunRegistry)
    .toDynamicValue((ctx) => new RunRegistry({ clock: ctx.get<Clock>(TYPES.Clock), logger: ctx.get<Logger>(TYPES.Logger) }))
    .inSingletonScope();
  container
    .bind<BackgroundTaskManager>(TYPES.BackgroundTaskManager)
    .toDynamicValue((ctx) => {
      const registry = ctx.get<RunRegistry>(TYPES.RunRegistry);
      const clock = ctx.get<Clock>(TYPES.Clock);
      const logger = ctx.get<Logger>(TYPES.Logger);
      const executor = createModeExecutor(resolved, registry, {
        clock,
        logger,
        // A factory, not a store: only sqlite mode calls it, so memory mode still opens no file.
        createStore: ctx.get<TaskStoreFactory>(TYPES.TaskStoreFactory),
        strategy: ctx.get<Strategy>(TYPES.Strategy),
      });
      onShutdown(container, () => closeModeExecutor(executor));
      return new BackgroundTaskManager(registry, { executor, clock, logger });
    })
    .inSingletonScope();
  return container;
}

/**
 * Releases what the container built: flushes the shadow mirror, stops sqlite-mode workers (waiting
 * for running handlers up to their shutdown timeout), waits likewise for the runs a rollback took
 * over from the queue file (so their outcomes are written back) and closes the stores, so the
 * process can exit. Idempotent.
 */
export async function shutdown(container: Container): Promise<void> {
  const list = closers.get(container) ?? [];
  closers.set(container, []);
  // Managers first (they may still write), stores last.
  for (const close of list.reverse()) await close();
}
