import type { Duration } from '../core/duration';
import type { Strategy } from '../strategies/types';

/** Lifecycle of a durable task. `failed` means dead: its last attempt failed (or it failed non-retryably). */
export type TaskStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export const TASK_STATUSES: readonly TaskStatus[] = ['queued', 'running', 'completed', 'failed', 'cancelled'];

/** Exponential backoff between attempts: delay = min(cap, base * factor^(attempt-1)), then jittered. */
export interface BackoffOptions {
  /** Delay before the second attempt. Default `'1s'`. */
  base?: Duration;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Upper bound of a delay. Default `'1h'`. */
  cap?: Duration;
  /** Fraction of the delay drawn at random, 0..1 ("equal jitter" style). Default 0.2. */
  jitter?: number;
}

/** Worker requirements / capabilities: string keys mapped to string values. */
export type Capabilities = Readonly<Record<string, string>>;

/** Options accepted by enqueue. Every field is validated; an unknown key is refused. */
export interface EnqueueOptions {
  /** Named queue. Default `'default'`. */
  queue?: string;
  /** Integer 0..1,000,000; lower runs first under the priority strategy. Default 100. */
  priority?: number;
  /** Run no earlier than now + delay. Exclusive with `runAt`. */
  delay?: Duration;
  /** Run no earlier than this instant. Exclusive with `delay`. */
  runAt?: Date | number;
  /** Attempts before the task is dead, integer 1..1000. Default 3. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** Per-attempt time limit; the handler's signal is aborted and the attempt fails. Default: none. */
  timeout?: Duration;
  /** Unique within the queue: a second enqueue with the same key returns the existing task. */
  idempotencyKey?: string;
  /** Only workers whose capabilities include every pair here may claim the task. */
  requires?: Capabilities;
}

/** One task to enqueue. */
export interface EnqueueRequest<P = unknown> extends EnqueueOptions {
  /** Task type: selects the handler. */
  type: string;
  /** Plain JSON data. Default `null`. */
  payload?: P;
}

/** Progress reported by a running handler. */
export interface TaskProgress {
  percent?: number;
  itemsProcessed?: number;
  itemsTotal?: number;
}

/** A durable task as stored. Times are Dates; absent ones are `null`. */
export interface Task<P = unknown> {
  readonly id: number;
  readonly queue: string;
  readonly type: string;
  readonly payload: P;
  readonly priority: number;
  readonly status: TaskStatus;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly runAfter: Date;
  readonly leaseOwner: string | null;
  readonly leaseExpiresAt: Date | null;
  /** Fencing token: incremented on every claim; writes by an older holder are refused. */
  readonly leaseToken: number;
  readonly cancelRequested: boolean;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly lastError: string | null;
  readonly result: unknown;
  readonly progress: TaskProgress | null;
  readonly idempotencyKey: string | null;
  readonly requires: Capabilities | null;
  readonly timeoutMs: number | null;
  readonly backoff: Required<{ baseMs: number; factor: number; capMs: number; jitter: number }>;
}

/** Result of an enqueue: the task, and whether this call created it (false: idempotency key hit). */
export interface EnqueueResult<P = unknown> {
  readonly task: Task<P>;
  readonly created: boolean;
}

/** A claim request from one worker. */
export interface ClaimRequest {
  workerId: string;
  /** Default `'default'`. */
  queue?: string;
  /** How many tasks to claim at most, integer >= 1. */
  limit: number;
  /**
   * Lease length from claim time, in ms. Default: the store's own default (the SQLite store's
   * `leaseDefaults.lease`, 30 s unless set). A `Worker` always names its `leaseDuration` here.
   */
  leaseMs?: number;
  strategy: Strategy;
  /** What this worker offers; tasks with `requires` it does not satisfy are skipped. */
  capabilities?: Capabilities;
  /** Only claim these types (the worker's registered handlers). Default: any. `[]` claims nothing but still takes back expired leases. */
  types?: readonly string[];
  /**
   * Types of which only tasks whose `requires` this claim's `capabilities` satisfy are claimed,
   * never tasks without requirements: for a worker that can run some tasks of a type only because
   * they were pinned to it (sqlite mode pins a run started with only a closure to its process),
   * and must leave the type's other tasks to workers that have its handler. Default: none.
   */
  pinnedTypes?: readonly string[];
}

/** A task handed to a worker with the fencing token it must present on every write. */
export interface ClaimedTask<P = unknown> {
  readonly task: Task<P>;
  readonly token: number;
}

/** Outcome of a heartbeat: lease extended, lost to another worker, or cancellation requested. */
export type HeartbeatOutcome = 'extended' | 'lost' | 'cancel-requested';

/** Outcome of a failed attempt. */
export type FailOutcome = 'retry-scheduled' | 'dead' | 'lost';

/** Outcome of cancel(): queued tasks are cancelled at once; running ones are asked to stop. */
export type CancelOutcome = 'cancelled' | 'cancel-requested' | 'already-finished' | 'not-found';

/** Filter and paging for list(). */
export interface TaskFilter {
  /** One status or a non-empty list of them; left out, every status. An empty list is refused (InvalidOptionError). */
  status?: TaskStatus | readonly TaskStatus[];
  type?: string;
  queue?: string;
  /** Default 100, max 10,000. */
  limit?: number;
  offset?: number;
  /** Default 'desc' by id (newest first). */
  order?: 'asc' | 'desc';
}

/** Counts for dashboards and stats. */
export interface TaskCounts {
  readonly byStatus: Readonly<Record<TaskStatus, number>>;
  readonly byType: Readonly<Record<string, Readonly<Record<TaskStatus, number>>>>;
  readonly byQueue: Readonly<Record<string, Readonly<Record<TaskStatus, number>>>>;
  readonly total: number;
}

/** Error info a worker reports for a failed attempt. */
export interface AttemptError {
  message: string;
  /** false skips the remaining attempts. Default true. */
  retryable?: boolean;
}

/** What a worker says about itself when it registers (the workers table). */
export interface WorkerInfo {
  readonly workerId: string;
  readonly pid: number;
  readonly hostname: string;
  readonly queue: string;
  readonly concurrency: number;
  readonly strategy: string;
  readonly capabilities: Capabilities;
}

/** A registered worker with its heartbeat times. */
export interface WorkerRecord extends WorkerInfo {
  readonly startedAt: Date;
  readonly lastSeenAt: Date;
}

/**
 * The durable queue, backend-neutral. Every method returns a promise so a networked backend
 * (PostgreSQL) can implement the same interface; the SQLite store settles them at once.
 * Writes that carry a `token` are fenced: they succeed only while the caller holds the lease.
 */
export interface TaskStore {
  enqueue<P>(request: EnqueueRequest<P>): Promise<EnqueueResult<P>>;
  /** All or nothing, in one transaction. */
  enqueueBatch<P>(requests: readonly EnqueueRequest<P>[]): Promise<EnqueueResult<P>[]>;
  /** Atomically leases up to `limit` ready tasks in strategy order; expired leases are taken back first. */
  claim(request: ClaimRequest): Promise<ClaimedTask[]>;
  heartbeat(taskId: number, token: number, leaseMs: number): Promise<HeartbeatOutcome>;
  reportProgress(taskId: number, token: number, progress: TaskProgress): Promise<boolean>;
  /** Marks the task completed; false when the lease was lost. */
  complete(taskId: number, token: number, result?: unknown): Promise<boolean>;
  /** Records a failed attempt: retry with backoff, or dead after the last attempt. */
  fail(taskId: number, token: number, error: AttemptError): Promise<FailOutcome>;
  /** Acknowledges a cancellation the worker observed (cancel-requested -> cancelled). */
  acknowledgeCancel(taskId: number, token: number): Promise<boolean>;
  /** Hands back a claimed task that was never started; the attempt is not counted. */
  release(taskId: number, token: number): Promise<boolean>;
  cancel(taskId: number): Promise<CancelOutcome>;
  /** Requeues a dead (failed) or cancelled task with a fresh attempt budget. */
  retry(taskId: number): Promise<Task>;
  get(taskId: number): Promise<Task | undefined>;
  getByIdempotencyKey(queue: string, key: string): Promise<Task | undefined>;
  list(filter?: TaskFilter): Promise<Task[]>;
  counts(): Promise<TaskCounts>;
  /** Inserts or refreshes a worker row (its heartbeat). */
  registerWorker(info: WorkerInfo): Promise<void>;
  touchWorker(workerId: string): Promise<void>;
  unregisterWorker(workerId: string): Promise<void>;
  listWorkers(): Promise<WorkerRecord[]>;
  close(): Promise<void>;
}

/** One fenced completion in a batch: the task, the token of the lease that ran it, and its result. */
export interface CompletionItem {
  readonly taskId: number;
  readonly token: number;
  readonly result?: unknown;
}

/**
 * Optional store capability: completes several tasks in one transaction, so a busy worker pays
 * one commit per batch instead of one per task. Each item is fenced like `complete()`; the
 * returned flags say which were still held. A task may be named more than once (a worker can
 * settle an attempt whose lease was taken back beside the attempt that followed): each item is
 * written as if alone, in order, so only the current token completes it and an exact repeat reports
 * lost. A store without it gets one `complete()` per task.
 */
export interface BatchCompletingStore {
  completeMany(items: readonly CompletionItem[]): Promise<boolean[]>;
}

/** What {@link CompletingClaimStore.completeAndClaim} did: per item whether its lease was held, and the new claims. */
export interface CompleteAndClaimResult {
  readonly held: boolean[];
  readonly claimed: ClaimedTask[];
}

/**
 * Optional store capability: completes a batch and claims the next tasks in one transaction, so a
 * busy worker takes the write lock once per batch instead of twice. A worker whose store lacks it
 * completes and claims separately.
 */
export interface CompletingClaimStore {
  completeAndClaim(items: readonly CompletionItem[], request: ClaimRequest): Promise<CompleteAndClaimResult>;
}
