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
   * Inserts one task, or returns the task that already holds its idempotency key. Callers run it
   * inside a write transaction so the insert and the fallback read see the same state.
   */
  insertOne(n: NormalizedEnqueue, now: number): { task: Task; created: boolean } {
    const info = this.insert.run(
      n.queue, n.type, n.payloadJson, n.priority, n.maxAttempts, n.runAfter, now,
      n.idempotencyKey, n.requiresJson, n.timeoutMs, n.backoff.baseMs, n.backoff.factor, n.backoff.capMs, n.backoff.jitter,
    );
    if (info.changes === 1) return { task: insertedTask(Number(info.lastInsertRowid), n, now), created: true };
    const row = this.byKey.get(n.queue, n.idempotencyKey) as TaskRow | undefined;
    if (row === undefined) {
      // Only the idempotency index can make DO NOTHING skip a row; reaching here means the schema changed under us.
      throw new Error(`enqueue of ${n.type} was skipped without an idempotency conflict`);
    }
    return { task: rowToTask(row), created: false };
  }
}
