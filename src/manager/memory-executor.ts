import { SystemClock, type Clock } from '../core/clock';
import { InvalidInputError } from '../core/errors';
import { createLogger, type Logger } from '../core/logger';
import type { RunRegistry } from './run-registry';
import { closingFields, describeThrown, stackOf, updateRunSafely, validateProgress, type ProgressReport } from './run-lifecycle';
import type { Run, RunExecutor, TaskContext, TaskWork } from './types';

/** Options of {@link MemoryRunExecutor}; all optional. */
export interface MemoryRunExecutorOptions {
  /** Where failures are logged; a shared `warn`-level logger by default. */
  logger?: Logger;
  /** Source of the lifecycle timestamps; the wall clock by default. */
  clock?: Clock;
  /**
   * How many runs may execute at once; further runs wait in start order. Unlimited by default,
   * which is the legacy behaviour (every run starts at once).
   */
  concurrency?: number;
}

type Phase = 'waiting' | 'running' | 'settled';

interface Entry {
  readonly runId: string;
  readonly work: TaskWork;
  /** Created on first use (see signalOf). */
  controller?: AbortController;
  phase: Phase;
  /** Set synchronously by cancel, before anything else, so a late result can never overwrite it. */
  cancelled: boolean;
  startedAtMs?: number;
  readonly settled: Promise<void>;
  resolveSettled(): void;
}

let sharedLogger: Logger | undefined;
function defaultLogger(): Logger {
  // One winston instance for every executor built without a logger, instead of one per manager.
  sharedLogger ??= createLogger('warn');
  return sharedLogger;
}

/**
 * The run's AbortController, created when the work first reads its signal or the run is cancelled:
 * most works never read it, and one controller per run was a tenth of a burst's time.
 */
function controllerOf(entry: Entry): AbortController {
  return (entry.controller ??= new AbortController());
}

/**
 * The legacy in-memory engine (`memory` mode): runs each work closure in this process and writes
 * its lifecycle to the registry. It keeps no timers, so a process whose runs have settled can exit.
 */
export class MemoryRunExecutor implements RunExecutor {
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly concurrency: number;
  /** Runs that are queued or running and not cancelled, by run id. */
  private readonly active = new Map<string, Entry>();
  /** Every run whose work has not settled yet (cancelled ones included): what waitAll waits for. */
  private readonly unsettled = new Set<Entry>();
  /**
   * Runs waiting for a slot, in start order, from `waitingHead` on. Read by index rather than
   * shift(): shift() copies the whole array once it outgrows V8's in-place trim (~16k entries),
   * which made a burst of 50,000 starts spend most of its time moving the backlog.
   */
  private waiting: Entry[] = [];
  private waitingHead = 0;
  private runningCount = 0;
  private drainScheduled = false;

  constructor(
    private readonly registry: RunRegistry,
    options: MemoryRunExecutorOptions = {},
  ) {
    this.logger = options.logger ?? defaultLogger();
    this.clock = options.clock ?? new SystemClock();
    const concurrency = options.concurrency ?? Number.POSITIVE_INFINITY;
    if (!(concurrency === Number.POSITIVE_INFINITY || (Number.isSafeInteger(concurrency) && concurrency >= 1))) {
      throw new InvalidInputError('concurrency', concurrency, 'a positive integer, or Infinity for no limit (default)');
    }
    this.concurrency = concurrency;
  }

  /**
   * Schedules the run's work for a later turn of the event loop, so the caller (startTask) returns
   * first and can still cancel the run before it begins.
   */
  start(run: Run, work: TaskWork): void {
    let resolveSettled!: () => void;
    const settled = new Promise<void>((resolve) => {
      resolveSettled = resolve;
    });
    const entry: Entry = {
      runId: run.runId,
      work,
      phase: 'waiting',
      cancelled: false,
      settled,
      resolveSettled,
    };
    this.active.set(run.runId, entry);
    this.unsettled.add(entry);
    this.waiting.push(entry);
    this.scheduleDrain();
  }

  /** See BackgroundTaskManager.cancelTask. A run cancelled before it began never runs. */
  async cancel(runId: string): Promise<boolean> {
    const entry = this.active.get(runId);
    if (entry === undefined) return false;
    entry.cancelled = true;
    this.active.delete(runId);
    this.safeUpdate(runId, { status: 'cancelled', ...closingFields(this.clock.now(), entry.startedAtMs) });
    if (entry.phase === 'waiting') this.settle(entry);
    try {
      controllerOf(entry).abort();
    } catch (err) {
      this.logger.warn('an abort listener of a cancelled run threw', { runId, error: describeThrown(err) });
    }
    await entry.settled;
    return true;
  }

  /** Resolves once every run started so far, and any started while waiting, has settled. */
  async waitAll(): Promise<void> {
    while (this.unsettled.size > 0) {
      await Promise.all([...this.unsettled].map((e) => e.settled));
    }
  }

  activeRunIds(): string[] {
    return [...this.active.keys()];
  }

  isActive(runId: string): boolean {
    return this.active.has(runId);
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (this.runningCount < this.concurrency && this.waitingHead < this.waiting.length) {
      const entry = this.waiting[this.waitingHead++] as Entry;
      // Cancelled while waiting: already settled and marked cancelled; it must never run.
      if (entry.cancelled || entry.phase !== 'waiting') continue;
      this.begin(entry);
    }
    // Drop the consumed front once it is most of the array: amortised O(1) per run, and the
    // started entries do not stay reachable from here.
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.waitingHead);
      this.waitingHead = 0;
    } else if (this.waitingHead > 0 && this.waitingHead === this.waiting.length) {
      this.waiting = [];
      this.waitingHead = 0;
    }
  }

  private begin(entry: Entry): void {
    entry.phase = 'running';
    this.runningCount += 1;
    const startedAt = this.clock.now();
    entry.startedAtMs = startedAt;
    this.safeUpdate(entry.runId, { status: 'running', startedAt: new Date(startedAt) });
    const ctx: TaskContext = {
      runId: entry.runId,
      get signal() {
        return controllerOf(entry).signal;
      },
      reportProgress: (p) => this.reportProgress(entry, p),
    };
    let outcome: Promise<unknown>;
    try {
      outcome = Promise.resolve(entry.work(ctx));
    } catch (err) {
      // A work function that throws synchronously fails like one that rejects.
      outcome = Promise.reject(err);
    }
    outcome.then(
      () => this.finish(entry, { ok: true }),
      (error: unknown) => this.finish(entry, { ok: false, error }),
    );
  }

  private finish(entry: Entry, result: { ok: true } | { ok: false; error: unknown }): void {
    // No longer active before its final state is announced: a registry listener that sees the run
    // finish must find it inactive (and may start the run id again, as a recurring job does).
    if (this.active.get(entry.runId) === entry) this.active.delete(entry.runId);
    try {
      if (entry.cancelled) {
        // The run was cancelled: its status stays `cancelled`, whatever the work produced.
        if (!result.ok) this.logger.debug('cancelled run settled with an error', { runId: entry.runId, error: describeThrown(result.error) });
        return;
      }
      const timing = closingFields(this.clock.now(), entry.startedAtMs);
      if (result.ok) {
        this.safeUpdate(entry.runId, { status: 'completed', exitCode: 0, ...timing });
      } else {
        const errorMessage = describeThrown(result.error);
        this.safeUpdate(entry.runId, { status: 'failed', errorMessage, ...timing });
        this.logger.error('run failed', {
          runId: entry.runId,
          error: errorMessage,
          stack: stackOf(result.error),
        });
      }
    } catch {
      // Only a throwing logger gets here; it must not become an unhandled rejection of the run.
    } finally {
      this.runningCount -= 1;
      this.settle(entry);
      this.drain();
    }
  }

  private settle(entry: Entry): void {
    entry.phase = 'settled';
    this.unsettled.delete(entry);
    entry.resolveSettled();
  }

  private reportProgress(entry: Entry, report: ProgressReport): void {
    const patch = validateProgress(report);
    // Progress reported after the run finished or was cancelled is ignored: the final state stands.
    if (entry.cancelled || entry.phase !== 'running') return;
    if (Object.keys(patch).length > 0) this.safeUpdate(entry.runId, patch);
  }

  private safeUpdate(runId: string, patch: Partial<Run>): void {
    updateRunSafely(this.registry, this.logger, runId, patch);
  }
}
