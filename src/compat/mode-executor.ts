import { SystemClock, type Clock } from '../core/clock';
import { createLogger, type Logger } from '../core/logger';
import type { RandomSource } from '../core/random';
import { MemoryRunExecutor } from '../manager/memory-executor';
import { describeThrown } from '../manager/run-lifecycle';
import type { RunRegistry } from '../manager/run-registry';
import type { RunExecutor } from '../manager/types';
import { isMemoryPath } from '../queue/sqlite/connection';
import { openMirrorStore, type MirrorStore } from '../queue/sqlite/mirror-store';
import type { SqliteTaskStore } from '../queue/sqlite/store';
import { createSqliteTaskStore } from '../queue/store-factory';
import { createStrategy } from '../strategies';
import type { Strategy } from '../strategies/types';
import { isCanary, type TaskbridgeConfig } from './config';
import { RunHandlerMap } from './handlers';
import { MirrorWriter } from './mirror-writer';
import { canaryPredicate, closeExecutor, RoutingRunExecutor, type ClosableExecutor, type HandlerCapable } from './routing';
import { ShadowRunExecutor } from './shadow-executor';
import { SqliteRunExecutor } from './sqlite-executor';
import { TakeoverExecutor } from './takeover-executor';

/** Services a mode executor needs; the container supplies them, the flag factory builds defaults. */
export interface ModeExecutorDeps {
  clock?: Clock;
  logger?: Logger;
  /**
   * Opens sqlite mode's queue store (the container's `TYPES.TaskStoreFactory`, so its Random and
   * clock reach the queue). Default: {@link openRunStore} with this clock and logger.
   */
  createStore?: () => SqliteTaskStore;
  /** The order in which sqlite mode claims runs (the container's `TYPES.Strategy`). Default: `config.strategy`. */
  strategy?: Strategy;
}

/**
 * The queue store of sqlite mode on the configured file, with the configured lease: the one
 * recipe, shared by the container's `TYPES.TaskStoreFactory` and the flag factory.
 */
export function openRunStore(config: TaskbridgeConfig, services: { clock: Clock; logger: Logger; random?: RandomSource }): SqliteTaskStore {
  return createSqliteTaskStore({ path: config.dbPath, ...services, leaseDefaults: { lease: config.leaseMs } });
}

/** What a mode executor exposes beyond the RunExecutor seam: close, and durable handlers with their options. */
export type ModeExecutor = ClosableExecutor & HandlerCapable;

/** How long a mirror flush waits for another connection's lock before counting a fault. */
const SHADOW_BUSY_TIMEOUT_MS = 20;

/**
 * Every executor built here that holds something to close, so shutdown can flush and close them all
 * (see shutdownModeExecutors). A memory-mode executor joins only once it opens the queue file: the
 * set keeps its members (and their registries, with every run) alive, and legacy code that builds a
 * manager per job or request and drops it must not leak them, as it never did in memory.
 */
const live = new Set<ClosableExecutor>();

/**
 * The in-memory executor with rollback takeover. `standalone`: it is the mode's executor, not the
 * inner one of a shadow executor (which closes it), so it joins {@link live} when it opens the file.
 */
function memorySide(registry: RunRegistry, config: TaskbridgeConfig, clock: Clock, logger: Logger, handlers: RunHandlerMap, standalone = false): TakeoverExecutor {
  const inner = new MemoryRunExecutor(registry, { clock, logger });
  const executor: TakeoverExecutor = new TakeoverExecutor(inner, registry, {
    dbPath: config.dbPath, clock, logger, leaseMs: config.leaseMs, handlers,
    onFileOpened: standalone ? () => live.add(executor) : undefined,
  });
  return executor;
}

function shadowSide(registry: RunRegistry, config: TaskbridgeConfig, clock: Clock, logger: Logger, handlers: RunHandlerMap): ShadowRunExecutor {
  const owner = `shadow-${process.pid}-${Math.random().toString(16).slice(2, 10)}`;
  // A short busy timeout: a locked database must cost the app a few ms per flush, not seconds.
  const open = (): MirrorStore => openMirrorStore(config.dbPath, clock, SHADOW_BUSY_TIMEOUT_MS);
  let store: MirrorStore | undefined;
  let openError: unknown;
  try {
    store = open();
  } catch (err) {
    openError = err;
  }
  // An unopenable database (a volume mounted late, permissions fixed after the deploy) is retried
  // with a capped backoff, so the mirror catches up once the cause is gone.
  const writer = new MirrorWriter(store, { clock, logger, owner, flushDelayMs: config.mirrorFlushDelayMs, leaseMs: config.leaseMs, reopen: { open } });
  // An unopenable database is a shadow fault like any other: counted, logged, never thrown.
  if (openError !== undefined) writer.recordFault(openError, 'open');
  return new ShadowRunExecutor(memorySide(registry, config, clock, logger, handlers), registry, writer);
}

function sqliteSide(
  registry: RunRegistry, config: TaskbridgeConfig, deps: ModeExecutorDeps & { clock: Clock; logger: Logger }, handlers: RunHandlerMap,
  activeElsewhere?: (runId: string) => boolean,
): SqliteRunExecutor {
  const { clock, logger } = deps;
  const store = deps.createStore?.() ?? openRunStore(config, { clock, logger });
  let side: MirrorStore | undefined;
  try {
    side = isMemoryPath(config.dbPath) ? undefined : openMirrorStore(config.dbPath, clock);
  } catch (err) {
    store.closeSync();
    throw err;
  }
  return new SqliteRunExecutor({
    store, side, registry, handlers, clock, logger,
    strategy: deps.strategy ?? createStrategy(config.strategy),
    concurrency: config.concurrency,
    leaseMs: config.leaseMs,
    pollIntervalMs: config.pollIntervalMs,
    activeElsewhere,
  });
}

/**
 * Builds the executor the flag asks for:
 * - `memory`: the legacy in-memory executor (plus rollback takeover of runs a queue file still holds);
 * - `shadow`: memory + mirror;
 * - `sqlite`: the durable queue, or a canary router (queue for the selected runs, shadow for the rest).
 * In `sqlite` mode an unopenable database either refuses (throws, the default) or falls back to
 * memory with an error logged, as `TASKBRIDGE_FALLBACK` says.
 */
export function createModeExecutor(config: TaskbridgeConfig, registry: RunRegistry, deps: ModeExecutorDeps = {}): ModeExecutor {
  const clock = deps.clock ?? new SystemClock();
  const logger = deps.logger ?? createLogger(config.logLevel);
  const handlers = new RunHandlerMap();
  let executor: ModeExecutor;
  // Joins `live` itself if it ever opens the queue file (see memorySide).
  if (config.mode === 'memory') return memorySide(registry, config, clock, logger, handlers, true);
  if (config.mode === 'shadow') executor = shadowSide(registry, config, clock, logger, handlers);
  else {
    let queue: SqliteRunExecutor | undefined;
    // A canary's memory side, built once the queue side is: its runs are not the queue side's to recover.
    let rest: RunExecutor | undefined;
    try {
      queue = sqliteSide(registry, config, { ...deps, clock, logger }, handlers, (runId) => rest?.isActive(runId) ?? false);
    } catch (err) {
      if (config.fallback === 'refuse') throw err;
      logger.error('sqlite mode: the database cannot be opened; falling back to memory (TASKBRIDGE_FALLBACK=memory)', {
        dbPath: config.dbPath, error: describeThrown(err),
      });
    }
    // No file: nothing to close, and nothing to keep alive.
    if (queue === undefined) return memorySide(registry, { ...config, dbPath: ':memory:' }, clock, logger, handlers, true);
    if (isCanary(config)) {
      rest = shadowSide(registry, config, clock, logger, handlers);
      executor = new RoutingRunExecutor(queue, rest, canaryPredicate(config));
    }
    else executor = queue;
  }
  live.add(executor);
  return executor;
}

/**
 * Flushes mirrors, stops workers and closes the stores of every executor built so far that holds
 * any (a memory-mode one only once it opened the queue file to take runs over).
 */
export async function shutdownModeExecutors(): Promise<void> {
  const all = [...live];
  live.clear();
  await Promise.all(all.map((e) => e.close()));
}

/** Closes one executor built by {@link createModeExecutor} (no-op for other executors). */
export async function closeModeExecutor(executor: RunExecutor): Promise<void> {
  live.delete(executor as ClosableExecutor);
  await closeExecutor(executor);
}
