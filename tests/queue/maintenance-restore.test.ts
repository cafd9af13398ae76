import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
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

  it('refuses a target that exists and is not an SQLite file (a mistyped path), leaving it and its folder as they were', async () => {
    const backup = path.join(dir, 'backup.db');
    await backupDatabase(database('live.db', 2), backup);
    const notes = path.join(dir, 'notes.txt');
    fs.writeFileSync(notes, 'meeting notes, not a database\n'.repeat(50));
    const before = sha(notes);
    const listing = fs.readdirSync(dir).sort();
    const refused = restoreDatabase(backup, notes);
    await expect(refused).rejects.toMatchObject({ code: 'TASKBRIDGE_NOT_A_DATABASE', path: notes });
    expect(sha(notes)).toBe(before);
    expect(fs.readdirSync(dir).sort()).toEqual(listing);
  });
});

/** A raw insert of one queued task, for writers that are not a taskbridge store. */
const INSERT_TASK = `INSERT INTO tasks (queue, type, payload, priority, status, max_attempts, run_after, created_at,
  backoff_base_ms, backoff_factor, backoff_cap_ms, backoff_jitter) VALUES ('default', 'raw', '{}', 0, 'queued', 1, 0, 0, 1000, 2, 60000, 0)`;

/**
 * A separate process that inserts a task every few milliseconds and prints each id it gets; on a
 * `mark` line it prints `mark` (so the ids after it were inserted after the mark was sent), on
 * `stop` it exits.
 */
const WRITER = `
  const Database = require(process.argv[1]);
  const db = new Database(process.argv[2]);
  db.pragma('busy_timeout = 60000');
  const insert = db.prepare(process.argv[3]);
  let stop = false;
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    for (const line of chunk.split('\\n')) {
      if (line === 'mark') process.stdout.write('mark\\n');
      if (line === 'stop') stop = true;
    }
  });
  const tick = () => {
    if (stop) { db.close(); process.exit(0); }
    process.stdout.write(insert.run().lastInsertRowid + '\\n');
    setTimeout(tick, 2);
  };
  tick();`;

describe('restore keeps task ids unique', () => {
  let dir: string;
  let logger: MemoryLogger;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-restore-ids-'));
    logger = new MemoryLogger();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function database(name: string, tasks: number): string {
    const file = path.join(dir, name);
    enqueue(file, tasks);
    return file;
  }

  /** Enqueues `n` tasks through the store and returns their ids. */
  function enqueue(file: string, n: number): number[] {
    const store = createSqliteTaskStore({ path: file, logger: new MemoryLogger() });
    try {
      return store.enqueueBatchSync(Array.from({ length: n }, (_, i) => ({ type: 't', payload: { i } }))).map((r) => r.task.id);
    } finally {
      store.closeSync();
    }
  }

  function withDb<T>(file: string, fn: (db: Database.Database) => T): T {
    const db = new Database(file, { fileMustExist: true });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  }

  const taskCount = (file: string): number => withDb(file, (db) => db.prepare('SELECT count(*) FROM tasks').pluck().get() as number);
  const partials = (): string[] => fs.readdirSync(dir).filter((name) => name.includes('.partial-'));

  /** A database of 5 tasks, its backup, then 5 more tasks (ids 6 to 10) the backup does not hold. */
  async function liveAheadOfBackup(): Promise<{ live: string; backup: string; issued: number[] }> {
    const live = database('live.db', 5);
    const backup = path.join(dir, 'backup.db');
    await backupDatabase(live, backup);
    return { live, backup, issued: enqueue(live, 5) };
  }

  it('a task enqueued after a restore gets an id above every id the replaced database handed out', async () => {
    const { live, backup, issued } = await liveAheadOfBackup();
    const result = await restoreDatabase(backup, live, { logger });
    expect(result.tables.tasks).toBe(5);
    expect(taskCount(live)).toBe(5);
    const [next] = enqueue(live, 1);
    expect(next).toBeGreaterThan(Math.max(...issued));
    expect(result.taskIdSequence).toBe(Math.max(...issued));
  });

  it('ids stay above those of deleted newest tasks (sequence above max(id)), and above max(id) when the sequence was lowered by hand', async () => {
    const { live, backup, issued } = await liveAheadOfBackup();
    const copy = path.join(dir, 'copy.db');
    fs.copyFileSync(live, copy);
    withDb(live, (db) => db.prepare('DELETE FROM tasks WHERE id > ?').run(7));
    await restoreDatabase(backup, live, { logger });
    expect(enqueue(live, 1)[0]).toBeGreaterThan(Math.max(...issued));

    // A file-level copy of a store's database: the WAL was checkpointed when the store closed.
    withDb(copy, (db) => db.prepare("UPDATE sqlite_sequence SET seq = 2 WHERE name = 'tasks'").run());
    await restoreDatabase(backup, copy, { logger });
    expect(enqueue(copy, 1)[0]).toBeGreaterThan(Math.max(...issued));
  });

  it('keeps the ids of a target in rollback-journal mode (a copy no store has opened since)', async () => {
    const small = database('small.db', 5);
    const backup = path.join(dir, 'backup.db');
    await backupDatabase(small, backup);
    const target = path.join(dir, 'plain.db');
    await backupDatabase(database('big.db', 12), target);
    expect(withDb(target, (db) => db.pragma('journal_mode', { simple: true }))).toBe('delete');
    await restoreDatabase(backup, target, { logger });
    expect(enqueue(target, 1)[0]).toBeGreaterThan(12);
  });

  it('restores over a missing target or one that is not a taskbridge database, logging that there were no ids to keep', async () => {
    const backup = path.join(dir, 'backup.db');
    await backupDatabase(database('live.db', 5), backup);
    const missing = path.join(dir, 'sub', 'missing.db');
    const result = await restoreDatabase(backup, missing, { logger });
    expect(result.taskIdSequence).toBe(5);
    // Created by the restore: only its owner may read it, as a database the store creates.
    expect(fs.statSync(missing).mode & 0o777).toBe(0o600);
    expect(enqueue(missing, 1)).toEqual([6]);
    const empty = path.join(dir, 'empty.db');
    fs.writeFileSync(empty, '');
    await restoreDatabase(backup, empty, { logger });
    expect(taskCount(empty)).toBe(5);
    const notes = logger.lines.filter((l) => l.message.includes('no task ids to keep'));
    expect(notes).toEqual([
      expect.objectContaining({ meta: expect.objectContaining({ target: missing, reason: expect.stringContaining('does not exist') }) }),
      expect.objectContaining({ meta: expect.objectContaining({ target: empty, reason: expect.stringContaining('no tasks table') }) }),
    ]);
  });

  it('a writer holding the write lock when the copy starts: restore waits for its commit and its task id is not handed out again', async () => {
    const { live, backup, issued } = await liveAheadOfBackup();
    const writer = new Database(live);
    writer.exec('BEGIN IMMEDIATE');
    const held = Number(writer.prepare(INSERT_TASK).run().lastInsertRowid);
    expect(held).toBe(Math.max(...issued) + 1);
    // The writer commits once the restore reports it is waiting for the lock: no timing involved.
    const waiting = new (class extends MemoryLogger {
      override info(message: string, meta?: Record<string, unknown>): void {
        super.info(message, meta);
        if (message.includes('waiting for the write lock') && writer.inTransaction) writer.exec('COMMIT');
      }
    })();
    try {
      const result = await restoreDatabase(backup, live, { logger: waiting });
      expect(writer.inTransaction).toBe(false);
      expect(result.taskIdSequence).toBe(held);
      expect(taskCount(live)).toBe(5);
      expect(enqueue(live, 1)[0]).toBeGreaterThan(held);
    } finally {
      if (writer.inTransaction) writer.exec('ROLLBACK');
      writer.close();
    }
  });

  it('a task enqueued once beforeCopy returned, before the copy takes the write lock, is not handed out again', async () => {
    const { live, backup, issued } = await liveAheadOfBackup();
    let between: number | undefined;
    const result = await restoreDatabase(backup, live, {
      logger,
      // Runs after beforeCopy's caller went on and before the copy's first step, which better-sqlite3
      // schedules behind two file-system calls.
      beforeCopy: () => {
        setImmediate(() => {
          between = enqueue(live, 1)[0];
        });
      },
    });
    expect(between).toBe(Math.max(...issued) + 1);
    expect(result.taskIdSequence).toBe(between);
    expect(enqueue(live, 1)[0]).toBeGreaterThan(between!);
  });

  it('a task enqueued right after the copy (before verification) neither fails the restore nor reuses an id', async () => {
    const { live, backup, issued } = await liveAheadOfBackup();
    let afterCopy: number | undefined;
    const result = await restoreDatabase(backup, live, {
      logger,
      pagesPerStep: 1,
      // The last report comes once the copy committed: a second connection enqueues there.
      onProgress: ({ copiedPages, totalPages }) => {
        if (copiedPages === totalPages && afterCopy === undefined) afterCopy = enqueue(live, 1)[0];
      },
    });
    expect(result.tables.tasks).toBe(5);
    expect(afterCopy).toBeGreaterThan(Math.max(...issued));
    expect(taskCount(live)).toBe(6);
  });

  it('a process inserting tasks throughout a forced restore: the restore succeeds and the ids it is handed only grow', async () => {
    const { live, backup } = await liveAheadOfBackup();
    const child = spawn(process.execPath, ['-e', WRITER, require.resolve('better-sqlite3'), live, INSERT_TASK], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const lines: string[] = [];
    let notify = (): void => undefined;
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      notify();
    });
    const until = (ok: () => boolean): Promise<void> =>
      new Promise((resolve) => {
        notify = () => ok() && resolve();
        notify();
      });
    try {
      await until(() => lines.length >= 3);
      const result = await restoreDatabase(backup, live, { logger, pagesPerStep: 1 });
      expect(result.tables.tasks).toBe(5);
      child.stdin!.write('mark\n');
      await until(() => lines.includes('mark') && lines.length - lines.indexOf('mark') > 3);
    } finally {
      child.stdin!.write('stop\n');
      expect(await exited).toBe(0);
    }
    const ids = lines.filter((l) => l !== 'mark').map(Number);
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
    const after = lines.slice(lines.indexOf('mark') + 1).map(Number);
    withDb(live, (db) => {
      for (const id of after) expect(db.prepare('SELECT type FROM tasks WHERE id = ?').pluck().get(id)).toBe('raw');
    });
  });

  it('removes its staging file on success and on failure, and one a killed restore left', async () => {
    const { live, backup } = await liveAheadOfBackup();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    fs.writeFileSync(`${live}.partial-${dead}`, 'left by a restore killed mid-copy');
    fs.writeFileSync(`${live}.partial-${dead}-journal`, 'x');
    await expect(restoreDatabase(backup, live, { beforeCopy: () => { throw new Error('workers hold leases'); } })).rejects.toThrow('workers hold leases');
    expect(partials()).toEqual([]);
    expect(taskCount(live)).toBe(10);
    // A failure during the copy itself: the target keeps its content.
    const failing = restoreDatabase(backup, live, { pagesPerStep: 1, onProgress: ({ copiedPages, totalPages }) => {
      if (copiedPages > totalPages / 2 && copiedPages < totalPages) throw new Error('interrupted');
    } });
    await expect(failing).rejects.toThrow('interrupted');
    expect(partials()).toEqual([]);
    expect(taskCount(live)).toBe(10);
    await restoreDatabase(backup, live);
    expect(partials()).toEqual([]);
    expect(taskCount(live)).toBe(5);
  });

  it('refuses, typed, a second restore of the same target in this process, and clears a staging file left under its own pid', async () => {
    const { live, backup } = await liveAheadOfBackup();
    // A killed process whose pid this one reuses (a container restarted) left a file and its journal.
    fs.writeFileSync(`${live}.partial-${process.pid}`, 'left by a killed process with this pid');
    fs.writeFileSync(`${live}.partial-${process.pid}-journal`, 'x');
    const first = restoreDatabase(backup, live);
    await expect(restoreDatabase(backup, live)).rejects.toMatchObject({ code: 'TASKBRIDGE_INVALID_OPTION', field: 'targetPath', value: live });
    await expect(first).resolves.toMatchObject({ tables: { tasks: 5 } });
    expect(partials()).toEqual([]);
    expect(enqueue(live, 1)[0]).toBe(11);
  });
});
