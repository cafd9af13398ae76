import type { Duration } from '../core/duration';
import { TaskbridgeError, describeThrown, describeValue, errorText } from '../core/errors';
import type { HandlerContext } from './handler-registry';
import type { AttemptError, ClaimedTask, Task, TaskProgress } from './types';

/**
 * Lifecycle of a {@link Worker}: it runs once; a stopped worker cannot be started again. A start()
 * that fails (the store refused to register the worker) returns it to `idle`, so start() can be retried.
 */
export type WorkerState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

/** Options of `Worker.stop()`. */
export interface StopOptions {
  /** How long to wait for running handlers before aborting them. Default the worker's `shutdownTimeout`. */
  timeout?: Duration;
}

/** Abort reason when a heartbeat found the task cancelled; the worker then acknowledges the cancel. */
export class TaskCancelledError extends TaskbridgeError {
  constructor(readonly taskId: number) {
    super('TASKBRIDGE_CANCELLED', `Task ${taskId} was cancelled while running`);
  }
}

/** Abort reason when another worker took the lease over; this worker's result is dropped. */
export class LeaseLostError extends TaskbridgeError {
  constructor(readonly taskId: number) {
    super('TASKBRIDGE_LEASE_LOST', `Task ${taskId}: the lease was lost; the result of this attempt is dropped`);
  }
}

/** Abort reason when `stop()` reached its deadline; the lease expires and another worker retries. */
export class WorkerStoppedError extends TaskbridgeError {
  constructor(readonly taskId: number) {
    super('TASKBRIDGE_WORKER_STOPPED', `Task ${taskId}: the worker stopped before the handler finished`, { retryable: true });
  }
}

/**
 * Where one claimed task stands inside the worker. Only `running` and `cancel-requested` may still
 * write to the store; the other states mean the attempt is over for this worker.
 */
export type ExecutionState = 'running' | 'cancel-requested' | 'timed-out' | 'lost' | 'abandoned';

/**
 * One claimed task while its handler runs. The AbortController is created only when the handler
 * reads `ctx.signal`, because most handlers never do and the controller costs more than the rest
 * of the bookkeeping on the noop hot path.
 */
export class Execution implements HandlerContext {
  state: ExecutionState = 'running';
  /** True once its handler was called; a claim that ends without running it never starts. */
  started = false;
  settled = false;
  /** Things still outstanding before the slot frees: the handler, plus any write in flight. */
  holds = 1;
  timer: NodeJS.Timeout | undefined;
  /**
   * When the lease runs out as far as this worker knows (worker clock, ms): claim request time plus
   * the lease, moved on by each heartbeat the store answered. A waiting claim past it never starts:
   * with heartbeats failing, the store may already have handed the task to another worker.
   */
  leaseUntil: number;
  private controller: AbortController | undefined;
  private abortReason: unknown;
  private aborted = false;
  /** A bound function so a handler may destructure it from the context. */
  readonly reportProgress = (progress: TaskProgress): Promise<boolean> => this.progressWriter(this, progress);

  constructor(
    readonly claimed: ClaimedTask,
    /** When the task was claimed, and from its start when the handler started, by the worker's clock. */
    public startedAt: number,
    leaseUntil: number,
    private readonly progressWriter: (execution: Execution, progress: TaskProgress) => Promise<boolean>,
  ) {
    this.leaseUntil = leaseUntil;
  }

  get taskId(): number {
    return this.claimed.task.id;
  }

  get attempt(): number {
    return this.claimed.task.attempts;
  }

  get task(): Task {
    return this.claimed.task;
  }

  get token(): number {
    return this.claimed.token;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  /** True while this worker may still write the task's outcome. */
  get writable(): boolean {
    return this.state === 'running' || this.state === 'cancel-requested';
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }

  clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

/**
 * Turns whatever a handler threw into what the store records; non-Error throws are described, not
 * lost. Never throws: a value that cannot be read (a revoked Proxy, a throwing getter) would
 * otherwise leave the attempt unsettled and its slot taken until the lease ran out.
 */
export function toAttemptError(thrown: unknown): AttemptError {
  try {
    const retryable = (thrown as { retryable?: unknown } | null | undefined)?.retryable !== false;
    if (thrown instanceof Error) return { message: errorText(thrown), retryable };
    return { message: `Non-Error thrown: ${describeValue(thrown)}`, retryable };
  } catch {
    return { message: `Non-Error thrown: ${describeThrown(thrown)}`, retryable: true };
  }
}
