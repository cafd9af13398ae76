import type { Run, RunExecutor, RunHandlerOptions, TaskWork } from '../manager/types';
import type { TaskbridgeConfig } from './config';
import type { RunHandler } from './handlers';

/**
 * The bucket 0..99 of a run id: FNV-1a 32-bit over the UTF-16 code units. Stable across
 * processes, versions and restarts, so a run never changes sides when a process restarts and
 * raising the percentage only adds runs to the queue side.
 */
export function rolloutBucket(runId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < runId.length; i++) {
    hash ^= runId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % 100;
}

/** Decides, per run, whether the canary sends it to the queue. */
export type RoutePredicate = (run: Pick<Run, 'runId' | 'moduleId'>) => boolean;

/**
 * The canary rule: a run goes to the queue when its module is listed (or no list is given) AND
 * its runId bucket is below the rollout percent. Both narrow, so the runbook can start with one
 * module and then widen by percent.
 */
export function canaryPredicate(config: Pick<TaskbridgeConfig, 'sqliteModules' | 'rolloutPercent'>): RoutePredicate {
  const modules = new Set(config.sqliteModules);
  const percent = config.rolloutPercent;
  return (run) => (modules.size === 0 || modules.has(run.moduleId)) && rolloutBucket(run.runId) < percent;
}

/** An executor that may also take durable handlers (sqlite mode, and rollback takeover). */
export interface HandlerCapable {
  registerHandler(moduleId: string, handler: RunHandler, options?: RunHandlerOptions): void;
}

/** An executor the compat layer can flush and close. */
export interface ClosableExecutor extends RunExecutor {
  /** Flushes pending writes, stops timers and workers, closes stores. Idempotent. */
  close(): Promise<void>;
}

/** True when the executor takes durable handlers (the plain memory executor does not). */
export function hasHandlers(e: RunExecutor): e is RunExecutor & HandlerCapable {
  return typeof (e as Partial<HandlerCapable>).registerHandler === 'function';
}

/** Closes the executor when it has anything to close (the plain memory executor has not). */
export async function closeExecutor(e: RunExecutor): Promise<void> {
  const closable = e as Partial<ClosableExecutor>;
  if (typeof closable.close === 'function') await closable.close();
}

/** The route map is never pruned below this many entries: pruning a small map saves nothing. */
const PRUNE_FLOOR = 1024;

/**
 * Sends each run to one of two executors (the canary). Which side a run started here took is
 * remembered for {@link RoutingRunExecutor.routeOf}; cancel and status questions ask both sides,
 * since the queue side also holds runs this process never started. Finished runs are forgotten now
 * and then, so a long-lived canary does not keep one entry per run it ever started.
 */
export class RoutingRunExecutor implements ClosableExecutor, HandlerCapable {
  /** Run id to the side that started it; may still hold runs that finished since the last prune. */
  private readonly side = new Map<string, RunExecutor>();
  /** The map's size at which the next prune happens (see {@link RoutingRunExecutor.prune}). */
  private pruneAt = PRUNE_FLOOR;

  /**
   * @param queueSide the durable (sqlite) executor
   * @param restSide the executor for every other run (memory or shadow)
   * @param toQueue the canary rule
   */
  constructor(
    readonly queueSide: RunExecutor,
    readonly restSide: RunExecutor,
    private readonly toQueue: RoutePredicate,
  ) {}

  start(run: Run, work: TaskWork): void {
    const target = this.toQueue(run) ? this.queueSide : this.restSide;
    target.start(run, work);
    // Overwrites the route of an earlier run with this id, pruned or not: the newest start routes it.
    this.side.set(run.runId, target);
    if (this.side.size > this.pruneAt) this.prune();
  }

  /**
   * Cancels the run on every side that holds it active, not only on the side its start here took:
   * the queue side also runs ids it adopted (recovered from a gone process, or claimed after another
   * process, whose canary config differs, started them), so an id's remembered side may hold only an
   * ended run of it while the live one is on the other side, or both sides may hold one. A side
   * cancels only runs it has active, so no run is cancelled twice. Both are asked at once: each
   * aborts and marks its run before its first await, as a cancelTask does.
   */
  async cancel(runId: string): Promise<boolean> {
    const answers = await Promise.all([this.queueSide.cancel(runId), this.restSide.cancel(runId)]);
    return answers.includes(true);
  }

  async waitAll(): Promise<void> {
    await Promise.all([this.queueSide.waitAll(), this.restSide.waitAll()]);
  }

  /** Each active run id once, also one active on both sides (see {@link RoutingRunExecutor.cancel}). */
  activeRunIds(): string[] {
    return [...new Set([...this.queueSide.activeRunIds(), ...this.restSide.activeRunIds()])];
  }

  isActive(runId: string): boolean {
    return this.queueSide.isActive(runId) || this.restSide.isActive(runId);
  }

  /**
   * Which side a run started here went to: `'queue'` or `'rest'`. Always answered for a run that is
   * still active. For a finished run the answer is kept only until the next prune of the route map
   * (after roughly as many more starts as runs were kept), then it is undefined, as for a run this
   * executor never started (such as one the queue side recovered from the file). It names the side of
   * the run started here even when the queue side has since adopted a newer run of the id; cancel and
   * isActive look at both sides.
   */
  routeOf(runId: string): 'queue' | 'rest' | undefined {
    const target = this.side.get(runId);
    return target === undefined ? undefined : target === this.queueSide ? 'queue' : 'rest';
  }

  /**
   * Registers the handler on the queue side, which recovers the module's runs the queue holds.
   * The rest side gets it only when the queue side takes no handlers: its rollback takeover would
   * otherwise lease those same runs and run them in memory, where a cancelTask routed to the
   * queue side can neither abort them nor keep their `cancelled` status.
   */
  registerHandler(moduleId: string, handler: RunHandler, options?: RunHandlerOptions): void {
    if (hasHandlers(this.queueSide)) this.queueSide.registerHandler(moduleId, handler, options);
    else if (hasHandlers(this.restSide)) this.restSide.registerHandler(moduleId, handler, options);
  }

  async close(): Promise<void> {
    await closeExecutor(this.queueSide);
    await closeExecutor(this.restSide);
  }

  /**
   * Drops the routes of runs their side no longer holds as active: routeOf need not answer for
   * finished runs. The next prune waits until the map doubles what was kept (never below the floor),
   * so a prune's O(size) scan is paid for by as many starts and each start stays O(1) amortized.
   */
  private prune(): void {
    for (const [runId, target] of this.side) {
      if (!target.isActive(runId)) this.side.delete(runId);
    }
    this.pruneAt = Math.max(PRUNE_FLOOR, 2 * this.side.size);
  }
}
