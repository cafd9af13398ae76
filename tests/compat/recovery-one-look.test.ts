import { TakeoverExecutor } from '../../src/compat';
import { RunHandlerMap } from '../../src/compat/handlers';
import { ManualClock } from '../../src/core/clock';
import { createLogger } from '../../src/core/logger';
import { RunRegistry } from '../../src/manager';
import { MemoryRunExecutor } from '../../src/manager/memory-executor';
import { MirrorStore } from '../../src/queue/sqlite/mirror-store';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { tempDb, useFakeIntervalTimers, withModeManager } from './helpers';

const LEASE_MS = 30_000;
const MODULES = ['reports', 'exports', 'imports'];
const logger = createLogger('silent');

/** Calls of the real MirrorStore's reads during `look`: the worker table, and the orphan lists. */
function readsDuring(look: () => void): { workerTable: number; orphanLists: number } {
  const workers = jest.spyOn(MirrorStore.prototype, 'liveWorkerCapabilities');
  const orphans = jest.spyOn(MirrorStore.prototype, 'listOrphans');
  try {
    look();
    return { workerTable: workers.mock.calls.length, orphanLists: orphans.mock.calls.length };
  } finally {
    workers.mockRestore();
    orphans.mockRestore();
  }
}

describe('one look over the registered modules reads the worker table once', () => {
  useFakeIntervalTimers();

  it('sqlite mode: with three modules registered, a lease period\'s recovery reads the workers and the shadow orphans once, not once per module', async () => {
    await withModeManager({ TASKBRIDGE_MODE: 'sqlite', TASKBRIDGE_LEASE: `${LEASE_MS}ms` }, async ({ manager }) => {
      for (const moduleId of MODULES) manager.registerHandler(moduleId, async () => undefined);
      // The start-up sweep (next turn) reads the worker table too: let it run before counting.
      await new Promise((resolve) => setImmediate(resolve));
      const reads = readsDuring(() => jest.advanceTimersByTime(LEASE_MS));
      expect(reads).toEqual({ workerTable: 1, orphanLists: 1 });
    });
  });

  it('rollback takeover: with three modules registered, a lease period\'s look reads the workers and each queue\'s orphans once, not once per module', async () => {
    const db = tempDb();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    // The file a sqlite-mode process left: the takeover opens only a file that exists.
    await createSqliteTaskStore({ path: db.dbPath, clock }).close();
    const registry = new RunRegistry();
    const inner = new MemoryRunExecutor(registry, { clock, logger });
    const executor = new TakeoverExecutor(inner, registry, { dbPath: db.dbPath, clock, logger, leaseMs: LEASE_MS, handlers: new RunHandlerMap() });
    try {
      for (const moduleId of MODULES) executor.registerHandler(moduleId, async () => undefined);
      const reads = readsDuring(() => jest.advanceTimersByTime(LEASE_MS));
      // The work queue's orphans and the shadow queue's.
      expect(reads).toEqual({ workerTable: 1, orphanLists: 2 });
    } finally {
      await executor.close();
      db.remove();
    }
  });
});
