import { planRollback, RUN_QUEUE, TakeoverExecutor } from '../../src/compat';
import { RunHandlerMap } from '../../src/compat/handlers';
import { createContainer, shutdown } from '../../src/container';
import { ManualClock } from '../../src/core/clock';
import { TYPES } from '../../src/core/tokens';
import { createLogger } from '../../src/core/logger';
import { BackgroundTaskManager, RunRegistry } from '../../src/manager';
import { MemoryRunExecutor } from '../../src/manager/memory-executor';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { tempDb, until } from './helpers';
import { leaveQueuedRun } from './rollback-helpers';

describe('rollback plan', () => {
  it('lists every run the queue still holds by id: taken over with a handler, waiting without one', async () => {
    const db = tempDb();
    try {
      const store = createSqliteTaskStore({ path: db.dbPath });
      store.enqueueSync({ type: 'job', queue: RUN_QUEUE, idempotencyKey: 'a', payload: { parameters: {}, run: { moduleName: 'J', createdAt: new Date().toISOString(), owner: 'x' } } });
      store.enqueueSync({ type: 'mail', queue: RUN_QUEUE, idempotencyKey: 'b', payload: {} });
      store.enqueueSync({ type: 'job', queue: RUN_QUEUE, idempotencyKey: 'c', payload: {} });
      const [claimed] = store.claimSync({ workerId: 'w', limit: 1, leaseMs: 60_000, strategy: { kind: 'ordered', name: 'fifo', order: [{ field: 'seq', direction: 'asc' }] }, types: ['job'] });
      expect(claimed!.task.idempotencyKey).toBe('a');
      await store.close();
      const plan = planRollback(db.dbPath, { handledModules: ['job'] });
      expect(plan.total).toBe(3);
      expect(plan.busy).toEqual(['a']);
      expect([...plan.takeOver].sort()).toEqual(['c']);
      expect(plan.waiting).toEqual(['b']);
      expect(planRollback(`${db.dir}/missing.db`).total).toBe(0);
    } finally {
      db.remove();
    }
  });

  it('shutdown waits for a taken-over run and writes its outcome back to the queue file', async () => {
    const db = tempDb();
    // Time stands still: the takeover lease cannot expire however slow the machine is.
    const clock = new ManualClock();
    try {
      await leaveQueuedRun(db.dbPath, clock, 'left');

      const container = createContainer({ TASKBRIDGE_LOG_LEVEL: 'silent', TASKBRIDGE_MODE: 'memory', TASKBRIDGE_DB_PATH: db.dbPath });
      container.rebindSync(TYPES.Clock).toConstantValue(clock);
      const manager = container.get<BackgroundTaskManager>(TYPES.BackgroundTaskManager);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let started = false;
      manager.registerHandler('reports', async () => {
        started = true;
        await gate;
      });
      let closed = false;
      try {
        await until(() => started, 'the taken-over run to start');
        const closing = shutdown(container).then(() => {
          closed = true;
        });
        // Let close run as far as it goes without the run settling.
        await new Promise((r) => setImmediate(r));
        expect(closed).toBe(false);
        release();
        await closing;
      } finally {
        release();
        await shutdown(container);
      }
      expect(manager.registry.getRun('left')?.status).toBe('completed');
      const check = createSqliteTaskStore({ path: db.dbPath, clock });
      try {
        const task = await check.getByIdempotencyKey(RUN_QUEUE, 'left');
        expect(task?.status).toBe('completed');
        expect(task?.leaseOwner).toBeNull();
      } finally {
        await check.close();
      }
    } finally {
      db.remove();
    }
  });

  it('a taken-over run still running at the close deadline stays running in the file until its lease expires', async () => {
    const db = tempDb();
    const clock = new ManualClock();
    const leaseMs = 30_000;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    try {
      await leaveQueuedRun(db.dbPath, clock, 'slow');
      const registry = new RunRegistry();
      const logger = createLogger('silent');
      const inner = new MemoryRunExecutor(registry, { clock, logger });
      const executor = new TakeoverExecutor(inner, registry, { dbPath: db.dbPath, clock, logger, leaseMs, handlers: new RunHandlerMap(), closeTimeoutMs: 0 });
      let started = false;
      executor.registerHandler('reports', async () => {
        started = true;
        await gate;
      });
      await until(() => started, 'the taken-over run to start');
      await executor.close();
      release();
      await inner.waitAll();
      expect(registry.getRun('slow')?.status).toBe('completed');
      // Not written back after the deadline: still leased, so no other process runs it yet...
      expect(planRollback(db.dbPath, { handledModules: ['reports'], clock }).busy).toEqual(['slow']);
      // ...and recoverable once the lease, no longer renewed, has expired.
      clock.advance(leaseMs + 1);
      expect(planRollback(db.dbPath, { handledModules: ['reports'], clock }).takeOver).toEqual(['slow']);
    } finally {
      release();
      db.remove();
    }
  });
});
