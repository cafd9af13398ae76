import type { Capabilities, Task, TaskProgress, TaskStatus } from '../types';
import type { NormalizedEnqueue } from '../validation';

/** A `tasks` row as better-sqlite3 returns it. */
export interface TaskRow {
  id: number;
  queue: string;
  type: string;
  payload: string;
  priority: number;
  status: TaskStatus;
  attempts: number;
  max_attempts: number;
  run_after: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  lease_token: number;
  cancel_requested: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  last_error: string | null;
  result: string | null;
  progress: string | null;
  idempotency_key: string | null;
  requires: string | null;
  timeout_ms: number | null;
  backoff_base_ms: number;
  backoff_factor: number;
  backoff_cap_ms: number;
  backoff_jitter: number;
}

const dateOrNull = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));
// 'null' is by far the most common stored JSON; skipping the parser for it is measurable on the hot path.
const parseJson = (text: string | null): unknown => (text === null || text === 'null' ? null : JSON.parse(text));

/** Converts a row to the public Task shape. */
export function rowToTask(row: TaskRow): Task {
  return {
    id: row.id,
    queue: row.queue,
    type: row.type,
    payload: parseJson(row.payload),
    priority: row.priority,
    status: row.status,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    runAfter: new Date(row.run_after),
    leaseOwner: row.lease_owner,
    leaseExpiresAt: dateOrNull(row.lease_expires_at),
    leaseToken: row.lease_token,
    cancelRequested: row.cancel_requested === 1,
    createdAt: new Date(row.created_at),
    startedAt: dateOrNull(row.started_at),
    finishedAt: dateOrNull(row.finished_at),
    lastError: row.last_error,
    result: parseJson(row.result),
    progress: parseJson(row.progress) as TaskProgress | null,
    idempotencyKey: row.idempotency_key,
    requires: parseJson(row.requires) as Capabilities | null,
    timeoutMs: row.timeout_ms,
    backoff: { baseMs: row.backoff_base_ms, factor: row.backoff_factor, capMs: row.backoff_cap_ms, jitter: row.backoff_jitter },
  };
}

/** The Task a fresh insert produced, built from what was written instead of reading the row back. */
export function insertedTask(id: number, n: NormalizedEnqueue, now: number): Task {
  return {
    id,
    queue: n.queue,
    type: n.type,
    payload: parseJson(n.payloadJson),
    priority: n.priority,
    status: 'queued',
    attempts: 0,
    maxAttempts: n.maxAttempts,
    runAfter: new Date(n.runAfter),
    leaseOwner: null,
    leaseExpiresAt: null,
    leaseToken: 0,
    cancelRequested: false,
    createdAt: new Date(now),
    startedAt: null,
    finishedAt: null,
    lastError: null,
    result: null,
    progress: null,
    idempotencyKey: n.idempotencyKey,
    requires: n.requires === null ? null : { ...n.requires },
    timeoutMs: n.timeoutMs,
    backoff: { ...n.backoff },
  };
}
