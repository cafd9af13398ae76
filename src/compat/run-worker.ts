import { randomBytes } from 'node:crypto';
import { describeThrown } from '../manager/run-lifecycle';
import { HandlerRegistry, type TaskHandler } from '../queue/handler-registry';
import type { Task } from '../queue/types';
import { Worker } from '../queue/worker';
import { isRetryable, isStoreLost } from '../queue/worker-writes';
import { OWNER_CAPABILITY } from './recovery';
import { RUN_QUEUE } from './run-payload';
import type { SqliteRunExecutorOptions } from './sqlite-executor';

/** Options of {@link RunWorker}. */
export interface RunWorkerOptions
  extends Pick<SqliteRunExecutorOptions, 'store' | 'clock' | 'logger' | 'strategy' | 'concurrency' | 'leaseMs' | 'pollIntervalMs'> {
  owner: string;
}

/**
 * The queue {@link Worker} of one sqlite-mode executor, started on demand and stopped when idle.
 * A running Worker holds the event loop (its heartbeat), which is right while runs are in flight
 * and wrong afterwards; a stopped Worker cannot restart, so each busy period gets a new one.
 */
export class RunWorker {
  private readonly handlers = new HandlerRegistry();
  private worker: Worker | undefined;
  private stopping: Promise<void> = Promise.resolve();
  /** The next start of a worker whose start failed (see start). */
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 0;

  constructor(private readonly o: RunWorkerOptions) {}

  /**
   * Routes claims of `type` to `handler`. `pinnedOnly` while this process has only closures of the
   * module (no registered handler): then it claims only the runs pinned to it, and leaves the
   * module's other runs to the processes that have its handler, which it could not run.
   */
  handle(type: string, handler: TaskHandler, pinnedOnly: boolean): void {
    const registered = this.handlers.get(type);
    if (registered !== undefined && registered.pinnedOnly === pinnedOnly) return;
    // Synchronous, so no claim can fall between the two calls.
    if (registered !== undefined) this.handlers.unregister(type);
    this.handlers.register(type, handler, { pinnedOnly });
  }

  /** Starts a worker if none is running, or wakes the running one. */
  ensure(): void {
    const current = this.worker;
    if (current !== undefined && current.status !== 'stopping' && current.status !== 'stopped') {
      // 'idle': its start failed; it may be started again.
      if (current.status === 'idle') this.start(current);
      else current.notify();
      return;
    }
    const o = this.o;
    this.worker = new Worker(o.store, this.handlers, {
      // Prefetch one batch: when a run ends the next starts at once, and the store writes (its
      // completion, the next claim, new startTask inserts) overlap the runs' work instead of
      // running between batches with every slot idle.
      queue: RUN_QUEUE, concurrency: o.concurrency, prefetch: o.concurrency, strategy: o.strategy, leaseDuration: o.leaseMs,
      // Offering the owner capability lets this worker claim the runs pinned to this executor.
      capabilities: { [OWNER_CAPABILITY]: o.owner }, pollInterval: { min: Math.min(50, o.pollIntervalMs), max: o.pollIntervalMs },
      // The owner prefix is how holdsLease recognises the leases of this executor's workers.
      clock: o.clock, logger: o.logger, events: o.store.options.events, workerId: `${o.owner}-${randomBytes(3).toString('hex')}`,
    });
    this.start(this.worker);
  }

  /**
   * Starts `worker`; when the store refuses to register it (a write lock held past the busy
   * timeout by a backup or VACUUM elsewhere, a full disk) it is started again after a doubling
   * wait (the poll interval, up to 5 s). Once, it stayed idle for good: every run of this process
   * waited in the queue and waitAll never resolved. Ref'd, like the running worker it stands for.
   */
  private start(worker: Worker): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    worker.start().then(
      () => {
        this.retryDelayMs = 0;
      },
      (err: unknown) => {
        const retry = this.worker === worker && worker.status === 'idle' && !isStoreLost(err);
        const { pollIntervalMs } = this.o;
        this.retryDelayMs = Math.min(Math.max(pollIntervalMs, this.retryDelayMs * 2), Math.max(pollIntervalMs, 5_000));
        this.o.logger[retry && isRetryable(err) ? 'warn' : 'error']('sqlite-mode worker did not start', {
          error: describeThrown(err), ...(retry ? { retryInMs: this.retryDelayMs } : {}),
        });
        if (!retry) return;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          if (this.worker === worker && worker.status === 'idle') this.start(worker);
        }, this.retryDelayMs);
      },
    );
  }

  /** True when one of this executor's workers, the current or an earlier one, holds the task's lease. */
  holdsLease(task: Pick<Task, 'leaseOwner'>): boolean {
    return task.leaseOwner !== null && task.leaseOwner.startsWith(`${this.o.owner}-`);
  }

  /** True while the running worker holds all the claims it may, so it would not claim another run now. */
  saturated(): boolean {
    return this.worker !== undefined && this.worker.full;
  }

  /** Ends a run's task that the worker holds prefetched but has not started; false when it holds no such task. */
  cancelWaiting(taskId: number): boolean {
    return this.worker !== undefined && this.worker.cancelWaiting(taskId);
  }

  /** Stops the current worker (waiting for its running handlers and their writes). */
  async stop(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryDelayMs = 0;
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) this.stopping = worker.stop();
    await this.stopping;
  }
}
