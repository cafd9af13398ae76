import type { Clock } from '../core/clock';
import type { Logger } from '../core/logger';
import { CLEARED_OUTCOME, closingFields, describeThrown, updateRunSafely } from '../manager/run-lifecycle';
import { isFinishedStatus, type RunRegistry } from '../manager/run-registry';
import type { Run, RunHandlerOptions, TaskWork } from '../manager/types';
import type { MirrorStore } from '../queue/sqlite/mirror-store';
import type { SqliteTaskStore } from '../queue/sqlite/store';
import type { EnqueueResult, Task } from '../queue/types';
import type { Strategy } from '../strategies/types';
import type { RunHandler, RunHandlerMap, RunRetryPolicy } from './handlers';
import { RUN_QUEUE, runKey, runRequest, taskType } from './run-payload';
import type { ClosableExecutor, HandlerCapable } from './routing';
import { closureGoneMessage, newOwnerId, ownerProcessGone, RunRecovery, OWNER_CAPABILITY } from './recovery';
import { RunDispatch } from './run-dispatch';
import { RunWorker } from './run-worker';
import { createRunEntry, RunTable, type RunEntry } from './run-entry';
import { NewestTasks } from './newest-tasks';
import { UnrecordedCancels } from './unrecorded-cancels';
import { syncRemoteRun, syncRemoteRuns, type RemoteSyncDeps } from './remote-sync';

/** Options of {@link SqliteRunExecutor}. */
export interface SqliteRunExecutorOptions {
  store: SqliteTaskStore;
  /** Second connection to the same file for the compat-only writes; undefined for `:memory:`. */
  side: MirrorStore | undefined;
  registry: RunRegistry;
  handlers: RunHandlerMap;
  clock: Clock;
  logger: Logger;
  strategy: Strategy;
  concurrency: number;
  leaseMs: number;
  pollIntervalMs: number;
  /**
   * True for a run id this process runs outside the queue (a canary's memory side): recovery leaves
   * the queue's run of that id until the other one ended, so one registry record never follows two runs.
   */
  activeElsewhere?: (runId: string) => boolean;
}

/**
 * `sqlite` mode (cutover): a run is persisted before startTask returns, started when the strategy
 * picks it under the concurrency limit, leased and heartbeated by a {@link Worker}, and recovered
 * after a crash when a handler for its module is registered. The registry keeps answering: local
 * runs update it directly, runs executed by another process are synced from the store.
 */
export class SqliteRunExecutor implements ClosableExecutor, HandlerCapable {
  /** Identity of this executor: the capability that pins closure-only runs to this process. */
  readonly owner = newOwnerId();
  private readonly runs = new RunTable();
  private readonly newestTasks: NewestTasks;
  private readonly cancels: UnrecordedCancels;
  private readonly worker: RunWorker;
  private syncTimer: NodeJS.Timeout | undefined;
  private recoverTimer: NodeJS.Timeout | undefined;
  private serving = false;
  private readonly recovery: RunRecovery;
  private readonly dispatch: RunDispatch;
  private closed = false;
  /** Tasks this executor created under a key other than their run id (see enqueueFresh). */
  private restarts = 0;

  constructor(private readonly o: SqliteRunExecutorOptions) {
    this.cancels = new UnrecordedCancels(o.store, o.logger);
    this.newestTasks = new NewestTasks((runId) => o.registry.getRun(runId) !== undefined);
    this.recovery = new RunRecovery({ ...o, owner: this.owner, adopt: (task, run) => this.adopt(task, run) });
    this.recovery.scheduleSweep();
    this.worker = new RunWorker({ ...o, owner: this.owner });
    this.dispatch = new RunDispatch({
      ...o, runs: this.runs,
      refuseUnrecordedCancel: (task) => this.cancels.refuse(task, true),
      adoptClaimed: (task) => this.recovery.adoptClaimed(task),
    });
  }

  start(run: Run, work: TaskWork): void {
    const pinned = !this.o.handlers.has(run.moduleId);
    const policy = this.o.handlers.policy(run.moduleId);
    const request = runRequest(run, this.owner, policy, pinned);
    let result = this.o.store.enqueueSync(request);
    if (!result.created && isFinishedStatus(result.task.status)) {
      // The same run id started again after it finished: a new task, the old one keeps its history.
      if (this.o.side?.retireKey(RUN_QUEUE, runKey(run.runId))) result = this.o.store.enqueueSync(request);
      else result = this.enqueueFresh(run, policy, pinned);
    } else if (
      !result.created &&
      (this.cancels.refuse(result.task, false) || this.leasedHere(result.task) || this.runs.ofTask(result.task.id) !== undefined)
    ) {
      // The previous run of this id settled here (finished or cancelled) but its outcome is not in
      // the store yet (completions are batched, or the cancel write was refused), or it was cancelled
      // here and another process is still stopping it: attaching to that task would report its old
      // outcome for the new run and never run the new work.
      result = this.enqueueFresh(run, policy, pinned);
    } else if (!result.created && this.pinnedToGoneProcess(result.task)) {
      // Started again by the process that replaced a crashed one (a restart re-issuing its jobs):
      // only the dead process could claim that task, so attached to it the new work never ran. The
      // new run gets a task of its own; the old one is failed now, or, while a lease still holds
      // it, by the orphan sweep later.
      this.o.side?.failOrphan(result.task.id, closureGoneMessage(run.runId, run.moduleId));
      result = this.enqueueFresh(run, policy, pinned);
    }
    this.track(run.runId, result.task.id, run.moduleId, work, pinned && result.task.requires?.[OWNER_CAPABILITY] === this.owner);
  }

  /** True for a task pinned to another executor whose process has certainly ended (its closure with it). */
  private pinnedToGoneProcess(task: Task): boolean {
    const pin = task.requires?.[OWNER_CAPABILITY];
    return pin !== undefined && pin !== this.owner && ownerProcessGone(pin);
  }

  /**
   * Enqueues the run as a task of its own, for a run id whose own key is taken, under a key no task
   * has yet: this executor's owner id (unique to it) and a count of its restarts. A time in the key
   * repeated within one millisecond (or under a clock that stands still), and the second restart
   * then attached to the first one's task.
   */
  private enqueueFresh(run: Run, policy: RunRetryPolicy, pinned: boolean): EnqueueResult {
    this.restarts += 1;
    const key = runKey(`${run.runId}#${this.owner}-${this.restarts}`);
    return this.o.store.enqueueSync(runRequest(run, this.owner, policy, pinned, key));
  }

  async cancel(runId: string): Promise<boolean> {
    const entry = this.runs.current(runId);
    if (entry === undefined || entry.cancelled) return false;
    const outcome = this.cancels.write(entry.taskId, runId);
    // Another process finished (or cancelled) the run before the next poll brought it here.
    if (outcome === 'already-finished' && !entry.local && syncRemoteRun(entry, this.syncDeps)) return false;
    entry.cancelled = true;
    this.update(runId, { status: 'cancelled', ...closingFields(this.o.clock.now(), entry.startedAtMs) });
    if (entry.local) entry.controller.abort(new Error('cancelled'));
    // Leased but not started: prefetched by this process's worker (ended here at once), or run elsewhere.
    else if (outcome !== 'cancel-requested' || this.worker.cancelWaiting(entry.taskId)) this.runs.settle(entry);
    await entry.settled;
    return true;
  }

  /** Waits for every run of this manager, then stops the idle worker so the process can exit. */
  async waitAll(): Promise<void> {
    // Stopping the worker awaits the store: a run started meanwhile is one started while waiting.
    do {
      await this.runs.waitAll();
      await this.stopWorkerIfIdle();
    } while (this.runs.size > 0);
  }

  activeRunIds(): string[] {
    return this.runs.activeRunIds();
  }

  isActive(runId: string): boolean {
    return this.runs.isActive(runId);
  }

  /**
   * Registers the durable handler of a module: its runs become resumable after a restart and
   * runnable by any process that registered it. Unfinished runs of the module that the queue
   * holds and no live process owns are adopted by this manager (waitAll waits for them).
   */
  registerHandler(moduleId: string, handler: RunHandler, options?: RunHandlerOptions): void {
    this.o.handlers.set(moduleId, handler, options);
    this.ensureType(moduleId);
    this.recoverAll();
    this.recoverEachLease();
    if (this.runs.size > 0 || this.serving) this.ensureWorker();
  }

  /**
   * Keeps a worker running for good (a dedicated worker process): it claims runs of the registered
   * modules from any process and looks for orphaned runs every lease period, until close().
   */
  serve(): void {
    this.serving = true;
    this.ensureWorker();
  }

  /** Stops the worker (waiting for running handlers) and closes the stores. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.serving = false;
    this.recovery.stop();
    clearInterval(this.syncTimer);
    clearInterval(this.recoverTimer);
    this.syncTimer = undefined;
    await this.worker.stop();
    this.o.side?.close();
    await this.o.store.close();
  }

  /** An unfinished task still leased by one of this executor's workers. */
  private leasedHere(task: Task): boolean {
    return !isFinishedStatus(task.status) && this.worker.holdsLease(task);
  }

  private track(runId: string, taskId: number, moduleId: string, work: TaskWork | undefined, pinned = false): void {
    this.runs.add(createRunEntry(runId, taskId, moduleId, work, pinned));
    this.newestTasks.note(runId, taskId);
    this.ensureType(moduleId);
    this.ensureWorker();
    this.ensureSync();
  }

  private recoverAll(): void {
    const cancelled = this.cancels.runIds();
    const elsewhere = this.o.activeElsewhere ?? (() => false);
    this.recovery.recoverModules(this.o.handlers.moduleIds(), (runId) => this.runs.has(runId) || cancelled.has(runId) || elsewhere(runId));
  }

  /**
   * A run this manager did not start (recovered after a restart): registry record and entry. By task
   * as well as by run id: the fresh task of a run started again carries a suffixed key, which is no
   * run id, and a task whose cancel is still to be written must never run.
   */
  private adopt(task: Task, run: Run): void {
    if (this.runs.ofTask(task.id) !== undefined || this.cancels.has(task.id)) return;
    // A task of a run that settled here (its outcome not in the store yet), or an older task of a
    // run id started again since: the newer task is the run, and this one never runs.
    if (this.newestTasks.seen(run.runId, task.id)) return;
    // Newer than any task of the id here: a new run (started again elsewhere, perhaps after an
    // earlier run of the id ended here), so nothing of an earlier run's record may stay.
    if (this.o.registry.getRun(run.runId) === undefined) this.o.registry.addRun(run);
    else this.update(run.runId, { ...CLEARED_OUTCOME, ...run });
    this.track(run.runId, task.id, run.moduleId, undefined);
  }

  private ensureType(moduleId: string): void {
    this.worker.handle(taskType(moduleId), this.dispatch.handle, !this.o.handlers.has(moduleId));
  }

  private ensureWorker(): void {
    if (this.closed) return;
    this.worker.ensure();
  }

  /**
   * Looks for runs of the registered modules whose process died, once per lease period until
   * close(), busy or idle: an idle process with the handler must take a dead process's runs over
   * before a process without it fails them (after two leases) as closures that are gone. Unref'd:
   * never the reason a process stays up.
   */
  private recoverEachLease(): void {
    if (this.recoverTimer !== undefined || this.closed) return;
    this.recoverTimer = setInterval(() => this.recoverAll(), this.o.leaseMs);
    this.recoverTimer.unref();
  }

  private async stopWorkerIfIdle(): Promise<void> {
    if (this.runs.size > 0 || this.serving) return;
    clearInterval(this.syncTimer);
    this.syncTimer = undefined;
    await this.worker.stop();
  }

  /**
   * Runs not executing here are followed in the store; ref'd only while such runs exist. Never once
   * close() began: a run started while it waits for the worker is in the file for the next process,
   * and a poll of the closed store would keep this process up for good.
   */
  private ensureSync(): void {
    if (this.syncTimer !== undefined || this.closed) return;
    this.syncTimer = setInterval(() => this.syncRemote(), this.o.pollIntervalMs);
  }

  private syncRemote(): void {
    if (this.runs.size === 0) {
      void this.stopWorkerIfIdle();
      return;
    }
    syncRemoteRuns(this.runs.unsettled(), { ...this.syncDeps, workerSaturated: this.worker.saturated() });
  }

  /** How the store's view of a run reaches the registry: by the poll, and by a cancel that finds it ended. */
  private get syncDeps(): Omit<RemoteSyncDeps, 'workerSaturated'> {
    return {
      store: this.o.store, registry: this.o.registry, logger: this.o.logger,
      update: (runId, patch) => this.update(runId, patch), settle: (e) => this.runs.settle(e),
      leasedHere: (task) => this.worker.holdsLease(task),
      storeLost: (e, err) => this.failLost(e, err),
    };
  }

  /**
   * A run waiting in a database file that was replaced (the store already logged why): nothing can
   * claim it any more, so it fails with the store's error, as startTask now throws it, and settles.
   */
  private failLost(e: RunEntry, err: unknown): void {
    this.runs.settle(e);
    if (!e.cancelled && !e.superseded) {
      const errorMessage = describeThrown(err);
      this.o.logger.error('run failed: its queue database is gone', { runId: e.runId, error: errorMessage });
      this.update(e.runId, { status: 'failed', errorMessage, ...closingFields(this.o.clock.now(), e.startedAtMs) });
    }
  }

  private update(runId: string, patch: Partial<Run>): void {
    updateRunSafely(this.o.registry, this.o.logger, runId, patch);
  }
}
