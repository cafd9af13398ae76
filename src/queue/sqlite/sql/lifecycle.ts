import type Database = require('better-sqlite3');
import type { TaskRow } from '../rows';

/** Fields fail() needs to decide between a retry and a dead task. */
export interface FailState {
  attempts: number;
  max_attempts: number;
  cancel_requested: number;
  backoff_base_ms: number;
  backoff_factor: number;
  backoff_cap_ms: number;
  backoff_jitter: number;
}

// Every fenced write matches on status = 'running' AND lease_token = ?: a token that changed means
// another claim took the task, and an expired lease nobody took back yet may still finish.
const FENCE = "id = ? AND status = 'running' AND lease_token = ?";

/** Heartbeat, progress, complete, fail, cancel, release and retry statements. */
export class LifecycleSql {
  readonly heartbeat: Database.Statement;
  readonly progress: Database.Statement;
  readonly complete: Database.Statement;
  readonly completeReturning: Database.Statement;
  readonly completeBatch: Database.Statement;
  readonly failState: Database.Statement;
  readonly failRequeue: Database.Statement;
  readonly failFinish: Database.Statement;
  readonly acknowledgeCancel: Database.Statement;
  readonly release: Database.Statement;
  readonly cancelQueued: Database.Statement;
  readonly requestCancel: Database.Statement;
  readonly status: Database.Statement;
  readonly retry: Database.Statement;

  constructor(db: Database.Database) {
    // MAX: a heartbeat never shortens a lease. After the clock stepped back, now + lease lies before
    // the expiry already granted, and other workers (whose clocks are right) would take the task early.
    this.heartbeat = db.prepare(
      `UPDATE tasks SET lease_expires_at = MAX(COALESCE(lease_expires_at, 0), ?) WHERE ${FENCE} RETURNING cancel_requested`,
    );
    this.progress = db.prepare(`UPDATE tasks SET progress = ? WHERE ${FENCE}`);
    const complete = `UPDATE tasks SET status = 'completed', result = ?, finished_at = ?, lease_expires_at = NULL WHERE ${FENCE}`;
    this.complete = db.prepare(complete);
    // Reading the row back costs a little, so it is only done when someone listens for 'completed'.
    this.completeReturning = db.prepare(`${complete} RETURNING *`);
    // A whole batch in one statement (one autocommit, no BEGIN): items arrive as a JSON array of
    // [id, token, resultJson] and are fenced like `complete`. Per-row statements cost a VM run and a
    // native call each; json_each drives the loop and each item is a rowid seek (EXPLAIN: SCAN j,
    // SEARCH tasks USING INTEGER PRIMARY KEY). Returns the ids whose lease was still held.
    this.completeBatch = db.prepare(`
      UPDATE tasks SET status = 'completed', result = j.value ->> 2, finished_at = ?, lease_expires_at = NULL
      FROM json_each(?) AS j
      WHERE tasks.id = j.value ->> 0 AND tasks.status = 'running' AND tasks.lease_token = j.value ->> 1
      RETURNING tasks.id`).pluck();
    this.failState = db.prepare(`
      SELECT attempts, max_attempts, cancel_requested, backoff_base_ms, backoff_factor, backoff_cap_ms, backoff_jitter
      FROM tasks WHERE ${FENCE}`);
    this.failRequeue = db.prepare(`
      UPDATE tasks SET status = 'queued', run_after = ?, last_error = ?, lease_owner = NULL, lease_expires_at = NULL
      WHERE id = ? RETURNING *`);
    this.failFinish = db.prepare(`
      UPDATE tasks SET status = ?, last_error = ?, finished_at = ?, lease_expires_at = NULL WHERE id = ? RETURNING *`);
    this.acknowledgeCancel = db.prepare(`
      UPDATE tasks SET status = 'cancelled', finished_at = ?, lease_expires_at = NULL
      WHERE ${FENCE} AND cancel_requested = 1 RETURNING *`);
    // A release hands back an attempt that never ran, so it is not counted; a cancel asked for
    // meanwhile is honoured instead of requeueing.
    this.release = db.prepare(`
      UPDATE tasks SET
        status = CASE WHEN cancel_requested = 1 THEN 'cancelled' ELSE 'queued' END,
        finished_at = CASE WHEN cancel_requested = 1 THEN ? ELSE NULL END,
        attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL
      WHERE ${FENCE} RETURNING *`);
    this.cancelQueued = db.prepare(`UPDATE tasks SET status = 'cancelled', finished_at = ? WHERE id = ? AND status = 'queued' RETURNING *`);
    this.requestCancel = db.prepare(`UPDATE tasks SET cancel_requested = 1 WHERE id = ? AND status = 'running' RETURNING *`);
    this.status = db.prepare('SELECT status FROM tasks WHERE id = ?');
    this.retry = db.prepare(`
      UPDATE tasks SET status = 'queued', attempts = 0, cancel_requested = 0, last_error = NULL, result = NULL, progress = NULL,
        run_after = ?, started_at = NULL, finished_at = NULL, lease_owner = NULL, lease_expires_at = NULL
      WHERE id = ? AND status IN ('failed', 'cancelled') RETURNING *`);
  }

  /** Reads the fail-decision fields while the caller holds the write lock; undefined when the lease is lost. */
  readFailState(id: number, token: number): FailState | undefined {
    return this.failState.get(id, token) as FailState | undefined;
  }

  rowsOf(stmt: Database.Statement, ...params: unknown[]): TaskRow | undefined {
    return stmt.get(...params) as TaskRow | undefined;
  }
}
