import fs from 'node:fs';
import Database from 'better-sqlite3';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { digest, runCli, runJson, useWorkspace } from './helpers';

const silent = { error() {}, warn() {}, info() {}, debug() {} };

/** A queue with rows to rebuild; the jest process is the "other process" holding the file. */
async function seed(file: string): Promise<void> {
  const store = createSqliteTaskStore({ path: file, logger: silent });
  await store.enqueueBatch(Array.from({ length: 300 }, (_, i) => ({ type: 't', payload: { i, pad: 'p'.repeat(500) } })));
  await store.close();
}

/** A read transaction held on the file by this process until released. */
function holdReader(file: string): () => void {
  const db = new Database(file, { readonly: true });
  db.exec('BEGIN');
  db.prepare('SELECT count(*) FROM tasks').get();
  return () => {
    db.exec('ROLLBACK');
    db.close();
  };
}

describe('maintenance commands while another process holds the database (review)', () => {
  const ws = useWorkspace();

  it('vacuum next to a reader says the rebuilt database waits in the WAL, instead of reporting a file that grew as done', async () => {
    await seed(ws.db);
    const release = holdReader(ws.db);
    try {
      const json = await runJson<{ busy: boolean; bytesBefore: number; bytesAfter: number }>(['--db', ws.db, 'vacuum']);
      expect(json.code).toBe(0);
      expect(json.json.busy).toBe(true);
      const text = await runCli(['--db', ws.db, 'vacuum']);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^vacuum done in \S+: .* -> .*another connection was reading.*run taskbridge checkpoint later/);
    } finally {
      release();
    }
    const after = await runJson<{ busy: boolean }>(['--db', ws.db, 'vacuum']);
    expect(after.json.busy).toBe(false);
    expect(fs.statSync(`${ws.db}-wal`, { throwIfNoEntry: false })?.size ?? 0).toBe(0);
  });

  it.each([['cleanup', '--completed-older-than', '0s'], ['vacuum']])(
    '%s while another process holds the write lock past the busy timeout: typed TASKBRIDGE_BUSY (retryable, exit 1), nothing changed',
    async (...command) => {
      await seed(ws.db);
      const holder = new Database(ws.db);
      holder.exec('BEGIN IMMEDIATE');
      try {
        const before = digest(ws.db);
        const r = await runJson<{ error: { code: string; message: string } }>(['--db', ws.db, ...command]);
        expect(r.code).toBe(1);
        expect(r.json.error.code).toBe('TASKBRIDGE_BUSY');
        expect(r.json.error.message).toContain(command[0]);
        expect(digest(ws.db)).toBe(before);
      } finally {
        holder.exec('ROLLBACK');
        holder.close();
      }
    },
  );
});
