/**
 * SQL of retention cleanup. A cleanup walks each finished status through the (status, id) index in
 * windows of at most @batch rows, and each DELETE covers one window: so no statement holds the write
 * lock for more than one window, however many rows of that status are too young to delete. (With
 * `LIMIT @batch` on the matches instead, the last statement scanned every remaining row of the
 * status inside the lock: ~0.4 s with a million recent completed tasks, at every cleanup.)
 */
export const RETENTION_SQL = {
  /** The last id of the next window: up to @batch rows of @status after id @after; NULL when none is left. */
  windowEnd: `
    SELECT max(id) FROM (
      SELECT id FROM tasks WHERE status = @status AND id > @after ORDER BY id LIMIT @batch
    )`,
  /** Deletes the tasks of one window that have @status and finished before @before (re-checked here, in the write). */
  deleteInWindow: `
    DELETE FROM tasks
    WHERE status = @status AND id > @after AND id <= @upTo AND finished_at IS NOT NULL AND finished_at < @before`,
} as const;
