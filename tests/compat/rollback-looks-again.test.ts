import { hostname } from 'node:os';
import { RUN_QUEUE, TakeoverExecutor } from '../../src/compat';
import { RunHandlerMap } from '../../src/compat/handlers';
import { newOwnerId, OWNER_CAPABILITY } from '../../src/compat/recovery';
import { runRequest } from '../../src/compat/run-payload';
import { ManualClock } from '../../src/core/clock';
import { createLogger } from '../../src/core/logger';
import { RunRegistry, type Run } from '../../src/manager';
import { MemoryRunExecutor } from '../../src/manager/memory-executor';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { fifo } from '../../src/strategies';
import { tempDb, useFakeIntervalTimers, type TempDb } from './helpers';

const LEASE_MS = 30_000;
const logger = createLogger('silent');
const run = (runId: string, clock: ManualClock): Run => ({ runId, moduleId: 'reports', moduleName: 'Reports', status: 'queued', createdAt: new Date(clock.now()), parameters: {} });

/**
 * A rolled-back process's takeover on `db`, under a clock that moves only when told. Only the
 * interval timers are faked: the periodic look runs exactly when the test advances them.
 */
function rolledBack(db: TempDb, clock: ManualClock): { executor: TakeoverExecutor; registry: RunRegistry; inner: MemoryRunExecutor; handled: string[] } {
  const registry = new RunRegistry();
  const inner = new MemoryRunExecutor(registry, { clock, logger });
  const executor = new TakeoverExecutor(inner, registry, { dbPath: db.dbPath, clock, logger, leaseMs: LEASE_MS, handlers: new RunHandlerMap() });
  const handled: string[] = [];
  executor.registerHandler('reports', async (r) => {
    handled.push(r.runId);
  });
  return { executor, registry, inner, handled };
}

describe('rollback takeover looks again once per lease period', () => {
  useFakeIntervalTimers();

  it('a run held under a live lease at the first look is taken over by a later look once that lease has expired', async () => {
    const db = tempDb();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const other = createSqliteTaskStore({ path: db.dbPath, clock });
    try {
      other.enqueueSync(runRequest(run('held', clock), 'gone', { maxAttempts: 3, retryFailures: false, backoff: undefined }, false));
      // A sqlite-mode process still stopping in a rolling deploy holds it.
      other.claimSync({ workerId: 'stopping-worker', limit: 1, leaseMs: LEASE_MS, strategy: fifo });
      const b = rolledBack(db, clock);
      try {
        expect(b.registry.getRun('held')).toBeUndefined();
        // That process dies: its lease is no longer renewed and runs out.
        clock.advance(LEASE_MS + 1);
        jest.advanceTimersByTime(LEASE_MS);
        expect(b.registry.getRun('held')).toBeDefined();
        jest.useRealTimers();
        await b.inner.waitAll();
        expect(b.handled).toEqual(['held']);
        expect(b.registry.getRun('held')?.status).toBe('completed');
        expect((await other.getByIdempotencyKey(RUN_QUEUE, 'held'))?.status).toBe('completed');
      } finally {
        await b.executor.close();
      }
    } finally {
      await other.close();
      db.remove();
    }
  });

  it('a run queued by a live sqlite-mode process is left to it, and taken over once that process has stopped', async () => {
    const db = tempDb();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const other = createSqliteTaskStore({ path: db.dbPath, clock });
    // The sqlite-mode process: its owner id (this pid, so its process is alive) and its worker's row.
    const owner = newOwnerId();
    const workerId = `${owner}-a1b2c3`;
    try {
      await other.registerWorker({ workerId, pid: process.pid, hostname: hostname(), queue: RUN_QUEUE, concurrency: 10, strategy: 'fifo', capabilities: { [OWNER_CAPABILITY]: owner } });
      // Not pinned (it has the handler): any process with the handler could take it, but it runs it itself.
      other.enqueueSync(runRequest(run('theirs', clock), owner, { maxAttempts: 3, retryFailures: false, backoff: undefined }, false));
      const b = rolledBack(db, clock);
      try {
        jest.advanceTimersByTime(3 * LEASE_MS);
        expect(b.registry.getRun('theirs')).toBeUndefined();
        expect((await other.getByIdempotencyKey(RUN_QUEUE, 'theirs'))?.status).toBe('queued');
        // It stops and leaves the run queued for the next process.
        await other.unregisterWorker(workerId);
        jest.advanceTimersByTime(LEASE_MS);
        expect(b.registry.getRun('theirs')).toBeDefined();
        jest.useRealTimers();
        await b.inner.waitAll();
        expect(b.handled).toEqual(['theirs']);
        expect((await other.getByIdempotencyKey(RUN_QUEUE, 'theirs'))?.status).toBe('completed');
      } finally {
        await b.executor.close();
      }
    } finally {
      await other.close();
      db.remove();
    }
  });
});
