import type Database from 'better-sqlite3';
import type { Task } from '../../types';
import type { NormalizedEnqueue } from '../../validation';
import { insertedTask, rowToTask, type TaskRow } from '../rows';

/** Enqueue SQL, prepared once per connection. */
export class EnqueueSql {
  // DO NOTHING (not OR IGNORE): only a uniqueness conflict, i.e. an existing idempotency key, may skip the row.
  private readonly insert: Database.Statement;
  private readonly byKey: Database.Statement;

  constructor(db: Database.Database) {
    this.insert = db.prepare(`
      INSERT INTO tasks (queue, type, payload, priority, status, max_attempts, run_after, created_at,
                         idempotency_key, requires, timeout_ms, backoff_base_ms, backoff_factor, backoff_cap_ms, backoff_jitter)
      VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO NOTHING`);
    this.byKey = db.prepare('SELECT * FROM tasks WHERE queue = ? AND idempotency_key = ?');
  }

  /**
   * Inserts one task, or returns the task that already holds its idempotency key. The INSERT alone
   * decides atomically, across processes, which caller creates the task, so a single enqueue needs
   * no explicit transaction (saving a BEGIN and a COMMIT on every keyed enqueue). Without one, the
   * holder of the key may be deleted (retention) between the conflict and the read: then the
   * insert is simply tried again.
   */
  insertOne(n: NormalizedEnqueue, now: number): { task: Task; created: boolean } {
    for (let attempt = 0; attempt < 3; attempt++) {
      const info = this.insert.run(
        n.queue, n.type, n.payloadJson, n.priority, n.maxAttempts, n.runAfter, now,
        n.idempotencyKey, n.requiresJson, n.timeoutMs, n.backoff.baseMs, n.backoff.factor, n.backoff.capMs, n.backoff.jitter,
      );
      if (info.changes === 1) return { task: insertedTask(Number(info.lastInsertRowid), n, now), created: true };
      const row = this.byKey.get(n.queue, n.idempotencyKey) as TaskRow | undefined;
      if (row !== undefined) return { task: rowToTask(row), created: false };
    }
    // Only the idempotency index can make DO NOTHING skip a row, and a row cannot keep vanishing.
    throw new Error(`enqueue of ${n.type} was skipped without an idempotency conflict`);
  }
}
