import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NotADatabaseError } from '../../src/core/errors';
import { SqliteTaskStore } from '../../src/queue/sqlite/store';
import { fifo } from '../../src/strategies/ordered';
import { MemoryLogger } from './worker-helpers';

const sha = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/**
 * A database damaged past its first pages opens (SQLite reads a page only when a statement needs
 * it), and the file guard finds nothing changed: the store's calls then failed with SQLite's raw
 * 'database disk image is malformed' (SqliteError, code SQLITE_CORRUPT), unlike the open and the
 * read-only reports, which name the file with the typed NotADatabaseError.
 */
describe('SqliteTaskStore on a database damaged past its first pages', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-corrupt-'));
    file = path.join(dir, 'q.db');
    const store = new SqliteTaskStore({ path: file, logger: new MemoryLogger() });
    store.enqueueBatchSync(Array.from({ length: 2000 }, (_, i) => ({ type: 't', payload: { i, pad: 'p'.repeat(200) } })));
    store.closeSync();
    const pageSize = 4096;
    const fd = fs.openSync(file, 'r+');
    const junk = Buffer.alloc(pageSize * 20, 0x55);
    fs.writeSync(fd, junk, 0, junk.length, pageSize * 5);
    fs.closeSync(fd);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('every call that reads the damage rejects with NotADatabaseError naming the path, and the file is left as it was', async () => {
    const before = sha(file);
    const store = new SqliteTaskStore({ path: file, logger: new MemoryLogger() });
    const calls: [string, () => Promise<unknown>][] = [
      ['list', () => store.list({ limit: 10_000 })],
      ['counts', () => store.counts()],
      ['enqueue', () => store.enqueue({ type: 'u' })],
      ['claim', () => store.claim({ workerId: 'w', limit: 5, leaseMs: 1000, strategy: fifo })],
    ];
    for (const [name, call] of calls) {
      const err = await call().then(() => undefined, (e: unknown) => e);
      expect({ name, type: (err as Error)?.constructor.name }).toEqual({ name, type: NotADatabaseError.name });
      expect((err as NotADatabaseError).code).toBe('TASKBRIDGE_NOT_A_DATABASE');
      expect((err as Error).message).toContain(file);
      expect((err as Error).cause).toMatchObject({ code: 'SQLITE_CORRUPT' });
    }
    expect(() => store.countsSync()).toThrow(NotADatabaseError);
    await store.close();
    expect(sha(file)).toBe(before);
  });
});
