import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { checkpoint, vacuum } from '../../src/queue/maintenance';
import { createSqliteTaskStore, type SqliteTaskStore } from '../../src/queue/store-factory';
import { MemoryLogger } from './worker-helpers';

/** The busy_timeout openMaintenanceConnection gives a connection: the one a checkpoint must not wait out. */
const CONNECTION_BUSY_TIMEOUT_MS = 5_000;

/**
 * A connection as openMaintenanceConnection opens one, that also notes every statement it runs
 * (better-sqlite3's `verbose` hook, which openMaintenanceConnection does not take).
 */
function tracedConnection(file: string, busyTimeoutMs = CONNECTION_BUSY_TIMEOUT_MS): { db: Database.Database; statements: string[] } {
  const statements: string[] = [];
  const db = new Database(file, { fileMustExist: true, verbose: (sql) => statements.push(String(sql)) });
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  statements.length = 0;
  return { db, statements };
}

/** The busy_timeout in effect at each `wal_checkpoint` among `statements`, starting from `initial`. */
function checkpointWaits(statements: readonly string[], initial: number): number[] {
  let current = initial;
  const waits: number[] = [];
  for (const sql of statements) {
    const set = /^\s*PRAGMA\s+busy_timeout\s*=\s*(\d+)\s*;?\s*$/i.exec(sql);
    if (set) current = Number(set[1]);
    else if (/^\s*PRAGMA\s+wal_checkpoint\b/i.test(sql)) waits.push(current);
  }
  return waits;
}

/**
 * FULL, RESTART and TRUNCATE checkpoints hold the database's write lock while they wait for
 * readers, so every writer of every process waits with them. A reader that stays (a backup holds
 * one for its whole copy) used to keep the checkpoint waiting the connection's whole busy_timeout.
 * SQLite waits inside one synchronous call, which no clock of the test can move and whose length in
 * wall time depends on the machine; so the tests check the busy_timeout in effect when the
 * checkpoint ran, replayed from the statements the connection ran, next to the busy outcome.
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
    const { db, statements } = tracedConnection(file);
    try {
      const result = checkpoint(db, { mode: 'TRUNCATE' });
      expect(result.busy).toBe(true);
      // It waited at most 250 ms for the reader, not the connection's 5 s.
      expect(checkpointWaits(statements, CONNECTION_BUSY_TIMEOUT_MS)).toEqual([250]);
      // The connection's own setting is left as it was.
      expect(db.pragma('busy_timeout', { simple: true })).toBe(CONNECTION_BUSY_TIMEOUT_MS);
    } finally {
      db.close();
    }
  });

  it('a connection whose busy_timeout is shorter than the bound keeps its own', () => {
    const { db, statements } = tracedConnection(file, 100);
    try {
      expect(checkpoint(db, { mode: 'TRUNCATE' }).busy).toBe(true);
      expect(checkpointWaits(statements, 100)).toEqual([100]);
      expect(db.pragma('busy_timeout', { simple: true })).toBe(100);
    } finally {
      db.close();
    }
  });

  it('vacuum says when the checkpoint after the rebuild could not finish (the rebuilt file waits in the WAL), after a bounded wait', () => {
    const { db, statements } = tracedConnection(file);
    try {
      const result = vacuum(db);
      // The checkpoint after the rebuild waited at most 250 ms for the reader, not the connection's 5 s.
      expect(checkpointWaits(statements, CONNECTION_BUSY_TIMEOUT_MS)).toEqual([250]);
      expect(db.pragma('busy_timeout', { simple: true })).toBe(CONNECTION_BUSY_TIMEOUT_MS);
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
