import type { Container } from 'inversify';
import { planRollback, RUN_QUEUE, TakeoverExecutor } from '../../src/compat';
import { RunHandlerMap, type RunHandler } from '../../src/compat/handlers';
import { createContainer, shutdown } from '../../src/container';
import { ManualClock } from '../../src/core/clock';
import { createLogger, type Logger } from '../../src/core/logger';
import { TYPES } from '../../src/core/tokens';
import { RunRegistry, type BackgroundTaskManager } from '../../src/manager';
import { MemoryRunExecutor } from '../../src/manager/memory-executor';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { runJson } from '../cli/helpers';
import { tempDb, type TempDb } from './helpers';
import { within } from './process-helpers';
import { leaveQueuedRun, queuedTask } from './rollback-helpers';

/**
 * A handler whose work waits for its AbortSignal (or for `release`), then returns a result: the
 * result a cancelled run must never have written back over its cancellation.
 */
function abortableHandler(): { fn: RunHandler; started: Promise<void>; aborted: Promise<void>; calls: () => number; release: () => void } {
  let calls = 0;
  let onStart!: () => void;
  let onAbort!: () => void;
  let release!: () => void;
  const started = new Promise<void>((r) => (onStart = r));
  const aborted = new Promise<void>((r) => (onAbort = r));
  const released = new Promise<void>((r) => (release = r));
  const fn: RunHandler = async (_run, ctx) => {
    calls++;
    onStart();
    const abort = new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r(), { once: true }));
    await Promise.race([abort, released]);
    if (ctx.signal.aborted) onAbort();
    return { rows: 42 };
  };
  return { fn, started, aborted, calls: () => calls, release };
}

/**
 * A memory-mode manager on `db`'s file, as an application rolled back from sqlite mode builds it.
 * The clock stands still, so no lease it holds can expire however slow the machine is; a 300 ms
 * lease makes the takeover renew (and so look for cancellations) every 100 ms.
 */
function rolledBackApp(db: TempDb, clock: ManualClock): { container: Container; manager: BackgroundTaskManager } {
  const container = createContainer({ TASKBRIDGE_LOG_LEVEL: 'silent', TASKBRIDGE_MODE: 'memory', TASKBRIDGE_DB_PATH: db.dbPath, TASKBRIDGE_LEASE: '300ms' });
  container.rebindSync(TYPES.Clock).toConstantValue(clock);
  return { container, manager: container.get<BackgroundTaskManager>(TYPES.BackgroundTaskManager) };
}

/** Whether a fresh rollback process would run `runId` again: it registers the module's handler and looks. */
function takenOverAgain(db: TempDb, clock: ManualClock): string[] {
  const registry = new RunRegistry();
  const logger = createLogger('silent');
  const executor = new TakeoverExecutor(new MemoryRunExecutor(registry, { clock, logger }), registry, {
    dbPath: db.dbPath, clock, logger, leaseMs: 300, handlers: new RunHandlerMap(), closeTimeoutMs: 0,
  });
  try {
    executor.registerHandler('reports', async () => undefined);
    return executor.activeRunIds();
  } finally {
    void executor.close();
  }
}

/** Run `left` of module `reports`, left queued in a fresh file by a process that is gone; removed after `test`. */
async function withLeftRun(test: (s: { db: TempDb; clock: ManualClock; handler: ReturnType<typeof abortableHandler> }) => Promise<void>): Promise<void> {
  const db = tempDb();
  const clock = new ManualClock(Date.now());
  const handler = abortableHandler();
  try {
    await leaveQueuedRun(db.dbPath, clock, 'left');
    await test({ db, clock, handler });
  } finally {
    handler.release();
    db.remove();
  }
}

/** A queue worker `workerId` claims run `left` on its own connection, as a sqlite-mode process would. */
async function claimLeft(db: TempDb, clock: ManualClock, workerId: string, leaseMs: number): Promise<void> {
  const store = createSqliteTaskStore({ path: db.dbPath, clock });
  try {
    const [claimed] = store.claimSync({
      workerId, queue: RUN_QUEUE, limit: 1, leaseMs, types: ['reports'],
      strategy: { kind: 'ordered', name: 'fifo', order: [{ field: 'seq', direction: 'asc' }] },
    });
    expect(claimed?.task.idempotencyKey).toBe('left');
  } finally {
    await store.close();
  }
}

describe('cancelling a run that a rollback took over', () => {

  it('a `taskbridge cancel` from the CLI aborts the taken-over run at the next lease renewal and the queue records it cancelled, not completed', async () => {
    await withLeftRun(async ({ db, clock, handler }) => {
      const { container, manager } = rolledBackApp(db, clock);
      try {
        manager.registerHandler('reports', handler.fn);
        await within(handler.started, 'the taken-over run to start');
        const { id } = await queuedTask(db.dbPath, clock, 'left');

        const cancel = await runJson<{ outcome: string }>(['--db', db.dbPath, 'cancel', String(id)]);
        expect(cancel).toMatchObject({ code: 0, json: { outcome: 'cancel-requested' } });

        await within(handler.aborted, 'the handler signal to abort at the next lease renewal', 20_000);
        await manager.waitAll();
        expect(manager.registry.getRun('left')?.status).toBe('cancelled');
        expect(manager.isTaskActive('left')).toBe(false);
      } finally {
        handler.release();
        await shutdown(container);
      }
      const task = await queuedTask(db.dbPath, clock, 'left');
      expect(task).toMatchObject({ status: 'cancelled', result: null, leaseOwner: null, attempts: 1 });
      expect(task.finishedAt).not.toBeNull();

      // Nothing runs it again: not after the lease it held would have expired, not in another rollback.
      clock.advance(60_000);
      expect(planRollback(db.dbPath, { handledModules: ['reports'], clock }).total).toBe(0);
      expect(takenOverAgain(db, clock)).toEqual([]);
      expect(handler.calls()).toBe(1);
    });
  });

  it('manager.cancelTask of a taken-over run in the same process writes cancelled back to the queue', async () => {
    await withLeftRun(async ({ db, clock, handler }) => {
      const { container, manager } = rolledBackApp(db, clock);
      try {
        manager.registerHandler('reports', handler.fn);
        await within(handler.started, 'the taken-over run to start');
        await expect(manager.cancelTask('left')).resolves.toBe(true);
        await within(handler.aborted, 'the handler signal to abort');
        expect(manager.registry.getRun('left')?.status).toBe('cancelled');
      } finally {
        handler.release();
        await shutdown(container);
      }
      expect(await queuedTask(db.dbPath, clock, 'left')).toMatchObject({ status: 'cancelled', result: null, leaseOwner: null });
      clock.advance(60_000);
      expect(takenOverAgain(db, clock)).toEqual([]);
      expect(handler.calls()).toBe(1);
    });
  });

  it('a run cancelled in the queue while a process that died ran it is taken over as cancelled: its handler never begins', async () => {
    await withLeftRun(async ({ db, clock, handler }) => {
      // A sqlite-mode worker claims it, `taskbridge cancel` asks it to stop, and the worker's process dies
      // before its next heartbeat: the task stays running, cancel requested, under a lease that runs out.
      await claimLeft(db, clock, 'gone', 1_000);
      const { id } = await queuedTask(db.dbPath, clock, 'left');
      const cancel = await runJson<{ outcome: string }>(['--db', db.dbPath, 'cancel', String(id)]);
      expect(cancel).toMatchObject({ code: 0, json: { outcome: 'cancel-requested' } });
      clock.advance(1_001);

      const { container, manager } = rolledBackApp(db, clock);
      try {
        manager.registerHandler('reports', handler.fn);
        await manager.waitAll();
        expect(manager.registry.getRun('left')?.status).toBe('cancelled');
      } finally {
        await shutdown(container);
      }
      expect(handler.calls()).toBe(0);
      expect(await queuedTask(db.dbPath, clock, 'left')).toMatchObject({ status: 'cancelled', result: null, leaseOwner: null });
      clock.advance(60_000);
      expect(takenOverAgain(db, clock)).toEqual([]);
    });
  });

  it('a taken-over run whose lease another worker took has its signal aborted, as a queue worker would, and its outcome does not overwrite the new holder', async () => {
    const db = tempDb();
    const clock = new ManualClock(Date.now());
    const leaseMs = 300;
    const handler = abortableHandler();
    const registry = new RunRegistry();
    // Resolves when a renewal finds the lease gone: the renewal after the claim below has run.
    let onLost!: () => void;
    const renewedAfterLoss = new Promise<void>((r) => (onLost = r));
    const logger: Logger = {
      error: () => undefined, info: () => undefined, debug: () => undefined,
      warn: (message) => (message.includes('took the lease') ? onLost() : undefined),
    };
    const inner = new MemoryRunExecutor(registry, { clock, logger });
    const executor = new TakeoverExecutor(inner, registry, { dbPath: db.dbPath, clock, logger, leaseMs, handlers: new RunHandlerMap(), closeTimeoutMs: 0 });
    try {
      await leaveQueuedRun(db.dbPath, clock, 'left');
      executor.registerHandler('reports', handler.fn);
      await within(handler.started, 'the taken-over run to start');

      // The takeover's lease runs out (time jumps past it between two renewals) and a worker claims the task.
      clock.advance(leaseMs + 1);
      await claimLeft(db, clock, 'w2', 60_000);

      await within(renewedAfterLoss, 'a lease renewal after the lease was lost');
      // The handler is not released: only the lost lease can end its wait.
      await within(handler.aborted, 'the taken-over run to see its signal aborted');
      await inner.waitAll();
      // The handler returned after the abort, so this process's registry shows what it returned.
      expect(registry.getRun('left')?.status).toBe('completed');
      expect(handler.calls()).toBe(1);
      expect(await queuedTask(db.dbPath, clock, 'left')).toMatchObject({ status: 'running', leaseOwner: 'w2', result: null });
    } finally {
      handler.release();
      await executor.close();
      db.remove();
    }
  });
});
