import { spawn } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { RUN_QUEUE } from '../../src/compat';
import { tempDb } from './helpers';

const APP = path.join(__dirname, 'fixtures', 'review8-start-while-closing.js');

/** Runs the fixture app; resolves with its exit code and stdout, or kills it after `ms` (a hang). */
function runApp(dbPath: string, ms: number): Promise<{ code: number | null; hung: boolean; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--unhandled-rejections=strict', APP, dbPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let hung = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', () => undefined);
    // Only a bound against a hang: a process that exits does so long before it on any machine.
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, hung, stdout });
    });
  });
}

describe('sqlite mode: a run started while the manager shuts down', () => {
  it('is persisted for the next process, and the process still exits once the shutdown resolved', async () => {
    const db = tempDb();
    try {
      const { code, hung, stdout } = await runApp(db.dbPath, 30_000);
      expect(hung).toBe(false);
      expect(code).toBe(0);
      expect(JSON.parse(stdout.trim())).toEqual({ long: 'completed', late: 'queued' });
      const raw = new Database(db.dbPath, { readonly: true });
      const rows = raw.prepare('SELECT idempotency_key AS k, status FROM tasks WHERE queue = ? ORDER BY id').all(RUN_QUEUE);
      raw.close();
      expect(rows).toEqual([{ k: 'long', status: 'completed' }, { k: 'late', status: 'queued' }]);
    } finally {
      db.remove();
    }
  });
});
