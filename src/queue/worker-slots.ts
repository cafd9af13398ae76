import { TaskTimeoutError } from '../core/errors';
import type { HandlerRegistry } from './handler-registry';
import type { ClaimedTask, TaskProgress, TaskStore } from './types';
import type { ResolvedWorkerOptions } from './worker-options';
import { MAX_TIMER_MS } from '../core/duration';
import { Execution, WorkerStoppedError, toAttemptError } from './worker-types';
import { OutcomeWriter, type ClaimRider } from './worker-writes';

/** What {@link HandlerSlots} asks of its worker. */
export interface SlotHooks {
  /** True while new handlers may start (the worker is running). */
  accepting(): boolean;
  /** Hands claims back to the queue unstarted (no attempt counted). */
  handBack(claimed: readonly ClaimedTask[]): Promise<void>;
  /** A claim's slot was freed: its handler settled and every write of it finished. */
  freed(): void;
}

/**
 * The claims a worker holds, from claim until their outcome is written: runs at most
 * `concurrency` handlers, keeps prefetched claims waiting in claim order and starts the next the
 * moment a handler settles, enforces per-task timeouts, and writes outcomes through one
 * {@link OutcomeWriter}. A slot stays taken until the handler settled and its write finished.
 */
export class HandlerSlots {
  /** Every claim held: waiting, running, or having its outcome written. */
  readonly active = new Set<Execution>();
  /** Claimed (prefetched) tasks waiting for a handler slot, in claim order. */
  private readonly waiting: Execution[] = [];
  private handlersRunning = 0;
  private startingWaiting = false;
  private readonly writer: OutcomeWriter;

  constructor(
    private readonly store: TaskStore,
    private readonly registry: HandlerRegistry,
    private readonly o: ResolvedWorkerOptions,
    private readonly hooks: SlotHooks,
    rider: ClaimRider,
  ) {
    this.writer = new OutcomeWriter(store, o.logger, o.workerId, (e) => this.release(e), (e) => this.active.has(e), rider);
  }

  /** Claims held, waiting ones included. */
  get held(): number {
    return this.active.size;
  }

  /** Claims whose handler started and whose slot is not free yet. */
  get started(): number {
    // Counted from the flag rather than as held minus waiting: a claim that left the waiting line
    // without starting (cancelled, lost, handed back) is held until its write ends, never started.
    let n = 0;
    for (const execution of this.active) if (execution.started) n++;
    return n;
  }

  /**
   * Ends a claimed task that is waiting for a slot because its cancellation was requested.
   * @returns true when the task was waiting here
   */
  cancelWaiting(taskId: number): boolean {
    const index = this.waiting.findIndex((e) => e.taskId === taskId);
    if (index < 0) return false;
    const execution = this.waiting.splice(index, 1)[0]!;
    execution.state = 'cancel-requested';
    this.endUnstarted(execution);
    return true;
  }

  /**
   * Takes a claimed task in: starts it if a handler slot is free, else it waits (prefetched) in claim order.
   * @param leaseFrom the worker's clock just before the claim call: the store's lease starts no earlier
   */
  admit(claimed: ClaimedTask, leaseFrom: number): void {
    const now = this.o.clock.now();
    const execution = new Execution(claimed, now, leaseFrom + this.o.leaseMs, this.writeProgress);
    this.active.add(execution);
    if (this.waiting.length === 0 && this.handlersRunning < this.o.concurrency) {
      if (now >= execution.leaseUntil) this.dropExpired(execution);
      else this.startExecution(execution);
    } else {
      this.waiting.push(execution);
      this.startWaiting();
    }
  }

  /** Starts waiting tasks while handler slots are free. Not re-entered: a handler that settles at once loops here. */
  private startWaiting(): void {
    if (this.startingWaiting) return;
    this.startingWaiting = true;
    try {
      while (this.waiting.length > 0 && this.handlersRunning < this.o.concurrency && this.hooks.accepting()) {
        const execution = this.waiting.shift()!;
        const now = this.o.clock.now();
        if (now >= execution.leaseUntil) {
          this.dropExpired(execution);
          continue;
        }
        execution.startedAt = now;
        this.startExecution(execution);
      }
    } finally {
      this.startingWaiting = false;
    }
  }

  /**
   * Waiting tasks whose lease was lost, ran out by the worker's clock at `now`, or whose
   * cancellation was requested never start: settle them now, so they stop taking claim capacity.
   */
  dropStaleWaiting(now: number): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const execution = this.waiting[i]!;
      if (execution.state === 'running' && now < execution.leaseUntil) continue;
      this.waiting.splice(i, 1);
      if (execution.state === 'running') this.dropExpired(execution);
      else this.endUnstarted(execution);
    }
  }

  /** stop(): waiting tasks were never started, so they go back to the queue without an attempt counted. */
  async handBackWaiting(): Promise<void> {
    const unstarted = this.waiting.splice(0);
    if (unstarted.length === 0) return;
    for (const execution of unstarted) execution.state = 'abandoned';
    await this.hooks.handBack(unstarted.map((e) => e.claimed));
    for (const execution of unstarted) this.release(execution);
  }

  /**
   * stop(), once the claims drained or the deadline passed: issues the pending completion batch,
   * drops write retries not yet made, aborts the handlers still running with
   * {@link WorkerStoppedError} and drops their results (their leases expire), and lets go of
   * every claim. Writes already issued finish on their own.
   */
  abandon(): void {
    this.writer.stop();
    for (const execution of this.active) {
      // A settled one only waits for its outcome write, which is already issued.
      if (execution.settled) continue;
      execution.state = 'abandoned';
      execution.clearTimer();
      execution.abort(new WorkerStoppedError(execution.taskId));
      this.o.logger.warn('worker stopped before a handler finished; its lease will expire', {
        workerId: this.o.workerId, taskId: execution.taskId, runningForMs: this.o.clock.now() - execution.startedAt,
      });
    }
    this.active.clear();
  }

  /**
   * A claim whose known lease ran out before it could start: the store may have handed the task to
   * another worker already, so it is not this worker's to run. It is still released: the release is
   * fenced by the token, so it does nothing once another claim took the task, and otherwise hands
   * it back without counting an attempt that never ran (left to expire, the next claim took it back
   * as a failed attempt, and a task on its last attempt died without running). The slot stays taken
   * until the release settled, so this worker's next claim cannot take it back first.
   */
  private dropExpired(execution: Execution): void {
    execution.state = 'abandoned';
    execution.settled = true;
    this.o.logger.warn('a claimed task waited past its lease (no heartbeat got through); not started, handed back unless another worker took it', {
      workerId: this.o.workerId, taskId: execution.taskId, leaseUntil: execution.leaseUntil,
    });
    void this.hooks.handBack([execution.claimed]).then(() => this.release(execution));
  }

  private endUnstarted(execution: Execution): void {
    execution.settled = true;
    if (execution.state === 'cancel-requested') this.writer.acknowledgeCancel(execution);
    else this.release(execution);
  }

  private startExecution(execution: Execution): void {
    if (execution.state !== 'running') {
      this.endUnstarted(execution);
      return;
    }
    const claimed = execution.claimed;
    const registered = this.registry.get(claimed.task.type);
    if (!registered) {
      // Unregistered between claim and start: hand it back rather than fail an attempt.
      execution.state = 'abandoned';
      void this.hooks.handBack([claimed]).then(() => this.release(execution));
      return;
    }
    execution.started = true;
    this.handlersRunning++;
    const timeoutMs = claimed.task.timeoutMs ?? registered.timeoutMs;
    if (timeoutMs !== null && timeoutMs > 0) {
      this.armTimeout(execution, timeoutMs, timeoutMs);
    }
    let outcome: unknown;
    try {
      outcome = registered.handler(claimed.task.payload, execution);
      if (outcome !== null && typeof (outcome as PromiseLike<unknown>)?.then === 'function') {
        // Inside the try: a foreign thenable's then() may throw, which fails the attempt.
        (outcome as PromiseLike<unknown>).then((value) => this.settle(execution, true, value), (err) => this.settle(execution, false, err));
        return;
      }
    } catch (err) {
      this.settle(execution, false, err);
      return;
    }
    this.settle(execution, true, outcome);
  }

  private settle(execution: Execution, ok: boolean, value: unknown): void {
    // Once only: a foreign thenable may call back twice, or throw after calling back.
    if (execution.settled) return;
    execution.settled = true;
    this.handlersRunning--;
    execution.clearTimer();
    if (execution.state === 'running') {
      if (ok) this.writer.complete(execution, value);
      else this.writer.fail(execution, toAttemptError(value));
    } else if (execution.state === 'cancel-requested') {
      this.writer.acknowledgeCancel(execution);
    } else {
      this.release(execution);
    }
    this.startWaiting();
  }

  /** Drops one hold; the slot frees when the handler has settled and every write finished. */
  release(execution: Execution): void {
    if (--execution.holds > 0) return;
    if (!this.active.delete(execution)) return;
    this.hooks.freed();
  }

  /**
   * Node clamps a timer delay above 2^31 - 1 ms (about 24.8 days) to 1 ms, which would end a long
   * attempt at once; a longer limit is waited for in steps.
   */
  private armTimeout(execution: Execution, timeoutMs: number, remainingMs: number): void {
    const step = Math.min(remainingMs, MAX_TIMER_MS);
    // Unref'd: the heartbeat timer already keeps a running worker's process alive.
    execution.timer = setTimeout(() => {
      if (remainingMs > step) this.armTimeout(execution, timeoutMs, remainingMs - step);
      else this.onTimeout(execution, timeoutMs);
    }, step).unref();
  }

  private onTimeout(execution: Execution, timeoutMs: number): void {
    execution.timer = undefined;
    if (execution.settled || !execution.writable) return;
    const cancelled = execution.state === 'cancel-requested';
    execution.state = 'timed-out';
    const error = new TaskTimeoutError(timeoutMs);
    execution.abort(error);
    // The handler may ignore its signal: record the end now, keep the slot until it returns. A
    // cancel seen earlier already aborted the signal; the timeout still bounds how long the task
    // stays running for a handler that ignores it, and ends it as the cancel asked.
    execution.holds++;
    if (cancelled) this.writer.acknowledgeCancel(execution);
    else this.writer.fail(execution, { message: error.message, retryable: true });
  }

  private readonly writeProgress = (execution: Execution, progress: TaskProgress): Promise<boolean> => {
    if (!execution.writable || execution.settled) return Promise.resolve(false);
    return this.store.reportProgress(execution.taskId, execution.token, progress);
  };
}
