import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { NotADatabaseError } from '../../src/core/errors';
import { SCHEMA_VERSION } from '../../src/queue/sqlite/migrations';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { thrownBy } from '../support/thrown';
import { MemoryLogger } from './worker-helpers';

const sha = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/**
 * Many applications set PRAGMA user_version for their own schema. Such a file without taskbridge's
 * tables used to pass the foreign-schema check (it only looked at version 0 files): the store
 * switched it to WAL, ran the migrations it "lacked" (bumping the version) and only then failed
 * preparing its statements, with SQLite's raw 'no such table: tasks'.
 */
describe('the store on an SQLite file of another application that sets user_version', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-foreign-version-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['an older version and no tasks table', 1, 'CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES (\'keep me\')'],
    ['the current version and no tasks table', SCHEMA_VERSION, 'CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES (\'keep me\')'],
    ['the current version and a tasks table of its own', SCHEMA_VERSION, 'CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT); INSERT INTO tasks (title) VALUES (\'buy milk\')'],
  ])('one with %s is refused with NotADatabaseError naming the path, and left byte-identical', (_name, version, sql) => {
    const file = path.join(dir, 'app.db');
    const db = new Database(file);
    db.exec(sql);
    db.pragma(`user_version = ${version}`);
    db.close();
    const before = sha(file);

    const err = thrownBy(() => createSqliteTaskStore({ path: file, logger: new MemoryLogger() }));

    expect(err).toBeInstanceOf(NotADatabaseError);
    expect((err as Error).message).toContain(file);
    expect(sha(file)).toBe(before);
    expect(fs.readdirSync(dir)).toEqual(['app.db']);
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(version);
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    check.close();
  });

  it('a taskbridge database of an older schema version is still opened and migrated', async () => {
    const file = path.join(dir, 'q.db');
    const first = createSqliteTaskStore({ path: file, logger: new MemoryLogger() });
    await first.enqueue({ type: 't', payload: { keep: true } });
    await first.close();
    const raw = new Database(file);
    raw.exec('CREATE INDEX tasks_status ON tasks(status, id)');
    raw.pragma('user_version = 1');
    raw.close();

    const store = createSqliteTaskStore({ path: file, logger: new MemoryLogger() });
    expect((await store.get(1))?.payload).toEqual({ keep: true });
    await store.close();
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(check.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'tasks_status'").pluck().get()).toBe(0);
    check.close();
  });
});
