import fs from 'node:fs';
import Database = require('better-sqlite3');
import type { Clock } from '../core/clock';
import { DatabaseReplacedError, PayloadTooLargeError } from '../core/errors';
import type { Logger } from '../core/logger';
import { describeThrown } from '../manager/run-lifecycle';
import type { Run } from '../manager/types';
import { isMemoryPath, SQLITE_HEADER } from '../queue/sqlite/connection';
import { fileHandle, readFileStart, type FileHandle } from '../queue/sqlite/file-handles';
import type { MirrorRow, MirrorStore } from '../queue/sqlite/mirror-store';
import { MirrorOpener, type MirrorReopenOptions } from './mirror-opener';
import { SHADOW_QUEUE, toPayload } from './run-payload';

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
  /** The queue's payload limit, which sqlite mode's startTask enforces. Default 1 MiB, the queue's default. */
  maxPayloadBytes?: number;
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
  private file: WatchedFile | undefined;
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
      const rows = batch.map((run) => this.toRow(run, now));
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
      // The keeper closes first, so the mirror's own close is the last one and checkpoints as usual.
      this.file?.keeper.close();
      this.store?.close();
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
      this.file = watchFile(store.db);
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
   * says so (hence a stat and a 16-byte read per batch). A read-only mode is left to SQLite: its
   * SQLITE_READONLY is a fault the mirror retries until the mode is restored.
   * @throws DatabaseReplacedError once the store is closed without writing to the file
   */
  private checkFile(): void {
    if (this.file === undefined || this.store === undefined) return;
    const change = fileChange(this.file);
    if (change === undefined) return;
    const { keeper } = this.file;
    // Main first, keeper last: a read-only connection never checkpoints, and being the last one it
    // keeps the main connection's close from copying the WAL onto the file.
    this.store.close();
    keeper.close();
    this.store = undefined;
    this.file = undefined;
    throw new DatabaseReplacedError(keeper.name, change);
  }

  /** The rehearsal must reveal what the cutover would refuse: sqlite mode's startTask throws for this run. */
  private checkPayloadSize(row: MirrorRow): void {
    const limit = this.options.maxPayloadBytes ?? 1024 * 1024;
    const bytes = Buffer.byteLength(JSON.stringify(row.payload));
    if (bytes > limit) this.recordFault(new PayloadTooLargeError(`payload of run ${row.key}`, bytes, limit), 'size check: sqlite mode refuses this run');
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
      try {
        this.checkFile();
        if (this.store === undefined) return;
        this.store.renewLeases(SHADOW_QUEUE, this.options.owner, this.options.clock.now() + this.options.leaseMs);
      } catch (err) {
        this.recordFault(err, 'renew');
      }
    }, Math.max(10, Math.floor(this.options.leaseMs / 3)));
    this.renewTimer.unref();
  }
}

/** The file the mirror's connection opened, as it was then. */
interface WatchedFile {
  readonly handle: FileHandle;
  readonly pageSize: number;
  /** A read-only connection holding a shared lock, so the mirror's connection is never the last to close on a changed file. */
  readonly keeper: Database.Database;
}

function watchFile(db: Database.Database): WatchedFile | undefined {
  if (isMemoryPath(db.name)) return undefined;
  // The process-wide descriptor: closing any descriptor of the file would drop SQLite's locks (file-handles.ts).
  const handle = fileHandle(db.name);
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const keeper = new Database(db.name, { readonly: true, fileMustExist: true });
  keeper.pragma('cache_size = -64');
  keeper.prepare('SELECT count(*) FROM sqlite_master').get();
  return { handle, pageSize, keeper };
}

/** How the file at the watched path differs from the one opened, or undefined when it does not. */
function fileChange(file: WatchedFile): string | undefined {
  const st = fs.statSync(file.keeper.name, { bigint: true, throwIfNoEntry: false });
  if (st === undefined) return 'was deleted';
  if (st.dev !== file.handle.dev || st.ino !== file.handle.ino) return 'was replaced by another file';
  // SQLite only ever truncates at page boundaries, and never below the first page.
  if (st.size < BigInt(file.pageSize)) return `was truncated to ${st.size} bytes`;
  const header = Buffer.alloc(SQLITE_HEADER.length);
  if (readFileStart(file.handle, header) < header.length || !header.equals(SQLITE_HEADER)) {
    return 'was overwritten with content that is not an SQLite database';
  }
  return undefined;
}

/** The SQLite error code of a fault, or the taskbridge code, or `UNKNOWN`. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : 'UNKNOWN';
}
