import { untilDoneOrTimeout } from '../core/deadline';
import type { Logger } from '../core/logger';
import { describeThrown } from '../manager/run-lifecycle';
import type { RunRegistry } from '../manager/run-registry';
import type { RunExecutor, TaskContext } from '../manager/types';
import type { MirrorStore } from '../queue/sqlite/mirror-store';
import type { HeartbeatOutcome } from '../queue/types';
import { LeaseLostError } from '../queue/worker-types';
import { leaseRenewIntervalMs } from './lease-renewal';

/** Options of {@link TakenOverRuns}. */
export interface TakenOverRunsOptions {
  registry: RunRegistry;
  logger: Logger;
  leaseMs: number;
  /** The executor the runs were started on: a cancel requested in the queue cancels the run there. */
  inner: Pick<RunExecutor, 'cancel'>;
}

interface Taken {
  readonly taskId: number;
  readonly token: number;
  /**
   * Aborted with a {@link LeaseLostError} when another claim took the task: the handler's signal
   * follows it, renewals stop, and the fenced write-back will be refused.
   */
  readonly leaseLost: AbortController;
}

/**
 * The handler's context: its signal aborts on a cancel (the memory executor's signal) and also
 * when the lease is lost, so the run stops here once another process may be running it.
 */
export function leaseBoundContext(ctx: TaskContext, leaseLost: AbortSignal): TaskContext {
  const controller = new AbortController();
  for (const source of [ctx.signal, leaseLost]) {
    if (source.aborted) controller.abort(source.reason);
    else source.addEventListener('abort', () => controller.abort(source.reason), { once: true });
  }
  return { runId: ctx.runId, signal: controller.signal, reportProgress: (p) => ctx.reportProgress(p) };
}

/**
 * The runs a rollback took over from the queue file, while they run in memory: keeps each one's
 * lease, writes its outcome back under the lease's fencing token, and turns a cancel requested in
 * the queue meanwhile into a cancel of the run.
 */
export class TakenOverRuns {
  private readonly taken = new Map<string, Taken>();
  private renewTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Set while {@link settled} waits: called when the last taken-over run has been written back. */
  private drained: (() => void) | undefined;

  constructor(private readonly o: TakenOverRunsOptions) {}

  /** How many taken-over runs are still to be written back. */
  get size(): number {
    return this.taken.size;
  }

  /**
   * Records a run just leased from the queue file (its task and the lease's fencing token).
   * @returns the signal that aborts when the lease is lost (see {@link leaseBoundContext})
   */
  add(runId: string, taskId: number, token: number): AbortSignal {
    const taken: Taken = { taskId, token, leaseLost: new AbortController() };
    this.taken.set(runId, taken);
    return taken.leaseLost.signal;
  }

  /**
   * Writes each taken-over run's outcome back (a cancelled run as `cancelled`, whoever cancelled
   * it), and keeps its lease while it runs.
   */
  watch(side: MirrorStore): void {
    this.unsubscribe ??= this.o.registry.subscribe((run) => {
      const t = this.taken.get(run.runId);
      if (t === undefined || run.status === 'queued' || run.status === 'running') return;
      this.taken.delete(run.runId);
      try {
        side.settleTakenOver(t.taskId, t.token, run.status, run.errorMessage ?? null);
      } catch (err) {
        this.o.logger.error('rollback: could not record a taken-over run in the queue', { runId: run.runId, error: describeThrown(err) });
      }
      if (this.taken.size === 0) this.drained?.();
    });
    if (this.renewTimer !== undefined) return;
    this.renewTimer = setInterval(() => {
      if (this.taken.size === 0) {
        clearInterval(this.renewTimer);
        this.renewTimer = undefined;
        return;
      }
      this.renew(side);
    }, leaseRenewIntervalMs(this.o.leaseMs));
    this.renewTimer.unref();
  }

  /**
   * cancelTask's path: the signal is aborted (or the run never starts) and the registry shows
   * `cancelled`, which the subscription in watch() writes back under the lease's token instead of
   * the run's result.
   */
  cancel(runId: string, message: string): void {
    this.o.logger.info(message, { runId, taskId: this.taken.get(runId)?.taskId });
    this.o.inner.cancel(runId).catch((err: unknown) => {
      this.o.logger.error('rollback: could not cancel a taken-over run', { runId, error: describeThrown(err) });
    });
  }

  /** Resolves once every taken-over run has been written back, or after `timeoutMs`. */
  async settled(timeoutMs: number): Promise<void> {
    if (this.taken.size === 0) return;
    // A ref'd deadline, like the queue Worker's stop: the process stays up to finish the write-back.
    await untilDoneOrTimeout((done) => (this.drained = done), timeoutMs);
    this.drained = undefined;
  }

  /** Stops writing outcomes back and renewing leases: a run still unsettled keeps its row `running`. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  /**
   * Heartbeats every taken-over run, as the queue Worker does for the tasks it runs. A lost lease
   * (renewals failed for a whole lease, so another process may have claimed the task) ends the
   * renewals and aborts the handler's signal with a {@link LeaseLostError}, as the queue Worker
   * does: the run should not go on in two places. Whatever the handler then returns or throws is
   * what this process's registry shows; the write-back is refused by its fencing token, so the
   * new holder's row is left alone.
   */
  private renew(side: MirrorStore): void {
    // A copy: a cancel below settles the run synchronously, which removes it from `taken`.
    for (const [runId, t] of [...this.taken]) {
      if (t.leaseLost.signal.aborted) continue;
      let outcome: HeartbeatOutcome;
      try {
        outcome = side.heartbeatTakenOver(t.taskId, t.token, this.o.leaseMs);
      } catch (err) {
        this.o.logger.warn('rollback: lease renewal failed', { taskId: t.taskId, error: describeThrown(err) });
        continue;
      }
      if (outcome === 'lost') {
        this.o.logger.warn('rollback: another process took the lease of a taken-over run; its signal is aborted and its outcome will not be written back', { runId, taskId: t.taskId });
        t.leaseLost.abort(new LeaseLostError(t.taskId));
      } else if (outcome === 'cancel-requested') {
        this.cancel(runId, 'rollback: cancelling a taken-over run, as requested in the queue');
      }
    }
  }
}
