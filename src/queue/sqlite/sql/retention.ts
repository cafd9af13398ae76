/**
 * SQL of retention cleanup. Deletes go in batches so each statement holds the write lock briefly
 * and running workers interleave their commits; the (status, id) index finds the candidates.
 */
export const RETENTION_SQL = {
  /** Deletes up to @batch finished tasks of one status that finished before @before. */
  deleteFinishedBatch: `
    DELETE FROM tasks WHERE id IN (
      SELECT id FROM tasks
      WHERE status = @status AND finished_at IS NOT NULL AND finished_at < @before
      LIMIT @batch
    )`,
} as const;
