import type Database = require('better-sqlite3');
import type { WorkerInfo, WorkerRecord } from '../../types';

interface WorkerRow {
  worker_id: string;
  pid: number;
  hostname: string;
  queue: string;
  concurrency: number;
  strategy: string;
  capabilities: string;
  started_at: number;
  last_seen_at: number;
}

/** The workers table: who is consuming, for status pages and stale-worker detection. */
export class WorkerSql {
  private readonly upsert: Database.Statement;
  private readonly touch: Database.Statement;
  private readonly remove: Database.Statement;
  private readonly all: Database.Statement;

  constructor(db: Database.Database) {
    // A re-registration (same id after a restart) refreshes the info and keeps the first start time.
    this.upsert = db.prepare(`
      INSERT INTO workers (worker_id, pid, hostname, queue, concurrency, strategy, capabilities, started_at, last_seen_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(worker_id) DO UPDATE SET pid = excluded.pid, hostname = excluded.hostname, queue = excluded.queue,
        concurrency = excluded.concurrency, strategy = excluded.strategy, capabilities = excluded.capabilities,
        last_seen_at = excluded.last_seen_at`);
    this.touch = db.prepare('UPDATE workers SET last_seen_at = ? WHERE worker_id = ?');
    this.remove = db.prepare('DELETE FROM workers WHERE worker_id = ?');
    this.all = db.prepare('SELECT * FROM workers ORDER BY worker_id');
  }

  register(info: WorkerInfo, now: number): void {
    this.upsert.run(info.workerId, info.pid, info.hostname, info.queue, info.concurrency, info.strategy, JSON.stringify(info.capabilities ?? {}), now, now);
  }

  touchWorker(workerId: string, now: number): void {
    this.touch.run(now, workerId);
  }

  unregister(workerId: string): void {
    this.remove.run(workerId);
  }

  list(): WorkerRecord[] {
    return (this.all.all() as WorkerRow[]).map((r) => ({
      workerId: r.worker_id,
      pid: r.pid,
      hostname: r.hostname,
      queue: r.queue,
      concurrency: r.concurrency,
      strategy: r.strategy,
      capabilities: JSON.parse(r.capabilities) as Record<string, string>,
      startedAt: new Date(r.started_at),
      lastSeenAt: new Date(r.last_seen_at),
    }));
  }
}
