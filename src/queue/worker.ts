import { hostname } from 'node:os';
import { TaskbridgeError, TaskTimeoutError } from '../core/errors';
import type { HandlerRegistry } from './handler-registry';
import type { ClaimedTask, ClaimRequest, TaskProgress, TaskStore } from './types';
import { resolveWorkerOptions, shutdownTimeout, type ResolvedWorkerOptions, type WorkerOptions } from './worker-options';
import {
  Execution, WorkerStoppedError, toAttemptError, type ExecutionState,
  type StopOptions, type WorkerState,
} from './worker-types';
import { LoopSleeper, type SleepReason } from './loop-sleeper';
import { OutcomeWriter, extendLeases, isStoreLost } from './worker-writes';

/** The longest delay setTimeout honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Claims tasks of the registered types from one queue and runs their handlers, at most
 * `concurrency` at a time. One heartbeat timer extends every lease the worker holds; a task whose
 * lease was lost, timed out or was cancelled has its handler's signal aborted, and a lost lease
 * never writes. Any number of workers, in any number of processes, may share one store.
 */
export class Worker {
  /** The validated options, durations in ms. */
  readonly options: ResolvedWorkerOptions;
  private state: WorkerState = 'idle';
  private readonly active = new Set<Execution>();
  private loopDone: Promise<void> = Promise.resolve();
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private beating = false;
  private unsubscribe: (() => void) | undefined;
  private readonly sleeper = new LoopSleeper();
  private pollDelay: number;
  private errorDelay = 0;
  private drained: (() => void) | undefined;
  private readonly writer: OutcomeWriter;
  /** Hand-backs of claims that arrived after stop() began; stop() waits for them. */
  private readonly handingBack = new Set<Promise<void>>();
  private haltedBy: Error | undefined;
  private haltWith!: (err: Error) => void;
  /** Resolves with the store's error if the worker stopped itself because its database file was replaced. */
  readonly halted: Promise<Error> = new Promise((resolve) => { this.haltWith = resolve; });

  /**
   * @param store the durable queue
   * @param registry handlers by type; the worker claims only the types registered at claim time
   * @throws InvalidOptionError for an unknown or invalid option
   */
  constructor(
    private readonly store: TaskStore,
    private readonly registry: HandlerRegistry,
    options: WorkerOptions = {},
  ) {
    this.options = resolveWorkerOptions(options);
    this.pollDelay = this.options.pollMinMs;
    this.writer = new OutcomeWriter(store, this.options.logger, this.options.workerId, (e) => this.release(e), (e) => this.active.has(e), {
      request: (freed) => this.claimAlong(freed),
      start: (claimed) => this.startClaimedAlong(claimed),
    });
  }

  get workerId(): string {
    return this.options.workerId;
  }

  /** Where the worker is in its lifecycle. */
  get status(): WorkerState {
    return this.state;
  }

  /** Handlers currently counted against `concurrency` (including timed-out ones that have not returned). */
  get activeCount(): number {
    return this.active.size;
  }

  /** The tasks this worker is running, with when each started (worker clock, ms) and its state. */
  running(): { taskId: number; attempt: number; startedAt: number; state: ExecutionState }[] {
    return [...this.active].map((e) => ({ taskId: e.taskId, attempt: e.attempt, startedAt: e.startedAt, state: e.state }));
  }

  /**
   * Registers the worker in the store and starts the claim loop; resolves once the loop runs.
   * Calling it again returns the same promise.
   * @throws TaskbridgeError `TASKBRIDGE_WORKER_STOPPED` when the worker was already stopped
   */
  start(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') {
      return Promise.reject(new TaskbridgeError('TASKBRIDGE_WORKER_STOPPED', `Worker ${this.workerId} was stopped; accepted: a new Worker`));
    }
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  /** Wakes an idle worker at once, e.g. after an enqueue from elsewhere in this process. */
  notify(): void {
    // Woken from an idle wait, the next empty claim starts the poll backoff over.
    if (this.sleeper.notify()) this.pollDelay = this.options.pollMinMs;
  }

  /**
   * Stops gracefully: no new claims; claims not yet started are released; running handlers get
   * until the deadline, after which their signals are aborted and their results dropped (their
   * leases expire and another worker retries them). Resolves when nothing of the worker is left
   * on the event loop. Idempotent.
   */
  stop(options: StopOptions = {}): Promise<void> {
    const timeoutMs = options.timeout === undefined ? this.options.shutdownTimeoutMs : shutdownTimeout('timeout', options.timeout);
    if (this.state === 'idle') {
      this.state = 'stopped';
      return Promise.resolve();
    }
    this.stopPromise ??= this.doStop(timeoutMs);
    return this.stopPromise;
  }

  private async doStart(): Promise<void> {
    const o = this.options;
    this.state = 'starting';
    await this.store.registerWorker({
      workerId: o.workerId, pid: process.pid, hostname: hostname(), queue: o.queue,
      concurrency: o.concurrency, strategy: o.strategy.name, capabilities: o.capabilities,
    });
    if (this.state !== 'starting') return; // stop() was called while registering
    this.state = 'running';
    if (o.events) {
      this.unsubscribe = o.events.on('enqueued', ({ task }) => {
        if (task.queue === o.queue && this.registry.has(task.type)) this.notify();
      });
    }
    // Ref'd on purpose: a running worker keeps its process alive until stop().
    this.heartbeatTimer = setInterval(() => void this.beat(), o.heartbeatMs);
    this.loopDone = this.loop();
  }

  private async doStop(timeoutMs: number): Promise<void> {
    await this.startPromise?.catch(() => undefined);
    this.state = 'stopping';
    this.unsubscribe?.();
    this.sleeper.wake();
    await this.loopDone;
    if (this.active.size > 0) {
      let deadline: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        deadline = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(deadline);
      this.drained = undefined;
    }
    this.writer.flush();
    for (const execution of this.active) {
      // A settled one only waits for its outcome write, which is already issued.
      if (execution.settled) continue;
      execution.state = 'abandoned';
      execution.clearTimer();
      execution.abort(new WorkerStoppedError(execution.taskId));
      this.options.logger.warn('worker stopped before a handler finished; its lease will expire', {
        workerId: this.workerId, taskId: execution.taskId, runningForMs: this.options.clock.now() - execution.startedAt,
      });
    }
    this.active.clear();
    await Promise.all(this.handingBack);
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    try {
      await this.store.unregisterWorker(this.workerId);
    } catch (err) {
      if (!isStoreLost(err)) this.options.logger.warn('could not unregister worker', { workerId: this.workerId, error: String(err) });
    }
    this.state = 'stopped';
  }

  private async loop(): Promise<void> {
    const o = this.options;
    while (this.state === 'running') {
      try {
        const free = o.concurrency - this.active.size;
        if (free <= 0) {
          await this.sleep('slots');
          continue;
        }
        const types = this.registry.types();
        if (types.length === 0) {
          await this.sleep('idle', o.pollMaxMs);
          continue;
        }
        this.sleeper.forgetNotify();
        const claimed = await this.store.claim(this.claimRequest(free, types));
        this.errorDelay = 0;
        if (this.state !== 'running') {
          await this.handBack(claimed);
          break;
        }
        for (let i = 0; i < claimed.length; i++) this.run(claimed[i]!);
        if (claimed.length >= free) {
          this.pollDelay = o.pollMinMs;
          continue;
        }
        // Fewer than asked for: the queue is drained for this worker until an enqueue or the next poll.
        const delay = claimed.length > 0 ? o.pollMinMs : this.pollDelay;
        this.pollDelay = claimed.length > 0 ? o.pollMinMs : Math.min(o.pollMaxMs, this.pollDelay * 2);
        await this.sleep('idle', delay);
      } catch (err) {
        if (isStoreLost(err)) {
          this.halt(err as Error);
          break;
        }
        this.errorDelay = this.errorDelay === 0 ? o.pollMinMs : Math.min(Math.max(o.pollMaxMs, 5_000), this.errorDelay * 2);
        const retryable = (err as { retryable?: unknown })?.retryable === true;
        this.options.logger[retryable ? 'warn' : 'error']('worker claim loop error; retrying', {
          workerId: o.workerId, error: err instanceof Error ? err.message : String(err), retryInMs: this.errorDelay,
        });
        await this.sleep('error', this.errorDelay);
      }
    }
  }

  private claimRequest(limit: number, types: readonly string[]): ClaimRequest {
    const o = this.options;
    return { workerId: o.workerId, queue: o.queue, limit, leaseMs: o.leaseMs, strategy: o.strategy, capabilities: o.capabilities, types };
  }

  /**
   * The claim a completion batch freeing `freed` slots may carry. Only while the loop waits for
   * slots: then the loop would claim right after this batch's commit anyway, so one transaction
   * does both. When idle (queue drained) or backing off after an error, the loop keeps its pace.
   */
  private claimAlong(freed: number): ClaimRequest | undefined {
    if (this.state !== 'running' || this.sleeper.waitingFor !== 'slots') return undefined;
    const limit = this.options.concurrency - this.active.size + freed;
    const types = this.registry.types();
    return limit > 0 && types.length > 0 ? this.claimRequest(limit, types) : undefined;
  }

  private startClaimedAlong(claimed: readonly ClaimedTask[]): void {
    if (this.state === 'running') {
      for (let i = 0; i < claimed.length; i++) this.run(claimed[i]!);
      return;
    }
    // stop() began while the batch was being written: these never started, so hand them back now.
    const handing = this.handBack(claimed).finally(() => this.handingBack.delete(handing));
    this.handingBack.add(handing);
  }

  /** No later store call can succeed: stop once, with one log line, rather than retry in a loop. */
  private halt(err: Error): void {
    if (this.haltedBy !== undefined) return;
    this.haltedBy = err;
    this.options.logger.error('worker stopped: its database file changed under it', { workerId: this.workerId, error: err.message });
    this.haltWith(err);
    void this.stop();
  }

  private sleep(reason: SleepReason, ms?: number): Promise<void> {
    return this.state === 'running' ? this.sleeper.sleep(reason, ms) : Promise.resolve();
  }

  private async handBack(claimed: readonly ClaimedTask[]): Promise<void> {
    await Promise.all(claimed.map(({ task, token }) =>
      this.store.release(task.id, token).catch((err: unknown) => {
        this.options.logger.warn('could not release an unstarted claim; its lease will expire', { taskId: task.id, error: String(err) });
      })));
  }

  private run(claimed: ClaimedTask): void {
    const execution = new Execution(claimed, this.options.clock.now(), this.writeProgress);
    this.active.add(execution);
    const registered = this.registry.get(claimed.task.type);
    if (!registered) {
      // Unregistered between claim and start: hand it back rather than fail an attempt.
      execution.state = 'abandoned';
      void this.handBack([claimed]).then(() => this.release(execution));
      return;
    }
    const timeoutMs = claimed.task.timeoutMs ?? registered.timeoutMs;
    if (timeoutMs !== null && timeoutMs > 0) {
      this.armTimeout(execution, timeoutMs, timeoutMs);
    }
    let outcome: unknown;
    try {
      outcome = registered.handler(claimed.task.payload, execution);
    } catch (err) {
      this.settle(execution, false, err);
      return;
    }
    if (outcome !== null && typeof (outcome as PromiseLike<unknown>)?.then === 'function') {
      (outcome as PromiseLike<unknown>).then((value) => this.settle(execution, true, value), (err) => this.settle(execution, false, err));
    } else {
      this.settle(execution, true, outcome);
    }
  }

  private settle(execution: Execution, ok: boolean, value: unknown): void {
    execution.settled = true;
    execution.clearTimer();
    if (execution.state === 'running') {
      if (ok) this.writer.complete(execution, value);
      else this.writer.fail(execution, toAttemptError(value));
    } else if (execution.state === 'cancel-requested') {
      this.writer.acknowledgeCancel(execution);
    } else {
      this.release(execution);
    }
  }

  /** Drops one hold; the slot frees when the handler has settled and every write finished. */
  private release(execution: Execution): void {
    if (--execution.holds > 0) return;
    if (!this.active.delete(execution)) return;
    if (this.sleeper.waitingFor === 'slots') this.sleeper.wake();
    if (this.drained && this.active.size === 0) this.drained();
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
    if (execution.settled || execution.state !== 'running') return;
    execution.state = 'timed-out';
    const error = new TaskTimeoutError(timeoutMs);
    execution.abort(error);
    // The handler may ignore its signal: record the failure now, keep the slot until it returns.
    execution.holds++;
    this.writer.fail(execution, { message: error.message, retryable: true });
  }

  private readonly writeProgress = (execution: Execution, progress: TaskProgress): Promise<boolean> => {
    if (!execution.writable || execution.settled) return Promise.resolve(false);
    return this.store.reportProgress(execution.taskId, execution.token, progress);
  };

  /** One timer for every lease: extends them all, then refreshes the worker row. */
  private async beat(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      await extendLeases(this.store, this.active, this.options.leaseMs, this.options.logger);
      if (this.state === 'running') await this.store.touchWorker(this.workerId);
    } catch (err) {
      if (isStoreLost(err)) this.halt(err as Error);
      else this.options.logger.warn('worker heartbeat failed', { workerId: this.workerId, error: String(err) });
    } finally {
      this.beating = false;
    }
  }
}
