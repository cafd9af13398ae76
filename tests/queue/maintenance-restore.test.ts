import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BackupVerificationError, backupDatabase, restoreDatabase } from '../../src/queue/maintenance';
import { SCHEMA_VERSION } from '../../src/queue/sqlite/migrations';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { MemoryLogger } from './worker-helpers';

const sha = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('restore', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-restore-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function database(name: string, tasks: number): string {
    const file = path.join(dir, name);
    const store = createSqliteTaskStore({ path: file, logger: new MemoryLogger() });
    store.enqueueBatchSync(Array.from({ length: tasks }, (_, i) => ({ type: 't', payload: { i } })));
    store.closeSync();
    return file;
  }

  it('refuses a backup of a newer schema, naming both versions, and leaves the database usable and unchanged', async () => {
    const live = database('live.db', 3);
    const newer = path.join(dir, 'newer.db');
    await backupDatabase(database('other.db', 5), newer);
    const db = new Database(newer);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const before = sha(live);
    const refused = restoreDatabase(newer, live);
    await expect(refused).rejects.toThrow(BackupVerificationError);
    await expect(restoreDatabase(newer, live)).rejects.toThrow(`schema version ${SCHEMA_VERSION + 1}, newer than the ${SCHEMA_VERSION}`);
    expect(sha(live)).toBe(before);
    const store = createSqliteTaskStore({ path: live, logger: new MemoryLogger() });
    try {
      expect(store.countsSync().total).toBe(3);
    } finally {
      store.closeSync();
    }
  });
});
