/**
 * SQL of retention cleanup. A cleanup walks the table in id windows of at most @batch rows, once per
 * finished status, and each DELETE covers one window: so no statement holds the write lock for more
 * than one window. The window counts rows of every status: there is no (status, id) index (migration
 * 2 dropped it from the completion path), so a DELETE bounded by ids reads every row between its
 * bounds. Windows of @batch rows of one status spanned all the other rows in between: dead tasks
 * are rare, so one window of the 'failed' pass could cover nearly the whole table, read under the
 * lock. (With `LIMIT @batch` on the matches instead, the last statement scanned every remaining row
 * of the status inside the lock: ~0.4 s with a million recent completed tasks, at every cleanup.)
 */
export const RETENTION_SQL = {
  /** The last id of the next window: the next @batch rows after id @after, any status; NULL when none is left. */
  windowEnd: `
    SELECT max(id) FROM (
      SELECT id FROM tasks WHERE id > @after ORDER BY id LIMIT @batch
    )`,
  /** Deletes the tasks of one window that have @status and finished before @before (re-checked here, in the write). */
  deleteInWindow: `
    DELETE FROM tasks
    WHERE status = @status AND id > @after AND id <= @upTo AND finished_at IS NOT NULL AND finished_at < @before`,
} as const;
