import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BackupVerificationError, backupDatabase } from '../../src/queue/maintenance';
import { createSqliteTaskStore, type SqliteTaskStore } from '../../src/queue/store-factory';
import { MemoryLogger } from './worker-helpers';

describe('backup files (review)', () => {
  let dir: string;
  let file: string;
  let store: SqliteTaskStore;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-backup-review-'));
    file = path.join(dir, 'q.db');
    // No checkpoint on its own, so the WAL holds committed tasks that only it has.
    store = createSqliteTaskStore({ path: file, logger: new MemoryLogger(), walAutocheckpointPages: 100_000 });
    await store.enqueueBatch(Array.from({ length: 200 }, (_, i) => ({ type: 't', payload: { i, secret: 's'.repeat(200) } })));
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the copy is never readable by others, not even while it is being written (mode 0600 from its first page)', async () => {
    const umask = process.umask(0o022);
    try {
      const seen = new Map<string, number>();
      await backupDatabase(file, path.join(dir, 'b.db'), {
        pagesPerStep: 1,
        onProgress: () => {
          for (const name of fs.readdirSync(dir).filter((n) => n.includes('.partial-'))) seen.set(name, fs.statSync(path.join(dir, name)).mode & 0o777);
        },
      });
      expect(seen.size).toBeGreaterThan(0);
      for (const [name, mode] of seen) expect([name, mode.toString(8)]).toEqual([name, '600']);
      expect(fs.statSync(path.join(dir, 'b.db')).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(umask);
    }
  });

  it('refuses the database\'s own -wal, -shm and -journal files and a folder as the destination, before copying, the database still whole', async () => {
    const folder = path.join(dir, 'backups');
    fs.mkdirSync(folder);
    for (const destination of [`${file}-wal`, `${file}-shm`, `${file}-journal`, folder, `${folder}/`]) {
      const before = fs.existsSync(destination) && fs.statSync(destination).isFile() ? fs.readFileSync(destination) : undefined;
      const error = await backupDatabase(file, destination).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackupVerificationError);
      expect((error as Error).message).toContain(path.resolve(destination));
      if (before !== undefined) expect(fs.readFileSync(destination).equals(before)).toBe(true);
    }
    expect(fs.readdirSync(dir).filter((n) => n.includes('.partial-'))).toEqual([]);
    expect(fs.readdirSync(folder)).toEqual([]);
    // A fresh connection reads every task, the ones only the WAL holds included.
    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) FROM tasks').pluck().get()).toBe(200);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
  });
});
