import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { NotADatabaseError } from '../../src/core/errors';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { MemoryLogger } from './worker-helpers';

const sha = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('the store on an SQLite file of another application', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-foreign-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['a tasks table', 'CREATE TABLE tasks (title TEXT); INSERT INTO tasks VALUES (\'buy milk\')'],
    ['a workers view', 'CREATE TABLE staff (name TEXT); CREATE VIEW workers AS SELECT name FROM staff'],
  ])('one holding %s of its own is refused with NotADatabaseError naming the path, and left byte-identical (no WAL switch)', (_name, sql) => {
    const file = path.join(dir, 'app.db');
    const db = new Database(file);
    db.exec(sql);
    db.close();
    const before = sha(file);
    expect(() => createSqliteTaskStore({ path: file, logger: new MemoryLogger() })).toThrow(NotADatabaseError);
    expect(() => createSqliteTaskStore({ path: file, logger: new MemoryLogger() })).toThrow(file);
    expect(sha(file)).toBe(before);
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    const check = new Database(file, { readonly: true });
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    check.close();
  });
});
