import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StoreBusyError } from '../../src/core/errors';
import { TaskEvents } from '../../src/queue/events';
import { HandlerRegistry } from '../../src/queue/handler-registry';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import type { TaskStore } from '../../src/queue/types';
import { Worker } from '../../src/queue/worker';
import { gate, MemoryLogger } from './worker-helpers';

/** Timers Node holds for this process: a started worker adds its heartbeat and touch intervals. */
const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('a worker whose start() failed', () => {
  let dir: string;
  let file: string;
  let store: TaskStore;
  let events: TaskEvents;
  /** A second connection holding the write lock, as another process would. */
  let locker: Database.Database | undefined;
  const workers: Worker[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-start-retry-'));
    file = path.join(dir, 'queue.db');
    events = new TaskEvents();
    // A short busy timeout: registerWorker gives up on the held lock after ~20 ms instead of 5 s.
    store = createSqliteTaskStore({ path: file, busyTimeout: 20, events, logger: new MemoryLogger() });
  });

  afterEach(async () => {
    locker?.close();
    locker = undefined;
    for (const w of workers.splice(0)) await w.stop({ timeout: 0 });
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function lockDatabase(): void {
    locker = new Database(file);
    locker.exec('BEGIN IMMEDIATE');
  }

  function unlockDatabase(): void {
    locker!.exec('ROLLBACK');
    locker!.close();
    locker = undefined;
  }

  function newWorker(registry: HandlerRegistry): Worker {
    const w = new Worker(store, registry, { logger: new MemoryLogger(), events, pollInterval: { min: '5ms', max: '20ms' } });
    workers.push(w);
    return w;
  }

  it('is back to idle with nothing on the event loop, and a second start() retries and then runs tasks', async () => {
    const ran = gate<unknown>();
    const registry = new HandlerRegistry().register('job', async (payload) => {
      ran.open(payload);
      return 'done';
    });
    await store.enqueue({ type: 'job', payload: { n: 1 } });
    const w = newWorker(registry);
    const timersBefore = timers();
    lockDatabase();

    const err = await w.start().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StoreBusyError);
    expect(err).toMatchObject({ code: 'TASKBRIDGE_BUSY', retryable: true });
    expect(w.status).toBe('idle');
    expect(events.has('enqueued')).toBe(false);
    expect(timers()).toBe(timersBefore);

    unlockDatabase();
    expect(await store.listWorkers()).toEqual([]);
    const completed = new Promise<number>((resolve) => events.on('completed', ({ task }) => resolve(task.id)));
    await w.start();
    expect(w.status).toBe('running');
    expect((await store.listWorkers()).map((r) => r.workerId)).toEqual([w.workerId]);
    expect(events.has('enqueued')).toBe(true);
    expect(await ran.promise).toEqual({ n: 1 });
    expect(await completed).toBe(1);
    expect((await store.get(1))?.status).toBe('completed');
  });

  it('fails again, just as typed, while the cause is still there; the attempt after it succeeds', async () => {
    const w = newWorker(new HandlerRegistry());
    lockDatabase();
    await expect(w.start()).rejects.toBeInstanceOf(StoreBusyError);
    await expect(w.start()).rejects.toBeInstanceOf(StoreBusyError);
    expect(w.status).toBe('idle');
    unlockDatabase();
    await expect(w.start()).resolves.toBeUndefined();
    expect(w.status).toBe('running');
  });

  it('stop() after it resolves at once, leaves nothing behind, and a later start() is refused as stopped', async () => {
    const w = newWorker(new HandlerRegistry().register('job', async () => 'ok'));
    const timersBefore = timers();
    lockDatabase();
    await expect(w.start()).rejects.toBeInstanceOf(StoreBusyError);
    unlockDatabase();
    await w.stop();
    expect(w.status).toBe('stopped');
    expect(events.has('enqueued')).toBe(false);
    expect(timers()).toBe(timersBefore);
    expect(await store.listWorkers()).toEqual([]);
    await expect(w.start()).rejects.toMatchObject({ code: 'TASKBRIDGE_WORKER_STOPPED' });
  });

  it('stop() called while the failing start() is pending wins: the worker ends stopped, not idle', async () => {
    const w = newWorker(new HandlerRegistry().register('job', async () => 'ok'));
    lockDatabase();
    // registerWorker has already failed inside start(), but its rejection is not yet handled when stop() begins.
    const started = w.start();
    const stopped = w.stop();
    await expect(started).rejects.toBeInstanceOf(StoreBusyError);
    unlockDatabase();
    await stopped;
    expect(w.status).toBe('stopped');
    expect(events.has('enqueued')).toBe(false);
    await expect(w.start()).rejects.toMatchObject({ code: 'TASKBRIDGE_WORKER_STOPPED' });
  });
});
