import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { SCHEMA_VERSION } from '../../src/queue/sqlite/migrations';
import { createStrategy } from '../../src/strategies';
import { digest, runJson, toRollbackJournal, useWorkspace } from './helpers';

const silent = { error() {}, warn() {}, info() {}, debug() {} };

/** A database with one completed and one queued task, so a cleanup would have something to delete. */
async function seed(file: string): Promise<void> {
  const store = createSqliteTaskStore({ path: file, logger: silent });
  await store.enqueue({ type: 'done', payload: { pad: 'p'.repeat(5000) } });
  await store.enqueue({ type: 'waiting' });
  const [claimed] = await store.claim({ workerId: 'w', limit: 1, leaseMs: 60_000, strategy: createStrategy('fifo'), types: ['done'] });
  await store.complete(claimed!.task.id, claimed!.token, null);
  await store.close();
}

describe('maintenance commands on a file they must not change', () => {
  const ws = useWorkspace();
  const commands: string[][] = [['cleanup', '--completed-older-than', '0s'], ['vacuum'], ['checkpoint']];

  it.each(commands)('%s refuses a database of a newer schema, naming both versions, and leaves it byte-identical', async (...command) => {
    await seed(ws.db);
    const db = new Database(ws.db);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    toRollbackJournal(ws.db);
    const before = digest(ws.db);
    const r = await runJson<{ error: { code: string; message: string } }>(['--db', ws.db, ...command]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('TASKBRIDGE_SCHEMA_TOO_NEW');
    expect(r.json.error.message).toContain(`schema version ${SCHEMA_VERSION + 1}, newer than the ${SCHEMA_VERSION}`);
    expect(digest(ws.db)).toBe(before);
    expect(fs.existsSync(`${ws.db}-wal`)).toBe(false);
  });

  it.each([...commands, ['backup', 'copy.db']])('%s refuses a file that is not SQLite with TASKBRIDGE_NOT_A_DATABASE, the file untouched', async (...command) => {
    fs.writeFileSync(ws.db, Buffer.alloc(8192, 7));
    const before = digest(ws.db);
    const args = command.map((a) => (a === 'copy.db' ? path.join(ws.dir, a) : a));
    const r = await runJson<{ error: { code: string; message: string } }>(['--db', ws.db, ...args]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('TASKBRIDGE_NOT_A_DATABASE');
    expect(r.json.error.message).toContain(ws.db);
    expect(digest(ws.db)).toBe(before);
    expect(fs.existsSync(path.join(ws.dir, 'copy.db'))).toBe(false);
  });

  it('cleanup of an SQLite file without a taskbridge schema deletes nothing and reports zero', async () => {
    const db = new Database(ws.db);
    db.exec('CREATE TABLE tasks (x); INSERT INTO tasks VALUES (1)');
    db.close();
    const before = digest(ws.db);
    const r = await runJson<{ deleted: Record<string, number> }>(['--db', ws.db, 'cleanup', '--completed-older-than', '0s']);
    expect(r.code).toBe(0);
    expect(r.json.deleted).toEqual({ completed: 0, failed: 0, cancelled: 0, total: 0 });
    expect(digest(ws.db)).toBe(before);
  });
});
