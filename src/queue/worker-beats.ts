import { describeThrown } from '../core/errors';
import type { TaskStore } from './types';
import type { ResolvedWorkerOptions } from './worker-options';
import type { HandlerSlots } from './worker-slots';
import { extendLeases, isStoreLost } from './worker-writes';

/**
 * The longest a running worker goes without refreshing its worker row. `stats`, `health` and the
 * metrics call a worker stale after 60 s by default; refreshing at least every 20 s leaves two
 * missed refreshes of slack, whatever the heartbeat interval (a third of a long lease may be minutes).
 */
export const WORKER_TOUCH_MS = 20_000;

/** What {@link WorkerBeats} asks of its worker. */
export interface BeatHooks {
  /** True while the worker runs; a stopping worker no longer refreshes its row. */
  running(): boolean;
  /** The store's database file was replaced: stop the worker for good. */
  halt(err: Error): void;
}

/**
 * A worker's periodic writes: one heartbeat interval extends every lease it holds (then drops the
 * waiting claims that lost theirs), and one touch interval refreshes its worker row, every
 * heartbeat or every {@link WORKER_TOUCH_MS}, whichever is shorter, with or without tasks.
 */
export class WorkerBeats {
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private touchTimer: NodeJS.Timeout | undefined;
  private beating = false;
  private touching: Promise<void> | undefined;

  constructor(
    private readonly store: TaskStore,
    private readonly slots: HandlerSlots,
    private readonly o: ResolvedWorkerOptions,
    private readonly hooks: BeatHooks,
  ) {}

  /** The row is refreshed at least this often (ms). */
  get touchEveryMs(): number {
    return Math.min(this.o.heartbeatMs, WORKER_TOUCH_MS);
  }

  /** Starts both intervals. */
  start(): void {
    // Ref'd on purpose: a running worker keeps its process alive until stop().
    this.heartbeatTimer = setInterval(() => void this.beat(), this.o.heartbeatMs);
    // Unref'd: the heartbeat interval already keeps the process alive.
    this.touchTimer = setInterval(() => void this.touch(), this.touchEveryMs).unref();
  }

  /** Clears both intervals and waits for a touch in flight, so none lands after the row is unregistered. */
  async stop(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    clearInterval(this.touchTimer);
    this.heartbeatTimer = undefined;
    this.touchTimer = undefined;
    await this.touching;
  }

  private async beat(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      await extendLeases(this.store, this.slots.active, this.o.leaseMs, this.o.clock.now(), this.o.logger);
      this.slots.dropStaleWaiting(this.o.clock.now());
    } catch (err) {
      if (isStoreLost(err)) this.hooks.halt(err as Error);
      else this.o.logger.warn('worker heartbeat failed', { workerId: this.o.workerId, error: describeThrown(err) });
    } finally {
      this.beating = false;
    }
  }

  private touch(): Promise<void> {
    if (this.touching !== undefined || !this.hooks.running()) return Promise.resolve();
    this.touching = this.store.touchWorker(this.o.workerId).then(
      () => undefined,
      (err: unknown) => {
        if (isStoreLost(err)) this.hooks.halt(err as Error);
        else this.o.logger.warn('could not refresh the worker row; retried at the next touch', { workerId: this.o.workerId, error: describeThrown(err) });
      },
    ).finally(() => {
      this.touching = undefined;
    });
    return this.touching;
  }
}
