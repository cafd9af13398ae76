import type { Logger } from '../core/logger';
import { describeThrown } from '../manager/run-lifecycle';
import { isFinishedStatus, type RunRegistry } from '../manager/run-registry';
import type { Run } from '../manager/types';
import type { SqliteTaskStore } from '../queue/sqlite/store';
import type { Task } from '../queue/types';
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
  leasedHere(task: Task): boolean;
  /** Ends a run whose store is lost for good (database file replaced): it can never run or be read. */
  storeLost(entry: RunEntry, err: unknown): void;
}

/**
 * Whether a poll reads the entry from the store. A run pinned to this process that has not started
 * here can only change elsewhere by being cancelled or failed as an orphan; while the worker has
 * no free slot it would not claim it anyway, so reading it (one point read per queued run, every
 * poll: ~5,000 reads and a ~70 ms stall with a 5,000-run backlog) buys nothing. Once a slot is free,
 * the worker claims every claimable pinned run, and the ones it cannot claim are read again here.
 */
export function needsRead(e: RunEntry, workerSaturated: boolean): boolean {
  if (e.done || e.local) return false;
  return !(e.pinned && workerSaturated);
}

/**
 * One poll: follows runs that are not executing in this process (run by another process, or
 * queued) and brings their registry record and settlement in line with the store.
 */
export function syncRemoteRuns(entries: Iterable<RunEntry>, d: RemoteSyncDeps): void {
  for (const e of entries) {
    if (needsRead(e, d.workerSaturated)) syncRemoteRun(e, d);
  }
}

/**
 * Reads one run that is not executing here from the store and brings the registry in line: a
 * finished task settles it (its outcome written unless the run was cancelled here or started again), one running
 * in another process marks it running. Returns true when the run settled. A read the store refuses is logged and
 * changes nothing.
 */
export function syncRemoteRun(e: RunEntry, d: Omit<RemoteSyncDeps, 'workerSaturated'>): boolean {
  let task: Task | undefined;
  try {
    task = d.store.getSync(e.taskId);
  } catch (err) {
    // No later call can succeed: following the run would keep waitAll (and the poll) going forever.
    if (isStoreLost(err) && !e.local) {
      d.storeLost(e, err);
      return true;
    }
    d.logger.warn('could not read a run from the queue', { runId: e.runId, error: describeThrown(err) });
    return false;
  }
  if (task === undefined || e.local) return false;
  if (isFinishedStatus(task.status)) {
    // Settled before the outcome is written: a registry listener must see a finished run inactive.
    d.settle(e);
    if (!e.cancelled && !e.superseded) d.update(e.runId, outcomeFields(task));
    return true;
  }
  // Leased here but not local: claimed ahead (prefetch) and not begun, so still `queued` (the
  // contract's `running` means the work began); the dispatch writes `running` when it starts.
  if (task.status === 'running' && !d.leasedHere(task) && !e.cancelled && !e.superseded && d.registry.getRun(e.runId)?.status === 'queued') {
    d.update(e.runId, outcomeFields(task));
  }
  return false;
}
