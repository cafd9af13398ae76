import fs from 'node:fs';
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
