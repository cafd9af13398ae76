import path from 'node:path';
import Database from 'better-sqlite3';
import { RUN_QUEUE } from '../../src/compat';
import { tempDb } from './helpers';
import { runToExit } from '../support/run-to-exit';

const APP = path.join(__dirname, 'fixtures', 'sqlite-start-while-closing.js');

describe('sqlite mode: a run started while the manager shuts down', () => {
  it('is persisted for the next process, and the process still exits once the shutdown resolved', async () => {
    const db = tempDb();
    try {
      const { code, hung, stdout } = await runToExit(APP, [db.dbPath], 30_000);
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
