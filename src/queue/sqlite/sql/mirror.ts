/**
 * SQL of the compat layer's writes with explicit status and timestamps: the shadow mirror, the
 * takeover of mirror rows at cutover, and the bookkeeping of runs whose owner process is gone.
 * Values are always bound parameters.
 */

/** Backoff columns of mirror rows: the queue's own defaults, so an adopted row retries like any task. */
const BACKOFF = '1000, 2, 3600000, 0.2';

/** Insert or refresh one mirrored run, keyed by (queue, idempotency_key = runId). */
export const UPSERT_MIRROR = `
  INSERT INTO tasks (queue, type, payload, priority, status, attempts, max_attempts, run_after,
                     lease_owner, lease_expires_at, created_at, started_at, finished_at, last_error,
                     progress, idempotency_key, backoff_base_ms, backoff_factor, backoff_cap_ms, backoff_jitter)
  VALUES (@queue, @type, @payload, 100, @status, @attempts, 1, @createdAt,
          @leaseOwner, @leaseExpiresAt, @createdAt, @startedAt, @finishedAt, @lastError,
          @progress, @key, ${BACKOFF})
  ON CONFLICT(queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO UPDATE SET
    type = excluded.type, payload = excluded.payload, status = excluded.status,
    attempts = excluded.attempts, lease_owner = excluded.lease_owner,
    lease_expires_at = excluded.lease_expires_at, created_at = excluded.created_at,
    run_after = excluded.run_after, started_at = excluded.started_at,
    finished_at = excluded.finished_at, last_error = excluded.last_error, progress = excluded.progress`;

/** Keeps this mirror's active rows leased, so a cutover process does not take runs it still executes. */
export const RENEW_MIRROR_LEASES = `
  UPDATE tasks SET lease_expires_at = @expiresAt
  WHERE queue = @queue AND lease_owner = @owner AND status IN ('queued', 'running')`;

/** Every row of one queue, for parity checks (oldest first). */
export const LIST_QUEUE_ROWS = `
  SELECT id, idempotency_key AS key, type, status, created_at AS createdAt, started_at AS startedAt,
         finished_at AS finishedAt, last_error AS lastError, lease_owner AS leaseOwner,
         lease_expires_at AS leaseExpiresAt, payload, requires, attempts
  FROM tasks WHERE queue = @queue ORDER BY id`;

/** One row by queue and key. */
export const GET_BY_KEY = `
  SELECT id, idempotency_key AS key, type, status, created_at AS createdAt, started_at AS startedAt,
         finished_at AS finishedAt, last_error AS lastError, lease_owner AS leaseOwner,
         lease_expires_at AS leaseExpiresAt, payload, requires, attempts
  FROM tasks WHERE queue = @queue AND idempotency_key = @key`;

/**
 * Unfinished rows of a queue whose holder is gone: queued or running with no lease, or with an
 * expired one. These are the runs a cutover must resume and a rollback must take over or report.
 */
export const LIST_ORPHANS = `
  SELECT id, idempotency_key AS key, type, status, created_at AS createdAt, started_at AS startedAt,
         finished_at AS finishedAt, last_error AS lastError, lease_owner AS leaseOwner,
         lease_expires_at AS leaseExpiresAt, payload, requires, attempts
  FROM tasks
  WHERE queue = @queue AND status IN ('queued', 'running')
    AND (lease_expires_at IS NULL OR lease_expires_at <= @now)
  ORDER BY id`;

/**
 * Whether an orphaned mirror row may move into the work queue: still unfinished, not leased by a
 * live holder, and the work queue does not already hold the same run id (it was handed over
 * before and must not run twice).
 */
export const ADOPTABLE = `
  SELECT 1 AS ok FROM tasks
  WHERE id = @id AND status IN ('queued', 'running')
    AND (lease_expires_at IS NULL OR lease_expires_at <= @now)
    AND NOT EXISTS (SELECT 1 FROM tasks t2 WHERE t2.queue = @toQueue AND t2.idempotency_key = tasks.idempotency_key)`;

/**
 * First half of a move between queues: leaves `queued` so the level-count trigger debits the old
 * queue (the triggers fire on status changes only, not on queue changes).
 */
export const LEAVE_QUEUED = `UPDATE tasks SET status = 'running' WHERE id = @id AND status = 'queued'`;

/** Second half: enters the work queue as a fresh queued task, crediting the new queue's level count. */
export const ENTER_QUEUE = `
  UPDATE tasks SET queue = @toQueue, status = 'queued', lease_owner = NULL, lease_expires_at = NULL,
                   run_after = @now, max_attempts = MAX(max_attempts, attempts + @extraAttempts)
  WHERE id = @id`;

/** Lets any capable worker claim a task that was pinned to one process (its closure is gone). */
export const CLEAR_REQUIRES = `
  UPDATE tasks SET requires = NULL, run_after = MIN(run_after, @now)
  WHERE id = @id AND status IN ('queued', 'running')`;

/**
 * Ends an unfinished task that nothing can execute any more, recording why. Only rows still
 * unfinished and not leased by a live holder are touched.
 */
export const FAIL_ORPHAN = `
  UPDATE tasks SET status = 'failed', finished_at = @now, last_error = @message,
                   lease_owner = NULL, lease_expires_at = NULL
  WHERE id = @id AND status IN ('queued', 'running')
    AND (lease_expires_at IS NULL OR lease_expires_at <= @now)`;

/**
 * Claims an orphan for an in-process takeover (rollback): leases it to `owner` and counts the
 * attempt, the way a worker claim would, so two processes never take over the same run.
 */
export const TAKE_OVER = `
  UPDATE tasks SET status = 'running', lease_owner = @owner, lease_expires_at = @expiresAt,
                   lease_token = lease_token + 1, attempts = attempts + 1, started_at = @now, requires = NULL
  WHERE id = @id AND status IN ('queued', 'running')
    AND (lease_expires_at IS NULL OR lease_expires_at <= @now)
  RETURNING lease_token AS token, cancel_requested AS cancelRequested`;

/** Settles a taken-over task, fenced by the token handed out by TAKE_OVER. */
export const SETTLE_TAKEN_OVER = `
  UPDATE tasks SET status = @status, finished_at = @now, last_error = @lastError,
                   lease_owner = NULL, lease_expires_at = NULL
  WHERE id = @id AND lease_token = @token AND status = 'running'`;

/**
 * Renames the key of a finished run so the same run id can be enqueued again (the legacy API lets
 * a finished run id be started anew); the old row keeps its history under `<runId>#<task id>`.
 */
export const RETIRE_KEY = `
  UPDATE tasks SET idempotency_key = idempotency_key || '#' || id
  WHERE queue = @queue AND idempotency_key = @key AND status IN ('completed', 'failed', 'cancelled')`;

/** Capabilities of the workers seen since `@since`: tells which executor owners are alive. */
export const LIVE_WORKER_CAPABILITIES = `SELECT capabilities FROM workers WHERE last_seen_at >= @since`;
