import type { Logger } from '../core/logger';
import { describeThrown } from '../manager/run-lifecycle';
import { isFinishedStatus, type RunRegistry } from '../manager/run-registry';
import type { Run } from '../manager/types';
import type { SqliteTaskStore, TaskState } from '../queue/sqlite/store';
import { TASK_STATUSES, type Task, type TaskStatus } from '../queue/types';
import { isStoreLost } from '../queue/worker-writes';
import type { RunEntry } from './run-entry';
import { outcomeFields } from './run-payload';

/** What {@link syncRemoteRuns} needs from its executor. */
export interface RemoteSyncDeps {
  store: SqliteTaskStore;
  registry: RunRegistry;
  logger: Logger;
  /** True while this process's worker runs as many runs as it may (no free slot to claim with). */
  workerSaturated: boolean;
  update(runId: string, patch: Partial<Run>): void;
  settle(entry: RunEntry): void;
  /** True when one of this process's workers holds the task's lease (claimed, maybe not started). */
  leasedHere(task: Pick<Task, 'leaseOwner'>): boolean;
  /** Ends a run whose store is lost for good (database file replaced): it can never run or be read. */
  storeLost(entry: RunEntry, err: unknown): void;
}

/**
 * Whether a poll reads the entry from the store. A run pinned to this process that has not started
 * here can only change elsewhere by being cancelled or failed as an orphan; while the worker has
 * no free slot it would not claim it anyway, so reading it buys nothing and only lengthens every
 * poll's read. Once a slot is free, the worker claims every claimable pinned run, and the ones it
 * cannot claim are read again here.
 */
export function needsRead(e: RunEntry, workerSaturated: boolean): boolean {
  if (e.done || e.local) return false;
  return !(e.pinned && workerSaturated);
}

/**
 * The statuses a poll acts on. A queued task changes nothing here, and a backlog is mostly queued:
 * leaving those rows in the store instead of building them is most of what the batched read saves.
 */
const CHANGED: readonly TaskStatus[] = TASK_STATUSES.filter((s) => s !== 'queued');

/** What following one run needs: a poll's deps but the worker's saturation, which only picks the runs to read. */
type FollowDeps = Omit<RemoteSyncDeps, 'workerSaturated'>;

/** The store's view of a run's task that a poll decides from: a whole Task, or the state a batched read returns. */
type StoredTask = Parameters<typeof outcomeFields>[0] & Pick<Task, 'leaseOwner'>;

/**
 * One poll: follows runs that are not executing in this process (run by another process, or
 * queued) and brings their registry record and settlement in line with the store. Their states are
 * read together (a few statements however long the backlog), not with a point read per run: that
 * was ~50 ms of the main thread per poll with 5,000 queued runs and ~220 ms with 20,000, more than
 * the 200 ms poll interval (bench/README.md, ninth session). A read the store refuses is logged and
 * changes nothing (the next poll reads again); a lost store ends every run the poll followed.
 */
export function syncRemoteRuns(entries: Iterable<RunEntry>, d: RemoteSyncDeps): void {
  const due: RunEntry[] = [];
  for (const e of entries) if (needsRead(e, d.workerSaturated)) due.push(e);
  if (due.length === 0) return;
  let states: TaskState[];
  try {
    states = d.store.taskStatesSync(due.map((e) => e.taskId), CHANGED);
  } catch (err) {
    if (!isStoreLost(err)) {
      d.logger.warn('could not read the runs from the queue', { runs: due.length, error: describeThrown(err) });
      return;
    }
    for (const e of due) if (!e.done) endLost(e, err, d);
    return;
  }
  const byTask = new Map<number, TaskState>();
  for (const s of states) byTask.set(s.id, s);
  for (const e of due) {
    const stored = byTask.get(e.taskId);
    // done: settled by an earlier run's settlement in this poll (a registry listener may cancel or restart runs).
    if (stored !== undefined && !e.done) follow(e, stored, d);
  }
}

/**
 * Reads one run that is not executing here from the store and brings the registry in line, as a
 * poll does. Returns true when the run settled. A read the store refuses is logged and changes nothing.
 */
export function syncRemoteRun(e: RunEntry, d: FollowDeps): boolean {
  let task: Task | undefined;
  try {
    task = d.store.getSync(e.taskId);
  } catch (err) {
    if (endLost(e, err, d)) return true;
    d.logger.warn('could not read a run from the queue', { runId: e.runId, error: describeThrown(err) });
    return false;
  }
  return task !== undefined && follow(e, task, d);
}

/**
 * The one decision, from the store's view of the run's task: a finished task settles the run (its
 * outcome written unless the run was cancelled here or started again), one running in another
 * process marks it running. Returns true when the run settled.
 */
function follow(e: RunEntry, stored: StoredTask, d: FollowDeps): boolean {
  if (e.local) return false;
  if (isFinishedStatus(stored.status)) {
    // Settled before the outcome is written: a registry listener must see a finished run inactive.
    d.settle(e);
    if (!e.cancelled && !e.superseded) d.update(e.runId, outcomeFields(stored));
    return true;
  }
  // Leased here but not local: claimed ahead (prefetch) and not begun, so still `queued` (the
  // contract's `running` means the work began); the dispatch writes `running` when it starts.
  if (stored.status === 'running' && !e.cancelled && !e.superseded && d.registry.getRun(e.runId)?.status === 'queued' && !d.leasedHere(stored)) {
    d.update(e.runId, outcomeFields(stored));
  }
  return false;
}

/** Ends a run that is not executing here when `err` says the store is lost: no later read can succeed, and following it would keep waitAll (and the poll) going forever. */
function endLost(e: RunEntry, err: unknown, d: FollowDeps): boolean {
  if (!isStoreLost(err) || e.local) return false;
  d.storeLost(e, err);
  return true;
}
