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

/**
 * Sends each run to one of two executors (the canary). Which side a run took is remembered,
 * so cancel and status questions go to the side that owns it.
 */
export class RoutingRunExecutor implements ClosableExecutor, HandlerCapable {
  private readonly side = new Map<string, RunExecutor>();

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
    this.side.set(run.runId, target);
  }

  async cancel(runId: string): Promise<boolean> {
    const target = this.side.get(runId);
    if (target) return target.cancel(runId);
    return (await this.queueSide.cancel(runId)) || this.restSide.cancel(runId);
  }

  async waitAll(): Promise<void> {
    await Promise.all([this.queueSide.waitAll(), this.restSide.waitAll()]);
  }

  activeRunIds(): string[] {
    return [...this.queueSide.activeRunIds(), ...this.restSide.activeRunIds()];
  }

  isActive(runId: string): boolean {
    return this.queueSide.isActive(runId) || this.restSide.isActive(runId);
  }

  /** Which side a run went to: `'queue'`, `'rest'`, or undefined for a run this executor never saw. */
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
}
