import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database = require('better-sqlite3');
import { ManualClock } from '../../src/core/clock';
import { StoreBusyError } from '../../src/core/errors';
import { openMirrorStore } from '../../src/queue/sqlite/mirror-store';
import { thrownBy } from '../support/thrown';

describe('MirrorStore.retireKey under another connection write lock', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-retire-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('gives a typed StoreBusyError (as enqueue does) and renames nothing', () => {
    const file = path.join(dir, 'q.db');
    const clock = new ManualClock();
    const side = openMirrorStore(file, clock, 0);
    side.upsertMany('runs', [{
      key: 'run-1', type: 'm', payload: {}, status: 'completed', createdAt: 1, startedAt: 1, finishedAt: 2,
      lastError: null, progress: null, leaseOwner: null, leaseExpiresAt: null,
    }]);
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    try {
      const err = thrownBy(() => side.retireKey('runs', 'run-1'));
      expect(err).toBeInstanceOf(StoreBusyError);
      expect((err as StoreBusyError).message).toMatch(/retireKey/);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(side.getByKey('runs', 'run-1')).toMatchObject({ status: 'completed' });
    expect(side.retireKey('runs', 'run-1')).toBe(true);
    expect(side.getByKey('runs', 'run-1')).toBeUndefined();
    side.close();
  });
});
