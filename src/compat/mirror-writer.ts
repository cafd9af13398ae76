import type { Clock } from '../core/clock';
import { DatabaseReplacedError } from '../core/errors';
import type { Logger } from '../core/logger';
import { describeThrown } from '../manager/run-lifecycle';
import type { Run } from '../manager/types';
import type { MirrorRow, MirrorStore } from '../queue/sqlite/mirror-store';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../queue/sqlite/options';
import { assertJsonSize } from '../queue/validation';
import { leaseRenewIntervalMs } from './lease-renewal';
import { MirrorFileGuard } from './mirror-file-guard';
import { MirrorOpener, type MirrorReopenOptions } from './mirror-opener';
import { mirrorRowOf } from './mirror-row';
import { runIdOf, SHADOW_QUEUE } from './run-payload';

/** Counters of the shadow mirror, for dashboards and the go/stop numbers of the runbook. */
export interface ShadowStats {
  /** Run states written to SQLite. */
  readonly mirrored: number;
  /** Run states waiting for the next flush. */
  readonly pending: number;
  /** Flushes (or opens) that failed on the SQLite side, and runs sqlite mode would refuse (`TASKBRIDGE_PAYLOAD_TOO_LARGE`). */
  readonly faults: number;
  /** Faults by error code (`SQLITE_BUSY`, `SQLITE_READONLY`, `SQLITE_FULL`, ...). */
  readonly faultsByCode: Readonly<Record<string, number>>;
  /** Run states given up: the backlog exceeded its bound during a long outage, or a close could not write them. */
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
  /**
   * How to retry opening the database when the writer is constructed without a store (its first
   * open failed). Each failed attempt is a fault (`open`), logged as a warning only when its code
   * differs from the previous open failure's; the first successful one writes the backlog. Without
   * it a writer with no store stays without one. A store that was open and stopped for good
   * (TASKBRIDGE_DATABASE_REPLACED) is never reopened.
   */
  reopen?: MirrorReopenOptions;
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
  private file: MirrorFileGuard | undefined;
  /** Set while the store could not be opened yet and options.reopen says how to retry. */
  private opener: MirrorOpener | undefined;
  /** Code of the last failed open, so a retry failing the same way is not logged again. */
  private openFaultCode: string | undefined;

  /**
   * @param store the mirror store, or undefined when the database could not be opened (a fault
   *   already counted, with operation `open`); then `options.reopen`, if given, retries the open
   * @throws InvalidOptionError for invalid `options.reopen` delays
   */
  constructor(
    private store: MirrorStore | undefined,
    private readonly options: MirrorWriterOptions,
  ) {
    if (store === undefined) {
      this.failing = true;
      if (options.reopen !== undefined) this.opener = new MirrorOpener(options.reopen, options.clock);
    } else this.watch(store);
  }

  /** Records a fault that happened outside a flush (e.g. opening the database: operation `open`). */
  recordFault(err: unknown, operation: string): void {
    this.countFault(err, operation, 'warn');
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
    if (this.pending.size === 0) return;
    if (this.store === undefined && !this.reopen()) return;
    const store = this.store as MirrorStore;
    const batch = [...this.pending.values()];
    const now = this.options.clock.now();
    try {
      this.checkFile();
      const rows = batch.map((run) => mirrorRowOf(run, now, this.options));
      store.upsertMany(SHADOW_QUEUE, rows);
      for (const run of batch) {
        // A newer state may have arrived meanwhile (not possible synchronously, but cheap to guard).
        if (this.pending.get(run.runId) === run) this.pending.delete(run.runId);
      }
      this.mirrored += batch.length;
      this.failing = false;
      // A run's final state is written once: checked then, off the startTask path, counted once.
      for (const row of rows) if (row.finishedAt !== null) this.checkPayloadSize(row);
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
    if (this.pending.size > 0) {
      // Nothing will write them after this: their rows keep an older state (an unfinished one
      // becomes an orphan once its lease expires), so say which runs, and count them.
      const runIds = [...this.pending.keys()];
      this.dropped += runIds.length;
      this.pending.clear();
      const meta = { count: runIds.length, runIds: runIds.slice(0, 100), lastError: this.lastError };
      this.options.logger.error('shadow mirror closed with run states it could not write; parity reports these runs', meta);
    }
    this.closed = true;
    this.opener = undefined;
    clearTimeout(this.timer);
    clearInterval(this.renewTimer);
    this.timer = undefined;
    this.renewTimer = undefined;
    try {
      // Nothing may be pending (no flush, no check), yet a renewal may have left frames in the WAL.
      this.checkFile();
      if (this.file === undefined) this.store?.close();
      else this.file.closeWith(this.store);
    } catch (err) {
      this.recordFault(err, 'close');
    }
    this.file = undefined;
    this.store = undefined;
  }

  private countFault(err: unknown, operation: string, level: 'warn' | 'debug'): void {
    const code = errorCode(err);
    this.faults += 1;
    this.faultsByCode[code] = (this.faultsByCode[code] ?? 0) + 1;
    this.lastError = describeThrown(err);
    this.lastFaultAt = this.options.clock.now();
    if (operation === 'open' || operation === 'reopen') this.openFaultCode = code;
    this.options.logger[level]('shadow mirror fault; the application is not affected', { operation, code, error: this.lastError });
  }

  private watch(store: MirrorStore): void {
    try {
      this.file = MirrorFileGuard.watch(store.db);
    } catch (err) {
      // The mirror still works unwatched; the operator sees why in the counters.
      this.recordFault(err, 'watch');
    }
  }

  /** Opens the store when a retry is due (see MirrorWriterOptions.reopen); true once it is open. */
  private reopen(): boolean {
    if (this.opener === undefined) return false;
    const outcome = this.opener.attempt();
    if (outcome.kind === 'opened') {
      this.opener = undefined;
      this.store = outcome.store;
      this.watch(outcome.store);
      this.options.logger.info('shadow mirror opened its database; writing the backlog', { failedAttempts: outcome.failedAttempts, pending: this.pending.size });
      return true;
    }
    if (outcome.kind === 'failed') {
      // A volume that is not there yet fails every attempt the same way: one warning says so.
      this.countFault(outcome.error, 'reopen', errorCode(outcome.error) === this.openFaultCode ? 'debug' : 'warn');
    }
    // Nothing else may come to flush (an idle application), so the retry gets a timer of its own.
    if (!this.closed && this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), Math.max(this.options.flushDelayMs, this.opener.dueIn()));
      this.timer.unref();
    }
    return false;
  }

  /**
   * Stops the mirror for good when its file was deleted, renamed over or overwritten in place: its
   * writes would go to an unlinked file or over what the user put at the path, and no SQLite error
   * says so (see MirrorFileGuard).
   * @throws DatabaseReplacedError once the store is closed without writing to the file
   */
  private checkFile(): void {
    if (this.file === undefined || this.store === undefined) return;
    const change = this.file.change();
    if (change === undefined) return;
    const { path } = this.file;
    this.file.abandon(this.store);
    this.store = undefined;
    this.file = undefined;
    throw new DatabaseReplacedError(path, change);
  }

  /** The rehearsal must reveal what the cutover would refuse: sqlite mode's startTask throws for this run. */
  private checkPayloadSize(row: MirrorRow): void {
    try {
      // The queue's own size rule and default limit, so the rehearsal refuses what the cutover would.
      assertJsonSize(`payload of run ${runIdOf(row.key, row.payload) ?? row.key}`, JSON.stringify(row.payload ?? null), DEFAULT_MAX_PAYLOAD_BYTES);
    } catch (err) {
      this.recordFault(err, 'size check: sqlite mode refuses this run');
    }
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
      try {
        this.checkFile();
        if (this.store === undefined) return;
        this.store.renewLeases(SHADOW_QUEUE, this.options.owner, this.options.clock.now() + this.options.leaseMs);
      } catch (err) {
        this.recordFault(err, 'renew');
      }
    }, leaseRenewIntervalMs(this.options.leaseMs));
    this.renewTimer.unref();
  }
}

/** The SQLite error code of a fault, or the taskbridge code, or `UNKNOWN`. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : 'UNKNOWN';
}
