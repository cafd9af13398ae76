import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeModeExecutor, createModeExecutor, loadConfig, type ConfigInput, type ModeExecutor } from '../../src/compat';
import { createLogger } from '../../src/core/logger';
import { BackgroundTaskManager, RunRegistry, type Run } from '../../src/manager';

/** A temp folder with a database path inside, as {@link tempDb} makes it. */
export interface TempDb {
  dir: string;
  dbPath: string;
  remove(): void;
}

/** A fresh temp folder with a database path inside; `remove()` deletes it. */
export function tempDb(prefix = 'taskbridge-compat-'): TempDb {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    dir,
    dbPath: path.join(dir, 'taskbridge.db'),
    remove: () => {
      try {
        fs.chmodSync(dir, 0o700);
      } catch {
        // already removed
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns true or `ms` passes (for state another process writes). */
export async function until(check: () => boolean | Promise<boolean>, label: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A manager built as the mode flag builds it, with its executor, registry and database. */
export interface ModeManager<E extends ModeExecutor = ModeExecutor> {
  readonly db: TempDb;
  readonly registry: RunRegistry;
  readonly executor: E;
  readonly manager: BackgroundTaskManager;
}

/**
 * Runs `body` with a manager built as `env` asks (TASKBRIDGE_MODE and its options; the database
 * path is `db`'s), then closes the executor and removes the folder, whether `body` passed or threw.
 * `db` defaults to a fresh {@link tempDb}; pass one to prepare the file before the executor opens it.
 * `E` is the executor class the caller knows the mode builds: createModeExecutor returns the interface.
 */
export async function withModeManager<E extends ModeExecutor = ModeExecutor>(env: ConfigInput, body: (m: ModeManager<E>) => Promise<void>, db: TempDb = tempDb()): Promise<void> {
  const registry = new RunRegistry();
  const config = loadConfig({ ...env, TASKBRIDGE_DB_PATH: db.dbPath }, {});
  const executor = createModeExecutor(config, registry, { logger: createLogger('silent') }) as E;
  const manager = new BackgroundTaskManager(registry, { executor, logger: createLogger('silent') });
  try {
    await body({ db, registry, executor, manager });
  } finally {
    await closeModeExecutor(executor);
    db.remove();
  }
}

/** Resolves once `registry` announces `runId` in `status`. */
export function statusReached(registry: RunRegistry, runId: string, status: Run['status']): Promise<void> {
  return new Promise((resolve) => {
    const off = registry.subscribe((r) => {
      if (r.runId === runId && r.status === status) {
        off();
        resolve();
      }
    });
  });
}

/**
 * Fakes only the interval timers for each test of the describe block it is called in: the
 * once-per-lease looks run exactly when a test advances them, while timeouts, immediates and the
 * clock stay real (the store, the worker and `until` need them).
 */
export function useFakeIntervalTimers(): void {
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['Date', 'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    jest.useRealTimers();
  });
}
