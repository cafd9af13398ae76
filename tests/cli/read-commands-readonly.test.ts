import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { CLI, cliEnv, digest, runCli, runJson, startCli, toRollbackJournal, useWorkspace } from './helpers';

/** The unprivileged user the permission tests run the CLI as when the tests run as root. */
const NOBODY = 65534;

/** The commands that only read the task tables (health, parity and rollback --dry-run have their own tests). */
const READ_COMMANDS: readonly (readonly string[])[] = [['list'], ['list', '--status', 'queued'], ['show', '1'], ['stats']];
const EACH = READ_COMMANDS.map((args) => [args] as const);

describe('taskbridge list, show, stats and serve only read the database', () => {
  const ws = useWorkspace();

  /** A queue file with one task, left in rollback-journal mode (as a copy made for inspection is). */
  async function journalModeCopy(): Promise<void> {
    expect((await runCli(['--db', ws.db, 'enqueue', 'email', '--payload', '{"n":1}'])).code).toBe(0);
    toRollbackJournal(ws.db);
  }

  it.each(EACH)('%j leaves a rollback-journal file byte for byte as it was, with no -wal or -shm', async (args) => {
    await journalModeCopy();
    const before = digest(ws.db);
    const mtime = fs.statSync(ws.db).mtimeMs;
    const result = await runCli(['--db', ws.db, ...args]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(digest(ws.db)).toBe(before);
    expect(fs.statSync(ws.db).mtimeMs).toBe(mtime);
    expect(fs.readdirSync(ws.dir).sort()).toEqual(['queue.db']);
    const db = new Database(ws.db, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    db.close();
  });

  /** Back to schema 1: migration 2 dropped this index. */
  function downgradeToSchema1(): void {
    const old = new Database(ws.db);
    old.exec('CREATE INDEX tasks_status ON tasks(status, id)');
    old.pragma('user_version = 1');
    old.close();
  }

  function expectSchema1(): void {
    const db = new Database(ws.db, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'tasks_status'").pluck().get()).toBe(1);
    expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    db.close();
  }

  it.each(EACH)('%j does not migrate a file of an older schema version', async (args) => {
    await journalModeCopy();
    downgradeToSchema1();
    const before = digest(ws.db);
    const result = await runCli(['--db', ws.db, ...args]);
    expect(result.code).toBe(0);
    expect(digest(ws.db)).toBe(before);
    expectSchema1();
  });

  it('health, mode, parity and rollback --dry-run (read-only already) leave an older-schema rollback-journal file as it was', async () => {
    await journalModeCopy();
    downgradeToSchema1();
    const before = digest(ws.db);
    for (const args of [['health'], ['mode'], ['parity'], ['rollback', '--dry-run']]) {
      const result = await runCli(['--db', ws.db, ...args]);
      expect({ args, code: result.code }).toEqual({ args, code: 0 });
    }
    expect(digest(ws.db)).toBe(before);
    expect(fs.readdirSync(ws.dir)).toEqual(['queue.db']);
    expectSchema1();
  });

  it('serve answers /metrics and /health from an older-schema rollback-journal file without changing it', async () => {
    await journalModeCopy();
    downgradeToSchema1();
    const before = digest(ws.db);
    const server = startCli(['--db', ws.db, 'serve', '--port', '0', '--json']);
    try {
      const [, port] = await server.waitForOutput(/"port": (\d+)/);
      for (let i = 0; i < 2; i++) {
        const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
        expect(metrics.status).toBe(200);
        expect((await metrics.text()).split('\n')).toContain('taskbridge_tasks{status="queued"} 1');
      }
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
    expect(server.errors()).toBe('');
    expect(digest(ws.db)).toBe(before);
    expect(fs.readdirSync(ws.dir)).toEqual(['queue.db']);
    expectSchema1();
  });

  it('list, show and stats print what the store itself returns', async () => {
    for (const type of ['email', 'sms', 'email']) await runCli(['--db', ws.db, 'enqueue', type, '--payload', `{"t":"${type}"}`, '--queue', type === 'sms' ? 'text' : 'mail']);
    await runCli(['--db', ws.db, 'cancel', '2']);
    const store = createSqliteTaskStore({ path: ws.db });
    const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
    let expected: { list: unknown; filtered: unknown; show: unknown; counts: unknown; workers: unknown };
    try {
      expected = {
        list: roundTrip({ tasks: await store.list({ limit: 50 }) }),
        filtered: roundTrip({ tasks: await store.list({ status: 'queued', queue: 'mail', limit: 1 }) }),
        show: roundTrip({ task: await store.get(2) }),
        counts: roundTrip(await store.counts()),
        workers: roundTrip(await store.listWorkers()),
      };
    } finally {
      await store.close();
    }
    expect((await runJson(['--db', ws.db, 'list'])).json).toEqual(expected.list);
    expect((await runJson(['--db', ws.db, 'list', '--status', 'queued', '--queue', 'mail', '--limit', '1'])).json).toEqual(expected.filtered);
    expect((await runJson(['--db', ws.db, 'show', '2'])).json).toEqual(expected.show);
    const stats = await runJson<{ counts: unknown; workers: { list: unknown[] } }>(['--db', ws.db, 'stats']);
    expect(stats.json.counts).toEqual(expected.counts);
    expect(stats.json.workers.list).toEqual(expected.workers);
  });

  it('reads a WAL database that a worker-side connection is writing, and sees its committed tasks', async () => {
    expect((await runCli(['--db', ws.db, 'enqueue', 'email'])).code).toBe(0);
    // An open writer keeps the WAL alive, as a running worker does.
    const writer = new Database(ws.db);
    try {
      writer.pragma('wal_autocheckpoint = 0');
      expect((await runCli(['--db', ws.db, 'enqueue', 'sms'])).code).toBe(0);
      const listed = await runJson<{ tasks: { id: number; type: string }[] }>(['--db', ws.db, 'list']);
      expect(listed.code).toBe(0);
      expect(listed.json.tasks.map((t) => t.type)).toEqual(['sms', 'email']);
      const stats = await runJson<{ counts: { total: number; byStatus: Record<string, number> } }>(['--db', ws.db, 'stats']);
      expect(stats.json.counts).toMatchObject({ total: 2, byStatus: { queued: 2 } });
    } finally {
      writer.close();
    }
  });

  it.each([...EACH, [['serve', '--port', '0']] as const])('%j on a missing file in a missing folder exits 1 naming the path, and creates neither', async (args) => {
    const db = path.join(ws.dir, 'nowhere', 'queue.db');
    const result = await runJson<{ error: { code: string; message: string } }>(['--db', db, ...args]);
    expect(result.code).toBe(1);
    expect(result.json.error).toEqual({
      code: 'TASKBRIDGE_DATABASE_MISSING',
      message: `database ${db} does not exist; accepted: the path of an existing taskbridge database, given with --db PATH or TASKBRIDGE_DB_PATH (only enqueue, worker and restore create one)`,
    });
    expect(result.stderr).toContain(db);
    expect(fs.existsSync(path.join(ws.dir, 'nowhere'))).toBe(false);
  });

  it('an empty file reads as an empty queue and stays empty', async () => {
    fs.writeFileSync(ws.db, '');
    const list = await runCli(['--db', ws.db, 'list']);
    expect(list).toMatchObject({ code: 0, stdout: 'no tasks match\n' });
    const listJson = await runJson<{ tasks: unknown[] }>(['--db', ws.db, 'list']);
    expect(listJson).toMatchObject({ code: 0, json: { tasks: [] } });
    const stats = await runJson<{ counts: { total: number }; workers: { active: number } }>(['--db', ws.db, 'stats']);
    expect(stats.code).toBe(0);
    expect(stats.json.counts.total).toBe(0);
    expect(stats.json.workers.active).toBe(0);
    const show = await runJson<{ error: { code: string } }>(['--db', ws.db, 'show', '1']);
    expect(show).toMatchObject({ code: 1, json: { error: { code: 'TASKBRIDGE_TASK_NOT_FOUND' } } });
    expect(fs.statSync(ws.db).size).toBe(0);
    expect(fs.readdirSync(ws.dir)).toEqual(['queue.db']);
  });

  it('a file that is not a database is refused with TASKBRIDGE_NOT_A_DATABASE and left alone', async () => {
    fs.writeFileSync(ws.db, 'this is not a database, it is a text file of some length\n'.repeat(20));
    const before = digest(ws.db);
    for (const args of [...READ_COMMANDS, ['serve', '--port', '0']]) {
      const result = await runJson<{ error: { code: string; message: string } }>(['--db', ws.db, ...args]);
      expect({ args, code: result.code, error: result.json.error.code }).toEqual({ args, code: 1, error: 'TASKBRIDGE_NOT_A_DATABASE' });
      expect(result.json.error.message).toContain(ws.db);
    }
    expect(digest(ws.db)).toBe(before);
  });

  it('a file of a newer schema is refused with TASKBRIDGE_SCHEMA_TOO_NEW and left alone', async () => {
    await journalModeCopy();
    const db = new Database(ws.db);
    db.pragma('user_version = 99');
    db.close();
    const before = digest(ws.db);
    for (const args of [...READ_COMMANDS, ['serve', '--port', '0']]) {
      const result = await runJson<{ error: { code: string } }>(['--db', ws.db, ...args]);
      expect({ args, code: result.code, error: result.json.error.code }).toEqual({ args, code: 1, error: 'TASKBRIDGE_SCHEMA_TOO_NEW' });
    }
    expect(digest(ws.db)).toBe(before);
  });

  it('a folder at the database path is refused as unreadable, naming the path', async () => {
    fs.mkdirSync(ws.db);
    for (const args of READ_COMMANDS) {
      const result = await runJson<{ error: { code: string; message: string } }>(['--db', ws.db, ...args]);
      expect({ args, code: result.code, error: result.json.error }).toEqual({
        args,
        code: 1,
        error: { code: 'TASKBRIDGE_DATABASE_UNAVAILABLE', message: `Database ${ws.db} cannot be opened for reading: the path exists and is not a regular file` },
      });
    }
    expect(fs.readdirSync(ws.db)).toEqual([]);
  });

  it('an invalid TASKBRIDGE_LOG_LEVEL is still bad usage (exit 2) before the file is opened', async () => {
    await journalModeCopy();
    for (const args of READ_COMMANDS) {
      const result = await runCli(['--db', ws.db, ...args], { env: { TASKBRIDGE_LOG_LEVEL: 'loud' } });
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(/TASKBRIDGE_LOG_LEVEL/);
    }
  });

  /**
   * Runs the CLI as a user the permission bits apply to: root ignores them, so as root the CLI runs
   * as nobody (uid 65534), the workspace handed over to it.
   */
  function runUnprivileged(args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      for (const entry of [ws.dir, ...fs.readdirSync(ws.dir).map((name) => path.join(ws.dir, name))]) fs.chownSync(entry, NOBODY, NOBODY);
    }
    const result = spawnSync(process.execPath, [CLI, ...args], {
      cwd: os.tmpdir(),
      env: cliEnv(),
      encoding: 'utf8',
      ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    if (result.error) throw result.error;
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  it('reads a rollback-journal database in a read-only folder', async () => {
    await journalModeCopy();
    const before = digest(ws.db);
    fs.chmodSync(ws.db, 0o444);
    fs.chmodSync(ws.dir, 0o555);
    try {
      for (const args of READ_COMMANDS) {
        const result = runUnprivileged(['--db', ws.db, ...args]);
        expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 0, stderr: '' });
      }
      const listed = runUnprivileged(['--db', ws.db, 'list', '--json']);
      expect((JSON.parse(listed.stdout) as { tasks: { type: string }[] }).tasks.map((t) => t.type)).toEqual(['email']);
    } finally {
      fs.chmodSync(ws.dir, 0o700);
      fs.chmodSync(ws.db, 0o600);
    }
    expect(digest(ws.db)).toBe(before);
    expect(fs.readdirSync(ws.dir)).toEqual(['queue.db']);
  });

  it('a WAL-mode database in a read-only folder without its -shm is refused as unreadable, naming the path', async () => {
    expect((await runCli(['--db', ws.db, 'enqueue', 'email'])).code).toBe(0);
    expect(fs.readdirSync(ws.dir)).toEqual(['queue.db']);
    fs.chmodSync(ws.db, 0o444);
    fs.chmodSync(ws.dir, 0o555);
    try {
      const result = runUnprivileged(['--db', ws.db, 'list', '--json']);
      expect(result.code).toBe(1);
      expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'TASKBRIDGE_DATABASE_UNAVAILABLE', message: expect.stringContaining(`Database ${ws.db} cannot be opened for reading`) } });
    } finally {
      fs.chmodSync(ws.dir, 0o700);
      fs.chmodSync(ws.db, 0o600);
    }
  });
});
