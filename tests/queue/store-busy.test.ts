import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StorageFullError, StoreBusyError } from '../../src/core/errors';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { fifo } from '../../src/strategies/ordered';

describe('SQLite store under a held write lock', () => {
  it('reports StoreBusyError (retryable) after busy_timeout and writes nothing, then works once the lock is gone', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-busy-'));
    const file = path.join(dir, 'q.db');
    const store = createSqliteTaskStore({ path: file, busyTimeout: 20, logger: { error() {}, warn() {}, info() {}, debug() {} } });
    try {
      await store.enqueue({ type: 'before' });
      const other = new Database(file);
      other.exec('BEGIN IMMEDIATE');
      const err = await store.enqueue({ type: 't' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreBusyError);
      expect(err).toMatchObject({ code: 'TASKBRIDGE_BUSY', retryable: true });
      await expect(store.claim({ workerId: 'w', limit: 1, leaseMs: 1000, strategy: fifo })).rejects.toBeInstanceOf(StoreBusyError);
      other.exec('ROLLBACK');
      other.close();
      expect((await store.counts()).total).toBe(1);
      expect((await store.claim({ workerId: 'w', limit: 5, leaseMs: 1000, strategy: fifo })).map((c) => c.task.type)).toEqual(['before']);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SQLite store when the database is full', () => {
  it('reports StorageFullError and keeps a failed batch out entirely', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-full-'));
    const store = createSqliteTaskStore({ path: path.join(dir, 'q.db'), logger: { error() {}, warn() {}, info() {}, debug() {} } });
    try {
      await store.enqueue({ type: 'before' });
      // max_page_count is the documented way to make SQLite hit SQLITE_FULL without filling a disk.
      const db = (store as unknown as { ctx: { db: Database.Database } }).ctx.db;
      const pages = db.pragma('page_count', { simple: true }) as number;
      db.pragma(`max_page_count = ${pages + 2}`);
      const batch = Array.from({ length: 200 }, (_, i) => ({ type: 'big', payload: { i, text: 'x'.repeat(2000) } }));
      const err = await store.enqueueBatch(batch).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageFullError);
      expect(err).toMatchObject({ code: 'TASKBRIDGE_STORAGE_FULL' });
      expect((await store.counts()).total).toBe(1);
      expect((await store.list()).map((t) => t.type)).toEqual(['before']);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
