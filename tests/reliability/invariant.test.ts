import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { SILENT, tempDir } from './harness';
import { checkInvariant } from './invariant';

// The checker every scenario relies on must itself be able to fail: each broken state below is caught.
describe('the reliability invariant', () => {
  let dir: string;
  let cleanup: () => void;
  let dbPath: string;
  let runs: string;
  let ids: number[];

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir());
    dbPath = join(dir, 'queue.db');
    runs = join(dir, 'runs.txt');
    const store = createSqliteTaskStore({ path: dbPath, logger: SILENT });
    ids = (await store.enqueueBatch([{ type: 'work' }, { type: 'work' }, { type: 'work' }])).map((r) => r.task.id);
    const [c] = await store.claim({ workerId: 'w', limit: 1, leaseMs: 1000, strategy: { kind: 'ordered', name: 'fifo', order: [{ field: 'seq', direction: 'asc' }] } });
    appendFileSync(runs, `${c!.task.id} start\n${c!.task.id} done\n`);
    await store.complete(c!.task.id, c!.token);
    await store.close();
  });
  afterEach(() => cleanup());

  it('holds for a consistent queue', () => {
    const inv = checkInvariant({ dbPath, accepted: ids, runFiles: [runs] });
    expect(inv.problems).toEqual([]);
    expect(inv).toMatchObject({ tasks: 3, doneRuns: 1, lost: 0, byStatus: { completed: 1, queued: 2 } });
  });

  it('catches a lost task', () => {
    const db = new Database(dbPath);
    db.prepare('DELETE FROM tasks WHERE id = ?').run(ids[2]);
    db.close();
    const inv = checkInvariant({ dbPath, accepted: ids, runFiles: [runs] });
    expect(inv.lost).toBe(1);
    expect(inv.problems).toEqual([`accepted task ${ids[2]} is missing`]);
  });

  it('catches a handler that completed twice without a retry', () => {
    appendFileSync(runs, `${ids[0]} done\n`);
    expect(checkInvariant({ dbPath, accepted: ids, runFiles: [runs] }).problems).toEqual([`task ${ids[0]}: handler completed 2 times in 1 attempt(s)`]);
  });

  it('catches a completed task whose handler never completed, a phantom run and a task left running', () => {
    writeFileSync(runs, '999 done\n');
    const db = new Database(dbPath);
    db.prepare("UPDATE tasks SET status = 'running' WHERE id = ?").run(ids[1]);
    db.close();
    expect(checkInvariant({ dbPath, accepted: ids, runFiles: [runs] }).problems.sort()).toEqual([
      'handler of task 999 ran, but no such task exists',
      `task ${ids[0]} is completed but its handler never completed`,
      `task ${ids[1]} is still running`,
    ].sort());
  });

  it('catches an unknown state and an unreported task', () => {
    const db = new Database(dbPath);
    db.pragma('ignore_check_constraints = ON');
    db.prepare("UPDATE tasks SET status = 'limbo' WHERE id = ?").run(ids[1]);
    db.close();
    const problems = checkInvariant({ dbPath, accepted: ids.slice(0, 2), runFiles: [runs] }).problems;
    expect(problems).toContain(`task ${ids[1]} is in unknown state "limbo"`);
    expect(problems).toContain(`task ${ids[2]} is in the database but was never reported accepted`);
  });

  it('catches a damaged database file', () => {
    const db = new Database(dbPath);
    const root = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'tasks'").pluck().get() as number;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    // Scribble over the b-tree page header of the tasks table's root page.
    const fd = require('node:fs').openSync(dbPath, 'r+');
    require('node:fs').writeSync(fd, Buffer.alloc(12, 0x5a), 0, 12, (root - 1) * pageSize);
    require('node:fs').closeSync(fd);
    let problems: string[];
    try {
      problems = checkInvariant({ dbPath, accepted: ids, runFiles: [runs] }).problems;
    } catch (err) {
      problems = [`threw ${(err as Error).message}`];
    }
    expect(problems.length).toBeGreaterThan(0);
  });
});
