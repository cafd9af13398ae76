import type Database = require('better-sqlite3');
import type { Clock } from '../../core/clock';
import type { HeartbeatOutcome, TaskStatus } from '../types';
import { openDatabase } from './connection';
import { guard } from './context';
import { resolveSqliteStoreOptions } from './options';
import { heartbeatOutcome } from './lifecycle';
import { LifecycleSql } from './sql/lifecycle';
import * as SQL from './sql/mirror';

/** One run as the compat layer writes it: explicit status and timestamps (ms since the epoch). */
export interface MirrorRow {
  /** The run id: stored as the idempotency key. */
  readonly key: string;
  /** Task type (the run's moduleId). */
  readonly type: string;
  /** Plain JSON payload. */
  readonly payload: unknown;
  readonly status: TaskStatus;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly lastError: string | null;
  readonly progress: unknown;
  /** Holder of an active row; null once the row is finished. */
  readonly leaseOwner: string | null;
  readonly leaseExpiresAt: number | null;
}

/** A stored row as the compat layer reads it back. */
export interface StoredRunRow {
  readonly id: number;
  readonly key: string | null;
  readonly type: string;
  readonly status: TaskStatus;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly lastError: string | null;
  readonly leaseOwner: string | null;
  readonly leaseExpiresAt: number | null;
  /** Parsed JSON. */
  readonly payload: unknown;
  /** Parsed JSON, or null. */
  readonly requires: Record<string, string> | null;
  readonly attempts: number;
}

interface RawRow extends Omit<StoredRunRow, 'payload' | 'requires'> {
  payload: string;
  requires: string | null;
}

function parse(raw: RawRow): StoredRunRow {
  return { ...raw, payload: JSON.parse(raw.payload) as unknown, requires: raw.requires === null ? null : (JSON.parse(raw.requires) as Record<string, string>) };
}

/**
 * Writes of the compat layer that the TaskStore interface does not offer: rows with explicit
 * status and timestamps (the shadow mirror), moving mirror rows into the work queue at cutover,
 * and settling runs whose owning process is gone. Composes with the store's schema; it owns its
 * connection only when opened with {@link openMirrorStore}.
 */
export class MirrorStore {
  private readonly statements: { [K in keyof typeof SQL]: Database.Statement };
  /** The queue's lifecycle statements, prepared on first use: only a rollback takeover needs them. */
  private lifecycle: LifecycleSql | undefined;

  /**
   * @param db an open connection whose schema is migrated (see `openDatabase`)
   * @param ownsConnection when true, {@link close} closes `db`
   */
  constructor(
    readonly db: Database.Database,
    private readonly clock: Clock,
    private readonly ownsConnection = false,
  ) {
    const statements = {} as Record<string, Database.Statement>;
    for (const [name, text] of Object.entries(SQL)) statements[name] = db.prepare(text);
    this.statements = statements as { [K in keyof typeof SQL]: Database.Statement };
  }

  /** Writes the rows in one transaction: one fsync for a whole batch of mirror changes. */
  upsertMany(queue: string, rows: readonly MirrorRow[]): void {
    if (rows.length === 0) return;
    const upsert = this.statements.UPSERT_MIRROR;
    this.db.transaction(() => {
      for (const row of rows) {
        upsert.run({
          queue,
          key: row.key,
          type: row.type,
          payload: JSON.stringify(row.payload ?? null),
          status: row.status,
          attempts: row.startedAt === null ? 0 : 1,
          createdAt: row.createdAt,
          startedAt: row.startedAt,
          finishedAt: row.finishedAt,
          lastError: row.lastError,
          progress: row.progress === undefined || row.progress === null ? null : JSON.stringify(row.progress),
          leaseOwner: row.leaseOwner,
          leaseExpiresAt: row.leaseExpiresAt,
        });
      }
    })();
  }

  /** Extends the leases of `owner`'s unfinished rows in `queue`. Returns how many. */
  renewLeases(queue: string, owner: string, expiresAt: number): number {
    return this.statements.RENEW_MIRROR_LEASES.run({ queue, owner, expiresAt }).changes;
  }

  /** Every row of a queue, oldest first. */
  listQueue(queue: string): StoredRunRow[] {
    return (this.statements.LIST_QUEUE_ROWS.all({ queue }) as RawRow[]).map(parse);
  }

  getByKey(queue: string, key: string): StoredRunRow | undefined {
    const raw = this.statements.GET_BY_KEY.get({ queue, key }) as RawRow | undefined;
    return raw === undefined ? undefined : parse(raw);
  }

  /** Unfinished rows of a queue with no live lease. */
  listOrphans(queue: string): StoredRunRow[] {
    return (this.statements.LIST_ORPHANS.all({ queue, now: this.clock.now() }) as RawRow[]).map(parse);
  }

  /**
   * Moves an orphaned row into `toQueue` as a queued task with at least `extraAttempts` attempts
   * left. False when it is not an orphan any more or `toQueue` already holds its key.
   */
  adopt(id: number, toQueue: string, extraAttempts: number): boolean {
    const now = this.clock.now();
    return this.db.transaction(() => {
      if (this.statements.ADOPTABLE.get({ id, toQueue, now }) === undefined) return false;
      this.statements.LEAVE_QUEUED.run({ id });
      this.statements.ENTER_QUEUE.run({ id, toQueue, now, extraAttempts });
      return true;
    }).immediate();
  }

  /** Unpins a task from the process that enqueued it, so any worker with a handler may claim it. */
  clearRequires(id: number): boolean {
    return this.statements.CLEAR_REQUIRES.run({ id, now: this.clock.now() }).changes > 0;
  }

  /** Fails an orphan that nothing can execute; false when it is no longer an orphan. */
  failOrphan(id: number, message: string): boolean {
    return this.statements.FAIL_ORPHAN.run({ id, now: this.clock.now(), message }).changes > 0;
  }

  /**
   * Leases an orphan to `owner` for an in-process takeover: its fencing token, and whether a
   * cancellation was requested while its last holder ran it (`taskbridge cancel` of a running
   * task); undefined when it is no longer an orphan.
   */
  takeOver(id: number, owner: string, leaseMs: number): { token: number; cancelRequested: boolean } | undefined {
    const now = this.clock.now();
    const row = this.statements.TAKE_OVER.get({ id, owner, now, expiresAt: now + leaseMs }) as { token: number; cancelRequested: number } | undefined;
    return row === undefined ? undefined : { token: row.token, cancelRequested: row.cancelRequested === 1 };
  }

  /**
   * The queue's heartbeat for a taken-over task: extends its lease as a worker's heartbeat does
   * (never shortening it) and says whether a cancellation was requested meanwhile
   * (`taskbridge cancel`), or whether the lease was lost to another claim.
   */
  heartbeatTakenOver(id: number, token: number, leaseMs: number): HeartbeatOutcome {
    // The worker's own statement, so the takeover sees a cancel request exactly as a worker would.
    this.lifecycle ??= new LifecycleSql(this.db);
    const heartbeat = this.lifecycle.heartbeat;
    return heartbeatOutcome(guard('heartbeat', () => heartbeat.get(this.clock.now() + leaseMs, id, token)));
  }

  /** Records the outcome of a taken-over task; false when the lease was lost. */
  settleTakenOver(id: number, token: number, status: 'completed' | 'failed' | 'cancelled', lastError: string | null): boolean {
    return this.statements.SETTLE_TAKEN_OVER.run({ id, token, status, lastError, now: this.clock.now() }).changes > 0;
  }

  /**
   * Frees a finished run's key for a new run with the same id. Returns true when a row was renamed.
   * @throws StoreBusyError when the write lock stays held, as the enqueue it sits beside in `startTask` does
   */
  retireKey(queue: string, key: string): boolean {
    return guard('retireKey', () => this.statements.RETIRE_KEY.run({ queue, key }).changes > 0);
  }

  /** Capability maps of the workers seen at or after `since` (ms). */
  liveWorkerCapabilities(since: number): Record<string, string>[] {
    const rows = this.statements.LIVE_WORKER_CAPABILITIES.all({ since }) as { capabilities: string }[];
    return rows.map((r) => JSON.parse(r.capabilities) as Record<string, string>);
  }

  /** Closes the connection when this object opened it. */
  close(): void {
    if (this.ownsConnection && this.db.open) this.db.close();
  }
}

/**
 * Opens a connection of its own on `path` (creating and migrating the file like the store does).
 * @throws the store's open errors (DatabaseUnavailableError, NotADatabaseError, SchemaTooNewError)
 */
export function openMirrorStore(path: string, clock: Clock, busyTimeoutMs = 5000): MirrorStore {
  const db = openDatabase(resolveSqliteStoreOptions({ path, clock, busyTimeout: busyTimeoutMs }));
  return new MirrorStore(db, clock, true);
}
