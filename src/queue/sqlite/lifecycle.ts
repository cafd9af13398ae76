import { InvalidOptionError, InvalidTaskStateError, TaskNotFoundError } from '../../core/errors';
import { backoffDelayMs } from '../backoff';
import type { AttemptError, CancelOutcome, CompletionItem, FailOutcome, HeartbeatOutcome, Task, TaskProgress } from '../types';
import { MAX_LEASE_MS, MAX_TIME_MS, serializeResult, validateAttemptError, validateFence, validateInteger, validateProgress, validateTaskId } from '../validation';
import { emitIf, guard, type StoreContext } from './context';
import { rowToTask, type TaskRow } from './rows';

/** Extends a lease; reports a lost lease or a requested cancellation. */
export function heartbeat(ctx: StoreContext, taskId: number, token: number, leaseMs: number): HeartbeatOutcome {
  validateFence(taskId, token);
  validateInteger('leaseMs', leaseMs, 1, MAX_LEASE_MS);
  const now = ctx.options.clock.now();
  return heartbeatOutcome(guard('heartbeat', () => ctx.lifecycle.heartbeat.get(now + leaseMs, taskId, token)));
}

/** What the heartbeat statement's row says: no row means the lease (token) is no longer ours. */
export function heartbeatOutcome(row: unknown): HeartbeatOutcome {
  if (row === undefined) return 'lost';
  return (row as { cancel_requested: number }).cancel_requested === 1 ? 'cancel-requested' : 'extended';
}

export function reportProgress(ctx: StoreContext, taskId: number, token: number, progress: TaskProgress): boolean {
  validateFence(taskId, token);
  const json = validateProgress(progress);
  const ok = guard('reportProgress', () => ctx.lifecycle.progress.run(json, taskId, token)).changes === 1;
  if (ok) emitIf(ctx, 'progress', () => ({ taskId, progress: JSON.parse(json) as TaskProgress }));
  return ok;
}

export function complete(ctx: StoreContext, taskId: number, token: number, result: unknown): boolean {
  validateFence(taskId, token);
  const json = serializeResult(result, ctx.options.maxPayloadBytes);
  const now = ctx.options.clock.now();
  if (!ctx.options.events.has('completed')) {
    return guard('complete', () => ctx.lifecycle.complete.run(json, now, taskId, token)).changes === 1;
  }
  const row = guard('complete', () => ctx.lifecycle.completeReturning.get(json, now, taskId, token)) as TaskRow | undefined;
  if (row === undefined) return false;
  ctx.options.events.emit('completed', { task: rowToTask(row) });
  return true;
}

/**
 * A batch of completions, validated and serialized before any write, so one bad result refuses the
 * whole batch with nothing written. {@link PreparedCompletions.write} runs the writes (alone, or
 * inside a caller's transaction); {@link PreparedCompletions.announce} emits 'completed' after the commit.
 */
export interface PreparedCompletions {
  /** True when the batch is written item by item: `write` then needs a transaction around it. */
  readonly perItem: boolean;
  /** Writes the batch; per item, whether its lease was still held. */
  write(): boolean[];
  /** Emits 'completed' for the rows the last `write` completed. */
  announce(): void;
}

/** Validates a batch of completions (see {@link completeMany}). @throws InvalidOptionError naming the bad item field */
export function prepareCompletions(ctx: StoreContext, items: readonly CompletionItem[]): PreparedCompletions {
  if (!Array.isArray(items)) throw new InvalidOptionError('items', items, 'an array of { taskId, token, result? }');
  const prepared = items.map((item) => {
    validateFence(item?.taskId, item?.token);
    return { id: item.taskId, token: item.token, json: serializeResult(item.result, ctx.options.maxPayloadBytes) };
  });
  const now = ctx.options.clock.now();
  const listening = ctx.options.events.has('completed');
  if (!listening) {
    const seen = new Set<number>();
    const rows: [number, number, string | null][] = [];
    for (const p of prepared) {
      if (seen.has(p.id)) break;
      seen.add(p.id);
      rows.push([p.id, p.token, p.json]);
    }
    // The one statement reports held tasks by id, which tells items apart only when each names
    // another task. A task named twice (a worker completing an attempt whose lease its own claim
    // took back, beside the attempt that claim started) goes item by item below, where the current
    // token wins whatever its place and a repeated one is written once, from its first item.
    if (rows.length === prepared.length) {
      const json = JSON.stringify(rows);
      return {
        perItem: false,
        write: () => {
          if (rows.length === 0) return [];
          const held = new Set(ctx.lifecycle.completeBatch.all(now, json) as number[]);
          return prepared.map((p) => held.has(p.id));
        },
        announce: () => undefined,
      };
    }
  }
  const rows: TaskRow[] = [];
  return {
    perItem: true,
    write: () => {
      rows.length = 0;
      return prepared.map((p) => {
        if (!listening) return ctx.lifecycle.complete.run(p.json, now, p.id, p.token).changes === 1;
        // Reading the row back costs a little, so it is only done when someone listens for 'completed'.
        const row = ctx.lifecycle.completeReturning.get(p.json, now, p.id, p.token) as TaskRow | undefined;
        if (row !== undefined) rows.push(row);
        return row !== undefined;
      });
    },
    announce: () => {
      for (const row of rows) ctx.options.events.emit('completed', { task: rowToTask(row) });
    },
  };
}

/**
 * Completes several tasks with one commit instead of one per task (one UPDATE statement for the
 * batch unless a 'completed' listener needs each row read back or the batch names a task twice:
 * then row by row, in one transaction). Each item is fenced like
 * {@link complete}; the flags say which leases were still held. Every item is validated first, so
 * one bad result refuses the whole call and nothing is written.
 */
export function completeMany(ctx: StoreContext, items: readonly CompletionItem[]): boolean[] {
  const batch = prepareCompletions(ctx, items);
  const held = guard('completeMany', () => (batch.perItem ? ctx.db.transaction(batch.write).immediate() : batch.write()));
  batch.announce();
  return held;
}

/**
 * Records a failed attempt. Retryable with attempts left: queued again after the backoff delay.
 * Otherwise the task is dead (`failed`), or `cancelled` when a cancellation was requested meanwhile
 * (the outcome is then 'dead' too: no further attempt will run).
 */
export function fail(ctx: StoreContext, taskId: number, token: number, error: AttemptError): FailOutcome {
  validateFence(taskId, token);
  const { message, retryable } = validateAttemptError(error);
  const now = ctx.options.clock.now();
  const outcome = guard('fail', () =>
    ctx.db.transaction((): { outcome: FailOutcome; row?: TaskRow; runAfter?: number } => {
      const s = ctx.lifecycle.readFailState(taskId, token);
      if (s === undefined) return { outcome: 'lost' };
      if (retryable && s.cancel_requested === 0 && s.attempts < s.max_attempts) {
        const delay = backoffDelayMs(
          s.attempts,
          { baseMs: s.backoff_base_ms, factor: s.backoff_factor, capMs: s.backoff_cap_ms, jitter: s.backoff_jitter },
          ctx.options.random,
        );
        // A huge backoff (base and cap are unbounded durations) must still give a valid Date.
        const runAfter = Math.min(now + delay, MAX_TIME_MS);
        const row = ctx.lifecycle.failRequeue.get(runAfter, message, taskId) as TaskRow;
        return { outcome: 'retry-scheduled', row, runAfter };
      }
      const status = s.cancel_requested === 1 ? 'cancelled' : 'failed';
      const row = ctx.lifecycle.failFinish.get(status, message, now, taskId) as TaskRow;
      return { outcome: 'dead', row };
    }).immediate(),
  );
  if (outcome.row !== undefined) {
    const row = outcome.row;
    const willRetry = outcome.outcome === 'retry-scheduled';
    emitIf(ctx, 'failed', () => ({ task: rowToTask(row), error: message, willRetry }));
    if (willRetry) emitIf(ctx, 'retried', () => ({ task: rowToTask(row), runAfter: new Date(outcome.runAfter!) }));
    else if (row.status === 'cancelled') emitIf(ctx, 'cancelled', () => ({ task: rowToTask(row) }));
    else emitIf(ctx, 'dead', () => ({ task: rowToTask(row), error: message }));
  }
  return outcome.outcome;
}

export function acknowledgeCancel(ctx: StoreContext, taskId: number, token: number): boolean {
  validateFence(taskId, token);
  const now = ctx.options.clock.now();
  const row = guard('acknowledgeCancel', () => ctx.lifecycle.rowsOf(ctx.lifecycle.acknowledgeCancel, now, taskId, token));
  if (row === undefined) return false;
  emitIf(ctx, 'cancelled', () => ({ task: rowToTask(row) }));
  return true;
}

export function release(ctx: StoreContext, taskId: number, token: number): boolean {
  validateFence(taskId, token);
  const now = ctx.options.clock.now();
  const row = guard('release', () => ctx.lifecycle.rowsOf(ctx.lifecycle.release, now, taskId, token));
  if (row === undefined) return false;
  if (row.status === 'cancelled') emitIf(ctx, 'cancelled', () => ({ task: rowToTask(row) }));
  return true;
}

/** Cancels a queued task at once, asks a running one to stop, or reports why nothing changed. */
export function cancel(ctx: StoreContext, taskId: number): CancelOutcome {
  validateTaskId(taskId);
  const now = ctx.options.clock.now();
  const result = guard('cancel', () =>
    ctx.db.transaction((): { outcome: CancelOutcome; row?: TaskRow } => {
      const cancelled = ctx.lifecycle.rowsOf(ctx.lifecycle.cancelQueued, now, taskId);
      if (cancelled !== undefined) return { outcome: 'cancelled', row: cancelled };
      if (ctx.lifecycle.rowsOf(ctx.lifecycle.requestCancel, taskId) !== undefined) return { outcome: 'cancel-requested' };
      return { outcome: ctx.lifecycle.status.get(taskId) === undefined ? 'not-found' : 'already-finished' };
    }).immediate(),
  );
  if (result.row !== undefined) {
    const row = result.row;
    emitIf(ctx, 'cancelled', () => ({ task: rowToTask(row) }));
  }
  return result.outcome;
}

/**
 * Requeues a dead or cancelled task with a fresh attempt budget, ready now. The previous error,
 * result and progress are cleared: the task starts over (the events log keeps the history).
 */
export function retry(ctx: StoreContext, taskId: number): Task {
  validateTaskId(taskId);
  const now = ctx.options.clock.now();
  const row = guard('retry', () =>
    ctx.db.transaction((): TaskRow => {
      const updated = ctx.lifecycle.rowsOf(ctx.lifecycle.retry, now, taskId);
      if (updated !== undefined) return updated;
      const current = ctx.lifecycle.status.get(taskId) as { status: string } | undefined;
      if (current === undefined) throw new TaskNotFoundError(taskId);
      throw new InvalidTaskStateError(taskId, current.status, "a task whose status is 'failed' or 'cancelled'");
    }).immediate(),
  );
  const task = rowToTask(row);
  emitIf(ctx, 'retried', () => ({ task, runAfter: task.runAfter }));
  return task;
}
