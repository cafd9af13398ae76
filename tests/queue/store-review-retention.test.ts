import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ManualClock } from '../../src/core/clock';
import { cleanupFinishedTasks } from '../../src/queue/maintenance';
import { SqliteTaskStore } from '../../src/queue/sqlite/store';
import { fifo } from '../../src/strategies/ordered';
import { MemoryLogger } from './worker-helpers';

const DAY = 86_400_000;

/**
 * Migration 2 dropped the (status, id) index, so a DELETE bounded to an id window reads every row in
 * that window, whatever its status (EXPLAIN: SEARCH tasks USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)).
 * Windows of `batchSize` rows of one status therefore spanned every row of the other statuses in
 * between: dead tasks are rare, so the 'failed' pass's first window covered nearly the whole table,
 * read inside the write lock. Records, for every DELETE, how many rows its id window held.
 */
function rowsReadByDeletes(db: Database.Database): number[] {
  const reach = db.prepare('SELECT count(*) FROM tasks WHERE id > @after AND id <= @upTo').pluck();
  const seen: number[] = [];
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    const statement = prepare(sql);
    if (!/^\s*DELETE/i.test(sql)) return statement;
    const run = statement.run.bind(statement);
    statement.run = ((params: { after: number; upTo: number }) => {
      seen.push(reach.get(params) as number);
      return run(params);
    }) as typeof statement.run;
    return statement;
  }) as typeof db.prepare;
  return seen;
}

describe('retention cleanup windows', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-retention-windows-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('no DELETE reads more than batchSize rows of any status, and every old dead task among many completed ones is deleted', () => {
    const file = path.join(dir, 'q.db');
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = new SqliteTaskStore({ path: file, clock, logger: new MemoryLogger() });
    store.enqueueBatchSync(Array.from({ length: 400 }, () => ({ type: 't', maxAttempts: 1 })));
    const dead: number[] = [];
    for (const { task, token } of store.claimSync({ workerId: 'w', limit: 400, leaseMs: 60_000, strategy: fifo })) {
      if (task.id % 100 === 0) {
        store.failSync(task.id, token, { message: 'boom', retryable: false });
        dead.push(task.id);
      } else {
        store.completeSync(task.id, token);
      }
    }
    store.closeSync();
    clock.advance(10 * DAY);
    const db = new Database(file);
    try {
      const reads = rowsReadByDeletes(db);
      const result = cleanupFinishedTasks(db, { failedOlderThanMs: DAY, batchSize: 50 }, { clock });

      expect(result).toMatchObject({ failed: 4, completed: 0, total: 4 });
      expect(Math.max(...reads)).toBeLessThanOrEqual(50);
      expect(db.prepare("SELECT count(*) FROM tasks WHERE status = 'failed'").pluck().get()).toBe(0);
      expect(db.prepare('SELECT count(*) FROM tasks').pluck().get()).toBe(396);
      expect(db.prepare('SELECT count(*) FROM tasks WHERE id IN (SELECT value FROM json_each(?))').pluck().get(JSON.stringify(dead))).toBe(0);
    } finally {
      db.close();
    }
  });
});
