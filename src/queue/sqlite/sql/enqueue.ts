import type Database = require('better-sqlite3');
import type { Task } from '../../types';
import type { NormalizedEnqueue } from '../../validation';
import { insertedTask, rowToTask, type TaskRow } from '../rows';

const INSERT_COLUMNS = `INSERT INTO tasks (queue, type, payload, priority, status, max_attempts, run_after, created_at,
                   idempotency_key, requires, timeout_ms, backoff_base_ms, backoff_factor, backoff_cap_ms, backoff_jitter)`;
const ROW_PLACEHOLDERS = "(?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
/** Parameters bound per row by {@link ROW_PLACEHOLDERS}. */
const PARAMS_PER_ROW = 14;

/**
 * Rows per multi-row INSERT of {@link EnqueueSql.insertMany}. Measured (200,000 key-less rows in
 * transactions of 1,000, WAL, store defaults, medians of 5 runs): insertOne 126k rows/s, 64 rows
 * per statement 226k; 16/32/50/64/100 rows all within noise of each other (203k-215k in one sweep).
 * The gain is the statement overhead and the AUTOINCREMENT sqlite_sequence update, paid once per
 * statement. 64 * 14 = 896 bound parameters, under even the old 999 limit.
 */
export const INSERT_CHUNK_ROWS = 64;

/** Enqueue SQL, prepared once per connection. */
export class EnqueueSql {
  // DO NOTHING (not OR IGNORE): only a uniqueness conflict, i.e. an existing idempotency key, may skip the row.
  private readonly insert: Database.Statement;
  private readonly byKey: Database.Statement;
  /** Multi-row INSERTs by row count, prepared on first use: at most `chunkRows` statements. */
  private readonly multi = new Map<number, Database.Statement>();

  /** @param chunkRows rows per multi-row INSERT of {@link insertMany} (tests use small values to cross chunk edges cheaply) */
  constructor(private readonly db: Database.Database, private readonly chunkRows = INSERT_CHUNK_ROWS) {
    if (!Number.isInteger(chunkRows) || chunkRows < 1 || chunkRows * PARAMS_PER_ROW > 32766) {
      throw new RangeError(`chunkRows must be an integer from 1 to ${Math.floor(32766 / PARAMS_PER_ROW)}, got ${chunkRows}`);
    }
    this.insert = db.prepare(`${INSERT_COLUMNS}
      VALUES ${ROW_PLACEHOLDERS}
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

  /**
   * Returns exactly what `list.map((n) => this.insertOne(n, now))` would, in the same order, but
   * writes each run of consecutive key-less requests with multi-row INSERTs of up to `chunkRows`
   * rows (about twice the rows/s of one statement per row). Keyed requests go through
   * {@link insertOne} in their place, so a key repeated in the list or already stored behaves as
   * before: the first holder wins, later ones get it back with `created: false`.
   *
   * The caller runs it inside its own IMMEDIATE transaction (that one is open is checked), so all
   * chunks commit or none do. Under its write lock the ids of one multi-row INSERT are consecutive
   * and ascending in VALUES order (AUTOINCREMENT hands out max(rowid, seq) + 1 row by row, and
   * nobody else can insert), so each row's id is derived from the last one's.
   */
  insertMany(list: readonly NormalizedEnqueue[], now: number): { task: Task; created: boolean }[] {
    if (!this.db.inTransaction) throw new Error('EnqueueSql.insertMany must run inside an IMMEDIATE transaction');
    const out: { task: Task; created: boolean }[] = new Array(list.length);
    let i = 0;
    while (i < list.length) {
      if (list[i]!.idempotencyKey !== null) {
        out[i] = this.insertOne(list[i]!, now);
        i++;
        continue;
      }
      let end = i + 1;
      while (end < list.length && list[end]!.idempotencyKey === null) end++;
      while (i < end) {
        const count = Math.min(this.chunkRows, end - i);
        this.insertRun(list, i, count, now, out);
        i += count;
      }
    }
    return out;
  }

  /** Writes list[start, start + count) (all key-less) with one INSERT and fills `out` at the same positions. */
  private insertRun(
    list: readonly NormalizedEnqueue[], start: number, count: number, now: number, out: { task: Task; created: boolean }[],
  ): void {
    const params: unknown[] = new Array(count * PARAMS_PER_ROW);
    for (let r = 0, p = 0; r < count; r++) {
      const n = list[start + r]!;
      params[p++] = n.queue; params[p++] = n.type; params[p++] = n.payloadJson; params[p++] = n.priority;
      params[p++] = n.maxAttempts; params[p++] = n.runAfter; params[p++] = now; params[p++] = null;
      params[p++] = n.requiresJson; params[p++] = n.timeoutMs; params[p++] = n.backoff.baseMs; params[p++] = n.backoff.factor;
      params[p++] = n.backoff.capMs; params[p++] = n.backoff.jitter;
    }
    const info = this.statementFor(count).run(params);
    // No ON CONFLICT clause: a key-less row has no uniqueness to conflict on, so anything else aborts
    // the statement; a silently skipped row would shift every derived id.
    if (info.changes !== count) throw new Error(`multi-row enqueue wrote ${info.changes} of ${count} rows`);
    const firstId = Number(info.lastInsertRowid) - count + 1;
    for (let r = 0; r < count; r++) out[start + r] = { task: insertedTask(firstId + r, list[start + r]!, now), created: true };
  }

  private statementFor(rows: number): Database.Statement {
    let stmt = this.multi.get(rows);
    if (stmt === undefined) {
      stmt = this.db.prepare(`${INSERT_COLUMNS} VALUES ${new Array<string>(rows).fill(ROW_PLACEHOLDERS).join(', ')}`);
      this.multi.set(rows, stmt);
    }
    return stmt;
  }
}
