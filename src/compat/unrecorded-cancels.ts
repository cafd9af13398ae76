import type { Logger } from '../core/logger';
import { describeThrown } from '../manager/run-lifecycle';
import type { SqliteTaskStore } from '../queue/sqlite/store';
import type { CancelOutcome, Task } from '../queue/types';

/**
 * Writes sqlite mode's cancellations to the queue, and keeps the ones the store refused (busy,
 * full): such a run is cancelled in the registry while its task may still be queued, so the task
 * must never run when a worker claims it or recovery finds it, and the write is tried again then.
 */
export class UnrecordedCancels {
  /** Task id to run id. */
  private readonly byTask = new Map<number, string>();

  constructor(
    private readonly store: SqliteTaskStore,
    private readonly logger: Logger,
  ) {}

  /** Writes a cancellation to the queue; on 'error' (logged) the cancel is kept to be written again. */
  write(taskId: number, runId: string): CancelOutcome | 'error' {
    const outcome = this.tryWrite(taskId, runId);
    if (outcome === 'error') this.byTask.set(taskId, runId);
    return outcome;
  }

  /** True when the task's cancel is still to be written. */
  has(taskId: number): boolean {
    return this.byTask.has(taskId);
  }

  /** Run ids cancelled here whose cancel is still to be written. */
  runIds(): Set<string> {
    return new Set(this.byTask.values());
  }

  /**
   * True for a task whose run was cancelled here while the store refused the write: the write is
   * tried again now, and the task must never run (`claimed`: this process's worker holds it).
   */
  refuse(task: Task, claimed: boolean): boolean {
    const runId = this.byTask.get(task.id);
    if (runId === undefined) return false;
    const outcome = this.tryWrite(task.id, runId);
    // Kept until this process's worker refused the task (claimed) or the queue holds it as ended: a
    // refused write leaves it queued, and a cancel-requested one may be waiting in this worker.
    if (claimed || (outcome !== 'error' && outcome !== 'cancel-requested')) this.byTask.delete(task.id);
    return true;
  }

  private tryWrite(taskId: number, runId: string): CancelOutcome | 'error' {
    try {
      return this.store.cancelSync(taskId);
    } catch (err) {
      this.logger.error('could not record a cancellation in the queue', { runId, error: describeThrown(err) });
      return 'error';
    }
  }
}
