import type { RunRegistry } from '../manager/run-registry';
import type { Run, RunExecutor, RunHandlerOptions, TaskWork } from '../manager/types';
import type { MirrorWriter, ShadowStats } from './mirror-writer';
import { closeExecutor, hasHandlers, type ClosableExecutor, type HandlerCapable } from './routing';
import type { RunHandler } from './handlers';

/** The open shadow executors following each registry: a parity check flushes them first. */
const followers = new WeakMap<RunRegistry, Set<ShadowRunExecutor>>();

/**
 * Writes what the mirrors following `registry` still hold, so a comparison made right after a run
 * finished sees its final state rather than the one before the flush delay. Never throws: a state
 * the mirror cannot write stays pending (a counted fault) and the comparison reports it.
 */
export function flushMirrorsOf(registry: RunRegistry): void {
  for (const executor of followers.get(registry) ?? []) executor.flushMirror();
}

/**
 * `shadow` mode: the wrapped in-memory executor runs the work exactly as in `memory` mode and the
 * registry stays the source of truth. Every state of the runs this executor started is copied to
 * the mirror queue by a {@link MirrorWriter}, which swallows (and counts) every SQLite fault.
 */
export class ShadowRunExecutor implements ClosableExecutor, HandlerCapable {
  private readonly unsubscribe: () => void;
  /** Runs started while the registry announced another change: followed from their `queued` announcement on. */
  private readonly awaitingQueued = new Set<string>();

  constructor(
    private readonly inner: RunExecutor,
    private readonly registry: RunRegistry,
    private readonly mirror: MirrorWriter,
  ) {
    let set = followers.get(registry);
    if (set === undefined) followers.set(registry, (set = new Set()));
    set.add(this);
    // The registry announces every change synchronously with a copy: the cheapest hook that sees
    // exactly what the application will read back. Only the runs this executor started are
    // followed, up to their final state: the mirror knows which (see MirrorWriter.follows).
    this.unsubscribe = registry.subscribe((run, kind) => {
      if (kind === 'removed') return;
      if (this.awaitingQueued.size > 0 && this.awaitingQueued.has(run.runId)) {
        // States announced before the start (the previous run of this id finishing) are not this run's.
        if (run.status !== 'queued') return;
        this.awaitingQueued.delete(run.runId);
        this.mirror.push(run);
      } else if (this.mirror.follows(run.runId)) this.mirror.push(run);
    });
  }

  start(run: Run, work: TaskWork): void {
    // The manager wrote `queued` before calling start, so that state is mirrored here; from then on
    // the mirror follows the run until a final state is pushed. Started by a registry listener (a
    // recurring job starting its run id again as it completes), that `queued` is announced after
    // the change in flight, which may be the previous run's final state still on its way to this
    // mirror: pushed now, it would be overtaken by that older state and the new run not followed.
    if (this.registry.announcing) this.awaitingQueued.add(run.runId);
    else this.mirror.push(run);
    this.inner.start(run, work);
  }

  cancel(runId: string): Promise<boolean> {
    return this.inner.cancel(runId);
  }

  /** Waits for the in-memory runs, then writes the mirror so parity can be checked right away. */
  async waitAll(): Promise<void> {
    await this.inner.waitAll();
    this.mirror.flush();
  }

  activeRunIds(): string[] {
    return this.inner.activeRunIds();
  }

  isActive(runId: string): boolean {
    return this.inner.isActive(runId);
  }

  /** Forwards to the wrapped executor when it takes handlers (rollback takeover). */
  registerHandler(moduleId: string, handler: RunHandler, options?: RunHandlerOptions): void {
    if (hasHandlers(this.inner)) this.inner.registerHandler(moduleId, handler, options);
  }

  /** Mirror counters: faults are exposed here, never thrown. */
  shadowStats(): ShadowStats {
    return this.mirror.stats();
  }

  /** Flushes the mirror now (also done by waitAll and close). */
  flushMirror(): void {
    this.mirror.flush();
  }

  async close(): Promise<void> {
    this.unsubscribe();
    followers.get(this.registry)?.delete(this);
    this.mirror.close();
    await closeExecutor(this.inner);
  }
}

/**
 * The shadow counters of a manager's executor (shadow mode, or the in-memory side of a canary),
 * or undefined when the manager does not mirror.
 */
export function shadowStatsOf(manager: { executor: RunExecutor }): ShadowStats | undefined {
  let executor: unknown = manager.executor;
  const rest = (executor as { restSide?: unknown }).restSide;
  if (rest !== undefined) executor = rest;
  return executor instanceof ShadowRunExecutor ? executor.shadowStats() : undefined;
}
