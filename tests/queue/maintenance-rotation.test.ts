import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../src/core/clock';
import { rotatingBackup } from '../../src/queue/maintenance';
import { createSqliteTaskStore } from '../../src/queue/store-factory';
import { MemoryLogger } from './worker-helpers';

describe('rotating backups', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskbridge-rotation-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('never delete the backup just written, even when the clock stepped back behind the stamps of older ones', async () => {
    const file = path.join(dir, 'q.db');
    const store = createSqliteTaskStore({ path: file, logger: new MemoryLogger() });
    const backups = path.join(dir, 'backups');
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
    try {
      store.enqueueSync({ type: 'first' });
      await rotatingBackup(file, { directory: backups, keep: 1, clock });
      clock.set(Date.UTC(2026, 0, 1, 11));
      store.enqueueSync({ type: 'second' });
      const { backup, removed } = await rotatingBackup(file, { directory: backups, keep: 1, clock });
      expect(fs.existsSync(backup.file)).toBe(true);
      expect(removed).not.toContain(backup.file);
      expect(backup.tables.tasks).toBe(2);
      expect(fs.readdirSync(backups).filter((n) => n.endsWith('.db'))).toEqual([path.basename(backup.file)]);
    } finally {
      store.closeSync();
    }
  });
});
