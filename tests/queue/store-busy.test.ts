import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StoreBusyError } from '../../src/core/errors';
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
