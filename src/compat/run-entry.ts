import type { TaskWork } from '../manager/types';
import type { Task } from '../queue/types';

/** One run of a sqlite-mode manager while it is active. */
export interface RunEntry {
  readonly runId: string;
  readonly taskId: number;
  readonly moduleId: string;
  /** The closure given to startTask; absent for runs adopted after a restart. */
  readonly work: TaskWork | undefined;
  /** Created on first use: most runs never read their signal, and one AbortController per run shows in profiles. */
  readonly controller: AbortController;
  /** True once this process's worker began the run (its registry updates come from here). */
  local: boolean;
  /** Enqueued with this executor's owner capability: no other process can claim it. */
  pinned: boolean;
  cancelled: boolean;
  startedAtMs?: number;
  /** Resolves when the run settled here, or was seen settled in the store. */
  readonly settled: Promise<void>;
  resolve(): void;
  done: boolean;
}

/** A fresh entry for a run that is queued in the store as `taskId`. */
export function createRunEntry(runId: string, taskId: number, moduleId: string, work: TaskWork | undefined, pinned = false): RunEntry {
  let resolve!: () => void;
  const settled = new Promise<void>((r) => (resolve = r));
  let controller: AbortController | undefined;
  return {
    runId, taskId, moduleId, work, local: false, pinned, cancelled: false, settled, resolve, done: false,
    get controller() {
      return (controller ??= new AbortController());
    },
  };
}

/** True for a task that will not change any more. */
export function isFinishedTask(task: Task): boolean {
  return task.status === 'completed' || task.status === 'failed' || task.status === 'cancelled';
}

/** True when any of the entries has not settled. */
export function hasActive(entries: Iterable<RunEntry>): boolean {
  for (const e of entries) if (!e.done) return true;
  return false;
}

const linked = new WeakSet<RunEntry>();

/**
 * The run's signal, following `workerSignal` (lease lost, timeout, worker stopped) from the first
 * call on; an abort that happened before that call is applied at once.
 */
export function linkedSignal(e: RunEntry, workerSignal: AbortSignal): AbortSignal {
  if (!linked.has(e)) {
    linked.add(e);
    if (workerSignal.aborted) e.controller.abort(workerSignal.reason);
    else workerSignal.addEventListener('abort', () => e.controller.abort(workerSignal.reason), { once: true });
  }
  return e.controller.signal;
}
