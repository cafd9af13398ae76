import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { checkpoint, vacuum } from '../../src/queue/maintenance';
import { openMaintenanceConnection } from '../../src/queue/maintenance/sqlite-file';
import { createSqliteTaskStore, type SqliteTaskStore } from '../../src/queue/store-factory';
import { MemoryLogger } from './worker-helpers';

/**
 * FULL, RESTART and TRUNCATE checkpoints hold the database's write lock while they wait for
 * readers, so every writer of every process waits with them. A reader that stays (a backup holds
 * one for its whole copy) used to keep the checkpoint waiting the connection's whole busy_timeout.
 * The tests give the connection a 30 s busy_timeout: waiting it out is at least 30 s, while a
 * bounded wait is a fraction of a second, so the 15 s limit below does not depend on machine speed.
 */
describe('checkpoint next to a reader that stays (review)', () => {
  let dir: string;
  let file: string;
  let store: SqliteTaskStore;
  let reader: Database.Database;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-ckpt-review-'));
    file = path.join(dir, 'q.db');
    store = createSqliteTaskStore({ path: file, logger: new MemoryLogger() });
    await store.enqueueBatch(Array.from({ length: 200 }, (_, i) => ({ type: 't', payload: { i, pad: 'p'.repeat(300) } })));
    // A read transaction at this snapshot, then writes after it: the WAL cannot be reset under it.
    reader = new Database(file, { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM tasks').get();
    await store.enqueueBatch(Array.from({ length: 50 }, () => ({ type: 'after' })));
  });
  afterEach(async () => {
    if (reader.inTransaction) reader.exec('ROLLBACK');
    reader.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a TRUNCATE checkpoint reports busy after a bounded wait instead of holding the write lock for the whole busy_timeout', () => {
    const db = openMaintenanceConnection(file, { busyTimeoutMs: 30_000 });
    try {
      const started = Date.now();
      const result = checkpoint(db, { mode: 'TRUNCATE' });
      expect(result.busy).toBe(true);
      expect(Date.now() - started).toBeLessThan(15_000);
      // The connection's own setting is left as it was.
      expect(db.pragma('busy_timeout', { simple: true })).toBe(30_000);
    } finally {
      db.close();
    }
  });

  it('vacuum says when the checkpoint after the rebuild could not finish (the rebuilt file waits in the WAL), after a bounded wait', () => {
    const db = openMaintenanceConnection(file, { busyTimeoutMs: 30_000 });
    try {
      const started = Date.now();
      const result = vacuum(db);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(result.busy).toBe(true);
      expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(0);

      reader.exec('ROLLBACK');
      const again = vacuum(db);
      expect(again.busy).toBe(false);
      expect(fs.statSync(`${file}-wal`).size).toBe(0);
    } finally {
      db.close();
    }
  });
});
