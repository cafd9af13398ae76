import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { runCli, runJson, startCli, tempWorkspace, waitUntil, writeHandlers, type LongRunning } from './helpers';

const silent = { error() {}, warn() {}, info() {}, debug() {} };

/** Every row of every table, in a stable order, for content comparison. */
function dump(file: string): Record<string, unknown[]> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
    return Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}" ORDER BY 1, 2`).all()]));
  } finally {
    db.close();
  }
}

function statusCounts(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT status, count(*) AS n FROM tasks GROUP BY status').all() as { status: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  } finally {
    db.close();
  }
}

describe('taskbridge backup and restore', () => {
  let ws: ReturnType<typeof tempWorkspace>;
  let worker: LongRunning | undefined;
  beforeEach(async () => {
    ws = tempWorkspace();
    const store = createSqliteTaskStore({ path: ws.db, logger: silent });
    await store.enqueueBatch(Array.from({ length: 400 }, (_, i) => ({ type: 'slow', payload: { i, pad: 'p'.repeat(200) } })));
    await store.close();
    // The first 20 tasks finish at once; the rest wait for a 'release' file, so the worker is
    // guaranteed to be holding leases while the test backs up and tries to restore.
    writeHandlers(ws.dir, `
      const fs = require('node:fs');
      const release = require('node:path').join(__dirname, 'release');
      module.exports = { slow: async (p) => {
        while (p.i >= 20 && !fs.existsSync(release)) await new Promise((r) => setTimeout(r, 10));
        return { done: p.i };
      } };`);
  });
  afterEach(async () => {
    await worker?.stop('SIGKILL');
    worker = undefined;
    ws.cleanup();
  });

  it('a backup taken while a worker processes restores to identical content', async () => {
    worker = startCli(['--db', ws.db, 'worker', '--handlers', 'handlers.js', '--concurrency', '4'], { cwd: ws.dir });
    await worker.waitForOutput(/started/);
    await waitUntil(() => statusCounts(ws.db).completed === 20 && statusCounts(ws.db).running === 4, 30_000, 'the first tasks to complete');

    const backupFile = path.join(ws.dir, 'backups', 'mid-run.db');
    const backup = await runJson<{ verified: boolean; file: string; tables: Record<string, number>; bytes: number }>(['--db', ws.db, 'backup', backupFile]);
    expect(backup.code).toBe(0);
    expect(backup.json).toMatchObject({ verified: true, file: backupFile });
    expect(backup.json.tables.tasks).toBe(400);
    // The snapshot is mid-run: some tasks done, some not.
    expect(statusCounts(backupFile)).toEqual({ completed: 20, running: 4, queued: 376 });

    // Restore refuses while the worker holds leases.
    const refused = await runCli(['--db', ws.db, 'restore', backupFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refusing to restore: 4 task\(s\) are leased by running workers: .* pass --force/);

    // Let the worker finish (and keep writing) before stopping it.
    fs.writeFileSync(path.join(ws.dir, 'release'), '');
    await waitUntil(() => statusCounts(ws.db).completed === 400, 30_000, 'every task to complete');
    expect(await worker.stop('SIGTERM')).toBe(0);
    worker = undefined;

    const restored = path.join(ws.dir, 'restored.db');
    const result = await runCli(['--db', restored, 'restore', backupFile]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/restored database verified/);
    expect(result.stdout).toMatch(/new tasks get ids above \d+/);
    expect(dump(restored)).toEqual(dump(backupFile));

    // Restoring over the original (no worker now) brings it back to the snapshot too.
    const over = await runCli(['--db', ws.db, 'restore', backupFile]);
    expect(over.code).toBe(0);
    expect(dump(ws.db)).toEqual(dump(backupFile));
    const health = await runCli(['--db', ws.db, 'health']);
    expect(health.code).toBe(0);
  });

  it('restore --force proceeds while a worker holds leases', async () => {
    const backupFile = path.join(ws.dir, 'before.db');
    expect((await runCli(['--db', ws.db, 'backup', backupFile])).code).toBe(0);
    // Created after the backup: the restore drops these tasks, but never hands their ids out again.
    const producer = createSqliteTaskStore({ path: ws.db, logger: silent });
    const dropped = (await producer.enqueueBatch(Array.from({ length: 10 }, (_, i) => ({ type: 'later', payload: { i } })))).map((r) => r.task.id);
    await producer.close();
    worker = startCli(['--db', ws.db, 'worker', '--handlers', 'handlers.js', '--concurrency', '4'], { cwd: ws.dir });
    await worker.waitForOutput(/started/);
    await waitUntil(() => (statusCounts(ws.db).running ?? 0) > 0, 30_000, 'a running task');
    const forced = await runJson<{ restored: boolean; taskIdSequence: number }>(['--db', ws.db, 'restore', backupFile, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.json.restored).toBe(true);
    // The worker keeps running against the restored database meanwhile.
    const after = createSqliteTaskStore({ path: ws.db, logger: silent });
    try {
      expect((await after.enqueue({ type: 'later' })).task.id).toBeGreaterThan(Math.max(...dropped));
    } finally {
      await after.close();
    }
    expect(forced.json.taskIdSequence).toBeGreaterThanOrEqual(Math.max(...dropped));
  });

  it('restore refuses a file that is not a verified taskbridge backup, leaving the database alone', async () => {
    const before = dump(ws.db);
    const junk = path.join(ws.dir, 'junk.db');
    fs.writeFileSync(junk, 'this is not sqlite');
    const result = await runCli(['--db', ws.db, 'restore', junk]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Verification of .*junk\.db failed/);
    expect(dump(ws.db)).toEqual(before);
    expect((await runCli(['--db', ws.db, 'restore', path.join(ws.dir, 'absent.db')])).code).toBe(1);
  });
});
