import type { Clock } from '../core/clock';
import type { Logger } from '../core/logger';
import { describeThrown } from '../manager/run-lifecycle';
import type { Run } from '../manager/types';
import type { MirrorRow, MirrorStore } from '../queue/sqlite/mirror-store';
import { SHADOW_QUEUE, toPayload } from './run-payload';

/** Counters of the shadow mirror, for dashboards and the go/stop numbers of the runbook. */
export interface ShadowStats {
  /** Run states written to SQLite. */
  readonly mirrored: number;
  /** Run states waiting for the next flush. */
  readonly pending: number;
  /** Flushes (or opens) that failed on the SQLite side. */
  readonly faults: number;
  /** Faults by error code (`SQLITE_BUSY`, `SQLITE_READONLY`, `SQLITE_FULL`, ...). */
  readonly faultsByCode: Readonly<Record<string, number>>;
  /** Run states given up because the backlog exceeded its bound during a long outage. */
  readonly dropped: number;
  readonly lastError: string | null;
  readonly lastFaultAt: Date | null;
}

/** Options of {@link MirrorWriter}. */
export interface MirrorWriterOptions {
  clock: Clock;
  logger: Logger;
  /** Identity of this process's mirror: the lease owner of its unfinished rows. */
  owner: string;
  /** Longest wait between a change and its write. */
  flushDelayMs: number;
  /** Lease of unfinished mirror rows; renewed while they are active. */
  leaseMs: number;
  /** Largest backlog kept through an outage before the oldest states are dropped. Default 100,000. */
  maxPending?: number;
}

/**
 * Batches run states into the mirror queue. Every SQLite error is caught here: it is logged,
 * counted and the batch kept for the next flush, so the application never sees it. Timers are
 * unref'd: the mirror never keeps a process alive.
 */
export class MirrorWriter {
  private readonly pending = new Map<string, Run>();
  private timer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private readonly activeIds = new Set<string>();
  private mirrored = 0;
  private faults = 0;
  private dropped = 0;
  private readonly faultsByCode: Record<string, number> = {};
  private lastError: string | null = null;
  private lastFaultAt: number | null = null;
  private closed = false;
  /** True from a failed flush to the next successful one. */
  private failing = false;

  /** @param store the mirror store, or undefined when the database could not be opened (a fault already counted) */
  constructor(
    private store: MirrorStore | undefined,
    private readonly options: MirrorWriterOptions,
  ) {}

  /** Records a fault that happened outside a flush (e.g. opening the database). */
  recordFault(err: unknown, operation: string): void {
    const code = errorCode(err);
    this.faults += 1;
    this.faultsByCode[code] = (this.faultsByCode[code] ?? 0) + 1;
    this.lastError = describeThrown(err);
    this.lastFaultAt = this.options.clock.now();
    this.options.logger.warn('shadow mirror fault; the application is not affected', { operation, code, error: this.lastError });
  }

  /**
   * True while the last state pushed for the run was `queued` or `running`: its later changes belong
   * in the mirror, and its row's lease is renewed.
   */
  follows(runId: string): boolean {
    return this.activeIds.has(runId);
  }

  /** Queues the run's current state; the write happens within `flushDelayMs`. */
  push(run: Run): void {
    if (this.closed) return;
    this.pending.set(run.runId, run);
    if (run.status === 'queued' || run.status === 'running') this.activeIds.add(run.runId);
    else this.activeIds.delete(run.runId);
    const max = this.options.maxPending ?? 100_000;
    // A burst reaches the bound before the timer can fire: a healthy database takes it now. Only a
    // database that just failed is not retried here, so an outage costs no busy wait per push.
    if (this.pending.size > max && !this.failing) this.flush();
    if (this.pending.size > max) {
      const oldest = this.pending.keys().next().value as string;
      this.pending.delete(oldest);
      this.dropped += 1;
    }
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.options.flushDelayMs);
      this.timer.unref();
    }
    this.scheduleRenewal();
  }

  /** Writes everything pending now. Never throws. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.size === 0 || this.store === undefined) return;
    const batch = [...this.pending.values()];
    const now = this.options.clock.now();
    try {
      this.store.upsertMany(SHADOW_QUEUE, batch.map((run) => this.toRow(run, now)));
      for (const run of batch) {
        // A newer state may have arrived meanwhile (not possible synchronously, but cheap to guard).
        if (this.pending.get(run.runId) === run) this.pending.delete(run.runId);
      }
      this.mirrored += batch.length;
      this.failing = false;
    } catch (err) {
      this.failing = true;
      this.recordFault(err, 'flush');
      // Keep the batch: the next change or renewal retries it, bounded by maxPending.
      if (!this.closed && this.timer === undefined) {
        this.timer = setTimeout(() => this.flush(), Math.max(this.options.flushDelayMs, 250));
        this.timer.unref();
      }
    }
  }

  /** The counters. */
  stats(): ShadowStats {
    return {
      mirrored: this.mirrored,
      pending: this.pending.size,
      faults: this.faults,
      faultsByCode: { ...this.faultsByCode },
      dropped: this.dropped,
      lastError: this.lastError,
      lastFaultAt: this.lastFaultAt === null ? null : new Date(this.lastFaultAt),
    };
  }

  /** Flushes, stops the timers and closes the store. Idempotent; never throws. */
  close(): void {
    this.flush();
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.renewTimer);
    this.timer = undefined;
    this.renewTimer = undefined;
    try {
      this.store?.close();
    } catch (err) {
      this.recordFault(err, 'close');
    }
    this.store = undefined;
  }

  private toRow(run: Run, now: number): MirrorRow {
    const active = run.status === 'queued' || run.status === 'running';
    const progress =
      run.progressPercent === undefined && run.itemsProcessed === undefined && run.itemsTotal === undefined
        ? null
        : { percent: run.progressPercent, itemsProcessed: run.itemsProcessed, itemsTotal: run.itemsTotal };
    return {
      key: run.runId,
      type: run.moduleId,
      payload: toPayload(run, this.options.owner),
      status: run.status,
      createdAt: run.createdAt.getTime(),
      startedAt: run.startedAt?.getTime() ?? null,
      finishedAt: active ? null : (run.completedAt?.getTime() ?? now),
      lastError: run.errorMessage ?? null,
      progress,
      leaseOwner: active ? this.options.owner : null,
      leaseExpiresAt: active ? now + this.options.leaseMs : null,
    };
  }

  /** While runs are active, their rows stay leased to this process (see RENEW_MIRROR_LEASES). */
  private scheduleRenewal(): void {
    if (this.renewTimer !== undefined || this.closed) return;
    this.renewTimer = setInterval(() => {
      if (this.activeIds.size === 0) {
        clearInterval(this.renewTimer);
        this.renewTimer = undefined;
        return;
      }
      this.flush();
      if (this.store === undefined) return;
      try {
        this.store.renewLeases(SHADOW_QUEUE, this.options.owner, this.options.clock.now() + this.options.leaseMs);
      } catch (err) {
        this.recordFault(err, 'renew');
      }
    }, Math.max(10, Math.floor(this.options.leaseMs / 3)));
    this.renewTimer.unref();
  }
}

/** The SQLite error code of a fault, or the taskbridge code, or `UNKNOWN`. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : 'UNKNOWN';
}
