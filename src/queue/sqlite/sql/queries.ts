import type Database = require('better-sqlite3');
import { TASK_STATUSES, type TaskCounts, type TaskStatus } from '../../types';
import type { NormalizedFilter } from '../../query-validation';
import type { TaskRow } from '../rows';

/** Shape of a list() call after validation (query-validation.ts owns it; the SQL only reads it). */
export type ListShape = NormalizedFilter;

/**
 * What a follower of many tasks needs of each without reading its whole row: enough to tell queued,
 * running (and by whom) and finished, and to build a finished task's outcome. Times in epoch ms.
 */
export interface TaskState {
  readonly id: number;
  readonly status: TaskStatus;
  readonly leaseOwner: string | null;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly lastError: string | null;
}

/**
 * Ids per {@link QuerySql.states} statement. json_each takes any number through one parameter; the
 * chunk only bounds the in-memory list SQLite builds for the IN, so a huge backlog costs a few
 * statements rather than one very large temporary index.
 */
export const STATES_CHUNK = 5_000;

/**
 * Ids and statuses arrive as JSON arrays so the statement is prepared once whatever their number;
 * the id list drives primary-key lookups (no scan of the table). The status filter is in SQL because
 * building the rows is most of the cost: a caller that only acts on changed tasks skips the rest.
 */
export const STATES_SQL = 'SELECT id, status, lease_owner AS leaseOwner, started_at AS startedAt, finished_at AS finishedAt, last_error AS lastError '
  + 'FROM tasks WHERE id IN (SELECT value FROM json_each(?)) AND status IN (SELECT value FROM json_each(?))';

/** Read-only queries: get, states, list, counts. */
export class QuerySql {
  private readonly byId: Database.Statement;
  private readonly statesById: Database.Statement;
  private readonly byKey: Database.Statement;
  private readonly countAll: Database.Statement;
  private readonly listCache = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {
    this.byId = db.prepare('SELECT * FROM tasks WHERE id = ?');
    this.statesById = db.prepare(STATES_SQL);
    this.byKey = db.prepare('SELECT * FROM tasks WHERE queue = ? AND idempotency_key = ?');
    this.countAll = db.prepare('SELECT queue, type, status, COUNT(*) AS n FROM tasks GROUP BY queue, type, status');
  }

  get(id: number): TaskRow | undefined {
    return this.byId.get(id) as TaskRow | undefined;
  }

  /**
   * The states of those of `ids` that exist with a status in `statuses` (a JSON array), in no
   * particular order; one statement per {@link STATES_CHUNK} ids.
   */
  states(ids: readonly number[], statuses: string): TaskState[] {
    const read = (chunk: readonly number[]): TaskState[] => this.statesById.all(JSON.stringify(chunk), statuses) as TaskState[];
    if (ids.length <= STATES_CHUNK) return read(ids);
    const states: TaskState[] = [];
    for (let i = 0; i < ids.length; i += STATES_CHUNK) states.push(...read(ids.slice(i, i + STATES_CHUNK)));
    return states;
  }

  getByKey(queue: string, key: string): TaskRow | undefined {
    return this.byKey.get(queue, key) as TaskRow | undefined;
  }

  counts(): { queue: string; type: string; status: string; n: number }[] {
    return this.countAll.all() as { queue: string; type: string; status: string; n: number }[];
  }

  list(shape: ListShape): TaskRow[] {
    const filters: string[] = [];
    const params: unknown[] = [];
    if (shape.statuses !== null) {
      filters.push('status IN (SELECT value FROM json_each(?))');
      params.push(shape.statuses);
    }
    if (shape.type !== null) {
      filters.push('type = ?');
      params.push(shape.type);
    }
    if (shape.queue !== null) {
      filters.push('queue = ?');
      params.push(shape.queue);
    }
    params.push(shape.limit, shape.offset);
    // Only fixed fragments above form the text; the cache key is the set of fragments.
    const key = `${filters.join('|')}|${shape.order}`;
    let stmt = this.listCache.get(key);
    if (stmt === undefined) {
      const where = filters.length === 0 ? '' : `WHERE ${filters.join(' AND ')}`;
      stmt = this.db.prepare(`SELECT * FROM tasks ${where} ORDER BY id ${shape.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ? OFFSET ?`);
      this.listCache.set(key, stmt);
    }
    return stmt.all(...params) as TaskRow[];
  }
}

/** Turns the rows of {@link QuerySql.counts} into counts by status, type and queue; every status appears in every bucket. */
export function tallyCounts(rows: readonly { queue: string; type: string; status: string; n: number }[]): TaskCounts {
  const zero = (): Record<TaskStatus, number> => Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  const byStatus = zero();
  // Maps, not object literals: a type or queue named `__proto__` or `constructor` found the
  // prototype's member instead of its own entry (vanished from the counts, wrote onto Object.prototype).
  const byType = new Map<string, Record<TaskStatus, number>>();
  const byQueue = new Map<string, Record<TaskStatus, number>>();
  const entryOf = (map: Map<string, Record<TaskStatus, number>>, key: string): Record<TaskStatus, number> => {
    let entry = map.get(key);
    if (entry === undefined) map.set(key, (entry = zero()));
    return entry;
  };
  let total = 0;
  for (const r of rows) {
    const status = r.status as TaskStatus;
    byStatus[status] += r.n;
    entryOf(byType, r.type)[status] += r.n;
    entryOf(byQueue, r.queue)[status] += r.n;
    total += r.n;
  }
  // fromEntries defines own properties, so even `__proto__` stays an ordinary key.
  return { byStatus, byType: Object.fromEntries(byType), byQueue: Object.fromEntries(byQueue), total };
}
