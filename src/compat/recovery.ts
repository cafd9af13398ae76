import { describeThrown } from '../manager/run-lifecycle';
import type { Run } from '../manager/types';
import type { MirrorStore } from '../queue/sqlite/mirror-store';
import type { Task } from '../queue/types';
import { OWNER_CAPABILITY, RUN_QUEUE, SHADOW_QUEUE, runFromRow } from './run-payload';
import type { SqliteRunExecutorOptions } from './sqlite-executor';

export { OWNER_CAPABILITY } from './run-payload';

/** Extra attempts an adopted shadow run gets in the work queue. */
const ADOPTED_ATTEMPTS = 3;

/** Options of {@link RunRecovery}. */
export interface RunRecoveryOptions
  extends Pick<SqliteRunExecutorOptions, 'store' | 'side' | 'registry' | 'handlers' | 'clock' | 'logger' | 'leaseMs'> {
  owner: string;
  /** Makes a recovered run one of this manager's active runs. */
  adopt(task: Task, run: Run): void;
}

/**
 * Owners (executor identities) with a worker seen within two leases: a run pinned to one of them
 * still has its closure in a live process.
 */
export function liveOwners(side: MirrorStore, now: number, leaseMs: number): Set<string> {
  const owners = new Set<string>();
  for (const caps of side.liveWorkerCapabilities(now - 2 * leaseMs)) {
    const owner = caps[OWNER_CAPABILITY];
    if (owner !== undefined) owners.add(owner);
  }
  return owners;
}

/** Why a run pinned to a process that ended cannot run: recorded as its error, so it names the remedy. */
export function closureGoneMessage(runId: string, moduleId: string): string {
  return `Run ${runId} of module ${moduleId} cannot run: the closure passed to startTask is gone (its process ended) and no handler is registered for module ${moduleId}; use manager.registerHandler(moduleId, handler)`;
}

/** Rebuilds the legacy run record of a task this process did not start. */
export function runFromTask(task: Task): Run {
  return runFromRow({
    key: task.idempotencyKey, type: task.type, status: task.status === 'running' ? 'queued' : task.status,
    createdAt: task.createdAt, startedAt: null, finishedAt: task.finishedAt, lastError: task.lastError, payload: task.payload,
  });
}

/**
 * Finds runs whose process is gone and gives each a future: resumed by a registered handler
 * (crash recovery, and shadow runs handed to the queue at cutover), or failed with a message
 * that says why when nothing can run them (never silently dropped).
 */
export class RunRecovery {
  private sweepTimer: NodeJS.Immediate | undefined;

  constructor(private readonly o: RunRecoveryOptions) {}

  /**
   * Sweeps once, on the next turn: handlers registered right after the manager was built are in
   * place by then, so their runs are resumed rather than failed.
   */
  scheduleSweep(): void {
    if (this.o.side === undefined) return;
    // Ref'd on purpose: it runs once on the next turn (so even a process that exits right away
    // settles the orphans it can see) and leaves nothing behind on the event loop.
    this.sweepTimer = setImmediate(() => this.sweep());
  }

  stop(): void {
    if (this.sweepTimer !== undefined) clearImmediate(this.sweepTimer);
  }

  /** Adopts unfinished runs of `moduleId` that no live process owns (see class doc). */
  recoverModule(moduleId: string, known: (runId: string) => boolean): void {
    const side = this.o.side;
    if (side === undefined) return;
    try {
      const live = this.liveOwners(side);
      // Shadow runs interrupted by a dead shadow-mode process move into the work queue once.
      for (const row of side.listOrphans(SHADOW_QUEUE)) {
        if (row.type === moduleId && row.key !== null && !known(row.key)) side.adopt(row.id, RUN_QUEUE, ADOPTED_ATTEMPTS);
      }
      const tasks = this.o.store.listSync({ status: ['queued', 'running'], type: moduleId, queue: RUN_QUEUE, limit: 10_000 });
      for (const task of tasks) {
        const runId = task.idempotencyKey;
        if (runId === null || known(runId)) continue;
        const pin = task.requires?.[OWNER_CAPABILITY];
        if (pin !== undefined && pin !== this.o.owner) {
          if (live.has(pin)) continue; // another live process holds the closure
          side.clearRequires(task.id);
        }
        this.o.adopt(task, runFromTask(task));
      }
    } catch (err) {
      this.o.logger.error('could not recover runs from the queue', { moduleId, error: describeThrown(err) });
    }
  }

  /** A task the worker claimed that this manager does not track: adopt it so the registry answers. */
  adoptClaimed(task: Task): void {
    const run = runFromTask(task);
    if (run.runId === '') return;
    this.o.adopt(task, run);
  }

  /**
   * Fails pinned runs whose owner process is gone and whose module has no handler here: their
   * closure died with that process and nothing else can run them.
   */
  private sweep(): void {
    const side = this.o.side;
    if (side === undefined) return;
    try {
      const live = this.liveOwners(side);
      const tasks = this.o.store.listSync({ status: ['queued', 'running'], queue: RUN_QUEUE, limit: 10_000 });
      for (const task of tasks) {
        const pin = task.requires?.[OWNER_CAPABILITY];
        if (pin === undefined || pin === this.o.owner || live.has(pin) || this.o.handlers.has(task.type)) continue;
        const message = closureGoneMessage(task.idempotencyKey ?? String(task.id), task.type);
        if (side.failOrphan(task.id, message)) {
          this.o.logger.error('run failed: closure gone and no handler', { runId: task.idempotencyKey, taskId: task.id, moduleId: task.type });
        }
      }
    } catch (err) {
      this.o.logger.warn('orphan sweep failed; it runs again at the next start', { error: describeThrown(err) });
    }
  }

  /** The live owners, this executor always among them. */
  private liveOwners(side: MirrorStore): Set<string> {
    return liveOwners(side, this.o.clock.now(), this.o.leaseMs).add(this.o.owner);
  }
}
