import fs from 'node:fs';
import Database from 'better-sqlite3';
import { SHADOW_QUEUE } from '../../src/compat';
import { SystemClock } from '../../src/core/clock';
import { openMirrorStore } from '../../src/queue/sqlite/mirror-store';
import { digest, runCli, runJson, toRollbackJournal, useWorkspace } from './helpers';

describe('taskbridge parity and rollback --dry-run only read the database', () => {
  const ws = useWorkspace();

  /** A queue file with an unfinished run, left in rollback-journal mode (a copy made for inspection). */
  async function inspectedCopy(): Promise<void> {
    expect((await runCli(['--db', ws.db, 'enqueue', 'reports', '--key', 'run-a'])).code).toBe(0);
    toRollbackJournal(ws.db);
  }

  it('parity leaves the file byte for byte as it was', async () => {
    await inspectedCopy();
    const before = digest(ws.db);
    const result = await runCli(['--db', ws.db, 'parity']);
    expect(result.code).toBe(0);
    expect(digest(ws.db)).toBe(before);
    expect(fs.existsSync(`${ws.db}-wal`)).toBe(false);
  });

  it('rollback --dry-run leaves the file byte for byte as it was', async () => {
    await inspectedCopy();
    const before = digest(ws.db);
    const plan = await runJson<{ total: number; waiting: string[] }>(['--db', ws.db, 'rollback', '--dry-run']);
    expect(plan.code).toBe(0);
    expect(plan.json).toMatchObject({ total: 1, waiting: ['run-a'] });
    expect(digest(ws.db)).toBe(before);
    expect(fs.existsSync(`${ws.db}-wal`)).toBe(false);
  });
});

describe('taskbridge parity and rollback --dry-run on a path that holds no queue', () => {
  const ws = useWorkspace();
  const REPORTS: readonly (readonly string[])[] = [['parity'], ['rollback', '--dry-run', '--handled-modules', 'reports']];

  it('a missing database is refused (exit 1, named), not read as a queue with nothing to lose, and not created', async () => {
    const missing = `${ws.db}.typo`;
    for (const args of REPORTS) {
      const result = await runJson<{ error: { code: string; message: string } }>(['--db', missing, ...args]);
      expect({ args, code: result.code, error: result.json.error?.code }).toEqual({ args, code: 1, error: 'TASKBRIDGE_DATABASE_MISSING' });
      expect(result.json.error.message).toContain(missing);
    }
    expect(fs.existsSync(missing)).toBe(false);
  });

  it('an empty file, or an SQLite file without the taskbridge schema, reads as empty and is left as it was', async () => {
    fs.writeFileSync(ws.db, '');
    const other = `${ws.db}.other`;
    const db = new Database(other);
    db.exec('CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES (\'kept\')');
    db.close();
    const before = digest(other);
    for (const file of [ws.db, other]) {
      const parity = await runJson<{ ok: boolean; mismatches: number }>(['--db', file, 'parity']);
      expect({ file, code: parity.code, json: parity.json }).toMatchObject({ file, code: 0, json: { ok: true, mismatches: 0 } });
      const plan = await runJson<{ total: number }>(['--db', file, 'rollback', '--dry-run']);
      expect({ file, code: plan.code, json: plan.json }).toMatchObject({ file, code: 0, json: { total: 0 } });
    }
    expect(fs.statSync(ws.db).size).toBe(0);
    expect(digest(other)).toBe(before);
  });

  it('a file that is not a database is refused with a typed error naming it, and left alone', async () => {
    fs.writeFileSync(ws.db, 'this is not a database, it is a text file of some length\n'.repeat(20));
    const before = digest(ws.db);
    for (const args of REPORTS) {
      const result = await runJson<{ error: { code: string; message: string } }>(['--db', ws.db, ...args]);
      expect({ args, code: result.code, error: result.json.error?.code }).toEqual({ args, code: 1, error: 'TASKBRIDGE_NOT_A_DATABASE' });
      expect(result.json.error.message).toContain(ws.db);
    }
    expect(digest(ws.db)).toBe(before);
  });

  it.each([[['parity']], [['rollback', '--dry-run']]])('%j on a database damaged past its first page is refused with a typed error naming it', async (command) => {
    const store = openMirrorStore(ws.db, new SystemClock());
    const now = Date.now();
    store.upsertMany(SHADOW_QUEUE, Array.from({ length: 40 }, (_, i) => ({
      key: `run-${i}`, type: 'm', payload: { pad: 'x'.repeat(2000) }, status: 'completed' as const, createdAt: now, startedAt: now,
      finishedAt: now, lastError: null, progress: null, leaseOwner: null, leaseExpiresAt: null,
    })));
    store.close();
    toRollbackJournal(ws.db);
    const bytes = fs.readFileSync(ws.db);
    // The schema page stays intact: the header check and the open pass, the mirror's rows do not read.
    bytes.fill(0xab, bytes.readUInt16BE(16));
    fs.writeFileSync(ws.db, bytes);
    const result = await runJson<{ error: { code: string; message: string } }>(['--db', ws.db, ...command]);
    expect({ code: result.code, error: result.json.error?.code }).toEqual({ code: 1, error: 'TASKBRIDGE_NOT_A_DATABASE' });
    expect(result.json.error.message).toContain(ws.db);
  });
});
