import { InvalidOptionError, TaskbridgeError } from '../../core/errors';
import type {
  AttemptError, CancelOutcome, ClaimedTask, CompleteAndClaimResult, CompletingClaimStore, CompletionItem, ClaimRequest, EnqueueRequest, EnqueueResult, FailOutcome, HeartbeatOutcome,
  Task, TaskCounts, TaskFilter, TaskProgress, TaskStatus, TaskStore, WorkerInfo, WorkerRecord,
} from '../types';
import { TASK_STATUSES } from '../types';
import { normalizeListFilter, validateWorkerInfo } from '../query-validation';
import { normalizeEnqueueRequest, validateName, validateTaskId, type NormalizedEnqueue } from '../validation';
import { isMemoryPath, openDatabase } from './connection';
import { emitIf, guard, type StoreContext } from './context';
import { FileGuard, rethrowFileErrors } from './file-guard';
import * as life from './lifecycle';
import { resolveSqliteStoreOptions, type ResolvedSqliteStoreOptions, type SqliteStoreOptions } from './options';
import { ClaimPlan, strategyOrder } from './claims';
import { rowToTask } from './rows';
import { ClaimSql, claimOrder, registerCapabilityFunction } from './sql/claim';
import { EnqueueSql } from './sql/enqueue';
import { LifecycleSql } from './sql/lifecycle';
import { QuerySql, tallyCounts, type TaskState } from './sql/queries';
import { WorkerSql } from './sql/workers';

export type { TaskState } from './sql/queries';

/**
 * The durable queue on one SQLite file (better-sqlite3). Every write runs synchronously inside the
 * call, so a task is persisted before `enqueue()` returns its promise; the promise only reports the
 * outcome. Errors surface as rejected promises. In-process callers that need the synchronous core
 * can use the `*Sync` methods, which throw instead.
 */
export class SqliteTaskStore implements TaskStore, CompletingClaimStore {
  /** Options with defaults applied (path, clock, events, leaseMs default, ...). */
  readonly options: ResolvedSqliteStoreOptions;
  private readonly ctx: StoreContext;
  /** Notices the file being replaced under the store; absent for `:memory:`. */
  private readonly file: FileGuard | undefined;
  private closed = false;

  /** Opens or creates the database. @throws NotADatabaseError, SchemaTooNewError, DatabaseUnavailableError, InvalidOptionError */
  constructor(options: SqliteStoreOptions) {
    this.options = resolveSqliteStoreOptions(options);
    const db = openDatabase(this.options);
    try {
      registerCapabilityFunction(db);
      this.ctx = {
        db, options: this.options,
        enqueue: new EnqueueSql(db), claim: new ClaimSql(db), lifecycle: new LifecycleSql(db),
        queries: new QuerySql(db), workers: new WorkerSql(db),
      };
      this.file = isMemoryPath(db.name) ? undefined : new FileGuard(db, this.options.logger);
      if (this.file) rethrowFileErrors(this, SQL_METHODS, this.file);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private open(): StoreContext {
    if (this.closed) throw new TaskbridgeError('TASKBRIDGE_STORE_CLOSED', `The store for ${this.options.path} is closed`);
    this.file?.check();
    return this.ctx;
  }

  /** Synchronous {@link enqueue}: validates, writes and returns before any other code runs. */
  enqueueSync<P>(request: EnqueueRequest<P>): EnqueueResult<P> {
    const ctx = this.open();
    const now = this.options.clock.now();
    const n = normalizeEnqueueRequest(request, now, this.options.maxPayloadBytes);
    const result = guard('enqueue', () => ctx.enqueue.insertOne(n, now));
    if (result.created) emitIf(ctx, 'enqueued', () => ({ task: result.task }));
    return result as EnqueueResult<P>;
  }

  /** Synchronous {@link enqueueBatch}: all requests are validated first, then written in one transaction. */
  enqueueBatchSync<P>(requests: readonly EnqueueRequest<P>[]): EnqueueResult<P>[] {
    const ctx = this.open();
    if (!Array.isArray(requests)) throw new InvalidOptionError('requests', requests, 'an array of enqueue requests');
    const now = this.options.clock.now();
    const normalized: NormalizedEnqueue[] = requests.map((r, i) => normalizeEnqueueRequest(r, now, this.options.maxPayloadBytes, `requests[${i}]`));
    const results = guard('enqueueBatch', () =>
      ctx.db.transaction(() => ctx.enqueue.insertMany(normalized, now)).immediate(),
    );
    if (ctx.options.events.has('enqueued')) for (const r of results) if (r.created) ctx.options.events.emit('enqueued', { task: r.task });
    return results as EnqueueResult<P>[];
  }

  /** Synchronous {@link claim}. */
  claimSync(request: ClaimRequest): ClaimedTask[] {
    const ctx = this.open();
    const plan = new ClaimPlan(ctx, request);
    // A claim for no types still takes back expired leases: the claim path is where leases are
    // recovered, and a worker whose handlers are all unregistered must not leave them stranded.
    const now = this.options.clock.now();
    return plan.finish(guard('claim', () => ctx.db.transaction(() => plan.run(now)).immediate()));
  }

  /** Synchronous {@link completeAndClaim}. */
  completeAndClaimSync(items: readonly CompletionItem[], request: ClaimRequest): CompleteAndClaimResult {
    const ctx = this.open();
    const completions = life.prepareCompletions(ctx, items);
    const plan = new ClaimPlan(ctx, request);
    const now = this.options.clock.now();
    const { held, rows } = guard('completeAndClaim', () =>
      ctx.db.transaction(() => ({ held: completions.write(), rows: plan.run(now) })).immediate(),
    );
    completions.announce();
    return { held, claimed: plan.finish(rows) };
  }

  /**
   * EXPLAIN QUERY PLAN details of the claim statement this request would run (for level-picking
   * strategies: the within-level claim; `limit: 1` selects the single-row form). Lets tests assert
   * every order is served by an index.
   */
  explainClaim(request: Pick<ClaimRequest, 'strategy'> & Partial<ClaimRequest>): string[] {
    const ctx = this.open();
    const s = request.strategy;
    const level = s.kind === 'level-picking';
    const order = claimOrder('strategy', strategyOrder(s), level);
    return ctx.claim.explain({ order: order.sql, index: order.index, level, types: request.types !== undefined, caps: request.capabilities !== undefined,
      pinned: (request.pinnedTypes?.length ?? 0) > 0, single: level || request.limit === 1 });
  }

  /** EXPLAIN QUERY PLAN details of the expired-lease takeback every claim runs first. */
  explainTakeBack(): string[] {
    return this.open().claim.explainTakeBack();
  }

  heartbeatSync(taskId: number, token: number, leaseMs: number): HeartbeatOutcome { return life.heartbeat(this.open(), taskId, token, leaseMs); }
  reportProgressSync(taskId: number, token: number, progress: TaskProgress): boolean { return life.reportProgress(this.open(), taskId, token, progress); }
  completeSync(taskId: number, token: number, result?: unknown): boolean { return life.complete(this.open(), taskId, token, result); }
  /** Synchronous {@link completeMany}. */
  completeManySync(items: readonly CompletionItem[]): boolean[] { return life.completeMany(this.open(), items); }
  failSync(taskId: number, token: number, error: AttemptError): FailOutcome { return life.fail(this.open(), taskId, token, error); }
  acknowledgeCancelSync(taskId: number, token: number): boolean { return life.acknowledgeCancel(this.open(), taskId, token); }
  releaseSync(taskId: number, token: number): boolean { return life.release(this.open(), taskId, token); }
  cancelSync(taskId: number): CancelOutcome { return life.cancel(this.open(), taskId); }
  retrySync(taskId: number): Task { return life.retry(this.open(), taskId); }

  /** Synchronous {@link get}. */
  getSync(taskId: number): Task | undefined {
    // Anything but a number reached better-sqlite3's binder and surfaced as a raw RangeError/TypeError;
    // NaN, 1.5 or -1 read as "no such task".
    validateTaskId(taskId);
    const row = guard('get', () => this.open().queries.get(taskId));
    return row === undefined ? undefined : rowToTask(row);
  }

  /**
   * The state of each of `taskIds` that exists with one of `statuses` (every status by default;
   * the others are left out, order is not kept), read in one statement per few thousand ids: for a
   * caller following thousands of tasks, where a {@link getSync} per task (a point read and a full
   * Task each) would cost the thread that much.
   * @throws InvalidOptionError for anything but an array of positive integer ids, or statuses that are not a non-empty array of task statuses
   */
  taskStatesSync(taskIds: readonly number[], statuses: readonly TaskStatus[] = TASK_STATUSES): TaskState[] {
    if (!Array.isArray(taskIds)) throw new InvalidOptionError('taskIds', taskIds, 'an array of positive integer task ids');
    for (const id of taskIds) validateTaskId(id);
    if (!Array.isArray(statuses) || statuses.length === 0 || !statuses.every((s) => TASK_STATUSES.includes(s))) {
      throw new InvalidOptionError('statuses', statuses, `a non-empty array of ${TASK_STATUSES.join(', ')}`);
    }
    return guard('taskStates', () => this.open().queries.states(taskIds, JSON.stringify(statuses)));
  }

  /** Synchronous {@link list}. */
  listSync(filter?: TaskFilter): Task[] {
    const shape = normalizeListFilter(filter);
    return guard('list', () => this.open().queries.list(shape)).map(rowToTask);
  }

  /** Synchronous {@link counts}: every status appears in every bucket, zero when empty. */
  countsSync(): TaskCounts {
    const rows = guard('counts', () => this.open().queries.counts());
    return tallyCounts(rows);
  }

  async enqueue<P>(request: EnqueueRequest<P>): Promise<EnqueueResult<P>> { return this.enqueueSync(request); }
  async enqueueBatch<P>(requests: readonly EnqueueRequest<P>[]): Promise<EnqueueResult<P>[]> { return this.enqueueBatchSync(requests); }
  async claim(request: ClaimRequest): Promise<ClaimedTask[]> { return this.claimSync(request); }
  async heartbeat(taskId: number, token: number, leaseMs: number): Promise<HeartbeatOutcome> { return this.heartbeatSync(taskId, token, leaseMs); }
  async reportProgress(taskId: number, token: number, progress: TaskProgress): Promise<boolean> { return this.reportProgressSync(taskId, token, progress); }
  async complete(taskId: number, token: number, result?: unknown): Promise<boolean> { return this.completeSync(taskId, token, result); }
  /**
   * Completes several tasks in one transaction (one commit), each fenced like {@link complete};
   * returns per item whether the lease was still held. One bad result refuses the whole call.
   */
  async completeMany(items: readonly CompletionItem[]): Promise<boolean[]> { return this.completeManySync(items); }
  /**
   * Completes a batch and claims the next tasks in one transaction: a busy worker pays one commit
   * (one turn of the write lock) per batch instead of two. The completions are fenced and
   * validated like {@link completeMany}, the claim like {@link claim}; bad input in either refuses
   * the whole call with nothing written.
   */
  async completeAndClaim(items: readonly CompletionItem[], request: ClaimRequest): Promise<CompleteAndClaimResult> {
    return this.completeAndClaimSync(items, request);
  }
  async fail(taskId: number, token: number, error: AttemptError): Promise<FailOutcome> { return this.failSync(taskId, token, error); }
  async acknowledgeCancel(taskId: number, token: number): Promise<boolean> { return this.acknowledgeCancelSync(taskId, token); }
  async release(taskId: number, token: number): Promise<boolean> { return this.releaseSync(taskId, token); }
  async cancel(taskId: number): Promise<CancelOutcome> { return this.cancelSync(taskId); }
  async retry(taskId: number): Promise<Task> { return this.retrySync(taskId); }
  async get(taskId: number): Promise<Task | undefined> { return this.getSync(taskId); }
  async list(filter?: TaskFilter): Promise<Task[]> { return this.listSync(filter); }
  async counts(): Promise<TaskCounts> { return this.countsSync(); }

  async getByIdempotencyKey(queue: string, key: string): Promise<Task | undefined> {
    validateName('queue', queue);
    validateName('idempotencyKey', key, 1000);
    const row = guard('getByIdempotencyKey', () => this.open().queries.getByKey(queue, key));
    return row === undefined ? undefined : rowToTask(row);
  }

  async registerWorker(info: WorkerInfo): Promise<void> {
    validateWorkerInfo(info);
    guard('registerWorker', () => this.open().workers.register(info, this.options.clock.now()));
  }

  async touchWorker(workerId: string): Promise<void> {
    validateName('workerId', workerId);
    guard('touchWorker', () => this.open().workers.touchWorker(workerId, this.options.clock.now()));
  }

  async unregisterWorker(workerId: string): Promise<void> {
    validateName('workerId', workerId);
    guard('unregisterWorker', () => this.open().workers.unregister(workerId));
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    return guard('listWorkers', () => this.open().workers.list());
  }

  /** Checks now (calls check at most every 250 ms) that the file is still the database opened. @throws DatabaseReplacedError */
  verifyFileSync(): void {
    this.open();
    this.file?.verify();
  }

  /** Closes the connection; later calls reject with TASKBRIDGE_STORE_CLOSED. Idempotent. */
  async close(): Promise<void> {
    this.closeSync();
  }

  /** Synchronous {@link close}, for exit handlers. */
  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.file) this.file.close();
    else this.ctx.db.close();
  }
}

/** Every method that runs SQL itself (the async ones without a `*Sync` twin, and the `*Sync` ones the others call). */
const SQL_METHODS = [
  'enqueueSync', 'enqueueBatchSync', 'claimSync', 'completeAndClaimSync', 'heartbeatSync', 'reportProgressSync', 'completeSync', 'completeManySync', 'failSync',
  'acknowledgeCancelSync', 'releaseSync', 'cancelSync', 'retrySync', 'getSync', 'taskStatesSync', 'listSync', 'countsSync',
  'getByIdempotencyKey', 'registerWorker', 'touchWorker', 'unregisterWorker', 'listWorkers',
] as const;
