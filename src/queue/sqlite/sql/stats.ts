/**
 * SQL of the read-only figures behind `metrics()`, `stats` and `health`. Every value is a bound
 * parameter; times are integer ms since the epoch. None of these take the write lock.
 */
export const STATS_SQL = {
  /** Completed tasks per minute bucket (0 = oldest) in [since, until). */
  completedPerMinute: `
    SELECT CAST((finished_at - @since) / 60000 AS INTEGER) AS bucket, count(*) AS n
    FROM tasks
    WHERE status = 'completed' AND finished_at >= @since AND finished_at < @until
    GROUP BY bucket`,
  /** The run-after time of the task that has waited longest among those ready now (served by the claim index). */
  oldestReadyRunAfter: `
    SELECT min(run_after) FROM tasks WHERE status = 'queued' AND run_after <= @now`,
  /** Number of completed attempts with a known start in the window. */
  processingSamples: `
    SELECT count(*) FROM tasks
    WHERE status = 'completed' AND finished_at >= @since AND started_at IS NOT NULL`,
  /** The processing time at a rank (0-based) of the window's completed tasks, shortest first. */
  processingTimeAtRank: `
    SELECT finished_at - started_at AS d FROM tasks
    WHERE status = 'completed' AND finished_at >= @since AND started_at IS NOT NULL
    ORDER BY d LIMIT 1 OFFSET @rank`,
  /** Tasks that finished (completed or dead) in the window, and how many needed more than one attempt. */
  finishedAndRetried: `
    SELECT count(*) AS finished, coalesce(sum(attempts > 1), 0) AS retried FROM tasks
    WHERE status IN ('completed', 'failed') AND finished_at >= @since`,
  /** Tasks that went dead (status failed) in the window. */
  deadSince: `
    SELECT count(*) FROM tasks WHERE status = 'failed' AND finished_at >= @since`,
  /** Running tasks per lease owner, split by whether the lease is still valid. */
  leasesByOwner: `
    SELECT lease_owner AS owner,
           coalesce(sum(lease_expires_at > @now), 0) AS active,
           coalesce(sum(lease_expires_at <= @now), 0) AS expired
    FROM tasks
    WHERE status = 'running' AND lease_owner IS NOT NULL
    GROUP BY lease_owner`,
  /** Workers whose last heartbeat is older than @before. */
  staleWorkers: `
    SELECT worker_id AS workerId, pid, hostname, queue, last_seen_at AS lastSeenAt
    FROM workers WHERE last_seen_at < @before ORDER BY last_seen_at`,
} as const;
