import fs from 'node:fs';
import type { Clock } from '../core/clock';
import type { Logger } from '../core/logger';
import { CLEARED_OUTCOME, describeThrown } from '../manager/run-lifecycle';
import type { RunRegistry } from '../manager/run-registry';
import type { Run, RunExecutor, RunHandlerOptions, TaskWork } from '../manager/types';
import { isMemoryPath } from '../queue/sqlite/connection';
import { openMirrorStore, type MirrorStore, type StoredRunRow } from '../queue/sqlite/mirror-store';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from '../queue/worker-options';
import type { RunHandler, RunHandlerMap } from './handlers';
import { aliveOwners, OWNER_CAPABILITY } from './recovery';
import { planRollbackFromStore, type RollbackPlan } from './rollback';
import { closeExecutor, type ClosableExecutor, type HandlerCapable } from './routing';
import { RUN_QUEUE, SHADOW_QUEUE, fromPayload, moduleIdOf, runFromRow, runIdOf } from './run-payload';
import { leaseBoundContext, TakenOverRuns } from './taken-over-runs';

/** Options of {@link TakeoverExecutor}. */
export interface TakeoverOptions {
  dbPath: string;
  clock: Clock;
  logger: Logger;
  leaseMs: number;
  handlers: RunHandlerMap;
  /** How long close() waits for taken-over runs; default {@link TAKEOVER_CLOSE_TIMEOUT_MS}. */
  closeTimeoutMs?: number;
  /** Called once, when the executor first opens the queue file: from then on it has something to close. */
  onFileOpened?: () => void;
}

/**
 * How long close() waits for taken-over runs to settle: the queue Worker's default shutdown
 * timeout, which is how long sqlite mode's close waits for its running handlers.
 */
export const TAKEOVER_CLOSE_TIMEOUT_MS = DEFAULT_SHUTDOWN_TIMEOUT_MS;

/**
 * The in-memory executor after a rollback: it runs new work exactly like `memory` mode, and when a
 * handler is registered it takes over the runs that a queue file still holds for that module
 * (queued, or interrupted by a dead process), leasing each so no other process runs it too, and
 * writing the outcome back. A cancellation requested in the queue meanwhile (`taskbridge cancel`
 * from another process) is seen at the next lease renewal and cancels the run as cancelTask would;
 * the task is then recorded `cancelled`, not its result. A lease lost meanwhile aborts the run's
 * signal. {@link TakenOverRuns} keeps those leases and writes the outcomes back. It never creates
 * the file: without one there is nothing to take over.
 */
export class TakeoverExecutor implements ClosableExecutor, HandlerCapable {
  private side: MirrorStore | undefined;
  private readonly owner = `rollback-${process.pid}-${Math.random().toString(16).slice(2, 10)}`;
  private readonly taken: TakenOverRuns;
  private lookTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly inner: RunExecutor,
    private readonly registry: RunRegistry,
    private readonly o: TakeoverOptions,
  ) {
    this.taken = new TakenOverRuns({ registry, logger: o.logger, leaseMs: o.leaseMs, inner });
  }

  start(run: Run, work: TaskWork): void {
    this.inner.start(run, work);
  }

  cancel(runId: string): Promise<boolean> {
    return this.inner.cancel(runId);
  }

  waitAll(): Promise<void> {
    return this.inner.waitAll();
  }

  activeRunIds(): string[] {
    return this.inner.activeRunIds();
  }

  isActive(runId: string): boolean {
    return this.inner.isActive(runId);
  }

  /**
   * Registers the module's handler and takes over that module's waiting runs from the queue file
   * (see {@link takeOverModule}); from then on it looks again once per lease period.
   */
  registerHandler(moduleId: string, handler: RunHandler, options?: RunHandlerOptions): void {
    this.o.handlers.set(moduleId, handler, options);
    this.takeOver([moduleId]);
    this.lookEachLease();
  }

  /**
   * Looks again once per lease period, for as long as the executor is open: in a rolling rollback a
   * run is still held by a sqlite-mode process when the first look happens (running, or queued by
   * it), and that process's runs are left in the file when it stops or dies. Unref'd: a look never
   * keeps the process up.
   */
  private lookEachLease(): void {
    if (this.lookTimer !== undefined || this.closing !== undefined) return;
    this.lookTimer = setInterval(() => this.takeOver(this.o.handlers.moduleIds()), this.o.leaseMs);
    this.lookTimer.unref();
  }

  /**
   * One look over `moduleIds` (see {@link takeOverModule}): the worker table and each queue's
   * orphans are read once for all the modules, not once per module.
   */
  private takeOver(moduleIds: readonly string[]): void {
    if (moduleIds.length === 0 || this.closing !== undefined) return;
    const side = this.openSide();
    if (side === undefined) return;
    let alive: Set<string>;
    let rows: StoredRunRow[];
    try {
      alive = aliveOwners(side, this.o.clock.now(), this.o.leaseMs);
      // Newest first, as recovery reads them: of two unfinished tasks of one run id (a run started
      // again while its previous task was unsettled), the newer is the run.
      rows = [...side.listOrphans(RUN_QUEUE), ...side.listOrphans(SHADOW_QUEUE)].sort((a, b) => b.id - a.id);
    } catch (err) {
      this.o.logger.error('rollback takeover failed; the runs stay in the queue', { moduleIds, error: describeThrown(err) });
      return;
    }
    for (const moduleId of moduleIds) this.takeOverModule(side, moduleId, alive, rows);
  }

  /**
   * Takes over the module's runs that the queue file holds and no live process owns: queued, or
   * interrupted (an expired lease), and neither pinned to nor started by a process that is alive,
   * which runs them itself. None once close() has begun: a closing executor must not lease runs it
   * would not see through.
   * @param alive the owners whose process is alive
   * An older unfinished task of a run id whose newer task this look also found is never run: it is
   * ended `failed` as superseded (when no live process owns it), or a later look, once the newer run
   * ended, would run the replaced run's work again.
   * @param rows the orphans of the work and shadow queues, of every module, newest first
   */
  private takeOverModule(side: MirrorStore, moduleId: string, alive: ReadonlySet<string>, rows: readonly StoredRunRow[]): void {
    const handler = this.o.handlers.get(moduleId);
    if (handler === undefined || this.closing !== undefined) return;
    try {
      const cancelRequested: string[] = [];
      /** The newest task found of each run id: the run. */
      const newest = new Map<string, number>();
      for (const row of rows) {
        if (moduleIdOf(row.type, row.payload) !== moduleId) continue;
        // By its run id, which a task of a run started again does not have as its key.
        const runId = runIdOf(row.key, row.payload);
        if (runId === null || runId === '') continue;
        const newer = newest.get(runId);
        if (newer === undefined) newest.set(runId, row.id);
        if (newer === undefined && this.inner.isActive(runId)) continue;
        const pin = row.requires?.[OWNER_CAPABILITY];
        const starter = fromPayload(row.payload).owner;
        if ((pin !== undefined && alive.has(pin)) || (starter !== undefined && alive.has(starter))) continue;
        const lease = side.takeOver(row.id, this.owner, this.o.leaseMs);
        if (lease === undefined) continue;
        const { token } = lease;
        if (newer !== undefined) {
          side.settleTakenOver(row.id, token, 'failed', `superseded by task ${newer} of the same run id (started again); never run`);
          continue;
        }
        // Built only for a row taken over: most looks take none, as other processes still hold them.
        const run = runFromRow({ ...row, status: 'queued', startedAt: null, finishedAt: null, lastError: null });
        // A record the registry already holds (an earlier run of the id in this process) is replaced,
        // as startTask replaces it: the earlier run's error, progress and exit code are not this run's.
        if (this.registry.getRun(run.runId) === undefined) this.registry.addRun(run);
        else this.registry.updateRun(run.runId, { ...CLEARED_OUTCOME, ...run });
        const leaseLost = this.taken.add(run.runId, row.id, token);
        this.o.logger.info('rollback: took over a run from the queue', { runId: run.runId, moduleId });
        this.inner.start(run, (ctx) => handler(run, leaseBoundContext(ctx, leaseLost)));
        if (lease.cancelRequested) cancelRequested.push(run.runId);
      }
      if (this.taken.size > 0) this.taken.watch(side);
      // Cancelled by `taskbridge cancel` while a process that is now gone ran it. The memory executor
      // starts work on the next turn, so a cancel now means the handler never begins; after
      // taken.watch(), so the subscription records the run `cancelled` under this lease's token.
      for (const runId of cancelRequested) this.taken.cancel(runId, 'rollback: a taken-over run was cancelled in the queue before it could run');
    } catch (err) {
      this.o.logger.error('rollback takeover failed; the runs stay in the queue', { moduleId, error: describeThrown(err) });
    }
  }

  /** What the queue file still holds, with this manager's handlers. Empty without a file. */
  rollbackReport(): RollbackPlan | undefined {
    const side = this.openSide();
    return side === undefined ? undefined : planRollbackFromStore(side, this.o.dbPath, { handledModules: this.o.handlers.moduleIds(), clock: this.o.clock });
  }

  /**
   * Waits for the taken-over runs to settle, as sqlite mode's close waits for its running handlers,
   * so each outcome is written back to the queue file (their leases are renewed meanwhile), then
   * closes the file. The wait ends after `closeTimeoutMs` ({@link TAKEOVER_CLOSE_TIMEOUT_MS}): a run
   * still unsettled then keeps running in memory (memory mode never aborts work on shutdown), but its
   * outcome is no longer written back; the file keeps it `running` under a lease that is no longer
   * renewed, so once the lease expires another process recovers it and runs it again. Runs started
   * with startTask are not waited for, as in memory mode (waitAll drains them). Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    clearInterval(this.lookTimer);
    this.lookTimer = undefined;
    await this.taken.settled(this.o.closeTimeoutMs ?? TAKEOVER_CLOSE_TIMEOUT_MS);
    this.taken.stop();
    this.side?.close();
    this.side = undefined;
    await closeExecutor(this.inner);
  }

  private openSide(): MirrorStore | undefined {
    if (this.side !== undefined) return this.side;
    // After close() nothing may reopen the file: nobody would close it again.
    if (this.closing !== undefined) return undefined;
    if (isMemoryPath(this.o.dbPath) || !fs.existsSync(this.o.dbPath)) return undefined;
    try {
      this.side = openMirrorStore(this.o.dbPath, this.o.clock);
      this.o.onFileOpened?.();
    } catch (err) {
      this.o.logger.error('rollback: cannot open the queue file to take over its runs', { dbPath: this.o.dbPath, error: describeThrown(err) });
    }
    return this.side;
  }
}
