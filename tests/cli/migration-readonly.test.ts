import crypto from 'node:crypto';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { ensureBuilt, runCli, runJson, tempWorkspace } from './helpers';

const digest = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('taskbridge parity and rollback --dry-run only read the database', () => {
  let ws: ReturnType<typeof tempWorkspace>;
  beforeAll(() => ensureBuilt());
  beforeEach(() => {
    ws = tempWorkspace();
  });
  afterEach(() => ws.cleanup());

  /** A queue file with an unfinished run, left in rollback-journal mode (a copy made for inspection). */
  async function inspectedCopy(): Promise<void> {
    expect((await runCli(['--db', ws.db, 'enqueue', 'reports', '--key', 'run-a'])).code).toBe(0);
    const db = new Database(ws.db);
    db.pragma('journal_mode = DELETE');
    db.close();
    expect(fs.existsSync(`${ws.db}-wal`)).toBe(false);
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
