import type Database = require('better-sqlite3');
import { InvalidOptionError } from '../../../core/errors';
import type { RandomSource } from '../../../core/random';
import type { PriorityLevel, SortKey, Strategy } from '../../../strategies/types';
import { isSortKeys } from '../../../strategies/validate';
import type { NormalizedClaim } from '../../validation';
import type { TaskRow } from '../rows';

/** The only column and direction text that ever reaches ORDER BY: strategies pick from this table. */
const COLUMN: Record<SortKey['field'], 'priority' | 'run_after' | 'id'> = { priority: 'priority', readyAt: 'run_after', seq: 'id' };
const DIRECTION: Record<SortKey['direction'], 'ASC' | 'DESC'> = { asc: 'ASC', desc: 'DESC' };
const ORDER_ACCEPTED = "sort keys { field: 'priority' | 'readyAt' | 'seq', direction: 'asc' | 'desc' }, ending in a seq key";

/**
 * Most index entries one level's ready count reads on each side of `now`. Counting is a walk of the
 * index range (SQLite keeps no counts in its b-trees), ~45 ns an entry, so a claim pays at most
 * about 50 µs a side per level however large the backlog.
 */
export const READY_COUNT_CAP = 1024;

/** An ORDER BY clause and the partial index that serves it. */
export interface ClaimOrder {
  readonly sql: string;
  readonly index: Shape['index'];
}

/**
 * Maps sort keys to an ORDER BY clause built only from whitelisted constants, and picks the index.
 * The index is named (INDEXED BY) rather than left to the planner: without statistics it prefers the
 * run_after range of the time index even for priority order, and then sorts the whole backlog.
 */
export function claimOrder(field: string, keys: readonly SortKey[], level: boolean): ClaimOrder {
  const sql = orderByClause(field, keys);
  const fields = keys.map((k) => k.field).join(',');
  const sameDirection = keys.every((k) => k.direction === keys[0]!.direction);
  let index: Shape['index'] = null;
  if (sameDirection && !level && fields === 'readyAt,seq') index = 'tasks_ready_by_time';
  else if (sameDirection && !level && fields === 'priority,readyAt,seq') index = 'tasks_ready_by_priority';
  else if (sameDirection && level && fields === 'readyAt,seq') index = 'tasks_ready_by_priority';
  return { sql, index };
}

/** Maps sort keys to an ORDER BY clause built only from whitelisted constants. */
export function orderByClause(field: string, keys: readonly SortKey[]): string {
  // isSortKeys admits only the known field and direction names, so every part below is a constant.
  if (!isSortKeys(keys)) throw new InvalidOptionError(field, keys, ORDER_ACCEPTED);
  return keys.map((k) => `${COLUMN[k.field]} ${DIRECTION[k.direction]}`).join(', ');
}

/** Sorts claimed rows into strategy order: RETURNING reports rows in update order, not ORDER BY order. */
export function compareBy(keys: readonly SortKey[]): (a: TaskRow, b: TaskRow) => number {
  return (a, b) => {
    for (const k of keys) {
      const col = COLUMN[k.field];
      const d = a[col] - b[col];
      if (d !== 0) return k.direction === 'asc' ? d : -d;
    }
    return 0;
  };
}

/** Deterministic capability check registered as an SQL function: every required pair must be offered. */
export function registerCapabilityFunction(db: Database.Database): void {
  const parsed = new Map<string, Record<string, string>>();
  const parse = (text: string): Record<string, string> => {
    let value = parsed.get(text);
    if (value === undefined) {
      // Bounded cache: the distinct requirement sets in a queue are few, but never let it grow without limit.
      if (parsed.size >= 1024) parsed.clear();
      value = JSON.parse(text) as Record<string, string>;
      parsed.set(text, value);
    }
    return value;
  };
  db.function('tb_satisfies', { deterministic: true, varargs: false }, (requires: unknown, offered: unknown) => {
    if (typeof requires !== 'string' || typeof offered !== 'string') return 0;
    const need = parse(requires);
    const have = parse(offered);
    for (const key in need) if (have[key] !== need[key]) return 0;
    return 1;
  });
}

/**
 * The claim's RETURNING list, in the order {@link rowFromArray} reads it. Claimed rows come back as
 * arrays (`raw`): better-sqlite3 builds a keyed object with one native property set per column,
 * which cost ~3.5 µs per claimed row (a claim of 10: 165 -> 128 µs measured), more than the UPDATE's
 * own index work; a JS object literal of a fixed shape is nearly free. The columns this UPDATE
 * sets from bound values (status, lease_owner, lease_expires_at, started_at) and the queue it
 * matched by equality are filled in from those values instead of being read back (claim of 10 about
 * 8 µs cheaper, measured).
 */
const RETURNED = [
  'id', 'type', 'payload', 'priority', 'attempts', 'max_attempts', 'run_after',
  'lease_token', 'cancel_requested', 'created_at', 'finished_at', 'last_error',
  'result', 'progress', 'idempotency_key', 'requires', 'timeout_ms', 'backoff_base_ms', 'backoff_factor',
  'backoff_cap_ms', 'backoff_jitter',
].join(', ');

// `any`: the element types are the tasks table's columns, which TaskRow states.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function rowFromArray(a: any[], queue: string, owner: string, expires: number, now: number): TaskRow {
  return {
    id: a[0], queue, type: a[1], payload: a[2], priority: a[3], status: 'running', attempts: a[4], max_attempts: a[5],
    run_after: a[6], lease_owner: owner, lease_expires_at: expires, lease_token: a[7], cancel_requested: a[8],
    created_at: a[9], started_at: now, finished_at: a[10], last_error: a[11], result: a[12], progress: a[13],
    idempotency_key: a[14], requires: a[15], timeout_ms: a[16], backoff_base_ms: a[17], backoff_factor: a[18],
    backoff_cap_ms: a[19], backoff_jitter: a[20],
  };
}

interface Shape {
  readonly order: string;
  /** Which partial index serves the order; null for orders no index matches (still correct, sorted in memory). */
  readonly index: 'tasks_ready_by_time' | 'tasks_ready_by_priority' | null;
  readonly level: boolean;
  readonly types: boolean;
  readonly caps: boolean;
  /** Tasks without requirements of the claim's pinned types are left alone. */
  readonly pinned: boolean;
  /** LIMIT 1: `id = (subquery)` is several times cheaper in SQLite than `id IN (subquery)` for one row. */
  readonly single: boolean;
}

/** Claim SQL: the statements for each (order, filter) shape are prepared on first use and cached. */
export class ClaimSql {
  private readonly takeBack: Database.Statement;
  private readonly levels: Database.Statement;
  private readonly readyAtLevel: Database.Statement;
  private readonly cache = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {
    // Attempts were counted at claim, so an expired lease on the last attempt means the task is dead.
    // An expired attempt failed like a thrown one, so it is recorded as the task's last error either way.
    this.takeBack = db.prepare(`
      UPDATE tasks SET
        status = CASE WHEN cancel_requested = 1 THEN 'cancelled' WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
        finished_at = CASE WHEN cancel_requested = 1 OR attempts >= max_attempts THEN @now ELSE NULL END,
        last_error = CASE WHEN cancel_requested = 0
          THEN 'lease expired on attempt ' || attempts || ' of ' || max_attempts || ' (worker ' || COALESCE(lease_owner, '?') || ')'
          ELSE last_error END,
        lease_owner = CASE WHEN cancel_requested = 0 AND attempts < max_attempts THEN NULL ELSE lease_owner END,
        lease_expires_at = NULL
      WHERE id IN (SELECT id FROM tasks INDEXED BY tasks_lease_expiry WHERE status = 'running' AND lease_expires_at <= @now)
      RETURNING *`);
    // queue_levels counts every queued task, delayed ones too: weighing levels by it let a backlog
    // scheduled for later outdraw ready urgent work. The delayed side is counted because it is
    // usually the small one (nothing at all in a backlog that is simply behind).
    this.levels = db.prepare(`
      SELECT l.priority AS priority, l.queued_count AS queued,
        (SELECT count(*) FROM (SELECT 1 FROM tasks INDEXED BY tasks_ready_by_priority
           WHERE status = 'queued' AND queue = l.queue AND priority = l.priority AND run_after > @now
           LIMIT ${READY_COUNT_CAP})) AS delayed
      FROM queue_levels l WHERE l.queue = @queue AND l.queued_count > 0 ORDER BY l.priority`);
    this.readyAtLevel = db.prepare(`
      SELECT count(*) FROM (SELECT 1 FROM tasks INDEXED BY tasks_ready_by_priority
        WHERE status = 'queued' AND queue = @queue AND priority = @priority AND run_after <= @now
        LIMIT ${READY_COUNT_CAP})`).pluck();
  }

  /** Takes back every lease that expired at or before `now`; returns the rows as they are now. */
  takeBackExpired(now: number): TaskRow[] {
    return this.takeBack.all({ now }) as TaskRow[];
  }

  /**
   * Priority levels of `queue` with tasks ready at `now`, each with its ready count: exact when
   * fewer than {@link READY_COUNT_CAP} of the level's tasks are ready or fewer are delayed; with
   * at least that many of both it is READY_COUNT_CAP (a lower bound, so such a level never
   * outweighs what it really holds).
   */
  readLevels(queue: string, now: number): (PriorityLevel & { readonly capped: boolean })[] {
    const rows = this.levels.all({ queue, now }) as { priority: number; queued: number; delayed: number }[];
    const out: (PriorityLevel & { capped: boolean })[] = [];
    for (const r of rows) {
      const exact = r.delayed < READY_COUNT_CAP;
      const count = exact ? r.queued - r.delayed : (this.readyAtLevel.get({ queue, priority: r.priority, now }) as number);
      if (count > 0) out.push({ priority: r.priority, count, capped: !exact && count >= READY_COUNT_CAP });
    }
    return out;
  }

  /** The claim UPDATE text for a shape; also what {@link explain} reports on. */
  static text(shape: Shape): string {
    const filters = [
      "status = 'queued'", // literal: must match the partial indexes' predicate for the planner to use them
      'queue = ?',
      'run_after <= ?',
      shape.level ? 'priority = ?' : '',
      shape.types ? 'type IN (SELECT value FROM json_each(?))' : '',
      shape.caps ? '(requires IS NULL OR tb_satisfies(requires, ?) = 1)' : 'requires IS NULL',
      shape.pinned ? '(requires IS NOT NULL OR type NOT IN (SELECT value FROM json_each(?)))' : '',
    ].filter((f) => f !== '');
    // `LIMIT ? + 0`, not `LIMIT ?`: SQLite (3.53) reads a bare bound LIMIT while planning and marks the
    // statement to be re-prepared whenever it is bound again, i.e. on every claim (~60 µs each).
    return `
      UPDATE tasks SET status = 'running', attempts = attempts + 1, lease_owner = ?, lease_expires_at = ?,
                       lease_token = lease_token + 1, started_at = ?
      WHERE id ${shape.single ? '=' : 'IN'} (SELECT id FROM tasks ${shape.index === null ? '' : `INDEXED BY ${shape.index}`}
                   WHERE ${filters.join(' AND ')} ORDER BY ${shape.order} LIMIT ? + 0)
      RETURNING ${RETURNED}`;
  }

  private statement(shape: Shape): Database.Statement {
    const key = `${shape.order}|${shape.index}|${shape.single ? 1 : 0}${shape.level ? 1 : 0}${shape.types ? 1 : 0}${shape.caps ? 1 : 0}${shape.pinned ? 1 : 0}`;
    let stmt = this.cache.get(key);
    if (stmt === undefined) {
      stmt = this.db.prepare(ClaimSql.text(shape)).raw(true);
      this.cache.set(key, stmt);
    }
    return stmt;
  }

  /** Runs one claim UPDATE; `level` restricts to one priority. Caller holds the IMMEDIATE transaction. */
  claimRows(c: NormalizedClaim, order: ClaimOrder, now: number, limit: number, level?: number): TaskRow[] {
    const shape: Shape = {
      order: order.sql, index: order.index, level: level !== undefined, types: c.typesJson !== null,
      caps: c.capabilitiesJson !== null, pinned: c.pinnedTypesJson !== null, single: limit === 1,
    };
    const params: unknown[] = [c.workerId, now + c.leaseMs, now, c.queue, now];
    if (level !== undefined) params.push(level);
    if (c.typesJson !== null) params.push(c.typesJson);
    if (c.capabilitiesJson !== null) params.push(c.capabilitiesJson);
    if (c.pinnedTypesJson !== null) params.push(c.pinnedTypesJson);
    params.push(limit);
    const arrays = this.statement(shape).all(...params) as unknown[][];
    const rows: TaskRow[] = new Array(arrays.length);
    for (let i = 0; i < arrays.length; i++) rows[i] = rowFromArray(arrays[i]!, c.queue, c.workerId, now + c.leaseMs, now);
    return rows;
  }

  /**
   * Claims in a level-picking strategy's order: a draw per task, so a batch follows the same
   * weights as single claims. A level that yields nothing ready (delayed, other types,
   * unmet requirements) is dropped from this call's draws.
   */
  claimLevelPicking(c: NormalizedClaim, strategy: Strategy & { kind: 'level-picking' }, order: ClaimOrder, now: number, random: RandomSource): TaskRow[] {
    const read = this.readLevels(c.queue, now);
    const levels: PriorityLevel[] = read.map((l) => ({ priority: l.priority, count: l.count }));
    // A capped count is a lower bound: such a level is only dropped once a claim at it finds nothing.
    const capped = new Set(read.filter((l) => l.capped).map((l) => l.priority));
    const claimed: TaskRow[] = [];
    while (claimed.length < c.limit && levels.length > 0) {
      const picked = strategy.pickLevel(levels, random);
      if (picked === undefined) break;
      const index = levels.findIndex((l) => l.priority === picked);
      if (index < 0) throw new InvalidOptionError('strategy.pickLevel', picked, 'one of the offered priority levels');
      const rows = this.claimRows(c, order, now, 1, picked);
      const left = levels[index]!.count - 1;
      if (rows.length === 0 || (left <= 0 && !capped.has(picked))) levels.splice(index, 1);
      else levels[index] = { priority: picked, count: Math.max(left, 1) };
      claimed.push(...rows);
    }
    return claimed;
  }

  /** EXPLAIN QUERY PLAN details of the expired-lease takeback. */
  explainTakeBack(): string[] {
    return (this.db.prepare(`EXPLAIN QUERY PLAN ${this.takeBack.source}`).all({ now: 0 }) as { detail: string }[]).map((r) => r.detail);
  }

  /** EXPLAIN QUERY PLAN details of the claim statement for a shape. */
  explain(shape: Shape): string[] {
    const text = ClaimSql.text(shape);
    // One null per placeholder of the text, so this never drifts from the filters claimRows binds.
    const placeholders = text.split('?').length - 1;
    const rows = this.db.prepare(`EXPLAIN QUERY PLAN ${text}`).all(...new Array<null>(placeholders).fill(null)) as { detail: string }[];
    return rows.map((r) => r.detail);
  }
}
