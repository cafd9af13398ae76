import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ManualClock } from '../../src/core/clock';
import { cleanupFinishedTasks } from '../../src/queue/maintenance';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { createStrategy } from '../../src/strategies';
import { MemoryLogger } from './worker-helpers';

const DAY = 86_400_000;

/**
 * Retention must hold the write lock in short slices. The rows a DELETE may look at are those of its
 * status in its id window, so every DELETE the cleanup runs is recorded with how many rows of its
 * status that window held when it ran (a DELETE with no window could look at all of them).
 */
function recordDeletes(db: Database.Database): { status: string; rowsInReach: number; changes: number }[] {
  const seen: { status: string; rowsInReach: number; changes: number }[] = [];
  const reach = db.prepare('SELECT count(*) FROM tasks WHERE status = @status AND id > @after AND id <= @upTo').pluck();
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    const statement = prepare(sql);
    if (!/^\s*DELETE/i.test(sql)) return statement;
    const run = statement.run.bind(statement);
    statement.run = ((params: Record<string, unknown>) => {
      const status = String(params.status);
      const window = { status, after: params.after ?? 0, upTo: params.upTo ?? Number.MAX_SAFE_INTEGER };
      const rowsInReach = reach.get(window) as number;
      const result = run(params);
      seen.push({ status, rowsInReach, changes: result.changes });
      return result;
    }) as typeof statement.run;
    return statement;
  }) as typeof db.prepare;
  return seen;
}

describe('retention cleanup: bounded write statements', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-retention-'));
    file = path.join(dir, 'q.db');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('looks at no more than batchSize rows per delete, and still deletes every old task wherever its id falls', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = createSqliteTaskStore({ path: file, clock, logger: new MemoryLogger() });
    const fifo = createStrategy('fifo');
    // Ids 1-3 and 498-500 finish on day 0; ids 4-497 finish on day 10. So old rows sit at both ends
    // of the (status, id) index and the young ones between them.
    const { task: first } = await store.enqueue({ type: 't' });
    await store.enqueueBatch(Array.from({ length: 499 }, () => ({ type: 't' })));
    const complete = async (ids: number[]): Promise<void> => {
      for (const id of ids) {
        const [c] = await store.claim({ workerId: 'w', limit: 1, leaseMs: 60_000, strategy: fifo, types: ['t'] });
        expect(c!.task.id).toBe(id);
      }
      await store.completeMany(ids.map((id) => ({ taskId: id, token: 1 })));
    };
    const ids = Array.from({ length: 500 }, (_, i) => first.id + i);
    await complete(ids.slice(0, 3));
    clock.advance(10 * DAY);
    await complete(ids.slice(3, 497));
    // The last three never ran here: they are marked finished on day 0 directly, as a task enqueued
    // after a long-delayed one but finished before it would be.
    await store.close();
    const db = new Database(file);
    try {
      db.prepare('UPDATE tasks SET finished_at = ? WHERE id IN (?, ?, ?)').run(Date.UTC(2026, 0, 1), ids[497], ids[498], ids[499]);
      db.prepare("UPDATE tasks SET status = 'completed' WHERE id IN (?, ?, ?)").run(ids[497], ids[498], ids[499]);
      const deletes = recordDeletes(db);

      const result = cleanupFinishedTasks(db, { completedOlderThanMs: 5 * DAY, batchSize: 50 }, { clock });

      expect(result.completed).toBe(6);
      const left = db.prepare('SELECT id FROM tasks ORDER BY id').pluck().all() as number[];
      expect(left).toEqual(ids.slice(3, 497));
      expect(deletes.length).toBeGreaterThan(0);
      expect(Math.max(...deletes.map((d) => d.rowsInReach))).toBeLessThanOrEqual(50);
    } finally {
      db.close();
    }
  });
});
