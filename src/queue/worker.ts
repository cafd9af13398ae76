import { hostname } from 'node:os';
import { TaskbridgeError, describeThrown } from '../core/errors';
import { untilDoneOrTimeout } from '../core/deadline';
import type { HandlerRegistry } from './handler-registry';
import type { ClaimedTask, ClaimRequest, TaskStore } from './types';
import { MAX_CLAIM_LIMIT } from './validation';
import { resolveWorkerOptions, stopTimeout, type ResolvedWorkerOptions, type WorkerOptions } from './worker-options';
import type { ExecutionState, StopOptions, WorkerState } from './worker-types';
import { LoopSleeper, type SleepReason } from './loop-sleeper';
import { HandlerSlots } from './worker-slots';
import { isRetryable, isStoreLost, type RiderClaim } from './worker-writes';
import { WorkerBeats } from './worker-beats';

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
  private readonly slots: HandlerSlots;
  private loopDone: Promise<void> = Promise.resolve();
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  private readonly beats: WorkerBeats;
  private unsubscribe: (() => void) | undefined;
  private readonly sleeper = new LoopSleeper();
  private pollDelay: number;
  private errorDelay = 0;
  private drained: (() => void) | undefined;
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
    this.slots = new HandlerSlots(store, registry, this.options, {
      accepting: () => this.state === 'running',
      handBack: (claimed) => this.handBack(claimed),
      freed: () => {
        if (this.sleeper.waitingFor === 'slots') this.sleeper.wake();
        if (this.drained && this.slots.held === 0) this.drained();
      },
    }, {
      request: (freed) => this.claimAlong(freed),
      start: (claimed, leaseFrom) => this.startClaimedAlong(claimed, leaseFrom),
    });
    this.beats = new WorkerBeats(store, this.slots, this.options, {
      running: () => this.state === 'running',
      halt: (err) => this.halt(err),
    });
  }

  /** This worker's id: its lease owner name in the store and its worker row. */
  get workerId(): string {
    return this.options.workerId;
  }

  /** Where the worker is in its lifecycle. */
  get status(): WorkerState {
    return this.state;
  }

  /** Started tasks whose slot is not free yet: handlers running (timed-out ones until they return) or their outcome being written. */
  get activeCount(): number {
    return this.slots.started;
  }

  /** True while the worker holds all the claims it may (`concurrency + prefetch`), so it would not claim now. */
  get full(): boolean {
    return this.capacity() <= 0;
  }

  /** The tasks this worker has started, with when each started (worker clock, ms) and its state. */
  running(): { taskId: number; attempt: number; startedAt: number; state: ExecutionState }[] {
    return [...this.slots.active].filter((e) => e.started).map((e) => ({ taskId: e.taskId, attempt: e.attempt, startedAt: e.startedAt, state: e.state }));
  }

  /**
   * Registers the worker in the store and starts the claim loop; resolves once the loop runs.
   * Calling it again while it starts or runs returns the same promise. When it rejects (the store
   * refused to register the worker: busy, full, unavailable) the worker is `idle` again with nothing
   * set up, and a later start() tries again from the beginning.
   * @throws TaskbridgeError `TASKBRIDGE_WORKER_STOPPED` when the worker was already stopped; the store's error when registering fails
   */
  start(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') {
      return Promise.reject(new TaskbridgeError('TASKBRIDGE_WORKER_STOPPED', `Worker ${this.workerId} was stopped; accepted: a new Worker`));
    }
    if (this.startPromise === undefined) {
      const starting = this.doStart();
      this.startPromise = starting;
      // A cached rejection would make a passing failure (a lock held a moment) permanent. doStart()
      // sets up timers and listeners only after 'running', so 'starting' here means nothing to undo.
      // A stop() begun meanwhile owns the worker and ends it stopped, as for a start that succeeds.
      starting.catch(() => {
        if (this.state !== 'starting') return;
        this.state = 'idle';
        this.startPromise = undefined;
      });
    }
    return this.startPromise;
  }

  /**
   * Ends a claimed task that is waiting (prefetched) for a slot, because its cancellation was
   * requested: acknowledged now rather than at the next heartbeat, and never started.
   * @returns true when the task was waiting in this worker
   */
  cancelWaiting(taskId: number): boolean {
    return this.slots.cancelWaiting(taskId);
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
   * @throws InvalidOptionError (synchronously) for options that are not `{ timeout? }` or a bad timeout
   */
  stop(options: StopOptions = {}): Promise<void> {
    const timeoutMs = stopTimeout(options, this.options.shutdownTimeoutMs);
    if (this.state === 'idle') {
      // Kept, so a second stop() finds it and does not run doStop() on a worker that never started.
      this.state = 'stopped';
      this.stopPromise = Promise.resolve();
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
    if (this.state !== 'starting') return; // stop() began while registering
    this.state = 'running';
    if (o.events) {
      this.unsubscribe = o.events.on('enqueued', ({ task }) => {
        if (task.queue === o.queue && this.registry.has(task.type)) this.notify();
      });
    }
    this.beats.start();
    this.loopDone = this.loop();
  }

  private async doStop(timeoutMs: number): Promise<void> {
    // Before awaiting start(): one still registering the worker then returns without starting the loop.
    this.state = 'stopping';
    await this.startPromise?.catch(() => undefined);
    this.unsubscribe?.();
    this.sleeper.wake();
    await this.loopDone;
    await this.slots.handBackWaiting();
    if (this.slots.held > 0) {
      await untilDoneOrTimeout((done) => (this.drained = done), timeoutMs);
      this.drained = undefined;
    }
    this.slots.abandon();
    await Promise.all(this.handingBack);
    await this.beats.stop();
    try {
      await this.store.unregisterWorker(this.workerId);
    } catch (err) {
      if (!isStoreLost(err)) this.options.logger.warn('could not unregister worker', { workerId: this.workerId, error: describeThrown(err) });
    }
    this.state = 'stopped';
  }

  private async loop(): Promise<void> {
    const o = this.options;
    while (this.state === 'running') {
      try {
        const free = this.capacity();
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
        const request = this.claimRequest(free, types);
        const leaseFrom = o.clock.now();
        const claimed = await this.store.claim(request);
        this.errorDelay = 0;
        if (this.state !== 'running') {
          await this.handBack(claimed);
          break;
        }
        for (let i = 0; i < claimed.length; i++) this.slots.admit(claimed[i]!, leaseFrom);
        if (claimed.length >= request.limit) {
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
        this.options.logger[isRetryable(err) ? 'warn' : 'error']('worker claim loop error; retrying', {
          workerId: o.workerId, error: describeThrown(err), retryInMs: this.errorDelay,
        });
        await this.sleep('error', this.errorDelay);
      }
    }
  }

  /** Claims the worker may still take: `concurrency + prefetch` minus those it holds. */
  private capacity(): number {
    return this.options.concurrency + this.options.prefetch - this.slots.held;
  }

  /** `concurrency` and `prefetch` each go to 10,000, so a worker may hold more than one claim can carry. */
  private claimRequest(free: number, types: readonly string[]): ClaimRequest {
    const o = this.options;
    const request: ClaimRequest = { workerId: o.workerId, queue: o.queue, limit: Math.min(free, MAX_CLAIM_LIMIT), leaseMs: o.leaseMs, strategy: o.strategy, capabilities: o.capabilities, types };
    const pinned = this.registry.pinnedTypes();
    if (pinned.length > 0) request.pinnedTypes = pinned;
    return request;
  }

  /**
   * The claim a completion batch freeing `freed` slots may carry. Only while the loop waits for
   * slots: then the loop would claim right after this batch's commit anyway, so one transaction
   * does both. When idle (queue drained) or backing off after an error, the loop keeps its pace.
   */
  private claimAlong(freed: number): RiderClaim | undefined {
    if (this.state !== 'running' || this.sleeper.waitingFor !== 'slots') return undefined;
    const limit = this.capacity() + freed;
    const types = this.registry.types();
    return limit > 0 && types.length > 0 ? { request: this.claimRequest(limit, types), leaseFrom: this.options.clock.now() } : undefined;
  }

  private startClaimedAlong(claimed: readonly ClaimedTask[], leaseFrom: number): void {
    if (this.state === 'running') {
      for (let i = 0; i < claimed.length; i++) this.slots.admit(claimed[i]!, leaseFrom);
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
        if (!isStoreLost(err)) this.options.logger.warn('could not release an unstarted claim; its lease will expire', { taskId: task.id, error: describeThrown(err) });
      })));
  }
}
