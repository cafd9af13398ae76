import { describeThrown } from '../core/errors';
import type { Logger } from '../core/logger';
import type { AttemptError, BatchCompletingStore, ClaimedTask, ClaimRequest, CompletingClaimStore, TaskStore } from './types';
import { LeaseLostError, TaskCancelledError, type Execution } from './worker-types';

const WRITE_RETRIES = 5;

/**
 * True when the store's database file was replaced under it: no later call can succeed, so the
 * worker stops instead of retrying, and per-task failures are not logged (the store logged once).
 */
export function isStoreLost(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'TASKBRIDGE_DATABASE_REPLACED';
}

/**
 * True when the store refused the handler's result itself (not plain JSON, too large): the same
 * result will never be accepted, so failing the task is right. Any other error that is not marked
 * retryable (a raw SQLite I/O or protocol error, a closed store) says nothing about the task: the
 * handler succeeded, so the task must not be killed for it; its lease expires and it runs again.
 */
function refusesResult(err: unknown): boolean {
  const field = (err as { field?: unknown } | null)?.field;
  return typeof field === 'string' && /^result(?:$|[.[])/.test(field);
}

/** True when the store says the same call may succeed later (busy, full). */
export function isRetryable(err: unknown): boolean {
  return (err as { retryable?: unknown } | null)?.retryable === true;
}

/**
 * Lets a completion batch carry the worker's next claim, so both share one transaction. The worker
 * answers `request` only while its claim loop waits for free slots, i.e. while it has nothing
 * better to do with the write lock than wait for this batch.
 */
export interface ClaimRider {
  /** The claim to make together with a batch that frees `freed` slots, or undefined for none. */
  request(freed: number): RiderClaim | undefined;
  /** Runs what the shared transaction claimed; called after the batch's slots were released. */
  start(claimed: readonly ClaimedTask[], leaseFrom: number): void;
}

/** A claim made along with a completion batch. */
export interface RiderClaim {
  readonly request: ClaimRequest;
  /** The worker's clock just before the call: the store's lease starts no earlier. */
  readonly leaseFrom: number;
}

/**
 * Writes the outcome of each attempt under its fencing token. Store errors marked retryable
 * (busy, full) are retried a few times; after that the lease expires and another worker retries
 * the task. `done` is called exactly once per write, whatever happened.
 */
export class OutcomeWriter {
  private pending: { execution: Execution; result: unknown }[] = [];
  /** Writes waiting to be retried; stop() drops them, so none starts after the worker stopped. */
  private readonly retries = new Set<NodeJS.Timeout>();
  private readonly completeMany: BatchCompletingStore['completeMany'] | undefined;
  private readonly completeAndClaim: CompletingClaimStore['completeAndClaim'] | undefined;

  constructor(
    private readonly store: TaskStore,
    private readonly logger: Logger,
    private readonly workerId: string,
    private readonly done: (execution: Execution) => void,
    private readonly alive: (execution: Execution) => boolean,
    private readonly rider: ClaimRider,
  ) {
    const batching = (store as Partial<BatchCompletingStore>).completeMany;
    this.completeMany = typeof batching === 'function' ? batching.bind(store) : undefined;
    const claiming = (store as Partial<CompletingClaimStore>).completeAndClaim;
    this.completeAndClaim = typeof claiming === 'function' ? claiming.bind(store) : undefined;
  }

  /** Records success. With a batching store, completions settled in the same turn share one commit. */
  complete(execution: Execution, result: unknown): void {
    if (!this.completeMany && !this.completeAndClaim) {
      this.completeOne(execution, result);
      return;
    }
    this.pending.push({ execution, result });
    if (this.pending.length === 1) setImmediate(this.flush);
  }

  /** stop(): issues the pending batch now and drops the retries not yet made (those leases expire). */
  stop(): void {
    this.flush();
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
  }

  private readonly flush = (): void => {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const ride = this.completeAndClaim ? this.rider.request(batch.length) : undefined;
    if (ride === undefined && (batch.length === 1 || !this.completeMany)) {
      for (const { execution, result } of batch) this.completeOne(execution, result);
      return;
    }
    const items = batch.map(({ execution, result }) => ({ taskId: execution.taskId, token: execution.token, result }));
    const written = ride === undefined
      ? this.completeMany!(items).then((held) => ({ held, claimed: [] as ClaimedTask[] }))
      : this.completeAndClaim!(items, ride.request);
    written.then(
      ({ held, claimed }) => {
        for (let i = 0; i < batch.length; i++) {
          if (!held[i]) this.lost(batch[i]!.execution);
          this.done(batch[i]!.execution);
        }
        if (claimed.length > 0) this.rider.start(claimed, ride!.leaseFrom);
      },
      // One bad result (not JSON, too large) refuses the whole batch, and a busy store the whole
      // transaction: redo it task by task, with the retries of a single write. The claim is left to
      // the claim loop, which the released slots wake.
      () => {
        for (const { execution, result } of batch) this.completeOne(execution, result);
      },
    );
  };

  /** Records a failed attempt. */
  fail(execution: Execution, error: AttemptError): void {
    this.write(execution, 'fail', () => this.store.fail(execution.taskId, execution.token, error));
  }

  /** Ends a task whose cancellation the handler observed. */
  acknowledgeCancel(execution: Execution): void {
    this.write(execution, 'acknowledgeCancel', () => this.store.acknowledgeCancel(execution.taskId, execution.token));
  }

  private completeOne(execution: Execution, result: unknown): void {
    this.write(
      execution,
      'complete',
      () => this.store.complete(execution.taskId, execution.token, result).then((held) => {
        if (!held) this.lost(execution);
      }),
      // A result the store refuses (not JSON, too large) will never be accepted: fail the task
      // instead of letting the lease expire and running it again for the same outcome.
      (err) => this.fail(execution, { message: `the handler's result could not be stored: ${describeThrown(err)}`, retryable: false }),
    );
  }

  private lost(execution: Execution): void {
    this.logger.warn('lease lost before the outcome was written; result dropped', { workerId: this.workerId, taskId: execution.taskId });
  }

  private write(execution: Execution, label: string, op: () => Promise<unknown>, onRefused?: (err: unknown) => void, attempt = 1): void {
    op().then(() => this.done(execution), (err: unknown) => {
      const retryable = isRetryable(err);
      if (retryable && attempt < WRITE_RETRIES && this.alive(execution)) {
        const timer = setTimeout(() => {
          this.retries.delete(timer);
          this.write(execution, label, op, onRefused, attempt + 1);
        }, 10 * 2 ** attempt);
        this.retries.add(timer);
        return;
      }
      if (!retryable && onRefused && refusesResult(err)) {
        onRefused(err);
        return;
      }
      if (!isStoreLost(err)) {
        this.logger.error(`worker could not ${label} a task; its lease will expire and it will be retried`, {
          workerId: this.workerId, taskId: execution.taskId, error: describeThrown(err),
        });
      }
      this.done(execution);
    });
  }
}

/**
 * Heartbeats every lease still able to write. A lost lease aborts the handler's signal and its
 * result will be dropped; a requested cancellation aborts it and is acknowledged when it returns.
 * A lease the store extended runs, as far as the worker knows, until `now` (the worker's clock
 * before the calls) plus `leaseMs`; a failed heartbeat leaves the known expiry where it was.
 */
export async function extendLeases(store: TaskStore, executions: Iterable<Execution>, leaseMs: number, now: number, logger: Logger): Promise<void> {
  const beats: Promise<void>[] = [];
  for (const e of executions) {
    if (!e.writable || e.settled) continue;
    beats.push(store.heartbeat(e.taskId, e.token, leaseMs).then(
      (outcome) => {
        // Both other answers extended the lease; like the store, never move the expiry back.
        if (outcome !== 'lost') e.leaseUntil = Math.max(e.leaseUntil, now + leaseMs);
        if (!e.writable || e.settled) return;
        if (outcome === 'lost') {
          e.state = 'lost';
          e.clearTimer();
          e.abort(new LeaseLostError(e.taskId));
        } else if (outcome === 'cancel-requested' && e.state === 'running') {
          // The timeout timer stays: a handler that ignores the abort is still ended at its limit.
          e.state = 'cancel-requested';
          e.abort(new TaskCancelledError(e.taskId));
        }
      },
      (err: unknown) => {
        if (!isStoreLost(err)) logger.warn('heartbeat failed; retried at the next beat', { taskId: e.taskId, error: describeThrown(err) });
      },
    ));
  }
  await Promise.all(beats);
}
