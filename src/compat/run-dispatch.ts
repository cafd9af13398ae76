import { NonRetryableError, isError } from '../core/errors';
import { closingFields, describeThrown, updateRunSafely, validateProgress } from '../manager/run-lifecycle';
import type { Run, TaskContext, TaskWork } from '../manager/types';
import type { HandlerContext } from '../queue/handler-registry';
import type { Task } from '../queue/types';
import { toAttemptError } from '../queue/worker-types';
import { closureGoneMessage } from './recovery';
import { runIdOf } from './run-payload';
import { linkedSignal, type RunEntry, type RunTable } from './run-entry';
import type { SqliteRunExecutorOptions } from './sqlite-executor';

/** What {@link RunDispatch} needs from its sqlite-mode executor. */
export interface RunDispatchOptions
  extends Pick<SqliteRunExecutorOptions, 'registry' | 'handlers' | 'clock' | 'logger' | 'activeElsewhere' | 'pollIntervalMs'> {
  /** The executor's runs; a claimed task is executed as the run it belongs to. */
  runs: RunTable;
  /** True, with the cancel written now, for a task whose run was cancelled here while the store refused the write. */
  refuseUnrecordedCancel(task: Task): boolean;
  /** Makes a claimed task this executor does not follow one of its runs, when it can (see RunRecovery.adoptClaimed). */
  adoptClaimed(task: Task): void;
}

/**
 * Executes the tasks this process's worker claims in sqlite mode: the run's closure if this
 * process has it, else its module's registered handler. It writes the local run's lifecycle to the
 * registry and tells the queue what follows by what it throws: a NonRetryableError ends the task,
 * any other error lets the queue retry it after its backoff.
 */
export class RunDispatch {
  constructor(private readonly o: RunDispatchOptions) {}

  /** The worker handler of every module. */
  readonly handle = async (_payload: unknown, ctx: HandlerContext): Promise<null> => {
    const task = ctx.task;
    if (this.o.refuseUnrecordedCancel(task)) throw new NonRetryableError(`Run ${task.idempotencyKey ?? task.id} was cancelled`);
    // A task this executor does not follow yet: one it did not start (recovered, or from another process).
    if (this.o.runs.ofTask(task.id) === undefined) {
      await this.untilNotActiveElsewhere(task, ctx.signal);
      this.o.adoptClaimed(task);
    }
    const e = this.o.runs.ofTask(task.id);
    // A superseded task: its run was started again (a newer task is the run), so its work never begins.
    if (e === undefined || e.cancelled || e.superseded) throw new NonRetryableError(`Run ${task.idempotencyKey ?? `task:${task.id}`} was cancelled`);
    const { runId } = e;
    const work = e.work ?? this.handlerWork(runId, e.moduleId);
    if (work === undefined) {
      const message = closureGoneMessage(runId, e.moduleId);
      this.finish(e, { status: 'failed', errorMessage: message });
      throw new NonRetryableError(message);
    }
    e.local = true;
    e.startedAtMs = this.o.clock.now();
    this.update(e, { status: 'running', startedAt: new Date(e.startedAtMs) });
    const taskCtx: TaskContext = {
      runId,
      // Wired to the worker's signal only if read: two AbortSignals per run showed in the drain's profile.
      get signal() {
        return linkedSignal(e, ctx.signal);
      },
      reportProgress: (p) => {
        const patch = validateProgress(p);
        if (e.cancelled || e.done) return;
        this.update(e, patch);
        void ctx.reportProgress(p).catch(() => undefined);
      },
    };
    try {
      await work(taskCtx);
    } catch (err) {
      if (e.cancelled) return this.cancelledOutcome(e);
      const message = describeThrown(err);
      // The worker's own reading of the error: one marked `retryable: false` is never retried.
      if (this.o.handlers.policy(e.moduleId).retryFailures && ctx.attempt < task.maxAttempts && toAttemptError(err).retryable) {
        this.o.logger.warn('run attempt failed; the queue retries it after its backoff', { runId, attempt: ctx.attempt, maxAttempts: task.maxAttempts, error: message });
        // Back to queued with the attempt's error, and followed through the store again: the retry
        // may be claimed here or by another process that registered the module's handler.
        e.local = false;
        this.update(e, { status: 'queued', errorMessage: `attempt ${ctx.attempt} of ${task.maxAttempts} failed: ${message}` });
        throw isError(err) ? err : new Error(message);
      }
      this.o.logger.error('run failed', { runId, error: message });
      this.finish(e, { status: 'failed', errorMessage: message });
      // Without retryFailures a failure of the work is final, as in memory mode; only crashes use the extra attempts.
      throw new NonRetryableError(message);
    }
    if (e.cancelled) return this.cancelledOutcome(e);
    // An earlier attempt's error (retryFailures) is history, not the outcome of a completed run.
    this.finish(e, { status: 'completed', exitCode: 0, errorMessage: undefined });
    return null;
  };

  /**
   * A claimed task of a run id this process runs outside the queue (a canary's memory side, while a
   * process with other canary settings started the id on the queue) waits, its lease held and
   * heartbeated, until that run has ended: adopted at once, the registry's one record of the id
   * followed two runs, and the queue run's parameters replaced the memory run's. Recovery waits the
   * same way (SqliteRunExecutorOptions.activeElsewhere). A cancel, timeout or stop of the task ends
   * the wait with the worker's reason.
   */
  private async untilNotActiveElsewhere(task: Task, signal: AbortSignal): Promise<void> {
    const elsewhere = this.o.activeElsewhere;
    if (elsewhere === undefined) return;
    const runId = runIdOf(task.idempotencyKey, task.payload);
    if (runId === null || !elsewhere(runId)) return;
    this.o.logger.info('claimed run waits: this process runs its id outside the queue', { runId, taskId: task.id });
    while (elsewhere(runId)) {
      signal.throwIfAborted();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.o.pollIntervalMs);
        function done(): void {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done);
      });
    }
    signal.throwIfAborted();
  }

  /** The module's registered handler bound to the run's record (read only then: a copy per run). */
  private handlerWork(runId: string, moduleId: string): TaskWork | undefined {
    const handler = this.o.handlers.get(moduleId);
    const run = handler && this.o.registry.getRun(runId);
    return run ? (c) => handler!(run, c) : undefined;
  }

  /** A cancelled run's work settled: the queue records `cancelled` through fail() on a cancel-requested task. */
  private cancelledOutcome(e: RunEntry): never {
    this.o.runs.settle(e);
    throw new NonRetryableError(`Run ${e.runId} was cancelled`);
  }

  /** Settled first: a registry listener that sees the run finish must find it inactive (see MemoryRunExecutor). */
  private finish(e: RunEntry, patch: Partial<Run>): void {
    this.o.runs.settle(e);
    this.update(e, { ...patch, ...closingFields(this.o.clock.now(), e.startedAtMs) });
  }

  /** Writes the run's record, unless a newer task of its run id has become the run meanwhile. */
  private update(e: RunEntry, patch: Partial<Run>): void {
    if (!e.superseded) updateRunSafely(this.o.registry, this.o.logger, e.runId, patch);
  }
}
