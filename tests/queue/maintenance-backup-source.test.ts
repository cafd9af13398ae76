import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { backupDatabase } from '../../src/queue/maintenance';

// A writer that dies by SIGKILL with committed rows only in its WAL, as a crashed worker leaves them.
const CRASHING_WRITER = `
const Database = require('better-sqlite3');
const db = new Database(process.argv[1]);
db.pragma('journal_mode = WAL');
db.pragma('wal_autocheckpoint = 0');
db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
db.transaction(() => { for (let i = 0; i < 500; i++) insert.run('x'.repeat(100)); })();
process.kill(process.pid, 'SIGKILL');
`;

// A writer in rollback-journal mode that dies mid-transaction after spilling pages into the file:
// it leaves a hot journal that the next opener must roll back before anything can be read.
const HOT_JOURNAL_WRITER = `
const Database = require('better-sqlite3');
const db = new Database(process.argv[1]);
db.pragma('journal_mode = DELETE');
db.pragma('cache_size = 10');
db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
db.prepare('INSERT INTO t (v) VALUES (?)').run('committed');
db.exec('BEGIN');
const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
for (let i = 0; i < 5000; i++) insert.run('x'.repeat(200));
process.kill(process.pid, 'SIGKILL');
`;

describe('backup reads its source and never writes it', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-backup-source-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('leaves a crashed writer\'s database file and WAL byte for byte as they were, and copies the WAL\'s rows', async () => {
    const file = path.join(dir, 'q.db');
    const child = spawnSync(process.execPath, ['-e', CRASHING_WRITER, file], { cwd: path.join(__dirname, '..', '..') });
    expect(child.signal).toBe('SIGKILL');
    const before = { main: fs.readFileSync(file), wal: fs.readFileSync(`${file}-wal`) };
    expect(before.wal.length).toBeGreaterThan(0);

    const result = await backupDatabase(file, path.join(dir, 'b.db'));

    expect(result.tables).toEqual({ t: 500 });
    // A read-write connection closing last checkpoints the WAL into the file and deletes it.
    expect(fs.readFileSync(file).equals(before.main)).toBe(true);
    expect(fs.readFileSync(`${file}-wal`).equals(before.wal)).toBe(true);
    const copy = new Database(path.join(dir, 'b.db'), { readonly: true });
    try {
      expect(copy.prepare('SELECT count(*) FROM t').pluck().get()).toBe(500);
    } finally {
      copy.close();
    }
  });

  it('still backs up a database a crashed writer left with a hot rollback journal: it is rolled back first, as any opener must', async () => {
    const file = path.join(dir, 'old.db');
    const child = spawnSync(process.execPath, ['-e', HOT_JOURNAL_WRITER, file], { cwd: path.join(__dirname, '..', '..') });
    expect(child.signal).toBe('SIGKILL');
    expect(fs.existsSync(`${file}-journal`)).toBe(true);

    const result = await backupDatabase(file, path.join(dir, 'b.db'));

    expect(result.tables).toEqual({ t: 1 });
  });
});
