import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidOptionError } from '../../src/core/errors';
import { SqliteTaskStore } from '../../src/queue/sqlite/store';
import { thrownBy } from '../support/thrown';
import { MemoryLogger } from './worker-helpers';

/**
 * SQLite's busy_timeout is a C int: the pragma read '30d' (2592000000 ms) as 0 and 1e300 as 1, so a
 * store asked to wait a long time for the write lock waited not at all and failed with
 * TASKBRIDGE_BUSY at the first contention.
 */
describe('SqliteTaskStore busyTimeout', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-options-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each([['30d'], [2 ** 31], [1e300]])('refuses %p, naming the field, the value and the range, and creates no file', (value) => {
    const file = path.join(dir, 'q.db');
    const err = thrownBy(() => new SqliteTaskStore({ path: file, busyTimeout: value, logger: new MemoryLogger() }));
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect(err).toMatchObject({ field: 'busyTimeout', value });
    expect((err as Error).message).toContain('2147483647');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('applies the largest accepted value as given', () => {
    const store = new SqliteTaskStore({ path: path.join(dir, 'q.db'), busyTimeout: 2 ** 31 - 1, logger: new MemoryLogger() });
    const db = (store as unknown as { ctx: { db: import('better-sqlite3').Database } }).ctx.db;
    expect(db.pragma('busy_timeout', { simple: true })).toBe(2 ** 31 - 1);
    store.closeSync();
  });
});
