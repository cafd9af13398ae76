import type { TaskWork } from '../manager/types';

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
  /**
   * A newer task of the same run id became the run (it was started again while this task settled,
   * here or in another process): this entry's outcome is history and must not reach the registry.
   */
  superseded: boolean;
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
    runId, taskId, moduleId, work, local: false, pinned, cancelled: false, superseded: false, settled, resolve, done: false,
    get controller() {
      return (controller ??= new AbortController());
    },
  };
}

/**
 * The runs a sqlite-mode executor follows until they settle, found by run id and by task.
 * By run id holds the latest run of each id; by task holds every unsettled run, including one
 * cancelled and restarted under the same id whose first task is still settling: waitAll, the
 * store sync and the first cancelTask must still see that one.
 */
export class RunTable {
  private readonly byRun = new Map<string, RunEntry>();
  private readonly byTask = new Map<number, RunEntry>();

  /** Follows a run; it replaces (supersedes) an earlier run of the same id by id, not by task. */
  add(entry: RunEntry): void {
    const earlier = this.byRun.get(entry.runId);
    if (earlier !== undefined && earlier !== entry) earlier.superseded = true;
    this.byRun.set(entry.runId, entry);
    this.byTask.set(entry.taskId, entry);
  }

  /** The latest unsettled run of the id. */
  current(runId: string): RunEntry | undefined {
    return this.byRun.get(runId);
  }

  has(runId: string): boolean {
    return this.byRun.has(runId);
  }

  /** The unsettled run that the task belongs to. */
  ofTask(taskId: number): RunEntry | undefined {
    return this.byTask.get(taskId);
  }

  /** Marks the run settled, stops following it and resolves its `settled`. Idempotent. */
  settle(e: RunEntry): void {
    if (e.done) return;
    e.done = true;
    if (this.byRun.get(e.runId) === e) this.byRun.delete(e.runId);
    this.byTask.delete(e.taskId);
    e.resolve();
  }

  /** How many runs have not settled. */
  get size(): number {
    return this.byTask.size;
  }

  /** Every unsettled run; a run settled during the iteration is skipped, not an error. */
  unsettled(): IterableIterator<RunEntry> {
    return this.byTask.values();
  }

  /** Ids of the runs queued or running and not cancelled. */
  activeRunIds(): string[] {
    const ids: string[] = [];
    for (const e of this.byRun.values()) if (!e.cancelled) ids.push(e.runId);
    return ids;
  }

  isActive(runId: string): boolean {
    const e = this.byRun.get(runId);
    return e !== undefined && !e.cancelled;
  }

  /** Resolves once every run followed now, and any added meanwhile, has settled. */
  async waitAll(): Promise<void> {
    while (this.byTask.size > 0) await Promise.all([...this.byTask.values()].map((e) => e.settled));
  }
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
