import type Database = require('better-sqlite3');
import type { LeaseCounts, MetricsSource } from '../metrics';
import { openMaintenanceConnection } from '../maintenance/sqlite-file';
import { STATS_SQL } from './sql/stats';

/**
 * The SQLite implementation of {@link MetricsSource}: the read-only queries behind `metrics()`,
 * prepared once on the connection it is given.
 */
export class SqliteMetricsSource implements MetricsSource {
  private readonly statements: { [K in keyof typeof STATS_SQL]: Database.Statement };

  private owned: Database.Database | undefined;

  /**
   * Opens a read connection of its own on a database file (for callers that hold a store but not
   * its connection); release it with {@link close}.
   */
  static open(path: string): SqliteMetricsSource {
    const db = openMaintenanceConnection(path, { readonly: true });
    try {
      const source = new SqliteMetricsSource(db);
      source.owned = db;
      return source;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Closes the connection {@link open} created; a no-op for a connection the caller passed in. */
  close(): void {
    this.owned?.close();
    this.owned = undefined;
  }

  constructor(db: Database.Database) {
    this.statements = Object.fromEntries(
      Object.entries(STATS_SQL).map(([name, sql]) => [name, db.prepare(sql)]),
    ) as { [K in keyof typeof STATS_SQL]: Database.Statement };
  }

  completedPerMinute(since: number, until: number): number[] {
    const minutes = Math.max(0, Math.ceil((until - since) / 60_000));
    const buckets = new Array<number>(minutes).fill(0);
    const rows = this.statements.completedPerMinute.all({ since, until }) as { bucket: number; n: number }[];
    for (const row of rows) if (row.bucket >= 0 && row.bucket < minutes) buckets[row.bucket] = row.n;
    return buckets;
  }

  oldestReadyRunAfter(now: number): number | null {
    return (this.statements.oldestReadyRunAfter.pluck().get({ now }) as number | null) ?? null;
  }

  processingTimes(since: number, quantiles: readonly number[]): { samples: number; values: (number | null)[] } {
    // Nearest-rank percentiles, read one row each with an index-free sort: the window is one hour,
    // so the sort is bounded by an hour of completions rather than the whole table.
    const samples = this.statements.processingSamples.pluck().get({ since }) as number;
    const values = quantiles.map((q) => {
      if (samples === 0) return null;
      const rank = Math.min(samples - 1, Math.max(0, Math.ceil(q * samples) - 1));
      return (this.statements.processingTimeAtRank.pluck().get({ since, rank }) as number | undefined) ?? null;
    });
    return { samples, values };
  }

  finishedAndRetried(since: number): { finished: number; retried: number } {
    return this.statements.finishedAndRetried.get({ since }) as { finished: number; retried: number };
  }

  deadSince(since: number): number {
    return this.statements.deadSince.pluck().get({ since }) as number;
  }

  leasesByOwner(now: number): Record<string, LeaseCounts> {
    const rows = this.statements.leasesByOwner.all({ now }) as { owner: string; active: number; expired: number }[];
    return Object.fromEntries(rows.map((r) => [r.owner, { active: r.active, expired: r.expired }]));
  }

  /** Workers whose last heartbeat is older than `before` (used by health, which works without a store). */
  staleWorkers(before: number): StaleWorker[] {
    const rows = this.statements.staleWorkers.all({ before }) as (Omit<StaleWorker, 'lastSeenAt'> & { lastSeenAt: number })[];
    return rows.map((r) => ({ ...r, lastSeenAt: new Date(r.lastSeenAt) }));
  }
}

/** A worker row whose heartbeat stopped. */
export interface StaleWorker {
  readonly workerId: string;
  readonly pid: number;
  readonly hostname: string;
  readonly queue: string;
  readonly lastSeenAt: Date;
}
